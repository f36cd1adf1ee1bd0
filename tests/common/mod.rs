//! Helpers shared by the integration tests: running the binary, writing
//! throwaway projects, reading JSON events.

#![allow(dead_code)]

pub mod lab;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
