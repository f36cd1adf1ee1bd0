//! The Jinja tests Ansible adds: `match`, `search`, `regex`, `version`,
//! `subset`, `superset`, `truthy`, `falsy`.

use std::cmp::Ordering;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};

use super::invalid;
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
    env.add_test("version", version);
    env.add_test("subset", |a: Vec<Value>, b: Vec<Value>| {
        a.iter().all(|x| b.contains(x))
    });
    env.add_test("superset", |a: Vec<Value>, b: Vec<Value>| {
        b.iter().all(|x| a.contains(x))
    });
    env.add_test("truthy", |v: &Value| v.is_true());
    env.add_test("falsy", |v: &Value| !v.is_true());
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

/// `v is version('1.2', '>=')`: loose version comparison, as Ansible's default.
fn version(v: &Value, other: &Value, op: Option<&str>) -> Result<bool, Error> {
    let order = compare(&v.to_string(), &other.to_string());
    Ok(match op.unwrap_or("eq") {
        "<" | "lt" => order == Ordering::Less,
        "<=" | "le" => order != Ordering::Greater,
        ">" | "gt" => order == Ordering::Greater,
        ">=" | "ge" => order != Ordering::Less,
        "==" | "=" | "eq" => order == Ordering::Equal,
        "!=" | "<>" | "ne" => order != Ordering::Equal,
        bad => {
            return Err(invalid(format!(
            "version: {bad:?} is not a comparison (lt, le, gt, ge, eq, ne, <, <=, >, >=, ==, !=)"
        )))
        }
    })
}

/// LooseVersion's order: runs of digits as numbers, other runs as text.
fn compare(a: &str, b: &str) -> Ordering {
    fn parts(s: &str) -> Vec<Result<u64, String>> {
        let mut out = Vec::new();
        let mut chars = s.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_digit() {
                let mut n = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    n.push(d);
                    chars.next();
                }
                out.push(Ok(n.parse().unwrap_or(u64::MAX)));
            } else if c.is_alphabetic() {
                let mut w = String::new();
                while let Some(d) = chars.peek().copied().filter(|c| c.is_alphabetic()) {
                    w.push(d);
                    chars.next();
                }
                out.push(Err(w));
            } else {
                chars.next();
            }
        }
        out
    }
    let ord = |x: &Result<u64, String>, y: &Result<u64, String>| match (x, y) {
        (Ok(x), Ok(y)) => x.cmp(y),
        (Err(x), Err(y)) => x.cmp(y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
    };
    let (a, b) = (parts(a), parts(b));
    a.iter()
        .zip(&b)
        .map(|(x, y)| ord(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(a.len().cmp(&b.len()))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn versions_compare_by_number_not_text() {
        assert_eq!(compare("1.10.0", "1.9"), Ordering::Greater);
        assert_eq!(compare("1.24.3", "1.24.3"), Ordering::Equal);
        assert_eq!(compare("2.0", "2.0.1"), Ordering::Less);
    }
}
