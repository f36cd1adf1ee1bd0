//! Inventory: which machines exist, how to reach them, and their variables.
//!
//! [`Inventory::load_all`] reads one or more sources (`-i` repeated), merged
//! in order as Ansible merges them. A source is a file or a directory; a
//! file is read by the first reader that accepts it, in the order of
//! Ansible's default plugins ([`mod@sources`]):
//!
//! * an executable file: an inventory script ([`mod@script`]);
//! * `*.tsv`: the operators' `servers.tsv` (header row, one host per line,
//!   `groups` column comma-separated, other columns become host vars);
//! * `*.yml` / `*.yaml` / `*.json` or no extension: Ansible's YAML
//!   inventory (`all:` / `children:` / `hosts:` / `vars:`, so Kubespray's
//!   `hosts.yaml` loads unchanged);
//! * any file but `*.toml`, YAML having failed: Ansible's INI inventory
//!   ([`mod@ini`]).
//!
//! A directory source loads each file in it (and in its subdirectories) in
//! name order, skipping what Ansible skips: hidden files, `group_vars/`,
//! `host_vars/`, `vars_plugins/`, and the extensions of
//! [`IGNORED_EXTENSIONS`].
//!
//! `group_vars/` and `host_vars/` are read beside each source (in the
//! directory itself for a directory source) the Ansible way:
//! `group_vars/<group>.yml` (or `.yaml`, `.json`, no extension), or every
//! file of a `group_vars/<group>/` directory in name order. A later source's
//! files beat an earlier one's within the same layer.
//!
//! # Variable precedence
//!
//! From lowest to highest, as Ansible documents it; a higher layer replaces
//! whole top-level keys (no deep merge of dicts, like Ansible's default).
//! "The host's groups" are always taken `all` first, then by depth (parents
//! before children), then by name:
//!
//! 1. the inventory file's vars of every group of the host;
//! 2. `group_vars/all`;
//! 3. `group_vars/<group>` of the host's other groups;
//! 4. the host's inventory vars (TSV extra columns, YAML/INI host entry);
//! 5. `host_vars/<host>`.
//!
//! So any `group_vars/` file beats any group var written in the inventory
//! file, even one of a deeper group. Play vars and extra vars (`-e`) are
//! layered on top by the engine.
//!
//! Connection settings come from the merged vars: `ansible_host` (else the
//! TSV `ip_private` column, else the host name), `ansible_port`,
//! `ansible_user`; the older `ansible_ssh_host/port/user` spellings are
//! honoured when the modern ones are absent.

mod build;
mod error;
mod host_list;
mod host_range;
pub(crate) mod ini;
mod pattern;
mod raw;
mod script;
mod sources;
mod tsv;
mod vars_dirs;
mod vars_file;
mod yaml;

pub use error::{InventoryError, SourceLocation};

use crate::vault::Vault;
use build::build;
pub(crate) use raw::RawInventory;
use serde_json::Value;
pub use sources::IGNORED_EXTENSIONS;
use sources::{parse_file, source_files, vars_base};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Universal variable value type used across the engine.
///
/// A JSON object rather than a YAML mapping because every layer (inventory,
/// Rhai, templates, cache keys) can represent JSON losslessly and its keys are
/// always strings, which is what variable names are.
/// Its keys keep the order they were inserted in (serde_json's
/// `preserve_order`): a mapping read from a file keeps the file's order, as a
/// Python dict does in Ansible, so a template's `d.items()` goes in that
/// order. Removing a key must be `shift_remove` to keep the others' order.
pub type Vars = serde_json::Map<String, Value>;

/// One machine, with everything needed to connect to it and run a play.
///
/// Connection fields are resolved once at load time so transports do not
/// need to know about Ansible's variable names.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Host {
    /// Inventory hostname: the identity used in patterns, reports and
    /// `host_vars/`; not necessarily resolvable.
    pub name: String,
    /// What SSH connects to: `ansible_host`, else the TSV `ip_private` column,
    /// else `name`.
    pub address: String,
    /// `ansible_port`, when set; `None` lets SSH config decide.
    pub port: Option<u16>,
    /// `ansible_user`, when set; `None` lets SSH config decide.
    pub user: Option<String>,
    /// Every group the host belongs to, including ancestors and `all`, sorted
    /// by depth then name: the order in which group vars were applied.
    pub groups: Vec<String>,
    /// Merged variables per the module-level precedence (extra vars and play
    /// vars are not included).
    pub vars: Vars,
}

impl Host {
    /// The address other hosts reach this one at (`host.ip` in scripts and
    /// templates): `ip_private` from `vars` when set, else [`Host::address`].
    /// It is a separate lookup because the two differ on hosts reached
    /// through a jump host or a public name while cluster peers talk over the
    /// private network; `vars` is the caller's layering (host vars, play
    /// vars, `-e`), since either may set `ip_private`.
    pub fn ip<'a>(&'a self, vars: &'a Vars) -> &'a str {
        vars.get("ip_private")
            .and_then(|v| v.as_str())
            .unwrap_or(&self.address)
    }
}

/// A group after loading: kept private, exposed through name-based queries.
#[derive(Debug, Clone)]
struct GroupInfo {
    name: String,
    /// Indexes into `Inventory::hosts` (direct and via child groups), in
    /// inventory order.
    hosts: Vec<usize>,
    /// Indexes of the hosts listed in the group itself, in the order they
    /// were added to it.
    direct: Vec<usize>,
    /// Child group names, in the order they were added.
    children: Vec<String>,
    /// The group's own vars (inventory file, then `group_vars/`).
    vars: Vars,
}

/// A loaded inventory: hosts in file order plus the group tree.
///
/// Immutable after loading, so it can be shared between concurrent host
/// workers without locking.
#[derive(Debug, Clone)]
pub struct Inventory {
    source: PathBuf,
    hosts: Vec<Host>,
    host_index: HashMap<String, usize>,
    /// Sorted by depth then name; `all` first.
    groups: Vec<GroupInfo>,
    group_index: HashMap<String, usize>,
    /// Own vars of Ansible's implicit `ungrouped` group, when the inventory
    /// defines no group of that name.
    ungrouped_vars: Vars,
    /// Each host's own vars (inventory entry, then `host_vars/`), by index
    /// in `hosts`.
    own_vars: Vec<Vars>,
    warnings: Vec<String>,
}

impl Inventory {
    /// Load an inventory file or directory, plus `group_vars/` and
    /// `host_vars/` beside it: [`Inventory::load_all`] with one source.
    ///
    /// # Errors
    ///
    /// As [`Inventory::load_all`].
    pub fn load(path: &Path) -> Result<Inventory, InventoryError> {
        Self::load_all(&[path.to_path_buf()], &Vault::default())
    }

    /// [`Inventory::load`], decrypting vaulted `group_vars`/`host_vars`
    /// files and `!vault` values with `vault`'s passwords (their values are
    /// registered as secrets).
    ///
    /// # Errors
    ///
    /// As [`Inventory::load_all`].
    pub fn load_with_vault(path: &Path, vault: &Vault) -> Result<Inventory, InventoryError> {
        Self::load_all(&[path.to_path_buf()], vault)
    }

    /// Load several sources (files, directories, or comma-separated host
    /// lists: `web-01,db-01,`) merged in order, as
    /// Ansible merges repeated `-i`: a host or group in several keeps all its
    /// memberships, and a later source's vars win within each layer. Vaulted
    /// `group_vars`/`host_vars` files and `!vault` values are decrypted with
    /// `vault`'s passwords (their values are registered as secrets).
    ///
    /// # Errors
    ///
    /// Unreadable files, malformed TSV/YAML/INI, schema violations, bad
    /// connection vars (`ansible_port: ssh`), group cycles, a directory
    /// holding no inventory file, and a vaulted file or value that no
    /// password decrypts (or no password at all). Messages name the file,
    /// line and column and say how to fix the problem; they are fit to show
    /// to the operator unchanged.
    pub fn load_all(paths: &[PathBuf], vault: &Vault) -> Result<Inventory, InventoryError> {
        let mut merged: Option<RawInventory> = None;
        let mut bases = Vec::new();
        let mut add = |raw: RawInventory| match merged.as_mut() {
            Some(m) => m.merge(raw),
            None => merged = Some(raw),
        };
        for path in paths {
            if host_list::is_host_list(path) {
                add(host_list::parse(path)?);
                continue;
            }
            for file in source_files(path)? {
                add(parse_file(&file, vault)?);
            }
            bases.push(vars_base(path));
        }
        let mut raw = merged.ok_or_else(|| InventoryError::NoInventoryFile {
            location: SourceLocation::file(Path::new("-i")),
            message: "no inventory given; pass -i FILE".to_string(),
        })?;
        raw.attach_orphans();
        build(raw, &bases, vault)
    }

    /// All hosts, in the order they first appear in the inventory file.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// Look a host up by its inventory name.
    pub fn host(&self, name: &str) -> Option<&Host> {
        self.host_index.get(name).map(|&i| &self.hosts[i])
    }

    /// All group names (including `all`), sorted by depth then name, i.e.
    /// the order group vars are applied in.
    pub fn groups(&self) -> Vec<&str> {
        self.groups.iter().map(|g| g.name.as_str()).collect()
    }

    /// Hosts of a group, including those of its child groups, in inventory
    /// order; `None` if the group does not exist.
    ///
    /// This is what the engine needs for Ansible's `groups['name']` magic
    /// variable.
    pub fn group_hosts(&self, group: &str) -> Option<Vec<&Host>> {
        let g = &self.groups[*self.group_index.get(group)?];
        Some(g.hosts.iter().map(|&i| &self.hosts[i]).collect())
    }

    /// Hosts listed in the group itself (not through a child group), in
    /// the order they were added, and its child groups: the tree
    /// `ansible-inventory --list` and `--graph` print. `None` if the group
    /// does not exist.
    pub fn group_tree(&self, group: &str) -> Option<(Vec<&Host>, Vec<&str>)> {
        let g = &self.groups[*self.group_index.get(group)?];
        Some((
            g.direct.iter().map(|&i| &self.hosts[i]).collect(),
            g.children.iter().map(String::as_str).collect(),
        ))
    }

    /// A group's own vars, not merged into its hosts: the inventory file's,
    /// then its `group_vars/` files' (`ansible-inventory --export`); `None`
    /// if the group does not exist.
    pub fn group_vars(&self, group: &str) -> Option<&Vars> {
        match self.group_index.get(group) {
            Some(&i) => Some(&self.groups[i].vars),
            None => (group == UNGROUPED).then_some(&self.ungrouped_vars),
        }
    }

    /// A host's own vars, without its groups': its inventory entry's, then
    /// its `host_vars/` files' (`ansible-inventory --export`).
    pub fn host_own_vars(&self, host: &str) -> Option<&Vars> {
        self.host_index.get(host).map(|&i| &self.own_vars[i])
    }

    /// Hosts matching an Ansible host pattern (`all`, `web*`, `a:b`,
    /// `a:&b`, `a:!b`, `~regex`, `group[0:2]`), in inventory order.
    ///
    /// A pattern whose terms are all known but whose result is empty returns
    /// an empty list; a term that matches no host or group is an error with a
    /// "did you mean" suggestion, because a typo in `--limit` should stop the
    /// run rather than touch the wrong machines.
    ///
    /// # Errors
    ///
    /// [`InventoryError::UnknownPattern`] for such a term,
    /// [`InventoryError::InvalidPattern`] for an empty pattern or a bad glob,
    /// regex or subscript.
    pub fn select(&self, pattern: &str) -> Result<Vec<&Host>, InventoryError> {
        let selected = pattern::select(self, pattern)?;
        Ok(selected.into_iter().map(|i| &self.hosts[i]).collect())
    }

    /// The hosts a play (or a script's `hosts()`) names, as Ansible treats
    /// play patterns: a term naming no known host or group in this inventory
    /// matches nothing, and comes back as a warning (with a suggestion when
    /// it looks like a typo) instead of an error. One site playbook then
    /// serves inventories of part of the fleet (a staging set, the test lab).
    /// `--limit` stays strict ([`Inventory::select`]): a typo there changes
    /// which machines get touched.
    pub fn select_play(&self, pattern: &str) -> Result<(Vec<&Host>, Vec<String>), InventoryError> {
        let mut unknown = Vec::new();
        let selected = pattern::select_lenient(self, pattern, &mut unknown)?;
        Ok((
            selected.into_iter().map(|i| &self.hosts[i]).collect(),
            unknown.iter().map(ToString::to_string).collect(),
        ))
    }

    /// The first inventory file loaded (the first file of the first
    /// source's directory when a directory was given), for messages and
    /// reports.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Non-fatal oddities found while loading (a `group_vars` file for a
    /// group that does not exist, a host and group sharing a name...).
    ///
    /// Kept rather than printed so the CLI decides how to show them; these
    /// are usually typos that silently drop variables.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// The name of Ansible's implicit group of the hosts in no other group.
pub(crate) const UNGROUPED: &str = "ungrouped";

/// Characters that cannot appear in a name addressed by a host pattern.
pub(crate) const PATTERN_METACHARS: &[char] = &[':', ',', '!', '&', '*', '?', '[', ']'];

/// Validate `ansible_port` / `ansible_host` / `ansible_user` in one layer of
/// vars, so a bad value is reported where it was written rather than when the
/// merged result is used. Returns the offending key and a message.
pub(crate) fn check_connection_vars(vars: &Vars) -> Result<(), (String, String)> {
    for key in ["ansible_port", "ansible_ssh_port"] {
        if let Some(v) = vars.get(key).filter(|v| !v.is_null()) {
            if port_value(v).is_none() {
                return Err((
                    key.to_string(),
                    format!(
                        "{key} must be a TCP port number between 1 and 65535, got {}",
                        short_json(v)
                    ),
                ));
            }
        }
    }
    for key in [
        "ansible_host",
        "ansible_ssh_host",
        "ansible_user",
        "ansible_ssh_user",
    ] {
        if let Some(v) = vars.get(key) {
            match v {
                Value::String(s) if !s.trim().is_empty() => {}
                Value::Null => {}
                _ => {
                    return Err((
                        key.to_string(),
                        format!("{key} must be a non-empty string, got {}", short_json(v)),
                    ))
                }
            }
        }
    }
    Ok(())
}

fn short_json(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}...", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// A port from a JSON value: an integer or a string of digits, 1..=65535.
pub(crate) fn port_value(v: &Value) -> Option<u16> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse::<u64>().ok()?,
        _ => return None,
    };
    u16::try_from(n).ok().filter(|&p| p != 0)
}

fn string_var<'a>(vars: &'a Vars, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| vars.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests;
