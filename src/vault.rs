//! The vault passwords of the command line, in Ansible's order: each
//! `--vault-id`, then each `--vault-password-file` (or
//! `ANSIBLE_VAULT_PASSWORD_FILE`), then `--ask-vault-pass`; the last two
//! under the label `default`. `ANSIBLE_VAULT_ID_MATCH` (Ansible's
//! `DEFAULT_VAULT_ID_MATCH`; kbz-play reads no ansible.cfg) makes a vault
//! try only the passwords of its own vault id.

use std::path::PathBuf;

use anyhow::{Context, Result};
use kbz_engine::secrets::Secrets;
use kbz_engine::vault::{read_password_file, Vault, DEFAULT_LABEL};

use crate::cli::VaultArgs;

/// The [`Vault`] the flags give, registering decrypted values (and the
/// passwords themselves) with `secrets`. Prompts are asked now, before any
/// host is contacted.
pub fn open(args: &VaultArgs, secrets: &Secrets) -> Result<Vault> {
    let mut vault = Vault::new(secrets.clone()).only_matching_ids(id_match()?);
    let ids = args.vault_id.iter().map(|id| match id.split_once('@') {
        Some((label, source)) if !label.is_empty() => (label, source.to_owned()),
        Some((_, source)) => (DEFAULT_LABEL, source.to_owned()),
        None => (DEFAULT_LABEL, id.clone()),
    });
    let files = password_files(args)
        .into_iter()
        .map(|f| (DEFAULT_LABEL, f.display().to_string()));
    let prompt = args
        .ask_vault_pass
        .then(|| (DEFAULT_LABEL, "prompt".to_owned()));
    for (label, source) in ids.chain(files).chain(prompt) {
        let password = if source == "prompt" {
            ask(label)?
        } else {
            read_password_file(source.as_ref(), label)?
        };
        secrets.add(&String::from_utf8_lossy(&password));
        vault.add(label, password);
    }
    Ok(vault)
}

/// `--vault-password-file`s, else `ANSIBLE_VAULT_PASSWORD_FILE` when set
/// and not empty (read here rather than by clap, which would make an empty
/// variable an error where Ansible ignores it).
fn password_files(args: &VaultArgs) -> Vec<PathBuf> {
    if !args.vault_password_file.is_empty() {
        return args.vault_password_file.clone();
    }
    std::env::var_os("ANSIBLE_VAULT_PASSWORD_FILE")
        .filter(|f| !f.is_empty())
        .map(PathBuf::from)
        .into_iter()
        .collect()
}

/// `ANSIBLE_VAULT_ID_MATCH` read as the boolean Ansible documents (unset
/// or empty: off). Ansible 2.19 declares no type for it, so there any
/// non-empty value, `false` too, turns it on; here `false` means off.
fn id_match() -> Result<bool> {
    let Some(value) = std::env::var_os("ANSIBLE_VAULT_ID_MATCH") else {
        return Ok(false);
    };
    let value = value.to_string_lossy().trim().to_ascii_lowercase();
    match value.as_str() {
        "" | "0" | "n" | "no" | "off" | "f" | "false" => Ok(false),
        "1" | "y" | "yes" | "on" | "t" | "true" => Ok(true),
        _ => anyhow::bail!(
            "ANSIBLE_VAULT_ID_MATCH={value} is not a boolean: set it to true (try only the \
             password of a vault's own vault id) or false, or unset it"
        ),
    }
}

/// Asks for the password of vault id `label` on the terminal, without echo.
fn ask(label: &str) -> Result<Vec<u8>> {
    let question = if label == DEFAULT_LABEL {
        "Vault password: ".to_owned()
    } else {
        format!("Vault password ({label}): ")
    };
    let password = rpassword::prompt_password(question)
        .context("--ask-vault-pass: cannot read the vault password from the terminal")?;
    let password = password.trim();
    anyhow::ensure!(!password.is_empty(), "the vault password given is empty");
    Ok(password.as_bytes().to_vec())
}
