//! One host's side of a play: the context an operation finds on its thread,
//! and the probe → plan → apply cycle of [`run_op`].

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use rhai::{Dynamic, EvalAltResult, NativeCallContext};

use super::api::CommonOpts;
use super::executor::Shared;
use super::outcome::OpResult;
use super::pending::PendingOp;
use super::session::Session;
use crate::inventory::{Host, Vars};
use crate::op::{Action, Operation, Reach};
use crate::probe::{Facts, Probe};
use crate::report::{ChangeLine, Event, HostStats, OpStatus};

/// Everything an operation running on this thread needs about its host.
pub(super) struct HostCtx {
    pub shared: Arc<Shared>,
    pub host: Host,
    /// Host vars with play vars and `-e` layered on top.
    pub vars: Vars,
    pub session: Arc<Session>,
    pub play_tags: Vec<String>,
    pub notified: RefCell<Vec<String>>,
    pub stats: RefCell<HostStats>,
    /// The last operation failure, already reported, so the executor does not
    /// report it twice when the script lets it end the host's run.
    pub reported_failure: RefCell<Option<String>>,
    template_ctx: RefCell<Option<minijinja::Value>>,
    /// In discovery mode, ops only record their probes here (see
    /// [`HostCtx::discovering`]).
    discovered: Option<RefCell<Vec<Probe>>>,
    /// Changes planned but not applied yet (see `pending.rs`).
    pub(super) pending: RefCell<Vec<PendingOp>>,
    /// Set when queued changes failed on the host: the host's run is over,
    /// even if the script catches the error (see `pending.rs`).
    pub(super) broken: RefCell<Option<String>>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<HostCtx>>> = const { RefCell::new(None) };
}

impl HostCtx {
    pub fn new(
        shared: Arc<Shared>,
        host: Host,
        vars: Vars,
        session: Arc<Session>,
        play_tags: Vec<String>,
    ) -> Self {
        HostCtx {
            shared,
            host,
            vars,
            session,
            play_tags,
            notified: RefCell::new(Vec::new()),
            stats: RefCell::new(HostStats::default()),
            reported_failure: RefCell::new(None),
            template_ctx: RefCell::new(None),
            discovered: None,
            pending: RefCell::new(Vec::new()),
            broken: RefCell::new(None),
        }
    }

    /// A context in which the play's script runs as a rehearsal: every op
    /// records the probes it would ask and returns at once, touching nothing
    /// and reporting nothing. The executor batches what it records into one
    /// round trip before the real run, so a first run does not pay a round
    /// trip per op just to look.
    pub fn discovering(mut self) -> Self {
        self.discovered = Some(RefCell::new(Vec::new()));
        self
    }

    /// The probes recorded in discovery mode.
    pub fn discovered(&self) -> Vec<Probe> {
        self.discovered
            .as_ref()
            .map(|d| d.borrow().clone())
            .unwrap_or_default()
    }

    /// Makes this the current host of the calling thread while `f` runs.
    pub fn enter<T>(self: &Rc<Self>, f: impl FnOnce() -> T) -> T {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                CURRENT.with(|c| *c.borrow_mut() = None);
            }
        }
        CURRENT.with(|c| *c.borrow_mut() = Some(self.clone()));
        let _reset = Reset;
        f()
    }
}

fn current(ctx: &NativeCallContext) -> Result<Rc<HostCtx>, Box<EvalAltResult>> {
    CURRENT.with(|c| c.borrow().clone()).ok_or_else(|| {
        let name = ctx.fn_name();
        super::api::error(
            ctx,
            format!("{name}() acts on a host, so it must be called inside a play: play(\"name\", \"hosts\", |host| {{ {name}(...); }})"),
        )
    })
}

/// The name of the host whose script runs on this thread, if any.
pub fn current_host_name() -> Option<String> {
    CURRENT.with(|c| c.borrow().as_ref().map(|h| h.host.name.clone()))
}

/// Whether the script on this thread is a discovery rehearsal, whose
/// messages must not be shown (the real run shows them).
pub fn is_discovering() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(|h| h.discovered.is_some()))
}

/// Queues a handler for the current host.
pub fn notify(name: &str) {
    CURRENT.with(|c| {
        if let Some(h) = c.borrow().as_ref() {
            let mut n = h.notified.borrow_mut();
            if !n.iter().any(|x| x == name) {
                n.push(name.to_string());
            }
        }
    });
}

pub(super) fn run_op(
    ctx: &NativeCallContext,
    op: &dyn Operation,
    common: CommonOpts,
) -> Result<OpResult, Box<EvalAltResult>> {
    let h = current(ctx)?;
    h.run_op(ctx, op, common)
}

impl HostCtx {
    fn report(&self, event: &Event) {
        self.shared.reporter.event(event);
    }

    fn run_op(
        &self,
        ctx: &NativeCallContext,
        op: &dyn Operation,
        common: CommonOpts,
    ) -> Result<OpResult, Box<EvalAltResult>> {
        self.still_whole(ctx.call_position())?;
        let start = Instant::now();
        let settings = &self.shared.settings;
        let (kind, target) = (op.kind().to_string(), op.target());
        let source = ctx.call_source().map(str::to_string);
        let at = crate::script::location(
            &self.shared.sources.display(source.as_deref()),
            ctx.call_position(),
        );
        let mut tags = self.play_tags.clone();
        tags.extend(common.tags);
        tags.extend(self.shared.sources.role(source.as_deref()));
        let end = |status: OpStatus,
                   changes: Vec<ChangeLine>,
                   diff: Option<String>,
                   message: Option<String>| Event::OpEnd {
            host: self.host.name.clone(),
            op: kind.clone(),
            target: target.clone(),
            status,
            changes,
            diff,
            message,
            at: Some(at.clone()),
            elapsed: start.elapsed(),
        };
        if !settings.tags_selected(&tags) {
            self.stats.borrow_mut().skipped += 1;
            self.report(&end(
                OpStatus::Skipped,
                vec![],
                None,
                Some("not selected by --tags/--skip-tags".into()),
            ));
            return Ok(OpResult {
                skipped: true,
                ..OpResult::default()
            });
        }
        if let Some(found) = &self.discovered {
            found.borrow_mut().extend(op.probes());
            return Ok(OpResult::default());
        }
        self.report(&Event::OpStart {
            host: self.host.name.clone(),
            op: kind.clone(),
            target: target.clone(),
        });
        let rt = &self.shared.rt;
        let probes = op.probes();
        let fail = |message: String| -> Box<EvalAltResult> {
            self.stats.borrow_mut().failed += 1;
            self.report(&end(OpStatus::Failed, vec![], None, Some(message.clone())));
            *self.reported_failure.borrow_mut() = Some(message.clone());
            Box::new(EvalAltResult::ErrorRuntime(
                Dynamic::from(format!("{kind} {target}: {message}")),
                ctx.call_position(),
            ))
        };
        // Probes the snapshot cannot answer ask the host, which must first
        // be as the script has left it.
        if !self.session.can_answer(&probes) {
            self.flush(ctx.call_position())?;
        }
        let observed = rt
            .block_on(self.session.observe(&probes))
            .map_err(|e| fail(e.to_string()))?;
        let plan = op.plan(&observed).map_err(|e| fail(e.to_string()))?;
        if let Some(path) = op.owns() {
            self.session.mark_owned(path);
        }
        if plan.is_noop() {
            self.stats.borrow_mut().ok += 1;
            self.report(&end(OpStatus::Ok, vec![], None, plan.reason));
            return Ok(OpResult::default());
        }
        let readonly = op.readonly();
        let lines: Vec<ChangeLine> = plan
            .changes
            .iter()
            .map(|c| ChangeLine {
                symbol: c.symbol.as_char(),
                summary: c.summary.clone(),
            })
            .collect();
        let mut diff = None;
        if settings.diff {
            if plan
                .changes
                .iter()
                .any(|c| c.diff.as_ref().is_some_and(|d| d.before.is_none()))
            {
                self.flush(ctx.call_position())?;
            }
            let mut text = String::new();
            for d in plan.changes.iter().filter_map(|c| c.diff.as_ref()) {
                let before = match &d.before {
                    Some(b) => Some(b.as_ref().clone()),
                    None => {
                        self.session.count_round_trip();
                        rt.block_on(
                            self.session
                                .transport()
                                .map_err(|e| fail(e.to_string()))?
                                .read_file(&d.path),
                        )
                        .map_err(|e| fail(e.to_string()))?
                    }
                };
                text.push_str(&crate::report::diff::unified(
                    &d.path,
                    before.as_deref(),
                    &d.after,
                    &self.shared.secrets,
                ));
            }
            diff = (!text.is_empty()).then_some(text);
        }
        let changes_text: Vec<String> = lines
            .iter()
            .map(|l| format!("{} {}", l.symbol, l.summary))
            .collect();
        if settings.check && readonly && !op.runs_in_check() {
            self.stats.borrow_mut().skipped += 1;
            self.report(&end(
                OpStatus::Skipped,
                vec![],
                None,
                Some("check mode: not run".into()),
            ));
            return Ok(OpResult {
                skipped: true,
                ..OpResult::default()
            });
        }
        if settings.check && !readonly {
            self.stats.borrow_mut().changed += 1;
            self.report(&end(
                OpStatus::Changed,
                lines,
                diff,
                Some("check mode: not applied".into()),
            ));
            return Ok(OpResult {
                changed: true,
                changes: changes_text,
                ..OpResult::default()
            });
        }
        let mut result = OpResult {
            changed: !readonly,
            changes: changes_text,
            ..OpResult::default()
        };
        if let Some(out) = &settings.render {
            for action in plan.changes.iter().flat_map(|c| c.actions.iter()) {
                super::render::record(out, &self.host.name, action, &self.shared.secrets)
                    .map_err(|e| fail(e.to_string()))?;
                if let Action::Write(w) = action {
                    self.session.remember_offline_write(w);
                }
            }
            self.stats.borrow_mut().changed += 1;
            self.report(&end(OpStatus::Changed, lines, None, None));
            return Ok(result);
        }
        let deep = plan
            .changes
            .iter()
            .any(|c| c.symbol == crate::op::Symbol::Delete);
        let actions = merge_checked_execs(plan.changes.iter().flat_map(|c| c.actions.iter()));
        let all_checked = actions
            .iter()
            .all(|a| matches!(a, Action::Write(_) | Action::Exec { check: true, .. }));
        if op.batchable() && !readonly && all_checked {
            self.settle(&actions, &probes, deep);
            self.defer(PendingOp {
                kind,
                target,
                at,
                started: start,
                changes: lines,
                diff,
                actions,
                probes,
            });
            return Ok(result);
        }
        self.flush(ctx.call_position())?;
        let transport = self.session.transport().map_err(|e| fail(e.to_string()))?;
        for action in &actions {
            match &action {
                Action::Exec { script, check } => {
                    self.session.count_round_trip();
                    let out = rt
                        .block_on(transport.exec(script, None))
                        .map_err(|e| fail(e.to_string()))?;
                    result.rc = i64::from(out.rc);
                    result.stdout = trim_newline(&out.stdout);
                    result.stderr = trim_newline(&out.stderr);
                    if *check && out.rc != 0 {
                        self.session.invalidate(&probes, deep);
                        if op.reach() == Reach::Anything {
                            self.session.mark_stale();
                        }
                        let detail = if result.stderr.is_empty() {
                            &result.stdout
                        } else {
                            &result.stderr
                        };
                        return Err(fail(format!("exit status {}: {}", out.rc, detail.trim())));
                    }
                }
                Action::Write(w) => {
                    self.session.count_round_trip();
                    rt.block_on(transport.write_file(w))
                        .map_err(|e| fail(e.to_string()))?;
                    self.session.record_write(w);
                }
            }
        }
        self.settle(&actions, &probes, deep);
        if op.reach() == Reach::Anything && !readonly {
            self.session.mark_stale();
        }
        let status = if readonly {
            OpStatus::Ok
        } else {
            OpStatus::Changed
        };
        if readonly {
            self.stats.borrow_mut().ok += 1;
        } else {
            self.stats.borrow_mut().changed += 1;
        }
        self.report(&end(
            status,
            if readonly { vec![] } else { lines },
            diff,
            None,
        ));
        Ok(result)
    }

    /// Brings the snapshot up to date with applied (or queued) `actions`.
    /// A write leaves a known state: the snapshot learns it instead of
    /// forgetting it, so the next op on the same file (four `line` edits of
    /// sshd_config) plans without another round trip. Anything else makes
    /// the op's probes unknown (with `deep`, everything under their paths).
    fn settle(&self, actions: &[Action], probes: &[Probe], deep: bool) {
        let learned = actions.iter().all(|a| match a {
            Action::Write(w) => self.session.learn_write(w),
            Action::Exec { .. } => false,
        });
        if !learned {
            self.session.invalidate(probes, deep);
        }
    }

    /// The variables every template of this host sees, built once per host and play.
    fn template_context(&self) -> minijinja::Value {
        if let Some(v) = self.template_ctx.borrow().as_ref() {
            return v.clone();
        }
        let inv = &self.shared.inventory;
        let mut ctx = self.vars.clone();
        let groups: serde_json::Map<String, serde_json::Value> = inv
            .groups()
            .into_iter()
            .map(|g| {
                let names = inv
                    .select(g)
                    .map(|hs| hs.iter().map(|h| h.name.clone()).collect::<Vec<_>>())
                    .unwrap_or_default();
                (g.to_string(), serde_json::json!(names))
            })
            .collect();
        let hostvars: serde_json::Map<String, serde_json::Value> = inv
            .hosts()
            .iter()
            .map(|h| {
                let mut v = h.vars.clone();
                v.insert("inventory_hostname".into(), h.name.clone().into());
                v.insert("address".into(), h.address.clone().into());
                (h.name.clone(), serde_json::Value::Object(v))
            })
            .collect();
        let ip = self.host.ip(&self.vars).to_string();
        ctx.insert(
            "host".into(),
            serde_json::json!({
                "name": self.host.name, "address": self.host.address, "ip": ip, "groups": self.host.groups,
            }),
        );
        ctx.insert("inventory_hostname".into(), self.host.name.clone().into());
        ctx.insert(
            "facts".into(),
            serde_json::to_value(&self.session.facts).unwrap_or_default(),
        );
        ctx.insert("groups".into(), serde_json::Value::Object(groups));
        ctx.insert("hostvars".into(), serde_json::Value::Object(hostvars));
        let v = minijinja::Value::from_serialize(&ctx);
        *self.template_ctx.borrow_mut() = Some(v.clone());
        v
    }
}

/// Joins consecutive checked commands of one op (`mkdir -p d`, `chown u d`,
/// `chmod 0750 d`) into one script, `a && b && c`, so they cost one round
/// trip; the first failure still stops the rest and fails the op.
fn merge_checked_execs<'a>(actions: impl Iterator<Item = &'a Action>) -> Vec<Action> {
    let mut merged: Vec<Action> = Vec::new();
    for action in actions {
        if let (
            Some(Action::Exec {
                script: prev,
                check: true,
            }),
            Action::Exec {
                script,
                check: true,
            },
        ) = (merged.last_mut(), action)
        {
            *prev = format!("{prev} && {script}");
            continue;
        }
        merged.push(action.clone());
    }
    merged
}

fn trim_newline(b: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(b).into_owned();
    while s.ends_with('\n') || s.ends_with('\r') {
        s.pop();
    }
    s
}

fn calling_dir(h: &HostCtx, ctx: &NativeCallContext) -> Option<PathBuf> {
    h.shared.sources.dir(ctx.call_source())
}

pub(super) fn render_template(
    ctx: &NativeCallContext,
    src: &str,
    vars: &rhai::Map,
) -> Result<String, Box<EvalAltResult>> {
    let h = current(ctx)?;
    let templates = &h.shared.templates;
    let name = templates
        .resolve(src, calling_dir(&h, ctx).as_deref())
        .map_err(|e| super::api::error(ctx, e.to_string()))?;
    let base = h.template_context();
    let ctx_value = if vars.is_empty() {
        base
    } else {
        let extra: serde_json::Value = rhai::serde::from_dynamic(&Dynamic::from_map(vars.clone()))
            .map_err(|e| super::api::error(ctx, format!("template vars: {e}")))?;
        minijinja::context! { ..minijinja::Value::from_serialize(&extra), ..base }
    };
    templates
        .render(&name, &ctx_value)
        .map_err(|e| super::api::error(ctx, e.to_string()))
}

pub(super) fn resolve_local_file(
    ctx: &NativeCallContext,
    path: &str,
) -> Result<PathBuf, Box<EvalAltResult>> {
    let h = current(ctx)?;
    let p = Path::new(path);
    if p.is_absolute() {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(super::api::error(
                ctx,
                format!("local file {path} not found"),
            ))
        };
    }
    let mut candidates = Vec::new();
    if let Some(dir) = calling_dir(&h, ctx) {
        candidates.push(dir.join("files").join(path));
        candidates.push(dir.join(path));
    }
    candidates.push(h.shared.root.join("files").join(path));
    candidates.push(h.shared.root.join(path));
    candidates
        .iter()
        .find(|c| c.is_file())
        .cloned()
        .ok_or_else(|| {
            super::api::error(
                ctx,
                format!(
                    "local file '{path}' not found (looked in {})",
                    candidates
                        .iter()
                        .map(|c| c.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })
}

pub(super) fn facts(ctx: &NativeCallContext) -> Result<Facts, Box<EvalAltResult>> {
    Ok(current(ctx)?.session.facts.clone())
}

#[cfg(test)]
mod tests {
    use super::merge_checked_execs;
    use crate::op::{Action, WriteFile};

    #[test]
    fn consecutive_checked_commands_share_a_round_trip() {
        let unchecked = Action::Exec {
            script: "may-fail".into(),
            check: false,
        };
        let write = Action::Write(WriteFile {
            path: "/x".into(),
            ..WriteFile::default()
        });
        let actions = [
            Action::exec("mkdir -p /d"),
            Action::exec("chmod 0750 /d"),
            write.clone(),
            unchecked.clone(),
            Action::exec("a"),
            Action::exec("b"),
        ];
        assert_eq!(
            merge_checked_execs(actions.iter()),
            vec![
                Action::exec("mkdir -p /d && chmod 0750 /d"),
                write,
                unchecked,
                Action::exec("a && b")
            ]
        );
    }
}
