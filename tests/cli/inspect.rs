//! The modes that read a playbook without touching a host, as
//! `ansible-playbook` has them: `--list-hosts`, `--list-tags`,
//! `--list-tasks` and `--syntax-check`. Each runs against a fleet whose
//! every connection attempt leaves a mark.

use crate::common::{self, kbz, text, Test};

/// A play tagged `webtag` on `web`, another on `all:!db`.
const TWO_PLAYS: &str = "play(\"Web\", \"web\", #{ tags: [\"webtag\", \"x\"] }, |host| { command(\"true\"); });\nplay(\"All\", \"all:!db\", |host| { command(\"true\"); });\n";

/// Hosts at TEST-NET addresses, reached only through an ssh config whose
/// ProxyCommand leaves a mark and fails: any connection attempt shows.
fn unreachable_fleet(playbook: &str) -> Test {
    let t = Test::new().playbook(playbook).inventory(
        "hostname\tip_private\tgroups\nweb-01\t192.0.2.1\tweb\nweb-02\t192.0.2.2\tweb\ndb-01\t192.0.2.3\tdb\n",
    );
    let mark = t.at("connected");
    let config = format!(
        "Host *\n  ProxyCommand sh -c 'echo %h >> {}; exit 1'\n",
        mark.display()
    );
    let t = t.file("ssh_config", &config);
    let config = t.at("ssh_config");
    t.ssh_config(config)
}

#[test]
fn list_hosts_prints_each_plays_hosts_and_connects_nowhere() {
    let t = unreachable_fleet(TWO_PLAYS);
    let out = t.run_with(&["--list-hosts"]);
    out.assert_code(0);
    assert!(!t.at("connected").exists(), "a connection was attempted");
    assert_eq!(
        out.stdout(),
        "\nplaybook: site.rhai\n\n  play #1 (web): Web\tTAGS: [webtag,x]\n    pattern: ['web']\n    hosts (2):\n      web-01\n      web-02\n\n  play #2 (all:!db): All\tTAGS: []\n    pattern: ['all:!db']\n    hosts (2):\n      web-01\n      web-02\n"
            .replace("site.rhai", &t.at("site.rhai").display().to_string()),
        "{}",
        out.text()
    );
    let (playbook, inventory) = (t.at("site.rhai"), t.at("inv.tsv"));
    let limited = |run: &[&str]| {
        let rest = [
            playbook.to_str().unwrap(),
            "-i",
            inventory.to_str().unwrap(),
        ];
        let args = [run, &rest, &["--list-hosts", "--limit", "web-02"]].concat();
        kbz(&args)
    };
    let (implied, explicit) = (limited(&[]), limited(&["run"]));
    let listed = String::from_utf8_lossy(&explicit.stdout);
    assert!(
        listed.contains("hosts (1):\n      web-02\n"),
        "{}",
        text(&explicit)
    );
    assert_eq!(implied.stdout, explicit.stdout, "`run` is implied");
    // The control: the same playbook run for real does try the hosts.
    t.run().assert_code(4);
    assert!(t.at("connected").exists(), "the ProxyCommand mark works");
}

/// Plays with tags, a role whose ops carry its name as a tag, ops with their
/// own tags, and an op only one host calls.
const TAGGED: &str = r#"import "web" as web;
play("Web", "web", #{ tags: ["webtag"] }, |host| {
    web::apply(host);
    command(#{ cmd: "echo one", tags: ["mine", "b"] });
    if host.name == "web-02" { command(#{ cmd: "echo late", tags: ["late"] }); }
    command("echo two");
});
play("Empty", "db", |host| { command("echo three"); });
play("Tagged", "db", |host| { command(#{ cmd: "echo four", tags: "x" }); });
"#;

const WEB_ROLE: &str = r#"fn apply(host) {
    file(#{ path: "/etc/web", state: "directory", tags: ["pkg", "zeta"] });
    copy(#{ dest: "/etc/web/conf", content: secret("WEB_TOKEN") });
}
"#;

/// [`TAGGED`] on the fleet that marks any connection attempt.
fn tagged_fleet() -> Test {
    unreachable_fleet(TAGGED).file("roles/web.rhai", WEB_ROLE)
}

/// The listing after its `playbook:` line, which names the file.
fn plays_listed(out: &common::Outcome) -> String {
    let stdout = out.stdout();
    let (_, plays) = stdout.split_once("\n\n").unwrap_or(("", &stdout));
    plays.to_string()
}

#[test]
fn list_tags_prints_each_plays_tags_and_connects_nowhere() {
    let t = unreachable_fleet(TWO_PLAYS);
    let out = t.run_with(&["--list-tags"]);
    out.assert_code(0);
    assert!(!t.at("connected").exists(), "a connection was attempted");
    let stdout = out.stdout();
    assert!(
        stdout.ends_with(
            "site.rhai\n\n  play #1 (web): Web\tTAGS: [webtag,x]\n      TASK TAGS: [webtag, x]\n\n  play #2 (all:!db): All\tTAGS: []\n      TASK TAGS: []\n"
        ),
        "{}",
        out.text()
    );
    assert!(!stdout.contains("hosts ("), "{}", out.text());
}

#[test]
fn list_tags_runs_the_play_bodies_offline_for_their_ops_tags() {
    let t = tagged_fleet();
    let out = t.run_with(&["--list-tags"]);
    out.assert_code(0);
    assert!(!t.at("connected").exists(), "a connection was attempted");
    assert_eq!(
        plays_listed(&out),
        "  play #1 (web): Web\tTAGS: [webtag]\n      TASK TAGS: [b, late, mine, pkg, web, webtag, zeta]\n\n  \
         play #2 (db): Empty\tTAGS: []\n      TASK TAGS: []\n\n  \
         play #3 (db): Tagged\tTAGS: []\n      TASK TAGS: [x]\n",
        "{}",
        out.text()
    );
    assert!(
        !t.at("review").exists() && !t.at("web-01").exists(),
        "nothing rendered"
    );
    // The control: the same playbook run for real does try the hosts.
    t.run().assert_code(4);
    assert!(t.at("connected").exists(), "the ProxyCommand mark works");
}

#[test]
fn list_tags_and_list_tasks_follow_tags_and_limit() {
    let t = tagged_fleet();
    let out = t.run_with(&["--list-tags", "--tags", "mine,x"]);
    out.assert_code(0);
    assert_eq!(
        plays_listed(&out),
        "  play #1 (web): Web\tTAGS: [webtag]\n      TASK TAGS: [b, mine, webtag]\n\n  \
         play #2 (db): Empty\tTAGS: []\n      TASK TAGS: []\n\n  \
         play #3 (db): Tagged\tTAGS: []\n      TASK TAGS: [x]\n",
        "{}",
        out.text()
    );
    // As ansible-playbook's, the ops listed do not depend on `--limit`.
    let out = t.run_with(&["--list-tasks", "--limit", "web-01", "--skip-tags", "pkg,x"]);
    out.assert_code(0);
    assert!(!t.at("connected").exists(), "a connection was attempted");
    assert_eq!(
        plays_listed(&out),
        "  play #1 (web): Web\tTAGS: [webtag]\n    tasks:\n      \
         web : copy /etc/web/conf\tTAGS: [web, webtag]\n      \
         command echo one\tTAGS: [b, mine, webtag]\n      \
         command echo two\tTAGS: [webtag]\n      \
         command echo late\tTAGS: [late, webtag]\n\n  \
         play #2 (db): Empty\tTAGS: []\n    tasks:\n      \
         command echo three\tTAGS: []\n\n  \
         play #3 (db): Tagged\tTAGS: []\n    tasks:\n",
        "{}",
        out.text()
    );
}

#[test]
fn list_tasks_lists_every_hosts_ops_once_with_hosts_and_task_tags() {
    let t = tagged_fleet();
    let out = t.run_with(&["--list-tasks", "--list-hosts", "--list-tags"]);
    out.assert_code(0);
    assert!(!t.at("connected").exists(), "a connection was attempted");
    let listed = plays_listed(&out);
    assert!(
        listed.starts_with(
            "  play #1 (web): Web\tTAGS: [webtag]\n    pattern: ['web']\n    hosts (2):\n      \
             web-01\n      web-02\n    tasks:\n      \
             web : file /etc/web\tTAGS: [pkg, web, webtag, zeta]\n      \
             web : copy /etc/web/conf\tTAGS: [web, webtag]\n      \
             command echo one\tTAGS: [b, mine, webtag]\n      \
             command echo two\tTAGS: [webtag]\n      \
             command echo late\tTAGS: [late, webtag]\n      \
             TASK TAGS: [b, late, mine, pkg, web, webtag, zeta]\n\n"
        ),
        "{}",
        out.text()
    );
}

#[test]
fn list_tasks_includes_the_handlers_the_offline_run_notifies() {
    let t = unreachable_fleet(
        "handler(\"restart\", || command(#{ cmd: \"systemctl restart x\", tags: [\"hnd\"] }));\nplay(\"Web\", \"web\", |host| { copy(#{ dest: \"/etc/x\", content: \"x\\n\" }).notify(\"restart\"); });\n",
    );
    let out = t.run_with(&["--list-tasks", "--list-tags"]);
    out.assert_code(0);
    assert_eq!(
        plays_listed(&out),
        "  play #1 (web): Web\tTAGS: []\n    tasks:\n      copy /etc/x\tTAGS: []\n      \
         command systemctl restart x\tTAGS: [hnd]\n      TASK TAGS: [hnd]\n",
        "{}",
        out.text()
    );
}

#[test]
fn list_tags_shows_a_play_bodys_error_exits_2_and_lists_the_plays_after_it() {
    let t = unreachable_fleet(
        "play(\"Web\", \"web\", #{ any_errors_fatal: true }, |host| { command(#{ cmd: \"true\", tags: [\"a\"] }); file(#{ path: \"/x\", mdoe: \"0644\" }); });\n\
         play(\"All\", \"all\", |host| { if host.name == \"web-02\" { command(#{ cmd: \"true\", tags: [\"later\"] }); } });\n",
    );
    let out = t.run_with(&["--list-tags"]);
    out.assert_code(2);
    assert!(out.stderr().contains("mdoe"), "{}", out.text());
    assert_eq!(
        plays_listed(&out),
        "  play #1 (web): Web\tTAGS: []\n      TASK TAGS: [a]\n\n  \
         play #2 (all): All\tTAGS: []\n      TASK TAGS: [later]\n",
        "what ran before the error is listed, and the plays after it on every host: {}",
        out.text()
    );
    assert!(!t.at("connected").exists(), "a connection was attempted");
}

/// [`TAGGED`] without its host-dependent op, and the same plays in Ansible's
/// YAML: each task named as kbz-play names the op, the role tagged with its
/// name (which kbz-play's roles give their ops).
const COMPARED: &[(&str, &str)] = &[
    ("site.rhai", r#"import "web" as web;
play("Web", "web", #{ tags: ["webtag"] }, |host| {
    web::apply(host);
    command(#{ cmd: "echo one", tags: ["mine", "b"] });
    command("echo two");
});
play("Empty", "db", |host| { command("echo three"); });
play("Tagged", "db", |host| { command(#{ cmd: "echo four", tags: "x" }); });
"#),
    ("roles/web.rhai", WEB_ROLE),
    ("site.yml", "- name: Web\n  hosts: web\n  tags: [webtag]\n  roles:\n    - role: web\n      tags: [web]\n  tasks:\n    - name: command echo one\n      command: echo one\n      tags: [mine, b]\n    - name: command echo two\n      command: echo two\n- name: Empty\n  hosts: db\n  tasks:\n    - name: command echo three\n      command: echo three\n- name: Tagged\n  hosts: db\n  tasks:\n    - name: command echo four\n      command: echo four\n      tags: x\n"),
    ("roles/web/tasks/main.yml", "- name: file /etc/web\n  file: path=/etc/web state=directory\n  tags: [pkg, zeta]\n- name: copy /etc/web/conf\n  copy: dest=/etc/web/conf content=x\n"),
    ("hosts.ini", "[web]\nweb-01 ansible_host=192.0.2.1\nweb-02 ansible_host=192.0.2.2\n[db]\ndb-01 ansible_host=192.0.2.3\n"),
];

#[test]
#[ignore = "needs ansible-playbook (ansible-core) on PATH: bash tests/run.sh installs it in a Python venv"]
fn list_tags_and_list_tasks_print_what_ansible_playbook_prints() {
    let ansible = common::find_tool("ansible-playbook").expect("ansible-playbook on PATH");
    let t = COMPARED
        .iter()
        .fold(Test::new(), |t, (path, text)| t.file(path, text));
    let listings: &[&[&str]] = &[
        &["--list-tags"],
        &["--list-tasks"],
        &["--list-tags", "--list-tasks", "--tags", "mine,x"],
        &["--list-tags", "--skip-tags", "web", "--limit", "web-02"],
    ];
    for flags in listings {
        let run = |program: &std::path::Path, playbook: &str| {
            let out = std::process::Command::new(program)
                .args([playbook, "-i", "hosts.ini"])
                .args(*flags)
                .current_dir(t.path())
                .output()
                .unwrap();
            assert!(out.status.success(), "{flags:?}: {}", text(&out));
            String::from_utf8(out.stdout)
                .unwrap()
                .replace(playbook, "PLAYBOOK")
        };
        let kbz_bin = std::path::Path::new(env!("CARGO_BIN_EXE_kbz-play"));
        assert_eq!(
            run(kbz_bin, "site.rhai"),
            run(&ansible, "site.yml"),
            "{flags:?}: kbz-play, then ansible-playbook"
        );
    }
}

/// With `KBZ_VALIDATORS_REQUIRED` set (tests/run.sh, CI), the comparison
/// above must be part of the run and find `ansible-playbook`.
#[test]
fn ansible_playbook_runs_when_kbz_validators_required_is_set() {
    common::venv_tool_guard("ansible-playbook", "the ansible-playbook comparison");
}

#[test]
fn syntax_check_passes_a_good_playbook_and_connects_nowhere() {
    let t = unreachable_fleet(
        "import \"app\" as app;\nlet password = secret(\"APP_PASSWORD\");\nplay(\"x\", \"all\", |host| { app::apply(host); });\n",
    )
    .file("roles/app.rhai", "fn apply(host) { command(\"true\"); }\n");
    let out = t.run_with(&["--syntax-check"]);
    out.assert_code(0);
    assert_eq!(
        out.stdout(),
        format!("\nplaybook: {}\n", t.at("site.rhai").display()),
        "{}",
        out.text()
    );
    assert!(!t.at("connected").exists(), "a connection was attempted");
}

#[test]
fn syntax_check_names_the_error_and_exits_4() {
    let cases = [
        (
            "let a = 1;\nplay(\"x\", \"all\", |host| {\n    file(#{ path: \"/tmp/x\" ) ;\n});\n",
            "site.rhai:3:",
        ),
        (
            "play(\"x\", \"all\", #{ serail: 1 }, |host| {});\n",
            "did you mean 'serial'?",
        ),
        (
            "play(\"x\", \"all\", #{ xyzzy_option: 1 }, |host| {});\n",
            "(known: serial, max_fail_percentage, any_errors_fatal, run_once, gather_facts, tags, vars)",
        ),
        ("import \"app\" as app;\n", "roles/app.rhai:2:"),
        ("play(\"x\", \"web:&\", |host| {});\n", "web:&"),
    ];
    for (playbook, expected) in cases {
        let t =
            unreachable_fleet(playbook).file("roles/app.rhai", "fn apply(host) {\n  let = 1;\n}\n");
        let out = t.run_with(&["--syntax-check"]);
        out.assert_code(4);
        assert!(
            out.stderr().contains(expected),
            "{playbook}: {}",
            out.text()
        );
        assert!(!t.at("connected").exists(), "a connection was attempted");
    }
}
