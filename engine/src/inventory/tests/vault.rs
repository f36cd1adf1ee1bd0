//! Vaulted `group_vars`/`host_vars` files and `!vault` values, made by the
//! real `ansible-vault` (`tests/fixtures/vault/`).

use super::*;
use crate::vault::fixtures::{fixture, vault, DEFAULT_PASS, PROD_PASS};
use crate::vault::DEFAULT_LABEL;
use serde_json::json;

/// An inventory of `h1` with a vaulted `group_vars/all.yml` and `host_vars/h1.yml`
/// holding the inline `!vault` value plus a clear one.
fn vaulted_layout() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let inv = write(dir.path(), "hosts.yml", "all:\n  hosts:\n    h1:\n");
    write(dir.path(), "group_vars/all.yml", &fixture("group_vars.yml"));
    let host_vars = format!("clear: visible-value\n{}", fixture("inline.yml"));
    write(dir.path(), "host_vars/h1.yml", &host_vars);
    (dir, inv)
}

#[test]
fn vaulted_files_and_inline_values_decrypt_and_become_secrets() {
    let (_dir, inv) = vaulted_layout();
    let v = vault(&[(DEFAULT_LABEL, DEFAULT_PASS)]);
    let inventory = Inventory::load_with_vault(&inv, &v).unwrap();
    let vars = &inventory.host("h1").unwrap().vars;
    assert_eq!(vars["db_password"], json!("s3cret-from-vault"));
    assert_eq!(vars["redis_port"], json!(6379));
    assert_eq!(vars["admin_password"], json!("inline-secret-77"));
    let masked = v
        .secrets()
        .mask("s3cret-from-vault inline-secret-77 visible-value db_password");
    assert_eq!(masked, "******** ******** visible-value db_password");
}

#[test]
fn a_wrong_password_names_the_file_and_line() {
    let (dir, inv) = vaulted_layout();
    let wrong = vault(&[(DEFAULT_LABEL, PROD_PASS)]);
    let msg = Inventory::load_with_vault(&inv, &wrong)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("group_vars/all.yml:1:1: file is encrypted"),
        "{msg}"
    );
    assert!(
        msg.contains("none of the vault passwords given (default)"),
        "{msg}"
    );

    // The file in clear: the inline value's line is named.
    write(dir.path(), "group_vars/all.yml", "x: 1\n");
    let msg = Inventory::load_with_vault(&inv, &wrong)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("host_vars/h1.yml:2:1: this value is encrypted"),
        "{msg}"
    );
    assert!(!msg.contains("inline-secret"), "{msg}");
}

#[test]
fn without_a_password_the_error_names_the_flags() {
    let (_dir, inv) = vaulted_layout();
    let msg = Inventory::load(&inv).unwrap_err().to_string();
    assert!(msg.contains("group_vars/all.yml:1:1"), "{msg}");
    assert!(msg.contains("--vault-password-file"), "{msg}");
    assert!(msg.contains("--ask-vault-pass"), "{msg}");
}

#[test]
fn an_invalid_decrypted_file_never_quotes_its_content() {
    let dir = tempfile::tempdir().unwrap();
    let inv = write(dir.path(), "hosts.yml", "all:\n  hosts:\n    h1:\n");
    // A vaulted file whose plaintext is a list, not a mapping: the error
    // names the file but shows nothing of the decrypted content.
    write(dir.path(), "host_vars/h1.yml", &fixture("list.yml"));
    let msg = Inventory::load_with_vault(&inv, &vault(&[(DEFAULT_LABEL, DEFAULT_PASS)]))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("host_vars/h1.yml"), "{msg}");
    assert!(msg.contains("not a valid vars file"), "{msg}");
    assert!(!msg.contains("listed-secret"), "{msg}");
}

#[test]
fn an_inline_value_in_the_inventory_file_decrypts() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "all:\n  hosts:\n    h1:\n  vars:\n    {}",
        fixture("inline.yml")
    );
    let inv = write(dir.path(), "hosts.yml", &text);
    let v = vault(&[(DEFAULT_LABEL, DEFAULT_PASS)]);
    let inventory = Inventory::load_with_vault(&inv, &v).unwrap();
    let vars = &inventory.host("h1").unwrap().vars;
    assert_eq!(vars["admin_password"], json!("inline-secret-77"));
    assert_eq!(v.secrets().mask("inline-secret-77"), "********");
}
