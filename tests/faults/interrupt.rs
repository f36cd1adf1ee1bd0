//! A command stopped on its hosts over SSH: by Ctrl-C (the recap prints,
//! exit 130, the hosts are interrupted, nothing of the run is left on the
//! hosts or here) or by its time limit (that host fails, the other goes on).

use std::time::Duration;

use crate::common::background::{running_here, Background};
use crate::common::lab::{lab_alone, wait_until, Lab};
use crate::common::{Outcome, Test};

/// The hosts these tests run on (lab12, lab13, lab14).
const HOSTS: [usize; 3] = [11, 12, 13];

/// A name no other process on the lab hosts carries, for the commands the
/// tests start there: `kbzstop` and this test process's pid and a counter.
fn token() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "kbzstop{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Whether a process whose command line holds `token` runs on `host` (the
/// bracket keeps pgrep's own shell from matching).
fn running_there(lab: &Lab, host: usize, token: &str) -> bool {
    let (first, rest) = token.split_at(1);
    lab.ssh(
        host,
        &format!("pgrep -f '[{first}]{rest}' >/dev/null && echo yes || echo no"),
    )
    .trim()
        == "yes"
}

/// The folder the plays write into on each host (`/root/<token>`), removed
/// with anything the command left when dropped, even if the test failed.
struct Scratch<'a> {
    lab: &'a Lab,
    hosts: &'a [usize],
    token: String,
}

impl Scratch<'_> {
    fn dir(&self) -> String {
        format!("/root/{}", self.token)
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        let (first, rest) = self.token.split_at(1);
        for &h in self.hosts {
            self.lab.try_ssh(
                h,
                // `exec`: this shell's own command line names the folder,
                // which the pattern matches; pkill never matches itself.
                &format!(
                    "rm -rf {}; exec pkill -KILL -f '[{first}]{rest}'",
                    self.dir()
                ),
            );
        }
    }
}

/// A test on `hosts` with `playbook`, where `DIR` stands for the scratch
/// folder and `TOKEN` for the commands' token.
fn scratch_test<'a>(lab: &'a Lab, hosts: &'a [usize], playbook: &str) -> (Scratch<'a>, Test) {
    let scratch = Scratch {
        lab,
        hosts,
        token: token(),
    };
    let playbook = playbook
        .replace("DIR", &scratch.dir())
        .replace("TOKEN", &scratch.token);
    let t = lab
        .test()
        .playbook(&playbook)
        .args(["--limit", &limit(lab, hosts)]);
    (scratch, t)
}

/// `--limit`'s value for `hosts`.
fn limit(lab: &Lab, hosts: &[usize]) -> String {
    let names: Vec<&str> = hosts.iter().map(|&h| lab.hosts[h].0.as_str()).collect();
    names.join(",")
}

/// Writes a file, then runs a command that outlives any test (its children
/// ignore TERM when `trap` says so), then writes another.
fn hanging(trap: &str) -> String {
    format!(
        r#"
play("p", "all", |host| {{
    file(#{{ path: "DIR", state: "directory" }});
    copy(#{{ dest: "DIR/before.conf", content: "written before the command\n" }});
    shell("{trap}sh -c 'sleep 1000; echo $0' TOKEN | cat & sleep 300");
    copy(#{{ dest: "DIR/after.conf", content: "never\n" }});
}});
"#
    )
}

/// Asserts that nothing of the run is left on `hosts` (the command, temp
/// files, the after-file), within a generous bound for the KILL to land.
fn assert_nothing_left_there(lab: &Lab, scratch: &Scratch, out: &Outcome) {
    for &h in scratch.hosts {
        let gone = wait_until(Duration::from_secs(15), || {
            !running_there(lab, h, &scratch.token)
        });
        assert!(
            gone.is_some(),
            "{}: the command still runs\n{}",
            lab.hosts[h].0,
            out.text()
        );
        let left = lab.ssh(h, &format!("ls -A {}", scratch.dir()));
        assert_eq!(left.trim(), "before.conf", "{}", lab.hosts[h].0);
    }
}

/// Asserts that no ssh process of the run is left here and its control
/// folder is gone.
fn assert_nothing_left_here(runtime: &std::path::Path) {
    let runtime_text = runtime.to_str().unwrap();
    let gone = wait_until(Duration::from_secs(5), || !running_here(runtime_text));
    assert!(gone.is_some(), "an ssh process of the run is left");
    let left = Background::control_left(runtime);
    assert!(left.is_empty(), "control folder left behind: {left:?}");
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn ctrl_c_over_ssh_stops_every_host_cleanly() {
    let (_guard, lab) = lab_alone();
    let (scratch, t) = scratch_test(&lab, &HOSTS, &hanging(""));
    let run = Background::start(&t, "\"op\":\"shell\"", HOSTS.len());
    let runtime = run.runtime().to_path_buf();
    run.interrupt();
    let out = run.wait(Duration::from_secs(30));
    out.assert_code(130);
    let text = out.text();
    assert!(text.contains("\"run_end\""), "no recap: {text}");
    for (host, stats) in out.recap() {
        assert_eq!(stats["interrupted"], true, "{host}: {text}");
        assert_eq!(stats["failed"], 0, "{host}: {text}");
    }
    let stopped = out.ops_with_status("interrupted");
    assert_eq!(stopped.len(), HOSTS.len(), "{text}");
    assert_nothing_left_there(&lab, &scratch, &out);
    assert_nothing_left_here(&runtime);
    // No lock left behind: a next run takes every host's lock at once.
    lab.test()
        .playbook(r#"play("p", "all", |host| { command("true"); });"#)
        .args(["--limit", &limit(&lab, &HOSTS), "--lock-timeout", "5"])
        .run()
        .assert_success();
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_second_ctrl_c_over_ssh_exits_at_once_and_leaves_nothing() {
    let (_guard, lab) = lab_alone();
    let hosts = &HOSTS[..2];
    let (scratch, t) = scratch_test(&lab, hosts, &hanging("trap '' TERM; "));
    let run = Background::start(&t, "\"op\":\"shell\"", hosts.len());
    let runtime = run.runtime().to_path_buf();
    run.interrupt();
    std::thread::sleep(Duration::from_millis(300));
    let second = std::time::Instant::now();
    run.interrupt();
    let out = run.wait(Duration::from_secs(10));
    assert!(
        second.elapsed() < Duration::from_secs(2),
        "the second Ctrl-C took {:?}",
        second.elapsed()
    );
    out.assert_code(130);
    assert_nothing_left_here(&runtime);
    // The first Ctrl-C's TERM reached `timeout`, whose KILL follows 2 s later.
    assert_nothing_left_there(&lab, &scratch, &out);
}

/// On the first host a command that outlives any test, run with `options`
/// (a Rhai map); on the second one a quick command, then a file.
const HUNG_AND_QUICK: &str = r#"
play("p", "all", |host| {
    file(#{ path: "DIR", state: "directory" });
    if host.name == "SLOW" {
        shell("sh -c 'sleep 1000; echo $0' TOKEN | cat & sleep 300", OPTIONS);
    } else {
        shell("sleep 1");
        copy(#{ dest: "DIR/quick.done", content: "done\n" });
    }
});
"#;

/// Runs [`HUNG_AND_QUICK`] on lab12 (hung) and lab13 with `options` and
/// `args`; asserts that lab12 failed "timed out after 2 s" with the
/// command and its children gone there, and that lab13 finished.
fn assert_times_out_over_ssh(options: &str, args: &[&str]) {
    let (_guard, lab) = lab_alone();
    let hosts = &HOSTS[..2];
    let (slow, quick) = (lab.hosts[hosts[0]].0.clone(), lab.hosts[hosts[1]].0.clone());
    let playbook = HUNG_AND_QUICK
        .replace("SLOW", &slow)
        .replace("OPTIONS", options);
    let (scratch, t) = scratch_test(&lab, hosts, &playbook);
    let out = t.run_with(args);
    let text = out.text();
    out.assert_code(2);
    let failed = out.ops_with_status("failed");
    assert_eq!(failed.len(), 1, "{text}");
    assert_eq!(failed[0]["host"], slow, "{text}");
    let message = failed[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("timed out after 2 s"), "{message}");
    assert!(
        !running_there(&lab, hosts[0], &scratch.token),
        "{slow}: the timed-out command or a child of it still runs"
    );
    assert_eq!(out.stats(1)["failed"], 0, "{text}");
    assert_eq!(
        lab.ssh(hosts[1], &format!("cat {}/quick.done", scratch.dir())),
        "done\n",
        "{quick} did not finish: {text}"
    );
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn an_ops_timeout_kills_its_command_on_the_host_over_ssh() {
    assert_times_out_over_ssh("#{ timeout: 2 }", &[]);
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn op_timeout_kills_a_command_on_the_host_over_ssh() {
    assert_times_out_over_ssh("#{}", &["--op-timeout", "2"]);
}

/// Takes the execute bit off `pkill` on a host (off `pgrep`, which Debian's
/// `pkill` links to), as on one without procps; puts it back when dropped,
/// even if the test failed.
struct NoPkill<'a> {
    lab: &'a Lab,
    host: usize,
}

impl<'a> NoPkill<'a> {
    fn on(lab: &'a Lab, host: usize) -> NoPkill<'a> {
        lab.ssh(host, "chmod 644 /usr/bin/pgrep");
        NoPkill { lab, host }
    }
}

impl Drop for NoPkill<'_> {
    fn drop(&mut self) {
        self.lab.ssh(self.host, "chmod 755 /usr/bin/pgrep");
    }
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_host_without_pkill_fails_naming_it_and_the_other_goes_on() {
    let (_guard, lab) = lab_alone();
    let hosts = &HOSTS[1..];
    let (bare, other) = (lab.hosts[hosts[1]].0.clone(), lab.hosts[hosts[0]].0.clone());
    let _no_pkill = NoPkill::on(&lab, hosts[1]);
    let (_scratch, t) = scratch_test(
        &lab,
        hosts,
        r#"play("p", "all", |host| { file(#{ path: "DIR", state: "directory" }); });"#,
    );
    let out = t.run();
    let text = out.text();
    out.assert_code(2);
    let failed = out.events_named("host_failed");
    assert_eq!(failed.len(), 1, "{text}");
    assert_eq!(failed[0]["host"], bare, "{text}");
    let error = failed[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("lacks `pkill`") && error.contains("apt-get install procps"),
        "{error}"
    );
    let recap = out.recap();
    let stats = |name: &str| recap.iter().find(|(h, _)| h == name).unwrap().1.clone();
    assert_eq!(stats(&other)["changed"], 1, "{text}");
}
