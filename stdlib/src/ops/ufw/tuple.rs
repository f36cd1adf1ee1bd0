//! ufw's own record of its user rules: the `### tuple ###` lines of
//! `/etc/ufw/user.rules` and `user6.rules`, read as ufw reads them
//! (`backend_iptables._read_rules`) and rendered as `ufw show added` renders
//! them (`frontend.get_show_added`, `UFWCommandRule.get_command`).
//!
//! Reading the files costs a host a `grep`; `ufw show added` is a Python
//! program, about 0.085 CPU-second on every run (README, Round trips). The
//! rules come out as the very lines `ufw show added` prints, so the op reads
//! them with the same [`Rule::parse`] either way.

use super::rule::Rule;

/// Where ufw keeps its IPv4 and IPv6 user rules (Debian's build).
pub(super) const FILES: [&str; 2] = ["/etc/ufw/user.rules", "/etc/ufw/user6.rules"];

/// What starts a rule's line in those files.
pub(super) const MARK: &str = "### tuple ###";

/// The user rules as `ufw show added` lists them: the IPv4 file's, then
/// the IPv6 file's, each rendered once (an IPv6 rule rendering as an IPv4
/// one already listed, such as `allow 22/tcp`, is the other half of the
/// same ufw rule). Fails on a line ufw would skip as malformed or that
/// cannot be read back as a [`Rule`], naming it.
pub(super) fn show_added(v4: &[String], v6: &[String]) -> Result<Vec<Rule>, String> {
    let mut shown: Vec<String> = Vec::new();
    for line in v4.iter().chain(v6) {
        let command = Tuple::parse(line)
            .map(|t| t.command())
            .map_err(|e| format!("{line:?} ({e})"))?;
        if !shown.contains(&command) {
            shown.push(command);
        }
    }
    shown
        .iter()
        .map(|c| Rule::parse(c).map_err(|e| format!("{c:?} ({e})")))
        .collect()
}

/// One rule's tuple: `### tuple ### ACTION PROTO DPORT DST SPORT SRC
/// [DAPP SAPP] [DIRECTION|in_IF|out_IF|in_IF!out_IF] [comment=HEX]`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tuple {
    action: String,
    logtype: String,
    route: bool,
    protocol: String,
    dport: String,
    dst: String,
    sport: String,
    src: String,
    dapp: String,
    sapp: String,
    direction: String,
    iface_in: String,
    iface_out: String,
    comment: String,
}

impl Tuple {
    /// Reads a line of the rules files, as `_read_rules` does, but refusing
    /// what ufw would skip with a warning rather than leave it out.
    fn parse(line: &str) -> Result<Tuple, String> {
        let (line, hex) = match line.split_once(" comment=") {
            Some((l, h)) => (l, h.trim()),
            None => (line, ""),
        };
        let fields: Vec<&str> = line
            .strip_prefix(MARK)
            .ok_or("not a tuple line")?
            .split_whitespace()
            .collect();
        if !(6..=9).contains(&fields.len()) {
            return Err(format!("{} fields, ufw reads 6 to 9", fields.len()));
        }
        let mut t = Tuple {
            comment: hex_decode(hex),
            direction: "in".into(),
            ..Tuple::default()
        };
        if fields.len() % 2 == 1 {
            t.interfaces(fields[fields.len() - 1])?;
        }
        t.verdict(fields[0])?;
        t.protocol = fields[1].into();
        t.dport = fields[2].into();
        t.dst = fields[3].to_lowercase();
        t.sport = fields[4].into();
        t.src = fields[5].to_lowercase();
        if fields.len() >= 8 {
            t.dapp = fields[6].replace("%20", " ");
            t.sapp = fields[7].replace("%20", " ");
            for app in [&mut t.dapp, &mut t.sapp] {
                if app == "-" {
                    app.clear();
                }
            }
        }
        Ok(t)
    }

    /// The action field: `[route:]VERDICT[_LOGTYPE]`; ufw reads any verdict
    /// but allow, reject and limit as deny.
    fn verdict(&mut self, field: &str) -> Result<(), String> {
        let (route, action) = match field.split_once(':') {
            Some((_, a)) => (true, a),
            None => (false, field),
        };
        let action = action.to_lowercase();
        let mut parts = action.split('_');
        let verdict = parts.next().unwrap_or_default();
        self.route = route;
        self.action = match verdict {
            "allow" | "reject" | "limit" => verdict.into(),
            _ => "deny".into(),
        };
        self.logtype = parts.next().unwrap_or_default().into();
        if !["", "log", "log-all"].contains(&self.logtype.as_str()) {
            return Err(format!("log type {:?}", self.logtype));
        }
        Ok(())
    }

    /// The last field of a 7- or 9-field tuple: the direction, alone or
    /// with the interface (`in_eth0`, `out_eth0`, `in_eth0!out_eth1`).
    fn interfaces(&mut self, field: &str) -> Result<(), String> {
        self.direction = field.split('_').next().unwrap_or_default().into();
        if let Some((i, o)) = field.split_once('!') {
            let name = |s: &str, dir: &str| s.strip_prefix(dir).map(str::to_string);
            match (name(i, "in_"), name(o, "out_")) {
                (Some(i), Some(o)) => (self.iface_in, self.iface_out) = (i, o),
                _ => return Err(format!("interfaces {field:?}")),
            }
        } else if let Some(i) = field.strip_prefix("in_") {
            self.iface_in = i.into();
        } else if let Some(o) = field.strip_prefix("out_") {
            self.iface_out = o.into();
        } else if field.contains('_') {
            return Err(format!("interfaces {field:?}"));
        }
        if !["in", "out"].contains(&self.direction.as_str()) {
            return Err(format!("direction {:?}", self.direction));
        }
        Ok(())
    }

    /// The rule as `ufw show added` prints it, without the leading `ufw`.
    fn command(&self) -> String {
        let rule = if self.is_short() {
            self.short()
        } else {
            self.full()
        };
        let rule = match self.comment.as_str() {
            "" => rule,
            c => format!("{rule} comment '{c}'"),
        };
        match self.route {
            true => format!("route {rule}"),
            false => rule,
        }
    }

    /// Whether ufw writes the rule in its short form (`allow 22/tcp`).
    fn is_short(&self) -> bool {
        any(&self.dst)
            && any(&self.src)
            && self.sport == "any"
            && self.sapp.is_empty()
            && self.iface_in.is_empty()
            && self.iface_out.is_empty()
            && self.dport != "any"
    }

    /// The short form: the verdict, direction and log type, then the
    /// destination port or application.
    fn short(&self) -> String {
        let mut res = self.action.clone();
        if self.direction == "out" {
            res += " out";
        }
        word(&mut res, &self.logtype);
        if !self.dapp.is_empty() {
            res += &format!(" {}", app(&self.dapp));
        } else {
            res += &format!(" {}", self.dport);
            if self.protocol != "any" {
                res += &format!("/{}", self.protocol);
            }
        }
        res
    }

    /// The full form: `allow in on eth0 from X port P to Y app A proto tcp`.
    fn full(&self) -> String {
        let mut res = self.action.clone();
        if !self.iface_in.is_empty() {
            res += &format!(" in on {}", self.iface_in);
        }
        if !self.iface_out.is_empty() {
            res += &format!(" out on {}", self.iface_out);
        } else if self.direction == "out" {
            res += " out";
        }
        word(&mut res, &self.logtype);
        for (dir, loc, port, app_name) in [
            ("from", &self.src, &self.sport, &self.sapp),
            ("to", &self.dst, &self.dport, &self.dapp),
        ] {
            let loc = if any(loc) { "any" } else { loc.as_str() };
            if loc != "any" || port != "any" || !app_name.is_empty() {
                res += &format!(" {dir} {loc}");
                if !app_name.is_empty() {
                    res += &format!(" app {}", app(app_name));
                } else if port != "any" {
                    res += &format!(" port {port}");
                }
            }
        }
        if !res.contains(" to ")
            && !res.contains(" from ")
            && self.iface_in.is_empty()
            && self.iface_out.is_empty()
        {
            res += " to any";
        }
        if self.protocol != "any" && self.dapp.is_empty() && self.sapp.is_empty() {
            res += &format!(" proto {}", self.protocol);
        }
        res
    }
}

/// Whether an address is everything, in either family (`_fix_anywhere`).
fn any(addr: &str) -> bool {
    matches!(addr, "any" | "0.0.0.0/0" | "::/0")
}

/// Appends ` w` unless `w` is empty.
fn word(res: &mut String, w: &str) {
    if !w.is_empty() {
        *res += &format!(" {w}");
    }
}

/// An application's name as ufw prints it: quoted when it has a space.
fn app(name: &str) -> String {
    match name.contains(' ') {
        true => format!("'{name}'"),
        false => name.to_string(),
    }
}

/// A comment from its hex form, as `ufw.util.hex_decode` does it: an odd
/// last digit dropped, bytes that are not UTF-8 written `\xNN`.
fn hex_decode(hex: &str) -> String {
    let hex = &hex.as_bytes()[..hex.len() - hex.len() % 2];
    let bytes: Vec<u8> = hex
        .chunks(2)
        .filter_map(|d| u8::from_str_radix(std::str::from_utf8(d).ok()?, 16).ok())
        .collect();
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(line: &str) -> String {
        Tuple::parse(line).unwrap().command()
    }

    #[test]
    fn tuples_render_as_show_added_prints_them() {
        let cases = [
            (
                "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in comment=737368",
                "allow 22/tcp comment 'ssh'",
            ),
            ("### tuple ### limit any 22 ::/0 any ::/0 in", "limit 22"),
            (
                "### tuple ### allow any any 0.0.0.0/0 any 10.0.0.0/16 in",
                "allow from 10.0.0.0/16",
            ),
            (
                "### tuple ### allow tcp 5432 0.0.0.0/0 any 10.0.0.0/16 in",
                "allow from 10.0.0.0/16 to any port 5432 proto tcp",
            ),
            (
                "### tuple ### deny udp any 0.0.0.0/0 any 0.0.0.0/0 in",
                "deny to any proto udp",
            ),
            (
                "### tuple ### allow tcp 80,443 10.0.0.5 any 0.0.0.0/0 in",
                "allow to 10.0.0.5 port 80,443 proto tcp",
            ),
            (
                "### tuple ### allow_log tcp 25 0.0.0.0/0 any 0.0.0.0/0 out",
                "allow out log 25/tcp",
            ),
            (
                "### tuple ### deny any any 0.0.0.0/0 any 203.0.113.7 in_eth0",
                "deny in on eth0 from 203.0.113.7",
            ),
            (
                "### tuple ### allow any any 0.0.0.0/0 any 0.0.0.0/0 in_eth1",
                "allow in on eth1",
            ),
            (
                "### tuple ### route:allow any any 0.0.0.0/0 any 0.0.0.0/0 in_wg0!out_eth0",
                "route allow in on wg0 out on eth0",
            ),
            (
                "### tuple ### allow tcp 80,443 0.0.0.0/0 any 0.0.0.0/0 Nginx%20Full - in",
                "allow 'Nginx Full'",
            ),
            (
                "### tuple ### allow any 22 0.0.0.0/0 any 10.0.0.0/8 OpenSSH - in",
                "allow from 10.0.0.0/8 to any app OpenSSH",
            ),
            (
                "### tuple ### reject tcp any 0.0.0.0/0 1024:2048 0.0.0.0/0 in",
                "reject from any port 1024:2048 proto tcp",
            ),
            (
                "### tuple ### bogus any 22 0.0.0.0/0 any 0.0.0.0/0",
                "deny 22",
            ),
        ];
        for (line, want) in cases {
            assert_eq!(cmd(line), want, "{line}");
        }
    }

    #[test]
    fn ipv6_halves_are_shown_once() {
        let v4 = ["### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in".to_string()];
        let v6 = [
            "### tuple ### allow tcp 22 ::/0 any ::/0 in".to_string(),
            "### tuple ### allow any any ::/0 any 2001:db8::/32 in".to_string(),
        ];
        let shown: Vec<String> = show_added(&v4, &v6)
            .unwrap()
            .iter()
            .map(Rule::command)
            .collect();
        assert_eq!(shown, ["allow 22/tcp", "allow from 2001:db8::/32"]);
    }

    #[test]
    fn malformed_tuples_are_refused() {
        for line in [
            "### tuple ### allow tcp 22 0.0.0.0/0 any",
            "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 sideways",
            "### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 up_eth0",
            "### tuple ### allow_loud tcp 22 0.0.0.0/0 any 0.0.0.0/0 in",
        ] {
            let err = show_added(&[line.to_string()], &[]).unwrap_err();
            assert!(err.contains(line), "{err}");
        }
    }

    #[test]
    fn comments_decode_like_ufw() {
        assert_eq!(hex_decode("6b33732070c3b664"), "k3s pöd");
        assert_eq!(hex_decode("7373686"), "ssh");
        assert_eq!(hex_decode("61ff"), "a\\xff");
        assert_eq!(hex_decode(""), "");
    }
}
