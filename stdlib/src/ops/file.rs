//! `file`: a path's type and attributes (file, directory, link, absent).

use std::sync::Arc;

use kbz_engine::op::{Action, Change, OpArgs, OpError, Param, Plan, Symbol};
use kbz_engine::probe::{PathKind, PathState};
use kbz_engine::shell::quote;
use serde::Deserialize;

use super::attrs::{Attrs, Mode};
use super::copy::GROUP;
use super::edit::{write_with_diff, OnPath, PathEdit};
use super::values::absolute_path;
use super::{Build, Env, Failure};

/// Arguments of `file()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    path: String,
    #[serde(default)]
    state: State,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    src: Option<String>,
}

/// What should be at the path.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum State {
    /// A regular file; created empty when missing, content never touched.
    #[default]
    File,
    /// A directory, created with its parents.
    Directory,
    /// Nothing; directories are removed with their content.
    Absent,
    /// A symbolic link to `src`.
    Link,
    /// A file whose timestamps are updated on every run.
    Touch,
}

impl OpArgs for Args {
    const OP: &'static str = "file";
    const SUMMARY: &'static str = "Ensure a path is a file, directory or symlink with the given mode and owner, or is absent.";
    const EXAMPLE: &'static str = r#"file(#{ path: "/srv/app", state: "directory", owner: "app", mode: "0750" });
file(#{ path: "/etc/nginx/sites-enabled/app", state: "link", src: "/etc/nginx/sites-available/app" });
file(#{ path: "/tmp/old", state: "absent" });"#;
    const PARAMS: &'static [Param] = &[
        Param { name: "path", ty: "string", default: None, doc: "Absolute path to manage, e.g. \"/srv/app\"." },
        Param {
            name: "state",
            ty: "string",
            default: Some("\"file\""),
            doc: "\"file\": a regular file (created empty if missing, content never changed); \
                  \"directory\": created with its parents (mkdir -p); \
                  \"link\": a symlink to `src` (replaced if it points elsewhere); \
                  \"touch\": like \"file\" but updates the timestamps, so it always reports a change; \
                  \"absent\": removed — a directory is removed with everything in it (rm -rf), like Ansible.",
        },
        Param {
            name: "mode",
            ty: "\"0644\" string or int",
            default: Some("unchanged (new files 0644, new directories per umask)"),
            doc: "Permission bits: \"0750\" (string, always octal) or 0o750 (Rhai octal int; a plain 750 int is decimal). Not for links.",
        },
        Param { name: "owner", ty: "string", default: Some("unchanged"), doc: "Owner name or numeric uid, e.g. \"www-data\"." },
        GROUP,
        Param {
            name: "src",
            ty: "string",
            default: Some("none"),
            doc: "Link target, only with state \"link\", e.g. \"/etc/nginx/sites-available/app\" (may be relative to the link's directory).",
        },
    ];
}

impl Build for Args {
    const ENSURES: &'static str =
        "a path is a file, directory or symlink with mode/owner/group, or is absent";

    fn build(self, _env: &dyn Env) -> Result<Box<dyn kbz_engine::op::Operation>, Failure> {
        absolute_path("path", &self.path)?;
        let path = match self.path.trim_end_matches('/') {
            "" => "/".to_string(),
            p => p.to_string(),
        };
        let has_attrs = self.mode.is_some() || self.owner.is_some() || self.group.is_some();
        match self.state {
            State::Link if self.src.is_none() => {
                return Err("state \"link\" needs src (the link target)"
                    .to_string()
                    .into())
            }
            State::Link if self.mode.is_some() => {
                return Err("mode has no meaning for a symlink".to_string().into())
            }
            State::Absent if has_attrs => {
                return Err("state \"absent\" takes no mode, owner or group"
                    .to_string()
                    .into())
            }
            State::Absent if path == "/" => return Err("refusing to remove /".to_string().into()),
            s if s != State::Link && self.src.is_some() => {
                return Err(
                    "src is the link target: it needs state \"link\" (to copy a file, use copy())"
                        .to_string()
                        .into(),
                )
            }
            _ => {}
        }
        if let Some(src) = &self.src {
            if src.is_empty() || src.contains(['\n', '\0']) {
                return Err(
                    format!("src must be a non-empty single-line path, got {src:?}").into(),
                );
            }
        }
        Ok(OnPath::boxed(FileOp {
            path,
            state: self.state,
            attrs: Attrs::new(self.mode, self.owner, self.group)?,
            src: self.src,
        }))
    }
}

/// Ensures a path's type and attributes.
#[derive(Debug)]
pub(crate) struct FileOp {
    path: String,
    state: State,
    attrs: Attrs,
    src: Option<String>,
}

/// How a path kind reads in messages.
pub(crate) fn kind_name(kind: PathKind) -> &'static str {
    match kind {
        PathKind::Missing => "missing path",
        PathKind::File => "file",
        PathKind::Directory => "directory",
        PathKind::Link => "symlink",
        PathKind::Other => "special file (device, socket or fifo)",
    }
}

/// The error for a path holding the wrong kind of thing: never replaced
/// silently, since that could destroy data.
pub(crate) fn wrong_kind(path: &str, cur: &PathState, want: &str) -> OpError {
    let what = match (&cur.kind, &cur.link_target) {
        (PathKind::Link, Some(t)) => format!("a symlink to {t}"),
        (k, _) => format!("a {}", kind_name(*k)),
    };
    OpError::Conflict(format!(
        "{path} is {what}, not a {want}; if it should go, remove it first with \
         file(#{{ path: \"{path}\", state: \"absent\" }})"
    ))
}

impl FileOp {
    fn created(&self, what: &str, actions: Vec<Action>) -> Plan {
        let mut summary = vec![what.to_string()];
        summary.extend(self.attrs.describe());
        Plan::of(vec![Change::new(
            Symbol::Create,
            summary.join(", "),
            actions,
        )])
    }

    fn fixed(&self, cur: &PathState, first: Option<Change>, noop: &str) -> Plan {
        let mut changes: Vec<Change> = first.into_iter().collect();
        changes.extend(self.attrs.fix(&self.path, cur, cur.kind == PathKind::Link));
        if changes.is_empty() {
            Plan::noop(noop)
        } else {
            Plan::of(changes)
        }
    }

    /// A new empty file where there is none, with its (empty) diff.
    fn empty_file(&self) -> Plan {
        let empty = Arc::new(Vec::new());
        let (write, diff) = write_with_diff(
            &self.path,
            &PathState::missing(),
            Some(Arc::clone(&empty)),
            empty,
            &self.attrs,
        );
        let mut plan = self.created("empty file", vec![Action::Write(write)]);
        plan.changes[0].diff = Some(diff);
        plan
    }
}

impl PathEdit for FileOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn plan(&self, cur: &PathState) -> Result<Plan, OpError> {
        let path = quote(&self.path);
        Ok(match (self.state, cur.kind) {
            (State::Absent, PathKind::Missing) => Plan::noop("already absent"),
            (State::Absent, PathKind::Directory) => Plan::of(vec![Change::new(
                Symbol::Delete,
                "directory and everything in it",
                vec![Action::exec(format!("rm -rf {path}"))],
            )]),
            (State::Absent, k) => Plan::of(vec![Change::new(
                Symbol::Delete,
                kind_name(k),
                vec![Action::exec(format!("rm -f {path}"))],
            )]),

            (State::Directory, PathKind::Missing) => {
                self.created("directory", self.attrs.new_directory(&self.path))
            }
            (State::Directory, PathKind::Directory) => self.fixed(cur, None, "directory in place"),
            (State::Directory, _) => return Err(wrong_kind(&self.path, cur, "directory")),

            (State::File | State::Touch, PathKind::Missing) => self.empty_file(),
            (State::File, PathKind::File) => self.fixed(cur, None, "file in place"),
            (State::File, _) => return Err(wrong_kind(&self.path, cur, "file")),
            (State::Touch, PathKind::File | PathKind::Directory) => {
                let touch = Change::new(
                    Symbol::Update,
                    "timestamps",
                    // `-h`: a symlink a service swapped in since the probe
                    // gets the new times itself, never its target.
                    vec![Action::exec(format!("touch -h -- {path}"))],
                );
                self.fixed(cur, Some(touch), "")
            }
            (State::Touch, _) => return Err(wrong_kind(&self.path, cur, "file")),

            (State::Link, k) => {
                let src = self.src.as_deref().unwrap_or_default();
                let ln = Action::exec(format!("ln -sfn -- {} {path}", quote(src)));
                match k {
                    PathKind::Missing => {
                        let mut actions = vec![ln];
                        actions.extend(self.attrs.set_all(&self.path, true));
                        self.created(&format!("link -> {src}"), actions)
                    }
                    PathKind::Link if cur.link_target.as_deref() == Some(src) => {
                        self.fixed(cur, None, &format!("link -> {src} in place"))
                    }
                    PathKind::Link => {
                        let old = cur.link_target.as_deref().unwrap_or("?");
                        let retarget = Change::new(
                            Symbol::Update,
                            format!("link target {old} -> {src}"),
                            vec![ln],
                        );
                        self.fixed(cur, Some(retarget), "")
                    }
                    _ => return Err(wrong_kind(&self.path, cur, "symlink")),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_well() {
        let cur = PathState {
            kind: PathKind::Link,
            link_target: Some("/x".into()),
            ..PathState::missing()
        };
        let msg = wrong_kind("/a", &cur, "directory").to_string();
        assert!(
            msg.starts_with("/a is a symlink to /x, not a directory;"),
            "{msg}"
        );
    }
}
