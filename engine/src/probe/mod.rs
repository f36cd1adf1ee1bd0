//! What an operation can ask about a host, and the host's answers.
//!
//! Operations never talk to a host themselves: they list [`Probe`]s, the engine
//! answers them (from the start-of-run snapshot when it can, otherwise in one
//! batched round trip), and the operation plans from the [`Observed`] answers.
//! That keeps every operation's decision a pure function that tests can feed
//! with data, and lets a rerun answer every probe of a host in one `sh` call.

pub mod facts;
#[cfg(test)]
mod local;
mod members;
mod paths;
pub mod route;
mod script;
mod sysctls;
mod units;

pub use facts::Facts;
pub use script::{parse_batch, render_batch, BatchParseError, LOCALE};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A question about a host. Everything but [`Probe::Command`] is a pure read
/// that can be cached across runs and answered in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "probe", rename_all = "snake_case")]
pub enum Probe {
    /// Type, mode, owner, size and SHA-256 of a path; with `content`, the bytes too
    /// (kept in memory for this run only, never cached: it may hold secrets).
    Path {
        /// Absolute path on the host.
        path: String,
        /// Also fetch the file's content (for line edits and diffs).
        #[serde(default)]
        content: bool,
    },
    /// A systemd unit's load, active and enablement state.
    Service {
        /// Unit name, e.g. `ssh.service` or `ssh`.
        unit: String,
    },
    /// The live value of a kernel parameter (`/proc/sys`).
    Sysctl {
        /// Dotted name, e.g. `vm.swappiness`.
        key: String,
    },
    /// Installed state and version of Debian packages; with `candidates`,
    /// the version apt would install too.
    Packages {
        /// Package names.
        names: Vec<String>,
        /// Also ask apt for candidate versions (for `state: "latest"`).
        #[serde(default)]
        candidates: bool,
    },
    /// A local user account and its groups.
    User {
        /// Login name.
        name: String,
    },
    /// A local group.
    Group {
        /// Group name.
        name: String,
    },
    /// A shell command run for its exit status (guards like `unless`). Never
    /// cached: its answer may change without any file changing.
    Command {
        /// Shell script, run with `sh -c`.
        script: String,
    },
    /// A read-only shell query whose output describes state the engine has no
    /// dedicated probe for (`ufw status`, `docker inspect`, `blkid`).
    /// Unlike [`Probe::Command`] it is cached and replayed in the first batch
    /// of the next run, so it must not change anything and its output must
    /// only change when the state it describes does.
    Query {
        /// Shell script, run with `sh -c`; its stdout and exit status are the answer.
        script: String,
    },
    /// Host facts: OS, hostname, addresses, CPUs, memory.
    Facts {
        /// Every fact, for the plays to read; `false` when no play of the
        /// host gathers them (`gather_facts: false`): only those the
        /// engine reads itself (user, SFTP server, systemd).
        gathered: bool,
    },
}

impl Probe {
    /// Whether this probe may be remembered in the cache and replayed in the
    /// start-of-run batch on the next run.
    pub fn cacheable(&self) -> bool {
        !matches!(self, Probe::Command { .. } | Probe::Facts { .. })
    }

    /// Shorthand for a path probe without content.
    pub fn path(path: impl Into<String>) -> Self {
        Probe::Path {
            path: path.into(),
            content: false,
        }
    }

    /// Shorthand for a path probe with content.
    pub fn path_with_content(path: impl Into<String>) -> Self {
        Probe::Path {
            path: path.into(),
            content: true,
        }
    }

    /// Whether an answer to `other` also answers `self` (a content probe
    /// answers the plain probe of the same path).
    pub fn answered_by(&self, other: &Probe) -> bool {
        match (self, other) {
            (
                Probe::Path {
                    path: a,
                    content: false,
                },
                Probe::Path { path: b, .. },
            ) => a == b,
            _ => self == other,
        }
    }
}

/// What kind of thing sits at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathKind {
    /// Nothing there.
    Missing,
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (not followed).
    Link,
    /// A device, socket or fifo.
    Other,
}

/// The state of a path on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathState {
    /// What is there.
    pub kind: PathKind,
    /// Permission bits (e.g. `0o644`), 0 when missing.
    pub mode: u32,
    /// Owner name (or numeric id when it has no name).
    pub owner: String,
    /// Group name (or numeric id when it has no name).
    pub group: String,
    /// Numeric owner id, for wanted owners given as numbers (`"999"`).
    #[serde(default)]
    pub uid: u32,
    /// Numeric group id.
    #[serde(default)]
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 of a regular file's content.
    pub sha256: Option<String>,
    /// A link's target.
    pub link_target: Option<String>,
    /// The content, when the probe asked for it and the file is a regular file.
    #[serde(skip)]
    pub content: Option<Vec<u8>>,
}

impl PathState {
    /// The state of a path that does not exist.
    pub fn missing() -> Self {
        PathState {
            kind: PathKind::Missing,
            mode: 0,
            owner: String::new(),
            group: String::new(),
            uid: 0,
            gid: 0,
            size: 0,
            sha256: None,
            link_target: None,
            content: None,
        }
    }

    /// Whether anything exists at the path.
    pub fn exists(&self) -> bool {
        self.kind != PathKind::Missing
    }

    /// Whether the owner is `want`, a name or a numeric uid.
    pub fn owned_by(&self, want: &str) -> bool {
        self.owner == want || want.parse::<u32>().is_ok_and(|id| id == self.uid)
    }

    /// Whether the group is `want`, a name or a numeric gid.
    pub fn in_group(&self, want: &str) -> bool {
        self.group == want || want.parse::<u32>().is_ok_and(|id| id == self.gid)
    }
}

/// The state of a systemd unit, as `systemctl show` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceState {
    /// `loaded`, `not-found`, `masked`, ...
    pub load: String,
    /// `active`, `inactive`, `failed`, `activating`, ...
    pub active: String,
    /// `enabled`, `disabled`, `static`, `masked`, or empty for units without a file.
    pub enabled: String,
}

impl ServiceState {
    /// Whether systemd knows the unit at all.
    pub fn exists(&self) -> bool {
        self.load != "not-found"
    }

    /// Whether the unit is running (or starting).
    pub fn is_active(&self) -> bool {
        matches!(self.active.as_str(), "active" | "activating" | "reloading")
    }

    /// Whether the unit starts at boot.
    pub fn is_enabled(&self) -> bool {
        matches!(
            self.enabled.as_str(),
            "enabled" | "enabled-runtime" | "alias" | "static"
        )
    }
}

/// A Debian package's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageState {
    /// Whether dpkg has it installed.
    pub installed: bool,
    /// Installed version, if any.
    pub version: Option<String>,
    /// Candidate version apt would install (only when asked for).
    pub candidate: Option<String>,
}

impl PackageState {
    /// Each of `names` as not installed: where the packages probe starts
    /// before reading dpkg's answer, and the answer when there is no host to
    /// ask (a package dpkg does not list is not installed).
    pub fn none_installed(names: &[String]) -> BTreeMap<String, PackageState> {
        names
            .iter()
            .map(|n| {
                let state = PackageState {
                    installed: false,
                    version: None,
                    candidate: None,
                };
                (n.clone(), state)
            })
            .collect()
    }
}

/// A local user account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserState {
    /// Numeric user id.
    pub uid: u32,
    /// Primary group id.
    pub gid: u32,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
    /// Supplementary and primary group names.
    pub groups: Vec<String>,
}

/// A local group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupState {
    /// Numeric group id.
    pub gid: u32,
    /// Listed members.
    pub members: Vec<String>,
}

/// Outcome of a command probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandState {
    /// Exit status.
    pub rc: i32,
    /// Standard output, trailing newline removed.
    pub stdout: String,
}

impl CommandState {
    /// The answer as a command probe gives it, from the exit status and the
    /// raw stdout: one place for both the probe batch and the guards the
    /// opening asks ahead (`run/foresight.rs`), so they cannot disagree.
    pub fn from_output(rc: i32, stdout: &[u8]) -> CommandState {
        let mut stdout = String::from_utf8_lossy(stdout).into_owned();
        if stdout.ends_with('\n') {
            stdout.pop();
        }
        CommandState { rc, stdout }
    }
}

/// One probe's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Observation {
    /// Answer to [`Probe::Path`].
    Path(PathState),
    /// Answer to [`Probe::Service`].
    Service(ServiceState),
    /// Answer to [`Probe::Sysctl`]: `None` when the key does not exist.
    Sysctl {
        /// The value, whitespace normalised.
        value: Option<String>,
    },
    /// Answer to [`Probe::Packages`].
    Packages {
        /// State per requested name.
        packages: BTreeMap<String, PackageState>,
    },
    /// Answer to [`Probe::User`]: `None` when there is no such user.
    User {
        /// The account.
        user: Option<UserState>,
    },
    /// Answer to [`Probe::Group`]: `None` when there is no such group.
    Group {
        /// The group.
        group: Option<GroupState>,
    },
    /// Answer to [`Probe::Command`] and [`Probe::Query`].
    Command(CommandState),
    /// Answer to [`Probe::Facts`].
    Facts(Facts),
}

/// The answers an operation plans from.
///
/// Lookups by probe never fail silently: asking for something the operation
/// did not list in its probes is a bug in the operation, reported as such.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    answers: Vec<(Probe, Observation)>,
}

/// Asking [`Observed`] for a probe that was not answered.
#[derive(Debug, thiserror::Error)]
#[error("internal error: the operation asked about {0:?}, which it did not list in its probes")]
pub struct NotProbed(pub Probe);

impl Observed {
    /// Builds answers from pairs (used by the engine and by data-driven op tests).
    pub fn new(answers: Vec<(Probe, Observation)>) -> Self {
        Observed { answers }
    }

    /// These answers and `more`.
    pub fn with(mut self, more: Vec<(Probe, Observation)>) -> Self {
        self.answers.extend(more);
        self
    }

    /// The answer to `probe`.
    pub fn get(&self, probe: &Probe) -> Result<&Observation, NotProbed> {
        self.answers
            .iter()
            .find(|(p, _)| probe.answered_by(p))
            .map(|(_, o)| o)
            .ok_or_else(|| NotProbed(probe.clone()))
    }

    /// The state of `path` (answered by a plain or a content probe).
    pub fn path(&self, path: &str) -> Result<&PathState, NotProbed> {
        match self.get(&Probe::path(path))? {
            Observation::Path(p) => Ok(p),
            _ => Err(NotProbed(Probe::path(path))),
        }
    }

    /// The state of a systemd unit.
    pub fn service(&self, unit: &str) -> Result<&ServiceState, NotProbed> {
        let probe = Probe::Service {
            unit: unit.to_string(),
        };
        match self.get(&probe)? {
            Observation::Service(s) => Ok(s),
            _ => Err(NotProbed(probe)),
        }
    }

    /// The live value of a kernel parameter.
    pub fn sysctl(&self, key: &str) -> Result<Option<&str>, NotProbed> {
        let probe = Probe::Sysctl {
            key: key.to_string(),
        };
        match self.get(&probe)? {
            Observation::Sysctl { value } => Ok(value.as_deref()),
            _ => Err(NotProbed(probe)),
        }
    }

    /// Package states from the first packages probe.
    pub fn packages(&self) -> Option<&BTreeMap<String, PackageState>> {
        self.answers.iter().find_map(|(_, o)| match o {
            Observation::Packages { packages } => Some(packages),
            _ => None,
        })
    }

    /// A user account, `None` when absent.
    pub fn user(&self, name: &str) -> Result<Option<&UserState>, NotProbed> {
        let probe = Probe::User {
            name: name.to_string(),
        };
        match self.get(&probe)? {
            Observation::User { user } => Ok(user.as_ref()),
            _ => Err(NotProbed(probe)),
        }
    }

    /// A group, `None` when absent.
    pub fn group(&self, name: &str) -> Result<Option<&GroupState>, NotProbed> {
        let probe = Probe::Group {
            name: name.to_string(),
        };
        match self.get(&probe)? {
            Observation::Group { group } => Ok(group.as_ref()),
            _ => Err(NotProbed(probe)),
        }
    }

    /// The outcome of a query probe.
    pub fn query(&self, script: &str) -> Result<&CommandState, NotProbed> {
        let probe = Probe::Query {
            script: script.to_string(),
        };
        match self.get(&probe)? {
            Observation::Command(c) => Ok(c),
            _ => Err(NotProbed(probe)),
        }
    }

    /// The outcome of a command probe.
    pub fn command(&self, script: &str) -> Result<&CommandState, NotProbed> {
        let probe = Probe::Command {
            script: script.to_string(),
        };
        match self.get(&probe)? {
            Observation::Command(c) => Ok(c),
            _ => Err(NotProbed(probe)),
        }
    }

    /// All answers, in probe order.
    pub fn iter(&self) -> impl Iterator<Item = &(Probe, Observation)> {
        self.answers.iter()
    }
}
