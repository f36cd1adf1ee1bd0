//! The Rhai glue: every op is callable with a map, and a few with
//! positional arguments first (`command(cmd)`, `template(src, dest, #{...})`).
//! Each form moves its positional values into the map, then takes the one
//! path [`call`]: common keys out, arguments checked, operation built and
//! handed to the engine.

use kbz_engine::run::api;
use kbz_engine::run::outcome::OpResult;
use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, NativeCallContext};

use crate::ops::{build_op, Build, Env, Failure};

type Res = Result<OpResult, Box<EvalAltResult>>;

/// [`Env`] answered from the calling script's context.
struct CallEnv<'a, 'b>(&'a NativeCallContext<'b>);

impl Env for CallEnv<'_, '_> {
    fn read_local(&self, path: &str) -> Result<Vec<u8>, Failure> {
        let found = api::resolve_local_file(self.0, path)?;
        std::fs::read(&found)
            .map_err(|e| Failure::Message(format!("cannot read {}: {e}", found.display())))
    }

    fn render(&self, src: &str, vars: &Map) -> Result<String, Failure> {
        Ok(api::render_template(self.0, src, vars)?)
    }
}

/// Runs op `A` with the arguments in `map`.
fn call<A: Build>(ctx: &NativeCallContext, map: Map) -> Res {
    let (args, common) = api::split_common(ctx, map)?;
    let op = build_op::<A>(&args, &CallEnv(ctx)).map_err(|f| match f {
        Failure::Message(m) => api::error(ctx, m),
        Failure::Rhai(e) => e,
    })?;
    api::run_op(ctx, op.as_ref(), common)
}

/// Adds positional values to a map, refusing a key given both ways.
fn with<A: Build>(
    ctx: &NativeCallContext,
    mut map: Map,
    pairs: Vec<(&str, Dynamic)>,
) -> Result<Map, Box<EvalAltResult>> {
    for (key, value) in pairs {
        if map.contains_key(key) {
            return Err(api::error(
                ctx,
                format!(
                    "{}(): '{key}' is given twice, positionally and in the map",
                    A::OP
                ),
            ));
        }
        map.insert(key.into(), value);
    }
    Ok(map)
}

/// `op(#{...})`.
pub(crate) fn by_map<A: Build>(engine: &mut Engine) {
    engine.register_fn(A::OP, |ctx: NativeCallContext, map: Map| {
        call::<A>(&ctx, map)
    });
}

/// `op(s)` and `op(s, #{...})`, with `s` going to parameter `key`.
pub(crate) fn by_string<A: Build>(engine: &mut Engine, key: &'static str) {
    let one = move |ctx: &NativeCallContext, s: ImmutableString, map: Map| {
        let map = with::<A>(ctx, map, vec![(key, s.into())])?;
        call::<A>(ctx, map)
    };
    engine.register_fn(A::OP, move |ctx: NativeCallContext, s: ImmutableString| {
        one(&ctx, s, Map::new())
    });
    engine.register_fn(
        A::OP,
        move |ctx: NativeCallContext, s: ImmutableString, m: Map| one(&ctx, s, m),
    );
}

/// `op([...])` and `op([...], #{...})`, with the array going to `key`.
pub(crate) fn by_array<A: Build>(engine: &mut Engine, key: &'static str) {
    let one = move |ctx: &NativeCallContext, a: Array, map: Map| {
        let map = with::<A>(ctx, map, vec![(key, Dynamic::from_array(a))])?;
        call::<A>(ctx, map)
    };
    engine.register_fn(A::OP, move |ctx: NativeCallContext, a: Array| {
        one(&ctx, a, Map::new())
    });
    engine.register_fn(A::OP, move |ctx: NativeCallContext, a: Array, m: Map| {
        one(&ctx, a, m)
    });
}

/// `op(a, b)` and `op(a, b, #{...})`, with the strings going to `k1`, `k2`.
pub(crate) fn by_two_strings<A: Build>(engine: &mut Engine, k1: &'static str, k2: &'static str) {
    let one = move |ctx: &NativeCallContext, a: ImmutableString, b: ImmutableString, map: Map| {
        let map = with::<A>(ctx, map, vec![(k1, a.into()), (k2, b.into())])?;
        call::<A>(ctx, map)
    };
    engine.register_fn(
        A::OP,
        move |ctx: NativeCallContext, a: ImmutableString, b: ImmutableString| {
            one(&ctx, a, b, Map::new())
        },
    );
    engine.register_fn(
        A::OP,
        move |ctx: NativeCallContext, a: ImmutableString, b: ImmutableString, m: Map| {
            one(&ctx, a, b, m)
        },
    );
}

/// `op()`: an op whose parameters all have defaults, called without a map.
pub(crate) fn bare<A: Build>(engine: &mut Engine) {
    engine.register_fn(A::OP, |ctx: NativeCallContext| call::<A>(&ctx, Map::new()));
}
