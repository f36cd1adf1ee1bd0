//! Value-choosing, shell and debugging filters: `ternary`, `bool`,
//! `mandatory`, `quote`, `type_debug`.

use minijinja::value::Value;
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
    use minijinja::value::ValueKind;
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

/// Ansible's `bool`: booleans and null as they are, `yes`/`on`/`1`/`true`
/// (any case) and the number 1 true, anything else false.
fn to_bool(value: &Value) -> Value {
    if value.is_none()
        || value.as_str().is_none() && value.kind() == minijinja::value::ValueKind::Bool
    {
        return value.clone();
    }
    let text = value.to_string().to_lowercase();
    Value::from(matches!(text.as_str(), "yes" | "on" | "1" | "true"))
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

    #[test]
    fn quote_is_shlex_quote() {
        assert_eq!(quote(&Value::from("a b")), "'a b'");
        assert_eq!(quote(&Value::from("it's")), "'it'\"'\"'s'");
        assert_eq!(quote(&Value::from("/etc/x.conf")), "/etc/x.conf");
        assert_eq!(quote(&Value::from("")), "''");
    }
}
