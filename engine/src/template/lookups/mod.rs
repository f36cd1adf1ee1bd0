//! Ansible's `lookup()` and `query()` (alias `q()`) functions, for the
//! lookups that make sense in a template rendered on the control machine
//! (see [`run`]; `dig` and `url` need the network: refused, saying so). As in
//! Ansible, `lookup` gives a single result as is and joins several strings
//! with commas (unless `wantlist=True`), `query` always gives a list, and
//! `errors='ignore'` (or `'warn'`) turns a failure into nothing.

// minijinja hands a function its rest and keyword arguments as owned values.
#![allow(clippy::needless_pass_by_value)]

mod call;
mod codecs;
mod context;
mod csvfile;
mod ini;
mod inline;
mod lists;
mod local;
mod password;
mod printf;
mod search;
mod sequence;
mod vaulted;

use std::sync::Arc;

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, State};

use self::call::Call;
use super::filters::invalid;
use crate::credentials::Credentials;
use crate::vault::Vault;

/// What lookups read beyond the template and its variables.
#[derive(Clone, Default)]
pub struct Sources {
    /// Where `password` keeps what it generates (none: it fails).
    pub credentials: Option<Arc<Credentials>>,
    /// The run's vault passwords, for `unvault` (none: a vaulted file fails).
    pub vault: Option<Vault>,
}

/// Adds `lookup`, `query` and `q` to `env`.
pub fn register(env: &mut Environment<'static>, sources: &Sources) {
    let for_lookup = sources.clone();
    env.add_function(
        "lookup",
        move |state: &State, name: &str, args: Rest<Value>, options: Kwargs| {
            let call = Call::new(args.0, options);
            let wantlist = call.flag("wantlist")?;
            let found = guarded(state, name, &call, &for_lookup)?;
            Ok::<_, Error>(match found {
                None if wantlist => Value::from(Vec::<Value>::new()),
                None => Value::from(()),
                Some(list) if wantlist => Value::from(list),
                Some(list) => joined(list),
            })
        },
    );
    let sources = sources.clone();
    let query = move |state: &State, name: &str, args: Rest<Value>, options: Kwargs| {
        let call = Call::new(args.0, options);
        let found = guarded(state, name, &call, &sources)?;
        Ok::<_, Error>(Value::from(found.unwrap_or_default()))
    };
    env.add_function("query", query.clone());
    env.add_function("q", query);
}

/// `lookup`'s one value, as Ansible 2.19 gives it: the only result as is,
/// several strings joined with commas, anything else the list itself.
fn joined(list: Vec<Value>) -> Value {
    match list.as_slice() {
        [one] => one.clone(),
        many if !many.is_empty() && many.iter().all(|v| v.as_str().is_some()) => Value::from(
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        _ => Value::from(list),
    }
}

/// Runs the lookup, honouring `errors=`: `strict` (the default) fails the
/// render, `ignore` and `warn` give nothing (`None`).
fn guarded(
    state: &State,
    name: &str,
    call: &Call,
    sources: &Sources,
) -> Result<Option<Vec<Value>>, Error> {
    let errors = call.string("errors")?.unwrap_or_else(|| "strict".into());
    let name = name.strip_prefix(super::filters::BUILTIN).unwrap_or(name);
    match (run(state, name, call, sources), errors.as_str()) {
        (Ok(found), _) => Ok(Some(found)),
        (Err(e), "strict") => Err(e),
        (Err(_), "ignore" | "warn") => Ok(None),
        (Err(_), other) => Err(invalid(format!(
            "lookup errors={other:?}: expected 'strict', 'warn' or 'ignore'"
        ))),
    }
}

/// The values lookup `name` gives for the call.
fn run(state: &State, name: &str, call: &Call, sources: &Sources) -> Result<Vec<Value>, Error> {
    match name {
        "env" => Ok(call
            .strings()?
            .iter()
            .map(|t| Value::from(std::env::var(t).unwrap_or_default()))
            .collect()),
        "file" => local::file(state, call),
        "fileglob" => local::fileglob(state, call),
        "first_found" => local::first_found(state, call),
        "pipe" => local::pipe(state, call),
        "lines" => local::lines(state, call),
        "template" => context::template(state, call),
        "vars" => context::vars(state, call),
        "items" => Ok(context::items(call)),
        "password" => password::lookup(call, sources.credentials.as_deref()),
        "unvault" => vaulted::unvault(state, call, sources.vault.as_ref()),
        "ini" => ini::lookup(state, call),
        "csvfile" => csvfile::lookup(state, call),
        "sequence" => sequence::lookup(call),
        other => reshaped(other, call).unwrap_or_else(|| {
            Err(invalid(match other {
                "dig" | "url" => format!(
                    "lookup {other:?} needs the network, and kbz-play renders offline: \
                     fetch the value in the playbook and pass it as a variable"
                ),
                _ => format!(
                    "lookup {other:?} is not in kbz-play yet (it has {}; see README, \
                     Coming from Ansible)",
                    KNOWN.join(", ")
                ),
            }))
        }),
    }
}

/// The lookups kbz-play has, for the error naming an unknown one.
const KNOWN: &[&str] = &[
    "csvfile",
    "dict",
    "env",
    "file",
    "fileglob",
    "first_found",
    "indexed_items",
    "ini",
    "items",
    "lines",
    "list",
    "nested",
    "password",
    "pipe",
    "random_choice",
    "sequence",
    "subelements",
    "template",
    "together",
    "unvault",
    "vars",
];

/// The list-reshaping lookups (see [`mod@lists`]), `None` for another name.
fn reshaped(name: &str, call: &Call) -> Option<Result<Vec<Value>, Error>> {
    Some(match name {
        "list" => Ok(lists::list(call)),
        "dict" => lists::dict(call),
        "together" => lists::together(call),
        "nested" => lists::nested(call),
        "indexed_items" => Ok(lists::indexed_items(call)),
        "subelements" => lists::subelements(call),
        "random_choice" => lists::random_choice(call),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use crate::template::Templates;

    #[test]
    fn a_template_lookup_sees_the_current_variables() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/in.tpl"), "in {{ port }}\n").unwrap();
        let t = Templates::new(dir.path());
        let ctx =
            minijinja::context! { port => 1, playbook_dir => dir.path().display().to_string() };
        let out = t
            .render_str("[{{ lookup('template', 'in.tpl') }}]", &ctx)
            .unwrap();
        assert_eq!(out, "[in 1\n]");
    }

    #[test]
    fn a_file_is_found_in_the_role_before_the_playbook() {
        let dir = tempfile::tempdir().unwrap();
        let role = dir.path().join("roles/web");
        for (base, text) in [(&role, "role"), (&dir.path().to_path_buf(), "playbook")] {
            std::fs::create_dir_all(base.join("files")).unwrap();
            std::fs::write(base.join("files/motd"), text).unwrap();
        }
        std::fs::write(dir.path().join("files/only"), "playbook only").unwrap();
        let t = Templates::new(dir.path());
        let ctx = minijinja::context! {
            role_path => role.display().to_string(),
            playbook_dir => dir.path().display().to_string(),
        };
        let out = t
            .render_str(
                "{{ lookup('file', 'motd') }} {{ lookup('file', 'only') }}",
                &ctx,
            )
            .unwrap();
        assert_eq!(out, "role playbook only");
    }

    /// A project whose `files/` holds `name` with `text`, and its context.
    fn project_with(name: &str, text: &str) -> (tempfile::TempDir, minijinja::Value) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("files")).unwrap();
        std::fs::write(dir.path().join("files").join(name), text).unwrap();
        let ctx = minijinja::context! { playbook_dir => dir.path().display().to_string() };
        (dir, ctx)
    }

    #[test]
    fn unvault_decrypts_with_the_runs_vault_and_registers_the_secret() {
        use crate::vault::fixtures::{fixture, vault, DEFAULT_PASS};
        let (dir, ctx) = project_with("vaulted.yml", &fixture("group_vars.yml"));
        let v = vault(&[("default", DEFAULT_PASS)]);
        let t = Templates::new(dir.path()).with_vault(v.clone());
        let out = t
            .render_str("{{ lookup('unvault', 'vaulted.yml') }}", &ctx)
            .unwrap();
        assert!(out.contains("db_password: s3cret-from-vault"), "{out}");
        assert!(!v.secrets().mask(&out).contains("s3cret-from-vault"));

        let review = Templates::new(dir.path()).with_vault(v.review());
        let out = review
            .render_str("{{ lookup('unvault', 'vaulted.yml') }}", &ctx)
            .unwrap();
        assert!(
            !out.contains("s3cret"),
            "a review shows a placeholder: {out}"
        );

        let none = Templates::new(dir.path());
        let err = none
            .render_str("{{ lookup('unvault', 'vaulted.yml') }}", &ctx)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no vault passwords"), "{err}");
    }

    #[test]
    fn unvault_gives_a_clear_file_whole() {
        let (dir, ctx) = project_with("clear.txt", "plain\n\n");
        let t = Templates::new(dir.path());
        let out = t
            .render_str("[{{ lookup('unvault', 'clear.txt') }}]", &ctx)
            .unwrap();
        assert_eq!(out, "[plain\n\n]");
    }

    #[test]
    fn the_network_lookups_are_refused_saying_why() {
        let t = Templates::new(std::path::Path::new("."));
        for name in ["dig", "url", "ansible.builtin.url"] {
            let err = t
                .render_str(
                    &format!("{{{{ lookup('{name}', 'x') }}}}"),
                    &minijinja::Value::from(()),
                )
                .unwrap_err()
                .to_string();
            assert!(err.contains("needs the network"), "{name}: {err}");
        }
    }
}
