//! Reading the host's firewall state: the query the op runs, and parsing
//! its answer into [`Current`].
//!
//! The user rules come from ufw's own files, read as `ufw show added` reads
//! and lists them ([`tuple`](super::tuple)), whether or not the firewall is
//! enabled (`ufw status` lists nothing until it is); the default policies
//! from `/etc/default/ufw`; and whether the firewall runs from the chains it
//! loads, as `ufw status` decides it, read with `iptables -S` and
//! `ip6tables -S` instead. `ufw status` and `ufw show added` are Python
//! programs that cost a host about 0.1 CPU-second each on every run (README,
//! Round trips); the listings and `grep`s about a tenth of it.

use kbz_engine::op::OpError;

use super::rule::Rule;
use super::tuple::{self, FILES, MARK};
use super::Policy;
use crate::ops::query::{self, Sections};

/// The query: ufw present, the chains loaded (IPv4, IPv6), the default
/// policies and IPv6 switch, the rules' tuples (IPv4, IPv6; a file without
/// any is no error, an unreadable one is).
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
        ("rules", tuples(FILES[0])),
        ("rules6", tuples(FILES[1])),
    ])
}

/// The snippet listing the tuple lines of rules file `path`: status 0 with
/// or without any, grep's 2 when the file cannot be read.
fn tuples(path: &str) -> String {
    format!("grep '^{MARK}' {path}; [ $? -le 1 ]")
}

/// What a fresh host answers (for the offline render): ufw installed,
/// inactive, no rules, default policies not known, so all of them are set.
const FRESH: &str = "@@ have 0\n@@ chains 0\n@@ chains6 0\n@@ defaults 1\n@@ rules 0\n@@ rules6 0";

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
    /// The user rules, as `ufw show added` lists them.
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
        let active = loaded(&s)?;
        let policy = |key: &str| {
            s.get("defaults").lines.iter().find_map(|l| {
                let v = l.strip_prefix(key)?.strip_prefix('=')?;
                Policy::from_target(v.trim_matches('"'))
            })
        };
        Ok(Current {
            active,
            incoming: policy("DEFAULT_INPUT_POLICY"),
            outgoing: policy("DEFAULT_OUTPUT_POLICY"),
            rules: rules(&s)?,
        })
    }
}

/// The user rules, from the IPv4 file and, when ufw uses IPv6, the IPv6
/// one, as `ufw show added` lists them.
fn rules(s: &Sections) -> Result<Vec<Rule>, OpError> {
    let mut files = vec![("rules", FILES[0])];
    if uses_ipv6(s) {
        files.push(("rules6", FILES[1]));
    }
    let mut lines = Vec::new();
    for (name, path) in files {
        let section = s.get(name);
        if section.rc != 0 {
            return Err(unreadable(&format!("grep {path}"), section.rc));
        }
        lines.push(section.lines);
    }
    let v6 = lines.get(1).map_or(&[][..], Vec::as_slice);
    tuple::show_added(&lines[0], v6)
        .map_err(|e| OpError::Conflict(format!("cannot read the ufw rule {e}; delete it by hand")))
}

/// Whether ufw uses IPv6 (`use_ipv6`): `IPV6=yes` in `/etc/default/ufw`
/// on a host with IPv6.
fn uses_ipv6(s: &Sections) -> bool {
    s.get("defaults").lines.iter().any(|l| l == "IPV6=yes") && s.get("chains6").first() != NO_IPV6
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
    if uses_ipv6(s) && !has_chains(s, "chains6", "ip6tables -S", "ufw6")? {
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
