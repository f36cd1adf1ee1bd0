//! Operations written in Rhai: `operation(name, args, #{ target, probes, plan })`.
//!
//! A role defines an idempotent operation with the same contract as the
//! built-in ones: its parameters (checked as a built-in op's: see
//! [`super::params`]), what it manages (`target`), the read-only questions it asks
//! the host (`probes`: `query(script)`, `stat(path)`, `slurp(path)`), and a
//! pure `plan` closure that turns the answers into changes (commands to run, files to write) or into a reason
//! why nothing needs doing. The engine answers the questions (from the
//! rehearsal's single round trip, the cache or the snapshot, like any op's
//! probes) and applies the plan by the run's strategy, so such an op gets
//! `--check`, `--diff`, tags, `.notify()`, the recap and the one-round-trip
//! rerun as the built-in ones do.
//!
//! ```rhai
//! /// Ensures a line-per-name registry file lists `args.name`.
//! fn registered(args) {
//!     operation("registered", args, #{
//!         params: #{ name: "the name to list" },
//!         target: |args| args.name,
//!         probes: |args| [query(`grep -cx '${args.name}' /etc/registry; true`)],
//!         plan: |args, answers| if answers[0].stdout != "0" { "already listed" }
//!                               else { [#{ symbol: "+", summary: "listed", actions: [`echo ${args.name} >> /etc/registry`] }] },
//!     })
//! }
//! ```

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, OnceLock};

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext};
use serde::Deserialize;

use super::api::Callable;
use super::params::{check_args, params_of};
use crate::op::{
    Action, Change, ContentDiff, Expected, OpError, Operation, Plan, Symbol, WriteFile,
};
use crate::probe::{Observation, Observed, PathKind, Probe};

thread_local! {
    /// The engine whose script runs on this thread, set by [`Callable::call`]:
    /// a Rhai op's plan closure runs later than its call (the engine plans
    /// an op after probing it), where no call context is at hand.
    static ENGINE: RefCell<Option<Arc<Engine>>> = const { RefCell::new(None) };
}

/// Runs `f` with `engine` as this thread's script engine.
pub(super) fn with_engine<T>(engine: &Arc<Engine>, f: impl FnOnce() -> T) -> T {
    let before = ENGINE.with(|e| e.replace(Some(Arc::clone(engine))));
    let out = f();
    ENGINE.with(|e| *e.borrow_mut() = before);
    out
}

/// Registers `operation` and the probe constructors.
pub(super) fn register(engine: &mut Engine) {
    engine.register_type_with_name::<Probe>("Probe");
    engine.register_fn("query", |script: &str| Probe::Query {
        script: script.to_string(),
    });
    engine.register_fn("stat", |path: &str| Probe::path(path));
    engine.register_fn("slurp", |path: &str| Probe::path_with_content(path));
    engine.register_fn(
        "operation",
        |ctx: NativeCallContext, name: &str, args: Map, spec: Map| {
            let (args, common) = crate::run::api::split_common(&ctx, args)?;
            let op = RhaiOp::new(&ctx, name, args.cast::<Map>(), spec)?;
            crate::run::api::run_op(&ctx, Box::new(op), common)
        },
    );
}

/// An operation whose plan is a Rhai closure.
struct RhaiOp {
    kind: &'static str,
    target: String,
    probes: Vec<Probe>,
    /// The call's arguments, which the plan closure reads again.
    args: Dynamic,
    plan: Callable,
}

impl std::fmt::Debug for RhaiOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RhaiOp")
            .field("kind", &self.kind)
            .field("target", &self.target)
            .field("probes", &self.probes)
            .finish_non_exhaustive()
    }
}

impl RhaiOp {
    /// Checks the call: `args` against the spec's `params` (when it lists
    /// them), and the spec's own keys.
    fn new(
        ctx: &NativeCallContext,
        name: &str,
        mut args: Map,
        mut spec: Map,
    ) -> Result<RhaiOp, Box<EvalAltResult>> {
        let fail = |m: String| crate::run::api::error(ctx, format!("{name}(): {m}"));
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(fail(
                "an operation's name is letters, digits and _, like a function's".into(),
            ));
        }
        if let Some(params) = spec.remove("params") {
            let params = params
                .try_cast::<Map>()
                .ok_or_else(|| fail("params is a map of parameter names to their docs".into()))?;
            let params = params_of(&params).map_err(fail)?;
            check_args(name, &mut args, &params).map_err(fail)?;
        }
        let target = closure(&mut spec, "target").map_err(fail)?;
        let probes = closure(&mut spec, "probes").map_err(fail)?;
        let plan = closure(&mut spec, "plan").map_err(fail)?;
        if let Some(k) = spec.keys().next() {
            let keys = ["target", "probes", "plan", "params"].into_iter();
            let hint = crate::op::suggest(k, keys)
                .map(|s| format!("; did you mean '{s}'?"))
                .unwrap_or_default();
            return Err(fail(format!(
                "unknown key '{k}' in the operation's spec{hint}"
            )));
        }
        let args = Dynamic::from_map(args);
        let target: Dynamic = target.call_within_context(ctx, (args.clone(),))?;
        let target = target
            .into_string()
            .map_err(|t| fail(format!("target must return a string, not {t}")))?;
        let probes: Dynamic = probes.call_within_context(ctx, (args.clone(),))?;
        let probes = probes_of(probes).map_err(fail)?;
        Ok(RhaiOp {
            kind: intern(name),
            target,
            probes,
            args,
            plan: Callable::new(ctx, plan),
        })
    }

    /// Calls the plan closure with the answers, in the order of the probes.
    fn call_plan(&self, answers: Array) -> Result<Dynamic, OpError> {
        let engine = ENGINE
            .with(|e| e.borrow().clone())
            .ok_or_else(|| OpError::Invalid("a Rhai operation plans only inside a play".into()))?;
        self.plan
            .call(&engine, vec![self.args.clone(), answers.into()])
            .map_err(|e| OpError::Invalid(format!("plan: {e}")))
    }
}

impl Operation for RhaiOp {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn target(&self) -> String {
        self.target.clone()
    }

    fn probes(&self) -> Vec<Probe> {
        self.probes.clone()
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        let answers = self
            .probes
            .iter()
            .map(|p| observed.get(p).map(answer))
            .collect::<Result<Array, _>>()?;
        plan_of(&self.call_plan(answers)?, observed)
    }
}

/// A closure the spec must give under `key`.
fn closure(spec: &mut Map, key: &str) -> Result<FnPtr, String> {
    spec.remove(key)
        .ok_or_else(|| format!("the operation's spec needs '{key}'"))?
        .try_cast::<FnPtr>()
        .ok_or_else(|| format!("'{key}' must be a closure: |args| ..."))
}

/// What the `probes` closure returned: an array of probes.
fn probes_of(value: Dynamic) -> Result<Vec<Probe>, String> {
    let what = "probes must return an array of query(...), stat(...) or slurp(...)";
    value
        .try_cast::<Array>()
        .ok_or(what)?
        .into_iter()
        .map(|p| {
            let t = p.type_name();
            p.try_cast::<Probe>().ok_or(format!("{what}, not a {t}"))
        })
        .collect()
}

/// The op's name with a static lifetime ([`Operation::kind`]), leaked once per name.
fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .expect("names lock");
    if let Some(n) = names.get(name) {
        return n;
    }
    let leaked: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// One answer as the plan closure reads it: `#{ rc, stdout }` for a query;
/// `#{ exists, kind, mode, owner, group, size, sha256 }` for a path, with
/// `content` (text) for a `slurp`.
fn answer(o: &Observation) -> Dynamic {
    let mut m = Map::new();
    match o {
        Observation::Command(c) => {
            m.insert("rc".into(), (c.rc as i64).into());
            m.insert("stdout".into(), c.stdout.clone().into());
        }
        Observation::Path(p) => {
            let kind = match p.kind {
                PathKind::Missing => "missing",
                PathKind::File => "file",
                PathKind::Directory => "directory",
                PathKind::Link => "link",
                PathKind::Other => "other",
            };
            m.insert("exists".into(), p.exists().into());
            m.insert("kind".into(), kind.into());
            m.insert("mode".into(), format!("{:04o}", p.mode).into());
            m.insert("owner".into(), p.owner.clone().into());
            m.insert("group".into(), p.group.clone().into());
            m.insert("size".into(), (p.size as i64).into());
            m.insert("sha256".into(), p.sha256.clone().unwrap_or_default().into());
            if let Some(c) = &p.content {
                m.insert(
                    "content".into(),
                    String::from_utf8_lossy(c).into_owned().into(),
                );
            }
        }
        other => return Dynamic::from(format!("{other:?}")),
    }
    m.into()
}

/// One change as a plan closure returns it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeSpec {
    /// `+` create, `~` update, `-` delete, `!` run.
    symbol: String,
    /// What changes, for the report.
    summary: String,
    /// What makes the change, in order.
    #[serde(default)]
    actions: Vec<ActionSpec>,
}

/// A command, a command with stdin, or a file to write.
#[derive(Deserialize)]
#[serde(untagged)]
enum ActionSpec {
    Command(String),
    Run(RunSpec),
    Write(WriteSpec),
}

/// `#{ run: "script", input: secret }`: the input travels on stdin, never in argv.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunSpec {
    run: String,
    input: String,
}

/// `#{ path, content, mode, owner, group, validate }`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteSpec {
    path: String,
    content: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    validate: Option<String>,
}

/// Reads what the plan closure returned: a string (nothing to do, and why),
/// or an array of changes (empty: nothing differs).
fn plan_of(value: &Dynamic, observed: &Observed) -> Result<Plan, OpError> {
    if value.is_string() {
        return Ok(Plan::noop(value.to_string()));
    }
    let bad = |e: String| {
        OpError::Invalid(format!(
            "the plan returns a string (nothing to do: why) or an array of \
             #{{ symbol, summary, actions }}, each action a command string, \
             #{{ run, input }} or #{{ path, content, mode, owner, group, validate }}: {e}"
        ))
    };
    let specs: Vec<ChangeSpec> =
        rhai::serde::from_dynamic(value).map_err(|e| bad(e.to_string()))?;
    if specs.is_empty() {
        return Ok(Plan::noop("nothing differs"));
    }
    let changes = specs
        .into_iter()
        .map(|c| change_of(c, observed))
        .collect::<Result<Vec<_>, String>>()
        .map_err(bad)?;
    Ok(Plan::of(changes))
}

fn change_of(spec: ChangeSpec, observed: &Observed) -> Result<Change, String> {
    let symbol = match spec.symbol.as_str() {
        "+" => Symbol::Create,
        "~" => Symbol::Update,
        "-" => Symbol::Delete,
        "!" => Symbol::Run,
        s => return Err(format!("symbol '{s}' is none of + ~ - !")),
    };
    let mut diff = None;
    let mut actions = Vec::new();
    for a in spec.actions {
        actions.push(match a {
            ActionSpec::Command(script) => Action::exec(script),
            ActionSpec::Run(r) => Action::exec_with_input(r.run, r.input.into_bytes()),
            ActionSpec::Write(w) => {
                let write = write_of(w, observed)?;
                diff = Some(ContentDiff {
                    path: write.path.clone(),
                    before: before_of(&write.path, observed),
                    after: Arc::clone(&write.content),
                });
                Action::Write(write)
            }
        });
    }
    let change = Change::new(symbol, spec.summary, actions);
    Ok(match diff {
        Some(d) => change.with_diff(d),
        None => change,
    })
}

/// A file write; a compare-and-swap when the op probed its path.
fn write_of(w: WriteSpec, observed: &Observed) -> Result<WriteFile, String> {
    if !w.path.starts_with('/') {
        return Err(format!("a write's path must be absolute: {}", w.path));
    }
    let mode = match &w.mode {
        Some(m) => Some(
            crate::op::parse_mode(m)
                .map_err(|_| format!("mode '{m}' is not octal, e.g. \"0640\""))?,
        ),
        None => None,
    };
    let expect = observed.path(&w.path).ok().and_then(Expected::of);
    Ok(WriteFile {
        path: w.path,
        content: Arc::new(w.content.into_bytes()),
        mode,
        owner: w.owner,
        group: w.group,
        validate: w.validate,
        expect,
    })
}

/// The file's current content when the op slurped it (`--diff` reads it
/// from the host otherwise); empty when the op saw nothing there.
fn before_of(path: &str, observed: &Observed) -> Option<Arc<Vec<u8>>> {
    let state = observed.path(path).ok()?;
    if !state.exists() {
        return Some(Arc::new(Vec::new()));
    }
    state.content.clone().map(Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::PathState;

    /// What a plan closure returns, as Rhai would hand it over.
    fn value(json: serde_json::Value) -> Dynamic {
        rhai::serde::to_dynamic(json).unwrap()
    }

    #[test]
    fn a_string_or_nothing_is_a_noop_with_its_reason() {
        let none = Observed::default();
        let plan = plan_of(&Dynamic::from("already listed"), &none).unwrap();
        assert_eq!(plan, Plan::noop("already listed"));
        let plan = plan_of(&value(serde_json::json!([])), &none).unwrap();
        assert_eq!(plan, Plan::noop("nothing differs"));
    }

    #[test]
    fn changes_become_commands_stdin_and_compare_and_swap_writes() {
        let seen = Observed::new(vec![(
            Probe::path_with_content("/etc/app.conf"),
            Observation::Path(PathState::missing()),
        )]);
        let returned = value(serde_json::json!([{
            "symbol": "+", "summary": "app",
            "actions": [
                "systemctl daemon-reload",
                { "run": "psql", "input": "CREATE DATABASE app;" },
                { "path": "/etc/app.conf", "content": "x\n", "mode": "0640" },
            ],
        }]));
        let plan = plan_of(&returned, &seen).unwrap();
        let change = &plan.changes[0];
        assert_eq!(
            (change.symbol, change.summary.as_str()),
            (Symbol::Create, "app")
        );
        assert_eq!(change.actions[0], Action::exec("systemctl daemon-reload"));
        assert_eq!(
            change.actions[1],
            Action::exec_with_input("psql", b"CREATE DATABASE app;".to_vec())
        );
        let Action::Write(w) = &change.actions[2] else {
            panic!("{:?}", change.actions[2]);
        };
        assert_eq!((w.mode, &w.expect), (Some(0o640), &Some(Expected::Missing)));
        let diff = change.diff.as_ref().unwrap();
        assert_eq!(diff.before.as_deref().map(Vec::len), Some(0));
    }

    #[test]
    fn a_malformed_plan_says_what_a_plan_is() {
        let none = Observed::default();
        for (bad, why) in [
            (
                serde_json::json!([{ "symbol": "*", "summary": "x" }]),
                "symbol '*' is none of + ~ - !",
            ),
            (
                serde_json::json!([{ "symbol": "+", "summary": "x", "actions": [1] }]),
                "each action a command string",
            ),
            (
                serde_json::json!([{ "symbol": "+", "summary": "x", "actions": [{ "path": "rel", "content": "" }] }]),
                "path must be absolute",
            ),
            (
                serde_json::json!([{ "symbol": "+", "summary": "x", "actions": [{ "path": "/a", "content": "", "mode": "rw" }] }]),
                "mode 'rw' is not octal",
            ),
            (
                // Octal, but beyond a file mode's 12 bits: the ops' own check.
                serde_json::json!([{ "symbol": "+", "summary": "x", "actions": [{ "path": "/a", "content": "", "mode": "170000" }] }]),
                "mode '170000' is not octal",
            ),
            (serde_json::json!(7), "the plan returns a string"),
        ] {
            let err = plan_of(&value(bad), &none).unwrap_err().to_string();
            assert!(err.contains(why), "{err}");
        }
    }
}
