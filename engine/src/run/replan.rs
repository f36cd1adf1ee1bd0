//! A compare-and-swap write ([`crate::op::WriteFile::expect`]) that found its
//! file changed on the host since its op probed it (a service rewrote its
//! config while the play ran): the op is probed and planned once more from
//! the host's current state and applied again; a second mismatch fails it.
//! Batched writes (`deferred.rs`) and immediate ones (`immediate.rs`) share
//! this re-plan and these messages, so both read and behave the same.

use std::sync::Arc;

use rhai::{EvalAltResult, Position};

use super::head::OpHead;
use super::host::HostCtx;
use super::plan::Planning;
use crate::op::Operation;

/// Why a compare-and-swap write was refused, and what to do. `queued`: ops
/// queued after it in a batch were not applied either.
pub(super) fn changed_message(path: &str, queued: bool) -> String {
    let after = if queued {
        " and the ops queued after this one were not applied"
    } else {
        ""
    };
    format!(
        "{path} changed on the host while the play ran (something else edited it after this op \
         read it); it was left as the host has it{after}; rerun the play to plan from its \
         current content"
    )
}

/// Appended to [`changed_message`] when the second plan met a change too.
pub(super) const AGAIN: &str = " (it changed again after being probed and planned a second time)";

impl HostCtx {
    /// Probes `op` (what the snapshot no longer knows asks the host) and
    /// plans it again. An op that finds nothing left to do ends as ok; one
    /// that cannot plan fails the host, as a failed step would.
    pub(super) fn plan_once_more(
        &self,
        op: Arc<dyn Operation>,
        head: &OpHead,
        position: Position,
    ) -> Result<Planning, Box<EvalAltResult>> {
        self.probe_and_plan(op, head.clone(), position, false)
            .inspect_err(|e| {
                let error = format!("{} {} ({}): {e}", head.kind, head.target, head.at);
                *self.broken.borrow_mut() = Some(error);
            })
    }
}
