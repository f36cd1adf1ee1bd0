//! Every rendered config through the real program that reads it: haproxy,
//! sshd, patroni, mariadbd, redis-server/sentinel, ansible-inventory,
//! yamllint, libconf, sh -n, shellcheck, promtool (and jq, which hetzner_lb.rs
//! runs the load balancer scripts with).
//!
//! Each test that needs a program this machine may lack is `#[ignore]`d with
//! the reason; `tests/run.sh` installs the programs and runs them with
//! `--include-ignored`, where a missing program fails the test. With
//! `KBZ_VALIDATORS_REQUIRED` set (tests/run.sh, CI), the guard test below
//! fails a run that leaves them out or lacks a program.

use super::*;

/// The programs the ignored tests below need: (program, alternative).
const VALIDATORS: &[(&str, Option<&str>)] = &[
    ("haproxy", None),
    ("sshd", None),
    ("ssh-keygen", None),
    ("patroni", None),
    ("mariadbd", Some("mysqld")),
    ("redis-server", None),
    ("redis-sentinel", None),
    ("redis-cli", None),
    ("ansible-inventory", None),
    ("yamllint", None),
    ("python3", None),
    ("shellcheck", None),
    ("jq", None),
    ("promtool", None),
];

/// With `KBZ_VALIDATORS_REQUIRED` set, the run must include the ignored
/// validator tests and every program they need must be there.
#[test]
fn validators_run_when_kbz_validators_required_is_set() {
    if std::env::var_os("KBZ_VALIDATORS_REQUIRED").is_none() {
        return;
    }
    assert!(
        common::ignored_tests_run(),
        "KBZ_VALIDATORS_REQUIRED is set but this run leaves out the validator tests, which are \
         #[ignore]d: run them with `cargo test -- --include-ignored` (as tests/run.sh does)"
    );
    let mut missing: Vec<&str> = VALIDATORS
        .iter()
        .filter(|(name, alt)| find_tool(name).is_none() && alt.and_then(find_tool).is_none())
        .map(|(name, _)| *name)
        .collect();
    if let Some(python) = find_tool("python3") {
        if !run(Command::new(python).args(["-c", "import libconf"])).0 {
            missing.push("the Python package libconf");
        }
    }
    assert!(
        missing.is_empty(),
        "KBZ_VALIDATORS_REQUIRED says every validator must run, and these are missing: {} \
         (bash tests/run.sh installs them and puts them on PATH)",
        missing.join(", ")
    );
}

#[test]
#[ignore = "needs haproxy: bash tests/run.sh installs it"]
fn haproxy_accepts_the_haproxy_configs() {
    let haproxy = tool("haproxy", "haproxy -c");
    for h in hosts_in("haproxy") {
        let (ok, out) = run(Command::new(&haproxy)
            .arg("-c")
            .arg("-f")
            .arg(file(&h, "opt/keybuzz/haproxy/conf/haproxy.cfg")));
        assert!(ok, "{h}: {out}");
    }
}

#[test]
#[ignore = "needs sshd and ssh-keygen (openssh-server, openssh-client) and /run/sshd: bash tests/run.sh installs them, as root"]
fn sshd_accepts_the_hardening_dropin() {
    let sshd = tool("sshd", "sshd -t");
    let keygen = tool("ssh-keygen", "sshd -t (host key)");
    // sshd -t wants its privilege separation directory.
    let _ = std::fs::create_dir_all("/run/sshd");
    assert!(
        Path::new("/run/sshd").is_dir(),
        "sshd -t: /run/sshd is missing and cannot be created (run as root)"
    );
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
#[ignore = "needs patroni 3.3 on PATH: bash tests/run.sh installs it in a Python venv"]
fn patroni_validates_the_patroni_configs() {
    let patroni = tool("patroni", "patroni --validate-config");
    let (_, version) = run(Command::new(&patroni).arg("--version"));
    let v: Vec<u32> = version
        .split_whitespace()
        .find(|w| w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or("0")
        .split('.')
        .filter_map(|x| x.parse().ok())
        .collect();
    assert!(
        v >= vec![3, 3],
        "patroni --validate-config: {} is older than the 3.3 the fleet runs (pip install 'patroni[psycopg2-binary,raft]==3.3.0', as tests/run.sh does)",
        version.lines().nth(2).unwrap_or("?")
    );
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
#[ignore = "needs mariadbd (mariadb-server-core): bash tests/run.sh installs it"]
fn mariadb_reads_the_galera_my_cnf() {
    let mariadbd = find_tool("mariadbd")
        .or_else(|| find_tool("mysqld"))
        .unwrap_or_else(|| tool("mariadbd", "mariadbd --help --verbose"));
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
#[ignore = "needs redis-server, redis-sentinel and redis-cli: bash tests/run.sh installs them"]
fn redis_and_sentinel_start_with_the_rendered_seeds() {
    let server = tool("redis-server", "redis-server on loopback");
    let sentinel = tool("redis-sentinel", "redis-sentinel on loopback");
    let cli = tool("redis-cli", "redis on loopback");
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
        let _redis = Kill::serve(&server, &conf_path, conf);
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
        let sentinel_password = seed
            .lines()
            .find_map(|l| l.strip_prefix("sentinel sentinel-pass "))
            .expect("sentinel-pass")
            .to_string();
        let sconf = tmp.path().join(format!("{h}-sentinel.conf"));
        let _sentinel = Kill::serve(&sentinel, &sconf, conf);
        assert!(
            wait_pong(&cli, sport, Some(&sentinel_password)),
            "{h}: redis-sentinel did not start with the rendered config"
        );
        // Its requirepass holds: a client without the password is refused.
        let (_, out) =
            run(Command::new(&cli).args(["-h", "127.0.0.1", "-p", &sport.to_string(), "ping"]));
        assert!(
            out.contains("NOAUTH"),
            "{h}: Sentinel answered without its password: {out}"
        );
        // Sentinel reached the master with the rendered auth-pass.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut flags = String::new();
        while Instant::now() < deadline {
            let (_, out) = run(Command::new(&cli)
                .env("REDISCLI_AUTH", &sentinel_password)
                .args([
                    "--no-auth-warning",
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
#[ignore = "needs ansible-inventory (ansible-core) on PATH: bash tests/run.sh installs it in a Python venv"]
fn ansible_loads_the_kubespray_inventory() {
    let inv = tool("ansible-inventory", "ansible-inventory --list");
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
#[ignore = "needs yamllint: bash tests/run.sh installs it"]
fn yamllint_accepts_every_yaml_output() {
    let yamllint = tool("yamllint", "yamllint");
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
#[ignore = "needs python3 with libconf on PATH: bash tests/run.sh installs it in a Python venv"]
fn proxysql_cnf_parses_as_libconfig() {
    let python = tool("python3", "libconfig parse of proxysql.cnf");
    let (has, _) = run(Command::new(&python).args(["-c", "import libconf"]));
    assert!(
        has,
        "libconfig parse of proxysql.cnf: the Python package `libconf` is not installed (pip install libconf, as tests/run.sh does)"
    );
    let script = "import libconf, sys\n\
        c = libconf.load(open(sys.argv[1]))\n\
        assert c['mysql_variables']['interfaces'] == '0.0.0.0:3306', c['mysql_variables']['interfaces']\n\
        assert [s['address'] for s in c['mysql_servers']] == ['10.0.0.170', '10.0.0.171', '10.0.0.172']\n\
        assert c['mysql_users'][0]['username'] == 'erpnext'\n\
        assert [g['max_writers'] for g in c['mysql_galera_hostgroups']] == [1]\n\
        assert c['mysql_variables']['monitor_username'] == 'proxysql_monitor'\n";
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
    }
}

#[test]
#[ignore = "needs shellcheck: bash tests/run.sh installs it"]
fn shellcheck_accepts_the_shell_scripts() {
    let sc = tool("shellcheck", "shellcheck");
    for h in hosts_in("haproxy") {
        let script = file(&h, "usr/local/bin/redis-update-master.sh");
        let (ok, out) = run(Command::new(&sc).args(["-s", "sh"]).arg(&script));
        assert!(ok, "{h}: {out}");
    }
}
