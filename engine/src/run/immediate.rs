//! Applying an op's changes on the host at once, in the script's flow: for
//! ops that are not batchable (services, commands), or whose changes include
//! a command whose failure the script must see at the call (unchecked
//! commands), and for readonly commands, whose output the script reads.
//! A write whose file changed on the host since the op probed it plans the
//! op once more, as a batched one does (`replan.rs`).

use std::sync::Arc;
use std::time::Duration;

use rhai::EvalAltResult;

use super::host::HostCtx;
use super::outcome::OpResult;
use super::plan::{Planned, Planning};
use super::replan::{changed_message, AGAIN};
use crate::op::{Action, Reach};
use crate::probe::Probe;
use crate::report::OpStatus;
use crate::transport::{Transport, TransportError};

impl HostCtx {
    /// Whether a live run may queue the op's changes instead (see `batch.rs`):
    /// a batchable op whose actions all fail loudly (writes and checked
    /// commands), so a failure found later still names it.
    pub(super) fn deferrable(&self, planned: &Planned) -> bool {
        let actions = actions_of(planned);
        planned.op.batchable()
            && !planned.readonly()
            && all_checked(&actions)
            && actions.iter().all(|a| a.input().is_none())
    }

    /// Applies the op's changes now, after the queued ones.
    pub(super) fn immediately(&self, planned: Planned) -> Result<OpResult, Box<EvalAltResult>> {
        self.flush(planned.position)?;
        self.apply_now(planned, true)
    }

    /// Applies the op's actions in order. A write whose file changed since
    /// the op probed it plans the op once more when `replan` allows
    /// (`replan.rs`), and fails it otherwise.
    fn apply_now(&self, planned: Planned, replan: bool) -> Result<OpResult, Box<EvalAltResult>> {
        let fail = |message: String| self.fail(&planned.head, message, planned.position);
        let interrupted =
            |message: String| self.interrupt(&planned.head, message, planned.position);
        let transport = self.session.transport().map_err(|e| fail(e.to_string()))?;
        let (readonly, deep) = (planned.readonly(), planned.deep());
        let reaches_anything = planned.op.reach() == Reach::Anything;
        let mut result = planned.result();
        let actions = as_commands(&actions_of(&planned));
        let limit = planned.op.timeout().or(self.shared.settings.op_timeout);
        for action in &actions {
            match self.step(transport, action, (limit, readonly), &mut result) {
                Ok(()) => {}
                Err(Step::Unsent(message)) => return Err(fail(message)),
                Err(Step::Changed(path)) => {
                    // What the op's earlier actions did is on the host, and
                    // its probes ask again.
                    self.session.invalidate(&planned.probes, true);
                    if !replan {
                        return Err(fail(changed_message(&path, false) + AGAIN));
                    }
                    let (op, head) = (Arc::clone(&planned.op), &planned.head);
                    return match self.plan_once_more(op, head, planned.position)? {
                        Planning::Done(result) => Ok(result),
                        Planning::Planned(again) => self.apply_now(again, false),
                    };
                }
                Err(step) => {
                    self.session.invalidate(&planned.probes, deep);
                    if reaches_anything {
                        self.session.mark_stale();
                    }
                    return Err(match step {
                        Step::Interrupted(message) => interrupted(message),
                        Step::Failed(message) | Step::Unsent(message) | Step::Changed(message) => {
                            fail(message)
                        }
                    });
                }
            }
        }
        self.settle(&actions, &planned.probes, deep);
        if reaches_anything && !readonly {
            self.session.mark_stale();
        }
        let (status, lines) = if readonly {
            (OpStatus::Ok, vec![])
        } else {
            (OpStatus::Changed, planned.lines)
        };
        self.finish(&planned.head, status, lines, planned.diff, None);
        Ok(result)
    }

    /// Runs one action on the host, in its own round trip; a command's
    /// output becomes the script's result. A command past `limit` is killed
    /// and fails the op like a failed checked command: what it did is unknown.
    /// A `readonly` op's command the opening answered, while that answer
    /// stands, costs no round trip (see `foresight.rs`).
    fn step(
        &self,
        transport: &Transport,
        action: &Action,
        (limit, readonly): (Option<Duration>, bool),
        result: &mut OpResult,
    ) -> Result<(), Step> {
        let rt = &self.shared.rt;
        match action {
            Action::Exec {
                script,
                check,
                input,
            } => {
                let changes = self.shared.changes.count();
                let foreseen = readonly
                    .then(|| self.session.foreseen(script, input.as_ref(), changes))
                    .flatten();
                let out = match foreseen {
                    Some(out) => out,
                    None => self.exec(transport, script, input.as_ref(), limit)?,
                };
                result.rc = i64::from(out.rc);
                result.stdout = trim_newline(&out.stdout);
                result.stderr = trim_newline(&out.stderr);
                if *check && out.rc != 0 {
                    let detail = if result.stderr.is_empty() {
                        &result.stdout
                    } else {
                        &result.stderr
                    };
                    return Err(Step::Failed(format!(
                        "exit status {}: {}",
                        out.rc,
                        detail.trim()
                    )));
                }
            }
            Action::Mkdir(d) => {
                let mkdir = Action::exec(d.script());
                return self.step(transport, &mkdir, (limit, readonly), result);
            }
            Action::Write(w) => {
                self.session.count_round_trip();
                rt.block_on(transport.write_file(w)).map_err(|e| match e {
                    TransportError::Changed { path, .. } => Step::Changed(path),
                    e => Step::Unsent(e.to_string()),
                })?;
                self.session.record_write(w);
            }
        }
        Ok(())
    }

    /// Runs a command on the host, in its own round trip.
    fn exec(
        &self,
        transport: &Transport,
        script: &str,
        input: Option<&crate::op::Input>,
        limit: Option<Duration>,
    ) -> Result<crate::transport::ExecOutput, Step> {
        self.session.count_round_trip();
        let stdin = input.map(|i| i.0.as_slice());
        let interrupt = Some(&self.shared.settings.interrupt);
        self.shared
            .rt
            .block_on(transport.exec_within(script, stdin, limit, interrupt))
            .map_err(|e| match e {
                TransportError::Interrupted { .. } => Step::Interrupted(e.to_string()),
                TransportError::TimedOut { .. } => Step::Failed(e.to_string()),
                e => Step::Unsent(e.to_string()),
            })
    }

    /// Brings the snapshot up to date with applied (or queued) `actions`.
    /// A write leaves a known state: the snapshot learns it instead of
    /// forgetting it, so the next op on the same file (four `line` edits of
    /// sshd_config) plans without another round trip. Anything else makes
    /// the op's probes unknown (with `deep`, everything under their paths).
    pub(super) fn settle(&self, actions: &[Action], probes: &[Probe], deep: bool) {
        let learned = actions.iter().all(|a| match a {
            Action::Write(w) => self.session.learn_write(w),
            Action::Exec { .. } | Action::Mkdir(_) => false,
        });
        if !learned {
            self.session.invalidate(probes, deep);
        }
    }
}

/// Why an action failed.
enum Step {
    /// It did not run as asked: the connection failed, or a write did not
    /// complete (writes are atomic, so the file is as it was).
    Unsent(String),
    /// A compare-and-swap write found this file changed since it was
    /// probed: nothing was written, the op may plan again.
    Changed(String),
    /// A checked command ran and failed, or outlived its limit: what it
    /// changed is unknown.
    Failed(String),
    /// Ctrl-C stopped the command (killed on the host): what it changed is
    /// unknown, and the host is interrupted, not failed.
    Interrupted(String),
}

/// The plan's actions, consecutive checked commands merged.
pub(super) fn actions_of(planned: &Planned) -> Vec<Action> {
    merge_checked_execs(planned.plan.changes.iter().flat_map(|c| c.actions.iter()))
}

fn all_checked(actions: &[Action]) -> bool {
    actions.iter().all(|a| {
        matches!(
            a,
            Action::Write(_) | Action::Mkdir(_) | Action::Exec { check: true, .. }
        )
    })
}

/// `actions` as run one at a time, in their own round trips: a new
/// directory is its script, so it joins the checked commands around it.
fn as_commands(actions: &[Action]) -> Vec<Action> {
    let commands: Vec<Action> = actions
        .iter()
        .map(|a| match a {
            Action::Mkdir(d) => Action::exec(d.script()),
            a => a.clone(),
        })
        .collect();
    merge_checked_execs(commands.iter())
}

/// Joins consecutive checked commands of one op (`mkdir -p d`, `chown u d`,
/// `chmod 0750 d`) into one script, `a && b && c`, so they cost one round
/// trip; the first failure still stops the rest and fails the op. A command
/// with input stays alone: the one before it would read its stdin.
fn merge_checked_execs<'a>(actions: impl Iterator<Item = &'a Action>) -> Vec<Action> {
    let mut merged: Vec<Action> = Vec::new();
    for action in actions {
        if let (
            Some(Action::Exec {
                script: prev,
                check: true,
                input: None,
            }),
            Action::Exec {
                script,
                check: true,
                input: None,
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

pub(super) fn trim_newline(b: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(b).into_owned();
    while s.ends_with('\n') || s.ends_with('\r') {
        s.pop();
    }
    s
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
            input: None,
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
