//! Fault injection on the lab (issue 9's proof), one module per fault: a
//! host powered off mid-batch or cut off mid-command (`batch`,
//! `connection`), sshd bounced mid-run (`sshd`), a full disk (`disk`),
//! Ctrl-C and timeouts over SSH (`interrupt`), two runs at once
//! (`concurrent`), a busy package manager (`packages`), files edited, raced
//! with symlinks or read by a validator during a write (`writes`), secrets
//! sampled from the host's command lines and logs (`secrets_argv`). Each
//! test names the lab hosts it uses and leaves them running and clean
//! whatever happens (see [`Restart`]); the lab tests of this target run one
//! at a time (`lab_alone`).

#[path = "../common/mod.rs"]
mod common;

mod batch;
mod concurrent;
mod connection;
mod disk;
mod interrupt;
mod packages;
mod secrets_argv;
mod sshd;
mod writes;

use std::time::Duration;

use common::lab::{wait_until, Lab};

/// The host `connection` takes away mid-run (lab09).
pub(crate) const LOST: usize = 8;
/// A host that stays up beside it (lab10).
pub(crate) const PEER: usize = 9;
/// The host whose sshd `sshd` restarts and stops mid-run (lab11).
pub(crate) const BOUNCED: usize = 10;

/// ssh's keepalive in the runs that cut a host off: one probe a second,
/// three missed and the connection is declared dead, so a host that went
/// silent is noticed in about 4 s instead of the 45 s of kbz-play's default
/// (an operator sets the same in `--ssh-config` or `~/.ssh/config`).
pub(crate) const FAST_KEEPALIVE: &str = "ServerAliveInterval 1\nServerAliveCountMax 3";

#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

/// Starts a stopped lab host again when dropped, even if the test failed,
/// and waits until ssh answers.
pub(crate) struct Restart<'a> {
    pub(crate) lab: &'a Lab,
    pub(crate) host: usize,
}

impl Drop for Restart<'_> {
    fn drop(&mut self) {
        let name = self.lab.hosts[self.host].0.clone();
        if self.lab.try_ssh(self.host, "true").is_none() {
            self.lab.lab_sh(&["start", &name]);
        }
        let answered = wait_until(Duration::from_secs(60), || {
            self.lab.try_ssh(self.host, "true").is_some()
        });
        assert!(
            answered.is_some(),
            "{name} did not come back after the test"
        );
    }
}

/// Cuts a lab host's link ([`Lab::set_link`]) and plugs it back in when
/// dropped, even if the test failed.
pub(crate) struct LinkCut<'a> {
    lab: &'a Lab,
    host: usize,
}

impl<'a> LinkCut<'a> {
    pub(crate) fn new(lab: &'a Lab, host: usize) -> LinkCut<'a> {
        lab.set_link(host, false);
        LinkCut { lab, host }
    }
}

impl Drop for LinkCut<'_> {
    fn drop(&mut self) {
        self.lab.set_link(self.host, true);
    }
}

/// The recap's stats of the host named `name`.
#[track_caller]
pub(crate) fn stats_of(out: &common::Outcome, name: &str) -> serde_json::Value {
    out.recap()
        .into_iter()
        .find(|(h, _)| h == name)
        .unwrap_or_else(|| panic!("{name} is not in the recap: {}", out.text()))
        .1
}

/// root's run lock on a lab host: one per machine, whatever the inventory
/// calls it (see engine/src/transport/lock.rs).
pub(crate) const RUN_LOCK: &str = "/run/kbz-play.lock";

/// Whether a run holds `host`'s run lock: a `flock -n` on the host fails.
pub(crate) fn run_lock_held(lab: &Lab, host: usize) -> bool {
    let probe = format!("flock -n {RUN_LOCK} true && echo free || echo held");
    lab.ssh(host, &probe).trim() == "held"
}
