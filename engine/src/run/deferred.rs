//! Applying queued changes (see `batch.rs`): an op's changes join the host's
//! batch once planned, and the batch reaches the host in one
//! [`crate::transport::Transport::apply`] when something needs the host as
//! the script has left it.

use rhai::{EvalAltResult, Position};

use super::batch::PendingOp;
use super::host::HostCtx;
use super::immediate::actions_of;
use super::outcome::OpResult;
use super::plan::Planned;
use super::shared::runtime_error;
use crate::op::Action;
use crate::report::OpStatus;
use crate::transport::TransportError;

impl HostCtx {
    /// Queues the op's changes for the next [`HostCtx::flush`]. The snapshot
    /// learns them now: later ops plan as if they were made.
    pub(super) fn defer(&self, planned: Planned) -> OpResult {
        let result = planned.result();
        let actions = actions_of(&planned);
        self.settle(&actions, &planned.probes, planned.deep());
        self.batch.borrow_mut().push(PendingOp {
            head: planned.head,
            changes: planned.lines,
            diff: planned.diff,
            actions,
            probes: planned.probes,
        });
        result
    }

    /// Applies every queued change in one round trip and ends each op.
    /// On a failure the error is raised at `position` (the call that needed
    /// the host), while the report names the op that failed.
    pub(super) fn flush(&self, position: Position) -> Result<(), Box<EvalAltResult>> {
        let batch = self.batch.borrow_mut().take();
        if batch.is_empty() {
            return Ok(());
        }
        let outcome = match self.session.transport() {
            Ok(t) => self.shared.rt.block_on(t.apply(&batch.steps())),
            Err(e) => Err(TransportError::Exec {
                host: self.host.name.clone(),
                reason: e.to_string(),
            }),
        };
        let reached = batch.reached(outcome);
        (0..reached.round_trips).for_each(|_| self.session.count_round_trip());
        for op in &batch.ops()[..reached.applied] {
            for action in &op.actions {
                if let Action::Write(w) = action {
                    self.session.record_write(w);
                }
            }
            let (changes, diff) = (op.changes.clone(), op.diff.clone());
            self.finish(&op.head, OpStatus::Changed, changes, diff, None);
        }
        let Some(message) = reached.failure else {
            return Ok(());
        };
        self.session
            .invalidate(&batch.probes_from(reached.applied), true);
        self.session.mark_stale();
        let op = &batch.ops()[reached.applied];
        self.finish(
            &op.head,
            OpStatus::Failed,
            vec![],
            None,
            Some(message.clone()),
        );
        *self.reported_failure.borrow_mut() = Some(message.clone());
        let head = &op.head;
        let error = format!("{} {} ({}): {message}", head.kind, head.target, head.at);
        *self.broken.borrow_mut() = Some(error.clone());
        Err(runtime_error(error, position))
    }
}
