//! Fault injection on the lab (issue 9's proof): what a run reports when a
//! host goes away in the middle of it, when the host's package manager is
//! busy, ... One module per kind of fault; each test names the lab hosts it
//! uses (constants below) and leaves them running and clean whatever happens
//! (see [`Restart`]).

#[path = "../common/mod.rs"]
mod common;

mod concurrent;
mod connection;
mod packages;

use std::time::Duration;

use common::lab::{wait_until, Lab};

/// The host `connection` takes away mid-run (lab09).
pub(crate) const LOST: usize = 8;
/// A host that stays up beside it (lab10).
pub(crate) const PEER: usize = 9;

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
