//! The operation contract.
//!
//! An operation is data (its checked arguments) plus two steps:
//! - [`Operation::probes`]: what it needs to know about the host;
//! - [`Operation::plan`]: given the answers, the [`Change`]s that would make the
//!   host match, each with the [`Action`]s that perform it, or none at all.
//!
//! The engine performs the actions (the "apply" step), so an operation never
//! touches a host and its whole decision is testable offline: facts in,
//! commands out. `--check` is simply "plan, don't apply".

mod args;
mod plan;

pub use args::{
    assert_params_match_struct, parse_args, parse_mode, suggest, ArgsError, OpArgs, Param,
};
pub use plan::{
    Action, Change, ContentDiff, Expected, Input, NewDirectory, Plan, Symbol, WriteFile,
};

use crate::probe::{NotProbed, Observed, Probe};

/// A built-in operation, ready to plan against one host.
pub trait Operation: Send + Sync + std::fmt::Debug {
    /// The Rhai function name, e.g. `"file"`.
    fn kind(&self) -> &'static str;

    /// What the operation manages, for reports: a path, a unit, a package list.
    fn target(&self) -> String;

    /// The questions whose answers [`Operation::plan`] reads.
    fn probes(&self) -> Vec<Probe>;

    /// Decides what to change. Must be pure: the same answers give the same plan.
    fn plan(&self, observed: &Observed) -> Result<Plan, OpError>;

    /// How far the operation's effects reach. The engine keeps answering probes
    /// from its snapshot only while every applied change stayed within the
    /// operation's own probes.
    fn reach(&self) -> Reach {
        Reach::OwnProbes
    }

    /// Whether the operation only reads: it runs under `--check` too and never
    /// reports `changed` (e.g. `command(..., #{ readonly: true })`, `facts()`).
    fn readonly(&self) -> bool {
        false
    }

    /// Whether the operation runs under `--check`. Read-only queries do by
    /// default; an op that waits for something the run would have created
    /// (`wait_for`) says no, and is reported as skipped instead.
    fn runs_in_check(&self) -> bool {
        self.readonly()
    }

    /// For an op that waits (`wait_for`): one check of its condition, with
    /// no waiting, whose success means the wait is already over. The
    /// opening round trip runs it ahead (see `run/foresight.rs`), so a rerun
    /// does not spend a round trip on a wait for what is already up. `None`
    /// (the default) for an op that does not wait, or cannot say.
    fn first_check(&self) -> Option<String> {
        None
    }

    /// Whether the engine may hold the operation's changes and apply them
    /// later, together with the next ones, in one round trip (see
    /// `run/batch.rs`). True for ops whose changes are file-system edits
    /// the rest of the play cannot observe without a probe (`file`, `copy`,
    /// `template`, `line`); false for anything that starts, stops or waits
    /// (services, containers, commands), which runs at its place in the play.
    fn batchable(&self) -> bool {
        false
    }

    /// How long the operation's commands may run on the host before their
    /// processes are killed and the host fails (its `timeout:` parameter);
    /// `None` leaves it to the run (`--op-timeout`).
    fn timeout(&self) -> Option<std::time::Duration> {
        None
    }

    /// The file whose whole content this operation decides (`copy` and
    /// `template`), if any. Only such files are reported as edited on the
    /// host since the last run: a file the run edits in part (`line`) or
    /// seeds once (`force: false`) is expected to change under a service.
    fn owns(&self) -> Option<&str> {
        None
    }
}

/// What an applied change may have touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Only the resources named by the operation's own probes.
    OwnProbes,
    /// Anything on the host (arbitrary commands): every snapshot answer is stale.
    Anything,
}

/// Why an operation could not plan.
#[derive(Debug, thiserror::Error)]
pub enum OpError {
    /// The host is not in a state the operation can work from, e.g. a
    /// directory where a file should be. The message says what to do.
    #[error("{0}")]
    Conflict(String),
    /// The operation's arguments are valid on their own but cannot work here,
    /// e.g. a template that fails to render.
    #[error("{0}")]
    Invalid(String),
    /// A bug in the operation.
    #[error(transparent)]
    NotProbed(#[from] NotProbed),
}
