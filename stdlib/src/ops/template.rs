//! `template`: a file rendered from a minijinja template on the control
//! machine, then handled exactly like `copy`.

use kbz_engine::op::{OpArgs, Operation, Param};
use serde::Deserialize;

use super::attrs::{Attrs, Mode};
use super::content::ContentOp;
use super::copy::{DEST, GROUP, MODE, OWNER};
use super::values::absolute_path;
use super::{Build, Env, Failure};

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
}

impl OpArgs for Args {
    const OP: &'static str = "template";
    const SUMMARY: &'static str = "Render a template for the host and ensure a file has exactly that content, mode and owner.";
    const EXAMPLE: &'static str = r#"template("nginx.conf.j2", "/etc/nginx/nginx.conf");
template("app.env.j2", "/etc/app/env", #{ vars: #{ port: 8080 }, mode: "0640", group: "app" });"#;
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
    ];
}

impl Build for Args {
    fn build(self, env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        absolute_path("dest", &self.dest)?;
        let attrs = Attrs::new(self.mode, self.owner, self.group)?;
        let vars = match self.vars {
            None => rhai::Map::new(),
            Some(v) if v.is_unit() => rhai::Map::new(),
            Some(v) => {
                let type_name = v.type_name();
                v.try_cast::<rhai::Map>().ok_or_else(|| format!("vars must be a map like #{{ port: 8080 }}, not {type_name}"))?
            }
        };
        let rendered = env.render(&self.src, &vars)?;
        Ok(Box::new(ContentOp::new("template", self.dest, rendered.into_bytes(), attrs)))
    }
}

/// Registers `template(#{...})`, `template(src, dest)` and `template(src, dest, #{...})`.
pub(crate) fn register(engine: &mut rhai::Engine) {
    crate::register::by_map::<Args>(engine);
    crate::register::by_two_strings::<Args>(engine, "src", "dest");
}

#[cfg(test)]
mod tests {
    #[test]
    fn params_match_struct() {
        kbz_engine::op::assert_params_match_struct::<super::Args>();
    }
}
