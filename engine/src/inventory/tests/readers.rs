//! Which reader reads a file, tried in Ansible's plugin order: an
//! executable file is run as an inventory script, a `.yml` file that is no
//! YAML inventory is read as INI, a file without extension may be YAML.

use super::*;
use crate::inventory::script;
use serde_json::json;
use std::time::Duration;

/// An inventory script printing `list` for `--list` and `{"n": NAME}` for
/// `--host NAME`.
fn script_printing(dir: &Path, list: &str) -> PathBuf {
    let body = format!(
        "#!/bin/sh\nif [ \"$1\" = --host ]; then echo \"{{\\\"n\\\": \\\"$2\\\"}}\"; \
         else echo '{list}'; fi\n"
    );
    write_exec(dir, "inventory", &body)
}

#[test]
fn an_executable_file_is_run_with_list() {
    let dir = tempfile::tempdir().unwrap();
    let list = r#"{"web": {"hosts": ["w2", "w1"], "vars": {"port": 80}, "children": ["edge"]},
        "edge": ["e1"], "_meta": {"hostvars": {"w1": {"ansible_host": "10.0.0.9"}, "x": {}}}}"#;
    let inv = Inventory::load(&script_printing(dir.path(), list)).unwrap();
    assert_eq!(names(&inv.group_hosts("web").unwrap()), ["w2", "w1", "e1"]);
    assert_eq!(inv.host("w1").unwrap().address, "10.0.0.9");
    let e1 = &inv.host("e1").unwrap().vars;
    assert!(!e1.contains_key("n"), "_meta given: no --host run: {e1:?}");
    assert_eq!(inv.host("w2").unwrap().vars["port"], json!(80));
    assert!(inv.host("x").is_none(), "hostvars alone add no host");
}

#[test]
fn a_script_without_meta_is_asked_for_each_host() {
    let dir = tempfile::tempdir().unwrap();
    let inv = Inventory::load(&script_printing(dir.path(), r#"{"web": ["w1", "w2"]}"#)).unwrap();
    assert_eq!(inv.host("w2").unwrap().vars["n"], json!("w2"));
}

#[test]
fn a_failing_script_is_named_with_its_stderr_and_each_readers_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_exec(
        dir.path(),
        "cloud",
        "#!/bin/sh\necho 'API token expired' >&2\nexit 3\n",
    );
    let msg = Inventory::load(&path).unwrap_err().to_string();
    for needle in [
        "cloud: no inventory reader could read this file",
        "as script:",
        "cloud --list` failed (exit status: 3); its stderr:\nAPI token expired",
        "as yaml:",
        "as ini:",
    ] {
        assert_has(&msg, needle);
    }
}

#[test]
fn a_script_printing_no_json_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = script_printing(dir.path(), "[web] w1");
    let err = script::parse(&path, script::TIMEOUT)
        .unwrap_err()
        .to_string();
    assert_has(
        &err,
        "inventory: inventory script: `--list` printed no JSON object",
    );
    let path = script_printing(dir.path(), r#"{"web": {"hosts": "w1"}}"#);
    let err = script::parse(&path, script::TIMEOUT)
        .unwrap_err()
        .to_string();
    assert_has(&err, "`web.hosts` is a string, not a list");
}

#[test]
fn a_script_that_hangs_is_killed_at_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_exec(dir.path(), "slow.sh", "#!/bin/sh\nexec sleep 30\n");
    let started = std::time::Instant::now();
    let err = script::parse(&path, Duration::from_millis(300))
        .unwrap_err()
        .to_string();
    assert_has(
        &err,
        "slow.sh --list` did not finish within 0.3s and was killed",
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn an_executable_ini_file_that_does_not_run_is_read_as_ini() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_exec(dir.path(), "hosts", "[web]\nw1 port=80\n");
    let inv = Inventory::load(&path).unwrap();
    assert_eq!(names(&inv.group_hosts("web").unwrap()), ["w1"]);
}

#[test]
fn a_yml_file_holding_ini_is_read_as_ini() {
    let (_d, inv) = load_ok("hosts.yml", "[web]\nw1 port=80\n[db]\nd1\n");
    assert_eq!(names(&inv.group_hosts("db").unwrap()), ["d1"]);
    assert_eq!(inv.host("w1").unwrap().vars["port"], json!(80));
}

#[test]
fn a_file_without_extension_may_be_yaml() {
    let (_d, inv) = load_ok("hosts", "all:\n  hosts:\n    y1:\n      port: 22\n");
    assert_eq!(inv.host("y1").unwrap().vars["port"], json!(22));
}

#[test]
fn a_file_no_reader_reads_lists_every_reason_and_points_at_the_first() {
    let (_d, res) = load_str("hosts.yml", "all:\n  hosts: [\n");
    let err = res.unwrap_err();
    let msg = err.to_string();
    assert_has(&msg, "hosts.yml: no inventory reader could read this file:");
    assert_has(&msg, "\n  as yaml: ");
    assert_has(&msg, "\n  as ini: ");
    assert!(err.location().unwrap().line.is_some(), "{msg}");
    assert_has(
        &load_err("hosts.toml", "[web]\n"),
        "TOML inventories are not supported",
    );
}
