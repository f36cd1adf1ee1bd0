//! `sysctl`: a kernel parameter, persisted in a `sysctl.d` file and applied
//! live.

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Symbol};
use kbz_engine::probe::{Observation, Observed, Probe};
use kbz_engine::shell::quote;
use serde::Deserialize;

use super::line::{Anchor, LineSpec};
use super::values::{absolute_path, yes, Presence, Text};
use super::{Build, Env, Failure};

/// Arguments of `sysctl()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    name: String,
    value: Text,
    #[serde(default = "default_file")]
    file: String,
    #[serde(default = "yes")]
    apply: bool,
}

fn default_file() -> String {
    "/etc/sysctl.d/99-kbz-play.conf".to_string()
}

impl OpArgs for Args {
    const OP: &'static str = "sysctl";
    const SUMMARY: &'static str =
        "Set a kernel parameter in a sysctl.d file (so it survives reboots) and apply it live.";
    const EXAMPLE: &'static str = r#"sysctl(#{ name: "vm.swappiness", value: 10 });
sysctl(#{ name: "net.ipv4.ip_local_port_range", value: "1024 65000", file: "/etc/sysctl.d/60-ports.conf" });"#;
    const PARAMS: &'static [Param] = &[
        Param { name: "name", ty: "string", default: None, doc: "Dotted parameter name, e.g. \"vm.swappiness\"." },
        Param {
            name: "value",
            ty: "string or int",
            default: None,
            doc: "Desired value, e.g. 10 or \"1024 65000\". Compared with runs of blanks collapsed, as the kernel prints them.",
        },
        Param {
            name: "file",
            ty: "string",
            default: Some("\"/etc/sysctl.d/99-kbz-play.conf\""),
            doc: "File holding the `name = value` line, created when missing; an existing line for the name is replaced, e.g. \"/etc/sysctl.d/60-net.conf\".",
        },
        Param {
            name: "apply",
            ty: "bool",
            default: Some("true"),
            doc: "Also set the live value with `sysctl -w` when it differs; with false only the file changes (effective at boot).",
        },
    ];
}

/// Collapses blanks: `1024\t65000 ` → `1024 65000`.
pub(crate) fn normalise(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Build for Args {
    const ENSURES: &'static str = "a kernel parameter, in a sysctl.d file and live";

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        let valid = !self.name.is_empty()
            && !self.name.starts_with(['-', '.'])
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        if !valid {
            return Err(format!(
                "{:?} is not a sysctl name like \"vm.swappiness\"",
                self.name
            )
            .into());
        }
        absolute_path("file", &self.file)?;
        let value = normalise(&self.value.0);
        if value.is_empty() || self.value.0.contains('\n') {
            return Err("value must be a non-empty single line".to_string().into());
        }
        // The parameter's line: `name = value`, `name=value`, with either
        // `.` or `/` as separator, as sysctl.conf(5) allows.
        let pattern = self
            .name
            .split('.')
            .map(regex::escape)
            .collect::<Vec<_>>()
            .join("[./]");
        let regexp = super::shared_regex::compiled(&format!(r"^\s*{pattern}\s*="))
            .map_err(|e| e.to_string())?;
        let spec = LineSpec {
            line: Some(format!("{} = {value}", self.name)),
            regexp: Some(regexp),
            state: Presence::Present,
            anchor: Anchor::Eof,
        };
        Ok(Box::new(SysctlOp {
            name: self.name,
            value,
            file: self.file,
            apply: self.apply,
            spec,
        }))
    }
}

/// Manages one kernel parameter.
#[derive(Debug)]
pub(crate) struct SysctlOp {
    name: String,
    value: String,
    file: String,
    apply: bool,
    spec: LineSpec,
}

impl SysctlOp {
    /// The value the file sets now: the last line for the parameter.
    fn file_value<'a>(&self, text: &'a str) -> Option<&'a str> {
        let re = self.spec.regexp.as_ref()?;
        text.lines()
            .rev()
            .find(|l| re.is_match(l))
            .and_then(|l| l.split_once('='))
            .map(|(_, v)| v)
    }
}

impl Operation for SysctlOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    fn target(&self) -> String {
        self.name.clone()
    }

    fn probes(&self) -> Vec<Probe> {
        vec![
            Probe::Sysctl {
                key: self.name.clone(),
            },
            Probe::path_with_content(&self.file),
        ]
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        let live = observed.sysctl(&self.name)?;
        if self.apply && live.is_none() {
            return Err(OpError::Conflict(format!(
                "the kernel has no parameter {} (a typo, or a module that is not loaded?)",
                self.name
            )));
        }
        let probe = Probe::path_with_content(&self.file);
        let Observation::Path(file) = observed.get(&probe)? else {
            return Err(kbz_engine::probe::NotProbed(probe).into());
        };
        let text = file.content.as_deref().map(String::from_utf8_lossy);
        let mut changes = Vec::new();
        let mut reasons = Vec::new();
        // An equal value written differently (`name=10`) is left as it is.
        if text
            .as_deref()
            .and_then(|t| self.file_value(t))
            .map(normalise)
            .as_deref()
            == Some(&self.value)
        {
            reasons.push(format!("{} sets it", self.file));
        } else {
            match self.spec.plan_file(&self.file, file, true)? {
                Ok(mut change) => {
                    change.summary = format!("{}: {}", self.file, change.summary);
                    changes.push(change);
                }
                Err(reason) => reasons.push(reason),
            }
        }
        match live {
            Some(v) if self.apply && normalise(v) != self.value => {
                let cmd = format!(
                    "sysctl -w {}",
                    quote(&format!("{}={}", self.name, self.value))
                );
                let summary = format!("live value {} -> {}", normalise(v), self.value);
                changes.push(Change::new(
                    Symbol::Update,
                    summary,
                    vec![Action::exec(cmd)],
                ));
            }
            _ if self.apply => reasons.push("live value matches".to_string()),
            _ => {}
        }
        Ok(if changes.is_empty() {
            Plan::noop(reasons.join("; "))
        } else {
            Plan::of(changes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_normalised() {
        assert_eq!(normalise(" 1024\t 65000 "), "1024 65000");
    }
}
