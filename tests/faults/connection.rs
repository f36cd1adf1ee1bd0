//! A host or its connection goes away mid-run.

use std::time::{Duration, Instant};

use crate::common::lab::{lab_alone, wait_until, Lab};
use crate::common::{Outcome, Test};
use crate::{run_lock_held, stats_of, LinkCut, Restart, FAST_KEEPALIVE, LOST, PEER, RUN_LOCK};

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_host_lost_mid_run_is_unreachable_and_the_others_finish() {
    let (_guard, lab) = lab_alone();
    let (lost, peer) = (lab.hosts[LOST].0.clone(), lab.hosts[PEER].0.clone());
    let playbook = format!(
        r#"
play("p", "all", |host| {{
    if host.name == "{lost}" {{ command("sleep 30"); }}
    command("sleep 6");
    command("true");
}});
"#
    );
    let t = lab
        .test()
        .playbook(&playbook)
        .args(["--limit", &format!("{lost},{peer}")]);
    let restart = Restart {
        lab: &lab,
        host: LOST,
    };
    let out = std::thread::scope(|s| {
        let run = s.spawn(|| t.run());
        // The command has started once the run has connected and probed.
        std::thread::sleep(Duration::from_secs(3));
        lab.lab_sh(&["stop", &lost]);
        run.join().unwrap()
    });
    drop(restart);
    out.assert_code(4);
    assert_eq!(stats_of(&out, &lost)["unreachable"], true, "{}", out.text());
    assert_eq!(stats_of(&out, &lost)["failed"], 0, "{}", out.text());
    assert_eq!(
        stats_of(&out, &peer)["changed"],
        2,
        "{peer} finished: {}",
        out.text()
    );
    assert_eq!(out.events_named("unreachable").len(), 1, "{}", out.text());
}

/// How long the run may take to give up on a host whose link was cut, with
/// [`FAST_KEEPALIVE`] (about 4 s): generous, and still far below the 45 s
/// kbz-play's own keepalive would take, so ignoring the user's
/// `ServerAliveInterval` fails the tests.
const CUT_NOTICED_WITHIN: Duration = Duration::from_secs(25);

/// A playbook for [`LOST`] and [`PEER`]: the first runs `first` and then
/// what the peer runs, `sleep 8` and `true` (2 changed).
fn cut_playbook(lab: &Lab, first: &str) -> Test {
    let (cut, peer) = (&lab.hosts[LOST].0, &lab.hosts[PEER].0);
    let playbook = format!(
        r#"
play("p", "all", |host| {{
    if host.name == "{cut}" {{ {first} }}
    command("sleep 8");
    command("true");
}});
"#
    );
    lab.test()
        .ssh_config(lab.ssh_config_with("ssh_config.keepalive", FAST_KEEPALIVE))
        .playbook(&playbook)
        .args(["--limit", &format!("{cut},{peer}")])
}

/// Runs `t` and cuts [`LOST`]'s link once the shell test `ready` holds
/// there; plugs it back in once the run ended. The outcome, and how long
/// the run went on after the cut.
fn run_and_cut(lab: &Lab, t: &Test, ready: &str) -> (Outcome, Duration) {
    std::thread::scope(|s| {
        let run = s.spawn(|| t.run());
        let started = wait_until(Duration::from_secs(60), || {
            lab.try_ssh(LOST, ready).is_some()
        });
        assert!(started.is_some(), "`{ready}` never held on the host");
        let _link = LinkCut::new(lab, LOST);
        let since = Instant::now();
        let out = run.join().unwrap();
        (out, since.elapsed())
    })
}

/// Fails unless the run reported the cut host UNREACHABLE (not failed)
/// within [`CUT_NOTICED_WITHIN`] and the peer finished.
#[track_caller]
fn assert_cut_off(lab: &Lab, out: &Outcome, noticed: Duration) {
    let (cut, peer) = (&lab.hosts[LOST].0, &lab.hosts[PEER].0);
    out.assert_code(4);
    assert!(
        noticed < CUT_NOTICED_WITHIN,
        "the cut was noticed after {noticed:?}: {}",
        out.text()
    );
    assert_eq!(stats_of(out, cut)["unreachable"], true, "{}", out.text());
    assert_eq!(stats_of(out, cut)["failed"], 0, "{}", out.text());
    assert_eq!(stats_of(out, cut)["changed"], 0, "{}", out.text());
    assert_eq!(stats_of(out, peer)["changed"], 2, "{}", out.text());
    let lost = out.events_named("unreachable");
    assert_eq!(lost.len(), 1, "{}", out.text());
    eprintln!("cut noticed after {noticed:?}: {}", lost[0]);
}

/// Stops what [`LOST`] still runs for a lost connection (a `sleep`, a lock
/// holder) and waits until its run lock is free: the host is left clean.
fn stop_leftovers(lab: &Lab) {
    let stopped = wait_until(Duration::from_secs(30), || {
        lab.try_ssh(LOST, "pkill -x sleep; true").is_some()
    });
    assert!(
        stopped.is_some(),
        "the host does not answer since its link is back"
    );
    let released = wait_until(Duration::from_secs(30), || !run_lock_held(lab, LOST));
    assert!(released.is_some(), "the host's run lock is still held");
}

/// A cut link is UNREACHABLE, not "timed out": the connection is gone and
/// nobody can say whether the command finished (it may still be running on
/// the host), which is what Ansible's UNREACHABLE (exit 4) means; "timed
/// out" is for a command that outlived its own `timeout:` on a host that
/// still answers.
#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_link_cut_during_a_command_is_unreachable_within_the_keepalive() {
    let (_guard, lab) = lab_alone();
    stop_leftovers(&lab);
    let t = cut_playbook(&lab, r#"command("sleep 120");"#);
    let (out, noticed) = run_and_cut(&lab, &t, "pgrep -fx 'sleep 120'");
    stop_leftovers(&lab);
    assert_cut_off(&lab, &out, noticed);
}

/// The link cut while the run waits for the host's lock (another holder has
/// it): the lock's holder and the opening probes die with the connection,
/// and that is the host being unreachable, not "cannot take the run lock".
#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_link_cut_while_waiting_for_the_run_lock_is_unreachable() {
    let (_guard, lab) = lab_alone();
    stop_leftovers(&lab);
    lab.ssh(
        LOST,
        &format!("systemd-run --quiet --collect flock {RUN_LOCK} sleep 100"),
    );
    let t = cut_playbook(&lab, "");
    // The run's holder is waiting: its script (`kbz_take` in a retry loop)
    // is running; the brackets keep this probe's own shell from matching.
    let (out, noticed) = run_and_cut(&lab, &t, "pgrep -f 'kbz_tak[e]' >/dev/null");
    stop_leftovers(&lab);
    assert_cut_off(&lab, &out, noticed);
}
