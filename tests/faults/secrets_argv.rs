//! Secrets never on a command line, and containers never removed before
//! their new image is there, on a real lab host (lab05, with Docker).
//!
//! A command line is public on a host: every user's `ps` shows it for as
//! long as the process runs, and sudo logs it under `--become`. So while a
//! `shell` and a `docker_container` with a secret env run, a sampler on the
//! host reads every `/proc/*/cmdline` in a loop, and after the run the
//! journal is searched: the secret must be in neither.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::lab::{lab_alone, wait_until, Lab};
use crate::common::Test;

/// lab05: one of the lab's Docker hosts.
const HOST: usize = 4;

/// The tiny image the tests run: `sleep` and `sh` from the host, imported
/// (the lab cannot pull from the internet).
const IMAGE: &str = "kbz-test/sleeper:1";

/// The test's files on the host, all removed by [`cleanup`].
const PATTERN: &str = "/root/kbz-argv-pattern";
const HITS: &str = "/root/kbz-argv-hits";
const STARTED: &str = "/root/kbz-argv-started";
const STOP: &str = "/root/kbz-argv-stop";
const SEEN: &str = "/root/kbz-argv-seen";

/// A value found nowhere else on the host, different on every run.
fn fresh_secret() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("kbz-argv-{}-{nanos}", std::process::id())
}

/// `printf` octal escapes of `s`: a command line that writes `s` without
/// holding it (so the sampler does not find its own set-up).
fn escaped(s: &str) -> String {
    s.bytes().map(|b| format!("\\{b:03o}")).collect()
}

/// Makes [`IMAGE`] from the host's own `sh` and `sleep` when it is missing.
fn ensure_image(lab: &Lab) {
    lab.ssh(
        HOST,
        &format!(
            "docker image inspect {IMAGE} >/dev/null 2>&1 || \
             tar -ch /bin/sh /bin/dash /bin/sleep /lib/x86_64-linux-gnu/libc.so.6 \
             /lib64/ld-linux-x86-64.so.2 2>/dev/null | docker import - {IMAGE} >/dev/null"
        ),
    );
}

/// Cleans the host when dropped, so a failed assertion leaves it clean too.
struct Cleanup<'a>(&'a Lab);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        cleanup(self.0);
    }
}

/// Leaves the host as the lab made it.
fn cleanup(lab: &Lab) {
    lab.ssh(
        HOST,
        &format!(
            "docker rm -f kbz-argv >/dev/null 2>&1; docker image rm {IMAGE} >/dev/null 2>&1; \
             rm -f {PATTERN} {HITS} {STARTED} {STOP} {SEEN}; true"
        ),
    );
}

/// A project whose `secret("KBZ_ARGV_SECRET")` is `secret`, run as the sudo
/// user `kbz` on lab05 only.
fn project(lab: &Lab, secret: &str, playbook: &str) -> Test {
    let t = lab
        .test()
        .playbook(playbook)
        .file("creds/argv.env", &format!("KBZ_ARGV_SECRET={secret}\n"));
    let env = t.at("creds/argv.env");
    std::fs::set_permissions(&env, std::fs::Permissions::from_mode(0o600)).unwrap();
    let creds = t.at("creds");
    let host = lab.hosts[HOST].0.clone();
    t.args(["-u", "kbz", "--limit", host.as_str()])
        .arg("--credentials")
        .arg(creds)
}

/// Reads every process's command line on the host in a loop until [`STOP`]
/// appears, recording those holding the pattern; prints how many samples it
/// took.
fn sampler() -> String {
    format!(
        "rm -f {HITS} {STOP}; n=0\n\
         while [ ! -e {STOP} ]; do\n\
           for f in $(grep -a -l -F -f {PATTERN} /proc/[0-9]*/cmdline 2>/dev/null); do\n\
             tr '\\0' ' ' < $f >> {HITS}; echo >> {HITS}\n\
           done\n\
           n=$((n+1)); [ $n = 1 ] && touch {STARTED}\n\
         done\n\
         echo $n"
    )
}

const PLAY: &str = r#"
play("secrets stay off command lines", "all", |host| {
    let env = #{ KBZ_ARGV: secret("KBZ_ARGV_SECRET") };
    shell(`sleep 2; printf '%s' "$KBZ_ARGV" > /root/kbz-argv-seen`, #{ env: env });
    docker_container(#{ name: "kbz-argv", image: "kbz-test/sleeper:1",
        command: ["/bin/sleep", "3600"], restart: "no", env: env });
});
"#;

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn secret_env_is_in_no_command_line_and_no_log_under_become() {
    let (_guard, lab) = lab_alone();
    cleanup(&lab);
    let _cleanup = Cleanup(&lab);
    ensure_image(&lab);
    let secret = fresh_secret();
    lab.ssh(
        HOST,
        &format!("umask 077; printf '{}' > {PATTERN}", escaped(&secret)),
    );
    let since = lab.ssh(HOST, "date +%s").trim().to_string();
    let t = project(&lab, &secret, PLAY);
    let (samples, run) = std::thread::scope(|s| {
        let sampling = s.spawn(|| lab.ssh(HOST, &sampler()));
        let started = wait_until(Duration::from_secs(20), || {
            lab.try_ssh(HOST, &format!("test -e {STARTED}")).is_some()
        });
        let run = t.run_with(&["--become"]);
        lab.ssh(HOST, &format!("touch {STOP}"));
        assert!(started.is_some(), "the sampler never started");
        (sampling.join().unwrap(), run)
    });
    run.assert_code(0);
    let samples: u64 = samples.trim().parse().unwrap();
    let hits = lab.ssh(
        HOST,
        &format!("sort -u {HITS} 2>/dev/null | head -c 2000; true"),
    );
    let seen = lab.ssh(HOST, &format!("cat {SEEN}"));
    let container_env = lab.ssh(
        HOST,
        "docker inspect kbz-argv --format '{{range .Config.Env}}{{println .}}{{end}}'",
    );
    let logs = lab.ssh(
        HOST,
        &format!(
            "journalctl -q --no-pager --since @{since} > /root/kbz-argv-journal; \
             cat /var/log/auth.log /var/log/syslog 2>/dev/null >> /root/kbz-argv-journal; \
             echo $(grep -c -a -F -f {PATTERN} /root/kbz-argv-journal) \
                  $(grep -c -a 'sudo.*COMMAND=' /root/kbz-argv-journal); \
             rm -f /root/kbz-argv-journal"
        ),
    );

    assert!(samples > 20, "the sampler read /proc only {samples} times");
    assert_eq!(seen, secret, "the shell's env reached its command");
    assert!(
        container_env
            .lines()
            .any(|l| l == format!("KBZ_ARGV={secret}")),
        "the container's env: {container_env}"
    );
    assert_eq!(
        hits, "",
        "command lines holding the secret, in {samples} samples"
    );
    let counts: Vec<u64> = logs
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(
        counts[1] > 0,
        "sudo logged no command: the search proves nothing"
    );
    assert_eq!(counts[0], 0, "the logs hold the secret");
}

const RECREATE: &str = r#"
play("recreate", "all", |host| {
    docker_container(#{ name: "kbz-argv", image: host.vars.image,
        command: ["/bin/sleep", "3600"], restart: "no" });
});
"#;

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_recreate_whose_pull_fails_leaves_the_old_container_running() {
    let (_guard, lab) = lab_alone();
    cleanup(&lab);
    let _cleanup = Cleanup(&lab);
    ensure_image(&lab);
    let t = project(&lab, "unused-secret", RECREATE);
    t.run_with(&["--become", "-e", &format!("image={IMAGE}")])
        .assert_code(0);
    let before = lab.ssh(
        HOST,
        "docker inspect -f '{{.Id}} {{.State.Status}}' kbz-argv",
    );

    // Nothing listens on port 1: the pull fails at once.
    let failed = t.run_with(&["--become", "-e", "image=127.0.0.1:1/kbz-test/sleeper:2"]);
    let after = lab.try_ssh(
        HOST,
        "docker inspect -f '{{.Id}} {{.State.Status}}' kbz-argv",
    );

    assert_eq!(failed.code(), Some(2), "{}", failed.text());
    assert!(before.ends_with("running\n"), "{before}");
    assert_eq!(after.as_deref(), Some(before.as_str()), "{}", failed.text());
    assert!(failed.text().contains("pull"), "{}", failed.text());
}
