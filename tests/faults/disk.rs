//! The host's disk is full: a write fails, naming the host, the op, its line
//! and what to do; the old file stays byte for byte, no temp file is left,
//! and the other host finishes.

use crate::common::lab::{lab_alone, Lab};
use crate::common::Outcome;

/// The host whose disk fills up (lab12).
const FULL: usize = 11;
/// A host beside it with room to spare (lab13).
const ROOMY: usize = 12;

/// The folder the play writes into: a 2 MiB tmpfs on [`FULL`], a plain
/// folder on [`ROOMY`].
const DIR: &str = "/mnt/kbz-full";

/// The content of the file already there, which must survive.
const OLD: &str = "the old config, which must survive\n";

/// A 2 MiB tmpfs at [`DIR`] on `host`, holding `old.conf` ([`OLD`]) and a
/// filler that takes every byte left; unmounted and removed when dropped,
/// even if the test failed.
struct FullDisk<'a> {
    lab: &'a Lab,
    host: usize,
}

impl<'a> FullDisk<'a> {
    fn mount(lab: &'a Lab, host: usize) -> FullDisk<'a> {
        let full = FullDisk { lab, host };
        lab.ssh(
            host,
            &format!(
                "set -e; mkdir -p {DIR}; mount -t tmpfs -o size=2m kbz-full {DIR}; \
                 printf %s '{OLD}' > {DIR}/old.conf; \
                 dd if=/dev/zero of={DIR}/filler bs=64k status=none 2>/dev/null || true; \
                 [ \"$(df --output=avail {DIR} | tail -1 | tr -d ' ')\" = 0 ]"
            ),
        );
        full
    }
}

impl Drop for FullDisk<'_> {
    fn drop(&mut self) {
        self.lab.try_ssh(
            self.host,
            &format!("umount {DIR} 2>/dev/null || umount -l {DIR}; rm -rf {DIR}"),
        );
    }
}

/// A plain folder at [`DIR`] on `host`, removed when dropped.
struct RoomyDir<'a> {
    lab: &'a Lab,
    host: usize,
}

impl<'a> RoomyDir<'a> {
    fn make(lab: &'a Lab, host: usize) -> RoomyDir<'a> {
        lab.ssh(host, &format!("rm -rf {DIR}; mkdir -p {DIR}"));
        RoomyDir { lab, host }
    }
}

impl Drop for RoomyDir<'_> {
    fn drop(&mut self) {
        self.lab.try_ssh(self.host, &format!("rm -rf {DIR}"));
    }
}

/// A run on a full disk, and what it left there.
struct AfterRun {
    out: Outcome,
    /// The full host's name.
    full: String,
    /// The names in [`DIR`] on the full host, sorted.
    files: Vec<String>,
    /// `old.conf` on the full host.
    old: String,
}

/// Runs `playbook` on [`FULL`] and [`ROOMY`], each prepared as above, with
/// `files/new.conf` (256 KiB, more than the full disk has) in the project;
/// asserts that the roomy host wrote every file.
fn run_on_a_full_disk(playbook: &str) -> AfterRun {
    let (_guard, lab) = lab_alone();
    let _full = FullDisk::mount(&lab, FULL);
    let _roomy = RoomyDir::make(&lab, ROOMY);
    let hosts = format!("{},{}", lab.hosts[FULL].0, lab.hosts[ROOMY].0);
    let out = lab
        .test()
        .file(
            "files/new.conf",
            &"new line of the bigger config\n".repeat(9040),
        )
        .playbook(playbook)
        .args(["--limit", &hosts])
        .run();
    let mut files: Vec<String> = lab
        .ssh(FULL, &format!("ls -A {DIR}"))
        .split_whitespace()
        .map(str::to_string)
        .collect();
    files.sort_unstable();
    let old = lab.ssh(FULL, &format!("cat {DIR}/old.conf"));
    let roomy = lab.ssh(ROOMY, &format!("ls -A {DIR}"));
    assert_eq!(
        roomy.split_whitespace().count(),
        playbook.matches("copy(").count(),
        "{} wrote every file: {roomy}\n{}",
        lab.hosts[ROOMY].0,
        out.text()
    );
    let full = lab.hosts[FULL].0.clone();
    AfterRun {
        out,
        full,
        files,
        old,
    }
}

/// Asserts that the full host failed at `old.conf`'s op (line `line` of the
/// playbook) with a message that says why and what to do, the old file and
/// nothing else of ours left, and that the roomy host finished.
fn assert_full_disk_reported(run: &AfterRun, line: usize) {
    let AfterRun {
        out,
        full,
        files,
        old,
    } = run;
    let text = out.text();
    out.assert_code(2);
    let failed = out.ops_with_status("failed");
    assert_eq!(failed.len(), 1, "{text}");
    let e = &failed[0];
    assert_eq!(e["host"], full.as_str(), "{text}");
    assert_eq!(e["op"], "copy", "{text}");
    assert_eq!(e["target"], format!("{DIR}/old.conf"), "{text}");
    let at = e["at"].as_str().unwrap_or_default();
    assert!(at.contains(&format!("site.rhai:{line}:")), "{at}\n{text}");
    let message = e["message"].as_str().unwrap_or_default();
    for part in [
        "No space left on device",
        "left unchanged",
        &format!("df -h {DIR}"),
    ] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    assert_eq!(files, &["filler", "old.conf"], "{text}");
    assert_eq!(old, OLD, "{text}");
    assert_eq!(out.stats(1)["failed"], 0, "{text}");
    assert_eq!(out.stats(0)["failed"], 1, "{text}");
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_write_on_a_full_disk_fails_clearly_and_keeps_the_old_file() {
    let playbook = format!(
        "play(\"p\", \"all\", |host| {{\n    copy(#{{ src: \"new.conf\", dest: \"{DIR}/old.conf\" }});\n}});\n"
    );
    let run = run_on_a_full_disk(&playbook);
    assert_full_disk_reported(&run, 2);
    assert_eq!(run.out.stats(1)["changed"], 1, "{}", run.out.text());
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_batch_stops_at_the_write_the_full_disk_refused() {
    let playbook = format!(
        "play(\"p\", \"all\", |host| {{\n    copy(#{{ src: \"new.conf\", dest: \"{DIR}/old.conf\" }});\n    \
         copy(#{{ dest: \"{DIR}/next.conf\", content: \"after\\n\" }});\n}});\n"
    );
    let run = run_on_a_full_disk(&playbook);
    assert_full_disk_reported(&run, 2);
    assert_eq!(run.out.stats(1)["changed"], 2, "{}", run.out.text());
}
