//! The per-host run lock (issue 9, item 10): two runs against one host never
//! interleave. The host uses the local transport, which runs the same lock
//! scripts as SSH; the lock lives in the test's project folder (the builder
//! sets `KBZ_LOCK_DIR`), so tests running at once do not share it.

mod common;

use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

use common::Test;

/// Hosts `h1` and `h2`, two names for this machine, whose play logs `start
/// RUN`, sleeps `secs` seconds, then logs `end RUN` in the project's `log`
/// (RUN and secs are `-e` variables).
fn project() -> Test {
    let playbook = r#"
play("h", "all", |host| {
    let log = host.vars.dir + "/log";
    shell("echo start " + host.vars.run + " >> " + log + " && sleep " + host.vars.secs
        + " && echo end " + host.vars.run + " >> " + log);
});
"#;
    let t = Test::new().playbook(playbook).inventory(
        "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n\
         h2\t127.0.0.1\tlocal\tlocal\n",
    );
    let dir = t.path().display().to_string();
    t.var("dir", dir)
}

/// Run `run` on `h1` only.
fn vars(run: &str, secs: u32) -> Vec<String> {
    on("h1", run, secs)
}

/// Run `run` on the hosts `limit` names.
fn on(limit: &str, run: &str, secs: u32) -> Vec<String> {
    [
        "-e".into(),
        format!("run={run}"),
        "-e".into(),
        format!("secs={secs}"),
        "--limit".into(),
        limit.into(),
    ]
    .to_vec()
}

/// Starts run `run` on `h1` in the background and returns once its op has started.
fn start(t: &Test, run: &str, secs: u32) -> Child {
    let child = t
        .command()
        .args(vars(run, secs))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kbz-play starts");
    let log = t.at("log");
    let started = Instant::now();
    while !read(&log).contains(&format!("start {run}\n")) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "run {run} never started its op"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn a_second_run_waits_until_the_first_has_ended() {
    let t = project();
    let mut first = start(&t, "A", 2);
    let second = t.run_with(&vars("B", 0));
    second.assert_success();
    assert!(first.wait().unwrap().success());
    assert_eq!(
        read(&t.at("log")),
        "start A\nend A\nstart B\nend B\n",
        "the runs interleaved: {}",
        second.text()
    );
}

#[test]
fn a_run_that_waits_too_long_reports_the_host_busy_naming_the_holder() {
    let t = project();
    let mut first = start(&t, "A", 4);
    let began = Instant::now();
    let mut args = vars("B", 0);
    args.extend(["--lock-timeout".into(), "1".into()]);
    let second = t.run_with(&args);
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "{}",
        second.text()
    );
    assert!(!second.success(), "{}", second.text());
    let failed = second.events_named("host_failed");
    let error = failed
        .first()
        .and_then(|e| e["error"].as_str())
        .unwrap_or_else(|| panic!("no host_failed event: {}", second.text()));
    assert!(
        error.starts_with("host is busy: another kbz-play run holds its lock")
            && error.contains(&format!("pid {},", first.id()))
            && error.contains("started 20")
            && error.ends_with("wait for it or stop it"),
        "{error}"
    );
    assert!(first.wait().unwrap().success());
    assert_eq!(read(&t.at("log")), "start A\nend A\n");
}

#[test]
fn a_killed_run_leaves_no_stale_lock() {
    let t = project();
    let mut first = start(&t, "A", 6);
    first.kill().unwrap();
    first.wait().unwrap();
    let began = Instant::now();
    let second = t.run_with(&vars("B", 0));
    second.assert_success();
    assert!(
        began.elapsed() < Duration::from_secs(3),
        "the killed run's lock was still held: {}",
        second.text()
    );
}

#[test]
fn two_inventory_names_for_one_machine_take_one_lock() {
    let t = project();
    let mut first = start(&t, "A", 2);
    let second = t.run_with(&on("h2", "B", 0));
    second.assert_success();
    assert!(first.wait().unwrap().success());
    assert_eq!(
        read(&t.at("log")),
        "start A\nend A\nstart B\nend B\n",
        "a run through another name for the machine did not wait: {}",
        second.text()
    );
}

#[test]
fn hosts_of_one_run_that_are_one_machine_do_not_wait_for_each_other() {
    let t = project();
    // Waiting for each other, the second host would fail as busy after 1 s.
    let mut args = on("all", "A", 2);
    args.extend(["--lock-timeout".into(), "1".into()]);
    let run = t.run_with(&args);
    run.assert_success();
    assert_eq!(
        read(&t.at("log")),
        "start A\nstart A\nend A\nend A\n",
        "{}",
        run.text()
    );
}
