//! The calls an operation's Rhai function makes into the engine.
//!
//! Every op function in `kbz-stdlib` does the same three things: check its
//! arguments into a struct ([`split_common`] then [`crate::op::parse_args`]),
//! build an [`Operation`], and hand it to [`run_op`], which plans and applies it
//! on the host whose script is running on this thread.

use std::path::PathBuf;

use rhai::{Dynamic, EvalAltResult, NativeCallContext};

use super::host::current;
use super::outcome::OpResult;
pub use super::shared::{error, CommonOpts};
use crate::op::Operation;
use crate::probe::Facts;

/// Takes the common keys out of an op's argument map.
pub fn split_common(
    ctx: &NativeCallContext,
    mut map: rhai::Map,
) -> Result<(Dynamic, CommonOpts), Box<EvalAltResult>> {
    let mut common = CommonOpts::default();
    if let Some(tags) = map.remove("tags") {
        common.tags = match tags.clone().into_typed_array::<rhai::ImmutableString>() {
            Ok(a) => a.into_iter().map(|s| s.to_string()).collect(),
            Err(_) => match tags.into_immutable_string() {
                Ok(s) => vec![s.to_string()],
                Err(t) => {
                    return Err(error(
                        ctx,
                        format!("tags must be a string or an array of strings, not {t}"),
                    ))
                }
            },
        };
    }
    Ok((Dynamic::from_map(map), common))
}

/// Runs an operation on the current host: probe (snapshot or round trip),
/// plan, report, apply unless `--check`.
pub fn run_op(
    ctx: &NativeCallContext,
    op: Box<dyn Operation>,
    common: CommonOpts,
) -> Result<OpResult, Box<EvalAltResult>> {
    current(ctx)?.run_op(ctx, op.into(), common)
}

/// Renders a template for the current host: `src` is looked up beside the
/// calling script (`templates/` next to it, then the script's own folder),
/// then in the project's `templates/`. The context is the host's variables,
/// `host`, `facts`, `groups`, `hostvars`, overlaid with `vars`.
pub fn render_template(
    ctx: &NativeCallContext,
    src: &str,
    vars: &rhai::Map,
) -> Result<String, Box<EvalAltResult>> {
    let h = current(ctx)?;
    let dir = h.shared.sources.dir(ctx.call_source());
    super::lookup::render_template(&h.shared, dir.as_deref(), src, h.template_context(), vars)
        .map_err(|e| error(ctx, e))
}

/// Finds a local file named by a script (`copy(#{ src: ... })`): beside the
/// calling script (`files/` next to it, then its own folder), then the
/// project's `files/`, then the project root.
pub fn resolve_local_file(
    ctx: &NativeCallContext,
    path: &str,
) -> Result<PathBuf, Box<EvalAltResult>> {
    let h = current(ctx)?;
    let dir = h.shared.sources.dir(ctx.call_source());
    super::lookup::local_file(&h.shared.root, dir.as_deref(), path).map_err(|e| error(ctx, e))
}

/// The current host's facts (gathered with the run's first round trip); an
/// error when no play of the host gathers them.
pub fn facts(ctx: &NativeCallContext) -> Result<Facts, Box<EvalAltResult>> {
    let host = current(ctx)?;
    match host.session.play_facts() {
        Some(facts) => Ok(facts.clone()),
        None => Err(error(
            ctx,
            format!(
                "facts(): {} gathers no facts (every play of it says gather_facts: false); \
                 remove that option from a play of the host to read them",
                host.host.name
            ),
        )),
    }
}
