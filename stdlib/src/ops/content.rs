//! The core `copy` and `template` share: a file whose whole content is
//! known in advance, compared with the host's by SHA-256.

use std::sync::Arc;

use super::attrs::Attrs;
use super::edit::{write_with_diff, PathEdit};
use super::file::wrong_kind;
use kbz_engine::digest::sha256_hex;
use kbz_engine::op::{Action, Change, ContentDiff, OpError, Plan, Symbol};
use kbz_engine::probe::{PathKind, PathState};

/// Ensures a file has exactly this content and these attributes.
#[derive(Debug)]
pub(crate) struct ContentOp {
    kind: &'static str,
    dest: String,
    content: Arc<Vec<u8>>,
    digest: String,
    attrs: Attrs,
    validate: Option<String>,
    /// false: only create the file, never touch an existing one.
    force: bool,
}

impl ContentOp {
    /// The operation for `dest`; the digest is computed once, here.
    pub fn new(kind: &'static str, dest: String, content: Vec<u8>, attrs: Attrs) -> Self {
        let digest = sha256_hex(&content);
        ContentOp {
            kind,
            dest,
            content: Arc::new(content),
            digest,
            attrs,
            validate: None,
            force: true,
        }
    }

    /// `force: false` makes the op create the file only: an existing file is
    /// left as it is, whatever it holds (a seed a service rewrites itself).
    pub fn forced(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Adds a validator the new content must pass before it replaces the
    /// file (see [`validate_command`]). Only a content write runs it: an
    /// unchanged file whose mode or owner is fixed is not validated.
    pub fn validated(mut self, validate: Option<String>) -> Result<Self, String> {
        if let Some(v) = &validate {
            validate_command(v)?;
        }
        self.validate = validate;
        Ok(self)
    }

    /// The write of the whole content over `before`, with its diff.
    fn write(&self, cur: &PathState, before: Option<Arc<Vec<u8>>>) -> (Action, ContentDiff) {
        let (mut write, diff) = write_with_diff(
            &self.dest,
            cur,
            before,
            Arc::clone(&self.content),
            &self.attrs,
        );
        write.validate = self.validate.clone();
        (Action::Write(write), diff)
    }
}

impl PathEdit for ContentOp {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn path(&self) -> &str {
        &self.dest
    }

    fn owns(&self) -> Option<&str> {
        self.force.then_some(self.dest.as_str())
    }

    fn plan(&self, cur: &PathState) -> Result<Plan, OpError> {
        if !self.force && cur.kind != PathKind::Missing {
            return Ok(Plan::noop("exists; left as it is (force: false)"));
        }
        match cur.kind {
            PathKind::Missing => {
                let mut summary = vec![format!("file ({} bytes)", self.content.len())];
                summary.extend(self.attrs.describe());
                let (write, diff) = self.write(cur, Some(Arc::new(Vec::new())));
                let change = Change::new(Symbol::Create, summary.join(", "), vec![write]).with_diff(diff);
                Ok(Plan::of(vec![change]))
            }
            PathKind::File if cur.sha256.as_deref() != Some(self.digest.as_str()) => {
                // The write sets the attributes too, so they join its summary
                // instead of becoming commands of their own.
                let mut summary = vec!["content".to_string()];
                summary.extend(self.attrs.differences(cur));
                let (write, diff) = self.write(cur, cur.content.clone().map(Arc::new));
                let change = Change::new(Symbol::Update, summary.join(", "), vec![write]).with_diff(diff);
                Ok(Plan::of(vec![change]))
            }
            PathKind::File => {
                let changes = self.attrs.fix(&self.dest, cur, false);
                Ok(if changes.is_empty() { Plan::noop("content and attributes match") } else { Plan::of(changes) })
            }
            PathKind::Directory => Err(OpError::Conflict(format!(
                "{} is a directory; {}() needs the full path of the file to write, e.g. \"{}/name\"",
                self.dest,
                self.kind,
                self.dest.trim_end_matches('/')
            ))),
            _ => Err(wrong_kind(&self.dest, cur, "file")),
        }
    }
}

/// Checks a `validate` command: it must name the new file with `{}`, or
/// it would check something else and let any content through.
pub(crate) fn validate_command(cmd: &str) -> Result<(), String> {
    if cmd.trim().is_empty() || !cmd.contains("{}") {
        return Err(format!(
            "validate must be a command with {{}} where the new file's path goes, e.g. \"sshd -t -f {{}}\", got {cmd:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_matches_sha256sum() {
        assert_eq!(
            sha256_hex(b"hello\n"),
            "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
        );
    }

    #[test]
    fn validators_name_the_file() {
        assert!(validate_command("haproxy -c -f {}").is_ok());
        assert!(validate_command("haproxy -c -f /etc/haproxy.cfg").is_err());
        assert!(validate_command("").is_err());
    }
}
