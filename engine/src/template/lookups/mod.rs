//! Ansible's `lookup()` and `query()` (alias `q()`) functions, for the
//! lookups that make sense in a template rendered on the control machine:
//! `env`, `file`, `template`, `vars`, `items`, `fileglob`, `first_found`,
//! `pipe` and `password`. As in Ansible, `lookup` joins several results with
//! commas (unless `wantlist=True`), `query` always gives a list, and
//! `errors='ignore'` (or `'warn'`) turns a failure into nothing.

// minijinja hands a function its rest and keyword arguments as owned values.
#![allow(clippy::needless_pass_by_value)]

mod call;
mod context;
mod local;
mod password;
mod search;

use std::sync::Arc;

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, State};

use self::call::Call;
use super::filters::invalid;
use crate::credentials::Credentials;

/// Adds `lookup`, `query` and `q` to `env`; `credentials` is where the
/// `password` lookup keeps what it generates (none: it fails).
pub fn register(env: &mut Environment<'static>, credentials: Option<Arc<Credentials>>) {
    let creds = credentials.clone();
    env.add_function(
        "lookup",
        move |state: &State, name: &str, args: Rest<Value>, options: Kwargs| {
            let call = Call::new(args.0, options);
            let wantlist = call.flag("wantlist")?;
            let found = guarded(state, name, &call, creds.as_deref())?;
            Ok::<_, Error>(match found {
                None => Value::from(()),
                Some(list) if wantlist => Value::from(list),
                Some(list) => joined(list),
            })
        },
    );
    let query = move |state: &State, name: &str, args: Rest<Value>, options: Kwargs| {
        let call = Call::new(args.0, options);
        let found = guarded(state, name, &call, credentials.as_deref())?;
        Ok::<_, Error>(Value::from(found.unwrap_or_default()))
    };
    env.add_function("query", query.clone());
    env.add_function("q", query);
}

/// `lookup`'s one value: the only result as is, several joined with commas.
fn joined(list: Vec<Value>) -> Value {
    match list.as_slice() {
        [one] => one.clone(),
        many => Value::from(
            many.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
    }
}

/// Runs the lookup, honouring `errors=`: `strict` (the default) fails the
/// render, `ignore` and `warn` give nothing (`None`).
fn guarded(
    state: &State,
    name: &str,
    call: &Call,
    credentials: Option<&Credentials>,
) -> Result<Option<Vec<Value>>, Error> {
    let errors = call.string("errors")?.unwrap_or_else(|| "strict".into());
    match (run(state, name, call, credentials), errors.as_str()) {
        (Ok(found), _) => Ok(Some(found)),
        (Err(e), "strict") => Err(e),
        (Err(_), "ignore" | "warn") => Ok(None),
        (Err(_), other) => Err(invalid(format!(
            "lookup errors={other:?}: expected 'strict', 'warn' or 'ignore'"
        ))),
    }
}

/// The values lookup `name` gives for the call.
fn run(
    state: &State,
    name: &str,
    call: &Call,
    credentials: Option<&Credentials>,
) -> Result<Vec<Value>, Error> {
    match name.strip_prefix(super::filters::BUILTIN).unwrap_or(name) {
        "env" => Ok(call
            .strings()?
            .iter()
            .map(|t| Value::from(std::env::var(t).unwrap_or_default()))
            .collect()),
        "file" => local::file(state, call),
        "fileglob" => local::fileglob(state, call),
        "first_found" => local::first_found(state, call),
        "pipe" => local::pipe(state, call),
        "template" => context::template(state, call),
        "vars" => context::vars(state, call),
        "items" => Ok(context::items(call)),
        "password" => password::lookup(call, credentials),
        other => Err(invalid(format!(
            "lookup {other:?} is not in kbz-play yet (env, file, fileglob, first_found, \
             items, password, pipe, template and vars are; see README, Coming from Ansible)"
        ))),
    }
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
}
