//! From the merged [`RawInventory`] to the immutable [`Inventory`]: group
//! depths, then every host's vars layered in Ansible's precedence order
//! (inventory-file group vars, `group_vars/`, inventory-file host vars,
//! `host_vars/`).

use super::raw::RawInventory;
use super::{
    port_value, string_var, vars_dirs, GroupInfo, Host, Inventory, InventoryError, Vars, UNGROUPED,
};
use crate::vault::Vault;
use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

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
pub(super) fn build(
    raw: RawInventory,
    bases: &[PathBuf],
    vault: &Vault,
) -> Result<Inventory, InventoryError> {
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
    let mut own_vars = Vec::with_capacity(raw.hosts.len());
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
        let mut own = rh.vars.clone();
        for base in bases {
            extend(
                &mut own,
                &vars_dirs::load(base, vars_dirs::Kind::Host, &rh.name, vault)?,
            );
        }
        extend(&mut vars, &own);
        own_vars.push(own);

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
            vars: own_group_vars(&raw.groups[g].vars, file_group_vars.iter().map(|f| &f[g])),
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
        ungrouped_vars: own_group_vars(&raw.ungrouped_vars, file_ungrouped_vars.iter()),
        own_vars,
        warnings,
    })
}

/// A group's own vars: the inventory file's, then its `group_vars/` files'
/// (what `ansible-inventory --export` shows on the group).
fn own_group_vars<'a>(inline: &Vars, files: impl Iterator<Item = &'a Vars>) -> Vars {
    let mut vars = inline.clone();
    for file in files {
        extend(&mut vars, file);
    }
    vars
}

/// Top-level key replacement: Ansible's default `hash_behaviour=replace`.
fn extend(into: &mut Vars, from: &Vars) {
    for (k, v) in from {
        into.insert(k.clone(), v.clone());
    }
}
