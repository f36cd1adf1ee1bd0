//! The per-host run lock: two runs against one host at once would interleave
//! their probes and changes, so each run holds an exclusive `flock` on the host
//! for as long as it is connected.
//!
//! A holder process, started on its own channel when the session opens, takes
//! the lock (waiting up to the lock timeout), writes who holds it next to the
//! lock file, prints `locked` and then blocks reading its stdin. Its stdin is
//! ours: it closes when the run releases the lock, ends, crashes or loses the
//! connection, the holder exits, and the kernel drops the lock with its last
//! file descriptor, so a dead run never leaves a stale lock. The opening batch
//! is started at the same time and waits on the host until the holder file
//! names this run ([`RunLock::wait_script`]): taking the lock costs no round
//! trip of its own. Over SSH the holder uses one channel for the whole run,
//! which [`super::ssh::MAX_CHANNELS`] leaves room for.
//!
//! Where: root's lock is `/run/kbz-play-HOST.lock` (HOST: the inventory
//! name); another user cannot write there, so theirs is
//! `$HOME/.kbz-play-HOST.lock` (it then only keeps that user's runs apart),
//! not in `/tmp`, where another user could plant a symlink for the holder
//! file to truncate. On the local transport `KBZ_LOCK_DIR` names another
//! folder, so tests running at once on this machine do not wait for each other.
//!
//! A master restarted mid-run (see `ssh.rs`) no longer carries the holder:
//! the rest of that run goes on unlocked.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, BufReader};

use super::{Transport, TransportError};
use crate::shell::quote;

/// Exit status of a holder that gave up waiting.
const BUSY_RC: i32 = 75;

/// How long the opening batch waits for its holder beyond the lock timeout:
/// the holder gives up first and reports who holds the lock.
const WAIT_MARGIN: Duration = Duration::from_secs(10);

/// Taking the lock failed.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run held the lock for the whole timeout.
    #[error(
        "{host}: host is busy: another kbz-play run holds its lock ({holder}); \
         waited {waited}s; wait for it or stop it"
    )]
    Busy {
        /// Inventory name.
        host: String,
        /// Who holds it, as the holder wrote it: user, pid, start time.
        holder: String,
        /// How long this run waited, in seconds.
        waited: u64,
    },
    /// The holder could not take the lock at all (no `flock`, unwritable folder).
    #[error(
        "{host}: cannot take the run lock: {reason}; check that `flock` is installed \
         and the lock's folder is writable"
    )]
    Failed {
        /// Inventory name.
        host: String,
        /// The holder's exit status and stderr.
        reason: String,
    },
}

/// One run's claim on a host's lock: who we are and how long we wait.
#[derive(Debug, Clone)]
pub struct RunLock {
    /// The inventory name, for messages.
    host: String,
    /// The lock file's name, from the inventory name (see [`RunLock::new`]).
    name: String,
    /// Unique to this run and host, so the opening batch recognises its holder.
    id: String,
    /// Written next to the lock for a waiting run to name us.
    holder: String,
    /// How long to wait for another run to release the lock.
    timeout: Duration,
}

impl RunLock {
    /// A claim for this process on inventory host `host`, naming the local
    /// user and pid. The lock is per inventory name, not per machine: hosts
    /// of one run that are the same machine (every local-connection host)
    /// must not wait for each other.
    pub fn new(host: &str, timeout: Duration) -> RunLock {
        let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
        let name: String = host
            .chars()
            .map(|c| if safe(c) { c } else { '_' })
            .collect();
        let pid = std::process::id();
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| {
                use std::os::unix::fs::MetadataExt;
                let uid = std::fs::metadata("/proc/self").map(|m| m.uid());
                uid.map_or_else(|_| "?".into(), |uid| format!("uid {uid}"))
            });
        let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "?".into());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        RunLock {
            host: host.to_string(),
            name: format!("kbz-play-{name}.lock"),
            id: format!("{pid}-{nanos}"),
            holder: format!("user {user}@{machine}, pid {pid}"),
            timeout,
        }
    }

    /// Shell lines setting `kbz_lock` to the lock file (see the module doc).
    fn locate(&self, transport: &Transport) -> String {
        let dir = match transport {
            Transport::Local(_) => std::env::var("KBZ_LOCK_DIR").ok(),
            Transport::Ssh(_) => None,
        };
        match dir {
            Some(dir) => format!("kbz_lock={}/{}\n", quote(&dir), self.name),
            None => format!(
                "if [ \"$(id -u)\" = 0 ]; then kbz_lock=/run/{name}; \
                 else kbz_lock=\"$HOME/.{name}\"; fi\n",
                name = self.name
            ),
        }
    }

    /// The holder: takes the lock, says who holds it, prints `locked` and
    /// keeps it until its stdin closes; prints `busy` and the current
    /// holder instead when the timeout passes.
    fn holder_script(&self, transport: &Transport) -> String {
        format!(
            "{locate}exec 9>>\"$kbz_lock\" || exit 1\n\
             if ! flock -w {secs} 9; then echo busy; cat \"$kbz_lock.info\" 2>/dev/null; exit {BUSY_RC}; fi\n\
             printf 'run %s\\n%s, started %s\\n' {id} {holder} \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\" >\"$kbz_lock.info\"\n\
             echo locked\n\
             exec cat >/dev/null\n",
            locate = self.locate(transport),
            secs = self.timeout.as_secs_f64(),
            id = quote(&self.id),
            holder = quote(&self.holder),
        )
    }

    /// Shell lines to put before a script that must only run under this
    /// run's lock: they wait until the holder file names this run, or exit
    /// with [`BUSY_RC`] well after the holder gave up.
    pub fn wait_script(&self, transport: &Transport) -> String {
        let polls = (self.timeout + WAIT_MARGIN).as_millis() / 10;
        format!(
            "{locate}kbz_n=0\n\
             until grep -qxF {line} \"$kbz_lock.info\" 2>/dev/null; do\n\
             kbz_n=$((kbz_n+1)); if [ \"$kbz_n\" -gt {polls} ]; then echo 'the run lock was not taken' >&2; exit {BUSY_RC}; fi\n\
             sleep 0.01\n\
             done\n",
            locate = self.locate(transport),
            line = quote(&format!("run {}", self.id)),
        )
    }
}

/// The holder process of a taken lock; dropping it (or [`LockHolder::release`])
/// closes its stdin and so releases the lock.
pub struct LockHolder {
    stdin: Option<Box<dyn AsyncWrite + Send + Sync + Unpin>>,
    stdout: BufReader<Box<dyn AsyncRead + Send + Sync + Unpin>>,
    stderr: Option<Box<dyn AsyncRead + Send + Sync + Unpin>>,
    child: Child,
}

impl std::fmt::Debug for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockHolder").finish_non_exhaustive()
    }
}

enum Child {
    Local(tokio::process::Child),
    Ssh(openssh::Child<std::sync::Arc<openssh::Session>>),
}

impl Transport {
    /// Takes the host's run lock: starts the holder and waits until it holds
    /// the lock, or reports who else does when `lock`'s timeout passes.
    pub async fn hold_lock(&self, lock: &RunLock) -> Result<LockHolder, LockHolderError> {
        let script = lock.holder_script(self);
        let mut holder = match self {
            Transport::Local(t) => t.spawn_holder(&script)?,
            Transport::Ssh(t) => t.spawn_holder(&script).await?,
        };
        let started = std::time::Instant::now();
        let mut line = String::new();
        let read = holder.stdout.read_line(&mut line).await;
        if read.is_ok() && line == "locked\n" {
            return Ok(holder);
        }
        let mut rest = String::new();
        let _ = holder.stdout.read_to_string(&mut rest).await;
        let host = lock.host.clone();
        if line == "busy\n" {
            let holder = rest
                .lines()
                .nth(1)
                .unwrap_or("its holder did not say who it is")
                .to_string();
            let waited = started.elapsed().as_secs();
            return Err(LockError::Busy {
                host,
                holder,
                waited,
            }
            .into());
        }
        let mut stderr = Vec::new();
        if let Some(mut pipe) = holder.stderr.take() {
            let _ = pipe.read_to_end(&mut stderr).await;
        }
        let stderr = String::from_utf8_lossy(&stderr).replace("\u{1}kbz-play\u{1}", "");
        Err(LockError::Failed {
            host,
            reason: format!("the holder stopped without taking it ({})", stderr.trim()),
        }
        .into())
    }
}

/// [`Transport::hold_lock`] failed: the lock was refused, or the holder
/// could not be started.
#[derive(Debug, thiserror::Error)]
pub enum LockHolderError {
    /// Busy, or the holder failed.
    #[error(transparent)]
    Lock(#[from] LockError),
    /// The holder could not be started.
    #[error(transparent)]
    Transport(#[from] TransportError),
}

impl LockHolder {
    pub(super) fn local(mut child: tokio::process::Child) -> LockHolder {
        LockHolder {
            stdin: child.stdin.take().map(|p| Box::new(p) as _),
            stdout: BufReader::new(Box::new(child.stdout.take().expect("piped stdout"))),
            stderr: child.stderr.take().map(|p| Box::new(p) as _),
            child: Child::Local(child),
        }
    }

    pub(super) fn ssh(mut child: openssh::Child<std::sync::Arc<openssh::Session>>) -> LockHolder {
        LockHolder {
            stdin: child.stdin().take().map(|p| Box::new(p) as _),
            stdout: BufReader::new(Box::new(child.stdout().take().expect("piped stdout"))),
            stderr: child.stderr().take().map(|p| Box::new(p) as _),
            child: Child::Ssh(child),
        }
    }

    /// Releases the lock: closes the holder's stdin and waits for it to exit,
    /// so the next run finds the lock free as soon as this returns.
    pub async fn release(mut self) {
        drop(self.stdin.take());
        match self.child {
            Child::Local(mut c) => {
                let _ = c.wait().await;
            }
            Child::Ssh(c) => {
                let _ = c.wait().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_file_is_named_after_the_host_with_shell_safe_characters_only() {
        let lock = RunLock::new("web-1.example;rm -rf $HOME", Duration::from_secs(1));
        assert_eq!(lock.name, "kbz-play-web-1.example_rm_-rf__HOME.lock");
    }
}
