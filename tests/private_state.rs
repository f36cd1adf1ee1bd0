//! What kbz-play keeps on this machine between and during runs (the probe
//! cache, the ssh control sockets, the masters `--persist` keeps) is private to the user who runs it: made
//! 0700/0600, refused when someone else owns it, never in a shared folder,
//! and never a way to make the next run execute something; and the user's
//! own ssh settings are not overridden. The hosts use the local transport
//! (`ansible_connection: local`) and write under a temp dir, except one lab
//! test on lab11 (ignored unless asked for: it needs the lab up).

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use common::{Outcome, Test};

const INVENTORY: &str =
    "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n";

/// Writes one owned file, so the cache holds a probe and a digest.
const PLAY: &str = r#"
play("p", "all", |host| {
    copy(#{ dest: host.vars.state + "/app.conf", content: "secret = 1\n" });
});
"#;

fn project() -> Test {
    let t = Test::new().playbook(PLAY).inventory(INVENTORY).dir("state");
    let state = t.at("state");
    t.var("state", state.display())
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

/// Every file and folder under `dir`, `dir` included.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    if dir.is_dir() {
        for entry in std::fs::read_dir(dir).unwrap() {
            all.extend(tree(&entry.unwrap().path()));
        }
    }
    all
}

/// The cache entry of host `h1`.
fn entry_of(cache: &Path) -> PathBuf {
    tree(cache)
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == "h1.json"))
        .unwrap_or_else(|| panic!("no cache entry under {}", cache.display()))
}

#[test]
fn the_cache_is_private_and_keeps_no_plain_digest() {
    let t = project().cache();
    t.run().assert_code(0);
    let cache = t.at("cache");
    for p in tree(&cache) {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&p), want, "{}", p.display());
    }
    let text = std::fs::read_to_string(entry_of(&cache)).unwrap();
    let plain = kbz_engine::digest::sha256_hex(b"secret = 1\n");
    assert!(text.contains("/app.conf"), "{text}");
    assert!(
        !text.contains(&plain),
        "the content's SHA-256 was stored: {text}"
    );
    // The keyed digest still tells an edit on the host from none.
    std::fs::write(t.at("state/app.conf"), "secret = 2\n").unwrap();
    let out = t.run();
    assert!(out.reports_drift("app.conf"), "{}", out.text());
}

#[test]
fn a_planted_query_in_the_cache_never_runs() {
    let t = project().cache();
    t.run().assert_code(0);
    let file = entry_of(&t.at("cache"));
    let mut entry: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let marker = t.at("planted");
    let script = format!("touch '{}'", marker.display());
    entry["probes"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({ "probe": "query", "script": script }));
    std::fs::write(&file, entry.to_string()).unwrap();
    t.run_with(&["--check"]).assert_code(0);
    t.run().assert_code(0);
    assert!(!marker.exists(), "the cached script ran");
}

/// A `docker` that notes each call in `trace` and finds no image.
fn fake_docker(t: &Test, trace: &Path) {
    let bin = t.at("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = format!(
        "#!/bin/sh\necho \"$*\" >> '{}'\necho 'Error: No such image'\nexit 1\n",
        trace.display()
    );
    let docker = bin.join("docker");
    std::fs::write(&docker, script).unwrap();
    std::fs::set_permissions(&docker, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// `--check` with the stand-in `docker` first on the PATH, and `extra` arguments.
fn check_with(t: &Test, extra: &[&str]) -> Outcome {
    t.run_with_bin_first(&[&["--check"], extra].concat())
}

/// A play asking (through `docker_image`) for the image `image`.
fn asks(image: &str) -> String {
    format!("play(\"p\", \"all\", |host| {{ docker_image(#{{ name: {image} }}); }});")
}

/// Runs `t`, whose play asks for the image `old-app:1.0` when run with
/// `before`, twice: the rerun asks the cached query in its one round trip.
/// Then `edit` changes what the run is made of, so that a run with `after`
/// asks for `new-app:1.0` instead: the old query is not asked again.
fn an_old_query_is_dropped(t: Test, before: &[&str], edit: impl FnOnce(&Test), after: &[&str]) {
    let t = t.cache();
    let trace = t.at("docker-calls");
    fake_docker(&t, &trace);
    let calls = || std::fs::read_to_string(&trace).unwrap_or_default();
    check_with(&t, before).assert_code(0);
    assert!(calls().contains("old-app:1.0"), "{}", calls());

    std::fs::remove_file(&trace).unwrap();
    let again = check_with(&t, before);
    again.assert_code(0);
    assert_eq!(again.stats(0)["round_trips"], 1, "{}", again.text());
    assert!(calls().contains("old-app:1.0"), "{}", calls());

    std::fs::remove_file(&trace).unwrap();
    edit(&t);
    check_with(&t, after).assert_code(0);
    assert!(calls().contains("new-app:1.0"), "{}", calls());
    assert!(
        !calls().contains("old-app"),
        "the old query ran: {}",
        calls()
    );
}

#[test]
fn a_query_the_playbook_no_longer_asks_never_runs_again() {
    let edit = |t: &Test| std::fs::write(t.at("site.rhai"), asks("\"new-app:1.0\"")).unwrap();
    an_old_query_is_dropped(project().playbook(&asks("\"old-app:1.0\"")), &[], edit, &[]);
}

#[test]
fn a_query_of_an_edited_role_never_runs_again() {
    let role = |image: &str| format!("fn image() {{ \"{image}\" }}");
    let t = project()
        .file("roles/app.rhai", &role("old-app:1.0"))
        .playbook(&format!("import \"app\" as app;\n{}", asks("app::image()")));
    let edit = |t: &Test| std::fs::write(t.at("roles/app.rhai"), role("new-app:1.0")).unwrap();
    an_old_query_is_dropped(t, &[], edit, &[]);
}

#[test]
fn a_query_of_an_edited_data_file_never_runs_again() {
    let t = project()
        .file("app.yml", "image: old-app:1.0\n")
        .playbook(&format!(
            "let app = load_yaml(\"app.yml\");\n{}",
            asks("app.image")
        ));
    let edit = |t: &Test| std::fs::write(t.at("app.yml"), "image: new-app:1.0\n").unwrap();
    an_old_query_is_dropped(t, &[], edit, &[]);
}

#[test]
fn a_query_of_other_extra_vars_never_runs_again() {
    let t = project().playbook(&asks("host.vars.image"));
    let (old, new) = (["-e", "image=old-app:1.0"], ["-e", "image=new-app:1.0"]);
    an_old_query_is_dropped(t, &old, |_| {}, &new);
}

#[test]
#[ignore = "needs root (chowns a folder to nobody): tests/run.sh runs it as root"]
fn a_cache_folder_of_another_user_is_ignored_with_a_warning() {
    let t = project();
    let theirs = t.at("theirs");
    std::fs::create_dir(&theirs).unwrap();
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534))
        .expect("chown to nobody (the tests run as root in CI)");
    let t = t.cache_dir(&theirs);
    let out = t.run();
    out.assert_code(0);
    let warned = out.warnings();
    assert!(
        warned
            .iter()
            .any(|w| w.contains("cache is ignored") && w.contains("uid 65534")),
        "{warned:?}"
    );
    assert_eq!(
        std::fs::read_dir(&theirs).unwrap().count(),
        0,
        "wrote into it"
    );
}

#[test]
fn without_home_the_cache_is_off_not_in_tmp() {
    let t = project();
    let tmp = t.at("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let args: Vec<_> = t
        .command_line()
        .into_iter()
        .filter(|a| a != "--no-cache")
        .collect();
    let out = Outcome::new(
        common::bin()
            .args(args)
            .env_remove("HOME")
            .env_remove("XDG_CACHE_HOME")
            .env_remove("KBZ_CACHE_DIR")
            .env("TMPDIR", &tmp)
            .env("KBZ_LOCK_DIR", t.path())
            .output()
            .unwrap(),
    );
    out.assert_code(0);
    let warned = out.warnings();
    assert!(
        warned.iter().any(|w| w.contains("HOME is not set")
            || w.contains("neither XDG_CACHE_HOME nor HOME")),
        "{warned:?}"
    );
    assert_eq!(tree(&tmp), vec![tmp.clone()], "left something in TMPDIR");
}

#[test]
fn a_persist_folder_open_to_others_is_refused_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let t = project().persist(60);
    let home = t.at("home");
    let open = home.join(".cache/kbz-play/ssh");
    std::fs::create_dir_all(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let tmp = t.at("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = Outcome::new(
        t.command()
            .env("HOME", &home)
            .env_remove("XDG_RUNTIME_DIR")
            .env("TMPDIR", &tmp)
            .output()
            .unwrap(),
    );
    out.assert_code(0);
    let warned = out.warnings();
    assert!(
        warned
            .iter()
            .any(|w| w.contains("ssh masters close with this run") && w.contains("0700")),
        "{warned:?}"
    );
    assert_eq!(mode(&open), 0o777, "another's choice was \"fixed\"");
    assert_eq!(tree(&open), vec![open.clone()], "used an open folder");
    assert_eq!(
        tree(&tmp),
        vec![tmp.clone()],
        "the run's own folder is left"
    );
}

#[test]
fn lab_guard() {
    common::lab::required_guard();
}

/// The user's `StrictHostKeyChecking yes` (here in `--ssh-config`) is kept:
/// a host whose key is unknown is refused, not recorded (accept-new applies
/// only where the config says nothing).
#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn the_users_strict_host_key_checking_is_kept_on_the_lab() {
    let (_guard, lab) = common::lab::lab_alone();
    let (host, address) = &lab.hosts[10];
    let t = lab
        .test()
        .playbook("play(\"p\", \"all\", |host| { command(\"true\"); });\n");
    let known = t.at("known_hosts");
    let config = t.at("ssh_config");
    let mine = format!(
        "Host {host} {address}\n  UserKnownHostsFile {}\n  StrictHostKeyChecking yes\n",
        known.display()
    );
    let theirs = std::fs::read_to_string(&lab.ssh_config).unwrap();
    std::fs::write(&config, mine + theirs.as_str()).unwrap();
    let out = t.ssh_config(&config).args(["--limit", host.as_str()]).run();
    let refused = out.events_named("unreachable");
    assert_eq!(refused.len(), 1, "{}", out.text());
    let error = refused[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("strict host key checking is on"), "{error}");
    let recorded = std::fs::read_to_string(&known).unwrap_or_default();
    assert_eq!(recorded, "", "the unknown key was recorded");
}
