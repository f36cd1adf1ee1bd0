//! The file tests of `ansible.builtin`, asked of the control machine (where
//! the template renders, as in Ansible): `directory`, `file`, `link`,
//! `exists` (following links), `link_exists` (not), `abs`, `same_file`,
//! `mount`, each but the `exists` ones also under its `is_` name
//! (`directory` as `is_dir`); `vaulted_file`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    for &(name, alias, test) in TESTS {
        env.add_test(name, move |p: &str| test(Path::new(p)));
        env.add_test(alias, move |p: &str| test(Path::new(p)));
    }
    env.add_test("same_file", same_file);
    env.add_test("is_same_file", same_file);
    env.add_test("exists", |p: &str| Path::new(p).exists());
    env.add_test("link_exists", |p: &str| fs::symlink_metadata(p).is_ok());
    env.add_test("vaulted_file", vaulted_file);
}

/// A test of one path.
type PathTest = fn(&Path) -> bool;

/// The one-path tests, with their `is_` names.
const TESTS: &[(&str, &str, PathTest)] = &[
    ("directory", "is_dir", Path::is_dir),
    ("file", "is_file", Path::is_file),
    ("link", "is_link", Path::is_symlink),
    ("abs", "is_abs", Path::is_absolute),
    ("mount", "is_mount", is_mount),
];

/// `a is same_file(b)`: both exist and are one file (device and inode).
fn same_file(a: &str, b: &str) -> bool {
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Python's `os.path.ismount`: a directory (not a link) on another device
/// than its parent, or the same inode as its parent (the root).
fn is_mount(path: &Path) -> bool {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return false;
    };
    if !meta.is_dir() {
        return false;
    }
    match fs::symlink_metadata(path.join("..")) {
        Ok(parent) => parent.dev() != meta.dev() || parent.ino() == meta.ino(),
        Err(_) => false,
    }
}

/// `path is vaulted_file`: the file starts with an Ansible Vault header.
fn vaulted_file(path: &str) -> Result<bool, Error> {
    let text = fs::read(path).map_err(|e| {
        invalid(format!(
            "vaulted_file: cannot test if {path:?} is a vault: {e}"
        ))
    })?;
    Ok(text.starts_with(b"$ANSIBLE_VAULT;"))
}

#[cfg(test)]
mod unit {
    use super::*;

    fn test(source: &str, dir: &Path) -> String {
        let mut env = Environment::new();
        register(&mut env);
        let ctx = minijinja::context! { d => dir.to_string_lossy() };
        env.render_str(source, ctx)
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn files_links_and_directories_are_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("f"), "x").unwrap();
        std::os::unix::fs::symlink(dir.path().join("f"), dir.path().join("l")).unwrap();
        std::os::unix::fs::symlink("missing", dir.path().join("dangling")).unwrap();
        let out = test(
            "{{ d is directory }} {{ (d ~ '/f') is file }} {{ (d ~ '/l') is is_link }} \
             {{ (d ~ '/f') is link }} {{ (d ~ '/dangling') is exists }} \
             {{ (d ~ '/dangling') is link_exists }} {{ (d ~ '/l') is same_file(d ~ '/f') }} \
             {{ d is abs }} {{ 'x/y' is is_abs }} {{ '/' is mount }} {{ d is is_mount }}",
            dir.path(),
        );
        assert_eq!(
            out,
            "True True True False False True True True False True False"
        );
    }

    #[test]
    fn a_vault_file_is_known_by_its_header() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("v"), "$ANSIBLE_VAULT;1.1;AES256\n6162\n").unwrap();
        fs::write(dir.path().join("p"), "plain\n").unwrap();
        let out = test(
            "{{ (d ~ '/v') is vaulted_file }} {{ (d ~ '/p') is vaulted_file }}",
            dir.path(),
        );
        assert_eq!(out, "True False");
        assert!(test("{{ (d ~ '/none') is vaulted_file }}", dir.path()).contains("cannot test"));
    }
}
