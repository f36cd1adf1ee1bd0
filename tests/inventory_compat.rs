//! `kbz-play inventory` against the real `ansible-inventory` (ansible-core
//! 2.19) on every inventory under tests/fixtures/inventories/: INI and YAML,
//! ranges, typed values, children, group_vars/host_vars (folders of var
//! files too), a conflict at every precedence layer, a folder of several
//! inventory files, several `-i`, Kubespray's layout, executable inventory
//! scripts (with and without `_meta`), INI in a `.yml` file and YAML in an
//! extension-less one, strings YAML must quote, fold or escape, YAML 1.1
//! scalars (`yes`, `012`, `1:30`...) and their quoted twins.
//!
//! Each fixture is a folder passed as `-i`, unless it holds a `.sources`
//! file listing the `-i` paths (one a line, relative to the folder). Hosts,
//! group membership and every variable must be equal: `--list` (as JSON
//! values, then as text), `--list --yaml` (as YAML values, then as text but
//! where ansible-inventory writes anchors: see [`diff_yaml_text`]), `--graph` (as
//! text) and `--host` for each host; `--export` (`--list`, `--host` of one
//! host) and `--limit` (`--list`, `--graph`; a group of the fixture, and a
//! pattern naming an unknown host) too; a failure prints every difference
//! with its path.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/inventories");

/// With `KBZ_VALIDATORS_REQUIRED` set (tests/run.sh, CI), the comparison
/// must run and `ansible-inventory` must be there.
#[test]
fn compat_runs_when_kbz_validators_required_is_set() {
    common::venv_tool_guard("ansible-inventory", "the ansible-inventory comparison");
}

#[test]
#[ignore = "needs ansible-inventory (ansible-core) on PATH: bash tests/run.sh installs it in a Python venv"]
fn kbz_play_inventory_prints_what_ansible_inventory_prints() {
    let ansible = ansible_inventory().expect("ansible-inventory on PATH");
    let fixtures = fixtures();
    assert!(fixtures.len() >= 5, "fixtures missing in {FIXTURES}");
    let mut report = Vec::new();
    for dir in &fixtures {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let sources = sources(dir);
        let both = |extra: &[&str]| {
            let a = output(Command::new(&ansible), dir, &sources, extra);
            let mut kbz = common::bin();
            kbz.arg("inventory");
            let k = output(kbz, dir, &sources, extra);
            (a, k)
        };
        let (a, k) = both(&["--list"]);
        let (a_list, k_list) = (json(&a), json(&k));
        diff_values(&format!("{name} --list"), &a_list, &k_list, &mut report);
        if a_list == k_list && a != k {
            report.push(format!(
                "{name} --list: same values, other text:
{a}---
{k}"
            ));
        }
        let (a, k) = both(&["--list", "--yaml"]);
        let what = format!("{name} --list --yaml");
        diff_values(&what, &yaml(&a), &yaml(&k), &mut report);
        diff_yaml_text(&what, &a, &k, &mut report);
        let limit = limit_of(&a_list);
        for extra in [
            &["--list", "--export"][..],
            &["--list", "--export", "--yaml"],
            &["--list", "--limit", &limit],
            &["--list", "--limit", &limit, "--yaml"],
            &["--list", "--limit", "all:!nosuchhost", "--export"],
        ] {
            let (a, k) = both(extra);
            let what = format!("{name} {}", extra.join(" "));
            diff_values(&what, &yaml(&a), &yaml(&k), &mut report);
            if extra.contains(&"--yaml") {
                diff_yaml_text(&what, &a, &k, &mut report);
            }
        }
        for extra in [&["--graph"][..], &["--graph", "--limit", &limit]] {
            let (a, k) = both(extra);
            if a != k {
                report.push(format!(
                    "{name} {}:\n--- ansible-inventory\n{a}--- kbz-play\n{k}",
                    extra.join(" ")
                ));
            }
        }
        let hosts = a_list["_meta"]["hostvars"]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let export = hosts.keys().next().map(|h| vec!["--host", h, "--export"]);
        let runs = hosts.keys().map(|h| vec!["--host", h.as_str()]);
        for extra in runs.chain(export) {
            let (a, k) = both(&extra);
            diff_values(
                &format!("{name} {}", extra.join(" ")),
                &json(&a),
                &json(&k),
                &mut report,
            );
        }
    }
    assert!(
        report.is_empty(),
        "{} difference(s) between ansible-inventory and kbz-play inventory:\n{}",
        report.len(),
        report.join("\n")
    );
}

/// The `--limit` tried on a fixture: the second child of `all` in
/// ansible-inventory's `--list` (the first is `ungrouped`), else `all`.
fn limit_of(list: &Value) -> String {
    list["all"]["children"]
        .get(1)
        .and_then(Value::as_str)
        .unwrap_or("all")
        .to_string()
}

/// Every fixture folder, in name order.
fn fixtures() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(FIXTURES)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The `-i` paths of a fixture, relative to it.
fn sources(dir: &Path) -> Vec<String> {
    match std::fs::read_to_string(dir.join(".sources")) {
        Ok(list) => list.lines().map(str::to_string).collect(),
        Err(_) => vec![".".to_string()],
    }
}

/// Runs `cmd -i S... EXTRA` in the fixture folder; its stdout, or a panic
/// with everything it printed.
fn output(mut cmd: Command, dir: &Path, sources: &[String], extra: &[&str]) -> String {
    let home = tempfile::tempdir().unwrap();
    cmd.current_dir(dir)
        .env("ANSIBLE_HOME", home.path())
        .env("ANSIBLE_LOCAL_TEMP", home.path())
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .env("ANSIBLE_DEPRECATION_WARNINGS", "false");
    for s in sources {
        cmd.args(["-i", s]);
    }
    let out = cmd.args(extra).output().expect("the command runs");
    assert!(
        out.status.success(),
        "{:?} in {}: {}",
        cmd,
        dir.display(),
        common::text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

fn yaml(text: &str) -> Value {
    yaml_serde::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

/// Records every path where the two values differ, as
/// `what: path: ansible-inventory X, kbz-play Y`.
fn diff_values(what: &str, a: &Value, k: &Value, report: &mut Vec<String>) {
    fn walk(path: &str, a: Option<&Value>, k: Option<&Value>, out: &mut Vec<String>) {
        match (a, k) {
            (Some(Value::Object(am)), Some(Value::Object(km))) => {
                let mut keys: Vec<&String> = am.keys().chain(km.keys()).collect();
                keys.sort();
                keys.dedup();
                for key in keys {
                    walk(&format!("{path}.{key}"), am.get(key), km.get(key), out);
                }
            }
            (a, k) if a != k => out.push(format!(
                "{path}: ansible-inventory {}, kbz-play {}",
                a.map_or("(absent)".to_string(), Value::to_string),
                k.map_or("(absent)".to_string(), Value::to_string)
            )),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk("", Some(a), Some(k), &mut out);
    report.extend(out.into_iter().map(|d| format!("{what}: {d}")));
}

/// Records a `--yaml` output that is not byte for byte ansible-inventory's,
/// unless that one holds anchors (`&id001`): PyYAML writes one for a list
/// or dict var that is one Python object in several hosts' vars (a group
/// var they inherit), which kbz-play does not track (its values are
/// compared above).
fn diff_yaml_text(what: &str, a: &str, k: &str, report: &mut Vec<String>) {
    if a != k && !a.contains(" &id0") {
        report.push(format!(
            "{what}: same values, other text:\n--- ansible-inventory\n{a}--- kbz-play\n{k}"
        ));
    }
}

/// `ansible-inventory` on PATH.
fn ansible_inventory() -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("ansible-inventory"))
        .find(|p| p.is_file())
}
