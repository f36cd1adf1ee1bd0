//! Jinja2's `indent`, replacing minijinja's: minijinja drops the text's
//! final newline, Jinja2 keeps it, so `{{ x | to_nice_yaml | indent(2) }}`
//! in the middle of a file (the common way roles nest YAML) is followed by
//! an empty line in Ansible's output and by none in minijinja's.

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("indent", indent);
}

/// `s | indent(width=4, first=false, blank=false)` as Jinja2's `do_indent`:
/// every line but the first (unless `first`) indented, blank lines only with
/// `blank`; a width given as a string is the indentation itself.
fn indent(
    s: String,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = width.or(kwargs.get::<Option<Value>>("width")?);
    let first = first
        .or(kwargs.get::<Option<bool>>("first")?)
        .unwrap_or(false);
    let blank = blank
        .or(kwargs.get::<Option<bool>>("blank")?)
        .unwrap_or(false);
    kwargs.assert_all_used()?;
    let indention = match width {
        None => " ".repeat(4),
        Some(w) => match (w.as_str(), usize::try_from(w.clone())) {
            (Some(text), _) => text.to_string(),
            (None, Ok(n)) => " ".repeat(n),
            (None, Err(_)) => return Err(invalid(format!("indent: width {w} is no number"))),
        },
    };
    let text = format!("{s}\n");
    let mut lines = splitlines(&text).into_iter();
    let mut out = lines.next().unwrap_or_default().to_string();
    for line in lines {
        out.push('\n');
        if blank || !line.is_empty() {
            out.push_str(&indention);
        }
        out.push_str(line);
    }
    if first {
        out.insert_str(0, &indention);
    }
    Ok(out)
}

/// Python's `str.splitlines()`: split at any line boundary (`\r\n` as one),
/// no empty item after a final one. `wordwrap` splits its paragraphs so too.
pub(super) fn splitlines(text: &str) -> Vec<&str> {
    let is_break = |c: char| {
        matches!(
            c,
            '\n' | '\r'
                | '\x0b'
                | '\x0c'
                | '\x1c'
                | '\x1d'
                | '\x1e'
                | '\u{85}'
                | '\u{2028}'
                | '\u{2029}'
        )
    };
    let mut lines = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !is_break(c) {
            continue;
        }
        lines.push(&text[start..i]);
        start = i + c.len_utf8();
        if c == '\r' && chars.peek().is_some_and(|&(_, n)| n == '\n') {
            chars.next();
            start += 1;
        }
    }
    if start < text.len() {
        lines.push(&text[start..]);
    }
    lines
}

#[cfg(test)]
mod unit {

    fn render(source: &str) -> String {
        super::super::render_with(super::register, source, minijinja::Value::from(()))
    }

    #[test]
    fn a_final_newline_is_kept_as_jinja2_keeps_it() {
        assert_eq!(render(r#"{{ "a\nb\n" | indent(2) }}|"#), "a\n  b\n|");
        assert_eq!(render(r#"{{ "a\n\nb" | indent(2) }}|"#), "a\n\n  b|");
    }

    #[test]
    fn first_blank_and_a_string_width_as_jinja2() {
        assert_eq!(
            render(r#"{{ "a\n\nb\n" | indent(2, true, true) }}|"#),
            "  a\n  \n  b\n  |"
        );
        assert_eq!(
            render(r#"{{ "a\r\nb" | indent(width="> ", first=true) }}"#),
            "> a\n> b"
        );
        assert_eq!(render(r#"{{ "a\nb" | indent }}"#), "a\n    b");
    }
}
