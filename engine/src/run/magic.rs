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
#[derive(Debug, Clone)]
pub(super) struct PlayScope {
    /// The play's lists (see [`PlayScope::new`]), one value for all the
    /// hosts of a batch: each host's copy made memory grow with the square
    /// of the hosts.
    lists: minijinja::Value,
    /// The playbook's folder, absolute (`playbook_dir`).
    pub playbook_dir: PathBuf,
}

impl PlayScope {
    /// The scope of a batch of a play: `hosts`, the play's hosts still
    /// running (`ansible_play_hosts`, `ansible_play_hosts_all`), and `batch`,
    /// those of the current `serial` batch (`ansible_play_batch`,
    /// `play_hosts`). Clones share the lists.
    pub fn new(hosts: &[String], batch: &[String]) -> PlayScope {
        let (hosts, batch) = (list(hosts), list(batch));
        PlayScope {
            lists: minijinja::context! {
                ansible_play_hosts => hosts.clone(),
                ansible_play_hosts_all => hosts,
                ansible_play_batch => batch.clone(),
                play_hosts => batch,
            },
            playbook_dir: PathBuf::new(),
        }
    }

    /// The play's lists, under Ansible's names, for a template's context.
    pub fn lists(&self) -> minijinja::Value {
        self.lists.clone()
    }
}

/// Host names as one template value.
fn list(names: &[String]) -> minijinja::Value {
    names
        .iter()
        .map(|n| minijinja::Value::from(n.as_str()))
        .collect()
}

impl Default for PlayScope {
    /// No play: empty lists.
    fn default() -> PlayScope {
        PlayScope::new(&[], &[])
    }
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

/// Adds the magic variables of `host` in `play` to `ctx`, but the play's
/// lists, which the caller merges in from [`PlayScope::lists`].
pub(super) fn insert(ctx: &mut Vars, host: &Host, play: &PlayScope, run: RunScope<'_>) {
    insert_hostvars(ctx, host, play, run);
    ctx.insert("omit".into(), OMIT.into());
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
        let mut play = PlayScope::new(
            &["web-01.example.com".into(), "web-02.example.com".into()],
            &["web-01.example.com".into()],
        );
        play.playbook_dir = "/p".into();
        let run = RunScope {
            inventory_file: Path::new("/p/inventory/hosts.ini"),
            check: true,
            diff: false,
        };
        let mut ctx = Vars::new();
        insert(&mut ctx, &host, &play, run);
        assert_eq!(ctx["inventory_hostname_short"], "web-01");
        assert_eq!(ctx["group_names"], serde_json::json!(["eu", "web"]));
        let lists = play.lists();
        let list = |name: &str| lists.get_attr(name).unwrap().to_string();
        let (both, first) = (
            "['web-01.example.com', 'web-02.example.com']",
            "['web-01.example.com']",
        );
        assert_eq!(list("ansible_play_hosts"), both);
        assert_eq!(list("ansible_play_hosts_all"), both);
        assert_eq!(list("ansible_play_batch"), first);
        assert_eq!(list("play_hosts"), first);
        assert_eq!(ctx["playbook_dir"], "/p");
        assert_eq!(ctx["ansible_check_mode"], true);
        assert_eq!(ctx["inventory_dir"], "/p/inventory");
        assert_eq!(ctx["ansible_managed"], "Ansible managed");
        assert_eq!(ctx["ansible_version"]["full"], "2.19.0");
        assert!(ctx["omit"]
            .as_str()
            .unwrap()
            .starts_with("__omit_place_holder__"));
    }

    /// The hosts of a batch see one list: a scope's clones copy no host
    /// name (a copy per host made memory grow with the square of the hosts).
    #[test]
    fn the_hosts_of_a_batch_share_one_list() {
        let names: Vec<String> = (1..=3).map(|i| format!("h{i}")).collect();
        let scope = PlayScope::new(&names, &names[..1]);
        let list = |scope: &PlayScope, name: &str| {
            let value = scope.lists().get_attr(name).unwrap();
            let seq = value.as_object()?.downcast_ref::<Vec<minijinja::Value>>()?;
            Some(std::ptr::from_ref(seq) as usize)
        };
        let other = scope.clone();
        let hosts = list(&other, "ansible_play_hosts");
        assert!(hosts.is_some(), "{:?}", other.lists());
        assert_eq!(list(&scope, "ansible_play_hosts"), hosts);
        assert_eq!(list(&scope, "ansible_play_hosts_all"), hosts);
        assert_eq!(
            list(&scope, "ansible_play_batch"),
            list(&other, "play_hosts")
        );
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
