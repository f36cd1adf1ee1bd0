//! The command line as a new user meets it: help, docs, and the error
//! messages for the classic mistakes. None of these need a host: they run
//! offline (`render`) or fail before connecting.

mod common;

use common::{kbz, project, text};

/// Renders `site.rhai` of project `p` with `inv.tsv` into `p/review`.
fn render(p: &tempfile::TempDir, extra: &[&str]) -> std::process::Output {
    let site = p.path().join("site.rhai");
    let inv = p.path().join("inv.tsv");
    let out = p.path().join("review");
    let mut args = vec![
        "render",
        site.to_str().unwrap(),
        "-i",
        inv.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    kbz(&args)
}

const INVENTORY: &str =
    "hostname\tip_private\tip_public\tgroups\nweb-01\t10.0.0.11\t\tweb\ndb-01\t10.0.0.21\t\tdb\n";

#[test]
fn help_lists_the_ansible_flags() {
    let out = kbz(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    for flag in [
        "render",
        "doc",
        "--check",
        "--diff",
        "--limit",
        "--tags",
        "--skip-tags",
        "--forks",
        "--extra-vars",
        "--become",
        "--user",
        "--inventory",
    ] {
        let run_help = String::from_utf8_lossy(&kbz(&["run", "--help"]).stdout).into_owned();
        assert!(
            help.contains(flag) || run_help.contains(flag),
            "--help lacks {flag}"
        );
    }
}

#[test]
fn doc_lists_ops_and_describes_one() {
    let out = kbz(&["doc"]);
    let all = String::from_utf8_lossy(&out.stdout);
    for op in [
        "file", "copy", "template", "line", "command", "shell", "package", "service", "sysctl",
        "user", "group", "wait_for",
    ] {
        assert!(
            all.lines().any(|l| l.trim_start().starts_with(op)),
            "doc lacks {op}:\n{all}"
        );
    }
    let out = kbz(&["doc", "file"]);
    let file = String::from_utf8_lossy(&out.stdout);
    assert!(
        file.contains("mode") && file.contains("owner") && file.contains("Example"),
        "{file}"
    );
    let out = kbz(&["doc", "fiel"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("did you mean 'file'"),
        "{}",
        text(&out)
    );
}

#[test]
fn syntax_error_points_at_the_line() {
    let p = project(&[
        (
            "site.rhai",
            "let a = 1;\nplay(\"x\", \"all\", |host| {\n    file(#{ path: \"/tmp/x\" ) ;\n});\n",
        ),
        ("inv.tsv", INVENTORY),
    ]);
    let out = render(&p, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(err.contains("site.rhai:3:"), "{}", text(&out));
    assert!(
        err.contains("3 |     file(#{ path: \"/tmp/x\" ) ;"),
        "{}",
        text(&out)
    );
    assert!(err.contains('^'), "{}", text(&out));
}

#[test]
fn unknown_parameter_gets_a_suggestion() {
    let p = project(&[
        ("site.rhai", "play(\"x\", \"all\", |host| {\n    file(#{ path: \"/tmp/x\", mdoe: \"0644\" });\n});\n"),
        ("inv.tsv", INVENTORY),
    ]);
    let out = render(&p, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains("unknown parameter 'mdoe' for file(); did you mean 'mode'?"),
        "{all}"
    );
    assert!(all.contains("site.rhai:2:"), "{all}");
}

#[test]
fn template_with_a_missing_variable_names_the_template_line() {
    let p = project(&[
        ("site.rhai", "play(\"x\", \"all\", |host| {\n    template(\"app.conf.j2\", \"/etc/app.conf\");\n});\n"),
        ("templates/app.conf.j2", "listen {{ host.ip }}\nport {{ app_port }}\n"),
        ("inv.tsv", INVENTORY),
    ]);
    let out = render(&p, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("app.conf.j2:2"), "{all}");
    assert!(all.contains("undefined"), "{all}");
    assert!(all.contains("web-01"), "the failing host is named: {all}");
}

#[test]
fn malformed_inventory_names_file_line_and_column() {
    let p = project(&[
        ("site.rhai", "play(\"x\", \"all\", |host| {});\n"),
        (
            "inv.tsv",
            "hostname\tip_private\tgroups\nweb-01\t10.0.0.11\tweb\nweb-01\t10.0.0.12\tweb\n",
        ),
    ]);
    let out = render(&p, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(err.contains("inv.tsv:3:1"), "{}", text(&out));
}

#[test]
fn render_writes_each_hosts_files_offline() {
    let p = project(&[
        (
            "site.rhai",
            "play(\"web\", \"web\", |host| {\n    template(\"app.conf.j2\", \"/etc/app/app.conf\", #{ mode: \"0640\" });\n    command(\"systemctl restart app\");\n});\n",
        ),
        ("templates/app.conf.j2", "listen {{ host.ip }}:{{ port }}\n"),
        ("inv.tsv", "hostname\tip_private\tgroups\tport\nweb-01\t10.0.0.11\tweb\t8080\nweb-02\t10.0.0.12\tweb\t8081\ndb-01\t10.0.0.21\tdb\t5432\n"),
    ]);
    let out_dir = p.path().join("review");
    let out = render(&p, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let conf = std::fs::read_to_string(out_dir.join("web-02/etc/app/app.conf")).unwrap();
    assert_eq!(conf, "listen 10.0.0.12:8081\n");
    let commands = std::fs::read_to_string(out_dir.join("web-01/commands.sh")).unwrap();
    assert!(
        commands.contains("mode=0640") && commands.contains("systemctl restart app"),
        "{commands}"
    );
    assert!(!out_dir.join("db-01").exists(), "db-01 is not in the play");
}

#[test]
fn extra_vars_override_inventory_vars() {
    let p = project(&[
        ("site.rhai", "play(\"web\", \"web\", |host| {\n    template(\"app.conf.j2\", \"/etc/app.conf\");\n});\n"),
        ("templates/app.conf.j2", "port {{ port }}\n"),
        ("inv.tsv", "hostname\tip_private\tgroups\tport\nweb-01\t10.0.0.11\tweb\t8080\n"),
    ]);
    let out_dir = p.path().join("review");
    let out = render(&p, &["-e", "port=9999"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read_to_string(out_dir.join("web-01/etc/app.conf")).unwrap(),
        "port 9999\n"
    );
}

#[test]
fn roles_find_their_templates_and_data_from_any_working_directory() {
    let p = project(&[
        ("playbooks/site.rhai", "import \"app\" as app;\nplay(\"x\", \"all\", |host| { app::apply(host); });\n"),
        (
            "roles/app.rhai",
            "fn apply(host) {\n    let d = load_yaml(\"app/defaults.yml\");\n    template(\"app/app.conf.j2\", \"/etc/app.conf\", #{ vars: d });\n}\n",
        ),
        ("roles/app/defaults.yml", "port: 7000\n"),
        ("templates/app/app.conf.j2", "{{ host.name }} {{ port }}\n"),
        ("inv.tsv", INVENTORY),
    ]);
    let elsewhere = tempfile::tempdir().unwrap();
    let out = common::bin()
        .current_dir(elsewhere.path())
        .args([
            "render",
            p.path().join("playbooks/site.rhai").to_str().unwrap(),
        ])
        .args(["-i", p.path().join("inv.tsv").to_str().unwrap()])
        .args(["--out", p.path().join("review").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let conf = std::fs::read_to_string(p.path().join("review/db-01/etc/app.conf")).unwrap();
    assert_eq!(conf, "db-01 7000\n");
}

#[test]
fn an_error_inside_a_role_points_at_the_role_file() {
    let p = project(&[
        ("site.rhai", "import \"app\" as app;\nplay(\"x\", \"all\", |host| { app::apply(host); });\n"),
        ("roles/app.rhai", "fn apply(host) {\n    let x = 1;\n    file(#{ path: \"/x\", stat: \"directory\" });\n}\n"),
        ("inv.tsv", INVENTORY),
    ]);
    let out = render(&p, &[]);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("roles/app.rhai:3:5"), "{all}");
    assert!(all.contains("did you mean 'state'?"), "{all}");
}

#[test]
fn ansible_yaml_inventories_and_group_vars_load_unchanged() {
    let p = project(&[
        ("site.rhai", "play(\"x\", \"kube_node:!kube_control_plane\", |host| {\n    template(\"node.j2\", \"/etc/node.conf\");\n});\n"),
        ("templates/node.j2", "{{ inventory_hostname }} {{ ip }} {{ cluster_name }} {{ node_role }}\n"),
        (
            "inventory/hosts.yaml",
            "all:\n  hosts:\n    master-1: { ansible_host: 10.0.0.100, ip: 10.0.0.100 }\n    worker-1: { ansible_host: 10.0.0.110, ip: 10.0.0.110 }\n  children:\n    kube_control_plane:\n      hosts: { master-1: }\n    kube_node:\n      hosts: { master-1: , worker-1: }\n    k8s_cluster:\n      children: { kube_control_plane: , kube_node: }\n",
        ),
        ("inventory/group_vars/k8s_cluster.yml", "cluster_name: keybuzz\nnode_role: member\n"),
        ("inventory/host_vars/worker-1.yml", "node_role: worker\n"),
    ]);
    let out = common::bin()
        .args(["render", p.path().join("site.rhai").to_str().unwrap()])
        .args(["-i", p.path().join("inventory").to_str().unwrap()])
        .args(["--out", p.path().join("review").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !p.path().join("review/master-1").exists(),
        "the control plane is excluded"
    );
    let conf = std::fs::read_to_string(p.path().join("review/worker-1/etc/node.conf")).unwrap();
    assert_eq!(conf, "worker-1 10.0.0.110 keybuzz worker\n");
    let listed = kbz(&[
        "inventory",
        "-i",
        p.path().join("inventory/hosts.yaml").to_str().unwrap(),
        "--limit",
        "k8s_cluster",
    ]);
    let hosts: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(hosts.as_array().unwrap().len(), 2, "{}", text(&listed));
    assert_eq!(hosts[1]["vars"]["node_role"], "worker");
}

#[test]
fn render_accumulates_edits_of_one_file() {
    let p = project(&[
        (
            "site.rhai",
            "play(\"x\", \"all\", |host| {\n    line(#{ path: \"/etc/hosts\", line: \"10.0.0.1 a\", create: true });\n    line(#{ path: \"/etc/hosts\", line: \"10.0.0.2 b\" });\n});\n",
        ),
        ("inv.tsv", INVENTORY),
    ]);
    let out = render(&p, &[]);
    assert!(out.status.success(), "{}", text(&out));
    let hosts = std::fs::read_to_string(p.path().join("review/web-01/etc/hosts")).unwrap();
    assert_eq!(hosts, "10.0.0.1 a\n10.0.0.2 b\n");
}
