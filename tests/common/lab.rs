//! The lab of real hosts (`tests/lab/lab.sh`), for the integration tests
//! that run kbz-play against it: finding it, running kbz-play and ssh there.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use super::{bin, repo, text};

/// The tests share the lab's hosts, so they take turns.
pub static LAB_LOCK: Mutex<()> = Mutex::new(());

pub struct Lab {
    pub ssh_config: PathBuf,
    pub inventory: PathBuf,
    pub script: PathBuf,
    /// (name, address) in inventory order.
    pub hosts: Vec<(String, String)>,
    pub cache: tempfile::TempDir,
}

pub fn lab() -> Option<Lab> {
    // Only a lab named explicitly (`eval "$(bash tests/lab/lab.sh env)"`, as
    // tests/run.sh does): these tests reset and stop hosts, so they must never
    // wander into a lab someone else is using.
    let Some(dir) = std::env::var_os("KBZ_LAB_DIR").map(PathBuf::from) else {
        assert!(
            std::env::var("KBZ_LAB_REQUIRED").is_err(),
            "KBZ_LAB_REQUIRED is set but KBZ_LAB_DIR is not (eval \"$(bash tests/lab/lab.sh env)\")"
        );
        eprintln!("skipped: KBZ_LAB_DIR is not set (bash tests/lab/lab.sh up 4 && eval \"$(bash tests/lab/lab.sh env)\")");
        return None;
    };
    let inventory = dir.join("inventory.tsv");
    let ssh_config = dir.join("ssh_config");
    assert!(
        inventory.is_file() && ssh_config.is_file(),
        "KBZ_LAB_DIR={} holds no lab (bash tests/lab/lab.sh up 4)",
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
    Some(Lab {
        ssh_config,
        inventory,
        script: repo().join("tests/lab/lab.sh"),
        hosts,
        cache: tempfile::tempdir().unwrap(),
    })
}

impl Lab {
    /// Runs kbz-play against the lab with JSON output and this test's cache.
    pub fn kbz(&self, playbook: &str, extra: &[&str]) -> Output {
        self.kbz_with(&self.ssh_config, &self.inventory, playbook, extra)
    }

    /// [`Lab::kbz`] through another ssh config (e.g. another known_hosts).
    pub fn kbz_via(&self, ssh_config: &Path, playbook: &str, extra: &[&str]) -> Output {
        self.kbz_with(ssh_config, &self.inventory, playbook, extra)
    }

    /// [`Lab::kbz`] with another inventory of lab hosts (other groups, vars).
    pub fn kbz_inv(&self, inventory: &Path, playbook: &str, extra: &[&str]) -> Output {
        self.kbz_with(&self.ssh_config, inventory, playbook, extra)
    }

    fn kbz_with(
        &self,
        ssh_config: &Path,
        inventory: &Path,
        playbook: &str,
        extra: &[&str],
    ) -> Output {
        let mut cmd = bin();
        cmd.arg(playbook)
            .args(["-i", inventory.to_str().unwrap()])
            .args(["--ssh-config", ssh_config.to_str().unwrap()])
            .args([
                "--output",
                "json",
                "--cache-dir",
                self.cache.path().to_str().unwrap(),
            ])
            .args(extra);
        cmd.output().expect("kbz-play runs")
    }

    /// Runs a shell command on a lab host as root, over plain ssh.
    pub fn ssh(&self, host: usize, script: &str) -> String {
        let out = Command::new("ssh")
            .args([
                "-F",
                self.ssh_config.to_str().unwrap(),
                "-o",
                "BatchMode=yes",
            ])
            .arg(format!("root@{}", self.hosts[host].1))
            .arg(script)
            .output()
            .expect("ssh runs");
        assert!(out.status.success(), "ssh {script}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
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
