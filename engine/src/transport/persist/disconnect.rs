//! `kbz-play disconnect [PATTERN]`: ends persisted masters before their
//! time, e.g. before a host's reinstall or when leaving a shared machine.

use std::path::Path;

use super::{connection_dirs, remove_if_unused, resumed, HOST_FILE};

/// A master `disconnect` closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The inventory name it was started for.
    pub host: String,
    /// `user@address:port`.
    pub target: String,
}

/// Closes the live masters in `persist` (see [`super::persist_dir`]) whose
/// host name or `user@address:port` matches the glob `pattern` (all without
/// one) and removes their folders (dead ones' too); returns the ones closed.
pub async fn disconnect(
    persist: &Path,
    pattern: Option<&str>,
) -> Result<Vec<Closed>, globset::Error> {
    let matcher = globset::Glob::new(pattern.unwrap_or("*"))?.compile_matcher();
    let mut closed = Vec::new();
    let Ok(entries) = std::fs::read_dir(persist) else {
        return Ok(closed);
    };
    for dir in entries.flatten().map(|e| e.path()) {
        let text = std::fs::read_to_string(dir.join(HOST_FILE)).unwrap_or_default();
        let mut lines = text.lines().map(str::to_string);
        let host = lines.next().unwrap_or_default();
        let target = lines.next().unwrap_or_default();
        if !matcher.is_match(&host) && !matcher.is_match(&target) {
            continue;
        }
        for conn in connection_dirs(&dir) {
            if close(&conn).await {
                closed.push(Closed {
                    host: host.clone(),
                    target: target.clone(),
                });
            }
        }
        remove_if_unused(&dir);
    }
    closed.sort_by(|a, b| (&a.host, &a.target).cmp(&(&b.host, &b.target)));
    Ok(closed)
}

/// Closes the master of `conn` and removes its folder; whether it was live.
async fn close(conn: &Path) -> bool {
    let ctl = conn.join("master");
    let live = resumed(conn).check().await.is_ok();
    if !live {
        crate::transport::end_masters(conn);
    }
    // A run still using it keeps it until that run is done.
    super::close(&ctl).await;
    live
}
