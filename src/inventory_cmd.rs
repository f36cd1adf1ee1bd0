//! `kbz-play inventory`: the inventory as kbz-play reads it, printed the way
//! `ansible-inventory` prints it (`--list`, `--graph`, `--host`, `--yaml`,
//! `--export`, `--limit`),
//! so the two can be compared line for line on the same inventory.

use anyhow::{bail, Result};
use kbz_engine::inventory::{Host, Inventory};
use kbz_engine::secrets::Secrets;
use serde_json::{json, Map, Value};
use std::collections::HashSet;

use crate::cli::InventoryArgs;

/// Runs the subcommand; without `--list`/`--graph`/`--host`, prints the
/// hosts (or those `--limit` selects) with their connection settings,
/// groups and merged vars.
///
/// Vaulted values are decrypted and then shown masked, as in every output.
pub fn run(args: &InventoryArgs) -> Result<u8> {
    let secrets = Secrets::default();
    let vault = crate::vault::open(&args.vault, &secrets)?
        .with_warnings(|warning| eprintln!("warning: {warning}"));
    let inventory = Inventory::load_all(&args.inventory, &vault)?;
    for warning in inventory.warnings() {
        eprintln!("warning: {warning}");
    }
    let out = if let Some(name) = &args.host {
        let Some(host) = inventory.host(name) else {
            bail!("no host named '{name}' in the inventory");
        };
        let view = View::new(&inventory, None, args.export)?;
        dump(&Value::Object(view.host_vars(host)), args.yaml)?
    } else if args.list {
        let view = View::new(&inventory, args.limit.as_deref(), args.export)?;
        let value = if args.yaml {
            yaml_tree(&view)
        } else {
            list(&view)
        };
        dump(&value, args.yaml)?
    } else if let Some(group) = &args.graph {
        graph(&inventory, group.as_deref().unwrap_or("all"))?
    } else {
        hosts_detail(&inventory, args.limit.as_deref())?
    };
    println!("{}", secrets.mask(&out));
    Ok(0)
}

/// What `--list` and `--host` show, as ansible-inventory chooses it: only
/// the hosts `--limit` leaves (a pattern matching nothing is a warning, as
/// there), and with `--export` each group's own vars on the group and each
/// host's own vars instead of its merged ones.
struct View<'a> {
    inventory: &'a Inventory,
    available: HashSet<&'a str>,
    export: bool,
}

impl<'a> View<'a> {
    fn new(inventory: &'a Inventory, limit: Option<&str>, export: bool) -> Result<Self> {
        let hosts = match limit {
            Some(pattern) => {
                let (hosts, unknown) = inventory.select_play(pattern)?;
                for warning in unknown {
                    eprintln!("warning: --limit: {warning}");
                }
                hosts
            }
            None => inventory.hosts().iter().collect(),
        };
        Ok(Self {
            inventory,
            available: hosts.iter().map(|h| h.name.as_str()).collect(),
            export,
        })
    }

    fn host_vars(&self, host: &Host) -> Map<String, Value> {
        match self.export {
            true => self.inventory.host_own_vars(&host.name).cloned(),
            false => Some(host.vars.clone()),
        }
        .unwrap_or_default()
    }

    /// The `vars` of a group's entry: its own vars with `--export`.
    fn group_vars(&self, group: &str) -> Option<Value> {
        let vars = self.inventory.group_vars(group).filter(|_| self.export)?;
        (!vars.is_empty()).then(|| Value::Object(vars.clone()))
    }

    /// [`tree`] without the hosts `--limit` leaves out.
    fn tree(&self, group: &str) -> (Vec<&'a Host>, Vec<String>) {
        let (mut hosts, children) = tree(self.inventory, group);
        hosts.retain(|h| self.available.contains(h.name.as_str()));
        (hosts, children)
    }
}

/// The default view: one object per host, with what kbz-play connects to.
fn hosts_detail(inventory: &Inventory, limit: Option<&str>) -> Result<String> {
    let hosts = match limit {
        Some(l) => inventory.select(l)?,
        None => inventory.hosts().iter().collect(),
    };
    let out: Vec<Value> = hosts
        .iter()
        .map(|h| {
            json!({
                "name": h.name, "address": h.address, "port": h.port, "user": h.user,
                "groups": h.groups, "vars": h.vars,
            })
        })
        .collect();
    Ok(serde_json::to_string_pretty(&out)?)
}

/// Hosts in no group but `all`: Ansible's implicit `ungrouped` group.
fn ungrouped(inventory: &Inventory) -> Vec<&Host> {
    inventory
        .hosts()
        .iter()
        .filter(|h| h.groups.len() == 1)
        .collect()
}

/// A group's own hosts and children as Ansible's tree has them: `all`
/// has `ungrouped` as its first child and no hosts of its own.
fn tree<'a>(inventory: &'a Inventory, group: &str) -> (Vec<&'a Host>, Vec<String>) {
    match group {
        "ungrouped" => (ungrouped(inventory), Vec::new()),
        _ => {
            let (hosts, children) = inventory.group_tree(group).unwrap_or_default();
            let mut kids = Vec::with_capacity(children.len() + 1);
            if group == "all" {
                kids.push("ungrouped".to_string());
            }
            kids.extend(children.into_iter().map(str::to_string));
            let hosts = if group == "all" { Vec::new() } else { hosts };
            (hosts, kids)
        }
    }
}

/// `ansible-inventory --list`: each non-empty group with its own `hosts`
/// and `children`, and every host's vars under `_meta.hostvars`.
fn list(view: &View) -> Value {
    let mut out = Map::new();
    let mut seen = HashSet::new();
    list_group(view, "all", &mut out, &mut seen);
    let hostvars: Map<String, Value> = view
        .inventory
        .hosts()
        .iter()
        .filter(|h| view.available.contains(h.name.as_str()))
        .map(|h| (h.name.clone(), view.host_vars(h)))
        .filter(|(_, vars)| !vars.is_empty())
        .map(|(name, vars)| (name, Value::Object(vars)))
        .collect();
    out.insert(
        "_meta".to_string(),
        json!({"hostvars": hostvars, "profile": "inventory_legacy"}),
    );
    Value::Object(out)
}

fn list_group(view: &View, name: &str, out: &mut Map<String, Value>, seen: &mut HashSet<String>) {
    let (hosts, children) = view.tree(name);
    let mut entry = Map::new();
    if !hosts.is_empty() {
        let names = hosts.iter().map(|h| Value::from(h.name.as_str())).collect();
        entry.insert("hosts".to_string(), Value::Array(names));
    }
    if !children.is_empty() {
        let names = children.iter().map(|c| Value::from(c.as_str())).collect();
        entry.insert("children".to_string(), Value::Array(names));
    }
    if let Some(vars) = view.group_vars(name) {
        entry.insert("vars".to_string(), vars);
    }
    for child in &children {
        if seen.insert(child.clone()) {
            list_group(view, child, out, seen);
        }
    }
    if !entry.is_empty() {
        out.insert(name.to_string(), Value::Object(entry));
    }
}

/// `ansible-inventory --list --yaml`: nested groups, each host's vars given
/// once, at its first appearance.
fn yaml_tree(view: &View) -> Value {
    let mut seen_groups = HashSet::new();
    let mut seen_hosts = HashSet::new();
    let mut out = Map::new();
    if let Some(v) = yaml_group(view, "all", &mut seen_groups, &mut seen_hosts) {
        out.insert("all".to_string(), v);
    }
    Value::Object(out)
}

fn yaml_group(
    view: &View,
    name: &str,
    seen_groups: &mut HashSet<String>,
    seen_hosts: &mut HashSet<String>,
) -> Option<Value> {
    let (hosts, children) = view.tree(name);
    let mut kids = Map::new();
    for child in children {
        if !seen_groups.insert(child.clone()) {
            kids.insert(child, json!({}));
        } else if let Some(v) = yaml_group(view, &child, seen_groups, seen_hosts) {
            kids.insert(child, v);
        }
    }
    let mut host_map = Map::new();
    for h in hosts {
        let vars = if seen_hosts.insert(h.name.clone()) {
            view.host_vars(h)
        } else {
            Map::new()
        };
        host_map.insert(h.name.clone(), Value::Object(vars));
    }
    let mut entry = Map::new();
    if !kids.is_empty() {
        entry.insert("children".to_string(), Value::Object(kids));
    }
    if !host_map.is_empty() {
        entry.insert("hosts".to_string(), Value::Object(host_map));
    }
    if let Some(vars) = view.group_vars(name) {
        entry.insert("vars".to_string(), vars);
    }
    (!entry.is_empty()).then_some(Value::Object(entry))
}

/// `ansible-inventory --graph [GROUP]`: the group tree, hosts under their
/// groups, `|--` per level.
fn graph(inventory: &Inventory, group: &str) -> Result<String> {
    if group != "ungrouped" && inventory.group_tree(group).is_none() {
        bail!("no group named '{group}': --graph takes a group name");
    }
    let mut lines = Vec::new();
    graph_group(inventory, group, 0, &mut lines);
    Ok(lines.join("\n"))
}

fn graph_group(inventory: &Inventory, name: &str, depth: usize, lines: &mut Vec<String>) {
    lines.push(graph_line(&format!("@{name}:"), depth));
    let (hosts, children) = tree(inventory, name);
    for child in children {
        graph_group(inventory, &child, depth + 1, lines);
    }
    for h in hosts {
        lines.push(graph_line(&h.name, depth + 1));
    }
}

fn graph_line(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("{}--{name}", "  |".repeat(depth))
    }
}

/// JSON as Python's `json.dumps(sort_keys=True, indent=4)` writes it, or
/// YAML as PyYAML writes it.
fn dump(value: &Value, yaml: bool) -> Result<String> {
    if yaml {
        return Ok(kbz_engine::pyyaml::dump(value));
    }
    crate::pyjson::dump(value)
}
