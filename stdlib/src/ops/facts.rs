//! `facts()`: the host's facts as a map. Not an operation on the host:
//! the facts ride along with the run's first probe batch, so this costs no
//! round trip.

use kbz_engine::op::{OpArgs, Param};
use kbz_engine::run::api;
use rhai::{Dynamic, EvalAltResult, NativeCallContext};
use serde::Deserialize;

/// `facts()` takes no parameters; the struct exists for the doc table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {}

impl OpArgs for Args {
    const OP: &'static str = "facts";
    const SUMMARY: &'static str = "The host's facts as a map: hostname, fqdn, os_id, os_version, os_codename, os_pretty, kernel, arch, cpus, memory_mb, addresses, systemd, user.";
    const EXAMPLE: &'static str = r#"let f = facts();
if f.os_codename == "bookworm" { package("nginx") }
let workers = f.cpus * 2;"#;
    const PARAMS: &'static [Param] = &[];
}

/// The current host's facts converted to a Rhai map.
fn facts(ctx: &NativeCallContext) -> Result<Dynamic, Box<EvalAltResult>> {
    let f = api::facts(ctx)?;
    rhai::serde::to_dynamic(f)
}

/// Registers `facts()`.
pub(crate) fn register(engine: &mut rhai::Engine) {
    engine.register_fn("facts", |ctx: NativeCallContext| facts(&ctx));
}

#[cfg(test)]
mod tests {
    #[test]
    fn facts_convert_to_a_map() {
        let f = kbz_engine::probe::Facts {
            hostname: "web1".into(),
            cpus: 4,
            ..Default::default()
        };
        let d = rhai::serde::to_dynamic(f).unwrap();
        let m = d.cast::<rhai::Map>();
        assert_eq!(m["hostname"].clone().into_string().unwrap(), "web1");
        assert_eq!(m["cpus"].as_int().unwrap(), 4);
    }
}
