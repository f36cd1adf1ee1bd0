//! Reaching into nested data: `extract` (`keys | map('extract', container)`,
//! the idiom for looking up several hosts' variables) and `subelements`
//! (each item paired with each element of one of its lists), as Ansible
//! has them.

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("extract", extract);
    env.add_filter("subelements", subelements);
}

/// `key | extract(container, morekeys)`: `container[key]`, then each of
/// `morekeys` (one key or a list) in turn.
fn extract(key: Value, container: Value, morekeys: Option<Value>) -> Result<Value, Error> {
    let more: Vec<Value> = match morekeys {
        None => Vec::new(),
        Some(keys) if keys.kind() == ValueKind::Seq => keys.try_iter()?.collect(),
        Some(key) => vec![key],
    };
    std::iter::once(key)
        .chain(more)
        .try_fold(container, |value, key| value.get_item(&key))
}

/// `items | subelements('a.b', skip_missing=False)`: `[item, element]` for
/// each element of each item's list at the dotted path (or list of keys).
fn subelements(
    items: &Value,
    path: &Value,
    skip_missing: Option<bool>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let skip_missing = kwargs
        .get::<Option<bool>>("skip_missing")?
        .or(skip_missing)
        .unwrap_or(false);
    kwargs.assert_all_used()?;
    let items: Vec<Value> = match items.kind() {
        ValueKind::Map => items
            .try_iter()?
            .map(|k| items.get_item(&k))
            .collect::<Result<_, _>>()?,
        ValueKind::Seq => items.try_iter()?.collect(),
        _ => {
            return Err(invalid(
                "subelements: obj must be a list of dicts or a nested dict",
            ))
        }
    };
    let keys: Vec<Value> = match path.as_str() {
        Some(dotted) => dotted.split('.').map(Value::from).collect(),
        None if path.kind() == ValueKind::Seq => path.try_iter()?.collect(),
        None => {
            return Err(invalid(
                "subelements: subelements must be a list or a string",
            ))
        }
    };
    let mut pairs = Vec::new();
    for item in items {
        for element in elements(&item, &keys, skip_missing)? {
            pairs.push(Value::from(vec![item.clone(), element]));
        }
    }
    Ok(Value::from(pairs))
}

/// The list at `keys` in `item`: none when a key is missing and
/// `skip_missing`, else an error naming the key.
fn elements(item: &Value, keys: &[Value], skip_missing: bool) -> Result<Vec<Value>, Error> {
    let mut value = item.clone();
    for key in keys {
        if value.kind() != ValueKind::Map {
            return Err(invalid(format!(
                "subelements: the key {key} should point to a dictionary, got '{value}'"
            )));
        }
        value = value.get_item(key)?;
        if value.is_undefined() {
            if skip_missing {
                return Ok(Vec::new());
            }
            return Err(invalid(format!(
                "subelements: could not find '{key}' key in iterated item {item}"
            )));
        }
    }
    if value.kind() != ValueKind::Seq {
        return Err(invalid(format!(
            "subelements: the key should point to a list, got {value}"
        )));
    }
    Ok(value.try_iter()?.collect())
}

#[cfg(test)]
mod unit {
    fn render(source: &str) -> String {
        let mut env = minijinja::Environment::new();
        super::register(&mut env);
        let users = minijinja::context! { users => vec![
            minijinja::context! { name => "a", groups => vec!["x", "y"] },
            minijinja::context! { name => "b" },
        ]};
        env.render_str(source, users)
            .unwrap_or_else(|e| format!("error: {e}"))
    }

    #[test]
    fn extract_and_subelements_reach_in_as_ansibles() {
        assert_eq!(
            render("{{ [0, 2] | map('extract', ['a', 'b', 'c']) | list }}"),
            "['a', 'c']"
        );
        assert_eq!(render("{{ 0 | extract(users, 'name') }}"), "a");
        assert_eq!(
            render("{% for u, g in users | subelements('groups', skip_missing=true) %}{{ u.name }}{{ g }} {% endfor %}"),
            "ax ay "
        );
        assert!(render("{{ users | subelements('groups') }}").contains("could not find 'groups'"));
    }
}
