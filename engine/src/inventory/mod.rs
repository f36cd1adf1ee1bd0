//! Inventory: which machines exist, how to reach them, and their variables.
//!
//! [`Inventory::load_all`] reads one or more sources (`-i` repeated), merged
//! in order as Ansible merges them. A source is a file or a directory; a
//! file's format is chosen as Ansible chooses it, by extension, every other
//! file being INI:
//!
//! * `*.tsv`: the operators' `servers.tsv` (header row, one host per line,
//!   `groups` column comma-separated, other columns become host vars);
//! * `*.yml` / `*.yaml` / `*.json`: Ansible's YAML inventory (`all:` /
//!   `children:` / `hosts:` / `vars:`, so Kubespray's `hosts.yaml` loads
//!   unchanged);
//! * anything else: Ansible's INI inventory ([`mod@ini`]).
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

mod error;
mod host_list;
pub(crate) mod ini;
mod pattern;
mod tsv;
mod vars_dirs;
mod yaml;

pub use error::{InventoryError, SourceLocation};

use crate::vault::Vault;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Universal variable value type used across the engine.
///
/// A JSON object rather than a YAML mapping because every layer (inventory,
/// Rhai, templates, cache keys) can represent JSON losslessly and its keys are
/// always strings, which is what variable names are.
pub type Vars = serde_json::Map<String, Value>;

/// File name endings Ansible's inventory loader skips in a directory
/// (`INVENTORY_IGNORE_EXTS`, ansible-core's default).
pub const IGNORED_EXTENSIONS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

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

fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
}

/// Parse one inventory file, its format chosen by extension as Ansible
/// chooses its plugin.
fn parse_file(file: &Path, vault: &Vault) -> Result<RawInventory, InventoryError> {
    let text = std::fs::read_to_string(file).map_err(|e| InventoryError::io(file, e))?;
    yaml::check_not_vault(file, &text)?;
    match extension(file).as_deref() {
        Some("tsv") => tsv::parse(file, &text),
        Some("yml" | "yaml" | "json") => yaml::parse_inventory(file, &text, vault),
        _ => ini::parse(file, &text),
    }
}

/// Where `group_vars/` and `host_vars/` of a source are: in it when it is a
/// directory, else beside it.
fn vars_base(path: &Path) -> PathBuf {
    if path.is_dir() {
        return path.to_path_buf();
    }
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The inventory files of a source: itself, or a directory's files (and
/// its subdirectories'), in name order, without the ones Ansible skips.
fn source_files(path: &Path) -> Result<Vec<PathBuf>, InventoryError> {
    let meta = std::fs::metadata(path).map_err(|e| InventoryError::io(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    collect_sources(path, &mut out)?;
    if out.is_empty() {
        return Err(InventoryError::NoInventoryFile {
            location: SourceLocation::file(path),
            message: "no inventory file in this directory; add one (hosts.yaml, hosts.ini, \
                      servers.tsv...) or pass the file path"
                .to_string(),
        });
    }
    Ok(out)
}

fn collect_sources(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), InventoryError> {
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| InventoryError::io(dir, e))? {
        let entry = entry.map_err(|e| InventoryError::io(dir, e))?;
        entries.push((
            entry.file_name().to_string_lossy().into_owned(),
            entry.path(),
        ));
    }
    entries.sort();
    for (name, path) in entries {
        let skipped = name.starts_with('.')
            || matches!(name.as_str(), "group_vars" | "host_vars" | "vars_plugins")
            || IGNORED_EXTENSIONS.iter().any(|ext| name.ends_with(ext));
        if skipped {
            continue;
        }
        if path.is_dir() {
            collect_sources(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// What a format parser produces: hosts, groups and their own vars, before
/// `group_vars`/`host_vars` and merging.
#[derive(Debug)]
pub(crate) struct RawInventory {
    pub file: PathBuf,
    pub hosts: Vec<RawHost>,
    pub host_index: HashMap<String, usize>,
    /// Definition order; `all` is index 0.
    pub groups: Vec<RawGroup>,
    pub group_index: HashMap<String, usize>,
    /// `[ungrouped:vars]` of an INI file: Ansible's implicit `ungrouped`
    /// group is no group here (its hosts are those in no group but `all`),
    /// so its vars wait for [`build`] to find those hosts.
    pub ungrouped_vars: Vars,
    pub warnings: Vec<String>,
}

/// A host as written in the inventory file.
#[derive(Debug)]
pub(crate) struct RawHost {
    pub name: String,
    /// Host vars from the inventory file (later occurrences override).
    pub vars: Vars,
    /// Groups the host is listed in directly (never `all`).
    pub groups: Vec<String>,
    /// Fallback address when no `ansible_host` is set (TSV `ip_private`).
    pub address_hint: Option<String>,
}

/// A group as written in the inventory file.
#[derive(Debug)]
pub(crate) struct RawGroup {
    pub name: String,
    pub vars: Vars,
    pub children: Vec<String>,
    /// Hosts listed in the group itself, in the order they were added.
    pub hosts: Vec<String>,
    /// Where the group was first defined, for cycle errors.
    pub pos: Option<(usize, usize)>,
}

impl RawInventory {
    pub fn new(file: &Path) -> Self {
        let mut raw = Self {
            file: file.to_path_buf(),
            hosts: Vec::new(),
            host_index: HashMap::new(),
            groups: Vec::new(),
            group_index: HashMap::new(),
            ungrouped_vars: Vars::new(),
            warnings: Vec::new(),
        };
        raw.group("all", Some((1, 1)));
        raw
    }

    /// Get or create a group.
    pub fn group(&mut self, name: &str, pos: Option<(usize, usize)>) -> &mut RawGroup {
        let idx = match self.group_index.get(name) {
            Some(&i) => i,
            None => {
                self.groups.push(RawGroup {
                    name: name.to_string(),
                    vars: Vars::new(),
                    children: Vec::new(),
                    hosts: Vec::new(),
                    pos,
                });
                self.group_index
                    .insert(name.to_string(), self.groups.len() - 1);
                self.groups.len() - 1
            }
        };
        &mut self.groups[idx]
    }

    /// Record `child` as a child of `parent`, creating both if needed.
    pub fn add_child(&mut self, parent: &str, child: &str, pos: Option<(usize, usize)>) {
        self.group(child, pos);
        let p = self.group(parent, None);
        if !p.children.iter().any(|c| c == child) {
            p.children.push(child.to_string());
        }
    }

    /// Get or create a host; the bool says whether it was new.
    pub fn host(&mut self, name: &str) -> (&mut RawHost, bool) {
        match self.host_index.get(name) {
            Some(&i) => (&mut self.hosts[i], false),
            None => {
                self.hosts.push(RawHost {
                    name: name.to_string(),
                    vars: Vars::new(),
                    groups: Vec::new(),
                    address_hint: None,
                });
                self.host_index
                    .insert(name.to_string(), self.hosts.len() - 1);
                (self.hosts.last_mut().expect("just pushed"), true)
            }
        }
    }

    /// Put a host directly into a group (creating the group as a child of
    /// `all` if it is new).
    pub fn add_host_to_group(&mut self, host: &str, group: &str) {
        if group != "all" && !self.group_index.contains_key(group) {
            self.add_child("all", group, None);
        }
        self.member(host, group);
    }

    /// Put a host directly into a group, creating either if needed; a new
    /// group gets its parent later ([`RawInventory::attach_orphans`]).
    pub fn member(&mut self, host: &str, group: &str) {
        let (h, _) = self.host(host);
        if group == "all" || h.groups.iter().any(|g| g == group) {
            return;
        }
        h.groups.push(group.to_string());
        self.group(group, None).hosts.push(host.to_string());
    }

    /// Makes every group without a parent a child of `all`, in definition
    /// order, as Ansible's inventory does once all sources are read.
    pub fn attach_orphans(&mut self) {
        let mut has_parent = vec![false; self.groups.len()];
        for g in &self.groups {
            for c in &g.children {
                has_parent[self.group_index[c]] = true;
            }
        }
        let orphans: Vec<String> = self.groups[1..]
            .iter()
            .zip(&has_parent[1..])
            .filter(|(_, has)| !**has)
            .map(|(g, _)| g.name.clone())
            .collect();
        for name in orphans {
            self.add_child("all", &name, None);
        }
    }

    /// Adds a later source: its hosts and groups join these (memberships
    /// add up), its vars replace these key by key, as a second `-i` does.
    pub fn merge(&mut self, other: RawInventory) {
        for g in other.groups {
            let group = self.group(&g.name, g.pos);
            group.vars.extend(g.vars);
            for c in &g.children {
                self.add_child(&g.name, c, None);
            }
        }
        for h in other.hosts {
            let (host, _) = self.host(&h.name);
            host.vars.extend(h.vars);
            if host.address_hint.is_none() {
                host.address_hint = h.address_hint;
            }
            for g in &h.groups {
                self.member(&h.name, g);
            }
        }
        self.ungrouped_vars.extend(other.ungrouped_vars);
        self.warnings.extend(other.warnings);
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

/// Compute each group's depth (longest path from `all`) and reject cycles.
fn group_depths(raw: &RawInventory) -> Result<Vec<usize>, InventoryError> {
    // Colour-marking DFS gives a topological order and finds cycles.
    fn visit(
        raw: &RawInventory,
        g: usize,
        state: &mut [u8],
        order: &mut Vec<usize>,
        path: &mut Vec<usize>,
    ) -> Result<(), InventoryError> {
        state[g] = 1;
        path.push(g);
        for child in &raw.groups[g].children {
            let c = raw.group_index[child];
            match state[c] {
                0 => visit(raw, c, state, order, path)?,
                1 => {
                    let start = path.iter().position(|&p| p == c).unwrap_or(0);
                    let mut names: Vec<&str> = path[start..]
                        .iter()
                        .map(|&i| raw.groups[i].name.as_str())
                        .collect();
                    names.push(&raw.groups[c].name);
                    return Err(InventoryError::schema(
                        &raw.file,
                        raw.groups[g].pos,
                        format!(
                            "group '{}' is its own ancestor ({}); remove one of these \
                             children entries",
                            raw.groups[c].name,
                            names.join(" -> ")
                        ),
                    ));
                }
                _ => {}
            }
        }
        path.pop();
        state[g] = 2;
        order.push(g);
        Ok(())
    }

    let n = raw.groups.len();
    let mut state = vec![0u8; n];
    let mut order = Vec::with_capacity(n);
    visit(raw, 0, &mut state, &mut order, &mut Vec::new())?;
    // Groups unreachable from `all` (parsers attach top-level groups to
    // `all`, so this is defensive): treat them as top-level.
    for g in 1..n {
        if state[g] == 0 {
            visit(raw, g, &mut state, &mut order, &mut Vec::new())?;
        }
    }
    order.reverse(); // parents before children
    let mut depth = vec![0usize; n];
    for &g in &order {
        for child in &raw.groups[g].children {
            let c = raw.group_index[child];
            depth[c] = depth[c].max(depth[g] + 1);
        }
    }
    // Every group but `all` is at least one level down.
    for d in depth.iter_mut().skip(1) {
        *d = (*d).max(1);
    }
    Ok(depth)
}

/// Merge the parsed inventory with `group_vars/` and `host_vars/` from
/// `base` into the final, immutable [`Inventory`].
fn build(raw: RawInventory, bases: &[PathBuf], vault: &Vault) -> Result<Inventory, InventoryError> {
    let depth = group_depths(&raw)?;
    let n = raw.groups.len();
    let mut parents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (g, group) in raw.groups.iter().enumerate() {
        for child in &group.children {
            parents[raw.group_index[child]].push(g);
        }
    }

    // Group vars files, per source then per group (Ansible's loop order).
    let mut file_group_vars: Vec<Vec<Vars>> = Vec::with_capacity(bases.len());
    for base in bases {
        let mut per_group = Vec::with_capacity(n);
        for group in &raw.groups {
            per_group.push(vars_dirs::load(
                base,
                vars_dirs::Kind::Group,
                &group.name,
                vault,
            )?);
        }
        file_group_vars.push(per_group);
    }

    // `group_vars/ungrouped` of every source, for the hosts in no group.
    let file_ungrouped_vars = bases
        .iter()
        .map(|base| vars_dirs::load(base, vars_dirs::Kind::Group, UNGROUPED, vault))
        .collect::<Result<Vec<_>, _>>()?;

    let mut warnings = raw.warnings.clone();
    let mut group_names: HashSet<&str> = raw.groups.iter().map(|g| g.name.as_str()).collect();
    group_names.insert(UNGROUPED);
    let host_names: HashSet<&str> = raw.hosts.iter().map(|h| h.name.as_str()).collect();
    for base in bases {
        for (kind, what, known) in [
            (vars_dirs::Kind::Group, "group", &group_names),
            (vars_dirs::Kind::Host, "host", &host_names),
        ] {
            for stale in vars_dirs::unknown_entries(base, kind, known)? {
                warnings.push(format!(
                    "{}: no {what} named '{}' in {}; these variables are not used",
                    stale.display,
                    stale.name,
                    raw.file.display()
                ));
            }
        }
    }
    for name in group_names.intersection(&host_names) {
        if *name != "all" {
            warnings.push(format!(
                "{}: '{name}' is both a host and a group; the pattern '{name}' selects the group",
                raw.file.display()
            ));
        }
    }
    warnings.sort();
    warnings.dedup();

    let mut hosts = Vec::with_capacity(raw.hosts.len());
    let mut group_members: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (hi, rh) in raw.hosts.iter().enumerate() {
        // Direct groups plus all ancestors.
        let mut member: BTreeSet<usize> = BTreeSet::new();
        member.insert(0);
        let mut stack: Vec<usize> = rh.groups.iter().map(|g| raw.group_index[g]).collect();
        while let Some(g) = stack.pop() {
            if member.insert(g) {
                stack.extend(parents[g].iter().copied());
            }
        }
        let mut sorted: Vec<usize> = member.into_iter().collect();
        sorted.sort_by(|&a, &b| {
            (depth[a], &raw.groups[a].name).cmp(&(depth[b], &raw.groups[b].name))
        });

        // A host in no group but `all` is in Ansible's implicit `ungrouped`,
        // a child of `all` (unless the inventory names a group so).
        let ungrouped = sorted.len() == 1 && !raw.group_index.contains_key(UNGROUPED);
        let mut vars = Vars::new();
        for &g in &sorted {
            group_members[g].push(hi);
            extend(&mut vars, &raw.groups[g].vars);
        }
        if ungrouped {
            extend(&mut vars, &raw.ungrouped_vars);
        }
        // `group_vars/all` of every source, then the other groups'.
        let (all, others) = sorted.split_at(1);
        for layer in [all, others] {
            for per_group in &file_group_vars {
                for &g in layer {
                    extend(&mut vars, &per_group[g]);
                }
            }
        }
        if ungrouped {
            for file in &file_ungrouped_vars {
                extend(&mut vars, file);
            }
        }
        extend(&mut vars, &rh.vars);
        for base in bases {
            extend(
                &mut vars,
                &vars_dirs::load(base, vars_dirs::Kind::Host, &rh.name, vault)?,
            );
        }

        let address = string_var(&vars, &["ansible_host", "ansible_ssh_host"])
            .map(str::to_string)
            .or_else(|| rh.address_hint.clone())
            .unwrap_or_else(|| rh.name.clone());
        let port = ["ansible_port", "ansible_ssh_port"]
            .iter()
            .find_map(|k| vars.get(*k).filter(|v| !v.is_null()))
            .and_then(port_value);
        let user = string_var(&vars, &["ansible_user", "ansible_ssh_user"]).map(str::to_string);
        hosts.push(Host {
            name: rh.name.clone(),
            address,
            port,
            user,
            groups: sorted.iter().map(|&g| raw.groups[g].name.clone()).collect(),
            vars,
        });
    }

    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| (depth[a], &raw.groups[a].name).cmp(&(depth[b], &raw.groups[b].name)));
    let groups: Vec<GroupInfo> = order
        .iter()
        .map(|&g| GroupInfo {
            name: raw.groups[g].name.clone(),
            hosts: std::mem::take(&mut group_members[g]),
            direct: raw.groups[g]
                .hosts
                .iter()
                .map(|h| raw.host_index[h])
                .collect(),
            children: raw.groups[g].children.clone(),
        })
        .collect();
    let group_index = groups
        .iter()
        .enumerate()
        .map(|(i, g)| (g.name.clone(), i))
        .collect();

    Ok(Inventory {
        source: raw.file,
        hosts,
        host_index: raw.host_index,
        groups,
        group_index,
        warnings,
    })
}

/// Top-level key replacement: Ansible's default `hash_behaviour=replace`.
fn extend(into: &mut Vars, from: &Vars) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
    }
}

#[cfg(test)]
mod tests;
