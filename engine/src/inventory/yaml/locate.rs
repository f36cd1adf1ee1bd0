//! Locating schema errors: the `file:line:col` of a key in YAML source.
//!
//! `yaml_serde::Value` carries no positions, so once a value fails the
//! schema its place is found again in the source text, by walking the key
//! path through the block structure. Best-effort: a key inside a flow-style
//! `{...}` mapping falls back to its parent's line. Only positions are
//! computed here; the messages stay with the schema checks in `mod.rs`.

/// Best-effort 1-based (line, column) of the key at `path` in YAML `text`.
///
/// Walks block-style mappings: each path element is looked for among the
/// keys indented exactly one level below the previous match. Returns the
/// deepest element that was found (so a key inside a flow mapping points at
/// the enclosing key), or `None` if even the first was not.
pub(crate) fn locate(text: &str, path: &[&str]) -> Option<(usize, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = None;
    let mut start = 0;
    let mut parent_indent: Option<usize> = None;
    'keys: for key in path {
        let mut level: Option<usize> = None;
        for (i, line) in lines.iter().enumerate().skip(start) {
            let content = line.trim_start();
            if content.is_empty() || content.starts_with('#') || content.starts_with("---") {
                continue;
            }
            let indent = line.chars().count() - content.chars().count();
            if parent_indent.is_some_and(|p| indent <= p) {
                break 'keys; // left the parent's block
            }
            let level = *level.get_or_insert(indent);
            if indent == level && key_matches(content, key) {
                found = Some((i + 1, indent + 1));
                parent_indent = Some(indent);
                start = i + 1;
                continue 'keys;
            }
        }
        break;
    }
    found
}

/// Whether `content` (a line without its indent) is the mapping key `key`,
/// plain or quoted, followed by its colon.
fn key_matches(content: &str, key: &str) -> bool {
    let rest = if let Some(r) = content.strip_prefix(key) {
        r
    } else if let Some(r) = content
        .strip_prefix('"')
        .and_then(|c| c.strip_prefix(key))
        .and_then(|c| c.strip_prefix('"'))
    {
        r
    } else if let Some(r) = content
        .strip_prefix('\'')
        .and_then(|c| c.strip_prefix(key))
        .and_then(|c| c.strip_prefix('\''))
    {
        r
    } else {
        return false;
    };
    let rest = rest.trim_start_matches([' ', '\t']);
    rest == ":" || rest.starts_with(": ") || rest.starts_with(":\t") || rest.starts_with(":#")
}

/// 1-based (line, column) of the first line that is not blank, a comment or
/// a `---` document marker: where a document that has the wrong type
/// (a list, a scalar) starts, for errors about the whole file.
pub(crate) fn first_content_line(text: &str) -> Option<(usize, usize)> {
    text.lines()
        .enumerate()
        .find(|(_, l)| {
            let t = l.trim_start();
            !t.is_empty() && !t.starts_with('#') && !t.starts_with("---")
        })
        .map(|(i, l)| {
            (
                i + 1,
                l.chars().count() - l.trim_start().chars().count() + 1,
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "\
# comment
all:
  hosts:
    children:          # a host named like a keyword
  children:
    web:
      hosts:
        \"w1\":
        'w2': {a: 1}
      vars:
        port: 80
---
";

    #[test]
    fn locate_follows_block_structure() {
        assert_eq!(locate(DOC, &["all"]), Some((2, 1)));
        // The host called `children` (deeper) is not mistaken for the key.
        assert_eq!(locate(DOC, &["all", "children"]), Some((5, 3)));
        assert_eq!(
            locate(DOC, &["all", "children", "web", "hosts"]),
            Some((7, 7))
        );
        assert_eq!(
            locate(DOC, &["all", "children", "web", "hosts", "w1"]),
            Some((8, 9))
        );
        assert_eq!(
            locate(DOC, &["all", "children", "web", "hosts", "w2"]),
            Some((9, 9))
        );
        // Inside a flow mapping: falls back to the enclosing key.
        assert_eq!(
            locate(DOC, &["all", "children", "web", "hosts", "w2", "a"]),
            Some((9, 9))
        );
        assert_eq!(
            locate(DOC, &["all", "children", "web", "vars", "port"]),
            Some((11, 9))
        );
        // Missing key: deepest found ancestor; nothing found at all: None.
        assert_eq!(locate(DOC, &["all", "vars"]), Some((2, 1)));
        assert_eq!(locate(DOC, &["nope"]), None);
    }
}
