//! Path filters as Python's `os.path` has them (POSIX): `basename`,
//! `dirname`, `splitext`, `normpath`, `path_join`, `commonpath`, and those
//! that read the control machine: `expanduser`, `expandvars`, `realpath`,
//! `relpath` and `fileglob` (relative to the working directory, as in Ansible).

use std::path::{Path, PathBuf};

use minijinja::value::Value;
use minijinja::{Environment, Error};

use super::invalid;
use crate::template::glob::Pattern;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("normpath", |p: &str| normpath(p));
    env.add_filter("path_join", path_join);
    env.add_filter("commonpath", commonpath);
    env.add_filter("expanduser", |p: &str| expanduser(p));
    env.add_filter("expandvars", |p: &str| expandvars(p));
    env.add_filter("realpath", |p: &str| realpath(p));
    env.add_filter("fileglob", |p: &str| fileglob(p));
    env.add_filter("relpath", |p: &str, start: Option<&str>| {
        relpath(p, start.unwrap_or("."))
    });
    env.add_filter("basename", |p: &str| basename(p).to_string());
    env.add_filter("dirname", |p: &str| dirname(p).to_string());
    env.add_filter("splitext", |p: &str| {
        let (root, ext) = splitext(p);
        vec![root.to_string(), ext.to_string()]
    });
}

/// `fileglob`: the regular files matching `pattern` on the control machine,
/// as Python's `glob.glob` gives them (relative to the working directory
/// when the pattern is; wildcards in the last part only), sorted. Unlike
/// the lookup of that name it searches no path: Ansible's filter does not.
fn fileglob(pattern: &str) -> Result<Vec<String>, Error> {
    let glob = Pattern::new(pattern).map_err(|e| invalid(format!("fileglob: {e}")))?;
    let files = glob.files_in(Path::new(glob.folder.unwrap_or(".")));
    let shown = |f: &PathBuf| match glob.folder {
        Some(_) => f.display().to_string(),
        None => basename(&f.display().to_string()).to_string(),
    };
    Ok(files.iter().map(shown).collect())
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

/// `os.path.normpath`: `.` and empty parts gone, `..` taken back where it
/// can be, two leading slashes kept (POSIX leaves their meaning open).
fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let lead = match path.len() - path.trim_start_matches('/').len() {
        0 => "",
        2 => "//",
        _ => "/",
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != ".") {
        match (part, parts.last()) {
            ("..", Some(&last)) if last != ".." => {
                parts.pop();
            }
            ("..", None) if !lead.is_empty() => {}
            _ => parts.push(part),
        }
    }
    let joined = format!("{lead}{}", parts.join("/"));
    if joined.is_empty() {
        ".".into()
    } else {
        joined
    }
}

/// `os.path.join`: an absolute part starts over, a slash goes between parts.
fn join(parts: impl IntoIterator<Item = String>) -> String {
    parts.into_iter().fold(String::new(), |acc, part| {
        if part.starts_with('/') || acc.is_empty() {
            part
        } else if acc.ends_with('/') {
            acc + part.as_str()
        } else {
            format!("{acc}/{part}")
        }
    })
}

/// Ansible's `path_join`: a string as it is, a list joined by `os.path.join`.
fn path_join(paths: &Value) -> Result<String, Error> {
    if let Some(text) = paths.as_str() {
        return Ok(text.to_string());
    }
    let parts = paths.try_iter().map_err(|_| {
        invalid(format!(
            "path_join: expects a string or a list, got {paths}"
        ))
    })?;
    Ok(join(parts.map(|p| p.to_string())))
}

/// `os.path.commonpath`: the longest common leading path of the list.
fn commonpath(paths: Vec<String>) -> Result<String, Error> {
    let Some(first) = paths.first() else {
        return Err(invalid("commonpath: the list is empty"));
    };
    let absolute = first.starts_with('/');
    if paths.iter().any(|p| p.starts_with('/') != absolute) {
        return Err(invalid("commonpath: can't mix absolute and relative paths"));
    }
    let split = |p: &String| -> Vec<String> {
        p.split('/')
            .filter(|s| !s.is_empty() && *s != ".")
            .map(String::from)
            .collect()
    };
    let lists: Vec<Vec<String>> = paths.iter().map(split).collect();
    let common = lists[0]
        .iter()
        .enumerate()
        .take_while(|(i, part)| lists.iter().all(|l| l.get(*i) == Some(part)))
        .count();
    let prefix = if absolute { "/" } else { "" };
    Ok(format!("{prefix}{}", lists[0][..common].join("/")))
}

/// `os.path.expanduser`: a leading `~` is `$HOME`, `~user` that user's home
/// (from `/etc/passwd`); anything else as it is.
fn expanduser(path: &str) -> String {
    let Some(rest) = path.strip_prefix('~') else {
        return path.to_string();
    };
    let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let home = if user.is_empty() {
        std::env::var("HOME").ok()
    } else {
        home_of(user)
    };
    match home.map(|home| format!("{}{tail}", home.trim_end_matches('/'))) {
        Some(expanded) if expanded.is_empty() => "/".into(),
        Some(expanded) => expanded,
        None => path.to_string(),
    }
}

/// `user`'s home directory in `/etc/passwd`.
fn home_of(user: &str) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[0] == user)
        .map(|f| f[5].to_string())
}

/// `os.path.expandvars`: `$NAME` and `${NAME}` of a set variable replaced,
/// the others left as written.
fn expandvars(path: &str) -> String {
    let re = regex::Regex::new(r"\$(\w+|\{[^}]*\})").expect("a valid pattern");
    re.replace_all(path, |caps: &regex::Captures| {
        let name = caps[1].trim_start_matches('{').trim_end_matches('}');
        std::env::var(name).unwrap_or_else(|_| caps[0].to_string())
    })
    .into_owned()
}

/// `os.path.abspath`: joined to the working directory, then normalised.
fn abspath(path: &str) -> String {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    normpath(&join([
        cwd.to_string_lossy().into_owned(),
        path.to_string(),
    ]))
}

/// `os.path.realpath`: part by part from the root (or the working
/// directory), each symbolic link resolved where the path exists, a part
/// that does not exist kept as written, `..` going up from what is resolved.
fn realpath(path: &str) -> String {
    let start = if path.starts_with('/') {
        PathBuf::from("/")
    } else {
        std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
    };
    let resolved =
        path.split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .fold(start, |resolved, part| {
                if part == ".." {
                    return resolved
                        .parent()
                        .map_or(resolved.clone(), Path::to_path_buf);
                }
                let next = resolved.join(part);
                std::fs::canonicalize(&next).unwrap_or(next)
            });
    resolved.to_string_lossy().into_owned()
}

/// `os.path.relpath(path, start)`: the way from `start` to `path`.
fn relpath(path: &str, start: &str) -> Result<String, Error> {
    if path.is_empty() {
        return Err(invalid("relpath: no path specified"));
    }
    let (path, start) = (abspath(path), abspath(start));
    let parts = |p: &str| -> Vec<String> {
        Path::new(p)
            .components()
            .skip(1)
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect()
    };
    let (to, from) = (parts(&path), parts(&start));
    let common = to.iter().zip(&from).take_while(|(a, b)| a == b).count();
    let ups = std::iter::repeat_n("..".to_string(), from.len() - common);
    let rel: Vec<String> = ups.chain(to[common..].iter().cloned()).collect();
    Ok(if rel.is_empty() {
        ".".into()
    } else {
        rel.join("/")
    })
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

    #[test]
    fn normpath_and_join_are_pythons() {
        assert_eq!(normpath("/a//b/./c/../d/"), "/a/b/d");
        assert_eq!(normpath("../x/../../y"), "../../y");
        assert_eq!(normpath("/../x"), "/x");
        assert_eq!(normpath("//a"), "//a");
        assert_eq!(normpath("a/.."), ".");
        let parts = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            join(parts(&["/etc", "nginx/", "x.conf"])),
            "/etc/nginx/x.conf"
        );
        assert_eq!(join(parts(&["a", "/abs", "b"])), "/abs/b");
        assert_eq!(
            commonpath(parts(&["/a/b/c", "/a/b/d", "/a/bx"])).unwrap(),
            "/a"
        );
        assert!(commonpath(parts(&["/a", "b"])).is_err());
    }

    #[test]
    fn relpath_finds_the_way_between_two_paths() {
        assert_eq!(
            relpath("/etc/nginx/conf.d", "/etc").unwrap(),
            "nginx/conf.d"
        );
        assert_eq!(relpath("/etc", "/etc/nginx/conf.d").unwrap(), "../..");
        assert_eq!(relpath("/usr/lib", "/etc/x").unwrap(), "../../usr/lib");
        assert_eq!(relpath("/a", "/a").unwrap(), ".");
    }

    #[test]
    fn realpath_resolves_links_as_far_as_the_path_exists() {
        let dir = tempfile::tempdir().unwrap();
        let real = std::fs::canonicalize(dir.path()).unwrap();
        std::os::unix::fs::symlink(&real, real.join("link")).unwrap();
        let through = format!("{}/link/missing/../x", real.display());
        assert_eq!(realpath(&through), format!("{}/x", real.display()));
        let up = format!("{}/link/../y", real.display());
        assert_eq!(
            realpath(&up),
            format!("{}/y", real.parent().unwrap().display())
        );
    }
}
