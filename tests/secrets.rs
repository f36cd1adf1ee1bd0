//! Secrets never reach the output: not a rotated secret's old value in a
//! `--diff`, not a derived form of a secret in a diff or a review file, not a
//! secret inside a script error. Offline, on this machine
//! (`ansible_connection: local`, under the test's temp dir).

mod common;

use std::os::unix::fs::PermissionsExt;

use common::{Outcome, Test};

const INVENTORY: &str =
    "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n";

/// A project with `NAME=value` credentials in `creds/app.env` (0600), the
/// playbook `play`, and `dir` pointing at `state/` in the project.
fn project(play: &str, credentials: &[(&str, &str)]) -> Test {
    let env: String = credentials
        .iter()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect();
    let t = Test::new()
        .playbook(play)
        .inventory(INVENTORY)
        .file("creds/app.env", &env)
        .dir("state");
    let file = t.at("creds/app.env");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let creds = t.at("creds");
    let state = t.at("state");
    t.args(["--credentials".as_ref(), creds.as_os_str()])
        .var("dir", state.display())
}

/// Everything a run printed, both streams.
fn printed(out: &Outcome) -> String {
    format!("{}\n{}", out.stdout(), out.stderr())
}

/// Asserts that none of `values` shows anywhere in `out`.
fn assert_hidden(out: &Outcome, values: &[&str]) {
    let all = printed(out);
    for value in values {
        assert!(!all.contains(value), "{value:?} printed:\n{all}");
    }
}

const COOKIE_PLAY: &str = r#"
play("cookie", "all", |host| {
    copy(#{ dest: host.vars.dir + "/.erlang.cookie", content: secret("ERLANG_COOKIE"), mode: "0400" });
});
"#;

#[test]
fn a_rotated_whole_file_secret_is_hidden_with_its_size() {
    for json in [true, false] {
        let t = project(
            COOKIE_PLAY,
            &[("ERLANG_COOKIE", "NEWCOOKIEVALUE0123456789")],
        );
        let t = if json { t } else { t.text_output() };
        std::fs::write(t.at("state/.erlang.cookie"), "OLDCOOKIEVALUE9876543210").unwrap();
        let out = t.run_with(&["--check", "--diff"]);
        out.assert_code(0);
        assert_hidden(&out, &["OLDCOOKIE", "NEWCOOKIE"]);
        let all = printed(&out);
        assert!(
            all.contains(
                "content hidden (uses secret ERLANG_COOKIE): 24 bytes on host, 24 bytes desired"
            ),
            "{all}"
        );
    }
}

#[test]
fn a_mixed_file_masks_secret_lines_on_both_sides_whatever_their_prefix() {
    let play = r#"
play("mixed", "all", |host| {
    let conf = "[server]\nport = 5672\n[auth]\n" + secret("API_TOKEN") + "\npassword: " + secret("DB_PASSWORD") + "\nlevel = 2\n";
    copy(#{ dest: host.vars.dir + "/app.conf", content: conf });
});
"#;
    let t = project(
        play,
        &[
            ("API_TOKEN", "new-token-abcdef"),
            ("DB_PASSWORD", "new-db-pw-123"),
        ],
    );
    std::fs::write(
        t.at("state/app.conf"),
        "[server]\nport = 5672\n[auth]\nold-token-zyxwvu\npassword = old-db-pw-987\nlevel = 1\n",
    )
    .unwrap();
    let out = t.run_with(&["--check", "--diff"]);
    out.assert_code(0);
    assert_hidden(&out, &["old-token", "new-token", "old-db-pw", "new-db-pw"]);
    let diff = out.events_named("op_end")[0]["diff"]
        .as_str()
        .unwrap()
        .to_string();
    for line in [
        "-********",
        "+********",
        "+password: ********",
        "-level = 1",
        "+level = 2",
        " port = 5672",
    ] {
        assert!(diff.lines().any(|l| l == line), "{line:?} missing:\n{diff}");
    }
}
