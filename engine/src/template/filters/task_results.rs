//! Ansible's task-result tests (`ansible/plugins/test/core.py`): `failed`
//! (`failure`), `succeeded` (`success`, `successful`), `changed` (`change`),
//! `skipped` (`skip`), `reachable`, `unreachable`, `timedout`, `started`,
//! `finished`. kbz-play registers no task results, but roles pass such
//! mappings in their variables; as in Ansible, anything but a mapping is an
//! error naming the test.

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error};

use super::invalid;

/// A test of one result mapping.
type ResultTest = fn(&Value) -> bool;

/// Each test, under every name Ansible gives it, with the name its error
/// gives (`succeeded` is Ansible's `not failed`, and errs as `failed`).
const TESTS: &[(&[&str], &str, ResultTest)] = &[
    (&["failed", "failure"], "failed", |r| truth(r, "failed")),
    (&["succeeded", "success", "successful"], "failed", |r| {
        !truth(r, "failed")
    }),
    (&["unreachable"], "unreachable", |r| truth(r, "unreachable")),
    (&["reachable"], "unreachable", |r| !truth(r, "unreachable")),
    (&["skipped", "skip"], "skipped", |r| truth(r, "skipped")),
    (&["changed", "change"], "changed", changed),
    (&["timedout"], "timedout", |r| {
        truth(&field(r, "timedout"), "period")
    }),
    (&["started"], "started", |r| async_state(r, "started")),
    (&["finished"], "finished", |r| async_state(r, "finished")),
];

pub(super) fn register(env: &mut Environment<'static>) {
    for &(names, errs_as, test) in TESTS {
        for &name in names {
            env.add_test(name, move |result: &Value| {
                if result.kind() == ValueKind::Map {
                    Ok(test(result))
                } else {
                    Err(not_a_mapping(errs_as))
                }
            });
        }
    }
}

/// Ansible's `AnsibleFilterError` for a value that is not a mapping.
fn not_a_mapping(test: &str) -> Error {
    invalid(format!("The '{test}' test expects a dictionary"))
}

/// `result.get(key)`, undefined when missing.
fn field(result: &Value, key: &str) -> Value {
    result.get_attr(key).unwrap_or_default()
}

/// Python's `bool(result.get(key))`.
fn truth(result: &Value, key: &str) -> bool {
    field(result, key).is_true()
}

/// `changed` as written, or else whether any of a module's `results` (a
/// list of mappings) changed.
fn changed(result: &Value) -> bool {
    let own = field(result, "changed");
    if !own.is_undefined() {
        return own.is_true();
    }
    let results = field(result, "results");
    let first_is_map = results.get_item_by_index(0).ok().map(|v| v.kind()) == Some(ValueKind::Map);
    results.kind() == ValueKind::Seq
        && first_is_map
        && results
            .try_iter()
            .is_ok_and(|mut items| items.any(|r| truth(&r, "changed")))
}

/// An async task's `started` or `finished`: as written, or true for a
/// result without it (a task that was not async).
fn async_state(result: &Value, key: &str) -> bool {
    let state = field(result, key);
    state.is_undefined() || state.is_true()
}

#[cfg(test)]
mod unit {
    fn render(source: &str) -> String {
        let mut env = minijinja::Environment::new();
        super::register(&mut env);
        let ctx = minijinja::context! {
            ok => minijinja::context! { changed => false, rc => 0 },
            bad => minijinja::context! { failed => true, unreachable => 1, skipped => "" },
            loop_ => minijinja::context! { results => vec![
                minijinja::context! { changed => false },
                minijinja::context! { changed => true },
            ] },
            slow => minijinja::context! { timedout => minijinja::context! { period => 30 },
                                          started => 1, finished => 0 },
        };
        env.render_str(source, ctx)
            .unwrap_or_else(|e| format!("error: {e:#}"))
    }

    #[test]
    fn result_tests_answer_as_ansibles_on_a_mapping() {
        let out = render(
            "{{ ok is failed }} {{ bad is failure }} {{ ok is succeeded }} {{ bad is success }} \
             {{ bad is unreachable }} {{ ok is reachable }} {{ bad is skipped }} \
             {{ ok is changed }} {{ loop_ is change }} {{ bad is changed }} \
             {{ slow is timedout }} {{ ok is timedout }} {{ slow is started }} \
             {{ slow is finished }} {{ ok is finished }}",
        );
        assert_eq!(
            out,
            "False True True False True True False False True False True False True False True"
        );
    }

    #[test]
    fn a_result_test_on_what_is_not_a_mapping_is_ansibles_error() {
        let out = render("{{ 'x' is successful }}");
        assert!(
            out.contains("The 'failed' test expects a dictionary"),
            "{out}"
        );
    }
}
