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
//! it never holds contents (which may be secret), only paths, names and hashes,
//! and the host's facts as the last run gathered them (the next run's guess
//! of them, see [`HostCache::facts`]).
//!
//! Paths, units and packages are data. A `query` probe is a script, which the
//! opening round trip runs before the playbook's plays do: it is kept sealed
//! (see [`Sealed`]) with this user's key and the run's [`Definition`] (the
//! files the scripts read, the inventory, `-e`, tags, limit). A query loads
//! only when its seal verifies for the current run's definition, so the
//! scripts that run always come from the current playbook: a planted or
//! edited query, or one an earlier version of the playbook asked, never runs.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::definition::{self, Definition};
use crate::private::{self, PrivateDirError};
use crate::probe::{Facts, Probe};

/// 4: digests keyed, queries sealed with the run's definition (an entry of
/// another format is ignored).
const FORMAT: u32 = 4;

/// The per-user key's file in the base folder.
const KEY_FILE: &str = "key";

/// What is remembered for one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCache {
    /// Format version; another version is ignored (and rewritten).
    pub format: u32,
    /// Probes answered during the last run. Loaded, it holds the plain ones
    /// and the queries whose seal verified for this run's definition; stored,
    /// the plain ones only.
    pub probes: Vec<Probe>,
    /// The queries of the last run, sealed (see [`Sealed`]).
    #[serde(default)]
    queries: Vec<Sealed>,
    /// The files the last run's scripts read (see [`Definition`]): the
    /// next run hashes them again to tell whether its queries still hold.
    #[serde(default)]
    inputs: Vec<PathBuf>,
    /// For each file whose whole content the last run decided (copy/template),
    /// the SHA-256 it left it with, to tell the user when one was edited on
    /// the host since ("drift"). [`Cache::store`] takes plain SHA-256s and
    /// keeps only their HMAC under the user's cache key: a plain digest of a
    /// file that is all secret could be guessed offline by anyone reading it.
    #[serde(default)]
    pub digests: BTreeMap<String, String>,
    /// The facts the last run gathered. The next run rehearses the host's
    /// plays with them before it opens the host (`run/rehearsal.rs`), so a
    /// read-only command behind a branch on a fact (the host's memory, its
    /// OS) is asked in the opening round trip too. Only a guess: the plays
    /// run on the facts that round trip gathers.
    #[serde(default)]
    pub facts: Option<Facts>,
    /// The key the stored digests were made with (set by [`Cache::load`]).
    #[serde(skip)]
    key: Option<CacheKey>,
}

impl HostCache {
    /// An entry to store: the probes used and the plain SHA-256 of each owned
    /// file as the run left it.
    pub fn new(probes: Vec<Probe>, digests: BTreeMap<String, String>) -> Self {
        HostCache {
            format: FORMAT,
            probes,
            queries: Vec::new(),
            inputs: Vec::new(),
            digests,
            facts: None,
            key: None,
        }
    }

    /// This entry with the facts the run gathered.
    pub fn with_facts(self, facts: Facts) -> Self {
        HostCache {
            facts: Some(facts),
            ..self
        }
    }

    /// Paths whose current SHA-256 (`now`) differs from what the last run
    /// left them with.
    pub fn drifted(&self, now: &BTreeMap<String, String>) -> Vec<String> {
        let Some(key) = &self.key else {
            return Vec::new();
        };
        self.digests
            .iter()
            .filter(|(path, kept)| now.get(*path).is_some_and(|d| key.seal(d) != **kept))
            .map(|(path, _)| path.clone())
            .collect()
    }
}

/// Whether `p` is kept in the cache as plain data: a path, a unit, a
/// package list. A [`Probe::Query`] holds a script, which the next run
/// asks before the playbook is even read: it is kept only sealed (see
/// [`Sealed`]), so a cache file someone planted or edited runs nothing.
fn plain(p: &Probe) -> bool {
    p.cacheable() && !matches!(p, Probe::Query { .. })
}

/// A query probe as the cache keeps it: with the HMAC, under the user's
/// cache key, of its JSON and of the run's [`Definition`] (the playbook and
/// every file its scripts read, the inventory, `-e`, tags and limit). Only
/// this user's own runs can make one that verifies, and it verifies only
/// while nothing that shapes the scripts changed, so its script is one the
/// current playbook, with the same inputs, asked last time: a query an
/// earlier version of the playbook asked is dropped, never run. Keeping the
/// scripts (rather than only their identity) keeps a no-op rerun at one
/// round trip: the opening batch can ask them before any play runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    probe: Probe,
    mac: String,
}

/// The random per-user key digests are kept under (HMAC-SHA256).
#[derive(Clone, PartialEq, Eq)]
struct CacheKey([u8; 32]);

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(..)")
    }
}

impl CacheKey {
    /// The key in `base`, made on first use: written to a temp file (0600)
    /// and hard-linked into place, so of two runs racing the first wins and
    /// both use its key. A key file of the wrong size is replaced (the
    /// digests kept under it were unreadable anyway).
    fn load_or_create(base: &Path) -> std::io::Result<CacheKey> {
        let path = base.join(KEY_FILE);
        let corrupt = match Self::read(&path) {
            Ok(Some(key)) => return Ok(key),
            Ok(None) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        let tmp = base.join(format!(".{KEY_FILE}.tmp{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let written = private_file(&tmp)
            .and_then(|mut f| f.write_all(&private::random_bytes::<32>()?))
            .and_then(|()| match std::fs::hard_link(&tmp, &path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && corrupt => {
                    std::fs::rename(&tmp, &path)
                }
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
                _ => Ok(()),
            });
        let _ = std::fs::remove_file(&tmp);
        written?;
        Self::read(&path)?
            .ok_or_else(|| std::io::Error::other(format!("{} is not a key", path.display())))
    }

    /// The key at `path`; `None` when the file does not hold one.
    fn read(path: &Path) -> std::io::Result<Option<CacheKey>> {
        let bytes = std::fs::read(path)?;
        Ok(<[u8; 32]>::try_from(bytes.as_slice()).ok().map(CacheKey))
    }

    fn seal(&self, digest: &str) -> String {
        self.seal_bytes(digest.as_bytes())
    }

    fn seal_bytes(&self, msg: &[u8]) -> String {
        hex::encode(hmac_sha256(&self.0, msg))
    }

    /// `probe` sealed for the run whose definition has the MAC `definition`.
    fn seal_probe(&self, probe: &Probe, definition: &str) -> Sealed {
        let json = serde_json::to_string(probe).unwrap_or_default();
        Sealed {
            probe: probe.clone(),
            mac: self.seal(&format!("{json}\0{definition}")),
        }
    }

    /// The probe of `sealed` when it was sealed with this key for a run of
    /// the definition `definition`, else `None`.
    fn open(&self, sealed: Sealed, definition: &str) -> Option<Probe> {
        let expected = self.seal_probe(&sealed.probe, definition).mac;
        hmac_equal(&expected, &sealed.mac).then_some(sealed.probe)
    }
}

/// HMAC-SHA256 (RFC 2104) of `msg` under `key`.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Compares two MACs in time independent of where they differ.
fn hmac_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// A new file only we can read or write (fails if the name exists).
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

/// The cache could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// No `XDG_CACHE_HOME` or `HOME` says where it belongs.
    #[error("neither XDG_CACHE_HOME nor HOME is set: the probe cache is off (pass --cache-dir to keep one)")]
    NoHome,
    /// Its folder is not (only) ours.
    #[error("the probe cache is ignored: {0}")]
    Folder(#[from] PrivateDirError),
    /// Its key could not be read or made.
    #[error("the probe cache is ignored: its key {path}: {source}")]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The cache folder of one inventory.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: Option<(PathBuf, CacheKey)>,
    /// This run's definition, which its queries are sealed with.
    definition: Definition,
    /// The MAC of this run's definition over a last run's files as they are
    /// now (`None`: one is gone), by file list: hosts share a list, so the
    /// files are hashed once per run.
    current: Arc<Mutex<BTreeMap<Vec<PathBuf>, Option<String>>>>,
}

impl Cache {
    /// The cache for `inventory` under `base` (e.g. `~/.cache/kbz-play`). Two
    /// inventories never share entries, even for hosts with the same name.
    /// Both folders are made 0700 and must be ours: a cache someone else
    /// could write would choose what the run probes, so it is refused.
    pub fn open(base: &Path, inventory: &Path) -> Result<Self, CacheError> {
        let abs = std::fs::canonicalize(inventory).unwrap_or_else(|_| inventory.to_path_buf());
        let id = crate::digest::sha256_hex(abs.to_string_lossy().as_bytes());
        private::ensure(base)?;
        let key = CacheKey::load_or_create(base).map_err(|source| CacheError::Key {
            path: base.join(KEY_FILE),
            source,
        })?;
        let dir = base.join(&id[..16]);
        private::ensure(&dir)?;
        Ok(Cache::with_dir(Some((dir, key))))
    }

    /// A cache that remembers nothing (`--no-cache`).
    pub fn disabled() -> Self {
        Cache::with_dir(None)
    }

    fn with_dir(dir: Option<(PathBuf, CacheKey)>) -> Self {
        Cache {
            dir,
            definition: Definition::default(),
            current: Arc::default(),
        }
    }

    /// This cache for a run of `definition`: only queries a run of the same
    /// definition stored are loaded (see [`Sealed`]).
    pub fn bind(self, definition: Definition) -> Self {
        Cache {
            definition,
            current: Arc::default(),
            ..self
        }
    }

    /// The MAC of this run's definition over `inputs` as they are now.
    fn current(&self, key: &CacheKey, inputs: &[PathBuf]) -> Option<String> {
        let mut known = self.current.lock().expect("cache definitions lock");
        known
            .entry(inputs.to_vec())
            .or_insert_with(|| {
                let files = definition::reread(inputs)?;
                Some(key.seal_bytes(&self.definition.message(&files)))
            })
            .clone()
    }

    /// The default base folder: `$XDG_CACHE_HOME/kbz-play`, else
    /// `~/.cache/kbz-play`; never a shared folder like `/tmp`.
    pub fn default_base() -> Result<PathBuf, CacheError> {
        let set = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        set("XDG_CACHE_HOME")
            .or_else(|| set("HOME").map(|h| h.join(".cache")))
            .map(|b| b.join("kbz-play"))
            .ok_or(CacheError::NoHome)
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
        self.dir
            .as_ref()
            .map(|(d, _)| d.join(format!("{safe}.json")))
    }

    /// What the last run remembered for `host`; empty when there is nothing
    /// usable (missing, corrupt, other format).
    pub fn load(&self, host: &str) -> HostCache {
        let (Some(path), Some((_, key))) = (self.file(host), &self.dir) else {
            return HostCache::default();
        };
        let mut entry = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<HostCache>(&b).ok())
            .filter(|c| c.format == FORMAT)
            .unwrap_or_default();
        entry.probes.retain(plain);
        let queries = std::mem::take(&mut entry.queries);
        if let Some(current) = self.current(key, &entry.inputs) {
            entry
                .probes
                .extend(queries.into_iter().filter_map(|q| key.open(q, &current)));
        }
        entry.key = Some(key.clone());
        entry
    }

    /// Replaces `host`'s entry, atomically (temp file + rename), so a crash
    /// mid-write leaves the previous entry or none, never a torn one. The
    /// entry's digests are plain SHA-256s; only their keyed form is written.
    pub fn store(&self, host: &str, entry: &HostCache) -> std::io::Result<()> {
        let (Some(path), Some((dir, key))) = (self.file(host), &self.dir) else {
            return Ok(());
        };
        let files = self.definition.files();
        let definition = key.seal_bytes(&self.definition.message(&files));
        let stored = HostCache {
            format: FORMAT,
            probes: entry.probes.iter().filter(|p| plain(p)).cloned().collect(),
            queries: entry
                .probes
                .iter()
                .filter(|p| p.cacheable() && !plain(p))
                .map(|p| key.seal_probe(p, &definition))
                .collect(),
            inputs: files.into_keys().collect(),
            digests: entry
                .digests
                .iter()
                .map(|(path, d)| (path.clone(), key.seal(d)))
                .collect(),
            facts: entry.facts.clone(),
            key: None,
        };
        let bytes = serde_json::to_vec(&stored)?;
        // A no-op rerun stores what is there: left as it is, so that every
        // host's end is not a write and a rename in one folder.
        if std::fs::read(&path).is_ok_and(|old| old == bytes) {
            return Ok(());
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        private_file(&tmp)?.write_all(&bytes)?;
        std::fs::rename(&tmp, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().mode() & 0o7777
    }

    fn entry(digest: &str) -> HostCache {
        HostCache::new(
            vec![Probe::path("/etc/a"), Probe::Service { unit: "ssh".into() }],
            [("/etc/a".to_string(), digest.to_string())].into(),
        )
    }

    #[test]
    fn round_trip_and_corruption() {
        let base = tempfile::tempdir().unwrap();
        let cache = Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
        assert_eq!(cache.load("h1").probes, vec![]);
        let (old, new) = ("ab".repeat(32), "cd".repeat(32));
        cache.store("h1", &entry(&old)).unwrap();
        let back = cache.load("h1");
        assert_eq!(back.probes, entry(&old).probes);
        let now = |d: &str| entry(d).digests;
        assert_eq!(back.drifted(&now(&old)), Vec::<String>::new());
        assert_eq!(back.drifted(&now(&new)), vec!["/etc/a".to_string()]);
        std::fs::write(cache.file("h1").unwrap(), b"{not json").unwrap();
        assert_eq!(cache.load("h1").probes, vec![]);
        let other = Cache::open(base.path(), Path::new("/y/inventory.tsv")).unwrap();
        assert_eq!(other.load("h1").probes, vec![]);
        assert_eq!(Cache::disabled().load("h1"), HostCache::default());
    }

    #[test]
    fn the_facts_come_back_as_the_next_runs_guess() {
        let base = tempfile::tempdir().unwrap();
        let cache = Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
        let facts = Facts {
            hostname: "h1".into(),
            memory_mb: 2048,
            ..Facts::default()
        };
        cache
            .store("h1", &entry("ab").with_facts(facts.clone()))
            .unwrap();
        assert_eq!(cache.load("h1").facts, Some(facts));
        cache.store("h2", &entry("ab")).unwrap();
        assert_eq!(cache.load("h2").facts, None);
    }

    #[test]
    fn folders_and_files_are_private_and_digests_keyed() {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("kbz-play");
        let cache = Cache::open(&root, Path::new("/x/inventory.tsv")).unwrap();
        let digest = crate::digest::sha256_hex(b"password\n");
        cache.store("h1", &entry(&digest)).unwrap();
        let file = cache.file("h1").unwrap();
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
        assert_eq!(mode(&file), 0o600);
        assert_eq!(mode(&root.join(KEY_FILE)), 0o600);
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(!text.contains(&digest), "a plain digest was stored: {text}");
        // The same key serves the next run.
        let again = Cache::open(&root, Path::new("/x/inventory.tsv")).unwrap();
        assert_eq!(
            again.load("h1").drifted(&entry(&digest).digests),
            Vec::<String>::new()
        );
    }

    #[test]
    fn storing_the_same_entry_again_leaves_the_file_alone() {
        let base = tempfile::tempdir().unwrap();
        let cache = Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
        let digest = crate::digest::sha256_hex(b"x\n");
        cache.store("h1", &entry(&digest)).unwrap();
        let file = cache.file("h1").unwrap();
        let inode = std::fs::metadata(&file).unwrap().ino();
        cache.store("h1", &entry(&digest)).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().ino(), inode, "rewritten");
        cache
            .store("h1", &entry(&crate::digest::sha256_hex(b"y\n")))
            .unwrap();
        assert_ne!(
            std::fs::metadata(&file).unwrap().ino(),
            inode,
            "not replaced"
        );
    }

    #[test]
    fn an_older_open_cache_folder_is_tightened() {
        use std::os::unix::fs::PermissionsExt;
        let base = tempfile::tempdir().unwrap();
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
        assert_eq!(mode(base.path()), 0o700);
    }

    #[test]
    fn queries_come_back_only_under_their_seal() {
        let base = tempfile::tempdir().unwrap();
        let cache = Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
        let query = Probe::Query {
            script: "ufw status".into(),
        };
        let mut with_query = entry("ab");
        with_query.probes.push(query.clone());
        cache.store("h1", &with_query).unwrap();
        let stored = std::fs::read_to_string(cache.file("h1").unwrap()).unwrap();
        assert!(cache.load("h1").probes.contains(&query), "{stored}");

        // A query planted as plain data, or sealed with another key, or
        // whose script was edited under its seal, is dropped.
        let mut planted: serde_json::Value = serde_json::from_str(&stored).unwrap();
        let plain = serde_json::json!({ "probe": "query", "script": "touch /tmp/planted" });
        planted["probes"].as_array_mut().unwrap().push(plain);
        planted["queries"][0]["probe"]["script"] = "touch /tmp/planted".into();
        planted["queries"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({ "probe": { "probe": "query", "script": "id" }, "mac": "00".repeat(32) }));
        std::fs::write(cache.file("h1").unwrap(), planted.to_string()).unwrap();
        let loaded = cache.load("h1").probes;
        assert!(
            !loaded.iter().any(|p| matches!(p, Probe::Query { .. })),
            "{loaded:?}"
        );
        assert!(loaded.contains(&Probe::path("/etc/a")));
    }

    #[test]
    fn a_query_runs_again_only_for_the_same_definition() {
        let base = tempfile::tempdir().unwrap();
        let playbook = base.path().join("site.rhai");
        std::fs::write(&playbook, "v1").unwrap();
        let inputs = crate::definition::Inputs::default();
        inputs.record_file(&playbook);
        let under = |params: &[u8]| {
            Cache::open(base.path(), Path::new("/x/inventory.tsv"))
                .unwrap()
                .bind(Definition::from_params(params, vec![inputs.clone()]))
        };
        let query = Probe::Query {
            script: "touch /tmp/asked-by-v1".into(),
        };
        let mut with_query = entry("ab");
        with_query.probes.push(query.clone());
        under(b"A").store("h1", &with_query).unwrap();
        let kept = |params: &[u8]| under(params).load("h1").probes.contains(&query);

        assert!(kept(b"A"), "the same definition drops its own query");
        assert!(!kept(b"B"), "a query of other parameters was kept");
        std::fs::write(&playbook, "v2").unwrap();
        assert!(!kept(b"A"), "a query of an earlier playbook was kept");
        std::fs::remove_file(&playbook).unwrap();
        assert!(!kept(b"A"), "a query of a playbook now gone was kept");
        assert!(under(b"B")
            .load("h1")
            .probes
            .contains(&Probe::path("/etc/a")));
    }

    #[test]
    fn a_cache_folder_of_another_user_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let theirs = base.path().join("kbz-play");
        private::ensure(&theirs).unwrap();
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).expect("needs root (chown)");
        let err = Cache::open(&theirs, Path::new("/x/inventory.tsv")).unwrap_err();
        assert!(
            matches!(
                err,
                CacheError::Folder(PrivateDirError::NotOwned { owner: 65534, .. })
            ),
            "{err}"
        );
        assert_eq!(std::fs::metadata(&theirs).unwrap().uid(), 65534);
        assert!(!theirs.join(KEY_FILE).exists());
    }

    #[test]
    fn a_corrupt_key_is_replaced() {
        let base = tempfile::tempdir().unwrap();
        std::fs::write(base.path().join(KEY_FILE), b"short").unwrap();
        Cache::open(base.path(), Path::new("/x/inventory.tsv")).unwrap();
        assert_eq!(std::fs::read(base.path().join(KEY_FILE)).unwrap().len(), 32);
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
