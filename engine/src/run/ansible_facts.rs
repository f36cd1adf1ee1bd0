//! The facts kbz-play gathers, under Ansible's names as well, for templates
//! brought over from Ansible roles: `ansible_hostname`, ..., and the same
//! keys without the prefix under `ansible_facts`. Only what kbz-play
//! gathers is there; an Ansible fact it does not gather stays undefined (an
//! error naming the template line), never a made-up value.

use crate::inventory::Vars;
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
    let default = f
        .addresses
        .iter()
        .find(|a| a.interface != "lo" && !a.address.starts_with("127."));
    let default_ipv4 = default.map_or(serde_json::json!({}), |a| {
        serde_json::json!({ "address": a.address, "interface": a.interface, "prefix": a.prefix.to_string() })
    });
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
}
