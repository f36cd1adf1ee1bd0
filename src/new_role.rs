//! `kbz-play new role NAME`: a role skeleton that renders as written, so an
//! author starts from something that works and follows the project's
//! conventions (a header listing cfg, variables, secrets and an example; a
//! documented `apply`; templates in `templates/NAME/`; a play using it).

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The role file; `NAME` stands for the role's name.
const ROLE: &str = r#"// NAME: TODO say in one sentence what this role installs, and for whom.
//
// What it ensures (probes first: a rerun changes nothing):
//   - /etc/NAME exists (root, 0755);
//   - /etc/NAME/NAME.conf is templates/NAME/NAME.conf.j2 rendered for the
//     host (0644); `apply` returns that op's result, so a play can
//     `.notify("restart NAME")` a handler when the file changed.
//
// cfg:
//   port  8080 (optional; the port NAME.conf names)
// Variables: none (read host/group vars with host.vars.KEY).
// Secrets: none (read one with secret("SOME_PASSWORD"): never put it in a
//   command line; pass it in a file or on stdin).
//
// Example:
//   import "NAME" as NAME;
//   play("NAME", "NAME", |host| NAME::apply(host, #{ port: 8080 }));

/// `cfg[key]`, or `fallback` when cfg does not set it.
fn opt(cfg, key, fallback) {
    if key in cfg { cfg[key] } else { fallback }
}

/// Ensures NAME's folder and config file on `host`. Returns the config
/// file's result: `.changed` is true when it was written.
/// Example: NAME::apply(host, #{ port: 8080 })
fn apply(host, cfg) {
    let dir = "/etc/NAME";
    file(#{ path: dir, state: "directory", owner: "root", mode: "0755" });
    template("NAME/NAME.conf.j2", dir + "/NAME.conf",
             #{ mode: "0644", vars: #{ port: opt(cfg, "port", 8080) } })
}
"#;

/// The example template.
const TEMPLATE: &str =
    "# NAME on {{ inventory_hostname }}: written by kbz-play (roles/NAME.rhai);\n\
# edits here are replaced on the next run.\n\
listen = {{ host.ip }}:{{ port }}\n";

/// A play using the role.
const PLAY: &str = r#"// NAME on the inventory's group `NAME`:
//   kbz-play render playbooks/NAME.rhai -i INVENTORY --out review/   (offline)
//   kbz-play playbooks/NAME.rhai -i INVENTORY --check --diff
import "NAME" as NAME;

play("NAME", "NAME", |host| {
    NAME::apply(host, #{ port: 8080 });
});
"#;

/// Writes the skeleton of role `name` into the project at `root`; returns
/// the files written. Refuses to overwrite anything.
pub fn write(root: &Path, name: &str) -> Result<Vec<PathBuf>> {
    check_name(name)?;
    let files = [
        (format!("roles/{name}.rhai"), ROLE),
        (format!("templates/{name}/{name}.conf.j2"), TEMPLATE),
        (format!("playbooks/{name}.rhai"), PLAY),
    ];
    for (rel, _) in &files {
        if root.join(rel).exists() {
            bail!("{rel} exists already: kbz-play new role never overwrites a file");
        }
    }
    let mut written = Vec::new();
    for (rel, text) in files {
        let path = root.join(&rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(&path, text.replace("NAME", name))
            .with_context(|| format!("cannot write {}", path.display()))?;
        written.push(PathBuf::from(rel));
    }
    Ok(written)
}

/// A role name is a Rhai module and variable name and a tag: lower-case
/// letters, digits and `_`, starting with a letter.
fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        bail!(
            "'{name}' is not a role name: lower-case letters, digits and _, starting with a letter"
        );
    }
    if RHAI_WORDS.contains(&name) {
        bail!("'{name}' is a Rhai keyword or reserved word, so `import \"{name}\" as {name};` cannot parse: choose another name");
    }
    Ok(())
}

/// Rhai's lower-case keywords and reserved words (the Rhai book's lists),
/// none of which can name the module a play imports.
const RHAI_WORDS: &[&str] = &[
    "true",
    "false",
    "let",
    "const",
    "if",
    "else",
    "switch",
    "do",
    "while",
    "until",
    "loop",
    "for",
    "in",
    "continue",
    "break",
    "return",
    "throw",
    "try",
    "catch",
    "fn",
    "private",
    "import",
    "export",
    "as",
    "is",
    "global",
    "this",
    "call",
    "curry",
    "print",
    "debug",
    "eval",
    "var",
    "static",
    "shared",
    "goto",
    "exit",
    "match",
    "case",
    "public",
    "protected",
    "new",
    "use",
    "with",
    "module",
    "package",
    "super",
    "thread",
    "spawn",
    "go",
    "await",
    "async",
    "sync",
    "yield",
    "default",
    "void",
    "null",
    "nil",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_and_nothing_is_overwritten() {
        for bad in ["", "Web", "1web", "web-app", "web app", "let", "import"] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let files = write(dir.path(), "web_app").unwrap();
        assert_eq!(files.len(), 3);
        let role = std::fs::read_to_string(dir.path().join("roles/web_app.rhai")).unwrap();
        assert!(
            role.starts_with("// web_app: ") && !role.contains("NAME"),
            "{role}"
        );
        let err = write(dir.path(), "web_app").unwrap_err().to_string();
        assert!(err.contains("roles/web_app.rhai exists already"), "{err}");
    }
}
