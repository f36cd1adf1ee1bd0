//! The `#jinja2:` first line Ansible honours in a template: whitespace
//! settings for that template alone (`#jinja2: trim_blocks: False,
//! lstrip_blocks: True`), so a template brought over from a role renders
//! as it did there. The line itself is not part of the output.

use minijinja::syntax::SyntaxConfig;

/// What a template's first line starts with when it overrides settings.
const PREFIX: &str = "#jinja2:";

/// Jinja's whitespace settings, as Ansible's `template` module sets them
/// unless a header says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whitespace {
    /// The newline after a block tag is removed (Ansible: on).
    pub trim_blocks: bool,
    /// Spaces before a block tag on its line are removed (Ansible: off).
    pub lstrip_blocks: bool,
    /// Jinja keeps the source's final newline (Ansible: off, then pads the
    /// output to the source's trailing newlines, see [`pad_newlines`]).
    pub keep_trailing_newline: bool,
}

impl Default for Whitespace {
    fn default() -> Self {
        Whitespace {
            trim_blocks: true,
            lstrip_blocks: false,
            keep_trailing_newline: false,
        }
    }
}

impl Whitespace {
    /// minijinja's syntax configuration for these settings.
    pub fn syntax(self) -> SyntaxConfig {
        SyntaxConfig::builder()
            .trim_blocks(self.trim_blocks)
            .lstrip_blocks(self.lstrip_blocks)
            .keep_trailing_newline(self.keep_trailing_newline)
            .build()
            .expect("the default delimiters are valid")
    }
}

/// Ends `output` with at least as many newlines as `source` ends with, as
/// Ansible's templating does: a template whose last line is a block tag
/// (`{% endfor %}`) keeps its final newline.
pub fn pad_newlines(source: &str, mut output: String) -> String {
    let trailing = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let missing = trailing(source).saturating_sub(trailing(&output));
    output.push_str(&"\n".repeat(missing));
    output
}

/// The settings a `#jinja2:` first line gives and the template without that
/// line; `None` when the template has no such line.
pub fn parse(source: &str) -> Option<Result<(Whitespace, &str), String>> {
    let rest = source.strip_prefix(PREFIX)?;
    let (line, body) = rest.split_once('\n').unwrap_or((rest, ""));
    Some(overrides(line).map(|ws| (ws, body)))
}

/// `key: value, key: value` pairs, as Ansible splits them.
fn overrides(line: &str) -> Result<Whitespace, String> {
    let mut ws = Whitespace::default();
    for pair in line.split(',') {
        let (key, value) = pair
            .split_once(':')
            .ok_or_else(|| format!("#jinja2: header: {pair:?} is not `key: value`"))?;
        let value = match value.trim() {
            "True" | "true" => true,
            "False" | "false" => false,
            other => return Err(format!("#jinja2: header: {other:?} is not True or False")),
        };
        match key.trim() {
            "trim_blocks" => ws.trim_blocks = value,
            "lstrip_blocks" => ws.lstrip_blocks = value,
            "keep_trailing_newline" => ws.keep_trailing_newline = value,
            other => {
                return Err(format!(
                    "#jinja2: header: {other:?} is not supported (trim_blocks, lstrip_blocks, keep_trailing_newline are)"
                ))
            }
        }
    }
    Ok(ws)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_overrides_the_settings_and_leaves_the_output() {
        let (ws, body) = parse("#jinja2: trim_blocks: False, lstrip_blocks: True\nx\n")
            .unwrap()
            .unwrap();
        assert!(!ws.trim_blocks && ws.lstrip_blocks && !ws.keep_trailing_newline);
        assert_eq!(body, "x\n");
        assert!(parse("x\n#jinja2: trim_blocks: False\n").is_none());
    }

    #[test]
    fn the_output_ends_with_as_many_newlines_as_the_source() {
        assert_eq!(pad_newlines("{% endfor %}\n\n", "a".into()), "a\n\n");
        assert_eq!(pad_newlines("{{ x }}\n", "a\n\n".into()), "a\n\n");
        assert_eq!(pad_newlines("{{ x }}", "a".into()), "a");
    }

    #[test]
    fn an_unknown_setting_is_named() {
        let err = parse("#jinja2: trim: False\n").unwrap().unwrap_err();
        assert!(err.contains("\"trim\" is not supported"), "{err}");
        let err = parse("#jinja2: trim_blocks: maybe\n").unwrap().unwrap_err();
        assert!(err.contains("\"maybe\" is not True or False"), "{err}");
    }
}
