//! Rendered configs compared with the reviewed golden files in tests/golden/
//! (rewrite them with KBZ_UPDATE_GOLDEN=1 and review the diff).

use super::*;

/// (host, file) pairs compared with tests/golden/<host>/<file>.
const GOLDEN: &[(&str, &str)] = &[
    // base_os
    ("redis-01", "etc/ssh/sshd_config.d/10-keybuzz.conf"),
    (
        "redis-01",
        "etc/systemd/resolved.conf.d/10-keybuzz-dns.conf",
    ),
    ("redis-01", "etc/systemd/journald.conf.d/60-keybuzz.conf"),
    ("redis-01", "etc/docker/daemon.json"),
    ("k3s-worker-01", "etc/ufw/before.rules"),
    // patroni
    ("db-master-01", "opt/keybuzz/postgres/config/patroni.yml"),
    ("db-slave-02", "opt/keybuzz/postgres/config/patroni.yml"),
    ("db-master-01", "opt/keybuzz/postgres/image/Dockerfile"),
    // haproxy, pgbouncer
    ("haproxy-01", "opt/keybuzz/haproxy/conf/haproxy.cfg"),
    ("haproxy-01", "usr/local/bin/redis-update-master.sh"),
    ("haproxy-01", "etc/systemd/system/redis-update-master.timer"),
    ("haproxy-02", "etc/pgbouncer/pgbouncer.ini"),
    ("haproxy-02", "etc/pgbouncer/userlist.txt"),
    // redis, sentinel
    ("redis-01", "opt/keybuzz/redis/conf/redis.conf"),
    ("redis-02", "opt/keybuzz/redis/conf/redis.conf"),
    ("redis-03", "opt/keybuzz/redis/sentinel/sentinel.conf"),
    // rabbitmq
    ("queue-01", "opt/keybuzz/rabbitmq/config/rabbitmq.conf"),
    ("queue-01", "opt/keybuzz/rabbitmq/config/enabled_plugins"),
    ("queue-02", "opt/keybuzz/rabbitmq/data/.erlang.cookie"),
    // mariadb_galera, proxysql
    ("maria-01", "opt/keybuzz/mariadb/config/my.cnf"),
    ("maria-03", "opt/keybuzz/mariadb/config/my.cnf"),
    ("proxysql-01", "opt/keybuzz/proxysql/config/proxysql.cnf"),
    // k3s, ingress_nginx
    ("k3s-master-01", "etc/rancher/k3s/config.yaml"),
    ("k3s-master-02", "etc/rancher/k3s/config.yaml"),
    ("k3s-worker-05", "etc/rancher/k3s/config.yaml"),
    (
        "k3s-master-01",
        "var/lib/rancher/k3s/server/manifests/keybuzz-ingress-nginx.yaml",
    ),
    // kubespray
    (
        "install-01",
        "opt/keybuzz/kubespray/inventory/keybuzz/hosts.yaml",
    ),
    (
        "install-01",
        "opt/keybuzz/kubespray/inventory/keybuzz/group_vars/k8s_cluster/k8s-cluster.yml",
    ),
    (
        "install-01",
        "opt/keybuzz/kubespray/inventory/keybuzz/group_vars/k8s_cluster/k8s-net-calico.yml",
    ),
    // what a MinIO node would run (docker run with its env file, masked)
    ("minio-01", "commands.sh"),
];

#[test]
fn rendered_configs_match_the_golden_files() {
    let golden = common::repo().join("tests/golden");
    let update = std::env::var("KBZ_UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut differ = Vec::new();
    for (host, path) in GOLDEN {
        let got = read(host, path);
        let g = golden.join(host).join(path);
        if update {
            std::fs::create_dir_all(g.parent().unwrap()).unwrap();
            std::fs::write(&g, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&g) {
            Ok(want) if want == got => {}
            Ok(_) => differ.push(format!(
                "{host}/{path} differs: diff {} {}",
                g.display(),
                file(host, path).display()
            )),
            Err(_) => differ.push(format!("{host}/{path}: no golden file {}", g.display())),
        }
    }
    assert!(
        differ.is_empty(),
        "{}\n(after an intended change: KBZ_UPDATE_GOLDEN=1 cargo test --test render, then review the diff)",
        differ.join("\n")
    );
}
