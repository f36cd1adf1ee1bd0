//! `group_vars/` and `host_vars/`: file forms, order, typo warnings and
//! errors naming the vars file.

use super::*;
use serde_json::json;

#[test]
fn group_vars_and_host_vars_file_forms() {
    let dir = tempfile::tempdir().unwrap();
    let inv_path = write(
        dir.path(),
        "servers.tsv",
        "hostname\tgroups\nweb-01\tweb\ndb-01\tdb\ncache-01\tcache\n",
    );
    write_all(
        dir.path(),
        &[
            // Directory form, nested, in name order; hidden/backup/other files skipped.
            ("group_vars/all/10-base.yml", "x: base\nonly_base: 1\n"),
            ("group_vars/all/20-override.yaml", "x: override\n"),
            ("group_vars/all/sub/30-deeper.yml", "deep: true\n"),
            ("group_vars/all/.hidden.yml", "x: hidden\n"),
            ("group_vars/all/99.yml~", "x: backup\n"),
            ("group_vars/all/README.md", "not: yaml: at: all:\n"),
            // A directory wins over NAME.yml (Ansible's order).
            ("group_vars/web.yml", "ignored: true\n"),
            ("group_vars/web/main.yml", "http_port: 80\n"),
            // JSON and extension-less files.
            ("group_vars/db.json", "{\"db_port\": 5432}"),
            ("group_vars/cache", "cache_size: 64m\n"),
            ("host_vars/web-01.yaml", "x: host\nansible_user: www\n"),
            ("host_vars/db-01/a.yml", "ansible_port: 2200\n"),
            // Empty vars file is fine.
            ("host_vars/cache-01.yml", "---\n# nothing\n"),
            // Typos: warned about.
            ("group_vars/webservers.yml", "http_port: 8080\n"),
            ("host_vars/web-1.yml", "x: typo\n"),
        ],
    );

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
    // One bad vars file at a time beside a valid inventory.
    let cases: [(&str, &str, &[&str]); 5] = [
        (
            "group_vars/all.yml",
            "a: 1\nansible_port: [22]\n",
            &["group_vars/all.yml:2:1: ansible_port must be a TCP port number"],
        ),
        (
            "group_vars/all.yml",
            "# list\n- a\n- b\n",
            &["group_vars/all.yml:2:1: a vars file must be a mapping"],
        ),
        (
            "group_vars/all.yml",
            "a: [1, 2\n",
            &["group_vars/all.yml:", "invalid YAML"],
        ),
        (
            "host_vars/h1.json",
            "{\"a\": 1,}",
            &["host_vars/h1.json:1:", "invalid JSON"],
        ),
        (
            "host_vars/h1.yml",
            "$ANSIBLE_VAULT;1.1;AES256\n6162\n",
            &["host_vars/h1.yml:1:1: file is encrypted with ansible-vault"],
        ),
    ];
    for (rel, content, needles) in cases {
        let dir = tempfile::tempdir().unwrap();
        let inv_path = write(dir.path(), "hosts.yml", "all:\n  hosts:\n    h1:\n");
        write(dir.path(), rel, content);
        let msg = Inventory::load(&inv_path).unwrap_err().to_string();
        for needle in needles {
            assert_has(&msg, needle);
        }
    }
}

#[test]
fn own_vars_of_groups_and_hosts_stay_apart_from_the_merged_ones() {
    let dir = tempfile::tempdir().unwrap();
    write_all(
        dir.path(),
        &[
            (
                "hosts.ini",
                "lone b=2\n[web]\nw1 a=1\n[web:vars]\ng=inline\n[ungrouped:vars]\nu=1\n",
            ),
            ("group_vars/web.yml", "g: file\nh: 2\n"),
            ("host_vars/w1.yml", "a: 3\n"),
        ],
    );
    let inv = Inventory::load(&dir.path().join("hosts.ini")).unwrap();
    let vars = |v: serde_json::Value| v.as_object().unwrap().clone();
    assert_eq!(
        inv.group_vars("web"),
        Some(&vars(json!({"g": "file", "h": 2})))
    );
    assert_eq!(inv.group_vars("ungrouped"), Some(&vars(json!({"u": 1}))));
    assert_eq!(inv.group_vars("all"), Some(&Vars::new()));
    assert_eq!(inv.group_vars("nosuch"), None);
    assert_eq!(inv.host_own_vars("w1"), Some(&vars(json!({"a": 3}))));
    assert_eq!(inv.host_own_vars("lone"), Some(&vars(json!({"b": 2}))));
    assert_eq!(inv.host("w1").unwrap().vars["g"], json!("file"));
}
