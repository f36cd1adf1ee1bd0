//! Redis + Sentinel + HAProxy, deployed by `playbooks/site.rhai` on lab hosts
//! and broken on purpose: the master's container is stopped, Sentinel must
//! promote a replica, HAProxy must send writes to it, the old master must come
//! back as a replica, and a rerun of the site must change nothing (Sentinel's
//! rewritten files are respected). Sentinel refuses a client without its
//! password; every node runs with the planned maxmemory; a Sentinel whose file
//! predates the password gets it on the next run, and a new maxmemory reaches
//! a running node without a restart.
//!
//! Hosts: lab05..lab07 (group redis), lab08 (group haproxy). Run alone with
//! `cargo test --test cluster_redis -- --include-ignored --nocapture` on a lab of 8+ hosts.

mod common;

use std::time::Duration;

use common::lab::{cluster_lab_alone, secret, wait_until, Lab, Port};

const REDIS: [usize; 3] = [4, 5, 6];
const HAPROXY: usize = 7;

/// redis-cli on a lab host, authenticated with the fixture password.
fn cli(lab: &Lab, on: usize, target: &str, port: u16, args: &str) -> Option<String> {
    let pw = secret("REDIS_PASSWORD");
    lab.try_ssh(
        on,
        &format!("REDISCLI_AUTH='{pw}' timeout 5 redis-cli --no-auth-warning -h {target} -p {port} {args}"),
    )
    .map(|s| s.trim().to_string())
}

/// What the Sentinel on `sentinel` answers the HAProxy host (another lab
/// host) to `args`, with `password` or without one; the first line.
fn ask_sentinel(lab: &Lab, sentinel: usize, args: &str, password: Option<&str>) -> Option<String> {
    let ip = &lab.hosts[sentinel].1;
    let auth = password
        .map(|p| format!("REDISCLI_AUTH='{p}' "))
        .unwrap_or_default();
    lab.try_ssh(
        HAPROXY,
        &format!("{auth}timeout 5 redis-cli --no-auth-warning -h {ip} -p 26379 {args} | head -n 1"),
    )
    .map(|s| s.trim().to_string())
    .filter(|s| !s.is_empty())
}

const GET_MASTER: &str = "sentinel get-master-addr-by-name kb-redis-master";

/// The master address a Sentinel names.
fn sentinel_master(lab: &Lab, sentinel: usize) -> Option<String> {
    ask_sentinel(
        lab,
        sentinel,
        GET_MASTER,
        Some(&secret("REDIS_SENTINEL_PASSWORD")),
    )
}

/// Sentinel on `sentinel` refuses a client with none of `refused` (no
/// password, a former one) and answers one with `password`.
fn assert_sentinel_needs(lab: &Lab, sentinel: usize, password: &str, refused: &[Option<&str>]) {
    let name = &lab.hosts[sentinel].0;
    for wrong in refused {
        let got = ask_sentinel(lab, sentinel, GET_MASTER, *wrong).unwrap_or_default();
        assert!(
            got.starts_with("NOAUTH"),
            "{name}: Sentinel answered a client with {wrong:?}: {got:?}"
        );
    }
    let authed = ask_sentinel(lab, sentinel, GET_MASTER, Some(password)).unwrap_or_default();
    assert!(
        authed.parse::<std::net::Ipv4Addr>().is_ok(),
        "{name}: Sentinel did not answer with the password: {authed:?}"
    );
}

/// [`assert_sentinel_needs`] with the fixture password, none refused.
fn assert_sentinel_needs_its_password(lab: &Lab, sentinel: usize) {
    assert_sentinel_needs(lab, sentinel, &secret("REDIS_SENTINEL_PASSWORD"), &[None]);
}

/// The maxmemory the redis role plans for `host` given its `redis_maxmemory`
/// share in percent: that share of the host's memory (MemTotal, or a smaller
/// memory cgroup limit), in whole MiB.
fn planned_share(lab: &Lab, host: usize, percent: u64) -> u64 {
    let out = lab.ssh(
        host,
        "awk '/^MemTotal:/ {print $2}' /proc/meminfo; \
         cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null; true",
    );
    let mut lines = out.lines();
    let total = lines.next().unwrap().trim().parse::<u64>().unwrap() / 1024 * MIB;
    let memory = lines
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .fold(total, u64::min);
    memory * percent / 100 / MIB * MIB
}

const MIB: u64 = 1024 * 1024;

/// CONFIG GET maxmemory on the Redis node `host`, in bytes.
fn live_maxmemory(lab: &Lab, host: usize) -> u64 {
    let ip = lab.hosts[host].1.clone();
    let out = cli(lab, HAPROXY, &ip, 6379, "config get maxmemory").unwrap_or_default();
    out.lines()
        .nth(1)
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{ip}: config get maxmemory said {out:?}"))
}

/// The Redis node's run_id: a restart changes it.
fn run_id(lab: &Lab, host: usize) -> String {
    let ip = lab.hosts[host].1.clone();
    cli(lab, HAPROXY, &ip, 6379, "info server")
        .and_then(|i| {
            i.lines()
                .find_map(|l| l.strip_prefix("run_id:"))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("{ip}: no run_id"))
}

/// The site on the cluster's hosts, REDIS[1] with `redis_maxmemory: memory`
/// and REDIS[2] with a 10% share; REDIS[0] keeps the default (70%).
fn site_with(lab: &Lab, memory: &str) -> common::lab::Site {
    let one = format!("      redis_maxmemory: {memory}\n");
    lab.site(
        &[
            (REDIS[0], &["redis"], ""),
            (REDIS[1], &["redis"], &one),
            (REDIS[2], &["redis"], "      redis_maxmemory: \"10%\"\n"),
            (HAPROXY, &["haproxy"], ""),
        ],
        "base,redis,haproxy",
    )
}

/// Every node runs with the maxmemory site_with() plans (REDIS[1]: `memory_mb`).
fn assert_planned_maxmemory(lab: &Lab, memory_mb: u64) {
    let planned = [
        planned_share(lab, REDIS[0], 70),
        memory_mb * MIB,
        planned_share(lab, REDIS[2], 10),
    ];
    for (&h, want) in REDIS.iter().zip(planned) {
        assert_eq!(
            live_maxmemory(lab, h),
            want,
            "{}: CONFIG GET maxmemory",
            lab.hosts[h].0
        );
    }
}

/// With `KBZ_LAB_REQUIRED` set, the run must include the ignored test below
/// and the lab must be up.
#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

#[test]
#[ignore = "needs the lab (8 hosts): bash tests/lab/lab.sh up 18 && eval \"$(bash tests/lab/lab.sh env)\""]
fn sentinel_fails_over_haproxy_follows_and_a_rerun_keeps_the_new_master() {
    let (_guard, lab) = cluster_lab_alone(HAPROXY);
    for h in REDIS.iter().chain([&HAPROXY]) {
        lab.reset_keybuzz(*h);
    }
    lab.load_spec("redis", &REDIS);
    lab.load_spec("haproxy", &[HAPROXY]);

    let site = site_with(&lab, "300mb");
    lab.run_site_ok(&site);

    // A fresh cluster: the first member by name is master, two replicas follow.
    let ips: Vec<String> = REDIS.iter().map(|&i| lab.hosts[i].1.clone()).collect();
    let master = ips[0].clone();
    let replicated = wait_until(Duration::from_secs(30), || {
        cli(&lab, HAPROXY, &master, 6379, "info replication")
            .is_some_and(|i| i.contains("role:master") && i.contains("connected_slaves:2"))
    });
    assert!(replicated.is_some(), "2 replicas connected to {master}");
    for s in REDIS {
        let seen = wait_until(Duration::from_secs(30), || {
            sentinel_master(&lab, s).as_deref() == Some(&master)
        });
        assert!(
            seen.is_some(),
            "sentinel on {} names {master}",
            lab.hosts[s].0
        );
    }

    for s in REDIS {
        assert_sentinel_needs_its_password(&lab, s);
    }
    assert_planned_maxmemory(&lab, 300);

    // base_os's firewall: each host opens its role's ports to the private
    // network and nothing else. From another lab host, Redis and Sentinel
    // answer, while HAProxy's stats page (listening, on loopback only) and a
    // port nothing may reach stay dark; on the HAProxy host, Redis's ports are
    // closed by ufw (the SYN is dropped, not refused).
    let (redis_ip, haproxy_ip) = (lab.hosts[REDIS[1]].1.clone(), lab.hosts[HAPROXY].1.clone());
    assert_eq!(lab.port(HAPROXY, &redis_ip, 6379), Port::Open);
    assert_eq!(lab.port(HAPROXY, &redis_ip, 26379), Port::Open);
    assert_eq!(
        lab.port(HAPROXY, &redis_ip, 5432),
        Port::Filtered,
        "not a postgres host"
    );
    assert_eq!(
        lab.port(REDIS[1], &haproxy_ip, 6379),
        Port::Open,
        "haproxy's redis frontend"
    );
    assert_eq!(
        lab.port(REDIS[1], &haproxy_ip, 26379),
        Port::Filtered,
        "no sentinel on haproxy"
    );
    for (host, allowed) in [
        (REDIS[0], &["22/tcp", "6379/tcp", "26379/tcp"][..]),
        (
            HAPROXY,
            &[
                "22/tcp", "5432/tcp", "5433/tcp", "6432/tcp", "6379/tcp", "5672/tcp",
            ][..],
        ),
    ] {
        let status = lab.ssh(host, "ufw status");
        assert!(status.contains("Status: active"), "{status}");
        let mut open: Vec<&str> = status
            .lines()
            .filter(|l| l.contains("ALLOW"))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        open.sort_unstable();
        open.dedup();
        let mut want = allowed.to_vec();
        want.sort_unstable();
        assert_eq!(
            open, want,
            "{}: only its role's ports:\n{status}",
            lab.hosts[host].0
        );
    }

    // A key written through HAProxy reaches every replica.
    let through = wait_until(Duration::from_secs(30), || {
        cli(
            &lab,
            HAPROXY,
            &haproxy_ip,
            6379,
            "set kbz:proof before-failover",
        )
        .as_deref()
            == Some("OK")
    });
    assert!(through.is_some(), "write through HAProxy");
    for ip in &ips[1..] {
        let got = wait_until(Duration::from_secs(10), || {
            cli(&lab, HAPROXY, ip, 6379, "get kbz:proof").as_deref() == Some("before-failover")
        });
        assert!(got.is_some(), "replica {ip} has the key");
    }

    // Break it: stop the master's container.
    lab.ssh(REDIS[0], "docker stop redis >/dev/null");
    let mut new_master = String::new();
    let promoted = wait_until(Duration::from_secs(30), || {
        match sentinel_master(&lab, REDIS[1]) {
            Some(m) if m != master && role_of(&lab, &m) == Some("master".into()) => {
                new_master = m;
                true
            }
            _ => false,
        }
    });
    let promoted =
        promoted.unwrap_or_else(|| panic!("no replica promoted within 30 s of stopping {master}"));
    let routed = wait_until(Duration::from_secs(30), || {
        cli(
            &lab,
            HAPROXY,
            &haproxy_ip,
            6379,
            "set kbz:after failover-ok",
        )
        .as_deref()
            == Some("OK")
    })
    .unwrap_or_else(|| panic!("HAProxy did not route writes to {new_master} within 30 s"));
    assert_eq!(
        cli(&lab, HAPROXY, &haproxy_ip, 6379, "get kbz:proof").as_deref(),
        Some("before-failover"),
        "the key written before the failover survived"
    );
    assert_eq!(
        cli(&lab, HAPROXY, &new_master, 6379, "get kbz:after").as_deref(),
        Some("failover-ok"),
        "HAProxy wrote to the new master"
    );

    // The old master comes back as a replica of the new one.
    lab.ssh(REDIS[0], "docker start redis >/dev/null");
    let rejoined = wait_until(Duration::from_secs(60), || {
        cli(&lab, HAPROXY, &master, 6379, "info replication").is_some_and(|i| {
            i.contains("role:slave") && i.contains(&format!("master_host:{new_master}"))
        })
    })
    .unwrap_or_else(|| panic!("{master} did not rejoin as a replica of {new_master} within 60 s"));
    println!(
        "RESULT redis: master {master} stopped; Sentinel promoted {new_master} in {:.1} s; \
         HAProxy wrote to it {:.1} s later; the old master rejoined as a replica in {:.1} s",
        promoted.as_secs_f64(),
        routed.as_secs_f64(),
        rejoined.as_secs_f64()
    );

    // A rerun changes nothing and keeps the new master.
    lab.rerun_unchanged(&site);
    assert_eq!(role_of(&lab, &master).as_deref(), Some("slave"));
    assert_eq!(
        sentinel_master(&lab, REDIS[2]).as_deref(),
        Some(new_master.as_str())
    );
    assert_eq!(
        cli(&lab, HAPROXY, &haproxy_ip, 6379, "get kbz:after").as_deref(),
        Some("failover-ok")
    );

    // A Sentinel from before the password: its file, as Sentinel rewrote it,
    // says `user default on nopass`, which outranks a requirepass line.
    let conf = "/opt/keybuzz/redis/sentinel/sentinel.conf";
    lab.ssh(
        REDIS[1],
        &format!(
            "sed -i -e '/^requirepass /d' -e '/^sentinel sentinel-pass /d' \
               -e 's/^user default .*/user default on nopass ~* \\&* +@all/' {conf} && \
             docker restart redis-sentinel >/dev/null"
        ),
    );
    let open = wait_until(Duration::from_secs(10), || {
        ask_sentinel(&lab, REDIS[1], GET_MASTER, None).as_deref() == Some(new_master.as_str())
    });
    assert!(open.is_some(), "the old Sentinel answers anyone");
    let before = run_id(&lab, REDIS[1]);
    // The next run closes it, and gives REDIS[1] a new maxmemory live.
    let site = site_with(&lab, "400mb");
    let out = lab.run_site_ok(&site);
    assert!(common::total(&out, "changed") > 0, "{}", common::text(&out));
    assert_sentinel_needs_its_password(&lab, REDIS[1]);
    assert_planned_maxmemory(&lab, 400);
    assert_eq!(
        run_id(&lab, REDIS[1]),
        before,
        "maxmemory set without a restart"
    );
    let line = lab.ssh(
        REDIS[1],
        "grep '^maxmemory ' /opt/keybuzz/redis/conf/redis.conf",
    );
    assert_eq!(line.trim(), "maxmemory 400mb");
    lab.rerun_unchanged(&site);

    // A live maxmemory set by hand, the file untouched: the next run reads it
    // in the probe's own exec, answered in the opening, and sets it back live.
    let ip = lab.hosts[REDIS[1]].1.clone();
    let set = cli(&lab, HAPROXY, &ip, 6379, "config set maxmemory 1mb");
    assert_eq!(set.as_deref().map(str::trim), Some("OK"));
    let out = lab.run_site_ok(&site);
    assert_eq!(common::total(&out, "changed"), 1, "{}", common::text(&out));
    assert_planned_maxmemory(&lab, 400);
    assert_eq!(
        run_id(&lab, REDIS[1]),
        before,
        "maxmemory set back without a restart"
    );
    lab.rerun_unchanged(&site);

    // A rotated Sentinel password reaches every Sentinel (the `user default`
    // line their rewrites hold names the old one). The probes, refused by the
    // Sentinels on the way, name no master: Redis's own roles decide.
    let old = secret("REDIS_SENTINEL_PASSWORD");
    let new = "fx-rotated-7Kq2Lm9v";
    site.set_secret("REDIS_SENTINEL_PASSWORD", new);
    let out = lab.run_site_ok(&site);
    let log = common::text(&out);
    assert!(
        log.contains(&format!("Redis master: {new_master}")),
        "the probe chose another master: {log}"
    );
    for s in REDIS {
        assert_sentinel_needs(&lab, s, new, &[None, Some(&old)]);
    }
    let hook = lab.ssh(
        HAPROXY,
        "systemctl start redis-update-master.service && cat /opt/keybuzz/haproxy/sentinel.pass",
    );
    assert_eq!(hook, new, "HAProxy's hook has the new password");
    lab.rerun_unchanged(&site);
    println!(
        "RESULT redis auth: every Sentinel answered NOAUTH without its password; \
         a pre-password sentinel.conf was closed by the next run; maxmemory 300mb -> 400mb \
         live (same run_id); a rotated Sentinel password reached all three; reruns changed nothing"
    );
    for h in REDIS.iter().chain([&HAPROXY]) {
        lab.reset_keybuzz(*h);
    }
}

/// The replication role of the node at `ip`.
fn role_of(lab: &Lab, ip: &str) -> Option<String> {
    cli(lab, HAPROXY, ip, 6379, "role").and_then(|r| r.lines().next().map(str::to_string))
}
