//! Inventory loading, merging and pattern tests (end to end through files).

use super::*;
use serde_json::json;
use std::path::{Path, PathBuf};

fn write(dir: &Path, rel: &str, content: &str) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, content).unwrap();
    path
}

fn load_str(name: &str, content: &str) -> (tempfile::TempDir, Result<Inventory, InventoryError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), name, content);
    let inv = Inventory::load(&path);
    (dir, inv)
}

fn load_ok(name: &str, content: &str) -> (tempfile::TempDir, Inventory) {
    let (dir, inv) = load_str(name, content);
    (dir, inv.unwrap_or_else(|e| panic!("load failed: {e}")))
}

fn load_err(name: &str, content: &str) -> String {
    match load_str(name, content).1 {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

fn names(hosts: &[&Host]) -> Vec<String> {
    hosts.iter().map(|h| h.name.clone()).collect()
}

fn assert_has(msg: &str, needle: &str) {
    assert!(
        msg.contains(needle),
        "message {msg:?} should contain {needle:?}"
    );
}

// ---------------------------------------------------------------- TSV

const SERVERS_TSV: &str = "# KeyBuzz servers\r
Hostname\tIP_Private\tip_public\tgroups\tDatacenter\tansible_user\tansible_port\tnotes\r
redis-01\t10.0.0.11\t51.0.0.11\tredis, db\tfsn1\tops\t2222\t\r
\r
web-01\t10.0.0.21\t\tweb\tnbg1\t\t\tfront door\r
bastion\t10.0.0.1\t51.0.0.1\t\tfsn1\troot\t\t\r
";

#[test]
fn tsv_happy_path_with_extra_columns() {
    let (_d, inv) = load_ok("servers.tsv", SERVERS_TSV);
    assert_eq!(
        inv.hosts()
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>(),
        ["redis-01", "web-01", "bastion"]
    );
    let redis = inv.host("redis-01").unwrap();
    assert_eq!(redis.address, "10.0.0.11");
    assert_eq!(redis.user.as_deref(), Some("ops"));
    assert_eq!(redis.port, Some(2222));
    assert_eq!(redis.groups, ["all", "db", "redis"]);
    assert_eq!(
        serde_json::Value::Object(redis.vars.clone()),
        json!({
            "ip_private": "10.0.0.11",
            "ip_public": "51.0.0.11",
            "datacenter": "fsn1",
            "ansible_user": "ops",
            "ansible_port": 2222,
        })
    );
    let web = inv.host("web-01").unwrap();
    assert_eq!(web.vars.get("notes"), Some(&json!("front door")));
    assert!(
        !web.vars.contains_key("ip_public"),
        "empty cells set nothing"
    );
    assert_eq!(web.user, None);
    assert_eq!(web.port, None);
    let bastion = inv.host("bastion").unwrap();
    assert_eq!(bastion.groups, ["all"]);
    assert_eq!(inv.groups(), ["all", "db", "redis", "web"]);
    assert!(inv.source().ends_with("servers.tsv"));
    assert!(inv.warnings().is_empty(), "{:?}", inv.warnings());
}

#[test]
fn tsv_aliases_and_ansible_host_override() {
    let (_d, inv) = load_ok(
        "hosts.tsv",
        "host\tip\trole\tansible_host\nn1\t10.0.0.1\tk8s\t\nn2\t10.0.0.2\tk8s\tn2.example.com\nn3\t\t\t\n",
    );
    assert_eq!(inv.host("n1").unwrap().address, "10.0.0.1");
    assert_eq!(inv.host("n2").unwrap().address, "n2.example.com");
    assert_eq!(
        inv.host("n3").unwrap().address,
        "n3",
        "falls back to the name"
    );
    assert_eq!(names(&inv.select("k8s").unwrap()), ["n1", "n2"]);
}

#[test]
fn tsv_duplicate_host() {
    let msg = load_err(
        "servers.tsv",
        "hostname\tip\nweb-01\t10.0.0.1\n# comment\n  web-01\t10.0.0.2\n",
    );
    assert_has(
        &msg,
        "servers.tsv:4:3: duplicate host 'web-01' (first defined on line 2)",
    );
}

#[test]
fn tsv_too_many_cells() {
    let msg = load_err(
        "servers.tsv",
        "hostname\tip_private\tansible_port\nweb-02\t10.0.0.2\t22\textra\n",
    );
    assert_has(
        &msg,
        "servers.tsv:2:20: this row has 4 cells but the header has 3 columns",
    );
}

#[test]
fn tsv_too_few_cells() {
    let msg = load_err(
        "servers.tsv",
        "hostname\tip_private\tgroups\nweb-03\t10.0.0.3\n",
    );
    assert_has(
        &msg,
        "servers.tsv:2:16: this row has 2 cells but the header has 3 columns",
    );
}

#[test]
fn tsv_spaces_instead_of_tabs() {
    let msg = load_err("servers.tsv", "hostname\tip\nweb-03   10.0.0.3\n");
    assert_has(&msg, "servers.tsv:2:");
    assert_has(&msg, "tabs, not spaces");
}

#[test]
fn tsv_bad_port() {
    let msg = load_err(
        "servers.tsv",
        "# servers\n\nhostname\tip_private\tansible_port\nweb-01\t10.0.0.1\t22x\n",
    );
    assert_has(
        &msg,
        "servers.tsv:4:17: ansible_port must be a TCP port number",
    );
    let msg = load_err("servers.tsv", "hostname\tansible_port\nweb-01\t70000\n");
    assert_has(&msg, "servers.tsv:2:8: ansible_port");
}

#[test]
fn tsv_missing_hostname_column() {
    let msg = load_err(
        "servers.tsv",
        "# header next\nserver\tip\nweb-01\t10.0.0.1\n",
    );
    assert_has(&msg, "servers.tsv:2:1: header has no hostname column");
    let msg = load_err("servers.tsv", "hostname ip\nweb-01 10.0.0.1\n");
    assert_has(&msg, "tabs, not spaces");
}

#[test]
fn tsv_other_errors() {
    let msg = load_err("servers.tsv", "hostname\tip\n\t10.0.0.1\n");
    assert_has(&msg, "servers.tsv:2:1: hostname is empty");
    let msg = load_err("servers.tsv", "hostname\thost\nweb-01\tx\n");
    assert_has(
        &msg,
        "servers.tsv:1:10: column 'host' duplicates column 'hostname'",
    );
    let msg = load_err("servers.tsv", "hostname\t\tip\nweb-01\tx\ty\n");
    assert_has(&msg, "servers.tsv:1:10: empty column header");
    let msg = load_err("servers.tsv", "hostname\tgroups\nweb-01\tweb,front end\n");
    assert_has(
        &msg,
        "servers.tsv:2:12: group name 'front end' contains whitespace",
    );
    let msg = load_err("servers.tsv", "# only a comment\n\n");
    assert_has(&msg, "servers.tsv:1:1: no header row");
}

// ---------------------------------------------------------------- YAML

#[test]
fn yaml_nested_children_and_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let inv_path = write(
        dir.path(),
        "hosts.yml",
        r#"
all:
  vars:
    level: all-inv
    a: all-inv
  children:
    zeta:
      vars: {level: zeta, z: 1, same: zeta}
      hosts:
        h1:
    alpha:
      vars:
        level: alpha
        b: alpha
        same: alpha
      children:
        alpha_child:
          vars:
            level: alpha_child
          hosts:
            h1:
              level: host-inv
              hv: 1
              ansible_host: 192.0.2.1
            h2:
"#,
    );
    write(
        dir.path(),
        "group_vars/all.yml",
        "level: all-file\na: all-file\nf: all\n",
    );
    write(
        dir.path(),
        "group_vars/alpha.yaml",
        "b: alpha-file\nlevel: alpha-file\n",
    );
    write(dir.path(), "host_vars/h1.yml", "hv: 2\n");
    let inv = Inventory::load(&inv_path).unwrap();

    assert_eq!(
        inv.hosts()
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>(),
        ["h1", "h2"]
    );
    let h1 = inv.host("h1").unwrap();
    assert_eq!(h1.groups, ["all", "alpha", "zeta", "alpha_child"]);
    assert_eq!(h1.address, "192.0.2.1");
    assert_eq!(
        serde_json::Value::Object(h1.vars.clone()),
        json!({
            "level": "host-inv",   // host inventory vars beat every group
            "a": "all-file",       // group_vars/all beats all's inventory vars
            "b": "alpha-file",     // group_vars/alpha beats alpha's inventory vars
            "same": "zeta",        // same depth: sorted by name, zeta last
            "z": 1,
            "f": "all",
            "hv": 2,               // host_vars beat host inventory vars
            "ansible_host": "192.0.2.1",
        })
    );
    let h2 = inv.host("h2").unwrap();
    assert_eq!(h2.groups, ["all", "alpha", "alpha_child"]);
    // A child group's inventory vars beat its parent's group_vars file.
    assert_eq!(h2.vars["level"], json!("alpha_child"));
    assert!(!h2.vars.contains_key("z"));
    assert_eq!(h2.address, "h2");
    assert_eq!(inv.groups(), ["all", "alpha", "zeta", "alpha_child"]);
}

const KUBESPRAY_HOSTS: &str = r#"all:
  hosts:
    node1:
      ansible_host: 95.54.0.12
      # ansible_user: ubuntu
      ip: 10.3.0.1
      access_ip: 10.3.0.1
    node2:
      ansible_host: 95.54.0.13
      ip: 10.3.0.2
      access_ip: 10.3.0.2
    node3:
      ansible_host: 95.54.0.14
      ip: 10.3.0.3
      access_ip: 10.3.0.3
  children:
    kube_control_plane:
      hosts:
        node1:
        node2:
    kube_node:
      hosts:
        node1:
        node2:
        node3:
    etcd:
      hosts:
        node1:
        node2:
        node3:
    k8s_cluster:
      children:
        kube_control_plane:
        kube_node:
        calico_rr:
    calico_rr:
      hosts: {}
"#;

#[test]
fn kubespray_hosts_yaml_with_group_vars_dirs() {
    let dir = tempfile::tempdir().unwrap();
    let mycluster = dir.path().join("inventory/mycluster");
    write(&mycluster, "hosts.yaml", KUBESPRAY_HOSTS);
    write(
        &mycluster,
        "group_vars/all/all.yml",
        "---\n## Directory where the binaries will be installed\nbin_dir: /usr/local/bin\nloadbalancer_apiserver_port: 6443\n",
    );
    write(
        &mycluster,
        "group_vars/all/etcd.yml",
        "etcd_deployment_type: host\n",
    );
    write(
        &mycluster,
        "group_vars/k8s_cluster/k8s-cluster.yml",
        "kube_version: v1.29.5\nkube_network_plugin: calico\nkube_proxy_mode: ipvs\n",
    );
    write(
        &mycluster,
        "group_vars/k8s_cluster/addons.yml",
        "helm_enabled: false\nkube_proxy_mode: iptables\n",
    );
    write(&mycluster, "group_vars/etcd.yml", "etcd_memory_limit: 0\n");
    // Loading the directory finds hosts.yaml.
    let inv = Inventory::load(&mycluster).unwrap();
    assert!(inv.source().ends_with("hosts.yaml"));
    assert_eq!(
        inv.groups(),
        [
            "all",
            "etcd",
            "k8s_cluster",
            "calico_rr",
            "kube_control_plane",
            "kube_node"
        ]
    );
    let node1 = inv.host("node1").unwrap();
    assert_eq!(node1.address, "95.54.0.12");
    assert_eq!(
        node1.groups,
        [
            "all",
            "etcd",
            "k8s_cluster",
            "kube_control_plane",
            "kube_node"
        ]
    );
    assert_eq!(node1.vars["ip"], json!("10.3.0.1"));
    assert_eq!(node1.vars["bin_dir"], json!("/usr/local/bin"));
    assert_eq!(node1.vars["etcd_deployment_type"], json!("host"));
    assert_eq!(node1.vars["kube_version"], json!("v1.29.5"));
    // Files of a group_vars directory load in name order: k8s-cluster.yml
    // comes after addons.yml and wins.
    assert_eq!(node1.vars["kube_proxy_mode"], json!("ipvs"));
    assert_eq!(node1.vars["helm_enabled"], json!(false));
    assert_eq!(node1.vars["etcd_memory_limit"], json!(0));
    let node3 = inv.host("node3").unwrap();
    assert_eq!(node3.groups, ["all", "etcd", "k8s_cluster", "kube_node"]);

    assert_eq!(
        names(&inv.select("k8s_cluster").unwrap()),
        ["node1", "node2", "node3"]
    );
    assert_eq!(
        names(&inv.select("kube_control_plane").unwrap()),
        ["node1", "node2"]
    );
    assert!(
        inv.select("calico_rr").unwrap().is_empty(),
        "empty group is not an error"
    );
    assert_eq!(
        names(&inv.select("kube_node:!kube_control_plane").unwrap()),
        ["node3"]
    );
    let members = inv.group_hosts("k8s_cluster").unwrap();
    assert_eq!(names(&members), ["node1", "node2", "node3"]);
    assert!(inv.group_hosts("nope").is_none());
    assert!(inv.warnings().is_empty(), "{:?}", inv.warnings());
}

#[test]
fn yaml_flow_style_null_hosts_ranges_and_ports() {
    let (_d, inv) = load_ok(
        "inventory.yaml",
        r#"
all:
  hosts: {h1: , h2: {ansible_user: deploy}}
  children:
    web:
      hosts:
        web[01:03].example.com:
        canary.example.com:2222:
    db:
      hosts:
        db-[a:b]:
        h1:
          role: primary
top_level_group:
  hosts:
    h2:
"#,
    );
    assert_eq!(
        inv.hosts()
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>(),
        [
            "h1",
            "h2",
            "web01.example.com",
            "web02.example.com",
            "web03.example.com",
            "canary.example.com",
            "db-a",
            "db-b"
        ]
    );
    assert_eq!(inv.host("h2").unwrap().user.as_deref(), Some("deploy"));
    assert_eq!(inv.host("h2").unwrap().groups, ["all", "top_level_group"]);
    assert_eq!(inv.host("canary.example.com").unwrap().port, Some(2222));
    assert_eq!(inv.host("h1").unwrap().vars["role"], json!("primary"));
    assert_eq!(inv.host("h1").unwrap().groups, ["all", "db"]);
}

#[test]
fn yaml_host_vars_accumulate_across_groups() {
    let (_d, inv) = load_ok(
        "hosts.yml",
        "all:\n  children:\n    a:\n      hosts:\n        h: {x: 1, y: 1}\n    b:\n      hosts:\n        h: {y: 2}\n",
    );
    let h = inv.host("h").unwrap();
    assert_eq!(h.vars["x"], json!(1));
    assert_eq!(h.vars["y"], json!(2));
    assert_eq!(inv.hosts().len(), 1);
}

#[test]
fn yaml_anchors_merge_keys_and_unsafe_tag() {
    let (_d, inv) = load_ok(
        "hosts.yml",
        "all:\n  hosts:\n    h1: &common\n      ntp: pool\n      tz: UTC\n    h2:\n      <<: *common\n      tz: CET\n      raw: !unsafe '{{ not_templated }}'\n",
    );
    let h2 = inv.host("h2").unwrap();
    assert_eq!(h2.vars["ntp"], json!("pool"));
    assert_eq!(h2.vars["tz"], json!("CET"));
    assert_eq!(h2.vars["raw"], json!("{{ not_templated }}"));
}

#[test]
fn yaml_empty_file_is_an_empty_inventory() {
    let (_d, inv) = load_ok("hosts.yml", "# nothing yet\n");
    assert!(inv.hosts().is_empty());
    assert_eq!(inv.groups(), ["all"]);
}

#[test]
fn yaml_schema_hosts_as_list() {
    let msg = load_err(
        "hosts.yaml",
        "all:\n  children:\n    web:\n      hosts:\n        - web1\n        - web2\n",
    );
    assert_has(
        &msg,
        "hosts.yaml:4:7: 'hosts' of group 'web' must be a mapping of host names",
    );
    assert_has(&msg, "got a list");
}

#[test]
fn yaml_schema_errors_are_located() {
    let msg = load_err("hosts.yaml", "all:\n  children:\n    - web\n    - db\n");
    assert_has(
        &msg,
        "hosts.yaml:2:3: 'children' of group 'all' must be a mapping",
    );

    let msg = load_err("hosts.yaml", "all:\n  hosts:\n    h1:\n  host:\n    h2:\n");
    assert_has(&msg, "hosts.yaml:4:3: unexpected key 'host' in group 'all'");
    assert_has(&msg, "did you mean 'hosts'?");

    let msg = load_err("hosts.yaml", "all:\n  web:\n    hosts:\n      h1:\n");
    assert_has(&msg, "hosts.yaml:2:3: unexpected key 'web'");
    assert_has(&msg, "put it under 'all: children:'");

    let msg = load_err("hosts.yaml", "all:\n  children:\n    web: [a, b]\n");
    assert_has(&msg, "hosts.yaml:3:5: group 'web' must be a mapping");

    let msg = load_err("hosts.yaml", "- all\n- web\n");
    assert_has(
        &msg,
        "hosts.yaml:1:1: an inventory must be a mapping of groups",
    );

    let msg = load_err(
        "hosts.yaml",
        "all:\n  children:\n    web:\n      hosts:\n        w1:\n          ansible_port: ssh\n",
    );
    assert_has(
        &msg,
        "hosts.yaml:6:11: ansible_port must be a TCP port number",
    );

    let msg = load_err("hosts.yaml", "all:\n  vars:\n    - a\n");
    assert_has(
        &msg,
        "hosts.yaml:2:3: 'vars' of group 'all' must be a mapping",
    );

    let msg = load_err(
        "hosts.yaml",
        "all:\n  vars:\n    secret: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      3131\n",
    );
    assert_has(
        &msg,
        "hosts.yaml:3:5: this value is encrypted with ansible-vault",
    );

    let msg = load_err("hosts.yaml", "plugin: aws_ec2\nregions: [eu-west-1]\n");
    assert_has(
        &msg,
        "hosts.yaml:1:1: dynamic inventory plugins are not supported",
    );
}

#[test]
fn yaml_group_cycle_is_an_error() {
    let msg = load_err(
        "hosts.yaml",
        "all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n",
    );
    assert_has(&msg, "is its own ancestor");
    assert_has(&msg, "a -> b -> a");
    assert_has(&msg, "hosts.yaml:");
}

#[test]
fn yaml_syntax_error_uses_parser_location() {
    let (_d, res) = load_str("hosts.yaml", "all:\n  hosts:\n    h1: {a: 1\n    h2:\n");
    let err = res.unwrap_err();
    let loc = err.location().unwrap().clone();
    assert!(loc.line.is_some() && loc.column.is_some(), "{err}");
    let msg = err.to_string();
    assert_has(&msg, "invalid YAML");
    assert_has(
        &msg,
        &format!("hosts.yaml:{}:{}: ", loc.line.unwrap(), loc.column.unwrap()),
    );
    // The parser's own " at line X column Y" is not repeated.
    assert!(
        !msg.contains(&format!(
            "at line {} column {}",
            loc.line.unwrap(),
            loc.column.unwrap()
        )),
        "{msg}"
    );
}

// ---------------------------------------------------------------- vars dirs

#[test]
fn group_vars_and_host_vars_file_forms() {
    let dir = tempfile::tempdir().unwrap();
    let inv_path = write(
        dir.path(),
        "servers.tsv",
        "hostname\tgroups\nweb-01\tweb\ndb-01\tdb\ncache-01\tcache\n",
    );
    // Directory form, nested, in name order; hidden/backup/other files skipped.
    write(
        dir.path(),
        "group_vars/all/10-base.yml",
        "x: base\nonly_base: 1\n",
    );
    write(
        dir.path(),
        "group_vars/all/20-override.yaml",
        "x: override\n",
    );
    write(
        dir.path(),
        "group_vars/all/sub/30-deeper.yml",
        "deep: true\n",
    );
    write(dir.path(), "group_vars/all/.hidden.yml", "x: hidden\n");
    write(dir.path(), "group_vars/all/99.yml~", "x: backup\n");
    write(
        dir.path(),
        "group_vars/all/README.md",
        "not: yaml: at: all:\n",
    );
    // A directory wins over NAME.yml (Ansible's order).
    write(dir.path(), "group_vars/web.yml", "ignored: true\n");
    write(dir.path(), "group_vars/web/main.yml", "http_port: 80\n");
    // JSON and extension-less files.
    write(dir.path(), "group_vars/db.json", "{\"db_port\": 5432}");
    write(dir.path(), "group_vars/cache", "cache_size: 64m\n");
    write(
        dir.path(),
        "host_vars/web-01.yaml",
        "x: host\nansible_user: www\n",
    );
    write(dir.path(), "host_vars/db-01/a.yml", "ansible_port: 2200\n");
    // Empty vars file is fine.
    write(dir.path(), "host_vars/cache-01.yml", "---\n# nothing\n");
    // Typos: warned about.
    write(dir.path(), "group_vars/webservers.yml", "http_port: 8080\n");
    write(dir.path(), "host_vars/web-1.yml", "x: typo\n");

    let inv = Inventory::load(&inv_path).unwrap();
    let web = inv.host("web-01").unwrap();
    assert_eq!(web.vars["x"], json!("host"));
    assert_eq!(web.vars["only_base"], json!(1));
    assert_eq!(web.vars["deep"], json!(true));
    assert_eq!(web.vars["http_port"], json!(80));
    assert!(!web.vars.contains_key("ignored"));
    assert_eq!(web.user.as_deref(), Some("www"));
    let db = inv.host("db-01").unwrap();
    assert_eq!(db.vars["x"], json!("override"));
    assert_eq!(db.vars["db_port"], json!(5432));
    assert_eq!(db.port, Some(2200));
    assert_eq!(
        inv.host("cache-01").unwrap().vars["cache_size"],
        json!("64m")
    );

    let warnings = inv.warnings().join("\n");
    assert_has(&warnings, "no group named 'webservers'");
    assert_has(&warnings, "no host named 'web-1'");
    assert_eq!(inv.warnings().len(), 2, "{warnings}");
}

#[test]
fn vars_file_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let inv_path = write(dir.path(), "hosts.yml", "all:\n  hosts:\n    h1:\n");
    write(
        dir.path(),
        "group_vars/all.yml",
        "a: 1\nansible_port: [22]\n",
    );
    let msg = Inventory::load(&inv_path).unwrap_err().to_string();
    assert_has(
        &msg,
        "group_vars/all.yml:2:1: ansible_port must be a TCP port number",
    );

    write(dir.path(), "group_vars/all.yml", "# list\n- a\n- b\n");
    let msg = Inventory::load(&inv_path).unwrap_err().to_string();
    assert_has(
        &msg,
        "group_vars/all.yml:2:1: a vars file must be a mapping",
    );

    write(dir.path(), "group_vars/all.yml", "a: [1, 2\n");
    let msg = Inventory::load(&inv_path).unwrap_err().to_string();
    assert_has(&msg, "group_vars/all.yml:");
    assert_has(&msg, "invalid YAML");

    std::fs::remove_file(dir.path().join("group_vars/all.yml")).unwrap();
    write(dir.path(), "host_vars/h1.json", "{\"a\": 1,}");
    let msg = Inventory::load(&inv_path).unwrap_err().to_string();
    assert_has(&msg, "host_vars/h1.json:1:");
    assert_has(&msg, "invalid JSON");

    std::fs::remove_file(dir.path().join("host_vars/h1.json")).unwrap();
    write(
        dir.path(),
        "host_vars/h1.yml",
        "$ANSIBLE_VAULT;1.1;AES256\n6162\n",
    );
    let msg = Inventory::load(&inv_path).unwrap_err().to_string();
    assert_has(
        &msg,
        "host_vars/h1.yml:1:1: file is encrypted with ansible-vault",
    );
}

#[test]
fn directory_loading() {
    let dir = tempfile::tempdir().unwrap();
    let err = Inventory::load(dir.path()).unwrap_err().to_string();
    assert_has(&err, "no inventory file in this directory");
    assert_has(&err, "hosts.yaml");

    write(dir.path(), "servers.tsv", "hostname\nh1\n");
    write(dir.path(), "group_vars/all.yml", "from_dir: yes\n");
    let inv = Inventory::load(dir.path()).unwrap();
    assert!(inv.source().ends_with("servers.tsv"));
    assert_eq!(inv.host("h1").unwrap().vars["from_dir"], json!("yes"));

    write(dir.path(), "hosts.yml", "all:\n  hosts:\n    h2:\n");
    let err = Inventory::load(dir.path()).unwrap_err().to_string();
    assert_has(
        &err,
        "several inventory files in this directory (hosts.yml, servers.tsv)",
    );

    let missing = dir.path().join("nope.yml");
    let err = Inventory::load(&missing).unwrap_err().to_string();
    assert_has(&err, "nope.yml: cannot read");
}

#[test]
fn unsupported_formats() {
    let msg = load_err("inventory.ini", "[web]\nweb1\n");
    assert_has(&msg, "inventory.ini: INI inventories are not supported");
    assert_has(&msg, "ansible-inventory");
    let msg = load_err("hosts.csv", "hostname,ip\n");
    assert_has(&msg, "hosts.csv: unsupported inventory format");
}

// ---------------------------------------------------------------- patterns

fn pattern_inventory() -> (tempfile::TempDir, Inventory) {
    load_ok(
        "servers.tsv",
        "hostname\tgroups\n\
         web-01\tweb,front\n\
         web-02\tweb\n\
         db-master\tdb\n\
         db-slave-01\tdb\n\
         db-slave-02\tdb\n\
         db-slave-03\tdb\n\
         redis-01\tredis,db\n\
         lonely\t\n\
         spare\tempty_later\n",
    )
}

fn sel(inv: &Inventory, pattern: &str) -> Vec<String> {
    names(
        &inv.select(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}")),
    )
}

#[test]
fn pattern_all_group_host() {
    let (_d, inv) = pattern_inventory();
    assert_eq!(sel(&inv, "all").len(), 9);
    assert_eq!(sel(&inv, "*").len(), 9);
    assert_eq!(sel(&inv, "web"), ["web-01", "web-02"]);
    assert_eq!(sel(&inv, "redis-01"), ["redis-01"]);
    assert_eq!(sel(&inv, "ungrouped"), ["lonely"]);
}

#[test]
fn pattern_globs() {
    let (_d, inv) = pattern_inventory();
    assert_eq!(sel(&inv, "web*"), ["web-01", "web-02"]);
    assert_eq!(sel(&inv, "db-slave-0[12]"), ["db-slave-01", "db-slave-02"]);
    assert_eq!(sel(&inv, "*-01"), ["web-01", "db-slave-01", "redis-01"]);
    assert_eq!(
        sel(&inv, "re?is"),
        ["redis-01"],
        "globs match group names too"
    );
}

#[test]
fn pattern_union_intersection_exclusion() {
    let (_d, inv) = pattern_inventory();
    // Results are always in inventory order.
    assert_eq!(sel(&inv, "redis:web"), ["web-01", "web-02", "redis-01"]);
    assert_eq!(sel(&inv, "redis, web"), ["web-01", "web-02", "redis-01"]);
    assert_eq!(sel(&inv, "db:&redis"), ["redis-01"]);
    assert_eq!(sel(&inv, "web:!front"), ["web-02"]);
    assert_eq!(sel(&inv, "db:!db-slave-*:!redis"), ["db-master"]);
    // Ansible evaluates unions, then intersections, then exclusions,
    // whatever the order they are written in.
    assert_eq!(sel(&inv, "!front:web"), ["web-02"]);
    assert_eq!(sel(&inv, "&db:redis:web"), ["redis-01"]);
    // Only exclusions: start from all.
    assert_eq!(sel(&inv, "!db:!web"), ["lonely", "spare"]);
    // Known terms, empty result: not an error.
    assert!(sel(&inv, "web:&db").is_empty());
}

#[test]
fn pattern_regex_and_subscripts() {
    let (_d, inv) = pattern_inventory();
    assert_eq!(
        sel(&inv, "~db-(master|slave-03)"),
        ["db-master", "db-slave-03"]
    );
    assert_eq!(sel(&inv, "db[0]"), ["db-master"]);
    assert_eq!(sel(&inv, "db[-1]"), ["redis-01"]);
    assert_eq!(sel(&inv, "db[1:2]"), ["db-slave-01", "db-slave-02"]);
    assert_eq!(sel(&inv, "db[3:]"), ["db-slave-03", "redis-01"]);
    assert_eq!(sel(&inv, "web[0]:db[0]"), ["web-01", "db-master"]);
    let err = inv.select("web[5]").unwrap_err().to_string();
    assert_has(&err, "index 5 is out of range");
}

#[test]
fn pattern_unknown_term_suggests() {
    let (_d, inv) = pattern_inventory();
    let err = inv.select("redsi").unwrap_err().to_string();
    assert_eq!(
        err,
        "no host or group matches 'redsi'; did you mean 'redis'?"
    );
    let err = inv.select("web:!frnt").unwrap_err().to_string();
    assert_has(&err, "did you mean 'front'?");
    let err = inv.select("db-mastr").unwrap_err().to_string();
    assert_has(&err, "did you mean 'db-master'?");
    let err = inv.select("xyzzy").unwrap_err().to_string();
    assert_has(
        &err,
        "no host or group matches 'xyzzy'; check the spelling (known groups:",
    );
    assert_has(&err, "redis");
    // A glob that matches nothing is treated like a typo too.
    let err = inv.select("cache*").unwrap_err().to_string();
    assert_has(&err, "no host or group matches 'cache*'");
}

#[test]
fn pattern_malformed() {
    let (_d, inv) = pattern_inventory();
    assert_has(&inv.select("").unwrap_err().to_string(), "use 'all'");
    assert_has(
        &inv.select(" , ").unwrap_err().to_string(),
        "the pattern is empty",
    );
    assert_has(
        &inv.select("web:!").unwrap_err().to_string(),
        "'!' must be followed by",
    );
    assert_has(
        &inv.select("~(web").unwrap_err().to_string(),
        "bad regular expression",
    );
    assert_has(&inv.select("web[").unwrap_err().to_string(), "bad glob");
}

#[test]
fn host_and_group_with_same_name_warns() {
    let (_d, inv) = load_ok(
        "hosts.yml",
        "all:\n  hosts:\n    db:\n  children:\n    db:\n      hosts:\n        db1:\n",
    );
    assert_has(
        &inv.warnings().join("\n"),
        "'db' is both a host and a group",
    );
    assert_eq!(sel(&inv, "db"), ["db1"]);
}
