//! Which file a piece of running script comes from.
//!
//! Rhai labels code with a "source": the playbook's AST carries the path it
//! was loaded from, and a role module carries its import path (`"redis"` for
//! `import "redis"`, resolved under `roles/`). Templates, data files and
//! error messages need the real file, and role tags need the role's name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Maps Rhai sources to files, for one playbook.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The project root (holds `roles/`, `templates/`).
    pub root: PathBuf,
    /// The playbook's source label, as set on its AST.
    pub playbook: String,
    /// The files the scripts read: the playbook, role modules, data files.
    pub inputs: crate::definition::Inputs,
    /// The role module file each source label named when first asked: it
    /// names the same one for the whole run, and every op call asks (a
    /// `stat` each was a twentieth of a warm rerun's control CPU).
    modules: Arc<Mutex<HashMap<String, PathBuf>>>,
}

impl Sources {
    /// The sources of the playbook labelled `playbook` in the project at
    /// `root`, recording the files its scripts read in `inputs`.
    pub fn new(root: PathBuf, playbook: String, inputs: crate::definition::Inputs) -> Sources {
        Sources {
            root,
            playbook,
            inputs,
            modules: Default::default(),
        }
    }

    /// The file a source label names: the playbook itself, or a role module
    /// under `roles/`.
    pub fn file(&self, source: Option<&str>) -> Option<PathBuf> {
        let source = source?;
        if source == self.playbook {
            return Some(PathBuf::from(source));
        }
        let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        let file = modules.entry(source.to_string()).or_insert_with(|| {
            let module = self.root.join("roles").join(format!("{source}.rhai"));
            match module.is_file() {
                true => module,
                false => PathBuf::from(source),
            }
        });
        Some(file.clone())
    }

    /// The folder of the script a source label names, where its templates,
    /// files and data files are looked up first.
    pub fn dir(&self, source: Option<&str>) -> Option<PathBuf> {
        let file = self.file(source)?;
        let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        Some(if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        })
    }

    /// The role a source label belongs to: `redis` for the module `redis`
    /// or `redis/main`; `None` for the playbook.
    pub fn role(&self, source: Option<&str>) -> Option<String> {
        let source = source?;
        (source != self.playbook).then(|| source.split('/').next().unwrap_or(source).to_string())
    }

    /// A source label as the user knows the file: relative to the project root.
    pub fn display(&self, source: Option<&str>) -> String {
        match self.file(source) {
            Some(f) => f
                .strip_prefix(&self.root)
                .unwrap_or(&f)
                .display()
                .to_string(),
            None => "<script>".to_string(),
        }
    }
}

/// The first of `candidates` that is a file, or an error naming `what` was
/// looked for as `path` and every place looked in, in order: a script's
/// relative path may mean several folders, and the user must see which.
pub fn first_file(what: &str, path: &str, candidates: &[PathBuf]) -> Result<PathBuf, String> {
    candidates
        .iter()
        .find(|c| c.is_file())
        .cloned()
        .ok_or_else(|| {
            let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
            format!(
                "{what} '{path}' not found (looked in {})",
                looked.join(", ")
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_files() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("roles/redis")).unwrap();
        std::fs::write(root.path().join("roles/base.rhai"), "").unwrap();
        std::fs::write(root.path().join("roles/redis/main.rhai"), "").unwrap();
        let s = Sources::new(
            root.path().to_path_buf(),
            "playbooks/site.rhai".into(),
            Default::default(),
        );
        assert_eq!(s.role(Some("base")).as_deref(), Some("base"));
        assert_eq!(s.role(Some("redis/main")).as_deref(), Some("redis"));
        assert_eq!(s.role(Some("playbooks/site.rhai")), None);
        assert_eq!(s.role(None), None);
        assert_eq!(
            s.dir(Some("redis/main")),
            Some(root.path().join("roles/redis"))
        );
        assert_eq!(s.dir(Some("base")), Some(root.path().join("roles")));
        assert_eq!(
            s.dir(Some("playbooks/site.rhai")),
            Some(PathBuf::from("playbooks"))
        );
        assert_eq!(s.display(Some("redis/main")), "roles/redis/main.rhai");
    }

    /// A label's file is looked up once: gone from the disk mid-run (an
    /// editor's save by rename), it still names the module the run loaded.
    #[test]
    fn a_label_names_the_file_it_named_first() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("roles")).unwrap();
        let module = root.path().join("roles/base.rhai");
        std::fs::write(&module, "").unwrap();
        let s = Sources::new(
            root.path().to_path_buf(),
            "site.rhai".into(),
            Default::default(),
        );
        assert_eq!(s.file(Some("base")), Some(module.clone()));
        std::fs::remove_file(&module).unwrap();
        assert_eq!(s.file(Some("base")), Some(module));
    }
}
