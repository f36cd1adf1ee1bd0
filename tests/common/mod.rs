//! Helpers shared by the integration tests: running the binary, writing
//! throwaway projects, reading JSON events; [`Test`] builds and runs one
//! kbz-play test, [`Outcome`] is what it gave.
//!
//! Tests that need something a plain `cargo test` machine may lack are
//! `#[ignore = "needs ...: how to get it"]`: the runner lists them as ignored
//! with that reason instead of passing them without running. `tests/run.sh`
//! runs them (`-- --include-ignored`), and then a missing prerequisite fails
//! the test with the command that sets it up; nothing is skipped silently.
//!   - the lab tests (tests/lab.rs, tests/lab_roles.rs, tests/cluster_*.rs):
//!     `Lab::new()` fails unless `eval "$(bash tests/lab/lab.sh env)"` named a
//!     lab that is up;
//!   - the validators (tests/render/validators.rs): a missing program fails;
//!   - the ssh transport (engine/tests/transport_ssh/): a missing sshd fails.
//!
//! `KBZ_LAB_REQUIRED=1` and `KBZ_VALIDATORS_REQUIRED=1` (set by tests/run.sh
//! and so by CI) say that those tests must run: a test that is not ignored in
//! each of those files ([`lab::required_guard`], the render tests' guard)
//! then fails when the run leaves the ignored tests out (no `--include-ignored`)
//! or when the lab or a validator is missing.

#![allow(dead_code)]

pub mod background;
pub mod lab;
pub mod libconfig;
pub mod outcome;
pub mod test;

#[allow(unused_imports)]
pub use outcome::Outcome;
#[allow(unused_imports)]
pub use test::Test;

/// Whether this test run includes the `#[ignore]`d tests (`cargo test --
/// --include-ignored` or `-- --ignored`): libtest runs the tests in this
/// process, so its arguments are ours.
pub fn ignored_tests_run() -> bool {
    std::env::args().any(|a| a == "--include-ignored" || a == "--ignored")
}

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A program on PATH (or in /usr/sbin, /sbin), for the tests that need a
/// validator or a tool of the test venv.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.push("/usr/sbin".into());
    dirs.push("/sbin".into());
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// With `KBZ_VALIDATORS_REQUIRED` set (tests/run.sh, CI), `what` (a test
/// comparing kbz-play with `tool` of the test venv, `#[ignore]`d for plain
/// `cargo test`) must be part of the run, and `tool` on PATH.
pub fn venv_tool_guard(tool: &str, what: &str) {
    if std::env::var_os("KBZ_VALIDATORS_REQUIRED").is_none() {
        return;
    }
    assert!(
        ignored_tests_run(),
        "KBZ_VALIDATORS_REQUIRED is set but this run leaves out {what}, which is #[ignore]d: \
         run it with `cargo test -- --include-ignored`"
    );
    assert!(
        find_tool(tool).is_some(),
        "KBZ_VALIDATORS_REQUIRED is set and {tool} is not on PATH (bash tests/run.sh installs \
         ansible-core in a venv and puts it on PATH)"
    );
}

/// The kbz-play binary cargo built for these tests.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kbz-play"))
}

/// Runs kbz-play with `args`, returning its output.
pub fn kbz(args: &[&str]) -> Output {
    bin().args(args).output().expect("kbz-play runs")
}

/// Standard output and error as one string, for assertions with context.
pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A throwaway project: `files` are (relative path, content).
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (path, content) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
    dir
}

/// Parses `--output json` lines.
pub fn events(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// The `op_end` events of the operation `op`, in the run's order.
pub fn op_ends(out: &Output, op: &str) -> Vec<serde_json::Value> {
    events(out)
        .into_iter()
        .filter(|e| e["event"] == "op_end" && e["op"] == op)
        .collect()
}

/// The recap of a JSON run: host -> stats object.
pub fn recap(out: &Output) -> Vec<(String, serde_json::Value)> {
    let events = events(out);
    let end = events
        .iter()
        .find(|e| e["event"] == "run_end")
        .unwrap_or_else(|| panic!("no run_end event\n{}", text(out)));
    end["recap"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| (pair[0].as_str().unwrap().to_string(), pair[1].clone()))
        .collect()
}

/// Sum of one recap counter over all hosts.
pub fn total(out: &Output, key: &str) -> u64 {
    recap(out)
        .iter()
        .map(|(_, s)| s[key].as_u64().unwrap_or(0))
        .sum()
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}
