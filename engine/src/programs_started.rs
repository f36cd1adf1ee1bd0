//! For tests: which programs a shell script starts. A folder of wrappers,
//! one per program a script may start, each logging its name and running the
//! real one, is the script's whole PATH: a program not wrapped is not found.
//! The count of programs a script starts on a host is what a warm rerun
//! costs there (README, Performance), so tests pin it with this.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A PATH of logging wrappers and the log they write.
pub(crate) struct ProgramsStarted {
    dir: tempfile::TempDir,
}

impl ProgramsStarted {
    /// Wrappers for `programs`, each running the one this test's PATH finds.
    pub(crate) fn wrapping(programs: &[&str]) -> ProgramsStarted {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let log = dir.path().join("log");
        std::fs::write(&log, "").unwrap();
        for name in programs {
            let found = std::process::Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .unwrap();
            let real = String::from_utf8(found.stdout).unwrap();
            let text = format!(
                "#!/bin/sh\necho {name} >>'{}'\nexec {} \"$@\"\n",
                log.display(),
                real.trim()
            );
            let wrapper = bin.join(name);
            std::fs::write(&wrapper, text).unwrap();
            std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        ProgramsStarted { dir }
    }

    /// The PATH to run the script with.
    pub(crate) fn path(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    /// The programs started so far, sorted.
    pub(crate) fn started(&self) -> Vec<String> {
        let log: &Path = &self.dir.path().join("log");
        let mut names: Vec<String> = std::fs::read_to_string(log)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        names.sort();
        names
    }
}
