//! SSH through one OpenSSH multiplexed master per host (the `openssh` crate,
//! native mux). The system `ssh` does the connecting, so the user's ssh config,
//! agent, `ProxyJump` and `known_hosts` apply; each command is then a channel on
//! the master, opened over its unix socket without a new handshake.
//!
//! A run's own master is started with `ControlPersist` of
//! [`IDLE_PERSIST_SECS`]: a run that dies without closing leaves no ssh
//! process behind for long. With [`ConnectOptions::persist`], the master is
//! one that outlives the run instead, found again by the next (see
//! `persist/`). A master
//! that went away (idle, killed, host rebooted) is restarted transparently
//! when the next channel, a command's or the run lock holder's, finds it gone
//! before it read the request (see `master_gone.rs`), which is safe because
//! that command never started, once the new master holds the run lock again
//! (see `lock.rs`). A kept master found live can idle out before the run's
//! first channel: that is the same case. Commands that were running, or that
//! the master may have started, when the connection dropped fail with
//! [`TransportError::Disconnected`] and are never retried.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openssh::{ControlPersist, KnownHosts, Session, SessionBuilder, Stdio};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;

pub use super::control_dir::create_control_dir;
use super::control_dir::{private_control_dir, MAX_CONTROL_DIR_LEN};
use super::error::connect_error;
use super::master_gone::never_reached;
use super::ssh_config::resolve_config;
use super::{persist, script, ConnectOptions, ExecOutput, HostKeyPolicy, TransportError};

/// Commands one host runs at once. sshd refuses channels beyond its
/// `MaxSessions` (10 by default) per connection; a little headroom is left for
/// the user's own `ssh` sharing the master.
pub const MAX_CHANNELS: usize = 8;

/// How long an idle master survives without clients (see the module doc).
pub const IDLE_PERSIST_SECS: usize = 300;

/// How long a refused channel open is retried (with backoff) before giving up.
const SESSION_REFUSED_PATIENCE: Duration = Duration::from_secs(10);

/// `ServerAliveInterval` where the ssh config sets none: a dead peer (power
/// lost, link cut) is noticed after `ServerAliveCountMax` (3) missed probes,
/// 45 s. The user's own `ServerAliveInterval` wins (see `ssh_config.rs`).
pub(super) const SERVER_ALIVE: Duration = Duration::from_secs(15);

/// A remote host over its multiplexed master connection.
#[derive(Debug)]
pub struct SshTransport {
    /// Boxed: keeps `Transport` small (clippy::large_enum_variant).
    opts: Box<ConnectOptions>,
    /// The current master; replaced (never mutated) when it is restarted.
    session: Mutex<Arc<Session>>,
    /// Serialises restarts so concurrent commands start one new master, not several.
    reconnecting: tokio::sync::Mutex<()>,
    /// Limits concurrent channels to [`MAX_CHANNELS`].
    channels: Semaphore,
    /// Why the connection was lost, once a command found it gone: the
    /// executor then reports the host unreachable, not failed.
    lost: Mutex<Option<String>>,
    /// The run lock taken on the host, taken again with a new master.
    /// Boxed, as `opts` is.
    relock: Mutex<Box<Relock>>,
}

/// The run lock across master restarts (see `lock.rs`): the holder of the
/// first master belongs to the session; a restarted master needs its own,
/// which the transport keeps, or the lost lock fences the host off.
#[derive(Debug, Default)]
struct Relock {
    /// The claim [`SshTransport::hold_lock`] took, if any, and the lock
    /// file its holder reported.
    claim: Option<(super::RunLock, String)>,
    /// The holder on the current master, when it was restarted.
    holder: Option<super::LockHolder>,
    /// The lock went to another run while the connection was down: every
    /// later command fails with this instead of running unlocked.
    lost: Option<super::LockError>,
}

impl SshTransport {
    /// Starts the master connection; fails with an error that says whether the
    /// host is unreachable, refused us, or presented a bad host key.
    pub async fn connect(opts: &ConnectOptions) -> Result<Self, TransportError> {
        let session = launch(opts, Reuse::Live).await?;
        Ok(SshTransport {
            opts: Box::new(opts.clone()),
            session: Mutex::new(Arc::new(session)),
            reconnecting: tokio::sync::Mutex::new(()),
            channels: Semaphore::new(MAX_CHANNELS),
            lost: Mutex::new(None),
            relock: Mutex::new(Box::default()),
        })
    }

    /// The inventory name, for messages.
    pub fn host(&self) -> &str {
        &self.opts.host
    }

    /// The current master's control socket: `ssh -S PATH -O check x` talks to it,
    /// which helps when debugging a run.
    pub fn control_socket(&self) -> std::path::PathBuf {
        self.current().control_socket().to_path_buf()
    }

    fn current(&self) -> Arc<Session> {
        self.session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Replaces `stale` with a new master, unless another caller already did.
    async fn reconnect(&self, stale: &Arc<Session>) -> Result<Arc<Session>, TransportError> {
        let _one_at_a_time = self.reconnecting.lock().await;
        let current = self.current();
        if !Arc::ptr_eq(&current, stale) {
            return Ok(current);
        }
        let fresh = Arc::new(launch(&self.opts, Reuse::None).await?);
        *self.session.lock().unwrap_or_else(|e| e.into_inner()) = fresh.clone();
        self.take_lock_again(&fresh).await?;
        Ok(fresh)
    }

    fn relock(&self) -> std::sync::MutexGuard<'_, Box<Relock>> {
        self.relock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the run lock on `lock`'s behalf with a holder that runs the
    /// session's opening once it holds the lock (see `lock.rs`), and
    /// remembers the claim, so that a restarted master takes it again (see
    /// [`SshTransport::reconnect`]). Returns the holder and the opening's
    /// output.
    pub(super) async fn hold_lock(
        &self,
        lock: &super::RunLock,
        script: &str,
        opening: &super::lock::Opening,
        input: Option<&[u8]>,
    ) -> Result<(super::LockHolder, ExecOutput), TransportError> {
        let cmdline = self.holder_command_line(script);
        let (session, child) = self.open_channel(|m| spawn(m, &cmdline, true)).await?;
        let held = super::lock::LockHolder::ssh(child, self.opts.become_.clone())
            .opened(lock, opening, input)
            .await;
        let (holder, output) = self.noting_lost(held)?;
        self.relock().claim = Some((lock.clone(), holder.path().to_string()));
        let output = match output {
            Ok(output) => output,
            Err(reason) => return self.noting_lost(Err(self.failed_on(&session, reason).await)),
        };
        let output = script::finish(&self.opts.host, self.opts.become_.as_ref(), output)?;
        Ok((holder, output))
    }

    /// The old master took the run lock's holder with it: takes the lock
    /// again on `fresh` before anything runs there, without waiting. When
    /// another run took it meanwhile, or the holder cannot be started on a
    /// master that answers, the host is fenced off for good; a master lost
    /// again is only unreachable, and the next command tries once more.
    async fn take_lock_again(&self, fresh: &Arc<Session>) -> Result<(), TransportError> {
        let Some((claim, _)) = self.relock().claim.clone() else {
            return Ok(());
        };
        let taken = match self
            .spawn_holder(fresh.clone(), &claim.rejoin_script())
            .await
        {
            Ok(holder) => holder.taken(&claim, true).await,
            Err(e) => Err(e),
        };
        match taken {
            Ok(holder) => {
                self.relock().holder = Some(holder);
                Ok(())
            }
            Err(e) if e.is_unreachable() => Err(e),
            Err(e) => {
                let lost = match e {
                    TransportError::Lock(lost) => lost,
                    other => super::LockError::Failed {
                        host: self.opts.host.clone(),
                        reason: format!("taking it again with a new master connection: {other}"),
                    },
                };
                self.relock().lost = Some(lost.clone());
                Err(lost.into())
            }
        }
    }

    /// Runs `sh -c SCRIPT` on the host; see [`super::Transport::exec`].
    /// Remembers a lost connection for [`SshTransport::connection_lost`].
    pub async fn exec(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, TransportError> {
        self.noting_lost(self.exec_on_master(script, stdin).await)
    }

    /// `result`, remembering a lost connection it reports for
    /// [`SshTransport::connection_lost`].
    fn noting_lost<T>(&self, result: Result<T, TransportError>) -> Result<T, TransportError> {
        if let Err(e) = &result {
            if e.is_unreachable() {
                let mut lost = self.lost.lock().unwrap_or_else(|e| e.into_inner());
                lost.get_or_insert_with(|| e.to_string());
            }
        }
        result
    }

    /// Why the connection is gone, if it is: a command found it lost, or the
    /// master no longer answers (a command killed as the host shut down may
    /// fail before the master notices, so a failure asks again).
    pub async fn connection_lost(&self) -> Option<String> {
        if let Some(lost) = self.lost.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Some(lost);
        }
        let check = self.current().check().await;
        check.err().map(|e| {
            format!(
                "{}: connection lost: the master connection no longer answers ({})",
                self.opts.host,
                chain(&e)
            )
        })
    }

    async fn exec_on_master(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, TransportError> {
        // A long script goes on stdin first, so the guard wraps the short
        // lines that read it. Each wrapping copies a script of up to
        // `MAX_INLINE_SCRIPT` bytes: only the command line they make is kept
        // while the command runs, not every copy (with hundreds of hosts
        // waiting on their changes at once, they made much of a run's peak
        // memory).
        let spilled = script::spill(script, stdin);
        let (cmdline, stdin) = {
            let guarded = {
                let relock = self.relock();
                if let Some(lost) = &relock.lost {
                    return Err(lost.clone().into());
                }
                let claim = relock.claim.as_ref();
                claim.and_then(|(claim, path)| claim.guard(path, &spilled.script))
            };
            let script = guarded.as_deref().unwrap_or(&spilled.script);
            let inv =
                script::invocation(script, spilled.stdin.as_deref(), self.opts.become_.as_ref());
            (inv.command_line(), inv.stdin)
        };
        let _permit = self
            .channels
            .acquire()
            .await
            .map_err(|_| self.exec_error("the transport is closing".into()))?;
        let with_stdin = stdin.is_some();
        let (session, mut child) = self
            .open_channel(|master| spawn(master, &cmdline, with_stdin))
            .await?;

        let pipe = child.stdin().take();
        let feed = async move {
            if let (Some(mut pipe), Some(data)) = (pipe, stdin) {
                // A script that does not read its stdin closes it early: not an error.
                match pipe.write_all(&data).await {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
                    _ => {}
                }
                let _ = pipe.shutdown().await;
            }
            Ok(())
        };
        let (fed, stdout, stderr) = tokio::join!(
            feed,
            read_all(child.stdout().take()),
            read_all(child.stderr().take())
        );
        let status = match (fed, stdout, stderr) {
            (Ok(()), Ok(stdout), Ok(stderr)) => match child.wait().await {
                Ok(status) => Ok((status, stdout, stderr)),
                // The mux protocol cannot tell a killed process from a lost connection.
                Err(openssh::Error::RemoteProcessTerminated | openssh::Error::Disconnected) => {
                    Err("the remote process was killed by a signal".to_string())
                }
                Err(e) => Err(chain(&e)),
            },
            (Err(e), _, _) => Err(format!("sending stdin: {e}")),
            (_, Err(e), _) => Err(format!("reading stdout: {e}")),
            (_, _, Err(e)) => Err(format!("reading stderr: {e}")),
        };
        let (status, stdout, stderr) = match status {
            Ok(done) => done,
            Err(reason) => return Err(self.failed_on(&session, reason).await),
        };
        let rc = status.code().unwrap_or(-1);
        script::finish(
            &self.opts.host,
            self.opts.become_.as_ref(),
            ExecOutput { rc, stdout, stderr },
        )
    }

    /// Starts the run lock's holder (see `lock.rs`) on a channel of its own
    /// on `master` that lasts the whole run: it owns a handle on the master,
    /// which [`SshTransport::close`] then leaves to the holder's release.
    async fn spawn_holder(
        &self,
        master: Arc<Session>,
        script: &str,
    ) -> Result<super::lock::LockHolder, TransportError> {
        let cmdline = self.holder_command_line(script);
        let child = spawn(master, &cmdline, true).await;
        Ok(super::lock::LockHolder::ssh(
            child.map_err(|e| self.spawn_error(e))?,
            self.opts.become_.clone(),
        ))
    }

    /// The command line of the run lock's holder: its `script` reads stdin.
    fn holder_command_line(&self, script: &str) -> String {
        script::invocation(script, None, self.opts.become_.as_ref()).command_line()
    }

    /// Opens a channel with `open` on the current master, and returns it
    /// with the master it is on. A master that went away before it read the
    /// request (see `master_gone.rs`) is replaced once and the channel
    /// opened again: the command never started, so nothing runs twice, and
    /// the new master holds the run lock again first. A channel sshd refuses
    /// is retried with backoff.
    async fn open_channel<F, Fut>(&self, open: F) -> Result<(Arc<Session>, Channel), TransportError>
    where
        F: Fn(Arc<Session>) -> Fut,
        Fut: std::future::Future<Output = Result<Channel, openssh::Error>>,
    {
        let mut session = self.current();
        let mut reconnected = false;
        let mut backoff = Duration::from_millis(5);
        let refused_since = std::time::Instant::now();
        loop {
            match open(session.clone()).await {
                Err(e) if never_reached(&e) && !reconnected => {
                    session = self.reconnect(&session).await?;
                    reconnected = true;
                }
                Err(e)
                    if is_session_refused(&e)
                        && refused_since.elapsed() < SESSION_REFUSED_PATIENCE =>
                {
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(250));
                }
                Ok(channel) => return Ok((session, channel)),
                Err(e) => return Err(self.spawn_error(e)),
            }
        }
    }

    /// A command on `session` failed for `reason`: whatever failed, a dead
    /// master explains it better.
    async fn failed_on(&self, session: &Session, reason: String) -> TransportError {
        match session.check().await {
            Ok(()) => self.exec_error(reason),
            Err(e) => TransportError::Disconnected {
                host: self.opts.host.clone(),
                reason: format!(
                    "while running a command ({}); it may or may not have completed",
                    chain(&e)
                ),
            },
        }
    }

    fn exec_error(&self, reason: String) -> TransportError {
        TransportError::Exec {
            host: self.opts.host.clone(),
            reason,
        }
    }

    fn spawn_error(&self, e: openssh::Error) -> TransportError {
        if is_session_refused(&e) {
            return self.exec_error(format!(
                "sshd keeps refusing new sessions ({}): its MaxSessions is lower than {MAX_CHANNELS} \
                 or other clients share the connection",
                chain(&e)
            ));
        }
        if never_reached(&e) {
            return TransportError::Disconnected {
                host: self.opts.host.clone(),
                reason: "the master connection went away and could not be restarted".into(),
            };
        }
        match e {
            openssh::Error::InvalidCommand => {
                self.exec_error("the script contains a NUL byte".into())
            }
            other => self.exec_error(format!("cannot open a channel ({})", chain(&other))),
        }
    }

    /// Stops the master (it exits once no channel is open) and removes its
    /// socket directory; with `keep`, a persistent master is left running
    /// instead (see `persist/`).
    pub async fn close(self, keep: bool) -> Result<(), TransportError> {
        let relocked = self.relock().holder.take();
        if let Some(holder) = relocked {
            holder.release().await;
        }
        let session = self.session.into_inner().unwrap_or_else(|e| e.into_inner());
        if !self.opts.persist.is_zero() {
            if !keep {
                persist::close(session.control_socket()).await;
            }
            return Ok(());
        }
        let closed = match Arc::try_unwrap(session) {
            Ok(session) => session.close().await,
            // A command still holds it; the last one to finish drops it, which
            // stops the master synchronously.
            Err(_shared) => Ok(()),
        };
        match closed {
            Ok(()) | Err(openssh::Error::Disconnected) => Ok(()),
            Err(e) => Err(TransportError::Exec {
                host: self.opts.host.clone(),
                reason: format!("closing the master connection: {}", chain(&e)),
            }),
        }
    }
}

/// A command's channel on a master it keeps a handle on.
type Channel = openssh::Child<Arc<Session>>;

/// Whether sshd refused to open a channel: over `MaxSessions`, which also counts
/// sessions that have exited but whose close has not been processed yet.
fn is_session_refused(e: &openssh::Error) -> bool {
    matches!(e, openssh::Error::SshMux(_)) && chain(e).contains("open refused")
}

/// Opens one channel running `cmdline`.
async fn spawn(
    master: Arc<Session>,
    cmdline: &str,
    with_stdin: bool,
) -> Result<Channel, openssh::Error> {
    Session::to_raw_command(master, cmdline)
        .stdin(if with_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .await
}

async fn read_all<R: AsyncRead + Unpin>(pipe: Option<R>) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_end(&mut buf).await?;
    }
    Ok(buf)
}

/// An error and its sources on one line: openssh's top-level messages are
/// generic ("failed to connect to the ssh multiplex server").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Whether [`launch`] may resume a kept master (`--persist`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reuse {
    /// A live one left by an earlier run for the same connection.
    Live,
    /// None: the master is replacing one that went away, and a kept one
    /// that answered a moment ago may be the same master idling out.
    None,
}

/// Starts a master connection for `opts`: a new one closed with the run,
/// or with `--persist`, a live one left by an earlier run for the same
/// connection (as `reuse` allows), else a new one that outlives the run
/// (see `persist/`).
async fn launch(opts: &ConnectOptions, reuse: Reuse) -> Result<Session, TransportError> {
    usable_control_dir(opts, &opts.control_dir)?;
    let mut b = SessionBuilder::default();
    b.connect_timeout(opts.connect_timeout.max(Duration::from_secs(1)));
    if let Some(user) = &opts.user {
        b.user(user.clone());
    }
    if let Some(port) = opts.port {
        b.port(port);
    }
    if let Some(key) = &opts.identity_file {
        b.keyfile(key);
    }
    if let Some(config) = &opts.ssh_config {
        b.config_file(config);
    }
    let (b, destination) = b.resolve(&opts.address);
    let mut b = b.into_owned();
    if destination.is_empty() || destination.starts_with('-') {
        return Err(TransportError::Unreachable {
            host: opts.host.clone(),
            reason: format!("{:?} is not a valid address", opts.address),
        });
    }
    let resolved = resolve_config(opts, &b, destination).await?;
    b.server_alive_interval(resolved.server_alive.unwrap_or(SERVER_ALIVE));
    // Errors read as the checking that was in force: the user's, if strict.
    let opts = &ConnectOptions {
        known_hosts: match resolved.check {
            KnownHosts::Strict => HostKeyPolicy::Strict,
            _ => opts.known_hosts,
        },
        ..opts.clone()
    };
    b.known_hosts_check(resolved.check.clone());
    if opts.persist.is_zero() {
        b.control_directory(&opts.control_dir)
            .control_persist(ControlPersist::IdleFor(
                NonZeroUsize::new(IDLE_PERSIST_SECS).unwrap_or(NonZeroUsize::MIN),
            ));
        let started = b.connect_mux(destination).await;
        return started.map_err(|e| launch_error(opts, &opts.control_dir, e));
    }
    let policy = format!("{:?}", resolved.check);
    let dir = persist::master_dir(opts, &b, destination, &resolved.text, &policy)
        .map_err(|e| refused_dir(opts, e))?;
    usable_control_dir(opts, &dir)?;
    let patience = opts.connect_timeout + Duration::from_secs(5);
    if reuse == Reuse::Live {
        if let Some(live) = persist::live_master(&dir, &resolved.text, patience).await {
            return Ok(live);
        }
    }
    let started = persist::launch(&mut b, &dir, destination, &resolved.text, opts.persist).await;
    started.map_err(|e| {
        persist::remove_if_unused(&dir);
        launch_error(opts, &dir, e)
    })
}

/// Refuses a control folder too long for socket paths, or not private.
fn usable_control_dir(opts: &ConnectOptions, dir: &Path) -> Result<(), TransportError> {
    if dir.as_os_str().len() > MAX_CONTROL_DIR_LEN {
        return Err(TransportError::Io {
            host: opts.host.clone(),
            context: format!(
                "the control directory {} is too long for a unix socket path (at most {MAX_CONTROL_DIR_LEN} bytes)",
                dir.display()
            ),
            source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        });
    }
    private_control_dir(dir).map_err(|e| refused_dir(opts, e))
}

fn refused_dir(opts: &ConnectOptions, e: crate::private::PrivateDirError) -> TransportError {
    TransportError::Io {
        host: opts.host.clone(),
        context: "refusing the control directory".into(),
        source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, e),
    }
}

/// What starting a master in `dir` failing means for the user.
fn launch_error(opts: &ConnectOptions, dir: &Path, e: openssh::Error) -> TransportError {
    let host = || opts.host.clone();
    match e {
        // openssh's connect error carries ssh's stderr as its message; an
        // OS error instead means `ssh` itself could not be run.
        openssh::Error::Connect(io) if io.raw_os_error().is_none() => {
            connect_error(opts, &io.to_string())
        }
        openssh::Error::Connect(source) => TransportError::Io {
            host: host(),
            context: "cannot run `ssh` (is the OpenSSH client installed?)".into(),
            source,
        },
        openssh::Error::Master(source) => TransportError::Io {
            host: host(),
            context: format!(
                "cannot create the control socket directory in {}",
                dir.display()
            ),
            source,
        },
        other => TransportError::Unreachable {
            host: host(),
            reason: chain(&other),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn refusal(dir: &Path) -> String {
        let opts = ConnectOptions::new("h", "127.0.0.1", dir.to_path_buf());
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(launch(&opts, Reuse::Live))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_control_dir_open_to_others_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let open = base.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = refusal(&open);
        assert!(
            e.contains("refusing the control directory") && e.contains("0700"),
            "{e}"
        );
    }

    #[test]
    #[ignore = "needs root (chowns a folder to nobody): tests/run.sh runs it as root"]
    fn a_control_dir_of_another_user_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let theirs = base.path().join("theirs");
        std::fs::DirBuilder::new().create(&theirs).unwrap();
        std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534))
            .expect("chown to nobody (the tests run as root in CI)");
        let e = refusal(&theirs);
        assert!(e.contains("belongs to uid 65534"), "{e}");
    }

    #[test]
    fn an_ssh_url_cannot_smuggle_an_option() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("ran");
        let address = format!("ssh://-oProxyCommand=touch {}", marker.display());
        let mut opts = ConnectOptions::new("h", address, dir.path().join("c"));
        opts.connect_timeout = Duration::from_secs(2);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let e = rt
            .block_on(launch(&opts, Reuse::Live))
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a valid address"), "{e}");
        assert!(!marker.exists(), "ssh ran the smuggled ProxyCommand");
    }
}
