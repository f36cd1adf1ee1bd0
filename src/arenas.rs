//! Caps glibc's malloc arenas before the run starts its threads.
//!
//! glibc gives each thread that allocates while another holds an arena a
//! new one, up to 8 per core; each keeps its freed memory for reuse. A run
//! on 250 hosts has one host thread per host in flight, so 16 arenas on 2
//! cores, and they were a sixth of its peak memory (README, Performance):
//! the heap itself peaks at 15 MB. Two arenas are enough for work that
//! takes turns on a few cores anyway.
//!
//! glibc reads the cap (`MALLOC_ARENA_MAX`) only when the process starts,
//! and setting it from inside needs `mallopt`, which is unsafe code. So the
//! binary starts itself again, once, with the cap in its environment, the
//! way a launcher sets a runtime's options: `exec` keeps the process id,
//! the arguments and the open files. The started binary takes the variable
//! out again, so the commands a run starts (the local transport's, ssh)
//! never see it. A cap the user set is kept as it is, and left to the
//! commands too. Only glibc has arenas; elsewhere nothing happens.

use std::ffi::OsString;

/// glibc's variable for the cap.
const CAP: &str = "MALLOC_ARENA_MAX";

/// Set beside [`CAP`] by the first start, so the second knows the cap is ours.
const OURS: &str = "KBZ_PLAY_ARENAS";

/// The cap: one arena per core of the machines this is measured on.
const ARENAS: &str = "2";

/// What a start of the binary does about the cap.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Start again with the cap set.
    Restart,
    /// The cap is ours and in force: take it out of the environment.
    Clear,
    /// The user set a cap (or this is no glibc): leave everything as is.
    Keep,
}

/// The step for a start whose environment holds `cap` and `ours`.
fn step(cap: Option<OsString>, ours: Option<OsString>) -> Step {
    match (cap, ours) {
        (Some(_), Some(_)) => Step::Clear,
        (Some(_), None) => Step::Keep,
        (None, _) => Step::Restart,
    }
}

/// Caps the arenas: on the first start, does not return unless the new
/// start fails (the run then goes on uncapped, which is only more memory).
pub fn cap() {
    if !cfg!(all(target_os = "linux", target_env = "gnu")) {
        return;
    }
    match step(std::env::var_os(CAP), std::env::var_os(OURS)) {
        Step::Restart => restart(),
        Step::Clear => {
            // Before any thread exists: nothing else reads the environment yet.
            std::env::remove_var(CAP);
            std::env::remove_var(OURS);
        }
        Step::Keep => {}
    }
}

/// `exec`s this binary with the same arguments and the cap set; returns
/// only when that fails.
fn restart() {
    use std::os::unix::process::CommandExt;
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let mut args = std::env::args_os();
    let mut command = std::process::Command::new(exe);
    if let Some(arg0) = args.next() {
        command.arg0(arg0);
    }
    let _failed = command.args(args).env(CAP, ARENAS).env(OURS, "1").exec();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_start_restarts_and_the_second_clears_the_cap_it_set() {
        let set = || Some(OsString::from("2"));
        assert_eq!(step(None, None), Step::Restart);
        assert_eq!(step(set(), set()), Step::Clear);
    }

    #[test]
    fn a_cap_the_user_set_is_kept() {
        assert_eq!(step(Some("8".into()), None), Step::Keep);
    }
}
