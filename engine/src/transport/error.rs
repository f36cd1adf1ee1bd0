//! Transport errors, and how OpenSSH's stderr maps onto them.
//!
//! `ssh` reports everything as text, so connect failures are classified by
//! the phrases OpenSSH has printed for decades ("Connection refused", "Host key
//! verification failed", ...). Each variant's message says what to try next,
//! because these are the errors a user hits first, usually with a new inventory.

use super::{ConnectOptions, HostKeyPolicy};
use crate::shell::quote;

/// Why the transport could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The host could not be reached or logged in to: refused, timed out, no
    /// route, name not resolved, authentication failed. The reason ends with
    /// what to try (often the equivalent `ssh` command line).
    #[error("{host}: unreachable: {reason}")]
    Unreachable {
        /// Inventory name.
        host: String,
        /// What went wrong and what to try.
        reason: String,
    },

    /// The host presented a different key than the one recorded: either it was
    /// reinstalled, or someone is in the middle. Never bypassed automatically.
    #[error(
        "{host}: the SSH host key of {address} has CHANGED since it was recorded in {known_hosts}. \
         This may be a man-in-the-middle attack, so kbz-play refuses to connect. If the change is \
         expected (host reinstalled, keys rotated), remove the old key with \
         `ssh-keygen -R {qaddr} -f {qfile}` and run again",
        qaddr = quote(.address),
        qfile = quote(.known_hosts)
    )]
    HostKeyChanged {
        /// Inventory name.
        host: String,
        /// The `known_hosts` entry name, as `ssh-keygen -R` wants it (`[addr]:port` off port 22).
        address: String,
        /// The file holding the old key.
        known_hosts: String,
    },

    /// Strict host key checking is on and the host's key is not in `known_hosts`.
    #[error(
        "{host}: the SSH host key of {address} is not in known_hosts and strict host key checking \
         is on. Verify and record it first (e.g. `ssh {qaddr}` once, or `ssh-keyscan`), or use \
         accept-new host key checking"
    , qaddr = quote(.address))]
    HostKeyUnknown {
        /// Inventory name.
        host: String,
        /// What was connected to.
        address: String,
    },

    /// `sudo -n` refused before running anything (password required, not in
    /// sudoers, unknown user, no sudo).
    #[error(
        "{host}: cannot become {user} with `sudo -n`: {reason}. Allow the SSH user passwordless \
         sudo (e.g. `USER ALL=(ALL) NOPASSWD: ALL` in /etc/sudoers.d/) or run without --become"
    )]
    Become {
        /// Inventory name.
        host: String,
        /// The user we tried to become.
        user: String,
        /// sudo's own message.
        reason: String,
    },

    /// The connection was lost after it had been established (host rebooted,
    /// network gone). The command may or may not have run.
    #[error("{host}: connection lost: {reason}")]
    Disconnected {
        /// Inventory name.
        host: String,
        /// What we know about it.
        reason: String,
    },

    /// A command could not be started or its result not collected (not: it
    /// exited non-zero, which is an [`super::ExecOutput`]).
    #[error("{host}: running a command failed: {reason}")]
    Exec {
        /// Inventory name.
        host: String,
        /// What went wrong.
        reason: String,
    },

    /// An atomic write failed; the target is unchanged.
    #[error("{host}: cannot write {path}: {reason}")]
    WriteFile {
        /// Inventory name.
        host: String,
        /// The target path.
        path: String,
        /// The host's explanation (stderr of the write script).
        reason: String,
    },

    /// A compare-and-swap write ([`crate::op::WriteFile::expect`]) found the
    /// file changed since it was probed; nothing was written.
    #[error("{host}: {path} changed on the host since it was probed; left as the host has it")]
    Changed {
        /// Inventory name.
        host: String,
        /// The target path.
        path: String,
    },

    /// A step of [`super::Transport::apply`] failed. The steps before it were
    /// applied; the ones after it never ran.
    #[error("{host}: step {step} of a batch failed (exit status {rc}): {reason}")]
    Step {
        /// Inventory name.
        host: String,
        /// Index of the failed step in the batch.
        step: usize,
        /// Its exit status.
        rc: i32,
        /// What it printed on stderr.
        reason: String,
    },

    /// A script outlived its time limit ([`super::Transport::exec_within`]):
    /// its whole process group on the host was sent TERM, then KILL; what it
    /// changed before is unknown.
    #[error(
        "{host}: timed out after {secs} s; its processes on the host were killed (give the op a \
         longer `timeout:`, or raise --op-timeout)"
    )]
    TimedOut {
        /// Inventory name.
        host: String,
        /// The limit, in whole seconds.
        secs: u64,
    },

    /// The run was interrupted (Ctrl-C) while the script ran: its process
    /// group on the host was sent TERM; what it changed before is unknown.
    #[error("{host}: interrupted (Ctrl-C); the command's processes on the host were stopped")]
    Interrupted {
        /// Inventory name.
        host: String,
    },

    /// The host lacks programs every command runs under (see
    /// `script::with_timeout`); nothing ran.
    #[error("{host}: {}", missing_tools_message(.tools))]
    MissingTools {
        /// Inventory name.
        host: String,
        /// The missing programs, e.g. `pkill`.
        tools: Vec<String>,
    },

    /// A file exists but could not be read.
    #[error("{host}: cannot read {path}: {reason}")]
    ReadFile {
        /// Inventory name.
        host: String,
        /// The path.
        path: String,
        /// The host's explanation.
        reason: String,
    },

    /// A local I/O failure (control directory, spawning `ssh` or `sh`).
    #[error("{host}: {context}: {source}")]
    Io {
        /// Inventory name.
        host: String,
        /// What we were doing.
        context: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The host's run lock was not taken, or was lost with a restarted
    /// master: another run holds the host (see `lock.rs`).
    #[error(transparent)]
    Lock(#[from] super::LockError),
}

impl TransportError {
    /// Whether the host counts as unreachable (Ansible's `UNREACHABLE`): it
    /// could not be connected or logged in to, its host key was refused, or the
    /// connection was lost. The executor stops running anything on such a host.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            TransportError::Unreachable { .. }
                | TransportError::HostKeyChanged { .. }
                | TransportError::HostKeyUnknown { .. }
                | TransportError::Disconnected { .. }
        )
    }

    /// The inventory name of the host concerned.
    pub fn host(&self) -> &str {
        match self {
            TransportError::Unreachable { host, .. }
            | TransportError::HostKeyChanged { host, .. }
            | TransportError::HostKeyUnknown { host, .. }
            | TransportError::Become { host, .. }
            | TransportError::Disconnected { host, .. }
            | TransportError::Exec { host, .. }
            | TransportError::WriteFile { host, .. }
            | TransportError::Changed { host, .. }
            | TransportError::Step { host, .. }
            | TransportError::ReadFile { host, .. }
            | TransportError::TimedOut { host, .. }
            | TransportError::Interrupted { host, .. }
            | TransportError::MissingTools { host, .. }
            | TransportError::Io { host, .. } => host,
            TransportError::Lock(e) => e.host(),
        }
    }
}

/// Names the missing tools and the packages to install.
fn missing_tools_message(tools: &[String]) -> String {
    let package = |tool: &String| {
        super::script::NEEDED
            .iter()
            .find(|(t, _)| t == tool)
            .map_or("", |(_, p)| p)
    };
    let packages: Vec<&str> = tools.iter().map(package).collect();
    format!(
        "the host lacks `{}`, which kbz-play needs to bound every command and to stop it on \
         Ctrl-C; nothing was run there: install it (Debian: `apt-get install {}`)",
        tools.join("`, `"),
        packages.join(" ")
    )
}

/// What OpenSSH's stderr says went wrong at connect time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConnectFailure {
    /// "REMOTE HOST IDENTIFICATION HAS CHANGED", with the file and `-R` name if printed.
    HostKeyChanged {
        known_hosts: Option<String>,
        address: Option<String>,
    },
    /// "Host key verification failed" without a changed key.
    HostKeyVerification,
    /// "Permission denied (publickey,...)".
    Auth,
    Refused,
    TimedOut,
    NoRoute,
    Resolve,
    /// "Connection closed by ..." / "kex_exchange_identification" / "Connection reset".
    ClosedDuringHandshake,
    Other,
}

/// Classifies OpenSSH's connect-time stderr.
pub(crate) fn classify(stderr: &str) -> ConnectFailure {
    if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || (stderr.contains("Host key for ") && stderr.contains(" has changed"))
    {
        return ConnectFailure::HostKeyChanged {
            known_hosts: offending_file(stderr),
            address: keygen_remove_name(stderr),
        };
    }
    if stderr.contains("Host key verification failed") {
        return ConnectFailure::HostKeyVerification;
    }
    if stderr.contains("Permission denied") && !stderr.contains("connect to host") {
        return ConnectFailure::Auth;
    }
    if stderr.contains("Connection refused") {
        return ConnectFailure::Refused;
    }
    if stderr.contains("timed out") {
        return ConnectFailure::TimedOut;
    }
    if stderr.contains("No route to host") || stderr.contains("Network is unreachable") {
        return ConnectFailure::NoRoute;
    }
    if stderr.contains("Could not resolve hostname") || stderr.contains("Name or service not known")
    {
        return ConnectFailure::Resolve;
    }
    if stderr.contains("Connection closed by")
        || stderr.contains("kex_exchange_identification")
        || stderr.contains("Connection reset")
    {
        return ConnectFailure::ClosedDuringHandshake;
    }
    ConnectFailure::Other
}

/// "Offending ECDSA key in /root/.ssh/known_hosts:3" -> "/root/.ssh/known_hosts".
fn offending_file(stderr: &str) -> Option<String> {
    stderr.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("Offending ")?;
        let (_, file) = rest.split_once(" key in ")?;
        let file = file.trim();
        Some(match file.rsplit_once(':') {
            Some((f, n)) if n.chars().all(|c| c.is_ascii_digit()) => f.to_string(),
            _ => file.to_string(),
        })
    })
}

/// `ssh-keygen -f '/x/known_hosts' -R '[127.0.0.1]:2222'` -> `[127.0.0.1]:2222`.
fn keygen_remove_name(stderr: &str) -> Option<String> {
    let line = stderr
        .lines()
        .find(|l| l.contains("ssh-keygen") && l.contains(" -R "))?;
    let arg = line.split(" -R ").nth(1)?.trim();
    let arg = arg.split_whitespace().next()?;
    Some(arg.trim_matches(|c| c == '\'' || c == '"').to_string())
}

/// The `ssh` command line that reproduces the connection, for the user to try.
pub(crate) fn ssh_hint(opts: &ConnectOptions) -> String {
    let mut words: Vec<String> = vec!["ssh".into()];
    if let Some(f) = &opts.ssh_config {
        words.extend(["-F".into(), f.display().to_string()]);
    }
    if let Some(p) = opts.port {
        words.extend(["-p".into(), p.to_string()]);
    }
    if let Some(i) = &opts.identity_file {
        words.extend(["-i".into(), i.display().to_string()]);
    }
    match &opts.user {
        Some(u) => words.push(format!("{u}@{}", opts.address)),
        None => words.push(opts.address.clone()),
    }
    words.push("true".into());
    crate::shell::join(words)
}

/// The name `known_hosts` files use for the address (`[addr]:port` off port 22).
fn known_hosts_name(opts: &ConnectOptions) -> String {
    match opts.port {
        Some(p) if p != 22 => format!("[{}]:{p}", opts.address),
        _ => opts.address.clone(),
    }
}

/// The first lines of ssh's output that say something (no banners, no warnings about adding keys).
fn summary(stderr: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty() && !l.starts_with("Warning: Permanently added") && !l.starts_with("@@@")
        })
        .collect();
    let text = lines.join("; ");
    if text.is_empty() {
        "ssh failed without a message".into()
    } else if text.len() > 400 {
        let mut end = 400;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}...", &text[..end])
    } else {
        text
    }
}

/// Turns a failed master connection's stderr into the right error.
pub(crate) fn connect_error(opts: &ConnectOptions, stderr: &str) -> TransportError {
    let host = opts.host.clone();
    let hint = ssh_hint(opts);
    let timeout = opts.connect_timeout.as_secs().max(1);
    let port = opts
        .port
        .map(|p| p.to_string())
        .unwrap_or_else(|| "22 (or as set in the ssh config)".into());
    let unreachable = |reason: String| TransportError::Unreachable {
        host: host.clone(),
        reason,
    };
    match classify(stderr) {
        ConnectFailure::HostKeyChanged { known_hosts, address } => TransportError::HostKeyChanged {
            host: host.clone(),
            address: address.unwrap_or_else(|| known_hosts_name(opts)),
            known_hosts: known_hosts.unwrap_or_else(|| "~/.ssh/known_hosts".into()),
        },
        ConnectFailure::HostKeyVerification if opts.known_hosts == HostKeyPolicy::Strict => {
            TransportError::HostKeyUnknown { host: host.clone(), address: known_hosts_name(opts) }
        }
        ConnectFailure::HostKeyVerification => {
            unreachable(format!("host key verification failed ({}); try `{hint}`", summary(stderr)))
        }
        ConnectFailure::Auth => unreachable(format!(
            "authentication failed ({}). Check the user and key (agent, identity file, \
             authorized_keys on the host); try `{hint}`",
            summary(stderr)
        )),
        ConnectFailure::Refused => unreachable(format!(
            "connection refused by {} port {port}: is sshd running there, and is the port right? Try `{hint}`",
            opts.address
        )),
        ConnectFailure::TimedOut => unreachable(format!(
            "no answer from {} port {port} within {timeout}s: check the address, that the host is up \
             and that no firewall drops SSH; try `{hint}`",
            opts.address
        )),
        ConnectFailure::NoRoute => unreachable(format!(
            "no route to {} ({}): check the address and the network; try `{hint}`",
            opts.address,
            summary(stderr)
        )),
        ConnectFailure::Resolve => unreachable(format!(
            "cannot resolve {}: check the address in the inventory (or the ssh config); try `{hint}`",
            opts.address
        )),
        ConnectFailure::ClosedDuringHandshake => unreachable(format!(
            "the connection was closed during the SSH handshake ({}): is this an SSH port, and does \
             sshd accept us (MaxStartups, AllowUsers, fail2ban)? Try `{hint}`",
            summary(stderr)
        )),
        ConnectFailure::Other => unreachable(format!("{}; try `{hint}`", summary(stderr))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    const CHANGED: &str = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r
@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r
@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r
IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!\r
Someone could be eavesdropping on you right now (man-in-the-middle attack)!\r
It is also possible that a host key has just been changed.\r
The fingerprint for the ED25519 key sent by the remote host is\r
SHA256:2aLvMKbT3Vn4fyFmSfUDNpX3o3YJ1Ac9JOfyLjcDYSo.\r
Please contact your system administrator.\r
Add correct host key in /tmp/kbz x/known_hosts to get rid of this message.\r
Offending ED25519 key in /tmp/kbz x/known_hosts:1\r
  remove with:\r
  ssh-keygen -f '/tmp/kbz x/known_hosts' -R '[127.0.0.1]:2222'\r
Host key for [127.0.0.1]:2222 has changed and you have requested strict checking.\r
Host key verification failed.\r
";

    fn opts() -> ConnectOptions {
        let mut o = ConnectOptions::new("web1", "127.0.0.1", PathBuf::from("/tmp/c"));
        o.port = Some(2222);
        o.user = Some("kbz".into());
        o.ssh_config = Some(PathBuf::from("/etc/kbz ssh.conf"));
        o
    }

    #[test]
    fn changed_host_key_names_the_file_and_entry() {
        assert_eq!(
            classify(CHANGED),
            ConnectFailure::HostKeyChanged {
                known_hosts: Some("/tmp/kbz x/known_hosts".into()),
                address: Some("[127.0.0.1]:2222".into())
            }
        );
        let e = connect_error(&opts(), CHANGED);
        assert!(e.is_unreachable());
        let msg = e.to_string();
        assert!(msg.contains("man-in-the-middle"), "{msg}");
        assert!(
            msg.contains("`ssh-keygen -R '[127.0.0.1]:2222' -f '/tmp/kbz x/known_hosts'`"),
            "{msg}"
        );
    }

    #[test]
    fn changed_host_key_without_details_falls_back_to_defaults() {
        let e = connect_error(
            &opts(),
            "WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\nHost key verification failed.",
        );
        match e {
            TransportError::HostKeyChanged {
                address,
                known_hosts,
                ..
            } => {
                assert_eq!(address, "[127.0.0.1]:2222");
                assert_eq!(known_hosts, "~/.ssh/known_hosts");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn unknown_host_key_depends_on_the_policy() {
        let stderr = "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.";
        let mut o = opts();
        o.known_hosts = HostKeyPolicy::Strict;
        let e = connect_error(&o, stderr);
        assert!(matches!(e, TransportError::HostKeyUnknown { .. }), "{e}");
        assert!(e.is_unreachable());
        let e = connect_error(&opts(), stderr);
        assert!(matches!(e, TransportError::Unreachable { .. }), "{e}");
    }

    #[test]
    fn network_failures() {
        for (stderr, want) in [
            (
                "ssh: connect to host 127.0.0.1 port 1: Connection refused",
                ConnectFailure::Refused,
            ),
            (
                "ssh: connect to host 198.18.0.9 port 22: Connection timed out",
                ConnectFailure::TimedOut,
            ),
            (
                "Connection timed out during banner exchange\r\nConnection to 10.255.255.1 port 22 timed out",
                ConnectFailure::TimedOut,
            ),
            (
                "ssh: connect to host 10.0.0.1 port 22: No route to host",
                ConnectFailure::NoRoute,
            ),
            (
                "ssh: connect to host 10.0.0.1 port 22: Network is unreachable",
                ConnectFailure::NoRoute,
            ),
            (
                "ssh: Could not resolve hostname nope.invalid: Name or service not known",
                ConnectFailure::Resolve,
            ),
            (
                "kbz@127.0.0.1: Permission denied (publickey,password).",
                ConnectFailure::Auth,
            ),
            // macOS says "Permission denied" for an unreachable network: not an auth problem.
            (
                "ssh: connect to host 10.0.0.1 port 22: Permission denied",
                ConnectFailure::Other,
            ),
            (
                "kex_exchange_identification: read: Connection reset by peer",
                ConnectFailure::ClosedDuringHandshake,
            ),
            (
                "Connection closed by 127.0.0.1 port 2222",
                ConnectFailure::ClosedDuringHandshake,
            ),
            ("something new", ConnectFailure::Other),
        ] {
            assert_eq!(classify(stderr), want, "{stderr}");
        }
    }

    #[test]
    fn messages_say_what_to_try() {
        let e = connect_error(
            &opts(),
            "ssh: connect to host 127.0.0.1 port 2222: Connection refused",
        );
        let msg = e.to_string();
        assert!(
            msg.starts_with("web1: unreachable: connection refused by 127.0.0.1 port 2222"),
            "{msg}"
        );
        assert!(
            msg.contains("`ssh -F '/etc/kbz ssh.conf' -p 2222 kbz@127.0.0.1 true`"),
            "{msg}"
        );
        let e = connect_error(&opts(), "Warning: Permanently added '[127.0.0.1]:2222' (ED25519) to the list of known hosts.\r\nkbz@127.0.0.1: Permission denied (publickey).");
        let msg = e.to_string();
        assert!(
            msg.contains("authentication failed (kbz@127.0.0.1: Permission denied (publickey).)"),
            "{msg}"
        );
        assert!(!msg.contains("Permanently added"), "{msg}");
    }
}
