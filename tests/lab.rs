//! kbz-play against real hosts: the lab of systemd-nspawn containers that
//! `tests/lab/lab.sh up N` starts (real sshd, real systemd, a private bridge).
//!
//! `#[ignore]`d, with the reason, in a plain `cargo test`; `tests/run.sh` (as
//! root) brings the lab up and runs them with `-- --include-ignored`, where a
//! missing lab fails them. It also sets `KBZ_LAB_REQUIRED=1`, with which the
//! guard test below fails a run that leaves them out.
//! The tests share the lab's hosts, so they take turns (one lock).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::lab::{first_hosts_alone, Lab};
use common::{repo, text, Test};

/// With `KBZ_LAB_REQUIRED` set, the run must include the ignored tests below
/// and the lab must be up.
#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

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

/// `playbooks/demo.rhai` on the lab.
fn demo(lab: &Lab) -> Test {
    lab.test().playbook_file(repo().join("playbooks/demo.rhai"))
}

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn first_run_changes_then_rerun_changes_nothing() {
    let (_guard, lab) = first_hosts_alone(4);
    let demo = demo(&lab);
    lab.reset_demo();
    let first = demo.run();
    first.assert_code(0);
    for (host, stats) in first.recap() {
        assert!(
            stats["changed"].as_u64().unwrap() >= 25,
            "{host} changed too little on a fresh host: {stats}"
        );
        assert_eq!(stats["failed"], 0, "{host}: {stats}");
    }
    let second = demo.run();
    second.assert_code(0);
    assert_eq!(
        second.total("changed"),
        0,
        "the rerun changed something:\n{}",
        second.text()
    );
    assert_eq!(
        second.total("ok"),
        30 * lab.hosts.len() as u64,
        "{}",
        second.text()
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
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn check_mode_touches_nothing_and_a_hand_edit_is_restored() {
    let (_guard, lab) = first_hosts_alone(4);
    let demo = demo(&lab);
    let applied = demo.run();
    applied.assert_code(0);
    lab.ssh(0, "echo 'bind 0.0.0.0  # edited by hand' >> /opt/keybuzz/redis/config/sentinel.conf; chmod 0666 /opt/keybuzz/mariadb/config/my.cnf; rm -rf /opt/keybuzz/minio/logs");
    let before = lab.fingerprint(0);
    let check = demo.run_with(&["--check", "--diff"]);
    check.assert_code(0);
    assert_eq!(lab.fingerprint(0), before, "--check changed the host");
    let host0 = &check.recap()[0].1;
    assert_eq!(
        host0["changed"], 3,
        "--check should report the 3 drifted resources: {host0}"
    );
    let stdout = check.stdout();
    assert!(
        stdout.contains("edited by hand"),
        "--diff shows the hand edit being removed:\n{stdout}"
    );
    let fix = demo.run();
    fix.assert_code(0);
    assert_eq!(fix.recap()[0].1["changed"], 3, "{}", fix.text());
    let after = lab.ssh(0, "grep -c 'edited by hand' /opt/keybuzz/redis/config/sentinel.conf || true; stat -c %a /opt/keybuzz/mariadb/config/my.cnf; test -d /opt/keybuzz/minio/logs && echo dir");
    assert_eq!(
        after.split_whitespace().collect::<Vec<_>>(),
        ["0", "640", "dir"],
        "{after}"
    );
    let again = demo.run();
    assert_eq!(again.total("changed"), 0, "{}", again.text());
}

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn become_as_a_sudo_user_writes_as_root() {
    let (_guard, lab) = first_hosts_alone(4);
    let t = lab
        .test()
        .playbook(
            "play(\"become\", \"all\", |host| {\n\
         file(#{ path: \"/opt/kbz-become\", state: \"directory\", mode: \"0700\" });\n\
         copy(#{ dest: \"/opt/kbz-become/secret.conf\", content: \"x = 1\\n\", mode: \"0600\", owner: \"root\" });\n\
         let r = command(\"id -un\", #{ readonly: true });\n\
         if r.stdout != \"root\" { fail(`expected root, got ${r.stdout}`); }\n\
         });\n",
        )
        .args(["-u", "kbz"]);
    for i in 0..lab.hosts.len() {
        lab.ssh(i, "rm -rf /opt/kbz-become");
    }
    let run = t.run_with(&["--become"]);
    run.assert_code(0);
    assert_eq!(
        lab.ssh(0, "stat -c '%U %a' /opt/kbz-become/secret.conf")
            .trim(),
        "root 600"
    );
    let without = t.run_with(&["--no-cache"]);
    assert_eq!(
        without.status.code(),
        Some(2),
        "without --become the kbz user cannot read /opt/kbz-become: {}",
        without.text()
    );
    let again = t.run_with(&["--become"]);
    assert_eq!(again.total("changed"), 0, "{}", again.text());
}

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn a_stopped_host_is_unreachable_and_the_others_finish() {
    let (_guard, lab) = first_hosts_alone(4);
    let demo = demo(&lab);
    assert!(lab.hosts.len() >= 2, "needs 2 lab hosts");
    let victim = lab.hosts[1].0.clone();
    lab.reset_demo();
    lab.lab_sh(&["stop", &victim]);
    let run = demo.run_with(&["--timeout", "3"]);
    lab.lab_sh(&["start", &victim]);
    run.assert_code(4);
    for (host, stats) in run.recap() {
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
    let stdout = run.stdout();
    assert!(stdout.contains("\"event\":\"unreachable\""), "{stdout}");
}

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn a_changed_host_key_is_refused() {
    let (_guard, lab) = first_hosts_alone(4);
    let demo = demo(&lab);
    let (name, address) = lab.hosts.last().cloned().unwrap();
    let known_hosts = lab.ssh_config.parent().unwrap().join("known_hosts");
    let warm = demo.run_with(&["--limit", &name]);
    warm.assert_code(0);
    lab.lab_sh(&["rekey", &name]);
    let run = demo.run_with(&["--limit", &name]);
    let _ = Command::new("ssh-keygen")
        .args(["-R", &address, "-f", known_hosts.to_str().unwrap()])
        .output();
    run.assert_code(4);
    let stdout = run.stdout().to_lowercase();
    assert!(stdout.contains("host key"), "the error says why: {stdout}");
    assert_eq!(run.total("changed"), 0);
}

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn limit_and_tags_select_a_slice() {
    let (_guard, lab) = first_hosts_alone(4);
    let demo = demo(&lab);
    lab.reset_demo();
    let first = &lab.hosts[0].0;
    let run = demo.run_with(&["--limit", first, "--tags", "nothing-has-this-tag"]);
    run.assert_code(0);
    let r = run.recap();
    assert_eq!(r.len(), 1, "{}", run.text());
    assert_eq!(r[0].1["changed"], 0);
    assert_eq!(r[0].1["skipped"], 30);
    let run = demo.run_with(&["--limit", first, "--tags", "keybuzz_base"]);
    assert!(
        run.recap()[0].1["changed"].as_u64().unwrap() >= 25,
        "{}",
        run.text()
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
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn every_op_on_a_real_host() {
    let (_guard, lab) = first_hosts_alone(4);
    let work = tempfile::tempdir().unwrap();
    let deb = tiny_deb(work.path());
    let t = lab.test().var("deb", deb.display()).playbook(
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
    );
    let reset = "systemctl disable --now kbz-sleeper 2>/dev/null; rm -f /etc/systemd/system/kbz-sleeper.service; \
                 systemctl daemon-reload; userdel kbzapp 2>/dev/null; groupdel kbzapp 2>/dev/null; \
                 dpkg -r kbz-test-pkg >/dev/null 2>&1; rm -rf /opt/kbz-repo /opt/kbzapp /etc/apt/sources.list.d/kbz-repo.list \
                 /etc/sysctl.d/99-kbz-play.conf; sed -i '/KBZ_TEST/d' /etc/environment; sysctl -qw net.core.somaxconn=4096";
    lab.ssh(0, reset);
    let first = t.run();
    first.assert_code(0);
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
            first.text()
        );
    }
    let again = t.run();
    again.assert_code(0);
    assert_eq!(
        again.total("changed"),
        0,
        "a rerun of every op changes nothing:\n{}",
        again.text()
    );
    lab.ssh(0, reset);
}

/// A batch's service probes are answered by one `systemctl show` of all
/// its units: each op must still read its own unit's state (a shifted
/// answer would report the wrong one as drifted).
#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn services_asked_together_each_read_their_own_state() {
    let (_guard, lab) = first_hosts_alone(4);
    let t = lab.test().playbook(
        r#"
play("services", "all", #{ run_once: true }, |host| {
    service(#{ name: "kbz-unit-a", state: "started", enabled: true });
    service(#{ name: "ssh", state: "started" });
    service(#{ name: "kbz-unit-b", state: "started", enabled: true });
});
"#,
    );
    let unit = "[Unit]\nDescription=kbz test\n[Service]\nExecStart=/bin/sleep infinity\n[Install]\nWantedBy=multi-user.target\n";
    let reset = "systemctl disable --now kbz-unit-a kbz-unit-b 2>/dev/null; \
                 rm -f /etc/systemd/system/kbz-unit-a.service /etc/systemd/system/kbz-unit-b.service; \
                 systemctl daemon-reload";
    lab.ssh(0, reset);
    let _cleanup = lab.cleanup(0, reset);
    lab.ssh(
        0,
        &format!(
            "printf '{unit}' > /etc/systemd/system/kbz-unit-a.service; \
             printf '{unit}' > /etc/systemd/system/kbz-unit-b.service; \
             systemctl daemon-reload; systemctl enable --now kbz-unit-a"
        ),
    );
    let drifted = |run: &common::Outcome| -> Vec<String> {
        run.ops_with_status("changed")
            .iter()
            .map(|e| e["target"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    let check = t.run_with(&["--check"]);
    check.assert_code(0);
    assert_eq!(drifted(&check), ["kbz-unit-b.service"], "{}", check.text());
    lab.ssh(
        0,
        "systemctl disable --now kbz-unit-a; systemctl enable --now kbz-unit-b",
    );
    let check = t.run_with(&["--check"]);
    check.assert_code(0);
    assert_eq!(drifted(&check), ["kbz-unit-a.service"], "{}", check.text());
}

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn host_keys_are_recorded_on_first_contact_and_strict_mode_refuses_unknown_ones() {
    let (_guard, lab) = first_hosts_alone(4);
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
    let demo = demo(&lab)
        .ssh_config(&ssh_config)
        .args(["--limit", name.as_str()]);
    let strict = demo.run_with(&["--strict-host-keys"]);
    strict.assert_code(4);
    assert!(
        strict.stdout().to_lowercase().contains("host key"),
        "{}",
        strict.text()
    );
    assert!(!known.exists() || std::fs::read_to_string(&known).unwrap().is_empty());
    let first = demo.run();
    first.assert_code(0);
    assert!(
        std::fs::read_to_string(&known)
            .unwrap()
            .contains("ssh-ed25519"),
        "the key was recorded"
    );
    let strict_again = demo.run_with(&["--strict-host-keys"]);
    assert_eq!(
        strict_again.status.code(),
        Some(0),
        "{}",
        strict_again.text()
    );
}
