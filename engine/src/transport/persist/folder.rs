//! Where persisted masters live: one folder per user, private (0700, ours),
//! never in a shared temp folder, short enough for the socket paths under
//! it. Whoever could write there could plant a socket that a later run
//! would send every command through.

use std::path::{Path, PathBuf};

use super::key::KEY_LEN;
use crate::private::PrivateDirError;
use crate::transport::control_dir::{private_control_dir, MAX_CONTROL_DIR_LEN};

/// Why masters cannot persist: the run then closes them at its end.
#[derive(Debug, thiserror::Error)]
pub enum PersistDirError {
    /// Neither `XDG_RUNTIME_DIR` nor `HOME` is set.
    #[error("no folder for persistent ssh masters: neither XDG_RUNTIME_DIR nor HOME is set")]
    NoHome,
    /// The socket paths under it would be too long.
    #[error(
        "{path} is too long for the ssh sockets under it (at most {max} bytes): set XDG_RUNTIME_DIR to a short private folder"
    )]
    TooLong {
        /// The folder.
        path: PathBuf,
        /// Its longest usable length.
        max: usize,
    },
    /// It is not ours, open to others, or cannot be made.
    #[error(transparent)]
    Private(#[from] PrivateDirError),
}

/// Longest persist folder: a master's folder (`/` and the key) goes under it.
const MAX_PERSIST_DIR_LEN: usize = MAX_CONTROL_DIR_LEN - 1 - KEY_LEN;

/// The persist folder, made 0700 if missing and checked: in
/// `$XDG_RUNTIME_DIR` (a tmpfs of ours, emptied at logout) when that is ours
/// and short enough, else `~/.cache/kbz-play/ssh`.
pub fn persist_dir() -> Result<PathBuf, PersistDirError> {
    let set = |name| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let runtime = set("XDG_RUNTIME_DIR")
        .filter(|d| crate::private::check(d).is_ok())
        .map(|d| d.join("kbz-play-ssh"))
        .filter(|d| fits(d));
    let dir = match runtime {
        Some(dir) => dir,
        None => set("HOME")
            .ok_or(PersistDirError::NoHome)?
            .join(".cache/kbz-play/ssh"),
    };
    checked(dir)
}

fn fits(dir: &Path) -> bool {
    dir.as_os_str().len() <= MAX_PERSIST_DIR_LEN
}

/// `dir` made if missing, when it is short enough, ours and closed to others.
pub(crate) fn checked(dir: PathBuf) -> Result<PathBuf, PersistDirError> {
    if !fits(&dir) {
        return Err(PersistDirError::TooLong {
            path: dir,
            max: MAX_PERSIST_DIR_LEN,
        });
    }
    private_control_dir(&dir)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_persist_folder_is_private_and_short() {
        let base = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
        let dir = checked(base.path().join("ssh")).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);

        let open = base.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = checked(open).unwrap_err().to_string();
        assert!(e.contains("0700"), "{e}");

        let long = base.path().join("x".repeat(MAX_PERSIST_DIR_LEN));
        let e = checked(long.clone()).unwrap_err().to_string();
        assert!(e.contains("too long"), "{e}");
        assert!(!long.exists(), "a folder too long was made");
    }
}
