//! What a role author uses: `kbz-play doc` on the project's roles and the
//! operations they write in Rhai, and `kbz-play new role NAME`.

mod common;

use common::{kbz, text};

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
