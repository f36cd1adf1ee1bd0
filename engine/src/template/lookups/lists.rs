//! The lookups that reshape lists, as Ansible's `with_*` loops did:
//! `list`, `dict`, `together`, `nested`, `indexed_items`, `subelements` and
//! `random_choice`. Rows are lists (Ansible 2.19 prints its tuples so).

use minijinja::value::{Value, ValueKind};
use minijinja::Error;

use super::call::Call;
use super::invalid;

/// `list`: the terms as given.
pub(super) fn list(call: &Call) -> Vec<Value> {
    call.terms.clone()
}

/// `dict`: each mapping's entries as `{key, value}` mappings.
pub(super) fn dict(call: &Call) -> Result<Vec<Value>, Error> {
    let mut found = Vec::new();
    for term in &call.terms {
        if term.kind() != ValueKind::Map {
            return Err(invalid(format!(
                "lookup dict expects a mapping, got {term}"
            )));
        }
        for key in term.try_iter()? {
            let value = term.get_item(&key)?;
            let entry = std::collections::BTreeMap::from([("key", key), ("value", value)]);
            found.push(Value::from(entry));
        }
    }
    Ok(found)
}

/// `together`: the terms' items side by side, the shorter lists padded
/// with none (Python's `zip_longest`).
pub(super) fn together(call: &Call) -> Result<Vec<Value>, Error> {
    let lists = lists(call, "together")?;
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok((0..longest)
        .map(|i| {
            let row = lists.iter().map(|l| l.get(i).cloned().unwrap_or_default());
            flattened(row.map(|v| if v.is_undefined() { Value::from(()) } else { v }))
        })
        .collect())
}

/// `nested`: every combination of the terms' items, the last varying fastest.
pub(super) fn nested(call: &Call) -> Result<Vec<Value>, Error> {
    let lists = lists(call, "nested")?;
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()];
    for list in &lists {
        rows = rows
            .iter()
            .flat_map(|row| {
                list.iter()
                    .map(move |item| [row.clone(), vec![item.clone()]].concat())
            })
            .collect();
    }
    Ok(rows.into_iter().map(flattened).collect())
}

/// `indexed_items`: `[index, item]` for the terms' items (lists flattened
/// one level).
pub(super) fn indexed_items(call: &Call) -> Vec<Value> {
    let items = flat(call.terms.iter().cloned());
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| Value::from(vec![Value::from(i), item]))
        .collect()
}

/// `random_choice`: one of the terms, picked at random from the kernel's
/// random source (none: nothing).
pub(super) fn random_choice(call: &Call) -> Result<Vec<Value>, Error> {
    if call.terms.is_empty() {
        return Ok(Vec::new());
    }
    let bytes = crate::private::random_bytes::<8>()
        .map_err(|e| invalid(format!("lookup random_choice: {e}")))?;
    let len = call.terms.len() as u64;
    // The modulo bias is below 2^-50 for any list a template holds.
    let pick = u64::from_le_bytes(bytes) % len;
    Ok(vec![call.terms[usize::try_from(pick).unwrap_or(0)].clone()])
}

/// `subelements`: `[item, sub]` for each item of the first term (a list, or
/// a mapping's values) and each `sub` of its list under the second term's
/// key path (`a.b`); the optional third term `{skip_missing: true}` skips
/// items that lack it. As in Ansible, the item given has that list removed.
pub(super) fn subelements(call: &Call) -> Result<Vec<Value>, Error> {
    let (items, path, skip_missing) = match call.terms.as_slice() {
        [items, path] => (items, path, false),
        [items, path, flags] => (
            items,
            path,
            flags.get_attr("skip_missing").is_ok_and(|v| v.is_true()),
        ),
        _ => {
            return Err(invalid(
                "lookup subelements expects a list of two or three items",
            ))
        }
    };
    let path: Vec<&str> = path
        .as_str()
        .ok_or_else(|| invalid("lookup subelements: the second item must be a key path string"))?
        .split('.')
        .collect();
    let items: Vec<Value> = match items.kind() {
        ValueKind::Seq => items.try_iter()?.collect(),
        ValueKind::Map if items.get_attr("skipped").is_ok_and(|v| v.is_true()) => Vec::new(),
        ValueKind::Map => items
            .try_iter()?
            .map(|k| items.get_item(&k))
            .collect::<Result<_, _>>()?,
        _ => {
            return Err(invalid(
                "lookup subelements: the first item must be a list or a mapping",
            ))
        }
    };
    let mut found = Vec::new();
    for item in items {
        if item.kind() != ValueKind::Map {
            return Err(invalid(format!(
                "lookup subelements expects mappings, got {item}"
            )));
        }
        if item.get_attr("skipped").is_ok_and(|v| v.is_true()) {
            continue;
        }
        let json: serde_json::Value =
            serde_json::to_value(&item).map_err(|e| invalid(e.to_string()))?;
        let Some((without, subs)) = take(json, &path, skip_missing)? else {
            continue;
        };
        let without = Value::from(minijinja::value::Serde(without));
        found.extend(subs.into_iter().map(|s| {
            Value::from(vec![
                without.clone(),
                Value::from(minijinja::value::Serde(s)),
            ])
        }));
    }
    Ok(found)
}

/// The list under `path` in `item`, taken out of it; `None` when missing
/// and `skip_missing`.
fn take(
    mut item: serde_json::Value,
    path: &[&str],
    skip_missing: bool,
) -> Result<Option<(serde_json::Value, Vec<serde_json::Value>)>, Error> {
    let (last, parents) = path.split_last().expect("split gives one key at least");
    let mut node = &mut item;
    for key in parents {
        match node.get_mut(*key) {
            Some(child @ serde_json::Value::Object(_)) => node = child,
            _ if skip_missing => return Ok(None),
            Some(other) => {
                return Err(invalid(format!(
                    "lookup subelements: the key {key} should point to a mapping, got {other}"
                )))
            }
            None => {
                return Err(invalid(format!(
                    "lookup subelements: could not find {key:?} in an item"
                )))
            }
        }
    }
    let map = node.as_object_mut().expect("an object: checked above");
    match map.remove(*last) {
        Some(serde_json::Value::Array(subs)) => Ok(Some((item, subs))),
        Some(other) => Err(invalid(format!(
            "lookup subelements: the key {last} should point to a list, got {other}"
        ))),
        None if skip_missing => Ok(None),
        None => Err(invalid(format!(
            "lookup subelements: could not find {last:?} in an item"
        ))),
    }
}

/// The terms, each a list.
fn lists(call: &Call, lookup: &str) -> Result<Vec<Vec<Value>>, Error> {
    if call.terms.is_empty() {
        return Err(invalid(format!("lookup {lookup} needs at least one list")));
    }
    call.terms
        .iter()
        .map(|t| {
            t.try_iter()
                .map(Iterator::collect)
                .map_err(|_| invalid(format!("lookup {lookup} expects lists, got {t}")))
        })
        .collect()
}

/// `items` with the lists among them flattened one level (Ansible's
/// `_flatten`).
fn flat(items: impl Iterator<Item = Value>) -> Vec<Value> {
    let mut all = Vec::new();
    for item in items {
        match item.kind() {
            ValueKind::Seq => all.extend(item.try_iter().into_iter().flatten()),
            _ => all.push(item),
        }
    }
    all
}

fn flattened(items: impl IntoIterator<Item = Value>) -> Value {
    Value::from(flat(items.into_iter()))
}
