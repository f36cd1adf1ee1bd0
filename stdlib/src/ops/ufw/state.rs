//! Reading the host's firewall state: the query the op runs, and parsing
//! its answer into [`Current`].
//!
//! The user rules come from `ufw show added`, which lists them as ufw
//! commands whether or not the firewall is enabled (`ufw status` lists
//! nothing until it is); the default policies from `/etc/default/ufw`; and
//! whether the firewall runs from the first line of `ufw status`.

use kbz_engine::op::OpError;

use super::rule::Rule;
use super::Policy;
use crate::ops::query::{self, Sections};

/// The query: ufw present, `ufw status`, the default policies, the rules.
///
/// The op's only probe; [`Current::parse`] reads its answer.
pub(super) fn state_query() -> String {
    query::script(&[
        ("have", query::have("ufw")),
        ("status", "ufw status".to_string()),
        (
            "defaults",
            "grep -E '^DEFAULT_(INPUT|OUTPUT)_POLICY=' /etc/default/ufw".to_string(),
        ),
        ("added", "ufw show added".to_string()),
    ])
}

/// What a fresh host answers (for the offline render): ufw installed,
/// inactive, no rules, default policies not known, so all of them are set.
const FRESH: &str = "@@ have 0\n@@ status 0\nStatus: inactive\n@@ defaults 1\n@@ added 0";

/// What the host has: what the plan compares the wanted state with.
#[derive(Debug)]
pub(super) struct Current {
    /// `ufw status` says `Status: active`.
    pub(super) active: bool,
    /// `DEFAULT_INPUT_POLICY` of `/etc/default/ufw`, `None` when unreadable
    /// (then it is set).
    pub(super) incoming: Option<Policy>,
    /// `DEFAULT_OUTPUT_POLICY`, likewise.
    pub(super) outgoing: Option<Policy>,
    /// The user rules, from `ufw show added`.
    pub(super) rules: Vec<Rule>,
}

impl Current {
    /// Reads the answer to [`state_query`]. Fails when ufw is missing, its
    /// state cannot be read (not root) or a rule cannot be understood,
    /// rather than plan from a partial picture of the firewall.
    pub(super) fn parse(stdout: &str) -> Result<Current, OpError> {
        let s = Sections::parse_or(stdout, FRESH);
        if s.get("have").rc != 0 {
            return Err(query::missing_program("ufw", "ufw"));
        }
        let (status, added) = (s.get("status"), s.get("added"));
        let active = match status.first() {
            "Status: active" => true,
            "Status: inactive" => false,
            _ => return Err(unreadable("ufw status", status.rc)),
        };
        if added.rc != 0 {
            return Err(unreadable("ufw show added", added.rc));
        }
        let policy = |key: &str| {
            s.get("defaults").lines.iter().find_map(|l| {
                let v = l.strip_prefix(key)?.strip_prefix('=')?;
                Policy::from_target(v.trim_matches('"'))
            })
        };
        let rules = added
            .lines
            .iter()
            .filter(|l| l.starts_with("ufw "))
            .map(|l| {
                Rule::parse(l).map_err(|e| {
                    OpError::Conflict(format!(
                        "cannot read the ufw rule {l:?} ({e}); delete it by hand"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Current {
            active,
            incoming: policy("DEFAULT_INPUT_POLICY"),
            outgoing: policy("DEFAULT_OUTPUT_POLICY"),
            rules,
        })
    }
}

/// The error for a state command that failed, most likely for want of root.
fn unreadable(what: &str, rc: i32) -> OpError {
    OpError::Conflict(format!(
        "cannot read the firewall's state ({what} exited with {rc}); ufw needs root: run with --become"
    ))
}
