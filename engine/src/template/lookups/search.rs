//! Where a lookup finds a relative file, as Ansible's search path does: the
//! rendering role's folder (`role_path`) then the playbook's folder
//! (`playbook_dir`), each first with the lookup's subfolder (`files/` for
//! `file`, `templates/` for `template`), then as is.

use std::path::{Path, PathBuf};

use minijinja::{Error, State};

use super::codecs::{self, CodecError};
use super::invalid;

/// The folders searched, in order, for a file of `subdir`.
pub(super) fn bases(state: &State, subdir: &str) -> Vec<PathBuf> {
    let mut bases = Vec::new();
    for var in ["role_path", "playbook_dir"] {
        if let Some(dir) = state
            .lookup(var)
            .and_then(|v| v.as_str().map(PathBuf::from))
        {
            bases.push(dir.join(subdir));
            bases.push(dir);
        }
    }
    if bases.is_empty() {
        bases.push(PathBuf::from("."));
    }
    bases
}

/// The candidates for `name`: itself when absolute, else under each base.
pub(super) fn candidates(state: &State, subdir: &str, name: &str) -> Vec<PathBuf> {
    if Path::new(name).is_absolute() {
        return vec![PathBuf::from(name)];
    }
    bases(state, subdir).iter().map(|b| b.join(name)).collect()
}

/// The first existing file for `name`, or an error naming where it looked.
pub(super) fn find(state: &State, subdir: &str, name: &str) -> Result<PathBuf, Error> {
    crate::script::first_file("lookup file", name, &candidates(state, subdir, name))
        .map_err(invalid)
}

/// `name` found under `subdir` as [`find`] finds it, and its text: what
/// `file`, `template` and `unvault` start from (`lookup` names the caller
/// in the error).
pub(super) fn find_and_read(
    state: &State,
    subdir: &str,
    name: &str,
    lookup: &str,
) -> Result<(PathBuf, String), Error> {
    let path = find(state, subdir, name)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| invalid(format!("lookup {lookup} {}: {e}", path.display())))?;
    Ok((path, text))
}

/// The folder the control machine's commands run in: the playbook's.
pub(super) fn playbook_dir(state: &State) -> PathBuf {
    state
        .lookup("playbook_dir")
        .and_then(|v| v.as_str().map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The text of `path` in `encoding`, decoded as Python's codec of that
/// name decodes it (see [`codecs`]).
pub(super) fn read_text(path: &Path, encoding: &str) -> Result<String, Error> {
    let bytes = std::fs::read(path).map_err(|e| invalid(format!("{}: {e}", path.display())))?;
    codecs::decode(bytes, encoding).map_err(|e| match e {
        CodecError::Unknown(_) => invalid(e.to_string()),
        CodecError::Invalid(_) => invalid(format!("{} {e}", path.display())),
    })
}
