//! Python's `zip` and `itertools` as Ansible exposes them: `zip`,
//! `zip_longest` (with `fillvalue`), `product` (with `repeat`),
//! `permutations` (`r` the whole length by default) and `combinations`
//! (`r` required), in itertools' order (by position in the input). Each
//! gives a list of lists, as Ansible 2.19 prints Python's tuples
//! (minijinja's own `zip` gives tuples, printed `(1, 'a')`: replaced).

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("zip", zip);
    env.add_filter("zip_longest", zip_longest);
    env.add_filter("product", product);
    env.add_filter("permutations", |items: Value, r: Option<usize>| {
        let items = one_list(items, "permutations")?;
        let r = r.unwrap_or(items.len());
        Ok::<_, Error>(listed(arrangements(&items, r, true)))
    });
    env.add_filter("combinations", |items: Value, r: usize| {
        let items = one_list(items, "combinations")?;
        Ok::<_, Error>(listed(arrangements(&items, r, false)))
    });
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

fn one_list(items: Value, filter: &str) -> Result<Vec<Value>, Error> {
    Ok(lists(items, Rest(vec![]), filter)?.remove(0))
}

fn listed(rows: Vec<Vec<Value>>) -> Value {
    Value::from(rows.into_iter().map(Value::from).collect::<Vec<_>>())
}

/// The `r`-long picks of `items`, each item at most once, in itertools'
/// order: every order of them (`ordered`, permutations) or only the one
/// keeping the input's order (combinations).
fn arrangements(items: &[Value], r: usize, ordered: bool) -> Vec<Vec<Value>> {
    if r == 0 {
        return vec![Vec::new()];
    }
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let rest: Vec<Value> = if ordered {
            items[..i].iter().chain(&items[i + 1..]).cloned().collect()
        } else {
            items[i + 1..].to_vec()
        };
        for mut tail in arrangements(&rest, r - 1, ordered) {
            tail.insert(0, item.clone());
            out.push(tail);
        }
    }
    out
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
    Ok(listed(rows))
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
    fn permutations_and_combinations_go_in_itertools_order() {
        let abc: Vec<Value> = ["a", "b", "c"].into_iter().map(Value::from).collect();
        let text = |rows: Vec<Vec<Value>>| listed(rows).to_string();
        assert_eq!(
            text(arrangements(&abc, 2, true)),
            "[['a', 'b'], ['a', 'c'], ['b', 'a'], ['b', 'c'], ['c', 'a'], ['c', 'b']]"
        );
        assert_eq!(
            text(arrangements(&abc, 2, false)),
            "[['a', 'b'], ['a', 'c'], ['b', 'c']]"
        );
        assert_eq!(text(arrangements(&abc, 4, false)), "[]");
        assert_eq!(text(arrangements(&abc, 0, true)), "[[]]");
    }

    #[test]
    fn a_scalar_is_refused_naming_the_filter() {
        let err = product(Value::from(1), Rest(vec![]), no_kwargs()).unwrap_err();
        assert!(err.to_string().contains("product: expects lists"), "{err}");
    }
}
