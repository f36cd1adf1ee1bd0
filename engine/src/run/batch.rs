//! Changes planned and reported to the script, not yet applied to the host.
//!
//! A file op's outcome is known once it is planned: the script can branch on
//! `r.changed` and notify handlers before anything reaches the host. So the
//! changes of batchable ops ([`crate::op::Operation::batchable`]: `file`,
//! `copy`, `template`, `line`) wait in a [`Batch`] and reach the host
//! together, in one round trip ([`crate::transport::Transport::apply`]), as
//! soon as something needs the host as the script has left it: an op whose
//! probes the snapshot cannot answer, a change by an op that is not batchable
//! (a service restart, a command), a `--diff` that reads a file, the end of
//! the play's body, each handler, the end of the play. Changes reach the host
//! in the script's order, so a first run costs a few round trips per host
//! instead of one per op. Applying a batch is `deferred.rs`; this module is
//! the queue and what a batch's outcome means for each op in it.
//!
//! Every write a queued op planned from the probed state of its file is a
//! compare-and-swap ([`crate::op::WriteFile::expect`]): when the file changed
//! on the host since (a service rewrote its config while the play ran), the
//! batch stops there, and the op and the ones queued after it are probed and
//! planned again, once, from the host's current state, then applied; a second
//! mismatch fails the op. The script had already seen their planned
//! outcome (`r.changed`); the report shows the outcome of the plan applied.
//!
//! The price: an op whose change fails on the host is reported when its batch
//! runs. It is still the op named (host, op, file:line), the ops queued after
//! it are neither run nor reported, and the host stops there; but the script
//! stops at the call that flushed, so `try { } catch` around a file op does
//! not catch the failure of its change; and a `try` around the call that
//! flushed does not save the host: every later op fails at once.

use std::sync::Arc;

use super::head::OpHead;
use super::replan::changed_message;
use crate::op::{Action, Operation};
use crate::probe::Probe;
use crate::report::ChangeLine;
use crate::transport::{TransportError, CHANGED_RC};

/// One op's changes, waiting for the next flush.
#[derive(Debug)]
pub(super) struct PendingOp {
    /// The op, to plan it again when its file changed on the host meanwhile.
    pub op: Arc<dyn Operation>,
    /// The op, as its report names it.
    pub head: OpHead,
    /// The change lines reported once it is applied.
    pub changes: Vec<ChangeLine>,
    /// Its `--diff` text.
    pub diff: Option<String>,
    /// What to run on the host, in order.
    pub actions: Vec<Action>,
    /// Its probes, forgotten from the snapshot if the change fails.
    pub probes: Vec<Probe>,
}

/// The queue of ops whose changes have not reached the host yet, in the
/// script's order.
#[derive(Debug, Default)]
pub(super) struct Batch {
    ops: Vec<PendingOp>,
}

/// How far a batch got on the host.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Reached {
    /// How many ops, from the first, were applied whole.
    pub applied: usize,
    /// Why the op after them failed; `None` when every op was applied.
    pub failure: Option<String>,
    /// Round trips spent.
    pub round_trips: u32,
    /// Whether the failure is a compare-and-swap write that found its file
    /// changed since it was probed (nothing written, the op can plan again).
    pub changed: bool,
}

impl Batch {
    /// Queues an op's changes.
    pub fn push(&mut self, op: PendingOp) {
        self.ops.push(op);
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Empties the queue, returning what it held.
    pub fn take(&mut self) -> Batch {
        std::mem::take(self)
    }

    /// The queued ops, in order.
    pub fn ops(&self) -> &[PendingOp] {
        &self.ops
    }

    /// Every op's actions, flattened in order: the steps of one
    /// [`crate::transport::Transport::apply`].
    pub fn steps(&self) -> Vec<Action> {
        self.ops
            .iter()
            .flat_map(|o| o.actions.iter().cloned())
            .collect()
    }

    /// The ops from `first` on, in order, the others dropped.
    pub fn into_ops_from(self, first: usize) -> Vec<PendingOp> {
        self.ops.into_iter().skip(first).collect()
    }

    /// The op whose actions include step `step` of [`Batch::steps`].
    pub fn op_of_step(&self, step: usize) -> usize {
        let mut end = 0;
        for (i, op) in self.ops.iter().enumerate() {
            end += op.actions.len();
            if step < end {
                return i;
            }
        }
        self.ops.len().saturating_sub(1)
    }

    /// What the outcome of applying [`Batch::steps`] means for the ops: a
    /// failed step fails its op, after the ops before it; a failed
    /// connection leaves unknown which steps ran, so the first op takes the
    /// failure.
    pub fn reached(&self, outcome: Result<u32, TransportError>) -> Reached {
        match outcome {
            Ok(round_trips) => Reached {
                applied: self.ops.len(),
                failure: None,
                round_trips,
                changed: false,
            },
            Err(TransportError::Step {
                step, rc, reason, ..
            }) => {
                let (message, changed) = match self.steps().get(step) {
                    Some(Action::Write(w)) if w.expect.is_some() && rc == CHANGED_RC => {
                        (changed_message(&w.path, true), true)
                    }
                    Some(Action::Write(w)) => (format!("cannot write {}: {reason}", w.path), false),
                    _ => (format!("exit status {rc}: {reason}"), false),
                };
                Reached {
                    applied: self.op_of_step(step),
                    failure: Some(message),
                    round_trips: 1,
                    changed,
                }
            }
            Err(e) => Reached {
                applied: 0,
                failure: Some(e.to_string()),
                round_trips: 0,
                changed: false,
            },
        }
    }

    /// The probes of the ops from `first` on, which a failure leaves unknown.
    pub fn probes_from(&self, first: usize) -> Vec<Probe> {
        self.ops[first.min(self.ops.len())..]
            .iter()
            .flat_map(|o| o.probes.iter().cloned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::op::{OpError, Plan, WriteFile};
    use crate::probe::Observed;

    /// Stands for the queued op, which these tests never plan again.
    #[derive(Debug)]
    struct Noop;

    impl Operation for Noop {
        fn kind(&self) -> &'static str {
            "file"
        }
        fn target(&self) -> String {
            String::new()
        }
        fn probes(&self) -> Vec<Probe> {
            vec![]
        }
        fn plan(&self, _: &Observed) -> Result<Plan, OpError> {
            Ok(Plan::default())
        }
    }

    fn op(target: &str, actions: Vec<Action>) -> PendingOp {
        PendingOp {
            op: Arc::new(Noop),
            head: OpHead {
                kind: "file".into(),
                target: target.into(),
                at: "site.rhai:1:1".into(),
                started: Instant::now(),
            },
            changes: vec![],
            diff: None,
            probes: vec![Probe::path(target)],
            actions,
        }
    }

    fn write(path: &str) -> Action {
        Action::Write(WriteFile {
            path: path.into(),
            ..WriteFile::default()
        })
    }

    /// Three ops: `/a` (one write), `/b` (a command then a write), `/c` (one command).
    fn batch() -> Batch {
        let mut b = Batch::default();
        b.push(op("/a", vec![write("/a")]));
        b.push(op("/b", vec![Action::exec("mkdir -p /b"), write("/b/f")]));
        b.push(op("/c", vec![Action::exec("chmod 0600 /c")]));
        b
    }

    fn step_failed(step: usize) -> Result<u32, TransportError> {
        Err(TransportError::Step {
            host: "h".into(),
            step,
            rc: 1,
            reason: "denied".into(),
        })
    }

    #[test]
    fn steps_keep_the_script_order() {
        let b = batch();
        assert_eq!(
            b.steps(),
            vec![
                write("/a"),
                Action::exec("mkdir -p /b"),
                write("/b/f"),
                Action::exec("chmod 0600 /c")
            ]
        );
    }

    #[test]
    fn each_step_belongs_to_the_op_that_queued_it() {
        let b = batch();
        let owners: Vec<usize> = (0..4).map(|s| b.op_of_step(s)).collect();
        assert_eq!(owners, vec![0, 1, 1, 2]);
        // A step index past the end (cannot happen) blames the last op.
        assert_eq!(b.op_of_step(9), 2);
    }

    #[test]
    fn an_op_without_actions_owns_no_step() {
        let mut b = Batch::default();
        b.push(op("/empty", vec![]));
        b.push(op("/x", vec![write("/x")]));
        assert_eq!(b.op_of_step(0), 1);
    }

    #[test]
    fn a_whole_batch_applies_every_op() {
        assert_eq!(
            batch().reached(Ok(2)),
            Reached {
                applied: 3,
                failure: None,
                round_trips: 2,
                changed: false,
            }
        );
    }

    #[test]
    fn a_failed_step_fails_its_op_after_the_ones_before() {
        let b = batch();
        let r = b.reached(step_failed(2));
        assert_eq!(r.applied, 1);
        assert_eq!(r.failure.as_deref(), Some("cannot write /b/f: denied"));
        assert_eq!(r.round_trips, 1);
        let r = b.reached(step_failed(3));
        assert_eq!(r.applied, 2);
        assert_eq!(r.failure.as_deref(), Some("exit status 1: denied"));
        assert_eq!(b.probes_from(r.applied), vec![Probe::path("/c")]);
    }

    #[test]
    fn a_write_whose_file_changed_can_be_planned_again() {
        let mut b = batch();
        let cas = WriteFile {
            path: "/d".into(),
            expect: Some(crate::op::Expected::Missing),
            ..WriteFile::default()
        };
        b.push(op("/d", vec![Action::Write(cas)]));
        let failed = |rc| {
            b.reached(Err(TransportError::Step {
                host: "h".into(),
                step: 4,
                rc,
                reason: "/d changed on the host since it was probed".into(),
            }))
        };
        let r = failed(CHANGED_RC);
        assert!(r.changed && r.applied == 3, "{r:?}");
        assert!(r.failure.unwrap().contains("rerun the play"));
        assert!(!failed(1).changed);
        // Only a compare-and-swap write's status means "changed": a command may exit 75.
        let r = b.reached(Err(TransportError::Step {
            host: "h".into(),
            step: 3,
            rc: CHANGED_RC,
            reason: String::new(),
        }));
        assert!(!r.changed);
    }

    #[test]
    fn a_lost_connection_fails_the_first_op() {
        let r = batch().reached(Err(TransportError::Exec {
            host: "h".into(),
            reason: "connection closed".into(),
        }));
        assert_eq!((r.applied, r.round_trips), (0, 0));
        assert!(r.failure.is_some());
    }

    #[test]
    fn take_empties_the_queue() {
        let mut b = batch();
        let taken = b.take();
        assert!(b.is_empty());
        assert_eq!(taken.ops().len(), 3);
    }
}
