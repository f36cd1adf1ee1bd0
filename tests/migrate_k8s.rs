//! playbooks/migrate_k8s.rhai, the K3s -> Kubespray migration (seed 003), in
//! check mode and render: the lab cannot run K3s or Kubespray, so the nodes
//! here are local hosts (`ansible_connection: local`) whose K3s and kubectl
//! are small stand-in scripts in the project (`k3s_bin_dir`,
//! `kubespray_kubectl`) answering the gates' queries from files the test
//! writes. Under `--check` those read-only queries really run; everything
//! else is only planned, and the stand-ins that change something (uninstall
//! scripts, `kubectl apply`) record in `ran.log` that they ran, which no
//! check run may leave behind.
//!
//! What is held: each phase's actions appear, in phase order; the
//! uninstall needs `-e confirm_uninstall_k3s=yes`, refuses while workloads
//! run (or nobody can list them) unless `-e force=yes`, takes the agents
//! before the servers, one node at a time; cluster.yml is left alone once
//! every node is Ready at the pinned release, and refused while a node keeps
//! K3s; `--tags` selects a phase without the others' gates firing. Once on
//! a real lab host (lab04, ignored unless the lab is up), which has no K3s:
//! the probes run over SSH, nothing needs uninstalling, and `--check`
//! leaves the host as it was.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::lab::lab_alone;
use common::{Outcome, Test};

const MASTERS: [&str; 3] = ["k3s-master-01", "k3s-master-02", "k3s-master-03"];
const WORKERS: [&str; 3] = ["k3s-worker-01", "k3s-worker-02", "k3s-worker-03"];

/// The Kubernetes release versions.yaml pins.
const KUBE_VERSION: &str = "v1.32.5";

/// How reports show Kubespray's cluster.yml run (the script's first line).
const CLUSTER_YML: &str = "# Kubespray cluster.yml with inventory/keybuzz/hosts.yaml";

/// System pods only: no workload in the way.
const SYSTEM_PODS: &str = "k3s-master-01 kube-system coredns-1\n\
                           k3s-worker-01 ingress-nginx ingress-nginx-controller-a\n";

fn script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The migration playbook on three K3s servers, three agents and install-01,
/// all local; every node still has K3s. `pods.txt` and `nodes.txt` in the
/// project are what `kubectl get pods` (K3s) and `kubectl get nodes`
/// (Kubespray) print; without them those commands fail.
fn migration() -> Test {
    let t = Test::new().playbook_file(common::repo().join("playbooks/migrate_k8s.rhai"));
    let root = t.path().to_path_buf();
    let log = root.join("ran.log");
    let kubectl = root.join("bin/kubectl");
    script(
        &kubectl,
        &format!(
            "case \"$1 $2\" in\n\
             \"get nodes\") cat {nodes} 2>/dev/null || {{ echo 'connection refused' >&2; exit 1; }} ;;\n\
             \"diff -f\") exit 1 ;;\n\
             *) echo \"kubectl $*\" >> {log} ;;\nesac\n",
            nodes = root.join("nodes.txt").display(),
            log = log.display()
        ),
    );
    let mut inv = String::from(
        "hostname\tip_private\tgroups\tansible_connection\tk3s_bin_dir\tkubespray_kubectl\n",
    );
    inv.push_str("install-01\t127.0.0.1\tkubespray\tlocal\t\t\n");
    for (names, group) in [(&MASTERS, "k3s_masters"), (&WORKERS, "k3s_workers")] {
        for name in names.iter() {
            let bin = root.join("bin").join(name);
            script(
                &bin.join("k3s"),
                &format!(
                    "case \"$1 $2 $3\" in\n\
                     \"kubectl get pods\") cat {pods} 2>/dev/null || {{ echo 'connection refused' >&2; exit 1; }} ;;\n\
                     *) exit 1 ;;\nesac\n",
                    pods = root.join("pods.txt").display()
                ),
            );
            let uninstall = if group == "k3s_masters" {
                "k3s-uninstall.sh"
            } else {
                "k3s-agent-uninstall.sh"
            };
            script(
                &bin.join(uninstall),
                &format!("echo \"{name} {uninstall}\" >> {}\n", log.display()),
            );
            inv.push_str(&format!(
                "{name}\t127.0.0.1\t{group}\tlocal\t{}\t{}\n",
                bin.display(),
                kubectl.display()
            ));
        }
    }
    t.inventory(&inv)
}

/// The nodes have no K3s any more (phase 2 done).
fn without_k3s(t: &Test) {
    for name in MASTERS.iter().chain(WORKERS.iter()) {
        let bin = t.at("bin").join(name);
        std::fs::remove_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
    }
}

/// `kubectl get nodes` as Kubespray's cluster would answer: every node
/// Ready at `version`.
fn nodes_ready(t: &Test, version: &str) {
    let text: String = MASTERS
        .iter()
        .chain(WORKERS.iter())
        .map(|n| format!("{n} {version} True\n"))
        .collect();
    std::fs::write(t.at("nodes.txt"), text).unwrap();
}

/// `--check` of the migration with `args`; nothing may have run.
fn check(t: &Test, args: &[&str]) -> Outcome {
    let out = t.run_with(&[&["--check"], args].concat());
    assert!(
        !t.at("ran.log").exists(),
        "--check ran something: {}\n{}",
        std::fs::read_to_string(t.at("ran.log")).unwrap_or_default(),
        out.text()
    );
    out
}

/// (host, target) of every op that changed (or, under --check, would
/// have), in the run's order.
fn changes(out: &Outcome) -> Vec<(String, String)> {
    out.events_named("op_end")
        .into_iter()
        .filter(|e| e["status"] == "changed")
        .map(|e| {
            (
                e["host"].as_str().unwrap().to_string(),
                e["target"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The hosts whose changes' targets contain `needle`, in order.
fn hosts_changing(out: &Outcome, needle: &str) -> Vec<String> {
    changes(out)
        .into_iter()
        .filter(|(_, t)| t.contains(needle))
        .map(|(h, _)| h)
        .collect()
}

/// The position of the first change whose target contains `needle`.
fn first(out: &Outcome, needle: &str) -> usize {
    changes(out)
        .iter()
        .position(|(_, t)| t.contains(needle))
        .unwrap_or_else(|| panic!("no change `{needle}`\n{}", out.text()))
}

/// The messages of the run's failed ops and failed hosts.
fn failures(out: &Outcome) -> String {
    let mut text = String::new();
    for e in out.ops_with_status("failed") {
        text.push_str(&format!("{} {}\n", e["host"], e["message"]));
    }
    for e in out.events_named("host_failed") {
        text.push_str(&format!("{} {}\n", e["host"], e["error"]));
    }
    text
}

fn messages(out: &Outcome, event: &str) -> String {
    out.events_named(event)
        .iter()
        .map(|e| format!("{}\n", e["message"].as_str().unwrap_or_default()))
        .collect()
}

#[test]
fn check_shows_every_phase_in_order_agents_first_one_node_at_a_time() {
    let t = migration();
    std::fs::write(t.at("pods.txt"), SYSTEM_PODS).unwrap();
    let out = check(&t, &["-e", "confirm_uninstall_k3s=yes"]);
    out.assert_code(0);
    // Phase 1: the export, Secrets apart, on install-01.
    let export = first(
        &out,
        "# K3s export: objects -> /opt/keybuzz/k3s-export/workloads.yaml",
    );
    let secrets = first(
        &out,
        "# K3s export: Secrets -> /opt/keybuzz/k3s-export/secrets.yaml",
    );
    // Phase 2: agents, then servers, each node once, in order.
    let uninstalled = hosts_changing(&out, "uninstall.sh");
    let expected: Vec<&str> = WORKERS.iter().chain(MASTERS.iter()).copied().collect();
    assert_eq!(uninstalled, expected, "{}", out.text());
    assert_eq!(hosts_changing(&out, "k3s-agent-uninstall.sh"), WORKERS);
    // One node at a time: each uninstall play's ops come host after host,
    // never interleaved.
    for play in ["K3s agents: uninstall", "K3s servers: uninstall"] {
        let hosts: Vec<String> = out
            .play_events(play)
            .iter()
            .filter(|e| e["event"] == "op_start")
            .map(|e| e["host"].as_str().unwrap().to_string())
            .collect();
        let mut blocks = hosts.clone();
        blocks.dedup();
        assert_eq!(blocks.len(), 3, "{play}: hosts interleaved: {hosts:?}");
    }
    // Phase 3: the checkout, its venv, then cluster.yml, on install-01.
    let clone = first(&out, "git clone --depth 1 --branch v2.28.0");
    let venv = first(&out, "venv/bin/pip install -r");
    let cluster = first(&out, CLUSTER_YML);
    // Phase 4: the ingress manifest applied with kubectl on one control plane.
    let ingress = hosts_changing(
        &out,
        "# kubectl apply -f /opt/keybuzz/ingress-nginx/ingress-nginx.yaml",
    );
    assert_eq!(ingress, ["k3s-master-01"], "{}", out.text());
    let apply = first(
        &out,
        "# kubectl apply -f /opt/keybuzz/ingress-nginx/ingress-nginx.yaml",
    );
    let last_uninstall = changes(&out)
        .iter()
        .rposition(|(_, t)| t.contains("uninstall.sh"))
        .unwrap();
    let first_uninstall = first(&out, "uninstall.sh");
    let order = [
        export,
        secrets,
        first_uninstall,
        last_uninstall,
        clone,
        venv,
        cluster,
        apply,
    ];
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "phases out of order {order:?}\n{}",
        out.text()
    );
    for (host, target) in changes(&out) {
        if target.contains("k3s-export") || target.contains("kubespray") {
            assert_eq!(host, "install-01", "{target}");
        }
    }
}

#[test]
fn without_the_confirmation_no_node_is_uninstalled_and_the_run_stops() {
    let t = migration();
    std::fs::write(t.at("pods.txt"), SYSTEM_PODS).unwrap();
    for args in [
        vec![],
        vec!["-e", "confirm_uninstall_k3s=no"],
        vec!["-e", "force=yes"],
    ] {
        let out = check(&t, &args);
        out.assert_code(2);
        let failed = failures(&out);
        assert!(
            failed.contains("k3s-worker-01")
                && failed.contains("refusing to uninstall K3s from k3s-worker-01 without -e confirm_uninstall_k3s=yes"),
            "{args:?}: {failed}\n{}",
            out.text()
        );
        assert_eq!(
            hosts_changing(&out, "uninstall.sh"),
            Vec::<String>::new(),
            "{args:?}"
        );
        // The run stopped at the first node: no other node tried, no phase 3.
        assert_eq!(out.total("failed"), 1, "{}", out.text());
        assert!(
            hosts_changing(&out, CLUSTER_YML).is_empty(),
            "{}",
            out.text()
        );
        // Phase 1 ran before it.
        first(&out, "K3s export: Secrets");
    }
}

#[test]
fn running_workloads_refuse_the_uninstall_unless_forced() {
    let t = migration();
    let pods = format!("{SYSTEM_PODS}k3s-worker-02 keybuzz keybuzz-api-7d9\n");
    std::fs::write(t.at("pods.txt"), &pods).unwrap();
    let confirm = ["-e", "confirm_uninstall_k3s=yes"];
    let refused = check(&t, &confirm);
    refused.assert_code(2);
    let failed = failures(&refused);
    assert!(
        failed.contains("1 workload pods still run")
            && failed.contains("k3s-worker-02: keybuzz/keybuzz-api-7d9")
            && failed.contains("-e force=yes")
            && !failed.contains("coredns"),
        "{failed}\n{}",
        refused.text()
    );
    assert!(hosts_changing(&refused, "uninstall.sh").is_empty());

    // Nobody can list the pods (the API is down): refused too.
    std::fs::remove_file(t.at("pods.txt")).unwrap();
    let unknown = check(&t, &confirm);
    unknown.assert_code(2);
    assert!(
        failures(&unknown).contains("no K3s server could list the cluster's pods"),
        "{}",
        unknown.text()
    );

    // Forced: every node goes, with a warning naming what still ran.
    std::fs::write(t.at("pods.txt"), &pods).unwrap();
    let forced = check(&t, &[&confirm[..], &["-e", "force=yes"]].concat());
    forced.assert_code(0);
    assert_eq!(
        hosts_changing(&forced, "uninstall.sh").len(),
        6,
        "{}",
        forced.text()
    );
    assert!(
        messages(&forced, "warn").contains("uninstalling k3s-worker-01 anyway (force=yes)"),
        "{}",
        forced.text()
    );
}

#[test]
fn nodes_without_k3s_are_left_alone_and_cluster_yml_runs_only_until_every_node_is_ready() {
    let t = migration();
    without_k3s(&t);
    // No cluster yet: phase 2 has nothing to do (no confirmation needed),
    // phase 3 runs cluster.yml.
    let out = check(&t, &[]);
    out.assert_code(0);
    assert!(
        hosts_changing(&out, "uninstall.sh").is_empty(),
        "{}",
        out.text()
    );
    assert_eq!(hosts_changing(&out, CLUSTER_YML), ["install-01"]);
    assert!(
        messages(&out, "log").contains("k3s-worker-01 has no"),
        "{}",
        out.text()
    );

    // Every node Ready at the pinned release: cluster.yml is left alone.
    nodes_ready(&t, KUBE_VERSION);
    let done = check(&t, &["--tags", "phase3"]);
    done.assert_code(0);
    assert!(
        hosts_changing(&done, CLUSTER_YML).is_empty(),
        "{}",
        done.text()
    );
    assert!(
        messages(&done, "log").contains(&format!(
            "all 6 nodes Ready at {KUBE_VERSION}; cluster.yml not run"
        )),
        "{}",
        done.text()
    );

    // One node at another release (or not Ready): cluster.yml runs again.
    nodes_ready(&t, "v1.31.9");
    let stale = check(&t, &["--tags", "phase3"]);
    assert_eq!(
        hosts_changing(&stale, CLUSTER_YML),
        ["install-01"],
        "{}",
        stale.text()
    );
    assert!(messages(&stale, "log").contains(&format!("runs v1.31.9, not {KUBE_VERSION}")));
}

#[test]
fn cluster_yml_is_refused_while_a_node_keeps_k3s() {
    let t = migration();
    let out = check(&t, &["--tags", "phase3"]);
    out.assert_code(2);
    let failed = failures(&out);
    assert!(
        failed.contains("refusing to run Kubespray's cluster.yml: K3s is still installed on k3s-master-01, k3s-master-02")
            && failed.contains("k3s-worker-03"),
        "{failed}\n{}",
        out.text()
    );
    assert!(hosts_changing(&out, CLUSTER_YML).is_empty());
}

#[test]
fn tags_select_one_phase_without_the_others_gates() {
    let t = migration();
    // No confirmation, pods unlistable: phase 1 alone still runs.
    let out = check(&t, &["--tags", "phase1"]);
    out.assert_code(0);
    let targets: Vec<String> = changes(&out).into_iter().map(|(_, t)| t).collect();
    assert_eq!(targets.len(), 3, "{targets:?}");
    assert!(
        targets.iter().all(|t| t.contains("k3s-export")),
        "{targets:?}"
    );
    // Phase 4 alone: the manifest and kubectl apply on the first control plane.
    let out = check(&t, &["--tags", "phase4"]);
    out.assert_code(0);
    let hosts: Vec<String> = changes(&out).into_iter().map(|(h, _)| h).collect();
    assert_eq!(hosts, ["k3s-master-01"; 3], "{}", out.text());
}

#[test]
fn render_writes_every_phase_for_review() {
    let t = Test::new()
        .playbook_file(common::repo().join("playbooks/migrate_k8s.rhai"))
        .inventory_file(common::repo().join("playbooks/inventory/servers.tsv"))
        .render()
        .var("confirm_uninstall_k3s", "yes");
    let out = t.run();
    out.assert_code(0);
    let install = t.read_review("install-01", "commands.sh");
    for line in [
        "umask 077 && ssh -o BatchMode=yes root@10.0.0.100 '/usr/local/bin/k3s kubectl get secrets -A -o yaml' > /opt/keybuzz/k3s-export/secrets.yaml.part",
        "git clone --depth 1 --branch v2.28.0 https://github.com/kubernetes-sigs/kubespray.git /opt/keybuzz/kubespray/src",
        "cd /opt/keybuzz/kubespray/src && ../venv/bin/ansible-playbook -i ../inventory/keybuzz/hosts.yaml -b cluster.yml",
    ] {
        assert!(install.lines().any(|l| l.starts_with(line)), "no `{line}`:\n{install}");
    }
    assert!(t
        .read_review("k3s-worker-05", "commands.sh")
        .contains("\n/usr/local/bin/k3s-agent-uninstall.sh\n"));
    assert!(t
        .read_review("k3s-master-03", "commands.sh")
        .contains("\n/usr/local/bin/k3s-uninstall.sh\n"));
    let manifest = t.read_review(
        "k3s-master-01",
        "opt/keybuzz/ingress-nginx/ingress-nginx.yaml",
    );
    for want in [
        "hostNetwork: true",
        "nodePort: 31695",
        "nodePort: 31696",
        "path: /healthz",
    ] {
        assert!(manifest.contains(want), "no `{want}` in the manifest");
    }
    assert!(manifest
        .contains("applied by\n# kubectl apply -f /opt/keybuzz/ingress-nginx/ingress-nginx.yaml"));
    // Only the Kubernetes nodes and install-01 are touched.
    for host in ["redis-01", "db-master-01", "temporal-01"] {
        assert!(!t.review(host, "").exists(), "{host} got files");
    }
}

/// With `KBZ_LAB_REQUIRED` (tests/run.sh, CI), fails unless the lab test
/// below runs too.
#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn check_on_a_real_host_without_k3s_plans_the_phases_and_touches_nothing() {
    let (_guard, lab) = lab_alone();
    // lab04 alone plays install-01, a server and an agent.
    let dir = tempfile::tempdir().unwrap();
    let groups: &[&str] = &["kubespray", "k3s_masters", "k3s_workers"];
    let inventory = lab.inventory(dir.path(), &[(3, groups, "")], "");
    let state = "ls -ld /opt/keybuzz/k3s-export /opt/keybuzz/kubespray /opt/keybuzz/ingress-nginx /usr/local/bin/k3s 2>&1; echo end";
    let before = lab.ssh(3, state);
    let t = lab
        .test()
        .inventory_file(&inventory)
        .playbook_file(common::repo().join("playbooks/migrate_k8s.rhai"));
    let out = t.run_with(&["--check"]);
    out.assert_code(0);
    assert_eq!(lab.ssh(3, state), before, "--check changed the host");
    let logs = messages(&out, "log");
    for script in ["k3s-agent-uninstall.sh", "k3s-uninstall.sh"] {
        assert!(
            logs.contains(&format!(
                "has no /usr/local/bin/{script}: already uninstalled"
            )),
            "{}",
            out.text()
        );
    }
    assert!(hosts_changing(&out, "uninstall.sh").is_empty());
    let host = &lab.hosts[3].0;
    for step in [
        "# K3s export: Secrets",
        "git clone --depth 1 --branch v2.28.0",
        CLUSTER_YML,
        "# kubectl apply -f /opt/keybuzz/ingress-nginx/ingress-nginx.yaml",
    ] {
        assert_eq!(
            hosts_changing(&out, step),
            [host.as_str()],
            "{step}\n{}",
            out.text()
        );
    }
    assert!(
        logs.contains("cluster.yml runs: kubectl get nodes did not answer"),
        "{}",
        out.text()
    );
}
