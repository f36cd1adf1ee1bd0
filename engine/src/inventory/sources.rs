//! Which files an `-i` source stands for (a file, or a folder's files as
//! Ansible picks them), and which readers may read each, tried in Ansible's
//! plugin order.

use super::raw::RawInventory;
use super::{ini, script, tsv, yaml, InventoryError, SourceLocation};
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

/// A way to read an inventory file; Ansible's plugin of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    Script,
    Tsv,
    Yaml,
    Ini,
}

impl Reader {
    fn name(self) -> &'static str {
        match self {
            Reader::Script => "script",
            Reader::Tsv => "tsv",
            Reader::Yaml => "yaml",
            Reader::Ini => "ini",
        }
    }
}

/// The readers that may read `file`, in the order ansible-core's default
/// `enable_plugins` tries them (host_list, script, auto, yaml, ini, toml):
/// an executable file is first run as a script; a `.yml`/`.yaml`/`.json`
/// file, or one without extension, is then read as YAML; any file but a
/// `.toml` one as INI. A `.tsv` file (kbz-play's own format) is only TSV.
fn readers(file: &Path) -> Vec<Reader> {
    let ext = extension(file);
    if ext.as_deref() == Some("tsv") {
        return vec![Reader::Tsv];
    }
    let mut out = Vec::new();
    if script::is_executable(file) {
        out.push(Reader::Script);
    }
    if matches!(ext.as_deref(), None | Some("yml" | "yaml" | "json")) {
        out.push(Reader::Yaml);
    }
    if ext.as_deref() != Some("toml") {
        out.push(Reader::Ini);
    }
    out
}

/// Parse one inventory file with the first reader that accepts it, as
/// Ansible tries its plugins; when none does, every reader's reason.
pub(super) fn parse_file(file: &Path, vault: &Vault) -> Result<RawInventory, InventoryError> {
    let bytes = std::fs::read(file).map_err(|e| InventoryError::io(file, e))?;
    let text = std::str::from_utf8(&bytes);
    if let Ok(text) = text {
        yaml::check_not_vault(file, text)?;
    }
    let mut failures = Vec::new();
    for reader in readers(file) {
        let parsed = match (reader, text) {
            (Reader::Script, _) => script::parse(file, script::TIMEOUT),
            (_, Err(e)) => Err(InventoryError::io(file, std::io::Error::other(e))),
            (Reader::Tsv, Ok(text)) => tsv::parse(file, text),
            (Reader::Yaml, Ok(text)) => yaml::parse_inventory(file, text, vault),
            (Reader::Ini, Ok(text)) => ini::parse(file, text),
        };
        match parsed {
            Ok(raw) => return Ok(raw),
            Err(e) => failures.push((reader.name(), e)),
        }
    }
    Err(unparsed(file, failures))
}

/// The error of a file no reader read: the reader's own when only one
/// tried, all of them otherwise.
fn unparsed(file: &Path, mut failures: Vec<(&'static str, InventoryError)>) -> InventoryError {
    match failures.len() {
        0 => InventoryError::UnsupportedFormat {
            location: SourceLocation::file(file),
            message: "TOML inventories are not supported; convert it to YAML or INI \
                      (`ansible-inventory -i FILE --list -y > hosts.yaml`)"
                .to_string(),
        },
        1 => failures.remove(0).1,
        _ => InventoryError::Unparsed {
            location: SourceLocation::file(file),
            failures,
        },
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
