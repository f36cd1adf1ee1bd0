//! Ansible's set-theory filters: `union`, `intersect`, `difference`,
//! `symmetric_difference` (`unique` is Jinja's, as Ansible calls it).
//! Ansible builds a Python `set`, whose order follows the items' hashes
//! (string hashes change from run to run); kbz-play keeps the order the
//! items are first seen in, the order Ansible falls back to for unhashable
//! items (lists, mappings). Sort the result when the order matters.

use minijinja::value::Value;
use minijinja::{Environment, Error};

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("union", union);
    env.add_filter("intersect", intersect);
    env.add_filter("difference", difference);
    env.add_filter("symmetric_difference", symmetric_difference);
}

/// `items` without repeats, first occurrence kept (case-sensitive, as a set).
fn distinct(items: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn union(a: Vec<Value>, b: Vec<Value>) -> Result<Vec<Value>, Error> {
    Ok(distinct(a.into_iter().chain(b)))
}

fn intersect(a: Vec<Value>, b: Vec<Value>) -> Result<Vec<Value>, Error> {
    Ok(distinct(a.into_iter().filter(|x| b.contains(x))))
}

fn difference(a: Vec<Value>, b: Vec<Value>) -> Result<Vec<Value>, Error> {
    Ok(distinct(a.into_iter().filter(|x| !b.contains(x))))
}

fn symmetric_difference(a: Vec<Value>, b: Vec<Value>) -> Result<Vec<Value>, Error> {
    let both = intersect(a.clone(), b.clone())?;
    let all = union(a, b)?;
    Ok(all.into_iter().filter(|x| !both.contains(x)).collect())
}

#[cfg(test)]
mod unit {
    use super::*;

    fn values(items: &[i64]) -> Vec<Value> {
        items.iter().copied().map(Value::from).collect()
    }

    #[test]
    fn results_keep_first_seen_order_and_no_repeats() {
        let (a, b) = (values(&[3, 1, 3, 2]), values(&[2, 4, 4]));
        assert_eq!(union(a.clone(), b.clone()).unwrap(), values(&[3, 1, 2, 4]));
        assert_eq!(intersect(a.clone(), b.clone()).unwrap(), values(&[2]));
        assert_eq!(difference(a.clone(), b.clone()).unwrap(), values(&[3, 1]));
        assert_eq!(symmetric_difference(a, b).unwrap(), values(&[3, 1, 4]));
    }

    #[test]
    fn strings_compare_case_sensitively_as_a_python_set_does() {
        let a = vec![Value::from("a"), Value::from("A")];
        assert_eq!(intersect(a, vec![Value::from("a")]).unwrap().len(), 1);
    }
}
