//! Jinja2's HTML filters minijinja lacks, as Jinja2 writes them:
//! `xmlattr`, `forceescape`, `striptags` (`urlize` has its own file).

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, State};

use super::invalid;
use super::markup::{escape, escape_value, in_context, unescape};

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("xmlattr", xmlattr);
    env.add_filter("forceescape", |v: &Value| {
        Value::from_safe_string(escape(&v.to_string()))
    });
    env.add_filter("striptags", |v: &Value| striptags(&v.to_string()));
}

/// `d | xmlattr(autospace=True)`: ` key="value"` for each item whose value
/// is not none (values escaped, keys refused when they hold whitespace,
/// `/`, `>` or `=`), the leading space only when `autospace` and any item.
fn xmlattr(state: &State, d: &Value, autospace: Option<bool>) -> Result<Value, Error> {
    if d.kind() != ValueKind::Map {
        return Err(invalid(format!(
            "xmlattr: expected a mapping, got {}",
            d.kind()
        )));
    }
    let mut items = Vec::new();
    for key in d.try_iter()? {
        let value = d.get_item(&key)?;
        if value.is_none() || value.is_undefined() {
            continue;
        }
        let key = key.to_string();
        if key.contains(|c: char| c.is_ascii_whitespace() || "/>=\x0b".contains(c)) {
            return Err(invalid(format!(
                "xmlattr: invalid character in attribute name: {key:?}"
            )));
        }
        items.push(format!(r#"{}="{}""#, escape(&key), escape_value(&value)));
    }
    let mut attrs = items.join(" ");
    if autospace.unwrap_or(true) && !attrs.is_empty() {
        attrs.insert(0, ' ');
    }
    Ok(in_context(state, attrs))
}

/// markupsafe's `Markup.striptags`: comments and closed tags removed (an
/// unclosed one ends the search, kept as text), whitespace runs made one
/// space, then entities unescaped.
fn striptags(s: &str) -> String {
    let mut kept = String::with_capacity(s.len());
    let mut pos = 0;
    while let Some(start) = s[pos..].find('<').map(|i| pos + i) {
        let end = match s[start..].starts_with("<!--") {
            true => s[start + 4..].find("-->").map(|i| start + 4 + i + 3),
            false => s[start..].find('>').map(|i| start + i + 1),
        };
        let Some(end) = end else { break };
        kept.push_str(&s[pos..start]);
        pos = end;
    }
    kept.push_str(&s[pos..]);
    let words: Vec<&str> = kept
        .split(is_python_space)
        .filter(|w| !w.is_empty())
        .collect();
    unescape(&words.join(" "))
}

/// Python's `str.isspace`: Unicode whitespace and the four ASCII
/// separators (`\x1c`..`\x1f`) Rust does not count.
pub(super) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn striptags_keeps_an_unclosed_tag_and_collapses_before_unescaping() {
        assert_eq!(striptags("a <b>x</b>\n\n y <unclosed"), "a x y <unclosed");
        assert_eq!(striptags("a<!-- <b> -->b &nbsp; c"), "ab \u{a0} c");
    }
}
