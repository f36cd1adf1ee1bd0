//! roles/postgres_app.rhai's decisions, on a local host whose `docker` and
//! `curl` are fakes: `docker exec patroni psql` answers the role's probe
//! from a folder that stands for PostgreSQL (the stored SCRAM verifier,
//! whether the database and pgvector exist, primary or replica) and records
//! the SQL the role sends on stdin. The lab test (`cluster_postgres`) proves
//! the same role against real PostgreSQL; this one shows, without the lab,
//! that the clear password is never sent, that a stored verifier equal to
//! the secret's is left alone and a different one is replaced, and that a
//! replica is never written to.

mod common;

use std::path::Path;

use common::lab::{credentials, secret};
use common::outcome::Outcome;
use common::{repo, Test};

/// `docker exec [-i] patroni psql ...`: a change (`-v ON_ERROR_STOP=1`, SQL
/// on stdin) is logged to sql.log and applied to the folder; the extension
/// query (`-c`) and the probe (SQL on stdin) answer from it as PostgreSQL would.
const FAKE_DOCKER: &str = r#"#!/bin/sh
s=$(dirname "$0")/../pg
case "$*" in
  *ON_ERROR_STOP*)
    sql=$(cat); printf '%s\n' "$sql" >> "$s/sql.log"
    v=$(printf '%s' "$sql" | grep -o "SCRAM-SHA-256[^']*")
    [ -n "$v" ] && printf '%s' "$v" > "$s/verifier"
    case "$sql" in *"CREATE DATABASE"*) touch "$s/db";; esac
    case "$sql" in *"CREATE EXTENSION"*) touch "$s/ext";; esac
    exit 0;;
  *" -c "*) [ -f "$s/ext" ] && echo installed=vector; exit 0;;
esac
cat >/dev/null
echo "primary=$(cat "$s/primary")"
if [ -f "$s/verifier" ]; then
  v=$(cat "$s/verifier")
  echo login=true
  it=${v#SCRAM-SHA-256?}; echo "iterations=${it%%:*}"
  salt=${v#*:}; echo "salt=${salt%%\$*}"
  echo "verifier_sha256=$(printf '%s' "$v" | sha256sum | cut -d' ' -f1)"
fi
[ -f "$s/db" ] && echo owner=keybuzz
[ -f "$s/available" ] && echo available=vector
exit 0
"#;

/// The leader check (`curl .../primary`) always answers.
const FAKE_CURL: &str = "#!/bin/sh\nexit 0\n";

const PLAYBOOK: &str = r#"import "postgres_app" as postgres_app;
play("application database", "all", |host| {
    postgres_app::apply(host, #{ members: [#{ name: "db1", ip: "127.0.0.1" }] });
});
"#;

/// The project: the role, the fakes in bin/, the stand-in PostgreSQL in
/// pg/ (a primary with nothing yet), the fixture credentials.
fn project() -> Test {
    let role = std::fs::read_to_string(repo().join("roles/postgres_app.rhai")).unwrap();
    let t = Test::new()
        .file("roles/postgres_app.rhai", &role)
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
    assert!(
        sql.contains("CREATE ROLE keybuzz LOGIN PASSWORD 'SCRAM-SHA-256$4096:")
            && sql.contains("CREATE DATABASE keybuzz OWNER keybuzz;"),
        "{sql}"
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
fn a_replica_is_never_written_to() {
    let t = project();
    std::fs::write(t.at("pg/primary"), "false").unwrap();
    run(&t).assert_success().assert_total("changed", 0);
    assert_eq!(sql_log(t.path()), "");
}
