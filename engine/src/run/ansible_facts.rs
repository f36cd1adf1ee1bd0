//! The facts kbz-play gathers, under Ansible's names as well, for templates
//! brought over from Ansible roles: `ansible_hostname`, ..., and the same
//! keys without the prefix under `ansible_facts`. Only what kbz-play
//! gathers is there; an Ansible fact it does not gather stays undefined (an
//! error naming the template line), never a made-up value.

use crate::inventory::Vars;
use crate::probe::route::DefaultRoute;
use crate::probe::Facts;

/// Adds `facts` to `ctx` under Ansible's names (`ansible_*` and `ansible_facts`).
pub(super) fn insert(ctx: &mut Vars, facts: &Facts) {
    let serde_json::Value::Object(keys) = ansible_keys(facts) else {
        return;
    };
    for (key, value) in &keys {
        ctx.insert(format!("ansible_{key}"), value.clone());
    }
    ctx.insert("ansible_facts".into(), serde_json::Value::Object(keys));
}

/// The facts as Ansible names them, without the `ansible_` prefix.
fn ansible_keys(f: &Facts) -> serde_json::Value {
    let default_ipv4 = f
        .default_route
        .as_deref()
        .map_or(serde_json::json!({}), default_ipv4);
    let major = f.os_version.split('.').next().unwrap_or_default();
    serde_json::json!({
        "hostname": f.hostname,
        "nodename": f.hostname,
        "fqdn": f.fqdn,
        "default_ipv4": default_ipv4,
        "all_ipv4_addresses": f.addresses.iter().map(|a| &a.address).collect::<Vec<_>>(),
        "distribution": distribution(&f.os_id),
        "distribution_release": f.os_codename,
        "distribution_version": f.os_version,
        "distribution_major_version": major,
        "kernel": f.kernel,
        "architecture": f.arch,
        "processor_vcpus": f.cpus,
        "memtotal_mb": f.memory_mb,
        "user_id": f.user,
    })
}

/// `default_ipv4` as Ansible's `setup` fills it: the route's interface,
/// source address and gateway, and when that address is one of the
/// interface's, its broadcast, netmask, network, prefix (a string, as
/// Ansible's), and the interface's MAC address, MTU, type and the address's
/// label (`alias`).
fn default_ipv4(route: &DefaultRoute) -> serde_json::Value {
    let mut fact = serde_json::Map::new();
    fact.insert("interface".into(), route.interface.clone().into());
    if let Some(address) = &route.address {
        fact.insert("address".into(), address.clone().into());
    }
    if let Some(gateway) = &route.gateway {
        fact.insert("gateway".into(), gateway.clone().into());
    }
    let inet = route
        .inets
        .iter()
        .find(|i| Some(&i.address) == route.address.as_ref());
    let Some(inet) = inet else {
        return fact.into();
    };
    let (netmask, network) = masked(&inet.address, inet.prefix);
    let details = serde_json::json!({
        "broadcast": inet.broadcast,
        "netmask": netmask,
        "network": network,
        "prefix": inet.prefix.to_string(),
        "macaddress": route.macaddress,
        "mtu": route.mtu,
        "type": route.kind,
        "alias": inet.label,
    });
    if let serde_json::Value::Object(details) = details {
        fact.extend(details);
    }
    fact.into()
}

/// The netmask of `prefix` and the network of `address` under it.
fn masked(address: &str, prefix: u8) -> (String, String) {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0);
    let ip: u32 = address.parse::<std::net::Ipv4Addr>().map_or(0, Into::into);
    (
        std::net::Ipv4Addr::from(mask).to_string(),
        std::net::Ipv4Addr::from(ip & mask).to_string(),
    )
}

/// Ansible's `distribution` for an os-release `ID`: its spelling for the
/// common ones, the ID capitalized otherwise.
fn distribution(id: &str) -> String {
    let known = match id {
        "rhel" => "RedHat",
        "centos" => "CentOS",
        "almalinux" => "AlmaLinux",
        "ol" => "OracleLinux",
        "amzn" => "Amazon",
        "sles" => "SLES",
        "opensuse-leap" => "openSUSE Leap",
        "arch" => "Archlinux",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    let mut chars = id.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::facts::Address;

    fn gathered() -> Facts {
        let addr = |interface: &str, address: &str| Address {
            interface: interface.into(),
            address: address.into(),
            prefix: 24,
        };
        Facts {
            hostname: "web-01".into(),
            fqdn: "web-01.example.com".into(),
            os_id: "debian".into(),
            os_version: "12.4".into(),
            os_codename: "bookworm".into(),
            cpus: 4,
            memory_mb: 7953,
            addresses: vec![addr("lo", "127.0.0.1"), addr("eth0", "10.0.0.5")],
            default_route: DefaultRoute::parse("8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0")
                .map(Box::new),
            ..Facts::default()
        }
    }

    #[test]
    fn gathered_facts_are_there_under_ansibles_names_and_in_ansible_facts() {
        let mut ctx = Vars::new();
        insert(&mut ctx, &gathered());
        assert_eq!(ctx["ansible_hostname"], "web-01");
        assert_eq!(ctx["ansible_fqdn"], "web-01.example.com");
        assert_eq!(ctx["ansible_default_ipv4"]["address"], "10.0.0.5");
        assert_eq!(ctx["ansible_distribution"], "Debian");
        assert_eq!(ctx["ansible_distribution_release"], "bookworm");
        assert_eq!(ctx["ansible_distribution_major_version"], "12");
        assert_eq!(ctx["ansible_processor_vcpus"], 4);
        assert_eq!(ctx["ansible_memtotal_mb"], 7953);
        assert_eq!(ctx["ansible_facts"]["distribution"], "Debian");
        assert_eq!(ctx["ansible_facts"]["default_ipv4"]["interface"], "eth0");
        assert!(!ctx.contains_key("ansible_facts_hostname"));
    }

    #[test]
    fn a_distribution_is_spelled_as_ansible_spells_it() {
        assert_eq!(distribution("rhel"), "RedHat");
        assert_eq!(distribution("ubuntu"), "Ubuntu");
        assert_eq!(distribution(""), "");
    }

    /// What ansible-core 2.19's `setup` gives for a host routing through
    /// 10.0.0.1 on eth0 (the same outputs in: `ip -4 route get 8.8.8.8`,
    /// sysfs, `ip addr`).
    #[test]
    fn default_ipv4_is_the_default_routes_interface_as_ansible_gives_it() {
        let mut route =
            DefaultRoute::parse("8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0").unwrap();
        route.link("52:54:00:12:34:56/1500/1/");
        route.inet(
            "2: eth0    inet 10.0.0.5/22 brd 10.0.3.255 scope global eth0\\ valid_lft forever",
        );
        assert_eq!(
            default_ipv4(&route),
            serde_json::json!({
                "interface": "eth0", "address": "10.0.0.5", "gateway": "10.0.0.1",
                "broadcast": "10.0.3.255", "netmask": "255.255.252.0", "network": "10.0.0.0",
                "prefix": "22", "macaddress": "52:54:00:12:34:56", "mtu": 1500,
                "type": "ether", "alias": "eth0",
            })
        );
    }

    #[test]
    fn without_a_route_out_default_ipv4_is_empty_as_in_ansible() {
        let facts = Facts {
            addresses: vec![Address {
                interface: "eth0".into(),
                address: "198.18.0.10".into(),
                prefix: 16,
            }],
            default_route: DefaultRoute::parse("RTNETLINK answers: Network is unreachable")
                .map(Box::new),
            ..Facts::default()
        };
        let mut ctx = Vars::new();
        insert(&mut ctx, &facts);
        assert_eq!(ctx["ansible_default_ipv4"], serde_json::json!({}));
        assert_eq!(
            ctx["ansible_all_ipv4_addresses"],
            serde_json::json!(["198.18.0.10"])
        );
    }
}
