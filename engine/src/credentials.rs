//! Credentials: secret values read from a directory of `NAME.env` files.
//!
//! The KeyBuzz rule is that secrets live only in 0600 credential files
//! (`/opt/keybuzz-installer/credentials/postgres.env`, ...), never in scripts,
//! inventories or git. A playbook asks for a value by name,
//! `secret("POSTGRES_SUPERUSER_PASSWORD")` (also available in templates),
//! and the value is registered with [`Secrets`] the moment it is read, so it is
//! masked in every report, diff and rendered review file from then on.
//!
//! A credentials file that group or others can read is refused: the tool
//! should not quietly rely on a secret that has already leaked on disk.
//!
//! `render` reads no credentials at all ([`Credentials::review`]): `secret()`
//! gives `<secret:NAME>`, so a review file holds no form of a real value (no
//! filter or encoder output to escape the masking) and a reviewer without the
//! production folder can still render.

use std::collections::BTreeMap;
use std::fmt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::secrets::Secrets;
use crate::short_values::ShortValues;

pub mod password;

pub use password::PasswordSpec;

/// Where credentials are read from when nothing else is said.
pub const DEFAULT_DIR: &str = "/opt/keybuzz-installer/credentials";

/// Why a secret could not be had.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CredentialsError {
    /// The directory does not exist or cannot be listed.
    #[error("cannot read the credentials directory {dir}: {reason} (point --credentials at the folder holding the NAME.env files)")]
    Dir {
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// A file is readable by group or others.
    #[error("{file} is readable by group or others (mode {mode:04o}); secrets must be in 0600 files: chmod 600 {file}")]
    Insecure {
        /// The file.
        file: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
    /// A line is not `KEY=value`.
    #[error("{file}:{line}: expected KEY=value")]
    Syntax {
        /// The file.
        file: PathBuf,
        /// 1-based line.
        line: usize,
    },
    /// A `password` lookup's file could not be read or written.
    #[error("password file {file}: {reason}")]
    Password {
        /// The file.
        file: PathBuf,
        /// What failed.
        reason: String,
    },
    /// No file defines the name.
    #[error("no credential named '{name}' in {dir}/*.env{}", suggestion.as_ref().map(|s| format!("; did you mean '{s}'?")).unwrap_or_default())]
    Unknown {
        /// The name asked for.
        name: String,
        /// The directory.
        dir: PathBuf,
        /// A close existing name.
        suggestion: Option<String>,
    },
}

/// What `secret("NAME")` gives in a review (`render`): the name, never the
/// value.
pub fn placeholder(name: &str) -> String {
    format!("<secret:{name}>")
}

/// A credential's value and the file that defines it (named in warnings).
#[derive(Debug, Clone)]
struct Entry {
    value: String,
    file: PathBuf,
}

/// The credentials directory, read once on first use.
pub struct Credentials {
    dir: PathBuf,
    /// A review: no directory is read, `get` gives [`placeholder`]s.
    review: bool,
    secrets: Secrets,
    values: OnceLock<Result<BTreeMap<String, Entry>, CredentialsError>>,
    /// Warns about a value too short to be masked.
    short: ShortValues,
}

impl fmt::Debug for Credentials {
    /// The folder and mode, never a value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("dir", &self.dir)
            .field("review", &self.review)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Credentials from `dir`; values read are registered with `secrets`.
    pub fn new(dir: impl Into<PathBuf>, secrets: Secrets) -> Self {
        Credentials {
            dir: dir.into(),
            review: false,
            secrets,
            values: OnceLock::new(),
            short: ShortValues::default(),
        }
    }

    /// Credentials for a review: nothing is read, [`Credentials::get`] gives
    /// `<secret:NAME>` for any name.
    pub fn review() -> Self {
        Credentials {
            review: true,
            ..Credentials::new(PathBuf::new(), Secrets::new())
        }
    }

    /// Sends warnings (a value too short to be masked) to `warn`.
    pub fn with_warnings(mut self, warn: impl Fn(String) + Send + Sync + 'static) -> Self {
        self.short = ShortValues::new(warn);
        self
    }

    /// The value of `name`, registered as a secret before it is returned; in
    /// a review, its [`placeholder`].
    pub fn get(&self, name: &str) -> Result<String, CredentialsError> {
        if self.review {
            return Ok(placeholder(name));
        }
        let values = self
            .values
            .get_or_init(|| load(&self.dir))
            .as_ref()
            .map_err(Clone::clone)?;
        match values.get(name) {
            Some(entry) => {
                self.secrets.add_named(name, &entry.value);
                let file = entry.file.display();
                self.short
                    .check(&entry.value, || format!("credential {name} in {file}"));
                Ok(entry.value.clone())
            }
            None => Err(CredentialsError::Unknown {
                name: name.to_string(),
                dir: self.dir.clone(),
                suggestion: crate::op::suggest(name, values.keys().map(String::as_str))
                    .map(str::to_string),
            }),
        }
    }
}

impl Credentials {
    /// Masks `value` in every output from now on, as a secret: a value
    /// derived from one (a SCRAM verifier) that must not show either.
    pub fn mask(&self, value: &str) {
        self.secrets.add(value);
    }
}

fn load(dir: &Path) -> Result<BTreeMap<String, Entry>, CredentialsError> {
    let dir_err = |e: std::io::Error| CredentialsError::Dir {
        dir: dir.to_path_buf(),
        reason: e.to_string(),
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(dir_err)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "env") && p.is_file())
        .collect();
    files.sort();
    let mut values = BTreeMap::new();
    for file in files {
        let mode = std::fs::metadata(&file)
            .map_err(dir_err)?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(CredentialsError::Insecure { file, mode });
        }
        let text = std::fs::read_to_string(&file).map_err(dir_err)?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let Some((key, value)) = line.split_once('=') else {
                return Err(CredentialsError::Syntax { file, line: i + 1 });
            };
            let value = value.trim();
            let value = ['"', '\'']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            let entry = Entry {
                value: value.to_string(),
                file: file.clone(),
            };
            values.insert(key.trim().to_string(), entry);
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str, mode: u32) {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn reads_env_files_and_registers_values() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            "postgres.env",
            "# pg\nexport POSTGRES_PASSWORD=\"s3cr3t-pw\"\nPG_USER=app\n",
            0o600,
        );
        let secrets = Secrets::default();
        let c = Credentials::new(dir.path(), secrets.clone());
        assert_eq!(c.get("POSTGRES_PASSWORD").unwrap(), "s3cr3t-pw");
        assert_eq!(secrets.mask("pw is s3cr3t-pw"), "pw is ********");
        let err = c.get("POSTGRES_PASWORD").unwrap_err().to_string();
        assert!(err.contains("did you mean 'POSTGRES_PASSWORD'"), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
    }

    #[test]
    fn refuses_files_others_can_read() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "redis.env", "REDIS_PASSWORD=x\n", 0o644);
        let err = Credentials::new(dir.path(), Secrets::default())
            .get("REDIS_PASSWORD")
            .unwrap_err();
        assert!(
            matches!(err, CredentialsError::Insecure { mode: 0o644, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn missing_directory_says_what_to_do() {
        let err = Credentials::new("/nonexistent/kbz", Secrets::default())
            .get("X")
            .unwrap_err();
        assert!(err.to_string().contains("--credentials"), "{err}");
    }

    #[test]
    fn a_review_reads_nothing_and_gives_placeholders() {
        let c = Credentials::review();
        assert_eq!(c.get("REDIS_PASSWORD").unwrap(), "<secret:REDIS_PASSWORD>");
    }

    #[test]
    fn a_short_value_is_warned_about_once_by_file_and_key() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "app.env", "PIN=~%^\nLONG=long-enough\n", 0o600);
        let said = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = said.clone();
        let c = Credentials::new(dir.path(), Secrets::default())
            .with_warnings(move |m| sink.lock().unwrap().push(m));
        for name in ["PIN", "PIN", "LONG"] {
            c.get(name).unwrap();
        }
        let said = said.lock().unwrap();
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("PIN") && said[0].contains("app.env"),
            "{said:?}"
        );
        assert!(!said[0].contains("~%^"), "{said:?}");
    }
}
