//! Script functions that are not operations: they read what the run
//! already knows and change nothing on the host, so they take no `tags`,
//! have no plan and report nothing. `facts()` is the one so far.

use kbz_engine::run::api;
use rhai::{Dynamic, EvalAltResult, NativeCallContext};

/// One script function's documentation, as `kbz-play doc` prints it.
#[derive(Debug, Clone, Copy)]
pub struct FunctionDoc {
    /// The Rhai function name.
    pub name: &'static str,
    /// The call as a reader writes it, e.g. `facts()`.
    pub call: &'static str,
    /// What it returns, in one line.
    pub summary: &'static str,
    /// What a reader needs beyond the summary (a map's keys).
    pub detail: &'static str,
    /// A short Rhai example.
    pub example: &'static str,
}

/// A script function: its documentation and what registers it.
pub(crate) struct Function {
    /// Name, call and docs.
    pub doc: FunctionDoc,
    /// Registers it as a Rhai function.
    pub register: fn(&mut rhai::Engine),
}

/// Every script function, in the order `kbz-play doc` lists them.
pub(crate) const ALL: &[Function] = &[Function {
    doc: FunctionDoc {
        name: "facts",
        call: "facts()",
        summary: "The host's facts as a map (OS, hostname, addresses, CPUs, memory), gathered with the first round trip.",
        detail: "Keys: hostname, fqdn, os_id, os_version, os_codename, os_pretty, kernel, arch, cpus, memory_mb, addresses (a list of #{ interface, address, prefix }), systemd, user. They ride along with the run's first probe batch, so asking costs no round trip.",
        example: r#"let f = facts();
if f.os_codename == "bookworm" { package("nginx") }
let workers = f.cpus * 2;"#,
    },
    register: |engine| {
        engine.register_fn("facts", |ctx: NativeCallContext| facts(&ctx));
    },
}];

/// The current host's facts converted to a Rhai map.
fn facts(ctx: &NativeCallContext) -> Result<Dynamic, Box<EvalAltResult>> {
    let f = api::facts(ctx)?;
    rhai::serde::to_dynamic(f)
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
