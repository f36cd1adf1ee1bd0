//! kbz-play's runtime.
//!
//! The engine knows nothing about individual operations: `kbz-stdlib` implements
//! [`op::Operation`] for each of them and registers them with the Rhai host in
//! [`script`]. What lives here is what every operation shares:
//!
//! - [`inventory`]: hosts, groups, variables and host patterns;
//! - [`transport`]: how commands and files reach a host (SSH or local);
//! - [`probe`]: what an operation can ask about a host, answered in batches;
//! - [`op`]: the operation contract (probe, plan, apply) and its argument checking;
//! - [`cache`]: which resources each host had, so a rerun probes them in one round trip;
//! - [`private`]: folders only this user may use (the cache, the ssh control sockets);
//! - [`digest`]: the SHA-256 form file contents are compared in;
//! - [`run`]: the executor (plays, serial batches, handlers, one thread per host);
//! - [`script`]: the Rhai host (playbooks, roles, error positions);
//! - [`template`]: minijinja, configured strictly for config files;
//! - [`version`]: Ansible's version comparison, for templates and scripts alike;
//! - [`pyyaml`], [`pyfloat`]: YAML and floats as Python writes them (Ansible's output);
//! - [`serde_fields`]: the fields a struct accepts, for "did you mean" errors;
//! - [`report`]: progress, plain and JSON output, recap, diffs, secret masking.

pub mod cache;
pub mod credentials;
pub mod definition;
pub mod digest;
pub mod inventory;
pub mod op;
pub mod private;
pub mod probe;
#[cfg(test)]
mod programs_started;
pub mod pyfloat;
pub mod pyyaml;
pub mod report;
pub mod run;
pub mod script;
pub mod secrets;
pub mod serde_fields;
pub mod shell;
pub mod short_values;
pub mod template;
pub mod transport;
pub mod vault;
pub mod version;
