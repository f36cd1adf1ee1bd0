//! Rendered configs compared with reviewed insta snapshots, one per (host,
//! file), in tests/render/snapshots/<host>__<path with / as __>.snap. After an
//! intended change: `cargo insta test --test render --review` (or
//! `INSTA_UPDATE=always cargo test --test render`, then review the diff).
//! Under CI (`CI=true`) insta writes nothing and fails on any difference.

use super::*;
/// (host, file) pairs compared with their snapshots.
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
    // hetzner_lb: hcloud scripts for review
    (
        "install-01",
        "opt/keybuzz-installer/review/lb/lb-10.0.0.10.sh",
    ),
    (
        "install-01",
        "opt/keybuzz-installer/review/lb/lb-ingress-10.0.0.5.sh",
    ),
    (
        "install-01",
        "opt/keybuzz-installer/review/lb/lb-k8s-api.sh",
    ),
    // what a MinIO node would run (docker run with its env file, masked)
    ("minio-01", "commands.sh"),
];

#[test]
fn rendered_configs_match_the_snapshots() {
    for (host, path) in GOLDEN {
        assert_golden("", host, path, &read(host, path));
    }
}

/// `got`, the file `path` rendered for `host`, compared with its snapshot
/// `<prefix><host>__<path with / as __>.snap`: `prefix` names a render of
/// another inventory than servers.tsv.
pub(crate) fn assert_golden(prefix: &str, host: &str, path: &str, got: &str) {
    // insta ignores whitespace at the end of a snapshot: the files' ends
    // are checked here. A config file ends with one newline; the Erlang
    // cookie is the secret alone.
    let end = if path.ends_with(".erlang.cookie") {
        ""
    } else {
        "\n"
    };
    assert_eq!(
        format!("{}{end}", got.trim_end()),
        got,
        "{host}/{path} must end with {end:?}"
    );
    let name = format!("{prefix}{host}__{}", path.replace('/', "__"));
    insta::with_settings!({
        description => format!("{host}:/{path}, rendered from playbooks/site.rhai"),
        omit_expression => true,
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, got);
    });
}
