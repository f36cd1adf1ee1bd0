//! Changes planned and reported to the script, not yet applied to the host.
//!
//! A file op's outcome is known once it is planned: the script can branch on
//! `r.changed` and notify handlers before anything reaches the host. So the
//! changes of batchable ops ([`crate::op::Operation::batchable`]: `file`,
//! `copy`, `template`, `line`) wait here and reach the host together, in one
//! round trip ([`crate::transport::Transport::apply`]), as soon as something
//! needs the host as the script has left it: an op whose probes the snapshot
//! cannot answer, a change by an op that is not batchable (a service restart,
//! a command), a `--diff` that reads a file, the end of the play's body, each
//! handler, the end of the play. Changes reach the host in the script's order,
//! so a first run costs a few round trips per host instead of one per op.
//!
//! The price: an op whose change fails on the host is reported when its batch
//! runs. It is still the op named (host, op, file:line), the ops queued after
//! it are neither run nor reported, and the host stops there; but the script
//! stops at the call that flushed, so `try { } catch` around a file op does
//! not catch the failure of its change; and a `try` around the call that
//! flushed does not save the host: every later op fails at once.

use std::time::Instant;

use rhai::{Dynamic, EvalAltResult, Position};

use super::host::HostCtx;
use crate::op::Action;
use crate::probe::Probe;
use crate::report::{ChangeLine, Event, OpStatus};
use crate::transport::TransportError;

/// One op's changes, waiting for the next flush.
#[derive(Debug)]
pub(super) struct PendingOp {
    /// The op's name (`file`, `template`).
    pub kind: String,
    /// What it manages (a path).
    pub target: String,
    /// Where the script called it, `file:line:col`.
    pub at: String,
    /// When it started, for the reported elapsed time.
    pub started: Instant,
    /// The change lines reported once it is applied.
    pub changes: Vec<ChangeLine>,
    /// Its `--diff` text.
    pub diff: Option<String>,
    /// What to run on the host, in order.
    pub actions: Vec<Action>,
    /// Its probes, forgotten from the snapshot if the change fails.
    pub probes: Vec<Probe>,
}

impl HostCtx {
    /// Queues an op's changes for the next [`HostCtx::flush`].
    pub(super) fn defer(&self, op: PendingOp) {
        self.pending.borrow_mut().push(op);
    }

    /// Applies every queued change in one round trip and reports each op.
    /// On a failure the error is raised at `position` (the call that needed
    /// the host), while the report names the op that failed.
    pub(super) fn flush(&self, position: Position) -> Result<(), Box<EvalAltResult>> {
        let ops = std::mem::take(&mut *self.pending.borrow_mut());
        if ops.is_empty() {
            return Ok(());
        }
        let steps: Vec<Action> = ops.iter().flat_map(|o| o.actions.iter().cloned()).collect();
        let outcome = match self.session.transport() {
            Ok(t) => self.shared.rt.block_on(t.apply(&steps)),
            Err(e) => Err(TransportError::Exec {
                host: self.host.name.clone(),
                reason: e.to_string(),
            }),
        };
        let (applied, failure) = match outcome {
            Ok(round_trips) => {
                (0..round_trips).for_each(|_| self.session.count_round_trip());
                (ops.len(), None)
            }
            Err(TransportError::Step {
                step, rc, reason, ..
            }) => {
                self.session.count_round_trip();
                let failed = op_of_step(&ops, step);
                let message = match steps.get(step) {
                    Some(Action::Write(w)) => format!("cannot write {}: {reason}", w.path),
                    _ => format!("exit status {rc}: {reason}"),
                };
                (failed, Some(message))
            }
            // The connection failed: which steps ran is unknown, so the
            // first op takes the failure and the snapshot is forgotten.
            Err(e) => (0, Some(e.to_string())),
        };
        for op in &ops[..applied] {
            for w in op.actions.iter().filter_map(|a| match a {
                Action::Write(w) => Some(w),
                Action::Exec { .. } => None,
            }) {
                self.session.record_write(w);
            }
            self.stats.borrow_mut().changed += 1;
            self.report_end(
                op,
                OpStatus::Changed,
                op.changes.clone(),
                op.diff.clone(),
                None,
            );
        }
        let Some(message) = failure else {
            return Ok(());
        };
        let unapplied: Vec<Probe> = ops[applied..]
            .iter()
            .flat_map(|o| o.probes.iter().cloned())
            .collect();
        self.session.invalidate(&unapplied, true);
        self.session.mark_stale();
        let op = &ops[applied];
        self.stats.borrow_mut().failed += 1;
        self.report_end(op, OpStatus::Failed, vec![], None, Some(message.clone()));
        *self.reported_failure.borrow_mut() = Some(message.clone());
        let error = format!("{} {} ({}): {message}", op.kind, op.target, op.at);
        *self.broken.borrow_mut() = Some(error.clone());
        Err(runtime_error(error, position))
    }

    /// Fails when queued changes have failed on this host: nothing more
    /// runs on it, whether or not the script caught the first error.
    pub(super) fn still_whole(&self, position: Position) -> Result<(), Box<EvalAltResult>> {
        match self.broken.borrow().as_ref() {
            Some(error) => Err(runtime_error(error.clone(), position)),
            None => Ok(()),
        }
    }

    fn report_end(
        &self,
        op: &PendingOp,
        status: OpStatus,
        changes: Vec<ChangeLine>,
        diff: Option<String>,
        message: Option<String>,
    ) {
        self.shared.reporter.event(&Event::OpEnd {
            host: self.host.name.clone(),
            op: op.kind.clone(),
            target: op.target.clone(),
            status,
            changes,
            diff,
            message,
            at: Some(op.at.clone()),
            elapsed: op.started.elapsed(),
        });
    }
}

fn runtime_error(message: String, position: Position) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(message),
        position,
    ))
}

/// The op whose actions include step `step` of the flattened batch.
fn op_of_step(ops: &[PendingOp], step: usize) -> usize {
    let mut first = 0;
    for (i, op) in ops.iter().enumerate() {
        first += op.actions.len();
        if step < first {
            return i;
        }
    }
    ops.len() - 1
}
