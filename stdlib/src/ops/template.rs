//! `template`: a file rendered from a minijinja template on the control
//! machine, then handled exactly like `copy`.

use kbz_engine::op::{OpArgs, Operation, Param};
use serde::Deserialize;

use super::attrs::{Attrs, Mode};
use super::content::ContentOp;
use super::copy::{DEST, FORCE, GROUP, MODE, OWNER, VALIDATE};
use super::edit::OnPath;
use super::values::{absolute_path, yes};
use super::{Build, Env, Failure, Form};

/// Arguments of `template()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    src: String,
    dest: String,
    #[serde(default)]
    vars: Option<rhai::Dynamic>,
    #[serde(default)]
    mode: Option<Mode>,
    #[serde(default)]
    owner: Option<String>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    validate: Option<String>,
    #[serde(default = "yes")]
    force: bool,
}

impl OpArgs for Args {
    const OP: &'static str = "template";
    const SUMMARY: &'static str = "Render a template for the host and ensure a file has exactly that content, mode and owner.";
    const EXAMPLE: &'static str = r#"template("nginx.conf.j2", "/etc/nginx/nginx.conf");
template("app.env.j2", "/etc/app/env", #{ vars: #{ port: 8080 }, mode: "0640", group: "app" });
template("haproxy.cfg.j2", "/etc/haproxy/haproxy.cfg", #{ validate: "haproxy -c -f {}" });"#;
    const PARAMS: &'static [Param] = &[
        Param {
            name: "src",
            ty: "string",
            default: None,
            doc: "Template name, looked up in `templates/` beside the calling script, then the script's folder, then the project's `templates/`, e.g. \"nginx.conf.j2\". Rendered strictly: an undefined variable is an error.",
        },
        DEST,
        Param {
            name: "vars",
            ty: "map",
            default: Some("#{}"),
            doc: "Extra variables over the host's own (host vars, `host`, `facts`, `groups`, `hostvars`), e.g. #{ port: 8080 }.",
        },
        MODE,
        OWNER,
        GROUP,
        VALIDATE,
        FORCE,
    ];
}

impl Build for Args {
    const ENSURES: &'static str = "the same as `copy`, for a rendered Jinja template";
    const FORMS: &'static [Form] = &[Form::TwoStrings("src", "dest")];

    fn build(self, env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        absolute_path("dest", &self.dest)?;
        let attrs = Attrs::new(self.mode, self.owner, self.group)?;
        let mut vars = match self.vars {
            None => rhai::Map::new(),
            Some(v) if v.is_unit() => rhai::Map::new(),
            Some(v) => {
                let type_name = v.type_name();
                v.try_cast::<rhai::Map>().ok_or_else(|| {
                    format!("vars must be a map like #{{ port: 8080 }}, not {type_name}")
                })?
            }
        };
        // Ansible's template module names the destination to its template.
        vars.insert("template_destpath".into(), self.dest.clone().into());
        let rendered = env.render(&self.src, &vars)?;
        let op = ContentOp::new(Args::OP, self.dest, rendered.into_bytes(), attrs)
            .validated(self.validate)?
            .forced(self.force);
        Ok(OnPath::boxed(op))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbz_engine::op::{parse_args, Action};
    use kbz_engine::probe::{Observation, Observed, PathState, Probe};

    /// Renders `src` and the names of `vars`, so tests see what reached the renderer.
    struct FakeRenderer;

    impl Env for FakeRenderer {
        fn read_local(&self, path: &str) -> Result<Vec<u8>, Failure> {
            Err(Failure::Message(format!("no file {path}")))
        }
        fn render(&self, src: &str, vars: &rhai::Map) -> Result<String, Failure> {
            let names: Vec<&str> = vars.keys().map(|k| k.as_str()).collect();
            Ok(format!("{src}: {}\n", names.join(",")))
        }
    }

    fn build(map: rhai::Map) -> Result<Box<dyn Operation>, Failure> {
        parse_args::<Args>(&rhai::Dynamic::from_map(map))
            .map_err(|e| Failure::Message(e.to_string()))?
            .build(&FakeRenderer)
    }

    #[test]
    fn renders_at_build_then_plans_like_copy() {
        let mut vars = rhai::Map::new();
        vars.insert("port".into(), 8080_i64.into());
        let mut map = rhai::Map::new();
        map.insert("src".into(), "app.conf.j2".into());
        map.insert("dest".into(), "/etc/app.conf".into());
        map.insert("vars".into(), rhai::Dynamic::from_map(vars));
        map.insert("mode".into(), "0640".into());
        let op = build(map).unwrap();
        assert_eq!(
            (op.kind(), op.target()),
            ("template", "/etc/app.conf".to_string())
        );
        let observed = Observed::new(vec![(
            Probe::path("/etc/app.conf"),
            Observation::Path(PathState::missing()),
        )]);
        let plan = op.plan(&observed).unwrap();
        let Action::Write(w) = &plan.changes[0].actions[0] else {
            panic!("{plan:?}")
        };
        assert_eq!(
            w.content.as_slice(),
            b"app.conf.j2: port,template_destpath\n"
        );
        assert_eq!(w.mode, Some(0o640));
    }

    #[test]
    fn vars_must_be_a_map() {
        let mut map = rhai::Map::new();
        map.insert("src".into(), "a.j2".into());
        map.insert("dest".into(), "/a".into());
        map.insert("vars".into(), 3_i64.into());
        let err = build(map).unwrap_err().to_string();
        assert!(err.contains("vars must be a map"), "{err}");
    }
}
