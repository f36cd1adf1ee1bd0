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
//!
//! A run that goes through only part of a host's plays (`--tags`, a failure,
//! Ctrl-C) adds to the host's entry instead of replacing it (see
//! [`Coverage`]), and an entry keeps the queries of a few definitions, so
//! that a `--tags` run between two whole runs costs neither a round trip.

mod key;
mod sealed;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::definition::{self, Definition};
use crate::private::{self, PrivateDirError};
use crate::probe::{Facts, Probe};
use key::{private_file, CacheKey, KEY_FILE};
use sealed::{Sealed, SealedRun};

/// 5: queries kept per definition (an entry of another format is ignored).
const FORMAT: u32 = 5;

/// How many runs' queries an entry keeps, newest first: a whole run's and
/// a few `--tags` selections'.
const KEPT_RUNS: usize = 4;

/// What is remembered for one host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCache {
    /// Format version; another version is ignored (and rewritten).
    pub format: u32,
    /// Probes answered during the last run. Loaded, it holds the plain ones
    /// and the queries whose seal verified for this run's definition; stored,
    /// the plain ones only.
    pub probes: Vec<Probe>,
    /// The queries of the last runs, sealed, newest first (see
    /// [`SealedRun`]).
    #[serde(default)]
    runs: Vec<SealedRun>,
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
            runs: Vec::new(),
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

    /// Adds `probes` this entry does not hold yet.
    fn add_probes(&mut self, probes: impl IntoIterator<Item = Probe>) {
        for probe in probes {
            if !self.probes.contains(&probe) {
                self.probes.push(probe);
            }
        }
    }
}

/// How much of its plays a host's run went through, which decides whether
/// its cache entry replaces the last one or adds to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every op of every play the host is in: the entry replaces the last
    /// one, so what the playbook no longer asks is forgotten.
    Whole,
    /// Some of them: a `--tags` or `--skip-tags` selection, or a run the
    /// host failed in or Ctrl-C stopped. The entry adds to the last one: a
    /// run that did not reach an op knows nothing new of its paths, and
    /// forgetting them would cost the next whole run a round trip (and a
    /// hand edit of its files would go unreported).
    Part,
}

/// Whether `p` is kept in the cache as plain data: a path, a unit, a
/// package list. A [`Probe::Query`] holds a script, which the next run
/// asks before the playbook is even read: it is kept only sealed (see
/// [`Sealed`]), so a cache file someone planted or edited runs nothing.
fn plain(p: &Probe) -> bool {
    p.cacheable() && !matches!(p, Probe::Query { .. })
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

/// Where a last run's [`SealedRun`] stands against this run.
enum Standing {
    /// A file its scripts read is gone: it can never verify again.
    Gone,
    /// It was asked by a run of another definition (other tags, other
    /// files): kept for when that definition runs again.
    Other,
    /// Its queries verify for this run's definition.
    Current,
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

    /// The queries of `run` that verify for this run's definition.
    fn opened(&self, key: &CacheKey, run: &SealedRun) -> Vec<Probe> {
        self.current(key, &run.inputs)
            .map(|definition| run.open(key, &definition))
            .unwrap_or_default()
    }

    fn standing(&self, key: &CacheKey, run: &SealedRun) -> Standing {
        match self.current(key, &run.inputs) {
            None => Standing::Gone,
            Some(definition) if run.open(key, &definition).is_empty() => Standing::Other,
            Some(_) => Standing::Current,
        }
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

    /// The entry `bytes` hold as stored, its plain probes only: `None` when
    /// there is nothing usable (missing, corrupt, other format).
    fn parse(bytes: Option<&[u8]>) -> Option<HostCache> {
        let mut entry = serde_json::from_slice::<HostCache>(bytes?)
            .ok()
            .filter(|c| c.format == FORMAT)?;
        entry.probes.retain(plain);
        Some(entry)
    }

    /// What the last run remembered for `host`; empty when there is nothing
    /// usable (missing, corrupt, other format).
    pub fn load(&self, host: &str) -> HostCache {
        let (Some(path), Some((_, key))) = (self.file(host), &self.dir) else {
            return HostCache::default();
        };
        let bytes = std::fs::read(&path).ok();
        let mut entry = Self::parse(bytes.as_deref()).unwrap_or_default();
        for run in std::mem::take(&mut entry.runs) {
            let queries = self.opened(key, &run);
            entry.add_probes(queries);
        }
        entry.key = Some(key.clone());
        entry
    }

    /// Stores `host`'s entry, atomically (temp file + rename), so a crash
    /// mid-write leaves the previous entry or none, never a torn one. The
    /// entry's digests are plain SHA-256s; only their keyed form is written.
    /// It replaces the last entry or adds to it, as `coverage` says.
    pub fn store(&self, host: &str, entry: &HostCache, coverage: Coverage) -> std::io::Result<()> {
        let (Some(path), Some((dir, key))) = (self.file(host), &self.dir) else {
            return Ok(());
        };
        let old = std::fs::read(&path).ok();
        let mut stored = self.sealed(key, entry);
        if let Some(last) = Self::parse(old.as_deref()) {
            self.keep(key, &mut stored, last, coverage);
        }
        stored.runs.retain(|run| !run.queries.is_empty());
        stored.runs.truncate(KEPT_RUNS);
        let bytes = serde_json::to_vec(&stored)?;
        // A no-op rerun stores what is there: left as it is, so that every
        // host's end is not a write and a rename in one folder.
        if old.is_some_and(|old| old == bytes) {
            return Ok(());
        }
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        private_file(&tmp)?.write_all(&bytes)?;
        std::fs::rename(&tmp, &path)
    }

    /// `entry` as it is written: its queries sealed with this run's
    /// definition, its digests keyed.
    fn sealed(&self, key: &CacheKey, entry: &HostCache) -> HostCache {
        let files = self.definition.files();
        let definition = key.seal_bytes(&self.definition.message(&files));
        let this_run = SealedRun {
            inputs: files.into_keys().collect(),
            queries: entry
                .probes
                .iter()
                .filter(|p| p.cacheable() && !plain(p))
                .map(|p| Sealed::new(key, p, &definition))
                .collect(),
        };
        HostCache {
            format: FORMAT,
            probes: entry.probes.iter().filter(|p| plain(p)).cloned().collect(),
            runs: vec![this_run],
            digests: entry
                .digests
                .iter()
                .map(|(path, d)| (path.clone(), key.seal(d)))
                .collect(),
            facts: entry.facts.clone(),
            key: None,
        }
    }

    /// What `stored` keeps of the `last` entry: the queries runs of other
    /// definitions asked, and, after a run that went through only part of
    /// the host's plays, everything it did not see.
    fn keep(&self, key: &CacheKey, stored: &mut HostCache, last: HostCache, coverage: Coverage) {
        let mut others = Vec::new();
        for run in last.runs {
            match (self.standing(key, &run), coverage) {
                (Standing::Gone, _) | (Standing::Current, Coverage::Whole) => {}
                (Standing::Current, Coverage::Part) if run.inputs == stored.runs[0].inputs => {
                    stored.runs[0].absorb(run)
                }
                (Standing::Current | Standing::Other, _) => others.push(run),
            }
        }
        stored.runs.extend(others);
        if coverage == Coverage::Part {
            stored.add_probes(last.probes);
            for (path, digest) in last.digests {
                stored.digests.entry(path).or_insert(digest);
            }
        }
    }
}

#[cfg(test)]
mod tests;
