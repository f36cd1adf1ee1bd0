//! The kernel parameters of a batch read by one `grep`: every site host
//! asks eight to ten (`roles/base_os.rhai`), and a `cat` each cost a host as
//! many programs on every rerun.
//!
//! `grep -aH '' FILE...` prints each line of each file it can read as
//! `FILE:line`. A parameter's path holds no `:`, so a line starting with
//! `PATH:` is that file's and no other's. A file that printed no line (it
//! does not exist, cannot be read, or is empty) is asked on its own as
//! before, so the answers are the same either way.

use super::members::Members;
use super::Probe;
use crate::shell::quote;

/// Kernel parameters are read in bulk from this many on.
const MIN_BULK: usize = 2;

/// The marker of the bulk answer in the batch output.
pub(super) const MARKER: &str = "@@kbz-sysctls";

/// The shell variable holding the bulk answer, after a leading newline so
/// that every line of it, the first included, follows a newline.
const LINES: &str = "ksy";

/// The file under `/proc/sys` that holds kernel parameter `key`.
pub(super) fn file_of(key: &str) -> String {
    format!("/proc/sys/{}", key.replace('.', "/"))
}

/// Which probes of a batch the one `grep` answers.
pub(super) struct Sysctls {
    members: Members,
}

impl Sysctls {
    /// The kernel parameter probes of `probes`, when there are enough to be
    /// worth it.
    pub(super) fn plan(probes: &[Probe]) -> Self {
        Sysctls {
            members: Members::of(probes, MIN_BULK, |p| matches!(p, Probe::Sysctl { .. })),
        }
    }

    /// Whether probe `index` is read in bulk.
    pub(super) fn answers(&self, index: usize) -> bool {
        self.members.answers(index)
    }

    /// The script lines of the bulk read, before the probes' own sections.
    pub(super) fn command(&self, probes: &[Probe]) -> String {
        let files: String = self
            .members
            .indices()
            .iter()
            .filter_map(|&i| match &probes[i] {
                Probe::Sysctl { key } => Some(format!(" {}", quote(&file_of(key)))),
                _ => None,
            })
            .collect();
        if files.is_empty() {
            return String::new();
        }
        format!(
            "echo '{MARKER}'\n\
             {LINES}=\"\n$(grep -aH '' --{files} 2>/dev/null)\"; printf '%s\\n' \"${LINES}\"\n"
        )
    }

    /// A bulk-read probe's own command: the per-file read, only when the
    /// bulk read printed no line of `key`'s file (a shell `case`, no
    /// program).
    pub(super) fn fallback(key: &str, own: &str) -> String {
        let line_start = quote(&format!("\n{}:", file_of(key)));
        format!("case \"${LINES}\" in *{line_start}*) ;; *) {own};; esac")
    }

    /// The lines the bulk read gave each member whose file printed any, in
    /// batch order; a member missing here answers from its own section.
    pub(super) fn parse<'a>(
        &self,
        probes: &[Probe],
        lines: &[&'a str],
    ) -> Vec<(usize, Vec<&'a str>)> {
        self.members
            .indices()
            .iter()
            .filter_map(|&i| {
                let Probe::Sysctl { key } = &probes[i] else {
                    return None;
                };
                let prefix = format!("{}:", file_of(key));
                let own: Vec<&str> = lines
                    .iter()
                    .filter_map(|l| l.strip_prefix(prefix.as_str()))
                    .collect();
                (!own.is_empty()).then_some((i, own))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::local::{counting_path, one_by_one, run};
    use super::super::{parse_batch, render_batch, Observation};
    use super::*;

    fn sysctl(key: &str) -> Probe {
        Probe::Sysctl { key: key.into() }
    }

    fn value(v: Option<&str>) -> Observation {
        Observation::Sysctl {
            value: v.map(String::from),
        }
    }

    /// This machine's own kernel answers: one `grep` reads every parameter
    /// it can, and only the one it cannot (no such key) costs a `cat`; the
    /// answers are those of each probe asked alone.
    #[test]
    fn parameters_cost_one_grep_and_a_cat_only_where_it_read_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let probes = vec![
            sysctl("vm.swappiness"),
            Probe::path("/"),
            sysctl("kernel.kbz_no_such_key"),
            sysctl("net.ipv4.ip_local_port_range"),
            sysctl("kernel.ostype"),
        ];
        let log = dir.path().join("calls");
        let answers = run(
            "sh",
            &probes,
            &counting_path(dir.path(), &log, &["grep", "cat"]),
        );
        let mut calls: Vec<String> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        calls.sort_unstable();
        assert_eq!(calls, ["cat", "grep"]);
        assert_eq!(answers, one_by_one(&probes));
        assert_eq!(answers[2], value(None));
        assert_eq!(answers[4], value(Some("Linux")));
    }

    /// A line belongs to the file it starts with, whole: a parameter whose
    /// path begins another's gets only its own lines, and a value that
    /// spans lines is joined as `cat`'s would be.
    #[test]
    fn each_parameter_reads_only_its_own_lines() {
        let probes = vec![sysctl("a.b"), sysctl("a.b_c"), sysctl("a.d")];
        let script = render_batch(&probes);
        assert_eq!(script.matches("grep -aH").count(), 1, "{script}");
        let out = "@@kbz-sysctls\n\n/proc/sys/a/b_c:2\t3\n/proc/sys/a/b:1\n/proc/sys/a/b_c:4\n\
                   @@kbz 0\n@@kbz 1\n@@kbz 2\n@@none\n@@kbz-end\n";
        let answers = parse_batch(&probes, out).unwrap();
        assert_eq!(
            answers,
            [value(Some("1")), value(Some("2 3 4")), value(None)]
        );
    }

    #[test]
    fn one_parameter_is_read_alone() {
        let script = render_batch(&[sysctl("vm.swappiness")]);
        assert!(!script.contains(MARKER), "{script}");
    }
}
