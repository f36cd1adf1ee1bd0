//! Plans: what an operation would change, and how.

use std::sync::Arc;

use serde::Serialize;

/// Terraform's plan symbols, so a plan reads the same as `terraform plan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Symbol {
    /// `+`: something is created.
    #[serde(rename = "+")]
    Create,
    /// `~`: something is changed in place.
    #[serde(rename = "~")]
    Update,
    /// `-`: something is removed.
    #[serde(rename = "-")]
    Delete,
    /// `!`: a command runs (its effect is not known in advance).
    #[serde(rename = "!")]
    Run,
}

impl Symbol {
    /// The one-character symbol.
    pub fn as_char(self) -> char {
        match self {
            Symbol::Create => '+',
            Symbol::Update => '~',
            Symbol::Delete => '-',
            Symbol::Run => '!',
        }
    }
}

/// A file to write atomically: temp file in the target directory, fsync,
/// mode and owner set, validated, then renamed over the target.
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
pub struct WriteFile {
    /// Absolute target path.
    pub path: String,
    /// The new content (shared: templates can be large and are also diffed).
    #[serde(skip)]
    pub content: Arc<Vec<u8>>,
    /// Permission bits; `None` keeps the current file's mode, or 0644 for a new one.
    pub mode: Option<u32>,
    /// Owner name; `None` keeps the current owner (or the remote user).
    pub owner: Option<String>,
    /// Group name; `None` keeps the current group.
    pub group: Option<String>,
    /// A command that must accept the new file before it replaces the old
    /// one; `{}` stands for the new file's (temporary) path, e.g.
    /// `haproxy -c -f {}`. On failure the old file stays and the op fails
    /// with the validator's output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validate: Option<String>,
    /// What the write replaces, when its plan read the path: the write is
    /// then a compare-and-swap, made only while the host still has exactly
    /// this (checked in the write script, right before the rename). `None`:
    /// the write replaces whatever is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expected>,
}

/// The state of a path a write was planned from (see [`WriteFile::expect`]).
///
/// The rule: a write expects what its op probed whenever the plan decided
/// from that state (a `line` edit of the probed text, a `copy` replacing a
/// file whose digest differed, a file created because none was there), so a
/// change made on the host since (a service rewriting its config during the
/// play) is found instead of silently overwritten from a stale snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expected {
    /// Nothing at the path.
    Missing,
    /// A regular file with this SHA-256 (lowercase hex).
    Sha256(String),
}

impl Expected {
    /// What `cur` says is at the path; `None` when the probe cannot tell
    /// (something else than a file, or a file whose digest was not read).
    pub fn of(cur: &crate::probe::PathState) -> Option<Expected> {
        use crate::probe::PathKind;
        match (&cur.kind, &cur.sha256) {
            (PathKind::Missing, _) => Some(Expected::Missing),
            (PathKind::File, Some(h)) => Some(Expected::Sha256(h.clone())),
            _ => None,
        }
    }
}

impl std::fmt::Debug for WriteFile {
    /// Never prints content: it may hold secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteFile")
            .field("path", &self.path)
            .field("bytes", &self.content.len())
            .field("mode", &self.mode.map(|m| format!("{m:04o}")))
            .field("owner", &self.owner)
            .field("group", &self.group)
            .field("validate", &self.validate)
            .field("expect", &self.expect)
            .finish()
    }
}

/// Bytes a command reads on its stdin. Secret values (a `shell`'s env, a
/// container's env file) travel here and never in the script: the script is
/// an argument of `ssh`, `sudo` and `sh -c`, so `ps` on the host shows it for
/// as long as the command runs, and sudo logs it under `--become`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Input(pub Arc<Vec<u8>>);

impl std::fmt::Debug for Input {
    /// Never prints the bytes: they are usually secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Input({} bytes)", self.0.len())
    }
}

impl Serialize for Input {
    /// Only the size, so a plan shows that input is sent but not what.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{} bytes on stdin", self.0.len()))
    }
}

/// One step of applying a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Run a shell script on the host (`sh -c`, through sudo with `--become`).
    Exec {
        /// The script.
        script: String,
        /// Fail the operation when the exit status is not 0.
        check: bool,
        /// What the script reads on stdin (otherwise stdin is empty). A
        /// command with input runs on its own, never in a batch, whose stdin
        /// carries the files.
        #[serde(skip_serializing_if = "Option::is_none")]
        input: Option<Input>,
    },
    /// Write a file atomically.
    Write(WriteFile),
    /// Make a directory that was missing when probed.
    Mkdir(NewDirectory),
}

/// A directory to make, and its missing parents. A plain `mkdir`, not a
/// script, so that a batch can make consecutive ones with one program
/// (see `transport/batch.rs`): a first run makes many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewDirectory {
    /// Absolute path.
    pub path: String,
    /// Its mode (`mkdir -m`); `None`: the host's default (umask).
    #[serde(serialize_with = "octal")]
    pub mode: Option<u32>,
}

impl NewDirectory {
    /// The script making it alone: its missing parents with `mkdir -p`
    /// (the umask's mode, as Ansible's `file` gives them), then the
    /// directory with `mkdir -m`, which sets the mode through a descriptor
    /// it opens with `O_NOFOLLOW` (coreutils' `dirchownmod`), so a link
    /// swapped in by a service that owns the folder leads nowhere. Without
    /// `-p`, `mkdir` fails when something is at the path by then, as a
    /// write's compare-and-swap does.
    pub fn script(&self) -> String {
        let parent = crate::shell::quote(self.parent());
        format!(
            "[ -d {parent} ] || mkdir -p -- {parent}\nmkdir {}-- {}",
            self.mode_flag(),
            crate::shell::quote(&self.path)
        )
    }

    /// The folder it is made in.
    pub fn parent(&self) -> &str {
        match self.path.rsplit_once('/') {
            Some(("", _)) | None => "/",
            Some((p, _)) => p,
        }
    }

    /// `-m 0750 ` for `mkdir`, or nothing.
    pub fn mode_flag(&self) -> String {
        self.mode
            .map(|m| format!("-m {m:04o} "))
            .unwrap_or_default()
    }
}

/// A mode as a plan shows it: `"0750"`.
fn octal<S: serde::Serializer>(mode: &Option<u32>, s: S) -> Result<S::Ok, S::Error> {
    match mode {
        Some(m) => s.serialize_str(&format!("{m:04o}")),
        None => s.serialize_none(),
    }
}

impl Action {
    /// A checked shell command.
    pub fn exec(script: impl Into<String>) -> Self {
        Action::Exec {
            script: script.into(),
            check: true,
            input: None,
        }
    }

    /// A checked shell command reading `input` on its stdin.
    pub fn exec_with_input(script: impl Into<String>, input: Vec<u8>) -> Self {
        Action::Exec {
            script: script.into(),
            check: true,
            input: Some(Input(Arc::new(input))),
        }
    }

    /// The bytes this action sends on stdin that are not a file's content.
    pub fn input(&self) -> Option<&Input> {
        match self {
            Action::Exec { input, .. } => input.as_ref(),
            Action::Write(_) | Action::Mkdir(_) => None,
        }
    }
}

/// The before and after of a file, for `--diff`.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct ContentDiff {
    /// The file.
    pub path: String,
    /// Current content, if the probe fetched it; otherwise the engine fetches it
    /// when a diff is asked for.
    #[serde(skip)]
    pub before: Option<Arc<Vec<u8>>>,
    /// Desired content.
    #[serde(skip)]
    pub after: Arc<Vec<u8>>,
}

impl std::fmt::Debug for ContentDiff {
    /// Never prints content: it may hold secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContentDiff")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// One thing that differs between the host and the desired state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Create, update, delete or run.
    pub symbol: Symbol,
    /// Short human description: `mode 0644 -> 0640`, `content`, `started`.
    pub summary: String,
    /// What to do on the host, in order.
    pub actions: Vec<Action>,
    /// For content changes, the material for a unified diff.
    #[serde(skip)]
    pub diff: Option<ContentDiff>,
}

impl Change {
    /// A change performed by the given actions.
    pub fn new(symbol: Symbol, summary: impl Into<String>, actions: Vec<Action>) -> Self {
        Change {
            symbol,
            summary: summary.into(),
            actions,
            diff: None,
        }
    }

    /// Attaches before/after content for `--diff`.
    pub fn with_diff(mut self, diff: ContentDiff) -> Self {
        self.diff = Some(diff);
        self
    }
}

/// What an operation decided.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    /// The changes, in the order they must be applied. Empty: nothing to do.
    pub changes: Vec<Change>,
    /// When there are no changes, why (e.g. "`creates` path exists"); shown in verbose output.
    pub reason: Option<String>,
}

impl Plan {
    /// Nothing to do, for the given reason.
    pub fn noop(reason: impl Into<String>) -> Self {
        Plan {
            changes: Vec::new(),
            reason: Some(reason.into()),
        }
    }

    /// A plan made of these changes.
    pub fn of(changes: Vec<Change>) -> Self {
        Plan {
            changes,
            reason: None,
        }
    }

    /// Whether applying the plan would change the host.
    pub fn is_noop(&self) -> bool {
        self.changes.is_empty()
    }

    /// The symbol summarising the plan: `+` if anything is created, else `-`
    /// if anything is deleted, else `~`, else `!`.
    pub fn symbol(&self) -> Option<Symbol> {
        let has = |s| self.changes.iter().any(|c| c.symbol == s);
        [Symbol::Create, Symbol::Delete, Symbol::Update, Symbol::Run]
            .into_iter()
            .find(|s| has(*s))
    }
}
