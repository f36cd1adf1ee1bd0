//! The IPv4 default route, found as Ansible's `setup` finds it: the first
//! line of `ip -4 route get 8.8.8.8` names the interface (`dev`), the
//! address the host leaves from (`src`) and the gateway (`via`); the
//! interface's sysfs entries and IPv4 addresses complete it. A host without
//! a route out (`Network is unreachable`) has none.

use serde::{Deserialize, Serialize};

/// The facts script's lines for the route (keys `route4`, `route4_link`),
/// in the same round trip as the other facts, with no program: the first
/// line of `ip -4 route get`'s answer is `f_r`, from the facts' one `ip`,
/// and `kd` finds the interface as Ansible does (the word after the first
/// `dev`, on the route to [`TARGET`] only), with the words split as `awk`
/// would and not globbed. The interface's addresses come from the facts'
/// `ip -o -4 addr show` listing ([`DefaultRoute::inets_from`]); `kr` is the
/// facts script's.
pub(crate) const SCRIPT: &str = r#"echo "route4=$f_r"
kd() { [ "$1" = 8.8.8.8 ] || return 0; while [ $# -gt 1 ]; do [ "$1" = dev ] && f_d=$2 && return 0; shift; done; }
f_d=; set -f; kd $f_r; set +f
if [ -n "$f_d" ]; then s=/sys/class/net/$f_d; kr f_m "$s/address"; kr f_t "$s/mtu"; kr f_y "$s/type"; f_k=
[ -d "$s/bridge" ] && f_k=bridge; [ -d "$s/bonding" ] && f_k=${f_k}bonding
echo "route4_link=$f_m/$f_t/$f_y/$f_k"; fi"#;

/// The route's destination `ip route get` is asked about (Ansible's).
pub(crate) const TARGET: &str = "8.8.8.8";

/// The default route and its interface.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRoute {
    /// The interface the route leaves by.
    pub interface: String,
    /// The source address (`src`), when `ip` names one.
    pub address: Option<String>,
    /// The gateway (`via`), none for a directly connected route.
    pub gateway: Option<String>,
    /// The interface's MAC address (sysfs `address`).
    pub macaddress: String,
    /// The interface's MTU.
    pub mtu: Option<u32>,
    /// Ansible's name for the interface's type (`ether`, `bridge`...).
    pub kind: String,
    /// The interface's IPv4 addresses.
    pub inets: Vec<Inet>,
}

/// One IPv4 address of the route's interface, as `ip -o -4 addr` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inet {
    /// The address.
    pub address: String,
    /// Its prefix length (32 for a point-to-point address without one).
    pub prefix: u8,
    /// Its broadcast address, if any (`brd`).
    pub broadcast: String,
    /// Its label (`eth0`, `eth0:1`).
    pub label: String,
}

impl DefaultRoute {
    /// The route of `ip -4 route get`'s first line; `None` when it is no
    /// route (an error, or no `dev`).
    pub(crate) fn parse(line: &str) -> Option<DefaultRoute> {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() != Some(&TARGET) {
            return None;
        }
        let mut route = DefaultRoute::default();
        for pair in words.windows(2) {
            match pair {
                ["dev", dev] => route.interface = (*dev).to_string(),
                ["src", src] => route.address = Some((*src).to_string()),
                ["via", via] if *via != TARGET => route.gateway = Some((*via).to_string()),
                _ => {}
            }
        }
        (!route.interface.is_empty()).then_some(route)
    }

    /// Reads `MAC/MTU/TYPE/bridge|bonding` from the interface's sysfs entries.
    pub(crate) fn link(&mut self, value: &str) {
        let mut parts = value.split('/');
        let mut next = || parts.next().unwrap_or_default().trim();
        self.macaddress = next().to_string();
        self.mtu = next().parse().ok();
        let kind = match next() {
            "1" => "ether",
            "32" => "infiniband",
            "512" => "ppp",
            "772" => "loopback",
            "65534" => "tunnel",
            _ => "unknown",
        };
        self.kind = match next() {
            "" => kind,
            special => special,
        }
        .to_string();
    }

    /// Adds the interface's addresses from the host's `ip -o -4 addr show`
    /// lines: those whose second word names it, the lines `ip -o -4 addr
    /// show dev IFACE` would list.
    pub(crate) fn inets_from(&mut self, listing: &[&str]) {
        for line in listing {
            if line.split_whitespace().nth(1) == Some(self.interface.as_str()) {
                self.inet(line);
            }
        }
    }

    /// Adds an address from a `ip -o -4 addr show` line
    /// (`2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\ ...`).
    pub(crate) fn inet(&mut self, line: &str) {
        let line = line.split('\\').next().unwrap_or(line);
        let words: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = words.iter().position(|w| *w == "inet") else {
            return;
        };
        let Some(cidr) = words.get(at + 1) else {
            return;
        };
        let (address, prefix) = cidr.split_once('/').unwrap_or((cidr, "32"));
        let broadcast = match words.get(at + 2..at + 4) {
            Some(["brd", b]) => (*b).to_string(),
            _ => String::new(),
        };
        self.inets.push(Inet {
            address: address.to_string(),
            prefix: prefix.parse().unwrap_or(32),
            broadcast,
            label: words.last().copied().unwrap_or_default().to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_names_its_interface_source_and_gateway() {
        let route =
            DefaultRoute::parse("8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0").unwrap();
        assert_eq!(route.interface, "eth0");
        assert_eq!(route.address.as_deref(), Some("10.0.0.5"));
        assert_eq!(route.gateway.as_deref(), Some("10.0.0.1"));
        let direct = DefaultRoute::parse("8.8.8.8 dev wg0 src 10.9.0.2 uid 0").unwrap();
        assert_eq!(direct.gateway, None);
    }

    #[test]
    fn no_route_out_is_no_default_route() {
        assert_eq!(DefaultRoute::parse(""), None);
        assert_eq!(
            DefaultRoute::parse("RTNETLINK answers: Network is unreachable"),
            None
        );
    }

    #[test]
    fn the_link_and_addresses_read_from_sysfs_and_ip_addr() {
        let mut route = DefaultRoute::default();
        route.link("52:54:00:12:34:56/1500/1/");
        assert_eq!(
            (route.macaddress.as_str(), route.mtu, route.kind.as_str()),
            ("52:54:00:12:34:56", Some(1500), "ether")
        );
        route.link("aa:bb:cc:dd:ee:ff/9000/1/bridge");
        assert_eq!(route.kind, "bridge");
        route.inet("2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global dynamic eth0\\       valid_lft 86000sec preferred_lft 86000sec");
        route.inet("2: eth0    inet 10.0.0.6/24 scope global secondary eth0:1\\       valid_lft forever preferred_lft forever");
        assert_eq!(
            route.inets,
            [
                Inet {
                    address: "10.0.0.5".into(),
                    prefix: 24,
                    broadcast: "10.0.0.255".into(),
                    label: "eth0".into()
                },
                Inet {
                    address: "10.0.0.6".into(),
                    prefix: 24,
                    broadcast: String::new(),
                    label: "eth0:1".into()
                },
            ]
        );
    }
}
