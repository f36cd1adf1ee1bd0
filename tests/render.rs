//! The KeyBuzz site (`playbooks/site.rhai`) rendered offline for the 49-server
//! fleet, then checked: no fixture secret anywhere in the output, golden files
//! for a few hosts per role, the Kubernetes firewall rules on every k8s node,
//! and every config through the real program that reads it where this machine
//! has it (haproxy, sshd, patroni, mariadbd, redis-server/redis-sentinel,
//! ansible-inventory, yamllint, a libconfig parser, sh). A missing program skips
//! its check with the reason printed; `tests/run.sh` installs them.
//!
//! Golden files live in `tests/golden/<host>/<path>`; after an intended change,
//! rewrite them with `KBZ_UPDATE_GOLDEN=1 cargo test --test render` and review
//! the diff. The rendered tree is kept in `target/tmp/site-review/` for review.
//!
//! Validators never reach the fleet's addresses: configs are copied and their
//! 10.0.0.x addresses moved to loopback first.

mod common;

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The rendered site, shared by every test of this file.
struct Site {
    out: PathBuf,
    log: String,
    elapsed: Duration,
}

fn site() -> &'static Site {
    static SITE: OnceLock<Site> = OnceLock::new();
    SITE.get_or_init(|| {
        let repo = common::repo();
        let creds = repo.join("tests/fixtures/credentials");
        // git keeps 0644; kbz-play refuses credential files others can read.
        for e in std::fs::read_dir(&creds).expect("fixture credentials") {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "env") {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("site-review");
        let start = Instant::now();
        let o = common::bin()
            .current_dir(&repo)
            .args([
                "render",
                "playbooks/site.rhai",
                "-i",
                "playbooks/inventory/servers.tsv",
            ])
            .arg("--credentials")
            .arg(&creds)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("kbz-play runs");
        let elapsed = start.elapsed();
        assert!(o.status.success(), "render failed\n{}", common::text(&o));
        Site {
            out,
            log: common::text(&o),
            elapsed,
        }
    })
}

/// The fleet: host name -> groups, from servers.tsv.
fn fleet() -> BTreeMap<String, Vec<String>> {
    let text =
        std::fs::read_to_string(common::repo().join("playbooks/inventory/servers.tsv")).unwrap();
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (h, g) = (col("hostname"), col("groups"));
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split('\t').collect();
            let groups = cells[g].split(',').map(|s| s.trim().to_string()).collect();
            (cells[h].to_string(), groups)
        })
        .collect()
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

/// A program on PATH (or in /usr/sbin), or None with the reason printed.
fn tool(name: &str, why: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    dirs.push("/sbin".into());
    let found = dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("KBZ_VALIDATORS_REQUIRED").is_none(),
            "{why}: `{name}` is not installed, and KBZ_VALIDATORS_REQUIRED says every validator must run"
        );
        eprintln!("SKIP {why}: `{name}` is not installed (tests/run.sh installs it)");
    }
    found
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
        if groups.iter().any(|g| g == "placeholder") {
            assert!(
                !dir.exists(),
                "{host} is a placeholder and must be left alone"
            );
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
    assert!(
        read("redis-01", "opt/keybuzz/redis/conf/redis.conf").contains("requirepass \"********\"")
    );
}

// ------------------------------------------------------------------ golden

/// (host, file) pairs compared with tests/golden/<host>/<file>.
const GOLDEN: &[(&str, &str)] = &[
    // base_os
    ("redis-01", "etc/ssh/sshd_config.d/10-keybuzz.conf"),
    (
        "redis-01",
        "etc/systemd/resolved.conf.d/10-keybuzz-dns.conf",
    ),
    ("redis-01", "etc/systemd/journald.conf.d/60-keybuzz.conf"),
    ("redis-01", "etc/docker/daemon.json"),
    ("k3s-worker-01", "etc/ufw/before.rules"),
    // patroni
    ("db-master-01", "opt/keybuzz/postgres/config/patroni.yml"),
    ("db-slave-02", "opt/keybuzz/postgres/config/patroni.yml"),
    ("db-master-01", "opt/keybuzz/postgres/image/Dockerfile"),
    // haproxy, pgbouncer
    ("haproxy-01", "opt/keybuzz/haproxy/conf/haproxy.cfg"),
    ("haproxy-01", "usr/local/bin/redis-update-master.sh"),
    ("haproxy-01", "etc/systemd/system/redis-update-master.timer"),
    ("haproxy-02", "etc/pgbouncer/pgbouncer.ini"),
    ("haproxy-02", "etc/pgbouncer/userlist.txt"),
    // redis, sentinel
    ("redis-01", "opt/keybuzz/redis/conf/redis.conf"),
    ("redis-02", "opt/keybuzz/redis/conf/redis.conf"),
    ("redis-03", "opt/keybuzz/redis/sentinel/sentinel.conf"),
    // rabbitmq
    ("queue-01", "opt/keybuzz/rabbitmq/config/rabbitmq.conf"),
    ("queue-01", "opt/keybuzz/rabbitmq/config/enabled_plugins"),
    ("queue-02", "opt/keybuzz/rabbitmq/data/.erlang.cookie"),
    // mariadb_galera, proxysql
    ("maria-01", "opt/keybuzz/mariadb/config/my.cnf"),
    ("maria-03", "opt/keybuzz/mariadb/config/my.cnf"),
    ("proxysql-01", "opt/keybuzz/proxysql/config/proxysql.cnf"),
    // k3s, ingress_nginx
    ("k3s-master-01", "etc/rancher/k3s/config.yaml"),
    ("k3s-master-02", "etc/rancher/k3s/config.yaml"),
    ("k3s-worker-05", "etc/rancher/k3s/config.yaml"),
    (
        "k3s-master-01",
        "var/lib/rancher/k3s/server/manifests/keybuzz-ingress-nginx.yaml",
    ),
    // kubespray
    (
        "install-01",
        "opt/keybuzz/kubespray/inventory/keybuzz/hosts.yaml",
    ),
    (
        "install-01",
        "opt/keybuzz/kubespray/inventory/keybuzz/group_vars/k8s_cluster/k8s-cluster.yml",
    ),
    (
        "install-01",
        "opt/keybuzz/kubespray/inventory/keybuzz/group_vars/k8s_cluster/k8s-net-calico.yml",
    ),
    // what a MinIO node would run (docker run with its env file, masked)
    ("minio-01", "commands.sh"),
];

#[test]
fn rendered_configs_match_the_golden_files() {
    let golden = common::repo().join("tests/golden");
    let update = std::env::var("KBZ_UPDATE_GOLDEN").is_ok_and(|v| v == "1");
    let mut differ = Vec::new();
    for (host, path) in GOLDEN {
        let got = read(host, path);
        let g = golden.join(host).join(path);
        if update {
            std::fs::create_dir_all(g.parent().unwrap()).unwrap();
            std::fs::write(&g, &got).unwrap();
            continue;
        }
        match std::fs::read_to_string(&g) {
            Ok(want) if want == got => {}
            Ok(_) => differ.push(format!(
                "{host}/{path} differs: diff {} {}",
                g.display(),
                file(host, path).display()
            )),
            Err(_) => differ.push(format!("{host}/{path}: no golden file {}", g.display())),
        }
    }
    assert!(
        differ.is_empty(),
        "{}\n(after an intended change: KBZ_UPDATE_GOLDEN=1 cargo test --test render, then review the diff)",
        differ.join("\n")
    );
}

// ------------------------------------------------------------------ rules

#[test]
fn every_k8s_node_lets_the_cni_through() {
    let nodes = hosts_in("k8s");
    assert_eq!(nodes.len(), 8, "3 masters + 5 workers: {nodes:?}");
    let ipip = "-A ufw-before-input -p 4 -s 10.0.0.0/16 -j ACCEPT";
    for n in &nodes {
        let before = read(n, "etc/ufw/before.rules");
        assert!(
            before.lines().any(|l| l == ipip),
            "{n}: no IPIP (protocol 4) rule in before.rules"
        );
        let cmds = read(n, "commands.sh");
        for rule in [
            "ufw allow from 10.0.0.0/16 to any port 179 proto tcp",
            "ufw allow from 10.0.0.0/16 to any port 8472 proto udp",
            "ufw allow from 10.0.0.0/16 to any port 10250 proto tcp",
            "ufw allow from 10.0.0.0/16 to any port 31695 proto tcp",
        ] {
            assert!(cmds.contains(rule), "{n}: missing `{rule}`");
        }
    }
    for m in hosts_in("k3s_masters") {
        assert!(
            read(&m, "commands.sh")
                .contains("ufw allow from 10.0.0.0/16 to any port 6443 proto tcp"),
            "{m}: no API rule"
        );
    }
    // Nodes outside Kubernetes get neither.
    for n in ["redis-01", "db-master-01", "haproxy-01"] {
        assert!(
            !file(n, "etc/ufw/before.rules").exists(),
            "{n} has Kubernetes firewall rules"
        );
        assert!(
            !read(n, "commands.sh").contains("port 179 proto tcp"),
            "{n} opens BGP"
        );
    }
}

/// `text` without its comment lines.
fn settings(text: &str) -> String {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn proxies_listen_on_all_addresses_never_on_the_lb_ips() {
    for h in hosts_in("haproxy") {
        let cfg = read(&h, "opt/keybuzz/haproxy/conf/haproxy.cfg");
        let binds: Vec<&str> = cfg
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("bind "))
            .collect();
        assert!(binds.len() >= 5, "{h}: {binds:?}");
        for b in binds {
            assert!(
                b.starts_with("bind 0.0.0.0:") || b.starts_with("bind 127.0.0.1:"),
                "{h}: {b}"
            );
        }
        assert!(
            cfg.contains("tcp-check expect string role:master"),
            "{h}: Redis not master-only"
        );
        let settings = settings(&cfg);
        assert!(
            !settings.contains("10.0.0.10") && !settings.contains("10.0.0.20"),
            "{h} names an LB IP"
        );
    }
    for h in hosts_in("proxysql") {
        let cfg = read(&h, "opt/keybuzz/proxysql/config/proxysql.cnf");
        assert!(cfg.contains("interfaces = \"0.0.0.0:3306\""), "{h}");
        assert!(!settings(&cfg).contains("10.0.0.20"), "{h} names the LB IP");
    }
}

#[test]
fn every_image_is_pinned() {
    let versions = std::fs::read_to_string(common::repo().join("playbooks/versions.yaml")).unwrap();
    for line in versions
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
    {
        assert!(!line.contains(":latest"), "versions.yaml: {line}");
    }
    for f in walk(&site().out) {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for line in text.lines() {
            let l = line.trim();
            if l.starts_with("docker run ") || l.starts_with("image:") {
                assert!(!l.contains(":latest"), "{}: {l}", f.display());
            }
        }
    }
}

// ------------------------------------------------------------- validators

#[test]
fn haproxy_accepts_the_haproxy_configs() {
    let Some(haproxy) = tool("haproxy", "haproxy -c") else {
        return;
    };
    for h in hosts_in("haproxy") {
        let (ok, out) = run(Command::new(&haproxy)
            .arg("-c")
            .arg("-f")
            .arg(file(&h, "opt/keybuzz/haproxy/conf/haproxy.cfg")));
        assert!(ok, "{h}: {out}");
    }
}

#[test]
fn sshd_accepts_the_hardening_dropin() {
    let Some(sshd) = tool("sshd", "sshd -t") else {
        return;
    };
    let Some(keygen) = tool("ssh-keygen", "sshd -t (host key)") else {
        return;
    };
    // sshd -t wants its privilege separation directory.
    let _ = std::fs::create_dir_all("/run/sshd");
    if !Path::new("/run/sshd").is_dir() {
        eprintln!("SKIP sshd -t: /run/sshd is missing and cannot be created");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("host_key");
    let (ok, out) = run(Command::new(keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key));
    assert!(ok, "{out}");
    for h in ["redis-01", "k3s-master-01", "install-01"] {
        let conf = file(h, "etc/ssh/sshd_config.d/10-keybuzz.conf");
        let (ok, out) = run(Command::new(&sshd)
            .arg("-t")
            .arg("-f")
            .arg(&conf)
            .arg("-h")
            .arg(&key));
        assert!(ok, "{h}: {out}");
    }
}

#[test]
fn patroni_validates_the_patroni_configs() {
    let Some(patroni) = tool("patroni", "patroni --validate-config") else {
        return;
    };
    let (_, version) = run(Command::new(&patroni).arg("--version"));
    let v: Vec<u32> = version
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or("0")
        .split('.')
        .filter_map(|x| x.parse().ok())
        .collect();
    if v < vec![3, 3] {
        eprintln!("SKIP patroni --validate-config: {} is older than the 3.3 the fleet runs (pip install 'patroni[psycopg2-binary,raft]==3.3.0')", version.lines().nth(2).unwrap_or("?"));
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // bin_dir must hold the PostgreSQL programs: empty stand-ins.
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for b in [
        "pg_ctl",
        "initdb",
        "pg_controldata",
        "pg_basebackup",
        "postgres",
        "pg_isready",
        "pg_rewind",
    ] {
        let p = bin.join(b);
        std::fs::write(&p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for h in hosts_in("postgres") {
        let text = to_loopback(&read(&h, "opt/keybuzz/postgres/config/patroni.yml"))
            .replace("/usr/lib/postgresql/16/bin", bin.to_str().unwrap());
        let conf = tmp.path().join(format!("{h}.yml"));
        std::fs::write(&conf, &text).unwrap();
        // The validator checks that the Raft partners answer: listen for them.
        let partners: Vec<TcpListener> = text
            .lines()
            .skip_while(|l| !l.contains("partner_addrs:"))
            .skip(1)
            .take_while(|l| l.trim_start().starts_with("- "))
            .map(|l| {
                TcpListener::bind(l.trim().trim_start_matches("- ")).expect("bind a Raft partner")
            })
            .collect();
        assert_eq!(partners.len(), 2, "{h}: two Raft partners");
        // The reachability check has a short timeout: on a loaded machine, try twice.
        let (mut ok, mut out) = run(Command::new(&patroni).arg("--validate-config").arg(&conf));
        if !ok {
            eprintln!("{h}: retrying patroni --validate-config after: {out}");
            (ok, out) = run(Command::new(&patroni).arg("--validate-config").arg(&conf));
        }
        assert!(ok, "{h}: {out}");
    }
}

#[test]
fn mariadb_reads_the_galera_my_cnf() {
    let Some(mariadbd) = tool("mariadbd", "mariadbd --help --verbose")
        .or_else(|| tool("mysqld", "mysqld --help --verbose"))
    else {
        return;
    };
    for h in hosts_in("mariadb") {
        let conf = file(&h, "opt/keybuzz/mariadb/config/my.cnf");
        let (ok, out) = run(Command::new(&mariadbd)
            .arg(format!("--defaults-file={}", conf.display()))
            .args(["--help", "--verbose"]));
        assert!(ok, "{h}: {out}");
        assert!(
            !out.contains("unknown variable") && !out.contains("unknown option"),
            "{h}: {out}"
        );
        let value = |name: &str| {
            out.lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or_default()
                .to_string()
        };
        assert_eq!(
            value("wsrep-cluster-address"),
            "gcomm://10.0.0.170,10.0.0.171,10.0.0.172",
            "{h}"
        );
        assert_eq!(value("wsrep-sst-method"), "mariabackup", "{h}");
        assert_eq!(value("binlog-format"), "ROW", "{h}");
    }
}

/// Waits until `redis-cli -p port PING` says PONG.
fn wait_pong(cli: &Path, port: u16, auth: Option<&str>) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let mut c = Command::new(cli);
        c.args(["-h", "127.0.0.1", "-p", &port.to_string(), "ping"]);
        if let Some(a) = auth {
            c.env("REDISCLI_AUTH", a);
        }
        if let Ok(o) = c.output() {
            if String::from_utf8_lossy(&o.stdout).trim() == "PONG" {
                return true;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

#[test]
fn redis_and_sentinel_start_with_the_rendered_seeds() {
    let Some(server) = tool("redis-server", "redis-server on loopback") else {
        return;
    };
    let Some(sentinel) = tool("redis-sentinel", "redis-sentinel on loopback") else {
        return;
    };
    let Some(cli) = tool("redis-cli", "redis on loopback") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    for h in ["redis-01", "redis-02"] {
        let port = free_port();
        let seed = read(h, "opt/keybuzz/redis/conf/redis.conf");
        let password = seed
            .lines()
            .find_map(|l| l.strip_prefix("requirepass "))
            .expect("requirepass")
            .trim_matches('"')
            .to_string();
        // Loopback, a free port, a scratch dir, and no replicaof (which would
        // reach for the fleet's master).
        let conf: String = seed
            .lines()
            .filter(|l| !l.starts_with("replicaof "))
            .map(|l| match l.split_whitespace().next() {
                Some("bind") => "bind 127.0.0.1".to_string(),
                Some("port") => format!("port {port}"),
                Some("dir") => format!("dir {}", tmp.path().display()),
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let conf_path = tmp.path().join(format!("{h}-redis.conf"));
        std::fs::write(&conf_path, conf + "\n").unwrap();
        let _redis = Kill(
            Command::new(&server)
                .arg(&conf_path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        assert!(
            wait_pong(&cli, port, Some(&password)),
            "{h}: redis-server did not answer with the rendered config"
        );

        let sport = free_port();
        let seed = read(h, "opt/keybuzz/redis/sentinel/sentinel.conf");
        let conf: String = seed
            .lines()
            .map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                match w.as_slice() {
                    ["bind", ..] => "bind 127.0.0.1".to_string(),
                    ["port", ..] => format!("port {sport}"),
                    ["sentinel", "monitor", name, _, _, quorum] => {
                        format!("sentinel monitor {name} 127.0.0.1 {port} {quorum}")
                    }
                    ["sentinel", "announce-ip", ..] => "sentinel announce-ip 127.0.0.1".to_string(),
                    ["sentinel", "announce-port", ..] => format!("sentinel announce-port {sport}"),
                    ["dir", ..] => format!("dir {}", tmp.path().display()),
                    _ => l.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let sconf = tmp.path().join(format!("{h}-sentinel.conf"));
        std::fs::write(&sconf, conf + "\n").unwrap();
        let _sentinel = Kill(
            Command::new(&sentinel)
                .arg(&sconf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        assert!(
            wait_pong(&cli, sport, None),
            "{h}: redis-sentinel did not start with the rendered config"
        );
        // Sentinel reached the master with the rendered auth-pass.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut flags = String::new();
        while Instant::now() < deadline {
            let (_, out) = run(Command::new(&cli).args([
                "-h",
                "127.0.0.1",
                "-p",
                &sport.to_string(),
                "sentinel",
                "master",
                "kb-redis-master",
            ]));
            flags = out
                .lines()
                .skip_while(|l| *l != "flags")
                .nth(1)
                .unwrap_or_default()
                .to_string();
            if flags == "master" {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(
            flags, "master",
            "{h}: Sentinel does not see a healthy master"
        );
    }
}

#[test]
fn ansible_loads_the_kubespray_inventory() {
    let Some(inv) = tool("ansible-inventory", "ansible-inventory --list") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let hosts = file(
        "install-01",
        "opt/keybuzz/kubespray/inventory/keybuzz/hosts.yaml",
    );
    let o = Command::new(inv)
        .arg("-i")
        .arg(&hosts)
        .arg("--list")
        .env("ANSIBLE_HOME", tmp.path())
        .env("ANSIBLE_LOCAL_TEMP", tmp.path())
        .env("ANSIBLE_INVENTORY_UNPARSED_FAILED", "true")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", common::text(&o));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names = |g: &str| -> Vec<String> {
        j[g]["hosts"]
            .as_array()
            .map(|a| a.iter().map(|h| h.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        names("kube_control_plane"),
        ["k3s-master-01", "k3s-master-02", "k3s-master-03"]
    );
    assert_eq!(names("etcd"), names("kube_control_plane"));
    assert_eq!(names("kube_node").len(), 5);
    let children: Vec<&str> = j["k8s_cluster"]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(
        children.contains(&"kube_control_plane") && children.contains(&"kube_node"),
        "{children:?}"
    );
    let vars = &j["_meta"]["hostvars"]["k3s-worker-03"];
    assert_eq!(vars["calico_ipip_mode"], "Always");
    assert_eq!(vars["calico_vxlan_mode"], "Never");
    assert_eq!(vars["calico_network_backend"], "bird");
    assert_eq!(vars["kube_proxy_mode"], "iptables");
    assert_eq!(vars["ansible_host"], "10.0.0.112");
}

#[test]
fn yamllint_accepts_every_yaml_output() {
    let Some(yamllint) = tool("yamllint", "yamllint") else {
        return;
    };
    let files: Vec<PathBuf> = walk(&site().out)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    assert!(files.len() >= 15, "{files:?}");
    let (ok, out) = run(Command::new(yamllint)
        .args(["-f", "parsable", "-d", "relaxed"])
        .args(&files));
    assert!(ok, "{out}");
}

#[test]
fn proxysql_cnf_parses_as_libconfig() {
    let Some(python) = tool("python3", "libconfig parse of proxysql.cnf") else {
        return;
    };
    let (has, _) = run(Command::new(&python).args(["-c", "import libconf"]));
    if !has {
        eprintln!("SKIP libconfig parse of proxysql.cnf: the Python package `libconf` is not installed (pip install libconf)");
        return;
    }
    let script = "import libconf, sys\n\
        c = libconf.load(open(sys.argv[1]))\n\
        assert c['mysql_variables']['interfaces'] == '0.0.0.0:3306', c['mysql_variables']['interfaces']\n\
        assert [s['address'] for s in c['mysql_servers']] == ['10.0.0.170', '10.0.0.171', '10.0.0.172']\n\
        assert c['mysql_users'][0]['username'] == 'erpnext'\n";
    for h in hosts_in("proxysql") {
        let (ok, out) = run(Command::new(&python)
            .args(["-c", script])
            .arg(file(&h, "opt/keybuzz/proxysql/config/proxysql.cnf")));
        assert!(ok, "{h}: {out}");
    }
}

#[test]
fn shell_scripts_parse() {
    for h in hosts_in("haproxy") {
        let script = file(&h, "usr/local/bin/redis-update-master.sh");
        let (ok, out) = run(Command::new("sh").arg("-n").arg(&script));
        assert!(ok, "{h}: {out}");
        if let Some(sc) = tool("shellcheck", "shellcheck") {
            let (ok, out) = run(Command::new(sc).args(["-s", "sh"]).arg(&script));
            assert!(ok, "{h}: {out}");
        }
    }
}
