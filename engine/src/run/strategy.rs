//! How a run applies its plans, chosen once from the command line (see
//! `apply.rs` for what each one does with a plan). A leaf: the host context
//! holds one, and nothing here needs the context.

use super::render::Recorder;
use super::settings::{Offline, RunSettings};

/// How a run applies its plans.
#[derive(Debug, Clone)]
pub(super) enum Strategy {
    /// Apply on the host.
    Live,
    /// `--check`: report what would change, apply nothing.
    Check,
    /// Offline: record what would change (`kbz-play render`), or nothing
    /// (`--list-tags`, which only notes the op calls).
    Render(Option<Recorder>),
}

impl Strategy {
    /// The strategy `settings` ask for, for host `host`.
    pub fn for_run(settings: &RunSettings, host: &str) -> Strategy {
        if settings.check {
            Strategy::Check
        } else {
            match &settings.offline {
                Some(Offline::Render(out)) => Strategy::Render(Some(Recorder::new(out, host))),
                Some(Offline::List(_)) => Strategy::Render(None),
                None => Strategy::Live,
            }
        }
    }
}
