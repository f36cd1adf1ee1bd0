//! Ansible Vault: files and `!vault` values encrypted with `ansible-vault`.
//!
//! The format (`ansible.parsing.vault.VaultAES256`): a header line
//! `$ANSIBLE_VAULT;1.1;AES256` (or `1.2;AES256;LABEL`, naming the vault id
//! it was encrypted for), then hex lines which, joined and decoded, are three
//! hex lines: salt, HMAC, ciphertext. PBKDF2-HMAC-SHA256 with 10000
//! iterations derives 80 bytes from the password and salt: the AES-256 key,
//! the HMAC-SHA256 key and the CTR counter block. The HMAC of the ciphertext
//! is checked (in constant time) before AES-256-CTR decrypts it, and PKCS#7
//! padding is removed.
//!
//! The `ansible-vault` crate (0.2.1) implements this on old RustCrypto
//! majors (hmac 0.10, sha2 0.9, pbkdf2 0.7 and the deprecated aes-ctr 0.6,
//! a second copy of each beside the engine's) and has no vault ids, so this
//! module builds on the RustCrypto crates on the engine's digest 0.10
//! (`hmac`, `sha2`, plus `aes`, `ctr` and `pbkdf2`): no hand-written
//! cryptography.
//!
//! Passwords are tried as Ansible tries them: those whose label matches the
//! header's (`default` for a `1.1` header) first, then every other one; with
//! [`Vault::only_matching_ids`] (Ansible's `DEFAULT_VAULT_ID_MATCH`) only the
//! matching ones. What a vault holds is a secret: the
//! callers register decrypted values with [`Secrets`] so that every output
//! masks them (a value too short to mask is warned about), and no error
//! ever quotes plaintext. A review ([`Vault::review`], for `render`) gives
//! each value as its [`placeholder`] instead, as `secret()` does.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};

use crate::secrets::Secrets;
use crate::short_values::ShortValues;

mod envelope;
mod password_file;

use envelope::Envelope;
pub use password_file::read_password_file;

/// The first bytes of every vaulted file or value.
pub const HEADER: &str = "$ANSIBLE_VAULT;";

/// The label of a password given without one (Ansible's
/// `DEFAULT_VAULT_IDENTITY`).
pub const DEFAULT_LABEL: &str = "default";

/// Ansible's PBKDF2 iteration count for `VaultAES256`.
const ITERATIONS: u32 = 10_000;

/// How to give a password, for the error when none was given.
const HOW_TO_GIVE: &str = "pass --vault-password-file FILE, --vault-id [LABEL@]FILE (or \
                           LABEL@prompt), or --ask-vault-pass, or set ANSIBLE_VAULT_PASSWORD_FILE";

/// What a vaulted value gives in a review (`render`): the variable's
/// name (its key path, `db.password`), never the value or a form of it.
pub fn placeholder(name: &str) -> String {
    format!("<vault:{name}>")
}

/// Why a vault could not be opened. Each message reads after the name of
/// what was being opened (`file group_vars/all.yml is ...`, `this value
/// is ...`) and never contains plaintext or a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Encrypted, and no password was given at all.
    #[error("is encrypted with ansible-vault but no vault password was given; {HOW_TO_GIVE}")]
    NoPassword,
    /// Not the format `ansible-vault` writes.
    #[error("is not a valid ansible-vault envelope: {0}")]
    Format(String),
    /// No password given decrypts it.
    #[error(
        "is encrypted with ansible-vault{} and none of the vault passwords given ({}) decrypts \
         it: a wrong password, or the content was changed after encryption",
        label.as_ref().map(|l| format!(" for vault id '{l}'")).unwrap_or_default(),
        tried.join(", ")
    )]
    NoMatch {
        /// The header's vault id, if any.
        label: Option<String>,
        /// The labels of the passwords tried, in order.
        tried: Vec<String>,
    },
    /// Only passwords of the header's vault id may be tried, and none was
    /// given.
    #[error(
        "is encrypted with ansible-vault for vault id '{label}' and ANSIBLE_VAULT_ID_MATCH \
         lets only a password of that vault id open it, but none was given (given: {}); pass \
         --vault-id {label}@FILE, or unset ANSIBLE_VAULT_ID_MATCH to try every password",
        given.join(", ")
    )]
    NoMatchingId {
        /// The header's vault id (`default` for a `1.1` header).
        label: String,
        /// The labels of the passwords given.
        given: Vec<String>,
    },
    /// Decrypted, but not UTF-8 text (not a vars file or a value).
    #[error("decrypts to bytes that are not UTF-8 text")]
    NotText,
    /// To be encrypted, but already a vault (Ansible's "input is already
    /// encrypted").
    #[error("is already encrypted with ansible-vault")]
    AlreadyEncrypted,
    /// An empty salt was given to encrypt with.
    #[error("cannot be encrypted with an empty salt: give none (a random one) or a non-empty one")]
    EmptySalt,
    /// The kernel gave no random salt.
    #[error("cannot be encrypted: no random salt ({0})")]
    NoRandom(String),
}

/// Why a vault password could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The file could not be read, or the script not run.
    #[error("vault password file {}: {reason}", file.display())]
    File {
        /// The password file.
        file: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// One password and the vault id label it is for.
#[derive(Clone)]
struct VaultId {
    label: String,
    password: Vec<u8>,
}

/// The vault passwords of a run, and where decrypted values are registered.
///
/// Cheap to clone; [`Vault::default`] has no password, so a vaulted file
/// fails with [`VaultError::NoPassword`].
#[derive(Clone, Default)]
pub struct Vault {
    ids: Vec<VaultId>,
    secrets: Secrets,
    /// Ansible's `DEFAULT_VAULT_ID_MATCH`: try only the header's vault id.
    only_matching: bool,
    /// A review: values are given as their [`placeholder`]s.
    review: bool,
    /// Warns about a value too short to be masked.
    short: ShortValues,
    /// The `!vault` values decrypted so far (as given out: placeholders in a
    /// review), for the `vault_encrypted` test.
    values: Arc<RwLock<HashSet<String>>>,
}

impl fmt::Debug for Vault {
    /// The labels, never a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("ids", &self.labels())
            .finish_non_exhaustive()
    }
}

impl Vault {
    /// A vault with no password yet, registering what it decrypts with
    /// `secrets`.
    pub fn new(secrets: Secrets) -> Self {
        Vault {
            ids: Vec::new(),
            secrets,
            only_matching: false,
            review: false,
            short: ShortValues::default(),
            values: Arc::default(),
        }
    }

    /// A vault for a review: [`Vault::decrypt_value`] and
    /// [`Vault::vaulted_values`] give [`placeholder`]s, so a review file
    /// holds no form of a value, and diffs between reviews stay stable.
    pub fn review(mut self) -> Self {
        self.review = true;
        self
    }

    /// Sends warnings (a value too short to be masked) to `warn`.
    pub fn with_warnings(mut self, warn: impl Fn(String) + Send + Sync + 'static) -> Self {
        self.short = ShortValues::new(warn);
        self
    }

    /// Tries only the passwords whose label is the header's vault id (a
    /// `1.1` header's is `default`), as Ansible does when
    /// `DEFAULT_VAULT_ID_MATCH` is on.
    pub fn only_matching_ids(mut self, on: bool) -> Self {
        self.only_matching = on;
        self
    }

    /// Adds the password of vault id `label` (tried in the order added).
    pub fn add(&mut self, label: &str, password: Vec<u8>) {
        self.ids.push(VaultId {
            label: label.to_owned(),
            password,
        });
    }

    /// The labels of the passwords given, in order.
    pub fn labels(&self) -> Vec<String> {
        self.ids.iter().map(|id| id.label.clone()).collect()
    }

    /// The registry decrypted values go to.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The plaintext of a vaulted file or value (`text` starts with
    /// [`HEADER`]). Nothing is registered: a whole file's keys are no
    /// secret, its values are ([`Vault::register`]).
    pub fn decrypt(&self, text: &str) -> Result<String, VaultError> {
        if self.ids.is_empty() {
            return Err(VaultError::NoPassword);
        }
        let envelope = Envelope::parse(text)?;
        let mut tried = Vec::new();
        for id in self.candidates(&envelope) {
            if let Some(plain) = envelope.open(&id.password) {
                return String::from_utf8(plain).map_err(|_| VaultError::NotText);
            }
            tried.push(id.label.clone());
        }
        if tried.is_empty() {
            return Err(VaultError::NoMatchingId {
                label: envelope.id().to_owned(),
                given: self.labels(),
            });
        }
        Err(VaultError::NoMatch {
            label: envelope.label,
            tried,
        })
    }

    /// The passwords to try on `envelope`, in order: those of its vault id,
    /// then (unless only matching ones may be) every other one.
    fn candidates<'a>(&'a self, envelope: &Envelope) -> impl Iterator<Item = &'a VaultId> {
        let id = envelope.id().to_owned();
        let matching = self.ids.iter().filter(move |v| v.label == id);
        let id = envelope.id().to_owned();
        let others = self
            .ids
            .iter()
            .filter(move |v| !self.only_matching && v.label != id);
        matching.chain(others)
    }

    /// [`Vault::decrypt`] for the `!vault` value of variable `name` in
    /// `file`: the plaintext is registered as a secret before it is
    /// returned; in a review, its [`placeholder`] is.
    pub fn decrypt_value(&self, text: &str, file: &Path, name: &str) -> Result<String, VaultError> {
        let plain = self.decrypt(text)?;
        let value = self.reveal(plain, file, name);
        self.values
            .write()
            .expect("not poisoned")
            .insert(value.clone());
        Ok(value)
    }

    /// Whether `value` is one of the `!vault` values decrypted so far
    /// ([`Vault::decrypt_value`]): Ansible's `vault_encrypted` test on a
    /// variable, which kbz-play holds decrypted.
    pub fn is_vaulted_value(&self, value: &str) -> bool {
        self.values.read().expect("not poisoned").contains(value)
    }

    /// [`Vault::decrypt`] with only `password` (of vault id `label`), as
    /// Ansible's `unvault` filter does, the plaintext revealed as a value of
    /// `file` named `name` (see [`Vault::reveal`]).
    pub fn decrypt_with(
        &self,
        text: &str,
        (label, password): (&str, &[u8]),
        file: &Path,
        name: &str,
    ) -> Result<String, VaultError> {
        let mut one = Vault::default();
        one.add(label, password.to_vec());
        let plain = one.decrypt(text)?;
        Ok(self.reveal(plain, file, name))
    }

    /// The values of a whole vaulted file (or data file) `file`, as the run
    /// sees them: every scalar (strings, and numbers as written) registered
    /// as a secret, or in a review replaced by its [`placeholder`], named
    /// by its key path. The keys are no secret.
    pub fn vaulted_values(&self, value: Value, file: &Path) -> Value {
        self.reveal_all(value, file, &mut Vec::new())
    }

    /// [`Vault::vaulted_values`] for the variables of a vars file.
    pub fn vaulted_vars(&self, vars: Map<String, Value>, file: &Path) -> Map<String, Value> {
        self.reveal_map(vars, file, &mut Vec::new())
    }

    fn reveal_all(&self, value: Value, file: &Path, path: &mut Vec<String>) -> Value {
        match value {
            Value::String(s) => Value::String(self.reveal(s, file, &name_of(path, file))),
            Value::Number(n) if self.review => {
                Value::String(self.reveal(n.to_string(), file, &name_of(path, file)))
            }
            Value::Number(n) => {
                self.reveal(n.to_string(), file, &name_of(path, file));
                Value::Number(n)
            }
            Value::Array(items) => (items.into_iter().enumerate())
                .map(|(i, v)| self.reveal_at(i.to_string(), v, file, path))
                .collect(),
            Value::Object(map) => self.reveal_map(map, file, path).into(),
            Value::Null | Value::Bool(_) => value,
        }
    }

    fn reveal_map(
        &self,
        map: Map<String, Value>,
        file: &Path,
        path: &mut Vec<String>,
    ) -> Map<String, Value> {
        (map.into_iter())
            .map(|(k, v)| (k.clone(), self.reveal_at(k, v, file, path)))
            .collect()
    }

    /// [`Vault::reveal_all`] for `value` under `key` of `path`.
    fn reveal_at(&self, key: String, value: Value, file: &Path, path: &mut Vec<String>) -> Value {
        path.push(key);
        let value = self.reveal_all(value, file, path);
        path.pop();
        value
    }

    /// One decrypted value of variable `name` in `file`: registered (and
    /// warned about when too short to mask), then itself or, in a review,
    /// its placeholder.
    pub fn reveal(&self, plain: String, file: &Path, name: &str) -> String {
        self.secrets.add(&plain);
        if self.review {
            return placeholder(name);
        }
        let file = file.display();
        self.short
            .check(&plain, || format!("vault value {name} in {file}"));
        plain
    }
}

/// A value's key path in its file (`users.0.password`), or the file's name
/// when the value is the whole file.
fn name_of(path: &[String], file: &Path) -> String {
    if path.is_empty() {
        let name = file.file_name().unwrap_or(file.as_os_str());
        return name.to_string_lossy().into_owned();
    }
    path.join(".")
}

/// `plain` encrypted with `password` for vault id `label` (Ansible's
/// `VaultLib.encrypt`): with `salt`, the same text every time; without, a
/// random 32-byte salt.
pub fn encrypt(
    plain: &str,
    password: &[u8],
    salt: Option<&[u8]>,
    label: &str,
) -> Result<String, VaultError> {
    if is_encrypted(plain) {
        return Err(VaultError::AlreadyEncrypted);
    }
    let random;
    let salt = match salt {
        Some([]) => return Err(VaultError::EmptySalt),
        Some(salt) => salt,
        None => {
            random = crate::private::random_bytes::<32>()
                .map_err(|e| VaultError::NoRandom(e.to_string()))?;
            &random
        }
    };
    Ok(Envelope::seal(plain.as_bytes(), password, salt, label))
}

/// Whether `text` is a vaulted file or value.
pub fn is_encrypted(text: &str) -> bool {
    text.trim_start().starts_with(HEADER)
}

/// Files made by the real `ansible-vault` (see
/// `tests/fixtures/vault/README.md`), for the engine's unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use super::{Path, Vault};

    /// The password of the fixtures encrypted without a vault id.
    pub const DEFAULT_PASS: &[u8] = b"fixture-vault-pass";
    /// The password of vault id `prod` (`labelled.yml`).
    pub const PROD_PASS: &[u8] = b"fixture-prod-pass";

    /// The text of `tests/fixtures/vault/NAME`.
    pub fn fixture(name: &str) -> String {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/vault");
        std::fs::read_to_string(dir.join(name)).unwrap()
    }

    /// A vault with these `(label, password)` pairs.
    pub fn vault(ids: &[(&str, &[u8])]) -> Vault {
        let mut v = Vault::default();
        for (label, pass) in ids {
            v.add(label, pass.to_vec());
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;

    #[test]
    fn decrypts_a_file_made_by_ansible_vault() {
        let plain = vault(&[(DEFAULT_LABEL, DEFAULT_PASS)])
            .decrypt(&fixture("group_vars.yml"))
            .unwrap();
        assert_eq!(plain, "db_password: s3cret-from-vault\nredis_port: 6379\n");
    }

    #[test]
    fn the_header_label_picks_its_password_and_the_others_are_tried_too() {
        let text = fixture("labelled.yml");
        let expected = "api_token: prod-token-4242\n";
        let both = vault(&[(DEFAULT_LABEL, DEFAULT_PASS), ("prod", PROD_PASS)]);
        assert_eq!(both.decrypt(&text).unwrap(), expected);
        // A password given under another label still opens it, as in Ansible.
        let mislabelled = vault(&[("dev", PROD_PASS)]);
        assert_eq!(mislabelled.decrypt(&text).unwrap(), expected);
    }

    #[test]
    fn a_wrong_password_names_the_ids_tried_and_never_the_plaintext() {
        let err = vault(&[(DEFAULT_LABEL, b"wrong"), ("dev", DEFAULT_PASS)])
            .decrypt(&fixture("labelled.yml"))
            .unwrap_err();
        assert_eq!(
            err,
            VaultError::NoMatch {
                label: Some("prod".into()),
                tried: vec!["default".into(), "dev".into()]
            }
        );
        let shown = err.to_string();
        assert!(shown.contains("vault id 'prod'"), "{shown}");
        assert!(!shown.contains("prod-token"), "{shown}");
    }

    #[test]
    fn with_id_match_only_the_headers_vault_id_is_tried() {
        let labelled = fixture("labelled.yml");
        let mislabelled = vault(&[("prod", b"wrong"), ("dev", PROD_PASS)]);
        assert!(mislabelled.decrypt(&labelled).is_ok());
        let err = mislabelled
            .only_matching_ids(true)
            .decrypt(&labelled)
            .unwrap_err();
        let tried = vec!["prod".to_owned()];
        let label = Some("prod".to_owned());
        assert_eq!(err, VaultError::NoMatch { label, tried });

        let err = vault(&[("dev", PROD_PASS)])
            .only_matching_ids(true)
            .decrypt(&labelled)
            .unwrap_err();
        let given = vec!["dev".to_owned()];
        let label = "prod".to_owned();
        assert_eq!(err, VaultError::NoMatchingId { label, given });
        let shown = err.to_string();
        assert!(shown.contains("--vault-id prod@FILE"), "{shown}");

        // A `1.1` header is for vault id `default`.
        let unlabelled = fixture("group_vars.yml");
        let both = vault(&[("dev", DEFAULT_PASS), (DEFAULT_LABEL, DEFAULT_PASS)]);
        assert!(both.only_matching_ids(true).decrypt(&unlabelled).is_ok());
        let dev = vault(&[("dev", DEFAULT_PASS)]).only_matching_ids(true);
        assert!(matches!(
            dev.decrypt(&unlabelled),
            Err(VaultError::NoMatchingId { label, .. }) if label == DEFAULT_LABEL
        ));
    }

    #[test]
    fn a_tampered_ciphertext_fails_the_hmac() {
        let text = fixture("group_vars.yml");
        // Flip one hex digit of the body's last line (inside the ciphertext).
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let last = lines.last_mut().unwrap();
        let flipped = if last.ends_with('6') { '7' } else { '6' };
        last.pop();
        last.push(flipped);
        let tampered = lines.join("\n");
        let err = vault(&[(DEFAULT_LABEL, DEFAULT_PASS)])
            .decrypt(&tampered)
            .unwrap_err();
        assert!(matches!(err, VaultError::NoMatch { .. }), "{err}");
    }

    #[test]
    fn no_password_says_which_flags_to_use() {
        let err = Vault::default()
            .decrypt(&fixture("group_vars.yml"))
            .unwrap_err();
        assert_eq!(err, VaultError::NoPassword);
        assert!(err.to_string().contains("--vault-password-file"), "{err}");
    }

    #[test]
    fn malformed_envelopes_are_format_errors() {
        let v = vault(&[(DEFAULT_LABEL, DEFAULT_PASS)]);
        for text in [
            "$ANSIBLE_VAULT;1.1;AES\n6162\n",
            "$ANSIBLE_VAULT;9;AES256\n6162\n",
            "$ANSIBLE_VAULT;1.1;AES256\nzz\n",
            "$ANSIBLE_VAULT;1.1;AES256\n6162\n",
        ] {
            assert!(
                matches!(v.decrypt(text), Err(VaultError::Format(_))),
                "{text}"
            );
        }
    }

    /// The envelope of the `!vault |` value in fixture `name`.
    fn inline_envelope(name: &str) -> String {
        let inline = fixture(name);
        let envelope = inline.split_once('|').unwrap().1;
        envelope
            .lines()
            .map(str::trim_start)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// What `vault` warns about, collected.
    fn warnings(v: Vault) -> (Vault, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let said: std::sync::Arc<std::sync::Mutex<Vec<String>>> = std::sync::Arc::default();
        let sink = std::sync::Arc::clone(&said);
        let v = v.with_warnings(move |m| sink.lock().unwrap().push(m));
        (v, said)
    }

    #[test]
    fn decrypted_values_are_registered_as_secrets() {
        let v = vault(&[(DEFAULT_LABEL, DEFAULT_PASS)]);
        let file = Path::new("host_vars/h1.yml");
        let envelope = inline_envelope("inline.yml");
        let plain = v.decrypt_value(&envelope, file, "admin_password");
        assert_eq!(plain.unwrap(), "inline-secret-77");
        assert_eq!(v.secrets().mask("x inline-secret-77"), "x ********");
        let values = serde_json::json!({"a": ["list-secret"], "n": 12345678, "b": true});
        assert_eq!(v.vaulted_values(values.clone(), file), values);
        assert_eq!(
            v.secrets().mask("list-secret 12345678"),
            "******** ********"
        );
    }

    #[test]
    fn values_too_short_to_mask_are_warned_about_once_by_file_and_name() {
        let (v, said) = warnings(vault(&[(DEFAULT_LABEL, DEFAULT_PASS)]));
        let file = Path::new("group_vars/all.yml");
        let plain = v.decrypt(&fixture("short.yml")).unwrap();
        let values: Value = yaml_serde::from_str(&plain).unwrap();
        v.vaulted_values(values.clone(), file);
        v.vaulted_values(values, file);
        let inline = Path::new("host_vars/h1.yml");
        let pin = v.decrypt_value(&inline_envelope("inline_short.yml"), inline, "short_pin");
        assert_eq!(pin.unwrap(), "q%7");
        let said = said.lock().unwrap();
        let subjects: Vec<&str> = said
            .iter()
            .map(|m| m.split(" is ").next().unwrap())
            .collect();
        assert_eq!(
            subjects,
            [
                "vault value pin in group_vars/all.yml",
                "vault value port in group_vars/all.yml",
                "vault value short_pin in host_vars/h1.yml"
            ],
            "{said:?}"
        );
        assert!(said[0].contains("cannot be masked"), "{said:?}");
        for value in ["7a", "80", "q%7"] {
            assert!(!said.iter().any(|m| m.contains(value)), "{value}: {said:?}");
        }
    }

    #[test]
    fn a_review_gives_placeholders_named_by_key_path() {
        let (v, said) = warnings(vault(&[(DEFAULT_LABEL, DEFAULT_PASS)]).review());
        let file = Path::new("group_vars/all.yml");
        let envelope = inline_envelope("inline.yml");
        let value = v.decrypt_value(&envelope, file, "admin_password").unwrap();
        assert_eq!(value, "<vault:admin_password>");
        let values =
            serde_json::json!({"db": {"users": [{"pw": "s3cret-pw"}]}, "port": 80, "on": true});
        assert_eq!(
            v.vaulted_values(values, file),
            serde_json::json!({"db": {"users": [{"pw": "<vault:db.users.0.pw>"}]}, "port": "<vault:port>", "on": true})
        );
        let whole = v.vaulted_values(Value::String("token".into()), Path::new("data/key.yml"));
        assert_eq!(whole, "<vault:key.yml>");
        assert!(
            said.lock().unwrap().is_empty(),
            "no value flows, no warning"
        );
    }

    #[test]
    fn password_files_plain_and_executable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("pass");
        std::fs::write(&plain, "  fixture-vault-pass \n").unwrap();
        assert_eq!(read_password_file(&plain, "x").unwrap(), DEFAULT_PASS);

        let script = dir.path().join("pass.sh");
        std::fs::write(&script, "#!/bin/sh\nprintf 'from-script\\n'\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(read_password_file(&script, "x").unwrap(), b"from-script");

        let client = dir.path().join("vault-client.sh");
        std::fs::write(&client, "#!/bin/sh\necho \"$1=$2\"\n").unwrap();
        std::fs::set_permissions(&client, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(
            read_password_file(&client, "prod").unwrap(),
            b"--vault-id=prod"
        );

        let failing = dir.path().join("fail.sh");
        std::fs::write(&failing, "#!/bin/sh\nexit 3\n").unwrap();
        std::fs::set_permissions(&failing, std::fs::Permissions::from_mode(0o700)).unwrap();
        let err = read_password_file(&failing, "x").unwrap_err().to_string();
        assert!(err.contains("fail.sh") && err.contains("failed"), "{err}");

        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n").unwrap();
        assert!(read_password_file(&empty, "x").is_err());
    }
}
