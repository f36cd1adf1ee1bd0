//! An executable inventory file, run as ansible-core's `script` plugin runs
//! it: `FILE --list` prints the inventory as JSON (groups with `hosts`,
//! `vars`, `children`, and `_meta.hostvars`); when `_meta` is missing,
//! `FILE --host NAME` prints each host's vars. Host names are taken as
//! written (no ranges, no `host:port`), and a `_meta.hostvars` entry for a
//! host in no group adds no host, as in Ansible.
//!
//! Unlike Ansible, each run has a time limit ([`TIMEOUT`]): a script stuck
//! on an unreachable cloud API would otherwise hang every play.

use super::raw::RawInventory;
use super::{InventoryError, SourceLocation, Vars};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one run of an inventory script may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// Whether Ansible's `script` plugin would try `file`: a file someone may
/// execute.
pub(crate) fn is_executable(file: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(file).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The inventory the script `file` prints, each run limited to `timeout`.
pub(crate) fn parse(file: &Path, timeout: Duration) -> Result<RawInventory, InventoryError> {
    let fail = |message: String| InventoryError::Script {
        location: SourceLocation::file(file),
        message,
    };
    let list = run(file, &["--list"], timeout).map_err(fail)?;
    let groups: Groups = serde_json::from_str(&list.stdout).map_err(|e| {
        fail(format!(
            "`--list` printed no JSON object ({e}){}",
            stderr_note(&list.stderr)
        ))
    })?;
    let mut raw = RawInventory::new(file);
    let mut meta = None;
    for (name, data) in groups.0 {
        match name.as_str() {
            "_meta" => meta = Some(host_vars_of_meta(data).map_err(fail)?),
            _ => add_group(&mut raw, &name, data).map_err(fail)?,
        }
    }
    for i in 0..raw.hosts.len() {
        let name = raw.hosts[i].name.clone();
        let vars = match &meta {
            Some(all) => host_vars_in_meta(all, &name),
            None => host_vars_of_run(file, &name, timeout),
        };
        let vars = vars.map_err(fail)?;
        raw.hosts[i].vars.extend(vars);
    }
    if !list.stderr.is_empty() {
        raw.warnings.push(format!(
            "inventory script {} wrote to stderr:\n{}",
            file.display(),
            list.stderr
        ));
    }
    Ok(raw)
}

/// The top-level groups of `--list`, in the order the script printed them
/// (group order is the order of `all`'s children in Ansible's output).
struct Groups(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Groups {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Groups;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object of groups")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Groups, A::Error> {
                let mut out = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    out.push(entry);
                }
                Ok(Groups(out))
            }
        }
        de.deserialize_map(Ordered)
    }
}

/// `_meta.hostvars`: every host's vars.
fn host_vars_of_meta(meta: Value) -> Result<Vars, String> {
    let Value::Object(mut meta) = meta else {
        return Err(format!("`_meta` is {}, not an object", kind(&meta)));
    };
    match meta.remove("hostvars") {
        Some(Value::Object(all)) => Ok(all),
        None => Ok(Vars::new()),
        Some(other) => Err(format!(
            "`_meta.hostvars` is {}, not an object",
            kind(&other)
        )),
    }
}

/// `_meta.hostvars.HOST` (none: no vars).
fn host_vars_in_meta(all: &Vars, host: &str) -> Result<Vars, String> {
    match all.get(host) {
        None | Some(Value::Null) => Ok(Vars::new()),
        Some(Value::Object(vars)) => Ok(vars.clone()),
        Some(other) => Err(format!(
            "`_meta.hostvars.{host}` is {}, not an object",
            kind(other)
        )),
    }
}

/// `FILE --host NAME`: one host's vars (nothing printed: none).
fn host_vars_of_run(file: &Path, host: &str, timeout: Duration) -> Result<Vars, String> {
    let out = run(file, &["--host", host], timeout)?;
    if out.stdout.trim().is_empty() {
        return Ok(Vars::new());
    }
    match serde_json::from_str(&out.stdout) {
        Ok(Value::Object(vars)) => Ok(vars),
        Ok(other) => Err(format!(
            "`--host {host}` printed {}, not an object",
            kind(&other)
        )),
        Err(e) => Err(format!(
            "`--host {host}` printed no JSON ({e}){}",
            stderr_note(&out.stderr)
        )),
    }
}

/// One group of `--list`, normalised as Ansible does: a bare list is its
/// hosts, an object without `hosts`/`vars`/`children` is the vars of a host
/// named like the group.
fn add_group(raw: &mut RawInventory, name: &str, data: Value) -> Result<(), String> {
    raw.group(name, None);
    let mut data = match data {
        Value::Object(map)
            if ["hosts", "vars", "children"]
                .iter()
                .any(|k| map.contains_key(*k)) =>
        {
            map
        }
        Value::Object(map) => serde_json::Map::from_iter([
            ("hosts".to_string(), Value::from(vec![name])),
            ("vars".to_string(), Value::Object(map)),
        ]),
        other => serde_json::Map::from_iter([("hosts".to_string(), other)]),
    };
    for host in names(name, "hosts", data.remove("hosts"))? {
        raw.member(&host, name);
    }
    match data.remove("vars") {
        Some(Value::Object(vars)) => raw.group(name, None).vars.extend(vars),
        None => {}
        Some(other) => return Err(format!("`{name}.vars` is {}, not an object", kind(&other))),
    }
    for child in names(name, "children", data.remove("children"))? {
        raw.add_child(name, &child, None);
    }
    Ok(())
}

/// A list of names (`hosts`, `children`) of group `group`.
fn names(group: &str, key: &str, value: Option<Value>) -> Result<Vec<String>, String> {
    let items = match value {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(other) => return Err(format!("`{group}.{key}` is {}, not a list", kind(&other))),
    };
    items
        .into_iter()
        .map(|item| match item {
            Value::String(s) => Ok(s),
            other => Err(format!(
                "`{group}.{key}` holds {}, not a name",
                kind(&other)
            )),
        })
        .collect()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// What a successful run printed (`stderr` trimmed).
struct Output {
    stdout: String,
    stderr: String,
}

/// Runs `file ARGS`, waiting at most `timeout`; a failure says what ran,
/// how it ended and what it wrote to stderr.
fn run(file: &Path, args: &[&str], timeout: Duration) -> Result<Output, String> {
    let command = format!("{} {}", file.display(), args.join(" "));
    let mut child = Command::new(runnable(file))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{command}`: {e}"))?;
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{command}` did not finish within {}s and was killed; make it answer \
                     faster (cache what it fetches)",
                    timeout.as_secs_f32()
                ));
            }
            Err(e) => return Err(format!("waiting for `{command}`: {e}")),
        }
    };
    let stdout = stdout.join().unwrap_or_default();
    let stderr = String::from_utf8_lossy(&stderr.join().unwrap_or_default())
        .trim_end()
        .to_string();
    if !status.success() {
        return Err(format!(
            "`{command}` failed ({status}){}",
            stderr_note(&stderr)
        ));
    }
    let stdout = String::from_utf8(stdout).map_err(|_| {
        format!(
            "`{command}` printed text that is not UTF-8{}",
            stderr_note(&stderr)
        )
    })?;
    Ok(Output { stdout, stderr })
}

/// What ends a failure message: the script's stderr, when it wrote any.
fn stderr_note(stderr: &str) -> String {
    match stderr {
        "" => String::new(),
        text => format!("; its stderr:\n{text}"),
    }
}

/// `file` as a path `Command` runs rather than looks up on `PATH`.
fn runnable(file: &Path) -> PathBuf {
    if file.components().count() == 1 {
        Path::new(".").join(file)
    } else {
        file.to_path_buf()
    }
}

/// Reads a pipe to its end on a thread, so a chatty script cannot fill one
/// pipe while we wait for it to exit.
fn drain(pipe: Option<impl Read + Send + 'static>) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        buf
    })
}
