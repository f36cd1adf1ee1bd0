//! What decides the query scripts a run asks: its definition.
//!
//! The cache keeps last run's `query` probes so that a no-op rerun asks them
//! in its opening round trip, before any play runs. A query may run there
//! only if the current playbook, with the same inputs, would ask exactly that
//! script again. Those inputs are the files the run's scripts read (the
//! playbook, the role modules it imports, the templates and data files it
//! loads: [`Inputs`]) and the run's parameters (the inventory as loaded,
//! group and host vars included, `-e`, `--tags`, `--skip-tags`, `--limit`).
//! The cache seals its queries together with the HMAC of all of them (see
//! `crate::cache`), never with a plain hash: vars and templates may hold
//! secrets. The credentials folder is not an input: `secret()` values are
//! not meant to shape probe scripts, and must not be hashed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::digest::sha256_hex;
use crate::inventory::{Inventory, Vars};

/// The files a run's scripts read, each with the SHA-256 of its content as
/// read. Shared by the script engine, its module resolver and the templates.
#[derive(Debug, Clone, Default)]
pub struct Inputs(Arc<Mutex<BTreeMap<PathBuf, String>>>);

impl Inputs {
    /// Notes that `path` was read with `content`. The path is made absolute,
    /// so that the next run finds the same file from any folder.
    pub fn record(&self, path: &Path, content: &[u8]) {
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.files().insert(path, sha256_hex(content));
    }

    /// Reads `path` and notes it, unless it was noted already (a module
    /// imported by every host's play is read once).
    pub fn record_file(&self, path: &Path) {
        let known = std::fs::canonicalize(path).is_ok_and(|p| self.files().contains_key(&p));
        if !known {
            if let Ok(content) = std::fs::read(path) {
                self.record(path, &content);
            }
        }
    }

    fn files(&self) -> std::sync::MutexGuard<'_, BTreeMap<PathBuf, String>> {
        self.0.lock().expect("inputs lock")
    }
}

/// A run's definition: its parameters and the files its scripts read.
#[derive(Debug, Clone, Default)]
pub struct Definition {
    /// The parameters, in canonical form (see [`Definition::new`]).
    params: Vec<u8>,
    /// Where the run notes the files its scripts read.
    inputs: Vec<Inputs>,
}

impl Definition {
    /// The definition of a run over `inventory` with these parameters; the
    /// files are those `inputs` note as the run goes.
    pub fn new(inventory: &Inventory, params: Params<'_>, inputs: Vec<Inputs>) -> Definition {
        let canonical = serde_json::json!({
            "hosts": inventory.hosts(),
            "extra_vars": params.extra_vars,
            "tags": params.tags,
            "skip_tags": params.skip_tags,
            "limit": params.limit,
        });
        Definition {
            params: canonical.to_string().into_bytes(),
            inputs,
        }
    }

    /// A definition from parameters already in canonical form (tests).
    pub fn from_params(params: &[u8], inputs: Vec<Inputs>) -> Definition {
        Definition {
            params: params.to_vec(),
            inputs,
        }
    }

    /// Every file read so far, with its digest as read.
    pub fn files(&self) -> BTreeMap<PathBuf, String> {
        let mut all = BTreeMap::new();
        for inputs in &self.inputs {
            all.extend(inputs.files().iter().map(|(p, d)| (p.clone(), d.clone())));
        }
        all
    }

    /// The message the cache keys: the parameters, then each file's path
    /// and digest. Made from `files` as read by the last run, or as they
    /// are now ([`reread`]): equal only when nothing that shapes the
    /// scripts changed.
    pub fn message(&self, files: &BTreeMap<PathBuf, String>) -> Vec<u8> {
        let mut msg = self.params.clone();
        for (path, digest) in files {
            msg.push(0);
            msg.extend_from_slice(path.as_os_str().as_encoded_bytes());
            msg.push(0);
            msg.extend_from_slice(digest.as_bytes());
        }
        msg
    }
}

/// The run's parameters that choose which ops run, and with which values.
#[derive(Debug, Clone, Copy)]
pub struct Params<'a> {
    /// `-e`.
    pub extra_vars: &'a Vars,
    /// `--tags`.
    pub tags: &'a [String],
    /// `--skip-tags`.
    pub skip_tags: &'a [String],
    /// `--limit`.
    pub limit: Option<&'a str>,
}

/// The digests of `paths` as they are now; `None` when one cannot be read
/// (the playbook that read it has changed).
pub fn reread(paths: &[PathBuf]) -> Option<BTreeMap<PathBuf, String>> {
    paths
        .iter()
        .map(|p| std::fs::read(p).ok().map(|c| (p.clone(), sha256_hex(&c))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_vars_extra_vars_tags_and_limit_change_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let inv = dir.path().join("inv.tsv");
        std::fs::write(&inv, "hostname\tip_private\nh1\t10.0.0.1\n").unwrap();
        let (vars, none) = (Vars::new(), Vec::<String>::new());
        let params = Params {
            extra_vars: &vars,
            tags: &none,
            skip_tags: &none,
            limit: None,
        };
        let message = |params: Params<'_>| {
            let inventory = Inventory::load(&inv).unwrap();
            let msg = Definition::new(&inventory, params, vec![]).message(&BTreeMap::new());
            String::from_utf8_lossy(&msg).into_owned()
        };
        let first = message(params);
        assert_eq!(message(params), first);
        let mut other_vars = Vars::new();
        other_vars.insert("image".into(), "new".into());
        let tags = vec!["web".to_string()];
        let variants = [
            Params {
                extra_vars: &other_vars,
                ..params
            },
            Params {
                tags: &tags,
                ..params
            },
            Params {
                skip_tags: &tags,
                ..params
            },
            Params {
                limit: Some("h1"),
                ..params
            },
        ];
        for changed in variants {
            assert_ne!(message(changed), first, "{changed:?}");
        }
        std::fs::create_dir(dir.path().join("host_vars")).unwrap();
        std::fs::write(dir.path().join("host_vars/h1.yml"), "image: new\n").unwrap();
        assert_ne!(message(params), first, "host_vars are not covered");
    }

    #[test]
    fn an_edited_or_removed_input_changes_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("site.rhai");
        std::fs::write(&file, "old").unwrap();
        let inputs = Inputs::default();
        inputs.record_file(&file);
        let def = Definition::from_params(b"p", vec![inputs]);
        let read = def.files();
        let paths: Vec<PathBuf> = read.keys().cloned().collect();
        assert_eq!(paths, vec![std::fs::canonicalize(&file).unwrap()]);
        assert_eq!(def.message(&reread(&paths).unwrap()), def.message(&read));
        std::fs::write(&file, "new").unwrap();
        assert_ne!(def.message(&reread(&paths).unwrap()), def.message(&read));
        std::fs::remove_file(&file).unwrap();
        assert_eq!(reread(&paths), None);
    }
}
