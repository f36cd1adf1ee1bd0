//! `ufw`: the host firewall's default policies, rules and status, in one
//! op (pyinfra splits them into `ufw.default`, `ufw.rule`, `ufw.service`).
//!
//! The state is read with `ufw show added`, which lists the user rules as
//! ufw commands whether or not the firewall is enabled (`ufw status` lists
//! nothing until it is), the default policies from `/etc/default/ufw`, and
//! the first line of `ufw status`. Wanted rules are rendered exactly as ufw
//! renders its own (`UFWCommandRule.get_command`), so comparing them is
//! comparing words.

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Symbol};
use kbz_engine::probe::{Observed, Probe};
use kbz_engine::shell::join;
use serde::Deserialize;

use super::command::split_words;
use super::query::{self, Sections};
use super::values::Text;
use super::{Build, Env, Failure};

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

fn yes() -> bool {
    true
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

/// A rule as ufw renders it: the verdict, the words between it and the
/// comment, and the comment.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    verdict: String,
    spec: Vec<String>,
    comment: Option<String>,
}

impl Rule {
    /// The rule as `ufw` command arguments, shell-quoted.
    fn command(&self) -> String {
        let mut words = vec![self.verdict.clone()];
        words.extend(self.spec.iter().cloned());
        if let Some(c) = &self.comment {
            words.push("comment".to_string());
            words.push(c.clone());
        }
        join(words)
    }

    /// Reads one line of `ufw show added` (`ufw allow 22/tcp comment 'ssh'`).
    fn parse(line: &str) -> Result<Rule, String> {
        let words = split_words(line)?;
        let mut words = words.into_iter().skip_while(|w| w == "ufw");
        let verdict = words.next().ok_or("empty rule")?;
        let mut spec: Vec<String> = words.collect();
        let comment = if spec.len() >= 2 && spec[spec.len() - 2] == "comment" {
            let c = spec.pop();
            spec.pop();
            c
        } else {
            None
        };
        Ok(Rule {
            verdict,
            spec,
            comment,
        })
    }
}

/// A wanted rule, checked.
#[derive(Debug, Clone)]
struct Wanted {
    verdict: Verdict,
    from: String,
    to: String,
    port: Option<String>,
    proto: Proto,
    comment: Option<String>,
}

impl Wanted {
    fn check(i: usize, r: RuleArgs) -> Result<Wanted, String> {
        let at = |m: String| format!("rules[{i}]: {m}");
        let from = address(r.from.as_deref()).map_err(|e| at(format!("from {e}")))?;
        let to = address(r.to.as_deref()).map_err(|e| at(format!("to {e}")))?;
        let port = r
            .port
            .map(|p| ports(&p.0, r.proto))
            .transpose()
            .map_err(at)?;
        if let Some(c) = &r.comment {
            if c.is_empty() || c.contains(['\'', '"', '\n', '\r', '\\']) {
                return Err(at(format!(
                    "comment must be non-empty text without quotes, backslashes or newlines, got {c:?}"
                )));
            }
        }
        Ok(Wanted {
            verdict: r.rule,
            from,
            to,
            port,
            proto: r.proto,
            comment: r.comment,
        })
    }

    /// The rule as ufw renders it (`UFWCommandRule.get_command` for
    /// incoming rules without interface, logging or source port).
    fn rule(&self) -> Rule {
        let mut spec: Vec<String> = Vec::new();
        let mut push = |w: &str| spec.push(w.to_string());
        match &self.port {
            Some(p) if self.from == "any" && self.to == "any" => match self.proto {
                Proto::Any => push(p),
                proto => push(&format!("{p}/{}", proto.word())),
            },
            _ => {
                if self.from != "any" {
                    push("from");
                    push(&self.from);
                }
                if self.to != "any" || self.port.is_some() {
                    push("to");
                    push(&self.to);
                }
                if let Some(p) = &self.port {
                    push("port");
                    push(p);
                }
                if self.from == "any" && self.to == "any" && self.port.is_none() {
                    push("to");
                    push("any");
                }
                if self.proto != Proto::Any {
                    push("proto");
                    push(self.proto.word());
                }
            }
        }
        Rule {
            verdict: self.verdict.word().to_string(),
            spec,
            comment: self.comment.clone(),
        }
    }

    /// Whether the rule names `port` over tcp (explicitly, or all ports when
    /// it gives none and `all_ports` says that counts).
    fn covers(&self, port: u16, all_ports: bool) -> bool {
        if self.proto == Proto::Udp {
            return false;
        }
        let Some(spec) = &self.port else {
            return all_ports;
        };
        spec.split(',').any(|item| match item.split_once(':') {
            Some((a, b)) => {
                a.parse::<u16>().is_ok_and(|a| a <= port)
                    && b.parse::<u16>().is_ok_and(|b| port <= b)
            }
            None => item.parse::<u16>() == Ok(port),
        })
    }
}

/// Checks an address or CIDR and writes it as ufw stores it: no `/32` or
/// `/128`, `any` for everything.
fn address(given: Option<&str>) -> Result<String, String> {
    let s = given.unwrap_or("any");
    if s == "any" {
        return Ok(s.to_string());
    }
    let (ip, prefix) = match s.split_once('/') {
        Some((ip, p)) => (ip, Some(p)),
        None => (s, None),
    };
    let ip: std::net::IpAddr = ip.parse().map_err(|_| {
        format!("must be an address, a CIDR like \"10.0.0.0/16\" or \"any\", got {s:?}")
    })?;
    let bits: u32 = if ip.is_ipv4() { 32 } else { 128 };
    let prefix: u32 = match prefix {
        None => bits,
        Some(p) => p
            .parse()
            .ok()
            .filter(|p| *p <= bits)
            .ok_or_else(|| format!("has a bad prefix length in {s:?}"))?,
    };
    let value = match ip {
        std::net::IpAddr::V4(a) => u128::from(u32::from(a)),
        std::net::IpAddr::V6(a) => u128::from(a),
    };
    let host_mask = if prefix == bits {
        0
    } else {
        (1u128 << (bits - prefix)) - 1
    };
    if value & host_mask != 0 {
        let net = value & !host_mask;
        let net = match ip {
            std::net::IpAddr::V4(_) => std::net::Ipv4Addr::from(net as u32).to_string(),
            std::net::IpAddr::V6(_) => std::net::Ipv6Addr::from(net).to_string(),
        };
        return Err(format!(
            "{s:?} has host bits set; the network is \"{net}/{prefix}\""
        ));
    }
    Ok(match prefix {
        0 => "any".to_string(),
        p if p == bits => ip.to_string(),
        p => format!("{ip}/{p}"),
    })
}

/// Checks a port spec: `22`, `2379:2380`, `80,443`; ranges and lists need
/// tcp or udp, as in ufw.
fn ports(spec: &str, proto: Proto) -> Result<String, String> {
    let port = |s: &str| s.parse::<u16>().ok().filter(|p| *p > 0);
    let mut count = 0;
    for item in spec.split(',') {
        match item.split_once(':') {
            Some((a, b)) => match (port(a), port(b)) {
                (Some(a), Some(b)) if a < b => count += 2,
                _ => {
                    return Err(format!(
                        "port range {item:?} must be \"low:high\" with 1 <= low < high <= 65535"
                    ))
                }
            },
            None if port(item).is_some() => count += 1,
            None if item.contains('-') => {
                return Err(format!(
                    "port {item:?}: ufw writes ranges with a colon, e.g. \"{}\"",
                    item.replace('-', ":")
                ))
            }
            None => return Err(format!("port {item:?} is not a port number (1 to 65535)")),
        }
    }
    if count > 1 && proto == Proto::Any {
        return Err(format!(
            "port {spec:?} is a range or list: ufw needs proto \"tcp\" or \"udp\" for it"
        ));
    }
    if count > 15 {
        return Err(format!(
            "port {spec:?} names more than 15 ports (a range counts as 2), ufw's limit"
        ));
    }
    Ok(spec.to_string())
}

impl Build for Args {
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

/// The query: ufw present, `ufw status`, the default policies, the rules.
fn state_query() -> String {
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

/// What the host has.
#[derive(Debug)]
struct Current {
    active: bool,
    incoming: Option<Policy>,
    outgoing: Option<Policy>,
    rules: Vec<Rule>,
}

impl Current {
    fn parse(stdout: &str) -> Result<Current, OpError> {
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

fn unreadable(what: &str, rc: i32) -> OpError {
    OpError::Conflict(format!(
        "cannot read the firewall's state ({what} exited with {rc}); ufw needs root: run with --become"
    ))
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
    /// Refuses a rule set that would cut the connection this run uses.
    fn check_ssh(&self) -> Result<(), OpError> {
        let port = self.ssh_port;
        if let Some(r) = self
            .rules
            .iter()
            .find(|r| matches!(r.verdict, Verdict::Deny | Verdict::Reject) && r.covers(port, false))
        {
            return Err(OpError::Conflict(format!(
                "refusing the rule `{}`: it would {} SSH (port {port}), which this run connects through",
                r.rule().command(),
                r.verdict.word()
            )));
        }
        let closed = self.enabled && self.incoming != Policy::Allow;
        let open = self
            .rules
            .iter()
            .any(|r| matches!(r.verdict, Verdict::Allow | Verdict::Limit) && r.covers(port, true));
        if closed && !open {
            return Err(OpError::Conflict(format!(
                "refusing to enable ufw with default_incoming \"{}\": no rule allows SSH (port {port}/tcp), \
                 so this run would lock itself out; add #{{ rule: \"allow\", port: {port}, proto: \"tcp\" }} \
                 (with from: a CIDR holding the controller's address, to narrow it), or set ssh_port",
                self.incoming.word()
            )));
        }
        Ok(())
    }

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
        "ufw"
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

/// Registers `ufw(#{...})`.
pub(crate) fn register(engine: &mut rhai::Engine) {
    crate::register::by_map::<Args>(engine);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wanted(verdict: Verdict, from: &str, port: Option<&str>, proto: Proto) -> Wanted {
        Wanted {
            verdict,
            from: from.into(),
            to: "any".into(),
            port: port.map(str::to_string),
            proto,
            comment: None,
        }
    }

    #[test]
    fn params_match_struct() {
        kbz_engine::op::assert_params_match_struct::<Args>();
    }

    #[test]
    fn rules_render_as_ufw_renders_them() {
        let cmd = |w: &Wanted| w.rule().command();
        assert_eq!(
            cmd(&wanted(Verdict::Allow, "any", Some("22"), Proto::Tcp)),
            "allow 22/tcp"
        );
        assert_eq!(
            cmd(&wanted(Verdict::Limit, "any", Some("22"), Proto::Any)),
            "limit 22"
        );
        assert_eq!(
            cmd(&wanted(Verdict::Allow, "10.0.0.0/16", None, Proto::Any)),
            "allow from 10.0.0.0/16"
        );
        assert_eq!(
            cmd(&wanted(
                Verdict::Allow,
                "10.0.0.0/16",
                Some("5432"),
                Proto::Tcp
            )),
            "allow from 10.0.0.0/16 to any port 5432 proto tcp"
        );
        assert_eq!(
            cmd(&wanted(Verdict::Deny, "any", None, Proto::Udp)),
            "deny to any proto udp"
        );
        let mut w = wanted(Verdict::Allow, "any", Some("80,443"), Proto::Tcp);
        w.comment = Some("web front".into());
        assert_eq!(cmd(&w), "allow 80,443/tcp comment 'web front'");
        w.to = "10.0.0.5".into();
        assert_eq!(
            cmd(&w),
            "allow to 10.0.0.5 port 80,443 proto tcp comment 'web front'"
        );
    }

    #[test]
    fn show_added_lines_parse_back() {
        let r =
            Rule::parse("ufw allow from 10.0.0.0/16 to any port 5432 proto tcp comment 'pg main'")
                .unwrap();
        assert_eq!(r.verdict, "allow");
        assert_eq!(
            r.spec.join(" "),
            "from 10.0.0.0/16 to any port 5432 proto tcp"
        );
        assert_eq!(r.comment.as_deref(), Some("pg main"));
        let w = Wanted {
            comment: Some("pg main".into()),
            ..wanted(Verdict::Allow, "10.0.0.0/16", Some("5432"), Proto::Tcp)
        };
        assert_eq!(w.rule(), r);
        let app = Rule::parse("ufw allow 'Nginx Full'").unwrap();
        assert_eq!(
            (app.spec, app.comment),
            (vec!["Nginx Full".to_string()], None)
        );
        let odd = Rule::parse("ufw allow 22/tcp comment 'comment'").unwrap();
        assert_eq!(odd.comment.as_deref(), Some("comment"));
    }

    #[test]
    fn addresses_normalise_like_ufw() {
        assert_eq!(address(None).unwrap(), "any");
        assert_eq!(address(Some("10.0.0.0/16")).unwrap(), "10.0.0.0/16");
        assert_eq!(address(Some("10.0.0.5/32")).unwrap(), "10.0.0.5");
        assert_eq!(address(Some("0.0.0.0/0")).unwrap(), "any");
        assert_eq!(address(Some("2001:db8:0::/48")).unwrap(), "2001:db8::/48");
        let err = address(Some("10.0.0.1/16")).unwrap_err();
        assert!(err.contains("\"10.0.0.0/16\""), "{err}");
        assert!(address(Some("10.0.0.0/33")).is_err());
        assert!(address(Some("example.com")).is_err());
    }

    #[test]
    fn ports_are_checked() {
        assert_eq!(ports("22", Proto::Any).unwrap(), "22");
        assert_eq!(ports("2379:2380", Proto::Tcp).unwrap(), "2379:2380");
        assert!(ports("2379:2380", Proto::Any)
            .unwrap_err()
            .contains("needs proto"));
        assert!(ports("2379-2380", Proto::Tcp)
            .unwrap_err()
            .contains("\"2379:2380\""));
        assert!(ports("0", Proto::Tcp).is_err());
        assert!(ports("80:80", Proto::Tcp).is_err());
        assert!(ports("ssh", Proto::Tcp).is_err());
    }

    #[test]
    fn ssh_coverage() {
        assert!(wanted(Verdict::Allow, "any", Some("22"), Proto::Tcp).covers(22, true));
        assert!(wanted(Verdict::Allow, "any", Some("20:30"), Proto::Tcp).covers(22, true));
        assert!(wanted(Verdict::Allow, "any", Some("80,22"), Proto::Tcp).covers(22, true));
        assert!(!wanted(Verdict::Allow, "any", Some("22"), Proto::Udp).covers(22, true));
        assert!(wanted(Verdict::Allow, "10.0.0.0/8", None, Proto::Any).covers(22, true));
        assert!(!wanted(Verdict::Deny, "10.0.0.0/8", None, Proto::Any).covers(22, false));
    }
}
