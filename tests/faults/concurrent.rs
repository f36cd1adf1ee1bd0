//! Two runs at once against the same hosts (issue 9, item 10), over real
//! sshd: the run lock on each machine keeps their ops apart, whatever the
//! inventories call the machines. Each op logs its start and end in a file
//! on the host, which shows whether two runs' ops ever interleaved there.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::lab::{lab_alone, wait_until, Lab};
use crate::common::outcome::Outcome;
use crate::common::Test;

/// The two lab hosts both runs work on (lab05, lab06).
const HOSTS: [usize; 2] = [4, 5];

/// The log on each host.
const LOG: &str = "/var/tmp/kbz-concurrent.log";

/// Three ops, each logging `RUN NAME start|end N` around `secs` seconds of
/// sleep (RUN and secs are `-e` variables, NAME the inventory name).
const PLAYBOOK: &str = r#"
play("p", "all", |host| {
    for n in 1..=3 {
        let line = host.vars.run + " " + host.name;
        shell("echo '" + line + " start " + n + "' >> /var/tmp/kbz-concurrent.log && sleep "
            + host.vars.secs + " && echo '" + line + " end " + n + "' >> /var/tmp/kbz-concurrent.log");
    }
});
"#;

/// [`PLAYBOOK`]'s op, in a play of its own on `hosts` each.
fn two_plays(first: &str, second: &str) -> String {
    let play = |name: &str, hosts: &str| {
        format!(
            r#"
play("{name}", "{hosts}", |host| {{
    let line = host.vars.run + " " + host.name;
    shell("echo '" + line + " start 1' >> {LOG} && sleep " + host.vars.secs
        + " && echo '" + line + " end 1' >> {LOG}");
}});
"#
        )
    };
    play("first", first) + play("second", second).as_str()
}

/// Empties the hosts' logs now and when dropped, even if the test failed.
struct CleanLog<'a>(&'a Lab);

impl CleanLog<'_> {
    fn new(lab: &Lab) -> CleanLog<'_> {
        let clean = CleanLog(lab);
        clean.clean();
        clean
    }

    fn clean(&self) {
        for h in HOSTS {
            self.0.ssh(h, &format!("rm -f {LOG}"));
        }
    }
}

impl Drop for CleanLog<'_> {
    fn drop(&mut self) {
        self.clean();
    }
}

/// The playbook on the test's lab hosts under their lab names, and through
/// an inventory naming the same machines otherwise (`otherNN`, in the same
/// groups), as a second team's inventory would.
struct Names {
    lab: Test,
    other: Test,
    _dir: tempfile::TempDir,
}

fn names(lab: &Lab, playbook: &str) -> Names {
    let dir = tempfile::tempdir().unwrap();
    let tsv = std::fs::read_to_string(&lab.inventory).unwrap();
    let lines: Vec<&str> = tsv.lines().collect();
    let mut other = format!("{}\n", lines[0]);
    for h in HOSTS {
        let row = lines[h + 1].split_once('\t').unwrap().1;
        other += &format!("other{:02}\t{row}\n", h + 1);
    }
    let inventory: PathBuf = dir.path().join("other.tsv");
    std::fs::write(&inventory, other).unwrap();
    let limit = HOSTS.map(|h| lab.hosts[h].0.clone()).join(",");
    Names {
        lab: lab.test().playbook(playbook).args(["--limit", &limit]),
        other: lab.test().playbook(playbook).inventory_file(&inventory),
        _dir: dir,
    }
}

/// `-e` variables for run `run` whose ops sleep `secs` seconds, and more args.
fn vars(run: &str, secs: u32, more: &[&str]) -> Vec<String> {
    let mut v = vec![
        "-e".to_string(),
        format!("run={run}"),
        "-e".into(),
        format!("secs={secs}"),
    ];
    v.extend(more.iter().map(|s| s.to_string()));
    v
}

/// A run in the background, killed if the test fails before it ends, so
/// that it cannot write into the next test's logs.
struct Background(Option<Child>);

impl Background {
    fn id(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }

    /// Waits for the run to end.
    fn finish(mut self) -> Outcome {
        let child = self.0.take().expect("running");
        Outcome::new(child.wait_with_output().unwrap())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `t` with `args` in the background (JSON output captured).
fn spawn(t: &Test, args: &[String]) -> Background {
    let child = t
        .command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kbz-play starts");
    Background(Some(child))
}

/// The log of host `h`, one line per entry.
fn log(lab: &Lab, h: usize) -> Vec<String> {
    let text = lab
        .try_ssh(h, &format!("cat {LOG} 2>/dev/null"))
        .unwrap_or_default();
    text.lines().map(str::to_string).collect()
}

/// Waits until run `run` has started an op on every host.
fn wait_started(lab: &Lab, run: &str) {
    let started = wait_until(Duration::from_secs(30), || {
        HOSTS.iter().all(|&h| {
            log(lab, h)
                .iter()
                .any(|l| l.starts_with(&format!("{run} ")))
        })
    });
    assert!(started.is_some(), "run {run} never started its ops");
}

/// The runs in the order their entries appear in `lines`, each run once per
/// unbroken stretch: `[A, B]` when they took turns, `[A, B, A]` when not.
fn stretches(lines: &[String]) -> Vec<String> {
    let mut runs: Vec<String> = Vec::new();
    for run in lines
        .iter()
        .map(|l| l.split(' ').next().unwrap_or("").to_string())
    {
        if runs.last() != Some(&run) {
            runs.push(run);
        }
    }
    runs
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn two_runs_at_once_take_turns_on_each_host_whatever_they_call_it() {
    let (_guard, lab) = lab_alone();
    let _clean = CleanLog::new(&lab);
    let names = names(&lab, PLAYBOOK);
    let began = Instant::now();
    let a = spawn(&names.lab, &vars("A", 1, &[]));
    let b = spawn(&names.other, &vars("B", 1, &[]));
    let (a, b) = (a.finish(), b.finish());
    a.assert_success();
    b.assert_success();
    for h in HOSTS {
        let lines = log(&lab, h);
        assert_eq!(lines.len(), 12, "{}: {lines:#?}", lab.hosts[h].0);
        let turns = stretches(&lines);
        assert!(
            turns == ["A", "B"] || turns == ["B", "A"],
            "the runs interleaved on {}: {lines:#?}",
            lab.hosts[h].0
        );
    }
    // Each run's ops take 3 s per host: the second waited for the first.
    assert!(began.elapsed() >= Duration::from_secs(6));
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_run_with_a_short_lock_timeout_reports_the_hosts_busy_naming_the_first() {
    let (_guard, lab) = lab_alone();
    let _clean = CleanLog::new(&lab);
    let names = names(&lab, PLAYBOOK);
    let a = spawn(&names.lab, &vars("A", 3, &[]));
    let pid = a.id();
    wait_started(&lab, "A");
    let b = names
        .other
        .run_with(&vars("B", 0, &["--lock-timeout", "1"]));
    b.assert_code(2);
    let failed = b.events_named("host_failed");
    assert_eq!(failed.len(), HOSTS.len(), "{}", b.text());
    for e in &failed {
        let error = e["error"].as_str().unwrap_or_default();
        assert!(
            error.starts_with("host is busy: another kbz-play run holds its lock")
                && error.contains(&format!("pid {pid},"))
                && error.contains("started 20"),
            "{error}"
        );
    }
    a.finish().assert_success();
    for h in HOSTS {
        let lines = log(&lab, h);
        assert_eq!(stretches(&lines), ["A"], "{lines:#?}");
    }
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_run_killed_with_sigkill_leaves_no_stale_lock() {
    let (_guard, lab) = lab_alone();
    let _clean = CleanLog::new(&lab);
    let names = names(&lab, PLAYBOOK);
    // The killed run's masters live on (ControlPersist): they are found in
    // its own runtime folder and stopped at the end.
    let runtime = tempfile::tempdir().unwrap();
    // kbz-play only uses a runtime folder that is private.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(runtime.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let _masters = StopMasters(runtime.path());
    let mut a = names.lab.command();
    a.env("XDG_RUNTIME_DIR", runtime.path())
        .args(vars("A", 5, &[]))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let a = Background(Some(a.spawn().expect("kbz-play starts")));
    wait_started(&lab, "A");
    // Child::kill sends SIGKILL.
    drop(a);
    assert!(
        !sockets(runtime.path()).is_empty(),
        "the killed run's masters are still up: its holders' stdin closed all the same"
    );
    // A's holder is gone, but its op in flight still holds the lock: B waits
    // for it, not for a stale lock.
    let b = names
        .other
        .run_with(&vars("B", 0, &["--lock-timeout", "20"]));
    b.assert_success();
    for h in HOSTS {
        let (name, lines) = (&lab.hosts[h].0, log(&lab, h));
        assert_eq!(stretches(&lines), ["A", "B"], "{name}: {lines:#?}");
        assert!(lines.contains(&format!("A {name} end 1")), "{lines:#?}");
    }
}

/// Stops every ssh master whose control socket is under the folder.
struct StopMasters<'a>(&'a Path);

impl Drop for StopMasters<'_> {
    fn drop(&mut self) {
        for socket in sockets(self.0) {
            let _ = std::process::Command::new("ssh")
                .arg("-S")
                .arg(&socket)
                .args(["-O", "exit", "x"])
                .output();
        }
    }
}

/// The unix sockets under `dir`, at any depth.
fn sockets(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            found.extend(sockets(&entry.path()));
        } else if kind.is_socket() {
            found.push(entry.path());
        }
    }
    found
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_host_is_released_once_its_last_play_is_done() {
    let (_guard, lab) = lab_alone();
    let _clean = CleanLog::new(&lab);
    // lab05 is the only `web` host of the two, lab06 the only `db` one.
    let names = names(&lab, &two_plays("web", "db"));
    let a = spawn(&names.lab, &vars("A", 4, &[]));
    let started = wait_until(Duration::from_secs(30), || {
        log(&lab, HOSTS[1]).iter().any(|l| l.starts_with("A "))
    });
    assert!(started.is_some(), "run A never reached its second play");
    // A is busy on the second host only: the first is free for B at once.
    let b = names.other.run_with(&vars(
        "B",
        0,
        &[
            "--limit",
            &format!("other{:02}", HOSTS[0] + 1),
            "--lock-timeout",
            "1",
        ],
    ));
    b.assert_success();
    a.finish().assert_success();
    assert_eq!(stretches(&log(&lab, HOSTS[0])), ["A", "B"]);
}
