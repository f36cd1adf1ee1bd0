//! Query probes made of several named commands.
//!
//! A [`Probe::Query`] is one cached answer per script, so an op that needs
//! several commands' output (`iptables -S` and ufw's rules files; `blkid`,
//! `wipefs` and `findmnt`) asks them all in one query and reads each
//! command's exit status and output back separately. Every section runs in a
//! subshell: an `exit` in one ends only that section.

use std::collections::BTreeMap;

use kbz_engine::op::OpError;
use kbz_engine::probe::Probe;

/// Starts a section's header line: `@@ NAME RC`.
const HEADER: &str = "@@ ";

/// Writes the script running each `(name, snippet)` in order. Names must be
/// single words; snippets are `sh` code whose stdout is the section's output.
pub(crate) fn script(sections: &[(&str, String)]) -> String {
    sections
        .iter()
        .map(|(name, snippet)| {
            debug_assert!(!name.contains(char::is_whitespace));
            format!("o=$({snippet}\n); echo \"{HEADER}{name} $?\"; printf '%s\\n' \"$o\"\n")
        })
        .collect()
}

/// One section of a query's answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Section {
    /// The snippet's exit status.
    pub rc: i32,
    /// Its output, without empty lines.
    pub lines: Vec<String>,
}

impl Section {
    /// The first line of output, or `""`.
    pub fn first(&self) -> &str {
        self.lines.first().map_or("", String::as_str)
    }
}

/// The sections of a query's answer, by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sections(BTreeMap<String, Section>);

impl Sections {
    /// Reads the output of a [`script`].
    pub fn parse(stdout: &str) -> Sections {
        let mut map = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in stdout.lines() {
            if let Some(header) = line.strip_prefix(HEADER) {
                let mut words = header.split(' ');
                if let (Some(name), Some(Ok(rc)), None) =
                    (words.next(), words.next().map(str::parse), words.next())
                {
                    map.insert(name.to_string(), Section { rc, lines: vec![] });
                    current = Some(name.to_string());
                    continue;
                }
            }
            if let Some(section) = current.as_ref().and_then(|n| map.get_mut(n)) {
                if !line.trim().is_empty() {
                    section.lines.push(line.to_string());
                }
            }
        }
        Sections(map)
    }

    /// Reads the output of a [`script`], or `fresh` (the same format) when
    /// the answer has no section at all. A script always prints its
    /// headers, so only an answer that did not come from a host lacks them:
    /// the offline render answers every query with status 1 and no output,
    /// and an op then plans as for a freshly installed host, which `fresh`
    /// describes.
    pub fn parse_or(stdout: &str, fresh: &str) -> Sections {
        let parsed = Sections::parse(stdout);
        if parsed.0.is_empty() {
            Sections::parse(fresh)
        } else {
            parsed
        }
    }

    /// The named section; a section the answer lacks (a script that stopped
    /// early) reads as failed with status -1.
    pub fn get(&self, name: &str) -> Section {
        self.0.get(name).cloned().unwrap_or(Section {
            rc: -1,
            lines: vec![],
        })
    }
}

/// The query probe for `script`.
pub(crate) fn probe(script: &str) -> Probe {
    Probe::Query {
        script: script.to_string(),
    }
}

/// The snippet checking that `program` is installed: status 127 otherwise.
pub(crate) fn have(program: &str) -> String {
    format!("command -v {program} || exit 127")
}

/// The error for a host lacking a program an op drives.
pub(crate) fn missing_program(program: &str, package: &str) -> OpError {
    OpError::Conflict(format!(
        "{program} is not installed on the host; install it first, e.g. package(\"{package}\")"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_round_trip_through_sh() {
        let s = script(&[
            ("one", "echo a; echo; printf b; exit 3".to_string()),
            ("two", "true".to_string()),
            ("three", "echo '  x y'".to_string()),
        ]);
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&s)
            .output()
            .unwrap();
        let parsed = Sections::parse(&String::from_utf8(out.stdout).unwrap());
        assert_eq!(
            parsed.get("one"),
            Section {
                rc: 3,
                lines: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(
            parsed.get("two"),
            Section {
                rc: 0,
                lines: vec![]
            }
        );
        assert_eq!(parsed.get("three").first(), "  x y");
        assert_eq!(parsed.get("four").rc, -1);
        let fresh = Sections::parse_or("", "@@ one 2\nx");
        assert_eq!(
            fresh.get("one"),
            Section {
                rc: 2,
                lines: vec!["x".into()]
            }
        );
        assert_eq!(Sections::parse_or("@@ one 0", "@@ one 2").get("one").rc, 0);
    }
}
