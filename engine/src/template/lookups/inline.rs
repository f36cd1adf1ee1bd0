//! Ansible's inline options: a term like `user section=db file=app.ini`
//! holds the key looked up and `name=value` options (`ini`, `csvfile`,
//! `sequence`). Options given as keywords apply first; a term's own override
//! them, and (as in Ansible, which sets them on the plugin) stay set for the
//! terms after it. A keyword keeps its type where the lookup uses the value
//! as given (`default=5` gives the number 5); an inline one is a string.

use std::collections::BTreeMap;

use minijinja::value::{Value, ValueKind};
use minijinja::Error;

use super::call::Call;
use super::invalid;

/// One term's key and the options in force for it.
pub(super) struct Term {
    /// The words before the first `name=value` (joined by one space).
    pub key: String,
    options: BTreeMap<String, String>,
    /// The keyword options not overridden inline, as given (none left out).
    typed: BTreeMap<String, Value>,
}

impl Term {
    /// Option `name` as given, or `default`.
    pub fn get<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        self.options.get(name).map_or(default, String::as_str)
    }

    /// Sets option `name` (the `sequence` shortcut's fields).
    pub fn set(&mut self, name: &str, value: &str) {
        self.options.insert(name.to_string(), value.to_string());
    }

    /// Option `name` as given: a keyword's value, an inline one's string.
    pub fn value(&self, name: &str) -> Option<Value> {
        (self.typed.get(name).cloned()).or_else(|| self.given(name).map(Value::from))
    }

    /// Option `name`, if given.
    pub fn given(&self, name: &str) -> Option<&str> {
        self.options.get(name).map(String::as_str)
    }

    /// Option `name` as Ansible's booleans read (`True`, `yes`, `1`...).
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, Error> {
        match self.given(name).map(str::to_lowercase).as_deref() {
            None => Ok(default),
            Some("true" | "yes" | "on" | "1" | "y" | "t") => Ok(true),
            Some("false" | "no" | "off" | "0" | "n" | "f") => Ok(false),
            Some(other) => Err(invalid(format!("option {name}={other} is not a boolean"))),
        }
    }

    /// Option `name` as an integer: decimal, as Ansible's `int` option type
    /// reads it (`0600` is 600, `0x10` is refused).
    pub fn int(&self, name: &str) -> Result<Option<i64>, Error> {
        self.given(name)
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| invalid(format!("option {name}={v} is not an integer")))
            })
            .transpose()
    }
}

/// Each term of `call` with its options; `lookup` names the lookup and
/// `valid` its options in errors.
pub(super) fn terms(call: &Call, lookup: &str, valid: &[&str]) -> Result<Vec<Term>, Error> {
    let mut options = keywords(call, valid);
    let mut terms = Vec::new();
    for text in call.strings()? {
        let term = with_inline(options, &text, lookup, valid)?;
        options = (term.options.clone(), term.typed.clone());
        terms.push(term);
    }
    Ok(terms)
}

/// The term `text` with the keyword options and its own only (for a
/// lookup whose inline options do not carry over, as `sequence`'s).
pub(super) fn term(call: &Call, text: &str, lookup: &str, valid: &[&str]) -> Result<Term, Error> {
    with_inline(keywords(call, valid), text, lookup, valid)
}

/// The options of a term: as strings, and the keywords as given.
type Options = (BTreeMap<String, String>, BTreeMap<String, Value>);

/// The options `call` gives as keywords, as strings and as given.
fn keywords(call: &Call, valid: &[&str]) -> Options {
    let (mut options, mut typed) = (BTreeMap::new(), BTreeMap::new());
    for name in valid {
        if let Some(v) = call.option(name) {
            let text = if v.kind() == ValueKind::Bool {
                if v.is_true() { "true" } else { "false" }.to_string()
            } else {
                v.to_string()
            };
            options.insert((*name).to_string(), text);
            if !v.is_none() {
                typed.insert((*name).to_string(), v);
            }
        }
    }
    (options, typed)
}

fn with_inline(
    (mut options, mut typed): Options,
    text: &str,
    lookup: &str,
    valid: &[&str],
) -> Result<Term, Error> {
    let (key, inline) = split(text);
    for (name, value) in inline {
        if !valid.contains(&name.as_str()) {
            return Err(invalid(format!(
                "lookup {lookup}: {name:?} is not a valid option (valid: {})",
                valid.join(", ")
            )));
        }
        typed.remove(&name);
        options.insert(name, value);
    }
    Ok(Term {
        key,
        options,
        typed,
    })
}

/// The key and the `name=value` options of `term`. A word without `=`
/// after an option continues its value (`section=my section`), as Ansible's
/// `ini` reads it; quotes around a value are removed.
fn split(term: &str) -> (String, Vec<(String, String)>) {
    let mut key: Vec<&str> = Vec::new();
    let mut options: Vec<(String, String)> = Vec::new();
    for word in term.split_whitespace() {
        match (word.split_once('='), options.last_mut()) {
            (Some((name, value)), _) if !name.is_empty() => {
                options.push((name.to_string(), value.to_string()));
            }
            (_, Some((_, value))) => {
                value.push(' ');
                value.push_str(word);
            }
            (_, None) => key.push(word),
        }
    }
    for (_, value) in &mut options {
        *value = unquoted(value).to_string();
    }
    (key.join(" "), options)
}

fn unquoted(value: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_splits_into_its_key_and_options_a_value_may_hold_spaces() {
        let (key, options) = split("user name section=my section file='a.ini'");
        assert_eq!(key, "user name");
        assert_eq!(
            options,
            [
                ("section".to_string(), "my section".to_string()),
                ("file".to_string(), "a.ini".to_string())
            ]
        );
    }
}
