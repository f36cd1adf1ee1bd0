//! `xfs_volume`: a block device formatted XFS (only when it is empty),
//! mounted by UUID through `/etc/fstab`, its root owned and moded for the
//! service on it (the seeds' PGDATA fix: 999:999, 0700).
//!
//! Formatting destroys data, so the op only runs `mkfs.xfs` on a device
//! that `blkid -p` and `wipefs` find no signature on and whose first MiB is
//! zeros; anything else needs `force: true`, and an XFS device is never
//! formatted again.

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Reach, Symbol};
use kbz_engine::probe::{Observation, Observed, PathKind, PathState, Probe};
use kbz_engine::shell::quote;
use serde::Deserialize;

use super::attrs::{Attrs, Mode};
use super::query::{self, Section, Sections};
use super::values::absolute_path;
use super::{fstab, Build, Env, Failure};

/// Arguments of `xfs_volume()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    device: String,
    mount: String,
    #[serde(default = "noatime")]
    options: String,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    force: bool,
}

fn noatime() -> String {
    "noatime".to_string()
}

impl OpArgs for Args {
    const OP: &'static str = "xfs_volume";
    const SUMMARY: &'static str = "Format a block device XFS when it is empty (never one holding data unless forced), mount it by UUID via /etc/fstab, and set its root's owner and mode.";
    const EXAMPLE: &'static str = r#"xfs_volume(#{ device: "/dev/vdb", mount: "/opt/keybuzz/postgres/data", owner: "999", group: "999", mode: "0700" });
xfs_volume(#{ device: "/dev/sdc", mount: "/opt/keybuzz/mariadb/data", options: "noatime,nofail", label: "mariadb" });"#;
    const PARAMS: &'static [Param] = &[
        Param {
            name: "device",
            ty: "string",
            default: None,
            doc: "The block device, e.g. \"/dev/vdb\" or \"/dev/disk/by-id/scsi-0HC_Volume_123\". mkfs.xfs runs only when it holds no filesystem, partition table or other signature and its first MiB is zeros.",
        },
        Param {
            name: "mount",
            ty: "string",
            default: None,
            doc: "Absolute mount point, created when missing, e.g. \"/opt/keybuzz/postgres/data\" (no spaces).",
        },
        Param {
            name: "options",
            ty: "string",
            default: Some("\"noatime\""),
            doc: "Mount options for the fstab entry `UUID=<uuid> <mount> xfs <options> 0 0`, e.g. \"noatime,nofail\". A mounted volume missing one of them is remounted (fstab-only options like nofail or x-systemd.* are not checked live).",
        },
        Param {
            name: "owner",
            ty: "string",
            default: Some("unchanged"),
            doc: "Owner of the mounted filesystem's root, a name or numeric uid, e.g. \"999\" (the postgres uid in the official images).",
        },
        Param {
            name: "group",
            ty: "string",
            default: Some("unchanged"),
            doc: "Group of the mounted filesystem's root, a name or numeric gid, e.g. \"999\".",
        },
        Param {
            name: "mode",
            ty: "\"0700\" string or int",
            default: Some("unchanged"),
            doc: "Permission bits of the mounted filesystem's root, e.g. \"0700\" for PGDATA (string, always octal, or a 0o700 Rhai int).",
        },
        Param {
            name: "label",
            ty: "string",
            default: Some("none"),
            doc: "Filesystem label given to mkfs.xfs (at most 12 characters), e.g. \"pgdata\". Only used when formatting; an existing filesystem's label is left as it is.",
        },
        Param {
            name: "force",
            ty: "bool",
            default: Some("false"),
            doc: "Format a device that holds another filesystem, a partition table, a signature or data (mkfs.xfs -f): it ERASES it. Never reformats an XFS device.",
        },
    ];
}

/// Characters allowed in options, labels and fstab fields: no blanks, quotes
/// or backslashes, which fstab and the host-side scripts would misread.
fn plain(param: &str, value: &str, extra: &str) -> Result<(), String> {
    let ok = !value.is_empty()
        && !value.starts_with('-')
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-/".contains(c) || extra.contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{param} {value:?} must be non-empty, without blanks, quotes or backslashes"
        ))
    }
}

impl Build for Args {
    const ENSURES: &'static str = "a block device formatted XFS only when it holds nothing (never data, unless `force`), mounted by UUID from `/etc/fstab`, owner/mode of its root";

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        absolute_path("device", &self.device)?;
        plain("device", &self.device, ":@+")?;
        absolute_path("mount", &self.mount)?;
        plain("mount", &self.mount, ":@+")?;
        let mount = self.mount.trim_end_matches('/').to_string();
        if mount.is_empty() {
            return Err("mount must not be /".to_string().into());
        }
        plain("options", &self.options, "=,:@+")?;
        if let Some(label) = &self.label {
            plain("label", label, "")?;
            if label.len() > 12 {
                return Err(format!("label {label:?} is longer than XFS's 12 characters").into());
            }
        }
        Ok(Box::new(XfsVolumeOp {
            device: self.device,
            mount,
            options: self.options,
            attrs: Attrs::new(self.mode, self.owner, self.group)?,
            label: self.label,
            force: self.force,
        }))
    }
}

/// Formats, mounts and sets up one volume.
#[derive(Debug)]
pub(crate) struct XfsVolumeOp {
    device: String,
    mount: String,
    options: String,
    attrs: Attrs,
    label: Option<String>,
    force: bool,
}

/// What the device holds.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Content {
    /// An XFS filesystem, by UUID.
    Xfs(String),
    /// Nothing at all: safe to format.
    Empty,
    /// Something else, described for messages.
    Other(String),
}

/// What a fresh host answers (for the offline render): the tools there, a
/// blank device, nothing mounted, no mount point yet.
const FRESH: &str = "@@ have 0\n@@ mkfs 0\n@@ dev 0\n@@ blkid 2\n@@ wipefs 0\n@@ zeros 0\n\
                     @@ mounted 1\n@@ ours 1\n@@ dir 1";

/// Mount options that only mean something to fstab or mount(8), never
/// shown among a mounted filesystem's live options.
fn fstab_only(option: &str) -> bool {
    matches!(
        option,
        "defaults"
            | "auto"
            | "noauto"
            | "nofail"
            | "user"
            | "nouser"
            | "users"
            | "owner"
            | "group"
            | "_netdev"
    ) || option.starts_with("x-")
        || option.starts_with("comment=")
}

impl XfsVolumeOp {
    fn state_query(&self) -> String {
        let (d, m) = (quote(&self.device), quote(&self.mount));
        query::script(&[
            (
                "have",
                format!("{} && {}", query::have("blkid"), query::have("findmnt")),
            ),
            ("mkfs", query::have("mkfs.xfs")),
            (
                "dev",
                // Read a byte: blkid reports an unreadable device (no root,
                // or a sandbox) as empty, with the same status 2.
                format!("test -b {d} || exit 3; head -c 1 -- {d} >/dev/null 2>&1 || exit 4"),
            ),
            ("blkid", format!("blkid -p -o export -- {d}")),
            ("wipefs", format!("wipefs --no-act --parsable -- {d}")),
            (
                "zeros",
                format!(
                    "blkid -p -- {d} >/dev/null 2>&1; [ $? -eq 2 ] || exit 3; \
                     cmp -s -n 1048576 -- {d} /dev/zero"
                ),
            ),
            (
                "mounted",
                format!("findmnt -n -r -o SOURCE,FSTYPE,OPTIONS --mountpoint {m}"),
            ),
            // Whether that is the device, by device number: the same disk
            // has many names (/dev/disk/by-id links, /dev/mapper, a node
            // bound under another name in a container).
            (
                "ours",
                format!(
                    "set -- $(stat -L -c '%t %T' -- {d}) && \
                     [ \"$(findmnt -n -r -o MAJ:MIN --mountpoint {m})\" = \"$(printf '%d:%d' 0x$1 0x$2)\" ]"
                ),
            ),
            ("dir", format!("stat -c '%u %g %a %U %G %F' -- {m}")),
        ])
    }

    /// What the device holds, from `blkid -p`, `wipefs` and the zeros check.
    fn content(&self, s: &Sections) -> Result<Content, OpError> {
        let d = &self.device;
        let dev = s.get("dev");
        match dev.rc {
            0 => {}
            3 => {
                return Err(OpError::Conflict(format!(
                    "{d} is not a block device (or does not exist)"
                )))
            }
            4 => {
                return Err(OpError::Conflict(format!(
                    "cannot read {d}; run with --become"
                )))
            }
            rc => return Err(failed("the device check", rc)),
        }
        let blkid = s.get("blkid");
        match blkid.rc {
            0 => {
                let tags = parse_export(&blkid);
                let get = |k: &str| {
                    tags.iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| v.as_str())
                };
                Ok(match (get("TYPE"), get("UUID"), get("PTTYPE")) {
                    (Some("xfs"), Some(uuid), _) => Content::Xfs(uuid.to_string()),
                    (Some(t), _, _) => Content::Other(format!("a {t} filesystem or signature")),
                    (None, _, Some(pt)) => Content::Other(format!("a {pt} partition table")),
                    _ => Content::Other(format!(
                        "a signature blkid reports as {:?}",
                        blkid.lines.join(" ")
                    )),
                })
            }
            2 => {
                let wipefs = s.get("wipefs");
                if wipefs.rc != 0 {
                    return Err(failed("wipefs --no-act", wipefs.rc));
                }
                let signatures: Vec<&str> = wipefs
                    .lines
                    .iter()
                    .map(String::as_str)
                    .filter(|l| !l.starts_with('#'))
                    .collect();
                if !signatures.is_empty() {
                    return Ok(Content::Other(format!(
                        "signatures ({})",
                        signatures.join("; ")
                    )));
                }
                match s.get("zeros").rc {
                    0 => Ok(Content::Empty),
                    1 => Ok(Content::Other(
                        "data in its first MiB but no known signature".to_string(),
                    )),
                    rc => Err(failed("reading the device's first MiB", rc)),
                }
            }
            rc => Err(failed(&format!("blkid -p {d}"), rc)),
        }
    }

    /// The mount point's state, with owner and group as numbers when the
    /// wanted ones are numbers (`999` must match a uid that has a name).
    fn dir_state(&self, dir: &Section) -> Result<PathState, OpError> {
        if dir.rc != 0 {
            return Ok(PathState::missing());
        }
        let f: Vec<&str> = dir.first().splitn(6, ' ').collect();
        let [uid, gid, mode, user, group, kind] = f[..] else {
            return Err(OpError::Invalid(format!(
                "cannot read stat output {:?}",
                dir.first()
            )));
        };
        let numeric = |want: &Option<String>| {
            want.as_deref()
                .is_some_and(|w| w.bytes().all(|b| b.is_ascii_digit()))
        };
        Ok(PathState {
            kind: if kind == "directory" {
                PathKind::Directory
            } else {
                PathKind::Other
            },
            mode: u32::from_str_radix(mode, 8)
                .map_err(|_| OpError::Invalid(format!("bad mode {mode:?}")))?,
            owner: if numeric(&self.attrs.owner) {
                uid
            } else {
                user
            }
            .to_string(),
            group: if numeric(&self.attrs.group) {
                gid
            } else {
                group
            }
            .to_string(),
            ..PathState::missing()
        })
    }

    /// Formats the device; `content` is what it erases.
    fn mkfs(&self, content: &Content) -> Change {
        let mut cmd = vec!["mkfs.xfs"];
        if self.force {
            cmd.push("-f");
        }
        if let Some(l) = &self.label {
            cmd.extend(["-L", l]);
        }
        cmd.push(&self.device);
        let cmd = kbz_engine::shell::join(cmd);
        let summary = match content {
            Content::Other(what) => format!("{cmd} (erases {what})"),
            _ => cmd.clone(),
        };
        Change::new(Symbol::Create, summary, vec![Action::exec(cmd)])
    }

    fn entry(&self, uuid: &str) -> String {
        format!("UUID={uuid} {} xfs {} 0 0", self.mount, self.options)
    }

    /// Whether an fstab entry (as fields) is the one wanted.
    fn entry_matches(&self, have: &[&str], uuid: &str) -> bool {
        let want = self.entry(uuid);
        let want: Vec<&str> = want.split(' ').collect();
        let padded = |i: usize| have.get(i).copied().unwrap_or("0");
        have.len() <= 6 && (0..6).all(|i| padded(i) == want[i])
    }

    fn fstab_change(
        &self,
        observed: &Observed,
        uuid: Option<&str>,
    ) -> Result<Option<Change>, OpError> {
        let probe = Probe::path_with_content(fstab::PATH);
        let Observation::Path(table) = observed.get(&probe)? else {
            return Err(kbz_engine::probe::NotProbed(probe).into());
        };
        let before = fstab::text(table)?;
        let old = fstab::entry_for(&before, &self.mount);
        let symbol = if old.is_some() {
            Symbol::Update
        } else {
            Symbol::Create
        };
        let reload =
            Action::exec("if [ -d /run/systemd/system ]; then systemctl daemon-reload; fi");
        let change = match uuid {
            Some(uuid) if old.as_deref().is_some_and(|f| self.entry_matches(f, uuid)) => {
                return Ok(None)
            }
            Some(uuid) => {
                let line = self.entry(uuid);
                let after = fstab::set_entry(&before, &self.mount, &line);
                let mut change =
                    fstab::rewrite(table, &before, after, symbol, format!("fstab {line}"));
                change.actions.push(reload);
                change
            }
            None => {
                let d = quote(&self.device);
                let read_uuid = format!(
                    "uuid=$(blkid -p -s UUID -o value -- {d}) && [ -n \"$uuid\" ] || \
                     {{ echo 'no UUID on {d} after mkfs.xfs' >&2; exit 1; }}"
                );
                let line = format!("\"UUID=$uuid {} xfs {} 0 0\"", self.mount, self.options);
                let script = format!(
                    "{read_uuid}\n{}",
                    fstab::set_entry_script(fstab::PATH, &self.mount, &line)
                );
                Change::new(
                    symbol,
                    format!("fstab {}", self.entry("<new>")),
                    vec![Action::exec(script), reload],
                )
            }
        };
        Ok(Some(change))
    }
}

/// Reads `blkid -o export` lines (`KEY=value`).
fn parse_export(section: &Section) -> Vec<(String, String)> {
    section
        .lines
        .iter()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn failed(what: &str, rc: i32) -> OpError {
    OpError::Conflict(format!(
        "{what} failed (exit status {rc}); run with --become?"
    ))
}

impl Operation for XfsVolumeOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    fn target(&self) -> String {
        format!("{} on {}", self.device, self.mount)
    }

    /// Mounting a filesystem (or making the mount point) changes every
    /// path under it, which other ops may have probed.
    fn reach(&self) -> Reach {
        Reach::Anything
    }

    fn probes(&self) -> Vec<Probe> {
        vec![
            query::probe(&self.state_query()),
            Probe::path_with_content(fstab::PATH),
        ]
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        let s = Sections::parse_or(&observed.query(&self.state_query())?.stdout, FRESH);
        if s.get("have").rc != 0 {
            return Err(query::missing_program("blkid and findmnt", "util-linux"));
        }
        let (d, m) = (&self.device, &self.mount);
        let content = self.content(&s)?;
        let mounted = s.get("mounted");
        let live: Option<Vec<&str>> = (mounted.rc == 0).then(|| {
            mounted
                .lines
                .last()
                .map_or("", String::as_str)
                .split(' ')
                .collect()
        });
        if let Some(f) = &live {
            let source = f.first().copied().unwrap_or("");
            if s.get("ours").rc != 0 {
                return Err(OpError::Conflict(format!(
                    "{m} has {source} mounted, not {d}; unmount it first"
                )));
            }
        }
        let mut changes = Vec::new();
        let uuid = match &content {
            Content::Xfs(uuid) => Some(uuid.clone()),
            Content::Other(what) if !self.force => {
                return Err(OpError::Conflict(format!(
                    "{d} holds {what}; refusing to format it. If its data may go, \
                     pass force: true (mkfs.xfs -f erases it)"
                )))
            }
            _ if live.is_some() => {
                return Err(OpError::Conflict(format!(
                    "{d} is mounted on {m}; unmount it before formatting"
                )))
            }
            _ if s.get("mkfs").rc != 0 => {
                return Err(query::missing_program("mkfs.xfs", "xfsprogs"))
            }
            _ => {
                changes.push(self.mkfs(&content));
                None
            }
        };
        let dir = self.dir_state(&s.get("dir"))?;
        match dir.kind {
            PathKind::Missing => changes.push(Change::new(
                Symbol::Create,
                format!("directory {m}"),
                vec![Action::exec(format!("mkdir -p {}", quote(m)))],
            )),
            PathKind::Directory => {}
            _ => {
                return Err(OpError::Conflict(format!(
                    "{m} exists and is not a directory"
                )))
            }
        }
        changes.extend(self.fstab_change(observed, uuid.as_deref())?);
        let mq = quote(m);
        match &live {
            None => {
                let mut actions = vec![Action::exec(format!("mount {mq}"))];
                let mut summary = format!("mounted {d} on {m}");
                // A fresh mount's root has the filesystem's attributes,
                // unknown until then: set every wanted one.
                actions.extend(self.attrs.set_all(m, false));
                for attr in self.attrs.describe() {
                    summary.push_str(&format!(", {attr}"));
                }
                changes.push(Change::new(Symbol::Create, summary, actions));
            }
            Some(f) => {
                let have: Vec<&str> = f.get(2).copied().unwrap_or("").split(',').collect();
                let missing: Vec<&str> = self
                    .options
                    .split(',')
                    .filter(|o| !fstab_only(o) && !have.contains(o))
                    .collect();
                if !missing.is_empty() {
                    changes.push(Change::new(
                        Symbol::Update,
                        format!("remount {m} (missing options {})", missing.join(",")),
                        vec![Action::exec(format!("mount -o remount {mq}"))],
                    ));
                }
                changes.extend(self.attrs.fix(m, &dir, false));
            }
        }
        Ok(if changes.is_empty() {
            Plan::noop(format!("XFS on {d} mounted on {m} as wanted"))
        } else {
            Plan::of(changes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blkid_export_parses() {
        let s = Section {
            rc: 0,
            lines: vec![
                "DEVNAME=/dev/vdb".into(),
                "UUID=0b5c3f1e-7d3a-4f7e-9a51-2d0c8b6e4a11".into(),
                "BLOCK_SIZE=512".into(),
                "TYPE=xfs".into(),
                "USAGE=filesystem".into(),
            ],
        };
        let tags = parse_export(&s);
        assert_eq!(tags[3], ("TYPE".to_string(), "xfs".to_string()));
        assert_eq!(tags.len(), 5);
    }

    #[test]
    fn fstab_entries_compare_by_field() {
        let op = XfsVolumeOp {
            device: "/dev/vdb".into(),
            mount: "/data".into(),
            options: "noatime".into(),
            attrs: Attrs::default(),
            label: None,
            force: false,
        };
        assert!(op.entry_matches(&["UUID=u", "/data", "xfs", "noatime", "0", "0"], "u"));
        assert!(op.entry_matches(&["UUID=u", "/data", "xfs", "noatime"], "u"));
        assert!(!op.entry_matches(&["UUID=u", "/data", "xfs", "defaults", "0", "0"], "u"));
        assert!(!op.entry_matches(&["/dev/vdb", "/data", "xfs", "noatime", "0", "0"], "u"));
        assert!(!op.entry_matches(&["UUID=u", "/data", "xfs", "noatime", "0", "2"], "u"));
    }

    #[test]
    fn fstab_only_options_are_not_checked_live() {
        assert!(fstab_only("nofail") && fstab_only("x-systemd.device-timeout=10s"));
        assert!(!fstab_only("noatime"));
    }
}
