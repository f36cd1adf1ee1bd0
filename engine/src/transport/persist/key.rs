//! The name of a persisted master's folder: a hash of everything that
//! decides who and what it is connected to, so that a master is only ever
//! reused by a connection that would have made the same one. Whatever
//! changes (user, port, key, ssh config, the host-key policy, the persist
//! time) makes another name, and the old master simply idles out.
//!
//! The host's known_hosts entries are not in the name but beside each
//! master ([`known_hosts_fingerprint`], taken once the master is up): a
//! first contact records the host's key, and the master that recorded it
//! must match it afterwards.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Hex digits of the folder name: 64 bits, plenty against collisions among
/// one user's masters, and short for the unix socket path under it.
pub(crate) const KEY_LEN: usize = 16;

/// What a master was launched with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct KeyInputs<'a> {
    /// The destination handed to ssh (address or ssh config alias).
    pub destination: &'a str,
    /// `-l`, `-p`, `-i`, `-F` as passed to ssh.
    pub user: Option<&'a str>,
    pub port: Option<&'a str>,
    pub identity_file: Option<&'a Path>,
    pub ssh_config: Option<&'a Path>,
    /// The host-key checking in force (`StrictHostKeyChecking`).
    pub host_key_policy: &'a str,
    /// `ssh -G`'s whole answer for the destination: the user's config
    /// resolved (hostname, user, port, identities, ProxyJump, ...).
    pub resolved: &'a str,
    /// `ControlPersist` seconds.
    pub persist_secs: u64,
}

/// The folder name for `inputs` (with our uid: a master is never shared
/// across users, even were the folder).
pub(crate) fn master_key(inputs: &KeyInputs) -> String {
    let mut h = Sha256::new();
    let mut field = |name: &str, value: &[u8]| {
        // Length-prefixed, so no two different inputs hash the same bytes.
        h.update(name.as_bytes());
        h.update((value.len() as u64).to_le_bytes());
        h.update(value);
    };
    let path = |p: Option<&Path>| p.map(|p| p.as_os_str().as_encoded_bytes().to_vec());
    field("uid", &crate::private::current_uid().to_le_bytes());
    field("destination", inputs.destination.as_bytes());
    field("user", inputs.user.unwrap_or("\0").as_bytes());
    field("port", inputs.port.unwrap_or("\0").as_bytes());
    field("identity", &path(inputs.identity_file).unwrap_or_default());
    field("config", &path(inputs.ssh_config).unwrap_or_default());
    field("policy", inputs.host_key_policy.as_bytes());
    field("resolved", inputs.resolved.as_bytes());
    field("persist", &inputs.persist_secs.to_le_bytes());
    let mut hex = hex::encode(h.finalize());
    hex.truncate(KEY_LEN);
    hex
}

/// A hash of [`known_hosts_for`]: what a master was checked against.
pub(crate) fn known_hosts_fingerprint(resolved: &str) -> String {
    hex::encode(Sha256::digest(known_hosts_for(resolved).as_bytes()))
}

/// The lines of the known_hosts files `ssh -G` names (`userknownhostsfile`,
/// `globalknownhostsfile`) that can apply to the host it resolved: those
/// naming it, hashed ones (which cannot be told apart without SHA-1),
/// wildcard patterns and `@cert-authority`/`@revoked` markers. Other hosts'
/// lines are left out, so recording a new host does not end every master.
fn known_hosts_for(resolved: &str) -> String {
    let names = lookup_names(resolved);
    let mut text = String::new();
    for file in known_hosts_files(resolved) {
        text.push_str(&format!("{}\n", file.display()));
        let content = std::fs::read_to_string(&file).unwrap_or_default();
        for line in content.lines().filter(|l| applies(l, &names)) {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

/// A value of `ssh -G`'s output.
pub(crate) fn resolved_value<'a>(resolved: &'a str, key: &str) -> Option<&'a str> {
    resolved
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(' '))
        .map(str::trim)
}

/// The names ssh looks the host key up under: `HostKeyAlias` or the host
/// name, as `[name]:port` off port 22.
fn lookup_names(resolved: &str) -> Vec<String> {
    let name = resolved_value(resolved, "hostkeyalias")
        .or_else(|| resolved_value(resolved, "hostname"))
        .unwrap_or_default();
    match resolved_value(resolved, "port") {
        Some(port) if port != "22" => vec![format!("[{name}]:{port}")],
        _ => vec![name.to_string()],
    }
}

fn known_hosts_files(resolved: &str) -> Vec<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    ["userknownhostsfile", "globalknownhostsfile"]
        .iter()
        .filter_map(|k| resolved_value(resolved, k))
        .flat_map(str::split_whitespace)
        .map(|f| match (f.strip_prefix("~/"), &home) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => PathBuf::from(f),
        })
        .collect()
}

fn applies(line: &str, names: &[String]) -> bool {
    let line = line.trim_start();
    if line.starts_with('@') || line.starts_with('|') {
        return true;
    }
    let hosts = line.split_whitespace().next().unwrap_or_default();
    hosts.contains(['*', '?', '!']) || hosts.split(',').any(|h| names.iter().any(|n| n == h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> KeyInputs<'static> {
        KeyInputs {
            destination: "10.0.0.1",
            user: Some("deploy"),
            port: Some("22"),
            identity_file: Some(Path::new("/k/id")),
            ssh_config: Some(Path::new("/k/config")),
            host_key_policy: "accept-new",
            resolved: "user deploy\nhostname 10.0.0.1\n",
            persist_secs: 60,
        }
    }

    #[test]
    fn the_key_changes_with_every_input() {
        let b = base();
        let key = master_key(&b);
        assert_eq!(key.len(), KEY_LEN);
        assert_eq!(key, master_key(&base()), "the same inputs, the same key");
        let variants = [
            KeyInputs {
                destination: "10.0.0.2",
                ..b.clone()
            },
            KeyInputs {
                user: Some("root"),
                ..b.clone()
            },
            KeyInputs {
                user: None,
                ..b.clone()
            },
            KeyInputs {
                port: Some("2222"),
                ..b.clone()
            },
            KeyInputs {
                identity_file: Some(Path::new("/k/other")),
                ..b.clone()
            },
            KeyInputs {
                identity_file: None,
                ..b.clone()
            },
            KeyInputs {
                ssh_config: None,
                ..b.clone()
            },
            KeyInputs {
                host_key_policy: "strict",
                ..b.clone()
            },
            KeyInputs {
                resolved: "user deploy\nhostname 10.0.0.1\nproxyjump bastion\n",
                ..b.clone()
            },
            KeyInputs {
                persist_secs: 300,
                ..b.clone()
            },
        ];
        let mut seen = std::collections::HashSet::from([key]);
        for v in &variants {
            assert!(seen.insert(master_key(v)), "{v:?} reuses another key");
        }
    }

    #[test]
    fn only_the_known_hosts_lines_that_can_apply_count() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("known_hosts");
        std::fs::write(
            &file,
            "10.0.0.1,web1 ssh-ed25519 A\n\
             10.0.0.2 ssh-ed25519 B\n\
             [10.0.0.1]:2222 ssh-ed25519 C\n\
             |1|c2FsdA==|aGFzaA== ssh-ed25519 D\n\
             *.lab ssh-ed25519 E\n\
             @revoked 10.0.0.9 ssh-ed25519 F\n",
        )
        .unwrap();
        let resolved = format!(
            "hostname 10.0.0.1\nport 22\nuserknownhostsfile {}\nglobalknownhostsfile /nonexistent\n",
            file.display()
        );
        let lines = known_hosts_for(&resolved);
        for kept in [" A", " D", " E", " F"] {
            assert!(lines.contains(kept), "{kept} left out: {lines}");
        }
        for left in [" B", " C"] {
            assert!(!lines.contains(left), "{left} kept: {lines}");
        }
        let on_2222 = known_hosts_for(&resolved.replace("port 22", "port 2222"));
        assert!(
            on_2222.contains(" C") && !on_2222.contains(" A"),
            "{on_2222}"
        );
        let before = known_hosts_fingerprint(&resolved);
        std::fs::write(&file, "10.0.0.1,web1 ssh-ed25519 Z\n").unwrap();
        let after = known_hosts_fingerprint(&resolved);
        assert_ne!(after, before, "a changed entry counts");
    }
}
