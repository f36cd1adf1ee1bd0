//! `ufw`: the host firewall's default policies, rules and status, in one
//! op (pyinfra splits them into `ufw.default`, `ufw.rule`, `ufw.service`).
//!
//! This file is the op itself: its arguments and their documentation,
//! building, probing and planning. The rest is one concept per file:
//!
//! * [`rule`]: rules as ufw renders them (`UFWCommandRule.get_command`),
//!   and checking the wanted ones, so that comparing is comparing words;
//! * [`state`]: the query run on the host and reading its answer
//!   (the chains `ufw status` checks, `/etc/default/ufw`, the rules);
//! * [`tuple`]: the rules from ufw's own files, listed as `ufw show added`
//!   lists them;
//! * [`ssh_guard`]: refusing a rule set that would lock out the SSH
//!   connection the run goes through.

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Symbol};
use kbz_engine::probe::{Observed, Probe};
use serde::Deserialize;

use super::query;
use super::values::{yes, Text};
use super::{Build, Env, Failure};

mod rule;
mod ssh_guard;
mod state;
mod tuple;

use rule::{Rule, Wanted};
use state::{state_query, Current};

/// Arguments of `ufw()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    #[serde(default = "deny")]
    default_incoming: Policy,
    #[serde(default = "allow")]
    default_outgoing: Policy,
    #[serde(default)]
    rules: Vec<RuleArgs>,
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default = "ssh")]
    ssh_port: u16,
    #[serde(default)]
    purge: bool,
}

fn deny() -> Policy {
    Policy::Deny
}

fn allow() -> Policy {
    Policy::Allow
}

fn ssh() -> u16 {
    22
}

/// One entry of `rules`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleArgs {
    rule: Verdict,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    port: Option<Text>,
    #[serde(default)]
    proto: Proto,
    #[serde(default)]
    comment: Option<String>,
}

/// A default policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Policy {
    Allow,
    Deny,
    Reject,
}

impl Policy {
    /// The word ufw uses for it, in commands and in `ufw show added`.
    fn word(self) -> &'static str {
        match self {
            Policy::Allow => "allow",
            Policy::Deny => "deny",
            Policy::Reject => "reject",
        }
    }

    /// From `/etc/default/ufw`'s iptables target names.
    fn from_target(target: &str) -> Option<Policy> {
        match target {
            "ACCEPT" => Some(Policy::Allow),
            "DROP" => Some(Policy::Deny),
            "REJECT" => Some(Policy::Reject),
            _ => None,
        }
    }
}

/// What a rule does with matching traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Verdict {
    Allow,
    Deny,
    Reject,
    Limit,
}

impl Verdict {
    /// The word ufw uses for it, in commands and in `ufw show added`.
    fn word(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::Reject => "reject",
            Verdict::Limit => "limit",
        }
    }
}

/// A rule's protocol.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Proto {
    #[default]
    Any,
    Tcp,
    Udp,
}

impl Proto {
    /// The word ufw uses for it, in commands and in `ufw show added`.
    fn word(self) -> &'static str {
        match self {
            Proto::Any => "any",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

impl OpArgs for Args {
    const OP: &'static str = "ufw";
    const SUMMARY: &'static str = "Ensure the ufw firewall has these default policies and rules and is enabled; refuses a rule set that would lock out SSH.";
    const EXAMPLE: &'static str = r#"ufw(#{ rules: [
    #{ rule: "allow", port: 22, proto: "tcp", comment: "ssh" },
    #{ rule: "allow", from: "10.0.0.0/16", comment: "private network" },
    #{ rule: "allow", port: "31695,32720", proto: "tcp", comment: "ingress NodePorts" }
] });
ufw(#{ ssh_port: 2222, purge: true, rules: [#{ rule: "limit", port: 2222, proto: "tcp" }] });"#;
    const PARAMS: &'static [Param] = &[
        Param {
            name: "rules",
            ty: "array of maps",
            default: Some("[]"),
            doc: "The rules, each #{ rule, from, to, port, proto, comment }: `rule` is \"allow\", \"deny\", \"reject\" or \"limit\" (required); \
                  `from` and `to` an address, a CIDR like \"10.0.0.0/16\" (no host bits) or \"any\" (the default); \
                  `port` a number, a range \"2379:2380\" or a list \"80,443\" (ranges and lists need a proto); \
                  `proto` \"tcp\", \"udp\" or \"any\" (the default); `comment` free text without quotes. \
                  Incoming rules only. Compared as a set: a missing rule is appended (ufw matches rules in order, first match wins), \
                  a rule differing only in verdict or comment is updated in place, nothing is added twice.",
        },
        Param {
            name: "default_incoming",
            ty: "string",
            default: Some("\"deny\""),
            doc: "Policy for incoming traffic no rule matches: \"deny\" (drop), \"reject\" or \"allow\".",
        },
        Param {
            name: "default_outgoing",
            ty: "string",
            default: Some("\"allow\""),
            doc: "Policy for outgoing traffic no rule matches: \"allow\", \"deny\" or \"reject\".",
        },
        Param {
            name: "enabled",
            ty: "bool",
            default: Some("true"),
            doc: "Whether the firewall runs (`ufw --force enable`, after the rules are in place) or not (`ufw disable`); rules and defaults are managed either way.",
        },
        Param {
            name: "ssh_port",
            ty: "int",
            default: Some("22"),
            doc: "The SSH port this run connects through. When enabled with a deny or reject incoming policy, `rules` must allow or limit it over tcp \
                  (from any source or from a CIDR: kbz-play cannot know which address the controller connects from, so make sure it is in that range), \
                  and no rule may deny or reject it; otherwise the op refuses to touch the host.",
        },
        Param {
            name: "purge",
            ty: "bool",
            default: Some("false"),
            doc: "Also delete the host's rules that `rules` does not list (route rules are left alone), e.g. purge: true to make `rules` the whole truth.",
        },
    ];
}

impl Build for Args {
    const ENSURES: &'static str = "default policies and rules, enabled; refuses a rule set that would drop the SSH port the run uses";

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        let rules = self
            .rules
            .into_iter()
            .enumerate()
            .map(|(i, r)| Wanted::check(i, r))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, a) in rules.iter().enumerate() {
            if let Some(j) = rules[..i]
                .iter()
                .position(|b| b.rule().spec == a.rule().spec)
            {
                return Err(format!(
                    "rules[{j}] and rules[{i}] are the same rule ({})",
                    a.rule().command()
                )
                .into());
            }
        }
        if self.ssh_port == 0 {
            return Err("ssh_port must be a port number (1 to 65535)"
                .to_string()
                .into());
        }
        Ok(Box::new(UfwOp {
            incoming: self.default_incoming,
            outgoing: self.default_outgoing,
            rules,
            enabled: self.enabled,
            ssh_port: self.ssh_port,
            purge: self.purge,
        }))
    }
}

/// Manages ufw.
#[derive(Debug)]
pub(crate) struct UfwOp {
    incoming: Policy,
    outgoing: Policy,
    rules: Vec<Wanted>,
    enabled: bool,
    ssh_port: u16,
    purge: bool,
}

impl UfwOp {
    /// The changes setting each default policy that differs from the host's.
    fn defaults(&self, cur: &Current) -> Vec<Change> {
        [
            ("incoming", self.incoming, cur.incoming),
            ("outgoing", self.outgoing, cur.outgoing),
        ]
        .into_iter()
        .filter(|(_, want, have)| Some(*want) != *have)
        .map(|(dir, want, have)| {
            Change::new(
                Symbol::Update,
                format!(
                    "default {dir} {} -> {}",
                    have.map_or("unknown", Policy::word),
                    want.word()
                ),
                vec![Action::exec(format!(
                    "ufw --force default {} {dir}",
                    want.word()
                ))],
            )
        })
        .collect()
    }
}

impl Operation for UfwOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    fn target(&self) -> String {
        "firewall".to_string()
    }

    fn probes(&self) -> Vec<Probe> {
        vec![query::probe(&state_query())]
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        self.check_ssh()?;
        let cur = Current::parse(&observed.query(&state_query())?.stdout)?;
        let mut changes = Vec::new();
        let wanted: Vec<Rule> = self.rules.iter().map(Wanted::rule).collect();
        // Rules first: with the firewall already on, SSH is allowed before
        // a stricter default applies.
        for want in &wanted {
            let have = cur
                .rules
                .iter()
                .find(|h| h.spec == want.spec && h.verdict != "route");
            let cmd = format!("ufw {}", want.command());
            match have {
                None => changes.push(Change::new(
                    Symbol::Create,
                    format!("rule {}", want.command()),
                    vec![Action::exec(cmd)],
                )),
                Some(h) if h != want => changes.push(Change::new(
                    Symbol::Update,
                    format!("rule {} (was {})", want.command(), h.command()),
                    vec![Action::exec(cmd)],
                )),
                Some(_) => {}
            }
        }
        changes.extend(self.defaults(&cur));
        if self.purge {
            for h in &cur.rules {
                if h.verdict != "route" && !wanted.iter().any(|w| w.spec == h.spec) {
                    changes.push(Change::new(
                        Symbol::Delete,
                        format!("rule {}", h.command()),
                        vec![Action::exec(format!("ufw --force delete {}", h.command()))],
                    ));
                }
            }
        }
        match (self.enabled, cur.active) {
            (true, false) => changes.push(Change::new(
                Symbol::Update,
                "status inactive -> active",
                vec![Action::exec("ufw --force enable")],
            )),
            (false, true) => changes.push(Change::new(
                Symbol::Update,
                "status active -> inactive",
                vec![Action::exec("ufw disable")],
            )),
            _ => {}
        }
        Ok(if changes.is_empty() {
            Plan::noop(format!(
                "{} rules, default policies and status as wanted",
                wanted.len()
            ))
        } else {
            Plan::of(changes)
        })
    }
}
