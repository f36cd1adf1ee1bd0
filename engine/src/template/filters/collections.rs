//! Mapping and list filters: `combine` (with `recursive` and `list_merge`),
//! `dict2items`, `items2dict`, `rekey_on_member`, `flatten`.

use minijinja::value::{Kwargs, Rest, Value, ValueKind};
use minijinja::{Environment, Error};
use serde_json::{Map, Value as Json};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("combine", combine);
    env.add_filter("dict2items", dict2items);
    env.add_filter("items2dict", items2dict);
    env.add_filter("rekey_on_member", rekey_on_member);
    env.add_filter("flatten", flatten);
}

fn json(value: &Value, filter: &str) -> Result<Json, Error> {
    serde_json::to_value(value).map_err(|e| invalid(format!("{filter}: {e}")))
}

fn value(json: Json) -> Value {
    Value::from(minijinja::value::Serde(json))
}

/// A mapping argument, or the filter's error naming what it got.
fn mapping(value: &Value, filter: &str) -> Result<Map<String, Json>, Error> {
    match json(value, filter)? {
        Json::Object(map) => Ok(map),
        other => Err(invalid(format!("{filter}: expects a mapping, got {other}"))),
    }
}

/// `a | combine(b, c, recursive=true, list_merge='append')`, or `[a, b] |
/// combine` (lists flattened one level, nulls left out): later mappings win. Folded from the right as Ansible folds
/// (`merge_hash(a, merge_hash(b, c))`), so the keys come out in the same
/// order: the first mapping's, then each later one's new keys.
fn combine(base: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge = kwargs.get::<Option<String>>("list_merge")?;
    kwargs.assert_all_used()?;
    let lists = ListMerge::parse(list_merge.as_deref().unwrap_or("replace"))?;
    let mut dicts = Vec::new();
    for term in std::iter::once(base).chain(others.iter()) {
        match json(term, "combine")? {
            Json::Array(items) => dicts.extend(items.into_iter().filter(|i| !i.is_null())),
            Json::Null => {}
            other => dicts.push(other),
        }
    }
    let mut dicts = dicts.into_iter().rev().map(|d| match d {
        Json::Object(map) => Ok(map),
        other => Err(invalid(format!("combine: expects mappings, got {other}"))),
    });
    let mut out = dicts.next().transpose()?.unwrap_or_default();
    for lower in dicts {
        out = merge_hash(lower?, out, recursive, lists);
    }
    Ok(value(Json::Object(out)))
}

/// How `combine` joins two lists under the same key.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ListMerge {
    Replace,
    Keep,
    Append,
    Prepend,
    AppendRp,
    PrependRp,
}

impl ListMerge {
    fn parse(s: &str) -> Result<Self, Error> {
        Ok(match s {
            "replace" => ListMerge::Replace,
            "keep" => ListMerge::Keep,
            "append" => ListMerge::Append,
            "prepend" => ListMerge::Prepend,
            "append_rp" => ListMerge::AppendRp,
            "prepend_rp" => ListMerge::PrependRp,
            other => {
                return Err(invalid(format!(
                    "combine: list_merge {other:?} is not one of replace, keep, append, prepend, append_rp, prepend_rp"
                )))
            }
        })
    }

    fn join(self, old: Vec<Json>, new: Vec<Json>) -> Vec<Json> {
        let without = |a: Vec<Json>, b: &[Json]| a.into_iter().filter(|x| !b.contains(x)).collect();
        match self {
            ListMerge::Replace => new,
            ListMerge::Keep => old,
            ListMerge::Append => [old, new].concat(),
            ListMerge::Prepend => [new, old].concat(),
            ListMerge::AppendRp => [without(old, &new), new].concat(),
            ListMerge::PrependRp => {
                let old = without(old, &new);
                [new, old].concat()
            }
        }
    }
}

/// Ansible's `merge_hash(low, high)`: `low`'s keys in their place with
/// `high`'s values, then `high`'s new keys; a mapping equal to the other
/// (or empty) gives the other as it is, key order included.
fn merge_hash(
    mut low: Map<String, Json>,
    high: Map<String, Json>,
    recursive: bool,
    lists: ListMerge,
) -> Map<String, Json> {
    if low.is_empty() || low == high {
        return high;
    }
    for (key, new) in high {
        let Some(slot) = low.get_mut(&key) else {
            low.insert(key, new);
            continue;
        };
        *slot = match (std::mem::take(slot), new) {
            (Json::Object(old), Json::Object(new)) if recursive => {
                Json::Object(merge_hash(old, new, recursive, lists))
            }
            (Json::Array(old), Json::Array(new)) => Json::Array(lists.join(old, new)),
            (_, new) => new,
        };
    }
    low
}

/// The `key_name` and `value_name` of `dict2items` and `items2dict`.
fn names(kwargs: &Kwargs) -> Result<(String, String), Error> {
    let key = kwargs.get::<Option<String>>("key_name")?;
    let value = kwargs.get::<Option<String>>("value_name")?;
    kwargs.assert_all_used()?;
    Ok((key.unwrap_or("key".into()), value.unwrap_or("value".into())))
}

/// `{a: 1} | dict2items` gives `[{key: a, value: 1}]`.
fn dict2items(dict: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (k, v) = names(&kwargs)?;
    let items = mapping(dict, "dict2items")?
        .into_iter()
        .map(|(key, val)| serde_json::json!({ k.as_str(): key, v.as_str(): val }))
        .collect();
    Ok(value(Json::Array(items)))
}

/// The inverse of `dict2items`.
fn items2dict(items: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let (k, v) = names(&kwargs)?;
    let Json::Array(items) = json(items, "items2dict")? else {
        return Err(invalid("items2dict: expects a list of mappings"));
    };
    let mut out = Map::new();
    for item in items {
        let key = match &item[&k] {
            Json::String(s) => s.clone(),
            Json::Null => return Err(invalid(format!("items2dict: an item has no {k:?}"))),
            other => other.to_string(),
        };
        out.insert(key, item.get(&v).cloned().unwrap_or(Json::Null));
    }
    Ok(value(Json::Object(out)))
}

/// `users | rekey_on_member('name', duplicates='error')`: the mappings of
/// a list (or a mapping's values) keyed by their member `key`, in the order
/// first seen; a key seen twice is an error, or with `duplicates='overwrite'`
/// the later mapping in the earlier one's place. The keys keep their type
/// (a number stays a number), so Ansible's errors and output carry over.
fn rekey_on_member(data: &Value, key: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let duplicates = kwargs.get::<Option<&str>>("duplicates")?.unwrap_or("error");
    kwargs.assert_all_used()?;
    if !matches!(duplicates, "error" | "overwrite") {
        return Err(invalid(format!(
            "duplicates parameter to rekey_on_member has unknown value '{duplicates}'"
        )));
    }
    let items: Vec<Value> = match data.kind() {
        ValueKind::Map => data
            .try_iter()?
            .map(|k| data.get_item(&k))
            .collect::<Result<_, _>>()?,
        ValueKind::Seq | ValueKind::Iterable => data.try_iter()?.collect(),
        _ => return Err(invalid("Type is not a valid list, set, or dict")),
    };
    let mut out: Vec<(Value, Value)> = Vec::new();
    for item in items {
        if item.kind() != ValueKind::Map {
            return Err(invalid("List item is not a valid dict"));
        }
        let member = item
            .get_item(key)
            .ok()
            .filter(|m| !m.is_undefined())
            .ok_or_else(|| invalid(format!("Key {} was not found.", py_repr(key))))?;
        match out.iter_mut().find(|(k, _)| *k == member) {
            Some(_) if duplicates == "error" => {
                return Err(invalid(format!(
                    "Key {} is not unique, cannot convert to dict.",
                    py_repr(&member)
                )))
            }
            Some(slot) => slot.1 = item,
            None => out.push((member, item)),
        }
    }
    Ok(Value::from_pairs(out))
}

/// A key as Python's `repr` shows it in an error: a string quoted.
fn py_repr(key: &Value) -> String {
    match key.as_str() {
        Some(s) => format!("'{s}'"),
        None => key.to_string(),
    }
}

/// Nested lists made flat, `levels` deep at most; nulls left out unless
/// `skip_nulls=false`.
fn flatten(list: &Value, levels: Option<usize>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = kwargs.get::<Option<usize>>("levels")?.or(levels);
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let Json::Array(items) = json(list, "flatten")? else {
        return Err(invalid("flatten: expects a list"));
    };
    let mut out = Vec::new();
    flatten_into(items, levels, skip_nulls, &mut out);
    Ok(value(Json::Array(out)))
}

fn flatten_into(items: Vec<Json>, levels: Option<usize>, skip_nulls: bool, out: &mut Vec<Json>) {
    for item in items {
        match item {
            Json::Array(inner) if levels != Some(0) => {
                flatten_into(inner, levels.map(|l| l - 1), skip_nulls, out)
            }
            Json::Null if skip_nulls => {}
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod unit {
    use minijinja::Environment;

    fn render(source: &str) -> String {
        let mut env = Environment::new();
        super::register(&mut env);
        super::super::json::register(&mut env);
        env.render_str(source, minijinja::context! {}).unwrap()
    }

    #[test]
    fn combine_keeps_the_first_mappings_order_then_adds_new_keys_as_python() {
        let out = render(
            r#"{{ {"b": 1, "a": {"y": 1, "x": 2}} | combine({"c": 3, "a": {"z": 1, "x": 5}}, recursive=true) | to_json }}"#,
        );
        assert_eq!(out, r#"{"b": 1, "a": {"y": 1, "x": 5, "z": 1}, "c": 3}"#);
        let flat = render(r#"{{ [{"b": 1}, none, {"a": 2}] | combine({"b": 3}) | to_json }}"#);
        assert_eq!(flat, r#"{"b": 3, "a": 2}"#);
    }

    #[test]
    fn combine_of_an_equal_mapping_gives_the_later_ones_order() {
        let out = render(r#"{{ {"a": 1, "b": 2} | combine({"b": 2, "a": 1}) | to_json }}"#);
        assert_eq!(out, r#"{"b": 2, "a": 1}"#);
    }

    #[test]
    fn dict2items_and_items2dict_keep_the_order() {
        let items =
            render(r#"{{ {"b": 1, "a": 2} | dict2items | map(attribute="key") | join(",") }}"#);
        assert_eq!(items, "b,a");
        let dict = render(
            r#"{{ [{"key": "b", "value": 1}, {"key": "a", "value": 2}, {"key": "b", "value": 3}] | items2dict | to_json }}"#,
        );
        assert_eq!(dict, r#"{"b": 3, "a": 2}"#);
    }

    fn failure(source: &str) -> String {
        let mut env = Environment::new();
        super::register(&mut env);
        env.render_str(source, minijinja::context! {})
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn rekey_on_member_overwrites_in_place_only_when_told() {
        let users = r#"[{"n": "b", "v": 1}, {"n": "a", "v": 2}, {"n": "b", "v": 3}]"#;
        let out = render(&format!(
            "{{{{ {users} | rekey_on_member('n', duplicates='overwrite') | to_json }}}}"
        ));
        assert_eq!(out, r#"{"b": {"n": "b", "v": 3}, "a": {"n": "a", "v": 2}}"#);
        let error = failure(&format!("{{{{ {users} | rekey_on_member('n') }}}}"));
        assert!(error.contains("Key 'b' is not unique"), "{error}");
    }

    #[test]
    fn rekey_on_member_refuses_what_ansible_refuses() {
        for (source, message) in [
            (
                "[{'n': 1}] | rekey_on_member('n', duplicates='x')",
                "has unknown value 'x'",
            ),
            (
                "'text' | rekey_on_member('n')",
                "Type is not a valid list, set, or dict",
            ),
            (
                "[1] | rekey_on_member('n')",
                "List item is not a valid dict",
            ),
            (
                "[{'m': 1}] | rekey_on_member('n')",
                "Key 'n' was not found.",
            ),
        ] {
            let error = failure(&format!("{{{{ {source} }}}}"));
            assert!(error.contains(message), "{source}: {error}");
        }
    }
}
