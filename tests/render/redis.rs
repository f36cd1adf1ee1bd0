//! Redis hardening (module 4) in the review: maxmemory from `redis_maxmemory`,
//! written as Redis's CONFIG REWRITE writes it (so a rewrite after a failover
//! leaves the owned line alone), a bad value failing the run; Sentinel's
//! password lines and HAProxy's copy of it present, and masked.

use super::*;

/// The site rendered for the Redis nodes only, with `-e redis_maxmemory=VALUE`.
fn render_redis(value: &str) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let o = render(
        Path::new("playbooks/inventory/servers.tsv"),
        &dir.path().join("review"),
        &[
            "--tags",
            "redis",
            "--limit",
            "redis",
            "-e",
            &format!("redis_maxmemory={value}"),
        ],
    );
    (dir, o)
}

#[test]
fn maxmemory_is_written_as_redis_rewrites_it() {
    for (given, written) in [
        ("2gb", "2gb"),
        ("2048mb", "2gb"),
        ("1536MB", "1536mb"),
        ("1g", "1000000000"),
        ("1073741824", "1gb"),
    ] {
        let (dir, o) = render_redis(given);
        assert!(o.status.success(), "{given}\n{}", common::text(&o));
        for h in hosts_in("redis") {
            let conf = std::fs::read_to_string(
                dir.path()
                    .join("review")
                    .join(&h)
                    .join("opt/keybuzz/redis/conf/redis.conf"),
            )
            .unwrap();
            let lines: Vec<&str> = conf
                .lines()
                .filter(|l| l.starts_with("maxmemory "))
                .collect();
            assert_eq!(
                lines,
                [format!("maxmemory {written}")],
                "{h}, {given}:\n{conf}"
            );
            assert!(conf.contains("maxmemory-policy allkeys-lru"), "{h}");
        }
    }
}

#[test]
fn a_share_of_memory_waits_for_the_host_and_says_so() {
    // Offline there is no host memory: the seed says where maxmemory comes from.
    let conf = read("redis-01", "opt/keybuzz/redis/conf/redis.conf");
    assert!(!conf.contains("\nmaxmemory "), "{conf}");
    assert!(
        conf.contains("# maxmemory: a share of the host's memory (redis_maxmemory)"),
        "{conf}"
    );
}

#[test]
fn a_bad_maxmemory_fails_the_run() {
    for bad in ["lots", "2tb", "1.5gb", "0%", "150%"] {
        let (_dir, o) = render_redis(bad);
        let log = common::text(&o);
        assert!(!o.status.success(), "{bad} rendered\n{log}");
        assert!(log.contains("redis_maxmemory: "), "{bad}: {log}");
        assert!(log.contains(bad), "{bad}: {log}");
    }
}

#[test]
fn sentinel_asks_for_its_password_masked_in_the_review() {
    let masked = "<secret:REDIS_SENTINEL_PASSWORD>";
    for h in hosts_in("redis") {
        let conf = read(&h, "opt/keybuzz/redis/sentinel/sentinel.conf");
        for want in [
            format!("requirepass \"{masked}\""),
            format!("sentinel sentinel-pass {masked}"),
        ] {
            assert!(conf.lines().any(|l| l == want), "{h}: no `{want}`:\n{conf}");
        }
        // redis::probe() asks Sentinel with the password, from stdin.
        let cmds = read(&h, "commands.sh");
        assert!(
            cmds.contains(&format!("#   stdin: export SENTINEL_AUTH='{masked}'")),
            "{h}: {cmds}"
        );
    }
    for h in hosts_in("haproxy") {
        let pass = file(&h, "opt/keybuzz/haproxy/sentinel.pass");
        assert_eq!(std::fs::read_to_string(&pass).unwrap(), masked, "{h}");
        let cmds = read(&h, "commands.sh");
        assert!(
            cmds.contains(
                "# write /opt/keybuzz/haproxy/sentinel.pass mode=0600 owner=root group=root"
            ),
            "{h}: {cmds}"
        );
        let script = read(&h, "usr/local/bin/redis-update-master.sh");
        assert!(
            script.contains(
                "REDISCLI_AUTH=$(cat /opt/keybuzz/haproxy/sentinel.pass)\nexport REDISCLI_AUTH\n"
            ),
            "{h}: {script}"
        );
    }
}

#[test]
fn the_probe_asks_redis_and_its_sentinel_in_one_exec() {
    // One `docker exec` of the redis container asks both (each costs the
    // host about 0.1 CPU-s on every run); the two execs only when it fails.
    for h in hosts_in("redis") {
        let cmds = read(&h, "commands.sh");
        let probe = cmds
            .lines()
            .find(|l| l.contains("sentinel get-master-addr-by-name"))
            .unwrap_or_else(|| panic!("{h}: no probe in\n{cmds}"));
        let (both, apart) = probe
            .split_once("case $o in")
            .unwrap_or_else(|| panic!("{h}: no fallback in {probe}"));
        assert!(
            both.contains("docker exec -e REDISCLI_AUTH -e SENTINEL_AUTH redis sh -c '")
                && both.matches("docker exec").count() == 1,
            "{h}: {probe}"
        );
        assert!(
            apart.contains("docker exec -e REDISCLI_AUTH redis-sentinel "),
            "{h}: {probe}"
        );
    }
}

#[test]
fn maxmemory_is_read_by_the_probe_s_own_command() {
    // apply_maxmemory() runs the probe's very command (script and env), so a
    // rerun's opening answers both with one `docker exec`; no exec of its own.
    let (dir, o) = render_redis("300mb");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let review = dir.path().join("review");
    for h in ["redis-01", "redis-02", "redis-03"] {
        let cmds = std::fs::read_to_string(review.join(h).join("commands.sh")).unwrap();
        let reads: Vec<&str> = cmds
            .lines()
            .filter(|l| l.contains("config get maxmemory"))
            .collect();
        assert_eq!(
            reads.len(),
            2,
            "{h}: the probe and apply_maxmemory:\n{cmds}"
        );
        assert_eq!(reads[0], reads[1], "{h}: the same command");
        assert!(
            reads[0].contains("sentinel get-master-addr-by-name")
                && reads[0].contains("docker exec -e REDISCLI_AUTH -e SENTINEL_AUTH redis sh -c '"),
            "{h}: {}",
            reads[0]
        );
    }
}
