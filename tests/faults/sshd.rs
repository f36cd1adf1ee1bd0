//! The host's sshd is restarted or stopped in the middle of a run.
//!
//! What an operator expects: a run holds one multiplexed connection per host,
//! served on the host by its own sshd session process, which outlives the
//! listening daemon (Debian's ssh.service stops only the listener,
//! `KillMode=process`). So restarting sshd, or stopping it a while, changes
//! nothing for a run already connected: its commands, its writes and its run
//! lock go on over that connection. Only when the connection itself goes
//! (the session processes killed too) is the host lost, and then at once and
//! UNREACHABLE, never a hang.
//!
//! The daemon is bounced by a transient systemd unit on the host, so the
//! test does not need ssh to reach the host while sshd is down, and the host
//! heals itself whatever the test does.

use std::time::Duration;

use crate::common::lab::{lab_alone, wait_until, Lab};
use crate::common::{Outcome, Test};
use crate::{run_lock_held, stats_of, Restart, BOUNCED, PEER};

/// Present on the host while the bounce keeps sshd stopped.
const DOWN: &str = "/run/kbz-faults-sshd-down";
/// Written by the run once sshd was bounced.
const AFTER: &str = "/srv/kbz-faults-sshd";

/// The run on [`BOUNCED`] (the peer only runs `true`): a command the bounce
/// happens during, then `middle`, a write and a command long enough for the
/// test to look at the run lock once sshd answers again.
fn bounce_playbook(lab: &Lab, middle: &str) -> Test {
    let (bounced, peer) = (&lab.hosts[BOUNCED].0, &lab.hosts[PEER].0);
    let playbook = format!(
        r#"
play("p", "all", |host| {{
    if host.name == "{bounced}" {{
        command("sleep 4");
        {middle}
        copy(#{{ dest: "{AFTER}", content: "after the bounce\n" }});
        command("sleep 8");
    }}
    command("true");
}});
"#
    );
    lab.test()
        .playbook(&playbook)
        .args(["--limit", &format!("{bounced},{peer}")])
}

/// Runs `t`, and once [`BOUNCED`] runs its first `sleep 4`, has the host run
/// `bounce` as a transient unit. Once sshd answers again, whether the run
/// still held the host's lock (None when the run had ended by then).
fn run_and_bounce(lab: &Lab, t: &Test, bounce: &str) -> (Outcome, Option<bool>) {
    lab.ssh(BOUNCED, &format!("rm -f {AFTER} {DOWN}"));
    std::thread::scope(|s| {
        let run = s.spawn(|| t.run());
        let started = wait_until(Duration::from_secs(60), || {
            lab.try_ssh(BOUNCED, "pgrep -fx 'sleep 4'").is_some()
        });
        assert!(started.is_some(), "the run never started its command");
        let unit = format!("systemd-run --quiet --collect sh -c {}", shell_word(bounce));
        lab.ssh(BOUNCED, &unit);
        let back = wait_until(Duration::from_secs(60), || {
            lab.try_ssh(BOUNCED, &format!("! [ -e {DOWN} ]")).is_some()
        });
        assert!(back.is_some(), "sshd did not come back");
        let held = (!run.is_finished()).then(|| run_lock_held(lab, BOUNCED));
        (run.join().unwrap(), held)
    })
}

/// `s` quoted for the host's shell.
fn shell_word(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Fails unless the run went through on both hosts, as if sshd had not been
/// touched, and kept the bounced host locked.
#[track_caller]
fn assert_unaffected(lab: &Lab, out: &Outcome, held: Option<bool>, changed: usize) {
    out.assert_code(0);
    assert_eq!(
        stats_of(out, &lab.hosts[BOUNCED].0)["changed"],
        changed,
        "{}",
        out.text()
    );
    assert_eq!(stats_of(out, &lab.hosts[PEER].0)["changed"], 1);
    assert_eq!(held, Some(true), "the run lock after the bounce");
    assert_eq!(
        lab.ssh(BOUNCED, &format!("cat {AFTER}")),
        "after the bounce\n"
    );
    lab.ssh(BOUNCED, &format!("rm -f {AFTER}"));
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn sshd_restarted_during_a_command_leaves_the_run_connected_and_locked() {
    let (_guard, lab) = lab_alone();
    let _restart = Restart {
        lab: &lab,
        host: BOUNCED,
    };
    let t = bounce_playbook(&lab, "");
    let (out, held) = run_and_bounce(&lab, &t, "systemctl restart ssh");
    assert_unaffected(&lab, &out, held, 4);
}

/// While sshd is stopped the run goes on: `test -e DOWN` only succeeds
/// while the daemon is down, and runs over the connection the run holds.
#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn sshd_stopped_for_a_while_leaves_the_run_connected_and_locked() {
    let (_guard, lab) = lab_alone();
    let _restart = Restart {
        lab: &lab,
        host: BOUNCED,
    };
    let t = bounce_playbook(&lab, &format!(r#"command("test -e {DOWN}");"#));
    let bounce =
        format!("systemctl stop ssh; touch {DOWN}; sleep 8; rm {DOWN}; systemctl start ssh");
    let (out, held) = run_and_bounce(&lab, &t, &bounce);
    assert_unaffected(&lab, &out, held, 5);
}

/// sshd killed outright, its session processes with it, and kept down a
/// while: the run's connection is gone mid-command, so the host is
/// UNREACHABLE at once (the FIN of the killed session, no keepalive wait)
/// and not retried (the command may or may not have run); the peer
/// finishes.
#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn sshd_killed_with_its_sessions_makes_the_host_unreachable_at_once() {
    let (_guard, lab) = lab_alone();
    let _restart = Restart {
        lab: &lab,
        host: BOUNCED,
    };
    let t = bounce_playbook(&lab, "");
    let bounce = format!(
        "systemctl stop ssh; touch {DOWN}; pkill -KILL -x sshd; sleep 8; rm {DOWN}; systemctl start ssh"
    );
    let started = std::time::Instant::now();
    let (out, _) = run_and_bounce(&lab, &t, &bounce);
    let bounced = &lab.hosts[BOUNCED].0;
    out.assert_code(4);
    assert_eq!(
        stats_of(&out, bounced)["unreachable"],
        true,
        "{}",
        out.text()
    );
    assert_eq!(stats_of(&out, bounced)["failed"], 0, "{}", out.text());
    assert_eq!(stats_of(&out, &lab.hosts[PEER].0)["changed"], 1);
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "the lost host was not reported at once: {:?}",
        started.elapsed()
    );
    let wrote = lab.ssh(BOUNCED, &format!("[ -e {AFTER} ] && echo wrote || echo no"));
    assert_eq!(
        wrote.trim(),
        "no",
        "the run went on after its connection was lost"
    );
    eprintln!(
        "reported after {:?}: {}",
        started.elapsed(),
        out.events_named("unreachable")[0]
    );
    let released = wait_until(Duration::from_secs(30), || !run_lock_held(&lab, BOUNCED));
    assert!(released.is_some(), "{bounced}'s run lock is still held");
}
