//! base_os's kernel parameters, on every host it configures.

use super::*;

/// systemd (PID 1, since v240) raises `fs.file-max` to the kernel's maximum
/// at boot; a sysctl.d value would lower it on every host of the fleet. In
/// the lab, where the hosts share this machine's kernel, the lower value
/// also turned a rerun after any host's boot into a change.
#[test]
fn base_os_never_lowers_fs_file_max() {
    let configured = fleet().into_iter().filter(|(_, groups)| {
        !groups
            .iter()
            .any(|g| g == "placeholder" || g == "unconfirmed")
    });
    for (host, _) in configured {
        assert!(
            !read(&host, "commands.sh").contains("fs.file-max"),
            "{host} sets fs.file-max, below systemd's own"
        );
    }
}
