//! Inventory loading, merging and pattern tests (end to end through files),
//! one file per concern; the helpers they share are here.

use super::*;
use std::path::{Path, PathBuf};

mod ini;
mod loading;
mod order;
mod patterns;
mod readers;
mod tsv;
mod vars_dirs;
mod vault;
mod yaml;

/// Writes `content` to `dir/rel`, creating parent directories.
fn write(dir: &Path, rel: &str, content: &str) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    path
}

/// Writes an executable `dir/rel` holding `content`.
fn write_exec(dir: &Path, rel: &str, content: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = write(dir, rel, content);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Loads an inventory file `name` holding `content` from a fresh temporary
/// directory, kept alive by the returned guard.
fn load_str(name: &str, content: &str) -> (tempfile::TempDir, Result<Inventory, InventoryError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, content);
    let inv = Inventory::load(&path);
    (dir, inv)
}

/// [`load_str`] that must succeed.
fn load_ok(name: &str, content: &str) -> (tempfile::TempDir, Inventory) {
    let (dir, inv) = load_str(name, content);
    (dir, inv.unwrap_or_else(|e| panic!("load failed: {e}")))
}

/// [`load_str`] that must fail; the error as the user sees it.
fn load_err(name: &str, content: &str) -> String {
    match load_str(name, content).1 {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

/// An inventory's content that must fail to load, and fragments its
/// message must contain.
type ErrCase<'a> = (&'a str, &'a [&'a str]);

/// Loads each case as file `name` (each from a fresh directory) and asserts
/// its message contains every fragment: error tests as tables, so a new case
/// is one row.
fn assert_load_errs(name: &str, cases: &[ErrCase]) {
    for (content, needles) in cases {
        let msg = load_err(name, content);
        for needle in *needles {
            assert_has(&msg, needle);
        }
    }
}

/// Writes each `(rel, content)` below `dir`, in order (a later one may
/// overwrite an earlier one).
fn write_all(dir: &Path, files: &[(&str, &str)]) {
    for (rel, content) in files {
        write(dir, rel, content);
    }
}

/// Host names, in the order given.
fn names(hosts: &[&Host]) -> Vec<String> {
    hosts.iter().map(|h| h.name.clone()).collect()
}

/// Asserts that `msg` contains `needle`, showing both when not.
fn assert_has(msg: &str, needle: &str) {
    assert!(
        msg.contains(needle),
        "message {msg:?} should contain {needle:?}"
    );
}
