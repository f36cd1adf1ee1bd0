//! Mappings keep the order their source wrote them in, through every reader
//! and every precedence layer, as Python's dicts keep it in Ansible: a
//! role's `{% for k, v in settings.items() %}` writes its lines in the
//! order of the YAML file, not sorted.

use super::*;

/// The keys of the mapping `vars[name]`, in order.
fn keys<'a>(vars: &'a Vars, name: &str) -> Vec<&'a str> {
    let map = vars[name]
        .as_object()
        .unwrap_or_else(|| panic!("{name}: {vars:?}"));
    map.keys().map(String::as_str).collect()
}

#[test]
fn every_reader_keeps_the_sources_key_order() {
    let dir = tempfile::tempdir().unwrap();
    write_all(
        dir.path(),
        &[
            (
                "inv/a.ini",
                "[web]\nw1\n[web:vars]\nini_dict={'z': 1, 'a': 2, 'm': 3}\n",
            ),
            (
                "inv/b.yml",
                "db:\n  hosts:\n    d1:\n      yaml_dict: {z: 1, a: 2, m: 3}\n",
            ),
            (
                "inv/group_vars/web.yml",
                "gv_dict:\n  z: 1\n  a: 2\n  m: 3\n",
            ),
            (
                "inv/host_vars/w1.json",
                r#"{"hv_dict": {"z": 1, "a": 2, "m": 3}}"#,
            ),
        ],
    );
    write_exec(
        dir.path(),
        "inv/c.sh",
        "#!/bin/sh\necho '{\"app\": {\"hosts\": [\"s1\"], \"vars\": {\"script_dict\": {\"z\": 1, \"a\": 2, \"m\": 3}}}}'\n",
    );
    let inv = Inventory::load(&dir.path().join("inv")).unwrap();
    let w1 = &inv.host("w1").unwrap().vars;
    for name in ["ini_dict", "gv_dict", "hv_dict"] {
        assert_eq!(keys(w1, name), ["z", "a", "m"], "{name}");
    }
    assert_eq!(
        keys(&inv.host("d1").unwrap().vars, "yaml_dict"),
        ["z", "a", "m"]
    );
    assert_eq!(
        keys(&inv.host("s1").unwrap().vars, "script_dict"),
        ["z", "a", "m"]
    );
}

#[test]
fn a_later_layer_replaces_a_dict_whole_and_keeps_a_top_level_keys_place() {
    let dir = tempfile::tempdir().unwrap();
    write_all(
        dir.path(),
        &[
            ("hosts.ini", "[web]\nw1\n"),
            (
                "group_vars/all.yml",
                "zz: 1\nsettings: {b: 1, a: 1}\naa: 1\n",
            ),
            (
                "group_vars/web.yml",
                "settings: {y: 2, x: 2}\nzz: 2\nnew: 2\n",
            ),
        ],
    );
    let inv = Inventory::load(&dir.path().join("hosts.ini")).unwrap();
    let vars = &inv.host("w1").unwrap().vars;
    assert_eq!(keys(vars, "settings"), ["y", "x"]);
    let top: Vec<&str> = vars.keys().map(String::as_str).collect();
    assert_eq!(top, ["zz", "settings", "aa", "new"], "Python's `a | b`");
}
