//! What a role author uses: `kbz-play doc` on the project's roles and the
//! operations they write in Rhai, and `kbz-play new role NAME`.

mod common;

use common::{bin, kbz, text, Test};

/// `kbz-play doc ARGS` in the repository, its stdout.
fn doc(args: &[&str]) -> String {
    let mut all = vec!["doc"];
    all.extend_from_slice(args);
    let out = kbz(&all);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn doc_lists_the_roles_and_the_operations_written_in_rhai() {
    let all = doc(&[]);
    assert!(all.contains("Roles (roles/*.rhai"), "{all}");
    for role in ["base_os", "redis", "postgres_app", "postgres_databases"] {
        assert!(
            all.lines().any(|l| l.trim_start().starts_with(role)),
            "doc lacks role {role}:\n{all}"
        );
    }
    assert!(
        all.lines()
            .any(|l| l.trim_start().starts_with("redis ")
                && l.contains("Module 4, the Redis servers")),
        "the role's line is its header's first sentence:\n{all}"
    );
    let ops = all
        .split("Operations written in Rhai")
        .nth(1)
        .unwrap_or_default();
    assert!(
        ops.contains("postgres_database")
            && ops.contains("Ensures database `name` exists")
            && ops.contains("(role postgres_databases)"),
        "{all}"
    );
}

#[test]
fn doc_prints_a_roles_page_and_a_rhai_operations_page() {
    let redis = doc(&["redis"]);
    assert!(
        redis.starts_with("role redis (roles/redis.rhai)"),
        "{redis}"
    );
    assert!(
        redis.contains("cfg:") || redis.contains("cfg "),
        "the header: {redis}"
    );
    assert!(redis.contains("\n  fn apply(host, cfg)"), "{redis}");
    assert!(
        redis.contains("Sets maxmemory on the running node"),
        "a function's doc: {redis}"
    );

    let op = doc(&["postgres_database"]);
    assert!(
        op.starts_with(
            "postgres_database: an operation written in Rhai, in roles/postgres_databases.rhai"
        ),
        "{op}"
    );
    assert!(
        op.contains("Example: postgres_database(#{ name: \"keybuzz\", owner: \"keybuzz\" })"),
        "{op}"
    );
    // Its parameters, as a built-in op's page shows them (`doc copy`).
    assert!(
        op.contains(
            "\nParameters:\n  name (required)\n      the database, a lower-case SQL identifier\n"
        ) && op.contains("\n  container (default \"patroni\")\n      the container PostgreSQL")
            && op.contains("\n  tags (string or array of strings, default none)\n"),
        "{op}"
    );
    let copy = doc(&["copy"]);
    assert!(
        copy.contains("\nParameters:\n  dest (string, required)\n"),
        "{copy}"
    );

    // A built-in op keeps its name; the role of the same name is roles/NAME.
    assert!(doc(&["xfs_volume"]).contains("Parameters:"));
    assert!(doc(&["roles/xfs_volume"]).starts_with("role xfs_volume"));

    let out = kbz(&["doc", "postgres_databse"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("did you mean 'postgres_database'?"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_new_role_passes_the_syntax_check_renders_as_written_and_documents_itself() {
    let t = Test::new();
    let dir = t.path().to_str().unwrap().to_string();
    let out = kbz(&["new", "role", "web", "--dir", &dir]);
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    for file in [
        "roles/web.rhai",
        "templates/web/web.conf.j2",
        "playbooks/web.rhai",
    ] {
        assert!(said.contains(&format!("created {file}")), "{said}");
        assert!(t.at(file).is_file(), "{file} missing");
    }

    let t = t
        .render()
        .playbook_file("playbooks/web.rhai")
        .inventory("hostname\tip_private\tgroups\nweb-01\t10.0.0.11\tweb\n");
    let rendered = t.run();
    rendered.assert_success();
    assert_eq!(
        t.read_review("web-01", "etc/web/web.conf"),
        "# web on web-01: written by kbz-play (roles/web.rhai);\n\
         # edits here are replaced on the next run.\nlisten = 10.0.0.11:8080\n"
    );

    let check = bin()
        .args(["playbooks/web.rhai", "-i", "inv.tsv", "--syntax-check"])
        .current_dir(t.path())
        .output()
        .unwrap();
    assert!(check.status.success(), "--syntax-check: {}", text(&check));

    let page = bin()
        .args(["doc", "web"])
        .current_dir(t.path())
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&page.stdout).into_owned();
    assert!(
        page.starts_with("role web (roles/web.rhai)") && page.contains("cfg:"),
        "{page}"
    );
    assert!(
        page.contains("  fn apply(host, cfg)\n      Ensures web's folder"),
        "{page}"
    );

    let again = kbz(&["new", "role", "web", "--dir", &dir]);
    assert!(!again.status.success());
    assert!(
        text(&again).contains("roles/web.rhai exists already"),
        "{}",
        text(&again)
    );
}

#[test]
fn the_guides_rhai_operation_runs_as_written() {
    let guide = std::fs::read_to_string(common::repo().join("docs/authoring.md")).unwrap();
    let example = guide
        .split("```rhai\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the guide holds a Rhai example");
    let t = Test::new()
        .render()
        .file("roles/guide.rhai", example)
        .playbook(
            r#"import "guide" as guide;
play("guide", "all", |host| { guide::postgres_database(#{ name: "app", owner: "app" }); });
"#,
        )
        .inventory("hostname\tip_private\nh1\t10.0.0.11\n");
    let out = t.run();
    out.assert_success();
    let commands = t.read_review("h1", "commands.sh");
    assert!(
        commands.contains("docker exec -i patroni psql"),
        "{commands}"
    );
}
