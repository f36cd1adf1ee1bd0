//! Ansible's YAML inventory schema, and the YAML reading vars files share
//! with it (vars files themselves: [`super::vars_file`]).
//!
//! ```yaml
//! all:
//!   vars: {ntp: pool.ntp.org}
//!   hosts:
//!     bastion:
//!   children:
//!     web:
//!       hosts:
//!         web[01:03].example.com:     # host ranges expand like Ansible's
//!         web-canary:2222:            # host:port sets ansible_port
//!           ansible_user: deploy
//! ```
//!
//! Top-level keys are groups (usually only `all`); a group maps to
//! `hosts`, `vars` and `children`, each a mapping or empty. A host may appear
//! under several groups; its vars accumulate, later entries winning.
//!
//! `yaml_serde::Value` carries no positions, so schema errors are located by
//! [`locate()`], which walks the source text along the key path (see
//! [`mod@locate`]). It is best-effort (flow-style `{...}` mappings fall back
//! to their parent's line).

use super::host_range::{expand_host_range, split_port};
use super::PATTERN_METACHARS;
use super::{check_connection_vars, InventoryError, RawInventory, SourceLocation, Vars};
use crate::vault::{Vault, VaultError};
use serde_json::Value as JValue;
use std::path::Path;
use yaml_serde::{Mapping, Value as YValue};

mod locate;

pub(crate) use locate::{first_content_line, locate};

/// Parse YAML text as Ansible does (YAML 1.1, PyYAML's types: `yes` is
/// true, `012` is 10; merge keys applied), mapping syntax errors to a
/// located [`InventoryError`].
pub(crate) fn load_yaml(file: &Path, text: &str) -> Result<YValue, InventoryError> {
    check_not_vault(file, text)?;
    crate::pyyaml::load_shape(text).map_err(|e| yaml_error(file, text, &e))
}

/// Refuses an inventory file encrypted whole (vaulted vars files and values
/// are read: see `vault.rs`).
pub(crate) fn check_not_vault(file: &Path, text: &str) -> Result<(), InventoryError> {
    if text.trim_start().starts_with(crate::vault::HEADER) {
        return Err(InventoryError::UnsupportedFormat {
            location: SourceLocation::at(file, 1, 1),
            message: "file is encrypted with ansible-vault as a whole, which kbz-play reads \
                      only for group_vars/host_vars files and `!vault` values; keep the \
                      inventory file in clear and encrypt the vars files or values that hold \
                      secrets"
                .to_string(),
        });
    }
    Ok(())
}

fn yaml_error(file: &Path, text: &str, e: &yaml_serde::Error) -> InventoryError {
    let pos = e.location().map(|l| (l.line(), l.column()));
    let mut message = e.to_string();
    // The location is already in the `file:line:col:` prefix; drop the
    // parser's own copy of it so the message reads once.
    if let Some((line, col)) = pos {
        let dup = format!(" at line {line} column {col}");
        if let Some(i) = message.find(&dup) {
            message.replace_range(i..i + dup.len(), "");
        }
    }
    let tab_indent = pos
        .and_then(|(line, _)| text.lines().nth(line.saturating_sub(1)))
        .is_some_and(|l| {
            l.chars()
                .take_while(|c| c.is_whitespace())
                .any(|c| c == '\t')
        });
    if tab_indent || message.contains("tab") {
        message.push_str("; indent YAML with spaces, never tabs");
    } else if message.contains("duplicate entry") {
        message.push_str("; each key may appear only once in a mapping, remove or merge one");
    } else {
        message.push_str("; check the indentation and quoting around this position");
    }
    InventoryError::YamlSyntax {
        location: SourceLocation::maybe(file, pos),
        message,
    }
}

/// A conversion failure: the key path to the bad value and a message.
type ConvError = (Vec<String>, String);

/// Convert a YAML value to JSON, the engine's variable representation.
///
/// `path` is the key path of `value`, used to locate errors.
/// `!vault` values are decrypted with `vault` (and registered as secrets;
/// `file` and `path` name them in warnings and review placeholders).
pub(crate) fn to_json(
    value: &YValue,
    path: &mut Vec<String>,
    vault: &Vault,
    file: &Path,
) -> Result<JValue, ConvError> {
    Ok(match value {
        YValue::Null => JValue::Null,
        YValue::Bool(b) => JValue::Bool(*b),
        YValue::Number(n) => {
            if let Some(i) = n.as_i64() {
                JValue::from(i)
            } else if let Some(u) = n.as_u64() {
                JValue::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(JValue::Number)
                    .unwrap_or_else(|| JValue::String(n.to_string()))
            }
        }
        YValue::String(s) => JValue::String(s.clone()),
        YValue::Sequence(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push(i.to_string());
                out.push(to_json(item, path, vault, file)?);
                path.pop();
            }
            JValue::Array(out)
        }
        YValue::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = key_string(k).ok_or_else(|| {
                    (
                        path.clone(),
                        "mapping keys must be strings, numbers or booleans".to_string(),
                    )
                })?;
                path.push(key.clone());
                let v = to_json(v, path, vault, file)?;
                path.pop();
                out.insert(key, v);
            }
            JValue::Object(out)
        }
        YValue::Tagged(tagged) => {
            if tagged.tag == "vault" {
                return inline_vault(&tagged.value, vault, file, path)
                    .map_err(|e| (path.clone(), e));
            }
            if let (true, YValue::String(s)) =
                (tagged.tag == crate::pyyaml::TIMESTAMP_TAG, &tagged.value)
            {
                // What ansible-inventory's JSON prints: `isoformat()`.
                return Ok(JValue::String(s.replacen(' ', "T", 1)));
            }
            // `!unsafe` and other tags: keep the plain value.
            to_json(&tagged.value, path, vault, file)?
        }
    })
}

/// The plaintext of the `!vault |` value at `path` in `file`, registered as
/// a secret (in a review, its placeholder); the error message otherwise
/// (never quoting plaintext).
fn inline_vault(
    value: &YValue,
    vault: &Vault,
    file: &Path,
    path: &[String],
) -> Result<JValue, String> {
    let YValue::String(envelope) = value else {
        return Err(format!(
            "this value {}",
            VaultError::Format("a !vault value must be a string".to_string())
        ));
    };
    vault
        .decrypt_value(envelope, file, &path.join("."))
        .map(JValue::String)
        .map_err(|e| format!("this value {e}"))
}

/// A mapping key as a string, if it is a scalar.
pub(crate) fn key_string(k: &YValue) -> Option<String> {
    match k {
        YValue::String(s) => Some(s.clone()),
        YValue::Number(n) => Some(n.to_string()),
        YValue::Bool(b) => Some(b.to_string()),
        YValue::Null => Some("null".to_string()),
        YValue::Tagged(t) => key_string(&t.value),
        _ => None,
    }
}

pub(crate) fn conv_error(
    file: &Path,
    text: &str,
    prefix: &[&str],
    (path, message): ConvError,
) -> InventoryError {
    let mut full: Vec<&str> = prefix.to_vec();
    full.extend(path.iter().map(String::as_str));
    InventoryError::schema(file, locate(text, &full), message)
}

pub(crate) fn type_name(v: &YValue) -> &'static str {
    match v {
        YValue::Null => "nothing",
        YValue::Bool(_) => "a boolean",
        YValue::Number(_) => "a number",
        YValue::String(_) => "a string",
        YValue::Sequence(_) => "a list",
        YValue::Mapping(_) => "a mapping",
        YValue::Tagged(t) => type_name(&t.value),
    }
}

/// The parse state shared by the recursive group walk.
struct Parser<'a> {
    file: &'a Path,
    text: &'a str,
    raw: RawInventory,
    vault: &'a Vault,
}

/// Parse an Ansible YAML inventory.
pub(crate) fn parse_inventory(
    file: &Path,
    text: &str,
    vault: &Vault,
) -> Result<RawInventory, InventoryError> {
    let root = load_yaml(file, text)?;
    let mut p = Parser {
        file,
        text,
        raw: RawInventory::new(file),
        vault,
    };
    let map = match root {
        YValue::Null => return Ok(p.raw),
        YValue::Mapping(map) => map,
        other => {
            return Err(InventoryError::schema(
                file,
                first_content_line(text),
                format!(
                    "an inventory must be a mapping of groups, starting with `all:`; got {}",
                    type_name(&other)
                ),
            ))
        }
    };
    if map.contains_key("plugin") {
        return Err(InventoryError::UnsupportedFormat {
            location: SourceLocation::maybe(file, locate(text, &["plugin"])),
            message: "dynamic inventory plugins are not supported; export a static inventory \
                      with `ansible-inventory -i FILE --list -y > hosts.yaml`"
                .to_string(),
        });
    }
    for (k, v) in &map {
        let name = p.group_name(k, &[])?;
        if name != "all" {
            p.raw.add_child("all", &name, locate(text, &[&name]));
        }
        p.group(&name, v, std::slice::from_ref(&name))?;
    }
    Ok(p.raw)
}

impl Parser<'_> {
    fn pos(&self, path: &[String]) -> Option<(usize, usize)> {
        let refs: Vec<&str> = path.iter().map(String::as_str).collect();
        locate(self.text, &refs)
    }

    fn err(&self, path: &[String], message: String) -> InventoryError {
        InventoryError::schema(self.file, self.pos(path), message)
    }

    /// The mapping every level of the schema is: `None` for an empty entry
    /// (`name:` alone), which each level reads as "nothing here", and an
    /// error that says what was `expected` and what was found otherwise.
    fn mapping<'v>(
        &self,
        v: &'v YValue,
        path: &[String],
        expected: impl FnOnce() -> String,
    ) -> Result<Option<&'v Mapping>, InventoryError> {
        match v {
            YValue::Null => Ok(None),
            YValue::Mapping(map) => Ok(Some(map)),
            other => Err(self.err(path, format!("{}, got {}", expected(), type_name(other)))),
        }
    }

    fn group_name(&mut self, k: &YValue, parent: &[String]) -> Result<String, InventoryError> {
        let name = match k {
            YValue::String(s) if !s.trim().is_empty() => s.trim().to_string(),
            YValue::Number(n) => n.to_string(),
            _ => {
                return Err(self.err(
                    parent,
                    format!(
                        "group names must be non-empty strings, got {}",
                        type_name(k)
                    ),
                ))
            }
        };
        if name.contains(PATTERN_METACHARS) || name.contains(char::is_whitespace) {
            let mut path = parent.to_vec();
            path.push(name.clone());
            let loc = SourceLocation::maybe(self.file, self.pos(&path));
            self.raw.warnings.push(format!(
                "{loc}: group name '{name}' contains whitespace or one of {} and cannot be \
                 selected by a host pattern",
                PATTERN_METACHARS.iter().collect::<String>()
            ));
        }
        Ok(name)
    }

    /// Walk one group entry (`name: {hosts, vars, children}`) at `path`.
    fn group(&mut self, name: &str, value: &YValue, path: &[String]) -> Result<(), InventoryError> {
        let pos = self.pos(path);
        self.raw.group(name, pos);
        let expected = || {
            format!(
                "group '{name}' must be a mapping with 'hosts', 'vars' and/or 'children' keys \
                 (or empty)"
            )
        };
        let Some(map) = self.mapping(value, path, expected)? else {
            return Ok(());
        };
        for (k, v) in map {
            let key = k.as_str().unwrap_or_default();
            let mut sub = path.to_vec();
            sub.push(key.to_string());
            match key {
                "hosts" => self.hosts(name, v, &sub)?,
                "vars" => {
                    let vars = self.vars(v, &sub, &format!("'vars' of group '{name}'"))?;
                    let g = self.raw.group(name, pos);
                    g.vars.extend(vars);
                }
                "children" => self.children(name, v, &sub)?,
                _ => {
                    let shown = key_string(k).unwrap_or_else(|| "?".to_string());
                    let hint = ["hosts", "vars", "children"]
                        .into_iter()
                        .map(|c| (strsim::jaro_winkler(&shown, c), c))
                        .filter(|(score, _)| *score >= 0.8)
                        .max_by(|a, b| a.0.total_cmp(&b.0))
                        .map(|(_, c)| format!("did you mean '{c}'?"))
                        .unwrap_or_else(|| {
                            format!(
                                "to define a group '{shown}', put it under '{name}: children:'; \
                                 for a variable, put it under 'vars:'"
                            )
                        });
                    return Err(self.err(
                        &sub,
                        format!(
                            "unexpected key '{shown}' in group '{name}': a group may only have \
                             'hosts', 'vars' and 'children'; {hint}"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn children(
        &mut self,
        parent: &str,
        v: &YValue,
        path: &[String],
    ) -> Result<(), InventoryError> {
        let expected = || {
            format!(
                "'children' of group '{parent}' must be a mapping of group names \
                 (`child_group:` on its own line, no `- `)"
            )
        };
        let Some(map) = self.mapping(v, path, expected)? else {
            return Ok(());
        };
        for (k, cv) in map {
            let child = self.group_name(k, path)?;
            let mut sub = path.to_vec();
            sub.push(child.clone());
            if child == "all" {
                return Err(self.err(
                    &sub,
                    format!("'all' cannot be a child of '{parent}'; every group is already in all"),
                ));
            }
            let pos = self.pos(&sub);
            self.raw.add_child(parent, &child, pos);
            self.group(&child, cv, &sub)?;
        }
        Ok(())
    }

    fn hosts(&mut self, group: &str, v: &YValue, path: &[String]) -> Result<(), InventoryError> {
        let expected = || {
            format!(
                "'hosts' of group '{group}' must be a mapping of host names \
                 (`host:` on its own line, optionally followed by its vars; no `- `)"
            )
        };
        let Some(map) = self.mapping(v, path, expected)? else {
            return Ok(());
        };
        for (k, hv) in map {
            let Some(key) = key_string(k).filter(|s| !s.trim().is_empty()) else {
                return Err(self.err(path, "host names must be non-empty strings".to_string()));
            };
            let mut sub = path.to_vec();
            sub.push(key.clone());
            let what = format!("host '{key}'");
            let mut vars = self.vars(hv, &sub, &what)?;
            let (pattern, port) = split_port(key.trim());
            if let Some(port) = port {
                vars.entry("ansible_port".to_string())
                    .or_insert_with(|| JValue::from(port));
            }
            let names = expand_host_range(pattern)
                .map_err(|m| self.err(&sub, format!("invalid host range in '{key}': {m}")))?;
            for name in names {
                let (host, _) = self.raw.host(&name);
                host.vars.extend(vars.clone());
                self.raw.add_host_to_group(&name, group);
            }
        }
        Ok(())
    }

    /// A `vars:` mapping or a host's vars; `what` names it in messages.
    fn vars(&self, v: &YValue, path: &[String], what: &str) -> Result<Vars, InventoryError> {
        let expected =
            || format!("{what} must be a mapping of variable names to values (or empty)");
        let Some(map) = self.mapping(v, path, expected)? else {
            return Ok(Vars::new());
        };
        let mut vars = Vars::new();
        let mut conv_path: Vec<String> = Vec::new();
        for (k, value) in map {
            let Some(key) = key_string(k) else {
                return Err(self.err(path, format!("{what}: variable names must be strings")));
            };
            conv_path.clear();
            conv_path.push(key.clone());
            let value = to_json(value, &mut conv_path, self.vault, self.file).map_err(|e| {
                let prefix: Vec<&str> = path.iter().map(String::as_str).collect();
                conv_error(self.file, self.text, &prefix, e)
            })?;
            vars.insert(key, value);
        }
        if let Err((key, message)) = check_connection_vars(&vars) {
            let mut sub = path.to_vec();
            sub.push(key);
            return Err(self.err(&sub, message));
        }
        Ok(vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_values_convert_to_json() {
        let y: YValue =
            yaml_serde::from_str("{1: a, true: b, f: 1.5, big: 18446744073709551615, l: [x, ~]}")
                .unwrap();
        let j = to_json(&y, &mut Vec::new(), &Vault::default(), Path::new("t.yml")).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"1": "a", "true": "b", "f": 1.5,
                               "big": 18446744073709551615u64, "l": ["x", null]})
        );
    }

    /// Expected values are what ansible-inventory 2.19's `--list` printed.
    #[test]
    fn values_read_as_yaml_1_1_timestamps_as_ansible_inventory_prints_them() {
        let text = "a: on\nb: 012\nc: 2024-01-01\nd: 2001-12-14 21:59:43.10 -5\n\
                    e: {<<: {f: 1}, g: 1:30}\n";
        let y = load_yaml(Path::new("t.yml"), text).unwrap();
        let j = to_json(&y, &mut Vec::new(), &Vault::default(), Path::new("t.yml")).unwrap();
        assert_eq!(
            j,
            serde_json::json!({"a": true, "b": 10, "c": "2024-01-01",
                               "d": "2001-12-14T21:59:43.100000-05:00",
                               "e": {"f": 1, "g": 90}})
        );
        let bad = load_yaml(Path::new("t.yml"), "a: 2023-02-29\n").unwrap_err();
        assert!(bad.to_string().starts_with("t.yml:"), "{bad}");
    }

    #[test]
    fn syntax_error_hints() {
        let file = Path::new("h.yml");
        let tab = load_yaml(file, "all:\n  hosts:\n\th1:\n")
            .unwrap_err()
            .to_string();
        assert!(tab.starts_with("h.yml:3:1: invalid YAML"), "{tab}");
        assert!(tab.contains("never tabs"), "{tab}");
        let dup = load_yaml(file, "a: 1\na: 2\n").unwrap_err().to_string();
        assert!(dup.contains("only once"), "{dup}");
    }
}
