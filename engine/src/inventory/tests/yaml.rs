//! Ansible YAML inventories: nesting, precedence, Kubespray's layout and
//! located schema errors.

use super::*;
use serde_json::json;

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
    // Any group_vars file beats every group var of the inventory file, even
    // a deeper group's (Ansible's documented order; ansible-inventory agrees).
    assert_eq!(h2.vars["level"], json!("alpha-file"));
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
    assert_load_errs(
        "hosts.yaml",
        &[(
            "all:\n  children:\n    web:\n      hosts:\n        - web1\n        - web2\n",
            &[
                "hosts.yaml:4:7: 'hosts' of group 'web' must be a mapping of host names",
                "got a list",
            ],
        )],
    );
}

#[test]
fn yaml_schema_errors_are_located() {
    assert_load_errs(
        "hosts.yaml",
        &[
            (
                "all:\n  children:\n    - web\n    - db\n",
                &["hosts.yaml:2:3: 'children' of group 'all' must be a mapping"],
            ),
            (
                "all:\n  hosts:\n    h1:\n  host:\n    h2:\n",
                &[
                    "hosts.yaml:4:3: unexpected key 'host' in group 'all'",
                    "did you mean 'hosts'?",
                ],
            ),
            (
                "all:\n  web:\n    hosts:\n      h1:\n",
                &[
                    "hosts.yaml:2:3: unexpected key 'web'",
                    "put it under 'all: children:'",
                ],
            ),
            (
                "all:\n  children:\n    web: [a, b]\n",
                &["hosts.yaml:3:5: group 'web' must be a mapping"],
            ),
            (
                "- all\n- web\n",
                &["hosts.yaml:1:1: an inventory must be a mapping of groups"],
            ),
            (
                "all:\n  children:\n    web:\n      hosts:\n        w1:\n          ansible_port: ssh\n",
                &["hosts.yaml:6:11: ansible_port must be a TCP port number"],
            ),
            (
                "all:\n  vars:\n    - a\n",
                &["hosts.yaml:2:3: 'vars' of group 'all' must be a mapping"],
            ),
            (
                "all:\n  vars:\n    secret: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n      3131\n",
                &["hosts.yaml:3:5: this value is encrypted with ansible-vault"],
            ),
            (
                "plugin: aws_ec2\nregions: [eu-west-1]\n",
                &["hosts.yaml:1:1: dynamic inventory plugins are not supported"],
            ),
        ],
    );
}

#[test]
fn yaml_group_cycle_is_an_error() {
    assert_load_errs(
        "hosts.yaml",
        &[(
            "all:\n  children:\n    a:\n      children:\n        b:\n          children:\n            a:\n",
            &["is its own ancestor", "a -> b -> a", "hosts.yaml:"],
        )],
    );
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

#[test]
fn nested_host_ranges_are_bounded() {
    // Ten billion names: refused at once, not expanded until killed (the
    // timeout makes the test fail, not hang, if the bound is lost).
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(load_err(
            "hosts.yml",
            "all:\n  hosts:\n    h[0:99999]-[0:99999]:\n",
        ));
    });
    let err = finished
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the expansion stops within seconds");
    assert_has(&err, "h[0:99999]-[0:99999]");
    assert_has(&err, "more than 100000 hosts");
}
