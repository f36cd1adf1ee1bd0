//! What the command line decides for a run.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::catalog::Catalog;
use crate::cache::Cache;
use crate::inventory::Vars;
use crate::transport::{Become, HostKeyPolicy, Interrupt, RunId};

/// How to reach hosts, unless the inventory says otherwise per host.
#[derive(Debug, Clone)]
pub struct ConnectDefaults {
    /// Remote user (`-u`); the inventory's `ansible_user` wins.
    pub user: Option<String>,
    /// Private key (`--private-key`).
    pub identity_file: Option<PathBuf>,
    /// OpenSSH config file (`--ssh-config`, passed as `-F`).
    pub ssh_config: Option<PathBuf>,
    /// Unknown and changed host keys.
    pub known_hosts: HostKeyPolicy,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// `--become`.
    pub become_: Option<Become>,
    /// Where the multiplexing sockets live: the run's own folder, or with
    /// `persist`, the persist folder.
    pub control_dir: PathBuf,
    /// `--persist`: how long masters outlive the run (zero: closed with it).
    pub persist: Duration,
    /// `--lock-timeout`: how long to wait for another run to release a host.
    pub lock_timeout: Duration,
    /// This run, whose hosts share a machine's run lock when they are one
    /// machine (see `transport/lock.rs`).
    pub run: RunId,
}

/// What a run that connects nowhere is for.
#[derive(Debug, Clone)]
pub enum Offline {
    /// `kbz-play render`: write every file each host would receive (and the
    /// commands it would run) under this folder.
    Render(PathBuf),
    /// `--list-tags`, `--list-tasks`: note each op call that goes ahead.
    List(Arc<Catalog>),
}

/// Settings of one run.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// `--check`: plan, never apply.
    pub check: bool,
    /// `--diff`: show content diffs.
    pub diff: bool,
    /// `--tags`: run only ops carrying one of these (or `always`).
    pub tags: Vec<String>,
    /// `--skip-tags`: skip ops carrying one of these.
    pub skip_tags: Vec<String>,
    /// `--forks`: hosts worked on at once.
    pub forks: usize,
    /// `--limit`: host pattern every play is intersected with.
    pub limit: Option<String>,
    /// `-e` variables.
    pub extra_vars: Vars,
    /// Connection defaults.
    pub connect: ConnectDefaults,
    /// The probe cache.
    pub cache: Cache,
    /// Connect nowhere (`kbz-play render`, `--list-tags`, `--list-tasks`):
    /// each host answers as a fresh one would (see `render.rs`).
    pub offline: Option<Offline>,
    /// `--op-timeout`: how long a command and a round trip of probes may run
    /// on a host before its processes are killed and the host fails. `None`:
    /// commands run as long as they take, probes [`DEFAULT_PROBE_TIMEOUT`].
    /// An op's own `timeout:` wins for its command.
    pub op_timeout: Option<Duration>,
    /// Ctrl-C: no op starts once it is set, and commands in flight are stopped.
    pub interrupt: Interrupt,
}

/// How long a round trip of probes may take without `--op-timeout`: probes
/// only read (`stat`, `cat`, `dpkg-query`, an `unless` guard), so one that
/// has not answered in five minutes is hung (an NFS mount, a lock), and the
/// run must not wait for it forever.
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(300);

impl RunSettings {
    /// The catalog an offline listing notes op calls in, if this run is one.
    pub fn catalog(&self) -> Option<&Catalog> {
        match &self.offline {
            Some(Offline::List(catalog)) => Some(catalog),
            _ => None,
        }
    }

    /// How long one round trip of probes may take on a host.
    pub fn probe_limit(&self) -> Duration {
        self.op_timeout.unwrap_or(DEFAULT_PROBE_TIMEOUT)
    }

    /// Whether an op with these tags runs, Ansible's way: with `--tags`, only
    /// ops carrying a listed tag (or `always`); with `--skip-tags`, never ops
    /// carrying a skipped tag (`never`-tagged ops run only when asked for).
    pub fn tags_selected(&self, tags: &[String]) -> bool {
        let has = |t: &str| tags.iter().any(|x| x == t);
        if self.skip_tags.iter().any(|s| has(s)) {
            return false;
        }
        if has("never") && !self.tags.iter().any(|t| has(t)) {
            return false;
        }
        self.tags.is_empty() || has("always") || self.tags.iter().any(|t| t == "all" || has(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(tags: &[&str], skip: &[&str]) -> RunSettings {
        RunSettings {
            check: false,
            diff: false,
            tags: tags.iter().map(|s| s.to_string()).collect(),
            skip_tags: skip.iter().map(|s| s.to_string()).collect(),
            forks: 1,
            limit: None,
            extra_vars: Vars::new(),
            connect: ConnectDefaults {
                user: None,
                identity_file: None,
                ssh_config: None,
                known_hosts: HostKeyPolicy::AcceptNew,
                connect_timeout: Duration::from_secs(1),
                become_: None,
                control_dir: PathBuf::from("/tmp"),
                persist: Duration::ZERO,
                lock_timeout: Duration::from_secs(1),
                run: RunId::new(),
            },
            cache: Cache::disabled(),
            offline: None,
            op_timeout: None,
            interrupt: Interrupt::default(),
        }
    }

    fn t(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tag_selection_follows_ansible() {
        assert!(settings(&[], &[]).tags_selected(&t(&[])));
        assert!(settings(&["sentinel"], &[]).tags_selected(&t(&["redis", "sentinel"])));
        assert!(!settings(&["sentinel"], &[]).tags_selected(&t(&["redis"])));
        assert!(settings(&["sentinel"], &[]).tags_selected(&t(&["always"])));
        assert!(!settings(&[], &["redis"]).tags_selected(&t(&["redis", "sentinel"])));
        assert!(!settings(&[], &[]).tags_selected(&t(&["never"])));
        assert!(settings(&["never"], &[]).tags_selected(&t(&["never"])));
    }
}
