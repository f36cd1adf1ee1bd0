//! Value-choosing, shell and debugging filters: `ternary`, `bool`,
//! `mandatory`, `quote`, `type_debug`.

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("ternary", ternary);
    env.add_filter("bool", to_bool);
    env.add_filter("mandatory", mandatory);
    env.add_filter("quote", quote);
    env.add_filter("type_debug", type_debug);
}

/// The name of the value's type in Python, as Ansible prints it.
fn type_debug(value: &Value) -> &'static str {
    match value.kind() {
        ValueKind::Undefined => "Undefined",
        ValueKind::None => "NoneType",
        ValueKind::Bool => "bool",
        ValueKind::Number if value.is_integer() => "int",
        ValueKind::Number => "float",
        ValueKind::String => "str",
        ValueKind::Bytes => "bytes",
        ValueKind::Seq => "list",
        ValueKind::Map => "dict",
        _ => "object",
    }
}

/// `cond | ternary(yes, no, none)`: `none` only when given and `cond` is null.
fn ternary(cond: &Value, yes: Value, no: Value, none: Option<Value>) -> Value {
    match none {
        Some(none) if cond.is_none() => none,
        _ if cond.is_true() => yes,
        _ => no,
    }
}

/// Ansible's `bool` (2.19): a string `yes`/`on`/`true`/`1` (any case) true,
/// a boolean as it is, a number true when it equals 1 (`1.0` too); anything
/// else, null included, false (Ansible warns that this coercion goes away).
fn to_bool(value: &Value) -> bool {
    if let Some(text) = value.as_str() {
        return matches!(text.to_lowercase().as_str(), "yes" | "on" | "true" | "1");
    }
    match value.kind() {
        ValueKind::Bool => value.is_true(),
        ValueKind::Number => f64::try_from(value.clone()).is_ok_and(|n| n == 1.0),
        _ => false,
    }
}

/// Fails the render when the value is undefined, with `msg` if given.
fn mandatory(value: Value, msg: Option<String>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Err(invalid(
            msg.unwrap_or_else(|| "mandatory variable not defined".into()),
        ));
    }
    Ok(value)
}

/// Python's `shlex.quote`: safe words as they are, else single-quoted.
fn quote(value: &Value) -> String {
    let text = if value.is_none() {
        String::new()
    } else {
        value.to_string()
    };
    let safe = |c: char| c.is_alphanumeric() || "_@%+=:,./-".contains(c);
    if text.is_empty() {
        "''".into()
    } else if text.chars().all(safe) {
        text
    } else {
        format!("'{}'", text.replace('\'', "'\"'\"'"))
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    /// What ansible-core 2.19's `bool` gives (null and 1.0 were kept as is
    /// or stringified before: `None` printed nothing, `1.0` was false).
    #[test]
    fn bool_coerces_as_ansible_2_19() {
        let cases = [
            (Value::from("On"), true),
            (Value::from("0"), false),
            (Value::from(()), false),
            (Value::from(1.0), true),
            (Value::from(1), true),
            (Value::from(2), false),
            (Value::from(true), true),
            (Value::from(vec![1]), false),
        ];
        for (value, expected) in cases {
            assert_eq!(to_bool(&value), expected, "{value:?}");
        }
    }

    #[test]
    fn quote_is_shlex_quote() {
        assert_eq!(quote(&Value::from("a b")), "'a b'");
        assert_eq!(quote(&Value::from("it's")), "'it'\"'\"'s'");
        assert_eq!(quote(&Value::from("/etc/x.conf")), "/etc/x.conf");
        assert_eq!(quote(&Value::from("")), "''");
    }
}
