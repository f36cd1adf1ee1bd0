//! Event sequences shared by the reporters' tests.

use std::time::Duration;

use super::{ChangeLine, Event, HostStats, OpStatus};

fn s(x: &str) -> String {
    x.to_owned()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn change(symbol: char, summary: &str) -> ChangeLine {
    ChangeLine {
        symbol,
        summary: s(summary),
    }
}

/// `OpEnd` with the fields most tests do not care about left empty.
pub(crate) fn op_end(host: &str, op: &str, target: &str, status: OpStatus, elapsed: u64) -> Event {
    Event::OpEnd {
        host: s(host),
        op: s(op),
        target: s(target),
        status,
        changes: vec![],
        diff: None,
        message: None,
        at: None,
        elapsed: ms(elapsed),
    }
}

fn op_start(host: &str, op: &str, target: &str) -> Event {
    Event::OpStart {
        host: s(host),
        op: s(op),
        target: s(target),
    }
}

const SENTINEL: &str = "/opt/keybuzz/redis/conf/sentinel.conf";

/// A successful run: one play, three hosts, a changed template with a diff,
/// an `ok` package, a skipped command, a log and a warning.
pub(crate) fn redis_run() -> Vec<Event> {
    let hosts = ["redis-01", "redis-02", "redis-sentinel-03"];
    let mut events = vec![
        Event::RunStart {
            playbook: s("playbooks/redis.rhai"),
            hosts: 3,
            check: false,
        },
        Event::PlayStart {
            play: s("Redis HA"),
            hosts: hosts.iter().map(|h| s(h)).collect(),
        },
    ];
    for h in hosts {
        events.push(Event::HostStart { host: s(h) });
    }
    events.push(op_start("redis-01", "apt", "redis-server"));
    events.push(op_end("redis-01", "apt", "redis-server", OpStatus::Ok, 210));
    events.push(op_start("redis-01", "template", SENTINEL));
    events.push(Event::OpEnd {
        host: s("redis-01"),
        op: s("template"),
        target: s(SENTINEL),
        status: OpStatus::Changed,
        changes: vec![change('~', "content"), change('~', "mode 0644 -> 0640")],
        diff: Some(s(concat!(
            "--- /opt/keybuzz/redis/conf/sentinel.conf (on host)\n",
            "+++ /opt/keybuzz/redis/conf/sentinel.conf (desired)\n",
            "@@ -1,3 +1,3 @@\n",
            " port 26379\n",
            "-sentinel monitor main 10.0.0.11 6379 2\n",
            "+sentinel monitor main 10.0.0.12 6379 2\n",
            " sentinel down-after-milliseconds main 5000\n",
        ))),
        message: None,
        at: None,
        elapsed: ms(640),
    });
    events.push(Event::Log {
        host: Some(s("redis-02")),
        message: s("role: replica"),
    });
    events.push(op_start("redis-02", "apt", "redis-server"));
    events.push(op_end("redis-02", "apt", "redis-server", OpStatus::Ok, 190));
    events.push(Event::OpEnd {
        host: s("redis-02"),
        op: s("command"),
        target: s("redis-cli replicaof 10.0.0.12 6379"),
        status: OpStatus::Skipped,
        changes: vec![],
        diff: None,
        message: Some(s("tags")),
        at: None,
        elapsed: ms(0),
    });
    events.push(Event::OpEnd {
        host: s("redis-sentinel-03"),
        op: s("service"),
        target: s("redis-sentinel"),
        status: OpStatus::Changed,
        changes: vec![change('!', "restarted")],
        diff: None,
        message: None,
        at: None,
        elapsed: ms(1_250),
    });
    events.push(Event::Warn {
        host: Some(s("redis-sentinel-03")),
        message: s("quorum 2 with 1 sentinel"),
    });
    events.push(Event::Log {
        host: None,
        message: s("all sentinels configured"),
    });
    for h in hosts {
        events.push(Event::HostEnd { host: s(h) });
    }
    events.push(Event::PlayEnd {
        play: s("Redis HA"),
    });
    events.push(Event::RunEnd {
        recap: vec![
            (
                s("redis-01"),
                HostStats {
                    ok: 1,
                    changed: 1,
                    elapsed: ms(900),
                    ..Default::default()
                },
            ),
            (
                s("redis-02"),
                HostStats {
                    ok: 1,
                    skipped: 1,
                    elapsed: ms(400),
                    ..Default::default()
                },
            ),
            (
                s("redis-sentinel-03"),
                HostStats {
                    changed: 1,
                    elapsed: ms(1_300),
                    ..Default::default()
                },
            ),
        ],
        elapsed: ms(1_420),
    });
    events
}

/// A run that goes wrong: an operation fails, a host is unreachable, a
/// script error, a warning about no host in particular.
pub(crate) fn failing_run() -> Vec<Event> {
    let hosts = ["web-01", "web-02", "db-01"];
    vec![
        Event::RunStart { playbook: s("site.rhai"), hosts: 3, check: true },
        Event::PlayStart { play: s("Web"), hosts: hosts.iter().map(|h| s(h)).collect() },
        op_end("web-01", "apt", "nginx", OpStatus::Ok, 300),
        Event::OpEnd {
            host: s("web-01"),
            op: s("template"),
            target: s("/etc/nginx/nginx.conf"),
            status: OpStatus::Failed,
            changes: vec![change('~', "content")],
            diff: None,
            message: Some(s("template error: undefined variable `worker_count`\n  in nginx.conf.j2 line 4")),
            at: Some(s("site.rhai:12:5")),
            elapsed: ms(120),
        },
        Event::Unreachable {
            host: s("db-01"),
            error: s("ssh: connect to host 10.0.0.30 port 22: Connection timed out\ncheck the address, or --limit '!db-01' to skip it"),
        },
        Event::HostFailed {
            host: s("web-02"),
            error: s("site.rhai:20:1: function not found: restrat(string)"),
        },
        Event::Warn { host: None, message: s("2 hosts failed; handlers not run on them") },
        Event::PlayEnd { play: s("Web") },
        Event::RunEnd {
            recap: vec![
                (s("web-01"), HostStats { ok: 1, failed: 1, elapsed: ms(420), ..Default::default() }),
                (s("web-02"), HostStats { failed: 1, elapsed: ms(10), ..Default::default() }),
                (s("db-01"), HostStats { unreachable: true, elapsed: ms(10_000), ..Default::default() }),
            ],
            elapsed: ms(10_050),
        },
    ]
}
