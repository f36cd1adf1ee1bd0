//! The Rhai glue: every op is callable with a map, and a few with
//! positional arguments first (`command(cmd)`, `template(src, dest, #{...})`),
//! as their [`Build::FORMS`] say. Each form moves its positional values into
//! the map, then takes the one path [`call`]: common keys out, arguments
//! checked, operation built and handed to the engine.

use kbz_engine::run::api;
use kbz_engine::run::outcome::OpResult;
use rhai::{
    Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, NativeCallContext, Variant,
};

use crate::build::{build_op, Build, Env, Failure, Form};

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
    api::run_op(ctx, op, common)
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

/// Registers op `A`: `op(#{...})` and each of its [`Build::FORMS`].
pub(crate) fn all_forms<A: Build>(engine: &mut Engine) {
    by_map::<A>(engine);
    for form in A::FORMS {
        match *form {
            Form::Bare => bare::<A>(engine),
            Form::String(key) => by_value::<A, ImmutableString>(engine, key),
            Form::Array(key) => by_value::<A, Array>(engine, key),
            Form::TwoStrings(k1, k2) => by_two_strings::<A>(engine, k1, k2),
        }
    }
}

/// `op(#{...})`.
fn by_map<A: Build>(engine: &mut Engine) {
    engine.register_fn(A::OP, |ctx: NativeCallContext, map: Map| {
        call::<A>(&ctx, map)
    });
}

/// `op(v)` and `op(v, #{...})`, with `v` (a string or an array) going to
/// parameter `key`.
fn by_value<A: Build, T: Variant + Clone + Into<Dynamic>>(engine: &mut Engine, key: &'static str) {
    let one = move |ctx: &NativeCallContext, v: T, map: Map| {
        let map = with::<A>(ctx, map, vec![(key, v.into())])?;
        call::<A>(ctx, map)
    };
    engine.register_fn(A::OP, move |ctx: NativeCallContext, v: T| {
        one(&ctx, v, Map::new())
    });
    engine.register_fn(A::OP, move |ctx: NativeCallContext, v: T, m: Map| {
        one(&ctx, v, m)
    });
}

/// `op(a, b)` and `op(a, b, #{...})`, with the strings going to `k1`, `k2`.
fn by_two_strings<A: Build>(engine: &mut Engine, k1: &'static str, k2: &'static str) {
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
fn bare<A: Build>(engine: &mut Engine) {
    engine.register_fn(A::OP, |ctx: NativeCallContext| call::<A>(&ctx, Map::new()));
}
