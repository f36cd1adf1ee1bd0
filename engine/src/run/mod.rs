//! The executor: plays, serial batches, handlers, one blocking thread per host.
//!
//! Rhai is synchronous and the transports are async, so each host's script
//! runs on a blocking thread of the tokio runtime and calls into the async
//! transport from there. [`api`] is what operations (in `kbz-stdlib`) call.
//!
//! An op call is planned (`plan.rs`), then applied by the strategy the run
//! chose once (`apply.rs`): live, immediately (`immediate.rs`) or queued in
//! the host's batch (`batch.rs`, `deferred.rs`), a write whose file changed
//! meanwhile planned once more (`replan.rs`); `--check`; or render
//! (`render.rs`), which `--list-tags` also uses to fill its catalog
//! (`catalog.rs`). Every way ends in `HostCtx::finish` (`host.rs`).

mod ahead;
mod ansible_facts;
pub mod api;
mod apply;
mod batch;
pub mod catalog;
mod connect;
mod cpu_turns;
mod deferred;
mod executor;
mod foresight;
mod halt;
mod head;
mod host;
mod hostvars;
mod immediate;
mod lookup;
mod magic;
pub mod outcome;
mod plan;
mod rehearsal;
mod render;
mod replan;
mod session;
mod settings;
mod shared;
mod snapshot;
mod strategy;
mod template_vars;

pub use cpu_turns::CpuTurns;
pub use executor::{run, RunError, RunSummary};
pub use foresight::{Changes, Foreseen};
pub use host::{current_host_name, is_discovering, notify, unless_held};
pub use session::{ProbeError, Session};
pub use settings::{ConnectDefaults, Offline, RunSettings};
pub use shared::Shared;
