//! The service probes of a batch answered by one `systemctl show`: each call
//! costs a lab host about 16 ms of CPU (README, Round trips), and every host
//! of the site asks at least two units (docker, chrony), the HAProxy hosts
//! four.
//!
//! `systemctl show` prints one block of properties per unit named, in the
//! order named, blocks separated by an empty line; a unit systemd does not
//! know still gets its block (`LoadState=not-found`). When the call fails (a
//! name systemd refuses, no systemd at all) it prints nothing and each probe
//! is asked on its own as before, so the answers are the same either way.

use super::members::Members;
use super::Probe;
use crate::shell::quote;

/// Service probes are answered in bulk from this many on.
const MIN_BULK: usize = 2;

/// The properties every service probe reads.
pub(super) const PROPERTIES: &str = "-p LoadState -p ActiveState -p UnitFileState";

/// The marker of the bulk answer in the batch output.
pub(super) const MARKER: &str = "@@kbz-units";

/// The shell variable the bulk call sets when it answered.
const DONE: &str = "kus";

/// Each bulk-answered probe's index with its block of `systemctl show` lines.
type Blocks<'a> = Vec<(usize, Vec<&'a str>)>;

/// Which probes of a batch the one `systemctl show` answers.
pub(super) struct Units {
    members: Members,
}

impl Units {
    /// The service probes of `probes`, when there are enough to be worth it.
    pub(super) fn plan(probes: &[Probe]) -> Self {
        Units {
            members: Members::of(probes, MIN_BULK, |p| matches!(p, Probe::Service { .. })),
        }
    }

    /// Whether probe `index` is answered in bulk.
    pub(super) fn answers(&self, index: usize) -> bool {
        self.members.answers(index)
    }

    /// The script lines of the bulk call, before the probes' own sections:
    /// its output only when it succeeded (and then `kus` set).
    pub(super) fn command(&self, probes: &[Probe]) -> String {
        if self.members.indices().is_empty() {
            return String::new();
        }
        let mut units = String::new();
        for &i in self.members.indices() {
            if let Probe::Service { unit } = &probes[i] {
                units.push(' ');
                units.push_str(&quote(unit));
            }
        }
        format!(
            "echo '{MARKER}'\n\
             o=$(systemctl show {PROPERTIES} --{units} 2>/dev/null) && {{ {DONE}=1; printf '%s\\n' \"$o\"; }}\n"
        )
    }

    /// A bulk-answered probe's own command: the per-unit call, only when the
    /// bulk call printed nothing.
    pub(super) fn fallback(own: &str) -> String {
        format!("[ -n \"${DONE}\" ] || {{ {own}; }}")
    }

    /// The bulk answer's blocks, one per member in order (`None` when the
    /// bulk call printed nothing: each probe answers itself); an error when
    /// the block count is not the member count, which would mismatch units
    /// and answers.
    pub(super) fn parse<'a>(&self, lines: &[&'a str]) -> Result<Option<Blocks<'a>>, String> {
        if lines.iter().all(|l| l.is_empty()) {
            return Ok(None);
        }
        let blocks: Vec<Vec<&str>> = lines
            .split(|l| l.is_empty())
            .filter(|b| !b.is_empty())
            .map(<[&str]>::to_vec)
            .collect();
        if blocks.len() != self.members.indices().len() {
            return Err(format!(
                "systemctl show: {} blocks for {} units",
                blocks.len(),
                self.members.indices().len()
            ));
        }
        Ok(Some(
            self.members.indices().iter().copied().zip(blocks).collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_batch, render_batch, Observation, ServiceState};
    use super::*;

    fn service(unit: &str) -> Probe {
        Probe::Service { unit: unit.into() }
    }

    fn state(load: &str, active: &str, enabled: &str) -> Observation {
        Observation::Service(ServiceState {
            load: load.into(),
            active: active.into(),
            enabled: enabled.into(),
        })
    }

    /// What a Debian 12 lab host (systemd 252) printed for
    /// `systemctl show -p LoadState -p ActiveState -p UnitFileState -- ssh nosuch.service chrony docker`.
    const SHOW: &str = "LoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\n\
                        LoadState=not-found\nActiveState=inactive\nUnitFileState=\n\n\
                        LoadState=loaded\nActiveState=inactive\nUnitFileState=disabled\n\n\
                        LoadState=loaded\nActiveState=active\nUnitFileState=enabled\n";

    fn probes() -> Vec<Probe> {
        vec![
            service("ssh"),
            Probe::Sysctl {
                key: "vm.swappiness".into(),
            },
            service("nosuch.service"),
            service("chrony"),
            service("docker"),
        ]
    }

    /// The batch output of a host whose one `systemctl show` answered: the
    /// units' own sections print nothing.
    fn output(show: &str) -> String {
        format!("{MARKER}\n{show}@@kbz 0\n@@kbz 1\n1\n@@kbz 2\n@@kbz 3\n@@kbz 4\n@@kbz-end\n")
    }

    #[test]
    fn one_systemctl_answers_every_unit_in_order() {
        let probes = probes();
        let script = render_batch(&probes);
        assert_eq!(
            script
                .matches(&format!(
                    "systemctl show {PROPERTIES} -- {} {} {} {}",
                    quote("ssh"),
                    quote("nosuch.service"),
                    quote("chrony"),
                    quote("docker")
                ))
                .count(),
            1,
            "{script}"
        );
        let obs = parse_batch(&probes, &output(SHOW)).unwrap();
        assert_eq!(obs[0], state("loaded", "active", "enabled"));
        assert_eq!(
            obs[1],
            Observation::Sysctl {
                value: Some("1".into())
            }
        );
        assert_eq!(obs[2], state("not-found", "inactive", ""));
        assert_eq!(obs[3], state("loaded", "inactive", "disabled"));
        assert_eq!(obs[4], state("loaded", "active", "enabled"));
    }

    #[test]
    fn a_block_too_few_is_an_error_not_a_shifted_answer() {
        let probes = probes();
        let short = SHOW.rsplit_once("\n\n").unwrap().0;
        let err = parse_batch(&probes, &output(&format!("{short}\n"))).unwrap_err();
        assert!(err.to_string().contains("3 blocks for 4 units"), "{err}");
    }

    /// A host without systemctl: the bulk call prints nothing, every unit
    /// asks on its own (and is not found), no error.
    #[test]
    fn without_an_answer_each_unit_asks_alone() {
        let probes = vec![service("ssh"), service("docker")];
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(render_batch(&probes))
            .env("PATH", "/nonexistent")
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let obs = parse_batch(&probes, &stdout).unwrap();
        assert_eq!(obs, vec![state("not-found", "inactive", ""); 2]);
        let alone = render_batch(&probes[..1]);
        assert!(!alone.contains(MARKER), "one unit is asked alone: {alone}");
    }
}
