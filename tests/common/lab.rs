//! The lab of real hosts (`tests/lab/lab.sh`), for the integration tests
//! that run kbz-play against it: finding it, running kbz-play and ssh there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use super::{repo, text, Test};

/// The tests share the lab's hosts, so they take turns.
static LAB_LOCK: Mutex<()> = Mutex::new(());

/// The lab, for this test alone until the guard drops: lab tests reset and
/// stop the hosts the others use. A test that failed holding the lock does
/// not fail the ones after it.
pub fn lab_alone() -> (MutexGuard<'static, ()>, Lab) {
    let guard = LAB_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    (guard, Lab::new())
}

/// [`lab_alone`] cut to its first `n` hosts ([`Lab::first`]): the tests that
/// run on "the whole lab".
pub fn first_hosts_alone(n: usize) -> (MutexGuard<'static, ()>, Lab) {
    let (guard, lab) = lab_alone();
    (guard, lab.first(n))
}

/// [`lab_alone`] for a cluster test, whose hosts are fixed indices up to
/// `last`: the lab must reach that far.
pub fn cluster_lab_alone(last: usize) -> (MutexGuard<'static, ()>, Lab) {
    let (guard, lab) = lab_alone();
    assert!(
        lab.hosts.len() > last,
        "this test needs a lab of {} hosts or more",
        last + 1
    );
    (guard, lab)
}

pub struct Lab {
    pub ssh_config: PathBuf,
    pub inventory: PathBuf,
    pub script: PathBuf,
    /// (name, address) in inventory order.
    pub hosts: Vec<(String, String)>,
    pub cache: tempfile::TempDir,
}

/// How to get the lab, named by every lab test's `#[ignore]` reason and by
/// its failure when the lab is missing.
pub const LAB_UP: &str =
    "bash tests/lab/lab.sh up 18 && eval \"$(bash tests/lab/lab.sh env)\" (as root; tests/run.sh does both)";

/// For a test in each lab test file that is not ignored: when
/// `KBZ_LAB_REQUIRED` is set (tests/run.sh as root, CI), fails unless this run
/// includes the ignored lab tests and the lab is there, so that a run meant
/// to test against the lab cannot pass with the lab tests left out.
pub fn required_guard() {
    if std::env::var_os("KBZ_LAB_REQUIRED").is_none() {
        return;
    }
    assert!(
        super::ignored_tests_run(),
        "KBZ_LAB_REQUIRED is set but this run leaves out the lab tests, which are #[ignore]d: \
         run them with `cargo test -- --include-ignored` (as tests/run.sh does)"
    );
    let _ = Lab::new();
}

impl Lab {
    /// The lab named by `KBZ_LAB_DIR` (`eval "$(bash tests/lab/lab.sh
    /// env)"`); fails the test, naming the set-up command, when there is none.
    pub fn new() -> Lab {
        // Only a lab named explicitly: these tests reset and stop hosts, so
        // they must never wander into a lab someone else is using.
        let Some(dir) = std::env::var_os("KBZ_LAB_DIR").map(PathBuf::from) else {
            panic!("this test needs the lab, and KBZ_LAB_DIR is not set: {LAB_UP}");
        };
        let inventory = dir.join("inventory.tsv");
        let ssh_config = dir.join("ssh_config");
        assert!(
            inventory.is_file() && ssh_config.is_file(),
            "KBZ_LAB_DIR={} holds no lab: {LAB_UP}",
            dir.display()
        );
        let hosts = std::fs::read_to_string(&inventory)
            .unwrap()
            .lines()
            .skip(1)
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                (f[0].to_string(), f[1].to_string())
            })
            .collect();
        Lab {
            ssh_config,
            inventory,
            script: repo().join("tests/lab/lab.sh"),
            hosts,
            cache: tempfile::tempdir().unwrap(),
        }
    }

    /// A [`Test`] against this lab: its inventory (or the one cut by
    /// [`Lab::first`]), its ssh config, JSON output and this lab's cache
    /// (shared by every run of the test). Give it a playbook.
    pub fn test(&self) -> Test {
        Test::new()
            .inventory_file(&self.inventory)
            .ssh_config(&self.ssh_config)
            .cache_dir(self.cache.path())
    }
}

/// Runs a script on a lab host when dropped, even when the test failed:
/// puts back what a test changed outside its own folders (`/etc/fstab`, a
/// canary file), so the host stays clean for the next test.
pub struct Cleanup<'a> {
    lab: &'a Lab,
    host: usize,
    script: String,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if self.lab.try_ssh(self.host, &self.script).is_none() {
            eprintln!("cleanup on lab host {} failed: {}", self.host, self.script);
        }
    }
}

impl Lab {
    /// A [`Cleanup`] running `script` on `host` when it is dropped.
    pub fn cleanup(&self, host: usize, script: impl Into<String>) -> Cleanup<'_> {
        Cleanup {
            lab: self,
            host,
            script: script.into(),
        }
    }
}

impl Lab {
    /// The same lab, cut to its first `n` hosts, with an inventory of them
    /// only: tests that run on "the whole lab" stay off the hosts that other
    /// tests (the clusters) use.
    pub fn first(mut self, n: usize) -> Lab {
        assert!(
            self.hosts.len() >= n,
            "this test needs a lab of {n} hosts or more"
        );
        self.hosts.truncate(n);
        let tsv = std::fs::read_to_string(&self.inventory).unwrap();
        let kept: Vec<&str> = tsv.lines().take(n + 1).collect();
        let inventory = self.cache.path().join("inventory.tsv");
        std::fs::write(&inventory, kept.join("\n") + "\n").unwrap();
        self.inventory = inventory;
        self
    }

    /// Runs kbz-play against the lab with JSON output and this test's cache.
    pub fn kbz(&self, playbook: &str, extra: &[&str]) -> Output {
        self.test().playbook_file(playbook).args(extra).run().into()
    }

    /// [`Lab::kbz`] through another ssh config (e.g. another known_hosts).
    pub fn kbz_via(&self, ssh_config: &Path, playbook: &str, extra: &[&str]) -> Output {
        self.test()
            .ssh_config(ssh_config)
            .playbook_file(playbook)
            .args(extra)
            .run()
            .into()
    }

    /// [`Lab::kbz`] with another inventory of lab hosts (other groups, vars).
    pub fn kbz_inv(&self, inventory: &Path, playbook: &str, extra: &[&str]) -> Output {
        self.test()
            .inventory_file(inventory)
            .playbook_file(playbook)
            .args(extra)
            .run()
            .into()
    }

    /// Runs a shell command on a lab host as root, over plain ssh; fails
    /// the test when the command fails.
    pub fn ssh(&self, host: usize, script: &str) -> String {
        let out = self.ssh_output(host, script);
        assert!(out.status.success(), "ssh {script}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs a shell command on a lab host; its stdout, or None when it fails.
    pub fn try_ssh(&self, host: usize, script: &str) -> Option<String> {
        let out = self.ssh_output(host, script);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// [`Lab::try_ssh`] with `input` on the command's stdin: how a test
    /// hands a password to a command without putting it on a command line
    /// (ssh's or the host's), e.g. `read -r PGPASSWORD; export PGPASSWORD; ...`.
    pub fn try_ssh_with_input(&self, host: usize, script: &str, input: &str) -> Option<String> {
        use std::io::Write;
        let mut child = self
            .ssh_command(host, script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("ssh runs");
        // The command may exit without reading it all: a broken pipe is its answer.
        let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
        let out = child.wait_with_output().expect("ssh runs");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn ssh_output(&self, host: usize, script: &str) -> Output {
        self.ssh_command(host, script).output().expect("ssh runs")
    }

    fn ssh_command(&self, host: usize, script: &str) -> Command {
        let mut ssh = Command::new("ssh");
        ssh.args([
            "-F",
            self.ssh_config.to_str().unwrap(),
            "-o",
            "BatchMode=yes",
        ])
        .arg(format!("root@{}", self.hosts[host].1))
        .arg(script);
        ssh
    }

    /// Takes a host's link down or up (its `eth0`, in the network namespace
    /// `lab.sh` names `kbz-NAME`): a pulled cable. The host keeps running but
    /// no packet gets in or out, so a connection to it sees no FIN, no RST,
    /// nothing: only a keepalive can tell.
    pub fn set_link(&self, host: usize, up: bool) {
        let ns = format!("kbz-{}", self.hosts[host].0);
        let state = if up { "up" } else { "down" };
        let out = Command::new("ip")
            .args(["-n", &ns, "link", "set", "eth0", state])
            .output()
            .expect("ip runs");
        assert!(
            out.status.success(),
            "ip -n {ns} link set eth0 {state}: {}",
            text(&out)
        );
    }

    /// A copy of the lab's ssh config with `lines` in front (ssh keeps the
    /// first value it finds for an option), e.g. a short `ServerAliveInterval`.
    pub fn ssh_config_with(&self, name: &str, lines: &str) -> PathBuf {
        let path = self.cache.path().join(name);
        let lab = std::fs::read_to_string(&self.ssh_config).unwrap();
        std::fs::write(&path, format!("{lines}\n{lab}")).unwrap();
        path
    }

    pub fn lab_sh(&self, args: &[&str]) {
        let out = Command::new("bash")
            .arg(&self.script)
            .args(args)
            .output()
            .expect("lab.sh runs");
        assert!(out.status.success(), "lab.sh {args:?}: {}", text(&out));
    }
}

impl Lab {
    /// Writes an Ansible YAML inventory of lab hosts into `dir`: for each
    /// host its index, groups and extra host-var lines (YAML indented by 6),
    /// and `all_vars` (YAML indented by 4) for every host; beside it
    /// `group_vars/all.yml`, the lab's network and images
    /// (tests/lab/inventory/group_vars/all.yml).
    pub fn inventory(
        &self,
        dir: &Path,
        hosts: &[(usize, &[&str], &str)],
        all_vars: &str,
    ) -> PathBuf {
        let mut groups: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        let mut yaml = String::from("all:\n  hosts:\n");
        for (i, host_groups, vars) in hosts {
            let (name, ip) = &self.hosts[*i];
            yaml +=
                &format!("    {name}:\n      ansible_host: {ip}\n      ansible_user: root\n{vars}");
            for g in *host_groups {
                groups.entry(g).or_default().push(*i);
            }
        }
        if !all_vars.is_empty() {
            yaml += &format!("  vars:\n{all_vars}");
        }
        yaml += "  children:\n";
        for (g, members) in groups {
            yaml += &format!("    {g}:\n      hosts:\n");
            for i in members {
                yaml += &format!("        {}: {{}}\n", self.hosts[i].0);
            }
        }
        let path = dir.join("inventory.yml");
        std::fs::write(&path, yaml).unwrap();
        // The lab's variables (network, lab images), shared with the demo.
        let vars = dir.join("group_vars");
        std::fs::create_dir_all(&vars).unwrap();
        std::fs::copy(
            repo().join("tests/lab/inventory/group_vars/all.yml"),
            vars.join("all.yml"),
        )
        .unwrap();
        path
    }

    /// Imports the image `tests/lab/images/SPEC.image` describes into the
    /// Docker of the given hosts (built once, cached).
    pub fn load_spec(&self, spec: &str, hosts: &[usize]) {
        let mut args = vec!["load".to_string(), format!("@{spec}"), "--".to_string()];
        args.extend(hosts.iter().map(|&h| self.hosts[h].1.clone()));
        let out = Command::new("bash")
            .arg(repo().join("tests/lab/image.sh"))
            .args(&args)
            .output()
            .expect("image.sh runs");
        assert!(out.status.success(), "image.sh {args:?}: {}", text(&out));
    }

    /// Puts a host back the way `lab.sh up` left it, as far as the KeyBuzz
    /// roles touch it: firewall off, no containers, no KeyBuzz files or
    /// timers, /dev/vdb blank, and no docker wrapper or CLI context a test
    /// put there (`lab_roles`).
    pub fn reset_keybuzz(&self, host: usize) {
        self.ssh(
            host,
            "rm -f /usr/local/bin/docker /root/.docker/config.json; \
             ufw --force reset >/dev/null; ufw disable >/dev/null; \
             docker rm -f $(docker ps -aq) >/dev/null 2>&1; \
             systemctl disable --now redis-update-master.timer >/dev/null 2>&1; \
             rm -f /etc/systemd/system/redis-update-master.* /usr/local/bin/redis-update-master.sh; \
             systemctl daemon-reload; \
             findmnt -rn -o TARGET | grep '^/opt/keybuzz' | sort -r | xargs -r umount; sed -i '\\# /opt/keybuzz/#d' /etc/fstab; \
             rm -rf /opt/keybuzz /etc/ssh/sshd_config.d/10-keybuzz.conf /etc/systemd/resolved.conf.d \
               /etc/sysctl.d/60-keybuzz.conf /etc/systemd/journald.conf.d/60-keybuzz.conf \
               /etc/cloud /etc/docker/daemon.json; \
             wipefs -aq /dev/vdb; dd if=/dev/zero of=/dev/vdb bs=1M count=2 status=none; true",
        );
    }
}

/// The fixture credentials (tests/fixtures/credentials, fake values) copied
/// into `dir` with mode 0600, as kbz-play requires of a credentials folder.
pub fn credentials(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let to = dir.join("credentials");
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(repo().join("tests/fixtures/credentials")).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        std::fs::copy(e.path(), &dest).unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    to
}

/// A fixture secret's value, for a test that talks to the service.
pub fn secret(name: &str) -> String {
    for e in std::fs::read_dir(repo().join("tests/fixtures/credentials")).unwrap() {
        let body = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for line in body.lines() {
            if let Some(v) = line.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
                return v.trim().trim_matches('"').to_string();
            }
        }
    }
    panic!("no fixture secret {name}")
}

/// Polls `ok` every half second until it holds or `limit` passes; how long
/// it took, or None.
pub fn wait_until(
    limit: std::time::Duration,
    mut ok: impl FnMut() -> bool,
) -> Option<std::time::Duration> {
    let start = std::time::Instant::now();
    loop {
        if ok() {
            return Some(start.elapsed());
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

/// What a TCP connection from one lab host to another finds.
#[derive(Debug, PartialEq, Eq)]
pub enum Port {
    /// Something accepted the connection.
    Open,
    /// Refused at once: nothing listens, and no firewall dropped the SYN.
    Refused,
    /// No answer within 3 s: a firewall dropped it (ufw's deny policy).
    Filtered,
}

impl Lab {
    /// Tries a TCP connection from host `from` to `ip:port`.
    pub fn port(&self, from: usize, ip: &str, port: u16) -> Port {
        let out = self.ssh(
            from,
            &format!("timeout 3 bash -c ': <>/dev/tcp/{ip}/{port}' 2>/dev/null; echo $?"),
        );
        match out.trim() {
            "0" => Port::Open,
            "124" => Port::Filtered,
            _ => Port::Refused,
        }
    }
}

/// `playbooks/site.rhai` on some lab hosts, as the cluster tests run it: an
/// inventory of those hosts (beside the lab's group_vars), the fixture
/// credentials, and the tags of the cluster's plays.
pub struct Site {
    _dir: tempfile::TempDir,
    inventory: PathBuf,
    credentials: PathBuf,
    tags: String,
}

impl Site {
    /// Gives the secret `name` a new value in this site's credentials (a
    /// rotated password): the line `NAME=...` of whichever file holds it.
    pub fn set_secret(&self, name: &str, value: &str) {
        let prefix = format!("{name}=");
        for e in std::fs::read_dir(&self.credentials).unwrap() {
            let path = e.unwrap().path();
            let body = std::fs::read_to_string(&path).unwrap();
            if body.lines().any(|l| l.starts_with(&prefix)) {
                let lines: Vec<String> = body
                    .lines()
                    .map(|l| {
                        if l.starts_with(&prefix) {
                            format!("{prefix}{value}")
                        } else {
                            l.to_string()
                        }
                    })
                    .collect();
                std::fs::write(&path, lines.join("\n") + "\n").unwrap();
                return;
            }
        }
        panic!("no secret {name} in {}", self.credentials.display());
    }
}

impl Lab {
    /// The site on `hosts` (index, groups, host-var lines as for
    /// [`Lab::inventory`]), limited to the plays tagged `tags`.
    pub fn site(&self, hosts: &[(usize, &[&str], &str)], tags: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let credentials = credentials(dir.path());
        let inventory = self.inventory(dir.path(), hosts, "");
        Site {
            _dir: dir,
            inventory,
            credentials,
            tags: tags.to_string(),
        }
    }

    /// Runs the site and fails the test unless it succeeded.
    pub fn run_site_ok(&self, site: &Site) -> Output {
        let out = self.run_site(site);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        out
    }

    /// Runs the site again and fails the test unless it succeeded and
    /// changed nothing: a rerun after a failover must not undo it.
    pub fn rerun_unchanged(&self, site: &Site) -> Output {
        let again = self.run_site_ok(site);
        assert_eq!(
            super::total(&again, "changed"),
            0,
            "a rerun after the failover: {}",
            text(&again)
        );
        again
    }

    /// Runs the site once (JSON output, this lab's cache).
    pub fn run_site(&self, site: &Site) -> Output {
        self.test()
            .inventory_file(&site.inventory)
            .playbook_file(repo().join("playbooks/site.rhai"))
            .args(["--tags", &site.tags])
            .arg("--credentials")
            .arg(&site.credentials)
            .run()
            .into()
    }
}
