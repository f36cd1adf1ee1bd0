//! The per-host run lock: two runs against one machine at once would
//! interleave their probes and changes, so each run holds an `flock` on the
//! machine for as long as it is connected.
//!
//! A holder process, started on its own channel when the session opens, takes
//! the lock (waiting up to the lock timeout), writes who holds it next to the
//! lock file, prints `locked`, runs the session's opening batch
//! ([`RunLock::running_script`]), ends the batch's output with a line of its
//! own, and then blocks reading its stdin. Its stdin is ours: it closes when
//! the run releases the lock, ends, crashes or loses the connection, the
//! holder exits, and the kernel drops the lock with its last file
//! descriptor, so a dead run never leaves a stale lock. Taking the lock
//! costs no round trip and no channel of its own, nor the login shell and
//! `sh` a second channel starts on the host (a warm rerun's cost is the
//! programs it starts there: README, Performance). Over SSH the holder uses
//! one channel for the whole run, which [`super::ssh::MAX_CHANNELS`] leaves
//! room for.
//!
//! Where: the lock is the machine's, not the inventory name's, so two
//! inventories (or two names in one) for one machine still exclude each other.
//! Root's lock is `/run/kbz-play.lock`; another user cannot write there, so
//! theirs is `$HOME/.kbz-play.lock` (it then only keeps that user's runs
//! apart), not in `/tmp`, where another user could plant a symlink for the
//! holder file to truncate. On the local transport `KBZ_LOCK_DIR` names
//! another folder, so tests running at once on this machine do not wait for
//! each other.
//!
//! One run, many names: hosts of one run that are the same machine (every
//! `ansible_connection: local` host, or two names for one address) must not
//! wait for each other. So the lock is shared by the holders of one run
//! ([`RunId`]) and exclusive between runs: the first holder of a run takes it
//! exclusively while nobody holds it, writes its run id in the holder file,
//! and turns it into a shared lock; a later holder joins (a shared lock) only
//! while the holder file names its own run. The turn from exclusive to shared
//! is not atomic in `flock`: another run's holder may take the lock in
//! between and write its own run in the file. So a holder, once it holds the
//! shared lock, reads the file again (only an exclusive holder writes it, so
//! it cannot change under a shared one) and, when it names another run, lets
//! go and tries again, as a waiting holder does every 100 ms. The lock stays
//! with the run until its last holder on the machine is gone.
//!
//! Commands hold it too: over SSH every script of a run that holds the lock
//! runs under `flock -s` on it ([`RunLock::guard`]), so the commands a killed
//! run left in flight keep the next run waiting until they end, as its
//! holder would have; and a script runs only if the holder file names its
//! run, so a run whose holder went away unnoticed while another took the host
//! does not run beside it.
//!
//! A master restarted mid-run (see `ssh.rs`) has lost its holder with the old
//! connection: the transport takes the lock again before the command that
//! needed the new master ([`RunLock::rejoin_script`]). If another run holds it
//! now, or took it in between (the holder file names another run), the host
//! fails with [`LockError::Lost`] instead of going on unlocked.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::Transport;
use crate::shell::quote;

mod holder;

pub use holder::LockHolder;
pub(super) use holder::Opening;

/// Exit status of a holder that gave up waiting.
const BUSY_RC: i32 = 75;

/// Tells apart run ids and holder ids made in one process in the same instant.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// Taking the lock failed.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// The connection was re-established mid-run and another run holds the
    /// lock now or held it meanwhile: going on would interleave with it.
    #[error(
        "{host}: the run lock was lost: the connection was re-established mid-run and another \
         kbz-play run took the host meanwhile ({holder}); this host stops here so the runs do \
         not interleave; run again once it is done"
    )]
    Lost {
        /// Inventory name.
        host: String,
        /// The other run, as its holder wrote it: user, pid, start time.
        holder: String,
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

impl LockError {
    /// The inventory name of the host concerned.
    pub fn host(&self) -> &str {
        match self {
            LockError::Busy { host, .. }
            | LockError::Lost { host, .. }
            | LockError::Failed { host, .. } => host,
        }
    }
}

/// One run's identity on the machines it locks: the holders of one run share
/// a machine's lock, those of another run wait (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunId(String);

impl RunId {
    /// A new run: this process, now, and a sequence number.
    pub fn new() -> RunId {
        RunId(unique())
    }
}

impl Default for RunId {
    fn default() -> Self {
        RunId::new()
    }
}

/// `PID-NANOS-SEQ`: unique on this machine, and shell- and grep-safe.
fn unique() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    format!("{}-{nanos}-{seq}", std::process::id())
}

/// One host's claim on its machine's lock for a run: which run, which
/// holder, and how long we wait.
#[derive(Debug, Clone)]
pub struct RunLock {
    /// The inventory name, for messages.
    host: String,
    /// The run whose holders share the lock.
    run: RunId,
    /// Unique to this claim, so the opening batch recognises its own holder.
    id: String,
    /// Written next to the lock for a waiting run to name us: user, pid
    /// and the control machine's time when the claim was made (the run's
    /// start), formatted here so the host starts no `date` for it.
    holder: String,
    /// How long to wait for another run to release the lock.
    timeout: Duration,
}

/// The lock file's name in its folder (see the module doc).
const LOCK_NAME: &str = "kbz-play.lock";

/// Sets `kbz_uid` to the shell's effective uid (what `id -u` prints), read
/// from `/proc/self/status` (`Uid:` real, effective, saved, fs) without
/// starting `id`, which it falls back to where that file is missing.
const EUID: &str = "kbz_uid=; while read -r kbz_k kbz_r kbz_e kbz_x; do \
     [ \"$kbz_k\" = Uid: ] && kbz_uid=$kbz_e && break; done 2>/dev/null </proc/self/status\n\
     [ -n \"$kbz_uid\" ] || kbz_uid=$(id -u)\n";

/// `kbz_has LINE FILE`: whether FILE has the line LINE (`grep -qxF`, a last
/// line without its newline included), read with the shell's `read` so that
/// a wait polling the holder file starts no program per poll.
const HAS_LINE: &str = "kbz_has() { while IFS= read -r kbz_l || [ -n \"$kbz_l\" ]; do \
     [ \"$kbz_l\" = \"$1\" ] && return 0; done 2>/dev/null <\"$2\"; return 1; }\n";

impl RunLock {
    /// A claim of run `run` for inventory host `host`, naming the local user
    /// and pid.
    pub fn new(run: &RunId, host: &str, timeout: Duration) -> RunLock {
        let pid = std::process::id();
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| {
                use std::os::unix::fs::MetadataExt;
                let uid = std::fs::metadata("/proc/self").map(|m| m.uid());
                uid.map_or_else(|_| "?".into(), |uid| format!("uid {uid}"))
            });
        let started = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ");
        let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "?".into());
        RunLock {
            host: host.to_string(),
            run: run.clone(),
            id: unique(),
            holder: format!("user {user}@{machine}, pid {pid}, started {started}"),
            timeout,
        }
    }

    /// How long the holder waits for another run to release the lock.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Shell lines setting `kbz_lock` to the lock file (see the module doc).
    fn locate(&self, transport: &Transport) -> String {
        let dir = match transport {
            Transport::Local(_) => std::env::var("KBZ_LOCK_DIR").ok(),
            Transport::Ssh(_) => None,
        };
        Self::locate_in(dir)
    }

    /// [`RunLock::locate`] given the folder, `None` for the default one.
    fn locate_in(dir: Option<String>) -> String {
        match dir {
            Some(dir) => format!("kbz_lock={}/{LOCK_NAME}\n", quote(&dir)),
            None => format!(
                "{EUID}if [ \"$kbz_uid\" = 0 ]; then kbz_lock=/run/{LOCK_NAME}; \
                 else kbz_lock=\"$HOME/.{LOCK_NAME}\"; fi\n"
            ),
        }
    }

    /// The holder: takes the lock (exclusively, or shared with its own run),
    /// says who holds it and prints `locked` and the lock file, or `busy`
    /// and the current holder when the timeout passes. Then it runs
    /// `opening` (an `sh` script) with the first `input` bytes of its stdin
    /// (none: an empty stdin) and prints the end line [`Opening::end`] with
    /// its exit status on stdout and stderr, and keeps the lock until its
    /// stdin closes. The opening runs without the lock's
    /// descriptor: a process it leaves behind does not keep the host locked.
    pub(super) fn running_script(
        &self,
        transport: &Transport,
        opening: &str,
        input: Option<usize>,
    ) -> (String, Opening) {
        self.running_lines(&self.locate(transport), opening, input)
    }

    /// [`RunLock::running_script`] given the lines that locate the lock.
    fn running_lines(
        &self,
        locate: &str,
        opening: &str,
        input: Option<usize>,
    ) -> (String, Opening) {
        let take = self.take_lines(locate, self.timeout, "");
        let feed = match input {
            Some(n) => format!("dd bs=65536 iflag=fullblock,count_bytes count={n} status=none | "),
            None => String::new(),
        };
        let empty = if input.is_none() { " </dev/null" } else { "" };
        let opened = Opening {
            end: format!("@@kbz-opened-{}", self.id),
        };
        let script = format!(
            "{take}{feed}(\n{opening}\n) 9>&-{empty}\n\
             kbz_rc=$?; printf '\\n%s %s\\n' {end} \"$kbz_rc\"; printf '\\n%s %s\\n' {end} \"$kbz_rc\" >&2\n\
             {HOLD}",
            end = quote(&opened.end),
        );
        (script, opened)
    }

    /// The holder of a master restarted mid-run (only SSH restarts one, so
    /// the lock is in its default folder): takes the lock without waiting,
    /// and only if the last run to take it was this one; else prints `busy`
    /// and who took it.
    pub(super) fn rejoin_script(&self) -> String {
        let ours = quote(&format!("run {}", self.run.0));
        let check = format!(
            "if ! kbz_has {ours} \"$kbz_lock.info\"; then echo busy; cat \"$kbz_lock.info\"; exit {BUSY_RC}; fi\n"
        );
        let take = self.take_lines(&Self::locate_in(None), Duration::ZERO, &check);
        format!("{take}{HOLD}")
    }

    /// The holder's lines up to `locked`; `fresh_check` runs when it found the lock free,
    /// before it claims it. `kbz_now` reads the clock from `/proc/uptime` in
    /// centiseconds without a fork; its leading `1` keeps `$((...))` from
    /// reading a leading `0` as octal. A missing `flock` fails at once rather
    /// than passing for a busy host. A shared lock taken in another run's
    /// stead is let go by closing and opening the lock file again, not by an
    /// `flock -u`, and the holder waits for its stdin to close with the
    /// shell's `read` ([`HOLD`]), not an `exec cat`: on a free host it
    /// starts two programs, the `flock`s that take the lock and turn it.
    fn take_lines(&self, locate: &str, timeout: Duration, fresh_check: &str) -> String {
        let run = quote(&format!("run {}", self.run.0));
        format!(
            "{locate}{HAS_LINE}command -v flock >/dev/null || {{ echo 'flock: command not found' >&2; exit 1; }}\n\
             exec 9>>\"$kbz_lock\" || exit 1\n\
             kbz_now() {{ read kbz_up kbz_rest </proc/uptime; kbz_cs=1${{kbz_up%.*}}${{kbz_up#*.}}; }}\n\
             kbz_take() {{\n\
             if flock -n 9; then\n\
             {fresh_check}\
             printf '%s\\n%s\\n' {run} {holder} >\"$kbz_lock.info\"\n\
             flock -s 9 || return 1\n\
             elif ! kbz_has {run} \"$kbz_lock.info\" || ! flock -s -n 9; then\n\
             return 1\n\
             fi\n\
             kbz_has {run} \"$kbz_lock.info\" || {{ exec 9>&- 9>>\"$kbz_lock\"; return 1; }}\n\
             printf 'holder %s\\n' {id} >>\"$kbz_lock.info\"\n\
             }}\n\
             kbz_now; kbz_end=$((kbz_cs + {cs}))\n\
             until kbz_take; do\n\
             kbz_now; if [ \"$kbz_cs\" -ge \"$kbz_end\" ]; then echo busy; cat \"$kbz_lock.info\"; exit {BUSY_RC}; fi\n\
             sleep 0.1\n\
             done\n\
             echo \"locked $kbz_lock\"\n",
            cs = timeout.as_millis() / 10,
            id = quote(&self.id),
            holder = quote(&self.holder),
        )
    }

    /// `script` run so that it holds the lock at `path` (as the holder
    /// reported it) too: a run killed with its commands in flight leaves them
    /// running on the host, and the next run must wait for them as for a
    /// holder. It runs under `flock -o -s`: flock itself holds a shared lock
    /// until the script ends, and what the script leaves running in the
    /// background (a daemon it starts) does not inherit it. Under that lock
    /// the holder file cannot change, so its first line must name this run:
    /// else another run has the host, and the script does not run. All of it
    /// costs one `flock` and one `sh` on the host, no round trip. The script
    /// is one argument of that `sh -c`, so one too long to stay on the command
    /// line (see `script/mod.rs`) runs unguarded: `None`.
    pub(super) fn guard(&self, path: &str, script: &str) -> Option<String> {
        let inner = format!(
            "read -r kbz_run <{info}; [ \"$kbz_run\" = {run} ] \
             || {{ echo 'kbz-play: this run does not hold the run lock of the host' >&2; exit {BUSY_RC}; }}\n\
             {script}",
            info = quote(&format!("{path}.info")),
            run = quote(&format!("run {}", self.run.0)),
        );
        let guarded = format!(
            "exec flock -o -s -n -E {BUSY_RC} {lock} sh -c {inner}\n",
            lock = quote(path),
            inner = quote(&inner),
        );
        (guarded.len() <= super::script::MAX_INLINE_SCRIPT).then_some(guarded)
    }
}

/// How a holder ends, then holds the lock: it reads its stdin until it
/// closes.
const HOLD: &str = "while read -r kbz_l; do :; done\n";

#[cfg(test)]
mod tests;
