//! The inventory variable `k8s_engine` (k3s, the default, or kubespray):
//! with kubespray the site leaves K3s alone on every Kubernetes node (no
//! K3s play, so no K3s file, command or manifest), says so once, and still
//! renders the Kubespray inventory on install-01; any other value fails the
//! run before any host is touched, naming the variable.

use super::*;

/// What the site renders for `host` under `out`: its files (paths on the
/// host, commands.sh aside), then the commands that mention K3s.
fn k8s_view(out: &Path, host: &str) -> String {
    let root = out.join(host);
    let mut text = String::new();
    for f in walk(&root) {
        let rel = f.strip_prefix(&root).unwrap().display().to_string();
        if rel != "commands.sh" {
            text.push_str(&format!("/{rel}\n"));
        }
    }
    let commands = std::fs::read_to_string(root.join("commands.sh")).unwrap();
    text.push_str("commands mentioning k3s:\n");
    // (The folders' owner and mode lines are base_os's helper, left out.)
    for l in commands
        .lines()
        .filter(|l| l.contains("k3s") && !l.starts_with("perl -e"))
    {
        text.push_str(&format!("  {l}\n"));
    }
    text
}

fn snapshot(name: &str, text: &str) {
    insta::with_settings!({
        description => "files and K3s commands of k3s-master-01, rendered from playbooks/site.rhai",
        omit_expression => true,
        prepend_module_to_snapshot => false,
    }, {
        insta::assert_snapshot!(name, text);
    });
}

/// A K3s file or command in what the site rendered for `host`.
fn k3s_traces(out: &Path, host: &str) -> Vec<String> {
    let root = out.join(host);
    let mut found: Vec<String> = walk(&root)
        .into_iter()
        .map(|f| f.strip_prefix(&root).unwrap().display().to_string())
        .filter(|p| p.contains("rancher"))
        .collect();
    let commands = std::fs::read_to_string(root.join("commands.sh")).unwrap();
    found.extend(
        commands
            .lines()
            .filter(|l| l.contains("get.k3s.io") || l.contains("rancher"))
            .map(String::from),
    );
    found
}

const NOTICE: &str = "k8s_engine is kubespray: the K3s plays";

#[test]
fn k3s_is_the_default_engine() {
    let site = site();
    for n in hosts_in("k8s") {
        assert!(!k3s_traces(&site.out, &n).is_empty(), "{n}: no K3s");
    }
    assert!(!site.log.contains(NOTICE), "{}", site.log);
    snapshot(
        "k8s_engine_k3s__k3s-master-01",
        &k8s_view(&site.out, "k3s-master-01"),
    );
}

#[test]
fn with_kubespray_no_k8s_node_gets_anything_of_k3s() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("site-review-kubespray");
    let o = render(
        Path::new("playbooks/inventory/servers.tsv"),
        &out,
        &["-e", "k8s_engine=kubespray"],
    );
    let log = common::text(&o);
    assert!(o.status.success(), "render failed\n{log}");
    let nodes = hosts_in("k8s");
    assert_eq!(nodes.len(), 8);
    for n in &nodes {
        assert_eq!(k3s_traces(&out, n), Vec::<String>::new(), "{n}");
        // base_os still runs there.
        assert!(out
            .join(n)
            .join("etc/ssh/sshd_config.d/10-keybuzz.conf")
            .is_file());
    }
    assert_eq!(log.matches(NOTICE).count(), 1, "{log}");
    // The Kubespray inventory still renders, the same as with K3s.
    let inventory = "opt/keybuzz/kubespray/inventory/keybuzz/hosts.yaml";
    assert_eq!(
        std::fs::read_to_string(out.join("install-01").join(inventory)).unwrap(),
        read("install-01", inventory)
    );
    snapshot(
        "k8s_engine_kubespray__k3s-master-01",
        &k8s_view(&out, "k3s-master-01"),
    );
}

#[test]
fn the_engine_comes_from_the_inventory_too() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yml");
    std::fs::write(
        &inventory,
        "all:\n  vars:\n    k8s_engine: kubespray\n  children:\n\
         \x20   k3s_masters:\n      hosts:\n        m1:\n          ansible_host: 192.0.2.10\n          fqdn: m1.example\n",
    )
    .unwrap();
    let out = dir.path().join("review");
    let o = render(&inventory, &out, &["--tags", "module9"]);
    let log = common::text(&o);
    assert!(o.status.success(), "{log}");
    assert!(log.contains(NOTICE), "{log}");
    assert!(!out.join("m1/etc/rancher").exists(), "{log}");
}

#[test]
fn an_unknown_engine_fails_naming_the_variable() {
    for (args, says) in [
        (vec!["-e", "k8s_engine=k8s"], "k8s_engine is 'k8s' on "),
        (
            vec!["-e", "k8s_engine=Kubespray"],
            "it must be k3s or kubespray",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("review");
        let o = render(Path::new("playbooks/inventory/servers.tsv"), &out, &args);
        let log = common::text(&o);
        assert_eq!(o.status.code(), Some(1), "{args:?}\n{log}");
        assert!(log.contains(says), "{args:?}: no `{says}`\n{log}");
        // Only render's own marker file, no host's folder.
        let hosts = std::fs::read_dir(&out).map_or(0, |d| {
            d.filter(|e| e.as_ref().unwrap().path().is_dir()).count()
        });
        assert_eq!(hosts, 0, "{args:?}: rendered something");
    }
}
