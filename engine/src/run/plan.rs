//! The first half of an op call: decide whether it runs (tags, rehearsal),
//! probe the host (from the snapshot when it can), plan, and fetch the
//! `--diff`. What to do with the plan is the run's strategy (`apply.rs`).

use std::sync::Arc;
use std::time::Instant;

use rhai::{EvalAltResult, NativeCallContext, Position};

use super::catalog::Task;
use super::head::OpHead;
use super::host::HostCtx;
use super::outcome::OpResult;
use super::shared::CommonOpts;
use crate::op::{Operation, Plan, Symbol};
use crate::probe::Probe;
use crate::report::{ChangeLine, Event, OpStatus};

/// An op call planned with changes to make.
pub(super) struct Planned {
    /// The op, for what it is allowed (batching, `--check`, its reach), and
    /// kept with its queued changes to plan again (see `deferred.rs`).
    pub op: Arc<dyn Operation>,
    /// The op call, as reports name it.
    pub head: OpHead,
    /// Where the script stops if applying fails.
    pub position: Position,
    /// What the plan asked of the host.
    pub probes: Vec<Probe>,
    /// The plan, never a no-op.
    pub plan: Plan,
    /// Its change lines, as reported.
    pub lines: Vec<ChangeLine>,
    /// Its `--diff` text, when asked for and there is one.
    pub diff: Option<String>,
}

/// What planning an op call came to.
pub(super) enum Planning {
    /// Nothing to apply: skipped, rehearsed, or nothing to change (reported).
    Done(OpResult),
    /// Changes to apply.
    Planned(Planned),
}

impl Planned {
    /// Whether the op only looks (a readonly command): it changes nothing.
    pub fn readonly(&self) -> bool {
        self.op.readonly()
    }

    /// Whether the plan removes something, so the snapshot forgets what
    /// was under it too.
    pub fn deep(&self) -> bool {
        self.plan.changes.iter().any(|c| c.symbol == Symbol::Delete)
    }

    /// The result the script sees once the changes are made (or would be).
    pub fn result(&self) -> OpResult {
        OpResult {
            changed: !self.readonly(),
            changes: self
                .lines
                .iter()
                .map(|l| format!("{} {}", l.symbol, l.summary))
                .collect(),
            ..OpResult::default()
        }
    }
}

impl HostCtx {
    /// Plans an op call, or ends it when there is nothing to apply.
    pub(super) fn plan_op(
        &self,
        ctx: &NativeCallContext,
        op: Arc<dyn Operation>,
        common: CommonOpts,
    ) -> Result<Planning, Box<EvalAltResult>> {
        let position = ctx.call_position();
        self.still_whole(position)?;
        let head = self.head_of(ctx, op.as_ref());
        self.not_halted(&head, position)?;
        if let Some(done) = self.admit(ctx, op.as_ref(), common, &head) {
            return Ok(Planning::Done(done));
        }
        // Probes the snapshot cannot answer ask the host, which must first
        // be as the script has left it.
        if !self.session.can_answer(&op.probes()) {
            self.flush(position)?;
        }
        self.probe_and_plan(op, head, position, true)
    }

    /// Probes (from the snapshot where it can) and plans an admitted op
    /// call. A `--diff` that needs a file's current content reads it only
    /// with `may_read` (which flushes the queue first); otherwise that diff
    /// is left out.
    pub(super) fn probe_and_plan(
        &self,
        op: Arc<dyn Operation>,
        head: OpHead,
        position: Position,
        may_read: bool,
    ) -> Result<Planning, Box<EvalAltResult>> {
        let fail = |message: String| self.fail(&head, message, position);
        let probes = op.probes();
        let observed = self
            .shared
            .rt
            .block_on(
                self.session
                    .observe_at(&probes, self.shared.changes.count()),
            )
            .map_err(|e| fail(e.to_string()))?;
        let plan = op.plan(&observed).map_err(|e| fail(e.to_string()))?;
        if let Some(path) = op.owns() {
            self.session.mark_owned(path);
        }
        if plan.is_noop() {
            self.finish(&head, OpStatus::Ok, vec![], None, plan.reason);
            return Ok(Planning::Done(OpResult::default()));
        }
        let lines = plan
            .changes
            .iter()
            .map(|c| ChangeLine {
                symbol: c.symbol.as_char(),
                summary: c.summary.clone(),
            })
            .collect();
        let diff = if self.shared.settings.diff {
            self.diff_of(&plan, position, may_read, &fail)?
        } else {
            None
        };
        Ok(Planning::Planned(Planned {
            op,
            head,
            position,
            probes,
            plan,
            lines,
            diff,
        }))
    }

    /// Whether the op call goes ahead: not when `--tags`/`--skip-tags`
    /// deselect it (reported as skipped) nor in a rehearsal (which only
    /// records its probes); `None` once its start is reported (and, in a
    /// listing, the call noted in its catalog).
    fn admit(
        &self,
        ctx: &NativeCallContext,
        op: &dyn Operation,
        common: CommonOpts,
        head: &OpHead,
    ) -> Option<OpResult> {
        let tags = self.tags_of(ctx, common);
        if !self.shared.settings.tags_selected(&tags) {
            // The rehearsal asks nothing and reports nothing: the real pass
            // reports the skip, once.
            if self.rehearse(Vec::new()) {
                return Some(OpResult::default());
            }
            return Some(self.skip(head, "not selected by --tags/--skip-tags"));
        }
        if let Some(rehearsed) = self.rehearse_op(op) {
            return Some(rehearsed);
        }
        if let Some(catalog) = self.shared.settings.catalog() {
            let role = self.shared.sources.role(ctx.call_source());
            // A command line may hold a vaulted value: masked, as in events.
            let target = self.shared.secrets.mask(&head.target);
            let task = Task::new(role.as_deref(), &head.kind, &target, &tags);
            catalog.record(self.play, &self.host.name, task);
        }
        self.report(Event::OpStart {
            host: self.host.name.clone(),
            op: head.kind.clone(),
            target: head.target.clone(),
        });
        None
    }

    fn head_of(&self, ctx: &NativeCallContext, op: &dyn Operation) -> OpHead {
        let source = ctx.call_source();
        OpHead {
            kind: op.kind().to_string(),
            target: op.target(),
            at: crate::script::location(&self.shared.sources.display(source), ctx.call_position()),
            started: Instant::now(),
        }
    }

    /// The op's tags: the play's, its own, and its role's.
    fn tags_of(&self, ctx: &NativeCallContext, common: CommonOpts) -> Vec<String> {
        let mut tags = self.play_tags.clone();
        tags.extend(common.tags);
        tags.extend(self.shared.sources.role(ctx.call_source()));
        tags
    }

    /// The plan's content diffs. A change that does not know its file's
    /// current content reads it from the host, after the queued changes
    /// (only with `may_read`; without, such a plan shows no diff).
    fn diff_of(
        &self,
        plan: &Plan,
        position: Position,
        may_read: bool,
        fail: &dyn Fn(String) -> Box<EvalAltResult>,
    ) -> Result<Option<String>, Box<EvalAltResult>> {
        let diffs: Vec<_> = plan
            .changes
            .iter()
            .filter_map(|c| c.diff.as_ref())
            .collect();
        if diffs.iter().any(|d| d.before.is_none()) {
            if !may_read {
                return Ok(None);
            }
            self.flush(position)?;
        }
        let mut text = String::new();
        for d in diffs {
            let before = match &d.before {
                Some(b) => Some(b.as_ref().clone()),
                None => self.read_file(&d.path).map_err(fail)?,
            };
            text.push_str(&crate::report::diff::unified(
                &d.path,
                before.as_deref(),
                &d.after,
                &self.shared.secrets,
            ));
        }
        Ok((!text.is_empty()).then_some(text))
    }

    fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        let transport = self.session.transport().map_err(|e| e.to_string())?;
        self.session.count_round_trip();
        self.shared
            .rt
            .block_on(transport.read_file(path))
            .map_err(|e| e.to_string())
    }
}
