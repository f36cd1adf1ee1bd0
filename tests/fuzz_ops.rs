//! Fuzzing op argument conversion (issue 9): every operation in the registry
//! is built from random maps (its own parameter names with values of every
//! type, plus unknown keys) and from mutated args of the stdlib case files
//! (`stdlib/tests/cases/*/*.json`) and `fuzz/corpus/op_args/*.json`
//! (`{"op": NAME, "args": {...}}`). `kbz_stdlib::build_for_test` must return
//! `Ok` or a clean `Err`, never panic or hang. Budget and seed: tests/fuzz/mod.rs.

mod fuzz;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

/// Builds `op` from `args`; only a panic or a hang (caught by the harness)
/// is a failure.
fn build((op, args): (String, Value)) {
    let _ = kbz_stdlib::build_for_test(&op, &args);
}

/// A string an operator might write, or a nasty one: modes, sizes, paths,
/// shell metacharacters, templates, unicode, huge numbers.
fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,8}",
        "0?[0-7]{3,4}",
        "[ugoa]{1,3}[+=-][rwxst]{0,3}(,[ugo][+=-][rwx]{1,3})?",
        "[0-9]{1,20}[KMGTkmgt]?i?[bB]?",
        "-?[0-9]{1,30}(\\.[0-9]{0,4})?",
        "(/[a-z.]{0,4}){0,4}/?",
        "[a-z]{0,3}[ \t\n;|&$`'\"\\\\(){}<>*?~#=%]{0,4}[a-z]{0,3}",
        "\\{\\{ ?[a-z]{0,3} ?\\}\\}",
        ".{0,8}",
    ]
}

/// Any JSON value, nested a little.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::sample::select(vec![
            0i64,
            -1,
            1,
            0o644,
            0o7777,
            0o10000,
            i64::MIN,
            i64::MAX
        ])
        .prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        string().prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::from),
            btree_map(string(), inner, 0..3).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A value shaped by a parameter's documented type (`string`, `int`, `bool`,
/// `array of strings`, `map`...), or any value at all.
fn value_for(ty: &'static str) -> BoxedStrategy<Value> {
    let typed: BoxedStrategy<Value> = if ty.contains("array") {
        vec(string().prop_map(Value::from), 0..4)
            .prop_map(Value::from)
            .boxed()
    } else if ty.contains("map") {
        btree_map("[a-z_]{0,6}", string().prop_map(Value::from), 0..3)
            .prop_map(|m| Value::Object(m.into_iter().collect()))
            .boxed()
    } else if ty.contains("bool") {
        any::<bool>().prop_map(Value::from).boxed()
    } else if ty.contains("int") {
        prop_oneof![any::<i64>(), -2i64..100_000]
            .prop_map(Value::from)
            .boxed()
    } else {
        string().prop_map(Value::from).boxed()
    };
    prop_oneof![4 => typed, 1 => value()].boxed()
}

/// An operation name and a map of its parameters (each present or not, with
/// a typed or random value) plus, sometimes, an unknown key.
fn op_and_args() -> impl Strategy<Value = (String, Value)> {
    let ops: Vec<_> = kbz_stdlib::docs();
    prop::sample::select(ops).prop_flat_map(|doc| {
        let params: Vec<BoxedStrategy<Option<(String, Value)>>> = doc
            .params
            .iter()
            .map(|p| {
                prop::option::weighted(
                    0.7,
                    value_for(p.ty).prop_map(move |v| (p.name.to_string(), v)),
                )
                .boxed()
            })
            .collect();
        let extra = prop::option::weighted(0.1, ("[a-z_]{1,8}", value()));
        (params, extra).prop_map(move |(params, extra)| {
            let mut map: Map<String, Value> = params.into_iter().flatten().collect();
            map.extend(extra);
            (doc.name.to_string(), Value::Object(map))
        })
    })
}

#[test]
fn fuzz_op_args_generated() {
    fuzz::generate("op args", op_and_args(), build);
}

/// `(op, args)` of every stdlib case file and corpus file.
fn seed_args() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (name, bytes) in fuzz::seeds("op_args", &["stdlib/tests/cases"]) {
        let case: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let op = match case.get("op") {
            Some(op) => op.as_str().expect("op is a string").to_string(),
            None => name
                .rsplit('/')
                .nth(1)
                .expect("cases/<op>/<case>.json")
                .to_string(),
        };
        out.push((op, case["args"].clone()));
    }
    out
}

/// One structural mutation of a JSON value: drop, duplicate under another
/// key, retype or nest a key, somewhere in the tree.
fn mutate_json(v: &mut Value, rng: &mut fuzz::Rng) {
    const REPLACEMENTS: &[fn() -> Value] = &[
        || Value::Null,
        || json!(true),
        || json!(-1),
        || json!(i64::MAX),
        || json!(u64::MAX),
        || json!(1.5e300),
        || json!(""),
        || json!("0999"),
        || json!("é\u{0}\n"),
        || json!([]),
        || json!(["a", 1, null]),
        || json!({}),
        || json!({"a": {"b": []}}),
    ];
    match v {
        Value::Object(m) if !m.is_empty() => {
            let keys: Vec<String> = m.keys().cloned().collect();
            let key = &keys[rng.below(keys.len())];
            match rng.below(4) {
                0 => {
                    m.remove(key);
                }
                1 => {
                    let copy = m[key].clone();
                    m.insert(keys[rng.below(keys.len())].clone() + "_", copy);
                }
                2 => mutate_json(m.get_mut(key).expect("key"), rng),
                _ => {
                    m.insert(key.clone(), REPLACEMENTS[rng.below(REPLACEMENTS.len())]());
                }
            }
        }
        Value::Array(a) if !a.is_empty() && rng.below(2) == 0 => {
            let i = rng.below(a.len());
            mutate_json(&mut a[i], rng);
        }
        Value::String(s) if rng.below(2) == 0 => {
            let bytes = fuzz::mutate(s.as_bytes(), rng);
            *s = String::from_utf8_lossy(&bytes).into_owned();
        }
        other => *other = REPLACEMENTS[rng.below(REPLACEMENTS.len())](),
    }
}

#[test]
fn fuzz_op_args_seeds() {
    let seeds = seed_args();
    for seed in &seeds {
        fuzz::bounded("op args seed", seed.clone(), build);
    }
    let mut rng = fuzz::Rng::new(7);
    let start = std::time::Instant::now();
    let mut n = 0;
    while start.elapsed() < fuzz::budget() {
        let (op, mut args) = seeds[rng.below(seeds.len())].clone();
        for _ in 0..=rng.below(6) {
            mutate_json(&mut args, &mut rng);
        }
        fuzz::bounded("op args mutation", (op, args), build);
        n += 1;
    }
    eprintln!(
        "op args: {} seeds, {n} mutations in {:?}",
        seeds.len(),
        start.elapsed()
    );
}

/// The harness itself: a panicking input fails the target with the input.
#[test]
#[should_panic(expected = "panicked on input")]
fn harness_reports_a_panic() {
    fuzz::bounded("self-test", 1, |_| panic!("boom"));
}

/// The harness itself: an input outliving the deadline fails as a hang.
#[test]
#[should_panic(expected = "(hang)")]
fn harness_reports_a_hang() {
    fuzz::bounded("self-test", 1, |_| {
        std::thread::sleep(fuzz::INPUT_DEADLINE * 2)
    });
}
