//! Round trips of a first run on real hosts (lab01..lab04): the facts and
//! every probe in one, every change in one, however many ops a host has
//! (the recap's `round_trips`), and a no-op rerun in one, whatever its plays,
//! read-only commands and waits. Each test works in a folder of its own under
//! `/opt`, removed before and after.
//!
//! Run alone with `cargo test --test round_trips -- --include-ignored`.

mod common;

use common::lab::{first_hosts_alone, Lab};
use common::Test;

/// The lab's first hosts, which these tests use.
const HOSTS: usize = 4;

#[test]
fn lab_tests_run_when_kbz_lab_required_is_set() {
    common::lab::required_guard();
}

/// Removes `dir` from every host of `lab` now and again when dropped.
struct Scratch<'a> {
    lab: &'a Lab,
    dir: &'static str,
}

impl<'a> Scratch<'a> {
    fn new(lab: &'a Lab, dir: &'static str) -> Scratch<'a> {
        let scratch = Scratch { lab, dir };
        scratch.remove();
        scratch
    }

    fn remove(&self) {
        for host in 0..self.lab.hosts.len() {
            if self
                .lab
                .try_ssh(host, &format!("rm -rf {}", self.dir))
                .is_none()
            {
                eprintln!("could not remove {} from lab host {host}", self.dir);
            }
        }
    }
}

impl Drop for Scratch<'_> {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The bench's workload (`roles/keybuzz_base.rhai`), op for op, in
/// [`BENCH_DIR`]: 17 folders, 5 templates, 4 line edits of an sshd_config
/// the test writes first ([`SSHD_CONFIG`]), 3 small files and the `ssh`
/// unit, already started and enabled: 29 changes.
const BENCH_DIR: &str = "/opt/kbz-round-trips-bench";

/// An sshd_config none of whose lines is yet as the bench wants. A copy of
/// the host's own did only on a fresh host: the lab tests run before this
/// one may have hardened it, and the count of changes must not depend on that.
const SSHD_CONFIG: &str =
    r"#PermitRootLogin yes\nPasswordAuthentication yes\nX11Forwarding yes\n#MaxAuthTries 6\n";

fn bench_like(lab: &Lab) -> Test {
    let playbook = r#"
play("bench-like", "all", |host| {
    let root = "/opt/kbz-round-trips-bench";
    for svc in ["postgres", "redis", "rabbitmq", "mariadb", "minio"] {
        for sub in ["data", "config", "logs"] {
            file(#{ path: `${root}/${svc}/${sub}`, state: "directory", mode: "0750" });
        }
    }
    let opts = #{ vars: #{ hostname: host.name, ip_private: host.ip }, mode: "0640" };
    for name in ["patroni.yml", "sentinel.conf", "haproxy.cfg", "my.cnf", "pgbouncer.ini"] {
        template("conf.j2", `${root}/postgres/config/${name}`, opts);
    }
    for kv in [["PermitRootLogin", "prohibit-password"], ["PasswordAuthentication", "no"],
               ["X11Forwarding", "no"], ["MaxAuthTries", "3"]] {
        line(#{ path: `${root}/sshd_config`, regexp: `^#?\s*${kv[0]}\s`, line: `${kv[0]} ${kv[1]}` });
    }
    file(#{ path: `${root}/journald.conf.d`, state: "directory", mode: "0755" });
    file(#{ path: `${root}/docker.service.d`, state: "directory", mode: "0755" });
    for name in ["journald.conf.d/keybuzz.conf", "99-keybuzz.conf", "README"] {
        copy(#{ dest: `${root}/${name}`, content: `${name}\n`, mode: "0644" });
    }
    service(#{ name: "ssh", state: "started", enabled: true });
});
"#;
    lab.test().playbook(playbook).file(
        "templates/conf.j2",
        "name {{ hostname }}\nlisten {{ ip_private }}\n",
    )
}

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn a_first_run_of_the_bench_workload_is_two_round_trips_per_host() {
    let (_guard, lab) = first_hosts_alone(HOSTS);
    let _scratch = Scratch::new(&lab, BENCH_DIR);
    for host in 0..lab.hosts.len() {
        lab.ssh(
            host,
            &format!("mkdir -p {BENCH_DIR} && printf '{SSHD_CONFIG}' > {BENCH_DIR}/sshd_config"),
        );
    }
    let t = bench_like(&lab);
    // Round trip 1: the facts and every probe of the play (the rehearsal
    // before the host was opened found them); 2: all 29 changes.
    t.run().assert_each_host(29, 2);
    let conf = lab.ssh(
        0,
        &format!("grep -c '^MaxAuthTries 3$' {BENCH_DIR}/sshd_config"),
    );
    assert_eq!(conf.trim(), "1");
    t.run().assert_each_host(0, 1);
}

/// Where [`many_copies_are_two_round_trips`] writes.
const COPIES_DIR: &str = "/opt/kbz-round-trips-copies";
const COPIES: usize = 300;

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn many_copies_are_two_round_trips() {
    let (_guard, lab) = first_hosts_alone(HOSTS);
    let _scratch = Scratch::new(&lab, COPIES_DIR);
    let playbook = format!(
        r#"
play("copies", "all", |host| {{
    file(#{{ path: "{COPIES_DIR}", state: "directory", mode: "0755" }});
    for i in 0..{COPIES} {{
        copy(#{{ dest: `{COPIES_DIR}/f${{i}}`, content: "file " + i + "\n", mode: "0644" }});
    }}
}});
"#
    );
    let t = lab
        .test()
        .playbook(&playbook)
        .args(["--limit", &lab.hosts[0].0]);
    // The batch's script is far too long for a command line (hundreds of
    // KiB): it travels on stdin ahead of the files, in the same transfer.
    t.run().assert_each_host(COPIES as u64 + 1, 2);
    let listing = lab.ssh(
        0,
        &format!("ls {COPIES_DIR} | wc -l; cat {COPIES_DIR}/f299"),
    );
    assert_eq!(listing, format!("{COPIES}\nfile 299\n"));
    t.run().assert_each_host(0, 1);
}

/// Where the playbook of `tests/foresight.rs` writes on the lab.
const FORESIGHT_DIR: &str = "/opt/kbz-round-trips-foresight";

/// That playbook (four plays with read-only commands, two with a secret in
/// their env, one of them behind a branch on the facts, waits on sshd's port
/// and on a command, file probes, a `serial: 1` play) on the lab, `level`
/// written by its first play.
fn foresight(lab: &Lab, level: u32) -> Test {
    let t = lab
        .test()
        .playbook(include_str!("fixtures/foresight/site.rhai"));
    let creds = common::lab::credentials(t.path());
    t.var("tmp", FORESIGHT_DIR)
        .var("port", 22)
        .var("level", level)
        .arg("--credentials")
        .arg(creds)
}

/// What play `play` of [`foresight`] read back from `level` on each host.
fn seen(lab: &Lab, play: u32) -> Vec<String> {
    (0..lab.hosts.len())
        .map(|h| {
            let name = &lab.hosts[h].0;
            lab.ssh(h, &format!("cat {FORESIGHT_DIR}/{name}/seen-{play}"))
        })
        .collect()
}

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn a_no_op_rerun_of_four_plays_with_commands_and_waits_is_one_round_trip() {
    let (_guard, lab) = first_hosts_alone(HOSTS);
    let _scratch = Scratch::new(&lab, FORESIGHT_DIR);
    let t = foresight(&lab, 1);
    t.run().assert_code(0);
    assert_eq!(seen(&lab, 2), vec!["1\n"; lab.hosts.len()]);
    // The facts, the four plays' probes, their read-only commands (one
    // behind a branch on the facts) and their waits' first checks: one
    // round trip, `serial` or not.
    t.run().assert_each_host(0, 1);
}

#[test]
#[ignore = "needs the lab (4 hosts): bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\""]
fn a_command_reading_what_an_earlier_play_changed_runs_live_on_the_lab() {
    let (_guard, lab) = first_hosts_alone(HOSTS);
    let _scratch = Scratch::new(&lab, FORESIGHT_DIR);
    foresight(&lab, 1).run().assert_code(0);
    // The opening reads `level` = 1 on every host, then play 1 writes 2:
    // the commands after that change run live and act on 2.
    let changed = foresight(&lab, 2).run();
    changed.assert_code(0);
    for play in [1, 2] {
        assert_eq!(
            seen(&lab, play),
            vec!["2\n"; lab.hosts.len()],
            "{}",
            changed.text()
        );
    }
    foresight(&lab, 2).run().assert_each_host(0, 1);
}
