//! How a run applies its plans, chosen once from the command line (see
//! `apply.rs` for what each one does with a plan). A leaf: the host context
//! holds one, and nothing here needs the context.

use super::render::Recorder;
use super::settings::RunSettings;

/// How a run applies its plans.
#[derive(Debug, Clone)]
pub(super) enum Strategy {
    /// Apply on the host.
    Live,
    /// `--check`: report what would change, apply nothing.
    Check,
    /// `kbz-play render`: record what would change.
    Render(Recorder),
}

impl Strategy {
    /// The strategy `settings` ask for, for host `host`.
    pub fn for_run(settings: &RunSettings, host: &str) -> Strategy {
        if settings.check {
            Strategy::Check
        } else if let Some(out) = &settings.render {
            Strategy::Render(Recorder::new(out, host))
        } else {
            Strategy::Live
        }
    }
}
