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

/// A running kbz-play: the process, its ssh control folder's parent, and
/// the rest of its JSON lines once it ends.
type Started = (
    std::process::Child,
    std::path::PathBuf,
    std::thread::JoinHandle<Vec<String>>,
);

/// A run on one local host whose command hangs, started in the background
/// with its ssh control folder under `t`'s `run/`, once the command is in
/// flight (the `op_start` event holding `event` was printed).
fn start_hanging(t: &Test, event: &str) -> Started {
    use std::io::BufRead;
    use std::os::unix::fs::PermissionsExt;
    let runtime = t.at("run");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut child = common::bin()
        .args(t.command_line())
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kbz-play runs");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let started = lines
        .by_ref()
        .map_while(Result::ok)
        .any(|l| l.contains("\"op_start\"") && l.contains(event));
    assert!(started, "no op_start with {event}");
    // Keep reading, so kbz-play never blocks on a full pipe.
    let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect());
    std::thread::sleep(Duration::from_millis(300));
    (child, runtime, rest)
}

/// Sends SIGINT to `child`.
fn interrupt(child: &std::process::Child) {
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(sent.success());
}

/// Waits for `child` to exit, at most `limit`; its exit code.
fn exit_within(child: &mut std::process::Child, limit: Duration) -> Option<i32> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("kbz-play still running {limit:?} after SIGINT");
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
    let (mut child, runtime, rest) = start_hanging(&t, "\"op\":\"shell\"");
    interrupt(&child);
    let code = exit_within(&mut child, Duration::from_secs(10));
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(code, Some(130), "{stderr}");
    let lines = rest.join().unwrap().join("\n");
    assert!(lines.contains("interrupted (Ctrl-C)"), "{lines}");
    assert!(
        lines.contains("\"run_end\"") && lines.contains("\"recap\""),
        "{lines}"
    );
    assert!(
        !running(&tmp),
        "the interrupted command's processes are still running"
    );
    assert!(!t.at("after").exists(), "an op started after Ctrl-C");
    let left: Vec<_> = std::fs::read_dir(&runtime).unwrap().collect();
    assert!(left.is_empty(), "control folder left behind: {left:?}");
}

#[test]
fn a_second_ctrl_c_exits_at_once() {
    let t = Test::new().inventory(ONE_HOST);
    let tmp = marker(&t);
    // Ignores the TERM of the first Ctrl-C: only the KILL 2 s later ends it.
    let cmd = format!("trap '' TERM; sh -c 'sleep 1000; echo $0' {tmp} | cat & sleep 30");
    let t = t.playbook(&hanging(&cmd)).var("tmp", &tmp);
    let (mut child, runtime, _rest) = start_hanging(&t, "\"op\":\"shell\"");
    interrupt(&child);
    std::thread::sleep(Duration::from_millis(300));
    let second = Instant::now();
    interrupt(&child);
    let code = exit_within(&mut child, Duration::from_secs(10));
    assert!(
        second.elapsed() < Duration::from_millis(1500),
        "{:?}",
        second.elapsed()
    );
    assert_eq!(code, Some(130));
    let left: Vec<_> = std::fs::read_dir(&runtime).unwrap().collect();
    assert!(left.is_empty(), "control folder left behind: {left:?}");
    // The first Ctrl-C's KILL, 2 s after it, still reaches the group.
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !running(&tmp),
        "the interrupted command's processes are still running"
    );
}
