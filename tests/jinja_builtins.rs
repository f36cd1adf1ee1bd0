//! Jinja2's builtin filters and tests, as an Ansible user's templates use
//! them: every one Jinja2 registers exists here, and each case of
//! tests/fixtures/jinja_builtins/cases.json renders as Jinja2 renders it.
//!
//! The cases' `expected` outputs were written by Jinja2 itself
//! (`render.py --write` with the test venv's python), so the comparison
//! runs everywhere; where the venv is, a second test renders the cases with
//! its Jinja2 again, which catches an expectation edited by hand or a
//! Jinja2 release that changed a filter. A case Jinja2 refuses is expected
//! as `error: ` and the exception's class: kbz-play must refuse it too.

mod common;

use std::path::Path;
use std::process::Command;

use kbz_engine::template::Templates;
use serde_json::Value;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jinja_builtins");

/// One case: a template, its variables, and what Jinja2 rendered.
struct Case {
    template: String,
    vars: Value,
    expected: String,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("cases.json")).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap();
    cases
        .into_iter()
        .map(|c| Case {
            template: c["template"].as_str().unwrap().to_string(),
            vars: c
                .get("vars")
                .cloned()
                .unwrap_or(Value::Object(Default::default())),
            expected: c["expected"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// What kbz-play renders for `case`, or `error: ` and the message.
fn render(templates: &Templates, case: &Case) -> String {
    let ctx = minijinja::Value::from(minijinja::value::Serde(&case.vars));
    templates
        .render_str(&case.template, &ctx)
        .unwrap_or_else(|e| format!("error: {e}"))
}

/// Whether kbz-play's output `ours` is Jinja2's `theirs`: the same text, or
/// a refusal of a case Jinja2 refuses.
fn agrees(ours: &str, theirs: &str) -> bool {
    ours == theirs || (ours.starts_with("error: ") && theirs.starts_with("error: "))
}

/// Every case kbz-play renders otherwise than `expected`, described.
fn mismatches(expected: impl Iterator<Item = String>) -> Vec<String> {
    let templates = Templates::new(Path::new(FIXTURES));
    cases()
        .iter()
        .zip(expected)
        .filter_map(|(case, theirs)| {
            let ours = render(&templates, case);
            (!agrees(&ours, &theirs)).then(|| {
                format!(
                    "{}\n  vars:   {}\n  jinja2: {theirs:?}\n  ours:   {ours:?}",
                    case.template, case.vars
                )
            })
        })
        .collect()
}

#[test]
fn every_case_renders_as_jinja2_rendered_it() {
    let bad = mismatches(cases().into_iter().map(|c| c.expected));
    assert!(
        bad.is_empty(),
        "{} case(s) differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn every_jinja2_builtin_filter_and_test_exists() {
    let text = std::fs::read_to_string(Path::new(FIXTURES).join("builtins.json")).unwrap();
    let builtins: Value = serde_json::from_str(&text).unwrap();
    let templates = Templates::new(Path::new(FIXTURES));
    let missing: Vec<String> = [
        ("filters", "{{ [1] | map('NAME') | list }}"),
        ("tests", "{{ [1] | select('NAME') | list }}"),
    ]
    .iter()
    .flat_map(|(kind, shape)| {
        let templates = &templates;
        builtins[kind]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(move |name| {
                let name = name.as_str().unwrap();
                let source = shape.replace("NAME", name);
                let out = templates.render_str(&source, &minijinja::Value::UNDEFINED);
                let unknown = matches!(&out, Err(e) if e.to_string().contains("unknown"));
                unknown.then(|| format!("{kind}: {name}"))
            })
    })
    .collect();
    assert!(missing.is_empty(), "missing: {missing:?}");
}

#[test]
fn jinja2_rendering_is_required_when_kbz_validators_required_is_set() {
    common::venv_tool_guard("ansible-playbook", "the Jinja2 builtins comparison");
}

#[test]
#[ignore = "needs Jinja2 (the test venv's python, beside ansible-playbook on PATH)"]
fn the_venvs_jinja2_renders_every_case_as_recorded_and_as_kbz_play_does() {
    let ansible = common::find_tool("ansible-playbook").expect("ansible-playbook on PATH");
    let python = ansible.with_file_name("python");
    let out = Command::new(&python)
        .arg(Path::new(FIXTURES).join("render.py"))
        .output()
        .expect("the venv's python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let outputs: Vec<String> = theirs["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o.as_str().unwrap().to_string())
        .collect();
    let recorded: Vec<String> = cases().into_iter().map(|c| c.expected).collect();
    assert_eq!(
        outputs, recorded,
        "cases.json is not what Jinja2 renders: render.py --write"
    );
    let builtins: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(FIXTURES).join("builtins.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        theirs["filters"], builtins["filters"],
        "builtins.json is out of date"
    );
    assert_eq!(
        theirs["tests"], builtins["tests"],
        "builtins.json is out of date"
    );
    let bad = mismatches(outputs.into_iter());
    assert!(
        bad.is_empty(),
        "{} case(s) differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}
