//! The second half of an op call: what becomes of a plan, decided once per
//! run by the command line.
//!
//! - [`Strategy::Live`]: changes reach the host, each op's immediately
//!   (`immediate.rs`) or queued in the host's batch (`deferred.rs`) when
//!   they are all file writes and checked commands of a batchable op;
//! - [`Strategy::Check`] (`--check`): nothing reaches the host, readonly
//!   commands that ask to run in check mode excepted;
//! - [`Strategy::Render`] (`kbz-play render`): the host is never contacted;
//!   changes go to a [`Recorder`] instead of a transport (to none under
//!   `--list-tags`, which only notes the op calls: `catalog.rs`).
//!
//! Under check and render the planned writes teach the host's snapshot
//! ([`super::Session::assume_write`]): a later op plans against the content
//! an earlier one would have written (a `copy` then a `line` on the same
//! file), as it does on the host in a real run.

use std::sync::Arc;

use rhai::{EvalAltResult, NativeCallContext};

use super::host::HostCtx;
use super::outcome::OpResult;
use super::plan::{Planned, Planning};
use super::render::Recorder;
use super::shared::CommonOpts;
use super::strategy::Strategy;
use crate::op::{Action, Operation};
use crate::report::OpStatus;

impl HostCtx {
    /// Runs an op: plan it, then apply the plan by the run's strategy,
    /// letting other hosts' Rhai run meanwhile (see `script/lock.rs`).
    pub(super) fn run_op(
        &self,
        ctx: &NativeCallContext,
        op: Arc<dyn Operation>,
        common: CommonOpts,
    ) -> Result<OpResult, Box<EvalAltResult>> {
        if self.shared.settings.interrupt.is_set() {
            // Ctrl-C: nothing new starts; the script stops here on this host.
            self.interrupted.set(true);
            return Err(super::shared::error(ctx, "interrupted (Ctrl-C)"));
        }
        crate::script::outside(|| match self.plan_op(ctx, op, common)? {
            Planning::Done(result) => Ok(result),
            Planning::Planned(planned) => self.apply(planned),
        })
    }

    /// Applies a plan by the run's strategy, and ends the op call.
    pub(super) fn apply(&self, planned: Planned) -> Result<OpResult, Box<EvalAltResult>> {
        match &self.strategy {
            Strategy::Live if self.ahead.is_some() && !planned.readonly() => {
                Err(self.give_up(planned.position))
            }
            Strategy::Live if self.deferrable(&planned) => Ok(self.defer(planned)),
            Strategy::Live => self.immediately(planned),
            Strategy::Check => self.check(planned),
            Strategy::Render(recorder) => self.render(recorder.as_ref(), planned),
        }
    }

    fn check(&self, planned: Planned) -> Result<OpResult, Box<EvalAltResult>> {
        if planned.readonly() {
            return if planned.op.runs_in_check() {
                self.immediately(planned)
            } else {
                Ok(self.skip(&planned.head, "check mode: not run"))
            };
        }
        self.assume_writes(&planned);
        let result = planned.result();
        self.finish(
            &planned.head,
            OpStatus::Changed,
            planned.lines,
            planned.diff,
            Some("check mode: not applied".into()),
        );
        Ok(result)
    }

    fn render(
        &self,
        recorder: Option<&Recorder>,
        planned: Planned,
    ) -> Result<OpResult, Box<EvalAltResult>> {
        if let Some(recorder) = recorder {
            self.record_actions(recorder, &planned)?;
        }
        self.assume_writes(&planned);
        let result = planned.result();
        self.finish(&planned.head, OpStatus::Changed, planned.lines, None, None);
        Ok(result)
    }

    /// Writes the plan's actions to the render folder.
    fn record_actions(
        &self,
        recorder: &Recorder,
        planned: &Planned,
    ) -> Result<(), Box<EvalAltResult>> {
        let actions: Vec<Action> = planned
            .plan
            .changes
            .iter()
            .flat_map(|c| c.actions.iter().cloned())
            .collect();
        recorder
            .apply(&actions, &self.shared.secrets)
            .map_err(|e| self.fail(&planned.head, e.to_string(), planned.position))
    }

    /// Teaches the snapshot the plan's writes without making them.
    fn assume_writes(&self, planned: &Planned) {
        let writes = planned.plan.changes.iter().flat_map(|c| &c.actions);
        for action in writes {
            if let Action::Write(w) = action {
                self.session.assume_write(w);
            }
        }
    }
}
