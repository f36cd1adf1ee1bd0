//! JSON filters with Python's `json.dumps` layout: `to_json` (`", "` and
//! `": "` between items, keys in the mapping's order), `to_nice_json`
//! (indented by 4, keys sorted: Ansible passes `sort_keys=True`), both
//! ASCII-only as Python writes them and both taking json.dumps's `indent`
//! and `sort_keys`; `from_json`; Jinja2's `tojson` (keys sorted, and
//! `<`, `>`, `&`, `'` written as `\u` escapes so it is safe in HTML).

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("to_json", |v: &Value, kwargs: Kwargs| {
        dumps(v, Layout::from_kwargs(None, false, &kwargs)?)
    });
    env.add_filter(
        "to_nice_json",
        |v: &Value, indent: Option<usize>, kwargs: Kwargs| {
            dumps(
                v,
                Layout::from_kwargs(Some(indent.unwrap_or(4)), true, &kwargs)?,
            )
        },
    );
    env.add_filter("tojson", tojson);
    env.add_filter("from_json", |s: &str| {
        serde_json::from_str::<serde_json::Value>(s)
            .map(|v| Value::from(minijinja::value::Serde(v)))
            .map_err(|e| invalid(format!("from_json: {e}")))
    });
}

/// The `json.dumps` arguments that shape the text.
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Spaces per level; `None`: all on one line.
    indent: Option<usize>,
    /// Keys sorted, else in the mapping's own (insertion) order.
    sort_keys: bool,
}

impl Layout {
    /// The filter's defaults, overridden by its `indent=` and `sort_keys=`.
    fn from_kwargs(indent: Option<usize>, sort_keys: bool, kwargs: &Kwargs) -> Result<Self, Error> {
        let layout = Layout {
            indent: kwargs.get::<Option<usize>>("indent")?.or(indent),
            sort_keys: kwargs
                .get::<Option<bool>>("sort_keys")?
                .unwrap_or(sort_keys),
        };
        kwargs.assert_all_used()?;
        Ok(layout)
    }
}

/// `value | tojson(indent=None)`: Jinja2's `htmlsafe_json_dumps`, safe
/// markup that needs no escaping in HTML or in a `<script>`.
fn tojson(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.or(indent);
    kwargs.assert_all_used()?;
    let json = dumps(
        value,
        Layout {
            indent,
            sort_keys: true,
        },
    )?;
    Ok(Value::from_safe_string(html_safe(&json)))
}

/// JSON text as Jinja2's `htmlsafe_json_dumps` leaves it: `< > & '` as
/// `\uXXXX` escapes, which JSON reads back as the same characters.
pub(super) fn html_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\'', "\\u0027")
}

/// `value` as Python's `json.dumps` writes it.
fn dumps(value: &Value, layout: Layout) -> Result<String, Error> {
    let json = serde_json::to_value(value).map_err(|e| invalid(format!("to_json: {e}")))?;
    let mut out = String::new();
    write(&json, layout, 0, &mut out);
    Ok(out)
}

fn write(v: &serde_json::Value, layout: Layout, depth: usize, out: &mut String) {
    use serde_json::Value as J;
    match v {
        J::Array(items) if !items.is_empty() => {
            let items = items.iter().map(|i| (None, i));
            write_items(items, ('[', ']'), layout, depth, out);
        }
        J::Object(map) if !map.is_empty() => {
            let mut entries: Vec<_> = map.iter().collect();
            if layout.sort_keys {
                entries.sort_by(|a, b| a.0.cmp(b.0));
            }
            let items = entries.into_iter().map(|(k, i)| (Some(k), i));
            write_items(items, ('{', '}'), layout, depth, out);
        }
        J::String(s) => out.push_str(&ascii(s)),
        other => out.push_str(&other.to_string()),
    }
}

/// A non-empty list or mapping, its items separated as Python separates them.
fn write_items<'a>(
    items: impl Iterator<Item = (Option<&'a String>, &'a serde_json::Value)>,
    (open, close): (char, char),
    layout: Layout,
    depth: usize,
    out: &mut String,
) {
    let newline = |d: usize| layout.indent.map(|n| format!("\n{}", " ".repeat(n * d)));
    out.push(open);
    for (i, (key, value)) in items.enumerate() {
        if i > 0 {
            out.push_str(if layout.indent.is_some() { "," } else { ", " });
        }
        out.push_str(&newline(depth + 1).unwrap_or_default());
        if let Some(key) = key {
            out.push_str(&ascii(key));
            out.push_str(": ");
        }
        write(value, layout, depth + 1, out);
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

#[cfg(test)]
mod unit {

    fn render(source: &str) -> String {
        super::super::render_with(super::register, source, minijinja::Value::from(()))
    }

    #[test]
    fn to_json_keeps_the_mappings_order_and_to_nice_json_sorts_as_ansible() {
        let d = r#"{% set d = {"b": 1, "a": {"d": [], "c": "é"}} %}"#;
        assert_eq!(
            render(&format!("{d}{{{{ d | to_json }}}}")),
            r#"{"b": 1, "a": {"d": [], "c": "\u00e9"}}"#
        );
        assert_eq!(
            render(&format!("{d}{{{{ d | to_nice_json(indent=2) }}}}")),
            "{\n  \"a\": {\n    \"c\": \"\\u00e9\",\n    \"d\": []\n  },\n  \"b\": 1\n}"
        );
    }

    #[test]
    fn sort_keys_and_indent_are_json_dumps_arguments_on_both() {
        let d = r#"{% set d = {"b": 1, "a": 2} %}"#;
        assert_eq!(
            render(&format!("{d}{{{{ d | to_json(sort_keys=true) }}}}")),
            r#"{"a": 2, "b": 1}"#
        );
        assert_eq!(
            render(&format!("{d}{{{{ d | to_json(indent=1) }}}}")),
            "{\n \"b\": 1,\n \"a\": 2\n}"
        );
        assert_eq!(
            render(&format!("{d}{{{{ d | to_nice_json(sort_keys=false) }}}}")),
            "{\n    \"b\": 1,\n    \"a\": 2\n}"
        );
    }
}
