//! The Jinja tests Ansible adds: `match`, `search`, `regex`, `subset` and
//! `superset` (also `issubset`, `issuperset`), `contains`, `any`, `all`,
//! `nan` (also `isnan`), `truthy` and `falsy` (with `convert_bool`). The
//! version test is in `version`, the file tests in `file_tests`. And
//! Jinja2's `callable`, which minijinja lacks.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use super::regex::compile;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_test("match", |s: &str, p: &str, kw: Kwargs| {
        found(s, p, kw, "match", true)
    });
    env.add_test("search", |s: &str, p: &str, kw: Kwargs| {
        found(s, p, kw, "search", false)
    });
    env.add_test("regex", |s: &str, p: &str, kw: Kwargs| {
        let anchored = kw.get::<Option<String>>("match_type")?.as_deref() == Some("match");
        found(s, p, kw, "regex", anchored)
    });
    for name in ["subset", "issubset"] {
        env.add_test(name, |a: Vec<Value>, b: Vec<Value>| {
            a.iter().all(|x| b.contains(x))
        });
    }
    for name in ["superset", "issuperset"] {
        env.add_test(name, |a: Vec<Value>, b: Vec<Value>| {
            b.iter().all(|x| a.contains(x))
        });
    }
    env.add_test("contains", contains);
    env.add_test("any", |items: Vec<Value>| items.iter().any(Value::is_true));
    env.add_test("all", |items: Vec<Value>| items.iter().all(Value::is_true));
    env.add_test("nan", is_nan);
    env.add_test("isnan", is_nan);
    env.add_test("truthy", truth);
    env.add_test("falsy", |v: &Value, kw: Kwargs| truth(v, kw).map(|t| !t));
    env.add_test("callable", is_callable);
}

/// Jinja2's `callable`: a function, a macro or `loop`, which minijinja
/// holds as plain objects, as the only plain object besides is a datetime.
fn is_callable(value: &Value) -> bool {
    value.kind() == ValueKind::Plain && value.downcast_object_ref::<super::PyDateTime>().is_none()
}

/// Whether `pattern` is found in `s`; with `anchored`, at its start (`re.match`).
fn found(
    s: &str,
    pattern: &str,
    kwargs: Kwargs,
    what: &str,
    anchored: bool,
) -> Result<bool, Error> {
    let pattern = if anchored {
        format!(r"\A(?:{pattern})")
    } else {
        pattern.to_string()
    };
    let re = compile(&pattern, &kwargs, what)?;
    kwargs.assert_all_used()?;
    Ok(re.is_match(s))
}

/// Python's `bool` of a value; with `convert_bool`, a boolean-like string
/// (`yes`, `off`...) is read as Ansible's `bool` filter reads it.
fn truth(value: &Value, kwargs: Kwargs) -> Result<bool, Error> {
    let convert = kwargs.get::<Option<bool>>("convert_bool")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let text = value.as_str().map(str::to_lowercase);
    Ok(match text.as_deref() {
        Some("yes" | "on" | "1" | "true" | "y" | "t") if convert => true,
        Some("no" | "off" | "0" | "false" | "n" | "f") if convert => false,
        _ => value.is_true(),
    })
}

/// `seq is contains(item)`, Python's `item in seq`: a substring of a
/// string, an item of a list, a key of a mapping.
fn contains(seq: &Value, item: &Value) -> bool {
    match (seq.as_str(), item.as_str()) {
        (Some(text), Some(part)) => text.contains(part),
        (Some(_), None) => false,
        _ => seq
            .try_iter()
            .is_ok_and(|mut items| items.any(|x| &x == item)),
    }
}

/// Python's `math.isnan`: false for what is not a number.
fn is_nan(value: &Value) -> bool {
    f64::try_from(value.clone()).is_ok_and(f64::is_nan)
}

#[cfg(test)]
mod unit {
    fn render(source: &str) -> String {
        super::super::render_with(super::register, source, minijinja::Value::from(()))
    }

    #[test]
    fn set_truth_and_number_tests_answer_as_ansibles() {
        let out = render(
            "{{ [1] is issubset([1, 2]) }} {{ [1, 2] is issuperset([3]) }} \
             {{ [1, 2] is contains(2) }} {{ [0, 1] is any }} {{ [0, 1] is all }} \
             {{ 'off' is truthy }} {{ 'off' is truthy(convert_bool=true) }} \
             {{ 'x' is nan }} {{ 1 is isnan }}",
        );
        assert_eq!(out, "True False True True False True False False False");
    }
}
