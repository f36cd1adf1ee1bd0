//! Hung commands and probes do not hang the run: past its limit (an op's
//! `timeout:`, else `--op-timeout`) a script's whole process group on the
//! host is killed and only that host fails, with "timed out after N s".
//!
//! On this machine (`ansible_connection: local`): the local transport runs
//! the very scripts the SSH transport sends.

mod common;

use std::time::{Duration, Instant};

use common::{Outcome, Test};

/// Two hosts on this machine: `slow` runs what hangs, `quick` does not.
const INVENTORY: &str = "hostname\tip_private\tgroups\tansible_connection\n\
                         slow\t127.0.0.1\tall\tlocal\n\
                         quick\t127.0.0.1\tall\tlocal\n";

/// A name no other process on this machine carries: the test's temp dir.
fn marker(t: &Test) -> String {
    t.path().to_str().unwrap().to_string()
}

/// Whether a process whose command line holds `marker` is running.
fn running(marker: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", marker])
        .status()
        .expect("pgrep")
        .success()
}

/// The failed `op_end` events of `host`.
fn failures(out: &Outcome, host: &str) -> Vec<serde_json::Value> {
    out.events_named("op_end")
        .into_iter()
        .filter(|e| e["host"] == host && e["status"] == "failed")
        .collect()
}

/// Asserts that `slow` failed with "timed out after 1 s" and `quick` wrote
/// its file, within a few seconds, and that nothing of `slow`'s is left.
fn assert_slow_timed_out(t: &Test, out: &Outcome, took: Duration) {
    let text = out.text();
    let failed = failures(out, "slow");
    assert_eq!(failed.len(), 1, "{text}");
    let message = failed[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("timed out after 1 s"), "{message}\n{text}");
    assert!(failures(out, "quick").is_empty(), "{text}");
    assert!(t.at("quick.done").exists(), "{text}");
    assert!(took < Duration::from_secs(15), "took {took:?}\n{text}");
    assert_ne!(out.code(), Some(0), "{text}");
    // `timeout` sends TERM to the group at once: nothing should linger past that.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !running(&marker(t)),
        "a process of the timed-out command is still running"
    );
}

#[test]
fn a_command_past_its_timeout_is_killed_with_its_process_group() {
    let t = Test::new()
        .playbook(
            r#"
play("hung", "all", |host| {
    if host.name == "slow" {
        shell("sh -c 'sleep 1000; echo $0' " + host.vars.marker + " | cat & sleep 30", #{ timeout: 1 });
    } else {
        shell("sleep 2; touch " + host.vars.tmp + "/quick.done");
    }
});
"#,
        )
        .inventory(INVENTORY);
    let tmp = marker(&t);
    let t = t.var("marker", &tmp).var("tmp", &tmp);
    let started = Instant::now();
    let out = t.run();
    assert_slow_timed_out(&t, &out, started.elapsed());
}

#[test]
fn op_timeout_bounds_an_unless_guard() {
    let t = Test::new()
        .playbook(
            r#"
play("hung guard", "all", |host| {
    if host.name == "slow" {
        shell("true", #{ unless: "sh -c 'sleep 30; echo $0' " + host.vars.marker });
    } else {
        shell("touch " + host.vars.tmp + "/quick.done");
    }
});
"#,
        )
        .inventory(INVENTORY);
    let tmp = marker(&t);
    let t = t.var("marker", &tmp).var("tmp", &tmp);
    let started = Instant::now();
    let out = t.run_with(&["--op-timeout", "1"]);
    assert_slow_timed_out(&t, &out, started.elapsed());
}

#[test]
fn op_timeout_is_at_least_a_second() {
    let t = Test::new()
        .playbook(r#"play("p", "all", |host| { command("true"); });"#)
        .inventory(INVENTORY);
    let out = t.run_with(&["--op-timeout", "0"]);
    assert_eq!(out.code(), Some(2), "{}", out.text());
}
