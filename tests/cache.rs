//! The probe cache across runs, on local hosts (`ansible_connection:
//! local`, writing under the project's `state/`): a first run probes once
//! and a rerun is one round trip, a hand edit of a file a play owns is
//! reported, and a run that went through only part of the plays (a failure
//! here; `--tags` in `custom_ops.rs`) keeps what the cache knew of the rest.

mod common;

use common::Test;

/// `playbook` on one local host h1, its cache kept between the runs.
fn cached(playbook: &str) -> Test {
    let t = Test::new().playbook(playbook).local_hosts(1).dir("state");
    let tmp = t.at("state");
    t.var("tmp", tmp.display()).cache()
}

#[test]
fn a_first_run_probes_once_and_a_rerun_is_one_round_trip() {
    let playbook = r#"
play("rt", "all", |host| {
    let dir = host.vars.tmp + "/" + host.name;
    file(#{ path: dir, state: "directory" });
    for sub in ["a", "b", "c"] { file(#{ path: dir + "/" + sub, state: "directory", mode: "0750" }); }
    copy(#{ dest: dir + "/motd", content: "managed\n" });
    for kv in [["PermitRootLogin", "no"], ["PasswordAuthentication", "no"], ["X11Forwarding", "no"], ["MaxAuthTries", "3"]] {
        line(#{ path: dir + "/sshd_config", regexp: "^#?" + kv[0] + " ", line: kv[0] + " " + kv[1], create: true });
    }
});
"#;
    // A cache kept between the runs, as an operator's would be.
    let t = cached(playbook);
    let first = t.run();
    first.assert_code(0);
    let stats = &first.stats(0);
    assert_eq!(stats["changed"], 9, "{}", first.text());
    // 1 (facts and every probe the play will ask, found by a rehearsal
    // before the host was opened) + 1 (the changes queued so far, applied
    // together) + 1 (the new sshd_config read back: its owner is unknown
    // until then) + 1 (the rest of the changes, at the end of the play).
    // The line edits after the second plan from what the previous write
    // left, and no change costs a round trip of its own.
    assert_eq!(stats["round_trips"], 4, "{}", first.text());
    let conf = std::fs::read_to_string(t.at("state/h1/sshd_config")).unwrap();
    assert_eq!(
        conf,
        "PermitRootLogin no\nPasswordAuthentication no\nX11Forwarding no\nMaxAuthTries 3\n"
    );
    let again = t.run();
    let stats = &again.stats(0);
    assert_eq!(
        (stats["changed"].as_u64(), stats["round_trips"].as_u64()),
        (Some(0), Some(1)),
        "{}",
        again.text()
    );
    // A hand edit of a file the play owns whole is reported, and put back;
    // one of a file it edits in part is not (services rewrite such files).
    let state = t.at("state/h1");
    std::fs::write(state.join("motd"), "edited by hand\n").unwrap();
    let mut sshd = std::fs::read_to_string(state.join("sshd_config")).unwrap();
    sshd.push_str("# a local note\n");
    std::fs::write(state.join("sshd_config"), sshd).unwrap();
    let drift = t.run();
    let warnings = drift.warnings();
    assert!(drift.reports_drift("/motd"), "{warnings:?}");
    assert!(
        !warnings.iter().any(|w| w.contains("sshd_config")),
        "{warnings:?}"
    );
    assert_eq!(drift.total("changed"), 1, "{}", drift.text());
    assert_eq!(
        std::fs::read_to_string(state.join("motd")).unwrap(),
        "managed\n"
    );
}

#[test]
fn a_run_a_failure_cut_short_keeps_what_the_cache_knew_of_the_rest() {
    let playbook = r#"
play("cut", "all", |host| {
    let dir = host.vars.tmp + "/" + host.name;
    file(#{ path: dir, state: "directory" });
    if host.vars.fail == "yes" { command("false"); }
    copy(#{ dest: dir + "/motd", content: "managed\n" });
});
"#;
    let t = cached(playbook).var("fail", "no");
    t.run().assert_code(0);
    t.run_with(&["-e", "fail=yes"]).assert_code(2);
    let motd = t.at("state/h1/motd");
    std::fs::write(&motd, "edited by hand\n").unwrap();
    let drift = t.run();
    assert!(
        drift.reports_drift("/motd"),
        "the run the failure stopped before `copy` forgot its digest: {}",
        drift.text()
    );
    assert_eq!(std::fs::read_to_string(&motd).unwrap(), "managed\n");
}
