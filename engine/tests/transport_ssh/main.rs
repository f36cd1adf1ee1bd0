//! The SSH transport against a real, throwaway sshd on 127.0.0.1: its own
//! config, host key, client key and known_hosts in a temp dir, on a free port.
//! `#[ignore]`d, with the reason, in a plain `cargo test`: they need
//! `/usr/sbin/sshd` and the OpenSSH client (become also root and sudo).
//! `tests/run.sh` installs them and runs these tests with `--include-ignored`,
//! where a missing program fails them.
//! Timings are printed to stderr: `cargo test --test transport_ssh --
//! --include-ignored --nocapture`.

mod commands;
mod files;
mod host_keys;
mod lock;
mod persist;
mod sshd;
