//! One `sh` script answers any number of probes: [`render_batch`] writes it,
//! [`parse_batch`] reads its output back.
//!
//! Each probe's answer starts with a marker line `@@kbz <index>`; anything a
//! probe prints that could contain arbitrary bytes (file contents, command
//! output) is base64-encoded, so no answer can forge a marker.

use super::facts::{self, Facts};
use super::paths::{self, Bulk};
use super::sysctls::{self, Sysctls};
use super::units::{self, Units};
use super::{
    CommandState, GroupState, Observation, PackageState, PathKind, PathState, Probe, ServiceState,
    UserState,
};
use crate::shell::quote;

const MARKER: &str = "@@kbz ";
const END: &str = "@@kbz-end";

/// The locale every probe runs under, first in every batch (and before each
/// guard the opening asks ahead, `run/foresight.rs`, so its answer is the
/// probe's).
pub const LOCALE: &str = "export LC_ALL=C\n";

/// Shell functions shared by every batch; kept small because they travel with
/// every round trip. `kp` cuts the hash out of `sha256sum`'s answer with
/// `${h%% *}`, not `cut`: one program less per file. A file whose content is
/// asked gets no `sha256sum`: its digest is the content's, computed here
/// ([`parse_path`]), so an edit planned from that content expects exactly
/// it, however the file changes between two reads; a read that fails ends
/// its content with `?`, which no base64 holds.
const PRELUDE: &str = r#"kp() {
  if [ -L "$1" ]; then t=l; elif [ -f "$1" ]; then t=f; elif [ -d "$1" ]; then t=d
  elif [ -e "$1" ]; then t=o; else echo -; return; fi
  printf '%s ' "$t"; stat -c '%a %U %G %s %u %g' -- "$1"
  case $t in
    f) if [ "$2" = 1 ]; then echo -; { base64 -w0 < "$1" || printf '?'; } 2>/dev/null; echo
       else h=$(sha256sum < "$1" 2>/dev/null) || h='?'; echo "${h%% *}"; fi;;
    l) readlink -- "$1";;
  esac
}
kc() { o=$(sh -c "$1" 2>/dev/null); echo $?; printf '%s' "$o" | base64 -w0; echo; }
"#;

/// Writes the script answering `probes`, in order. Path, service and kernel
/// parameter probes are asked first, in bulk (see [`paths`], [`units`] and
/// [`sysctls`]);
/// each keeps its own section, which answers it only when its bulk call
/// could not.
pub fn render_batch(probes: &[Probe]) -> String {
    let bulk = Bulk::plan(probes);
    let units = Units::plan(probes);
    let sysctls = Sysctls::plan(probes);
    let mut s = format!("{LOCALE}{PRELUDE}");
    if !bulk.is_empty() {
        s.push_str(paths::PRELUDE);
        s.push_str(&bulk.commands(probes));
    }
    s.push_str(&units.command(probes));
    s.push_str(&sysctls.command(probes));
    for (i, probe) in probes.iter().enumerate() {
        s.push_str(&format!("echo '{MARKER}{i}'\n"));
        match (bulk.chunk_of(i), probe) {
            (Some(chunk), Probe::Path { path, content }) => {
                s.push_str(&Bulk::fallback(chunk, path, *content))
            }
            _ if units.answers(i) => s.push_str(&Units::fallback(&probe_command(probe))),
            (_, Probe::Sysctl { key }) if sysctls.answers(i) => {
                s.push_str(&Sysctls::fallback(key, &probe_command(probe)))
            }
            _ => s.push_str(&probe_command(probe)),
        }
        s.push('\n');
    }
    s.push_str(&format!("echo '{END}'\n"));
    s
}

fn probe_command(probe: &Probe) -> String {
    match probe {
        Probe::Path { path, content } => format!("kp {} {}", quote(path), u8::from(*content)),
        Probe::Service { unit } => format!(
            "systemctl show {} -- {} 2>/dev/null",
            units::PROPERTIES,
            quote(unit)
        ),
        Probe::Sysctl { key } => {
            format!(
                "cat {} 2>/dev/null || echo '@@none'",
                quote(&sysctls::file_of(key))
            )
        }
        Probe::Packages { names, candidates } => {
            let names = names.iter().map(|n| quote(n)).collect::<Vec<_>>().join(" ");
            let mut cmd = format!(
                "dpkg-query -W -f='${{Package}}\\t${{db:Status-Status}}\\t${{Version}}\\n' -- {names} 2>/dev/null"
            );
            if *candidates {
                cmd.push_str(&format!(
                    "; echo '@@candidates'; apt-cache policy -- {names} 2>/dev/null"
                ));
            }
            cmd
        }
        Probe::User { name } => {
            format!("getent passwd {0} && id -Gn {0} 2>/dev/null", quote(name))
        }
        Probe::Group { name } => format!("getent group {}", quote(name)),
        Probe::Command { script } | Probe::Query { script } => format!("kc {}", quote(script)),
        Probe::Facts { gathered } => facts::script(*gathered),
    }
}

/// The batch output did not have the shape [`render_batch`] promises; the
/// message quotes what came back, because that is what one needs to debug it.
#[derive(Debug, thiserror::Error)]
#[error("unexpected probe output ({reason}); output began with: {head:?}")]
pub struct BatchParseError {
    reason: String,
    head: String,
}

impl BatchParseError {
    fn new(reason: impl Into<String>, output: &str) -> Self {
        let head: String = output.chars().take(300).collect();
        BatchParseError {
            reason: reason.into(),
            head,
        }
    }
}

/// Which part of the batch output a line belongs to.
#[derive(Clone, Copy)]
enum Section {
    /// A bulk answer of path probes (a chunk of [`Bulk`]).
    Paths(usize),
    /// The bulk answer of service probes ([`Units`]).
    Units,
    /// The bulk answer of kernel parameter probes ([`Sysctls`]).
    Sysctls,
    /// One probe's own answer.
    Probe(usize),
}

/// Reads the answers to `probes` out of the batch script's standard output.
pub fn parse_batch(probes: &[Probe], output: &str) -> Result<Vec<Observation>, BatchParseError> {
    let bulk = Bulk::plan(probes);
    let units = Units::plan(probes);
    let sysctls = Sysctls::plan(probes);
    let mut sections: Vec<Vec<&str>> = vec![Vec::new(); probes.len()];
    let mut chunks: Vec<Vec<&str>> = vec![Vec::new(); bulk.chunk_count()];
    let mut unit_lines: Vec<&str> = Vec::new();
    let mut sysctl_lines: Vec<&str> = Vec::new();
    let mut current: Option<Section> = None;
    let mut ended = false;
    for line in output.lines() {
        if line == END {
            ended = true;
            break;
        }
        if let Some(idx) = line.strip_prefix(MARKER) {
            current = Some(Section::Probe(index(idx, probes.len(), line, output)?));
        } else if let Some(idx) = line.strip_prefix(paths::MARKER) {
            current = Some(Section::Paths(index(idx, chunks.len(), line, output)?));
        } else if line == units::MARKER {
            current = Some(Section::Units);
        } else if line == sysctls::MARKER {
            current = Some(Section::Sysctls);
        } else {
            match current {
                Some(Section::Probe(i)) => sections[i].push(line),
                Some(Section::Paths(n)) => chunks[n].push(line),
                Some(Section::Units) => unit_lines.push(line),
                Some(Section::Sysctls) => sysctl_lines.push(line),
                None => {}
            }
        }
    }
    if !ended {
        return Err(BatchParseError::new("the script did not finish", output));
    }
    let mut answered: Vec<Option<Observation>> = vec![None; probes.len()];
    for (n, lines) in chunks.iter().enumerate() {
        let states = bulk
            .parse(n, lines)
            .map_err(|r| BatchParseError::new(r, output))?;
        for (&i, state) in bulk.members(n).iter().zip(states.into_iter().flatten()) {
            answered[i] = Some(Observation::Path(state));
        }
    }
    let blocks = units
        .parse(&unit_lines)
        .map_err(|r| BatchParseError::new(r, output))?;
    let read = sysctls.parse(probes, &sysctl_lines);
    for (i, block) in blocks.into_iter().flatten().chain(read) {
        let observation =
            parse_one(&probes[i], &block).map_err(|r| BatchParseError::new(r, output))?;
        answered[i] = Some(observation);
    }
    probes
        .iter()
        .zip(sections)
        .zip(answered)
        .map(|((probe, lines), bulk)| match bulk {
            Some(observation) => Ok(observation),
            None => parse_one(probe, &lines).map_err(|r| BatchParseError::new(r, output)),
        })
        .collect()
}

/// The section number a marker line gives, checked against `count`.
fn index(idx: &str, count: usize, line: &str, output: &str) -> Result<usize, BatchParseError> {
    let i: usize = idx
        .trim()
        .parse()
        .map_err(|_| BatchParseError::new(format!("bad marker {line:?}"), output))?;
    if i >= count {
        return Err(BatchParseError::new(
            format!("marker {i} out of range"),
            output,
        ));
    }
    Ok(i)
}

fn parse_one(probe: &Probe, lines: &[&str]) -> Result<Observation, String> {
    Ok(match probe {
        Probe::Path { path, .. } => {
            Observation::Path(parse_path(lines).map_err(|e| format!("{path}: {e}"))?)
        }
        Probe::Service { .. } => {
            let mut state = ServiceState {
                load: "not-found".into(),
                active: "inactive".into(),
                enabled: String::new(),
            };
            for line in lines {
                match line.split_once('=') {
                    Some(("LoadState", v)) => state.load = v.to_string(),
                    Some(("ActiveState", v)) => state.active = v.to_string(),
                    Some(("UnitFileState", v)) => state.enabled = v.to_string(),
                    _ => {}
                }
            }
            Observation::Service(state)
        }
        Probe::Sysctl { .. } => {
            let joined = lines.join(" ");
            let value = (joined.trim() != "@@none")
                .then(|| joined.split_whitespace().collect::<Vec<_>>().join(" "));
            Observation::Sysctl { value }
        }
        Probe::Packages { names, .. } => {
            let mut packages = PackageState::none_installed(names);
            let mut it = lines.iter();
            for line in it.by_ref() {
                if *line == "@@candidates" {
                    break;
                }
                let mut f = line.split('\t');
                if let (Some(name), Some(status), Some(version)) = (f.next(), f.next(), f.next()) {
                    let name = name.split(':').next().unwrap_or(name);
                    if let Some(p) = packages.get_mut(name) {
                        p.installed = status == "installed";
                        p.version =
                            (!version.is_empty() && p.installed).then(|| version.to_string());
                    }
                }
            }
            let mut current: Option<String> = None;
            for line in it {
                if !line.starts_with(' ') && line.ends_with(':') {
                    current = Some(line.trim_end_matches(':').to_string());
                } else if let (Some(name), Some(v)) =
                    (&current, line.trim().strip_prefix("Candidate:"))
                {
                    if let Some(p) = packages.get_mut(name) {
                        let v = v.trim();
                        p.candidate = (v != "(none)").then(|| v.to_string());
                    }
                }
            }
            Observation::Packages { packages }
        }
        Probe::User { .. } => {
            let user = match Entry::first(lines, 7, "passwd")? {
                Some(e) => Some(UserState {
                    uid: e.id(2, "uid")?,
                    gid: e.id(3, "gid")?,
                    home: e.fields[5].to_string(),
                    shell: e.fields[6].to_string(),
                    groups: lines
                        .get(1)
                        .map(|g| g.split_whitespace().map(str::to_string).collect())
                        .unwrap_or_default(),
                }),
                None => None,
            };
            Observation::User { user }
        }
        Probe::Group { .. } => {
            let group = match Entry::first(lines, 4, "group")? {
                Some(e) => Some(GroupState {
                    gid: e.id(2, "gid")?,
                    members: e.fields[3]
                        .split(',')
                        .filter(|m| !m.is_empty())
                        .map(str::to_string)
                        .collect(),
                }),
                None => None,
            };
            Observation::Group { group }
        }
        Probe::Command { .. } | Probe::Query { .. } => {
            let rc = lines
                .first()
                .and_then(|l| l.trim().parse().ok())
                .ok_or_else(|| "missing exit status".to_string())?;
            let stdout = decode_b64(lines.get(1).copied().unwrap_or(""))?;
            Observation::Command(CommandState::from_output(rc, &stdout))
        }
        Probe::Facts { .. } => Observation::Facts(Facts::parse(lines)),
    })
}

/// A `getent` entry (passwd or group): the colon-separated fields of an
/// answer's first line, checked once for both databases.
struct Entry<'a> {
    line: &'a str,
    fields: Vec<&'a str>,
}

impl<'a> Entry<'a> {
    /// The entry on the first line, `None` when there is none (no such
    /// name); an error naming the `database` when it has fewer than `fields`
    /// fields.
    fn first(lines: &[&'a str], fields: usize, database: &str) -> Result<Option<Self>, String> {
        let line = match lines.first() {
            Some(line) if !line.is_empty() => *line,
            _ => return Ok(None),
        };
        let entry = Entry {
            line,
            fields: line.split(':').collect(),
        };
        if entry.fields.len() < fields {
            return Err(format!("bad {database} entry {line:?}"));
        }
        Ok(Some(entry))
    }

    /// Field `i` as a numeric id; `name` says which in the error.
    fn id(&self, i: usize, name: &str) -> Result<u32, String> {
        self.fields[i]
            .parse()
            .map_err(|_| format!("bad {name} in {:?}", self.line))
    }
}

pub(super) fn parse_path(lines: &[&str]) -> Result<PathState, String> {
    let first = lines.first().copied().unwrap_or("-");
    if first == "-" {
        return Ok(PathState::missing());
    }
    let f: Vec<&str> = first.split(' ').collect();
    if f.len() != 7 {
        return Err(format!("bad stat line {first:?}"));
    }
    let kind = match f[0] {
        "f" => PathKind::File,
        "d" => PathKind::Directory,
        "l" => PathKind::Link,
        _ => PathKind::Other,
    };
    let mut state = PathState {
        kind,
        mode: u32::from_str_radix(f[1], 8).map_err(|_| format!("bad mode {:?}", f[1]))?,
        owner: f[2].to_string(),
        group: f[3].to_string(),
        size: f[4].parse().map_err(|_| format!("bad size {:?}", f[4]))?,
        uid: f[5].parse().map_err(|_| format!("bad uid {:?}", f[5]))?,
        gid: f[6].parse().map_err(|_| format!("bad gid {:?}", f[6]))?,
        sha256: None,
        link_target: None,
        content: None,
    };
    match kind {
        PathKind::File => {
            state.content = match lines.get(2) {
                Some(b64) if !b64.ends_with('?') => Some(decode_b64(b64)?),
                _ => None,
            };
            state.sha256 = match &state.content {
                Some(content) => Some(crate::digest::sha256_hex(content)),
                None => lines
                    .get(1)
                    .filter(|h| h.len() == 64)
                    .map(|h| h.to_string()),
            };
        }
        PathKind::Link => state.link_target = lines.get(1).map(|t| t.to_string()),
        _ => {}
    }
    Ok(state)
}

fn decode_b64(s: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| format!("bad base64: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a batch with the machine's own `sh`, as a host would.
    fn run(probes: &[Probe]) -> Vec<Observation> {
        let script = render_batch(probes);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        parse_batch(probes, &String::from_utf8(out.stdout).unwrap()).unwrap()
    }

    #[test]
    fn paths_of_every_kind() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, "hello\n").unwrap();
        let link = dir.path().join("l");
        std::os::unix::fs::symlink("f", &link).unwrap();
        let p = |x: &std::path::Path| x.to_str().unwrap().to_string();
        let probes = vec![
            Probe::path_with_content(p(&file)),
            Probe::path(p(dir.path())),
            Probe::path(p(&link)),
            Probe::path(p(&dir.path().join("missing file"))),
        ];
        let obs = run(&probes);
        let Observation::Path(f) = &obs[0] else {
            panic!()
        };
        assert_eq!(f.kind, PathKind::File);
        assert_eq!(f.size, 6);
        assert_eq!(
            f.sha256.as_deref(),
            Some("5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
        );
        assert_eq!(f.content.as_deref(), Some(&b"hello\n"[..]));
        let Observation::Path(d) = &obs[1] else {
            panic!()
        };
        assert_eq!(d.kind, PathKind::Directory);
        let Observation::Path(l) = &obs[2] else {
            panic!()
        };
        assert_eq!(
            (l.kind, l.link_target.as_deref()),
            (PathKind::Link, Some("f"))
        );
        assert_eq!(obs[3], Observation::Path(PathState::missing()));
    }

    #[test]
    fn commands_cannot_forge_markers() {
        let probes = vec![
            Probe::Command {
                script: "printf '@@kbz 5\\n@@kbz-end\\n'; exit 3".into(),
            },
            Probe::Sysctl {
                key: "no.such.key".into(),
            },
        ];
        let obs = run(&probes);
        assert_eq!(
            obs[0],
            Observation::Command(CommandState {
                rc: 3,
                stdout: "@@kbz 5\n@@kbz-end".into()
            })
        );
        assert_eq!(obs[1], Observation::Sysctl { value: None });
    }

    #[test]
    fn queries_are_cached_commands_are_not() {
        let probes = vec![Probe::Query {
            script: "echo 'Status: active'".into(),
        }];
        assert_eq!(
            run(&probes)[0],
            Observation::Command(CommandState {
                rc: 0,
                stdout: "Status: active".into()
            })
        );
        assert!(probes[0].cacheable());
        assert!(!Probe::Command {
            script: "true".into()
        }
        .cacheable());
    }

    #[test]
    fn users_groups_and_facts() {
        let probes = vec![
            Probe::User {
                name: "root".into(),
            },
            Probe::User {
                name: "no-such-user-kbz".into(),
            },
            Probe::Group {
                name: "root".into(),
            },
            Probe::Facts { gathered: true },
        ];
        let obs = run(&probes);
        let Observation::User { user: Some(root) } = &obs[0] else {
            panic!("{:?}", obs[0])
        };
        assert_eq!((root.uid, root.home.as_str()), (0, "/root"));
        assert!(root.groups.contains(&"root".to_string()));
        assert_eq!(obs[1], Observation::User { user: None });
        let Observation::Group { group: Some(g) } = &obs[2] else {
            panic!()
        };
        assert_eq!(g.gid, 0);
        let Observation::Facts(f) = &obs[3] else {
            panic!()
        };
        assert!(
            f.cpus >= 1 && f.memory_mb > 0 && !f.hostname.is_empty(),
            "{f:?}"
        );
    }

    #[test]
    fn truncated_output_is_an_error() {
        let probes = vec![Probe::path("/etc")];
        let err = parse_batch(&probes, "@@kbz 0\nd 755 root root 4096 0 0\n").unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
    }

    /// A file whose content is asked is digested here from that content, so
    /// an edit planned from it expects exactly what was read; a content read
    /// that failed (`?` at its end) leaves both unknown.
    #[test]
    fn a_read_content_is_its_own_digest_and_a_failed_read_none() {
        let read = parse_path(&["f 644 root root 4 0 0", "-", "YWJjCg=="]).unwrap();
        assert_eq!(read.content.as_deref(), Some(&b"abc\n"[..]));
        assert_eq!(read.sha256, Some(crate::digest::sha256_hex(b"abc\n")));
        let failed = parse_path(&["f 600 root root 4 0 0", "-", "YW?"]).unwrap();
        assert_eq!((failed.content, failed.sha256), (None, None));
        let unread = parse_path(&["f 600 root root 4 0 0", "-", "?"]).unwrap();
        assert_eq!((unread.content, unread.sha256), (None, None));
    }
}
