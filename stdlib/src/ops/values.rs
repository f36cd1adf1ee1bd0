//! Argument shapes several operations share: text given as a string or a
//! number, one name or a list of names, and the checks on paths and names
//! that keep every value safe to put in a shell command.

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

/// A value a user may write as a string or a scalar (`value: 10` or
/// `value: "10"`), kept as the text the host will see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, a number or a bool")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_char<E: de::Error>(self, v: char) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One name or an array of names (`name: "curl"` or `name: ["curl", "jq"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Names(pub Vec<String>);

impl<'de> Deserialize<'de> for Names {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Names;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Names, E> {
                Ok(Names(vec![v.to_string()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Names, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(Names(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// Checks that `path` (the value of parameter `param`) is absolute: every
/// probe and command names paths on the host, where there is no "current
/// directory" a script could mean.
pub(crate) fn absolute_path(param: &str, path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("{param} must be an absolute path, got {path:?}"));
    }
    if path.contains(['\n', '\0']) {
        return Err(format!(
            "{param} must not contain a newline or NUL byte, got {path:?}"
        ));
    }
    Ok(())
}

/// Checks a user, group or package-like name: it reaches commands like
/// `useradd NAME`, where a leading `-` would read as an option.
pub(crate) fn account_name(param: &str, name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let body = name.strip_suffix('$').unwrap_or(name);
    let rest_ok = body
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if first_ok && rest_ok && name.len() <= 32 {
        Ok(())
    } else {
        Err(format!(
            "{param} {name:?} is not a valid account name (letters, digits, '_', '.', '-'; \
             starting with a letter or '_'; at most 32 characters)"
        ))
    }
}

/// Checks an environment variable name (`[A-Za-z_][A-Za-z0-9_]*`): it
/// reaches `export NAME=...` lines and env files, where anything else
/// would be misread.
pub(crate) fn env_name(name: &str) -> Result<(), String> {
    let valid = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!("env name {name:?} is not a valid variable name"))
    }
}

/// Shortens a command or script to one line for reports: the first line,
/// cut at 72 characters, with `…` when anything was left out.
pub(crate) fn one_line(s: &str) -> String {
    let trimmed = s.trim();
    let first = trimmed.lines().next().unwrap_or("");
    let mut out: String = first.chars().take(72).collect();
    if out.len() < trimmed.len() {
        out.push_str(" …");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from<T: serde::de::DeserializeOwned>(v: &rhai::Dynamic) -> Result<T, String> {
        rhai::serde::from_dynamic(v).map_err(|e| e.to_string())
    }

    #[test]
    fn text_accepts_scalars() {
        assert_eq!(from::<Text>(&"10".into()).unwrap(), Text("10".into()));
        assert_eq!(from::<Text>(&10_i64.into()).unwrap(), Text("10".into()));
        assert_eq!(from::<Text>(&true.into()).unwrap(), Text("true".into()));
        assert!(from::<Text>(&rhai::Dynamic::from_array(vec![])).is_err());
    }

    #[test]
    fn names_accept_one_or_many() {
        assert_eq!(
            from::<Names>(&"curl".into()).unwrap(),
            Names(vec!["curl".into()])
        );
        let arr = rhai::Dynamic::from_array(vec!["a".into(), "b".into()]);
        assert_eq!(
            from::<Names>(&arr).unwrap(),
            Names(vec!["a".into(), "b".into()])
        );
        assert!(from::<Names>(&rhai::Dynamic::from_array(vec![3_i64.into()])).is_err());
    }

    #[test]
    fn paths_and_names() {
        assert!(absolute_path("path", "/etc/x").is_ok());
        assert!(absolute_path("path", "etc/x")
            .unwrap_err()
            .contains("absolute"));
        assert!(absolute_path("path", "/a\nb").is_err());
        assert!(account_name("name", "redis").is_ok());
        assert!(account_name("name", "www-data").is_ok());
        assert!(account_name("name", "host$").is_ok());
        assert!(account_name("name", "-rf").is_err());
        assert!(account_name("name", "a b").is_err());
        assert!(account_name("name", "").is_err());
    }

    #[test]
    fn one_line_shortens() {
        assert_eq!(one_line("echo hi"), "echo hi");
        assert_eq!(one_line("a\nb"), "a …");
        assert_eq!(one_line(&"x".repeat(80)).chars().count(), 74);
    }
}

/// serde default for the flags that are on unless turned off (`force`,
/// `create_home`, `append`, `apply`, `check`, ufw's `enabled`).
pub(crate) fn yes() -> bool {
    true
}

/// The `state` of an op whose thing either exists or does not: an account,
/// a group, a line in a file, an image. One enum, so that every such op
/// takes the same two words and reports the same serde error for others.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Presence {
    /// It exists.
    #[default]
    Present,
    /// It does not.
    Absent,
}
