//! The command line as a new user meets it: help, docs, and the error
//! messages for the classic mistakes. None of these need a host: they run
//! offline (`render`) or fail before connecting. The modes that read a
//! playbook without touching a host (`--list-*`, `--syntax-check`) are in
//! `inspect`; the binary's own process (its environment) in `process`.

#[path = "../common/mod.rs"]
mod common;
mod inspect;
mod process;

use common::{kbz, text, Test};

/// `kbz-play render site.rhai -i inv.tsv --out review` in a new project.
fn render(playbook: &str, inventory: &str) -> Test {
    Test::new().render().playbook(playbook).inventory(inventory)
}

const INVENTORY: &str =
    "hostname\tip_private\tip_public\tgroups\nweb-01\t10.0.0.11\t\tweb\ndb-01\t10.0.0.21\t\tdb\n";

#[test]
fn help_shows_the_run_options_then_the_subcommands() {
    let out = kbz(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", text(&out));
    assert!(help.starts_with("Rhai playbooks over SSH"), "{help}");
    let options = help.find("\nOptions:\n").expect("an Options section");
    let commands = help.find("\nCommands:\n").expect("a Commands section");
    assert!(options < commands, "the run's options come first:\n{help}");
    let (run_options, subcommands) = help.split_at(commands);
    for flag in [
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
        "--list-hosts",
        "--list-tags",
        "--syntax-check",
    ] {
        assert!(run_options.contains(flag), "--help lacks {flag}:\n{help}");
    }
    for sub in [
        "run",
        "render",
        "doc",
        "inventory",
        "disconnect",
        "completions",
        "man",
    ] {
        assert!(
            subcommands.contains(&format!("\n  {sub} ")),
            "--help lacks the subcommand {sub}:\n{help}"
        );
    }
    assert!(help.contains("Exit codes:\n  0 "), "{help}");
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

/// `kbz-play completions SHELL`.
fn completions(shell: &str) -> String {
    let out = kbz(&["completions", shell]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

/// What bash's completion function for kbz-play offers for `words`, the
/// last one being completed.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let script = format!(
        "source <({bin} completions bash) || exit 9\n\
         complete -p kbz-play || exit 8\n\
         COMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE=\"${{COMP_WORDS[*]}}\"; COMP_POINT=${{#COMP_LINE}}\n\
         _kbz__play kbz-play \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        bin = env!("CARGO_BIN_EXE_kbz-play"),
        words = words.join(" "),
        cword = words.len() - 1,
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &script])
        .output()
        .expect("bash runs");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_completion_loads_in_bash_and_completes() {
    assert_eq!(bash_completes(&["kbz-play", "comp"]), ["completions"]);
    assert_eq!(bash_completes(&["kbz-play", "completions", "fi"]), ["fish"]);
    assert_eq!(
        bash_completes(&["kbz-play", "site.rhai", "--list-h"]),
        ["--list-hosts"]
    );
    assert_eq!(
        bash_completes(&["kbz-play", "site.rhai", "--output", "j"]),
        ["json"]
    );
}

#[test]
fn zsh_and_fish_completions_are_generated() {
    let zsh = completions("zsh");
    assert!(zsh.starts_with("#compdef kbz-play"), "{zsh}");
    assert!(
        zsh.contains("--syntax-check") && zsh.contains("completions"),
        "{zsh}"
    );
    let fish = completions("fish");
    assert!(fish.contains("complete -c kbz-play"), "{fish}");
    assert!(fish.contains("-l list-tags"), "{fish}");
    let out = kbz(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

/// `script` run by `shell -c`, the path of that shell's completion script
/// as its last argument (zsh's `$1`, fish's `$argv[-1]`); its stdout.
fn shell_with_completions(shell: &str, script: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("kbz-play.{shell}"));
    std::fs::write(&file, completions(shell)).unwrap();
    let out = std::process::Command::new(shell)
        .env("ZDOTDIR", dir.path())
        .args(["-c", script, "completions"])
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{shell} runs: {e}"));
    assert!(out.status.success(), "{shell}: {}", text(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
#[ignore = "needs zsh and fish: bash tests/run.sh installs them"]
fn zsh_and_fish_load_the_completions_and_complete() {
    let zsh = shell_with_completions(
        "zsh",
        r#"autoload -Uz compinit && compinit -u -d "$ZDOTDIR/.zcompdump" && source "$1" && print -r -- ${_comps[kbz-play]}"#,
    );
    assert_eq!(
        zsh.trim(),
        "_kbz-play",
        "zsh registers the completion function"
    );
    let fish = shell_with_completions(
        "fish",
        r#"source $argv[-1]; complete -C"kbz-play --list-t"; complete -C"kbz-play compl""#,
    );
    assert!(fish.lines().any(|l| l.starts_with("--list-tags")), "{fish}");
    assert!(fish.lines().any(|l| l.starts_with("completions")), "{fish}");
}

/// `kbz-play man ARGS` as groff renders it as text, with every warning on
/// (groff-base is on every Debian: man-db needs it).
fn man_page(args: &[&str]) -> String {
    let out = kbz(&[&["man"], args].concat());
    assert!(out.status.success(), "{}", text(&out));
    let roff = String::from_utf8(out.stdout).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("kbz-play.1");
    std::fs::write(&page, &roff).unwrap();
    let out = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbou"])
        .arg(&page)
        .output()
        .expect("groff runs");
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        text(&out)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_man_pages_render() {
    let page = man_page(&[]);
    for expected in [
        "kbz-play(1)",
        "SYNOPSIS",
        "--list-hosts",
        "kbz-play-render(1)",
        "Exit codes:",
        "130",
    ] {
        assert!(
            page.contains(expected),
            "the page lacks {expected}:\n{page}"
        );
    }
    let render = man_page(&["render"]);
    assert!(
        render.contains("kbz-play-render(1)") && render.contains("--out"),
        "{render}"
    );
    let out = kbz(&["man", "rendr"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}
