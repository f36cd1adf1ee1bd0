//! Python's `glob.glob` of a pattern whose wildcards are in its last part
//! (`files/*.conf`): shared by the `fileglob` lookup (which looks for the
//! folder along the search path) and the `fileglob` filter (which takes it
//! as given, relative to the working directory, as Ansible's does).

use std::path::{Path, PathBuf};

/// A pattern split as [`split`] splits it, its name part compiled.
pub(crate) struct Pattern<'a> {
    /// The folder part, without its final `/`; none for a bare name pattern.
    pub folder: Option<&'a str>,
    matcher: globset::GlobMatcher,
    /// Whether the name part starts with `.`: only then does it match
    /// hidden files, as in Python's glob.
    dot: bool,
}

impl<'a> Pattern<'a> {
    /// `pattern` split at its last `/` (`/x` is the root's `x`), its name
    /// part compiled as a glob.
    pub(crate) fn new(pattern: &'a str) -> Result<Self, globset::Error> {
        let (folder, name) = match pattern.rsplit_once('/') {
            Some((dir, name)) => (Some(if dir.is_empty() { "/" } else { dir }), name),
            None => (None, pattern),
        };
        Ok(Pattern {
            folder,
            matcher: globset::Glob::new(name)?.compile_matcher(),
            dot: name.starts_with('.'),
        })
    }

    /// The regular files of `folder` whose names match, sorted (Python
    /// gives the directory's order, which varies from one file system to
    /// another), each as `folder` joined with the name.
    pub(crate) fn files_in(&self, folder: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(folder) else {
            return Vec::new();
        };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.file_name().is_some_and(|n| self.matches(n)))
            .collect();
        files.sort();
        files
    }

    fn matches(&self, name: &std::ffi::OsStr) -> bool {
        let hidden = name.as_encoded_bytes().starts_with(b".");
        (self.dot || !hidden) && self.matcher.is_match(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_files_match_only_a_pattern_that_starts_with_a_dot() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.conf", ".b.conf", "c.txt"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        std::fs::create_dir(dir.path().join("d.conf")).unwrap();
        let names = |pattern: &str| -> Vec<String> {
            let p = Pattern::new(pattern).unwrap();
            p.files_in(dir.path())
                .iter()
                .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
                .collect()
        };
        assert_eq!(names("*.conf"), ["a.conf"]);
        assert_eq!(names(".*.conf"), [".b.conf"]);
        assert_eq!(Pattern::new("/x*").unwrap().folder, Some("/"));
        assert_eq!(Pattern::new("f/g/x*").unwrap().folder, Some("f/g"));
        assert_eq!(Pattern::new("x*").unwrap().folder, None);
    }
}
