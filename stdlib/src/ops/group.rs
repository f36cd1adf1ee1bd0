//! `group`: a local group with groupadd, groupmod and groupdel.

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Reach, Symbol};
use kbz_engine::probe::{Observed, Probe};
use kbz_engine::shell::quote;
use serde::Deserialize;

use super::values::account_name;
use super::values::Presence;
use super::{Build, Env, Failure};

/// Arguments of `group()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    name: String,
    #[serde(default)]
    state: Presence,
    #[serde(default)]
    gid: Option<u32>,
    #[serde(default)]
    system: bool,
}

impl OpArgs for Args {
    const OP: &'static str = "group";
    const SUMMARY: &'static str = "Ensure a local group exists (with the given gid), or does not.";
    const EXAMPLE: &'static str = r#"group(#{ name: "app", gid: 1500 });
group(#{ name: "redis", system: true });"#;
    const PARAMS: &'static [Param] = &[
        Param {
            name: "name",
            ty: "string",
            default: None,
            doc: "Group name, e.g. \"app\".",
        },
        Param {
            name: "state",
            ty: "string",
            default: Some("\"present\""),
            doc: "\"present\" or \"absent\".",
        },
        Param {
            name: "gid",
            ty: "int",
            default: Some("chosen by groupadd"),
            doc: "Numeric group id, e.g. 1500; changed with groupmod when it differs.",
        },
        Param {
            name: "system",
            ty: "bool",
            default: Some("false"),
            doc:
                "Create a system group (gid below 1000), e.g. for a daemon. Only used at creation.",
        },
    ];
}

impl Build for Args {
    const ENSURES: &'static str = "a local group (gid), or none";

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        account_name("name", &self.name)?;
        Ok(Box::new(GroupOp {
            name: self.name,
            state: self.state,
            gid: self.gid,
            system: self.system,
        }))
    }
}

/// Manages one group.
#[derive(Debug)]
pub(crate) struct GroupOp {
    name: String,
    state: Presence,
    gid: Option<u32>,
    system: bool,
}

impl Operation for GroupOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    /// Adding or removing a group changes what user probes report.
    fn reach(&self) -> Reach {
        Reach::Anything
    }

    fn target(&self) -> String {
        self.name.clone()
    }

    fn probes(&self) -> Vec<Probe> {
        vec![Probe::Group {
            name: self.name.clone(),
        }]
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        let name = quote(&self.name);
        let cur = observed.group(&self.name)?;
        Ok(match (self.state, cur) {
            (Presence::Absent, None) => Plan::noop("no such group"),
            (Presence::Absent, Some(_)) => Plan::of(vec![Change::new(
                Symbol::Delete,
                "group",
                vec![Action::exec(format!("groupdel {name}"))],
            )]),
            (Presence::Present, None) => {
                let mut cmd = String::from("groupadd");
                let mut summary = vec!["group".to_string()];
                if self.system {
                    cmd.push_str(" --system");
                    summary.push("system".into());
                }
                if let Some(gid) = self.gid {
                    cmd.push_str(&format!(" --gid {gid}"));
                    summary.push(format!("gid {gid}"));
                }
                Plan::of(vec![Change::new(
                    Symbol::Create,
                    summary.join(", "),
                    vec![Action::exec(format!("{cmd} {name}"))],
                )])
            }
            (Presence::Present, Some(g)) => match self.gid {
                Some(gid) if gid != g.gid => Plan::of(vec![Change::new(
                    Symbol::Update,
                    format!("gid {} -> {gid}", g.gid),
                    vec![Action::exec(format!("groupmod --gid {gid} {name}"))],
                )]),
                _ => Plan::noop("group matches"),
            },
        })
    }
}
