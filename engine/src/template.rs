//! minijinja, configured for config files.
//!
//! Two defaults would silently break configs, so they are changed here once:
//! an undefined variable is an error naming the template line
//! (`UndefinedBehavior::Strict`), and the output ends with as many newlines
//! as the template does (as Ansible's `template` module: see [`header`], which
//! also holds the whitespace settings Ansible sets and a `#jinja2:` first line
//! overrides). Python's methods on values (`name.split('-')`,
//! `d.get('k', 'd')`, `d.items()`) work as Ansible's Jinja offers them
//! (minijinja-contrib's `pycompat`). Template names are paths relative to the
//! project's `templates/` folder, or to the project root (for templates kept
//! beside a role); `..` is refused so a template cannot read outside the project.

use std::path::{Path, PathBuf};

use minijinja::{Environment, UndefinedBehavior};

use crate::definition::Inputs;

mod filters;

pub(crate) use filters::encoded_forms;
mod glob;
mod header;
mod lookups;
mod print;
mod unknown;

pub use filters::PyDateTime;

/// A template that failed to load or render, with its position.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// No file matched the name.
    #[error("template '{name}' not found (looked in {})", searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound {
        /// The name as written in the script.
        name: String,
        /// Every place tried.
        searched: Vec<PathBuf>,
    },
    /// Syntax or render error, located in the template.
    #[error("{location}: {message}{}", snippet.as_ref().map(|s| format!("\n{s}")).unwrap_or_default())]
    Render {
        /// `templates/x.j2:12:5`.
        location: String,
        /// What went wrong.
        message: String,
        /// The offending line with a caret.
        snippet: Option<String>,
    },
}

/// The project's template environment, shared by every host thread.
pub struct Templates {
    root: PathBuf,
    env: Environment<'static>,
    /// The template files loaded, as inputs of the run's definition.
    inputs: Inputs,
    /// What the lookups read beyond the render (credentials, vault).
    sources: lookups::Sources,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("root", &self.root)
            .finish()
    }
}

impl Templates {
    /// An environment whose template names resolve under `root/templates` then `root`.
    pub fn new(root: &Path) -> Self {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(header::Whitespace::default().syntax());
        env.set_formatter(print::ansible_formatter);
        filters::register(&mut env);
        lookups::register(&mut env, &lookups::Sources::default());
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        let bases = [root.join("templates"), root.to_path_buf()];
        let inputs = Inputs::default();
        let loaded = inputs.clone();
        env.set_loader(move |name: &str| {
            if Path::new(name)
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
            {
                return Ok(None);
            }
            for base in &bases {
                match std::fs::read_to_string(base.join(name)) {
                    Ok(s) => {
                        loaded.record(&base.join(name), s.as_bytes());
                        return Ok(Some(s));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => {
                        return Err(minijinja::Error::new(
                            minijinja::ErrorKind::InvalidOperation,
                            format!("cannot read template {name}: {e}"),
                        ))
                    }
                }
            }
            Ok(None)
        });
        Templates {
            root: root.to_path_buf(),
            env,
            inputs,
            sources: lookups::Sources::default(),
        }
    }

    /// The template files loaded so far (see [`crate::definition`]).
    pub fn inputs(&self) -> &Inputs {
        &self.inputs
    }

    /// Makes `{{ secret("NAME") }}` available to templates.
    pub fn with_credentials(
        mut self,
        credentials: std::sync::Arc<crate::credentials::Credentials>,
    ) -> Self {
        self.sources.credentials = Some(credentials.clone());
        lookups::register(&mut self.env, &self.sources);
        self.env.add_function("secret", move |name: String| {
            credentials.get(&name).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
            })
        });
        self
    }

    /// Makes the run's vault passwords available to the `unvault` lookup,
    /// and its secrets registry to the vault filters and to those that edit
    /// or digest text (what they make of a secret is registered as they
    /// write it: `filters/tainted.rs`).
    pub fn with_vault(mut self, vault: crate::vault::Vault) -> Self {
        filters::register_vault(&mut self.env, &vault);
        filters::register_tainted(&mut self.env, vault.secrets());
        self.sources.vault = Some(vault);
        lookups::register(&mut self.env, &self.sources);
        self
    }

    /// The environment, for registering functions and filters.
    pub fn env_mut(&mut self) -> &mut Environment<'static> {
        &mut self.env
    }

    /// Finds `src` for a script living in `script_dir`: `script_dir/templates/src`,
    /// `script_dir/src`, then the project's `templates/src`. Returns the name
    /// to render it under (relative to the project root).
    pub fn resolve(&self, src: &str, script_dir: Option<&Path>) -> Result<String, TemplateError> {
        let mut searched = Vec::new();
        if let Some(dir) = script_dir {
            searched.push(dir.join("templates").join(src));
            searched.push(dir.join(src));
        }
        searched.push(self.root.join("templates").join(src));
        for candidate in &searched {
            if candidate.is_file() {
                let rel = candidate.strip_prefix(&self.root).unwrap_or(candidate);
                return Ok(rel.to_string_lossy().into_owned());
            }
        }
        Err(TemplateError::NotFound {
            name: src.to_string(),
            searched,
        })
    }

    /// Renders the template `name` (as returned by [`Templates::resolve`]),
    /// with the settings of its `#jinja2:` first line if it has one.
    pub fn render(&self, name: &str, ctx: &minijinja::Value) -> Result<String, TemplateError> {
        let tmpl = self
            .env
            .get_template(name)
            .map_err(|e| self.located(name, &e))?;
        let headed = tmpl.source().starts_with("#jinja2:");
        if headed {
            return self.render_headed(name, tmpl.source(), ctx);
        }
        tmpl.render(ctx)
            .map(|out| header::pad_newlines(tmpl.source(), out))
            .map_err(|e| self.located(name, &e))
    }

    /// Renders a template with a `#jinja2:` header in an environment of its
    /// own, set as the header says, the header line left out.
    fn render_headed(
        &self,
        name: &str,
        source: &str,
        ctx: &minijinja::Value,
    ) -> Result<String, TemplateError> {
        let (ws, body) = header::parse(source)
            .expect("the caller saw the header")
            .map_err(|message| TemplateError::Render {
                location: format!("{name}:1"),
                message,
                snippet: None,
            })?;
        let mut env = self.env.clone();
        env.set_syntax(ws.syntax());
        env.add_template_owned(name.to_string(), body.to_string())
            .and_then(|()| env.get_template(name)?.render(ctx))
            .map(|out| header::pad_newlines(body, out))
            .map_err(|e| self.located(name, &e))
    }

    /// Renders a template given as a string (for `render_string()` in scripts).
    pub fn render_str(
        &self,
        source: &str,
        ctx: &minijinja::Value,
    ) -> Result<String, TemplateError> {
        self.env
            .render_str(source, ctx)
            .map(|out| header::pad_newlines(source, out))
            .map_err(|e| self.located("<string>", &e))
    }

    fn located(&self, name: &str, e: &minijinja::Error) -> TemplateError {
        let file = e.name().unwrap_or(name).to_string();
        let source = std::fs::read_to_string(self.root.join("templates").join(&file))
            .or_else(|_| std::fs::read_to_string(self.root.join(&file)))
            .ok();
        let line = e.line();
        let mut col = None;
        if let (Some(src), Some(range)) = (&source, e.range()) {
            let before = &src[..range.start.min(src.len())];
            col = Some(before.len() - before.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1);
        }
        let location = match (line, col) {
            (Some(l), Some(c)) => format!("{file}:{l}:{c}"),
            (Some(l), None) => format!("{file}:{l}"),
            _ => file,
        };
        let snippet = match (&source, line) {
            (Some(src), Some(l)) => src.lines().nth(l.saturating_sub(1)).map(|text| {
                let caret = col.map(|c| {
                    format!(
                        "\n{:>w$} | {}^",
                        "",
                        " ".repeat(c - 1),
                        w = l.to_string().len()
                    )
                });
                format!("{l} | {text}{}", caret.unwrap_or_default())
            }),
            _ => None,
        };
        let mut message = e.kind().to_string();
        if let Some(detail) = e.detail() {
            message = format!("{message}: {detail}");
        }
        let hint = e
            .detail()
            .and_then(unknown::unknown_name)
            .and_then(unknown::hint);
        let hint = hint.or_else(|| subtraction(e).map(String::from));
        if let Some(hint) = hint {
            message = format!("{message} ({hint})");
        }
        if e.kind() == minijinja::ErrorKind::UndefinedError {
            message.push_str(" (a variable used by the template is not defined for this host: define it in the inventory, group_vars, the call's vars, or -e)");
        }
        TemplateError::Render {
            location,
            message,
            snippet,
        }
    }
}

/// The hint for a subtraction of two datetimes (two plain objects), which
/// minijinja refuses.
fn subtraction(e: &minijinja::Error) -> Option<&'static str> {
    e.detail()?
        .contains("- operator on unsupported types plain object and plain object")
        .then_some(filters::SUBTRACTION_HINT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = dir.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        dir
    }

    #[test]
    fn keeps_trailing_newline_and_resolves_role_local_first() {
        let dir = project(&[
            ("templates/a.conf.j2", "port {{ port }}\n"),
            ("roles/r/templates/a.conf.j2", "role {{ port }}\n"),
        ]);
        let t = Templates::new(dir.path());
        let ctx = minijinja::context! { port => 6379 };
        let name = t.resolve("a.conf.j2", None).unwrap();
        assert_eq!(t.render(&name, &ctx).unwrap(), "port 6379\n");
        let name = t
            .resolve("a.conf.j2", Some(&dir.path().join("roles/r")))
            .unwrap();
        assert_eq!(name, "roles/r/templates/a.conf.j2");
        assert_eq!(t.render(&name, &ctx).unwrap(), "role 6379\n");
    }

    #[test]
    fn loaded_templates_are_noted_as_inputs() {
        let dir = project(&[("templates/a.conf.j2", "port {{ port }}\n")]);
        let t = Templates::new(dir.path());
        let noted = || {
            crate::definition::Definition::from_params(b"", vec![t.inputs().clone()])
                .files()
                .into_keys()
                .collect::<Vec<_>>()
        };
        assert_eq!(noted(), Vec::<PathBuf>::new());
        t.render("a.conf.j2", &minijinja::context! { port => 1 })
            .unwrap();
        let file = std::fs::canonicalize(dir.path().join("templates/a.conf.j2")).unwrap();
        assert_eq!(noted(), vec![file]);
    }

    #[test]
    fn undefined_variable_names_file_and_line() {
        let dir = project(&[("templates/s.conf.j2", "a\nbind {{ bind_ip }}\n")]);
        let t = Templates::new(dir.path());
        let err = t
            .render("s.conf.j2", &minijinja::context! {})
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s.conf.j2:2"), "{err}");
        assert!(err.contains("undefined"), "{err}");
        assert!(err.contains("2 | bind {{ bind_ip }}"), "{err}");
    }

    #[test]
    fn python_methods_on_values_work_as_in_ansible() {
        let t = Templates::new(project(&[]).path());
        let ctx = minijinja::context! { name => "web-01", s => minijinja::context! { k => 1 } };
        let out = t
            .render_str(
                "{{ name.startswith('web') }} {{ name.split('-')[1] }} {{ s.get('x', 'd') }}",
                &ctx,
            )
            .unwrap();
        assert_eq!(out, "True 01 d");
        let none = t.render_str("[{{ none }}]", &ctx).unwrap();
        assert_eq!(none, "[]", "none prints nothing, as in Ansible");
    }

    #[test]
    fn block_tags_trim_their_newline_but_not_their_indent_unless_a_header_says() {
        let body = "x:\n  {% for p in [1] %}\n  - {{ p }}\n  {% endfor %}\n";
        let headed = format!("#jinja2: lstrip_blocks: True\n{body}");
        let dir = project(&[("templates/a.j2", body), ("templates/h.j2", &headed)]);
        let t = Templates::new(dir.path());
        let ctx = minijinja::context! {};
        assert_eq!(t.render("a.j2", &ctx).unwrap(), "x:\n    - 1\n  \n");
        assert_eq!(t.render("h.j2", &ctx).unwrap(), "x:\n  - 1\n");
    }

    #[test]
    fn an_unknown_filter_names_the_closest_known_one() {
        let dir = project(&[("templates/t.j2", "a\n{{ x | regex_replce('a', 'b') }}\n")]);
        let t = Templates::new(dir.path());
        let err = t
            .render("t.j2", &minijinja::context! { x => "a" })
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.j2:2"), "{err}");
        assert!(err.contains("did you mean regex_replace?"), "{err}");
    }

    #[test]
    fn subtracting_datetimes_names_the_line_and_what_to_write_instead() {
        let source = "a\n{{ (a | to_datetime) - (b | to_datetime) }}\n";
        let dir = project(&[("templates/t.j2", source)]);
        let t = Templates::new(dir.path());
        let ctx = minijinja::context! { a => "2024-01-02 00:00:00", b => "2024-01-01 00:00:00" };
        let err = t.render("t.j2", &ctx).unwrap_err().to_string();
        assert!(err.starts_with("t.j2:2"), "{err}");
        assert!(
            err.contains("write (a.timestamp() - b.timestamp())"),
            "{err}"
        );
    }

    #[test]
    fn an_unsupported_lookup_says_which_are() {
        let t = Templates::new(project(&[]).path());
        let err = t
            .render_str("{{ lookup('consul_kv', 'key') }}", &minijinja::context! {})
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("lookup \"consul_kv\" is not in kbz-play yet (it has csvfile, dict, env"),
            "{err}"
        );
    }

    #[test]
    fn missing_template_lists_where_it_looked() {
        let dir = project(&[]);
        let t = Templates::new(dir.path());
        let err = t.resolve("nope.j2", None).unwrap_err().to_string();
        assert!(err.contains("template 'nope.j2' not found"), "{err}");
    }
}
