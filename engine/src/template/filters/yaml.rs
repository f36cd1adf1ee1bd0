//! YAML filters as Ansible's: `to_yaml` (PyYAML's `default_flow_style=None`:
//! collections of scalars written `[a, b]`/`{k: v}`), `to_nice_yaml` (block
//! style, indent 4), both through libyaml's layout ([`crate::pyyaml`]);
//! `from_yaml` and `from_yaml_all`, reading YAML 1.1 as PyYAML's SafeLoader
//! does (`yes` is true, `012` is 10: [`crate::pyyaml::load`]).

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};

use super::invalid;
use crate::pyyaml::{dump_with, Flow, Options};

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("to_yaml", |v: &Value, kwargs: Kwargs| {
        to_yaml(v, None, Flow::Leaves, kwargs)
    });
    env.add_filter(
        "to_nice_yaml",
        |v: &Value, indent: Option<usize>, kwargs: Kwargs| {
            to_yaml(v, Some(indent.unwrap_or(4)), Flow::Never, kwargs)
        },
    );
    env.add_filter("from_yaml", from_yaml);
    env.add_filter("from_yaml_all", from_yaml_all);
}

/// `yaml.dump(value, indent=.., width=.., default_flow_style=..,
/// sort_keys=..)`; keys sorted unless `sort_keys=False`, which keeps the
/// mapping's order (the YAML source's, for a variable).
fn to_yaml(v: &Value, indent: Option<usize>, flow: Flow, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs
        .get::<Option<usize>>("indent")?
        .or(indent)
        .unwrap_or(2);
    let width = kwargs.get::<Option<usize>>("width")?.unwrap_or(80);
    let flow = match kwargs.get::<Option<Value>>("default_flow_style")? {
        None => flow,
        Some(v) if v.is_none() => Flow::Leaves,
        Some(v) if v.is_true() => Flow::Always,
        Some(_) => Flow::Never,
    };
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let json = serde_json::to_value(v).map_err(|e| invalid(format!("to_yaml: {e}")))?;
    Ok(dump_with(
        &json,
        Options {
            indent,
            width,
            flow,
            sort_keys,
        },
    ))
}

fn from_yaml(text: Option<&str>) -> Result<Value, Error> {
    let Some(text) = text else {
        return Ok(Value::from(()));
    };
    crate::pyyaml::load(text).map_err(|e| invalid(format!("from_yaml: {e}")))
}

/// Every document of a `---`-separated stream, as a list.
fn from_yaml_all(text: Option<&str>) -> Result<Value, Error> {
    crate::pyyaml::load_all(text.unwrap_or(""))
        .map(Value::from)
        .map_err(|e| invalid(format!("from_yaml_all: {e}")))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn from_yaml_reads_yaml_1_1_and_none_gives_none() {
        let doc = from_yaml(Some("a: yes\nb: 1\n")).unwrap();
        assert_eq!(doc.get_attr("a").unwrap(), Value::from(true));
        assert!(from_yaml(None).unwrap().is_none());
        assert_eq!(
            from_yaml_all(Some("---\n1\n---\n2\n")).unwrap().len(),
            Some(2)
        );
    }

    #[test]
    fn keys_are_sorted_unless_sort_keys_is_false() {
        let map = minijinja::context! { b => 1, a => 2 };
        let sorted = to_yaml(
            &map,
            None,
            Flow::Leaves,
            Kwargs::from_iter(Vec::<(&str, Value)>::new()),
        );
        assert_eq!(sorted.unwrap(), "{a: 2, b: 1}\n");
        let kwargs = Kwargs::from_iter([("sort_keys", Value::from(false))]);
        let kept = to_yaml(&map, Some(4), Flow::Never, kwargs).unwrap();
        assert_eq!(kept, "b: 1\na: 2\n");
    }
}
