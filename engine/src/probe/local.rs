//! Batches run by this machine's own shell, for the tests of the bulk
//! probes: a bulk answer must equal the probes' answers one by one, and cost
//! the programs it claims to.

use super::{parse_batch, render_batch, Observation, Probe};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Runs the batch for `probes` under `shell`, with `path` as `PATH`.
pub(super) fn run(shell: &str, probes: &[Probe], path: &str) -> Vec<Observation> {
    let out = std::process::Command::new(shell)
        .arg("-c")
        .arg(render_batch(probes))
        .env("PATH", path)
        .output()
        .unwrap();
    parse_batch(probes, &String::from_utf8(out.stdout).unwrap()).unwrap()
}

/// Each probe asked alone: its own answer, never in bulk.
pub(super) fn one_by_one(probes: &[Probe]) -> Vec<Observation> {
    let path = std::env::var("PATH").unwrap();
    probes
        .iter()
        .flat_map(|p| run("sh", std::slice::from_ref(p), &path))
        .collect()
}

/// A `PATH` whose first folder (made in `dir`) holds `tools`, each noting
/// its name in `log` at every call before it runs the real one.
pub(super) fn counting_path(dir: &Path, log: &Path, tools: &[&str]) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir(&bin).unwrap();
    for tool in tools {
        let real = String::from_utf8(
            std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {tool}"))
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap();
        let shim = bin.join(tool);
        std::fs::write(
            &shim,
            format!(
                "#!/bin/sh\necho {tool} >> '{}'\nexec {} \"$@\"\n",
                log.display(),
                real.trim()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&shim, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}
