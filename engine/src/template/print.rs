//! How `{{ value }}` prints, where minijinja's Python-like printing differs
//! from ansible-core 2.19's: `none` prints nothing, a tuple (what
//! `dictsort`, `d.items()` and `zip` give) prints as a list, `['k', 1]`,
//! since Ansible turns tuples into lists before printing, and a float prints
//! as Python's `repr` (`1e+20`, `1e-05`, where minijinja writes every digit).

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, Output, State};

/// The environment's formatter: minijinja's, on the value as Ansible prints it.
pub(super) fn ansible_formatter(
    out: &mut Output,
    state: &mut State,
    value: &Value,
) -> Result<(), Error> {
    if value.is_none() {
        return Ok(());
    }
    if let Some(f) = float(value) {
        return out
            .write_str(&crate::pyfloat::repr(f))
            .map_err(|e| Error::new(minijinja::ErrorKind::WriteFailure, e.to_string()));
    }
    if holds_tuple(value) {
        return minijinja::escape_formatter(out, state, &as_lists(value));
    }
    minijinja::escape_formatter(out, state, value)
}

/// The finite float `value` is (minijinja prints `inf` and `NaN` as Python's
/// `str` does not either way: left to it).
fn float(value: &Value) -> Option<f64> {
    if value.kind() != ValueKind::Number || value.is_integer() {
        return None;
    }
    f64::try_from(value.clone()).ok().filter(|f| f.is_finite())
}

/// `value` with every sequence, tuples included, made a list.
fn as_lists(value: &Value) -> Value {
    let Ok(items) = value.try_iter() else {
        return value.clone();
    };
    match value.kind() {
        ValueKind::Seq => Value::from(items.map(|i| as_lists(&i)).collect::<Vec<_>>()),
        ValueKind::Map => Value::from_pairs(items.map(|k| {
            let v = value.get_item(&k).unwrap_or_default();
            (k, as_lists(&v))
        })),
        _ => value.clone(),
    }
}

/// Whether a tuple is in `value`, at any depth: only then is it rebuilt
/// for printing.
fn holds_tuple(value: &Value) -> bool {
    let mut items = match value.kind() {
        _ if value.is_tuple() => return true,
        ValueKind::Seq | ValueKind::Map => match value.try_iter() {
            Ok(items) => items,
            Err(_) => return false,
        },
        _ => return false,
    };
    let map = value.kind() == ValueKind::Map;
    items.any(|item| match map {
        true => value.get_item(&item).is_ok_and(|v| holds_tuple(&v)),
        false => holds_tuple(&item),
    })
}

#[cfg(test)]
mod unit {
    use minijinja::Environment;

    #[test]
    fn none_prints_nothing_and_tuples_print_as_lists() {
        let mut env = Environment::new();
        env.set_formatter(super::ansible_formatter);
        let ctx = minijinja::context! { d => minijinja::context! { b => 1, a => () } };
        let out = env
            .render_str(
                "[{{ none }}] {{ d | dictsort }} {{ {'k': d | dictsort} }} {{ [1, 'x'] }}",
                ctx,
            )
            .unwrap();
        assert_eq!(
            out,
            "[] [['a', None], ['b', 1]] {'k': [['a', None], ['b', 1]]} [1, 'x']"
        );
    }

    #[test]
    fn a_float_prints_as_python_prints_it() {
        let mut env = Environment::new();
        env.set_formatter(super::ansible_formatter);
        let out = env
            .render_str(
                "{{ 1e20 }} {{ 0.00001 }} {{ 2.5 }} {{ 1.0 }} {{ 10 / 4 }}",
                (),
            )
            .unwrap();
        assert_eq!(out, "1e+20 1e-05 2.5 1.0 2.5");
    }
}
