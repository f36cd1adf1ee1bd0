//! A host dies in the middle of a batch of file writes (`copy` and friends
//! are queued and sent as one script: engine/src/run/deferred.rs).
//!
//! "Dies" is a power cut: its link goes down first, then the whole machine is
//! killed (`lab.sh stop --hard`: SIGKILL to its init). Killing the processes
//! first would let the host's kernel close the TCP connection politely (a
//! FIN, a RST) and the write script's traps clean up, which a crashed machine
//! never does; this way nothing more leaves the host, the control machine
//! only learns it from ssh's keepalive, and the write in flight leaves its
//! temp file behind, as a real crash does.

use std::collections::BTreeMap;
use std::time::Duration;

use kbz_engine::digest::sha256_hex;

use crate::common::lab::{lab_alone, wait_until, Lab};
use crate::{stats_of, LinkCut, Restart, FAST_KEEPALIVE, LOST, PEER};

/// The folder the batch writes into, on both hosts.
const DIR: &str = "/srv/kbz-faults-batch";
/// Files in the batch. Each one's validator sleeps half a second, so the
/// batch takes about 10 s: the kill can be timed by watching the files
/// arrive, whatever the machine's speed.
const FILES: usize = 20;
/// The first files exist before the run, with [`OLD`] in them.
const EXISTING: usize = 5;
const OLD: &str = "old\n";

/// What the play writes to file `i`: its number, then 256 KiB.
fn content(i: usize) -> String {
    format!("{i}:{}", "0123456789abcdef".repeat(1 << 14))
}

fn playbook() -> String {
    format!(
        r#"
play("p", "all", |host| {{
    let blob = "0123456789abcdef";
    for i in 0..14 {{ blob += blob; }}
    for i in 0..{FILES} {{
        copy(#{{ dest: `{DIR}/f${{i}}`, content: `${{i}}:${{blob}}`, validate: "sleep 0.5; test -s {{}}" }});
    }}
}});
"#
    )
}

/// Empties [`DIR`] on `host` but for the first [`EXISTING`] files.
fn prepare(lab: &Lab, host: usize) {
    lab.ssh(
        host,
        &format!(
            "rm -rf {DIR} && mkdir -p {DIR} && for i in $(seq 0 {}); do printf '{}' > {DIR}/f$i; done",
            EXISTING - 1,
            OLD.replace('\n', "\\n")
        ),
    );
}

/// Every entry of [`DIR`] on `host` and the SHA-256 of its content.
fn listing(lab: &Lab, host: usize) -> BTreeMap<String, String> {
    lab.ssh(
        host,
        &format!("cd {DIR} && for f in $(ls -A); do echo \"$f $(sha256sum < \"$f\" | cut -d' ' -f1)\"; done"),
    )
    .lines()
    .filter_map(|l| l.split_once(' '))
    .map(|(f, h)| (f.to_string(), h.to_string()))
    .collect()
}

/// How many files have their new content on `host`, and whether a write is
/// in flight (a temp file of ours is there).
fn progress(lab: &Lab, host: usize) -> (usize, bool) {
    let files = listing(lab, host);
    let done = (0..FILES)
        .filter(|i| files.get(&format!("f{i}")) == Some(&sha256_hex(content(*i).as_bytes())))
        .count();
    (done, files.keys().any(|f| f.starts_with(".kbz-play.")))
}

/// Fails unless each file is absent, old or exactly new (never partial) and
/// every other entry is one of our temp files; the temp files' names.
#[track_caller]
fn assert_no_partial_file(files: &BTreeMap<String, String>) -> Vec<String> {
    let mut temps = Vec::new();
    for (name, hash) in files {
        let Some(i) = name.strip_prefix('f').and_then(|n| n.parse::<usize>().ok()) else {
            assert!(
                name.starts_with(".kbz-play.f"),
                "a stranger in {DIR}: {name}"
            );
            temps.push(name.clone());
            continue;
        };
        let new = sha256_hex(content(i).as_bytes());
        let old = sha256_hex(OLD.as_bytes());
        assert!(
            *hash == new || (i < EXISTING && *hash == old),
            "{DIR}/{name} is neither its old nor its new content: {files:?}"
        );
    }
    temps
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_host_killed_mid_batch_keeps_whole_files_and_a_rerun_converges() {
    let (_guard, lab) = lab_alone();
    let (lost, peer) = (lab.hosts[LOST].0.clone(), lab.hosts[PEER].0.clone());
    prepare(&lab, LOST);
    prepare(&lab, PEER);
    let t = lab
        .test()
        .ssh_config(lab.ssh_config_with("ssh_config.keepalive", FAST_KEEPALIVE))
        .playbook(&playbook())
        .args(["--limit", &format!("{lost},{peer}")]);
    let restart = Restart {
        lab: &lab,
        host: LOST,
    };
    let out = std::thread::scope(|s| {
        let run = s.spawn(|| t.run());
        let mid_batch = wait_until(Duration::from_secs(60), || {
            matches!(progress(&lab, LOST), (3.., true))
        });
        assert!(mid_batch.is_some(), "the batch never got going on {lost}");
        let cut = LinkCut::new(&lab, LOST);
        lab.lab_sh(&["stop", &lost, "--hard"]);
        let out = run.join().unwrap();
        drop(cut);
        out
    });
    drop(restart);
    out.assert_code(4);
    assert_eq!(stats_of(&out, &lost)["unreachable"], true, "{}", out.text());
    assert_eq!(
        stats_of(&out, &peer)["changed"],
        FILES,
        "{peer} finished: {}",
        out.text()
    );
    assert!(
        progress(&lab, LOST).0 < FILES,
        "{lost} was killed after its batch, not in the middle of it"
    );
    let crashed = assert_no_partial_file(&listing(&lab, LOST));
    eprintln!("left on {lost} by the crash: {crashed:?}");
    assert!(assert_no_partial_file(&listing(&lab, PEER)).is_empty());

    let rerun = t.run();
    rerun.assert_code(0);
    for host in [LOST, PEER] {
        let files = listing(&lab, host);
        assert_eq!(
            assert_no_partial_file(&files),
            Vec::<String>::new(),
            "the rerun left temp files (the crash left {crashed:?})"
        );
        assert_eq!(progress(&lab, host), (FILES, false), "{files:?}");
    }
    t.run().assert_code(0).assert_total("changed", 0);
    for host in [LOST, PEER] {
        lab.ssh(host, &format!("rm -rf {DIR}"));
    }
}
