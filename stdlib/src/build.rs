//! What building an operation from a call takes: its arguments ([`Build`]),
//! what the machine running the play answers ([`Env`]), why it may fail
//! ([`Failure`]), and the ways it may be called ([`Form`]). A leaf, so the
//! op modules, the registry and the Rhai glue all build on it without
//! depending on one another.

use kbz_engine::op::{parse_args, OpArgs, Operation};
use rhai::EvalAltResult;

/// A way to call an operation besides `op(#{...})`, which always works:
/// positional values first, moved into the map under the named parameters.
/// Each positional form may be followed by a map of the other parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `op()`: every parameter has a default.
    Bare,
    /// `op("value")`, the string going to the named parameter.
    String(&'static str),
    /// `op(["a", "b"])`, the array going to the named parameter.
    Array(&'static str),
    /// `op("a", "b")`, the strings going to the two named parameters.
    TwoStrings(&'static str, &'static str),
}

impl Form {
    /// The calls this form allows, as a reader writes them: `package(name)`
    /// and `package(name, #{...})` for `Form::String("name")`.
    pub fn calls(self, op: &str) -> Vec<String> {
        let positional = match self {
            Form::Bare => return vec![format!("{op}()")],
            Form::String(k) => k.to_string(),
            Form::Array(k) => format!("[{k}, ...]"),
            Form::TwoStrings(a, b) => format!("{a}, {b}"),
        };
        vec![
            format!("{op}({positional})"),
            format!("{op}({positional}, #{{...}})"),
        ]
    }
}

/// Why an operation could not be built from a call.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A problem with the arguments, reported at the call's position.
    Message(String),
    /// An error the engine already positioned (template rendering, local files).
    Rhai(Box<EvalAltResult>),
}

impl From<String> for Failure {
    fn from(message: String) -> Self {
        Failure::Message(message)
    }
}

impl From<Box<EvalAltResult>> for Failure {
    fn from(e: Box<EvalAltResult>) -> Self {
        Failure::Rhai(e)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Message(m) => f.write_str(m),
            Failure::Rhai(e) => write!(f, "{e}"),
        }
    }
}

/// What building an operation may need from the machine running the play:
/// local files and template rendering. The Rhai glue answers from the
/// calling script's context; offline tests answer from the local disk.
pub(crate) trait Env {
    /// The bytes of a local file named by a script (`copy(#{ src })`).
    fn read_local(&self, path: &str) -> Result<Vec<u8>, Failure>;
    /// A template rendered for the current host.
    fn render(&self, src: &str, vars: &rhai::Map) -> Result<String, Failure>;
}

/// Arguments that turn into an operation.
pub(crate) trait Build: OpArgs + 'static {
    /// What the operation ensures, in a few words: its row of the README's
    /// table of operations (`kbz-play doc` shows [`OpArgs::SUMMARY`]).
    const ENSURES: &'static str;
    /// How it may be called besides `op(#{...})`, which always works.
    const FORMS: &'static [Form] = &[];

    /// Checks what serde cannot (absolute paths, exclusive parameters) and
    /// builds the operation. Messages are prefixed with the op name later.
    fn build(self, env: &dyn Env) -> Result<Box<dyn Operation>, Failure>;
}

/// Parses a Rhai map into `A` and builds its operation.
pub(crate) fn build_op<A: Build>(
    args: &rhai::Dynamic,
    env: &dyn Env,
) -> Result<Box<dyn Operation>, Failure> {
    let parsed = parse_args::<A>(args).map_err(|e| Failure::Message(e.to_string()))?;
    parsed.build(env).map_err(|f| match f {
        Failure::Message(m) => Failure::Message(format!("{}(): {m}", A::OP)),
        other => other,
    })
}

/// [`Env`] without a host, for offline builds: local files are read as
/// given, templates cannot render.
pub(crate) struct LocalEnv;

impl Env for LocalEnv {
    fn read_local(&self, path: &str) -> Result<Vec<u8>, Failure> {
        std::fs::read(path).map_err(|e| Failure::Message(format!("cannot read {path}: {e}")))
    }

    fn render(&self, src: &str, _vars: &rhai::Map) -> Result<String, Failure> {
        Err(Failure::Message(format!(
            "cannot render {src}: templates render only for a host"
        )))
    }
}
