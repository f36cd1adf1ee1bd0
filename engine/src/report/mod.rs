//! Everything the user sees while and after a run.
//!
//! The executor emits [`Event`]s; a [`Reporter`] turns them into output:
//! [`tty`] (indicatif progress bars and a recap table, on a terminal),
//! [`plain`] (one line per event, for logs and CI), [`json`] (one JSON object
//! per line, for machines). [`Masked`] wraps any of them and removes secret
//! values from every string before it is shown, so no reporter can leak one.
//! [`recap`] renders the end-of-run table and decides the [`exit_code`];
//! [`diff`] renders `--diff` output, masked too.
//!
//! Host lifecycle: the executor sends [`Event::HostStart`] and
//! [`Event::HostEnd`] around each host's part of a play, so the progress
//! display knows which hosts are still running.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

pub mod diff;
#[cfg(test)]
mod fixtures;
pub mod json;
mod lines;
pub mod masked;
pub mod plain;
pub mod recap;
pub mod tty;

pub use json::Json;
pub use masked::Masked;
pub use plain::Plain;
pub use recap::exit_code;
pub use tty::Tty;

/// How an operation ended on a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OpStatus {
    /// Nothing to change.
    Ok,
    /// Changed the host (or would have, under `--check`).
    Changed,
    /// Skipped by tags or by `--check`.
    Skipped,
    /// Failed; the host stops.
    Failed,
    /// Stopped by Ctrl-C while it ran (its command killed on the host); the
    /// host stops, interrupted rather than failed.
    Interrupted,
}

/// Per-host counters for the recap.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HostStats {
    /// Operations with nothing to change.
    pub ok: u32,
    /// Operations that changed something.
    pub changed: u32,
    /// Operations that failed (0 or 1: a host stops at its first failure).
    pub failed: u32,
    /// Operations skipped.
    pub skipped: u32,
    /// Whether the host could not be reached.
    pub unreachable: bool,
    /// Whether Ctrl-C stopped the run before this host was done: an op of
    /// its was stopped, or it had ops or plays left. Not a failure of the host.
    pub interrupted: bool,
    /// Wall time spent on the host.
    #[serde(serialize_with = "secs")]
    pub elapsed: Duration,
    /// Commands sent to the host (probe batches, changes, file writes): the
    /// measure of the content-hash cache, which makes a no-op rerun cost one.
    pub round_trips: u32,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// One line of a plan, as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeLine {
    /// `+`, `~`, `-` or `!`.
    pub symbol: char,
    /// What changes.
    pub summary: String,
}

/// Something that happened during a run.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The run begins.
    RunStart {
        /// Playbook path.
        playbook: String,
        /// Hosts in the inventory after `--limit`.
        hosts: usize,
        /// `--check`: nothing will change.
        check: bool,
    },
    /// A play begins.
    PlayStart {
        /// The play's name.
        play: String,
        /// Its hosts, in inventory order.
        hosts: Vec<String>,
    },
    /// An operation begins on a host.
    OpStart {
        /// Host name.
        host: String,
        /// Operation, e.g. `template`.
        op: String,
        /// What it manages, e.g. `/etc/ssh/sshd_config`.
        target: String,
    },
    /// An operation ended on a host.
    OpEnd {
        /// Host name.
        host: String,
        /// Operation.
        op: String,
        /// What it manages.
        target: String,
        /// How it ended.
        status: OpStatus,
        /// The plan lines (empty when nothing changed).
        changes: Vec<ChangeLine>,
        /// Unified diff of file contents, with `--diff`.
        #[serde(skip_serializing_if = "Option::is_none")]
        diff: Option<String>,
        /// Error text or skip reason.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        /// Script position of the call, `file:line:col`.
        #[serde(skip_serializing_if = "Option::is_none")]
        at: Option<String>,
        /// Time taken.
        #[serde(serialize_with = "secs")]
        elapsed: Duration,
    },
    /// A host could not be reached; the others carry on.
    Unreachable {
        /// Host name.
        host: String,
        /// Why, with what to do.
        error: String,
    },
    /// A host failed outside any operation (script error, handler error).
    HostFailed {
        /// Host name.
        host: String,
        /// The error, with its script position.
        error: String,
    },
    /// A warning, from the script (`warn(...)`) or the engine.
    Warn {
        /// Host name, when it concerns one.
        #[serde(skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        /// The text.
        message: String,
    },
    /// A message from the script (`print`, `log(...)`).
    Log {
        /// Host name, when it concerns one.
        #[serde(skip_serializing_if = "Option::is_none")]
        host: Option<String>,
        /// The text.
        message: String,
    },
    /// A play ended.
    PlayEnd {
        /// The play's name.
        play: String,
    },
    /// The run ended: the recap.
    RunEnd {
        /// Per host, in inventory order.
        recap: Vec<(String, HostStats)>,
        /// Wall time of the whole run.
        #[serde(serialize_with = "secs")]
        elapsed: Duration,
    },
    /// A host begins its part of a play (before connecting). Lets the
    /// progress display show the host while it connects, before any
    /// operation starts on it.
    HostStart {
        /// Host name.
        host: String,
    },
    /// A host is done with the current play: finished, failed or unreachable.
    /// Without it, a finished host could only leave the progress display when
    /// the whole play ends (hosts finish at very different times, and serial
    /// batches start new ones meanwhile). Sending it twice is harmless.
    HostEnd {
        /// Host name.
        host: String,
    },
}

/// Turns events into output. Implementations must be cheap and thread-safe:
/// every host thread reports through the same reporter.
pub trait Reporter: Send + Sync {
    /// Handles one event.
    fn event(&self, event: &Event);
    /// Called once after [`Event::RunEnd`], to flush and clear progress bars.
    fn finish(&self) {}
}

/// So the CLI can pick a reporter at run time and still wrap it in [`Masked`].
impl<R: Reporter + ?Sized> Reporter for Box<R> {
    fn event(&self, event: &Event) {
        (**self).event(event);
    }
    fn finish(&self) {
        (**self).finish();
    }
}

/// So host threads can share one reporter without a wrapper type.
impl<R: Reporter + ?Sized> Reporter for Arc<R> {
    fn event(&self, event: &Event) {
        (**self).event(event);
    }
    fn finish(&self) {
        (**self).finish();
    }
}
