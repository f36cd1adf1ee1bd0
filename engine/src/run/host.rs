//! One host's side of a play: the context an operation finds on its thread,
//! and the one place an op call ends ([`HostCtx::finish`]). The call itself
//! (plan, then apply) is `HostCtx::run_op`, in `apply.rs`.

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

use rhai::{EvalAltResult, NativeCallContext, Position};

use super::ahead::Ahead;
use super::batch::Batch;
use super::foresight::{Ask, Foreseen};
use super::halt::Halt;
use super::head::OpHead;
use super::magic::PlayScope;
use super::outcome::OpResult;
use super::session::Session;
use super::shared::{error, runtime_error, Shared};
use super::strategy::Strategy;
use crate::inventory::{Host, Vars};
use crate::op::Operation;
use crate::probe::Probe;
use crate::report::{ChangeLine, Event, HostStats, OpStatus};

/// Everything an operation running on this thread needs about its host.
pub(super) struct HostCtx {
    pub shared: Arc<Shared>,
    pub host: Host,
    /// Host vars with play vars and `-e` layered on top.
    pub vars: Vars,
    pub session: Arc<Session>,
    /// The play's index in the playbook, which a listing's catalog notes.
    pub play: usize,
    pub play_tags: Vec<String>,
    pub notified: RefCell<Vec<String>>,
    pub stats: RefCell<HostStats>,
    /// The last operation failure, already reported, so the executor does not
    /// report it twice when the script lets it end the host's run.
    pub reported_failure: RefCell<Option<String>>,
    /// How planned changes are applied, the same for every op of the run.
    pub(super) strategy: Strategy,
    template_ctx: OnceCell<minijinja::Value>,
    /// The play as its templates see it (Ansible's magic variables).
    scope: PlayScope,
    /// In a rehearsal, ops only record their probes and read-only
    /// commands here (see [`HostCtx::rehearsing`]).
    rehearsal: Option<RefCell<Foreseen>>,
    /// Changes planned but not applied yet (see `batch.rs`).
    pub(super) batch: RefCell<Batch>,
    /// Set when queued changes failed on the host: the host's run is over,
    /// even if the script catches the error (see `batch.rs`).
    pub(super) broken: RefCell<Option<String>>,
    /// The batch's `any_errors_fatal` flag (see `halt.rs`), when the play has one.
    halt: Option<Arc<Halt>>,
    /// Set when another host's failure stopped this one (see `halt.rs`).
    pub(super) stopped: Cell<bool>,
    /// Set when Ctrl-C stopped this host: an op's command was killed, or an
    /// op was refused. The host is then interrupted, not failed, even if the
    /// script caught the error.
    pub(super) interrupted: Cell<bool>,
    /// Set in a pass ahead of a serial play's batches (see `ahead.rs`).
    pub(super) ahead: Option<Ahead>,
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
        play: usize,
        play_tags: Vec<String>,
    ) -> Self {
        let strategy = Strategy::for_run(&shared.settings, &host.name);
        HostCtx {
            shared,
            host,
            vars,
            session,
            play,
            play_tags,
            notified: RefCell::new(Vec::new()),
            stats: RefCell::new(HostStats::default()),
            reported_failure: RefCell::new(None),
            strategy,
            template_ctx: OnceCell::new(),
            scope: PlayScope::default(),
            rehearsal: None,
            batch: RefCell::new(Batch::default()),
            broken: RefCell::new(None),
            halt: None,
            stopped: Cell::new(false),
            interrupted: Cell::new(false),
            ahead: None,
        }
    }

    /// A context whose templates see `play`'s hosts, batch and folder.
    pub(super) fn in_play(mut self, scope: PlayScope) -> Self {
        self.scope = scope;
        self
    }

    /// A context whose host stops at its next op call once another host of
    /// the batch has failed, and stops the others when it fails (see `halt.rs`).
    pub fn halting_with(mut self, halt: Option<Arc<Halt>>) -> Self {
        self.halt = halt;
        self
    }

    /// Ends an op call as skipped, and the host's run, when another host of
    /// the batch has failed in an `any_errors_fatal` play.
    pub(super) fn not_halted(
        &self,
        head: &OpHead,
        position: Position,
    ) -> Result<(), Box<EvalAltResult>> {
        let Some(failed) = self.halt.as_ref().and_then(|h| h.raised_by()) else {
            return Ok(());
        };
        if self.rehearsal.is_some() || failed == self.host.name {
            return Ok(());
        }
        let why = format!("stopped: {failed} failed and the play has any_errors_fatal");
        self.skip(head, &why);
        self.stopped.set(true);
        Err(runtime_error(why, position))
    }

    /// A context in which the play's script runs as a rehearsal: every op
    /// records the probes it would ask and returns at once, touching nothing
    /// and reporting nothing. The executor batches what it records into one
    /// round trip before the real run, so a first run does not pay a round
    /// trip per op just to look.
    pub fn rehearsing(mut self) -> Self {
        self.rehearsal = Some(RefCell::new(Foreseen::default()));
        self
    }

    /// The probes and read-only commands recorded in a rehearsal.
    pub(super) fn rehearsed(&self) -> Foreseen {
        self.rehearsal
            .as_ref()
            .map(|d| d.borrow().clone())
            .unwrap_or_default()
    }

    /// In a rehearsal, records `probes` and returns true: the op goes no further.
    pub(super) fn rehearse(&self, probes: Vec<Probe>) -> bool {
        match &self.rehearsal {
            Some(found) => {
                found.borrow_mut().probes.extend(probes);
                true
            }
            None => false,
        }
    }

    /// In a rehearsal, records what `op` would ask (its probes, the command
    /// a read-only op runs, its guards) and returns what the script sees:
    /// the opening's answer to that command while it stands, so the
    /// rehearsal follows the branch the real run takes; else an empty
    /// result, as for any op.
    pub(super) fn rehearse_op(&self, op: &dyn Operation) -> Option<OpResult> {
        let found = self.rehearsal.as_ref()?;
        let ask = Ask::of(op);
        let answered = ask.as_ref().and_then(|a| {
            let (script, input) = a.command();
            self.session
                .foreseen(script, input, self.shared.changes.count())
        });
        let mut found = found.borrow_mut();
        found.probes.extend(op.probes());
        found.asks.extend(ask);
        found.asks.extend(Ask::guards(op));
        Some(match answered {
            Some(out) => OpResult {
                rc: i64::from(out.rc),
                stdout: super::immediate::trim_newline(&out.stdout),
                stderr: super::immediate::trim_newline(&out.stderr),
                ..OpResult::default()
            },
            None => OpResult::default(),
        })
    }

    /// Makes this the current host of the calling thread while `f` runs,
    /// whose Rhai then takes turns with other hosts' (see `script/lock.rs`).
    pub fn enter<T>(self: &Rc<Self>, f: impl FnOnce() -> T) -> T {
        struct Reset;
        impl Drop for Reset {
            fn drop(&mut self) {
                CURRENT.with(|c| *c.borrow_mut() = None);
            }
        }
        CURRENT.with(|c| *c.borrow_mut() = Some(self.clone()));
        let _reset = Reset;
        self.shared.script_lock.enter(f)
    }

    /// The variables every template of this host sees, built once per host and play.
    pub(super) fn template_context(&self) -> minijinja::Value {
        self.template_ctx
            .get_or_init(|| {
                super::lookup::template_context(
                    &self.shared,
                    &self.host,
                    &self.vars,
                    self.session.play_facts(),
                    &self.scope,
                )
            })
            .clone()
    }

    /// Ends an op call: counts it in the host's stats and reports its one
    /// `OpEnd` event, however it ended (applied now or in a batch, checked,
    /// rendered, skipped, failed).
    pub(super) fn finish(
        &self,
        head: &OpHead,
        status: OpStatus,
        changes: Vec<ChangeLine>,
        diff: Option<String>,
        message: Option<String>,
    ) {
        if !matches!(status, OpStatus::Ok | OpStatus::Skipped) {
            self.shared.changes.made();
        }
        {
            let mut stats = self.stats.borrow_mut();
            match status {
                OpStatus::Ok => stats.ok += 1,
                OpStatus::Changed => stats.changed += 1,
                OpStatus::Skipped => stats.skipped += 1,
                OpStatus::Failed => stats.failed += 1,
                OpStatus::Interrupted => stats.interrupted = true,
            }
        }
        self.report(Event::OpEnd {
            host: self.host.name.clone(),
            op: head.kind.clone(),
            target: head.target.clone(),
            status,
            changes,
            diff,
            message,
            at: Some(head.at.clone()),
            elapsed: head.started.elapsed(),
        });
    }

    /// Reports `event`, or holds it while the host goes ahead of its batch.
    pub(super) fn report(&self, event: Event) {
        match &self.ahead {
            Some(ahead) => ahead.hold(event),
            None => self.shared.reporter.event(&event),
        }
    }

    /// Ends an op call as skipped, for `why`.
    pub(super) fn skip(&self, head: &OpHead, why: &str) -> OpResult {
        self.finish(head, OpStatus::Skipped, vec![], None, Some(why.into()));
        OpResult {
            skipped: true,
            ..OpResult::default()
        }
    }

    /// Ends an op call as failed: reports it, remembers it was reported, and
    /// returns the script error raised at `position`.
    pub(super) fn fail(
        &self,
        head: &OpHead,
        message: String,
        position: Position,
    ) -> Box<EvalAltResult> {
        let error = format!("{} {}: {message}", head.kind, head.target);
        if let Some(halt) = &self.halt {
            halt.raise(&self.host.name);
        }
        self.finish(head, OpStatus::Failed, vec![], None, Some(message.clone()));
        *self.reported_failure.borrow_mut() = Some(message);
        runtime_error(error, position)
    }

    /// Ends an op call stopped by Ctrl-C (its command killed on the host):
    /// reports it as interrupted, marks the host so, and returns the script
    /// error raised at `position`, which ends the host's play.
    pub(super) fn interrupt(
        &self,
        head: &OpHead,
        message: String,
        position: Position,
    ) -> Box<EvalAltResult> {
        self.interrupted.set(true);
        let error = format!("{} {}: {message}", head.kind, head.target);
        self.finish(head, OpStatus::Interrupted, vec![], None, Some(message));
        runtime_error(error, position)
    }

    /// Fails when queued changes have failed on this host: nothing more
    /// runs on it, whether or not the script caught the first error.
    pub(super) fn still_whole(&self, position: Position) -> Result<(), Box<EvalAltResult>> {
        if self.ahead.as_ref().is_some_and(Ahead::gave_up) {
            return Err(runtime_error(super::ahead::GAVE_UP.into(), position));
        }
        match self.broken.borrow().as_ref() {
            Some(error) => Err(runtime_error(error.clone(), position)),
            None => Ok(()),
        }
    }
}

/// The host whose script runs on this thread, for the calls of [`super::api`].
pub(super) fn current(ctx: &NativeCallContext) -> Result<Rc<HostCtx>, Box<EvalAltResult>> {
    CURRENT.with(|c| c.borrow().clone()).ok_or_else(|| {
        let name = ctx.fn_name();
        error(
            ctx,
            format!("{name}() acts on a host, so it must be called inside a play: play(\"name\", \"hosts\", |host| {{ {name}(...); }})"),
        )
    })
}

/// The name of the host whose script runs on this thread, if any.
pub fn current_host_name() -> Option<String> {
    CURRENT.with(|c| c.borrow().as_ref().map(|h| h.host.name.clone()))
}

/// Whether the script on this thread is a rehearsal, whose messages must not
/// be shown (the real run shows them).
pub fn is_discovering() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(|h| h.rehearsal.is_some()))
}

/// `event`, unless the host whose script runs on this thread is going ahead
/// of its batch (`ahead.rs`), which holds it until its pass is kept.
pub fn unless_held(event: Event) -> Option<Event> {
    CURRENT.with(
        |c| match c.borrow().as_ref().and_then(|h| h.ahead.as_ref()) {
            Some(ahead) => {
                ahead.hold(event);
                None
            }
            None => Some(event),
        },
    )
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
