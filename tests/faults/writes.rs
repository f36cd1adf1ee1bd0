//! File writes as the host sees them: a batch's steps each read only their
//! own bytes, a write planned from probed content is a compare-and-swap
//! (a file changed on the host meanwhile is re-probed, never overwritten
//! from a stale snapshot), and writes in folders a service owns never follow
//! a symlink planted there.
//!
//! Locally (`ansible_connection: local`, under a temp dir), and on the lab
//! hosts lab07 and lab08 (ignored unless asked for: they need the lab up).

use crate::common::lab::Lab;
use crate::common::{Outcome, Test};

/// One local host `h1` whose play finds its folder in `host.vars.tmp`.
fn local(playbook: &str) -> Test {
    let t = Test::new()
        .playbook(playbook)
        .inventory(
            "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n",
        )
        .dir("state");
    let tmp = t.at("state");
    t.var("tmp", tmp.display())
}

#[test]
fn a_validator_reading_stdin_leaves_the_next_file_of_the_batch_intact() {
    let t = local(
        r#"
play("v", "all", |host| {
    let d = host.vars.tmp;
    copy(#{ dest: d + "/a.conf", content: "a\n", validate: "head -c 3 >/dev/null; test -s {}" });
    copy(#{ dest: d + "/b.conf", content: "bbbbbb\n" });
    copy(#{ dest: d + "/c.conf", content: "c\n" });
});
"#,
    );
    t.run().assert_code(0).assert_total("changed", 3);
    for (name, want) in [("a.conf", "a\n"), ("b.conf", "bbbbbb\n"), ("c.conf", "c\n")] {
        assert_eq!(
            std::fs::read_to_string(t.at("state").join(name)).unwrap(),
            want
        );
    }
}

/// Edits `app.conf` twice, with a copy in between whose validator stands for
/// a service editing `app.conf` after the play probed it (as Sentinel
/// rewrites its config): the three changes reach the host in one batch.
const EDITED_MEANWHILE: &str = r#"
play("cas", "all", |host| {
    let d = host.vars.tmp;
    let conf = d + "/app.conf";
    line(#{ path: conf, regexp: "^port ", line: "port = 8080" });
    copy(#{ dest: d + "/other.conf", content: "x\n",
            validate: "test -s {} && echo 'added = by the service' >> " + conf });
    line(#{ path: conf, regexp: "^workers ", line: "workers = 4" });
});
"#;

/// [`EDITED_MEANWHILE`], whose service edits `app.conf` once more while the
/// edits after the first change are applied again.
const EDITED_TWICE: &str = r#"
play("cas", "all", |host| {
    let d = host.vars.tmp;
    let conf = d + "/app.conf";
    line(#{ path: conf, regexp: "^port ", line: "port = 8080" });
    copy(#{ dest: d + "/other.conf", content: "x\n",
            validate: "test -s {} && echo 'added = by the service' >> " + conf });
    line(#{ path: conf, regexp: "^workers ", line: "workers = 4" });
    copy(#{ dest: d + "/third.conf", content: "x\n",
            validate: "test -s {} && echo 'again = by the service' >> " + conf });
    line(#{ path: conf, regexp: "^name ", line: "name = prod" });
});
"#;

const APP_CONF: &str = "name = demo\nport = 80\nworkers = 2\n";

#[test]
fn a_file_edited_on_the_host_after_the_probe_is_planned_again_not_overwritten() {
    let t = local(EDITED_MEANWHILE).file("state/app.conf", APP_CONF);
    let out = t.run();
    out.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(t.at("state/app.conf")).unwrap(),
        "name = demo\nport = 8080\nworkers = 4\nadded = by the service\n",
        "{}",
        out.text()
    );
}

#[test]
fn a_file_edited_again_after_the_second_plan_fails_the_op_and_is_left_alone() {
    let t = local(EDITED_TWICE).file("state/app.conf", APP_CONF);
    let out = t.run();
    out.assert_code(2);
    let failed = out.ops_with_status("failed");
    assert_eq!(failed.len(), 1, "{}", out.text());
    let message = failed[0]["message"].as_str().unwrap();
    assert!(
        failed[0]["op"] == "line"
            && message.contains("app.conf changed on the host while the play ran")
            && message.contains("rerun"),
        "{message}"
    );
    assert_eq!(
        std::fs::read_to_string(t.at("state/app.conf")).unwrap(),
        "name = demo\nport = 8080\nworkers = 4\nadded = by the service\nagain = by the service\n"
    );
}

/// A write applied at once, not queued (`sysctl` is not batchable): the
/// queued copy before it, flushed first, stands for a service editing the
/// file after the play probed it.
const IMMEDIATE_EDITED_MEANWHILE: &str = r#"
play("cas", "all", |host| {
    let d = host.vars.tmp;
    let conf = d + "/sysctl.conf";
    copy(#{ dest: d + "/other.conf", content: "x\n",
            validate: "test -s {} && echo 'added = by the service' >> " + conf });
    sysctl(#{ name: "vm.swappiness", value: 10, file: conf, apply: false });
});
"#;

const SYSCTL_CONF: &str = "vm.swappiness = 60\n";

/// What [`IMMEDIATE_EDITED_MEANWHILE`] leaves: its edit, and the service's line kept.
const SYSCTL_CONF_AFTER: &str = "vm.swappiness = 10\nadded = by the service\n";

#[test]
fn an_immediate_write_whose_file_was_edited_after_the_probe_is_planned_again() {
    let t = local(IMMEDIATE_EDITED_MEANWHILE).file("state/sysctl.conf", SYSCTL_CONF);
    let out = t.run();
    out.assert_code(0);
    assert_eq!(
        std::fs::read_to_string(t.at("state/sysctl.conf")).unwrap(),
        SYSCTL_CONF_AFTER,
        "{}",
        out.text()
    );
}

/// Lab host index 6 (lab07): this file's first lab host.
const LAB_HOST: usize = 6;

/// Lab host index 7 (lab08): its `/etc/fstab` is edited (and put back).
const FSTAB_HOST: usize = 7;

/// A folder on `LAB_HOST`, emptied, for one test; `-e tmp=` points the play there.
fn lab_dir(lab: &Lab, name: &str) -> String {
    let dir = format!("/tmp/kbz-writes-{name}");
    lab.ssh(LAB_HOST, &format!("rm -rf {dir} && mkdir -p {dir}"));
    dir
}

/// Runs `playbook` on lab host `index` alone, its folder `dir` as `host.vars.tmp`.
fn lab_run(lab: &Lab, index: usize, playbook: &str, dir: &str) -> Outcome {
    let host = &lab.hosts[index].0;
    lab.test()
        .playbook(playbook)
        .args(["--limit", host, "-e", &format!("tmp={dir}")])
        .run()
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn an_immediate_write_on_a_lab_host_whose_file_was_edited_after_the_probe_is_planned_again() {
    let (_guard, lab) = crate::common::lab::lab_alone();
    let dir = lab_dir(&lab, "cas-now");
    let _clean = lab.cleanup(LAB_HOST, format!("rm -rf {dir}"));
    lab.ssh(
        LAB_HOST,
        &format!("printf '{SYSCTL_CONF}' > {dir}/sysctl.conf"),
    );
    let out = lab_run(&lab, LAB_HOST, IMMEDIATE_EDITED_MEANWHILE, &dir);
    out.assert_code(0);
    assert_eq!(
        lab.ssh(LAB_HOST, &format!("cat {dir}/sysctl.conf")),
        SYSCTL_CONF_AFTER,
        "{}",
        out.text()
    );
}

/// `swap_off` rewrites `/etc/fstab` (at once: it is not batchable) after a
/// queued copy whose validator stands for another tool adding a mount.
const FSTAB_EDITED_MEANWHILE: &str = r#"
play("fstab", "all", |host| {
    copy(#{ dest: host.vars.tmp + "/other.conf", content: "x\n",
            validate: "test -s {} && echo '/dev/added /mnt/added xfs defaults 0 0' >> /etc/fstab" });
    swap_off();
});
"#;

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn an_fstab_entry_added_after_the_probe_survives_swap_off() {
    let (_guard, lab) = crate::common::lab::lab_alone();
    let saved = "/root/kbz-fstab.saved";
    let dir = "/tmp/kbz-writes-fstab";
    lab.ssh(
        FSTAB_HOST,
        &format!(
            "test -z \"$(swapon --noheadings --show)\" && cp -a /etc/fstab {saved} && \
             rm -rf {dir} && mkdir -p {dir} && \
             printf 'UUID=a / ext4 defaults 0 1\\n/swap.img none swap sw 0 0\\n' > /etc/fstab"
        ),
    );
    let _restore = lab.cleanup(
        FSTAB_HOST,
        format!("cp -a {saved} /etc/fstab && rm -rf {saved} {dir}"),
    );
    let out = lab_run(&lab, FSTAB_HOST, FSTAB_EDITED_MEANWHILE, dir);
    out.assert_code(0);
    assert_eq!(
        lab.ssh(FSTAB_HOST, "cat /etc/fstab"),
        "UUID=a / ext4 defaults 0 1\n# /swap.img none swap sw 0 0\n/dev/added /mnt/added xfs defaults 0 0\n",
        "{}",
        out.text()
    );
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_file_edited_on_a_lab_host_after_the_probe_is_planned_again_not_overwritten() {
    let (_guard, lab) = crate::common::lab::lab_alone();
    let dir = lab_dir(&lab, "cas");
    lab.ssh(LAB_HOST, &format!("printf '{APP_CONF}' > {dir}/app.conf"));
    let run = |playbook: &str| lab_run(&lab, LAB_HOST, playbook, &dir);
    run(EDITED_MEANWHILE).assert_code(0);
    assert_eq!(
        lab.ssh(LAB_HOST, &format!("cat {dir}/app.conf")),
        "name = demo\nport = 8080\nworkers = 4\nadded = by the service\n"
    );
    lab.ssh(
        LAB_HOST,
        &format!("rm -f {dir}/*.conf && printf '{APP_CONF}' > {dir}/app.conf"),
    );
    let out = run(EDITED_TWICE);
    out.assert_code(2);
    assert!(
        out.text()
            .contains("app.conf changed on the host while the play ran"),
        "{}",
        out.text()
    );
    let left = lab.ssh(LAB_HOST, &format!("cat {dir}/app.conf; rm -rf {dir}"));
    assert!(
        left.ends_with("added = by the service\nagain = by the service\n"),
        "{left}"
    );
}

/// Writes `conf` 60 times, each with other content, in one batch, each
/// checked by a validator that only accepts what the play wrote.
const REWRITES: &str = r#"
play("race", "all", |host| {
    for i in 0..60 {
        copy(#{ dest: host.vars.tmp + "/redis.conf", content: `port ${i}
`, validate: "grep -q '^port ' {}" });
    }
});
"#;

/// As the service's user (`nobody`), until `stop` appears: swaps every temp
/// file that shows up in the folder for a symlink to the canary, counting
/// the swaps in `hits`.
const SWAPPER: &str = r#"cd "$1" && while [ ! -e stop ]; do
  for f in .kbz-play.*; do
    [ -L "$f" ] || { rm -f "$f" && ln -s /root/kbz-canary "$f" && echo >> hits; }
  done
done"#;

/// Root's canary on `LAB_HOST`: no run may change it through a symlink.
const CANARY: &str = "/root/kbz-canary";

/// The canary's modification time (2000-01-01), which a `touch` through a
/// symlink would change.
const CANARY_TIME: u32 = 946_684_800;

/// The canary's `owner:group mode mtime`, as [`Race::end`] reads it, when
/// no run touched it.
fn untouched() -> String {
    format!("root:root 600 {CANARY_TIME}\n")
}

/// A race against a service on `LAB_HOST`: a folder `nobody` owns, holding
/// `redis.conf`, a root canary (0600), and a loop run as `nobody` until the
/// race ends. Dropped, even when the test failed: the loop stops and the
/// folder and canary go.
struct Race<'a> {
    lab: &'a Lab,
    dir: String,
    _clean: crate::common::lab::Cleanup<'a>,
}

impl<'a> Race<'a> {
    /// Starts `swapper` (given the folder as `$1`) in a new folder `name`.
    fn start(lab: &'a Lab, name: &str, swapper: &str) -> Race<'a> {
        let dir = lab_dir(lab, name);
        let clean = lab.cleanup(
            LAB_HOST,
            format!("touch {dir}/stop; sleep 0.5; rm -rf {dir} {CANARY}"),
        );
        lab.ssh(
            LAB_HOST,
            &format!(
                "printf 'canary\\n' > {CANARY} && chmod 0600 {CANARY} && touch -d @{CANARY_TIME} {CANARY} && \
                 printf 'port 0\\n' > {dir}/redis.conf && chown -R nobody:nogroup {dir} && \
                 (setpriv --reuid nobody --regid nogroup --clear-groups \
                   sh -c '{swapper}' swapper {dir} </dev/null >/dev/null 2>&1 &)"
            ),
        );
        Race {
            lab,
            dir,
            _clean: clean,
        }
    }

    /// Runs `playbook` on `LAB_HOST` with the race's folder as `host.vars.tmp`.
    fn run(&self, playbook: &str) -> Outcome {
        lab_run(self.lab, LAB_HOST, playbook, &self.dir)
    }

    /// Stops the loop; the canary's `owner:group mode mtime` and the loop's swaps.
    fn end(self) -> (String, u32) {
        let dir = &self.dir;
        let out = self.lab.ssh(
            LAB_HOST,
            &format!(
                "touch {dir}/stop; sleep 0.5; stat -c '%U:%G %a %Y' {CANARY}; cat {CANARY}; \
                 cat {dir}/hits 2>/dev/null | wc -l"
            ),
        );
        let (canary, hits) = out.rsplit_once("canary\n").unwrap_or((&out, "0"));
        (canary.to_string(), hits.trim().parse().unwrap())
    }
}

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn writes_in_a_folder_a_service_owns_never_follow_its_symlinks() {
    let (_guard, lab) = crate::common::lab::lab_alone();
    let race = Race::start(&lab, "race", SWAPPER);
    let mut validated_other = vec![];
    for _ in 0..3 {
        // A run may fail (its temp files vanish under it); it must never
        // write through a link, nor validate anything but what it wrote.
        let text = race.run(REWRITES).text();
        let failed = text.lines().filter(|l| l.contains("validation failed"));
        validated_other.extend(failed.map(str::to_string));
    }
    let (canary, hits) = race.end();
    assert_eq!(canary, untouched(), "root wrote through a planted symlink");
    assert!(
        validated_other.is_empty(),
        "the validator read something else than the new file: {validated_other:?}"
    );
    assert!(
        hits > 0,
        "the race never swapped a temp file: this test proved nothing"
    );
}

/// Sets the owner and mode of `redis.conf` 30 times, alternating, each
/// change planned from a probe that found a file there.
const REOWNS: &str = r#"
play("race", "all", |host| {
    for i in 0..30 {
        let even = i % 2 == 0;
        try {
            file(#{ path: host.vars.tmp + "/redis.conf",
                    owner: if even { "nobody" } else { "root" },
                    mode: if even { "0604" } else { "0640" } });
        } catch {}
    }
});
"#;

/// Touches `redis.conf` 30 times, each planned from a probe that found a
/// file there.
const RETOUCHES: &str = r#"
play("race", "all", |host| {
    for i in 0..30 {
        try { file(#{ path: host.vars.tmp + "/redis.conf", state: "touch" }); } catch {}
    }
});
"#;

/// As the service's user (`nobody`), until `stop` appears: replaces
/// `redis.conf` by a symlink to the canary and back by a file, over and
/// over, counting the swaps in `hits`.
const RELINKER: &str = r#"cd "$1" && while [ ! -e stop ]; do
  ln -sfn /root/kbz-canary l.new && mv -fT l.new redis.conf && echo >> hits
  echo port > f.new && mv -fT f.new redis.conf
done"#;

/// What a run prints when the change found the symlink the probe did not.
const REFUSED: &str = "a symlink is never followed";

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn owner_and_mode_changes_in_a_folder_a_service_owns_never_follow_its_symlinks() {
    let (_guard, lab) = crate::common::lab::lab_alone();
    let race = Race::start(&lab, "race-attrs", RELINKER);
    let mut refused = 0;
    for _ in 0..40 {
        race.run(RETOUCHES);
        if race.run(REOWNS).text().contains(REFUSED) {
            refused += 1;
            if refused == 3 {
                break;
            }
        }
    }
    let (canary, hits) = race.end();
    assert_eq!(
        canary,
        untouched(),
        "root changed an owner, mode or time through a planted symlink"
    );
    assert!(
        refused > 0 && hits > 0,
        "no change ever met a symlink its probe had not seen: this test proved nothing"
    );
}
