//! Which files an `-i` source stands for (a file, or a folder's files as
//! Ansible picks them), and which parser reads each.

use super::raw::RawInventory;
use super::{ini, tsv, yaml, InventoryError, SourceLocation};
use crate::vault::Vault;
use std::path::{Path, PathBuf};

/// File name endings Ansible's inventory loader skips in a directory
/// (`INVENTORY_IGNORE_EXTS`, ansible-core's default).
pub const IGNORED_EXTENSIONS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
}

/// Parse one inventory file, its format chosen by extension as Ansible
/// chooses its plugin.
pub(super) fn parse_file(file: &Path, vault: &Vault) -> Result<RawInventory, InventoryError> {
    let text = std::fs::read_to_string(file).map_err(|e| InventoryError::io(file, e))?;
    yaml::check_not_vault(file, &text)?;
    match extension(file).as_deref() {
        Some("tsv") => tsv::parse(file, &text),
        Some("yml" | "yaml" | "json") => yaml::parse_inventory(file, &text, vault),
        _ => ini::parse(file, &text),
    }
}

/// Where `group_vars/` and `host_vars/` of a source are: in it when it is a
/// directory, else beside it.
pub(super) fn vars_base(path: &Path) -> PathBuf {
    if path.is_dir() {
        return path.to_path_buf();
    }
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The inventory files of a source: itself, or a directory's files (and
/// its subdirectories'), in name order, without the ones Ansible skips.
pub(super) fn source_files(path: &Path) -> Result<Vec<PathBuf>, InventoryError> {
    let meta = std::fs::metadata(path).map_err(|e| InventoryError::io(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    collect_sources(path, &mut out)?;
    if out.is_empty() {
        return Err(InventoryError::NoInventoryFile {
            location: SourceLocation::file(path),
            message: "no inventory file in this directory; add one (hosts.yaml, hosts.ini, \
                      servers.tsv...) or pass the file path"
                .to_string(),
        });
    }
    Ok(out)
}

fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InventoryError> {
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| InventoryError::io(dir, e))? {
        let entry = entry.map_err(|e| InventoryError::io(dir, e))?;
        entries.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    entries.sort();
    for (name, path) in entries {
        let skipped = name.starts_with('.')
            || matches!(name.as_str(), "group_vars" | "host_vars" | "vars_plugins")
            || IGNORED_EXTENSIONS.iter().any(|ext| name.ends_with(ext));
        if skipped {
            continue;
        }
        if path.is_dir() {
            collect_sources(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}
