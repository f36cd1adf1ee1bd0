//! ufw rules: the form ufw renders them in ([`Rule`]), and the rules the
//! script asks for, checked and normalised ([`Wanted`]).
//!
//! Wanted rules are rendered exactly as ufw renders its own
//! (`UFWCommandRule.get_command`), and the host's are read back from the
//! same words, so comparing them is comparing words.

use kbz_engine::shell::join;

use super::{Proto, RuleArgs, Verdict};
use crate::ops::command::split_words;

/// A rule as ufw renders it: the verdict, the words between it and the
/// comment, and the comment.
///
/// Both sides of the comparison take this form: wanted rules through
/// [`Wanted::rule`], the host's through [`Rule::parse`], so a rule is
/// present when the words agree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Rule {
    /// `allow`, `deny`, `reject`, `limit` (or `route` for the route rules
    /// the op leaves alone).
    pub(super) verdict: String,
    /// What the rule matches: identifies it, whatever its verdict or comment.
    pub(super) spec: Vec<String>,
    /// The comment, compared too so a changed one is updated.
    pub(super) comment: Option<String>,
}

impl Rule {
    /// The rule as `ufw` command arguments, shell-quoted.
    pub(super) fn command(&self) -> String {
        let mut words = vec![self.verdict.clone()];
        words.extend(self.spec.iter().cloned());
        if let Some(c) = &self.comment {
            words.push("comment".to_string());
            words.push(c.clone());
        }
        join(words)
    }

    /// Reads one line of `ufw show added` (`ufw allow 22/tcp comment 'ssh'`).
    pub(super) fn parse(line: &str) -> Result<Rule, String> {
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
///
/// Addresses and ports are normalised the way ufw stores them, so that
/// [`Wanted::rule`] renders words equal to the host's for the same rule.
#[derive(Debug, Clone)]
pub(super) struct Wanted {
    /// What the rule does; the SSH guard looks at it to find rules that
    /// would close or open the control connection.
    pub(super) verdict: Verdict,
    from: String,
    to: String,
    /// The normalised port spec, `None` for all ports; read by the SSH guard.
    pub(super) port: Option<String>,
    /// The protocol; read by the SSH guard (SSH is tcp).
    pub(super) proto: Proto,
    comment: Option<String>,
}

impl Wanted {
    /// Checks entry `i` of `rules` (named in messages) and normalises it;
    /// the error is the message the script sees.
    pub(super) fn check(i: usize, r: RuleArgs) -> Result<Wanted, String> {
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
    pub(super) fn rule(&self) -> Rule {
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

/// A wanted rule to `any`, without comment, built directly (no checks):
/// for the tests of this module and of the SSH guard.
#[cfg(test)]
pub(super) fn wanted(verdict: Verdict, from: &str, port: Option<&str>, proto: Proto) -> Wanted {
    Wanted {
        verdict,
        from: from.into(),
        to: "any".into(),
        port: port.map(str::to_string),
        proto,
        comment: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
