//! Fault injection on the lab (issue 9's proof): what a run reports when a
//! host goes away in the middle of it, when the host's package manager is
//! busy, ... One module per kind of fault; each test names the lab hosts it
//! uses (constants below) and leaves them running and clean whatever happens
//! (see [`Restart`]).

#[path = "../common/mod.rs"]
mod common;

mod batch;
mod concurrent;
mod connection;
mod disk;
mod interrupt;
mod packages;
mod sshd;

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

/// Whether a run holds `host`'s run lock (`/run/kbz-play-NAME.lock`, see
/// engine/src/transport/lock.rs): a `flock -n` on the host fails.
pub(crate) fn run_lock_held(lab: &Lab, host: usize) -> bool {
    let lock = format!("/run/kbz-play-{}.lock", lab.hosts[host].0);
    let probe = format!("flock -n {lock} true && echo free || echo held");
    lab.ssh(host, &probe).trim() == "held"
}
