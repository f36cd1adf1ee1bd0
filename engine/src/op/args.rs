//! Operation arguments: Rhai maps checked against one table per operation.
//!
//! The same [`Param`] table serves three purposes: unknown-key errors with a
//! "did you mean" suggestion, `kbz-play doc`, and (through a test in each op)
//! a guarantee that it matches the serde struct the map is converted into.

use serde::de::DeserializeOwned;

/// One documented parameter of an operation.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Key in the Rhai map.
    pub name: &'static str,
    /// Type as a user writes it: `string`, `int`, `bool`, `"0644" string`, `array of strings`...
    pub ty: &'static str,
    /// Default as a user would write it; `None` means required.
    pub default: Option<&'static str>,
    /// What it does, with an example when the meaning is not obvious.
    pub doc: &'static str,
}

/// Arguments of one operation: a serde struct with `deny_unknown_fields` and
/// the table describing it.
pub trait OpArgs: DeserializeOwned {
    /// The Rhai function name.
    const OP: &'static str;
    /// One line saying what the operation is for.
    const SUMMARY: &'static str;
    /// A short Rhai example.
    const EXAMPLE: &'static str;
    /// Every parameter.
    const PARAMS: &'static [Param];
}

/// A call whose arguments do not fit the operation.
#[derive(Debug, thiserror::Error)]
pub enum ArgsError {
    /// A key the operation does not know.
    #[error("unknown parameter '{key}' for {op}(){}", suggestion.as_ref().map(|s| format!("; did you mean '{s}'?")).unwrap_or_default())]
    Unknown {
        /// Operation name.
        op: &'static str,
        /// The key as written.
        key: String,
        /// The closest known parameter, if any is close.
        suggestion: Option<&'static str>,
    },
    /// A required key is missing.
    #[error("{op}() needs '{key}' ({doc})")]
    Missing {
        /// Operation name.
        op: &'static str,
        /// The missing key.
        key: &'static str,
        /// Its documentation.
        doc: &'static str,
    },
    /// A value of the wrong type or form.
    #[error("bad arguments for {op}(): {message}")]
    Invalid {
        /// Operation name.
        op: &'static str,
        /// serde's description, e.g. "invalid type: integer `644`, expected a string".
        message: String,
    },
    /// The arguments were not a map.
    #[error("{op}() takes a map of parameters like #{{ path: \"/etc/x\" }}, not {got}")]
    NotAMap {
        /// Operation name.
        op: &'static str,
        /// The Rhai type given.
        got: String,
    },
}

/// Checks a Rhai map against `T::PARAMS` and converts it into `T`.
pub fn parse_args<T: OpArgs>(map: &rhai::Dynamic) -> Result<T, ArgsError> {
    let Some(m) = map.read_lock::<rhai::Map>() else {
        return Err(ArgsError::NotAMap {
            op: T::OP,
            got: map.type_name().to_string(),
        });
    };
    for key in m.keys() {
        if !T::PARAMS.iter().any(|p| p.name == key.as_str()) {
            return Err(ArgsError::Unknown {
                op: T::OP,
                key: key.to_string(),
                suggestion: suggest(key, T::PARAMS.iter().map(|p| p.name)),
            });
        }
    }
    for p in T::PARAMS.iter().filter(|p| p.default.is_none()) {
        if !m.contains_key(p.name) {
            return Err(ArgsError::Missing {
                op: T::OP,
                key: p.name,
                doc: p.doc,
            });
        }
    }
    drop(m);
    rhai::serde::from_dynamic(map).map_err(|e| ArgsError::Invalid {
        op: T::OP,
        message: e.to_string().trim_end_matches([')', ' ']).to_string(),
    })
}

/// The closest candidate to `word`, if it is close enough to be a typo.
pub fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Test helper for op authors: asserts that `T::PARAMS` names exactly the
/// fields serde accepts, and that serde refuses any other.
pub fn assert_params_match_struct<T: OpArgs>() {
    let mut probe = rhai::Map::new();
    probe.insert("__kbz_no_such_field__".into(), rhai::Dynamic::UNIT);
    let refused = rhai::serde::from_dynamic::<T>(&rhai::Dynamic::from_map(probe))
        .err()
        .is_some_and(|e| e.to_string().contains("unknown field"));
    assert!(
        refused,
        "{}: the args struct must use #[serde(deny_unknown_fields)]",
        T::OP
    );
    let mut fields = crate::serde_fields::fields_of::<T>().to_vec();
    fields.sort_unstable();
    let mut params: Vec<&str> = T::PARAMS.iter().map(|p| p.name).collect();
    params.sort_unstable();
    assert_eq!(
        fields,
        params,
        "{}: PARAMS and the serde struct disagree",
        T::OP
    );
}

/// Parses an octal mode string: `"0644"`, `"644"`, `"0o644"`, `"2755"`.
/// Symbolic modes (`u+x`) are refused: they are relative to the current
/// mode, so a plan could not say what the result is.
pub fn parse_mode(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    let ok = !digits.is_empty()
        && digits.len() <= 5
        && digits.bytes().all(|b| (b'0'..=b'7').contains(&b));
    match u32::from_str_radix(digits, 8) {
        Ok(m) if ok && m <= 0o7777 => Ok(m),
        _ => Err(format!(
            "mode must be octal like \"0644\" or \"2755\", got {s:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Demo {
        path: String,
        #[serde(default)]
        mode: Option<String>,
    }

    impl OpArgs for Demo {
        const OP: &'static str = "demo";
        const SUMMARY: &'static str = "a demo";
        const EXAMPLE: &'static str = "demo(#{ path: \"/x\" })";
        const PARAMS: &'static [Param] = &[
            Param {
                name: "path",
                ty: "string",
                default: None,
                doc: "where",
            },
            Param {
                name: "mode",
                ty: "string",
                default: Some("unset"),
                doc: "bits",
            },
        ];
    }

    fn map(pairs: &[(&str, rhai::Dynamic)]) -> rhai::Dynamic {
        let mut m = rhai::Map::new();
        for (k, v) in pairs {
            m.insert((*k).into(), v.clone());
        }
        rhai::Dynamic::from_map(m)
    }

    #[test]
    fn typo_gets_a_suggestion() {
        let err = parse_args::<Demo>(&map(&[("path", "/x".into()), ("mdoe", "0644".into())]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown parameter 'mdoe' for demo(); did you mean 'mode'?"
        );
    }

    #[test]
    fn missing_and_mistyped() {
        let err = parse_args::<Demo>(&map(&[])).unwrap_err();
        assert_eq!(err.to_string(), "demo() needs 'path' (where)");
        let err = parse_args::<Demo>(&map(&[("path", rhai::Dynamic::from(3_i64))])).unwrap_err();
        assert!(
            err.to_string().starts_with("bad arguments for demo(): "),
            "{err}"
        );
        let err = parse_args::<Demo>(&rhai::Dynamic::from(3_i64)).unwrap_err();
        assert!(err.to_string().contains("takes a map"), "{err}");
    }

    #[test]
    fn table_matches_struct() {
        assert_params_match_struct::<Demo>();
    }
}
