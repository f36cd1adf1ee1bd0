//! The local cache: which resources each host had in the last run.
//!
//! A playbook is a program, so the engine only learns which files, units and
//! packages a host has as its script runs. The cache remembers that list (the
//! cacheable [`Probe`]s) per inventory and host, together with the digest of
//! the state the run left each path in. On the next run the engine answers all
//! of them in the host's first round trip, and every operation that finds its
//! answer there costs no further SSH traffic.
//!
//! The cache is a speed-up, never the truth: operations always compare against
//! what the host says *now*. A missing or corrupt cache only costs speed, and
//! it never holds contents (which may be secret), only paths, names and hashes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::probe::Probe;

const FORMAT: u32 = 1;

/// What is remembered for one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCache {
    /// Format version; another version is ignored (and rewritten).
    pub format: u32,
    /// Probes answered during the last run.
    pub probes: Vec<Probe>,
    /// SHA-256 of each file whose whole content the last run decided
    /// (copy/template), as it left it, to tell the user when one was edited
    /// on the host since ("drift").
    #[serde(default)]
    pub digests: BTreeMap<String, String>,
}

/// The cache folder of one inventory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: Option<PathBuf>,
}

impl Cache {
    /// The cache for `inventory` under `base` (e.g. `~/.cache/kbz-play`). Two
    /// inventories never share entries, even for hosts with the same name.
    pub fn new(base: &Path, inventory: &Path) -> Self {
        let abs = std::fs::canonicalize(inventory).unwrap_or_else(|_| inventory.to_path_buf());
        let id = crate::digest::sha256_hex(abs.to_string_lossy().as_bytes());
        Cache {
            dir: Some(base.join(&id[..16])),
        }
    }

    /// A cache that remembers nothing (`--no-cache`).
    pub fn disabled() -> Self {
        Cache { dir: None }
    }

    /// The default base folder: `$XDG_CACHE_HOME/kbz-play`, else `~/.cache/kbz-play`.
    pub fn default_base() -> PathBuf {
        std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir)
            .join("kbz-play")
    }

    fn file(&self, host: &str) -> Option<PathBuf> {
        let safe: String = host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.dir.as_ref().map(|d| d.join(format!("{safe}.json")))
    }

    /// What the last run remembered for `host`; empty when there is nothing
    /// usable (missing, corrupt, other format).
    pub fn load(&self, host: &str) -> HostCache {
        let Some(path) = self.file(host) else {
            return HostCache::default();
        };
        std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<HostCache>(&b).ok())
            .filter(|c| c.format == FORMAT)
            .unwrap_or_default()
    }

    /// Replaces `host`'s entry, atomically (temp file + rename), so a crash
    /// mid-write leaves the previous entry or none, never a torn one.
    pub fn store(&self, host: &str, entry: &HostCache) -> std::io::Result<()> {
        let Some(path) = self.file(host) else {
            return Ok(());
        };
        let dir = path.parent().expect("cache file has a parent");
        std::fs::create_dir_all(dir)?;
        let mut entry = entry.clone();
        entry.format = FORMAT;
        let tmp = dir.join(format!(".{}.tmp{}", host, std::process::id()));
        std::fs::write(&tmp, serde_json::to_vec(&entry)?)?;
        std::fs::rename(&tmp, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption() {
        let base = tempfile::tempdir().unwrap();
        let cache = Cache::new(base.path(), Path::new("/x/inventory.tsv"));
        assert_eq!(cache.load("h1"), HostCache::default());
        let entry = HostCache {
            format: 0,
            probes: vec![Probe::path("/etc/a"), Probe::Service { unit: "ssh".into() }],
            digests: [("/etc/a".to_string(), "ab".repeat(32))].into(),
        };
        cache.store("h1", &entry).unwrap();
        let back = cache.load("h1");
        assert_eq!(back.probes, entry.probes);
        assert_eq!(back.digests, entry.digests);
        std::fs::write(cache.file("h1").unwrap(), b"{not json").unwrap();
        assert_eq!(cache.load("h1"), HostCache::default());
        let other = Cache::new(base.path(), Path::new("/y/inventory.tsv"));
        assert_eq!(other.load("h1"), HostCache::default());
        assert_eq!(Cache::disabled().load("h1"), HostCache::default());
    }
}
