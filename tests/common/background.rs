//! A kbz-play run in the background, for the tests that signal it mid-run
//! (Ctrl-C) and then look at what it left: its exit, its JSON lines, its ssh
//! control folder and its processes.

use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Outcome, Test};

/// A running kbz-play with JSON output, its control sockets under a
/// folder of the test's own (`XDG_RUNTIME_DIR`, see [`Background::runtime`]).
pub struct Background {
    child: Child,
    runtime: PathBuf,
    /// The JSON lines read before [`Background::start`] returned.
    seen: Vec<String>,
    /// The rest, read on until kbz-play ends so it never blocks on a full pipe.
    rest: JoinHandle<Vec<String>>,
    stderr: JoinHandle<Vec<u8>>,
}

impl Background {
    /// Starts `t`'s run and returns once `count` `op_start` lines holding
    /// `holding` were printed (the ops in flight on their hosts), and a
    /// little more so the commands have started there.
    pub fn start(t: &Test, holding: &str, count: usize) -> Background {
        use std::os::unix::fs::PermissionsExt;
        let runtime = t.at("run");
        std::fs::create_dir(&runtime).unwrap();
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut child = t
            .command()
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kbz-play runs");
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = err.read_to_end(&mut buf);
            buf
        });
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        let mut started = 0;
        for line in lines.by_ref().map_while(Result::ok) {
            if line.contains("\"op_start\"") && line.contains(holding) {
                started += 1;
            }
            seen.push(line);
            if started == count {
                break;
            }
        }
        assert_eq!(started, count, "not every op started:\n{}", seen.join("\n"));
        let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect());
        std::thread::sleep(Duration::from_millis(500));
        Background {
            child,
            runtime,
            seen,
            rest,
            stderr,
        }
    }

    /// The folder the run's private ssh control folder is made in.
    pub fn runtime(&self) -> &Path {
        &self.runtime
    }

    /// Sends SIGINT to kbz-play, as Ctrl-C does.
    pub fn interrupt(&self) {
        let sent = std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(sent.success());
    }

    /// Waits for kbz-play to exit, at most `limit` (then kills it and fails
    /// the test); the whole run as an [`Outcome`].
    pub fn wait(mut self, limit: Duration) -> Outcome {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                panic!("kbz-play still running {limit:?} later");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut lines = self.seen;
        lines.extend(self.rest.join().unwrap());
        Outcome::new(Output {
            status,
            stdout: (lines.join("\n") + "\n").into_bytes(),
            stderr: self.stderr.join().unwrap(),
        })
    }

    /// What is left in [`Background::runtime`]: nothing once kbz-play
    /// removed its control folder.
    pub fn control_left(runtime: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(runtime)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    }
}

/// Whether a process on this machine has `needle` in its command line
/// (pgrep itself excepted).
pub fn running_here(needle: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", needle])
        .stdout(Stdio::null())
        .status()
        .expect("pgrep")
        .success()
}
