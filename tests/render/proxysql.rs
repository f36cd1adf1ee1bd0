//! ProxySQL follows Galera (module 8): the rendered proxysql.cnf, read as
//! libconfig, hands the Galera nodes to ProxySQL's galera monitor (one
//! writer, backup writers, readers, an offline hostgroup) with a monitor
//! account, and the mariadb_galera role creates that account on one node,
//! its password never in a command line or a review file.

use super::*;
use common::libconfig::{parse, Value};

const CNF: &str = "opt/keybuzz/proxysql/config/proxysql.cnf";

/// The rendered proxysql.cnf of `host`, parsed.
fn proxysql_cnf(host: &str) -> Value {
    parse(&read(host, CNF)).unwrap_or_else(|e| panic!("{host}: {e}"))
}

/// The Galera nodes' private addresses, by name.
fn galera_addresses() -> Vec<String> {
    hosts_in("mariadb").iter().map(|h| ip_private(h)).collect()
}

#[test]
fn proxysql_hands_the_galera_nodes_to_its_galera_monitor_with_one_writer() {
    let proxies = hosts_in("proxysql");
    assert_eq!(proxies.len(), 2, "{proxies:?}");
    for h in proxies {
        let cnf = proxysql_cnf(&h);
        let groups = cnf.at("mysql_galera_hostgroups").items();
        assert_eq!(groups.len(), 1, "{h}: one Galera cluster, one entry");
        let g = &groups[0];
        let id = |name: &str| g.at(name).int();
        let (writer, backup, reader, offline) = (
            id("writer_hostgroup"),
            id("backup_writer_hostgroup"),
            id("reader_hostgroup"),
            id("offline_hostgroup"),
        );
        let mut distinct = vec![writer, backup, reader, offline];
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 4, "{h}: four distinct hostgroups");
        assert!(reader > 0, "{h}: ProxySQL refuses reader_hostgroup 0");
        assert_eq!(id("active"), 1, "{h}");
        assert_eq!(id("max_writers"), 1, "{h}: one writer at a time");
        assert_eq!(id("writer_is_also_reader"), 1, "{h}");
        assert!(id("max_transactions_behind") > 0, "{h}");

        // Every node starts in the writer hostgroup; the monitor moves them.
        let servers = cnf.at("mysql_servers").items();
        let addresses: Vec<&str> = servers.iter().map(|s| s.at("address").str()).collect();
        assert_eq!(addresses, galera_addresses(), "{h}: the Galera nodes");
        for s in servers {
            assert_eq!(s.at("hostgroup").int(), writer, "{h}: {}", s.at("address"));
            assert_eq!(s.at("port").int(), 3306, "{h}");
            assert_eq!(
                s.at("max_replication_lag").int(),
                0,
                "{h}: no async-replication lag check on Galera nodes"
            );
        }
        let users = cnf.at("mysql_users").items();
        assert_eq!(users.len(), 1, "{h}");
        assert_eq!(users[0].at("username").str(), "erpnext", "{h}");
        assert_eq!(users[0].at("default_hostgroup").int(), writer, "{h}");
        assert!(
            cnf.get("mysql_query_rules").is_none(),
            "{h}: no seed asks for a read/write split"
        );

        // The monitor logs in with its own account; the review shows no password.
        let vars = cnf.at("mysql_variables");
        assert_eq!(vars.at("monitor_username").str(), "proxysql_monitor", "{h}");
        assert_eq!(
            vars.at("monitor_password").str(),
            "<secret:PROXYSQL_MONITOR_PASSWORD>",
            "{h}"
        );
        assert!(
            vars.at("monitor_galera_healthcheck_interval").int() > 0,
            "{h}"
        );
        assert!(
            vars.at("monitor_galera_healthcheck_timeout").int() > 0,
            "{h}"
        );
        assert_eq!(vars.at("interfaces").str(), "0.0.0.0:3306", "{h}");
    }
}

#[test]
fn the_monitor_account_is_made_on_one_galera_node_from_the_private_network() {
    let nodes = hosts_in("mariadb");
    let account = "'proxysql_monitor'@'10.0.0.0/255.255.0.0'";
    let made: Vec<&String> = nodes
        .iter()
        .filter(|n| read(n, "commands.sh").contains(&format!("CREATE USER {account}")))
        .collect();
    assert_eq!(made, vec![&nodes[0]], "created on the first node only");
    let cmds = read(&nodes[0], "commands.sh");
    let create = cmds
        .lines()
        .find(|l| l.contains("CREATE USER"))
        .unwrap()
        .to_string();
    // The password reaches SQL from the op's env (stdin), never as text.
    assert!(
        create.contains("IDENTIFIED BY '$KBZ_MONITOR_PASSWORD'")
            && create.starts_with("printf '%s\\n' \""),
        "{create}"
    );
    assert!(!create.contains("GRANT"), "USAGE only: {create}");
    assert!(
        cmds.contains("export KBZ_MONITOR_PASSWORD='<secret:PROXYSQL_MONITOR_PASSWORD>'"),
        "{cmds}"
    );
}

#[test]
fn the_monitor_account_host_is_the_private_network_as_mariadb_writes_it() {
    for (net, host) in [
        ("10.1.128.0/20", "10.1.128.0/255.255.240.0"),
        ("172.16.0.0/12", "172.16.0.0/255.240.0.0"),
        ("192.168.5.9/32", "192.168.5.9/255.255.255.255"),
        ("0.0.0.0/0", "0.0.0.0/0.0.0.0"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("review");
        let o = render(
            Path::new("playbooks/inventory/servers.tsv"),
            &out,
            &["--tags", "galera", "-e", &format!("private_net={net}")],
        );
        assert!(o.status.success(), "{net}: {}", common::text(&o));
        let cmds =
            std::fs::read_to_string(out.join(&hosts_in("mariadb")[0]).join("commands.sh")).unwrap();
        assert!(
            cmds.contains(&format!("CREATE USER 'proxysql_monitor'@'{host}'")),
            "{net}: {cmds}"
        );
    }
}

/// ProxySQL announces the MariaDB image's tag as its server version; an image
/// from a registry with a port (`host:5000/...`) or pinned with a digest too
/// announces the release, not the port's rest of the reference.
#[test]
fn proxysql_announces_the_mariadb_release_whatever_the_registry() {
    let image = "registry.example.com:5000/mariadb:10.11.6@sha256:0123abcd";
    let r = ImageRender::new("mariadb", image, "proxysql");
    assert!(r.output.status.success(), "{}", common::text(&r.output));
    for h in hosts_in("proxysql") {
        let cnf = r.read(&h, CNF);
        assert!(cnf.contains(r#"server_version = "10.11.6""#), "{h}:\n{cnf}");
    }
}
