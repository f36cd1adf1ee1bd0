//! The folder of one run's ssh control sockets: private (0700, ours), made
//! exclusively under an unguessable name, short enough for the socket paths
//! ssh builds in it. Whoever can write there could plant a socket that every
//! command of the run would be sent through.

use std::path::{Path, PathBuf};

use crate::private::{self, PrivateDirError};

/// Longest control directory that leaves room for what ssh appends
/// (`/.ssh-connectionXXXXXX/master.XXXXXXXXXXXXXXXX`, 47 bytes) within the
/// 108-byte unix socket path limit.
pub(super) const MAX_CONTROL_DIR_LEN: usize = 60;

/// Makes `dir` (0700) if it is missing and checks that it is ours and closed
/// to others: whoever can write there can plant a socket that every command
/// of the run would be sent through.
pub(super) fn private_control_dir(dir: &Path) -> Result<(), PrivateDirError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| PrivateDirError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    private::check(dir)
}

/// A new folder for one run's control sockets, made exclusively (0700, an
/// unguessable name) in `$XDG_RUNTIME_DIR` when that is ours and short
/// enough, else in the temp folder: a name known in advance (the pid) lets
/// another user prepare the folder first.
pub fn create_control_dir() -> Result<PathBuf, PrivateDirError> {
    let runtime = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .filter(|d| d.as_os_str().len() + CONTROL_DIR_NAME_LEN <= MAX_CONTROL_DIR_LEN)
        .filter(|d| private::check(d).is_ok());
    control_dir_in(&runtime.unwrap_or_else(std::env::temp_dir))
}

/// Length of `/kbz-play-` and the 12 hex digits [`private::create_unique`] adds.
const CONTROL_DIR_NAME_LEN: usize = 22;

fn control_dir_in(parent: &Path) -> Result<PathBuf, PrivateDirError> {
    private::create_unique(parent, "kbz-play-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn each_run_gets_a_new_private_control_dir() {
        let parent = tempfile::tempdir().unwrap();
        // What an older kbz-play would have used, prepared by someone else.
        let planted = parent
            .path()
            .join(format!("kbz-play-{}", std::process::id()));
        std::fs::create_dir(&planted).unwrap();
        let dir = control_dir_in(parent.path()).unwrap();
        assert_ne!(dir, planted);
        assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
        assert!(dir.as_os_str().len() <= parent.path().as_os_str().len() + CONTROL_DIR_NAME_LEN);
        assert!(private_control_dir(&dir).is_ok());
    }
}
