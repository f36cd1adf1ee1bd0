//! `any_errors_fatal` inside a batch. Ansible ends the play for every host
//! once the task that failed on one host has finished on all of them. Here a
//! host's ops run independently of the other hosts', so there is no common
//! "current task": the closest equivalent is that the other hosts of the
//! batch stop at their next op call once one host has failed. The op already
//! running on them finishes (it may be half way through a change that must
//! not be cut), the next one is reported skipped with the name of the host
//! that failed, and nothing after it runs. A stopped host is not counted as
//! failed: it did nothing wrong, and the run ends after the batch anyway.

use std::sync::OnceLock;

/// Shared by the hosts of one `serial` batch of an `any_errors_fatal` play.
#[derive(Debug, Default)]
pub(super) struct Halt {
    /// The first host of the batch that failed.
    first_failed: OnceLock<String>,
}

impl Halt {
    /// Records that `host` failed; only the first one is remembered.
    pub fn raise(&self, host: &str) {
        let _ = self.first_failed.set(host.to_string());
    }

    /// The host whose failure stops the batch, if one failed yet.
    pub fn raised_by(&self) -> Option<&str> {
        self.first_failed.get().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_failure_is_the_one_named() {
        let halt = Halt::default();
        assert_eq!(halt.raised_by(), None);
        halt.raise("h2");
        halt.raise("h1");
        assert_eq!(halt.raised_by(), Some("h2"));
    }
}
