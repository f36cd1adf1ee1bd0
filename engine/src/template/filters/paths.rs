//! Path filters as Python's `os.path` has them: `basename`, `dirname`,
//! `splitext`.

use minijinja::Environment;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("basename", |p: &str| basename(p).to_string());
    env.add_filter("dirname", |p: &str| dirname(p).to_string());
    env.add_filter("splitext", |p: &str| {
        let (root, ext) = splitext(p);
        vec![root.to_string(), ext.to_string()]
    });
}

/// What follows the last `/`.
fn basename(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, base)| base)
}

/// What precedes the last `/`, its trailing slashes removed unless it is
/// all slashes (`/a` gives `/`).
fn dirname(path: &str) -> &str {
    let head = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    if head.chars().all(|c| c == '/') {
        head
    } else {
        head.trim_end_matches('/')
    }
}

/// The path and its extension: from the last `.` of the base name, unless
/// the base name only starts with dots (`.bashrc` has none).
fn splitext(path: &str) -> (&str, &str) {
    let base_at = path.len() - basename(path).len();
    let base = &path[base_at..];
    let leading = base.len() - base.trim_start_matches('.').len();
    match base[leading..].rfind('.') {
        Some(i) => path.split_at(base_at + leading + i),
        None => (path, ""),
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn paths_split_as_python_splits_them() {
        assert_eq!(dirname("/etc/nginx/x.conf"), "/etc/nginx");
        assert_eq!(dirname("/x"), "/");
        assert_eq!(dirname("x"), "");
        assert_eq!(basename("/etc/x.conf"), "x.conf");
        assert_eq!(splitext("/etc/x.tar.gz"), ("/etc/x.tar", ".gz"));
        assert_eq!(splitext("/home/.bashrc"), ("/home/.bashrc", ""));
    }
}
