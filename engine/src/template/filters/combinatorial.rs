//! Python's `zip` and `itertools` as Ansible exposes them: `zip`,
//! `zip_longest` (with `fillvalue`) and `product` (with `repeat`). Each
//! gives a list of lists, as Ansible 2.19 prints Python's tuples
//! (minijinja's own `zip` gives tuples, printed `(1, 'a')`: replaced).

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("zip", zip);
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("product", product);
}

fn lists(first: Value, rest: Rest<Value>, filter: &str) -> Result<Vec<Vec<Value>>, Error> {
    std::iter::once(first)
        .chain(rest.0)
        .map(|v| {
            v.try_iter()
                .map(Iterator::collect)
                .map_err(|_| invalid(format!("{filter}: expects lists, got {v}")))
        })
        .collect()
}

/// The first `len` rows across `lists`, a missing item given as `fill`.
fn rows(lists: &[Vec<Value>], len: usize, fill: &Value) -> Value {
    let rows = (0..len).map(|i| {
        let row = lists
            .iter()
            .map(|l| l.get(i).cloned().unwrap_or(fill.clone()));
        Value::from(row.collect::<Vec<_>>())
    });
    Value::from(rows.collect::<Vec<_>>())
}

/// `a | zip(b)`: as long as the shortest list.
fn zip(first: Value, rest: Rest<Value>) -> Result<Value, Error> {
    let lists = lists(first, rest, "zip")?;
    let shortest = lists.iter().map(Vec::len).min().unwrap_or(0);
    Ok(rows(&lists, shortest, &Value::from(())))
}

/// `a | zip_longest(b, fillvalue=x)`: as long as the longest list, the
/// shorter ones padded with `fillvalue` (none by default).
fn zip_longest(first: Value, rest: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let fill = kwargs
        .get::<Option<Value>>("fillvalue")?
        .unwrap_or(Value::from(()));
    kwargs.assert_all_used()?;
    let lists = lists(first, rest, "zip_longest")?;
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(rows(&lists, longest, &fill))
}

/// `a | product(b)`: every combination, the last list varying fastest;
/// `repeat=n` takes the lists `n` times over.
fn product(first: Value, rest: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let repeat = kwargs.get::<Option<usize>>("repeat")?.unwrap_or(1);
    kwargs.assert_all_used()?;
    let lists = lists(first, rest, "product")?;
    let mut rows: Vec<Vec<Value>> = vec![Vec::new()];
    for list in std::iter::repeat_n(&lists, repeat).flatten() {
        rows = rows
            .into_iter()
            .flat_map(|row| {
                list.iter().map(move |item| {
                    let mut next = row.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    Ok(Value::from(
        rows.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod unit {
    use super::*;

    fn no_kwargs() -> Kwargs {
        Kwargs::from_iter(Vec::<(&str, Value)>::new())
    }

    #[test]
    fn product_of_nothing_repeated_zero_times_is_one_empty_row() {
        let out = product(
            Value::from(vec![1]),
            Rest(vec![]),
            Kwargs::from_iter([("repeat", Value::from(0))]),
        );
        assert_eq!(out.unwrap().to_string(), "[[]]");
    }

    #[test]
    fn zip_longest_of_empty_lists_is_empty() {
        let empty = Value::from(Vec::<Value>::new());
        let out = zip_longest(empty.clone(), Rest(vec![empty]), no_kwargs()).unwrap();
        assert_eq!(out.len(), Some(0));
    }

    #[test]
    fn a_scalar_is_refused_naming_the_filter() {
        let err = product(Value::from(1), Rest(vec![]), no_kwargs()).unwrap_err();
        assert!(err.to_string().contains("product: expects lists"), "{err}");
    }
}
