//! `kbz-play render`: what each host would receive, written to a folder.
//!
//! Files land at `OUT/HOST/<absolute path>`, commands are appended to
//! `OUT/HOST/commands.sh` in run order. Secret values are replaced by a stable
//! placeholder before anything is written, so a review folder can be shared.

use std::io::Write;
use std::path::Path;

use crate::inventory::Host;
use crate::op::Action;
use crate::probe::facts::Address;
use crate::probe::Facts;
use crate::secrets::Secrets;

/// Facts for a host that is not contacted: its inventory name and address.
pub(super) fn offline_facts(host: &Host) -> Facts {
    let ip = host.ip(&host.vars).to_string();
    Facts {
        hostname: host.name.clone(),
        fqdn: host.name.clone(),
        addresses: vec![Address {
            interface: "eth0".into(),
            address: ip,
            prefix: 24,
        }],
        cpus: 1,
        systemd: true,
        user: "root".into(),
        ..Facts::default()
    }
}

/// Records one action of `host` under `out`.
pub(super) fn record(
    out: &Path,
    host: &str,
    action: &Action,
    secrets: &Secrets,
) -> std::io::Result<()> {
    let dir = out.join(host);
    std::fs::create_dir_all(&dir)?;
    match action {
        Action::Write(w) => {
            let target = dir.join(w.path.trim_start_matches('/'));
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, secrets.mask_bytes(&w.content))?;
            let attrs = format!(
                "# write {} mode={} owner={} group={}\n",
                w.path,
                w.mode
                    .map(|m| format!("{m:04o}"))
                    .unwrap_or_else(|| "keep".into()),
                w.owner.as_deref().unwrap_or("keep"),
                w.group.as_deref().unwrap_or("keep"),
            );
            append(&dir.join("commands.sh"), &attrs)
        }
        Action::Exec { script, .. } => append(
            &dir.join("commands.sh"),
            &format!("{}\n", secrets.mask(script)),
        ),
    }
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}
