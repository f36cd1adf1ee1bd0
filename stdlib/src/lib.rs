//! kbz-play's built-in operations, exposed to Rhai.
//!
//! Each operation lives in its own module under `ops/`: a serde argument
//! struct with its [`Param`](kbz_engine::op::Param) table and call forms,
//! and a [`kbz_engine::op::Operation`] that lists probes and plans purely
//! from their answers. `ops::ALL` lists them once, and everything else comes
//! from that list: [`register()`] makes them Rhai functions, [`docs`] feeds
//! `kbz-play doc` and the README's table ([`doc`]), [`build_for_test`]
//! builds any operation from JSON so plans can be tested without a host.
//! Script functions that are not operations (`facts()`) have their own list,
//! [`functions()`].

mod build;
pub mod doc;
mod functions;
mod ops;
mod register;
mod registry;

pub use build::Form;
pub use functions::FunctionDoc;
pub use registry::OpDoc;

use kbz_engine::op::Operation;

/// Registers every operation and script function as Rhai functions. The
/// engine registers `OpResult`, which operations return.
///
/// `package` is a reserved word in Rhai (kept for a future module system),
/// so this also installs the engine's token mapper to read it as a plain
/// identifier; the engine must not install another mapper after this.
pub fn register(engine: &mut rhai::Engine) {
    unreserve(engine, &["package"]);
    for op in ops::ALL {
        (op.register)(engine);
    }
    for f in functions::ALL {
        (f.register)(engine);
    }
}

/// The documentation of every operation, in the order of `kbz-play doc`.
pub fn docs() -> Vec<OpDoc> {
    ops::ALL.iter().map(|e| e.doc).collect()
}

/// The documentation of every script function that is not an operation.
pub fn functions() -> Vec<FunctionDoc> {
    functions::ALL.iter().map(|f| f.doc).collect()
}

/// Builds operation `op` from JSON arguments, as a Rhai map call would,
/// but without a host: `copy`'s `src` is read as a plain local path, and
/// `template` (which renders for a host) is refused. For offline tests of
/// plans; the error is the message a script would see.
pub fn build_for_test(op: &str, args: &serde_json::Value) -> Result<Box<dyn Operation>, String> {
    let entry = ops::ALL
        .iter()
        .find(|e| e.doc.name == op)
        .ok_or_else(|| format!("no operation {op:?} to build"))?;
    let dynamic = rhai::serde::to_dynamic(args).map_err(|e| e.to_string())?;
    (entry.build)(&dynamic, &build::LocalEnv).map_err(|f| f.to_string())
}

/// Makes reserved words usable as function names.
#[allow(deprecated)] // `on_parse_token` is marked volatile, not deprecated.
fn unreserve(engine: &mut rhai::Engine, words: &'static [&'static str]) {
    use rhai::Token;
    engine.on_parse_token(move |token, _pos, _state| match token {
        Token::Reserved(s) if words.contains(&s.as_str()) => Token::Identifier(s),
        other => other,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Every name is taken once, by an operation or a function, and every
    /// operation's tables are complete: `PARAMS` names exactly the fields
    /// its serde struct accepts (serde's own list of fields, not `PARAMS`
    /// again), each parameter has a doc, and its README row fits a table.
    #[test]
    fn each_op_is_declared_once_and_completely() {
        let mut names: Vec<&str> = ops::ALL.iter().map(|e| e.doc.name).collect();
        names.extend(functions::ALL.iter().map(|f| f.doc.name));
        let mut unique = names.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            unique.len(),
            names.len(),
            "a name is declared twice: {names:?}"
        );
        for e in ops::ALL {
            let d = &e.doc;
            (e.check_params)();
            assert!(!d.summary.is_empty() && !d.example.is_empty(), "{}", d.name);
            assert!(
                !d.ensures.is_empty() && !d.ensures.contains(['|', '\n']),
                "{}: ENSURES is one table cell: {:?}",
                d.name,
                d.ensures
            );
            for p in d.params {
                assert!(
                    p.doc.len() > 10 && !p.ty.is_empty(),
                    "{}.{} needs a doc",
                    d.name,
                    p.name
                );
            }
        }
    }

    /// The parameter types of every function registered under each name,
    /// as Rhai reports them (`template(_: string, _: string)` gives
    /// `["string", "string"]`), sorted.
    fn registered() -> BTreeMap<String, Vec<Vec<String>>> {
        let mut engine = rhai::Engine::new();
        register(&mut engine);
        let mut found: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
        for sig in engine.gen_fn_signatures(false) {
            let (name, rest) = sig.split_once('(').expect("a signature");
            let params = rest.split_once(')').expect("a signature").0;
            let types = params
                .split(", ")
                .filter(|p| !p.is_empty())
                .map(|p| p.trim_start_matches("_: ").to_string())
                .collect();
            found.entry(name.to_string()).or_default().push(types);
        }
        for forms in found.values_mut() {
            forms.sort();
        }
        found
    }

    /// What Rhai must hold for the declared call forms of an op.
    fn expected(forms: &[Form]) -> Vec<Vec<String>> {
        let mut calls: Vec<Vec<&str>> = vec![vec!["map"]];
        for form in forms {
            let positional = match form {
                Form::Bare => {
                    calls.push(vec![]);
                    continue;
                }
                Form::String(_) => vec!["string"],
                Form::Array(_) => vec!["array"],
                Form::TwoStrings(..) => vec!["string", "string"],
            };
            let mut with_map = positional.clone();
            with_map.push("map");
            calls.push(positional);
            calls.push(with_map);
        }
        let mut calls: Vec<Vec<String>> = calls
            .into_iter()
            .map(|c| c.into_iter().map(String::from).collect())
            .collect();
        calls.sort();
        calls
    }

    /// The Rhai engine holds exactly the declared calls: the map form and
    /// each positional form of every op, `facts()`, and nothing else.
    #[test]
    fn registered_calls_are_the_declared_ones() {
        let mut want: BTreeMap<String, Vec<Vec<String>>> = ops::ALL
            .iter()
            .map(|e| (e.doc.name.to_string(), expected(e.doc.forms)))
            .collect();
        for f in functions::ALL {
            let params: Vec<String> = f.doc.params.iter().map(|p| p.to_string()).collect();
            let shortest = params.len() - f.doc.optional;
            let forms = (shortest..=params.len())
                .map(|n| params[..n].to_vec())
                .collect();
            want.insert(f.doc.name.to_string(), forms);
        }
        assert_eq!(registered(), want);
    }

    /// `facts` is a script function, not an op: there is nothing to build.
    #[test]
    fn build_for_test_refuses_unknown_names() {
        let err = build_for_test("facts", &serde_json::json!({})).unwrap_err();
        assert_eq!(err, "no operation \"facts\" to build");
    }
}
