//! The metrics of `playbooks/site.rhai` on real hosts: lab01 is the
//! monitoring host (Prometheus from Debian's package), lab02 runs Redis,
//! lab01 and lab03 PostgreSQL (Patroni, two members: the patroni role needs a
//! Raft partner), lab02 and lab03 MariaDB Galera (a cluster of two), all of
//! them installed by the site's own roles. Then, from lab01,
//! each exporter answers with real metrics (node, redis_up 1, pg_up 1,
//! mysql_up 1) and Prometheus scrapes every target; from lab03 and lab02 the
//! other's exporter ports are dropped (a timeout, not a refusal); the
//! exporters listen on the private IP only and hold their secrets in 0600
//! files, never on their command line; a rerun changes nothing.
//!
//! Hosts: lab01..lab03. Run alone with
//! `cargo test --test lab_metrics -- --include-ignored --nocapture`.

mod common;

use std::time::{Duration, Instant};

use common::lab::{cluster_lab_alone, secret, wait_until, Lab, Port};

const MONITOR: usize = 0;
const REDIS: usize = 1;
/// lab03: PostgreSQL and MariaDB.
const LAB03: usize = 2;
const PG: [usize; 2] = [MONITOR, LAB03];
const GALERA: [usize; 2] = [1, 2];

/// The exporter packages, removed before and after the test so that the
/// first run installs them for real.
const PACKAGES: &str = "prometheus prometheus-node-exporter prometheus-redis-exporter \
                        prometheus-postgres-exporter prometheus-mysqld-exporter";

/// lab01..lab03 as the lab left them: no KeyBuzz state, no exporter.
fn reset(lab: &Lab) {
    for h in [MONITOR, REDIS, LAB03] {
        lab.reset_keybuzz(h);
        lab.ssh(
            h,
            &format!(
                "DEBIAN_FRONTEND=noninteractive apt-get purge -qq -y {PACKAGES} >/dev/null 2>&1; \
                 rm -rf /etc/prometheus /var/lib/prometheus/metrics2; true"
            ),
        );
    }
}

/// The metrics page of `ip:port`, fetched from lab host `from`, or "" when
/// nothing answered.
fn metrics(lab: &Lab, from: usize, ip: &str, port: u16) -> String {
    lab.try_ssh(from, &format!("curl -sf -m 10 http://{ip}:{port}/metrics"))
        .unwrap_or_default()
}

/// The line of `page` holding the metric `name` (without labels), or "".
fn sample<'a>(page: &'a str, name: &str) -> &'a str {
    page.lines()
        .find(|l| l.split([' ', '{']).next() == Some(name))
        .unwrap_or("")
}

#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

#[test]
#[ignore = "needs the lab (18 hosts): bash tests/lab/lab.sh up 18 && eval \"$(bash tests/lab/lab.sh env)\""]
fn exporters_answer_the_monitoring_host_only_and_prometheus_scrapes_them() {
    let (_guard, lab) = cluster_lab_alone(LAB03);
    reset(&lab);
    lab.load_spec("redis", &[REDIS]);
    lab.load_spec("patroni", &PG);
    lab.load_spec("mariadb", &GALERA);

    let site = lab.site(
        &[
            (MONITOR, &["monitoring", "postgres"], ""),
            (REDIS, &["redis", "mariadb"], ""),
            (LAB03, &["postgres", "mariadb"], ""),
        ],
        "base,redis,postgres,galera,metrics",
    );
    let started = Instant::now();
    lab.run_site_ok(&site);
    let deployed = started.elapsed();
    let ip = |h: usize| lab.hosts[h].1.clone();

    // From the monitoring host, every exporter answers with real metrics.
    let checks: [(usize, u16, &str, &str); 8] = [
        (MONITOR, 9100, "node_cpu_seconds_total", ""),
        (REDIS, 9100, "node_cpu_seconds_total", ""),
        (LAB03, 9100, "node_cpu_seconds_total", ""),
        (REDIS, 9121, "redis_up", "redis_up 1"),
        (PG[0], 9187, "pg_up", "pg_up 1"),
        (PG[1], 9187, "pg_up", "pg_up 1"),
        (GALERA[0], 9104, "mysql_up", "mysql_up 1"),
        (GALERA[1], 9104, "mysql_up", "mysql_up 1"),
    ];
    for (h, port, name, want) in checks {
        let page = metrics(&lab, MONITOR, &ip(h), port);
        let line = sample(&page, name);
        assert!(
            !line.is_empty() && line.starts_with(want),
            "{}:{port} from the monitoring host: {name} is {line:?}",
            lab.hosts[h].0
        );
    }
    // The database users have every grant their exporter's collectors need:
    // a scrape that hit a missing privilege reports an error.
    for (h, port, error) in [
        (PG[0], 9187, "pg_exporter_last_scrape_error"),
        (PG[1], 9187, "pg_exporter_last_scrape_error"),
        (GALERA[0], 9104, "mysql_exporter_last_scrape_error"),
        (GALERA[1], 9104, "mysql_exporter_last_scrape_error"),
    ] {
        let page = metrics(&lab, MONITOR, &ip(h), port);
        assert_eq!(
            sample(&page, error),
            format!("{error} 0"),
            "{}:{port}",
            lab.hosts[h].0
        );
    }
    let pg = metrics(&lab, MONITOR, &ip(PG[1]), 9187);
    assert!(
        !sample(&pg, "pg_stat_database_xact_commit").is_empty(),
        "pg_stat_database metrics: {}",
        &pg[..pg.len().min(2000)]
    );

    // From any other host the ports are dropped, not refused.
    for (from, to, port) in [
        (LAB03, REDIS, 9100),
        (LAB03, REDIS, 9121),
        (LAB03, REDIS, 9104),
        (REDIS, LAB03, 9100),
        (REDIS, LAB03, 9187),
        (REDIS, LAB03, 9104),
        (REDIS, MONITOR, 9187),
    ] {
        assert_eq!(
            lab.port(from, &ip(to), port),
            Port::Filtered,
            "{} -> {}:{port}",
            lab.hosts[from].0,
            lab.hosts[to].0
        );
    }

    // On the private address only, with the secrets in 0600 files that
    // systemd reads, never on a command line.
    for (h, ports) in [
        (REDIS, &[9100, 9121, 9104][..]),
        (LAB03, &[9100, 9187, 9104][..]),
    ] {
        let listening = lab.ssh(h, "ss -ltnH | awk '{print $4}'");
        for port in ports {
            let on: Vec<&str> = listening
                .lines()
                .filter(|a| a.ends_with(&format!(":{port}")))
                .collect();
            assert_eq!(on, [format!("{}:{port}", ip(h))], "{}", lab.hosts[h].0);
        }
        let argv = lab.ssh(
            h,
            "for p in $(pgrep -f prometheus-); do tr '\\0' ' ' </proc/$p/cmdline; echo; done; \
             stat -c '%n %a %U:%G' /etc/default/prometheus-* /etc/prometheus/mysqld-exporter.cnf",
        );
        for s in [
            "REDIS_PASSWORD",
            "POSTGRES_EXPORTER_PASSWORD",
            "MARIADB_EXPORTER_PASSWORD",
        ] {
            assert!(!argv.contains(&secret(s)), "{s} on a command line:\n{argv}");
        }
        let files: Vec<&str> = argv.lines().filter(|l| l.starts_with("/etc/")).collect();
        assert_eq!(files.len(), ports.len() + 1, "{files:?}");
        for l in files {
            let want = if l.contains("mysqld-exporter.cnf") {
                " 640 root:prometheus"
            } else {
                " 600 root:root"
            };
            assert!(l.ends_with(want), "{}: {l}", lab.hosts[h].0);
        }
    }

    // Prometheus on the monitoring host scrapes them all.
    let mut health = String::new();
    let scraped = wait_until(Duration::from_secs(150), || {
        health = lab
            .try_ssh(
                MONITOR,
                &format!(
                    "curl -sf -m 10 http://{}:9090/api/v1/targets | \
                     jq -r '.data.activeTargets[] | \"\\(.labels.job) \\(.scrapeUrl) \\(.health)\"' | sort",
                    ip(MONITOR)
                ),
            )
            .unwrap_or_default();
        health.lines().count() == 9 && health.lines().all(|l| l.ends_with(" up"))
    });
    assert!(scraped.is_some(), "9 targets up in Prometheus:\n{health}");
    println!(
        "RESULT metrics: first run (base, Redis, Patroni of 2, Galera of 2, exporters, Prometheus on 3 hosts) {:.0} s; \
         node, redis, postgres and mysqld exporters answered lab01 and were dropped from lab02/lab03; \
         Prometheus had its 9 targets up {:.0} s after the run:\n{health}",
        deployed.as_secs_f64(),
        scraped.unwrap_or_default().as_secs_f64()
    );

    lab.rerun_unchanged(&site);
    reset(&lab);
}
