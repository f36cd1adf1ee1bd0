//! Reading the host's firewall state: the query the op runs, and parsing
//! its answer into [`Current`].
//!
//! The user rules come from `ufw show added`, which lists them as ufw
//! commands whether or not the firewall is enabled (`ufw status` lists
//! nothing until it is); the default policies from `/etc/default/ufw`; and
//! whether the firewall runs from the chains it loads, as `ufw status`
//! decides it, read with `iptables -S` and `ip6tables -S` instead: `ufw
//! status` is a Python program that costs a host about 0.1 CPU-second on
//! every run (README, Round trips), the two listings about a tenth of it.

use kbz_engine::op::OpError;

use super::rule::Rule;
use super::Policy;
use crate::ops::query::{self, Sections};

/// The query: ufw present, the chains loaded (IPv4, IPv6), the default
/// policies and IPv6 switch, the rules.
///
/// The op's only probe; [`Current::parse`] reads its answer.
pub(super) fn state_query() -> String {
    query::script(&[
        ("have", query::have("ufw")),
        ("chains", "iptables -S".to_string()),
        (
            "chains6",
            format!("if [ -e /proc/sys/net/ipv6 ]; then ip6tables -S; else echo {NO_IPV6}; fi"),
        ),
        (
            "defaults",
            "grep -E '^(DEFAULT_(INPUT|OUTPUT)_POLICY|IPV6)=' /etc/default/ufw".to_string(),
        ),
        ("added", "ufw show added".to_string()),
    ])
}

/// What a fresh host answers (for the offline render): ufw installed,
/// inactive, no rules, default policies not known, so all of them are set.
const FRESH: &str = "@@ have 0\n@@ chains 0\n@@ chains6 0\n@@ defaults 1\n@@ added 0";

/// What the IPv6 listing says on a host without IPv6, where ufw uses none.
const NO_IPV6: &str = "no-ipv6";

/// The chains whose presence makes the firewall active, as `ufw status`
/// checks them (`backend_iptables.get_status`): every one of IPv4's, and
/// then every one of IPv6's when ufw uses IPv6, or it reports an error.
const USER_CHAINS: [&str; 3] = ["input", "output", "forward"];

/// What the host has: what the plan compares the wanted state with.
#[derive(Debug)]
pub(super) struct Current {
    /// `ufw status` would say `Status: active`: its chains are loaded.
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
        let added = s.get("added");
        let active = loaded(&s)?;
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

/// Whether the firewall runs, as `ufw status` tells it: all of its IPv4
/// user chains are loaded (any one missing: inactive); and then, when
/// `/etc/default/ufw` says `IPV6=yes` on a host with IPv6, all of its IPv6
/// ones too, else the state is half loaded, which `ufw status` reports as an
/// error and so do we, rather than plan from it.
fn loaded(s: &Sections) -> Result<bool, OpError> {
    if !has_chains(s, "chains", "iptables -S", "ufw")? {
        return Ok(false);
    }
    let ipv6 = s.get("defaults").lines.iter().any(|l| l == "IPV6=yes");
    let host_ipv6 = s.get("chains6").first() != NO_IPV6;
    if ipv6 && host_ipv6 && !has_chains(s, "chains6", "ip6tables -S", "ufw6")? {
        return Err(OpError::Conflict(
            "the firewall is half loaded: ufw's IPv4 chains are there, its IPv6 ones are not \
             (IPV6=yes in /etc/default/ufw); run `ufw reload` on the host and read its log"
                .into(),
        ));
    }
    Ok(true)
}

/// Whether the listing of section `name` (the output of `what`) holds every
/// user chain named with `prefix` (`-N ufw-user-input`).
fn has_chains(s: &Sections, name: &str, what: &str, prefix: &str) -> Result<bool, OpError> {
    let listing = s.get(name);
    if listing.rc != 0 {
        return Err(unreadable(what, listing.rc));
    }
    Ok(USER_CHAINS.iter().all(|chain| {
        let line = format!("-N {prefix}-user-{chain}");
        listing.lines.contains(&line)
    }))
}

/// The error for a state command that failed, most likely for want of root.
fn unreadable(what: &str, rc: i32) -> OpError {
    OpError::Conflict(format!(
        "cannot read the firewall's state ({what} exited with {rc}); ufw needs root: run with --become"
    ))
}
