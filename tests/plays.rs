//! Play semantics that need no remote host: handlers, `serial`, `run_once`,
//! `max_fail_percentage`, `any_errors_fatal`, result branching. The hosts use
//! the local transport (`ansible_connection: local`) and write under a temp dir.

mod common;

use common::{Outcome, Test};

/// `playbook` on `hosts` local hosts h1..hN, which write under the
/// project's `state/` folder (`-e tmp=<project>/state`).
fn local(playbook: &str, hosts: usize) -> Test {
    let t = Test::new()
        .playbook(playbook)
        .local_hosts(hosts)
        .dir("state");
    let tmp = t.at("state");
    t.var("tmp", tmp.display())
}

/// Asserts a run that a failure stopped: exit 2, `changed` changes in all
/// (`why` says which ran), and the stop reported with `reason`.
fn assert_stopped(out: &Outcome, changed: u64, why: &str, reason: &str) {
    out.assert_code(2);
    assert_eq!(out.total("changed"), changed, "{why}: {}", out.text());
    assert!(out.stdout().contains(reason), "{}", out.text());
}

#[test]
fn handlers_run_once_at_the_end_and_only_when_notified() {
    let playbook = r#"
play("h", "all", |host| {
    let dir = host.vars.tmp + "/" + host.name;
    file(#{ path: dir, state: "directory" });
    copy(#{ dest: dir + "/a.conf", content: "a\n" }).notify("restart");
    copy(#{ dest: dir + "/b.conf", content: "b\n" }).notify("restart");
    let r = copy(#{ dest: dir + "/a.conf", content: "a\n" });
    if r.changed { fail("an identical second copy reported a change"); }
    r.notify("never");
});
handler("restart", || { command("true", #{ tags: ["restart"] }); });
handler("never", || { fail("a handler ran without a change"); });
"#;
    let t = local(playbook, 2);
    let out = t.run();
    out.assert_code(0);
    let handler_runs = |out: &Outcome| {
        out.events_named("op_end")
            .iter()
            .filter(|e| e["op"] == "command")
            .count()
    };
    assert_eq!(
        handler_runs(&out),
        2,
        "one handler run per host despite two notifications: {}",
        out.text()
    );
    let again = t.run();
    again.assert_code(0);
    assert_eq!(
        handler_runs(&again),
        0,
        "nothing changed, so no handler: {}",
        again.text()
    );
}

#[test]
fn serial_runs_hosts_in_batches() {
    let playbook = r#"
play("rolling", "all", #{ serial: 2 }, |host| {
    command("true");
});
"#;
    let out = local(playbook, 5).run();
    out.assert_code(0);
    let pos = host_positions(&out);
    assert!(
        pos("host_end:h1") < pos("host_start:h3"),
        "h1 ends before h3 starts"
    );
    assert!(
        pos("host_end:h2") < pos("host_start:h3"),
        "h2 ends before h3 starts"
    );
    assert!(
        pos("host_end:h4") < pos("host_start:h5"),
        "h4 ends before h5 starts"
    );
}

#[test]
fn run_once_uses_the_first_host_only() {
    let playbook = r#"
play("once", "all", #{ run_once: true }, |host| { command("true"); });
play("all", "all", |host| { command("true"); });
"#;
    let out = local(playbook, 3).run();
    out.assert_code(0);
    let r = out.recap();
    assert_eq!(r[0].1["changed"], 2, "{}", out.text());
    assert_eq!(r[1].1["changed"], 1);
    assert_eq!(r[2].1["changed"], 1);
}

#[test]
fn a_failed_host_stops_but_the_others_go_on() {
    let playbook = r#"
play("one", "all", |host| {
    if host.name == "h2" { command("false"); }
    command("true");
});
play("two", "all", |host| { command("true"); });
"#;
    let out = local(playbook, 3).run();
    out.assert_code(2);
    let r = out.recap();
    assert_eq!(
        (r[1].1["failed"].as_u64(), r[1].1["changed"].as_u64()),
        (Some(1), Some(0)),
        "{}",
        out.text()
    );
    assert_eq!(r[0].1["changed"], 2);
    assert_eq!(r[2].1["changed"], 2);
    let failure = out
        .events()
        .into_iter()
        .find(|e| e["status"] == "failed")
        .unwrap();
    assert!(
        failure["at"].as_str().unwrap().ends_with("site.rhai:3:28"),
        "{failure}"
    );
}

#[test]
fn max_fail_percentage_stops_the_run() {
    let playbook = r#"
play("one", "all", #{ serial: 2, max_fail_percentage: 20 }, |host| {
    if host.name == "h1" { command("false"); }
    command("true");
});
play("two", "all", |host| { command("true"); });
"#;
    let out = local(playbook, 4).run();
    assert_stopped(
        &out,
        1,
        "only h2 of the first batch ran",
        "max_fail_percentage",
    );
}

#[test]
fn a_caught_failure_lets_the_host_go_on() {
    let playbook = r#"
play("one", "all", |host| {
    let r = command("exit 3", #{ check: false });
    if r.rc != 3 { fail("rc not returned"); }
    try { command("false"); } catch (e) { log("caught: " + e); }
    command("true");
});
"#;
    let out = local(playbook, 1).run();
    out.assert_code(0);
    assert!(out.stdout().contains("caught: "), "{}", out.text());
}

#[test]
fn check_mode_skips_commands_and_reports_them() {
    let playbook = r#"
play("one", "all", |host| {
    let dir = host.vars.tmp + "/" + host.name;
    file(#{ path: dir, state: "directory" });
    command("touch " + dir + "/ran");
    let q = command("echo query", #{ readonly: true });
    if q.stdout != "query" { fail("readonly commands run under --check"); }
});
"#;
    let t = local(playbook, 1).arg("--check");
    let out = t.run();
    out.assert_code(0);
    assert!(!t.at("state/h1").exists(), "--check created the folder");
    assert_eq!(out.total("changed"), 2, "{}", out.text());
}

#[test]
fn secrets_reach_the_host_but_never_the_output() {
    use std::os::unix::fs::PermissionsExt;
    let creds = tempfile::tempdir().unwrap();
    let env = creds.path().join("db.env");
    std::fs::write(&env, "DB_PASSWORD=hunter2-very-secret\n").unwrap();
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();
    let playbook = r#"
play("s", "all", |host| {
    let dir = host.vars.tmp + "/" + host.name;
    file(#{ path: dir, state: "directory" });
    let pw = secret("DB_PASSWORD");
    copy(#{ dest: dir + "/db.conf", content: "user = app\npassword = " + pw + "\n", mode: "0600" });
    log("the password is " + pw);
});
"#;
    let t = local(playbook, 1)
        .args(["--diff", "--credentials"])
        .arg(creds.path());
    let out = t.run();
    let all = out.text();
    assert_eq!(out.code(), Some(0), "{all}");
    assert!(
        !all.contains("hunter2"),
        "a secret leaked into the output:\n{all}"
    );
    assert!(all.contains("the password is ********"), "{all}");
    let on_host = std::fs::read_to_string(t.at("state/h1/db.conf")).unwrap();
    assert_eq!(on_host, "user = app\npassword = hunter2-very-secret\n");

    std::fs::write(&env, "DB_PASSWORD=rotated-new-secret\n").unwrap();
    // The same run with kbz-play's human output, whose diff is checked.
    let again = t.text_output().run();
    let all = again.text();
    assert_eq!(again.code(), Some(0), "{all}");
    assert!(
        !all.contains("rotated-new") && !all.contains("hunter2"),
        "a secret leaked into the diff:\n{all}"
    );
    assert!(
        all.contains("password = ********"),
        "the diff shows the masked line: {all}"
    );

    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o644)).unwrap();
    let refused = local(playbook, 1)
        .arg("--credentials")
        .arg(creds.path())
        .run();
    let all = refused.text();
    assert_eq!(refused.code(), Some(2), "{all}");
    assert!(all.contains("chmod 600"), "{all}");
}

#[test]
fn file_changes_reach_the_host_together_in_order_and_a_failed_one_ends_the_host() {
    let playbook = r#"
play("batch", "all", |host| {
    let dir = host.vars.tmp + "/" + host.name;
    file(#{ path: dir, state: "directory" });
    copy(#{ dest: dir + "/a.conf", content: "a\n" });
    let r = command("cat " + dir + "/a.conf");
    if r.stdout != "a" { fail("the queued copy was not applied before the command"); }
    copy(#{ dest: dir + "/b.conf", content: "b\n" });
    if host.name == "h2" { copy(#{ dest: dir + "/missing/c.conf", content: "c\n" }); }
    copy(#{ dest: dir + "/d.conf", content: "d\n" });
    try { command("true"); } catch (e) { log("caught: " + e); }
    copy(#{ dest: dir + "/e.conf", content: "e\n" }).notify("restart");
});
handler("restart", || { copy(#{ dest: "/nonexistent/kbz-play/handler.conf", content: "x" }); });
"#;
    let t = local(playbook, 2);
    let out = t.run();
    let all = out.text();
    assert_eq!(out.code(), Some(2), "{all}");
    let state = t.at("state");
    let present = |host: &str, name: &str| state.join(host).join(name).exists();
    for name in ["a.conf", "b.conf", "d.conf", "e.conf"] {
        assert!(present("h1", name), "h1 {name}: {all}");
    }
    // h2: what came before the failed copy is on the host, what came after
    // is not, although the script caught the error of the call that applied it.
    assert!(present("h2", "a.conf") && present("h2", "b.conf"), "{all}");
    assert!(
        !present("h2", "d.conf") && !present("h2", "e.conf"),
        "{all}"
    );
    let failed: Vec<_> = out
        .events()
        .into_iter()
        .filter(|e| e["status"] == "failed")
        .collect();
    // The failed copy on h2 (named at its own line), and h1's handler.
    assert_eq!(failed.len(), 2, "{all}");
    let h2 = failed.iter().find(|e| e["host"] == "h2").unwrap();
    assert!(
        h2["target"].as_str().unwrap().ends_with("/missing/c.conf"),
        "{h2}"
    );
    assert!(
        h2["at"].as_str().unwrap().ends_with("site.rhai:9:28"),
        "{h2}"
    );
    let message = h2["message"].as_str().unwrap();
    assert!(
        message.contains("cannot write") && message.contains("temp file"),
        "{message}"
    );
    let h1 = failed.iter().find(|e| e["host"] == "h1").unwrap();
    assert!(
        h1["at"].as_str().unwrap().ends_with("site.rhai:14:25"),
        "{h1}"
    );
    let reported = |host: &str, target: &str| {
        out.events_named("op_end")
            .iter()
            .any(|e| e["host"] == host && e["target"].as_str().is_some_and(|t| t.ends_with(target)))
    };
    assert!(
        reported("h2", "/b.conf") && !reported("h2", "/d.conf"),
        "{all}"
    );
    let r = out.recap();
    assert_eq!(r[1].1["failed"], 1, "{all}");
    assert_eq!(r[0].1["changed"], 7, "{all}");
}

#[test]
fn max_fail_percentage_counts_the_failures_of_each_batch() {
    // One of the first batch's two hosts fails: 50% of the batch, over 40%,
    // though only 25% of the play's hosts.
    let playbook = r#"
play("one", "all", #{ serial: 2, max_fail_percentage: 40 }, |host| {
    if host.name == "h1" { command("false"); }
    command("true");
});
"#;
    let out = local(playbook, 4).run();
    out.assert_code(2);
    let r = out.recap();
    assert_eq!(r[1].1["changed"], 1, "h2 ran: {}", out.text());
    assert_eq!(
        (r[2].1["changed"].as_u64(), r[3].1["changed"].as_u64()),
        (Some(0), Some(0)),
        "the second batch must not run: {}",
        out.text()
    );
    assert!(
        out.stdout().contains("max_fail_percentage"),
        "{}",
        out.text()
    );
}

#[test]
fn a_batch_in_which_every_host_failed_stops_the_run() {
    let playbook = r#"
play("one", "all", #{ serial: 1 }, |host| {
    if host.name == "h1" { command("false"); }
    command("true");
});
play("two", "all", |host| { command("true"); });
"#;
    let out = local(playbook, 3).run();
    assert_stopped(
        &out,
        0,
        "nothing runs after a batch that failed whole",
        "every host of the batch failed",
    );
}

#[test]
fn any_errors_fatal_stops_the_other_hosts_at_their_next_op() {
    // h1 fails at once; h2 is still in its first op then, and must not start
    // its second one.
    let playbook = r#"
play("one", "all", #{ any_errors_fatal: true }, |host| {
    if host.name == "h1" { command("false"); }
    command("sleep 1");
    command("touch " + host.vars.tmp + "/" + host.name);
});
"#;
    let t = local(playbook, 2);
    let out = t.run();
    out.assert_code(2);
    assert!(
        !t.at("state/h2").exists(),
        "h2 ran past h1's failure: {}",
        out.text()
    );
    let r = out.recap();
    assert_eq!(
        r[1].1["failed"],
        0,
        "a stopped host did not fail: {}",
        out.text()
    );
    let stopped = out
        .events_named("op_end")
        .into_iter()
        .find(|e| e["host"] == "h2" && e["status"] == "skipped")
        .unwrap_or_else(|| panic!("h2's next op is reported skipped: {}", out.text()));
    assert!(
        stopped["message"].as_str().unwrap().contains("h1 failed"),
        "{stopped}"
    );
}

#[test]
fn localhost_with_its_own_port_is_reached_over_ssh() {
    // Port 1 on the loopback: nothing listens, so SSH is refused at once. Run
    // locally instead, the play would touch the file on this machine.
    let playbook = r#"
play("one", "all", |host| { command("touch " + host.vars.tmp + "/ran-locally"); });
"#;
    let t = Test::new()
        .playbook(playbook)
        .inventory("hostname\tip_private\tansible_port\nlocalhost\t127.0.0.1\t1\n")
        .dir("state")
        .args(["--timeout", "3"]);
    let tmp = t.at("state");
    let t = t.var("tmp", tmp.display());
    let out = t.run();
    out.assert_code(4);
    assert!(!t.at("state/ran-locally").exists(), "{}", out.text());
}

#[test]
fn an_op_left_out_by_tags_is_reported_once() {
    let playbook = r#"
play("t", "all", |host| {
    let dir = host.vars.tmp + "/" + host.name;
    file(#{ path: dir, state: "directory", tags: ["wanted"] });
    copy(#{ dest: dir + "/left.conf", content: "x\n" });
});
"#;
    let out = local(playbook, 1).run_with(&["--tags", "wanted"]);
    out.assert_code(0);
    let skipped = out.ops_with_status("skipped");
    assert_eq!(
        skipped.len(),
        1,
        "one op_end for the op --tags left out: {skipped:?}"
    );
    out.assert_total("skipped", 1);
}

/// Where each host's events start and end in `out`, as `"host_start:h1"`.
fn host_positions(out: &Outcome) -> impl Fn(&str) -> usize {
    let order: Vec<String> = out
        .events()
        .iter()
        .filter(|e| e["event"] == "host_start" || e["event"] == "host_end")
        .map(|e| {
            format!(
                "{}:{}",
                e["event"].as_str().unwrap(),
                e["host"].as_str().unwrap()
            )
        })
        .collect();
    move |s: &str| {
        order
            .iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("{s} missing in {order:?}"))
    }
}

#[test]
fn serial_orders_changes_not_verification() {
    // Each host's check waits until every host of the rolling play has
    // started its own: in batches of one, h1 would wait for h2 in vain.
    // Nothing to change, so no host waits for another's batch.
    let playbook = r#"
play("set up", "all", |host| {
    copy(#{ dest: host.vars.tmp + "/" + host.name + ".conf", content: "x\n" });
});
play("rolling check", "all", #{ serial: 1 }, |host| {
    shell("touch " + host.vars.tmp + "/checking-" + host.name, #{ readonly: true });
    for h in ["h1", "h2", "h3"] {
        wait_for(#{ path: host.vars.tmp + "/checking-" + h, timeout: 5 });
    }
    log("checked");
});
"#;
    let out = local(playbook, 3).run();
    out.assert_code(0);
    let r = out.recap();
    for (host, stats) in &r {
        assert_eq!(
            (stats["ok"].as_u64(), stats["failed"].as_u64()),
            (Some(4), Some(0)),
            "{host}: {}",
            out.text()
        );
    }
    // The pass ahead's events, held until it was kept, are reported once.
    assert_eq!(out.events_named("log").len(), 3, "{}", out.text());
}

#[test]
fn a_rolling_rerun_is_one_round_trip_per_host() {
    let playbook = r#"
play("one", "all", #{ serial: 1 }, |host| {
    let dir = host.vars.tmp + "/" + host.name;
    file(#{ path: dir, state: "directory" });
    copy(#{ dest: dir + "/a.conf", content: "a\n" }).notify("reload");
});
play("two", "all", #{ serial: 1 }, |host| {
    copy(#{ dest: host.vars.tmp + "/" + host.name + "/b.conf", content: "b\n" }).notify("reload");
});
handler("reload", || { command("true"); });
"#;
    let t = local(playbook, 3).cache();
    t.run().assert_code(0);
    let again = t.run();
    again.assert_code(0);
    for (host, stats) in again.recap() {
        assert_eq!(
            (stats["changed"].as_u64(), stats["round_trips"].as_u64()),
            (Some(0), Some(1)),
            "{host}: {}",
            again.text()
        );
    }
}

#[test]
fn in_a_rolling_play_only_the_hosts_with_changes_wait_for_their_batch() {
    let playbook = r#"
play("rolling", "all", #{ serial: 1 }, |host| {
    copy(#{ dest: host.vars.tmp + "/" + host.name + ".conf", content: "x\n" }).notify("reload");
});
handler("reload", || { command("true"); });
"#;
    let t = local(playbook, 3).cache();
    t.run().assert_code(0);
    for h in ["h1", "h3"] {
        std::fs::remove_file(t.at(format!("state/{h}.conf"))).unwrap();
    }
    let out = t.run();
    out.assert_code(0);
    let pos = host_positions(&out);
    // h2 has nothing to change: it is done before the first batch starts;
    // h1 and h3 still roll, one after the other.
    assert!(pos("host_end:h2") < pos("host_start:h1"), "{}", out.text());
    assert!(pos("host_end:h1") < pos("host_start:h3"), "{}", out.text());
    let reloads: Vec<_> = out
        .events_named("op_end")
        .iter()
        .filter(|e| e["op"] == "command")
        .map(|e| e["host"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(reloads, ["h1", "h3"], "{}", out.text());
    let r = out.recap();
    let changed: Vec<_> = r.iter().map(|(_, s)| s["changed"].as_u64()).collect();
    assert_eq!(changed, [Some(2), Some(0), Some(2)], "{}", out.text());
}

#[test]
fn a_rolling_play_after_a_change_asks_the_host_again() {
    // h1's command changes it in the first play, which may have changed
    // anything: its rolling play's probe asks the host again (one more
    // round trip), and h2, with nothing changed, still needs none.
    let playbook = r#"
play("prepare", "all", |host| {
    let flag = host.vars.tmp + "/" + host.name + ".flag";
    shell("echo x > " + host.vars.tmp + "/" + host.name + ".conf; touch " + flag, #{ creates: flag });
});
play("rolling", "all", #{ serial: 1 }, |host| {
    copy(#{ dest: host.vars.tmp + "/" + host.name + ".conf", content: "x\n" });
});
"#;
    let t = local(playbook, 2).cache();
    t.run().assert_code(0);
    std::fs::remove_file(t.at("state/h1.flag")).unwrap();
    let out = t.run();
    out.assert_code(0);
    let r = out.recap();
    let seen: Vec<_> = r
        .iter()
        .map(|(_, s)| (s["changed"].as_u64(), s["round_trips"].as_u64()))
        .collect();
    assert_eq!(
        seen,
        [(Some(1), Some(3)), (Some(0), Some(1))],
        "{}",
        out.text()
    );
}

/// `gather_facts: false` (Ansible's play option): when no play of a host
/// gathers facts, its plays see none (`host.facts` absent, `facts()` an
/// error naming the option, no `ansible_*` facts in templates, as in
/// Ansible); when any play does, every play of the host sees them.
#[test]
fn gather_facts_false_in_every_play_hides_the_facts_and_one_play_gathering_shows_them() {
    let quiet = r#"
play("one", "all", #{ gather_facts: false }, |host| {
    log(`facts in the host map: ${"facts" in host}`);
    template(#{ src: "facts.j2", dest: host.vars.tmp + "/facts" });
    facts();
});
"#;
    let template =
        "hostname: {{ ansible_hostname | default('none') }}, facts: {{ ansible_facts }}\n";
    let t = local(quiet, 1)
        .file("templates/facts.j2", template)
        .text_output();
    let out = t.run();
    out.assert_code(2);
    for said in [
        "facts in the host map: false",
        "facts(): h1 gathers no facts (every play of it says gather_facts: false)",
    ] {
        assert!(out.stdout().contains(said), "{said}: {}", out.text());
    }
    let rendered = std::fs::read_to_string(t.at("state/facts")).unwrap();
    assert_eq!(rendered, "hostname: none, facts: {}\n");
    let gathering = quiet.replace("facts();", "")
        + r#"
play("two", "all", |host| { log(`two: ${facts().user != ""}`); });
"#;
    let t = local(&gathering, 1)
        .file("templates/facts.j2", template)
        .text_output();
    let out = t.run();
    out.assert_code(0);
    for said in ["facts in the host map: true", "two: true"] {
        assert!(out.stdout().contains(said), "{said}: {}", out.text());
    }
    let rendered = std::fs::read_to_string(t.at("state/facts")).unwrap();
    assert!(!rendered.starts_with("hostname: none"), "{rendered}");
}
