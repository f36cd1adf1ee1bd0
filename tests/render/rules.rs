//! The seeds' rules checked on the rendered site: the CNI let through on
//! every Kubernetes node, proxies on 0.0.0.0, pinned images.

use super::*;

#[test]
fn every_k8s_node_lets_the_cni_through() {
    let nodes = hosts_in("k8s");
    assert_eq!(nodes.len(), 8, "3 masters + 5 workers: {nodes:?}");
    let ipip = "-A ufw-before-input -p 4 -s 10.0.0.0/16 -j ACCEPT";
    for n in &nodes {
        let before = read(n, "etc/ufw/before.rules");
        assert!(
            before.lines().any(|l| l == ipip),
            "{n}: no IPIP (protocol 4) rule in before.rules"
        );
        let cmds = read(n, "commands.sh");
        for rule in [
            "ufw allow from 10.0.0.0/16 to any port 179 proto tcp",
            "ufw allow from 10.0.0.0/16 to any port 8472 proto udp",
            "ufw allow from 10.0.0.0/16 to any port 10250 proto tcp",
            "ufw allow from 10.0.0.0/16 to any port 31695 proto tcp",
        ] {
            assert!(cmds.contains(rule), "{n}: missing `{rule}`");
        }
    }
    for m in hosts_in("k3s_masters") {
        assert!(
            read(&m, "commands.sh")
                .contains("ufw allow from 10.0.0.0/16 to any port 6443 proto tcp"),
            "{m}: no API rule"
        );
    }
    // Nodes outside Kubernetes get neither.
    for n in ["redis-01", "db-master-01", "haproxy-01"] {
        assert!(
            !file(n, "etc/ufw/before.rules").exists(),
            "{n} has Kubernetes firewall rules"
        );
        assert!(
            !read(n, "commands.sh").contains("port 179 proto tcp"),
            "{n} opens BGP"
        );
    }
}

/// `text` without its comment lines.
fn settings(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn proxies_listen_on_all_addresses_never_on_the_lb_ips() {
    for h in hosts_in("haproxy") {
        let cfg = read(&h, "opt/keybuzz/haproxy/conf/haproxy.cfg");
        let binds: Vec<&str> = cfg
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("bind "))
            .collect();
        assert!(binds.len() >= 5, "{h}: {binds:?}");
        for b in binds {
            assert!(
                b.starts_with("bind 0.0.0.0:") || b.starts_with("bind 127.0.0.1:"),
                "{h}: {b}"
            );
        }
        assert!(
            cfg.contains("tcp-check expect string role:master"),
            "{h}: Redis not master-only"
        );
        let settings = settings(&cfg);
        assert!(
            !settings.contains("10.0.0.10") && !settings.contains("10.0.0.20"),
            "{h} names an LB IP"
        );
    }
    for h in hosts_in("proxysql") {
        let cfg = read(&h, "opt/keybuzz/proxysql/config/proxysql.cnf");
        assert!(cfg.contains("interfaces = \"0.0.0.0:3306\""), "{h}");
        assert!(!settings(&cfg).contains("10.0.0.20"), "{h} names the LB IP");
    }
}

#[test]
fn every_image_is_pinned() {
    let versions = std::fs::read_to_string(common::repo().join("playbooks/versions.yaml")).unwrap();
    for line in versions
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
    {
        assert!(!line.contains(":latest"), "versions.yaml: {line}");
    }
    for f in walk(&site().out) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with("docker run ") || l.starts_with("image:") {
                assert!(!l.contains(":latest"), "{}: {l}", f.display());
            }
        }
    }
}
