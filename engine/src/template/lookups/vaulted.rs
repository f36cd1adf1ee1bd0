//! `unvault`: a file's text, decrypted with the run's vault passwords when
//! it is vault-encrypted (found as `file` finds it). The plaintext is a
//! secret: registered for masking, and a placeholder in a review.

use std::path::Path;

use minijinja::value::Value;
use minijinja::{Error, State};

use super::call::Call;
use super::{invalid, search};
use crate::vault::{is_encrypted, Vault};

/// Each file's text, whole (unlike `file`, nothing is stripped).
pub(super) fn unvault(
    state: &State,
    call: &Call,
    vault: Option<&Vault>,
) -> Result<Vec<Value>, Error> {
    call.strings()?
        .iter()
        .map(|name| {
            let (path, text) = search::find_and_read(state, "files", name, "unvault")?;
            if !is_encrypted(&text) {
                return Ok(Value::from(text));
            }
            decrypt(&text, &path, vault).map(Value::from)
        })
        .collect()
}

fn decrypt(text: &str, path: &Path, vault: Option<&Vault>) -> Result<String, Error> {
    let vault = vault.ok_or_else(|| {
        invalid(format!(
            "lookup unvault {}: this render has no vault passwords",
            path.display()
        ))
    })?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    vault
        .decrypt(text)
        .map(|plain| vault.reveal(plain, path, &name))
        .map_err(|e| invalid(format!("lookup unvault {}: {e}", path.display())))
}
