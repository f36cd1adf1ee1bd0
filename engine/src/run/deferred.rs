//! Applying queued changes (see `batch.rs`): an op's changes join the host's
//! batch once planned, and the batch reaches the host in one
//! [`crate::transport::Transport::apply`] when something needs the host as
//! the script has left it.

use rhai::{EvalAltResult, Position};

use super::batch::{Batch, PendingOp};
use super::host::HostCtx;
use super::immediate::actions_of;
use super::outcome::OpResult;
use super::plan::{Planned, Planning};
use super::replan::AGAIN;
use super::shared::runtime_error;
use crate::op::Action;
use crate::report::OpStatus;
use crate::transport::TransportError;

impl HostCtx {
    /// Queues the op's changes for the next [`HostCtx::flush`]. The snapshot
    /// learns them now: later ops plan as if they were made.
    pub(super) fn defer(&self, planned: Planned) -> OpResult {
        // The change is as good as made: no answer asked before it stands.
        self.shared.changes.made();
        let result = planned.result();
        let pending = self.pending(planned);
        self.batch.borrow_mut().push(pending);
        result
    }

    /// The op's changes as queued, once the snapshot has learned them.
    fn pending(&self, planned: Planned) -> PendingOp {
        let actions = actions_of(&planned);
        self.settle(&actions, &planned.probes, planned.deep());
        PendingOp {
            op: planned.op,
            head: planned.head,
            changes: planned.lines,
            diff: planned.diff,
            actions,
            probes: planned.probes,
        }
    }

    /// Applies every queued change in one round trip and ends each op.
    /// On a failure the error is raised at `position` (the call that needed
    /// the host), while the report names the op that failed.
    pub(super) fn flush(&self, position: Position) -> Result<(), Box<EvalAltResult>> {
        let batch = self.batch.borrow_mut().take();
        self.apply_batch(batch, position, true)
    }

    /// Applies `batch`; when a write finds its file changed on the host since
    /// it was probed and `replan` allows, plans that op and the ones after it
    /// again from the host's current state and applies them, once.
    fn apply_batch(
        &self,
        batch: Batch,
        position: Position,
        replan: bool,
    ) -> Result<(), Box<EvalAltResult>> {
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
        let Some(mut message) = reached.failure else {
            return Ok(());
        };
        self.session
            .invalidate(&batch.probes_from(reached.applied), true);
        if reached.changed && replan {
            let again = self.plan_again(batch.into_ops_from(reached.applied), position)?;
            return self.apply_batch(again, position, false);
        }
        if reached.changed {
            message.push_str(AGAIN);
        }
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

    /// Probes and plans `ops` again, in order, each against the host's
    /// current state and the changes planned before it: the batch that
    /// replaces them (see `replan.rs`).
    fn plan_again(
        &self,
        ops: Vec<PendingOp>,
        position: Position,
    ) -> Result<Batch, Box<EvalAltResult>> {
        // One round trip for all their probes; a failure shows at the first
        // op that needs the answer.
        let probes: Vec<_> = ops.iter().flat_map(|o| o.op.probes()).collect();
        let _ = self.shared.rt.block_on(self.session.prefetch(&probes));
        let mut batch = Batch::default();
        for op in ops {
            if let Planning::Planned(planned) = self.plan_once_more(op.op, &op.head, position)? {
                batch.push(self.pending(planned));
            }
        }
        Ok(batch)
    }
}
