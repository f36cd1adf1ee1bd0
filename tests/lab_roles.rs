//! The KeyBuzz base layer on real hosts: `tests/lab/playbooks/base.rhai`
//! applies the `base_os` and `xfs_volume` roles and service containers to lab
//! hosts, then these tests look at what the hosts really have (ufw rules
//! enforced between hosts, an XFS volume mounted by UUID, containers with their
//! spec) and rerun it for 0 changed. Also the two refusals an operator relies
//! on: a device holding data is never formatted, and a firewall rule set that
//! would lock out the control connection is never applied.
//!
//! Needs a lab (`tests/lab/lab.sh up 4`, as `tests/run.sh` does): `#[ignore]`d
//! in a plain `cargo test`, run by `tests/run.sh` with `--include-ignored`.

mod common;

use common::lab::first_hosts_alone;
use common::repo;

/// With `KBZ_LAB_REQUIRED` set, the run must include the ignored tests below
/// and the lab must be up.
#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

const XFS: &str = "      xfs_volumes:\n        - { device: /dev/vdb, mount: /opt/keybuzz/data, owner: \"999\", group: \"999\", mode: \"0700\" }\n";

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn base_os_volumes_and_containers_then_a_rerun_changes_nothing() {
    let (_guard, lab) = first_hosts_alone(4);
    for h in [0, 1] {
        lab.reset_keybuzz(h);
    }
    lab.load_spec("redis", &[0]);
    let dir = tempfile::tempdir().unwrap();
    let inv = lab.inventory(
        dir.path(),
        &[(0, &["redis", "web"], XFS), (1, &["postgres"], "")],
        "",
    );
    let base = lab
        .test()
        .inventory_file(&inv)
        .playbook_file(repo().join("tests/lab/playbooks/base.rhai"));
    let first = base.run();
    first.assert_code(0);
    assert!(first.total("changed") > 10, "{}", first.text());

    let (web, _) = &lab.hosts[0];
    let (db_ip, web_ip) = (&lab.hosts[1].1, &lab.hosts[0].1);
    let state = lab.ssh(
        0,
        "ufw status verbose; findmnt -no SOURCE,FSTYPE,OPTIONS /opt/keybuzz/data; grep ' /opt/keybuzz/data ' /etc/fstab; \
         stat -c 'root %u:%g %a' /opt/keybuzz/data; \
         docker inspect -f '{{.Name}} {{.State.Running}} {{.HostConfig.NetworkMode}} {{.HostConfig.RestartPolicy.Name}} {{.Config.Hostname}} {{index .Config.Labels \"com.keybuzz.module\"}} {{index .Config.Labels \"kbz-play.spec\"}}' lab-redis-8080 lab-redis-8081; \
         sshd -t && echo sshd-ok; cat /etc/ssh/sshd_config.d/10-keybuzz.conf; sysctl -n vm.swappiness; swapon --noheadings | wc -l; \
         systemctl is-active docker; cat /etc/systemd/resolved.conf.d/10-keybuzz-dns.conf",
    );
    for expected in [
        "Status: active",
        "Default: deny (incoming), allow (outgoing)",
        "22/tcp                     ALLOW IN    Anywhere",
        "6379/tcp                   ALLOW IN    198.18.0.0/16",
        "26379/tcp                  ALLOW IN    198.18.0.0/16",
        "8080/tcp                   ALLOW IN    198.18.0.0/16",
        "xfs",
        "noatime",
        "root 999:999 700",
        "/lab-redis-8080 true host unless-stopped",
        "/lab-redis-8081 true host unless-stopped",
        "PasswordAuthentication no",
        "sshd-ok",
        "DNS=1.1.1.1 8.8.8.8",
    ] {
        assert!(
            state.contains(expected),
            "missing {expected:?} in:\n{state}"
        );
    }
    assert!(
        state.contains(&format!("{web} lab ")),
        "hostname and label: {state}"
    );
    assert!(
        state.contains("\n1\n0\nactive\n"),
        "swappiness 1, no swap, docker active: {state}"
    );
    let fstab = state
        .lines()
        .find(|l| l.contains(" /opt/keybuzz/data "))
        .unwrap();
    assert!(
        fstab.starts_with("UUID=") && fstab.contains(" xfs noatime "),
        "mounted by UUID: {fstab}"
    );
    assert!(
        !state.contains("6379/tcp                   ALLOW IN    Anywhere")
            && !state.contains("5432/tcp"),
        "only the redis host's and SSH's ports: {state}"
    );

    // ufw really filters: from the other host the open port answers, the
    // closed one does not, though the server behind it runs (it answers locally).
    let probe = format!(
        "printf 'PING\\r\\n' | nc -w 3 {web_ip} 8080; echo; \
         if nc -z -w 3 {web_ip} 8081; then echo 8081-open; else echo 8081-closed; fi"
    );
    let from_db = lab.ssh(1, &probe);
    assert!(
        from_db.contains("+PONG") && from_db.contains("8081-closed"),
        "from {db_ip}: {from_db}"
    );
    let local = lab.ssh(0, "printf 'PING\\r\\n' | nc -w 3 127.0.0.1 8081");
    assert!(local.contains("+PONG"), "8081 runs: {local}");
    // On the db host, the postgres ports are open and redis's are not.
    let db_rules = lab.ssh(1, "ufw status");
    assert!(
        db_rules.contains("5432/tcp")
            && db_rules.contains("8008/tcp")
            && !db_rules.contains("6379"),
        "{db_rules}"
    );

    let again = base.run();
    again.assert_code(0);
    assert_eq!(again.total("changed"), 0, "{}", again.text());
    for (host, stats) in again.recap() {
        assert_eq!(
            stats["round_trips"].as_u64(),
            Some(1),
            "{host}: a no-op rerun is one round trip: {}",
            again.text()
        );
    }

    // The containers' probes ask the Engine API with curl on docker's
    // socket, and docker inspect where the CLI is pointed elsewhere (here a
    // context in its config); both find a container stopped behind the
    // run's back. A docker that refuses inspect proves the first way.
    let api = "printf '#!/bin/sh\\ncase $1 in inspect|image) exit 99;; esac\\nexec /usr/bin/docker \"$@\"\\n' \
               > /usr/local/bin/docker && chmod +x /usr/local/bin/docker";
    let cli = "rm -f /usr/local/bin/docker; mkdir -p /root/.docker && \
               echo '{\"currentContext\": \"default\"}' > /root/.docker/config.json";
    for (way, setup) in [("the Engine API", api), ("docker inspect", cli)] {
        lab.ssh(
            0,
            &format!("{setup}; docker stop -t 1 lab-redis-8081 >/dev/null"),
        );
        let started = base.run();
        started.assert_code(0);
        assert_eq!(
            started.total("changed"),
            1,
            "{way}: the stopped container only: {}",
            started.text()
        );
        let restarted: Vec<_> = common::op_ends(started.output(), "docker_container")
            .into_iter()
            .filter(|e| e["status"] == "changed")
            .map(|e| (e["target"].clone(), e["changes"][0]["summary"].clone()))
            .collect();
        assert_eq!(
            restarted,
            [("lab-redis-8081".into(), "started (was exited)".into())],
            "{way}: {}",
            started.text()
        );
    }
    lab.ssh(0, "rm -f /usr/local/bin/docker /root/.docker/config.json");

    // A changed spec recreates the container; the data volume stays.
    lab.ssh(
        0,
        "printf 'SET k v\\r\\nSAVE\\r\\n' | nc -w 3 127.0.0.1 8080 >/dev/null; ls /opt/keybuzz/data",
    );
    let id_before = lab.ssh(0, "docker inspect -f '{{.Id}}' lab-redis-8080");
    lab.ssh(0, "docker rm -f lab-redis-8080 >/dev/null");
    let restored = base.run();
    restored.assert_code(0);
    assert_eq!(restored.total("changed"), 1, "{}", restored.text());
    let after = lab.ssh(
        0,
        "docker inspect -f '{{.Id}}' lab-redis-8080; sleep 1; printf 'GET k\\r\\n' | nc -w 3 127.0.0.1 8080",
    );
    assert!(
        !after.contains(id_before.trim()) && after.contains("v"),
        "recreated, data kept: {after}"
    );
    for h in [0, 1] {
        lab.reset_keybuzz(h);
    }
}

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn a_device_holding_data_is_never_formatted() {
    let (_guard, lab) = first_hosts_alone(4);
    lab.reset_keybuzz(2);
    lab.ssh(
        2,
        "mkfs.ext4 -q -F /dev/vdb && mkdir -p /mnt/old && mount /dev/vdb /mnt/old && \
         echo precious > /mnt/old/data && umount /mnt/old",
    );
    let dir = tempfile::tempdir().unwrap();
    let inv = lab.inventory(dir.path(), &[(2, &[], XFS)], "");
    let t = lab.test().inventory_file(&inv).playbook(
        "import \"xfs_volume\" as xfs;\nplay(\"Volumes\", \"all\", |host| xfs::apply(host, #{}));\n",
    );
    std::os::unix::fs::symlink(repo().join("roles"), t.at("roles")).unwrap();
    let run = t.run();
    run.assert_code(2);
    let out = run.text();
    assert!(out.contains("ext4") && out.contains("force"), "{out}");
    let state = lab.ssh(
        2,
        "blkid -o value -s TYPE /dev/vdb; mount /dev/vdb /mnt/old && cat /mnt/old/data; umount /mnt/old",
    );
    assert_eq!(state, "ext4\nprecious\n");
    lab.reset_keybuzz(2);
}

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn a_firewall_that_would_drop_the_ssh_port_is_refused() {
    let (_guard, lab) = first_hosts_alone(4);
    lab.reset_keybuzz(3);
    let dir = tempfile::tempdir().unwrap();
    let inv = lab.inventory(dir.path(), &[(3, &[], "")], "");
    let run = lab
        .test()
        .inventory_file(&inv)
        .playbook(
            r#"play("Firewall", "all", |host| {
    ufw(#{ default_incoming: "deny", enabled: true,
           rules: [#{ rule: "allow", port: 80, proto: "tcp", comment: "web only" }] });
});
"#,
        )
        .run();
    run.assert_code(2);
    assert!(
        run.text().contains("22"),
        "the refusal names the SSH port: {}",
        run.text()
    );
    // Nothing was applied, and SSH still works.
    let status = lab.ssh(3, "ufw status");
    assert!(status.contains("Status: inactive"), "{status}");
    lab.reset_keybuzz(3);
}

/// Every image the lab inventory names in place of a production one is an
/// image the lab knows how to build (tests/lab/images/*.image), so a renamed
/// or retagged spec cannot leave the site pointing at an image no host has.
/// Needs no lab.
#[test]
fn the_lab_inventory_names_only_lab_images() {
    let all = repo().join("tests/lab/inventory/group_vars/all.yml");
    let vars: yaml_serde::Value =
        yaml_serde::from_str(&std::fs::read_to_string(all).unwrap()).unwrap();
    let mut named: Vec<String> = vars["versions"]["images"]
        .as_mapping()
        .expect("versions.images")
        .values()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    named.push(
        vars["versions"]["patroni"]["image"]
            .as_str()
            .unwrap()
            .to_string(),
    );
    let specs: Vec<String> = std::fs::read_dir(repo().join("tests/lab/images"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "image"))
        .filter_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("name=").map(str::to_string))
        })
        .collect();
    for image in &named {
        assert!(
            specs.contains(image),
            "{image} has no tests/lab/images/*.image (known: {specs:?})"
        );
    }
}
