//! roles/postgres_app.rhai's decisions, on a local host whose `docker` and
//! `curl` are fakes: `docker exec patroni psql` answers the role's probe
//! from a folder that stands for PostgreSQL (the stored SCRAM verifier, the
//! database's owner, pgvector, primary or replica) and records the SQL the
//! role sends on stdin. The lab test (`cluster_postgres`) proves the same
//! role against real PostgreSQL; this one shows, without the lab, that the
//! clear password is never sent, that a stored verifier equal to the
//! secret's is left alone and a different one is replaced, that a database
//! owner changed by hand is put back, that one psql answers a rerun, and
//! that a replica is never written to.

mod common;

use std::path::Path;

use common::lab::{credentials, secret};
use common::outcome::Outcome;
use common::{repo, Test};

/// `docker exec [-i] patroni psql ...`: the role's probe (SQL on stdin
/// asking `primary=`, the database's owner, and the installed extensions
/// after `\c keybuzz` when the database exists) answers from the folder as
/// PostgreSQL would; any other SQL on stdin is a change, logged to sql.log
/// and applied to the folder (pg/owner: the database's owner, absent while
/// there is no database). Every call is logged to exec.log.
const FAKE_DOCKER: &str = r#"#!/bin/sh
s=$(dirname "$0")/../pg
echo "$*" >> "$s/exec.log"
sql=$(cat)
case "$sql" in *"'primary='"*) ;; *)
    printf '%s\n' "$sql" >> "$s/sql.log"
    v=$(printf '%s' "$sql" | grep -o "SCRAM-SHA-256[^']*")
    [ -n "$v" ] && printf '%s' "$v" > "$s/verifier"
    o=$(printf '%s' "$sql" | sed -n 's/^CREATE DATABASE keybuzz OWNER \([a-z0-9_]*\);$/\1/p; s/^ALTER DATABASE keybuzz OWNER TO \([a-z0-9_]*\);$/\1/p')
    [ -n "$o" ] && echo "$o" > "$s/owner"
    case "$sql" in *"CREATE EXTENSION"*) touch "$s/ext";; esac
    exit 0;;
esac
echo "primary=$(cat "$s/primary")"
if [ -f "$s/verifier" ]; then
  v=$(cat "$s/verifier")
  echo login=true
  it=${v#SCRAM-SHA-256?}; echo "iterations=${it%%:*}"
  salt=${v#*:}; echo "salt=${salt%%\$*}"
  echo "verifier_sha256=$(printf '%s' "$v" | sha256sum | cut -d' ' -f1)"
fi
[ -f "$s/available" ] && echo available=vector
echo "db_owner=$(cat "$s/owner" 2>/dev/null)"
case "$sql" in *'\c keybuzz'*) [ -f "$s/owner" ] && [ -f "$s/ext" ] && echo installed=vector;; esac
exit 0
"#;

/// The leader check (`curl .../primary`) always answers.
const FAKE_CURL: &str = "#!/bin/sh\nexit 0\n";

const PLAYBOOK: &str = r#"import "postgres_app" as postgres_app;
play("application database", "all", |host| {
    postgres_app::apply(host, #{ members: [#{ name: "db1", ip: "127.0.0.1" }] });
});
"#;

/// The project: the role and the one it imports, the fakes in bin/, the
/// stand-in PostgreSQL in pg/ (a primary with nothing yet), the fixture
/// credentials.
fn project() -> Test {
    let role = |name: &str| std::fs::read_to_string(repo().join(name)).unwrap();
    let t = Test::new()
        .file("roles/postgres_app.rhai", &role("roles/postgres_app.rhai"))
        .file(
            "roles/postgres_databases.rhai",
            &role("roles/postgres_databases.rhai"),
        )
        .file("bin/docker", FAKE_DOCKER)
        .file("bin/curl", FAKE_CURL)
        .file("pg/primary", "true")
        .playbook(PLAYBOOK)
        .inventory("hostname\tip_private\tansible_connection\ndb1\t127.0.0.1\tlocal\n");
    for fake in ["bin/docker", "bin/curl"] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(t.at(fake), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let creds = credentials(t.path());
    t.arg("--credentials").arg(creds)
}

/// Runs the play with the fakes first on PATH.
fn run(t: &Test) -> Outcome {
    t.run_with_bin_first::<&str>(&[])
}

/// A rerun's round trips with the cache: one. Facts, the wait for a
/// leader's first check and the role's read-only probe all ride the
/// opening round trip (engine/src/run/foresight.rs); before that they took
/// three.
const ROUND_TRIPS: u64 = 1;

fn sql_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("pg/sql.log")).unwrap_or_default()
}

#[test]
fn the_owner_role_gets_a_verifier_never_the_password_and_only_what_differs_changes() {
    let t = project();
    let password = secret("KEYBUZZ_DB_PASSWORD");

    let first = run(&t);
    first.assert_success().assert_total("changed", 2);
    let sql = sql_log(t.path());
    let role = sql.find("CREATE ROLE keybuzz LOGIN PASSWORD 'SCRAM-SHA-256$4096:");
    let db = sql.find("CREATE DATABASE keybuzz OWNER keybuzz;");
    assert!(
        matches!((role, db), (Some(r), Some(d)) if r < d),
        "the owner role first, then its database: {sql}"
    );
    assert!(
        !sql.contains(&password),
        "the clear password was sent: {sql}"
    );
    let verifier = std::fs::read_to_string(t.at("pg/verifier")).unwrap();
    for out in [first.stdout(), first.stderr()] {
        assert!(
            !out.contains(&password) && !out.contains(&verifier),
            "{out}"
        );
    }
    assert!(
        first.stdout().contains("offers no extension 'vector'"),
        "no pgvector: a warning, not a failure: {}",
        first.text()
    );

    // The stored verifier is the secret's (its salt, recomputed): nothing to do.
    run(&t).assert_success().assert_total("changed", 0);
    assert_eq!(sql_log(t.path()), sql, "a rerun sent no SQL");

    // Another password stored behind the site's back, and pgvector installed
    // meanwhile: ALTER ROLE with a new verifier, CREATE EXTENSION in the database.
    std::fs::write(
        t.at("pg/verifier"),
        "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$c3RvcmVk:c2VydmVy",
    )
    .unwrap();
    std::fs::write(t.at("pg/available"), "").unwrap();
    run(&t).assert_success().assert_total("changed", 2);
    let after = sql_log(t.path());
    let new = &after[sql.len()..];
    assert!(
        new.contains("ALTER ROLE keybuzz LOGIN PASSWORD 'SCRAM-SHA-256$4096:")
            && new.contains("CREATE EXTENSION vector;")
            && !new.contains(&password),
        "{new}"
    );
    run(&t).assert_success().assert_total("changed", 0);
}

#[test]
fn a_rerun_asks_postgresql_in_one_exec() {
    // The role's probe is one psql (one `docker exec`, about 0.1 CPU-s of
    // the host's on every run), the database's owner among its answers.
    let t = project();
    std::fs::write(t.at("pg/available"), "").unwrap();
    run(&t).assert_success().assert_total("changed", 3);
    std::fs::remove_file(t.at("pg/exec.log")).unwrap();
    run(&t).assert_success().assert_total("changed", 0);
    let execs = std::fs::read_to_string(t.at("pg/exec.log")).unwrap();
    assert_eq!(execs.lines().count(), 1, "{execs}");
}

#[test]
fn a_database_owner_changed_by_hand_is_put_back_alone() {
    let t = project().cache();
    run(&t).assert_success().assert_total("changed", 2);
    let before = sql_log(t.path());

    std::fs::write(t.at("pg/owner"), "postgres\n").unwrap();
    let fixed = run(&t);
    fixed.assert_success().assert_total("changed", 1);
    assert!(
        fixed
            .stdout()
            .contains("ALTER DATABASE keybuzz OWNER TO keybuzz (was postgres)"),
        "{}",
        fixed.text()
    );
    assert_eq!(
        &sql_log(t.path())[before.len()..],
        "ALTER DATABASE keybuzz OWNER TO keybuzz;\n"
    );

    let again = run(&t);
    again.assert_success().assert_total("changed", 0);
    assert_eq!(
        again.stats(0)["round_trips"],
        ROUND_TRIPS,
        "the role's probe rides the first round trip: {}",
        again.text()
    );
}

#[test]
fn a_replica_is_never_written_to() {
    let t = project();
    std::fs::write(t.at("pg/primary"), "false").unwrap();
    let out = run(&t);
    out.assert_success().assert_total("changed", 0);
    assert_eq!(sql_log(t.path()), "");
    let execs = std::fs::read_to_string(t.at("pg/exec.log")).unwrap();
    assert_eq!(execs.lines().count(), 1, "the probe alone: {execs}");
}
