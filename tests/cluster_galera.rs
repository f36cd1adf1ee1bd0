//! MariaDB Galera (Module 7), deployed by `playbooks/site.rhai --tags
//! base,galera` on three lab hosts and broken on purpose:
//!   - the first run bootstraps exactly one cluster of 3; a row written on one
//!     node is read on the others;
//!   - one node's container is stopped: the two others keep accepting writes;
//!     started again, it rejoins (IST) with the rows it missed;
//!   - a rerun changes nothing and keeps the same cluster (state UUID);
//!   - the ProxySQL monitor account exists on every node (created on one,
//!     replicated), with USAGE only: logged in with the fixture password
//!     from another node, it runs the reads of ProxySQL's galera check and
//!     sees a Synced writable Primary member; a wrong password is refused; a
//!     password changed behind the site's back is set back by the next run,
//!     and the run after changes nothing;
//!   - every container is stopped, one after the other, with writes in
//!     between: a rerun of the site must bootstrap from the node Galera marked
//!     safe_to_bootstrap (the last to leave) and bring all three back with
//!     every row; then the same again with safe_to_bootstrap cleared on every
//!     node, so the role must pick the highest seqno and apply the seeds'
//!     safe_to_bootstrap fix to that node only.
//!
//! Hosts: lab13..lab15 (group mariadb), each with its /dev/vdb as the XFS
//! datadir volume. Run alone with
//! `cargo test --test cluster_galera -- --include-ignored --nocapture` on a lab of 15+ hosts.

mod common;

use std::process::Output;
use std::time::Duration;

use common::lab::{cluster_lab_alone, wait_until, Lab, Site};
use common::{events, text, total};

const GALERA: [usize; 3] = [12, 13, 14];

/// The datadir the role mounts into the container (its XFS volume).
const DATADIR: &str = "/opt/keybuzz/mariadb/data";

/// Runs SQL (on stdin, so no quoting) in the `mariadb` container of lab host
/// `on`, as the erpnext user over TCP to that host's own address, with the
/// password the role gave the container; tab-separated rows, or None.
fn sql(lab: &Lab, on: usize, query: &str) -> Option<String> {
    let ip = &lab.hosts[on].1;
    lab.try_ssh(
        on,
        &format!(
            "timeout 20 docker exec -i mariadb sh -c 'MYSQL_PWD=\"$MARIADB_PASSWORD\" \
             mariadb -h {ip} -uerpnext -N -B erpnext' <<'KBZ_SQL'\n{query}\nKBZ_SQL"
        ),
    )
    .map(|s| s.trim().to_string())
}

/// The account ProxySQL's galera monitor logs in with (roles/proxysql.rhai's
/// monitor_user()), allowed from the lab's private_net (198.18.0.0/16).
const MONITOR: &str = "'proxysql_monitor'@'198.18.0.0/255.255.0.0'";

/// What ProxySQL 2.x's galera check reads on a MariaDB node, in its order:
/// wsrep_local_state, read_only, wsrep_local_recv_queue, wsrep_desync,
/// wsrep_reject_queries, wsrep_sst_donor_rejects_queries,
/// wsrep_cluster_status (status variables from INFORMATION_SCHEMA.GLOBAL_STATUS,
/// the others as @@ system variables).
fn galera_check_query() -> String {
    let status = |name: &str| {
        format!("(SELECT VARIABLE_VALUE FROM INFORMATION_SCHEMA.GLOBAL_STATUS WHERE VARIABLE_NAME = '{name}')")
    };
    format!(
        "SELECT {}, @@read_only, {}, @@wsrep_desync, @@wsrep_reject_queries, \
         @@wsrep_sst_donor_rejects_queries, {};",
        status("WSREP_LOCAL_STATE"),
        status("WSREP_LOCAL_RECV_QUEUE"),
        status("WSREP_CLUSTER_STATUS")
    )
}

/// Runs `query` as the monitor account from lab host `from` on the node of
/// lab host `on` (over TCP, as ProxySQL would), with `password` on stdin,
/// never on a command line; tab-separated rows, or None when refused.
fn as_monitor(lab: &Lab, from: usize, on: usize, password: &str, query: &str) -> Option<String> {
    let ip = &lab.hosts[on].1;
    lab.try_ssh_with_input(
        from,
        &format!(
            "timeout 20 docker exec -i mariadb sh -c 'read -r p; MYSQL_PWD=\"$p\" \
             exec mariadb -h {ip} -uproxysql_monitor -N -B'"
        ),
        &format!("{password}\n{query}\n"),
    )
    .map(|s| s.trim().to_string())
}

/// Checks the monitor account on every node, each from the next one: the
/// fixture password logs in, USAGE is its only grant, ProxySQL's galera
/// check reads a Synced (4), writable, Primary member; a wrong password is
/// refused.
fn assert_monitor_account(lab: &Lab) {
    let password = common::lab::secret("PROXYSQL_MONITOR_PASSWORD");
    for (k, &on) in GALERA.iter().enumerate() {
        let from = GALERA[(k + 1) % GALERA.len()];
        let node = &lab.hosts[on].0;
        let grants = as_monitor(lab, from, on, &password, "SHOW GRANTS;")
            .unwrap_or_else(|| panic!("the monitor account cannot log in to {node}"));
        let grants: Vec<&str> = grants
            .lines()
            .map(|l| l.split(" IDENTIFIED").next().unwrap_or_default())
            .collect();
        assert_eq!(
            grants,
            vec!["GRANT USAGE ON *.* TO `proxysql_monitor`@`198.18.0.0/255.255.0.0`"],
            "{node}: the monitor account's grants"
        );
        let check = as_monitor(lab, from, on, &password, &galera_check_query())
            .unwrap_or_else(|| panic!("{node}: the galera check failed as the monitor"));
        let fields: Vec<&str> = check.split('\t').collect();
        assert_eq!(fields.len(), 7, "{node}: {check}");
        assert_eq!(
            (fields[0], fields[1], fields[6]),
            ("4", "0", "Primary"),
            "{node}: wsrep_local_state, read_only, wsrep_cluster_status"
        );
        assert!(
            as_monitor(lab, from, on, "not-the-password", "SELECT 1;").is_none(),
            "{node}: a wrong password logged in"
        );
    }
}

/// Runs `statement` as root on lab host `on` (SQL on stdin; the root
/// password is the container's own).
fn as_root(lab: &Lab, on: usize, statement: &str) {
    lab.ssh(
        on,
        &format!(
            "docker exec -i mariadb sh -c 'MYSQL_PWD=\"$MARIADB_ROOT_PASSWORD\" mariadb -uroot' \
             <<'KBZ_SQL'\n{statement}\nKBZ_SQL"
        ),
    );
}

/// A wsrep status variable of the node on lab host `on`.
fn status(lab: &Lab, on: usize, variable: &str) -> Option<String> {
    sql(lab, on, &format!("SHOW STATUS LIKE '{variable}';"))
        .and_then(|s| s.split('\t').nth(1).map(str::to_string))
}

/// Whether every host in `nodes` is a Synced member of one Primary
/// component of `size` nodes; the cluster's state UUID if so.
fn cluster(lab: &Lab, nodes: &[usize], size: usize) -> Option<String> {
    let mut uuid = None;
    for &n in nodes {
        if status(lab, n, "wsrep_cluster_size")? != size.to_string()
            || status(lab, n, "wsrep_cluster_status")? != "Primary"
            || status(lab, n, "wsrep_local_state_comment")? != "Synced"
        {
            return None;
        }
        let u = status(lab, n, "wsrep_cluster_state_uuid")?;
        if uuid.get_or_insert(u.clone()) != &u {
            return None;
        }
    }
    uuid
}

/// Inserts a row tagged `tag` through lab host `on`.
fn write(lab: &Lab, on: usize, tag: &str) -> bool {
    sql(
        lab,
        on,
        &format!("INSERT INTO kbz_proof (tag) VALUES ('{tag}'); SELECT 'ok';"),
    )
    .is_some_and(|s| s == "ok")
}

/// Whether lab host `on` holds exactly the rows tagged `expected` (in any
/// order: each node has its own auto-increment offset).
fn has_rows(lab: &Lab, on: usize, expected: &[String]) -> bool {
    let Some(found) = sql(lab, on, "SELECT tag FROM kbz_proof;") else {
        return false;
    };
    let mut found: Vec<&str> = found.lines().collect();
    let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    found.sort_unstable();
    expected.sort_unstable();
    found == expected
}

/// The lab host names the run's log lines say a bootstrap happened on.
fn bootstraps(out: &Output) -> Vec<String> {
    events(out)
        .iter()
        .filter_map(|e| {
            let msg = e.to_string();
            let at = msg.find("Galera bootstrap on ")?;
            let name = msg[at + 20..].split(':').next()?.to_string();
            Some(name)
        })
        .collect()
}

/// grastate.dat of lab host `on`: (seqno, safe_to_bootstrap).
fn grastate(lab: &Lab, on: usize) -> (i64, u8) {
    let body = lab.ssh(on, &format!("cat {DATADIR}/grastate.dat"));
    let field = |k: &str| {
        body.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    (
        field("seqno:").parse().unwrap_or(-1),
        field("safe_to_bootstrap:").parse().unwrap_or(0),
    )
}

/// How the node on lab host `on` caught up since the Unix time `since`, from
/// its container log: "IST" when it asked the group for the writesets after
/// a known local position (mariabackup then only bypasses the SST), "SST"
/// when its local state was unknown (seqno -1: a full copy of the datadir).
fn transfer_since(lab: &Lab, on: usize, since: &str) -> &'static str {
    let log = lab.ssh(on, &format!("docker logs --since {since} mariadb 2>&1"));
    let local = log
        .lines()
        .find_map(|l| l.trim().strip_prefix("Local state:"))
        .map(str::trim);
    match local {
        None => "no state transfer",
        Some(l) if l.ends_with(":-1") => "SST",
        Some(_) if log.contains("IST received") => "IST",
        Some(_) => "SST",
    }
}

/// Stops every node's container, one after the other (each a clean Galera
/// leave), writing a row through the survivors after each stop; the tags
/// written.
fn stop_all(lab: &Lab, round: &str) -> Vec<String> {
    let mut written = Vec::new();
    for (k, &n) in GALERA.iter().enumerate() {
        lab.ssh(n, "docker stop -t 120 mariadb >/dev/null");
        if let Some(&next) = GALERA.get(k + 1) {
            let tag = format!("{round}-after-{}-left", lab.hosts[n].0);
            let ok = wait_until(Duration::from_secs(60), || write(lab, next, &tag));
            assert!(ok.is_some(), "{} accepts writes", lab.hosts[next].0);
            written.push(tag);
        }
    }
    written
}

/// Puts a host back as `Lab::reset_keybuzz` expects it: the datadir volume
/// unmounted first, so the reset wipes a free /dev/vdb.
fn reset(lab: &Lab, host: usize) {
    lab.ssh(
        host,
        &format!("docker rm -f mariadb >/dev/null 2>&1; umount {DATADIR} 2>/dev/null; true"),
    );
    lab.reset_keybuzz(host);
}

/// With `KBZ_LAB_REQUIRED` set, the run must include the ignored test below
/// and the lab must be up.
#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

#[test]
#[ignore = "needs the lab (15 hosts): bash tests/lab/lab.sh up 18 && eval \"$(bash tests/lab/lab.sh env)\""]
fn galera_bootstraps_once_survives_a_node_and_recovers_from_a_full_stop() {
    let (_guard, lab) = cluster_lab_alone(GALERA[2]);
    for h in GALERA {
        reset(&lab, h);
    }
    lab.load_spec("mariadb", &GALERA);

    let volume = format!(
        "      xfs_volumes:\n        - {{ device: /dev/vdb, mount: {DATADIR}, owner: \"999\", group: \"999\", mode: \"0750\" }}\n"
    );
    let site = lab.site(
        &[
            (GALERA[0], &["mariadb"], &volume),
            (GALERA[1], &["mariadb"], &volume),
            (GALERA[2], &["mariadb"], &volume),
        ],
        "base,galera",
    );
    let names: Vec<String> = GALERA.iter().map(|&i| lab.hosts[i].0.clone()).collect();

    // First run: one bootstrap (the first member by name), a cluster of 3.
    let first = lab.run_site_ok(&site);
    assert_eq!(
        bootstraps(&first),
        vec![names[0].clone()],
        "{}",
        text(&first)
    );
    for h in GALERA {
        assert_eq!(
            lab.ssh(h, &format!("findmnt -n -o FSTYPE {DATADIR}"))
                .trim(),
            "xfs",
            "the datadir is the XFS volume"
        );
    }
    let uuid =
        cluster(&lab, &GALERA, 3).expect("a Synced Primary cluster of 3 after the first run");
    assert_eq!(
        transfer_since(&lab, GALERA[0], "0"),
        "IST",
        "the settled bootstrap node rejoined by IST"
    );
    assert!(
        !lab.ssh(GALERA[0], "docker inspect -f '{{.Args}}' mariadb")
            .contains("--wsrep-new-cluster"),
        "the bootstrap node was settled without --wsrep-new-cluster"
    );

    // A row written on one node is read on the others.
    let created = sql(
        &lab,
        GALERA[0],
        "CREATE TABLE kbz_proof (id INT AUTO_INCREMENT PRIMARY KEY, tag VARCHAR(64) NOT NULL); SELECT 'ok';",
    );
    assert_eq!(
        created.as_deref(),
        Some("ok"),
        "create table on {}",
        names[0]
    );
    assert!(write(&lab, GALERA[0], "first-run"));
    let mut expected = vec!["first-run".to_string()];
    for &n in &GALERA[1..] {
        let seen = wait_until(Duration::from_secs(10), || has_rows(&lab, n, &expected));
        assert!(seen.is_some(), "{} reads the row", lab.hosts[n].0);
    }

    // Break it: stop one node; the two others keep accepting writes.
    let down = GALERA[2];
    let tag = format!("without-{}", names[2]);
    lab.ssh(down, "docker stop mariadb >/dev/null");
    let survivors = [GALERA[0], GALERA[1]];
    let mut pending = survivors.to_vec();
    let writes = wait_until(Duration::from_secs(60), || {
        pending.retain(|&n| !write(&lab, n, &tag));
        pending.is_empty()
    })
    .unwrap_or_else(|| panic!("the two others did not accept writes within 60 s"));
    assert!(
        cluster(&lab, &survivors, 2).is_some(),
        "the two others form a Primary component of 2"
    );
    expected.extend([tag.clone(), tag]);

    // Start it again: it rejoins with the rows it missed.
    let since = lab.ssh(down, "date +%s").trim().to_string();
    lab.ssh(down, "docker start mariadb >/dev/null");
    let rejoined = wait_until(Duration::from_secs(300), || {
        cluster(&lab, &GALERA, 3).is_some() && has_rows(&lab, down, &expected)
    })
    .unwrap_or_else(|| panic!("{} did not rejoin with every row within 300 s", names[2]));
    let transfer = transfer_since(&lab, down, &since);
    println!(
        "RESULT galera: {} stopped; the two others accepted writes {:.1} s later; \
         started again, it rejoined ({transfer}) with the rows it missed in {:.1} s; cluster back to 3",
        names[2],
        writes.as_secs_f64(),
        rejoined.as_secs_f64()
    );

    // A rerun changes nothing and keeps the same cluster.
    let again = lab.run_site_ok(&site);
    assert_eq!(total(&again, "changed"), 0, "rerun: {}", text(&again));
    assert!(
        bootstraps(&again).is_empty(),
        "rerun bootstrapped: {}",
        text(&again)
    );
    assert_eq!(cluster(&lab, &GALERA, 3).as_deref(), Some(uuid.as_str()));

    // The ProxySQL monitor account, created on one node, works on all three;
    // its password changed by hand is set back by the next run only.
    assert_monitor_account(&lab);
    as_root(
        &lab,
        GALERA[1],
        &format!("ALTER USER {MONITOR} IDENTIFIED BY 'changed-by-hand-7Qz';"),
    );
    let fixed = lab.run_site_ok(&site);
    assert_eq!(total(&fixed, "changed"), 1, "{}", text(&fixed));
    assert_monitor_account(&lab);
    let again = lab.run_site_ok(&site);
    assert_eq!(total(&again, "changed"), 0, "rerun: {}", text(&again));
    println!(
        "RESULT galera: the ProxySQL monitor account logs in on all 3 nodes with USAGE only \
         and reads ProxySQL's galera check (Synced, writable, Primary); its password changed \
         by hand was set back by one change of the next run; the run after changed nothing"
    );

    // The node that bootstrapped (first by name) is down during a rerun: the
    // site starts it as a joiner of the running cluster, never a new one.
    lab.ssh(GALERA[0], "docker stop mariadb >/dev/null");
    let tag = format!("without-{}", names[0]);
    let ok = wait_until(Duration::from_secs(60), || write(&lab, GALERA[1], &tag));
    assert!(ok.is_some(), "{} accepts writes", names[1]);
    expected.push(tag);
    let start = std::time::Instant::now();
    let joined = lab.run_site_ok(&site);
    assert!(
        bootstraps(&joined).is_empty(),
        "a rerun with {} down bootstrapped: {}",
        names[0],
        text(&joined)
    );
    let back = wait_until(Duration::from_secs(300), || {
        cluster(&lab, &GALERA, 3).as_deref() == Some(uuid.as_str())
            && has_rows(&lab, GALERA[0], &expected)
    });
    assert!(back.is_some(), "{} rejoined the same cluster", names[0]);
    println!(
        "RESULT galera: {} (the first bootstrap node) stopped, site rerun: no bootstrap, \
         it rejoined the same cluster with every row {:.1} s after the rerun started",
        names[0],
        start.elapsed().as_secs_f64()
    );

    // Full stop, one after the other: the last to leave has safe_to_bootstrap.
    expected.extend(stop_all(&lab, "stop1"));
    let states: Vec<(i64, u8)> = GALERA.iter().map(|&n| grastate(&lab, n)).collect();
    assert_eq!(
        states.iter().map(|s| s.1).collect::<Vec<_>>(),
        vec![0, 0, 1],
        "safe_to_bootstrap after a clean full stop: {states:?}"
    );
    let recovered = recover(&lab, &site, &names[2], &uuid, &mut expected, "stop1");
    println!(
        "RESULT galera: all 3 containers stopped in turn (grastate seqno/safe {states:?}); \
         the site rerun bootstrapped {} (safe_to_bootstrap: 1) and the cluster was back to 3 \
         with every row {:.1} s after the rerun started",
        names[2],
        recovered.as_secs_f64()
    );

    // Full stop again, then safe_to_bootstrap cleared everywhere (the case
    // the seeds fix by hand): the highest seqno must win.
    expected.extend(stop_all(&lab, "stop2"));
    for &n in &GALERA {
        lab.ssh(
            n,
            &format!(
                "sed -i 's/^safe_to_bootstrap:.*/safe_to_bootstrap: 0/' {DATADIR}/grastate.dat"
            ),
        );
    }
    let states: Vec<(i64, u8)> = GALERA.iter().map(|&n| grastate(&lab, n)).collect();
    let highest = (0..3).max_by_key(|&k| (states[k].0, -(k as i64))).unwrap();
    assert_eq!(
        highest, 2,
        "the last to leave has the highest seqno: {states:?}"
    );
    let recovered = recover(&lab, &site, &names[highest], &uuid, &mut expected, "stop2");
    println!(
        "RESULT galera: all 3 stopped again, safe_to_bootstrap cleared on every node \
         (seqno {:?}); the site rerun bootstrapped {} (highest seqno, safe_to_bootstrap set \
         by the role) and the cluster was back to 3 with every row {:.1} s after the rerun started",
        states.iter().map(|s| s.0).collect::<Vec<_>>(),
        names[highest],
        recovered.as_secs_f64()
    );

    for h in GALERA {
        reset(&lab, h);
    }
}

/// Reruns the site after a full stop: it must bootstrap `from` only, bring
/// back the same cluster (`uuid`) of 3 with every row in `expected`, and a
/// further rerun must change nothing. How long from the rerun's start until
/// the cluster was whole.
fn recover(
    lab: &Lab,
    site: &Site,
    from: &str,
    uuid: &str,
    expected: &mut Vec<String>,
    round: &str,
) -> Duration {
    let start = std::time::Instant::now();
    let out = lab.run_site_ok(site);
    assert_eq!(
        bootstraps(&out),
        vec![from.to_string()],
        "{round}: {}",
        text(&out)
    );
    let whole = wait_until(Duration::from_secs(300), || {
        cluster(lab, &GALERA, 3).as_deref() == Some(uuid)
            && GALERA.iter().all(|&n| has_rows(lab, n, expected))
    });
    assert!(
        whole.is_some(),
        "{round}: not back to the same cluster of 3 with every row"
    );
    let took = start.elapsed();
    // Settled without --wsrep-new-cluster after a clean stop: it rejoined
    // the others by IST, not by a full copy.
    let node = GALERA
        .into_iter()
        .find(|&n| lab.hosts[n].0 == from)
        .unwrap();
    assert_eq!(
        transfer_since(lab, node, "0"),
        "IST",
        "{round}: the settled bootstrap node {from} rejoined by IST"
    );
    assert!(
        write(lab, GALERA[0], &format!("{round}-recovered")),
        "{round}: writes after the recovery"
    );
    expected.push(format!("{round}-recovered"));
    let again = lab.run_site_ok(site);
    assert_eq!(
        total(&again, "changed"),
        0,
        "{round}: rerun after the recovery: {}",
        text(&again)
    );
    assert!(bootstraps(&again).is_empty(), "{round}: {}", text(&again));
    took
}
