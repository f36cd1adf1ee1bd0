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
use std::process::Output;

use common::lab::{lab, LAB_LOCK};
use common::{events, kbz, project, recap, text};

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
fn desired(out: &Output) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for event in events(out).iter().filter(|e| e["event"] == "op_end") {
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
fn assert_checked(out: &Output) {
    assert_eq!(out.status.code(), Some(0), "{}", text(out));
    let stats = &recap(out)[0].1;
    assert_eq!(
        (stats["changed"].as_u64(), stats["failed"].as_u64()),
        (Some(3), Some(0)),
        "{}",
        text(out)
    );
    let ends: Vec<String> = events(out)
        .iter()
        .filter(|e| e["event"] == "op_end")
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
        text(out)
    );
}

/// Asserts that render and `--check --diff` agree on every file, and that
/// `app.conf` in `dir` is planned with [`FINAL`].
fn assert_agree(render_out: &Path, host: &str, checked: &Output, dir: &str) {
    let rendered = rendered(render_out, host);
    let planned = desired(checked);
    assert_eq!(rendered, planned, "render and --check --diff differ");
    assert_eq!(
        rendered.get(&format!("{dir}/app.conf")).map(String::as_str),
        Some(FINAL)
    );
}

#[test]
fn check_plans_against_its_own_planned_writes_on_this_machine() {
    let p = project(&[
        ("site.rhai", PLAY),
        (
            "inv.tsv",
            "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n",
        ),
    ]);
    let dir = p.path().join("state/app");
    let dir = dir.to_str().unwrap();
    let (site, inv) = (p.path().join("site.rhai"), p.path().join("inv.tsv"));
    let (site, inv) = (site.to_str().unwrap(), inv.to_str().unwrap());
    let var = format!("dir={dir}");
    let run = |extra: &[&str]| {
        let mut args = vec![
            site,
            "-i",
            inv,
            "--output",
            "json",
            "--no-cache",
            "-e",
            &var,
        ];
        args.extend_from_slice(extra);
        kbz(&args)
    };

    let checked = run(&["--check", "--diff"]);
    assert_checked(&checked);
    assert!(
        !p.path().join("state").exists(),
        "--check created something: {}",
        text(&checked)
    );

    let review = p.path().join("review");
    let rendered = kbz(&[
        "render",
        site,
        "-i",
        inv,
        "-e",
        &var,
        "--out",
        review.to_str().unwrap(),
    ]);
    assert_eq!(rendered.status.code(), Some(0), "{}", text(&rendered));
    assert_agree(&review, "h1", &checked, dir);

    let applied = run(&[]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    assert_eq!(
        std::fs::read_to_string(Path::new(dir).join("app.conf")).unwrap(),
        FINAL
    );
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn check_plans_against_its_own_planned_writes_on_a_lab_host() {
    let _guard = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let lab = lab()
        .expect(
            "this test needs the lab: bash tests/lab/lab.sh up 18 && eval \"$(bash tests/lab/lab.sh env)\"",
        )
        .first(4);
    let host = lab.hosts[0].0.clone();
    let dir = format!("/tmp/kbz-check-{}", std::process::id());
    lab.ssh(0, &format!("rm -rf {dir}"));
    let p = project(&[("site.rhai", PLAY)]);
    let site = p.path().join("site.rhai");
    let site = site.to_str().unwrap();
    let var = format!("dir={dir}");
    let absent = || {
        lab.ssh(0, &format!("test -e {dir} && echo present || echo absent"))
            .trim()
            .to_string()
    };

    let checked = lab.kbz(site, &["--limit", &host, "-e", &var, "--check", "--diff"]);
    assert_checked(&checked);
    assert_eq!(absent(), "absent", "--check touched the host");

    let review = p.path().join("review");
    let rendered = kbz(&[
        "render",
        site,
        "-i",
        lab.inventory.to_str().unwrap(),
        "--limit",
        &host,
        "-e",
        &var,
        "--out",
        review.to_str().unwrap(),
    ]);
    assert_eq!(rendered.status.code(), Some(0), "{}", text(&rendered));
    assert_agree(&review, &host, &checked, &dir);

    let applied = lab.kbz(site, &["--limit", &host, "-e", &var]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let on_host = lab.ssh(0, &format!("cat {dir}/app.conf"));
    lab.ssh(0, &format!("rm -rf {dir}"));
    assert_eq!(on_host, FINAL);
}
