//! `serial` orders changes, not verification. Before a serial play's
//! batches, every host of the play runs it once ahead of its batch, all at
//! once: probes, read-only commands and `wait_for` run as usual, but the
//! pass gives up at the first op that would change something, before the
//! change (nothing on the host has changed then). A host whose pass changed
//! nothing and ended without an error has run the play: its events, held
//! until then, are reported at once, and its batch does not run it again.
//! Every other host runs the play in its batch exactly as without the pass:
//! the same batches, in order, each waiting for the one before, with its
//! handlers; a host that went ahead counts in its batch as a host that did
//! not fail (`max_fail_percentage`), and is not stopped by another's failure
//! (`any_errors_fatal`), having already finished. So a rerun with nothing to
//! change costs no batch's wait, and a rolling change still rolls.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;

use rhai::{EvalAltResult, Position};

use super::executor::{open_foreseeing, play_on_host, HostRun, OnHost};
use super::host::HostCtx;
use super::shared::runtime_error;
use crate::report::Event;

/// Why a pass ahead stopped: the script sees it as an error at the op.
pub(super) const GAVE_UP: &str = "a change to make: the host runs the play in its serial batch";

/// A host's pass ahead of its batch: what it reported, held until the
/// pass is kept, and whether it met a change.
#[derive(Debug, Default)]
pub(super) struct Ahead {
    held: RefCell<Vec<Event>>,
    gave_up: Cell<bool>,
}

impl Ahead {
    /// Holds `event` until the pass is kept.
    pub fn hold(&self, event: Event) {
        self.held.borrow_mut().push(event);
    }

    /// Whether the pass met a change to make.
    pub fn gave_up(&self) -> bool {
        self.gave_up.get()
    }
}

impl HostCtx {
    /// A context for a pass ahead of the host's batch.
    pub(super) fn going_ahead(mut self) -> Self {
        self.ahead = Some(Ahead::default());
        self
    }

    /// Ends the pass ahead at an op with a change to make, raised at
    /// `position`; every later op call fails the same way (`still_whole`),
    /// even if the script catches this error.
    pub(super) fn give_up(&self, position: Position) -> Box<EvalAltResult> {
        if let Some(ahead) = &self.ahead {
            ahead.gave_up.set(true);
        }
        runtime_error(GAVE_UP.into(), position)
    }

    /// Whether the pass ahead ran the play: it ended without an error, a
    /// change or a notified handler, and Ctrl-C did not stop it. If so, its
    /// start and held events are reported now (the caller reports its end).
    pub(super) fn keep_ahead(&self, ended_well: bool) -> bool {
        let Some(ahead) = &self.ahead else {
            return true;
        };
        let kept = ended_well
            && !ahead.gave_up()
            && !self.interrupted.get()
            && !self.stopped.get()
            && self.notified.borrow().is_empty();
        if kept {
            let host = self.host.name.clone();
            self.shared.reporter.event(&Event::HostStart { host });
            for event in ahead.held.take() {
                self.shared.reporter.event(&event);
            }
        }
        kept
    }
}

impl HostRun {
    /// Runs the play on the host ahead of its batch. Returns whether that
    /// pass ran the play (see [`HostCtx::keep_ahead`]).
    pub(super) async fn go_ahead(self) -> bool {
        let HostRun {
            shared,
            slot,
            playbook,
            index,
            scope,
            ..
        } = self;
        let Some(session) = open_foreseeing(&shared, &slot, &playbook, index).await else {
            return false;
        };
        let (on_shared, on_host) = (shared.clone(), slot.clone());
        let kept = tokio::task::spawn_blocking(move || {
            let on = OnHost {
                slot: &on_host,
                session,
                halt: None,
                scope,
                ahead: true,
            };
            play_on_host(&on_shared, &playbook, index, on)
        })
        .await
        .unwrap_or(false);
        if kept {
            slot.state().finished = Some(index);
            let host = slot.host.name.clone();
            shared.reporter.event(&Event::HostEnd { host });
        }
        kept
    }
}

/// Runs `hosts` ahead of their batches, all at once (within `--forks`);
/// returns the names of those that ran the play.
pub(super) async fn run_ahead(
    hosts: Vec<HostRun>,
    spawn: impl Fn(HostRun, bool) -> tokio::task::JoinHandle<bool>,
) -> HashSet<String> {
    let names: Vec<String> = hosts.iter().map(|h| h.slot.host.name.clone()).collect();
    let tasks: Vec<_> = hosts.into_iter().map(|h| spawn(h, true)).collect();
    let mut done = HashSet::new();
    for (name, task) in names.into_iter().zip(tasks) {
        if task.await.unwrap_or(false) {
            done.insert(name);
        }
    }
    done
}

/// Whether a play's hosts go ahead of its batches: a live run (not
/// `--check`, a render or a listing) of a play in more than one batch.
pub(super) fn goes_ahead(shared: &super::Shared, batches: usize) -> bool {
    batches > 1 && !shared.settings.check && shared.settings.offline.is_none()
}
