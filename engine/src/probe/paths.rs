//! Many path probes answered at once: one `stat` and one `sha256sum` for a
//! chunk of paths, where asking them one by one forks about four processes
//! per path (a rerun of 1,000 `copy` ops spent seconds there). A file whose
//! content is asked adds its own `base64` and no `sha256sum`: its digest is
//! the content's, as for the per-path answer (`script.rs`, `kp`).
//!
//! The bulk answer is only an optimisation: when any path of a chunk is not
//! a plain file or folder (missing, a symlink, a device) or changes while it
//! is read, the chunk prints nothing and each of its probes is answered by
//! the per-path function as before, so the answers are the same either way.

use super::{PathState, Probe};
use crate::shell::quote;

/// Path probes are answered in bulk from this many on.
const MIN_BULK: usize = 2;

/// Paths per `stat`/`sha256sum` call: keeps each argument list far below
/// the kernel's limit, whatever the number of probes.
const CHUNK: usize = 500;

/// `kpa N WANTS PATH...`: prints the kinds (`f`/`d`, one letter per path),
/// one `stat` line per path, one `sha256sum` line per file whose content is
/// not wanted and one base64 line per file whose content is (`WANTS` has a
/// `1` for each path whose content is wanted, a `0` for the others), then
/// sets `kfN`; prints nothing (leaving `kfN` unset) when any path is
/// something else or a read fails. The second loop takes the files from the
/// kinds already printed, so the counts always agree.
pub(super) const PRELUDE: &str = r#"kpa() {
  n=$1; w=$2; shift 2; ty=
  for p; do
    if [ -L "$p" ]; then return; elif [ -f "$p" ]; then ty=${ty}f
    elif [ -d "$p" ]; then ty=${ty}d; else return; fi
  done
  st=$(stat -c '%a %U %G %s %u %g' -- "$@" 2>/dev/null) || return
  t=$ty; co=
  for p; do
    shift; c=${t%"${t#?}"}; t=${t#?}; x=${w%"${w#?}"}; w=${w#?}
    if [ "$c$x" = f1 ]; then b=$(base64 -w0 < "$p" 2>/dev/null) || return; co="$co$b
"
    elif [ "$c" = f ]; then set -- "$@" "$p"; fi
  done
  su=; if [ $# -gt 0 ]; then su=$(sha256sum -- "$@" 2>/dev/null) || return; fi
  eval "kf$n=1"
  printf '%s\n%s\n' "$ty" "$st"; [ -z "$su" ] || printf '%s\n' "$su"; printf '%s' "$co"
}
"#;

/// The marker of chunk `n`'s answer in the batch output.
pub(super) const MARKER: &str = "@@kbz-paths ";

/// Which probes of a batch are answered in bulk, chunk by chunk.
pub(super) struct Bulk {
    chunks: Vec<Chunk>,
}

/// One `kpa` call's probes.
struct Chunk {
    /// Probe indices, ascending.
    members: Vec<usize>,
    /// Whether each member's content is wanted.
    wants: Vec<bool>,
}

impl Bulk {
    /// The path probes, in batch order, when there are enough of them to be
    /// worth it.
    pub(super) fn plan(probes: &[Probe]) -> Self {
        let paths: Vec<(usize, bool)> = probes
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p {
                Probe::Path { content, .. } => Some((i, *content)),
                _ => None,
            })
            .collect();
        let chunks = if paths.len() >= MIN_BULK {
            paths
                .chunks(CHUNK)
                .map(|c| Chunk {
                    members: c.iter().map(|&(i, _)| i).collect(),
                    wants: c.iter().map(|&(_, w)| w).collect(),
                })
                .collect()
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
            .position(|c| c.members.binary_search(&index).is_ok())
    }

    /// The script lines asking every chunk, before the probes' own sections.
    pub(super) fn commands(&self, probes: &[Probe]) -> String {
        let mut s = String::new();
        for (n, chunk) in self.chunks.iter().enumerate() {
            let wants: String = chunk
                .wants
                .iter()
                .map(|&w| if w { '1' } else { '0' })
                .collect();
            s.push_str(&format!("echo '{MARKER}{n}'\nkpa {n} {wants}"));
            for &i in &chunk.members {
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
    pub(super) fn fallback(chunk: usize, path: &str, content: bool) -> String {
        format!(
            "[ -n \"$kf{chunk}\" ] || kp {} {}",
            quote(path),
            u8::from(content)
        )
    }

    /// The answers of chunk `n` from its output `lines`, in chunk order;
    /// `None` when the chunk printed nothing (its probes answer themselves).
    pub(super) fn parse(&self, n: usize, lines: &[&str]) -> Result<Option<Vec<PathState>>, String> {
        let Some((kinds, rest)) = lines.split_first() else {
            return Ok(None);
        };
        let chunk = &self.chunks[n];
        let size = chunk.members.len();
        let files = |wanted: bool| {
            kinds
                .bytes()
                .zip(&chunk.wants)
                .filter(|&(k, &w)| k == b'f' && w == wanted)
                .count()
        };
        let (summed, read) = (files(false), files(true));
        if kinds.len() != size || rest.len() != size + summed + read {
            return Err(format!(
                "path chunk {n}: {} kinds and {} lines for {size} paths",
                kinds.len(),
                rest.len()
            ));
        }
        let (stats, rest) = rest.split_at(size);
        let (sums, contents) = rest.split_at(summed);
        let (mut sums, mut contents) = (sums.iter(), contents.iter());
        kinds
            .bytes()
            .zip(stats)
            .zip(&chunk.wants)
            .map(|((kind, stat), &wanted)| {
                let tail = match (kind, wanted) {
                    (b'f', false) => vec![digest(sums.next().copied().unwrap_or(""))],
                    (b'f', true) => vec!["-", contents.next().copied().unwrap_or("")],
                    _ => Vec::new(),
                };
                state(kind, stat, &tail)
            })
            .collect::<Result<_, _>>()
            .map(Some)
    }

    /// The probe indices of chunk `n`.
    pub(super) fn members(&self, n: usize) -> &[usize] {
        &self.chunks[n].members
    }
}

/// The digest of a `sha256sum` line (which starts with `\` when the name
/// holds a backslash or a newline).
fn digest(line: &str) -> &str {
    let line = line.strip_prefix('\\').unwrap_or(line);
    line.get(..64).unwrap_or("")
}

/// A path's state from its kind letter, `stat` line and the lines the
/// per-path answer prints after it (a digest, or `-` and the content),
/// parsed as that answer is (one parser for both).
fn state(kind: u8, stat: &str, tail: &[&str]) -> Result<PathState, String> {
    let first = format!("{} {stat}", char::from(kind));
    let lines: Vec<&str> = std::iter::once(first.as_str())
        .chain(tail.iter().copied())
        .collect();
    super::script::parse_path(&lines)
}

#[cfg(test)]
mod tests {
    use super::super::local::{counting_path, one_by_one, run};
    use super::super::{parse_batch, Observation};
    use super::*;
    use std::path::Path;

    /// The programs a bulk answer runs.
    const TOOLS: &[&str] = &["stat", "sha256sum", "base64"];

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
        let answers = run("sh", &probes, &counting_path(dir.path(), &log, TOOLS));
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

    /// Files whose content is asked join the chunk: one `stat` and one
    /// `sha256sum` for the batch, one `base64` per such file, and their
    /// digest is their content's (no `sha256sum` reads them).
    #[test]
    fn files_whose_content_is_asked_cost_a_base64_each_and_no_stat_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let mut probes = tree(dir.path());
        for name in ["a", "with space", "new\nline"] {
            let path = dir.path().join(name);
            probes.push(Probe::path_with_content(path.to_str().unwrap()));
        }
        let log = dir.path().join("calls");
        let answers = run("sh", &probes, &counting_path(dir.path(), &log, TOOLS));
        let calls = std::fs::read_to_string(&log).unwrap();
        let mut calls: Vec<&str> = calls.lines().collect();
        calls.sort_unstable();
        assert_eq!(calls, ["base64", "base64", "base64", "sha256sum", "stat"]);
        assert_eq!(answers, one_by_one(&probes));
        let Observation::Path(a) = &answers[6] else {
            panic!()
        };
        assert_eq!(a.content.as_deref(), Some(&b"hello\n"[..]));
        assert_eq!(a.sha256, Some(crate::digest::sha256_hex(b"hello\n")));
        let Observation::Path(empty) = &answers[7] else {
            panic!()
        };
        assert_eq!(empty.content.as_deref(), Some(&b""[..]));
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
