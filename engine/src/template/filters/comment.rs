//! `text | comment(style, ...)`: Ansible's comment block, in one of its
//! styles (`plain` `#`, `c` `//`, `cblock` `/* */`, `erlang` `%`, `xml`
//! `<!-- -->`), each part overridable as in Ansible (`decoration`,
//! `beginning`, `end`, `prefix`, `prefix_count`, `postfix`,
//! `postfix_count`, `newline`).

use minijinja::value::Kwargs;
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("comment", comment);
}

/// A style's decoration, and its beginning and end lines if it has them.
fn style(name: &str) -> Option<(&'static str, &'static str, &'static str)> {
    Some(match name {
        "plain" => ("# ", "", ""),
        "erlang" => ("% ", "", ""),
        "c" => ("// ", "", ""),
        "cblock" => (" * ", "/*", " */"),
        "xml" => (" - ", "<!--", "-->"),
        _ => return None,
    })
}

fn comment(text: &str, style_name: Option<&str>, kwargs: Kwargs) -> Result<String, Error> {
    let name = style_name.unwrap_or("plain");
    let (decoration, beginning, end) = style(name).ok_or_else(|| {
        invalid(format!(
            "comment: invalid style {name:?} (plain, erlang, c, cblock, xml)"
        ))
    })?;
    let text_or = |key: &str, default: &str| -> Result<String, Error> {
        Ok(kwargs
            .get::<Option<String>>(key)?
            .unwrap_or_else(|| default.to_string()))
    };
    let decoration = text_or("decoration", decoration)?;
    let newline = text_or("newline", "\n")?;
    let beginning = text_or("beginning", beginning)?;
    let end = text_or("end", end)?;
    let prefix = text_or("prefix", decoration.trim_end())?;
    let postfix = text_or("postfix", decoration.trim_end())?;
    let prefix_count = kwargs.get::<Option<usize>>("prefix_count")?.unwrap_or(1);
    let postfix_count = kwargs.get::<Option<usize>>("postfix_count")?.unwrap_or(1);
    kwargs.assert_all_used()?;
    let mut out = String::new();
    if !beginning.is_empty() {
        out += &format!("{beginning}{newline}");
    }
    if prefix == newline {
        out += &newline.repeat(prefix_count);
    } else if !prefix.is_empty() {
        out += &format!("{prefix}{newline}").repeat(prefix_count);
    }
    let body = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    );
    out += &body.replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    );
    out += &format!("{newline}{postfix}").repeat(postfix_count);
    if !end.is_empty() {
        out += &format!("{newline}{end}");
    }
    Ok(out)
}

#[cfg(test)]
mod unit {
    use super::*;
    use minijinja::value::Value;

    fn styled(text: &str, style: &str, kwargs: &[(&str, Value)]) -> String {
        comment(text, Some(style), Kwargs::from_iter(kwargs.to_vec())).unwrap()
    }

    #[test]
    fn styles_write_ansibles_blocks() {
        assert_eq!(styled("a\nb", "plain", &[]), "#\n# a\n# b\n#");
        assert_eq!(styled("x", "cblock", &[]), "/*\n *\n * x\n *\n */");
        assert_eq!(styled("x", "xml", &[]), "<!--\n -\n - x\n -\n-->");
        let counts = [
            ("prefix_count", Value::from(2)),
            ("postfix_count", Value::from(0)),
        ];
        assert_eq!(styled("a\n\nb", "c", &counts), "//\n//\n// a\n//\n// b");
        let kwargs = Kwargs::from_iter(Vec::<(&str, Value)>::new());
        assert!(comment("x", Some("nope"), kwargs).is_err());
    }
}
