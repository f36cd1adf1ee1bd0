//! Ending a run's ssh masters without their sessions, for an exit that
//! cannot wait for them to close (a second Ctrl-C).
//!
//! Each master is a daemonised `ssh -M -f` (see `ssh.rs`): dropped without
//! a close, it would outlive the run for its `ControlPersist` time
//! ([`super::ssh::IDLE_PERSIST_SECS`]), with the connection to the host
//! open and its socket folder about to be removed. Its command line names
//! its control socket, inside the run's own control folder, which is how
//! they are found.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Sends TERM to every process of ours whose command line names
/// `control_dir` (the run's ssh masters); returns how many. Best effort:
/// a process that exits meanwhile is simply skipped.
pub fn end_masters(control_dir: &Path) -> usize {
    let needle = control_dir.as_os_str().as_bytes();
    if needle.is_empty() {
        return 0;
    }
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let (us, me) = (crate::private::current_uid(), std::process::id());
    entries
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let ours = e.metadata().ok()?.uid() == us && pid != me;
            (ours && names(&e.path(), needle)).then_some(pid)
        })
        .filter(|&pid| terminate(pid))
        .count()
}

/// Whether the process of `/proc/PID` folder `proc` has `needle` in its
/// command line.
fn names(proc: &Path, needle: &[u8]) -> bool {
    std::fs::read(proc.join("cmdline")).is_ok_and(|c| c.windows(needle.len()).any(|w| w == needle))
}

fn terminate(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_processes_naming_the_folder_end() {
        use std::os::unix::process::CommandExt;
        let dir = tempfile::tempdir().unwrap();
        let named = dir.path().join("master");
        // One process per spawn, naming `arg` from its exec on (`spawn`
        // returns once the exec is done): a shell would fork a child that
        // names it too until that child's own exec, and under load the scan
        // saw both.
        // The kernel lets `spawn` return before it has set the new
        // program's argument area (the vfork parent is released as the old
        // memory goes), so a scan right after could read an empty command
        // line: the test waits until the process names its argument.
        let spawn = |arg: &Path| {
            let child = std::process::Command::new("sleep")
                .arg0(arg)
                .arg("30")
                .spawn()
                .unwrap();
            wait_for_cmdline(child.id(), arg);
            child
        };
        let mut master = spawn(&named);
        let mut other = spawn(Path::new("/elsewhere"));
        assert_eq!(end_masters(dir.path()), 1);
        let status = master.wait().unwrap();
        assert!(!status.success());
        assert!(
            other.try_wait().unwrap().is_none(),
            "an unrelated process ended"
        );
        other.kill().unwrap();
        other.wait().unwrap();
    }

    fn wait_for_cmdline(pid: u32, arg: &Path) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if names(
                Path::new(&format!("/proc/{pid}")),
                arg.as_os_str().as_bytes(),
            ) {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("process {pid} never named {}", arg.display());
    }
}
