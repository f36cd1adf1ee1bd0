//! What a play's closure reads from the top level, when the closure runs on
//! many hosts at once: no host may fail because of another host's thread
//! (see `engine/src/script/captured.rs` and `lock.rs` beside it). Offline
//! (`render`), or on local hosts (`ansible_connection: local`).

mod common;

use common::Test;

/// Hosts h01..hNN at 10.0.0.1.., rendered all at once (`render` works on
/// 64 hosts at a time).
fn hosts(n: usize) -> Test {
    let rows: String = (1..=n)
        .map(|i| format!("h{i:02}\t10.0.0.{i}\tall\n"))
        .collect();
    Test::new()
        .render()
        .inventory(&format!("hostname\tip_private\tgroups\n{rows}"))
}

/// Runs `t` and fails the test unless every host succeeded, none with
/// Rhai's "Data race detected".
fn runs_without_a_race(t: &Test) {
    let out = t.run();
    let text = out.text();
    assert!(!text.contains("Data race"), "{text}");
    out.assert_code(0);
}

/// The bench's shape (`let nodes = ...; play(.., |host| { ..nodes.. })`),
/// with a method call on the captured array that lasts a while: Rhai locks a
/// shared variable for a whole method call, so while one host filtered
/// `nodes` every other host's `nodes` failed with "Data race detected"
/// (issue 13), until hosts took turns at evaluating Rhai.
#[test]
fn many_hosts_read_a_captured_array_at_once() {
    const HOSTS: usize = 12;
    let t = hosts(HOSTS).playbook(
        r#"
let nodes = hosts("all").map(|h| h.ip);
for i in 0..300 { nodes.push(`10.1.0.${i}`); }
play("p", "all", |host| {
    let others = nodes.filter(|ip| {
        let spin = 0;
        for i in 0..60 { spin += i; }
        ip != host.ip
    });
    if others.len() != nodes.len() - 1 { fail(`${host.name}: ${others.len()} others`); }
});
"#,
    );
    runs_without_a_race(&t);
}

/// A captured value stays one for all hosts: what one host writes into a
/// captured map, the others and later plays read (site.rhai's
/// `redis_views[host.name] = ...`, read by the play that chooses a master),
/// which a per-host copy of captured values would lose.
#[test]
fn hosts_write_into_a_captured_map_that_others_read() {
    let t = hosts(12).playbook(
        r#"
let views = #{};
play("write", "all", |host| { views[host.name] = host.ip; });
play("read", "all", |host| {
    if views.len() != 12 { fail(`${host.name}: ${views.len()} views`); }
    if views[host.name] != host.ip { fail(`${host.name}: ${views[host.name]}`); }
});
"#,
    );
    runs_without_a_race(&t);
}

/// An op called back by a method on a captured value keeps the other hosts
/// out of Rhai while its command runs: Rhai holds `nodes` locked until
/// `for_each` returns, longer than another host reading `nodes` would wait
/// (50 ms) before it failed with "Data race detected".
#[test]
fn an_op_called_back_by_a_method_on_a_captured_array_fails_no_other_host() {
    let t = Test::new().local_hosts(4).playbook(
        r#"
let nodes = ["a", "b"];
play("p", "all", |host| {
    nodes.for_each(|n| { shell("sleep 0.2"); });
    if nodes.len() != 2 { fail(`${host.name}: ${nodes.len()} nodes`); }
});
"#,
    );
    let out = t.run();
    let text = out.text();
    assert!(!text.contains("Data race"), "{text}");
    out.assert_code(0).assert_total("changed", 8);
}

/// The top level's constants, read by a function as `global::NAME`, are one
/// cell for every host too: many hosts reading one at once made Rhai panic
/// ("called `Option::unwrap()` on a `None` value") on some of them.
#[test]
fn many_hosts_read_a_top_level_constant_at_once() {
    let t = hosts(40).playbook(
        r#"
const STEP = 5;
fn step() { global::STEP }
play("p", "all", |host| {
    let n = 0;
    for i in 0..3000 { n += step(); }
    if n != 15000 { fail(`${host.name}: ${n}`); }
});
"#,
    );
    t.run().assert_code(0);
}
