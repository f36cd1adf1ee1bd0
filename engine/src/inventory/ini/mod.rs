//! Ansible's INI inventory format, read as ansible-core's `ini` plugin does.
//!
//! ```ini
//! bastion ansible_host=192.0.2.1     # before any section: ungrouped
//! [web]
//! web[01:20:2] http_port=8080        # ranges (zero padding, steps, a:c)
//! web-canary:2222 ansible_user=deploy
//! [web:vars]
//! ntp = "pool.ntp.org"
//! [edge:children]
//! web
//! ```
//!
//! Values are typed as Ansible types them (see [`pyliteral`]): a host
//! line is split like a shell line first, so `a="1"` is the int 1 there,
//! while a `[group:vars]` line keeps everything after `=` (`a = "1"` is
//! the string "1"). A line starting with `#` or `;` is a comment. A
//! `[g:vars]` or `[p:children]` entry naming a group that no section
//! defines is an error, as in Ansible.

pub(crate) mod pyliteral;

use super::host_range::{expand_host_range, split_port};
use super::{check_connection_vars, InventoryError, RawInventory, SourceLocation, Vars, UNGROUPED};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// What the lines of the current section hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Hosts,
    Vars,
    Children,
}

/// A group named before any section defines it: `[g:vars]` (an error unless
/// `[g]` or `[g:children]` follows) or a `[p:children]` entry (added to its
/// parents once `g` is defined).
struct Pending {
    line: usize,
    state: State,
    parents: Vec<String>,
}

/// Parse INI inventory text.
pub(crate) fn parse(file: &Path, text: &str) -> Result<RawInventory, InventoryError> {
    let mut p = IniParser {
        file,
        raw: RawInventory::new(file),
        pending: Vec::new(),
        pending_index: HashMap::new(),
        line: 0,
        column: 1,
    };
    let mut group = "ungrouped".to_string();
    let mut state = State::Hosts;
    for (i, full) in text.lines().enumerate() {
        p.line = i + 1;
        let line = full.trim();
        p.column = full.chars().take_while(|c| c.is_whitespace()).count() + 1;
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if line.starts_with('[') {
            let (name, s) = p.section(line)?;
            group = name;
            state = s;
            continue;
        }
        match state {
            State::Hosts => p.host_line(full, line, &group)?,
            State::Vars => p.vars_line(line, &group)?,
            State::Children => p.child_line(line, &group)?,
        }
    }
    p.finish()
}

struct IniParser<'a> {
    file: &'a Path,
    raw: RawInventory,
    /// In declaration order, for the error on an undefined group.
    pending: Vec<(String, Pending)>,
    pending_index: HashMap<String, usize>,
    line: usize,
    column: usize,
}

impl IniParser<'_> {
    fn err(&self, column: usize, message: impl Into<String>) -> InventoryError {
        InventoryError::Ini {
            location: SourceLocation::at(self.file, self.line, column),
            message: message.into(),
        }
    }

    fn pos(&self) -> Option<(usize, usize)> {
        Some((self.line, self.column))
    }

    fn known(&self, group: &str) -> bool {
        self.raw.group_index.contains_key(group)
    }

    /// `[name]`, `[name:vars]` or `[name:children]`, optionally followed by
    /// a `#` comment.
    fn section(&mut self, line: &str) -> Result<(String, State), InventoryError> {
        let bad = || {
            format!(
                "invalid section entry '{line}': a section is [group], [group:vars] or \
                 [group:children], with no spaces inside the brackets"
            )
        };
        let close = line.find(']').ok_or_else(|| self.err(self.column, bad()))?;
        let after = line[close + 1..].trim_start();
        if !after.is_empty() && !after.starts_with('#') {
            return Err(self.err(self.column, bad()));
        }
        let inner = &line[1..close];
        let (name, kind) = match inner.split_once(':') {
            Some((n, k)) => (n, Some(k)),
            None => (inner, None),
        };
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            return Err(self.err(self.column, bad()));
        }
        let state = match kind {
            None | Some("hosts") => State::Hosts,
            Some("vars") => State::Vars,
            Some("children") => State::Children,
            Some(other) if other.chars().all(|c| c.is_alphanumeric() || c == '_') => {
                return Err(self.err(
                    self.column + 2 + name.chars().count(),
                    format!(
                        "section [{inner}] has unknown type '{other}'; use [{name}], \
                         [{name}:vars] or [{name}:children]"
                    ),
                ))
            }
            Some(_) => return Err(self.err(self.column, bad())),
        };
        // Hosts listed under `[ungrouped]` are in no group but `all`, like
        // those before any section; `ungrouped` is no group of its own, and
        // `[ungrouped:vars]` waits for the build to find its hosts.
        if name == UNGROUPED && state != State::Children {
            return Ok((name.to_string(), state));
        }
        if !self.known(name) {
            if state == State::Vars && !self.pending_index.contains_key(name) {
                self.defer(name, State::Vars, None);
            }
            self.raw.group(name, self.pos());
        }
        if state != State::Vars {
            self.define(name);
        }
        Ok((name.to_string(), state))
    }

    /// Records a forward reference to `name`.
    fn defer(&mut self, name: &str, state: State, parent: Option<&str>) {
        let idx = *self
            .pending_index
            .entry(name.to_string())
            .or_insert_with(|| {
                self.pending.push((
                    name.to_string(),
                    Pending {
                        line: self.line,
                        state,
                        parents: Vec::new(),
                    },
                ));
                self.pending.len() - 1
            });
        self.pending[idx]
            .1
            .parents
            .extend(parent.map(str::to_string));
    }

    /// `name`'s section was found: settle the forward references to it.
    fn define(&mut self, name: &str) {
        let Some(idx) = self.pending_index.remove(name) else {
            return;
        };
        let parents = std::mem::take(&mut self.pending[idx].1.parents);
        self.pending[idx].1.state = State::Hosts;
        for parent in parents {
            self.raw.add_child(&parent, name, self.pos());
        }
    }

    fn host_line(&mut self, full: &str, line: &str, group: &str) -> Result<(), InventoryError> {
        let tokens = pyliteral::shlex_split(line).map_err(|e| {
            self.err(
                self.column,
                format!("cannot parse host line '{line}': {e}; close the quote or escape it"),
            )
        })?;
        let Some(pattern) = tokens.first() else {
            return Ok(());
        };
        let mut vars = Vars::new();
        for token in &tokens[1..] {
            let col = column_of(full, token).unwrap_or(self.column);
            let Some((k, v)) = token.split_once('=') else {
                return Err(self.err(
                    col,
                    format!(
                        "expected key=value host variable assignment, got '{token}'; \
                         quote values holding spaces (k=\"a b\")"
                    ),
                ));
            };
            vars.insert(k.to_string(), pyliteral::parse_value(v));
        }
        let (hosts, port) = self.host_pattern(pattern)?;
        let mut all = Vars::new();
        if let Some(port) = port {
            all.insert("ansible_port".to_string(), Value::from(port));
        }
        all.extend(vars);
        if let Err((key, message)) = check_connection_vars(&all) {
            let col = column_of(full, &format!("{key}=")).unwrap_or(self.column);
            return Err(self.err(col, message));
        }
        // Hosts of `ungrouped` (and those before any section) are in no
        // group but `all`, so they are ungrouped only until listed elsewhere.
        let group = if group == UNGROUPED { "all" } else { group };
        for name in hosts {
            let (host, _) = self.raw.host(&name);
            host.vars.extend(all.clone());
            self.raw.member(&name, group);
        }
        Ok(())
    }

    /// The host names and port of a host line's first word.
    fn host_pattern(&self, pattern: &str) -> Result<(Vec<String>, Option<u16>), InventoryError> {
        let (name, port) = split_port(pattern);
        if pattern.ends_with(':') && port.is_none() {
            return Err(self.err(
                self.column,
                format!(
                    "invalid host pattern '{pattern}': a trailing ':' must be followed by a port"
                ),
            ));
        }
        if name == "---" {
            return Err(self.err(
                self.column,
                "'---' starts a YAML document: name the file .yml or .yaml to load it as YAML",
            ));
        }
        let hosts = expand_host_range(name).map_err(|m| {
            self.err(
                self.column,
                format!("invalid host range in '{pattern}': {m}"),
            )
        })?;
        Ok((hosts, port))
    }

    fn vars_line(&mut self, line: &str, group: &str) -> Result<(), InventoryError> {
        let Some((k, v)) = line.split_once('=') else {
            return Err(self.err(self.column, format!("expected key=value, got '{line}'")));
        };
        let mut one = Vars::new();
        one.insert(k.trim().to_string(), pyliteral::parse_value(v.trim()));
        if let Err((_, message)) = check_connection_vars(&one) {
            return Err(self.err(self.column, message));
        }
        if group == UNGROUPED {
            self.raw.ungrouped_vars.extend(one);
            return Ok(());
        }
        let pos = self.pos();
        self.raw.group(group, pos).vars.extend(one);
        Ok(())
    }

    fn child_line(&mut self, line: &str, parent: &str) -> Result<(), InventoryError> {
        let name = line.split('#').next().unwrap_or("").trim();
        if name.is_empty() || name.contains([':', ']']) || name.chars().any(char::is_whitespace) {
            return Err(self.err(self.column, format!("expected a group name, got '{line}'")));
        }
        if self.known(name) {
            self.raw.add_child(parent, name, self.pos());
        } else {
            self.defer(name, State::Children, Some(parent));
        }
        Ok(())
    }

    /// Forward references never settled are errors, at their first line.
    fn finish(mut self) -> Result<RawInventory, InventoryError> {
        let first = self
            .pending
            .iter()
            .filter(|(name, _)| self.pending_index.contains_key(name))
            .min_by_key(|(_, p)| p.line);
        if let Some((name, p)) = first {
            let message = match p.state {
                State::Vars => format!(
                    "section [{name}:vars] is for a group no section defines; add a \
                     [{name}] section (or fix the name)"
                ),
                _ => format!(
                    "[{}:children] names group '{name}', which no section defines; add a \
                     [{name}] section (or fix the name)",
                    p.parents.last().map(String::as_str).unwrap_or("?")
                ),
            };
            self.line = p.line;
            return Err(self.err(1, message));
        }
        Ok(self.raw)
    }
}

/// 1-based character column where `needle` starts in `line`.
fn column_of(line: &str, needle: &str) -> Option<usize> {
    let at = line.find(needle)?;
    Some(line[..at].chars().count() + 1)
}
