//! The metrics of issue 10 item 6, rendered: every kept host runs the node
//! exporter (but the Kubernetes nodes, whose kube-prometheus-stack has its
//! own) and its groups' exporters on its private IP only; their ports let
//! in only the monitoring hosts, and with none confirmed (servers.tsv's
//! monitor-01 is an unconfirmed row) nobody, with one warning. With
//! monitor-01 confirmed, its Prometheus scrapes every exporter of the fleet
//! (one file_sd file per kind), checked by the real `promtool`.

use super::golden::assert_golden;
use super::*;

/// The monitoring row of servers.tsv, as an operator would confirm it.
const MONITOR: &str = "monitor-01";
const MONITOR_IP: &str = "10.0.0.152";

/// (group, Debian package, port) of each exporter the exporters role installs.
const EXPORTERS: &[(&str, &str, u16)] = &[
    ("postgres", "prometheus-postgres-exporter", 9187),
    ("redis", "prometheus-redis-exporter", 9121),
    ("mariadb", "prometheus-mysqld-exporter", 9104),
];

/// The hosts the site runs on: no placeholder, no unconfirmed row.
fn kept() -> Vec<(String, Vec<String>)> {
    fleet()
        .into_iter()
        .filter(|(_, g)| !g.iter().any(|x| x == "placeholder" || x == "unconfirmed"))
        .collect()
}

/// The private IP of `host` in servers.tsv.
fn ip_of(host: &str) -> String {
    let text =
        std::fs::read_to_string(common::repo().join("playbooks/inventory/servers.tsv")).unwrap();
    text.lines()
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .find(|c| c[0] == host)
        .unwrap_or_else(|| panic!("{host} not in servers.tsv"))[1]
        .to_string()
}

/// The ufw lines of a host's commands.sh that open `port`.
fn ufw_opening(commands: &str, port: u16) -> Vec<String> {
    commands
        .lines()
        .filter(|l| l.starts_with("ufw ") && l.contains(&format!(" port {port} ")))
        .map(str::to_string)
        .collect()
}

/// The site rendered for servers.tsv with monitor-01 confirmed (its row
/// without the `unconfirmed` group), base and metrics plays only.
fn monitored() -> &'static Path {
    static OUT: OnceLock<PathBuf> = OnceLock::new();
    OUT.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("site-review-monitored");
        std::fs::create_dir_all(&dir).unwrap();
        let tsv = std::fs::read_to_string(common::repo().join("playbooks/inventory/servers.tsv"))
            .unwrap()
            .replace("monitoring,apps,unconfirmed", "monitoring,apps");
        let inventory = dir.join("servers.tsv");
        std::fs::write(&inventory, tsv).unwrap();
        let out = dir.join("review");
        let o = render(&inventory, &out, &["--tags", "base,metrics"]);
        assert!(o.status.success(), "render failed\n{}", common::text(&o));
        out
    })
}

fn read_monitored(host: &str, path: &str) -> String {
    let p = monitored().join(host).join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn every_host_runs_its_exporters_on_its_private_ip() {
    for (host, groups) in kept() {
        let ip = ip_of(&host);
        // Kubernetes nodes have kube-prometheus-stack's node exporter.
        let k8s = groups.iter().any(|g| g == "k8s");
        let node = "etc/default/prometheus-node-exporter";
        assert_eq!(file(&host, node).exists(), !k8s, "{host}: {node}");
        let mut expected = if k8s {
            vec![]
        } else {
            vec![("prometheus-node-exporter", 9100)]
        };
        expected.extend(
            EXPORTERS
                .iter()
                .filter(|(g, _, _)| groups.iter().any(|x| x == g))
                .map(|(_, p, port)| (*p, *port)),
        );
        for (package, port) in expected {
            let conf = read(&host, &format!("etc/default/{package}"));
            assert!(
                conf.contains(&format!("ARGS=\"--web.listen-address={ip}:{port}")),
                "{host}: {package} not on {ip}:{port}:\n{conf}"
            );
            let cmds = read(&host, "commands.sh");
            assert!(
                cmds.contains(&format!(
                    "# write /etc/default/{package} mode=0600 owner=root group=root"
                )),
                "{host}: /etc/default/{package} must be 0600 root:root"
            );
            assert!(
                cmds.contains(&format!("systemctl enable {package}.service")),
                "{host}: {package} not enabled"
            );
        }
    }
    for h in hosts_in("mariadb") {
        assert!(
            read(&h, "commands.sh").contains(
                "# write /etc/prometheus/mysqld-exporter.cnf mode=0640 owner=root group=prometheus"
            ),
            "{h}: the mysqld exporter's login file must be 0640 root:prometheus"
        );
    }
    for h in hosts_in("rabbitmq") {
        let conf = read(&h, "opt/keybuzz/rabbitmq/config/rabbitmq.conf");
        assert!(
            conf.contains(&format!("prometheus.tcp.ip = {}\n", ip_of(&h))),
            "{h}: rabbitmq_prometheus not on the private IP:\n{conf}"
        );
    }
}

#[test]
fn without_a_confirmed_monitoring_host_no_exporter_port_opens_and_the_site_warns() {
    let site = site();
    let warnings: Vec<&str> = site
        .log
        .lines()
        .filter(|l| l.contains("metrics: no monitoring host"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning:\n{}", site.log);
    assert!(!file(MONITOR, "").exists(), "{MONITOR} is unconfirmed");
    for (host, _) in kept() {
        let cmds = read(&host, "commands.sh");
        for port in [9100, 9187, 9121, 9104, 15692] {
            assert_eq!(ufw_opening(&cmds, port), Vec::<String>::new(), "{host}");
        }
    }
}

#[test]
fn a_confirmed_monitoring_host_alone_may_scrape() {
    for (host, groups) in kept() {
        let cmds = std::fs::read_to_string(monitored().join(&host).join("commands.sh")).unwrap();
        if !cmds.contains("ufw --force default deny incoming") {
            continue;
        }
        let mut ports = if groups.iter().any(|g| g == "k8s") {
            vec![]
        } else {
            vec![9100]
        };
        ports.extend(
            EXPORTERS
                .iter()
                .filter(|(g, _, _)| groups.iter().any(|x| x == g))
                .map(|(_, _, port)| *port),
        );
        if groups.iter().any(|g| g == "rabbitmq") {
            ports.push(15692);
        }
        for port in ports {
            let open = ufw_opening(&cmds, port);
            let from = format!("ufw allow from {MONITOR_IP} to any port {port} proto tcp ");
            assert!(
                open.len() == 1 && open[0].starts_with(&from),
                "{host}: port {port} must open to {MONITOR_IP} only: {open:?}"
            );
        }
    }
}

/// The jobs of the monitored render's prometheus.yml and, per job, the
/// targets of its file_sd file.
fn scrape_targets() -> BTreeMap<String, Vec<String>> {
    let yml: serde_json::Value =
        yaml_serde::from_str(&read_monitored(MONITOR, "etc/prometheus/prometheus.yml")).unwrap();
    let mut jobs = BTreeMap::new();
    for job in yml["scrape_configs"].as_array().unwrap() {
        let name = job["job_name"].as_str().unwrap().to_string();
        let Some(files) = job["file_sd_configs"][0]["files"].as_array() else {
            continue;
        };
        let path = files[0].as_str().unwrap().trim_start_matches('/');
        let sd: serde_json::Value = yaml_serde::from_str(&read_monitored(MONITOR, path)).unwrap();
        let targets = sd
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["targets"][0].as_str().unwrap().to_string())
            .collect();
        jobs.insert(name, targets);
    }
    jobs
}

#[test]
fn prometheus_scrapes_every_exporter_of_the_fleet() {
    let jobs = scrape_targets();
    let names: Vec<&str> = jobs.keys().map(String::as_str).collect();
    assert_eq!(names, ["mysqld", "node", "postgres", "rabbitmq", "redis"]);
    let hosts = kept();
    let k8s = hosts_in("k8s").len();
    assert_eq!(
        jobs["node"].len(),
        hosts.len() - k8s + 1,
        "every kept host but the Kubernetes nodes, and {MONITOR}"
    );
    for (job, group, port) in [
        ("postgres", "postgres", 9187),
        ("redis", "redis", 9121),
        ("mysqld", "mariadb", 9104),
        ("rabbitmq", "rabbitmq", 15692),
    ] {
        let want: Vec<String> = hosts_in(group)
            .iter()
            .map(|h| format!("{}:{port}", ip_of(h)))
            .collect();
        let mut got = jobs[job].clone();
        got.sort();
        let mut want_sorted = want.clone();
        want_sorted.sort();
        assert_eq!(got, want_sorted, "{job}");
    }
    for unconfirmed in hosts_in("unconfirmed") {
        let ip = format!("{}:", ip_of(&unconfirmed));
        if unconfirmed == MONITOR {
            continue;
        }
        assert!(
            jobs.values().flatten().all(|t| !t.starts_with(&ip)),
            "{unconfirmed} is scraped"
        );
    }
    for path in [
        "etc/prometheus/prometheus.yml",
        "etc/prometheus/file_sd/redis.yml",
        "etc/default/prometheus",
    ] {
        assert_golden("monitored__", MONITOR, path, &read_monitored(MONITOR, path));
    }
    for (host, path) in [
        ("redis-01", "etc/default/prometheus-redis-exporter"),
        ("db-master-01", "etc/default/prometheus-postgres-exporter"),
        ("maria-01", "etc/default/prometheus-mysqld-exporter"),
        ("maria-01", "etc/prometheus/mysqld-exporter.cnf"),
    ] {
        assert_golden("", host, path, &read(host, path));
    }
}

#[test]
#[ignore = "needs promtool (the Debian package prometheus): bash tests/run.sh installs it"]
fn promtool_accepts_the_scrape_config_and_its_targets() {
    let promtool = tool("promtool", "promtool check config");
    let tmp = tempfile::tempdir().unwrap();
    let sd = tmp.path().join("file_sd");
    std::fs::create_dir_all(&sd).unwrap();
    let etc = monitored().join(MONITOR).join("etc/prometheus");
    for e in std::fs::read_dir(etc.join("file_sd")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), sd.join(e.file_name())).unwrap();
    }
    let conf = tmp.path().join("prometheus.yml");
    let text = std::fs::read_to_string(etc.join("prometheus.yml"))
        .unwrap()
        .replace("/etc/prometheus/file_sd/", &format!("{}/", sd.display()));
    std::fs::write(&conf, text).unwrap();
    let (ok, out) = run(Command::new(&promtool).args(["check", "config"]).arg(&conf));
    assert!(ok, "{out}");
    // promtool reads each job's file_sd file (silently when it is right):
    // a broken one fails the check.
    for job in scrape_targets().keys() {
        let path = sd.join(format!("{job}.yml"));
        let good = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, "- targetz: [\"x:1\"]\n").unwrap();
        let (ok, out) = run(Command::new(&promtool).args(["check", "config"]).arg(&conf));
        assert!(
            !ok && out.contains(&format!("{job}.yml")),
            "{job}.yml unchecked: {out}"
        );
        std::fs::write(&path, good).unwrap();
    }
}
