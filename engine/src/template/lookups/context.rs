//! The lookups that read the render itself: `vars` (a variable by name),
//! `template` (another template, with the current variables) and `items`.

use std::collections::BTreeMap;

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, State};

use super::call::Call;
use super::{invalid, search};
use crate::template::header;

/// `vars`: each named variable's value; an undefined one is `default=` if
/// given, else an error.
pub(super) fn vars(state: &State, call: &Call) -> Result<Vec<Value>, Error> {
    let default = call.option("default");
    call.strings()?
        .iter()
        .map(|name| match (state.lookup(name), &default) {
            (Some(v), _) if !v.is_undefined() => Ok(v),
            (_, Some(d)) => Ok(d.clone()),
            _ => Err(invalid(format!("lookup vars: no variable named {name:?}"))),
        })
        .collect()
}

/// `template`: each template (found under `templates/` as Ansible finds it)
/// rendered with the current variables, overlaid with `template_vars`.
pub(super) fn template(state: &State, call: &Call) -> Result<Vec<Value>, Error> {
    let mut ctx: BTreeMap<String, Value> = state
        .known_variables()
        .iter()
        .filter_map(|k| state.lookup(k).map(|v| (k.to_string(), v)))
        .collect();
    if let Some(extra) = call.option("template_vars") {
        for key in extra.try_iter()? {
            let value = extra.get_item(&key)?;
            ctx.insert(key.to_string(), value);
        }
    }
    let ctx = Value::from(ctx);
    call.strings()?
        .iter()
        .map(|name| {
            let (_, source) = search::find_and_read(state, "templates", name, "template")?;
            let out = state.env().render_str(&source, &ctx)?;
            Ok(Value::from(header::pad_newlines(&source, out)))
        })
        .collect()
}

/// `items`: the terms, lists among them flattened one level.
pub(super) fn items(call: &Call) -> Vec<Value> {
    let mut all = Vec::new();
    for term in &call.terms {
        match term.kind() {
            ValueKind::Seq => all.extend(term.try_iter().into_iter().flatten()),
            _ => all.push(term.clone()),
        }
    }
    all
}
