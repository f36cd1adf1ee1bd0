//! The host's package manager is busy.

use std::time::Duration;

use crate::common::lab::{lab_alone, Lab};
use crate::PEER;

/// Holds the dpkg frontend lock on `host` for `secs` seconds in the
/// background, as unattended-upgrades does on a fresh host: an fcntl lock,
/// the kind apt and dpkg take (flock(1) takes another kind, which apt ignores).
/// `/run/kbz-lock-held` holds the holder's pid once the lock is taken.
fn hold_dpkg_lock(lab: &Lab, host: usize, secs: u32) {
    lab.ssh(
        host,
        &format!(
            "nohup python3 -c 'import fcntl, time; f = open(\"/var/lib/dpkg/lock-frontend\", \"w\"); \
             fcntl.lockf(f, fcntl.LOCK_EX); import os; open(\"/run/kbz-lock-held\", \"w\").write(str(os.getpid())); \
             time.sleep({secs})' \
             >/dev/null 2>&1 & for i in $(seq 50); do [ -e /run/kbz-lock-held ] && exit 0; sleep 0.1; done; exit 1"
        ),
    );
}

/// Removes what [`a_package_waits_for_the_dpkg_lock`] installed and the
/// package lists it fetched, even if the test failed.
struct RemovePackage<'a> {
    lab: &'a Lab,
    host: usize,
    name: &'static str,
}

impl Drop for RemovePackage<'_> {
    fn drop(&mut self) {
        self.lab.ssh(
            self.host,
            &format!(
                "pid=$(cat /run/kbz-lock-held 2>/dev/null); \
                 while [ -n \"$pid\" ] && kill -0 \"$pid\" 2>/dev/null; do sleep 0.2; done; rm -f /run/kbz-lock-held; \
                 DEBIAN_FRONTEND=noninteractive apt-get purge -y -q {} >/dev/null; \
                 apt-get clean; rm -rf /var/lib/apt/lists/*",
                self.name
            ),
        );
    }
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_package_waits_for_the_dpkg_lock() {
    let (_guard, lab) = lab_alone();
    let host = lab.hosts[PEER].0.clone();
    let _cleanup = RemovePackage {
        lab: &lab,
        host: PEER,
        name: "tree",
    };
    hold_dpkg_lock(&lab, PEER, 8);
    let started = std::time::Instant::now();
    let out = lab
        .test()
        .playbook(
            r#"play("p", "all", |host| { package(#{ name: "tree", update_cache: true }); });"#,
        )
        .args(["--limit", &host])
        .run();
    out.assert_code(0);
    assert_eq!(out.total("changed"), 1, "{}", out.text());
    assert!(
        started.elapsed() >= Duration::from_secs(6),
        "apt cannot have waited for the lock: {}",
        out.text()
    );
    assert_eq!(
        lab.ssh(PEER, "dpkg-query -W -f '${Status}' tree"),
        "install ok installed"
    );
}
