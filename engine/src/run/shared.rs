//! The leaf types of the executor: what the host threads share, the options
//! every op accepts, and the error an op call raises. Everything else in
//! `run` builds on these; they depend on nothing else in `run` but the
//! settings, so the modules above them import each other in one direction.

use std::path::PathBuf;
use std::sync::Arc;

use rhai::{Dynamic, EvalAltResult, NativeCallContext, Position};

use super::settings::RunSettings;
use crate::inventory::{Host, Inventory, InventoryError};
use crate::report::Reporter;
use crate::secrets::Secrets;
use crate::template::Templates;

/// Everything the host threads share during a run.
pub struct Shared {
    /// Command-line settings.
    pub settings: RunSettings,
    /// Where events go.
    pub reporter: Arc<dyn Reporter>,
    /// The project's templates.
    pub templates: Templates,
    /// The inventory.
    pub inventory: Arc<Inventory>,
    /// Secret values to mask in all output.
    pub secrets: Secrets,
    /// The project root (for relative paths in messages and file lookups).
    pub root: PathBuf,
    /// Maps script source labels to files and roles.
    pub sources: crate::script::Sources,
    /// The runtime host threads block on.
    pub rt: tokio::runtime::Handle,
    /// Templates' `groups` and `hostvars`, built on first use and shared by
    /// every host, and the facts `hostvars` shows (see `lookup.rs`);
    /// `Default::default()`.
    pub template_inventory: super::lookup::TemplateInventory,
    /// The changes made so far, on every host: an answer asked ahead stands
    /// only while it does not move (see `foresight.rs`).
    pub changes: super::foresight::Changes,
    /// Held by the host thread evaluating Rhai, one at a time (see
    /// `script/lock.rs`); `Default::default()`.
    pub script_lock: Arc<crate::script::ScriptLock>,
    /// Turns for the hosts' rehearsals before their openings, a few at a
    /// time (see `cpu_turns.rs`); `Default::default()`.
    pub rehearsal_turns: super::cpu_turns::CpuTurns,
}

impl Shared {
    /// The run's hosts in the run's order: `--limit`'s selection, else the
    /// whole inventory. The executor makes its slots from them, and a
    /// `run_once` play runs on the first of them its pattern matches.
    pub fn run_hosts(&self) -> Result<Vec<&Host>, InventoryError> {
        match &self.settings.limit {
            Some(limit) => self.inventory.select(limit),
            None => Ok(self.inventory.hosts().iter().collect()),
        }
    }
}

/// Options every operation accepts besides its own parameters.
#[derive(Debug, Clone, Default)]
pub struct CommonOpts {
    /// Tags for `--tags` / `--skip-tags`.
    pub tags: Vec<String>,
}

/// An error at the position of the current call, for an op's own checks.
pub fn error(ctx: &NativeCallContext, message: impl Into<String>) -> Box<EvalAltResult> {
    runtime_error(message.into(), ctx.call_position())
}

/// A script error raised at `position`: where the script stops, which for a
/// failed batch is the call that needed the host, not the op that failed.
pub(super) fn runtime_error(message: String, position: Position) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(message),
        position,
    ))
}
