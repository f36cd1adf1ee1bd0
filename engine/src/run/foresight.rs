//! Read-only commands and `unless` guards asked ahead, in the opening round
//! trip.
//!
//! A rehearsal (`rehearsal.rs`) meets a host's read-only commands
//! (`shell(.., #{ readonly: true })`), its `wait_for`s and its ops' `unless`
//! guards (command probes) without running them. It records each as an
//! [`Ask`]: the exact script the op would run (its `cd`, its env on stdin:
//! everything that makes it what it is), for a wait its first check, for a
//! guard the probe's script. The opening round trip runs them all, each
//! under its own time limit (never in the shared probe batch, whose limit
//! is the whole opening's), and the session keeps the [`Answers`].
//!
//! An answer stands for the live command only when the command is the same
//! (script and stdin byte for byte) and nothing has changed anywhere in the
//! run since it was asked: [`Changes`] counts every change, on any host, so
//! a command that reads what another host's play changed (a cluster join)
//! runs live. A wait whose first check succeeded is over; any other runs
//! live, as does everything the opening did not foresee. A guard's answer
//! stands for its command probe on the same terms; past its limit, it is
//! probed live, under the op's.
//!
//! Env values (secrets) travel in the batch script, on stdin; answers stay
//! in memory and never reach the host cache.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::op::{Action, Input, Operation};
use crate::probe::{CommandState, Observation, Observed, Probe, LOCALE};
use crate::shell::quote;
use crate::transport::ExecOutput;

/// How long one asked-ahead command may run in the opening round trip. A
/// command past it is answered live, when the script reaches it: the
/// opening must not wait for a slow query, nor for a service not up yet.
const ASK_LIMIT: Duration = Duration::from_secs(10);

/// What `sh -c` runs for a batch sent on stdin: the whole script, env
/// values included, is read from there.
pub(super) const READ_BATCH: &str = "eval \"$(cat)\"";

/// Starts each answer in the opening batch's output.
const MARKER: &str = "@@kbz-ask ";

/// Runs one ask: `ka INDEX SCRIPT INPUT_BASE64 SECS` prints its marker,
/// then one base64 line of its exit status, stdout and stderr, each ended
/// by a NUL (a shell variable holds none). The env lines reach the script
/// on its stdin as they would live (never on a command line: `printf` is a
/// builtin); without env its stdin is empty, never the batch's own. It
/// starts `timeout`, the script's `sh` and one `base64` (a second, `-d`,
/// only for an input): the asks are what a no-op rerun of the site costs
/// its hosts (README, Round trips). A host without `timeout` answers
/// nothing: its commands run live, where their own limit applies.
fn prelude() -> String {
    format!(
        r#"ka() {{
  command -v timeout >/dev/null 2>&1 || return 0
  echo "@@kbz-ask $1"
  {{ ke=$( {{ if [ -n "$3" ]; then ko=$(printf '%s' "$3" | base64 -d | timeout -k {kill} "$4" sh -c "$2")
    else ko=$(timeout -k {kill} "$4" sh -c "$2" </dev/null); fi
    printf '%s\0%s\0' "$?" "$ko" >&5; }} 2>&1 )
  printf '%s\0' "$ke"; }} 5>&1 | base64 -w0
  echo
}}
"#,
        kill = crate::transport::KILL_AFTER_SECS
    )
}

/// Counts the changes made in the run, on every host: an answer asked
/// before a change is not used after it.
#[derive(Debug, Default)]
pub struct Changes(AtomicU64);

impl Changes {
    /// How many changes the run has made so far.
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Notes a change (made, about to be made, or failed halfway).
    pub fn made(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A read-only command or a guard a rehearsal met, to ask in the opening
/// round trip.
#[derive(Clone, PartialEq, Eq)]
pub struct Ask {
    /// The script the op runs live (a guard: the command probe's), which
    /// its answer stands for.
    script: String,
    /// Its stdin (env lines), as live.
    input: Option<Input>,
    /// What the opening runs: the script itself, or a wait's first check.
    check: String,
    /// A wait: only a first check that succeeded answers it.
    wait: bool,
    /// An `unless` guard: its answer stands for the command probe of
    /// `script`, never for a command an op runs.
    guard: bool,
}

impl std::fmt::Debug for Ask {
    /// The script only: the input is usually secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ask").field("script", &self.script).finish()
    }
}

impl Ask {
    /// The ask for `op`, when it can be asked ahead: a read-only op without
    /// probes of its own (guards make it depend on more than its command)
    /// whose plan is one command; a wait only when it can say its first
    /// check ([`Operation::first_check`]).
    pub(super) fn of(op: &dyn Operation) -> Option<Ask> {
        if !op.readonly() || !op.probes().is_empty() {
            return None;
        }
        let plan = op.plan(&Observed::new(Vec::new())).ok()?;
        let [change] = plan.changes.as_slice() else {
            return None;
        };
        let [Action::Exec { script, input, .. }] = change.actions.as_slice() else {
            return None;
        };
        let first = op.first_check();
        Some(Ask {
            script: script.clone(),
            input: input.clone(),
            wait: first.is_some(),
            check: first.unwrap_or_else(|| script.clone()),
            guard: false,
        })
    }

    /// An ask for each command probe of `op` (its `unless` guard). A guard
    /// has no env (`command.rs` refuses one that reads it), so no input.
    pub(super) fn guards(op: &dyn Operation) -> Vec<Ask> {
        op.probes()
            .into_iter()
            .filter_map(|p| match p {
                Probe::Command { script } => Some(Ask {
                    check: format!("{LOCALE}{script}"),
                    script,
                    input: None,
                    wait: false,
                    guard: true,
                }),
                _ => None,
            })
            .collect()
    }

    /// Whether the command has env values (often secrets) for its stdin.
    pub(super) fn has_input(&self) -> bool {
        self.input.is_some()
    }

    /// The command the answer stands for: the op's script and its stdin.
    pub(super) fn command(&self) -> (&str, Option<&Input>) {
        (&self.script, self.input.as_ref())
    }

    fn is(&self, script: &str, input: Option<&Input>) -> bool {
        !self.guard && self.script == script && self.input.as_ref() == input
    }

    fn guards_probe(&self, probe: &Probe) -> bool {
        matches!(probe, Probe::Command { script } if self.guard && *script == self.script)
    }
}

/// What the opening round trip asks beyond the cached probes: what the
/// rehearsals of the host's plays met.
#[derive(Debug, Default, Clone)]
pub struct Foreseen {
    /// The probes the ops would ask.
    pub probes: Vec<Probe>,
    /// The read-only commands and waits they would run.
    pub asks: Vec<Ask>,
}

impl Foreseen {
    /// Adds what another rehearsal met, without duplicates.
    pub(super) fn extend(&mut self, other: Foreseen) {
        for p in other.probes {
            if !self.probes.contains(&p) {
                self.probes.push(p);
            }
        }
        for a in other.asks {
            if !self.asks.contains(&a) {
                self.asks.push(a);
            }
        }
    }
}

/// The script that runs `asks`, each for at most its share of `limit` (the
/// whole round trip's), and never more than [`ASK_LIMIT`]; those past the
/// ones that fit (see [`shares`]) are left to run live. Asks that run the
/// same check with the same stdin (a `wait_for` cmd and a read-only `shell`
/// of that script) run once, under the first one's index: [`parse`] gives
/// its answer to each of them.
pub(super) fn render(asks: &[Ask], limit: Duration) -> String {
    let runs = first_of_each(asks);
    let (secs, fit) = shares(runs.len(), limit);
    if fit == 0 {
        return String::new();
    }
    let mut s = prelude();
    for &i in runs.iter().take(fit) {
        let ask = &asks[i];
        let input = ask.input.as_ref().map(|i| b64(&i.0)).unwrap_or_default();
        s.push_str(&format!("ka {i} {} '{input}' {secs}\n", quote(&ask.check)));
    }
    s
}

/// Whether two asks run the very same thing on the host.
fn same_run(a: &Ask, b: &Ask) -> bool {
    a.check == b.check && a.input == b.input
}

/// The index of the first ask of each distinct run, in order.
fn first_of_each(asks: &[Ask]) -> Vec<usize> {
    (0..asks.len())
        .filter(|&i| !asks[..i].iter().any(|a| same_run(a, &asks[i])))
        .collect()
}

/// Each ask's limit in whole seconds, and how many of `n` asks the opening
/// runs: all, each under its share of `limit` with one share left for the
/// probes; when a share is under a second, only as many as leave a second
/// of `limit` over, each under one. Rounding a share up would let asks
/// that hang fill the whole round trip, which then fails the host.
fn shares(n: usize, limit: Duration) -> (u64, usize) {
    let parts = u32::try_from(n).map_or(u32::MAX, |n| n.saturating_add(1));
    match (limit / parts).min(ASK_LIMIT).as_secs() {
        0 => (1, n.min(limit.as_secs().saturating_sub(1) as usize)),
        secs => (secs, n),
    }
}

/// The answers to `asks` in the batch output; an ask whose answer is
/// missing, unreadable, timed out, or a wait not over yet, has none. One
/// answer stands for every ask that runs the same (see [`render`]); a wait's
/// keeps no output, as the live loop prints none once over.
pub(super) fn parse(asks: &[Ask], output: &str, changes: u64) -> Answers {
    let mut lines = output.lines();
    let mut found = Vec::new();
    while let Some(line) = lines.next() {
        let Some(i) = line.strip_prefix(MARKER).and_then(|i| i.parse().ok()) else {
            continue;
        };
        let Some(ran) = asks.get::<usize>(i) else {
            continue;
        };
        let Some(output) = lines.next().and_then(exec_output) else {
            continue;
        };
        if matches!(output.rc, 124 | 137) {
            continue;
        }
        for ask in asks.iter().filter(|a| same_run(a, ran)) {
            match (ask.wait, output.rc) {
                (false, _) => found.push((ask.clone(), output.clone())),
                (true, 0) => found.push((
                    ask.clone(),
                    ExecOutput {
                        rc: 0,
                        stdout: Vec::new(),
                        stderr: Vec::new(),
                    },
                )),
                (true, _) => {}
            }
        }
    }
    Answers { found, changes }
}

/// An ask's answer from its base64 line: exit status, stdout and stderr,
/// each ended by a NUL.
fn exec_output(line: &str) -> Option<ExecOutput> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line.trim_end())
        .ok()?;
    let mut fields = bytes.split(|&b| b == 0);
    let rc = std::str::from_utf8(fields.next()?).ok()?.parse().ok()?;
    let (stdout, stderr) = (fields.next()?.to_vec(), fields.next()?.to_vec());
    (fields.next() == Some(&[][..]) && fields.next().is_none()).then_some(ExecOutput {
        rc,
        stdout,
        stderr,
    })
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The opening's answers to a host's asks, and the run's change count when
/// they were asked.
#[derive(Default)]
pub(super) struct Answers {
    found: Vec<(Ask, ExecOutput)>,
    changes: u64,
}

impl Answers {
    /// The answers that stand: all while the run has made no change since
    /// they were asked (`changes` is the count now), else none.
    fn standing(&self, changes: u64) -> &[(Ask, ExecOutput)] {
        match changes == self.changes {
            true => &self.found,
            false => &[],
        }
    }

    /// The answer for the command `script` with `input`, while it stands.
    pub(super) fn get(
        &self,
        script: &str,
        input: Option<&Input>,
        changes: u64,
    ) -> Option<&ExecOutput> {
        self.standing(changes)
            .iter()
            .find(|(a, _)| a.is(script, input))
            .map(|(_, o)| o)
    }

    /// The answer to the command probe `probe` (a guard), while it stands,
    /// as the probe batch would give it: exit status and stdout.
    pub(super) fn guard(&self, probe: &Probe, changes: u64) -> Option<Observation> {
        let (_, out) = self
            .standing(changes)
            .iter()
            .find(|(a, _)| a.guards_probe(probe))?;
        Some(Observation::Command(CommandState::from_output(
            out.rc,
            &out.stdout,
        )))
    }
}

#[cfg(test)]
mod tests;
