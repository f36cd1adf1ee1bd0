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
    /// How many of the last `params` a call may leave out (each form is
    /// registered), for arguments with a default.
    pub optional: usize,
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
            optional: 0,
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
            optional: 0,
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
    Function {
        doc: FunctionDoc {
            name: "version",
            call: "version(value, other, operator = \"eq\", options = #{})",
            params: &["string", "string", "string", "map"],
            optional: 2,
            summary: "Whether version `value` compares to `other` as `operator` says, as Ansible's `version` test (the templates' own) compares them.",
            detail: "`operator`: lt, le, gt, ge, eq, ne or <, <=, >, >=, ==, !=. `options`: `version_type` (\"loose\", the default, as LooseVersion; \"strict\", MAJOR.MINOR[.PATCH][a|bN]; \"semver\"/\"semantic\"; \"pep440\") or `strict: true`. A version its type cannot read, an empty one or an unknown operator stops the script with Ansible's reason (catch it with `try`).",
            example: r#"let release = image_tag("postgres:16.4");
if version(release, "15", ">=") { print(`PostgreSQL ${release} has MERGE`) }
let rc = version("1.0.0-rc.1", "1.0.0", "lt", #{ version_type: "semver" }); // true"#,
        },
        register: |engine| {
            engine.register_fn("version", |ctx: NativeCallContext, value: &str, other: &str| {
                version(&ctx, value, other, "eq", rhai::Map::new())
            });
            engine.register_fn(
                "version",
                |ctx: NativeCallContext, value: &str, other: &str, operator: &str| {
                    version(&ctx, value, other, operator, rhai::Map::new())
                },
            );
            engine.register_fn(
                "version",
                |ctx: NativeCallContext, value: &str, other: &str, operator: &str, options: rhai::Map| {
                    version(&ctx, value, other, operator, options)
                },
            );
        },
    },
];

/// `version()`: [`kbz_engine::version::compare`], the comparison the
/// templates' `version` test makes, its keyword arguments in `options`.
fn version(
    ctx: &NativeCallContext,
    value: &str,
    other: &str,
    operator: &str,
    options: rhai::Map,
) -> Result<bool, Box<EvalAltResult>> {
    let mut strict = None;
    let mut version_type = None;
    for (key, v) in options {
        let kind = v.type_name();
        match key.as_str() {
            "strict" => {
                strict = Some(v.as_bool().map_err(|_| {
                    api::error(
                        ctx,
                        format!("version: options.strict is a bool, not {kind}"),
                    )
                })?)
            }
            "version_type" => {
                version_type = Some(v.into_string().map_err(|_| {
                    api::error(
                        ctx,
                        format!("version: options.version_type is a string, not {kind}"),
                    )
                })?)
            }
            other => {
                return Err(api::error(
                    ctx,
                    format!("version: no option {other:?} (strict, version_type)"),
                ))
            }
        }
    }
    kbz_engine::version::compare(
        value,
        other,
        Some(operator),
        strict,
        version_type.as_deref(),
    )
    .map_err(|e| api::error(ctx, format!("version: {e}")))
}

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

    #[test]
    fn version_compares_as_the_templates_version_test_and_says_why_not() {
        let mut engine = rhai::Engine::new();
        for f in super::ALL {
            (f.register)(&mut engine);
        }
        let eval = |s: &str| engine.eval::<bool>(s).map_err(|e| e.to_string());
        assert_eq!(eval(r#"version("1.10.0", "1.9", ">")"#), Ok(true));
        assert_eq!(eval(r#"version("1.2", "1.2.0")"#), Ok(false));
        assert_eq!(
            eval(r#"version("1.2", "1.2.0", "eq", #{ strict: true })"#),
            Ok(true)
        );
        let semver = r#"version("1.0.0-rc.1", "1.0.0", "lt", #{ version_type: "semver" })"#;
        assert_eq!(eval(semver), Ok(true));
        for (call, why) in [
            (
                r#"version("x", "1.0", "gt", #{ version_type: "strict" })"#,
                r#"invalid version "x" (strict)"#,
            ),
            (
                r#"version("", "1")"#,
                "the input version value cannot be empty",
            ),
            (r#"version("1", "2", "~")"#, r#""~" is not a comparison"#),
            (
                r#"version("1", "2", "eq", #{ strict: "yes" })"#,
                "options.strict is a bool, not string",
            ),
            (
                r#"version("1", "2", "eq", #{ typo: 1 })"#,
                r#"no option "typo" (strict, version_type)"#,
            ),
        ] {
            let err = eval(call).unwrap_err();
            assert!(err.contains(&format!("version: {why}")), "{call}: {err}");
        }
    }
}
