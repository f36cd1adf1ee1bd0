//! `user`: a local account with useradd, usermod and userdel.

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Reach, Symbol};
use kbz_engine::probe::{Observed, Probe};
use kbz_engine::shell::{join, quote};
use serde::Deserialize;

use super::values::{absolute_path, account_name, yes, Presence};
use super::{Build, Env, Failure};

/// Arguments of `user()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    name: String,
    #[serde(default)]
    state: Presence,
    #[serde(default)]
    uid: Option<u32>,
    #[serde(default)]
    group: Option<String>,
    #[serde(default)]
    groups: Option<Vec<String>>,
    #[serde(default = "yes")]
    append: bool,
    #[serde(default)]
    home: Option<String>,
    #[serde(default)]
    shell: Option<String>,
    #[serde(default)]
    system: bool,
    #[serde(default = "yes")]
    create_home: bool,
}

impl OpArgs for Args {
    const OP: &'static str = "user";
    const SUMMARY: &'static str = "Ensure a local user account exists with the given uid, groups, home and shell, or does not.";
    const EXAMPLE: &'static str = r#"user(#{ name: "deploy", groups: ["sudo", "docker"], shell: "/bin/bash" });
user(#{ name: "redis", system: true, home: "/var/lib/redis", shell: "/usr/sbin/nologin", create_home: false });
user(#{ name: "olduser", state: "absent" });"#;
    const PARAMS: &'static [Param] = &[
        Param { name: "name", ty: "string", default: None, doc: "Login name, e.g. \"deploy\"." },
        Param {
            name: "state",
            ty: "string",
            default: Some("\"present\""),
            doc: "\"present\" or \"absent\". Removal runs `userdel` without -r: the home directory stays.",
        },
        Param { name: "uid", ty: "int", default: Some("chosen by useradd"), doc: "Numeric user id, e.g. 1500; changed with usermod when it differs." },
        Param {
            name: "group",
            ty: "string",
            default: Some("a group named like the user (new accounts)"),
            doc: "Primary group, which must exist, e.g. \"users\".",
        },
        Param {
            name: "groups",
            ty: "array of strings",
            default: Some("unchanged"),
            doc: "Supplementary groups, which must exist, e.g. [\"sudo\", \"docker\"]. With append (the default) the user is added to missing ones only; see append.",
        },
        Param {
            name: "append",
            ty: "bool",
            default: Some("true"),
            doc: "With false, `groups` is the exact list: the user leaves supplementary groups not in it, e.g. append: false, groups: [] removes them all.",
        },
        Param {
            name: "home",
            ty: "string",
            default: Some("/home/NAME (new accounts)"),
            doc: "Home directory, e.g. \"/srv/deploy\". Changing it on an existing account does not move files.",
        },
        Param { name: "shell", ty: "string", default: Some("useradd's default"), doc: "Login shell, e.g. \"/bin/bash\" or \"/usr/sbin/nologin\"." },
        Param {
            name: "system",
            ty: "bool",
            default: Some("false"),
            doc: "Create a system account (uid below 1000, no aging), e.g. for a daemon. Only used at creation.",
        },
        Param {
            name: "create_home",
            ty: "bool",
            default: Some("true"),
            doc: "Create the home directory when creating the account. Only used at creation.",
        },
    ];
}

impl Build for Args {
    const ENSURES: &'static str = "a local user account (uid, groups, home, shell), or none";

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        account_name("name", &self.name)?;
        if let Some(g) = &self.group {
            account_name("group", g)?;
        }
        for g in self.groups.iter().flatten() {
            account_name("groups", g)?;
        }
        if let Some(h) = &self.home {
            absolute_path("home", h)?;
        }
        if let Some(s) = &self.shell {
            absolute_path("shell", s)?;
        }
        if !self.append && self.groups.is_none() {
            return Err("append: false needs groups (the exact list)"
                .to_string()
                .into());
        }
        Ok(Box::new(UserOp { args: self }))
    }
}

/// Manages one account.
#[derive(Debug)]
pub(crate) struct UserOp {
    args: Args,
}

impl Operation for UserOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    /// Creating or removing an account creates or removes its home folder and changes group memberships.
    fn reach(&self) -> Reach {
        Reach::Anything
    }

    fn target(&self) -> String {
        self.args.name.clone()
    }

    fn probes(&self) -> Vec<Probe> {
        let mut probes = vec![Probe::User {
            name: self.args.name.clone(),
        }];
        if self.args.state == Presence::Present {
            probes.extend(
                self.args
                    .group
                    .iter()
                    .map(|g| Probe::Group { name: g.clone() }),
            );
        }
        probes
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        let a = &self.args;
        let name = quote(&a.name);
        let cur = observed.user(&a.name)?;
        if a.state == Presence::Absent {
            return Ok(match cur {
                None => Plan::noop("no such user"),
                Some(_) => Plan::of(vec![Change::new(
                    Symbol::Delete,
                    "user",
                    vec![Action::exec(format!("userdel {name}"))],
                )]),
            });
        }
        let gid = match &a.group {
            Some(g) => match observed.group(g)? {
                Some(state) => Some(state.gid),
                None => {
                    return Err(OpError::Conflict(format!(
                        "group {g} does not exist; create it first with group(#{{ name: \"{g}\" }})"
                    )))
                }
            },
            None => None,
        };
        let Some(cur) = cur else {
            let mut cmd = vec!["useradd".to_string()];
            let mut summary = vec!["user".to_string()];
            if a.system {
                cmd.push("--system".into());
                summary.push("system".into());
            }
            let opt = |cmd: &mut Vec<String>,
                       summary: &mut Vec<String>,
                       flag: &str,
                       what: &str,
                       v: String| {
                summary.push(format!("{what} {v}"));
                cmd.extend([flag.to_string(), v]);
            };
            if let Some(uid) = a.uid {
                opt(&mut cmd, &mut summary, "--uid", "uid", uid.to_string());
            }
            if let Some(g) = &a.group {
                opt(&mut cmd, &mut summary, "--gid", "group", g.clone());
            }
            if let Some(gs) = a.groups.as_ref().filter(|g| !g.is_empty()) {
                opt(&mut cmd, &mut summary, "--groups", "groups", gs.join(","));
            }
            if let Some(h) = &a.home {
                opt(&mut cmd, &mut summary, "--home-dir", "home", h.clone());
            }
            if let Some(s) = &a.shell {
                opt(&mut cmd, &mut summary, "--shell", "shell", s.clone());
            }
            cmd.push(
                if a.create_home {
                    "--create-home"
                } else {
                    "--no-create-home"
                }
                .into(),
            );
            cmd.push(a.name.clone());
            return Ok(Plan::of(vec![Change::new(
                Symbol::Create,
                summary.join(", "),
                vec![Action::exec(join(&cmd))],
            )]));
        };
        let mut flags: Vec<String> = Vec::new();
        let mut summary = Vec::new();
        if let Some(uid) = a.uid.filter(|u| *u != cur.uid) {
            summary.push(format!("uid {} -> {uid}", cur.uid));
            flags.extend(["--uid".into(), uid.to_string()]);
        }
        if let (Some(g), Some(gid)) = (&a.group, gid) {
            if gid != cur.gid {
                summary.push(format!(
                    "group {} -> {g}",
                    cur.groups.first().map_or("?", String::as_str)
                ));
                flags.extend(["--gid".into(), g.clone()]);
            }
        }
        if let Some(want) = &a.groups {
            // `id -Gn` lists the primary group first; the rest are supplementary.
            let have: Vec<&String> = cur.groups.iter().skip(1).collect();
            let add: Vec<&String> = want.iter().filter(|g| !have.contains(g)).collect();
            let drop: Vec<&String> = if a.append {
                Vec::new()
            } else {
                have.iter().copied().filter(|g| !want.contains(g)).collect()
            };
            if !add.is_empty() || !drop.is_empty() {
                let parts: Vec<String> = add
                    .iter()
                    .map(|g| format!("+{g}"))
                    .chain(drop.iter().map(|g| format!("-{g}")))
                    .collect();
                summary.push(format!("groups {}", parts.join(" ")));
                if a.append {
                    flags.extend(["--append".into(), "--groups".into(), join_names(&add)]);
                } else {
                    flags.extend([
                        "--groups".into(),
                        join_names(&want.iter().collect::<Vec<_>>()),
                    ]);
                }
            }
        }
        if let Some(h) = a.home.as_ref().filter(|h| **h != cur.home) {
            summary.push(format!("home {} -> {h}", cur.home));
            flags.extend(["--home".into(), h.clone()]);
        }
        if let Some(s) = a.shell.as_ref().filter(|s| **s != cur.shell) {
            summary.push(format!("shell {} -> {s}", cur.shell));
            flags.extend(["--shell".into(), s.clone()]);
        }
        if flags.is_empty() {
            return Ok(Plan::noop("user matches"));
        }
        let cmd = format!("usermod {} {name}", join(&flags));
        Ok(Plan::of(vec![Change::new(
            Symbol::Update,
            summary.join(", "),
            vec![Action::exec(cmd)],
        )]))
    }
}

fn join_names(names: &[&String]) -> String {
    names
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
