//! Operations written in Rhai (`operation(name, args, #{ target, probes,
//! plan })`) get what built-in ones get: a rerun that changes nothing and
//! asks their queries in its single round trip, `--check`, `--diff`, tags
//! (their role's too), `.notify()`, and checked parameters. The hosts use
//! the local transport and write under the project's `state/` folder.

mod common;

use common::{Outcome, Test};

/// A role defining two ops in Rhai: `listed` (a query, then a command) and
/// `managed` (a file read, then a write).
const ROLE: &str = r#"
// registry: the custom operations of tests/custom_ops.rs.

/// Ensures `args.file` lists `args.name` on a line of its own.
fn listed(args) {
    operation("listed", args, #{
        params: #{ name: "the line", file: "the file holding it" },
        target: |args| args.file,
        probes: |args| [query(`grep -cx '${args.name}' '${args.file}' 2>/dev/null; true`)],
        plan: |args, answers| {
            if answers[0].stdout != "0" && answers[0].stdout != "" { return "already listed"; }
            [#{ symbol: "+", summary: "line " + args.name,
                actions: [`echo '${args.name}' >> '${args.file}'`] }]
        },
    })
}

/// Ensures the file `args.path` holds exactly `args.content`, mode 0640.
fn managed(args) {
    operation("managed", args, #{
        target: |args| args.path,
        probes: |args| [slurp(args.path)],
        plan: |args, answers| {
            let cur = answers[0];
            if cur.exists && cur.content == args.content && cur.mode == "0640" { return "up to date"; }
            let symbol = if cur.exists { "~" } else { "+" };
            [#{ symbol: symbol, summary: "content",
                actions: [#{ path: args.path, content: args.content, mode: "0640" }] }]
        },
    })
}
"#;

const PLAYBOOK: &str = r#"
import "registry" as registry;

play("custom ops", "all", |host| {
    let dir = host.vars.tmp + "/" + host.name;
    file(#{ path: dir, state: "directory", tags: ["always"] });
    registry::listed(#{ name: "app", file: dir + "/list" }).notify("reload");
    registry::managed(#{ path: dir + "/app.conf", content: `port = ${host.vars.port}` + "\n", tags: ["conf"] });
});
handler("reload", || { command("true"); });
"#;

/// The project on one local host `h1`, with `port=1`.
fn project(playbook: &str) -> Test {
    project_with(playbook, ROLE)
}

/// [`project`] with another `roles/registry.rhai`.
fn project_with(playbook: &str, role: &str) -> Test {
    let t = Test::new()
        .playbook(playbook)
        .file("roles/registry.rhai", role)
        .inventory(
            "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n",
        )
        .dir("state");
    let tmp = t.at("state");
    t.var("tmp", tmp.display()).var("port", 1)
}

fn read(t: &Test, rel: &str) -> String {
    std::fs::read_to_string(t.at(rel)).unwrap_or_default()
}

#[test]
fn a_rhai_op_changes_once_and_its_rerun_is_one_round_trip() {
    let t = project(PLAYBOOK).cache();
    let first = t.run();
    first.assert_code(0);
    // 1 (facts and every probe of the play, the Rhai ops' query and file
    // read with the built-in ones', found by the rehearsal before the host
    // was opened) + 1 (the queued directory, before `listed`'s command) + 1
    // (that command) + 1 (`managed`'s write) + 1 (the handler): no round
    // trip just to probe.
    assert_eq!(first.stats(0)["round_trips"], 5, "{}", first.text());
    assert_eq!(first.statuses("listed"), ["changed"], "{}", first.text());
    assert_eq!(first.statuses("managed"), ["changed"], "{}", first.text());
    assert_eq!(
        first.statuses("command"),
        ["changed"],
        "the handler, notified: {}",
        first.text()
    );
    assert_eq!(read(&t, "state/h1/list"), "app\n");
    assert_eq!(read(&t, "state/h1/app.conf"), "port = 1\n");
    let mode = std::fs::metadata(t.at("state/h1/app.conf")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o640
    );

    let again = t.run();
    again.assert_code(0);
    let stats = again.stats(0);
    assert_eq!(
        (stats["changed"].as_u64(), stats["round_trips"].as_u64()),
        (Some(0), Some(1)),
        "the rerun asks the op's query and file in its one round trip: {}",
        again.text()
    );
    assert_eq!(
        again.statuses("command"),
        Vec::<String>::new(),
        "no change, no handler"
    );
    assert_eq!(read(&t, "state/h1/list"), "app\n", "the command ran once");
}

#[test]
fn check_mode_shows_a_rhai_ops_plan_and_diff_without_applying_it() {
    let t = project(PLAYBOOK);
    t.run().assert_code(0);
    let check = t.run_with(&["-e", "port=2", "--check", "--diff"]);
    check.assert_code(0);
    let ends = check.events_named("op_end");
    let managed = ends
        .iter()
        .find(|e| e["op"] == "managed")
        .expect("managed ran");
    assert_eq!(managed["status"], "changed", "{}", check.text());
    let diff = managed["diff"].as_str().unwrap_or_default();
    assert!(
        diff.contains("-port = 1") && diff.contains("+port = 2"),
        "{}",
        check.text()
    );
    assert_eq!(
        read(&t, "state/h1/app.conf"),
        "port = 1\n",
        "check mode wrote nothing"
    );

    // A change the host does not have yet shows in check mode, unapplied.
    std::fs::remove_file(t.at("state/h1/list")).unwrap();
    let check = t.run_with(&["--check"]);
    assert_eq!(check.statuses("listed"), ["changed"], "{}", check.text());
    assert!(
        !t.at("state/h1/list").exists(),
        "check mode ran the command"
    );
}

#[test]
fn tags_select_rhai_ops_by_their_own_tags_and_their_roles() {
    let t = project(PLAYBOOK);
    let conf = t.run_with(&["--tags", "conf"]);
    conf.assert_code(0);
    assert_eq!(conf.statuses("managed"), ["changed"], "{}", conf.text());
    assert_eq!(conf.statuses("listed"), ["skipped"], "{}", conf.text());
    assert!(!t.at("state/h1/list").exists());

    let role = t.run_with(&["--tags", "registry"]);
    role.assert_code(0);
    assert_eq!(role.statuses("listed"), ["changed"], "{}", role.text());
    assert_eq!(role.statuses("managed"), ["ok"], "{}", role.text());
}

#[test]
fn a_tags_run_keeps_what_the_cache_knows_of_the_ops_it_left_out() {
    // `listed`'s query, and a file whose hand edits are reported (`copy`).
    let playbook = r#"
import "registry" as registry;

play("cached", "all", |host| {
    let dir = host.vars.tmp + "/" + host.name;
    file(#{ path: dir, state: "directory", tags: ["always"] });
    registry::listed(#{ name: "app", file: dir + "/list" });
    copy(#{ dest: dir + "/app.conf", content: "port = 1\n", tags: ["conf"] });
});
"#;
    let t = project(playbook).cache();
    t.run().assert_code(0);
    let rerun = || {
        let again = t.run();
        again.assert_code(0);
        let stats = again.stats(0);
        (stats["changed"].as_u64(), stats["round_trips"].as_u64())
    };
    assert_eq!(rerun(), (Some(0), Some(1)));
    t.run_with(&["--tags", "conf"]).assert_code(0);
    assert_eq!(
        rerun(),
        (Some(0), Some(1)),
        "after --tags conf, `listed`'s query is still asked in the opening"
    );
    t.run_with(&["--tags", "conf"]).assert_code(0);
    let tagged = t.run_with(&["--tags", "conf"]);
    assert_eq!(
        tagged.stats(0)["round_trips"],
        1,
        "a tags run between two keeps its own queries: {}",
        tagged.text()
    );

    t.run_with(&["--skip-tags", "conf"]).assert_code(0);
    std::fs::write(t.at("state/h1/app.conf"), "port = 9\n").unwrap();
    let drift = t.run();
    assert!(
        drift.reports_drift("/app.conf"),
        "the hand edit of a file a --skip-tags run left out is reported: {:?}",
        drift.warnings()
    );
    assert_eq!(drift.statuses("copy"), ["changed"], "{}", drift.text());
    assert_eq!(read(&t, "state/h1/app.conf"), "port = 1\n");
}

#[test]
fn a_rhai_op_needs_its_required_parameters_and_fills_in_defaults() {
    let call = "#{ name: \"app\", file: dir + \"/list\" }";
    assert!(PLAYBOOK.contains(call));
    let no_file = PLAYBOOK.replace(call, "#{ name: \"app\" }");
    let out = project(&no_file).run();
    assert!(
        out.text().contains("listed() needs the parameter 'file'"),
        "{}",
        out.text()
    );
    assert_ne!(out.code(), Some(0));

    let no_name = PLAYBOOK.replace(call, "#{ file: dir + \"/list\" }");
    let role = ROLE.replace(
        "name: \"the line\"",
        "name: #{ doc: \"the line\", default_value: \"by-default\" }",
    );
    let t = project_with(&no_name, &role);
    t.run().assert_code(0);
    assert_eq!(read(&t, "state/h1/list"), "by-default\n");
}

#[test]
fn a_rhai_op_refuses_an_undeclared_parameter_and_a_malformed_plan() {
    let typo = PLAYBOOK.replace("#{ name: \"app\"", "#{ nmae: \"app\"");
    let out = project(&typo).run();
    assert!(
        out.text()
            .contains("unknown parameter 'nmae' for listed(); did you mean 'name'?"),
        "{}",
        out.text()
    );
    assert_ne!(out.code(), Some(0));

    let bad = ROLE.replace("symbol: symbol,", "symbol: \"*\",");
    let out = project_with(PLAYBOOK, &bad).run();
    assert!(
        out.text().contains("symbol '*' is none of + ~ - !"),
        "{}",
        out.text()
    );
    assert_ne!(out.code(), Some(0));
}

/// `docker exec [-i] patroni psql ...` standing for PostgreSQL (down while
/// pg/down exists): pg/primary
/// says whether it is the primary, pg/db_NAME holds a database's owner; SQL
/// on stdin is logged to pg/sql.log and applied to the folder.
const FAKE_DOCKER: &str = r#"#!/bin/sh
s=$(dirname "$0")/../pg
[ -f "$s/down" ] && exit 1
case "$*" in
  *" -c "*)
    name=$(printf '%s' "$*" | sed -n "s/.*datname = '\([a-z0-9_]*\)'.*/\1/p")
    echo "$(cat "$s/primary") $(cat "$s/db_$name" 2>/dev/null)"; exit 0;;
esac
sql=$(cat); printf '%s\n' "$sql" >> "$s/sql.log"
set -- $(printf '%s' "$sql" | sed -n 's/^CREATE DATABASE \([a-z0-9_]*\) OWNER \([a-z0-9_]*\);$/\1 \2/p; s/^ALTER DATABASE \([a-z0-9_]*\) OWNER TO \([a-z0-9_]*\);$/\1 \2/p')
echo "$2" > "$s/db_$1"
"#;

/// roles/postgres_databases.rhai (the repository's) with the fake `docker`
/// first on PATH, PostgreSQL a primary holding nothing yet.
fn databases_project() -> Test {
    let role =
        std::fs::read_to_string(common::repo().join("roles/postgres_databases.rhai")).unwrap();
    let playbook = r#"import "postgres_databases" as dbs;
play("databases", "all", |host| dbs::apply(host, #{ databases: [#{ name: "keybuzz", owner: "keybuzz" }] }));
"#;
    let t = Test::new()
        .playbook(playbook)
        .file("roles/postgres_databases.rhai", &role)
        .file("bin/docker", FAKE_DOCKER)
        .file("pg/primary", "true")
        .inventory("hostname\tip_private\tansible_connection\ndb1\t127.0.0.1\tlocal\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(t.at("bin/docker"), std::fs::Permissions::from_mode(0o755)).unwrap();
    t.cache()
}

/// Runs `t` with the fake `docker` first on PATH, and `extra` arguments.
fn with_fake_docker(t: &Test, extra: &[&str]) -> Outcome {
    t.run_with_bin_first(extra)
}

#[test]
fn the_postgres_database_op_creates_once_fixes_the_owner_and_leaves_replicas_alone() {
    let t = databases_project();
    let check = with_fake_docker(&t, &["--check"]);
    assert_eq!(
        check.statuses("postgres_database"),
        ["changed"],
        "{}",
        check.text()
    );
    assert_eq!(read(&t, "pg/sql.log"), "", "check mode sent SQL");

    let first = with_fake_docker(&t, &[]);
    first.assert_code(0);
    assert_eq!(
        first.statuses("postgres_database"),
        ["changed"],
        "{}",
        first.text()
    );
    assert_eq!(
        read(&t, "pg/sql.log"),
        "CREATE DATABASE keybuzz OWNER keybuzz;\n"
    );

    let again = with_fake_docker(&t, &[]);
    let stats = again.stats(0);
    assert_eq!(
        (stats["changed"].as_u64(), stats["round_trips"].as_u64()),
        (Some(0), Some(1)),
        "{}",
        again.text()
    );

    std::fs::write(t.at("pg/db_keybuzz"), "postgres\n").unwrap();
    let owner = with_fake_docker(&t, &[]);
    assert_eq!(
        owner.statuses("postgres_database"),
        ["changed"],
        "{}",
        owner.text()
    );
    assert!(read(&t, "pg/sql.log").ends_with("ALTER DATABASE keybuzz OWNER TO keybuzz;\n"));

    std::fs::remove_file(t.at("pg/db_keybuzz")).unwrap();
    std::fs::write(t.at("pg/primary"), "false").unwrap();
    let replica = with_fake_docker(&t, &[]);
    replica.assert_code(0);
    assert_eq!(
        replica.statuses("postgres_database"),
        ["ok"],
        "{}",
        replica.text()
    );
    assert!(!t.at("pg/db_keybuzz").exists(), "a replica was written to");

    std::fs::write(t.at("pg/down"), "").unwrap();
    let down = with_fake_docker(&t, &[]);
    down.assert_code(0);
    let end = &down.events_named("op_end")[0];
    assert_eq!(end["status"], "ok", "{}", down.text());
    assert!(
        end["message"]
            .as_str()
            .unwrap_or_default()
            .contains("PostgreSQL did not answer (psql exit 1)"),
        "{}",
        down.text()
    );
}

#[test]
fn render_records_a_rhai_ops_commands_and_files_for_review() {
    let t = project(PLAYBOOK).render();
    let out = t.run();
    out.assert_success();
    let commands = t.read_review("h1", "commands.sh");
    assert!(commands.contains("echo 'app' >> '"), "{commands}");
    let conf = t.at("state/h1/app.conf");
    let rel = conf.strip_prefix("/").unwrap();
    assert_eq!(t.read_review("h1", rel.to_str().unwrap()), "port = 1\n");
    assert!(!conf.exists(), "render touched the host");
}
