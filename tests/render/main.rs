//! The KeyBuzz site (`playbooks/site.rhai`) rendered offline for the 49-server
//! fleet, then checked: no fixture secret anywhere in the output, snapshots of
//! a few files per role, the Kubernetes firewall rules on every k8s node, and
//! every config through the real program that reads it (haproxy, sshd,
//! patroni, mariadbd, redis-server/redis-sentinel, ansible-inventory, yamllint,
//! a libconfig parser, sh, shellcheck, promtool); proxysql.cnf is also read
//! with the strict libconfig reader of tests/common for its Galera structure.
//! The tests that need such a program are `#[ignore]`d with the reason;
//! `tests/run.sh` installs the programs and runs
//! them with `--include-ignored`.
//!
//! The snapshots (insta) live in `tests/render/snapshots/`; after an intended
//! change, `cargo insta test --test render --review` (or `INSTA_UPDATE=always
//! cargo test --test render` and review the diff). The rendered tree is kept in
//! `target/tmp/site-review/` for review.
//!
//! Validators never reach the fleet's addresses: configs are copied and their
//! 10.0.0.x addresses moved to loopback first.

#[path = "../common/mod.rs"]
mod common;
mod firewall;
mod galera;
mod golden;
mod hetzner_lb;
mod k8s_engine;
mod kernel;
mod libconfig;
mod metrics;
mod minio_tag;
mod proxysql;
mod rabbitmq;
mod redis;
mod rules;
mod validators;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::find_tool;

/// The rendered site, shared by every test of this file.
struct Site {
    out: PathBuf,
    log: String,
    elapsed: Duration,
}

fn site() -> &'static Site {
    static SITE: OnceLock<Site> = OnceLock::new();
    SITE.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("site-review");
        let start = Instant::now();
        let o = render(Path::new("playbooks/inventory/servers.tsv"), &out, &[]);
        let elapsed = start.elapsed();
        assert!(o.status.success(), "render failed\n{}", common::text(&o));
        Site {
            out,
            log: common::text(&o),
            elapsed,
        }
    })
}

/// `kbz-play render playbooks/site.rhai` of `inventory` (relative to the
/// repository, or absolute) into `out`, with the fixture credentials and
/// `args`; its output, whatever the exit.
fn render(inventory: &Path, out: &Path, args: &[&str]) -> std::process::Output {
    let repo = common::repo();
    let creds = repo.join("tests/fixtures/credentials");
    // git keeps 0644; kbz-play refuses credential files others can read.
    for e in std::fs::read_dir(&creds).expect("fixture credentials") {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "env") {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
    common::bin()
        .current_dir(&repo)
        .args(["render", "playbooks/site.rhai", "-i"])
        .arg(inventory)
        .arg("--credentials")
        .arg(&creds)
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .expect("kbz-play runs")
}

/// A render of the plays tagged `tag` with `versions.images.<name>` pinned
/// to `image` instead: the run's output, and the folder it rendered into
/// (`review/` in a temporary folder that lives as long as the value).
struct ImageRender {
    output: std::process::Output,
    dir: tempfile::TempDir,
}

impl ImageRender {
    fn new(name: &str, image: &str, tag: &str) -> ImageRender {
        let dir = tempfile::tempdir().unwrap();
        let over = format!(r#"{{"versions":{{"images":{{"{name}":"{image}"}}}}}}"#);
        let output = render(
            Path::new("playbooks/inventory/servers.tsv"),
            &dir.path().join("review"),
            &["--tags", tag, "-e", &over],
        );
        ImageRender { output, dir }
    }

    /// `file` as rendered for `host`, "" when it was not.
    fn read(&self, host: &str, file: &str) -> String {
        let path = self.dir.path().join("review").join(host).join(file);
        std::fs::read_to_string(path).unwrap_or_default()
    }
}

/// The rows of servers.tsv: host name -> (column -> cell).
fn inventory_rows() -> BTreeMap<String, BTreeMap<String, String>> {
    let text =
        std::fs::read_to_string(common::repo().join("playbooks/inventory/servers.tsv")).unwrap();
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    lines
        .map(|l| {
            let row: BTreeMap<String, String> = header
                .iter()
                .zip(l.split('\t'))
                .map(|(h, c)| (h.to_string(), c.trim().to_string()))
                .collect();
            (row["hostname"].clone(), row)
        })
        .collect()
}

/// The fleet: host name -> groups, from servers.tsv.
fn fleet() -> BTreeMap<String, Vec<String>> {
    inventory_rows()
        .into_iter()
        .map(|(host, row)| {
            let groups = row["groups"]
                .split(',')
                .map(|s| s.trim().to_string())
                .collect();
            (host, groups)
        })
        .collect()
}

/// The private address of `host` (servers.tsv's ip_private).
fn ip_private(host: &str) -> String {
    inventory_rows()[host]["ip_private"].clone()
}

fn hosts_in(group: &str) -> Vec<String> {
    fleet()
        .into_iter()
        .filter(|(_, g)| g.iter().any(|x| x == group))
        .map(|(h, _)| h)
        .collect()
}

/// A rendered file of `host`.
fn file(host: &str, path: &str) -> PathBuf {
    site().out.join(host).join(path.trim_start_matches('/'))
}

fn read(host: &str, path: &str) -> String {
    let p = file(host, path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// A program a validator test needs (those tests are `#[ignore]`d, and run
/// by tests/run.sh, which installs the programs): fails the test, naming
/// how to get it, when it is missing.
fn tool(name: &str, why: &str) -> PathBuf {
    find_tool(name).unwrap_or_else(|| {
        panic!(
            "{why}: `{name}` is not installed (bash tests/run.sh installs it and puts it on PATH)"
        )
    })
}

fn run(cmd: &mut Command) -> (bool, String) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    (
        o.status.success(),
        format!(
            "{cmd:?}\nexit {:?}\n{}{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

/// `text` with the fleet's 10.0.0.N addresses moved to 127.0.1.N (loopback,
/// and not "127.0.0.1", which Patroni refuses as a connect address).
fn to_loopback(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("10.0.0.") {
        let before_ok = i == 0 || !rest.as_bytes()[i - 1].is_ascii_digit();
        out.push_str(&rest[..i]);
        out.push_str(if before_ok { "127.0.1." } else { "10.0.0." });
        rest = &rest[i + "10.0.0.".len()..];
    }
    out.push_str(rest);
    out
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills a spawned server when the test ends, however it ends.
struct Kill(Child);

impl Kill {
    /// `program` started quietly on a config file at `path` holding `conf`
    /// (a rendered config moved to loopback): how a validator test brings a
    /// server up.
    fn serve(program: &Path, path: &Path, conf: String) -> Kill {
        std::fs::write(path, conf + "\n").unwrap();
        Kill(
            Command::new(program)
                .arg(path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    }
}
impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// ------------------------------------------------------------------ render

#[test]
fn site_renders_offline_for_the_whole_fleet() {
    let site = site();
    eprintln!(
        "rendered 49 hosts in {:.2?} (the target is under 2 s for a release build)",
        site.elapsed
    );
    assert!(
        site.elapsed < Duration::from_secs(120),
        "render took {:?}",
        site.elapsed
    );
    let fleet = fleet();
    assert_eq!(fleet.len(), 49, "servers.tsv lists the 49-server fleet");
    for (host, groups) in &fleet {
        let dir = site.out.join(host);
        if let Some(m) = groups
            .iter()
            .find(|g| *g == "placeholder" || *g == "unconfirmed")
        {
            assert!(!dir.exists(), "{host} is {m} and must be left alone");
        } else {
            assert!(
                dir.join("commands.sh").is_file(),
                "{host} got nothing\n{}",
                site.log
            );
            assert!(
                dir.join("etc/ssh/sshd_config.d/10-keybuzz.conf").is_file(),
                "{host}: no base_os"
            );
        }
    }
}

#[test]
fn no_fixture_secret_appears_in_the_review() {
    let site = site();
    let mut secrets = Vec::new();
    for e in std::fs::read_dir(common::repo().join("tests/fixtures/credentials")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "env") {
            for line in std::fs::read_to_string(&p).unwrap().lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (k, v) = line.split_once('=').unwrap();
                secrets.push((k.to_string(), v.trim().to_string()));
            }
        }
    }
    assert!(secrets.len() >= 11, "fixture credentials: {secrets:?}");
    let mut leaks = Vec::new();
    for f in walk(&site.out) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).to_string();
        for (k, v) in &secrets {
            if text.contains(v.as_str()) {
                leaks.push(format!("{k} in {}", f.display()));
            }
        }
    }
    for (k, v) in &secrets {
        if site.log.contains(v.as_str()) {
            leaks.push(format!("{k} in kbz-play's output"));
        }
    }
    assert!(leaks.is_empty(), "secrets in clear:\n{}", leaks.join("\n"));
    // And the secrets did reach the files, masked.
    assert!(read("redis-01", "opt/keybuzz/redis/conf/redis.conf")
        .contains("requirepass \"<secret:REDIS_PASSWORD>\""));
}
