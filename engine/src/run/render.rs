//! `kbz-play render`: what each host would receive, written to a folder.
//!
//! The render strategy ([`super::strategy::Strategy::Render`]) hands each op's
//! actions to a [`Recorder`] where a run would hand them to the host's
//! transport: files land at `OUT/HOST/<absolute path>`, commands are appended
//! to `OUT/HOST/commands.sh` in run order. Secret values are replaced by a
//! stable placeholder before anything is written, so a review folder can be
//! shared. The host is never contacted: its session is offline and answers
//! probes as a fresh host would ([`offline_facts`] stand in for its facts).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::inventory::Host;
use crate::op::Action;
use crate::probe::facts::Address;
use crate::probe::Facts;
use crate::secrets::Secrets;

/// Facts for a host that is not contacted: its inventory name and address.
pub(super) fn offline_facts(host: &Host) -> Facts {
    Facts {
        hostname: host.name.clone(),
        fqdn: host.name.clone(),
        addresses: vec![Address {
            interface: "eth0".into(),
            address: host.ip(&host.vars).to_string(),
            prefix: 24,
        }],
        cpus: 1,
        systemd: true,
        user: "root".into(),
        ..Facts::default()
    }
}

/// A transport that records instead of applying: one host's folder under
/// the render output.
#[derive(Debug, Clone)]
pub(super) struct Recorder {
    out: PathBuf,
    host: String,
}

/// `rel` under `base`, refused when it would leave `base`: a host name or
/// a destination path with `..` must not write anywhere else on the
/// machine that renders (`/etc/../../home/me/.bashrc`).
fn confined(base: &Path, rel: &str) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let mut path = base.to_path_buf();
    for component in Path::new(rel).components() {
        match component {
            Component::Normal(part) => path.push(part),
            Component::RootDir | Component::CurDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "{rel:?} has a '..': rendered, it would land outside {}",
                        base.display()
                    ),
                ))
            }
        }
    }
    Ok(path)
}

impl Recorder {
    /// Records into `out/host`.
    pub fn new(out: &Path, host: &str) -> Recorder {
        Recorder {
            out: out.to_path_buf(),
            host: host.to_string(),
        }
    }

    /// Records `steps` in order, secrets masked.
    pub fn apply(&self, steps: &[Action], secrets: &Secrets) -> std::io::Result<()> {
        let dir = confined(&self.out, &self.host)?;
        std::fs::create_dir_all(&dir)?;
        steps
            .iter()
            .try_for_each(|step| self.record(&dir, step, secrets))
    }

    /// Records one action in the host's folder `dir`.
    fn record(&self, dir: &Path, action: &Action, secrets: &Secrets) -> std::io::Result<()> {
        let commands = dir.join("commands.sh");
        match action {
            Action::Write(w) => {
                let target = confined(dir, &w.path)?;
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
                append(&commands, &attrs)
            }
            Action::Mkdir(d) => append(&commands, &format!("{}\n", d.script())),
            Action::Exec { script, input, .. } => {
                append(&commands, &format!("{}\n", secrets.mask(script)))?;
                input.as_ref().map_or(Ok(()), |i| {
                    append(&commands, &commented_input(&secrets.mask_bytes(&i.0)))
                })
            }
        }
    }
}

/// A command's stdin for the reader of `commands.sh`: commented out, so
/// the file still reads as the script the host runs.
fn commented_input(input: &[u8]) -> String {
    String::from_utf8_lossy(input)
        .lines()
        .map(|l| format!("#   stdin: {l}\n"))
        .collect()
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?
        .write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_folder() {
        let out = Path::new("/review");
        assert_eq!(
            confined(out, "/etc/app.conf").unwrap(),
            Path::new("/review/etc/app.conf")
        );
        assert_eq!(
            confined(out, "web-01").unwrap(),
            Path::new("/review/web-01")
        );
        assert_eq!(confined(out, "./a//b/").unwrap(), Path::new("/review/a/b"));
        for escape in ["..", "../web", "/etc/../../x", "a/../../b"] {
            let e = confined(out, escape).unwrap_err();
            assert!(e.to_string().contains("has a '..'"), "{escape}: {e}");
        }
    }
}
