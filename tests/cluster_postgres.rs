//! PostgreSQL + Patroni (Raft) + HAProxy + PgBouncer, deployed by
//! `playbooks/site.rhai` on lab hosts and broken on purpose: the leader's
//! whole host is killed (no clean shutdown, Patroni cannot hand its lock
//! over), Raft's two remaining members must elect a new leader within 60 s,
//! HAProxy's write port must follow it with no committed row lost, the old
//! leader must come back as a replica, and a rerun of the site must change
//! nothing. The application's role (roles/postgres_app.rhai) writes to its
//! database through PgBouncer and HAProxy before and after the kill; that
//! database is made on the leader only, the replicas left alone; a password
//! and a database owner changed behind the site's back are put back by the
//! next run.
//!
//! Hosts: lab09..lab11 (group postgres), lab12 (group haproxy, which also
//! runs PgBouncer). Run alone with `cargo test --test cluster_postgres --
//! --include-ignored --nocapture` on a lab of 12+ hosts.

mod common;

use std::process::Output;
use std::time::{Duration, Instant};

use common::lab::{cluster_lab_alone, secret, wait_until, Lab};
use common::{op_ends, text, total};

const PG: [usize; 3] = [8, 9, 10];
const HAPROXY: usize = 11;
/// Rows committed (and seen on both replicas) before the failover.
const ROWS: u32 = 1000;

/// Who psql connects as, to which database, with which fixture password.
#[derive(Clone, Copy)]
enum As {
    /// The superuser, to `postgres`.
    Postgres,
    /// The application's owner role of roles/postgres_app.rhai, to its
    /// database `keybuzz`.
    App,
}

impl As {
    /// (user, database, the credential holding its password)
    fn login(self) -> (&'static str, &'static str, &'static str) {
        match self {
            As::Postgres => ("postgres", "postgres", "POSTGRES_SUPERUSER_PASSWORD"),
            As::App => ("keybuzz", "keybuzz", "KEYBUZZ_DB_PASSWORD"),
        }
    }
}

/// One SQL statement through psql inside the `patroni` container of lab host
/// `on`, as `who`: over TCP to `target:port` with its fixture password, or
/// over the local socket (peer) when `target` is None. The password reaches
/// psql as PGPASSWORD, read from ssh's stdin: on no command line. The rows,
/// or None when psql fails. The SQL must hold no double quote, `$` or backquote.
fn psql_as(
    lab: &Lab,
    on: usize,
    who: As,
    target: Option<(&str, u16)>,
    sql: &str,
) -> Option<String> {
    let (user, db, password) = who.login();
    let conn = match target {
        Some((host, port)) => format!("-h {host} -p {port}"),
        None => String::new(),
    };
    lab.try_ssh_with_input(
        on,
        &format!(
            "read -r PGPASSWORD; export PGPASSWORD; \
             timeout 15 docker exec -e PGPASSWORD -e PGCONNECT_TIMEOUT=5 patroni \
             psql {conn} -U {user} -d {db} -v ON_ERROR_STOP=1 -Atqc \"{sql}\" 2>/dev/null"
        ),
        &format!("{}\n", secret(password)),
    )
    .map(|s| s.trim().to_string())
}

/// [`psql_as`] the superuser.
fn psql(lab: &Lab, on: usize, target: Option<(&str, u16)>, sql: &str) -> Option<String> {
    psql_as(lab, on, As::Postgres, target, sql)
}

/// One row written by the application's role through `target` (PgBouncer
/// or HAProxy), tagged `note`; the role's row count after it, or None while
/// it cannot write there.
fn app_write(lab: &Lab, on: usize, target: (&str, u16), note: &str) -> Option<u32> {
    count(
        psql_as(
            lab,
            on,
            As::App,
            Some(target),
            &format!(
                "create table if not exists app_proof (id serial primary key, note text); \
             insert into app_proof (note) values ('{note}'); select count(*) from app_proof"
            ),
        )
        .and_then(|r| r.lines().last().map(str::to_string)),
    )
}

/// The HTTP status of Patroni's REST API `path` on the db host `pg`, asked
/// from the HAProxy host (as HAProxy's checks do); "000" when it does not answer.
fn rest(lab: &Lab, pg: usize, path: &str) -> String {
    let ip = &lab.hosts[pg].1;
    lab.try_ssh(
        HAPROXY,
        &format!("curl -s -o /dev/null -m 3 -w '%{{http_code}}' http://{ip}:8008/{path}"),
    )
    .unwrap_or_default()
    .trim()
    .to_string()
}

/// The one member among `among` that Patroni says is the primary.
fn leader(lab: &Lab, among: &[usize]) -> Option<usize> {
    let primaries: Vec<usize> = among
        .iter()
        .copied()
        .filter(|&h| rest(lab, h, "primary") == "200")
        .collect();
    (primaries.len() == 1).then(|| primaries[0])
}

/// The owner of the database `keybuzz`, asked on the db host `on`.
fn db_owner(lab: &Lab, on: usize) -> Option<String> {
    psql(
        lab,
        on,
        None,
        "select pg_get_userbyid(datdba) from pg_database where datname = 'keybuzz'",
    )
}

/// The hosts where the run made or altered the application's database
/// (postgres_app's `# CREATE DATABASE` / `# ALTER DATABASE` commands).
fn database_changed_on(out: &Output) -> Vec<String> {
    op_ends(out, "shell")
        .iter()
        .filter(|e| e["status"] == "changed")
        .filter(|e| {
            let target = e["target"].as_str().unwrap_or_default();
            target.contains(" DATABASE keybuzz")
        })
        .map(|e| e["host"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn count(rows: Option<String>) -> Option<u32> {
    rows.and_then(|r| r.parse().ok())
}

/// With `KBZ_LAB_REQUIRED` set, the run must include the ignored test below
/// and the lab must be up.
#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

#[test]
#[ignore = "needs the lab (12 hosts): bash tests/lab/lab.sh up 18 && eval \"$(bash tests/lab/lab.sh env)\""]
fn patroni_elects_a_leader_fails_over_and_haproxy_follows() {
    let (_guard, lab) = cluster_lab_alone(HAPROXY);
    let all: Vec<usize> = PG.iter().copied().chain([HAPROXY]).collect();
    for &h in &all {
        // A host an interrupted run left stopped.
        if lab.try_ssh(h, "true").is_none() {
            lab.lab_sh(&["start", &lab.hosts[h].0]);
        }
        lab.reset_keybuzz(h);
    }
    // tests/lab/images/patroni.image: PostgreSQL 15, so the lab inventory's
    // group_vars set `patroni: { postgres_major: 15 }`.
    lab.load_spec("patroni", &PG);
    lab.load_spec("haproxy", &[HAPROXY]);

    let site = lab.site(
        &[
            (PG[0], &["postgres"], ""),
            (PG[1], &["postgres"], ""),
            (PG[2], &["postgres"], ""),
            (HAPROXY, &["haproxy"], ""),
        ],
        "base,postgres,haproxy,pgbouncer",
    );
    let first = lab.run_site_ok(&site);
    assert!(
        text(&first).contains("offers no extension 'vector'"),
        "Debian 12 has no pgvector: the site warns and goes on: {}",
        text(&first)
    );

    // Raft elects one leader; the two others stream from it.
    let mut old = 0;
    wait_until(Duration::from_secs(120), || {
        leader(&lab, &PG).map(|l| old = l).is_some()
    })
    .expect("a Patroni leader within 120 s of the deployment");
    let replicas: Vec<usize> = PG.iter().copied().filter(|&h| h != old).collect();
    // The leader made the database.
    assert_eq!(
        database_changed_on(&first),
        [lab.hosts[old].0.clone()],
        "CREATE DATABASE on the leader only: {}",
        text(&first)
    );
    assert_eq!(db_owner(&lab, old).as_deref(), Some("keybuzz"));
    for &r in &replicas {
        let streaming = wait_until(Duration::from_secs(120), || {
            rest(&lab, r, "replica") == "200"
        });
        assert!(streaming.is_some(), "{} is a replica", lab.hosts[r].0);
    }

    // A table written through HAProxy's write port reaches both replicas, and
    // the read port and PgBouncer serve it.
    let haproxy = lab.hosts[HAPROXY].1.clone();
    let write = Some((haproxy.as_str(), 5432));
    let client = replicas[0];
    let written = wait_until(Duration::from_secs(60), || {
        psql(
            &lab,
            client,
            write,
            &format!(
                "create table if not exists kbz_proof (id int primary key, note text); \
                 insert into kbz_proof select g, 'before-failover' from generate_series(1, {ROWS}) g \
                 on conflict do nothing; select count(*) from kbz_proof"
            ),
        )
        .and_then(|r| r.lines().last().map(str::to_string))
        .and_then(|c| c.parse::<u32>().ok())
            == Some(ROWS)
    });
    assert!(
        written.is_some(),
        "{ROWS} rows written through HAProxy:5432"
    );
    for &r in &replicas {
        let got = wait_until(Duration::from_secs(30), || {
            count(psql(&lab, r, None, "select count(*) from kbz_proof")) == Some(ROWS)
        });
        assert!(got.is_some(), "replica {} has the rows", lab.hosts[r].0);
    }
    let read = Some((haproxy.as_str(), 5433));
    assert_eq!(
        psql(&lab, client, read, "select pg_is_in_recovery()").as_deref(),
        Some("t"),
        "HAProxy:5433 reaches a replica"
    );
    assert_eq!(
        count(psql(&lab, client, read, "select count(*) from kbz_proof")),
        Some(ROWS)
    );
    let bouncer = Some((haproxy.as_str(), 6432));
    let pooled = wait_until(Duration::from_secs(30), || {
        count(psql(
            &lab,
            client,
            bouncer,
            "select count(*) from kbz_proof",
        )) == Some(ROWS)
    });
    assert!(pooled.is_some(), "PgBouncer answers on 6432");

    // The application's role writes to its database with SCRAM, through
    // PgBouncer (auth_query) and through HAProxy's write port.
    let pooler = (haproxy.as_str(), 6432);
    let writer = (haproxy.as_str(), 5432);
    let app_rows = wait_until(Duration::from_secs(30), || {
        app_write(&lab, client, pooler, "pgbouncer-before").is_some()
    });
    assert!(app_rows.is_some(), "keybuzz writes through PgBouncer:6432");
    assert_eq!(
        app_write(&lab, client, writer, "haproxy-before"),
        Some(2),
        "keybuzz writes through HAProxy:5432"
    );

    // Break it: kill the leader's host outright.
    let old_name = lab.hosts[old].0.clone();
    let stopped = Instant::now();
    lab.lab_sh(&["stop", &old_name, "--hard"]);
    let mut new = 0;
    wait_until(Duration::from_secs(90), || {
        leader(&lab, &replicas).map(|l| new = l).is_some()
    })
    .unwrap_or_else(|| panic!("no new leader within 90 s of killing {old_name}"));
    let elected = stopped.elapsed();
    assert!(
        elected <= Duration::from_secs(60),
        "a new leader took {elected:?} (limit 60 s)"
    );
    let client = if new == replicas[0] {
        replicas[1]
    } else {
        replicas[0]
    };
    wait_until(Duration::from_secs(90), || {
        psql(
            &lab,
            client,
            write,
            &format!(
                "insert into kbz_proof values ({}, 'after-failover') on conflict do nothing",
                ROWS + 1
            ),
        )
        .is_some()
    })
    .unwrap_or_else(|| panic!("no write through HAProxy:5432 within 90 s of the new leader"));
    let writable = stopped.elapsed();
    assert_eq!(
        psql(
            &lab,
            client,
            write,
            "select note, count(*) from kbz_proof group by note order by note"
        )
        .as_deref(),
        Some(format!("after-failover|1\nbefore-failover|{ROWS}").as_str()),
        "every row committed before the failover is on the new leader"
    );
    assert_eq!(
        psql(&lab, new, None, "select pg_is_in_recovery()").as_deref(),
        Some("f"),
        "HAProxy wrote to the new leader"
    );
    let pooled = wait_until(Duration::from_secs(60), || {
        count(psql(
            &lab,
            client,
            bouncer,
            "select count(*) from kbz_proof",
        )) == Some(ROWS + 1)
    });
    assert!(pooled.is_some(), "PgBouncer follows the new leader");
    wait_until(Duration::from_secs(90), || {
        app_write(&lab, client, pooler, "pgbouncer-after").is_some()
    })
    .expect("keybuzz writes through PgBouncer:6432 after the failover");
    let app_back = stopped.elapsed();
    assert_eq!(
        app_write(&lab, client, writer, "haproxy-after"),
        Some(4),
        "keybuzz writes through HAProxy:5432 after the failover, its rows kept"
    );

    // The old leader's host comes back; Patroni rejoins it as a replica.
    lab.lab_sh(&["start", &old_name]);
    let rejoined = wait_until(Duration::from_secs(300), || {
        rest(&lab, old, "replica") == "200"
            && count(psql(&lab, old, None, "select count(*) from kbz_proof")) == Some(ROWS + 1)
    })
    .unwrap_or_else(|| panic!("{old_name} did not rejoin as a replica within 300 s"));
    println!(
        "RESULT postgres: leader {old_name} killed (host hard stop); new leader {} in {:.1} s; \
         writes through HAProxy:5432 back in {:.1} s; {ROWS}/{ROWS} committed rows kept; \
         PgBouncer:6432 follows; the app role keybuzz writes through PgBouncer again {:.1} s \
         after the kill; {old_name} rejoined as a replica {:.1} s after its restart",
        lab.hosts[new].0,
        elected.as_secs_f64(),
        writable.as_secs_f64(),
        app_back.as_secs_f64(),
        rejoined.as_secs_f64()
    );

    // A password and a database owner changed behind the site's back are
    // put back on the new leader: the role's probe compares the stored SCRAM
    // verifier with the secret's, and reads the database's owner.
    psql(
        &lab,
        new,
        None,
        "alter role keybuzz password 'not-the-secret'",
    )
    .expect("the drift is made");
    psql(&lab, new, None, "alter database keybuzz owner to postgres").expect("the owner drift");
    assert_eq!(app_write(&lab, client, writer, "drifted"), None);
    let repaired = lab.run_site_ok(&site);
    assert_eq!(
        total(&repaired, "changed"),
        2,
        "one ALTER ROLE, one ALTER DATABASE ... OWNER TO, on the leader: {}",
        text(&repaired)
    );
    assert_eq!(
        database_changed_on(&repaired),
        [lab.hosts[new].0.clone()],
        "the owner put back on the new leader: {}",
        text(&repaired)
    );
    assert_eq!(db_owner(&lab, new).as_deref(), Some("keybuzz"));
    assert_eq!(
        app_write(&lab, client, pooler, "repaired"),
        Some(5),
        "keybuzz logs in again once the site put its password back"
    );

    // A rerun changes nothing and keeps the new leader.
    lab.rerun_unchanged(&site);
    assert_eq!(leader(&lab, &PG), Some(new), "the rerun kept the leader");
    for &h in &all {
        lab.reset_keybuzz(h);
    }
}
