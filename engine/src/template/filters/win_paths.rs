//! Windows path filters as Python's `ntpath` has them: `win_splitdrive`,
//! `win_basename`, `win_dirname` (both `\` and `/` separate).

use minijinja::Environment;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("win_splitdrive", |p: &str| {
        let (drive, rest) = splitdrive(p);
        vec![drive.to_string(), rest.to_string()]
    });
    env.add_filter("win_basename", |p: &str| split(p).1.to_string());
    env.add_filter("win_dirname", |p: &str| split(p).0);
}

fn is_sep(c: char) -> bool {
    c == '\\' || c == '/'
}

/// The drive (`C:` or `\\server\share`) and the rest.
fn splitdrive(path: &str) -> (&str, &str) {
    let norm = path.replace('/', "\\");
    if norm.starts_with("\\\\") && !norm[2..].starts_with('\\') {
        let Some(first) = norm[2..].find('\\').map(|i| i + 2) else {
            return ("", path);
        };
        let second = norm[first + 1..].find('\\').map(|i| i + first + 1);
        if second == Some(first + 1) {
            return ("", path);
        }
        return path.split_at(second.unwrap_or(path.len()));
    }
    if norm.get(1..2) == Some(":") {
        return path.split_at(2);
    }
    ("", path)
}

/// `ntpath.split`: the head (its trailing separators removed unless all
/// it is) with its drive, and the last part.
fn split(path: &str) -> (String, &str) {
    let (drive, rest) = splitdrive(path);
    let cut = rest.rfind(is_sep).map_or(0, |i| i + 1);
    let (head, tail) = rest.split_at(cut);
    let trimmed = head.trim_end_matches(is_sep);
    let head = if trimmed.is_empty() { head } else { trimmed };
    (format!("{drive}{head}"), tail)
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn windows_paths_split_as_ntpath_splits_them() {
        assert_eq!(
            split(r"C:\Users\me\x.txt"),
            (r"C:\Users\me".to_string(), "x.txt")
        );
        assert_eq!(split("C:/a/b"), ("C:/a".to_string(), "b"));
        assert_eq!(split("C:x"), ("C:".to_string(), "x"));
        assert_eq!(split(r"C:\x"), (r"C:\".to_string(), "x"));
        assert_eq!(splitdrive(r"\\server\share\f"), (r"\\server\share", r"\f"));
        assert_eq!(splitdrive(r"\\\x"), ("", r"\\\x"));
    }
}
