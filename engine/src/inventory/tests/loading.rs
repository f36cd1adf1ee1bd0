//! Choosing what to load: formats by extension, inventory folders, several
//! sources merged in order.

use super::*;
use serde_json::json;

#[test]
fn directory_loads_every_inventory_file_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let err = Inventory::load(dir.path()).unwrap_err().to_string();
    assert_has(&err, "no inventory file in this directory");

    write_all(
        dir.path(),
        &[
            ("servers.tsv", "hostname\tgroups\nh1\tweb\n"),
            ("hosts.yml", "all:\n  hosts:\n    h2:\n"),
            ("more/extra.ini", "[web]\nh3\n"),
            // Skipped as Ansible skips them.
            ("README.md", "# not an inventory\n"),
            ("ansible.cfg", "[defaults]\n"),
            (".hidden", "[web]\nhidden\n"),
            ("group_vars/all.yml", "from_dir: yes\n"),
        ],
    );
    let inv = Inventory::load(dir.path()).unwrap();
    let hosts: Vec<&str> = inv.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        hosts,
        ["h2", "h3", "h1"],
        "name order: hosts.yml, more/, servers.tsv"
    );
    assert_eq!(
        names(&inv.group_hosts("web").unwrap()),
        ["h3", "h1"],
        "group members in inventory order"
    );
    // YAML 1.1, as Ansible (PyYAML) reads it: a plain `yes` is true.
    assert_eq!(inv.host("h1").unwrap().vars["from_dir"], json!(true));

    let missing = dir.path().join("nope.yml");
    let err = Inventory::load(&missing).unwrap_err().to_string();
    assert_has(&err, "nope.yml: cannot read");
}

#[test]
fn format_follows_the_extension_and_anything_else_is_ini() {
    for name in ["inventory.ini", "hosts", "hosts.cfg", "hosts.csv"] {
        let (_dir, inv) = load_ok(name, "[web]\nweb1\n");
        assert_eq!(names(&inv.group_hosts("web").unwrap()), ["web1"], "{name}");
    }
    let (_dir, inv) = load_ok("hosts.json", r#"{"all": {"hosts": {"j1": {"a": 1}}}}"#);
    assert_eq!(inv.host("j1").unwrap().vars["a"], json!(1));
}

#[test]
fn several_sources_merge_in_order_with_their_own_vars_folders() {
    let dir = tempfile::tempdir().unwrap();
    write_all(
        dir.path(),
        &[
            (
                "one/hosts.ini",
                "[app]\na1 src=one\n[app:children]\nextra\n[extra]\na2\n",
            ),
            ("one/group_vars/extra.yml", "x: one-extra\n"),
            ("one/group_vars/all.yml", "g: one-all\n"),
            (
                "two/hosts.yml",
                "all:\n  children:\n    app:\n      hosts:\n        a1: {src: two}\n",
            ),
            ("two/group_vars/app.yml", "x: two-app\n"),
            ("two/group_vars/all.yml", "g: two-all\n"),
        ],
    );
    let sources = [dir.path().join("one/hosts.ini"), dir.path().join("two")];
    let inv = Inventory::load_all(&sources, &Vault::default()).unwrap();
    assert_eq!(inv.host("a1").unwrap().vars["src"], json!("two"));
    let a2 = inv.host("a2").unwrap();
    // Each source's group_vars in turn, groups by depth within a source: the
    // second source's shallower group beats the first's deeper one, as in
    // ansible-inventory.
    assert_eq!(a2.vars["x"], json!("two-app"));
    assert_eq!(a2.vars["g"], json!("two-all"));
}

#[test]
fn a_comma_separated_host_list_is_a_source_of_ungrouped_hosts() {
    let dir = tempfile::tempdir().unwrap();
    write_all(dir.path(), &[("hosts.ini", "[web]\nw1\n")]);
    let sources = [
        PathBuf::from("web-01, 10.0.0.5:2222,web-01:2200,[2001:db8::1]:22,"),
        dir.path().join("hosts.ini"),
        PathBuf::from("solo,"),
    ];
    let inv = Inventory::load_all(&sources, &Vault::default()).unwrap();
    let hosts: Vec<&str> = inv.hosts().iter().map(|h| h.name.as_str()).collect();
    assert_eq!(hosts, ["web-01", "10.0.0.5", "2001:db8::1", "w1", "solo"]);
    // The first entry of a host wins, as in Ansible's host_list plugin.
    assert!(!inv
        .host("web-01")
        .unwrap()
        .vars
        .contains_key("ansible_port"));
    assert_eq!(inv.host("10.0.0.5").unwrap().port, Some(2222));
    assert_eq!(inv.host("solo").unwrap().groups, ["all"]);

    // A path that exists is read as a file, whatever its name holds.
    let named = dir.path().join("a,b");
    std::fs::write(&named, "[db]\nd1\n").unwrap();
    let inv = Inventory::load_all(&[named], &Vault::default()).unwrap();
    assert_eq!(inv.hosts()[0].name, "d1");
}

#[test]
fn ini_groups_join_all_after_every_source_is_read() {
    // Ansible's INI plugin leaves its top-level groups parentless until the
    // whole inventory is read, so a later YAML file's `all.children` come
    // first in `all`'s children.
    let dir = tempfile::tempdir().unwrap();
    write_all(
        dir.path(),
        &[
            ("a.ini", "[web]\nw1\n"),
            (
                "b.yml",
                "all:\n  children:\n    cache:\n      hosts:\n        c1:\n",
            ),
        ],
    );
    let inv = Inventory::load(dir.path()).unwrap();
    assert_eq!(inv.group_tree("all").unwrap().1, ["cache", "web"]);
}
