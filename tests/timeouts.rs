//! Hung commands and probes do not hang the run: past its limit (an op's
//! `timeout:`, else `--op-timeout`) a script's whole process group on the
//! host is killed and only that host fails, with "timed out after N s".
//!
//! Ctrl-C: no op starts any more, the commands in flight are stopped, the
//! recap counts the hosts it stopped (or kept from plays they were due to
//! run) as interrupted, not failed, and the exit code is 130.
//!
//! On this machine (`ansible_connection: local`): the local transport runs
//! the very scripts the SSH transport sends; tests/faults/interrupt.rs runs
//! the same over SSH on lab hosts.

mod common;

use std::time::{Duration, Instant};

use common::background::{running_here as running, Background};
use common::{Outcome, Test};

/// Two hosts on this machine: `slow` runs what hangs, `quick` does not.
const INVENTORY: &str = "hostname\tip_private\tgroups\tansible_connection\n\
                         slow\t127.0.0.1\tall\tlocal\n\
                         quick\t127.0.0.1\tall\tlocal\n";

/// A name no other process on this machine carries: the test's temp dir.
fn marker(t: &Test) -> String {
    t.path().to_str().unwrap().to_string()
}

/// The failed `op_end` events of `host`.
fn failures(out: &Outcome, host: &str) -> Vec<serde_json::Value> {
    out.ops_with_status("failed")
        .into_iter()
        .filter(|e| e["host"] == host)
        .collect()
}

/// Asserts that `slow` failed with "timed out after `secs` s", naming its
/// op's file:line, and `quick` wrote its file, within a few seconds, and
/// that nothing of `slow`'s is left.
fn assert_slow_timed_out(t: &Test, out: &Outcome, took: Duration, secs: u64) {
    let text = out.text();
    let failed = failures(out, "slow");
    assert_eq!(failed.len(), 1, "{text}");
    let message = failed[0]["message"].as_str().unwrap_or_default();
    let timed_out = format!("timed out after {secs} s");
    assert!(message.contains(&timed_out), "{message}\n{text}");
    let at = failed[0]["at"].as_str().unwrap_or_default();
    assert!(
        at.contains(".rhai:4:"),
        "the op's file:line: {at:?}\n{text}"
    );
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
    assert_slow_timed_out(&t, &out, started.elapsed(), 1);
}

/// A play in which `slow` calls `op` (Rhai, on line 4) and `quick`
/// touches `quick.done`, with `marker` and `tmp` set to the test's dir.
fn slow_calls(op: &str) -> Test {
    let t = Test::new()
        .playbook(&format!(
            r#"
play("hung", "all", |host| {{
    if host.name == "slow" {{
        {op};
    }} else {{
        shell("touch " + host.vars.tmp + "/quick.done");
    }}
}});
"#
        ))
        .inventory(INVENTORY);
    let tmp = marker(&t);
    t.var("marker", &tmp).var("tmp", &tmp)
}

/// With `--op-timeout 1` no ask gets a whole second of the opening: the
/// guard is probed live only, under the op's limit.
#[test]
fn op_timeout_bounds_an_unless_guard() {
    let t = slow_calls(
        r#"shell("true", #{ unless: "sh -c 'sleep 30; echo $0' " + host.vars.marker })"#,
    );
    let started = Instant::now();
    let out = t.run_with(&["--op-timeout", "1"]);
    assert_slow_timed_out(&t, &out, started.elapsed(), 1);
}

/// The opening asks the guard (it logs each run) under its own share of
/// the limit, never the whole opening's: past it, the host's opening still
/// stands and the guard is probed live, where the op's limit fails it.
#[test]
fn a_hung_guard_asked_ahead_is_cut_at_its_share_and_fails_its_op_live() {
    let t = slow_calls(
        r#"shell("true", #{ unless: "echo ran >> " + host.vars.tmp + "/guard.log; sh -c 'sleep 30; echo $0' " + host.vars.marker })"#,
    );
    let started = Instant::now();
    let out = t.run_with(&["--op-timeout", "3"]);
    assert_slow_timed_out(&t, &out, started.elapsed(), 3);
    let runs = std::fs::read_to_string(t.at("guard.log")).unwrap_or_default();
    assert_eq!(runs, "ran\nran\n", "ahead, then live\n{}", out.text());
}

/// A hung read-only command alike: were its share of the opening's one
/// second rounded up to a whole one, it would fill the opening, which
/// would then fail the host without naming the op, before `quick` ran.
#[test]
fn op_timeout_bounds_a_hung_read_only_command() {
    let t = slow_calls(
        r#"shell("sh -c 'sleep 30; echo $0' " + host.vars.marker, #{ readonly: true })"#,
    );
    let started = Instant::now();
    let out = t.run_with(&["--op-timeout", "1"]);
    assert_slow_timed_out(&t, &out, started.elapsed(), 1);
}

#[test]
fn op_timeout_is_at_least_a_second() {
    let t = Test::new()
        .playbook(r#"play("p", "all", |host| { command("true"); });"#)
        .inventory(INVENTORY);
    let out = t.run_with(&["--op-timeout", "0"]);
    assert_eq!(out.code(), Some(2), "{}", out.text());
}

/// A play whose first op runs `cmd` (a Rhai string literal), then touches `after`.
fn hanging(cmd: &str) -> String {
    format!(
        r#"
play("hangs", "all", |host| {{
    shell({cmd:?});
    shell("touch " + host.vars.tmp + "/after");
}});
"#
    )
}

/// One local host, `h1`.
const ONE_HOST: &str =
    "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tall\tlocal\n";

#[test]
fn ctrl_c_stops_the_command_prints_the_recap_and_exits_130() {
    let t = Test::new().inventory(ONE_HOST);
    let tmp = marker(&t);
    let cmd = format!("sh -c 'sleep 1000; echo $0' {tmp} | cat & sleep 30");
    let t = t.playbook(&hanging(&cmd)).var("tmp", &tmp);
    let run = Background::start(&t, "\"op\":\"shell\"", 1);
    let runtime = run.runtime().to_path_buf();
    run.interrupt();
    let out = run.wait(Duration::from_secs(10));
    out.assert_code(130);
    assert_interrupted(&out, &["h1"]);
    let stopped = out.events_named("op_end");
    assert_eq!(stopped.len(), 1, "{}", out.text());
    assert_eq!(stopped[0]["status"], "interrupted", "{}", out.text());
    assert!(
        stopped[0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("interrupted (Ctrl-C)"),
        "{}",
        out.text()
    );
    assert!(
        !running(&tmp),
        "the interrupted command's processes are still running"
    );
    assert!(!t.at("after").exists(), "an op started after Ctrl-C");
    let left = Background::control_left(&runtime);
    assert!(left.is_empty(), "control folder left behind: {left:?}");
}

/// Asserts that the recap counts `hosts`, and only them, as interrupted,
/// none of them failed, and the plain verdict's word.
fn assert_interrupted(out: &Outcome, hosts: &[&str]) {
    let text = out.text();
    for (host, stats) in out.recap() {
        let expected = hosts.contains(&host.as_str());
        assert_eq!(stats["interrupted"], expected, "{host}: {text}");
        assert_eq!(stats["failed"], 0, "{host}: {text}");
    }
    assert!(out.events_named("host_failed").is_empty(), "{text}");
}

#[test]
fn hosts_with_plays_left_are_interrupted_and_hosts_done_are_not() {
    let t = Test::new().inventory(
        "hostname\tip_private\tgroups\tansible_connection\n\
         busy\t127.0.0.1\tall\tlocal\n\
         later\t127.0.0.1\tall,later\tlocal\n\
         done\t127.0.0.1\tall\tlocal\n",
    );
    let tmp = marker(&t);
    let t = t
        .playbook(
            r#"
play("first", "all", |host| {
    if host.name == "busy" { shell("sleep 30; echo " + host.vars.tmp); }
    else { shell("true"); }
});
play("second", "later", |host| { shell("touch " + host.vars.tmp + "/second"); });
"#,
        )
        .var("tmp", &tmp);
    let run = Background::start(&t, "\"host\":\"busy\",\"op\":\"shell\"", 1);
    run.interrupt();
    let out = run.wait(Duration::from_secs(10));
    out.assert_code(130);
    assert_interrupted(&out, &["busy", "later"]);
    assert!(!t.at("second").exists(), "a play started after Ctrl-C");
}
#[test]
fn a_second_ctrl_c_exits_at_once() {
    let t = Test::new().inventory(ONE_HOST);
    let tmp = marker(&t);
    // Ignores the TERM of the first Ctrl-C: only the KILL 2 s later ends it.
    let cmd = format!("trap '' TERM; sh -c 'sleep 1000; echo $0' {tmp} | cat & sleep 30");
    let t = t.playbook(&hanging(&cmd)).var("tmp", &tmp);
    let run = Background::start(&t, "\"op\":\"shell\"", 1);
    let runtime = run.runtime().to_path_buf();
    run.interrupt();
    std::thread::sleep(Duration::from_millis(300));
    let second = Instant::now();
    run.interrupt();
    let out = run.wait(Duration::from_secs(10));
    assert!(
        second.elapsed() < Duration::from_millis(1500),
        "{:?}",
        second.elapsed()
    );
    out.assert_code(130);
    let left = Background::control_left(&runtime);
    assert!(left.is_empty(), "control folder left behind: {left:?}");
    // The first Ctrl-C's KILL, 2 s after it, still reaches the group.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !running(&tmp),
        "the interrupted command's processes are still running"
    );
}

/// A folder for `PATH` with every program of this machine but `without`.
fn path_without(t: &Test, without: &[&str]) -> std::path::PathBuf {
    let bin = t.at("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for dir in ["/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let link = bin.join(&name);
            if !without.iter().any(|w| name == *w) && !link.exists() {
                std::os::unix::fs::symlink(e.path(), link).unwrap();
            }
        }
    }
    bin
}

#[test]
fn a_host_without_timeout_or_pkill_fails_naming_them() {
    let t = Test::new()
        .playbook(r#"play("p", "all", |host| { shell("touch " + host.vars.tmp + "/ran"); });"#)
        .inventory(ONE_HOST);
    let tmp = marker(&t);
    let t = t.var("tmp", &tmp);
    let path = path_without(&t, &["timeout", "pkill"]);
    let out = Outcome::new(t.command().env("PATH", path).output().unwrap());
    out.assert_code(2);
    let failed = out.events_named("host_failed");
    assert_eq!(failed.len(), 1, "{}", out.text());
    let error = failed[0]["error"].as_str().unwrap_or_default();
    for part in ["`timeout`, `pkill`", "apt-get install coreutils procps"] {
        assert!(error.contains(part), "{part:?} not in {error:?}");
    }
    assert!(!t.at("ran").exists(), "{}", out.text());
}
