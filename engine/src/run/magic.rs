//! Ansible's magic variables, under Ansible's names, for templates brought
//! over from Ansible roles: what a play knows of itself (its hosts, the
//! current `serial` batch, its playbook's folder), of the host (its groups,
//! its short name) and of the run (`--check`, `--diff`, the inventory file).

use std::path::{Path, PathBuf};

use crate::inventory::{Host, Vars};

/// Ansible's `omit`, so `{{ x | default(omit) }}` renders. Ansible drops a
/// module argument whose value is its placeholder; kbz-play's ops take their
/// arguments from Rhai maps, where an argument is left out by leaving its
/// key out, so nothing strips this value: written into a file it stays, as
/// it would with Ansible (whose placeholder ends in a random hash).
const OMIT: &str = "__omit_place_holder__kbz_play";

/// Ansible's `ansible_managed` as its `template` module gives it by default
/// (the `DEFAULT_MANAGED_STR` setting), so a header line brought over from
/// a role (`# {{ ansible_managed }}`) renders the same; a variable of that
/// name wins, as in Ansible.
const MANAGED: &str = "Ansible managed";

/// The ansible-core whose templates kbz-play renders as it does (the
/// parity test's, tests/template_parity.rs): `ansible_version`, so a role's
/// `ansible_version.full is version('2.12', '>=')` takes the branch it takes
/// there. The revision is left at 0: kbz-play follows the 2.19 series.
const ANSIBLE_VERSION: (u32, u32, u32) = (2, 19, 0);

/// The play a host runs in, as its templates see it.
#[derive(Debug, Clone, Default)]
pub(super) struct PlayScope {
    /// The play's hosts still running (`ansible_play_hosts`).
    pub hosts: Vec<String>,
    /// The hosts of the current `serial` batch (`ansible_play_batch`).
    pub batch: Vec<String>,
    /// The playbook's folder, absolute (`playbook_dir`).
    pub playbook_dir: PathBuf,
}

/// Where the run's inventory and modes come from.
#[derive(Debug, Clone, Copy)]
pub(super) struct RunScope<'a> {
    /// The first inventory file (`inventory_file`).
    pub inventory_file: &'a Path,
    /// `--check`.
    pub check: bool,
    /// `--diff`.
    pub diff: bool,
}

/// Adds the magic variables of `host` in `play` to `ctx`.
pub(super) fn insert(ctx: &mut Vars, host: &Host, play: &PlayScope, run: RunScope<'_>) {
    insert_hostvars(ctx, host, play, run);
    let magic = serde_json::json!({
        "ansible_play_hosts": play.hosts,
        "ansible_play_hosts_all": play.hosts,
        "ansible_play_batch": play.batch,
        "play_hosts": play.batch,
        "omit": OMIT,
    });
    if let serde_json::Value::Object(magic) = magic {
        ctx.extend(magic);
    }
    ctx.entry("ansible_managed").or_insert(MANAGED.into());
}

/// Adds the magic variables Ansible also gives in `hostvars[host]` (those
/// of the host and of the run; not the play's) to `vars`, with
/// `ansible_facts` empty: the host's facts, once gathered, go on top.
pub(super) fn insert_hostvars(vars: &mut Vars, host: &Host, play: &PlayScope, run: RunScope<'_>) {
    let short = host.name.split('.').next().unwrap_or(&host.name);
    let mut group_names: Vec<&str> = host
        .groups
        .iter()
        .map(String::as_str)
        .filter(|g| *g != "all")
        .collect();
    group_names.sort_unstable();
    group_names.dedup();
    let inventory_file = std::path::absolute(run.inventory_file).unwrap_or_default();
    let inventory_dir = inventory_file.parent().unwrap_or(Path::new("/"));
    let magic = serde_json::json!({
        "inventory_hostname": host.name,
        "inventory_hostname_short": short,
        "group_names": group_names,
        "ansible_check_mode": run.check,
        "ansible_diff_mode": run.diff,
        "playbook_dir": play.playbook_dir.display().to_string(),
        "inventory_file": inventory_file.display().to_string(),
        "inventory_dir": inventory_dir.display().to_string(),
        "ansible_facts": {},
        "ansible_version": ansible_version(),
    });
    if let serde_json::Value::Object(magic) = magic {
        vars.extend(magic);
    }
}

/// `ansible_version` as Ansible gives it.
fn ansible_version() -> serde_json::Value {
    let (major, minor, revision) = ANSIBLE_VERSION;
    let full = format!("{major}.{minor}.{revision}");
    serde_json::json!({
        "string": full, "full": full, "major": major, "minor": minor, "revision": revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, groups: &[&str]) -> Host {
        Host {
            name: name.into(),
            address: name.into(),
            port: None,
            user: None,
            groups: groups.iter().map(|g| g.to_string()).collect(),
            vars: Vars::new(),
        }
    }

    #[test]
    fn a_host_sees_its_play_groups_and_short_name() {
        let host = host("web-01.example.com", &["web", "all", "eu"]);
        let play = PlayScope {
            hosts: vec!["web-01.example.com".into(), "web-02.example.com".into()],
            batch: vec!["web-01.example.com".into()],
            playbook_dir: "/p".into(),
        };
        let run = RunScope {
            inventory_file: Path::new("/p/inventory/hosts.ini"),
            check: true,
            diff: false,
        };
        let mut ctx = Vars::new();
        insert(&mut ctx, &host, &play, run);
        assert_eq!(ctx["inventory_hostname_short"], "web-01");
        assert_eq!(ctx["group_names"], serde_json::json!(["eu", "web"]));
        assert_eq!(ctx["ansible_play_hosts"].as_array().unwrap().len(), 2);
        assert_eq!(
            ctx["ansible_play_batch"],
            serde_json::json!(["web-01.example.com"])
        );
        assert_eq!(ctx["ansible_check_mode"], true);
        assert_eq!(ctx["inventory_dir"], "/p/inventory");
        assert_eq!(ctx["ansible_managed"], "Ansible managed");
        assert_eq!(ctx["ansible_version"]["full"], "2.19.0");
        assert!(ctx["omit"]
            .as_str()
            .unwrap()
            .starts_with("__omit_place_holder__"));
    }

    #[test]
    fn a_variable_named_ansible_managed_wins() {
        let run = RunScope {
            inventory_file: Path::new("/p/hosts"),
            check: false,
            diff: false,
        };
        let mut ctx = Vars::new();
        ctx.insert("ansible_managed".into(), "ours".into());
        insert(&mut ctx, &host("h", &["all"]), &PlayScope::default(), run);
        assert_eq!(ctx["ansible_managed"], "ours");
    }
}
