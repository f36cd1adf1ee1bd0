//! kbz-play's built-in operations, exposed to Rhai.
//!
//! Each operation lives in its own module under `ops/`: a serde argument
//! struct with its [`Param`] table, and a [`kbz_engine::op::Operation`] that
//! lists probes and plans purely from their answers. [`register`] makes
//! them Rhai functions, [`docs`] feeds `kbz-play doc` from the same tables
//! the engine checks calls against, and [`build_for_test`] builds any
//! operation from JSON so plans can be tested without a host.

use kbz_engine::op::{OpArgs, Operation, Param};

mod ops;
mod register;

use ops::{
    command, copy, docker_container, docker_image, facts, file, group, line, package, service,
    swap, sysctl, template, ufw, user, wait_for, xfs_volume,
};

/// One operation's documentation, as `kbz-play doc` prints it.
#[derive(Debug, Clone, Copy)]
pub struct OpDoc {
    /// The Rhai function name.
    pub name: &'static str,
    /// One line saying what it is for.
    pub summary: &'static str,
    /// A short Rhai example.
    pub example: &'static str,
    /// Every parameter, in the order a reader needs them.
    pub params: &'static [Param],
}

impl OpDoc {
    fn of<A: OpArgs>() -> OpDoc {
        OpDoc {
            name: A::OP,
            summary: A::SUMMARY,
            example: A::EXAMPLE,
            params: A::PARAMS,
        }
    }
}

/// Registers every operation (and `facts()`) as Rhai functions. The engine
/// registers `OpResult`, which they return.
///
/// `package` is a reserved word in Rhai (kept for a future module system),
/// so this also installs the engine's token mapper to read it as a plain
/// identifier; the engine must not install another mapper after this.
pub fn register(engine: &mut rhai::Engine) {
    unreserve(engine, &["package"]);
    file::register(engine);
    copy::register(engine);
    template::register(engine);
    line::register(engine);
    command::register::<command::Argv>(engine);
    command::register::<command::Sh>(engine);
    package::register(engine);
    service::register(engine);
    sysctl::register(engine);
    user::register(engine);
    group::register(engine);
    wait_for::register(engine);
    ufw::register(engine);
    swap::register(engine);
    xfs_volume::register(engine);
    docker_container::register(engine);
    docker_image::register(engine);
    facts::register(engine);
}

/// Something done with each operation's argument type in turn.
///
/// [`each_op`] is the one list of argument types, so what is built on it
/// ([`docs`], and the test that `PARAMS` match the serde structs) covers a
/// new operation as soon as it is listed there.
trait OpVisitor {
    /// Called once per operation, with its argument type.
    fn visit<A: OpArgs>(&mut self);
}

/// Calls `v` with every operation's argument type, in the order of
/// [`register()`].
fn each_op(v: &mut impl OpVisitor) {
    v.visit::<file::Args>();
    v.visit::<copy::Args>();
    v.visit::<template::Args>();
    v.visit::<line::Args>();
    v.visit::<command::Args<command::Argv>>();
    v.visit::<command::Args<command::Sh>>();
    v.visit::<package::Args>();
    v.visit::<service::Args>();
    v.visit::<sysctl::Args>();
    v.visit::<user::Args>();
    v.visit::<group::Args>();
    v.visit::<wait_for::Args>();
    v.visit::<ufw::Args>();
    v.visit::<swap::Args>();
    v.visit::<xfs_volume::Args>();
    v.visit::<docker_container::Args>();
    v.visit::<docker_image::Args>();
    v.visit::<facts::Args>();
}

/// The documentation of every operation, in the order of [`register`].
pub fn docs() -> Vec<OpDoc> {
    struct Docs(Vec<OpDoc>);
    impl OpVisitor for Docs {
        fn visit<A: OpArgs>(&mut self) {
            self.0.push(OpDoc::of::<A>());
        }
    }
    let mut docs = Docs(Vec::new());
    each_op(&mut docs);
    docs.0
}

/// Builds operation `op` from JSON arguments, as a Rhai map call would,
/// but without a host: `copy`'s `src` is read as a plain local path, and
/// `template` (which renders for a host) is refused. For offline tests of
/// plans; the error is the message a script would see.
pub fn build_for_test(op: &str, args: &serde_json::Value) -> Result<Box<dyn Operation>, String> {
    use ops::build_op;
    let dynamic = rhai::serde::to_dynamic(args).map_err(|e| e.to_string())?;
    let env = &ops::LocalEnv;
    let built = match op {
        "file" => build_op::<file::Args>(&dynamic, env),
        "copy" => build_op::<copy::Args>(&dynamic, env),
        "template" => build_op::<template::Args>(&dynamic, env),
        "line" => build_op::<line::Args>(&dynamic, env),
        "command" => build_op::<command::Args<command::Argv>>(&dynamic, env),
        "shell" => build_op::<command::Args<command::Sh>>(&dynamic, env),
        "package" => build_op::<package::Args>(&dynamic, env),
        "service" => build_op::<service::Args>(&dynamic, env),
        "sysctl" => build_op::<sysctl::Args>(&dynamic, env),
        "user" => build_op::<user::Args>(&dynamic, env),
        "group" => build_op::<group::Args>(&dynamic, env),
        "wait_for" => build_op::<wait_for::Args>(&dynamic, env),
        "ufw" => build_op::<ufw::Args>(&dynamic, env),
        "swap_off" => build_op::<swap::Args>(&dynamic, env),
        "xfs_volume" => build_op::<xfs_volume::Args>(&dynamic, env),
        "docker_container" => build_op::<docker_container::Args>(&dynamic, env),
        "docker_image" => build_op::<docker_image::Args>(&dynamic, env),
        other => return Err(format!("no operation {other:?} to build")),
    };
    built.map_err(|f| f.to_string())
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

    /// Every operation's `PARAMS` names exactly the fields its serde struct
    /// accepts: one test over [`each_op`] rather than one per op module, so
    /// a new op is checked without anyone writing the test.
    #[test]
    fn params_match_struct() {
        struct Check(Vec<&'static str>);
        impl OpVisitor for Check {
            fn visit<A: OpArgs>(&mut self) {
                kbz_engine::op::assert_params_match_struct::<A>();
                self.0.push(A::OP);
            }
        }
        let mut checked = Check(Vec::new());
        each_op(&mut checked);
        let documented: Vec<&str> = docs().iter().map(|d| d.name).collect();
        assert_eq!(checked.0, documented);
    }
}
