//! SSH masters that outlive the run (`--persist`, issue 13 item 1), against
//! lab13..lab16: a rerun reuses them without a handshake, `kbz-play
//! disconnect` ends them, `--persist 0` leaves none, and a run that would
//! connect otherwise (another user, key or host key) never reuses one.
//! Each test keeps its masters in a private `XDG_RUNTIME_DIR` of its own.

mod common;

use std::collections::BTreeSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::background::Background;
use common::lab::{lab_alone, wait_until, Lab};
use common::{Outcome, Test};

/// The lab hosts these tests use (lab13..lab16), by index.
const HOSTS: std::ops::Range<usize> = 12..16;

/// A no-op play: one probe round trip per host, nothing changed.
const PLAY: &str = r#"play("p", "all", |host| { command("true", #{ unless: "true" }); });"#;

/// The lab hosts the engine's own lab tests share (lab01..lab04), by index.
const FIRST_HOSTS: std::ops::Range<usize> = 0..4;

/// A run of `PLAY` on lab13..16 whose masters persist for 60 s.
fn test(lab: &Lab) -> Test {
    test_on(lab, HOSTS)
}

/// A run of `PLAY` on `hosts` whose masters persist for 60 s.
fn test_on(lab: &Lab, hosts: std::ops::Range<usize>) -> Test {
    let mut tsv = String::from("hostname\tip_private\tgroups\n");
    for (name, ip) in &lab.hosts[hosts] {
        tsv += &format!("{name}\t{ip}\tlab\n");
    }
    lab.test().inventory(&tsv).playbook(PLAY).persist(60)
}

/// A test against lab13..16 with its masters under `runtime`.
struct Persist {
    t: Test,
    _reap: Reap,
    runtime: tempfile::TempDir,
}

impl Persist {
    fn new(t: Test) -> Persist {
        let runtime = tempfile::Builder::new().tempdir_in("/tmp").unwrap();
        std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        Persist {
            t,
            _reap: Reap(runtime.path().to_path_buf()),
            runtime,
        }
    }

    fn run<S: AsRef<std::ffi::OsStr>>(&self, extra: &[S]) -> Outcome {
        let mut cmd = self.t.command();
        cmd.args(extra).env("XDG_RUNTIME_DIR", self.runtime.path());
        Outcome::new(cmd.output().expect("kbz-play runs"))
    }

    fn disconnect(&self, pattern: &[&str]) -> String {
        let out = common::bin()
            .arg("disconnect")
            .args(pattern)
            .env("XDG_RUNTIME_DIR", self.runtime.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::text(&out));
        String::from_utf8(out.stdout).unwrap()
    }

    /// The ssh masters (`ssh ... -M`) whose sockets are under the runtime folder.
    fn masters(&self) -> BTreeSet<u32> {
        masters_under(self.runtime.path())
    }

    /// The master folders left in the persist folder.
    fn folders(&self) -> Vec<PathBuf> {
        let dir = self.runtime.path().join("kbz-play-ssh");
        std::fs::read_dir(dir)
            .map(|d| d.map(|e| e.unwrap().path()).collect())
            .unwrap_or_default()
    }

    fn assert_nothing_left(&self) {
        let gone = wait_until(Duration::from_secs(10), || self.masters().is_empty());
        assert!(gone.is_some(), "masters left: {:?}", self.masters());
        assert!(self.folders().is_empty(), "{:?}", self.folders());
    }
}

/// Ends the masters under a folder when the test ends, passed or failed.
struct Reap(PathBuf);

impl Drop for Reap {
    fn drop(&mut self) {
        for pid in masters_under(&self.0) {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        }
    }
}

/// After a Ctrl-C: within `within`, no master of the run under `runtime`,
/// and no folder left in its persist folder.
fn assert_interrupted_run_left_nothing(runtime: &Path, within: Duration) {
    let gone = wait_until(within, || masters_under(runtime).is_empty());
    assert!(gone.is_some(), "masters left: {:?}", masters_under(runtime));
    let folders: Vec<_> = std::fs::read_dir(runtime.join("kbz-play-ssh"))
        .unwrap()
        .collect();
    assert!(folders.is_empty(), "{folders:?}");
}

fn masters_under(dir: &Path) -> BTreeSet<u32> {
    let needle = dir.to_str().unwrap();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
            let args: Vec<String> = cmdline
                .split(|&b| b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let master = args.first()? == "ssh" && args.iter().any(|a| a == "-M");
            (master && args.iter().any(|a| a.contains(needle))).then_some(pid)
        })
        .collect()
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_rerun_reuses_the_masters_and_disconnect_ends_them() {
    let (_guard, lab) = lab_alone();
    let p = Persist::new(test(&lab));
    let first = p.run::<&str>(&[]);
    first.assert_success();
    let masters = p.masters();
    assert_eq!(masters.len(), HOSTS.len(), "{}", first.text());
    let again = p.run::<&str>(&[]);
    again.assert_success().assert_total("changed", 0);
    assert_eq!(p.masters(), masters, "the rerun started new masters");
    assert_eq!(again.total("round_trips"), first.total("round_trips"));

    let closed = p.disconnect(&["lab1[34]"]);
    assert_eq!(
        closed.lines().count(),
        2,
        "closed only lab13 and lab14: {closed}"
    );
    assert!(closed.contains("closed lab13 (root@"), "{closed}");
    let two_left = wait_until(Duration::from_secs(10), || p.masters().len() == 2);
    assert!(two_left.is_some(), "{:?}", p.masters());
    let closed = p.disconnect(&[]);
    assert!(closed.contains("closed lab16"), "{closed}");
    p.assert_nothing_left();
    assert!(p.disconnect(&[]).contains("no persistent ssh master"));
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn persist_0_leaves_no_master() {
    let (_guard, lab) = lab_alone();
    let p = Persist::new(test(&lab).persist(0));
    p.run::<&str>(&[]).assert_success();
    let gone = wait_until(Duration::from_secs(10), || p.masters().is_empty());
    assert!(gone.is_some(), "masters left: {:?}", p.masters());
    let left: Vec<_> = std::fs::read_dir(p.runtime.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn another_user_key_or_host_key_never_reuses_a_master() {
    let (_guard, lab) = lab_alone();
    // An ssh config of the test's own, with a known_hosts file it can edit.
    let files = tempfile::tempdir().unwrap();
    let dir = files.path();
    let lab_known = std::env::var("KBZ_LAB_KNOWN_HOSTS").unwrap();
    let known = dir.join("known_hosts");
    std::fs::copy(&lab_known, &known).unwrap();
    let config = dir.join("ssh_config");
    // The key comes from --private-key alone, so that another one is refused.
    let lab_key = std::env::var("KBZ_LAB_KEY").unwrap();
    let lab_config = std::fs::read_to_string(&lab.ssh_config).unwrap();
    let own = lab_config
        .replace(&lab_known, known.to_str().unwrap())
        .replace(&format!("IdentityFile {lab_key}"), "");
    std::fs::write(&config, own).unwrap();
    let p = Persist::new(test(&lab).ssh_config(&config));
    let on_lab13 = |key: &str| ["--limit", "lab13", "--private-key", key].map(String::from);
    let lab13 = on_lab13(&lab_key);
    p.run(&lab13).assert_success();
    let masters = p.masters();
    assert_eq!(masters.len(), 1);

    // Each of these would succeed on the live master; only a new
    // connection refuses them.
    let other_key = dir.join("other_key");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .status()
        .unwrap();
    assert!(keygen.success());
    let other_key = other_key.to_str().unwrap();
    let as_nobody = [&lab13[..], &["-u".into(), "nobody".into()]].concat();
    for (what, args) in [
        ("another user", as_nobody.to_vec()),
        ("another key", on_lab13(other_key).to_vec()),
    ] {
        let out = p.run(&args);
        out.assert_code(4);
        assert!(out.text().contains("unreachable"), "{what}: {}", out.text());
    }
    // lab13's key entry replaced by another (valid) key: a reinstalled host.
    let edited = std::fs::read_to_string(&known).unwrap();
    let ip = &lab.hosts[HOSTS.start].1;
    let other_pub = std::fs::read_to_string(format!("{other_key}.pub")).unwrap();
    let fake = other_pub.split_whitespace().take(2).collect::<Vec<_>>();
    let changed: String = edited
        .lines()
        .filter(|l| !l.starts_with(&format!("{ip},")))
        .chain([format!("{ip},lab13 {}", fake.join(" ")).as_str()])
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&known, changed + "\n").unwrap();
    let out = p.run(&lab13);
    out.assert_code(4);
    assert!(out.text().contains("host key"), "{}", out.text());

    // Put back, the first master is found again: the key is its contents.
    std::fs::write(&known, edited).unwrap();
    p.run(&lab13).assert_success();
    assert_eq!(p.masters(), masters);
    p.disconnect(&[]);
    p.assert_nothing_left();
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn ctrl_c_closes_persistent_masters() {
    let (_guard, lab) = lab_alone();
    let t = test(&lab).playbook(r#"play("p", "all", |host| { shell("sleep 30"); });"#);
    let run = Background::start(&t, "\"op\":\"shell\"", HOSTS.len());
    let runtime = run.runtime().to_path_buf();
    let _reap = Reap(runtime.clone());
    assert_eq!(masters_under(&runtime).len(), HOSTS.len());
    run.interrupt();
    run.wait(Duration::from_secs(30)).assert_code(130);
    assert_interrupted_run_left_nothing(&runtime, Duration::from_secs(10));
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_second_ctrl_c_ends_the_persistent_masters_at_once() {
    let (_guard, lab) = lab_alone();
    // Ignores the first Ctrl-C's TERM: only its KILL 2 s later ends it.
    let play = r#"play("p", "all", |host| { shell("trap '' TERM; sleep 30"); });"#;
    let t = test(&lab).playbook(play);
    let run = Background::start(&t, "\"op\":\"shell\"", HOSTS.len());
    let runtime = run.runtime().to_path_buf();
    let _reap = Reap(runtime.clone());
    run.interrupt();
    std::thread::sleep(Duration::from_millis(300));
    run.interrupt();
    run.wait(Duration::from_secs(5)).assert_code(130);
    assert_interrupted_run_left_nothing(&runtime, Duration::from_secs(5));
}

#[test]
fn lab_guard() {
    common::lab::required_guard();
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_dead_master_is_replaced_silently() {
    let (_guard, lab) = lab_alone();
    let p = Persist::new(test(&lab));
    p.run::<&str>(&[]).assert_success();
    let masters = p.masters();
    // SIGKILL: the master's socket stays behind, answering nothing.
    let dead = *masters.iter().next().unwrap();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &dead.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let again = p.run::<&str>(&[]);
    again.assert_success();
    assert!(again.events_named("warn").is_empty(), "{}", again.text());
    let now = p.masters();
    assert_eq!(now.len(), HOSTS.len());
    assert!(!now.contains(&dead));
    assert_eq!(now.intersection(&masters).count(), HOSTS.len() - 1);
    let folders: usize = p.folders().iter().map(|f| connections(f)).sum();
    assert_eq!(folders, HOSTS.len(), "the dead master's folder is left");
    p.disconnect(&[]);
    p.assert_nothing_left();
}

/// How many masters' folders `dir` holds.
fn connections(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            let name = e.as_ref().unwrap().file_name();
            name.to_string_lossy().starts_with(".ssh-connection")
        })
        .count()
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_master_gone_between_its_live_check_and_its_first_channel_is_replaced() {
    let (_guard, lab) = lab_alone();
    let p = Persist::new(test_on(&lab, FIRST_HOSTS));
    p.run::<&str>(&[]).assert_success();
    let masters = p.masters();
    assert_eq!(masters.len(), FIRST_HOSTS.len());
    let vanishing: Vec<_> = p
        .folders()
        .iter()
        .map(|f| Vanishing::after_check(&only_connection(f)))
        .collect();
    let again = p.run::<&str>(&[]);
    for v in vanishing {
        v.checked();
    }
    again.assert_success().assert_total("changed", 0);
    assert!(again.events_named("warn").is_empty(), "{}", again.text());
    let now = p.masters();
    assert_eq!(now.len(), FIRST_HOSTS.len(), "{}", again.text());
    assert!(now.is_disjoint(&masters), "a master gone was used");
    p.disconnect(&[]);
    p.assert_nothing_left();
}

/// The one master folder in a host's folder.
fn only_connection(dir: &Path) -> PathBuf {
    let conns: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".ssh-connection")
        })
        .collect();
    assert_eq!(conns.len(), 1, "{conns:?}");
    conns.into_iter().next().unwrap()
}

/// A kept master that answers the next run's live check and is gone by
/// its first channel, as one idling out at that moment is: its socket is
/// moved aside and a stand-in passes the first connection (the check) on
/// to it, then ends the master and takes the socket away.
struct Vanishing(std::thread::JoinHandle<bool>);

impl Vanishing {
    fn after_check(conn: &Path) -> Vanishing {
        use std::os::unix::net::UnixListener;
        let (socket, real) = (conn.join("master"), conn.join("master.real"));
        let pid = master_of(conn);
        std::fs::rename(&socket, &real).unwrap();
        let listener = UnixListener::bind(&socket).unwrap();
        listener.set_nonblocking(true).unwrap();
        Vanishing(std::thread::spawn(move || {
            let checked = pass_one_on(&listener, &real);
            std::fs::remove_file(&socket).unwrap();
            drop(listener);
            let ended = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status()
                .unwrap();
            checked && ended.success()
        }))
    }

    /// Asserts the run's check went through the stand-in.
    fn checked(self) {
        assert!(self.0.join().unwrap(), "the run never checked the master");
    }
}

/// Passes the first connection to `listener` on to the socket `real`,
/// both ways until the client is done; whether one came within 60 s.
fn pass_one_on(listener: &std::os::unix::net::UnixListener, real: &Path) -> bool {
    use std::os::unix::net::UnixStream;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let client = loop {
        match listener.accept() {
            Ok((client, _)) => break client,
            Err(_) if std::time::Instant::now() > deadline => return false,
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    client.set_nonblocking(false).unwrap();
    let upstream = UnixStream::connect(real).unwrap();
    let (mut from_client, mut to_master) =
        (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let back = std::thread::spawn(move || {
        let (mut from_master, mut to_client) = (upstream, client);
        let _ = std::io::copy(&mut from_master, &mut to_client);
    });
    let _ = std::io::copy(&mut from_client, &mut to_master);
    let _ = to_master.shutdown(std::net::Shutdown::Both);
    back.join().unwrap();
    true
}

/// The pid of the master whose socket is in `conn`.
fn master_of(conn: &Path) -> u32 {
    let masters = masters_under(conn);
    assert_eq!(masters.len(), 1, "masters of {conn:?}: {masters:?}");
    *masters.iter().next().unwrap()
}
