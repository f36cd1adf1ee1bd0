//! The built-in operations, one module each, and what they share.
//!
//! Each module holds an argument struct (serde + [`OpArgs`] table, and
//! [`Build`]: what the op ensures, its call forms, how it is built) and an
//! [`Operation`] (probes and a pure plan). [`ALL`] lists them once; the
//! Rhai functions, `kbz-play doc`, the offline test builder and the README
//! table all come from that list. Building an operation from its arguments
//! goes through [`Build`], the same path for Rhai calls and for the offline
//! tests.

use kbz_engine::op::{parse_args, OpArgs, Operation};
use rhai::EvalAltResult;

use crate::registry::Entry;
pub(crate) use crate::registry::Form;

pub(crate) mod attrs;
pub(crate) mod command;
pub(crate) mod content;
pub(crate) mod copy;
pub(crate) mod docker;
pub(crate) mod docker_container;
pub(crate) mod docker_image;
pub(crate) mod edit;
pub(crate) mod file;
pub(crate) mod fstab;
pub(crate) mod group;
pub(crate) mod line;
pub(crate) mod package;
pub(crate) mod query;
pub(crate) mod service;
pub(crate) mod swap;
pub(crate) mod sysctl;
pub(crate) mod template;
pub(crate) mod ufw;
pub(crate) mod user;
pub(crate) mod values;
pub(crate) mod wait_for;
pub(crate) mod xfs_volume;

/// Every operation, in the order `kbz-play doc` and the README list them.
/// Adding an op is adding its module above and one line here.
pub(crate) const ALL: &[Entry] = &[
    Entry::of::<file::Args>(),
    Entry::of::<copy::Args>(),
    Entry::of::<template::Args>(),
    Entry::of::<line::Args>(),
    Entry::of::<command::Args<command::Argv>>(),
    Entry::of::<command::Args<command::Sh>>(),
    Entry::of::<package::Args>(),
    Entry::of::<service::Args>(),
    Entry::of::<sysctl::Args>(),
    Entry::of::<user::Args>(),
    Entry::of::<group::Args>(),
    Entry::of::<wait_for::Args>(),
    Entry::of::<ufw::Args>(),
    Entry::of::<swap::Args>(),
    Entry::of::<xfs_volume::Args>(),
    Entry::of::<docker_container::Args>(),
    Entry::of::<docker_image::Args>(),
];

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

/// Fails unless exactly one of the named parameters is given.
pub(crate) fn exactly_one(given: &[(&str, bool)]) -> Result<(), String> {
    let names: Vec<&str> = given.iter().map(|(n, _)| *n).collect();
    match given.iter().filter(|(_, g)| *g).count() {
        1 => Ok(()),
        0 => Err(format!("needs one of {}", names.join(", "))),
        _ => Err(format!("takes only one of {}", names.join(", "))),
    }
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
