//! `--check` plans against the changes it has planned, as `render` does and
//! as a real run finds the host: on a fresh host, creating a folder, writing
//! a file into it and editing that file is three changes under `--check`, not
//! a failure ("does not exist"), and nothing reaches the host. `render` and
//! `--check --diff` agree on every file's planned content, and the real run
//! leaves the file with it.
//!
//! Once on this machine (`ansible_connection: local`, under a temp dir), and
//! once on a lab host (ignored unless asked for: it needs the lab up).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::lab::first_hosts_alone;
use common::{Outcome, Test};

/// Creates `dir`, writes `dir/app.conf`, then edits its middle line.
const PLAY: &str = r#"
play("check", "all", |host| {
    let dir = host.vars.dir;
    file(#{ path: dir, state: "directory", mode: "0755" });
    copy(#{ dest: dir + "/app.conf", content: "name = demo\nport = 80\nworkers = 2\n" });
    line(#{ path: dir + "/app.conf", regexp: "^port ", line: "port = 8080" });
});
"#;

/// What the play leaves `app.conf` with.
const FINAL: &str = "name = demo\nport = 8080\nworkers = 2\n";

/// The content each file ends up with according to the `--diff` of a run:
/// the desired side of the last diff shown for it. The play's files are
/// short enough for one hunk to hold them whole.
fn desired(out: &Outcome) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for event in out.events_named("op_end") {
        let Some(diff) = event["diff"].as_str() else {
            continue;
        };
        let mut path: Option<String> = None;
        let mut content = String::new();
        let mut in_hunk = false;
        let lines: Vec<&str> = diff.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if let Some(p) = line.strip_prefix("+++ ") {
                if let Some(done) = path.take() {
                    files.insert(done, std::mem::take(&mut content));
                }
                path = Some(p.trim_end_matches(" (desired)").to_string());
                in_hunk = false;
            } else if line.starts_with("--- ")
                && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ "))
            {
                continue;
            } else if line.starts_with("@@") {
                in_hunk = true;
            } else if !in_hunk {
                continue;
            } else if let Some(text) = line.strip_prefix('+').or(line.strip_prefix(' ')) {
                content.push_str(text);
                content.push('\n');
            } else if *line == "\\ No newline at end of file" && !lines[i - 1].starts_with('-') {
                content.pop();
            }
        }
        if let Some(done) = path {
            files.insert(done, content);
        }
    }
    files
}

/// Every file a render wrote for `host` under `out`, by its path on the host.
fn rendered(out: &Path, host: &str) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, files: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, files);
            } else if path.file_name().unwrap() != "commands.sh" {
                let on_host = Path::new("/").join(path.strip_prefix(root).unwrap());
                let content = std::fs::read_to_string(&path).unwrap();
                files.insert(on_host.display().to_string(), content);
            }
        }
    }
    let root = out.join(host);
    let mut files = BTreeMap::new();
    walk(&root, &root, &mut files);
    files
}

/// Asserts a `--check` run: three changes, no failure, exit 0.
fn assert_checked(out: &Outcome) {
    out.assert_code(0);
    let stats = out.stats(0);
    assert_eq!(
        (stats["changed"].as_u64(), stats["failed"].as_u64()),
        (Some(3), Some(0)),
        "{}",
        out.text()
    );
    let ends: Vec<String> = out
        .events_named("op_end")
        .iter()
        .map(|e| format!("{} {}", e["op"], e["status"]))
        .collect();
    assert_eq!(
        ends,
        [
            r#""file" "changed""#,
            r#""copy" "changed""#,
            r#""line" "changed""#
        ],
        "{}",
        out.text()
    );
}

/// Asserts that render and `--check --diff` agree on every file, and that
/// `app.conf` in `dir` is planned with [`FINAL`].
fn assert_agree(render_out: &Path, host: &str, checked: &Outcome, dir: &str) {
    let rendered = rendered(render_out, host);
    let planned = desired(checked);
    assert_eq!(rendered, planned, "render and --check --diff differ");
    assert_eq!(
        rendered.get(&format!("{dir}/app.conf")).map(String::as_str),
        Some(FINAL)
    );
}

/// `kbz-play render` of `playbook` on `inventory` with `args`, done: its
/// review folder is `at("review")`.
fn render(playbook: &Path, inventory: &Path, args: &[&str]) -> Test {
    let t = Test::new()
        .playbook_file(playbook)
        .inventory_file(inventory)
        .render()
        .args(args);
    t.run().assert_code(0);
    t
}

#[test]
fn check_plans_against_its_own_planned_writes_on_this_machine() {
    let t = Test::new().playbook(PLAY).inventory(
        "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n",
    );
    let dir = t.at("state/app");
    let dir = dir.to_str().unwrap().to_string();
    let t = t.var("dir", &dir);

    let checked = t.run_with(&["--check", "--diff"]);
    assert_checked(&checked);
    assert!(
        !t.at("state").exists(),
        "--check created something: {}",
        checked.text()
    );

    let var = format!("dir={dir}");
    let review = render(&t.at("site.rhai"), &t.at("inv.tsv"), &["-e", &var]);
    assert_agree(&review.at("review"), "h1", &checked, &dir);

    t.run().assert_code(0);
    assert_eq!(
        std::fs::read_to_string(Path::new(&dir).join("app.conf")).unwrap(),
        FINAL
    );
}

/// With `KBZ_LAB_REQUIRED` (tests/run.sh, CI), fails unless the lab test
/// below runs too.
#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn check_plans_against_its_own_planned_writes_on_a_lab_host() {
    let (_guard, lab) = first_hosts_alone(4);
    let host = lab.hosts[0].0.clone();
    let dir = format!("/tmp/kbz-check-{}", std::process::id());
    lab.ssh(0, &format!("rm -rf {dir}"));
    let var = format!("dir={dir}");
    let t = lab
        .test()
        .playbook(PLAY)
        .args(["--limit", host.as_str(), "-e", var.as_str()]);
    let absent = || {
        lab.ssh(0, &format!("test -e {dir} && echo present || echo absent"))
            .trim()
            .to_string()
    };

    let checked = t.run_with(&["--check", "--diff"]);
    assert_checked(&checked);
    assert_eq!(absent(), "absent", "--check touched the host");

    let review = render(
        &t.at("site.rhai"),
        &lab.inventory,
        &["--limit", &host, "-e", &var],
    );
    assert_agree(&review.at("review"), &host, &checked, &dir);

    t.run().assert_code(0);
    let on_host = lab.ssh(0, &format!("cat {dir}/app.conf"));
    lab.ssh(0, &format!("rm -rf {dir}"));
    assert_eq!(on_host, FINAL);
}
