//! How commands and files reach a host: over SSH, or locally for `localhost`.
//!
//! Everything the engine does on a host is one of five calls: [`Transport::exec`]
//! (a `sh -c` script, with optional stdin), [`Transport::write_file`] (atomic),
//! [`Transport::apply`] (many commands and writes in one script),
//! [`Transport::read_file`] and [`Transport::close`]. Both transports implement
//! them with the same shell scripts (see `script/`), so `localhost` and a remote
//! host behave identically, `--become` included.
//!
//! # SSH
//!
//! One OpenSSH multiplexed master per host for the whole run (and, with
//! `--persist`, a while after it, for the next run: see `persist/`), started by the
//! `openssh` crate (native mux) with the system `ssh` binary, so `~/.ssh/config`,
//! `ProxyJump`, the agent and `known_hosts` all work as they do for the user's own
//! `ssh`. Each command is a new channel on that master: no TCP or key exchange, a
//! round trip or two. A host runs at most [`ssh::MAX_CHANNELS`] commands at once,
//! below sshd's default `MaxSessions` of 10; a channel sshd refuses anyway (it
//! counts sessions whose close is still in flight) is retried with backoff.
//! When the master has gone away before it read a command's request (idle
//! timeout, killed, host rebooted: see `master_gone.rs`), the transport starts
//! a new master once and retries: the command never ran, so retrying is safe. The run lock went with the old master, so the new one
//! takes it again first (see `lock.rs`). Note that the remote login shell parses the command
//! line, and Debian's bash sources `~/.bashrc` for every ssh command: a slow
//! `.bashrc` on the host slows every call.
//!
//! # Files: why not SFTP
//!
//! [`Transport::write_file`] streams the content on the stdin of a single `sh -c`
//! script that creates the temp file next to the target (with `O_EXCL`, mode
//! 0600), writes and fsyncs it (`dd conv=fsync`), checks that every byte arrived,
//! sets owner, group and mode, and renames it over the target, removing the temp
//! file on any failure. That is one channel, one round trip, for any file size.
//! SFTP needs an open, a write, an fsync and a close before the same exec for
//! owner/group names and rename (SFTP only knows numeric ids), so five round
//! trips; under `--become` it also needs `sudo sftp-server` and its path. And if
//! the connection drops mid-transfer, the SFTP temp file stays behind, while the
//! script sees the short stream, refuses to rename and removes it.
//! [`Transport::read_file`] is `cat`. SSH channels are 8-bit clean, so binary
//! content is fine both ways. On the host, the cost of a write is the fsync and
//! four processes (`dd`, `stat`, `chmod`, `mv`), not the network.
//!
//! # Batches
//!
//! [`Transport::apply`] runs many commands and writes as one script, the files'
//! contents back to back on its stdin, so the file changes of a whole play
//! cost one round trip, however many (see `batch.rs`). Each step runs in a subshell and the
//! batch stops at the first failure, naming the failed step.
//!
//! # Scripts
//!
//! A script is one argument of `sh -c`, quoted with [`crate::shell::quote`] for
//! the remote login shell (POSIX shells; csh and fish are not supported as login
//! shells). Scripts over 64 KiB (one argument is capped at 128 KiB) are sent on
//! stdin instead and `eval`ed, ahead of their own stdin when they have one.
//!
//! # Become
//!
//! `sudo -n -H -u USER -- sh -c SCRIPT`. The script first prints a marker on
//! stderr: when it is missing, sudo itself refused (password required, not in
//! sudoers, unknown user) and the call fails with [`TransportError::Become`]
//! instead of passing sudo's message off as the script's output.

mod batch;
mod control_dir;
mod error;
mod local;
mod lock;
mod master_gone;
mod masters;
mod merge;
pub mod persist;
mod script;
pub mod ssh;
mod ssh_config;
mod ssh_g_cache;

use std::path::PathBuf;
use std::time::Duration;

pub use error::TransportError;
pub use local::LocalTransport;
pub use lock::{LockError, LockHolder, RunId, RunLock};
pub use masters::end_masters;
pub(crate) use script::{CHANGED_RC, KILL_AFTER_SECS};
pub use ssh::SshTransport;

/// Seconds [`Transport::exec_within`] waits past the limit and the KILL for
/// the host's answer before it drops the channel itself.
const BACKSTOP_GRACE_SECS: u64 = 5;

/// The run's Ctrl-C, shared by everything that must stop for it: set once,
/// never cleared; [`Interrupt::wait`] wakes every waiter.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(std::sync::Arc<InterruptState>);

#[derive(Debug, Default)]
struct InterruptState {
    set: std::sync::atomic::AtomicBool,
    notify: tokio::sync::Notify,
}

impl Interrupt {
    /// Asks everything to stop.
    pub fn trigger(&self) {
        self.0.set.store(true, std::sync::atomic::Ordering::SeqCst);
        self.0.notify.notify_waiters();
    }

    /// Whether the run was interrupted.
    pub fn is_set(&self) -> bool {
        self.0.set.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Returns once the run is interrupted (at once if it already was).
    pub async fn wait(&self) {
        loop {
            let notified = self.0.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_set() {
                return;
            }
            notified.await;
        }
    }
}

/// What to do with a host key that is not in `known_hosts` yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostKeyPolicy {
    /// OpenSSH's `accept-new`: record unknown keys, refuse changed ones. The
    /// default, because first contact with freshly provisioned hosts is the
    /// common case and a changed key is still caught.
    #[default]
    AcceptNew,
    /// `StrictHostKeyChecking=yes`: refuse unknown keys too, for environments
    /// that distribute `known_hosts` ahead of time.
    Strict,
}

/// Run commands as another user through `sudo -n` (non-interactive: a run must
/// never hang on a password prompt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Become {
    /// The target user (`sudo -u`).
    pub user: String,
}

impl Default for Become {
    /// `root`, like `--become` without `--become-user`.
    fn default() -> Self {
        Become {
            user: "root".to_string(),
        }
    }
}

/// Everything needed to reach one host, built from its inventory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Inventory name, used in messages so the user recognises the host.
    pub host: String,
    /// What to connect to: a name `ssh` resolves (possibly via `~/.ssh/config`) or an IP.
    pub address: String,
    /// `ssh -p`; `None` leaves it to the ssh config (usually 22).
    pub port: Option<u16>,
    /// `ssh -l`; `None` leaves it to the ssh config (usually the local user).
    pub user: Option<String>,
    /// `ssh -i` (and `IdentitiesOnly=yes`, so only this key is offered).
    pub identity_file: Option<PathBuf>,
    /// `ssh -F`: an ssh config file used instead of `~/.ssh/config`.
    pub ssh_config: Option<PathBuf>,
    /// Unknown host keys: accept and record, or refuse.
    pub known_hosts: HostKeyPolicy,
    /// Gives up on an unreachable host after this long (whole seconds, at least 1).
    pub connect_timeout: Duration,
    /// Run everything through `sudo -n -u USER`.
    pub become_: Option<Become>,
    /// Where the mux sockets live: a folder of ours closed to others (made
    /// 0700 if missing, refused otherwise; see [`ssh::create_control_dir`]).
    /// Keep it short: a unix socket path is limited to about 100 bytes and
    /// ssh appends about 45 to it. With [`ConnectOptions::persist`], the
    /// persist folder ([`persist::persist_dir`]).
    pub control_dir: PathBuf,
    /// `--persist`: how long the master outlives the run, idle, for the
    /// next run to reuse (see `persist/`); zero closes it with the run.
    pub persist: Duration,
}

impl ConnectOptions {
    /// Options for `address` with the defaults of a plain `ssh address`.
    pub fn new(host: impl Into<String>, address: impl Into<String>, control_dir: PathBuf) -> Self {
        ConnectOptions {
            host: host.into(),
            address: address.into(),
            port: None,
            user: None,
            identity_file: None,
            ssh_config: None,
            known_hosts: HostKeyPolicy::AcceptNew,
            connect_timeout: Duration::from_secs(10),
            become_: None,
            control_dir,
            persist: Duration::ZERO,
        }
    }

    /// Whether this entry means "this machine", run without SSH: the inventory
    /// host is named `localhost`, its address is a loopback name and no port or
    /// user asks for a real SSH login.
    pub fn is_local(&self) -> bool {
        self.host == "localhost"
            && matches!(self.address.as_str(), "localhost" | "127.0.0.1" | "::1")
            && self.port.is_none()
            && self.user.is_none()
    }
}

/// What a script did: its exit status and everything it printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ExecOutput {
    /// Exit status; 128 + N when a local process was killed by signal N, like a shell.
    pub rc: i32,
    /// Standard output, unmodified (may be binary).
    pub stdout: Vec<u8>,
    /// Standard error (with become: only the script's, sudo's own refusals are
    /// reported as [`TransportError::Become`]).
    pub stderr: Vec<u8>,
}

impl ExecOutput {
    /// Whether the script exited with status 0.
    pub fn success(&self) -> bool {
        self.rc == 0
    }
}

impl std::fmt::Debug for ExecOutput {
    /// Prints sizes, not content: a command's output may hold secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecOutput")
            .field("rc", &self.rc)
            .field("stdout_bytes", &self.stdout.len())
            .field("stderr_bytes", &self.stderr.len())
            .finish()
    }
}

/// A connection to one host, shared by everything that runs on it.
///
/// `Send + Sync` and every method takes `&self`, so the executor can share one
/// per host (behind an `Arc`) across threads and runtimes.
#[derive(Debug)]
pub enum Transport {
    /// A remote host over an OpenSSH multiplexed master.
    Ssh(ssh::SshTransport),
    /// This machine, without SSH.
    Local(local::LocalTransport),
}

impl Transport {
    /// Connects to a host: locally when [`ConnectOptions::is_local`], otherwise
    /// over SSH (one master connection for the whole run). Fails with
    /// [`TransportError::is_unreachable`] errors when the host cannot be reached,
    /// logged in to, or its host key is wrong.
    pub async fn connect(opts: &ConnectOptions) -> Result<Transport, TransportError> {
        if opts.is_local() {
            Ok(Transport::local(opts.become_.clone()))
        } else {
            Transport::ssh(opts).await
        }
    }

    /// Connects over SSH even for `localhost`, for callers that decide themselves.
    pub async fn ssh(opts: &ConnectOptions) -> Result<Transport, TransportError> {
        Ok(Transport::Ssh(ssh::SshTransport::connect(opts).await?))
    }

    /// This machine: commands run as `sh -c` (through `sudo -n -u USER` with become).
    pub fn local(become_: Option<Become>) -> Transport {
        Transport::Local(local::LocalTransport::new(become_))
    }

    /// The inventory name, for messages.
    pub fn host(&self) -> &str {
        match self {
            Transport::Ssh(t) => t.host(),
            Transport::Local(t) => t.host(),
        }
    }

    /// Runs `sh -c SCRIPT` (under `sudo -n -u USER` with become), feeding `stdin`
    /// when given (otherwise stdin is empty), and captures everything. A non-zero
    /// exit status is not an error: the caller decides what it means.
    pub async fn exec(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, TransportError> {
        match self {
            Transport::Ssh(t) => t.exec(script, stdin).await,
            Transport::Local(t) => t.exec(script, stdin).await,
        }
    }

    /// [`Transport::exec`] bounded by `limit` (none: unbounded) and stopped by
    /// `interrupt`: then the script's whole process group on the host is
    /// killed (see `script::with_timeout`) and the call fails with
    /// [`TransportError::TimedOut`] or [`TransportError::Interrupted`].
    /// Should the host's `timeout` not act (a hung connection), the channel
    /// is dropped a little later anyway. Without an interrupt the round trips
    /// are the same as [`Transport::exec`]'s.
    pub async fn exec_within(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
        limit: Option<Duration>,
        interrupt: Option<&Interrupt>,
    ) -> Result<ExecOutput, TransportError> {
        if limit.is_none() && interrupt.is_none() {
            return self.exec(script, stdin).await;
        }
        let secs = limit.map_or(0, |l| l.as_secs().max(1));
        let timed_out = || TransportError::TimedOut {
            host: self.host().to_string(),
            secs,
        };
        let backstop = match limit {
            Some(_) => Duration::from_secs(secs + script::KILL_AFTER_SECS + BACKSTOP_GRACE_SECS),
            None => Duration::MAX,
        };
        let started = std::time::Instant::now();
        let token = script::process_token();
        // `timeout` takes the script as an argument: a long one goes on stdin first.
        let spilled = script::spill(script, stdin);
        let wrapped = script::with_timeout(&spilled.script, secs, &token);
        let run = tokio::time::timeout(backstop, self.exec(&wrapped, spilled.stdin.as_deref()));
        tokio::pin!(run);
        let finished = match interrupt {
            Some(i) => tokio::select! {
                done = &mut run => done,
                () = i.wait() => return Err(self.interrupted(&token, run).await),
            },
            None => run.await,
        };
        let out = finished.map_err(|_| timed_out())??;
        self.judged(out, secs, started)
    }

    /// The output of a script [`script::with_timeout`] ran for at most
    /// `secs` from `started`, or why it did not run or end: tools missing
    /// on the host, or the limit reached.
    fn judged(
        &self,
        out: ExecOutput,
        secs: u64,
        started: std::time::Instant,
    ) -> Result<ExecOutput, TransportError> {
        if let Some(tools) = script::missing_tools(&out) {
            return Err(TransportError::MissingTools {
                host: self.host().to_string(),
                tools,
            });
        }
        if secs > 0
            && script::stopped_by_timeout(out.rc)
            && started.elapsed() >= Duration::from_secs(secs)
        {
            return Err(TransportError::TimedOut {
                host: self.host().to_string(),
                secs,
            });
        }
        Ok(out)
    }

    /// Takes the host's run lock and runs the session's opening `script`
    /// under it, on the lock holder's own channel (see `lock.rs`): one
    /// channel for both, and no round trip for the lock. The script is
    /// bounded by `limit` as [`Transport::exec_within`] bounds it; the wait
    /// for the lock by the lock's timeout. Returns the holder, which keeps
    /// the lock until released, and the script's output.
    pub async fn open_locked(
        &self,
        lock: &RunLock,
        script: &str,
        stdin: Option<&[u8]>,
        limit: Duration,
    ) -> Result<(LockHolder, ExecOutput), TransportError> {
        let secs = limit.as_secs().max(1);
        let spilled = script::spill(script, stdin);
        let opening = script::with_timeout(&spilled.script, secs, &script::process_token());
        let input = spilled.stdin.as_deref();
        let (holder, end) = lock.running_script(self, &opening, input.map(<[u8]>::len));
        let backstop = lock.timeout()
            + Duration::from_secs(secs + script::KILL_AFTER_SECS + BACKSTOP_GRACE_SECS);
        let started = std::time::Instant::now();
        let run = async {
            match self {
                Transport::Ssh(t) => t.hold_lock(lock, &holder, &end, input).await,
                Transport::Local(t) => t.hold_lock(lock, &holder, &end, input).await,
            }
        };
        let (holder, out) =
            tokio::time::timeout(backstop, run)
                .await
                .map_err(|_| TransportError::TimedOut {
                    host: self.host().to_string(),
                    secs,
                })??;
        Ok((holder, self.judged(out, secs, started)?))
    }

    /// Kills the process group of the script carrying `token` (its `timeout`
    /// passes the TERM on to the group) while `run` is still in flight, then
    /// lets `run` end for a few seconds, so nothing of it is left running.
    async fn interrupted<F: std::future::Future>(
        &self,
        token: &str,
        run: std::pin::Pin<&mut F>,
    ) -> TransportError {
        let _ = self.exec(&script::kill_script(token), None).await;
        let _ = tokio::time::timeout(Duration::from_secs(BACKSTOP_GRACE_SECS), run).await;
        TransportError::Interrupted {
            host: self.host().to_string(),
        }
    }

    /// Writes a file atomically in one round trip: temp file in the target's
    /// directory (`.kbz-play.<basename>.<random>`), content written and fsynced,
    /// owner, group and mode set, then renamed over the target. A failed or
    /// interrupted write leaves the target untouched and removes the temp file.
    ///
    /// `mode: None` keeps the target's mode (0644 for a new file); `owner`/`group:
    /// None` keep the target's owner/group when it exists and the writing user
    /// may set them (root), else the writing user's defaults apply.
    pub async fn write_file(&self, file: &crate::op::WriteFile) -> Result<(), TransportError> {
        let failed = |reason| TransportError::WriteFile {
            host: self.host().to_string(),
            path: file.path.clone(),
            reason,
        };
        let script = script::write_script(file).map_err(failed)?;
        let out = self.exec(&script, Some(file.content.as_slice())).await?;
        match out.rc {
            0 => Ok(()),
            script::CHANGED_RC if file.expect.is_some() => Err(TransportError::Changed {
                host: self.host().to_string(),
                path: file.path.clone(),
            }),
            _ => Err(failed(script::failure_reason(&out))),
        }
    }

    /// Applies `steps` in order, in one round trip whatever their number
    /// and size, and returns the round trips used (1). Commands must exit 0
    /// and writes are atomic, as with [`Transport::exec`] and
    /// [`Transport::write_file`]; the first step that fails stops the batch
    /// with [`TransportError::Step`]: the steps before it were applied, the
    /// ones after it never ran. File writes in a batch need GNU `dd`.
    pub async fn apply(&self, steps: &[crate::op::Action]) -> Result<u32, TransportError> {
        let batch = batch::script(steps).map_err(|r| TransportError::Step {
            host: self.host().to_string(),
            step: r.step,
            rc: 2,
            reason: r.reason,
        })?;
        let out = self.exec(&batch.script, Some(&batch.stdin)).await?;
        if out.rc != 0 {
            let (step, reason) = batch::failed_step(&out.stderr);
            return Err(TransportError::Step {
                host: self.host().to_string(),
                step,
                rc: out.rc,
                reason,
            });
        }
        Ok(1)
    }

    /// Reads a whole file; `Ok(None)` when it does not exist (or cannot be seen
    /// at all, e.g. a parent directory is not searchable).
    pub async fn read_file(&self, path: &str) -> Result<Option<Vec<u8>>, TransportError> {
        if let Transport::Local(t) = self {
            if let Some(answer) = t.read_file_directly(path).await {
                return answer;
            }
        }
        let out = self.exec(&script::read_script(path), None).await?;
        match out.rc {
            0 => Ok(Some(out.stdout)),
            script::READ_MISSING_RC => Ok(None),
            _ => Err(TransportError::ReadFile {
                host: self.host().to_string(),
                path: path.to_string(),
                reason: script::failure_reason(&out),
            }),
        }
    }

    /// Why the connection to the host is gone, if it is (never for the local
    /// transport): a failure on such a host is Ansible's `UNREACHABLE`.
    pub async fn connection_lost(&self) -> Option<String> {
        match self {
            Transport::Ssh(t) => t.connection_lost().await,
            Transport::Local(_) => None,
        }
    }

    /// Closes the master connection cleanly (dropping the transport also does, synchronously).
    pub async fn close(self) -> Result<(), TransportError> {
        match self {
            Transport::Ssh(t) => t.close(false).await,
            Transport::Local(_) => Ok(()),
        }
    }

    /// Done with the host at the end of a run: a persistent master
    /// ([`ConnectOptions::persist`]) is left up for the next run, idle for
    /// its persist time; any other is closed, as [`Transport::close`] does.
    pub async fn leave(self) -> Result<(), TransportError> {
        match self {
            Transport::Ssh(t) => t.close(true).await,
            Transport::Local(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Transport>();
        check::<TransportError>();
    }

    #[tokio::test]
    async fn a_script_ignoring_term_is_killed_after_its_limit() {
        let t = Transport::local(None);
        let started = std::time::Instant::now();
        let e = t
            .exec_within(
                "trap '' TERM; sleep 30",
                None,
                Some(Duration::from_secs(1)),
                None,
            )
            .await
            .unwrap_err();
        assert!(matches!(e, TransportError::TimedOut { secs: 1, .. }), "{e}");
        assert!(e.to_string().contains("timed out after 1 s"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[tokio::test]
    async fn exit_124_within_the_limit_is_the_scripts_own() {
        let t = Transport::local(None);
        let limit = Some(Duration::from_secs(30));
        let out = t.exec_within("echo hi; exit 124", None, limit, None).await;
        assert_eq!(out.unwrap().rc, 124);
        let out = t
            .exec_within("cat", Some(b"in"), limit, None)
            .await
            .unwrap();
        assert_eq!(out.stdout, b"in");
    }

    #[tokio::test]
    async fn a_long_script_with_stdin_runs_within_its_limit() {
        let t = Transport::local(None);
        let script = format!("{}cat", ": padding\n".repeat(30_000));
        let limit = Some(Duration::from_secs(30));
        let out = t.exec_within(&script, Some(b"in"), limit, None).await;
        assert_eq!(out.unwrap().stdout, b"in");
        let hung = format!("{}sleep 30", ": padding\n".repeat(30_000));
        let limit = Some(Duration::from_secs(1));
        let e = t.exec_within(&hung, Some(b"in"), limit, None).await;
        assert!(matches!(e, Err(TransportError::TimedOut { .. })), "{e:?}");
    }

    #[test]
    fn localhost_is_local_only_when_nothing_asks_for_ssh() {
        let mut o = ConnectOptions::new("localhost", "127.0.0.1", PathBuf::from("/tmp"));
        assert!(o.is_local());
        o.port = Some(2222);
        assert!(!o.is_local());
        let o = ConnectOptions::new("web1", "127.0.0.1", PathBuf::from("/tmp"));
        assert!(!o.is_local());
        let o = ConnectOptions::new("localhost", "10.0.0.1", PathBuf::from("/tmp"));
        assert!(!o.is_local());
    }
}
