//! Data-driven plan tests, in the manner of pyinfra's `tests/operations`:
//! every `tests/cases/<op>/<name>.json` builds operation `<op>` from
//! `args`, answers its probes with `observed`, and checks the plan.
//!
//! A case file holds:
//! - `args`: the op's map, as JSON;
//! - `observed`: `[[probe, answer], ...]`, probes in their serde form
//!   (`{"probe": "path", "path": "/x", "content": true}`), or for a query
//!   `{"probe": "query", "script_contains": ["ufw show added"]}`: the one
//!   query the op lists whose script holds every fragment. Answers to path
//!   probes are written as a path state with friendlier defaults
//!   (`{"kind": "file", "mode": "0644", "owner": "root", "content": "text"}`:
//!   mode in octal, size and sha256 computed from `content`); other answers
//!   are the engine's `Observation` serde form (`{"answer": "service", ...}`,
//!   `{"answer": "command", "rc": 0, "stdout": "..."}` for commands and
//!   queries; the older `"kind"` tag is read too);
//! - `contents` (optional): `{"/path": "text"}`, the content of probed files,
//!   as an alternative to `content` inside a path answer;
//! - exactly one expectation: `plan` (the changes: `symbol`, `summary`,
//!   `actions` in their serde form, where a write's `mode` may be `"0644"` and
//!   its content is checked by `content` or `content_sha256`, and
//!   `diff_before` checks the diff's before side, and an exec may give
//!   `script_contains: [...]` instead of `script`), `noop` (the reason),
//!   `error` (text the plan error contains) or `build_error` (text the
//!   argument error contains);
//! - optionally `readonly`, `reach` (`"own_probes"` / `"anything"`) and
//!   `timeout` (the op's own limit in seconds, `null` for none).
//!
//! The observed probes must be exactly the ones the op lists, so every case
//! also pins down what the op asks the host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kbz_engine::digest::sha256_hex;
use kbz_engine::op::{Action, Change, Operation, Reach};
use kbz_engine::probe::{Observation, Observed, PathKind, PathState, Probe};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    #[serde(default)]
    description: Option<String>,
    args: Value,
    #[serde(default)]
    observed: Vec<(Value, Value)>,
    #[serde(default)]
    contents: BTreeMap<String, String>,
    #[serde(default)]
    plan: Option<Vec<Value>>,
    #[serde(default)]
    noop: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    build_error: Option<String>,
    #[serde(default)]
    readonly: Option<bool>,
    #[serde(default)]
    reach: Option<String>,
    /// Absent: not checked; `null`: no limit of its own.
    #[serde(default, deserialize_with = "present")]
    timeout: Option<Option<u64>>,
}

/// Tells a key given as `null` (`Some(None)`) from a missing one (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u64>>, D::Error> {
    Option::<u64>::deserialize(d).map(Some)
}

/// A path answer as case files write it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PathAnswer {
    kind: PathKind,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    group: Option<String>,
    /// Numeric owner id; defaults to 0 for root, 1000 otherwise.
    #[serde(default)]
    uid: Option<u32>,
    /// Numeric group id; defaults like `uid`.
    #[serde(default)]
    gid: Option<u32>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    link_target: Option<String>,
    #[serde(default)]
    content: Option<String>,
}

fn path_state(
    answer: PathAnswer,
    path: &str,
    with_content: bool,
    contents: &BTreeMap<String, String>,
) -> Result<PathState, String> {
    if answer.kind == PathKind::Missing {
        return Ok(PathState::missing());
    }
    let content = answer
        .content
        .or_else(|| contents.get(path).cloned())
        .map(String::into_bytes);
    let mode = match answer.mode {
        Some(m) => u32::from_str_radix(&m, 8).map_err(|e| format!("bad mode {m:?}: {e}"))?,
        None if answer.kind == PathKind::Directory => 0o755,
        None if answer.kind == PathKind::Link => 0o777,
        None => 0o644,
    };
    let is_file = answer.kind == PathKind::File;
    let owner = answer.owner.unwrap_or_else(|| "root".into());
    let group = answer.group.unwrap_or_else(|| "root".into());
    let id = |name: &str| if name == "root" { 0 } else { 1000 };
    Ok(PathState {
        kind: answer.kind,
        mode,
        uid: answer.uid.unwrap_or_else(|| id(&owner)),
        gid: answer.gid.unwrap_or_else(|| id(&group)),
        owner,
        group,
        size: answer
            .size
            .or(content.as_ref().map(|c| c.len() as u64))
            .unwrap_or(0),
        sha256: answer
            .sha256
            .or_else(|| content.as_deref().filter(|_| is_file).map(sha256_hex)),
        link_target: answer.link_target,
        content: content.filter(|_| with_content && is_file),
    })
}

fn observation(
    probe: &Probe,
    answer: Value,
    contents: &BTreeMap<String, String>,
) -> Result<Observation, String> {
    match probe {
        Probe::Path { path, content } => {
            let a: PathAnswer =
                serde_json::from_value(answer).map_err(|e| format!("path answer: {e}"))?;
            Ok(Observation::Path(path_state(a, path, *content, contents)?))
        }
        _ => {
            serde_json::from_value(tagged(answer)).map_err(|e| format!("answer to {probe:?}: {e}"))
        }
    }
}

/// Other answers name their variant with `answer` (the engine's serde tag,
/// e.g. `{"answer": "command", "rc": 0, "stdout": "..."}` for command and
/// query probes); `kind`, the tag's former name, is still read.
fn tagged(mut answer: Value) -> Value {
    if let Some(obj) = answer.as_object_mut() {
        if !obj.contains_key("answer") {
            if let Some(kind) = obj.remove("kind") {
                obj.insert("answer".into(), kind);
            }
        }
    }
    answer
}

/// A case's probe: its serde form, or `{"probe": "query", "script_contains":
/// [...]}` for the one query the op lists whose script holds every
/// fragment (long generated queries are pinned by their essential parts).
fn resolve_probe(probe: Value, listed: &[Probe]) -> Result<Probe, String> {
    let Some(fragments) = probe.get("script_contains").and_then(Value::as_array) else {
        return serde_json::from_value(probe).map_err(|e| format!("bad probe: {e}"));
    };
    let fragments: Vec<&str> = fragments.iter().filter_map(Value::as_str).collect();
    let matching: Vec<&Probe> = listed
        .iter()
        .filter(|p| match p {
            Probe::Query { script } => fragments.iter().all(|f| script.contains(f)),
            _ => false,
        })
        .collect();
    match matching[..] {
        [one] => Ok(one.clone()),
        _ => Err(format!(
            "{} listed queries contain {fragments:?}, expected one: {listed:?}",
            matching.len()
        )),
    }
}

/// The expected change with writes normalised; returns the content checks
/// (`content` or `content_sha256` per write, in order) and `diff_before`.
fn normalise_expected(mut change: Value) -> (Value, Vec<Option<String>>, Option<Value>) {
    let mut digests = Vec::new();
    let diff_before = change.as_object_mut().and_then(|c| c.remove("diff_before"));
    if let Some(actions) = change.get_mut("actions").and_then(Value::as_array_mut) {
        for action in actions {
            let Some(obj) = action.as_object_mut() else {
                continue;
            };
            if obj.get("action").and_then(Value::as_str) != Some("write") {
                continue;
            }
            if let Some(Value::String(m)) = obj.get("mode") {
                let bits = u32::from_str_radix(m, 8).expect("expected write mode must be octal");
                obj.insert("mode".into(), Value::from(bits));
            }
            for key in ["path", "mode", "owner", "group"] {
                obj.entry(key).or_insert(Value::Null);
            }
            let literal = obj
                .remove("content")
                .and_then(|c| c.as_str().map(|s| sha256_hex(s.as_bytes())));
            let digest = obj
                .remove("content_sha256")
                .and_then(|c| c.as_str().map(str::to_string));
            digests.push(literal.or(digest));
        }
    }
    (change, digests, diff_before)
}

/// Replaces `script_contains` in expected execs by the actual script when
/// it holds every listed fragment (long generated scripts, like
/// `wait_for`'s loop, are checked by their essential parts).
fn match_fragments(expected: &mut Value, got: &Value) -> Result<(), String> {
    let (Some(exp), Some(act)) = (
        expected.get_mut("actions").and_then(Value::as_array_mut),
        got.get("actions").and_then(Value::as_array),
    ) else {
        return Ok(());
    };
    for (e, a) in exp.iter_mut().zip(act) {
        let Some(obj) = e.as_object_mut() else {
            continue;
        };
        let Some(fragments) = obj.remove("script_contains") else {
            continue;
        };
        let script = a.get("script").and_then(Value::as_str).unwrap_or_default();
        for f in fragments
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !script.contains(f) {
                return Err(format!("script does not contain {f:?}:\n{script}"));
            }
        }
        obj.insert("script".into(), Value::from(script));
    }
    Ok(())
}

fn check_change(i: usize, actual: &Change, expected: Value) -> Result<(), String> {
    let (mut expected, digests, diff_before) = normalise_expected(expected);
    let got = serde_json::to_value(actual).unwrap();
    match_fragments(&mut expected, &got).map_err(|e| format!("change {i}: {e}"))?;
    if got != expected {
        return Err(format!(
            "change {i} differs\n  expected: {}\n  actual:   {}",
            serde_json::to_string(&expected).unwrap(),
            serde_json::to_string(&got).unwrap()
        ));
    }
    let writes: Vec<_> = actual
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Write(w) => Some(w),
            Action::Exec { .. } | Action::Mkdir(_) => None,
        })
        .collect();
    for (w, want) in writes.iter().zip(&digests) {
        let have = sha256_hex(&w.content);
        match want {
            Some(d) if *d != have => {
                return Err(format!(
                    "change {i}: write to {} has content {:?} (sha256 {have}), expected sha256 {d}",
                    w.path,
                    String::from_utf8_lossy(&w.content)
                ))
            }
            Some(_) => {}
            None => {
                return Err(format!(
                    "change {i}: a write needs \"content\" or \"content_sha256\" in the case"
                ))
            }
        }
        let diff = actual
            .diff
            .as_ref()
            .ok_or_else(|| format!("change {i}: a write without a diff"))?;
        if diff.path != w.path || *diff.after != *w.content {
            return Err(format!(
                "change {i}: the diff does not show the written content"
            ));
        }
    }
    if let Some(before) = diff_before {
        let have = actual
            .diff
            .as_ref()
            .and_then(|d| d.before.as_ref())
            .map(|b| String::from_utf8_lossy(b).into_owned());
        let want = before.as_str().map(str::to_string);
        if have != want {
            return Err(format!(
                "change {i}: diff before is {have:?}, expected {want:?}"
            ));
        }
    }
    Ok(())
}

fn run_case(op_name: &str, case: Case) -> Result<(), String> {
    let expectations = [
        case.plan.is_some(),
        case.noop.is_some(),
        case.error.is_some(),
        case.build_error.is_some(),
    ];
    if expectations.iter().filter(|e| **e).count() != 1 {
        return Err("a case needs exactly one of plan, noop, error, build_error".into());
    }
    let op: Box<dyn Operation> = match (
        kbz_stdlib::build_for_test(op_name, &case.args),
        &case.build_error,
    ) {
        (Err(e), Some(want)) if e.contains(want.as_str()) => return Ok(()),
        (Err(e), _) => return Err(format!("build failed: {e}")),
        (Ok(_), Some(want)) => {
            return Err(format!(
                "build succeeded, expected an error containing {want:?}"
            ))
        }
        (Ok(op), None) => op,
    };
    assert_eq!(op.kind(), op_name);
    if let Some(r) = case.readonly {
        if op.readonly() != r {
            return Err(format!("readonly is {}, expected {r}", op.readonly()));
        }
    }
    if let Some(r) = &case.reach {
        let have = match op.reach() {
            Reach::OwnProbes => "own_probes",
            Reach::Anything => "anything",
        };
        if have != r {
            return Err(format!("reach is {have}, expected {r}"));
        }
    }
    if let Some(want) = case.timeout {
        let have = op.timeout().map(|t| t.as_secs());
        if have != want {
            return Err(format!("timeout is {have:?} s, expected {want:?}"));
        }
    }
    let listed = op.probes();
    let observed = case
        .observed
        .into_iter()
        .map(|(p, a)| Ok((resolve_probe(p, &listed)?, a)))
        .collect::<Result<Vec<_>, String>>()?;
    let given: Vec<&Probe> = observed.iter().map(|(p, _)| p).collect();
    for p in &given {
        if !listed.contains(p) {
            return Err(format!(
                "the case answers {p:?}, which the op does not list: {listed:?}"
            ));
        }
    }
    for p in &listed {
        if !given.contains(&p) {
            return Err(format!(
                "the op lists {p:?}, which the case does not answer"
            ));
        }
    }
    let mut answers = Vec::new();
    for (probe, answer) in observed {
        let obs = observation(&probe, answer, &case.contents)?;
        answers.push((probe, obs));
    }
    let plan = op.plan(&Observed::new(answers));
    match (plan, case.plan, case.noop, case.error) {
        (Err(e), _, _, Some(want)) if e.to_string().contains(want.as_str()) => Ok(()),
        (Err(e), ..) => Err(format!("plan failed: {e}")),
        (Ok(p), _, _, Some(want)) => Err(format!(
            "planned {:?}, expected an error containing {want:?}",
            p.changes
        )),
        (Ok(p), _, Some(reason), _) => match (&p.reason, p.is_noop()) {
            (Some(r), true) if *r == reason => Ok(()),
            _ => Err(format!(
                "expected noop {reason:?}, got reason {:?} and changes {:#?}",
                p.reason, p.changes
            )),
        },
        (Ok(p), Some(expected), ..) => {
            if p.changes.len() != expected.len() {
                let got: Vec<String> = p
                    .changes
                    .iter()
                    .map(|c| serde_json::to_string(c).unwrap())
                    .collect();
                return Err(format!(
                    "expected {} changes, got {} (reason {:?}):\n  {}",
                    expected.len(),
                    got.len(),
                    p.reason,
                    got.join("\n  ")
                ));
            }
            p.changes
                .iter()
                .zip(expected)
                .enumerate()
                .try_for_each(|(i, (c, e))| check_change(i, c, e))
        }
        (Ok(_), None, None, None) => unreachable!("checked above"),
    }
}

fn case_files() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let op = dir.file_name().unwrap().to_string_lossy().into_owned();
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "json") {
                files.push((op.clone(), f));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn all_cases() {
    let files = case_files();
    let mut failures = Vec::new();
    let mut per_op: BTreeMap<String, usize> = BTreeMap::new();
    for (op, file) in &files {
        *per_op.entry(op.clone()).or_default() += 1;
        let text = std::fs::read_to_string(file).unwrap();
        let result = serde_json::from_str::<Case>(&text)
            .map_err(|e| format!("bad case file: {e}"))
            .and_then(|case| {
                let description = case.description.clone().unwrap_or_default();
                run_case(op, case).map_err(|e| format!("({description})\n{e}"))
            });
        if let Err(e) = result {
            failures.push(format!(
                "{}: {e}",
                file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                    .unwrap()
                    .display()
            ));
        }
    }
    println!("{} cases: {per_op:?}", files.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
    // template renders for a host, so it cannot build offline; its plans
    // are copy's, and tests/doc_examples.rs renders it.
    for op in kbz_stdlib::docs()
        .iter()
        .map(|d| d.name)
        .filter(|n| *n != "template")
    {
        assert!(
            per_op.get(op).copied().unwrap_or(0) >= 3,
            "{op} needs at least 3 cases"
        );
    }
}
