//! A `group_vars/` or `host_vars/` file: a YAML (or, by extension, JSON)
//! mapping of variable names to values, possibly vaulted whole.

use super::yaml::{
    conv_error, first_content_line, key_string, load_yaml, locate, to_json, type_name,
};
use super::{check_connection_vars, InventoryError, SourceLocation, Vars};
use crate::vault::{self, Vault};
use serde_json::Value as JValue;
use std::path::Path;
use yaml_serde::Value as YValue;

/// Parse a `group_vars/` or `host_vars/` file (YAML, or JSON by extension),
/// decrypting it first when the whole file is vaulted: its values are then
/// secrets. An error in decrypted content names only the file and line, as
/// the parser's message could quote a secret.
pub(crate) fn parse_vars_file(
    file: &Path,
    text: &str,
    vault: &Vault,
) -> Result<Vars, InventoryError> {
    if !vault::is_encrypted(text) {
        return parse_clear_vars_file(file, text, vault);
    }
    let plain = vault
        .decrypt(text)
        .map_err(|e| InventoryError::schema(file, Some((1, 1)), format!("file {e}")))?;
    let vars = parse_clear_vars_file(file, &plain, vault).map_err(|e| {
        let line = e.location().and_then(|l| l.line);
        InventoryError::schema(
            file,
            line.map(|l| (l, 1)),
            "the decrypted content is not a valid vars file (the message is not shown: it \
             could quote a secret); check it with `ansible-vault view FILE`",
        )
    })?;
    Ok(vault.vaulted_vars(vars, file))
}

fn parse_clear_vars_file(file: &Path, text: &str, vault: &Vault) -> Result<Vars, InventoryError> {
    let is_json = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let vars = if is_json {
        let value: JValue = serde_json::from_str(text).map_err(|e| InventoryError::YamlSyntax {
            location: SourceLocation::at(file, e.line(), e.column()),
            message: format!("invalid JSON: {e}"),
        })?;
        match value {
            JValue::Null => Vars::new(),
            JValue::Object(map) => map,
            other => return Err(not_a_mapping(file, None, type_name_json(&other))),
        }
    } else {
        match load_yaml(file, text)? {
            YValue::Null => Vars::new(),
            YValue::Mapping(map) => {
                let mut vars = Vars::new();
                for (k, v) in &map {
                    let Some(key) = key_string(k) else {
                        return Err(InventoryError::schema(
                            file,
                            None,
                            "variable names must be strings",
                        ));
                    };
                    let mut path = vec![key.clone()];
                    let v = to_json(v, &mut path, vault, file)
                        .map_err(|e| conv_error(file, text, &[], e))?;
                    vars.insert(key, v);
                }
                vars
            }
            other => {
                return Err(not_a_mapping(
                    file,
                    first_content_line(text),
                    type_name(&other),
                ))
            }
        }
    };
    if let Err((key, message)) = check_connection_vars(&vars) {
        let pos = if is_json { None } else { locate(text, &[&key]) };
        return Err(InventoryError::schema(file, pos, message));
    }
    Ok(vars)
}

fn not_a_mapping(file: &Path, pos: Option<(usize, usize)>, got: &str) -> InventoryError {
    InventoryError::schema(
        file,
        pos,
        format!(
            "a vars file must be a mapping of variable names to values (`name: value` lines), \
             got {got}"
        ),
    )
}

fn type_name_json(v: &JValue) -> &'static str {
    match v {
        JValue::Null => "nothing",
        JValue::Bool(_) => "a boolean",
        JValue::Number(_) => "a number",
        JValue::String(_) => "a string",
        JValue::Array(_) => "a list",
        JValue::Object(_) => "a mapping",
    }
}
