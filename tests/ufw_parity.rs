//! The `ufw` op reads the user rules from ufw's own files
//! (`/etc/ufw/user.rules`, `user6.rules`) rather than run `ufw show added`,
//! a Python program, on every run: here, on a lab host, the real `ufw` adds
//! a varied set of rules, and the op's reading of its files must list
//! exactly the rules `ufw show added` prints, in its order, each once.

mod common;

use common::lab::first_hosts_alone;
use kbz_engine::probe::{CommandState, Observation, Observed, Probe};
use kbz_engine::shell::join;
use serde_json::json;

/// Rules as ufw commands: both families and one each, the short and full
/// forms, log types, directions, interfaces, ranges and lists, apps,
/// comments (one not ASCII), an insert, a route rule.
const RULES: &[&str] = &[
    "allow 22/tcp comment 'ssh'",
    "limit 2222/tcp",
    "allow from 10.0.0.0/16 to any port 5432 proto tcp comment 'pg main'",
    "allow from 2001:db8::/32 to any port 53 proto udp",
    "deny in on eth0 log from 198.51.100.0/24",
    "allow out 25/tcp",
    "reject to 10.9.9.9 port 80,443 proto tcp",
    "allow from any port 1024:2048 proto udp",
    "allow log-all 8080 comment 'café'",
    "allow OpenSSH",
    "deny from 10.2.0.0/16 to any app OpenSSH",
    "route allow in on wg0 out on eth0",
    "insert 1 deny from 203.0.113.7",
];

/// With `KBZ_LAB_REQUIRED` set, the run must include the ignored test below
/// and the lab must be up.
#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

/// Where the host's rules files wait while the test adds its own.
const BACKUP: &str = "/root/kbz-ufw-parity";

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn rules_read_from_ufws_files_are_what_ufw_show_added_lists() {
    let (_guard, lab) = first_hosts_alone(4);
    lab.ssh(
        0,
        &format!("rm -rf {BACKUP} && mkdir {BACKUP} && cp -a /etc/ufw/user.rules /etc/ufw/user6.rules {BACKUP}/"),
    );
    let _restore = lab.cleanup(
        0,
        format!(
            "cp -a {BACKUP}/. /etc/ufw/ && rm -rf {BACKUP} && \
             if ufw status | grep -q 'Status: active'; then ufw reload; fi"
        ),
    );
    let add: Vec<String> = RULES
        .iter()
        .map(|r| format!("ufw {r} >/dev/null"))
        .collect();
    lab.ssh(0, &format!("set -e\n{}", add.join("\n")));

    let listed: Vec<String> = lab
        .ssh(0, "ufw show added")
        .lines()
        .filter_map(|l| l.strip_prefix("ufw "))
        .filter(|l| !l.starts_with("route "))
        .map(requoted)
        .collect();
    assert!(listed.len() >= RULES.len() - 1, "{listed:?}");
    assert_eq!(read_by_the_op(&lab), listed);
}

/// The host's rules as the `ufw` op reads them: the rules its purge would
/// delete (all but route rules, which it leaves alone), in its order.
fn read_by_the_op(lab: &common::lab::Lab) -> Vec<String> {
    let op = kbz_stdlib::build_for_test("ufw", &json!({ "enabled": false, "purge": true }))
        .expect("the op builds");
    let probes = op.probes();
    let [probe @ Probe::Query { script }] = probes.as_slice() else {
        panic!("the ufw op asks one query, got {probes:?}");
    };
    let answer = CommandState::from_output(0, lab.ssh(0, script).as_bytes());
    let observed = Observed::new(vec![(probe.clone(), Observation::Command(answer))]);
    let plan = op.plan(&observed).expect("the op reads the host's rules");
    plan.changes
        .iter()
        .filter_map(|c| c.summary.strip_prefix("rule "))
        .map(str::to_string)
        .collect()
}

/// A line of `ufw show added` quoted as the op quotes its rules (only the
/// words that need it): ufw quotes every comment, and app names with a
/// space, in plain single quotes (`comment 'ssh'`).
fn requoted(line: &str) -> String {
    let mut words = Vec::new();
    let mut rest = line;
    while !rest.is_empty() {
        let (word, after) = match rest.strip_prefix('\'') {
            Some(quoted) => quoted.split_once('\'').expect("a closing quote"),
            None => rest.split_once(' ').unwrap_or((rest, "")),
        };
        words.push(word);
        rest = after.trim_start();
    }
    join(words)
}
