//! JSON filters with Python's `json.dumps` layout: `to_json` (`", "` and
//! `": "` between items), `to_nice_json` (indented by 4, keys sorted),
//! both ASCII-only as Python writes them; `from_json`.

use minijinja::value::Value;
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("to_json", |v: &Value| dumps(v, None));
    env.add_filter("to_nice_json", |v: &Value, indent: Option<usize>| {
        dumps(v, Some(indent.unwrap_or(4)))
    });
    env.add_filter("from_json", |s: &str| {
        serde_json::from_str::<serde_json::Value>(s)
            .map(|v| Value::from(minijinja::value::Serde(v)))
            .map_err(|e| invalid(format!("from_json: {e}")))
    });
}

/// `value` as Python's `json.dumps` writes it, compact or indented.
fn dumps(value: &Value, indent: Option<usize>) -> Result<String, Error> {
    let json = serde_json::to_value(value).map_err(|e| invalid(format!("to_json: {e}")))?;
    let mut out = String::new();
    write(&json, indent, 0, &mut out);
    Ok(out)
}

fn write(v: &serde_json::Value, indent: Option<usize>, depth: usize, out: &mut String) {
    use serde_json::Value as J;
    match v {
        J::Array(items) if !items.is_empty() => {
            let items = items.iter().map(|i| (None, i));
            write_items(items, ('[', ']'), indent, depth, out);
        }
        J::Object(map) if !map.is_empty() => {
            let items = map.iter().map(|(k, i)| (Some(k), i));
            write_items(items, ('{', '}'), indent, depth, out);
        }
        J::String(s) => out.push_str(&ascii(s)),
        other => out.push_str(&other.to_string()),
    }
}

/// A non-empty list or mapping, its items separated as Python separates them.
fn write_items<'a>(
    items: impl Iterator<Item = (Option<&'a String>, &'a serde_json::Value)>,
    (open, close): (char, char),
    indent: Option<usize>,
    depth: usize,
    out: &mut String,
) {
    let newline = |d: usize| indent.map(|n| format!("\n{}", " ".repeat(n * d)));
    out.push(open);
    for (i, (key, value)) in items.enumerate() {
        if i > 0 {
            out.push_str(if indent.is_some() { "," } else { ", " });
        }
        out.push_str(&newline(depth + 1).unwrap_or_default());
        if let Some(key) = key {
            out.push_str(&ascii(key));
            out.push_str(": ");
        }
        write(value, indent, depth + 1, out);
    }
    out.push_str(&newline(depth).unwrap_or_default());
    out.push(close);
}

/// A JSON string literal with every non-ASCII character escaped (`\u00e9`).
fn ascii(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_string()).to_string();
    let mut out = String::with_capacity(quoted.len());
    for c in quoted.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}
