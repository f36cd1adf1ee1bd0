//! Script errors, located: every message names `file:line:col`, shows the
//! offending line with a caret, and says what went wrong.

use std::path::PathBuf;

use rhai::{EvalAltResult, Position};

/// A playbook or role that could not be loaded or evaluated.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The file could not be read.
    #[error("cannot read playbook {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        error: String,
    },
    /// A located error: syntax or runtime.
    #[error("{kind} at {location}: {message}{}", snippet.as_ref().map(|s| format!("\n{s}")).unwrap_or_default())]
    Located {
        /// `syntax error`, `error`, ...
        kind: &'static str,
        /// `playbooks/site.rhai:12:5`.
        location: String,
        /// What went wrong.
        message: String,
        /// The offending line with a caret under the column.
        snippet: Option<String>,
    },
}

impl ScriptError {
    /// An error at `pos` in `file`, whose text is `source`.
    pub fn at(
        file: &str,
        pos: Position,
        source: &str,
        message: String,
        kind: &'static str,
    ) -> Self {
        ScriptError::Located {
            kind,
            location: location(file, pos),
            message,
            snippet: snippet(source, pos),
        }
    }

    /// Locates a Rhai evaluation error: the innermost position, in the file
    /// (playbook or role) it belongs to.
    pub fn from_eval(err: &EvalAltResult, sources: &super::Sources) -> Self {
        let (label, pos, message) = locate(err);
        let label = label.unwrap_or_else(|| sources.playbook.clone());
        let text = sources
            .file(Some(&label))
            .and_then(|f| std::fs::read_to_string(f).ok())
            .unwrap_or_default();
        ScriptError::at(&sources.display(Some(&label)), pos, &text, message, "error")
    }
}

/// `file:line:col`, or just `file` when the position is unknown.
pub fn location(file: &str, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
        (Some(l), None) => format!("{file}:{l}"),
        _ => file.to_string(),
    }
}

fn snippet(source: &str, pos: Position) -> Option<String> {
    let line = pos.line()?;
    let text = source.lines().nth(line - 1)?;
    let gutter = line.to_string().len();
    let caret = pos
        .position()
        .map(|c| format!("\n{:gutter$} | {}^", "", " ".repeat(c.saturating_sub(1))))
        .unwrap_or_default();
    Some(format!("{line} | {text}{caret}"))
}

/// Walks a Rhai error down to where it really happened: the innermost
/// position, the source file it belongs to (role modules included), and the
/// message without Rhai's position suffix.
pub fn locate(err: &EvalAltResult) -> (Option<String>, Position, String) {
    let mut source: Option<String> = None;
    let mut pos = err.position();
    let mut e = err;
    loop {
        match e {
            EvalAltResult::ErrorInFunctionCall(_, src, inner, p) => {
                if !src.is_empty() {
                    source = Some(src.clone());
                }
                if !p.is_none() {
                    pos = *p;
                }
                e = inner;
            }
            EvalAltResult::ErrorInModule(path, inner, p) => {
                if !path.is_empty() {
                    source = Some(path.clone());
                }
                if !p.is_none() {
                    pos = *p;
                }
                e = inner;
            }
            other => {
                if !other.position().is_none() {
                    pos = other.position();
                }
                let message = match other {
                    EvalAltResult::ErrorRuntime(v, _) => v.to_string(),
                    _ => {
                        let mut m = other.to_string();
                        if let Some(i) = m.rfind(" (line ") {
                            m.truncate(i);
                        }
                        m
                    }
                };
                return (source, pos, message);
            }
        }
    }
}
