//! SSH masters that outlive the run, as Ansible's `ControlPersist` leaves
//! them: the next run within `--persist` seconds reuses them without a
//! handshake.
//!
//! Each master lives in `<persist folder>/<key>/` (see `folder.rs`), the key
//! a hash of everything that decides who and what it is connected to (see
//! `key.rs`), beside a hash of the known_hosts entries it was checked
//! against: a master is only reused by a connection that would have made
//! the same one. The folder also holds a `host` file naming the host, for
//! `kbz-play disconnect` (see `disconnect.rs`). A master found dead is
//! replaced silently. Sessions on persisted masters are resumed, never
//! owned: dropping one leaves the master to its `ControlPersist` time;
//! closing one (Ctrl-C) stops it.

mod disconnect;
mod folder;
mod key;

use std::collections::BTreeSet;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use openssh::{ControlPersist, Session, SessionBuilder};

pub use disconnect::{disconnect, Closed};
pub use folder::{persist_dir, PersistDirError};
pub(super) use key::resolved_value;
use key::{known_hosts_fingerprint, master_key, KeyInputs};

use super::control_dir::private_control_dir;
use super::ConnectOptions;

/// What openssh names a master's own folder (`launch_master`).
const CONNECTION_PREFIX: &str = ".ssh-connection";

/// The file in a host's folder naming it, for `disconnect`: its inventory
/// name, then `user@address:port`.
const HOST_FILE: &str = "host";

/// The file in a master's own folder holding the hash of the known_hosts
/// entries it was checked against ([`known_hosts_fingerprint`]).
const KNOWN_HOSTS_FILE: &str = "known_hosts.sha256";

/// The master folders this process used, for a second Ctrl-C that exits
/// without closing sessions: [`end_used_masters`] ends exactly these.
static USED: Mutex<BTreeSet<PathBuf>> = Mutex::new(BTreeSet::new());

fn used() -> std::sync::MutexGuard<'static, BTreeSet<PathBuf>> {
    USED.lock().unwrap_or_else(|e| e.into_inner())
}

/// The folder for the master `opts` would start (`b` resolved for
/// `destination`, `resolved` being `ssh -G`'s answer, `policy` the host-key
/// checking in force), made 0700 with its `host` file.
pub(super) fn master_dir(
    opts: &ConnectOptions,
    b: &SessionBuilder,
    destination: &str,
    resolved: &str,
    policy: &str,
) -> Result<PathBuf, crate::private::PrivateDirError> {
    let key = master_key(&KeyInputs {
        destination,
        user: b.get_user(),
        port: b.get_port(),
        identity_file: opts.identity_file.as_deref(),
        ssh_config: opts.ssh_config.as_deref(),
        host_key_policy: policy,
        resolved,
        persist_secs: opts.persist.as_secs(),
    });
    let dir = opts.control_dir.join(key);
    private_control_dir(&dir)?;
    let target = format!(
        "{}@{}:{}",
        resolved_value(resolved, "user").unwrap_or_default(),
        resolved_value(resolved, "hostname").unwrap_or(destination),
        resolved_value(resolved, "port").unwrap_or("22"),
    );
    // Written when it changes only: rewriting it waits for its last write
    // to reach the disk, on the thread that connects the hosts.
    let (file, text) = (dir.join(HOST_FILE), format!("{}\n{target}\n", opts.host));
    if std::fs::read_to_string(&file).ok().as_deref() != Some(text.as_str()) {
        let _ = std::fs::write(file, text);
    }
    Ok(dir)
}

/// A live master in `dir` checked against the known_hosts entries `ssh -G`
/// (`resolved`) names as they are now, resumed. Dead ones found on the way
/// are ended and removed; live ones checked against other entries are left
/// to idle out; a folder without a socket yet is another run's master
/// still connecting, and is left alone for `patience`. A folder whose
/// socket is gone past that is a master that idled out (ssh removes its
/// socket as it exits): removed, without looking for its process, which
/// reads every process's command line on the machine (see
/// [`super::end_masters`]), for every host of a run after the persist time.
pub(super) async fn live_master(dir: &Path, resolved: &str, patience: Duration) -> Option<Session> {
    let fingerprint = known_hosts_fingerprint(resolved);
    for conn in connection_dirs(dir) {
        if !conn.join("master").exists() {
            if !younger_than(&conn, patience) {
                let _ = std::fs::remove_dir_all(&conn);
            }
            continue;
        }
        let session = resumed(&conn);
        if session.check().await.is_err() {
            super::end_masters(&conn);
            let _ = std::fs::remove_dir_all(&conn);
            continue;
        }
        let checked = std::fs::read_to_string(conn.join(KNOWN_HOSTS_FILE));
        if checked.is_ok_and(|c| c == fingerprint) {
            used().insert(conn);
            return Some(session);
        }
    }
    None
}

/// Starts a master in `dir` that lives `persist` after its last channel,
/// resumed so that dropping the session leaves it running. The known_hosts
/// entries are read once it is up: they hold the key a first contact recorded.
pub(super) async fn launch(
    b: &mut SessionBuilder,
    dir: &Path,
    destination: &str,
    resolved: &str,
    persist: Duration,
) -> Result<Session, openssh::Error> {
    let secs = usize::try_from(persist.as_secs()).unwrap_or(usize::MAX);
    b.control_directory(dir)
        .control_persist(ControlPersist::IdleFor(
            NonZeroUsize::new(secs).unwrap_or(NonZeroUsize::MIN),
        ));
    let conn = b.launch_master(destination).await?.keep();
    let checked = known_hosts_fingerprint(resolved);
    let _ = std::fs::write(conn.join(KNOWN_HOSTS_FILE), checked);
    let session = resumed(&conn);
    used().insert(conn);
    Ok(session)
}

/// Stops the master of the control socket `ctl` (it exits once no channel
/// is open, as `ssh -O stop` has it) and [`forget`]s it.
pub(super) async fn close(ctl: &Path) {
    if let Some(conn) = ctl.parent() {
        let _ = resumed(conn).close().await;
    }
    forget(ctl);
}

/// After closing a master: removes its folder, and the host's when no
/// other master is left in it.
fn forget(ctl: &Path) {
    let Some(conn) = ctl.parent() else { return };
    used().remove(conn);
    let _ = std::fs::remove_dir_all(conn);
    if let Some(dir) = conn.parent() {
        remove_if_unused(dir);
    }
}

/// Ends every master this process used (TERM, see
/// [`super::end_masters`]) and removes their folders; returns how many
/// were ended. For a second Ctrl-C, which cannot wait for sessions to close.
pub fn end_used_masters() -> usize {
    let conns: Vec<PathBuf> = std::mem::take(&mut *used()).into_iter().collect();
    let mut ended = 0;
    for conn in conns {
        ended += super::end_masters(&conn);
        let _ = std::fs::remove_dir_all(&conn);
        if let Some(dir) = conn.parent() {
            remove_if_unused(dir);
        }
    }
    ended
}

/// Removes a master folder holding no master (only its `host` file).
pub(super) fn remove_if_unused(dir: &Path) {
    if connection_dirs(dir).is_empty() {
        let _ = std::fs::remove_file(dir.join(HOST_FILE));
        let _ = std::fs::remove_dir(dir);
    }
}

fn resumed(conn: &Path) -> Session {
    Session::resume_mux(
        conn.join("master").into_boxed_path(),
        Some(conn.join("log").into_boxed_path()),
    )
}

/// openssh's folders of the masters in `dir`.
fn connection_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(CONNECTION_PREFIX)
        })
        .map(|e| e.path())
        .collect()
}

fn younger_than(path: &Path, age: Duration) -> bool {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|a| a < age)
}

#[cfg(test)]
mod tests;
