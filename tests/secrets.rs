//! Secrets never reach the output: not a rotated secret's old value in a
//! `--diff`, not a derived form of a secret in a diff or a review file, not a
//! secret inside a script error. Offline, on this machine
//! (`ansible_connection: local`, under the test's temp dir), and the rotated
//! whole-file secret once more over SSH on a lab host (ignored unless asked
//! for: it needs the lab up).

mod common;

use std::os::unix::fs::PermissionsExt;

use common::lab::{lab_alone, Lab};
use common::{Outcome, Test};

const INVENTORY: &str =
    "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n";

/// A project with `NAME=value` credentials in `creds/app.env` (0600), the
/// playbook `play`, and `dir` pointing at `state/` in the project.
fn project(play: &str, credentials: &[(&str, &str)]) -> Test {
    let t = with_credentials(Test::new().inventory(INVENTORY), credentials)
        .playbook(play)
        .dir("state");
    let state = t.at("state");
    t.var("dir", state.display())
}

/// `t` with `--credentials` pointing at `creds/app.env` (0600) in its project,
/// holding `NAME=value` lines.
fn with_credentials(t: Test, credentials: &[(&str, &str)]) -> Test {
    let env: String = credentials
        .iter()
        .map(|(name, value)| format!("{name}={value}\n"))
        .collect();
    let t = t.file("creds/app.env", &env);
    let file = t.at("creds/app.env");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let creds = t.at("creds");
    t.args(["--credentials".as_ref(), creds.as_os_str()])
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

/// A template using a secret as filters leave it (the build's minijinja has
/// no `urlencode` or `tojson`: those forms, and base64, are unit-tested in
/// `engine/src/secrets.rs`).
const DERIVED_TEMPLATE: &str = "\
plain = {{ secret(\"API_TOKEN\") }}
upper = {{ secret(\"API_TOKEN\") | upper }}
lower = {{ secret(\"API_TOKEN\") | lower }}
html = {{ secret(\"API_TOKEN\") | escape }}
";

const DERIVED_PLAY: &str = r#"
play("derived", "all", |host| {
    template("app.conf.j2", host.vars.dir + "/app.conf");
});
"#;

/// The token and the forms the template's filters give it.
const TOKEN: &str = "Ab&c/d\"e f+Zq9";
const TOKEN_FORMS: [&str; 4] = ["Ab&c/d", "AB&C/D", "ab&c/d", "Ab&amp;c&#x2f;d"];

#[test]
fn render_needs_no_credentials_and_writes_placeholders() {
    let t = Test::new()
        .playbook(DERIVED_PLAY)
        .inventory(INVENTORY)
        .file("templates/app.conf.j2", DERIVED_TEMPLATE)
        .render()
        .args([
            "--credentials",
            "/nonexistent/credentials",
            "-e",
            "dir=/srv",
        ]);
    t.run().assert_code(0);
    let review = t.read_review("h1", "srv/app.conf");
    assert!(
        review.starts_with("plain = <secret:API_TOKEN>\nupper = <SECRET:API_TOKEN>\n"),
        "{review}"
    );
}

#[test]
fn render_with_the_credentials_writes_no_form_of_a_secret() {
    let t = project(DERIVED_PLAY, &[("API_TOKEN", TOKEN)])
        .file("templates/app.conf.j2", DERIVED_TEMPLATE)
        .render();
    let out = t.run();
    out.assert_code(0);
    assert_hidden(&out, &TOKEN_FORMS);
    let conf = t.at("state/app.conf");
    let review = t.read_review("h1", conf.to_str().unwrap().trim_start_matches('/'));
    for form in TOKEN_FORMS {
        assert!(!review.contains(form), "{form:?} in the review:\n{review}");
    }
    assert!(review.contains("plain = <secret:API_TOKEN>\n"), "{review}");
}

#[test]
fn diff_masks_the_derived_forms_of_a_secret() {
    let t = project(DERIVED_PLAY, &[("API_TOKEN", TOKEN)])
        .file("templates/app.conf.j2", DERIVED_TEMPLATE);
    let out = t.run_with(&["--check", "--diff"]);
    out.assert_code(0);
    assert_hidden(&out, &TOKEN_FORMS);
    let diff = out.events_named("op_end")[0]["diff"]
        .as_str()
        .unwrap()
        .to_string();
    for key in ["plain", "upper", "lower", "html"] {
        assert!(diff.contains(&format!("+{key} = ********\n")), "{diff}");
    }
}

/// What filters make of a secret: PgBouncer's `md5` userlist entry (which
/// logs in as the password does), a shadow hash, a quoted and edited copy.
const MADE_TEMPLATE: &str = r#"md5 = md5{{ (secret("API_TOKEN") ~ "app") | hash("md5") }}
shadow = {{ secret("API_TOKEN") | password_hash("sha512", "saltsalt", rounds=5000) }}
sql = {{ secret("API_TOKEN").replace("&", "&&") | replace("Ab", "aB") }}
"#;

#[test]
fn diff_masks_what_filters_make_of_a_secret() {
    let t =
        project(DERIVED_PLAY, &[("API_TOKEN", TOKEN)]).file("templates/app.conf.j2", MADE_TEMPLATE);
    let check = t.run_with(&["--check", "--diff"]);
    check.assert_code(0);
    t.run().assert_code(0);
    let written = std::fs::read_to_string(t.at("state/app.conf")).unwrap();
    let made: Vec<&str> = written
        .lines()
        .map(|line| line.split_once(" = ").unwrap().1)
        .collect();
    assert_eq!(made.len(), 3, "{written}");
    assert_hidden(&check, &made);
    assert_hidden(&check, &[made[0].trim_start_matches("md5")]);
    let diff = check.events_named("op_end")[0]["diff"]
        .as_str()
        .unwrap()
        .to_string();
    for key in ["md5", "shadow", "sql"] {
        assert!(diff.contains(&format!("+{key} = ")), "{diff}");
    }
}

#[test]
fn a_short_secret_is_warned_about_once_by_file_and_key() {
    let play = r#"
play("short", "all", |host| {
    copy(#{ dest: host.vars.dir + "/pin", content: secret("PIN") });
    copy(#{ dest: host.vars.dir + "/pin.conf", content: "pin = " + secret("PIN") + "\n" });
});
"#;
    let t = project(play, &[("PIN", "7%3")]);
    let out = t.run_with(&["--check", "--diff"]);
    out.assert_code(0);
    let warnings: Vec<String> = out
        .warnings()
        .into_iter()
        .filter(|m| m.contains("PIN"))
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("creds/app.env"), "{warnings:?}");
    assert!(!warnings[0].contains("7%3"), "{warnings:?}");
    let diff = out.events_named("op_end")[0]["diff"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(diff.contains("content hidden (uses secret PIN)"), "{diff}");
}

/// Script errors carrying a secret: at the top level of the playbook (the
/// error ends the run before any host) and in a play's body (the host fails).
#[test]
fn script_errors_are_masked_in_plain_and_json_output() {
    let cases = [
        r#"fail("bad token " + secret("API_TOKEN"));"#,
        r#"let n = parse_int(secret("API_TOKEN"));"#,
        r#"play("p", "all", |host| { fail("bad token " + secret("API_TOKEN")); });"#,
        r#"play("p", "all", |host| { let n = parse_int(secret("API_TOKEN")); });"#,
    ];
    for play in cases {
        for json in [true, false] {
            let t = project(play, &[("API_TOKEN", "tok-s3cr3t-77")]);
            let t = if json { t } else { t.text_output() };
            let out = t.run();
            assert!(!out.success(), "{play}: {}", printed(&out));
            assert_hidden(&out, &["tok-s3cr3t", "TOK-S3CR3T"]);
            assert!(
                printed(&out).contains("********"),
                "{play}: {}",
                printed(&out)
            );
        }
    }
}

/// With `KBZ_LAB_REQUIRED` (tests/run.sh, CI), fails unless the lab test
/// below runs too.
#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

/// Removes a folder from a lab host when dropped: the host is left clean
/// even when an assertion fails.
struct Remove<'a>(&'a Lab, usize, String);

impl Drop for Remove<'_> {
    fn drop(&mut self) {
        let _ = self.0.try_ssh(self.1, &format!("rm -rf {}", self.2));
    }
}

/// Lab host 12 (lab13): the rotated cookie read back over SSH is hidden, and
/// the real run still writes the new value.
#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_rotated_whole_file_secret_is_hidden_on_a_lab_host() {
    let (_guard, lab) = lab_alone();
    let (host, _) = lab.hosts[12].clone();
    let dir = format!("/tmp/kbz-secrets-{}", std::process::id());
    let _remove = Remove(&lab, 12, dir.clone());
    lab.ssh(
        12,
        &format!(
            "rm -rf {dir}; mkdir -p {dir}; printf OLDCOOKIEVALUE9876543210 > {dir}/.erlang.cookie"
        ),
    );
    let t = with_credentials(lab.test(), &[("ERLANG_COOKIE", "NEWCOOKIEVALUE0123456789")])
        .playbook(COOKIE_PLAY)
        .args(["--limit", host.as_str()])
        .var("dir", &dir);

    let checked = t.run_with(&["--check", "--diff"]);
    checked.assert_code(0);
    assert_hidden(&checked, &["OLDCOOKIE", "NEWCOOKIE"]);
    let all = printed(&checked);
    assert!(
        all.contains(
            "content hidden (uses secret ERLANG_COOKIE): 24 bytes on host, 24 bytes desired"
        ),
        "{all}"
    );

    let applied = t.run_with(&["--diff"]);
    applied.assert_code(0);
    assert_hidden(&applied, &["OLDCOOKIE", "NEWCOOKIE"]);
    let on_host = lab.ssh(12, &format!("cat {dir}/.erlang.cookie"));
    assert_eq!(on_host, "NEWCOOKIEVALUE0123456789");
}
