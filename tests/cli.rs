//! The command line as a new user meets it: help, docs, and the error
//! messages for the classic mistakes. None of these need a host: they run
//! offline (`render`) or fail before connecting.

mod common;

use common::{kbz, text, Test};

/// `kbz-play render site.rhai -i inv.tsv --out review` in a new project.
fn render(playbook: &str, inventory: &str) -> Test {
    Test::new().render().playbook(playbook).inventory(inventory)
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
    let out = render(
        "let a = 1;\nplay(\"x\", \"all\", |host| {\n    file(#{ path: \"/tmp/x\" ) ;\n});\n",
        INVENTORY,
    )
    .run();
    let err = out.stderr();
    out.assert_code(1);
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
    let out = render(
        "play(\"x\", \"all\", |host| {\n    file(#{ path: \"/tmp/x\", mdoe: \"0644\" });\n});\n",
        INVENTORY,
    )
    .run();
    let all = out.text();
    assert_eq!(out.code(), Some(2), "{all}");
    assert!(
        all.contains("unknown parameter 'mdoe' for file(); did you mean 'mode'?"),
        "{all}"
    );
    assert!(all.contains("site.rhai:2:"), "{all}");
}

#[test]
fn template_with_a_missing_variable_names_the_template_line() {
    let out = render(
        "play(\"x\", \"all\", |host| {\n    template(\"app.conf.j2\", \"/etc/app.conf\");\n});\n",
        INVENTORY,
    )
    .file(
        "templates/app.conf.j2",
        "listen {{ host.ip }}\nport {{ app_port }}\n",
    )
    .run();
    let all = out.text();
    assert_eq!(out.code(), Some(2), "{all}");
    assert!(all.contains("app.conf.j2:2"), "{all}");
    assert!(all.contains("undefined"), "{all}");
    assert!(all.contains("web-01"), "the failing host is named: {all}");
}

#[test]
fn malformed_inventory_names_file_line_and_column() {
    let out = render(
        "play(\"x\", \"all\", |host| {});\n",
        "hostname\tip_private\tgroups\nweb-01\t10.0.0.11\tweb\nweb-01\t10.0.0.12\tweb\n",
    )
    .run();
    let err = out.stderr();
    out.assert_code(1);
    assert!(err.contains("inv.tsv:3:1"), "{}", text(&out));
}

#[test]
fn render_writes_each_hosts_files_offline() {
    let t = render(
        "play(\"web\", \"web\", |host| {\n    template(\"app.conf.j2\", \"/etc/app/app.conf\", #{ mode: \"0640\" });\n    command(\"systemctl restart app\");\n});\n",
        "hostname\tip_private\tgroups\tport\nweb-01\t10.0.0.11\tweb\t8080\nweb-02\t10.0.0.12\tweb\t8081\ndb-01\t10.0.0.21\tdb\t5432\n",
    )
    .file("templates/app.conf.j2", "listen {{ host.ip }}:{{ port }}\n");
    let out_dir = t.at("review");
    t.run().assert_success();
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
    let t = render(
        "play(\"web\", \"web\", |host| {\n    template(\"app.conf.j2\", \"/etc/app.conf\");\n});\n",
        "hostname\tip_private\tgroups\tport\nweb-01\t10.0.0.11\tweb\t8080\n",
    )
    .file("templates/app.conf.j2", "port {{ port }}\n")
    .var("port", 9999);
    t.run().assert_success();
    assert_eq!(t.read_review("web-01", "etc/app.conf"), "port 9999\n");
}

#[test]
fn roles_find_their_templates_and_data_from_any_working_directory() {
    let elsewhere = tempfile::tempdir().unwrap();
    let t = Test::new()
        .render()
        .file(
            "playbooks/site.rhai",
            "import \"app\" as app;\nplay(\"x\", \"all\", |host| { app::apply(host); });\n",
        )
        .playbook_file("playbooks/site.rhai")
        .file(
            "roles/app.rhai",
            "fn apply(host) {\n    let d = load_yaml(\"app/defaults.yml\");\n    template(\"app/app.conf.j2\", \"/etc/app.conf\", #{ vars: d });\n}\n",
        )
        .file("roles/app/defaults.yml", "port: 7000\n")
        .file("templates/app/app.conf.j2", "{{ host.name }} {{ port }}\n")
        .inventory(INVENTORY)
        .current_dir(elsewhere.path());
    t.run().assert_success();
    assert_eq!(t.read_review("db-01", "etc/app.conf"), "db-01 7000\n");
}

#[test]
fn an_error_inside_a_role_points_at_the_role_file() {
    let out = render(
        "import \"app\" as app;\nplay(\"x\", \"all\", |host| { app::apply(host); });\n",
        INVENTORY,
    )
    .file(
        "roles/app.rhai",
        "fn apply(host) {\n    let x = 1;\n    file(#{ path: \"/x\", stat: \"directory\" });\n}\n",
    )
    .run();
    let all = out.text();
    assert_eq!(out.code(), Some(2), "{all}");
    assert!(all.contains("roles/app.rhai:3:5"), "{all}");
    assert!(all.contains("did you mean 'state'?"), "{all}");
}

#[test]
fn ansible_yaml_inventories_and_group_vars_load_unchanged() {
    let t = Test::new()
        .render()
        .playbook("play(\"x\", \"kube_node:!kube_control_plane\", |host| {\n    template(\"node.j2\", \"/etc/node.conf\");\n});\n")
        .file("templates/node.j2", "{{ inventory_hostname }} {{ ip }} {{ cluster_name }} {{ node_role }}\n")
        .file(
            "inventory/hosts.yaml",
            "all:\n  hosts:\n    master-1: { ansible_host: 10.0.0.100, ip: 10.0.0.100 }\n    worker-1: { ansible_host: 10.0.0.110, ip: 10.0.0.110 }\n  children:\n    kube_control_plane:\n      hosts: { master-1: }\n    kube_node:\n      hosts: { master-1: , worker-1: }\n    k8s_cluster:\n      children: { kube_control_plane: , kube_node: }\n",
        )
        .file("inventory/group_vars/k8s_cluster.yml", "cluster_name: keybuzz\nnode_role: member\n")
        .file("inventory/host_vars/worker-1.yml", "node_role: worker\n")
        .inventory_file("inventory");
    t.run().assert_success();
    assert!(
        !t.review("master-1", "").exists(),
        "the control plane is excluded"
    );
    assert_eq!(
        t.read_review("worker-1", "etc/node.conf"),
        "worker-1 10.0.0.110 keybuzz worker\n"
    );
    let listed = kbz(&[
        "inventory",
        "-i",
        t.at("inventory/hosts.yaml").to_str().unwrap(),
        "--limit",
        "k8s_cluster",
    ]);
    let hosts: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(hosts.as_array().unwrap().len(), 2, "{}", text(&listed));
    assert_eq!(hosts[1]["vars"]["node_role"], "worker");
}

#[test]
fn render_accumulates_edits_of_one_file() {
    let t = render(
        "play(\"x\", \"all\", |host| {\n    line(#{ path: \"/etc/hosts\", line: \"10.0.0.1 a\", create: true });\n    line(#{ path: \"/etc/hosts\", line: \"10.0.0.2 b\" });\n});\n",
        INVENTORY,
    );
    t.run().assert_success();
    assert_eq!(
        t.read_review("web-01", "etc/hosts"),
        "10.0.0.1 a\n10.0.0.2 b\n"
    );
}

#[test]
fn render_empties_only_a_folder_it_wrote() {
    let playbook = "play(\"web\", \"web\", |host| { copy(#{ dest: \"/etc/a.conf\", content: \"a\\n\" }); });\n";
    let t = render(playbook, INVENTORY).file("review/notes.txt", "mine\n");
    let out = t.run();
    out.assert_code(1);
    assert!(
        out.stderr()
            .contains("not a folder an earlier `kbz-play render` wrote"),
        "{}",
        out.text()
    );
    assert_eq!(
        std::fs::read_to_string(t.at("review/notes.txt")).unwrap(),
        "mine\n"
    );

    std::fs::remove_file(t.at("review/notes.txt")).unwrap();
    t.run().assert_success();
    std::fs::write(t.at("review/web-01/stale"), "old render\n").unwrap();
    t.run().assert_success();
    assert!(
        !t.at("review/web-01/stale").exists(),
        "a folder render wrote is emptied"
    );
    assert_eq!(t.read_review("web-01", "etc/a.conf"), "a\n");
}

#[test]
fn render_writes_nothing_outside_its_folder() {
    let playbook = "play(\"web\", \"web\", |host| { copy(#{ dest: \"/etc/../../../escaped\", content: \"x\\n\" }); });\n";
    let t = render(playbook, INVENTORY);
    let out = t.run();
    assert!(!t.at("escaped").exists(), "{}", out.text());
    assert!(!out.success(), "{}", out.text());
    assert!(out.text().contains("has a '..'"), "{}", out.text());
}
