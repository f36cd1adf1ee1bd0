//! The executor: plays, serial batches, handlers, one blocking thread per host.
//!
//! Rhai is synchronous and the transports are async, so each host's script
//! runs on a blocking thread of the tokio runtime and calls into the async
//! transport from there. [`api`] is what operations (in `kbz-stdlib`) call.

pub mod api;
mod executor;
mod host;
pub mod outcome;
mod pending;
mod render;
mod session;
mod settings;

pub use executor::{run, RunError, RunSummary, Shared};
pub use host::{current_host_name, is_discovering, notify};
pub use session::{ProbeError, Session};
pub use settings::{ConnectDefaults, RunSettings};
