//! Host facts, gathered by a few shell lines that ride along with the first
//! batch of a run, so `host.facts` costs no extra round trip.

use serde::{Deserialize, Serialize};

use super::route::{self, DefaultRoute};

/// The facts script: one `key=value` per line (the default route's lines:
/// [`route::SCRIPT`]).
pub(crate) fn script() -> String {
    format!("{BASE}\n{}", route::SCRIPT)
}

const BASE: &str = r#"echo "hostname=$(hostname -s 2>/dev/null || cat /etc/hostname)"
echo "fqdn=$(hostname -f 2>/dev/null)"
[ -r /etc/os-release ] && . /etc/os-release && echo "os_id=$ID" && echo "os_version=$VERSION_ID" && echo "os_codename=$VERSION_CODENAME" && echo "os_pretty=$PRETTY_NAME"
echo "kernel=$(uname -r)"
echo "arch=$(uname -m)"
echo "cpus=$(nproc 2>/dev/null || echo 1)"
echo "memory_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
ip -o -4 addr show 2>/dev/null | awk '{print "addr=" $2 " " $4}'
for s in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server; do [ -x "$s" ] && echo "sftp_server=$s" && break; done
[ -d /run/systemd/system ] && echo "systemd=1"
echo "user=$(id -un)""#;

/// What a play usually needs to know about a host.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// Short hostname.
    pub hostname: String,
    /// Fully qualified name, when resolvable.
    pub fqdn: String,
    /// `/etc/os-release` ID, e.g. `debian`.
    pub os_id: String,
    /// `/etc/os-release` VERSION_ID, e.g. `12`.
    pub os_version: String,
    /// Release codename, e.g. `bookworm`.
    pub os_codename: String,
    /// Human-readable OS name.
    pub os_pretty: String,
    /// Kernel release.
    pub kernel: String,
    /// Machine architecture, e.g. `x86_64`.
    pub arch: String,
    /// Online CPUs.
    pub cpus: u32,
    /// Total memory in MiB.
    pub memory_mb: u64,
    /// IPv4 addresses per interface, CIDR notation (`eth0 198.18.0.10/16`).
    pub addresses: Vec<Address>,
    /// Path of the SFTP server binary, used to run it under sudo for `--become`.
    pub sftp_server: Option<String>,
    /// Whether systemd is PID 1.
    pub systemd: bool,
    /// The remote user the commands run as.
    pub user: String,
    /// The IPv4 default route, none when the host has no route out (boxed:
    /// facts travel in every batch's answers, most without it).
    #[serde(default)]
    pub default_route: Option<Box<DefaultRoute>>,
}

/// One IPv4 address of the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Interface name.
    pub interface: String,
    /// Address without prefix length.
    pub address: String,
    /// Prefix length.
    pub prefix: u8,
}

impl Facts {
    /// Reads the facts script's output; unknown keys are ignored so a newer
    /// script never breaks an older parser.
    pub(crate) fn parse(lines: &[&str]) -> Facts {
        let mut f = Facts::default();
        for line in lines {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let v = v.trim().to_string();
            match k {
                "hostname" => f.hostname = v,
                "fqdn" => f.fqdn = v,
                "os_id" => f.os_id = v,
                "os_version" => f.os_version = v,
                "os_codename" => f.os_codename = v,
                "os_pretty" => f.os_pretty = v,
                "kernel" => f.kernel = v,
                "arch" => f.arch = v,
                "cpus" => f.cpus = v.parse().unwrap_or(1),
                "memory_kb" => f.memory_mb = v.parse::<u64>().unwrap_or(0) / 1024,
                "sftp_server" => f.sftp_server = Some(v),
                "systemd" => f.systemd = v == "1",
                "user" => f.user = v,
                "route4" => f.default_route = DefaultRoute::parse(&v).map(Box::new),
                "route4_link" => f.default_route.iter_mut().for_each(|r| r.link(&v)),
                "route4_inet" => f.default_route.iter_mut().for_each(|r| r.inet(&v)),
                "addr" => {
                    if let Some((iface, cidr)) = v.split_once(' ') {
                        let (addr, prefix) = cidr.split_once('/').unwrap_or((cidr, "32"));
                        f.addresses.push(Address {
                            interface: iface.to_string(),
                            address: addr.to_string(),
                            prefix: prefix.parse().unwrap_or(32),
                        });
                    }
                }
                _ => {}
            }
        }
        f
    }
}
