//! Ansible's filters and tests (`ansible.builtin`), with Ansible's argument
//! names, defaults and output, one concept per file. What minijinja already
//! has as Jinja has it (`default`, `join`, `map`, `selectattr`...) is not
//! repeated here.

// minijinja hands a filter its keyword and rest arguments as owned
// `Kwargs` and `Rest` values: a filter's signature takes them by value.
#![allow(clippy::needless_pass_by_value)]

mod collections;
mod combinatorial;
mod encoding;
mod indent;
mod ipaddr;
mod json;
mod password;
mod paths;
mod regex;
mod sets;
mod strings;
mod tests;
mod yaml;

use minijinja::{Environment, Error, ErrorKind};

/// Adds every filter and test of this module to `env`.
pub fn register(env: &mut Environment<'static>) {
    strings::register(env);
    indent::register(env);
    paths::register(env);
    encoding::register(env);
    password::register(env);
    json::register(env);
    ipaddr::register(env);
    yaml::register(env);
    collections::register(env);
    sets::register(env);
    combinatorial::register(env);
    regex::register(env);
    tests::register(env);
}

/// A filter's refusal of its input or arguments.
pub(super) fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}
