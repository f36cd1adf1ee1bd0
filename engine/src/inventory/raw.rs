//! What a format parser produces ([`RawInventory`]): hosts, groups and
//! their own vars as written, merged source by source before the build
//! lays `group_vars`/`host_vars` over them.

use super::Vars;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

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
