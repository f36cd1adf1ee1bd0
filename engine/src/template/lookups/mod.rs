//! Ansible's `lookup()` and `query()` functions, for the lookups that make
//! sense in a template rendered on the control machine: `env` for now.
//! `lookup` joins several results with commas, as Ansible does; `query`
//! always gives a list.

use minijinja::value::{Rest, Value};
use minijinja::{Environment, Error};

use super::filters::invalid;

/// Adds `lookup` and `query` (and Ansible's alias `q`) to `env`.
pub fn register(env: &mut Environment<'static>) {
    env.add_function("lookup", |name: &str, terms: Rest<String>| {
        let found = run(name, &terms)?;
        Ok::<_, Error>(match found.as_slice() {
            [one] => one.clone(),
            many => Value::from(
                many.iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        })
    });
    let query = |name: &str, terms: Rest<String>| run(name, &terms).map(Value::from);
    env.add_function("query", query);
    env.add_function("q", query);
}

/// The values lookup `name` gives for `terms`.
fn run(name: &str, terms: &[String]) -> Result<Vec<Value>, Error> {
    match name {
        "env" => Ok(terms
            .iter()
            .map(|t| Value::from(std::env::var(t).unwrap_or_default()))
            .collect()),
        other => Err(invalid(format!(
            "lookup {other:?} is not in kbz-play yet (env is; see README, Coming from Ansible)"
        ))),
    }
}
