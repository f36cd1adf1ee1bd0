//! What names one op call in its report: the op, what it manages, where the
//! script called it and since when it runs. Planned, queued and finished ops
//! all carry one, so the single `OpEnd` event ([`super::host::HostCtx::finish`])
//! is built from it whichever way the op ends.

use std::time::Instant;

/// One op call, as its `OpEnd` event names it.
#[derive(Debug, Clone)]
pub(super) struct OpHead {
    /// The op's name (`file`, `template`).
    pub kind: String,
    /// What it manages (a path, a unit).
    pub target: String,
    /// Where the script called it, `file:line:col`.
    pub at: String,
    /// When it started, for the reported elapsed time.
    pub started: Instant,
}
