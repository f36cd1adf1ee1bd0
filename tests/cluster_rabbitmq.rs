//! RabbitMQ, deployed by `playbooks/site.rhai` on three lab hosts and broken on
//! purpose: a quorum queue is declared and fed, the node leading it is
//! stopped, publishing and consuming must go on through the two others, the
//! stopped node must rejoin when started, and a rerun of the site must change
//! nothing.
//!
//! The lab image is Debian 12's rabbitmq-server 3.10.8 laid out like the
//! official `rabbitmq:3.13.2-management` (uid 999, /etc/rabbitmq and
//! /var/lib/rabbitmq, `rabbitmq-server` as the default command, HOME holding the
//! Erlang cookie). Messages go through the management plugin's HTTP API with
//! curl from the lab hosts (no AMQP client there).
//!
//! The Prometheus plugin (rabbitmq_prometheus, port 15692) is checked on the
//! way: lab01 (group monitoring) reads its metrics, lab03 is dropped.
//!
//! Hosts: lab16..lab18 (group rabbitmq), lab01 (monitoring). Run alone with
//! `cargo test --test cluster_rabbitmq -- --include-ignored --nocapture` on a lab of 18 hosts.

mod common;

use std::time::{Duration, Instant};

use common::lab::{cluster_lab_alone, secret, wait_until, Lab, Port};
use common::text;
use serde_json::{json, Value};

const RABBIT: [usize; 3] = [15, 16, 17];

/// lab01, the monitoring host (group `monitoring`): the only one the
/// Prometheus port 15692 lets in.
const MONITOR: usize = 0;

/// lab03, a lab host in no group of the test: the firewall drops it.
const OUTSIDER: usize = 2;

/// The queue the test declares, feeds and drains.
const QUEUE: &str = "kbz.proof";

/// A call to the management HTTP API of the node on lab host `on`, from that
/// host, as the role's default user: the parsed JSON answer (Null when the
/// body is empty), or None on any failure. The password goes to curl on its
/// standard input, and a failure never echoes the command.
fn api(lab: &Lab, on: usize, method: &str, path: &str, body: Option<&Value>) -> Option<Value> {
    let pw = secret("RABBITMQ_DEFAULT_PASS");
    let ip = &lab.hosts[on].1;
    let data = body
        .map(|b| format!("-H 'content-type: application/json' --data '{b}'"))
        .unwrap_or_default();
    let out = lab.try_ssh(
        on,
        &format!(
            "printf 'user = \"keybuzz:%s\"\\n' '{pw}' | \
             curl -sf -m 10 -K - -X {method} {data} 'http://{ip}:15672/api{path}'"
        ),
    )?;
    if out.trim().is_empty() {
        Some(Value::Null)
    } else {
        serde_json::from_str(&out).ok()
    }
}

/// The running nodes `rabbitmqctl cluster_status` reports on lab host `on`.
fn running_nodes(lab: &Lab, on: usize) -> Vec<String> {
    lab.try_ssh(
        on,
        "docker exec rabbitmq rabbitmqctl -q cluster_status --formatter json",
    )
    .and_then(|s| serde_json::from_str::<Value>(&s).ok())
    .and_then(|v| {
        v["running_nodes"].as_array().map(|a| {
            a.iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect()
        })
    })
    .unwrap_or_default()
}

/// The queue as the API on `on` shows it.
fn queue(lab: &Lab, on: usize) -> Option<Value> {
    api(lab, on, "GET", &format!("/queues/%2F/{QUEUE}"), None)
}

/// Publishes `payload` to the queue through the node on `on`; true when the
/// broker routed it.
fn publish(lab: &Lab, on: usize, payload: &str) -> bool {
    let body = json!({
        "properties": { "delivery_mode": 2 },
        "routing_key": QUEUE,
        "payload": payload,
        "payload_encoding": "string",
    });
    api(
        lab,
        on,
        "POST",
        "/exchanges/%2F/amq.default/publish",
        Some(&body),
    )
    .is_some_and(|v| v["routed"] == true)
}

/// Takes up to `count` messages off the queue through the node on `on`
/// (acknowledged, so they leave the queue): their payloads, or None when the
/// API failed.
fn consume(lab: &Lab, on: usize, count: usize) -> Option<Vec<String>> {
    let body = json!({ "count": count, "ackmode": "ack_requeue_false", "encoding": "auto" });
    let got = api(
        lab,
        on,
        "POST",
        &format!("/queues/%2F/{QUEUE}/get"),
        Some(&body),
    )?;
    Some(
        got.as_array()?
            .iter()
            .filter_map(|m| m["payload"].as_str().map(str::to_string))
            .collect(),
    )
}

/// The lab host index whose node is `rabbit@<name>`.
fn host_of(lab: &Lab, node: &str) -> Option<usize> {
    RABBIT
        .into_iter()
        .find(|&i| node == format!("rabbit@{}", lab.hosts[i].0))
}

/// rabbitmq_prometheus on every node: on the private IP only, its metrics
/// answer the monitoring host (lab01), and another lab host (lab03, in no
/// group) is dropped, not refused.
fn prometheus_plugin_answers_the_monitoring_host_only(lab: &Lab) {
    for h in RABBIT {
        let ip = &lab.hosts[h].1;
        let page = lab
            .try_ssh(
                MONITOR,
                &format!("curl -sf -m 10 http://{ip}:15692/metrics"),
            )
            .unwrap_or_default();
        assert!(
            page.lines()
                .any(|l| l.starts_with("rabbitmq_identity_info{")),
            "{}:15692 from the monitoring host: {}",
            lab.hosts[h].0,
            &page[..page.len().min(500)]
        );
        assert_eq!(
            lab.port(OUTSIDER, ip, 15692),
            Port::Filtered,
            "{}:15692 from {}",
            lab.hosts[h].0,
            lab.hosts[OUTSIDER].0
        );
        let listening = lab.ssh(h, "ss -ltnH | awk '{print $4}' | grep ':15692$'");
        assert_eq!(
            listening.trim(),
            format!("{ip}:15692"),
            "{}",
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
#[ignore = "needs the lab (18 hosts): bash tests/lab/lab.sh up 18 && eval \"$(bash tests/lab/lab.sh env)\""]
fn quorum_queue_survives_its_leader_stopping_and_the_node_rejoins() {
    let (_guard, lab) = cluster_lab_alone(RABBIT[2]);
    for h in [MONITOR].into_iter().chain(RABBIT) {
        lab.reset_keybuzz(h);
    }
    lab.load_spec("rabbitmq", &RABBIT);

    let site = lab.site(
        &[
            (MONITOR, &["monitoring"], ""),
            (RABBIT[0], &["rabbitmq"], ""),
            (RABBIT[1], &["rabbitmq"], ""),
            (RABBIT[2], &["rabbitmq"], ""),
        ],
        "base,rabbitmq",
    );
    let started = Instant::now();
    let first = lab.run_site_ok(&site);
    let deployed = started.elapsed();
    // RabbitMQ 3.10 cannot set vhost /'s default queue type: the role says so
    // (its documented version-dependent step) instead of failing.
    assert!(
        common::events(&first).iter().any(|e| e["event"] == "warn"
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("no update_vhost_metadata"))),
        "finish() warns that 3.10 has no update_vhost_metadata: {}",
        text(&first)
    );

    // One cluster of three.
    let mut all: Vec<String> = RABBIT
        .iter()
        .map(|&i| format!("rabbit@{}", lab.hosts[i].0))
        .collect();
    all.sort();
    for h in RABBIT {
        let mut nodes = running_nodes(&lab, h);
        nodes.sort();
        assert_eq!(nodes, all, "cluster_status on {}", lab.hosts[h].0);
    }

    prometheus_plugin_answers_the_monitoring_host_only(&lab);

    // A quorum queue, replicated on the three nodes, holding 10 messages.
    let declare = json!({ "durable": true, "arguments": { "x-queue-type": "quorum" } });
    assert!(
        api(
            &lab,
            RABBIT[0],
            "PUT",
            &format!("/queues/%2F/{QUEUE}"),
            Some(&declare)
        )
        .is_some(),
        "declaring the quorum queue {QUEUE}"
    );
    let mut leader = String::new();
    let placed = wait_until(Duration::from_secs(60), || {
        queue(&lab, RABBIT[0]).is_some_and(|q| {
            leader = q["leader"].as_str().unwrap_or_default().to_string();
            q["type"] == "quorum"
                && q["online"].as_array().is_some_and(|o| o.len() == 3)
                && !leader.is_empty()
        })
    });
    assert!(
        placed.is_some(),
        "{QUEUE} is a quorum queue with 3 members online: {:?}",
        queue(&lab, RABBIT[0])
    );
    for n in 0..10 {
        assert!(
            publish(&lab, RABBIT[n % 3], &format!("before-{n}")),
            "publishing before-{n}"
        );
    }
    let ten = wait_until(Duration::from_secs(30), || {
        queue(&lab, RABBIT[1]).is_some_and(|q| q["messages"] == 10)
    });
    assert!(ten.is_some(), "10 messages in {QUEUE}");

    // Break it: stop the node leading the queue.
    let down = host_of(&lab, &leader).unwrap_or_else(|| panic!("leader {leader} is no lab node"));
    let up: Vec<usize> = RABBIT.into_iter().filter(|&h| h != down).collect();
    lab.ssh(down, "docker stop rabbitmq >/dev/null");
    let stopped = Instant::now();

    // Publishing goes on through the survivors...
    let mut n = 0;
    let mut first_publish = None;
    let published = wait_until(Duration::from_secs(60), || {
        if publish(&lab, up[n % 2], &format!("after-{n}")) {
            first_publish.get_or_insert_with(|| stopped.elapsed());
            n += 1;
        }
        n == 10
    })
    .unwrap_or_else(|| {
        panic!("only {n} of 10 messages published within 60 s of stopping {leader}")
    });
    // ... and so does consuming: the 20 messages, in order, through the other.
    let mut got: Vec<String> = Vec::new();
    let consumed = wait_until(Duration::from_secs(60), || {
        if let Some(batch) = consume(&lab, up[1], 20 - got.len()) {
            got.extend(batch);
        }
        got.len() >= 20
    });
    let want: Vec<String> = (0..10)
        .map(|n| format!("before-{n}"))
        .chain((0..10).map(|n| format!("after-{n}")))
        .collect();
    assert!(
        consumed.is_some(),
        "consumed {got:?} within 60 s of the publishing"
    );
    assert_eq!(got, want, "every message, once, in order");
    let consumed_at = stopped.elapsed();
    let new_leader = queue(&lab, up[0])
        .and_then(|q| q["leader"].as_str().map(str::to_string))
        .unwrap_or_default();
    assert!(
        new_leader != leader && host_of(&lab, &new_leader).is_some(),
        "a surviving node leads {QUEUE}: {new_leader:?}"
    );

    // Start it: it rejoins the cluster and the queue.
    lab.ssh(down, "docker start rabbitmq >/dev/null");
    let rejoined = wait_until(Duration::from_secs(300), || {
        running_nodes(&lab, up[0]).len() == 3
    })
    .unwrap_or_else(|| panic!("{leader} not running in the cluster within 300 s of its start"));
    let replica = wait_until(Duration::from_secs(120), || {
        queue(&lab, down).is_some_and(|q| q["online"].as_array().is_some_and(|o| o.len() == 3))
    })
    .unwrap_or_else(|| panic!("{QUEUE} not back to 3 online members within 120 s"));
    assert!(
        publish(&lab, down, "rejoined") && consume(&lab, up[0], 1) == Some(vec!["rejoined".into()]),
        "a message through the rejoined node"
    );
    println!(
        "RESULT rabbitmq: first run (base + 3 nodes) {:.0} s; node {leader} (leader of quorum queue {QUEUE}) stopped; \
         the first message published through the 2 others {:.1} s after the stop, 10 in {:.1} s, \
         all 20 consumed in order {:.1} s after the stop \
         (new leader {new_leader}); restarted, it was running in the cluster again in {:.1} s, \
         its queue member back online {:.1} s later",
        deployed.as_secs_f64(),
        first_publish.unwrap_or_default().as_secs_f64(),
        published.as_secs_f64(),
        consumed_at.as_secs_f64(),
        rejoined.as_secs_f64(),
        replica.as_secs_f64(),
    );

    // A rerun changes nothing.
    lab.rerun_unchanged(&site);
    let mut nodes = running_nodes(&lab, RABBIT[0]);
    nodes.sort();
    assert_eq!(nodes, all, "3 running nodes after the rerun");
    for h in [MONITOR].into_iter().chain(RABBIT) {
        lab.reset_keybuzz(h);
    }
}
