//! kbz-play against real hosts: the lab of systemd-nspawn containers that
//! `tests/lab/lab.sh up N` starts (real sshd, real systemd, a private bridge).
//!
//! Skipped, with a message, when no lab is up; `tests/run.sh` brings one up
//! and sets `KBZ_LAB_REQUIRED=1`, which turns a missing lab into a failure.
//! The tests share the lab's hosts, so they take turns (one lock).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::lab::{lab, Lab, LAB_LOCK};
use common::{recap, repo, text, total};

/// The demo's own checks on a lab host.
trait DemoHost {
    fn fingerprint(&self, host: usize) -> String;
    fn reset_demo(&self);
}

impl DemoHost for Lab {
    /// Everything the demo manages on a host, with content hashes, modes,
    /// owners and mtimes: equal fingerprints mean not one byte changed.
    fn fingerprint(&self, host: usize) -> String {
        self.ssh(
            host,
            "cd / && find /opt/keybuzz /etc/systemd/journald.conf.d /etc/systemd/system/docker.service.d \
             /etc/sysctl.d /etc/ssh/sshd_config -printf '%p %m %u %g %s %T@\\n' 2>/dev/null | sort; \
             find /opt/keybuzz /etc/ssh/sshd_config /etc/sysctl.d -type f -exec sha256sum {} + 2>/dev/null | sort",
        )
    }

    fn reset_demo(&self) {
        for i in 0..self.hosts.len() {
            self.ssh(i, "rm -rf /opt/keybuzz /etc/systemd/journald.conf.d /etc/systemd/system/docker.service.d /etc/sysctl.d/99-keybuzz.conf");
        }
    }
}

fn demo() -> String {
    repo().join("playbooks/demo.rhai").display().to_string()
}

#[test]
fn first_run_changes_then_rerun_changes_nothing() {
    let _guard = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lab) = lab().map(|l| l.first(4)) else {
        return;
    };
    lab.reset_demo();
    let first = lab.kbz(&demo(), &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    for (host, stats) in recap(&first) {
        assert!(
            stats["changed"].as_u64().unwrap() >= 25,
            "{host} changed too little on a fresh host: {stats}"
        );
        assert_eq!(stats["failed"], 0, "{host}: {stats}");
    }
    let second = lab.kbz(&demo(), &[]);
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    assert_eq!(
        total(&second, "changed"),
        0,
        "the rerun changed something:\n{}",
        text(&second)
    );
    assert_eq!(
        total(&second, "ok"),
        30 * lab.hosts.len() as u64,
        "{}",
        text(&second)
    );
    let content = lab.ssh(0, "cat /opt/keybuzz/postgres/config/patroni.yml; stat -c '%a %U' /opt/keybuzz/postgres/config/patroni.yml /opt/keybuzz/redis/data");
    assert!(
        content.contains(&format!("self_addr: {}:5000", lab.hosts[0].1)),
        "{content}"
    );
    assert!(
        content.contains("640 root") && content.contains("750 root"),
        "{content}"
    );
}

#[test]
fn check_mode_touches_nothing_and_a_hand_edit_is_restored() {
    let _guard = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lab) = lab().map(|l| l.first(4)) else {
        return;
    };
    let applied = lab.kbz(&demo(), &[]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    lab.ssh(0, "echo 'bind 0.0.0.0  # edited by hand' >> /opt/keybuzz/redis/config/sentinel.conf; chmod 0666 /opt/keybuzz/mariadb/config/my.cnf; rm -rf /opt/keybuzz/minio/logs");
    let before = lab.fingerprint(0);
    let check = lab.kbz(&demo(), &["--check", "--diff"]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check));
    assert_eq!(lab.fingerprint(0), before, "--check changed the host");
    let host0 = &recap(&check)[0].1;
    assert_eq!(
        host0["changed"], 3,
        "--check should report the 3 drifted resources: {host0}"
    );
    let stdout = String::from_utf8_lossy(&check.stdout);
    assert!(
        stdout.contains("edited by hand"),
        "--diff shows the hand edit being removed:\n{stdout}"
    );
    let fix = lab.kbz(&demo(), &[]);
    assert_eq!(fix.status.code(), Some(0), "{}", text(&fix));
    assert_eq!(recap(&fix)[0].1["changed"], 3, "{}", text(&fix));
    let after = lab.ssh(0, "grep -c 'edited by hand' /opt/keybuzz/redis/config/sentinel.conf || true; stat -c %a /opt/keybuzz/mariadb/config/my.cnf; test -d /opt/keybuzz/minio/logs && echo dir");
    assert_eq!(
        after.split_whitespace().collect::<Vec<_>>(),
        ["0", "640", "dir"],
        "{after}"
    );
    let again = lab.kbz(&demo(), &[]);
    assert_eq!(total(&again, "changed"), 0, "{}", text(&again));
}

#[test]
fn become_as_a_sudo_user_writes_as_root() {
    let _guard = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lab) = lab().map(|l| l.first(4)) else {
        return;
    };
    let p = common::project(&[(
        "become.rhai",
        "play(\"become\", \"all\", |host| {\n\
         file(#{ path: \"/opt/kbz-become\", state: \"directory\", mode: \"0700\" });\n\
         copy(#{ dest: \"/opt/kbz-become/secret.conf\", content: \"x = 1\\n\", mode: \"0600\", owner: \"root\" });\n\
         let r = command(\"id -un\", #{ readonly: true });\n\
         if r.stdout != \"root\" { fail(`expected root, got ${r.stdout}`); }\n\
         });\n",
    )]);
    for i in 0..lab.hosts.len() {
        lab.ssh(i, "rm -rf /opt/kbz-become");
    }
    let playbook = p.path().join("become.rhai");
    let run = lab.kbz(playbook.to_str().unwrap(), &["-u", "kbz", "--become"]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    assert_eq!(
        lab.ssh(0, "stat -c '%U %a' /opt/kbz-become/secret.conf")
            .trim(),
        "root 600"
    );
    let without = lab.kbz(playbook.to_str().unwrap(), &["-u", "kbz", "--no-cache"]);
    assert_eq!(
        without.status.code(),
        Some(2),
        "without --become the kbz user cannot read /opt/kbz-become: {}",
        text(&without)
    );
    let again = lab.kbz(playbook.to_str().unwrap(), &["-u", "kbz", "--become"]);
    assert_eq!(total(&again, "changed"), 0, "{}", text(&again));
}

#[test]
fn a_stopped_host_is_unreachable_and_the_others_finish() {
    let _guard = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lab) = lab().map(|l| l.first(4)) else {
        return;
    };
    assert!(lab.hosts.len() >= 2, "needs 2 lab hosts");
    let victim = lab.hosts[1].0.clone();
    lab.reset_demo();
    lab.lab_sh(&["stop", &victim]);
    let run = lab.kbz(&demo(), &["--timeout", "3"]);
    lab.lab_sh(&["start", &victim]);
    assert_eq!(run.status.code(), Some(4), "{}", text(&run));
    for (host, stats) in recap(&run) {
        if host == victim {
            assert_eq!(stats["unreachable"], true, "{stats}");
        } else {
            assert_eq!(stats["unreachable"], false, "{host}: {stats}");
            assert!(
                stats["changed"].as_u64().unwrap() >= 25,
                "{host} did not finish: {stats}"
            );
        }
    }
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(stdout.contains("\"event\":\"unreachable\""), "{stdout}");
}

#[test]
fn a_changed_host_key_is_refused() {
    let _guard = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lab) = lab().map(|l| l.first(4)) else {
        return;
    };
    let (name, address) = lab.hosts.last().cloned().unwrap();
    let known_hosts = lab.ssh_config.parent().unwrap().join("known_hosts");
    let warm = lab.kbz(&demo(), &["--limit", &name]);
    assert_eq!(warm.status.code(), Some(0), "{}", text(&warm));
    lab.lab_sh(&["rekey", &name]);
    let run = lab.kbz(&demo(), &["--limit", &name]);
    let _ = Command::new("ssh-keygen")
        .args(["-R", &address, "-f", known_hosts.to_str().unwrap()])
        .output();
    assert_eq!(run.status.code(), Some(4), "{}", text(&run));
    let stdout = String::from_utf8_lossy(&run.stdout).to_lowercase();
    assert!(stdout.contains("host key"), "the error says why: {stdout}");
    assert_eq!(total(&run, "changed"), 0);
}

#[test]
fn limit_and_tags_select_a_slice() {
    let _guard = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lab) = lab().map(|l| l.first(4)) else {
        return;
    };
    lab.reset_demo();
    let first = &lab.hosts[0].0;
    let run = lab.kbz(
        &demo(),
        &["--limit", first, "--tags", "nothing-has-this-tag"],
    );
    assert_eq!(run.status.code(), Some(0), "{}", text(&run));
    let r = recap(&run);
    assert_eq!(r.len(), 1, "{}", text(&run));
    assert_eq!(r[0].1["changed"], 0);
    assert_eq!(r[0].1["skipped"], 30);
    let run = lab.kbz(&demo(), &["--limit", first, "--tags", "keybuzz_base"]);
    assert!(
        recap(&run)[0].1["changed"].as_u64().unwrap() >= 25,
        "{}",
        text(&run)
    );
}

/// Builds a tiny Debian package on this machine, for the package op to
/// install from a file repository on a lab host (lab hosts have no route out).
fn tiny_deb(dir: &std::path::Path) -> PathBuf {
    let root = dir.join("kbz-test-pkg");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/share/kbz-test-pkg")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        "Package: kbz-test-pkg\nVersion: 1.0\nArchitecture: all\nMaintainer: kbz <kbz@example.invalid>\nDescription: kbz-play test package\n",
    )
    .unwrap();
    std::fs::write(root.join("usr/share/kbz-test-pkg/hello"), "hello\n").unwrap();
    let deb = dir.join("kbz-test-pkg_1.0_all.deb");
    let out = Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group"])
        .arg(&root)
        .arg(&deb)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    deb
}

#[test]
fn every_op_on_a_real_host() {
    let _guard = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lab) = lab().map(|l| l.first(4)) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let deb = tiny_deb(work.path());
    let p = common::project(&[(
        "ops.rhai",
        r#"
play("ops", "all", #{ run_once: true }, |host| {
    // a file repository holding one package, for package()
    file(#{ path: "/opt/kbz-repo", state: "directory" });
    copy(#{ src: host.vars.deb, dest: "/opt/kbz-repo/kbz-test-pkg_1.0_all.deb" });
    shell("cd /opt/kbz-repo && apt-ftparchive packages . > Packages", #{ creates: "/opt/kbz-repo/Packages" });
    copy(#{ dest: "/etc/apt/sources.list.d/kbz-repo.list", content: "deb [trusted=yes] file:/opt/kbz-repo ./\n" });
    package(#{ name: ["kbz-test-pkg", "openssh-server"], update_cache: true });

    group(#{ name: "kbzapp", gid: 1901 });
    user(#{ name: "kbzapp", uid: 1901, group: "kbzapp", groups: ["sudo"], shell: "/bin/bash" });
    file(#{ path: "/opt/kbzapp", state: "directory", owner: "kbzapp", group: "kbzapp", mode: "0750" });
    file(#{ path: "/opt/kbzapp/current", state: "link", src: "/opt/kbzapp" });

    copy(#{ dest: "/etc/systemd/system/kbz-sleeper.service", content: "[Unit]\nDescription=kbz test\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n" })
        .notify("reload units");
    sysctl(#{ name: "net.core.somaxconn", value: 2048 });
    line(#{ path: "/etc/environment", line: "KBZ_TEST=1", create: true });
    wait_for(#{ port: 22, host: host.ip, timeout: 5 });
    shell("date > /opt/kbzapp/stamp", #{ creates: "/opt/kbzapp/stamp" });
});
play("services", "all", #{ run_once: true }, |host| {
    service(#{ name: "kbz-sleeper", state: "started", enabled: true, daemon_reload: true });
});
handler("reload units", || { command("systemctl daemon-reload"); });
"#,
    )]);
    let reset = "systemctl disable --now kbz-sleeper 2>/dev/null; rm -f /etc/systemd/system/kbz-sleeper.service; \
                 systemctl daemon-reload; userdel kbzapp 2>/dev/null; groupdel kbzapp 2>/dev/null; \
                 dpkg -r kbz-test-pkg >/dev/null 2>&1; rm -rf /opt/kbz-repo /opt/kbzapp /etc/apt/sources.list.d/kbz-repo.list \
                 /etc/sysctl.d/99-kbz-play.conf; sed -i '/KBZ_TEST/d' /etc/environment; sysctl -qw net.core.somaxconn=4096";
    lab.ssh(0, reset);
    let playbook = p.path().join("ops.rhai");
    let deb_var = format!("deb={}", deb.display());
    let first = lab.kbz(playbook.to_str().unwrap(), &["-e", &deb_var]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let state = lab.ssh(
        0,
        "dpkg-query -W -f='${Status}\\n' kbz-test-pkg; id kbzapp; stat -c '%U:%G %a' /opt/kbzapp; readlink /opt/kbzapp/current; \
         systemctl is-active kbz-sleeper; systemctl is-enabled kbz-sleeper; sysctl -n net.core.somaxconn; \
         cat /etc/sysctl.d/99-kbz-play.conf; grep KBZ_TEST /etc/environment; test -f /opt/kbzapp/stamp && echo stamped",
    );
    for expected in [
        "install ok installed",
        "uid=1901(kbzapp) gid=1901(kbzapp) groups=1901(kbzapp),27(sudo)",
        "kbzapp:kbzapp 750",
        "/opt/kbzapp\n",
        "active\nenabled\n2048\n",
        "net.core.somaxconn = 2048",
        "KBZ_TEST=1",
        "stamped",
    ] {
        assert!(
            state.contains(expected),
            "missing {expected:?} in:\n{state}\n{}",
            text(&first)
        );
    }
    let again = lab.kbz(playbook.to_str().unwrap(), &["-e", &deb_var]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert_eq!(
        total(&again, "changed"),
        0,
        "a rerun of every op changes nothing:\n{}",
        text(&again)
    );
    lab.ssh(0, reset);
}

#[test]
fn host_keys_are_recorded_on_first_contact_and_strict_mode_refuses_unknown_ones() {
    let _guard = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let Some(lab) = lab().map(|l| l.first(4)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_hosts");
    let config = std::fs::read_to_string(&lab.ssh_config).unwrap();
    let config: String = config
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("UserKnownHostsFile") {
                format!("  UserKnownHostsFile {}", known.display())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let ssh_config = dir.path().join("ssh_config");
    std::fs::write(&ssh_config, config + "\n").unwrap();
    let name = lab.hosts[0].0.clone();
    let run = |extra: &[&str]| {
        let mut args = vec!["--limit", name.as_str()];
        args.extend_from_slice(extra);
        lab.kbz_via(&ssh_config, &demo(), &args)
    };
    let strict = run(&["--strict-host-keys"]);
    assert_eq!(strict.status.code(), Some(4), "{}", text(&strict));
    assert!(
        String::from_utf8_lossy(&strict.stdout)
            .to_lowercase()
            .contains("host key"),
        "{}",
        text(&strict)
    );
    assert!(!known.exists() || std::fs::read_to_string(&known).unwrap().is_empty());
    let first = run(&[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert!(
        std::fs::read_to_string(&known)
            .unwrap()
            .contains("ssh-ed25519"),
        "the key was recorded"
    );
    let strict_again = run(&["--strict-host-keys"]);
    assert_eq!(
        strict_again.status.code(),
        Some(0),
        "{}",
        text(&strict_again)
    );
}
