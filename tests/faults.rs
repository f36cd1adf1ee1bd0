//! Fault injection on the lab: what a run reports when a host goes away in
//! the middle of it, when the host's package manager is busy, ... Each test
//! uses lab09 and lab10 (indices 8 and 9) only, and leaves them running and
//! clean whatever happens (see [`Restart`]).

mod common;

use std::time::Duration;

use common::lab::{lab_alone, wait_until, Lab};

const LOST: usize = 8;
const PEER: usize = 9;

#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

/// Starts a stopped lab host again when dropped, even if the test failed,
/// and waits until ssh answers.
struct Restart<'a> {
    lab: &'a Lab,
    host: usize,
}

impl Drop for Restart<'_> {
    fn drop(&mut self) {
        let name = self.lab.hosts[self.host].0.clone();
        if self.lab.try_ssh(self.host, "true").is_none() {
            self.lab.lab_sh(&["start", &name]);
        }
        let answered = wait_until(Duration::from_secs(60), || {
            self.lab.try_ssh(self.host, "true").is_some()
        });
        assert!(
            answered.is_some(),
            "{name} did not come back after the test"
        );
    }
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_host_lost_mid_run_is_unreachable_and_the_others_finish() {
    let (_guard, lab) = lab_alone();
    let (lost, peer) = (lab.hosts[LOST].0.clone(), lab.hosts[PEER].0.clone());
    let playbook = format!(
        r#"
play("p", "all", |host| {{
    if host.name == "{lost}" {{ command("sleep 30"); }}
    command("sleep 6");
    command("true");
}});
"#
    );
    let t = lab
        .test()
        .playbook(&playbook)
        .args(["--limit", &format!("{lost},{peer}")]);
    let restart = Restart {
        lab: &lab,
        host: LOST,
    };
    let out = std::thread::scope(|s| {
        let run = s.spawn(|| t.run());
        // The command has started once the run has connected and probed.
        std::thread::sleep(Duration::from_secs(3));
        lab.lab_sh(&["stop", &lost]);
        run.join().unwrap()
    });
    drop(restart);
    out.assert_code(4);
    let recap = out.recap();
    let stats = |name: &str| recap.iter().find(|(h, _)| h == name).unwrap().1.clone();
    assert_eq!(stats(&lost)["unreachable"], true, "{}", out.text());
    assert_eq!(stats(&lost)["failed"], 0, "{}", out.text());
    assert_eq!(
        stats(&peer)["changed"],
        2,
        "{peer} finished: {}",
        out.text()
    );
    assert_eq!(out.events_named("unreachable").len(), 1, "{}", out.text());
}

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
