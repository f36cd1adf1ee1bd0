//! The common forms of `ansible.utils`' network filters, as its
//! documentation gives them: `ipaddr` (no query, `'address'`, `'network'`,
//! `'prefix'`, `'netmask'`, `'host'`, `'size'`, an index `N`), `ipv4`,
//! `ipv6` (the same, keeping one family), `nthhost(N)`, `ipmath(N)`. A
//! value that does not answer the query gives `false`; a list keeps the
//! items that answer. ansible.utils is not in the test venv, so these are
//! unit-tested against its documented examples, not in the parity corpus.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use minijinja::value::Value;
use minijinja::{Environment, Error};

use super::invalid;

/// The family's filters, which Ansible keeps in ansible.utils and
/// ansible.netcommon (see `qualified`).
pub(super) const NAMES: &[&str] = &["ipaddr", "ipv4", "ipv6", "nthhost", "ipmath"];

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("ipaddr", |v: Value, q: Option<Value>| filter(v, q, None));
    env.add_filter("ipv4", |v: Value, q: Option<Value>| {
        filter(v, q, Some(false))
    });
    env.add_filter("ipv6", |v: Value, q: Option<Value>| {
        filter(v, q, Some(true))
    });
    env.add_filter("nthhost", |v: &str, n: i64| nthhost(v, n));
    env.add_filter("ipmath", |v: &str, n: i64| ipmath(v, n));
}

/// An address with its prefix length (the full length when written
/// without one, as netaddr's `IPNetwork` reads it).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Net {
    ip: u128,
    prefix: u32,
    v6: bool,
    /// Written `a/p` (netaddr's "network" type) rather than a bare address.
    slash: bool,
}

impl Net {
    fn parse(text: &str) -> Option<Net> {
        let (ip, prefix) = match text.split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (text, None),
        };
        let (ip, v6) = match ip.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => (u128::from(u32::from(a)), false),
            IpAddr::V6(a) => (u128::from(a), true),
        };
        let bits = if v6 { 128 } else { 32 };
        let prefix = match prefix {
            Some(p) => p.parse::<u32>().ok().filter(|&p| p <= bits)?,
            None => bits,
        };
        Some(Net {
            ip,
            prefix,
            v6,
            slash: text.contains('/'),
        })
    }

    fn bits(self) -> u32 {
        if self.v6 {
            128
        } else {
            32
        }
    }

    fn size(self) -> u128 {
        1u128
            .checked_shl(self.bits() - self.prefix)
            .unwrap_or(u128::MAX)
    }

    fn mask(self) -> u128 {
        let all = u128::MAX >> (128 - self.bits());
        all & !(self.size().wrapping_sub(1))
    }

    fn network(self) -> u128 {
        self.ip & self.mask()
    }

    fn show(self, ip: u128) -> String {
        if self.v6 {
            Ipv6Addr::from(ip).to_string()
        } else {
            Ipv4Addr::from(ip as u32).to_string()
        }
    }

    /// The address `n` into the network (from its end when negative).
    fn nth(self, n: i64) -> Option<u128> {
        let size = self.size();
        let offset = if n < 0 {
            size.checked_sub(n.unsigned_abs().into())?
        } else {
            n as u128
        };
        (offset < size).then(|| self.network() + offset)
    }

    /// The answer to `query`, or `None` (Ansible's `False`).
    fn query(self, query: &Value) -> Option<Value> {
        let text = |s: String| Some(Value::from(s));
        let with_prefix = |ip| format!("{}/{}", self.show(ip), self.prefix);
        if let Some(n) = query.as_i64() {
            return match self.size() {
                1 if self.slash => text(with_prefix(self.ip)),
                1 => text(self.show(self.ip)),
                _ => self.nth(n).map(with_prefix).map(Value::from),
            };
        }
        let host_part = self.size() == 1 || self.ip != self.network();
        match query.as_str().unwrap_or("") {
            "" if self.slash => text(with_prefix(self.ip)),
            "" => text(self.show(self.ip)),
            "address" => host_part.then(|| Value::from(self.show(self.ip))),
            "host" if self.size() == 1 => text(with_prefix(self.ip)),
            "host" => host_part.then(|| Value::from(with_prefix(self.ip))),
            "network" => text(self.show(self.network())),
            "prefix" => Some(Value::from(self.prefix)),
            "netmask" => text(self.show(self.mask())),
            "size" => Some(Value::from(self.size())),
            _ => None,
        }
    }
}

/// `ipaddr`, `ipv4` and `ipv6`: one value's answer or `false`; a list's
/// answers, `false`s left out.
fn filter(value: Value, query: Option<Value>, v6: Option<bool>) -> Result<Value, Error> {
    let query = match query
        .as_ref()
        .and_then(Value::as_str)
        .map(str::parse::<i64>)
    {
        Some(Ok(index)) => Value::from(index),
        _ => query.unwrap_or(Value::from("")),
    };
    if let Some(q) = query.as_str() {
        let known = [
            "", "address", "host", "network", "prefix", "netmask", "size",
        ];
        if !known.contains(&q) {
            return Err(invalid(format!(
                "ipaddr: query {q:?} is not supported: kbz-play has {}, an index",
                known[1..].join(", ")
            )));
        }
    }
    let one = |v: &Value| {
        v.as_str()
            .and_then(Net::parse)
            .filter(|n| v6.is_none_or(|six| n.v6 == six))
            .and_then(|n| n.query(&query))
    };
    if value.as_str().is_none() {
        if let Ok(items) = value.try_iter() {
            return Ok(Value::from(
                items.filter_map(|v| one(&v)).collect::<Vec<_>>(),
            ));
        }
    }
    Ok(one(&value).unwrap_or(Value::from(false)))
}

/// `'10.0.0.0/8' | nthhost(305)`: the network's address `n`, `false` past its end.
fn nthhost(value: &str, n: i64) -> Result<Value, Error> {
    let net =
        Net::parse(value).ok_or_else(|| invalid(format!("nthhost: {value:?} is not a network")))?;
    Ok(net
        .nth(n)
        .map_or(Value::from(false), |ip| Value::from(net.show(ip))))
}

/// `'192.168.1.5' | ipmath(5)`: the address `n` further (back when negative).
fn ipmath(value: &str, n: i64) -> Result<String, Error> {
    let net = Net::parse(value)
        .ok_or_else(|| invalid(format!("ipmath: {value:?} is not an IP address")))?;
    let max = u128::MAX >> (128 - net.bits());
    let moved = if n < 0 {
        net.ip.checked_sub(n.unsigned_abs().into())
    } else {
        net.ip.checked_add(n as u128)
    };
    match moved.filter(|&ip| ip <= max) {
        Some(ip) => Ok(net.show(ip)),
        None => Err(invalid(format!(
            "ipmath: {value} {n:+} leaves the address space"
        ))),
    }
}

#[cfg(test)]
mod unit {
    //! Expected values are the examples of ansible.utils' ipaddr filter
    //! documentation (docs.ansible.com, "ipaddr filter").
    use super::*;

    fn list(items: &[&str]) -> Value {
        Value::from(items.iter().map(|s| Value::from(*s)).collect::<Vec<_>>())
    }

    fn q(v: Value, query: &str, v6: Option<bool>) -> String {
        let query = (!query.is_empty()).then(|| Value::from(query));
        filter(v, query, v6).unwrap().to_string()
    }

    #[test]
    fn a_list_keeps_what_answers_each_query() {
        let l = list(&[
            "192.24.2.1",
            "host.fqdn",
            "::1",
            "192.168.32.0/24",
            "fe80::100/10",
            "",
        ]);
        assert_eq!(
            q(l.clone(), "", None),
            "['192.24.2.1', '::1', '192.168.32.0/24', 'fe80::100/10']"
        );
        assert_eq!(
            q(l.clone(), "", Some(false)),
            "['192.24.2.1', '192.168.32.0/24']"
        );
        assert_eq!(q(l.clone(), "", Some(true)), "['::1', 'fe80::100/10']");
        assert_eq!(
            q(l.clone(), "address", None),
            "['192.24.2.1', '::1', 'fe80::100']"
        );
        assert_eq!(q(l, "address", Some(false)), "['192.24.2.1']");
    }

    #[test]
    fn one_network_answers_network_prefix_netmask_size() {
        let v = || Value::from("192.168.0.1/24");
        assert_eq!(q(v(), "netmask", None), "255.255.255.0");
        assert_eq!(q(v(), "network", None), "192.168.0.0");
        assert_eq!(q(v(), "prefix", None), "24");
        assert_eq!(q(v(), "size", None), "256");
        assert_eq!(
            q(Value::from("10.0.0.0/16"), "netmask", None),
            "255.255.0.0"
        );
        assert_eq!(q(Value::from("not an ip"), "network", None), "False");
    }

    #[test]
    fn host_leaves_out_a_network_address_and_gives_a_bare_one_its_prefix() {
        let l = list(&[
            "2001:db8:deaf:be11::ef3/64",
            "192.0.2.48/24",
            "127.0.0.1",
            "192.168.0.0/16",
        ]);
        assert_eq!(
            q(l, "host", None),
            "['2001:db8:deaf:be11::ef3/64', '192.0.2.48/24', '127.0.0.1/32']"
        );
    }

    #[test]
    fn an_index_gives_that_host_with_the_prefix() {
        assert_eq!(
            q(Value::from("192.168.122.1/24"), "-1", None),
            "192.168.122.255/24"
        );
        assert_eq!(q(Value::from("192.0.2.0/24"), "20", None), "192.0.2.20/24");
        let five = filter(Value::from("10.0.0.0/16"), Some(Value::from(5)), None).unwrap();
        assert_eq!(five.to_string(), "10.0.0.5/16");
        assert_eq!(q(Value::from("192.0.2.0/24"), "256", None), "False");
    }

    #[test]
    fn nthhost_counts_from_the_network_either_end() {
        assert_eq!(nthhost("10.0.0.0/8", 305).unwrap().to_string(), "10.0.1.49");
        assert_eq!(
            nthhost("10.0.0.0/16", -1).unwrap().to_string(),
            "10.0.255.255"
        );
        assert_eq!(nthhost("10.0.0.0/30", 4).unwrap().to_string(), "False");
    }

    #[test]
    fn ipmath_moves_the_address_either_way() {
        assert_eq!(ipmath("192.168.1.5", 5).unwrap(), "192.168.1.10");
        assert_eq!(ipmath("192.168.0.5", -10).unwrap(), "192.167.255.251");
        assert_eq!(ipmath("192.168.1.1/24", 5).unwrap(), "192.168.1.6");
        assert_eq!(ipmath("2001::1", 10).unwrap(), "2001::b");
        assert_eq!(
            ipmath("2001::5", -10).unwrap(),
            "2000:ffff:ffff:ffff:ffff:ffff:ffff:fffb"
        );
        assert!(ipmath("255.255.255.255", 1).is_err());
    }

    #[test]
    fn an_unsupported_query_is_refused_naming_what_there_is() {
        let err = filter(Value::from("10.0.0.1"), Some(Value::from("public")), None).unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
    }
}
