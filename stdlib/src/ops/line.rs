//! `line`: one line in a text file, present or absent (Ansible's
//! `lineinfile`). The editing logic here is shared with `sysctl`.

use std::sync::Arc;

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Symbol};
use kbz_engine::probe::{PathKind, PathState};
use regex::Regex;
use serde::Deserialize;

use super::attrs::Attrs;
use super::edit::{write_with_diff, OnPath, PathEdit};
use super::file::wrong_kind;
use super::values::{absolute_path, Presence};
use super::{Build, Env, Failure};

/// Arguments of `line()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    path: String,
    #[serde(default)]
    line: Option<String>,
    #[serde(default)]
    regexp: Option<String>,
    #[serde(default)]
    state: Presence,
    #[serde(default)]
    insert_after: Option<String>,
    #[serde(default)]
    insert_before: Option<String>,
    #[serde(default)]
    create: bool,
}

impl OpArgs for Args {
    const OP: &'static str = "line";
    const SUMMARY: &'static str = "Ensure a line is in a text file (replacing the line a regexp matches), or that no matching line is.";
    const EXAMPLE: &'static str = r#"line(#{ path: "/etc/ssh/sshd_config", regexp: "^#?PermitRootLogin", line: "PermitRootLogin no" });
line(#{ path: "/etc/hosts", line: "10.0.0.5 db", insert_after: "^127\\.0\\.0\\.1" });
line(#{ path: "/etc/fstab", regexp: "\\s/mnt/old\\s", state: "absent" });"#;
    const PARAMS: &'static [Param] = &[
        Param { name: "path", ty: "string", default: None, doc: "Absolute path of the file, e.g. \"/etc/ssh/sshd_config\"." },
        Param {
            name: "line",
            ty: "string",
            default: Some("none (required for state \"present\")"),
            doc: "The whole line, without newline, e.g. \"PermitRootLogin no\". With state \"absent\" and no regexp, lines equal to it are removed.",
        },
        Param {
            name: "regexp",
            ty: "string (regex)",
            default: Some("none"),
            doc: "Regex (Rust syntax, unanchored) selecting the line to replace: the last matching line becomes `line`, e.g. \"^#?PermitRootLogin\". With state \"absent\", every matching line is removed. Without a match, `line` is inserted unless already present.",
        },
        Param {
            name: "state",
            ty: "string",
            default: Some("\"present\""),
            doc: "\"present\" or \"absent\". A missing file has no lines, so \"absent\" on it is a no-op.",
        },
        Param {
            name: "insert_after",
            ty: "string (regex, \"EOF\")",
            default: Some("\"EOF\""),
            doc: "Where a new line goes: after the last line matching this regex, e.g. \"^\\\\[main\\\\]\"; at the end when nothing matches or with \"EOF\".",
        },
        Param {
            name: "insert_before",
            ty: "string (regex, \"BOF\")",
            default: Some("none"),
            doc: "Where a new line goes: before the last line matching this regex, or at the start with \"BOF\"; at the end when nothing matches.",
        },
        Param {
            name: "create",
            ty: "bool",
            default: Some("false"),
            doc: "Create the file (mode 0644) when missing; otherwise a missing file is an error, e.g. create: true.",
        },
    ];
}

/// Where a new line goes.
#[derive(Debug, Clone)]
pub(crate) enum Anchor {
    /// At the end.
    Eof,
    /// At the start.
    Bof,
    /// After the last line matching.
    After(Regex),
    /// Before the last line matching.
    Before(Regex),
}

/// What to do to the lines of a file.
#[derive(Debug, Clone)]
pub(crate) struct LineSpec {
    /// The desired line (required when present).
    pub line: Option<String>,
    /// The lines it replaces (present) or that go (absent).
    pub regexp: Option<Regex>,
    /// Present or absent.
    pub state: Presence,
    /// Where an added line goes.
    pub anchor: Anchor,
}

/// The result of editing a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Edit {
    /// Nothing to do, and why.
    Unchanged(String),
    /// The new text and a summary of the edit.
    Changed {
        /// The whole new text.
        text: String,
        /// `line added`, `line 3 replaced`, `2 lines removed`.
        summary: String,
    },
}

/// Compiles a user regex with the parameter name in the error.
pub(crate) fn regex(param: &str, re: &str) -> Result<Regex, String> {
    super::shared_regex::compiled(re).map_err(|e| format!("{param} is not a valid regex: {e}"))
}

impl LineSpec {
    /// Edits `text`. Lines are compared without a trailing `\r`; a changed
    /// text always ends with a newline.
    pub fn edit(&self, text: &str) -> Edit {
        let mut lines: Vec<&str> = text.split('\n').collect();
        if lines.last() == Some(&"") {
            lines.pop();
        }
        let bare = |l: &str| l.strip_suffix('\r').unwrap_or(l).to_string();
        let hits = |re: &Regex| lines.iter().rposition(|l| re.is_match(&bare(l)));
        let (lines, summary) = match self.state {
            Presence::Present => {
                let line = self.line.as_deref().unwrap_or_default();
                let mut out: Vec<&str> = lines.clone();
                if let Some(i) = self.regexp.as_ref().and_then(hits) {
                    if bare(lines[i]) == line {
                        return Edit::Unchanged(format!("line {} already as wanted", i + 1));
                    }
                    out[i] = line;
                    (out, format!("line {} replaced", i + 1))
                } else if lines.iter().any(|l| bare(l) == line) {
                    return Edit::Unchanged("line present".to_string());
                } else {
                    let at = match &self.anchor {
                        Anchor::Eof => lines.len(),
                        Anchor::Bof => 0,
                        Anchor::After(re) => hits(re).map_or(lines.len(), |i| i + 1),
                        Anchor::Before(re) => hits(re).unwrap_or(lines.len()),
                    };
                    out.insert(at, line);
                    (out, format!("line {} added", at + 1))
                }
            }
            Presence::Absent => {
                let gone = |l: &&str| match (&self.regexp, &self.line) {
                    (Some(re), _) => re.is_match(&bare(l)),
                    (None, Some(line)) => bare(l) == *line,
                    (None, None) => false,
                };
                let kept: Vec<&str> = lines.iter().copied().filter(|l| !gone(l)).collect();
                match lines.len() - kept.len() {
                    0 => return Edit::Unchanged("no matching line".to_string()),
                    1 => (kept, "1 line removed".to_string()),
                    n => (kept, format!("{n} lines removed")),
                }
            }
        };
        let mut text = lines.join("\n");
        if !text.is_empty() {
            text.push('\n');
        }
        Edit::Changed { text, summary }
    }

    /// Plans the edit of the file at `path`, whose state was probed with
    /// content. `Ok(Err(reason))` is a no-op.
    pub fn plan_file(
        &self,
        path: &str,
        cur: &PathState,
        create: bool,
    ) -> Result<Result<Change, String>, OpError> {
        let write = |before: Vec<u8>, text: String| {
            let content = Arc::new(text.into_bytes());
            let (write, diff) = write_with_diff(
                path,
                cur,
                Some(Arc::new(before)),
                content,
                &Attrs::default(),
            );
            (Action::Write(write), diff)
        };
        match cur.kind {
            PathKind::Missing if self.state == Presence::Absent => Ok(Err(format!("{path} does not exist"))),
            PathKind::Missing if !create => Err(OpError::Conflict(format!(
                "{path} does not exist; pass create: true to create it with the line, or create it first"
            ))),
            PathKind::Missing => match self.edit("") {
                Edit::Changed { text, .. } => {
                    let (action, diff) = write(Vec::new(), text);
                    Ok(Ok(Change::new(Symbol::Create, "file with the line", vec![action]).with_diff(diff)))
                }
                Edit::Unchanged(reason) => Ok(Err(reason)),
            },
            PathKind::File => {
                let Some(bytes) = &cur.content else {
                    return Err(OpError::Invalid(format!("the content of {path} could not be read")));
                };
                let text = std::str::from_utf8(bytes).map_err(|_| {
                    OpError::Conflict(format!("{path} is not UTF-8 text; line() only edits text files"))
                })?;
                match self.edit(text) {
                    Edit::Unchanged(reason) => Ok(Err(reason)),
                    Edit::Changed { text, summary } => {
                        let (action, diff) = write(bytes.clone(), text);
                        Ok(Ok(Change::new(Symbol::Update, summary, vec![action]).with_diff(diff)))
                    }
                }
            }
            _ => Err(wrong_kind(path, cur, "file")),
        }
    }
}

impl Build for Args {
    const ENSURES: &'static str =
        "a line is present in a file (replacing what a regexp matches), or absent";

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        absolute_path("path", &self.path)?;
        match (&self.line, self.state, &self.regexp) {
            (None, Presence::Present, _) => {
                return Err("state \"present\" needs line".to_string().into())
            }
            (None, Presence::Absent, None) => {
                return Err("state \"absent\" needs line or regexp".to_string().into())
            }
            (Some(l), ..) if l.contains('\n') => {
                return Err(
                    "line must be a single line; use copy() or template() for blocks"
                        .to_string()
                        .into(),
                )
            }
            _ => {}
        }
        let anchor = match (self.insert_after.as_deref(), self.insert_before.as_deref()) {
            (Some(_), Some(_)) => {
                return Err("takes only one of insert_after, insert_before"
                    .to_string()
                    .into())
            }
            (None, None) | (Some("EOF"), None) => Anchor::Eof,
            (None, Some("BOF")) => Anchor::Bof,
            (Some(re), None) => Anchor::After(regex("insert_after", re)?),
            (None, Some(re)) => Anchor::Before(regex("insert_before", re)?),
        };
        let regexp = self
            .regexp
            .as_deref()
            .map(|r| regex("regexp", r))
            .transpose()?;
        let spec = LineSpec {
            line: self.line,
            regexp,
            state: self.state,
            anchor,
        };
        Ok(OnPath::boxed(LineOp {
            path: self.path,
            spec,
            create: self.create,
        }))
    }
}

/// Ensures one line in a file.
#[derive(Debug)]
pub(crate) struct LineOp {
    path: String,
    spec: LineSpec,
    create: bool,
}

impl PathEdit for LineOp {
    const CONTENT: bool = true;

    fn kind(&self) -> &'static str {
        Args::OP
    }

    fn path(&self) -> &str {
        &self.path
    }

    fn plan(&self, cur: &PathState) -> Result<Plan, OpError> {
        Ok(match self.spec.plan_file(&self.path, cur, self.create)? {
            Ok(change) => Plan::of(vec![change]),
            Err(reason) => Plan::noop(reason),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(line: Option<&str>, regexp: Option<&str>, state: Presence, anchor: Anchor) -> LineSpec {
        LineSpec {
            line: line.map(str::to_string),
            regexp: regexp.map(|r| Regex::new(r).unwrap()),
            state,
            anchor,
        }
    }

    fn changed(e: Edit) -> (String, String) {
        match e {
            Edit::Changed { text, summary } => (text, summary),
            Edit::Unchanged(r) => panic!("unchanged: {r}"),
        }
    }

    #[test]
    fn appends_once() {
        let s = spec(Some("b"), None, Presence::Present, Anchor::Eof);
        let (text, summary) = changed(s.edit("a\n"));
        assert_eq!(
            (text.as_str(), summary.as_str()),
            ("a\nb\n", "line 2 added")
        );
        assert_eq!(s.edit(&text), Edit::Unchanged("line present".into()));
        assert_eq!(
            changed(s.edit("a")).0,
            "a\nb\n",
            "a missing final newline is added"
        );
        assert_eq!(changed(s.edit("")).0, "b\n");
    }

    #[test]
    fn replaces_the_last_match() {
        let s = spec(
            Some("PermitRootLogin no"),
            Some("^#?PermitRootLogin"),
            Presence::Present,
            Anchor::Eof,
        );
        let (text, summary) = changed(s.edit("#PermitRootLogin yes\nX\nPermitRootLogin yes\n"));
        assert_eq!(text, "#PermitRootLogin yes\nX\nPermitRootLogin no\n");
        assert_eq!(summary, "line 3 replaced");
        assert!(matches!(s.edit(&text), Edit::Unchanged(_)));
    }

    #[test]
    fn line_not_matching_its_regexp_stays_idempotent() {
        let s = spec(
            Some("port = 5433"),
            Some("^#port"),
            Presence::Present,
            Anchor::Eof,
        );
        let (text, _) = changed(s.edit("#port = 5432\n"));
        assert_eq!(text, "port = 5433\n");
        assert!(matches!(s.edit(&text), Edit::Unchanged(_)));
    }

    #[test]
    fn anchors() {
        let text = "[a]\nx=1\n[b]\ny=2\n";
        let re = |r: &str| Regex::new(r).unwrap();
        // (line, anchor, the text after adding it)
        let cases = [
            (
                "z=3",
                Anchor::After(re(r"^\[a\]")),
                "[a]\nz=3\nx=1\n[b]\ny=2\n",
            ),
            (
                "z=3",
                Anchor::Before(re(r"^\[b\]")),
                "[a]\nx=1\nz=3\n[b]\ny=2\n",
            ),
            ("# top", Anchor::Bof, "# top\n[a]\nx=1\n[b]\ny=2\n"),
            (
                "z=3",
                Anchor::After(re("^nope")),
                "[a]\nx=1\n[b]\ny=2\nz=3\n",
            ),
        ];
        for (line, anchor, want) in cases {
            let s = spec(Some(line), None, Presence::Present, anchor);
            assert_eq!(changed(s.edit(text)).0, want);
        }
    }

    #[test]
    fn removes_every_match() {
        let s = spec(None, Some("^tmp"), Presence::Absent, Anchor::Eof);
        let (text, summary) = changed(s.edit("tmp1\nkeep\ntmp2\n"));
        assert_eq!(
            (text.as_str(), summary.as_str()),
            ("keep\n", "2 lines removed")
        );
        let exact = spec(Some("keep"), None, Presence::Absent, Anchor::Eof);
        assert_eq!(changed(exact.edit("keep\n")).0, "");
        assert_eq!(
            exact.edit("other\n"),
            Edit::Unchanged("no matching line".into())
        );
    }

    #[test]
    fn crlf_lines_compare_equal() {
        let s = spec(Some("b"), None, Presence::Present, Anchor::Eof);
        assert!(matches!(s.edit("a\r\nb\r\n"), Edit::Unchanged(_)));
    }
}
