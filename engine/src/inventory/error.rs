//! Errors raised while loading an inventory or resolving a host pattern.
//!
//! Every error that comes from a file carries a [`SourceLocation`], so the
//! message starts with `file:line:col:` the way compilers print it: editors
//! and terminals turn that prefix into a clickable jump to the problem.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in which file a problem was found.
///
/// Line and column are 1-based and optional because some problems (an
/// unreadable file, a schema error inside a flow-style YAML mapping) cannot be
/// pinned to a position; the file name alone is still printed then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file, as the user spelled it (relative paths stay relative so the
    /// message matches what they typed).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based character column, when known.
    pub column: Option<usize>,
}

impl SourceLocation {
    /// A location that names only the file, for whole-file problems.
    pub fn file(file: &Path) -> Self {
        Self {
            file: file.to_path_buf(),
            line: None,
            column: None,
        }
    }

    /// A location with a known line and column, the common case for TSV.
    pub fn at(file: &Path, line: usize, column: usize) -> Self {
        Self {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column),
        }
    }

    /// A location whose line/column may or may not have been found (the YAML
    /// key locator is best-effort).
    pub fn maybe(file: &Path, pos: Option<(usize, usize)>) -> Self {
        Self {
            file: file.to_path_buf(),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// Everything that can go wrong while loading an inventory or selecting hosts.
///
/// The messages are meant to be shown to operators as-is: each names where
/// the problem is and what to change, so the CLI does not need to add context.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// A file or directory could not be read (missing, permissions, ...).
    #[error("{location}: cannot read: {source}; check the path and its permissions")]
    Io {
        /// The file or directory that failed.
        location: SourceLocation,
        /// The underlying OS error.
        #[source]
        source: std::io::Error,
    },

    /// A servers.tsv problem: bad header, wrong cell count, duplicate host,
    /// invalid cell value. The message already says how to fix it.
    #[error("{location}: {message}")]
    Tsv {
        /// File, line and column of the offending cell.
        location: SourceLocation,
        /// What is wrong and what to do about it.
        message: String,
    },

    /// An INI inventory line Ansible would reject too (bad section, host
    /// line or `key=value`, a group no section defines).
    #[error("{location}: {message}")]
    Ini {
        /// File, line and column of the offending line or word.
        location: SourceLocation,
        /// What is wrong and how to write it.
        message: String,
    },

    /// The file is not valid YAML at all (indentation, unclosed quotes...).
    #[error("{location}: invalid YAML: {message}")]
    YamlSyntax {
        /// Position reported by the YAML parser.
        location: SourceLocation,
        /// The parser's description of the problem.
        message: String,
    },

    /// The file is valid YAML but does not follow Ansible's inventory or vars
    /// file schema (e.g. `hosts:` given as a list).
    #[error("{location}: {message}")]
    Schema {
        /// Best-effort position of the offending key.
        location: SourceLocation,
        /// What is wrong and what the expected shape is.
        message: String,
    },

    /// A directory was given but holds no inventory file we know, or several.
    #[error("{location}: {message}")]
    NoInventoryFile {
        /// The directory.
        location: SourceLocation,
        /// Which files were looked for or found.
        message: String,
    },

    /// The file extension does not name a format we can read.
    #[error("{location}: {message}")]
    UnsupportedFormat {
        /// The file.
        location: SourceLocation,
        /// Which formats are supported, and how to convert.
        message: String,
    },

    /// An executable inventory file that could not be run, failed, timed
    /// out, or printed no inventory JSON.
    #[error("{location}: inventory script: {message}")]
    Script {
        /// The script.
        location: SourceLocation,
        /// What went wrong, with the script's stderr when it wrote any.
        message: String,
    },

    /// A file that several readers may read (a `.yml` file may be YAML or
    /// INI, an executable one a script) and none could: why each refused,
    /// in the order they were tried, as Ansible lists its plugins' reasons.
    #[error("{location}: no inventory reader could read this file:{}", reasons(.failures))]
    Unparsed {
        /// The file.
        location: SourceLocation,
        /// Each reader tried (`script`, `yaml`, `ini`) and its error.
        failures: Vec<(&'static str, InventoryError)>,
    },

    /// A host-pattern term names no known host or group and matches nothing.
    ///
    /// This is an error rather than an empty result because a typo in
    /// `--limit` (or worse, in a `!exclusion`) silently changes which
    /// machines get touched.
    #[error("no host or group matches '{term}'{}", unknown_hint(.suggestion.as_deref(), .groups))]
    UnknownPattern {
        /// The pattern term that matched nothing.
        term: String,
        /// The closest known host or group name, if one is close enough.
        suggestion: Option<String>,
        /// Known group names, listed when there is no close suggestion.
        groups: Vec<String>,
    },

    /// The pattern itself is malformed (empty term, bad glob or regex).
    #[error("invalid host pattern '{pattern}': {message}")]
    InvalidPattern {
        /// The whole pattern or the offending term.
        pattern: String,
        /// What is wrong and how to write it instead.
        message: String,
    },
}

fn reasons(failures: &[(&'static str, InventoryError)]) -> String {
    failures
        .iter()
        .map(|(reader, e)| format!("\n  as {reader}: {e}"))
        .collect()
}

fn unknown_hint(suggestion: Option<&str>, groups: &[String]) -> String {
    if let Some(s) = suggestion {
        return format!("; did you mean '{s}'?");
    }
    if groups.is_empty() {
        return "; the inventory defines no groups, check the host name".to_string();
    }
    const MAX: usize = 12;
    let mut list = groups
        .iter()
        .take(MAX)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if groups.len() > MAX {
        list.push_str(&format!(", ... ({} more)", groups.len() - MAX));
    }
    format!("; check the spelling (known groups: {list})")
}

impl InventoryError {
    /// Shorthand for a TSV error at a cell.
    pub(crate) fn tsv(file: &Path, line: usize, column: usize, message: impl Into<String>) -> Self {
        Self::Tsv {
            location: SourceLocation::at(file, line, column),
            message: message.into(),
        }
    }

    /// Shorthand for a schema error at a best-effort position.
    pub(crate) fn schema(
        file: &Path,
        pos: Option<(usize, usize)>,
        message: impl Into<String>,
    ) -> Self {
        Self::Schema {
            location: SourceLocation::maybe(file, pos),
            message: message.into(),
        }
    }

    /// Wrap an I/O error for a path.
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            location: SourceLocation::file(path),
            source,
        }
    }

    /// The file location of the error, if it came from a file (for a file
    /// no reader read, where the first reader tried stopped).
    ///
    /// Lets callers (LSP-like tooling, the CLI's colouring) point at the
    /// problem without parsing the message.
    pub fn location(&self) -> Option<&SourceLocation> {
        match self {
            Self::Io { location, .. }
            | Self::Tsv { location, .. }
            | Self::Ini { location, .. }
            | Self::YamlSyntax { location, .. }
            | Self::Schema { location, .. }
            | Self::NoInventoryFile { location, .. }
            | Self::Script { location, .. }
            | Self::UnsupportedFormat { location, .. } => Some(location),
            // The first reader is the one the file's name asks for (YAML for
            // `hosts.yml`): its position is the one worth jumping to.
            Self::Unparsed { location, failures } => failures
                .first()
                .and_then(|(_, e)| e.location())
                .or(Some(location)),
            Self::UnknownPattern { .. } | Self::InvalidPattern { .. } => None,
        }
    }
}
