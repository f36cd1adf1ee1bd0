//! Script functions that are not operations: they read what the run
//! already knows and change nothing on the host, so they take no `tags`,
//! have no plan and report nothing.

use kbz_engine::run::api;
use rhai::{Dynamic, EvalAltResult, NativeCallContext};

/// One script function's documentation, as `kbz-play doc` prints it.
#[derive(Debug, Clone, Copy)]
pub struct FunctionDoc {
    /// The Rhai function name.
    pub name: &'static str,
    /// The call as a reader writes it, e.g. `facts()`.
    pub call: &'static str,
    /// Its parameters' Rhai types, as the engine lists them (`string`).
    pub params: &'static [&'static str],
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
pub(crate) const ALL: &[Function] = &[
    Function {
        doc: FunctionDoc {
            name: "facts",
            call: "facts()",
            params: &[],
        summary: "The host's facts as a map (OS, hostname, addresses, CPUs, memory), gathered with the first round trip.",
        detail: "Keys: hostname, fqdn, os_id, os_version, os_codename, os_pretty, kernel, arch, cpus, memory_mb, addresses (a list of #{ interface, address, prefix }), systemd, user. They ride along with the run's first probe batch, so asking costs no round trip.",
        example: r#"let f = facts();
if f.os_codename == "bookworm" { package("nginx") }
let workers = f.cpus * 2;"#,
    },
    register: |engine| {
        engine.register_fn("facts", |ctx: NativeCallContext| facts(&ctx));
    },
},
    Function {
        doc: FunctionDoc {
            name: "image_tag",
            call: "image_tag(image)",
            params: &["string"],
            summary: "The tag of an image reference (\"redis:7.2.4\" gives \"7.2.4\"), \"\" when it has none.",
            detail: "What follows the last `:` of the reference's last path segment, its digest (`@sha256:...`) left out, so a registry's port is never taken for it: \"registry.example.com:5000/mariadb:10.11.6@sha256:...\" gives \"10.11.6\". Images are pinned, so a role can read the server's release from it instead of asking the host.",
            example: r#"let release = image_tag("mariadb:10.11.6"); // "10.11.6"
if release.starts_with("10.") { print(`MariaDB ${release}`) }"#,
        },
        register: |engine| {
            engine.register_fn("image_tag", |image: &str| {
                crate::ops::docker::image_tag(image).to_string()
            });
        },
    },
];

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
