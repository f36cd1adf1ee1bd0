//! What an operation call returns to the script.

use serde::Serialize;

/// The result of one operation on one host: the script branches on it
/// (`if r.changed`, `r.stdout`), and `.notify("handler")` hangs a handler on it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OpResult {
    /// Whether the host was changed (or, under `--check`, would have been).
    pub changed: bool,
    /// Whether the operation was skipped (tags, `--check` for commands).
    pub skipped: bool,
    /// Exit status of the last command run, 0 when none ran.
    pub rc: i64,
    /// Standard output of the last command run, trailing newline removed.
    pub stdout: String,
    /// Standard error of the last command run, trailing newline removed.
    pub stderr: String,
    /// One line per change, with its plan symbol (`~ content`).
    pub changes: Vec<String>,
}

impl OpResult {
    /// Registers the type and its getters with Rhai.
    pub fn register(engine: &mut rhai::Engine) {
        engine
            .register_type_with_name::<OpResult>("OpResult")
            .register_get("changed", |r: &mut OpResult| r.changed)
            .register_get("skipped", |r: &mut OpResult| r.skipped)
            .register_get("rc", |r: &mut OpResult| r.rc)
            .register_get("stdout", |r: &mut OpResult| r.stdout.clone())
            .register_get("stderr", |r: &mut OpResult| r.stderr.clone())
            .register_get("ok", |r: &mut OpResult| r.rc == 0)
            .register_get("changes", |r: &mut OpResult| {
                r.changes
                    .iter()
                    .cloned()
                    .map(rhai::Dynamic::from)
                    .collect::<rhai::Array>()
            })
            .register_fn("to_string", |r: &mut OpResult| {
                format!("OpResult(changed: {}, rc: {})", r.changed, r.rc)
            });
    }
}
