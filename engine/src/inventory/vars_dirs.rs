//! `group_vars/` and `host_vars/` next to the inventory, read the Ansible way.
//!
//! For an entity `NAME` the first of these that exists is used (Ansible's
//! order, so an existing layout keeps meaning the same thing):
//!
//! 1. `NAME` — a directory (every file inside, recursively, in name order)
//!    or an extension-less file;
//! 2. `NAME.yml`, 3. `NAME.yaml`, 4. `NAME.json`.
//!
//! Inside a directory, hidden files, backups (`~`) and files with other
//! extensions (`README.md`) are skipped. Later files replace earlier files'
//! top-level keys.

use super::{vars_file, InventoryError, Vars};
use crate::vault::Vault;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Which of the two directories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Group,
    Host,
}

impl Kind {
    fn dir_name(self) -> &'static str {
        match self {
            Kind::Group => "group_vars",
            Kind::Host => "host_vars",
        }
    }
}

const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// Merged vars of `name` from `base/group_vars` or `base/host_vars`.
pub(crate) fn load(
    base: &Path,
    kind: Kind,
    name: &str,
    vault: &Vault,
) -> Result<Vars, InventoryError> {
    let mut vars = Vars::new();
    for file in files_for(&base.join(kind.dir_name()), name)? {
        let text = std::fs::read_to_string(&file).map_err(|e| InventoryError::io(&file, e))?;
        for (k, v) in vars_file::parse_vars_file(&file, &text, vault)? {
            vars.insert(k, v);
        }
    }
    Ok(vars)
}

/// The vars files for one entity, in load order.
fn files_for(dir: &Path, name: &str) -> Result<Vec<PathBuf>, InventoryError> {
    if !dir.is_dir() || name.is_empty() || name.contains(['/', '\\']) || name == "." || name == ".."
    {
        return Ok(Vec::new());
    }
    let plain = dir.join(name);
    if plain.is_dir() {
        let mut out = Vec::new();
        collect_dir(&plain, &mut out)?;
        return Ok(out);
    }
    if plain.is_file() {
        return Ok(vec![plain]);
    }
    Ok(EXTENSIONS
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
        .into_iter()
        .collect())
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<(String, PathBuf)>, InventoryError> {
    let entries = std::fs::read_dir(dir).map_err(|e| InventoryError::io(dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| InventoryError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.ends_with('~') {
            continue;
        }
        out.push((name, entry.path()));
    }
    out.sort();
    Ok(out)
}

fn has_vars_extension(path: &Path) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        None => true,
        Some(ext) => EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e)),
    }
}

fn collect_dir(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InventoryError> {
    for (_, path) in read_dir_sorted(dir)? {
        if path.is_dir() {
            collect_dir(&path, out)?;
        } else if has_vars_extension(&path) {
            out.push(path);
        }
    }
    Ok(())
}

/// A `group_vars`/`host_vars` entry that names no known group or host.
#[derive(Debug)]
pub(crate) struct Unknown {
    /// The entity name it would apply to.
    pub name: String,
    /// The path, for the warning.
    pub display: String,
}

/// Entries of `base/<kind dir>` that do not correspond to any of `known`:
/// almost always a typo that silently drops variables.
pub(crate) fn unknown_entries(
    base: &Path,
    kind: Kind,
    known: &HashSet<&str>,
) -> Result<Vec<Unknown>, InventoryError> {
    let dir = base.join(kind.dir_name());
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (name, path) in read_dir_sorted(&dir)? {
        if known.contains(name.as_str()) {
            continue;
        }
        let entity = if path.is_dir() {
            Some(name.clone())
        } else {
            match name.rsplit_once('.') {
                None => Some(name.clone()),
                Some((stem, ext)) if EXTENSIONS.iter().any(|e| ext.eq_ignore_ascii_case(e)) => {
                    Some(stem.to_string())
                }
                // e.g. README.md, or a file named after an unknown FQDN: can't tell.
                Some(_) => None,
            }
        };
        if let Some(entity) = entity.filter(|e| !known.contains(e.as_str())) {
            out.push(Unknown {
                name: entity,
                display: path.display().to_string(),
            });
        }
    }
    Ok(out)
}
