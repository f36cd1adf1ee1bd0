//! `data | json_query('expr')`: a JMESPath query (community.general's
//! filter, which Ansible's short name reaches), run by the jmespath crate,
//! JMESPath's reference implementation in Rust.

use minijinja::value::{Serde, Value};
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("json_query", json_query);
}

fn json_query(data: &Value, expression: &str) -> Result<Value, Error> {
    let compiled = jmespath::compile(expression)
        .map_err(|e| invalid(format!("json_query: {expression:?}: {e}")))?;
    let found = compiled
        .search(data)
        .map_err(|e| invalid(format!("json_query: {expression:?}: {e}")))?;
    Ok(Value::from(Serde(&*found)))
}

#[cfg(test)]
mod unit {
    //! Expected values are Python's jmespath 1.1.0 (the library Ansible's
    //! json_query calls) on the same data, printed as Ansible prints them.
    use super::*;

    fn query(expression: &str) -> String {
        let data = Value::from(Serde(serde_json::json!({
            "domain": {
                "cluster": [
                    {"name": "c1", "servers": [{"name": "s1", "port": 80}, {"name": "s2", "port": 8080}]},
                    {"name": "c2", "servers": [{"name": "s3", "port": 443}]}
                ]
            },
            "people": [{"age": 30, "name": "a"}, {"age": 50, "name": "b"}, {"age": 40, "name": "c"}]
        })));
        json_query(&data, expression).map_or_else(|e| format!("error: {e}"), |v| v.to_string())
    }

    #[test]
    fn queries_answer_as_pythons_jmespath() {
        assert_eq!(query("domain.cluster[*].name"), "['c1', 'c2']");
        assert_eq!(query("domain.cluster[].servers[].port"), "[80, 8080, 443]");
        assert_eq!(
            query("domain.cluster[?name=='c2'].servers[0].name | [0]"),
            "s3"
        );
        assert_eq!(query("people[?age > `35`].name"), "['b', 'c']");
        assert_eq!(query("max_by(people, &age).name"), "b");
        assert_eq!(query("sort_by(people, &age)[*].name"), "['a', 'c', 'b']");
        assert_eq!(query("length(people)"), "3");
        // Python keeps a multi-select's keys in the expression's order
        // ({'n': 'a', 'a': 30}); jmespath.rs sorts them.
        assert_eq!(query("people[0].{n: name, a: age}"), "{'a': 30, 'n': 'a'}");
        assert_eq!(query("nothing.here"), "None");
        assert!(query("people[?").contains("json_query"));
    }
}
