//! A lookup's arguments as Ansible passes them: positional terms, then
//! keyword options (`wantlist=True`, `errors='ignore'`, `rstrip=False`...).

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::Error;

use super::invalid;

/// The terms and options of one `lookup()`/`query()` call.
pub(super) struct Call {
    /// The positional arguments after the lookup's name.
    pub terms: Vec<Value>,
    options: Kwargs,
}

impl Call {
    /// The call of positional `terms` with keyword `options`.
    pub fn new(terms: Vec<Value>, options: Kwargs) -> Call {
        Call { terms, options }
    }

    /// The terms, each a string (a list term is refused).
    pub fn strings(&self) -> Result<Vec<String>, Error> {
        self.terms
            .iter()
            .map(|t| match t.as_str() {
                Some(s) => Ok(s.to_string()),
                None if t.kind() == ValueKind::Number => Ok(t.to_string()),
                None => Err(invalid(format!("lookup term {t} is not a string"))),
            })
            .collect()
    }

    /// Whether options other than `wantlist` and `errors` (which every
    /// lookup takes) are given.
    pub fn has_options(&self) -> bool {
        self.options
            .args()
            .any(|k| k != "wantlist" && k != "errors")
    }

    /// Option `key`, if given.
    pub fn option(&self, key: &str) -> Option<Value> {
        self.options.get::<Option<Value>>(key).ok().flatten()
    }

    /// Option `key` as a string, if given.
    pub fn string(&self, key: &str) -> Result<Option<String>, Error> {
        self.option(key)
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| invalid(format!("lookup option {key}={v} is not a string")))
            })
            .transpose()
    }

    /// Option `key` as a boolean, false when not given.
    pub fn flag(&self, key: &str) -> Result<bool, Error> {
        self.flag_or(key, false)
    }

    /// Option `key` as a boolean, `default` when not given.
    pub fn flag_or(&self, key: &str, default: bool) -> Result<bool, Error> {
        Ok(self.option(key).map_or(default, |v| v.is_true()))
    }
}
