//! A builder for one kbz-play test, in the spirit of casey/just's `Test`: a
//! throwaway project (playbook, inventory, other files), the command line
//! built from it, then [`Test::run`] (as often as the test needs: every run
//! happens in the same project, with the same cache) and assertions on the
//! [`Outcome`].
//!
//! ```ignore
//! let t = Test::new()
//!     .playbook(r#"play("x", "all", |host| { command("true"); });"#)
//!     .inventory("hostname\tip_private\tansible_connection\nh1\t127.0.0.1\tlocal\n");
//! t.run().assert_code(0).assert_total("changed", 1);
//! t.run_with(&["--check"]).assert_code(0);
//! ```
//!
//! By default the command is `kbz-play <playbook> -i <inventory> --persist 0
//! --output json --no-cache [args]`; [`Test::render`] makes it `kbz-play render <playbook>
//! -i <inventory> --out <project>/review [args]`, and [`Lab::test`]
//! (super::lab::Lab::test) points it at the lab (its inventory, ssh config
//! and cache).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::outcome::Outcome;

/// Where kbz-play keeps its cache during a test.
enum Cache {
    /// No flag: kbz-play's default (for `render`, which has no cache).
    Default,
    /// `--no-cache`: every run starts from nothing.
    Off,
    /// `--cache-dir DIR`: kept between the runs of the test.
    Dir(PathBuf),
}

/// One kbz-play test: a project in a temp dir and the command line to run.
pub struct Test {
    dir: tempfile::TempDir,
    subcommand: Option<String>,
    playbook: Option<PathBuf>,
    inventory: Option<PathBuf>,
    out: Option<PathBuf>,
    ssh_config: Option<PathBuf>,
    json: bool,
    cache: Cache,
    args: Vec<OsString>,
    current_dir: Option<PathBuf>,
    persist: u64,
}

impl Default for Test {
    fn default() -> Self {
        Self::new()
    }
}

impl Test {
    /// An empty project; `kbz-play run` with JSON output and no cache.
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().expect("tempdir"),
            subcommand: None,
            playbook: None,
            inventory: None,
            out: None,
            ssh_config: None,
            json: true,
            cache: Cache::Off,
            args: Vec::new(),
            current_dir: None,
            persist: 0,
        }
    }

    /// The project's folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path in the project (an absolute `rel` is kept as it is).
    pub fn at(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `content` to `rel` in the project (folders created).
    pub fn file(self, rel: &str, content: &str) -> Test {
        let p = self.at(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    /// Creates the folder `rel` in the project.
    pub fn dir(self, rel: &str) -> Test {
        std::fs::create_dir_all(self.at(rel)).unwrap();
        self
    }

    /// The playbook: `site.rhai` in the project, holding `text`.
    pub fn playbook(self, text: &str) -> Test {
        self.file("site.rhai", text).playbook_file("site.rhai")
    }

    /// Runs another playbook: a path in the project, or an absolute one.
    pub fn playbook_file(mut self, path: impl AsRef<Path>) -> Test {
        self.playbook = Some(self.at(path));
        self
    }

    /// The inventory: `inv.tsv` in the project, holding `text`.
    pub fn inventory(self, text: &str) -> Test {
        self.file("inv.tsv", text).inventory_file("inv.tsv")
    }

    /// An inventory of `n` hosts h1..hN in group `local`, reached with
    /// `ansible_connection: local`: the scripts an SSH host gets, run on
    /// this machine.
    pub fn local_hosts(self, n: usize) -> Test {
        let rows: String = (1..=n)
            .map(|i| format!("h{i}\t127.0.0.1\tlocal\tlocal\n"))
            .collect();
        self.inventory(&format!(
            "hostname\tip_private\tgroups\tansible_connection\n{rows}"
        ))
    }

    /// Another inventory (file or folder): a path in the project, or an
    /// absolute one.
    pub fn inventory_file(mut self, path: impl AsRef<Path>) -> Test {
        self.inventory = Some(self.at(path));
        self
    }

    /// `--ssh-config PATH`.
    pub fn ssh_config(mut self, path: impl AsRef<Path>) -> Test {
        self.ssh_config = Some(path.as_ref().to_path_buf());
        self
    }

    /// One more argument, after the ones the builder adds.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Test {
        self.args.push(arg.into());
        self
    }

    /// More arguments, after the ones the builder adds.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Test {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `-e name=value`.
    pub fn var(self, name: &str, value: impl std::fmt::Display) -> Test {
        self.args(["-e".to_string(), format!("{name}={value}")])
    }

    /// `--persist SECS` for a run: its ssh masters stay up for the next run
    /// (the builder passes `--persist 0` otherwise, so that every test
    /// starts from no connection and leaves none behind).
    pub fn persist(mut self, secs: u64) -> Test {
        self.persist = secs;
        self
    }

    /// kbz-play's human output instead of `--output json`.
    pub fn text_output(mut self) -> Test {
        self.json = false;
        self
    }

    /// A cache kept between the runs of this test (`--cache-dir
    /// <project>/cache`) instead of `--no-cache`.
    pub fn cache(self) -> Test {
        let dir = self.at("cache");
        self.cache_dir(dir)
    }

    /// `--cache-dir DIR` instead of `--no-cache`.
    pub fn cache_dir(mut self, dir: impl AsRef<Path>) -> Test {
        self.cache = Cache::Dir(dir.as_ref().to_path_buf());
        self
    }

    /// `kbz-play render <playbook> -i <inventory> --out <project>/review`:
    /// human output, no cache flag. The files land in [`Test::review`].
    pub fn render(mut self) -> Test {
        self.subcommand = Some("render".into());
        self.out = Some(self.at("review"));
        self.json = false;
        self.cache = Cache::Default;
        self
    }

    /// What `render` wrote for `host`: `<project>/review/<host>/<rel>`.
    pub fn review(&self, host: &str, rel: &str) -> PathBuf {
        self.at("review").join(host).join(rel)
    }

    /// Reads a file `render` wrote for `host` (fails the test when missing).
    pub fn read_review(&self, host: &str, rel: &str) -> String {
        let p = self.review(host, rel);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// Runs kbz-play from `dir` instead of this process's working directory.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Test {
        self.current_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// The arguments the builder passes to kbz-play (without `extra`).
    pub fn command_line(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        if let Some(sub) = &self.subcommand {
            a.push(sub.into());
        }
        if let Some(p) = &self.playbook {
            a.push(p.into());
        }
        if let Some(i) = &self.inventory {
            a.push("-i".into());
            a.push(i.into());
        }
        if let Some(o) = &self.out {
            a.push("--out".into());
            a.push(o.into());
        }
        if let Some(c) = &self.ssh_config {
            a.push("--ssh-config".into());
            a.push(c.into());
        }
        if self.subcommand.is_none() && self.playbook.is_some() {
            a.push("--persist".into());
            a.push(self.persist.to_string().into());
        }
        if self.json {
            a.push("--output".into());
            a.push("json".into());
        }
        match &self.cache {
            Cache::Default => {}
            Cache::Off => a.push("--no-cache".into()),
            Cache::Dir(d) => {
                a.push("--cache-dir".into());
                a.push(d.into());
            }
        }
        a.extend(self.args.iter().cloned());
        a
    }

    /// Runs kbz-play; may be called again (a rerun in the same project).
    pub fn run(&self) -> Outcome {
        self.run_with::<&str>(&[])
    }

    /// Runs kbz-play with `extra` arguments for this run only.
    pub fn run_with<S: AsRef<std::ffi::OsStr>>(&self, extra: &[S]) -> Outcome {
        let mut cmd = self.command();
        cmd.args(extra);
        Outcome::new(cmd.output().expect("kbz-play runs"))
    }

    /// [`Test::run_with`] with the project's `bin/` first on PATH: how a
    /// test puts a stand-in for a program that cannot run here (a `docker`
    /// answering as a database would) in front of the real one. A stand-in
    /// `docker` answers every question about containers and images: with
    /// `DOCKER_HOST` set, the inspect query never asks a real daemon's
    /// socket itself (stdlib/src/ops/docker.rs).
    pub fn run_with_bin_first<S: AsRef<std::ffi::OsStr>>(&self, extra: &[S]) -> Outcome {
        let path = format!(
            "{}:{}",
            self.at("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = self.command();
        cmd.args(extra)
            .env("PATH", path)
            .env("DOCKER_HOST", "unix:///nonexistent/stand-in.sock");
        Outcome::new(cmd.output().expect("kbz-play runs"))
    }

    /// The kbz-play command [`Test::run`] runs, to start it in the background.
    /// Local-connection hosts take their run lock in the project folder
    /// (`KBZ_LOCK_DIR`), so tests running at once do not wait for each other.
    pub fn command(&self) -> std::process::Command {
        let mut cmd = super::bin();
        if let Some(d) = &self.current_dir {
            cmd.current_dir(d);
        }
        cmd.env("KBZ_LOCK_DIR", self.dir.path());
        cmd.args(self.command_line());
        cmd
    }
}
