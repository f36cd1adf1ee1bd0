//! Folders only the running user can use.
//!
//! The probe cache and the ssh control sockets are trusted by the next run
//! (or the next command of this one): another local user who could read them
//! would learn which files a host has, and one who could plant them would
//! steer the run or its connections. So each is a directory owned by us with
//! no group or other access, and one found otherwise is refused, never
//! "fixed" by following someone else's choices.

use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A folder that cannot be trusted or made.
#[derive(Debug, thiserror::Error)]
pub enum PrivateDirError {
    /// It belongs to another user.
    #[error(
        "{path} belongs to uid {owner}, not to us (uid {us}): remove it or choose another folder"
    )]
    NotOwned {
        /// The folder.
        path: PathBuf,
        /// Its owner's uid.
        owner: u32,
        /// Our effective uid.
        us: u32,
    },
    /// Something else (a file, a symlink) is in the way.
    #[error("{path} is not a directory (a symlink or file is in the way): remove it")]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// Others may use it, and it is not ours to tighten.
    #[error("{path} is open to other users (mode {mode:o}): it must be 0700")]
    Open {
        /// The folder.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The file system refused.
    #[error("{path}: {source}")]
    Io {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> PrivateDirError + '_ {
    move |source| PrivateDirError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Our effective uid: the owner every private folder must have.
pub fn current_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// `N` bytes from the kernel's random source.
pub fn random_bytes<const N: usize>() -> io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    let mut filled = 0;
    while filled < N {
        filled +=
            rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty())?;
    }
    Ok(buf)
}

/// Checks that `path` is a directory (not a symlink to one) owned by us with
/// no group or other access.
pub fn check(path: &Path) -> Result<(), PrivateDirError> {
    let meta = std::fs::symlink_metadata(path).map_err(io_error(path))?;
    if !meta.is_dir() {
        return Err(PrivateDirError::NotADirectory {
            path: path.to_path_buf(),
        });
    }
    let us = current_uid();
    if meta.uid() != us {
        return Err(PrivateDirError::NotOwned {
            path: path.to_path_buf(),
            owner: meta.uid(),
            us,
        });
    }
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(PrivateDirError::Open {
            path: path.to_path_buf(),
            mode,
        });
    }
    Ok(())
}

/// Makes `path` (and missing parents) with mode 0700, or accepts it when it
/// exists as our own directory, removing any group or other access it had
/// (an older kbz-play made its cache 0755). Refuses another user's.
pub fn ensure(path: &Path) -> Result<(), PrivateDirError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_error(path))?;
    match check(path) {
        Err(PrivateDirError::Open { .. }) => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
                .map_err(io_error(path))?;
            check(path)
        }
        other => other,
    }
}

/// Creates a new directory in `parent` with mode 0700 and an unguessable
/// name starting with `prefix`, exclusively (like `mkdtemp`): a folder
/// someone prepared in advance can never be the one returned.
pub fn create_unique(parent: &Path, prefix: &str) -> Result<PathBuf, PrivateDirError> {
    let mut last = None;
    for _ in 0..8 {
        let bytes = random_bytes::<6>().map_err(io_error(parent))?;
        let path = parent.join(format!("{prefix}{}", hex::encode(bytes)));
        match std::fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => return check(&path).map(|()| path),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(io_error(&path)(e)),
        }
    }
    Err(io_error(parent)(last.unwrap_or_else(|| {
        io::Error::from(io::ErrorKind::AlreadyExists)
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn ensure_makes_and_tightens_our_folders() {
        let base = tempfile::tempdir().unwrap();
        let deep = base.path().join("a/b");
        ensure(&deep).unwrap();
        assert_eq!(mode(&deep), 0o700);
        std::fs::set_permissions(&deep, std::fs::Permissions::from_mode(0o755)).unwrap();
        ensure(&deep).unwrap();
        assert_eq!(mode(&deep), 0o700);
    }

    #[test]
    fn a_symlink_or_file_is_refused() {
        let base = tempfile::tempdir().unwrap();
        let real = base.path().join("real");
        ensure(&real).unwrap();
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(
            ensure(&link),
            Err(PrivateDirError::NotADirectory { .. })
        ));
    }

    #[test]
    fn unique_folders_are_new_and_private() {
        let base = tempfile::tempdir().unwrap();
        let a = create_unique(base.path(), "x-").unwrap();
        let b = create_unique(base.path(), "x-").unwrap();
        assert_ne!(a, b);
        assert_eq!(mode(&a), 0o700);
        assert!(a.file_name().unwrap().to_str().unwrap().starts_with("x-"));
    }
}
