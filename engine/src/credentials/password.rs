//! Ansible's `password` lookup: a password generated once, kept in a 0600
//! file under the credentials folder, and a secret from then on (masked in
//! every output; in a review, a placeholder, as `secret()` gives).

use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use super::{placeholder, Credentials, CredentialsError};

/// How a new password is made: Ansible's `length=` and `chars=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordSpec {
    /// How many characters (Ansible's default: 20).
    pub length: usize,
    /// The characters drawn from.
    pub chars: Vec<char>,
}

impl Default for PasswordSpec {
    /// Ansible's default: letters, digits and `.,:-_`.
    fn default() -> Self {
        PasswordSpec {
            length: 20,
            chars: charset(&["ascii_letters", "digits", ".,:-_"]),
        }
    }
}

/// The characters of Ansible's `chars=` names (Python's `string` constants),
/// a name that is none of them standing for its own characters.
pub fn charset(names: &[&str]) -> Vec<char> {
    let mut chars = String::new();
    for name in names {
        chars.push_str(match *name {
            "ascii_letters" => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "ascii_lowercase" => "abcdefghijklmnopqrstuvwxyz",
            "ascii_uppercase" => "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
            "digits" => "0123456789",
            "hexdigits" => "0123456789abcdefABCDEF",
            "octdigits" => "01234567",
            "punctuation" => "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
            literal => literal,
        });
    }
    let mut out: Vec<char> = chars.chars().collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl Credentials {
    /// The password kept at `path` (relative to the credentials folder),
    /// made by `spec` and stored 0600 the first time; registered as a secret.
    /// `/dev/null` gives a new password each time, stored nowhere.
    pub fn password(&self, path: &str, spec: &PasswordSpec) -> Result<String, CredentialsError> {
        if self.review {
            return Ok(placeholder(&format!("password:{path}")));
        }
        let file = self.dir.join(path);
        let value = if path == "/dev/null" {
            generate(spec).map_err(|e| failed(&file, &e))?
        } else if file.exists() {
            read(&file)?
        } else {
            let value = generate(spec).map_err(|e| failed(&file, &e))?;
            store(&file, &value).map_err(|e| failed(&file, &e))?;
            value
        };
        self.secrets.add_named(path, &value);
        Ok(value)
    }
}

fn failed(file: &Path, e: &std::io::Error) -> CredentialsError {
    CredentialsError::Password {
        file: file.to_path_buf(),
        reason: e.to_string(),
    }
}

/// A stored password: its first line (Ansible keeps ` salt=...` after it).
fn read(file: &Path) -> Result<String, CredentialsError> {
    let mode = std::fs::metadata(file)
        .map_err(|e| failed(file, &e))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(CredentialsError::Insecure {
            file: file.to_path_buf(),
            mode,
        });
    }
    let text = std::fs::read_to_string(file).map_err(|e| failed(file, &e))?;
    let first = text.lines().next().unwrap_or_default();
    Ok(first.split(" salt=").next().unwrap_or_default().to_string())
}

/// Writes a new password file, 0600 from its creation (never readable by
/// others, even for a moment); its folder is made 0700 if missing.
fn store(file: &Path, value: &str) -> std::io::Result<()> {
    if let Some(dir) = file.parent().filter(|d| !d.exists()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(file)?;
    out.write_all(format!("{value}\n").as_bytes())
}

/// A password of `spec.length` characters drawn uniformly from `spec.chars`
/// (the kernel's random bytes; a byte past the last whole multiple of the
/// set's size is drawn again, so no character is favoured).
fn generate(spec: &PasswordSpec) -> std::io::Result<String> {
    let n = spec.chars.len();
    if n == 0 || n > 256 {
        return Err(std::io::Error::other(
            "chars= must name 1 to 256 characters",
        ));
    }
    let limit = 256 - 256 % n;
    let mut random = std::fs::File::open("/dev/urandom")?;
    let mut out = String::with_capacity(spec.length);
    let mut byte = [0u8; 1];
    while out.chars().count() < spec.length {
        random.read_exact(&mut byte)?;
        if usize::from(byte[0]) < limit {
            out.push(spec.chars[usize::from(byte[0]) % n]);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secrets;

    #[test]
    fn a_password_is_made_once_kept_0600_and_masked() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Secrets::new();
        let creds = Credentials::new(dir.path(), secrets.clone());
        let spec = PasswordSpec {
            length: 32,
            chars: charset(&["digits"]),
        };
        let first = creds.password("db/app", &spec).unwrap();
        assert_eq!(first.len(), 32);
        assert!(first.chars().all(|c| c.is_ascii_digit()), "{first}");
        let file = dir.path().join("db/app");
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(creds.password("db/app", &spec).unwrap(), first, "made once");
        let shown = secrets.mask(&format!("pw={first}"));
        assert!(!shown.contains(&first), "registered as a secret: {shown}");
    }

    #[test]
    fn a_kept_password_readable_by_others_is_refused_and_a_review_reads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cretvalue salt=abc\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let creds = Credentials::new(dir.path(), Secrets::new());
        let spec = PasswordSpec::default();
        assert_eq!(creds.password("pw", &spec).unwrap(), "s3cretvalue");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = creds.password("pw", &spec).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        let review = Credentials::review().password("pw", &spec).unwrap();
        assert_eq!(review, "<secret:password:pw>");
        assert_eq!(spec.chars.len(), 52 + 10 + 5);
    }
}
