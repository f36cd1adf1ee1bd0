//! Host facts, gathered by a few shell lines that ride along with the first
//! batch of a run, so `host.facts` costs no extra round trip.

use serde::{Deserialize, Serialize};

use super::route::{self, DefaultRoute};

/// The facts script: one `key=value` per line (the addresses' and the
/// default route's lines: [`IP`], [`route::SCRIPT`]). It runs under the
/// host's `sh` (dash on Debian), so it is POSIX shell. Without `gathered`
/// (no play of the host gathers facts: play option `gather_facts: false`)
/// it asks only what the engine itself needs ([`OWN`]), which starts no
/// program: a warm rerun's cost is the programs it starts on each host.
pub(crate) fn script(gathered: bool) -> String {
    match gathered {
        true => format!("{BASE}\n{OWN}\n{IP}\n{}", route::SCRIPT),
        false => OWN.to_string(),
    }
}

/// Every fact that a file under `/proc` holds is read there with the shell's
/// `read`, and `ip`'s listing is parsed here, not on the host: a warm rerun's
/// cost is the programs it starts on each host (README, Performance), and
/// these lines start two: `hostname -f`, which resolves, and one `ip` that
/// lists the addresses and asks for the default route in one batch
/// ([`IP`]). The user is Ansible's `user_id` (Python's `getpass.getuser()`:
/// `LOGNAME`, `USER`, `LNAME`, `USERNAME`, the first one set and not empty,
/// which sshd and sudo set), with `id -un` only when none is. What they
/// replace, kept where `/proc` lacks the file: `hostname -s` (the name up to
/// its first dot), `uname -r`, `uname -m` (`/proc/sys/kernel/arch`, Linux
/// 6.1 on), `nproc` (the CPUs this shell may run on: `Cpus_allowed_list`,
/// counted by [`count_cpus`]) and `awk` on `/proc/meminfo`. `kr VAR FILE`
/// reads the first line of FILE into VAR, empty and failing when it cannot.
const BASE: &str = r#"kr() { eval "$1="; read -r "$1" 2>/dev/null <"$2"; }
if kr f_v /proc/sys/kernel/hostname; then echo "hostname=${f_v%%.*}"; else echo "hostname=$(hostname -s 2>/dev/null || cat /etc/hostname)"; fi
echo "fqdn=$(hostname -f 2>/dev/null)"
[ -r /etc/os-release ] && . /etc/os-release && echo "os_id=$ID" && echo "os_version=$VERSION_ID" && echo "os_codename=$VERSION_CODENAME" && echo "os_pretty=$PRETTY_NAME"
if kr f_v /proc/sys/kernel/osrelease; then echo "kernel=$f_v"; else echo "kernel=$(uname -r)"; fi
if kr f_v /proc/sys/kernel/arch; then echo "arch=$f_v"; else echo "arch=$(uname -m)"; fi
f_v=; while read -r f_k f_c; do [ "$f_k" = Cpus_allowed_list: ] && f_v=$f_c && break; done 2>/dev/null </proc/self/status
if [ -n "$f_v" ]; then echo "cpus_allowed=$f_v"; else echo "cpus=$(nproc 2>/dev/null || echo 1)"; fi
while read -r f_k f_c f_u; do [ "$f_k" = MemTotal: ] && echo "memory_kb=$f_c" && break; done 2>/dev/null </proc/meminfo"#;

/// The facts the engine reads itself, gathered or not: the SFTP server
/// (file transfers under become), whether systemd runs (the `service` op)
/// and the user (the owner a file gets when its op names none).
const OWN: &str = r#"for s in /usr/lib/openssh/sftp-server /usr/libexec/openssh/sftp-server /usr/lib/ssh/sftp-server; do [ -x "$s" ] && echo "sftp_server=$s" && break; done
[ -d /run/systemd/system ] && echo "systemd=1"
f_v=${LOGNAME:-${USER:-${LNAME:-$USERNAME}}}; echo "user=${f_v:-$(id -un)}""#;

/// The lines that start one `ip` for the addresses (`ip -o -4 addr show`)
/// and the route to [`route::TARGET`] (`ip -o -4 route get`), batched with
/// `-force` so an unreachable route still lists the addresses. The route's
/// line comes last when there is one: it goes to `f_r` (cut at `-o`'s `\`,
/// the first line `ip route get` prints), the addresses to `addr4=` lines.
/// An `ip` without `-batch` (BusyBox) answers nothing: then the two are
/// asked one by one.
const IP: &str = r#"f_n='
'
f_i=$(printf 'address show\nroute get 8.8.8.8\n' | ip -o -4 -force -batch - 2>/dev/null) || [ -n "$f_i" ] || f_i=$(ip -o -4 addr show 2>/dev/null; ip -o -4 route get 8.8.8.8 2>/dev/null)
f_r=${f_i##*"$f_n"}; case $f_r in "8.8.8.8 "*) f_i=${f_i%"$f_r"}; f_r=${f_r%%\\*} ;; *) f_r= ;; esac
printf '%s\n' "$f_i" | while IFS= read -r f_v; do [ -n "$f_v" ] && printf 'addr4=%s\n' "$f_v"; done"#;

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
        let mut listing = Vec::new();
        for line in lines {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            if k == "addr4" {
                listing.push(v);
                continue;
            }
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
                "cpus_allowed" => f.cpus = count_cpus(&v).unwrap_or(1),
                "memory_kb" => f.memory_mb = v.parse::<u64>().unwrap_or(0) / 1024,
                "sftp_server" => f.sftp_server = Some(v),
                "systemd" => f.systemd = v == "1",
                "user" => f.user = v,
                "route4" => f.default_route = DefaultRoute::parse(&v).map(Box::new),
                "route4_link" => f.default_route.iter_mut().for_each(|r| r.link(&v)),
                _ => {}
            }
        }
        f.addresses = listing.iter().filter_map(|l| Address::listed(l)).collect();
        if let Some(route) = &mut f.default_route {
            route.inets_from(&listing);
        }
        f
    }
}

impl Address {
    /// The address of a `ip -o -4 addr show` line: its second word names the
    /// interface, its fourth is the address (`2: eth0    inet 10.0.0.5/24
    /// ...`), with the prefix length 32 when it has none.
    fn listed(line: &str) -> Option<Address> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let (iface, cidr) = (words.get(1)?, words.get(3)?);
        let (addr, prefix) = cidr.split_once('/').unwrap_or((cidr, "32"));
        Some(Address {
            interface: (*iface).to_string(),
            address: addr.to_string(),
            prefix: prefix.parse().unwrap_or(32),
        })
    }
}

/// How many CPUs a `Cpus_allowed_list` names (`0-3,8,10-11`: 7), as `nproc`
/// counts them; `None` when it is not such a list.
fn count_cpus(list: &str) -> Option<u32> {
    list.split(',').try_fold(0, |n, range| {
        let (first, last) = range.split_once('-').unwrap_or((range, range));
        let (first, last): (u32, u32) = (first.parse().ok()?, last.parse().ok()?);
        Some(n + last.checked_sub(first)? + 1)
    })
}

#[cfg(test)]
mod tests;
