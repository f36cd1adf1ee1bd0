//! Choosing what to load: inventory directories and unsupported formats.

use super::*;
use serde_json::json;

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
    assert_load_errs(
        "inventory.ini",
        &[(
            "[web]\nweb1\n",
            &[
                "inventory.ini: INI inventories are not supported",
                "ansible-inventory",
            ],
        )],
    );
    assert_load_errs(
        "hosts.csv",
        &[(
            "hostname,ip\n",
            &["hosts.csv: unsupported inventory format"],
        )],
    );
}
