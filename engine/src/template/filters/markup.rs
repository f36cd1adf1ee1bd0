//! HTML as Jinja2's filters write and read it: markupsafe's `escape` (which
//! writes quotes as `&#34;` and `&#39;` and leaves `/` alone, where
//! minijinja's autoescape differs), Python's `html.unescape`, and the
//! `Markup` a filter returns when the template autoescapes.

use std::sync::LazyLock;

use minijinja::value::Value;
use minijinja::{AutoEscape, State};
use regex::{Captures, Regex};

use super::html_entities::{DROPPED, NAMED, REMAPPED};

/// markupsafe's `escape(s)`: `& < > ' "` as entities.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&#39;"),
            '"' => out.push_str("&#34;"),
            c => out.push(c),
        }
    }
    out
}

/// markupsafe's `escape(value)`: a safe (`Markup`) value as it is, any
/// other as its text escaped.
pub(super) fn escape_value(value: &Value) -> String {
    match value.is_safe() {
        true => value.to_string(),
        false => escape(&value.to_string()),
    }
}

/// `text` as Jinja2 returns a filter's HTML: `Markup` (safe, so not
/// escaped again) when the template autoescapes, else a plain string.
pub(super) fn in_context(state: &State, text: String) -> Value {
    match state.auto_escape() {
        AutoEscape::None => Value::from(text),
        _ => Value::from_safe_string(text),
    }
}

/// Python's `html.unescape`: named references (the longest known prefix of
/// a name written without its `;`), decimal and hex ones, as HTML5 reads them.
pub(super) fn unescape(s: &str) -> String {
    static REFERENCE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\x0c <&#;]{1,32};?)").unwrap()
    });
    if !s.contains('&') {
        return s.to_string();
    }
    REFERENCE
        .replace_all(s, |c: &Captures| match c[1].strip_prefix('#') {
            Some(number) => numeric(number),
            None => named(&c[1]),
        })
        .into_owned()
}

/// A `&#...;` reference's text, `number` without the `#`.
fn numeric(number: &str) -> String {
    let number = number.trim_end_matches(';');
    let parsed = match number.strip_prefix(['x', 'X']) {
        Some(hex) => u32::from_str_radix(hex, 16),
        None => number.parse::<u32>(),
    };
    // Too long for a u32 is past the last code point: Python's `int` gives
    // the same replacement character.
    let code = parsed.unwrap_or(u32::MAX);
    if let Ok(i) = REMAPPED.binary_search_by_key(&code, |(n, _)| *n) {
        return REMAPPED[i].1.to_string();
    }
    if (0xD800..=0xDFFF).contains(&code) || code > 0x10FFFF {
        return "\u{FFFD}".to_string();
    }
    if DROPPED.binary_search(&code).is_ok() {
        return String::new();
    }
    char::from_u32(code).map(String::from).unwrap_or_default()
}

/// A `&name` reference's text: the whole name, else its longest known
/// prefix (of two characters or more) and the rest as written.
fn named(name: &str) -> String {
    let lookup = |n: &str| {
        NAMED
            .binary_search_by_key(&n, |(k, _)| k)
            .ok()
            .map(|i| NAMED[i].1)
    };
    if let Some(text) = lookup(name) {
        return text.to_string();
    }
    let ends = name.char_indices().map(|(i, _)| i).skip(2);
    let prefixes: Vec<usize> = ends.collect();
    for &end in prefixes.iter().rev() {
        if let Some(text) = lookup(&name[..end]) {
            return format!("{text}{}", &name[end..]);
        }
    }
    format!("&{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_writes_quotes_as_markupsafe_does() {
        assert_eq!(
            escape(r#"<a href="x">'&'/"#),
            "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;/"
        );
    }

    #[test]
    fn unescape_reads_references_as_python_does() {
        let cases = [
            ("&lt;b&gt; &amp;amp;", "<b> &amp;"),
            ("&#65;&#x42;&#X43;&#0068", "ABCD"),
            ("&copy &ampx &notit; &unknown;", "© &x ¬it; &unknown;"),
            (
                "&#0; &#x110000; &#xD800; &#128; &#1;",
                "\u{FFFD} \u{FFFD} \u{FFFD} € ",
            ),
            ("&#99999999999999999999;", "\u{FFFD}"),
            ("no reference & here", "no reference & here"),
        ];
        for (text, want) in cases {
            assert_eq!(unescape(text), want, "{text}");
        }
    }
}
