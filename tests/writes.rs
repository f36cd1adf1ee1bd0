//! File writes as the host sees them: a batch's steps each read only their
//! own bytes, a write planned from probed content is a compare-and-swap
//! (a file changed on the host meanwhile is re-probed, never overwritten
//! from a stale snapshot), and writes in folders a service owns never follow
//! a symlink planted there.
//!
//! Locally (`ansible_connection: local`, under a temp dir), and on the lab
//! hosts lab07 and lab08 (ignored unless asked for: they need the lab up).

mod common;

use common::Test;

/// One local host `h1` whose play finds its folder in `host.vars.tmp`.
fn local(playbook: &str) -> Test {
    let t = Test::new()
        .playbook(playbook)
        .inventory(
            "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n",
        )
        .dir("state");
    let tmp = t.at("state");
    t.var("tmp", tmp.display())
}

#[test]
fn lab_tests_are_not_silently_left_out() {
    common::lab::required_guard();
}

#[test]
fn a_validator_reading_stdin_leaves_the_next_file_of_the_batch_intact() {
    let t = local(
        r#"
play("v", "all", |host| {
    let d = host.vars.tmp;
    copy(#{ dest: d + "/a.conf", content: "a\n", validate: "head -c 3 >/dev/null; test -s {}" });
    copy(#{ dest: d + "/b.conf", content: "bbbbbb\n" });
    copy(#{ dest: d + "/c.conf", content: "c\n" });
});
"#,
    );
    t.run().assert_code(0).assert_total("changed", 3);
    for (name, want) in [("a.conf", "a\n"), ("b.conf", "bbbbbb\n"), ("c.conf", "c\n")] {
        assert_eq!(
            std::fs::read_to_string(t.at("state").join(name)).unwrap(),
            want
        );
    }
}
