//! What a script's op finds on the machine running kbz-play: the variables
//! its templates see, and the local files it names (`copy(#{ src: ... })`).
//! Both are looked up first beside the calling script, so a role carries its
//! own `templates/` and `files/`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::hostvars::{Gathered, HostVars};
use super::magic::{self, PlayScope, RunScope};
use super::shared::Shared;
use super::template_vars::{template_vars, Source};
use crate::inventory::{Host, Vars};
use crate::probe::Facts;

/// The variables every template of `host` sees: its variables (`vars`, with
/// play vars and `-e` on top), `host`, `inventory_hostname`, `facts`,
/// `groups`, `hostvars`, Ansible's other magic variables (see [`magic`])
/// and the facts under Ansible's names (see [`super::ansible_facts`]; the
/// facts only when gathered). Built once per host and play by the caller;
/// `groups` and `hostvars` are the run's one copy ([`inventory_context`]),
/// the play's lists of hosts its batch's ([`PlayScope::lists`]).
pub(super) fn template_context(
    shared: &Shared,
    host: &Host,
    vars: &Vars,
    facts: Option<&Facts>,
    play: &PlayScope,
) -> minijinja::Value {
    let mut ctx = vars.clone();
    ctx.insert(
        "host".into(),
        serde_json::json!({
            "name": host.name, "address": host.address, "ip": host.ip(vars), "groups": host.groups,
        }),
    );
    ctx.insert("inventory_hostname".into(), host.name.clone().into());
    let run = run_scope(shared);
    magic::insert(&mut ctx, host, play, run);
    if let Some(facts) = facts {
        ctx.insert(
            "facts".into(),
            serde_json::to_value(facts).unwrap_or_default(),
        );
        super::ansible_facts::insert(&mut ctx, facts);
    }
    let inventory = shared
        .template_inventory
        .built
        .get_or_init(|| inventory_context(shared, play))
        .clone();
    let own = minijinja::Value::from(minijinja::value::Serde(&ctx));
    minijinja::context! { ..inventory, ..play.lists(), ..own }
}

/// Templates' view of the whole inventory, one per run, shared by every
/// host: `groups` and `hostvars` (built on first use) and the facts of the
/// hosts connected so far, which `hostvars` shows.
#[derive(Debug, Default)]
pub struct TemplateInventory {
    built: OnceLock<minijinja::Value>,
    gathered: Arc<Gathered>,
}

impl TemplateInventory {
    /// Keeps the facts `host` gave on connecting, for `hostvars[host]`.
    pub(super) fn gathered(&self, host: &str, facts: &Facts) {
        self.gathered.record(host, facts);
    }
}

/// `groups` (each group's host names) and `hostvars` (each host's inventory
/// variables, magic variables, `groups` and gathered facts: see
/// [`HostVars`]): the whole inventory, the same for every host, so built
/// once per run and shared. Built per host, the hosts at work at once held
/// one copy each: memory grew with the square of the hosts. They win over
/// a host's own variables of the same name, as before they were shared.
/// Of `play`, `hostvars` take only `playbook_dir`, the same in every play.
fn inventory_context(shared: &Shared, play: &PlayScope) -> minijinja::Value {
    let inv = &shared.inventory;
    let groups: serde_json::Map<String, serde_json::Value> = inv
        .groups()
        .into_iter()
        .map(|g| {
            let names = inv
                .select(g)
                .map(|hs| hs.iter().map(|h| h.name.clone()).collect::<Vec<_>>())
                .unwrap_or_default();
            (g.to_string(), serde_json::json!(names))
        })
        .collect();
    let run = run_scope(shared);
    let vars: serde_json::Map<String, serde_json::Value> = inv
        .hosts()
        .iter()
        .map(|h| {
            let mut v = h.vars.clone();
            magic::insert_hostvars(&mut v, h, play, run);
            v.insert("address".into(), h.address.clone().into());
            (h.name.clone(), serde_json::Value::Object(v))
        })
        .collect();
    let groups = minijinja::Value::from(minijinja::value::Serde(&groups));
    let hostvars = HostVars {
        vars: minijinja::Value::from(minijinja::value::Serde(&vars)),
        common: minijinja::context! { groups => groups.clone() },
        gathered: shared.template_inventory.gathered.clone(),
    };
    minijinja::context! { groups => groups, hostvars => minijinja::Value::from_object(hostvars) }
}

fn run_scope(shared: &Shared) -> RunScope<'_> {
    RunScope {
        inventory_file: shared.inventory.source(),
        check: shared.settings.check,
        diff: shared.settings.diff,
    }
}

/// Renders template `src` with `base` overlaid by the call's own `vars`,
/// and those by the `template_*` variables (see [`template_vars`]), as in
/// Ansible: `src` is looked up beside the calling script (`calling_dir`),
/// then in the project's `templates/`.
pub(super) fn render_template(
    shared: &Shared,
    calling_dir: Option<&Path>,
    src: &str,
    base: minijinja::Value,
    vars: &rhai::Map,
) -> Result<String, String> {
    let templates = &shared.templates;
    let name = templates
        .resolve(src, calling_dir)
        .map_err(|e| e.to_string())?;
    let mut extra: serde_json::Value =
        rhai::serde::from_dynamic(&rhai::Dynamic::from_map(vars.clone()))
            .map_err(|e| format!("template vars: {e}"))?;
    if let (Some(role), serde_json::Value::Object(extra)) =
        (role_path(&shared.root, calling_dir), &mut extra)
    {
        extra
            .entry("role_path")
            .or_insert(role.display().to_string().into());
    }
    let source = Source {
        given: src,
        root: &shared.root,
        name: &name,
    };
    let own = template_vars(&source, shared.settings.offline.is_some());
    let ctx = minijinja::context! {
        ..own, ..minijinja::Value::from(minijinja::value::Serde(&extra)), ..base
    };
    templates.render(&name, &ctx).map_err(|e| e.to_string())
}

/// Ansible's `role_path`: the folder of the calling role (a script under
/// the project's `roles/`: `roles/web/` for `roles/web/main.rhai`, `roles/`
/// for a one-file role), absolute; none for the playbook itself.
fn role_path(root: &Path, calling_dir: Option<&Path>) -> Option<PathBuf> {
    let dir = std::path::absolute(calling_dir?).ok()?;
    let roles = std::path::absolute(root.join("roles")).ok()?;
    dir.starts_with(&roles).then_some(dir)
}

/// Finds local file `path`: as given when absolute; else beside the calling
/// script (`files/` next to it, then its own folder), then the project's
/// `files/`, then the project root.
pub(super) fn local_file(
    root: &Path,
    calling_dir: Option<&Path>,
    path: &str,
) -> Result<PathBuf, String> {
    let p = Path::new(path);
    if p.is_absolute() {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(format!("local file {path} not found"))
        };
    }
    let mut candidates = Vec::new();
    if let Some(dir) = calling_dir {
        candidates.push(dir.join("files").join(path));
        candidates.push(dir.join(path));
    }
    candidates.push(root.join("files").join(path));
    candidates.push(root.join(path));
    crate::script::first_file("local file", path, &candidates)
}

#[cfg(test)]
mod tests {
    use super::{local_file, role_path};
    use std::path::Path;

    #[test]
    fn role_path_is_the_calling_roles_folder_and_none_for_the_playbook() {
        let root = Path::new("/p");
        let role = Path::new("/p/roles/web");
        assert_eq!(role_path(root, Some(role)).as_deref(), Some(role));
        assert_eq!(role_path(root, Some(root)), None);
        assert_eq!(role_path(root, None), None);
    }

    #[test]
    fn a_local_file_is_found_beside_the_script_first() {
        let root = tempfile::tempdir().unwrap();
        let role = root.path().join("roles/web");
        std::fs::create_dir_all(role.join("files")).unwrap();
        std::fs::create_dir_all(root.path().join("files")).unwrap();
        std::fs::write(role.join("files/motd"), "role").unwrap();
        std::fs::write(root.path().join("files/motd"), "project").unwrap();
        std::fs::write(root.path().join("files/only"), "project").unwrap();
        assert_eq!(
            local_file(root.path(), Some(&role), "motd").unwrap(),
            role.join("files/motd")
        );
        assert_eq!(
            local_file(root.path(), Some(&role), "only").unwrap(),
            root.path().join("files/only")
        );
        let missing = local_file(root.path(), Some(&role), "nope").unwrap_err();
        assert!(missing.contains("not found (looked in"), "{missing}");
    }
}
