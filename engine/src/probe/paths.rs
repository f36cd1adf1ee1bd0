//! Many path probes answered at once: one `stat` and one `sha256sum` for a
//! chunk of paths, where asking them one by one forks about four processes
//! per path (a rerun of 1,000 `copy` ops spent seconds there).
//!
//! The bulk answer is only an optimisation: when any path of a chunk is not
//! a plain file or folder (missing, a symlink, a device) or changes while it
//! is read, the chunk prints nothing and each of its probes is answered by
//! the per-path function as before, so the answers are the same either way.

use super::{PathState, Probe};
use crate::shell::quote;

/// Path probes (without content) are answered in bulk from this many on.
const MIN_BULK: usize = 2;

/// Paths per `stat`/`sha256sum` call: keeps each argument list far below
/// the kernel's limit, whatever the number of probes.
const CHUNK: usize = 500;

/// `kpa N PATH...`: prints the kinds (`f`/`d`, one letter per path), one
/// `stat` line per path and one `sha256sum` line per file, then sets `kfN`;
/// prints nothing (leaving `kfN` unset) when any path is something else or
/// a read fails. The second loop takes the files from the kinds already
/// printed, so the counts always agree.
pub(super) const PRELUDE: &str = r#"kpa() {
  n=$1; shift; ty=
  for p; do
    if [ -L "$p" ]; then return; elif [ -f "$p" ]; then ty=${ty}f
    elif [ -d "$p" ]; then ty=${ty}d; else return; fi
  done
  st=$(stat -c '%a %U %G %s %u %g' -- "$@" 2>/dev/null) || return
  t=$ty
  for p; do shift; c=${t%"${t#?}"}; t=${t#?}; [ "$c" = f ] && set -- "$@" "$p"; done
  su=; if [ $# -gt 0 ]; then su=$(sha256sum -- "$@" 2>/dev/null) || return; fi
  eval "kf$n=1"
  printf '%s\n%s\n' "$ty" "$st"; [ -z "$su" ] || printf '%s\n' "$su"
}
"#;

/// The marker of chunk `n`'s answer in the batch output.
pub(super) const MARKER: &str = "@@kbz-paths ";

/// Which probes of a batch are answered in bulk, chunk by chunk.
pub(super) struct Bulk {
    /// Probe indices, per chunk.
    chunks: Vec<Vec<usize>>,
}

impl Bulk {
    /// The path probes without content, in batch order, when there are
    /// enough of them to be worth it.
    pub(super) fn plan(probes: &[Probe]) -> Self {
        let indices: Vec<usize> = probes
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p, Probe::Path { content: false, .. }))
            .map(|(i, _)| i)
            .collect();
        let chunks = if indices.len() >= MIN_BULK {
            indices.chunks(CHUNK).map(<[usize]>::to_vec).collect()
        } else {
            Vec::new()
        };
        Bulk { chunks }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    pub(super) fn chunk_count(&self) -> usize {
        self.chunks.len()
    }

    /// The chunk answering probe `index`, if any.
    pub(super) fn chunk_of(&self, index: usize) -> Option<usize> {
        self.chunks
            .iter()
            .position(|c| c.binary_search(&index).is_ok())
    }

    /// The script lines asking every chunk, before the probes' own sections.
    pub(super) fn commands(&self, probes: &[Probe]) -> String {
        let mut s = String::new();
        for (n, chunk) in self.chunks.iter().enumerate() {
            s.push_str(&format!("echo '{MARKER}{n}'\nkpa {n}"));
            for &i in chunk {
                if let Probe::Path { path, .. } = &probes[i] {
                    s.push(' ');
                    s.push_str(&quote(path));
                }
            }
            s.push('\n');
        }
        s
    }

    /// Probe `index`'s own command: the per-path answer, only when its
    /// chunk printed nothing.
    pub(super) fn fallback(chunk: usize, path: &str) -> String {
        format!("[ -n \"$kf{chunk}\" ] || kp {} 0", quote(path))
    }

    /// The answers of chunk `n` from its output `lines`, in chunk order;
    /// `None` when the chunk printed nothing (its probes answer themselves).
    pub(super) fn parse(&self, n: usize, lines: &[&str]) -> Result<Option<Vec<PathState>>, String> {
        let Some((kinds, rest)) = lines.split_first() else {
            return Ok(None);
        };
        let size = self.chunks[n].len();
        let files = kinds.bytes().filter(|&k| k == b'f').count();
        if kinds.len() != size || rest.len() != size + files {
            return Err(format!(
                "path chunk {n}: {} kinds and {} lines for {size} paths",
                kinds.len(),
                rest.len()
            ));
        }
        let (stats, sums) = rest.split_at(size);
        let mut sums = sums.iter();
        kinds
            .bytes()
            .zip(stats)
            .map(|(kind, stat)| {
                let sha = (kind == b'f').then(|| sums.next().map_or("", |l| digest(l)));
                state(kind, stat, sha)
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// The probe indices of chunk `n`.
    pub(super) fn members(&self, n: usize) -> &[usize] {
        &self.chunks[n]
    }
}

/// The digest of a `sha256sum` line (which starts with `\` when the name
/// holds a backslash or a newline).
fn digest(line: &str) -> &str {
    let line = line.strip_prefix('\\').unwrap_or(line);
    line.get(..64).unwrap_or("")
}

/// A path's state from its kind letter, `stat` line and digest, parsed as
/// the per-path answer is (one parser for both).
fn state(kind: u8, stat: &str, sha: Option<&str>) -> Result<PathState, String> {
    let first = format!("{} {stat}", char::from(kind));
    let lines: Vec<&str> = std::iter::once(first.as_str()).chain(sha).collect();
    super::script::parse_path(&lines)
}

#[cfg(test)]
mod tests {
    use super::super::{parse_batch, render_batch, Observation};
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    /// Runs the batch for `probes` under `shell`, with `path` as `PATH`.
    fn run(shell: &str, probes: &[Probe], path: &str) -> Vec<Observation> {
        let out = std::process::Command::new(shell)
            .arg("-c")
            .arg(render_batch(probes))
            .env("PATH", path)
            .output()
            .unwrap();
        parse_batch(probes, &String::from_utf8(out.stdout).unwrap()).unwrap()
    }

    /// Each probe asked alone: the per-path answer, never in bulk.
    fn one_by_one(probes: &[Probe]) -> Vec<Observation> {
        let path = std::env::var("PATH").unwrap();
        probes
            .iter()
            .flat_map(|p| run("sh", std::slice::from_ref(p), &path))
            .collect()
    }

    fn probe(p: &Path) -> Probe {
        Probe::path(p.to_str().unwrap())
    }

    /// Files with awkward names, an empty one, a folder.
    fn tree(dir: &Path) -> Vec<Probe> {
        let mut probes = vec![probe(dir)];
        for (name, body) in [
            ("a", "hello\n"),
            ("with space", ""),
            ("back\\slash", "x"),
            ("new\nline", "y"),
            ("-dash", "z"),
        ] {
            let f = dir.join(name);
            std::fs::write(&f, body).unwrap();
            probes.push(probe(&f));
        }
        probes
    }

    #[test]
    fn bulk_answers_are_the_per_path_answers() {
        let dir = tempfile::tempdir().unwrap();
        let probes = tree(dir.path());
        let path = std::env::var("PATH").unwrap();
        for shell in ["sh", "dash", "bash"] {
            if std::process::Command::new(shell)
                .arg("-c")
                .arg("true")
                .output()
                .is_err()
            {
                continue;
            }
            assert_eq!(run(shell, &probes, &path), one_by_one(&probes), "{shell}");
        }
        let Observation::Path(a) = &run("sh", &probes, &path)[1] else {
            panic!()
        };
        assert_eq!(
            a.sha256.as_deref(),
            Some("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
        );
    }

    #[test]
    fn a_chunk_with_a_link_or_a_missing_path_answers_path_by_path() {
        let dir = tempfile::tempdir().unwrap();
        let mut probes = tree(dir.path());
        std::os::unix::fs::symlink("a", dir.path().join("l")).unwrap();
        probes.push(probe(&dir.path().join("l")));
        probes.push(probe(&dir.path().join("missing")));
        probes.push(Probe::path_with_content(
            dir.path().join("a").to_str().unwrap(),
        ));
        let path = std::env::var("PATH").unwrap();
        assert_eq!(run("sh", &probes, &path), one_by_one(&probes));
    }

    /// A folder of `PATH` where `stat` and `sha256sum` note each call in `log`.
    fn counting_path(dir: &Path, log: &Path) -> String {
        let bin = dir.join("bin");
        std::fs::create_dir(&bin).unwrap();
        for tool in ["stat", "sha256sum"] {
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

    #[test]
    fn a_thousand_files_cost_a_few_processes_not_thousands() {
        let dir = tempfile::tempdir().unwrap();
        let files = dir.path().join("files");
        std::fs::create_dir(&files).unwrap();
        let probes: Vec<Probe> = (0..1001)
            .map(|i| {
                let f = files.join(format!("f{i}"));
                std::fs::write(&f, i.to_string()).unwrap();
                probe(&f)
            })
            .collect();
        let log = dir.path().join("calls");
        let answers = run("sh", &probes, &counting_path(dir.path(), &log));
        let calls = std::fs::read_to_string(&log).unwrap();
        // Three chunks (500, 500, 1): a stat and a sha256sum each.
        assert_eq!(calls.lines().count(), 6, "{calls}");
        let Observation::Path(last) = &answers[1000] else {
            panic!()
        };
        assert_eq!(last.size, 4);
        for range in [0..3, 499..502, 999..1001] {
            assert_eq!(answers[range.clone()], one_by_one(&probes[range]));
        }
    }

    #[test]
    fn a_chunk_whose_counts_disagree_is_an_error() {
        let probes = vec![Probe::path("/a"), Probe::path("/b")];
        let out = "@@kbz-paths 0\nff\n644 root root 1 0 0\n644 root root 1 0 0\n\
                   @@kbz 0\n@@kbz 1\n@@kbz-end\n";
        let err = parse_batch(&probes, out).unwrap_err();
        assert!(err.to_string().contains("2 kinds and 2 lines"), "{err}");
    }
}
