//! Ansible's filters and tests (`ansible.builtin`), with Ansible's argument
//! names, defaults and output, one concept per file. What minijinja already
//! has as Jinja has it (`default`, `join`, `map`, `selectattr`...) is not
//! repeated here.

// minijinja hands a filter its keyword and rest arguments as owned
// `Kwargs` and `Rest` values: a filter's signature takes them by value.
#![allow(clippy::needless_pass_by_value)]

mod collections;
mod combinatorial;
mod comment;
mod crypt_salt;
mod datetime;
mod encoding;
mod file_tests;
mod html_entities;
mod human;
mod indent;
mod ipaddr;
mod jinja_markup;
mod jinja_text;
mod json;
mod json_query;
mod markup;
mod math;
mod nested;
mod password;
mod paths;
mod pyrandom;
mod qualified;
mod random;
mod regex;
mod sets;
mod strftime;
mod strings;
mod tainted;
mod task_results;
mod tests;
mod urlize;
mod urls;
mod vault;
mod version;
mod win_paths;
mod wordwrap;
mod wordwrap_chunks;
mod yaml;

use minijinja::{Environment, Error, ErrorKind};

pub use datetime::{PyDateTime, SUBTRACTION_HINT};
pub use qualified::{short_name, BUILTIN};
pub use tainted::register as register_tainted;
pub use vault::register as register_vault;

/// Adds every filter and test of this module to `env`.
/// What the filters that encode text (`urlencode`, `escape`/`forceescape`
/// as markupsafe writes it, `tojson`) make of the string `value`, beside
/// the forms any encoder makes (`secrets.rs`): each is masked as the value
/// is, so one place, the filters' own code, says what they write.
pub(crate) fn encoded_forms(value: &str) -> Vec<String> {
    let json = serde_json::to_string(value).unwrap_or_default();
    vec![
        urls::quote(value, "/"),
        urls::quote(value, "").replace("%20", "+"),
        markup::escape(value),
        json::html_safe(&json[1..json.len() - 1]),
    ]
}

pub fn register(env: &mut Environment<'static>) {
    strings::register(env);
    jinja_text::register(env);
    jinja_markup::register(env);
    wordwrap::register(env);
    urlize::register(env);
    indent::register(env);
    paths::register(env);
    encoding::register(env);
    password::register(env);
    json::register(env);
    json_query::register(env);
    ipaddr::register(env);
    yaml::register(env);
    collections::register(env);
    math::register(env);
    nested::register(env);
    comment::register(env);
    win_paths::register(env);
    human::register(env);
    sets::register(env);
    combinatorial::register(env);
    regex::register(env);
    random::register(env);
    tests::register(env);
    task_results::register(env);
    version::register(env);
    urls::register(env);
    file_tests::register(env);
    datetime::register(env);
    strftime::register(env);
    vault::register(env, &crate::vault::Vault::default());
    qualified::register(env);
}

/// A filter's refusal of its input or arguments.
pub(super) fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

/// What `source` renders to in an environment `register` filled, with
/// `ctx`, or `error: ` and the error: the shape of every family's unit tests.
#[cfg(test)]
fn render_with(
    register: fn(&mut Environment<'static>),
    source: &str,
    ctx: minijinja::Value,
) -> String {
    let mut env = Environment::new();
    register(&mut env);
    env.render_str(source, ctx)
        .unwrap_or_else(|e| format!("error: {e}"))
}
