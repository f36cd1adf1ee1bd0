//! `package`: Debian packages installed, upgraded or removed with apt.

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Reach, Symbol};
use kbz_engine::probe::{Observed, PackageState, Probe};
use kbz_engine::shell::join;
use serde::Deserialize;

use super::values::Names;
use super::{Build, Env, Failure, Form};

/// Arguments of `package()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    name: Names,
    #[serde(default)]
    state: State,
    #[serde(default)]
    update_cache: bool,
}

/// What should be installed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum State {
    /// Installed, any version.
    #[default]
    Present,
    /// Not installed (configuration files are kept).
    Absent,
    /// Installed at apt's candidate version.
    Latest,
}

impl OpArgs for Args {
    const OP: &'static str = "package";
    const SUMMARY: &'static str =
        "Ensure Debian packages are installed (or at the latest version, or removed) with apt.";
    const EXAMPLE: &'static str = r#"package(["nginx", "curl"]);
package(#{ name: "redis-server", update_cache: true });
package(#{ name: "telnet", state: "absent" });"#;
    const PARAMS: &'static [Param] = &[
        Param {
            name: "name",
            ty: "string or array of strings",
            default: None,
            doc: "Package name(s), e.g. \"nginx\" or [\"curl\", \"jq\"]. All missing ones are installed by one apt-get call.",
        },
        Param {
            name: "state",
            ty: "string",
            default: Some("\"present\""),
            doc: "\"present\": installed, any version; \"latest\": installed and at apt's candidate version (as known from the current package lists — refresh them with update_cache or an earlier `apt-get update`); \"absent\": removed with `apt-get remove` (configuration files stay).",
        },
        Param {
            name: "update_cache",
            ty: "bool",
            default: Some("false"),
            doc: "Run `apt-get update` before installing, only when something must be installed, e.g. update_cache: true on fresh hosts.",
        },
    ];
}

/// Checks a Debian package name (policy: lowercase letters, digits, `+ - .`,
/// starting with a letter or digit), so no name can read as an option.
fn package_name(name: &str) -> Result<(), String> {
    let ok = name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a Debian package name (lowercase letters, digits, '+', '-', '.'; versions and architectures are not supported)"
        ))
    }
}

impl Build for Args {
    const ENSURES: &'static str = "Debian packages present/absent/latest, in one apt call";
    const FORMS: &'static [Form] = &[Form::String("name"), Form::Array("name")];

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        if self.name.0.is_empty() {
            return Err("name is an empty list".to_string().into());
        }
        let mut names = Vec::new();
        for n in self.name.0 {
            package_name(&n)?;
            if !names.contains(&n) {
                names.push(n);
            }
        }
        Ok(Box::new(PackageOp {
            names,
            state: self.state,
            update_cache: self.update_cache,
        }))
    }
}

/// Installs, upgrades or removes packages.
#[derive(Debug)]
pub(crate) struct PackageOp {
    names: Vec<String>,
    state: State,
    update_cache: bool,
}

/// How long apt waits for the dpkg lock, in seconds. On a fresh host
/// unattended-upgrades often holds it for minutes after boot: without a wait
/// apt fails at once ("Could not get lock"), and a wait without a bound
/// would hang a run behind a stuck dpkg.
const LOCK_WAIT_SECS: u32 = 300;

/// `apt-get SUBCOMMAND ARGS` as a run needs it: never a question
/// (noninteractive, `-y`), the dpkg lock awaited ([`LOCK_WAIT_SECS`]), and
/// a changed configuration file kept as the admin left it (the default
/// answer when there is one, otherwise the old file: `--force-confdef
/// --force-confold`), as `apt-get` does interactively when the user presses
/// Enter. A failure ends with a line that says what to check.
fn apt(subcommand: &str, args: &str) -> String {
    let args = if args.is_empty() {
        String::new()
    } else {
        format!(" {args}")
    };
    format!(
        "DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout={LOCK_WAIT_SECS} \
         -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold {subcommand}{args} \
         || {{ rc=$?; echo \"apt-get {subcommand} failed (exit $rc): see apt's messages above; \
         if another apt or dpkg (often unattended-upgrades on a fresh host) held the lock for \
         {LOCK_WAIT_SECS} s, run again once it has finished\" >&2; (exit $rc); }}"
    )
}

impl Operation for PackageOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    /// Installing or removing packages adds and removes files, units and users well beyond the package list.
    fn reach(&self) -> Reach {
        Reach::Anything
    }

    fn target(&self) -> String {
        self.names.join(", ")
    }

    fn probes(&self) -> Vec<Probe> {
        vec![Probe::Packages {
            names: self.names.clone(),
            candidates: self.state == State::Latest,
        }]
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        let probe = &self.probes()[0];
        let Some(states) = observed.packages() else {
            return Err(kbz_engine::probe::NotProbed(probe.clone()).into());
        };
        let unknown = PackageState {
            installed: false,
            version: None,
            candidate: None,
        };
        let state = |n: &String| states.get(n).unwrap_or(&unknown);
        if self.state == State::Absent {
            let installed: Vec<&String> =
                self.names.iter().filter(|n| state(n).installed).collect();
            if installed.is_empty() {
                return Ok(Plan::noop("not installed"));
            }
            let cmd = apt("remove", &join(&installed));
            let summary = format!("remove {}", join(&installed));
            return Ok(Plan::of(vec![Change::new(
                Symbol::Delete,
                summary,
                vec![Action::exec(cmd)],
            )]));
        }
        let missing: Vec<&String> = self.names.iter().filter(|n| !state(n).installed).collect();
        let upgrades: Vec<(&String, &str, &str)> = match self.state {
            State::Latest => self
                .names
                .iter()
                .filter_map(|n| {
                    let s = state(n);
                    match (&s.version, &s.candidate) {
                        (Some(v), Some(c)) if s.installed && v != c => {
                            Some((n, v.as_str(), c.as_str()))
                        }
                        _ => None,
                    }
                })
                .collect(),
            _ => Vec::new(),
        };
        if missing.is_empty() && upgrades.is_empty() {
            return Ok(Plan::noop(if self.state == State::Latest {
                "installed at the candidate version"
            } else {
                "installed"
            }));
        }
        let mut actions = Vec::new();
        if self.update_cache {
            actions.push(Action::exec(apt("update", "")));
        }
        let all: Vec<&String> = missing
            .iter()
            .copied()
            .chain(upgrades.iter().map(|u| u.0))
            .collect();
        actions.push(Action::exec(apt(
            "install",
            &format!("--no-install-recommends {}", join(&all)),
        )));
        let mut parts = Vec::new();
        if !missing.is_empty() {
            parts.push(format!("install {}", join(&missing)));
        }
        for (n, from, to) in &upgrades {
            parts.push(format!("upgrade {n} {from} -> {to}"));
        }
        let symbol = if missing.is_empty() {
            Symbol::Update
        } else {
            Symbol::Create
        };
        Ok(Plan::of(vec![Change::new(
            symbol,
            parts.join(", "),
            actions,
        )]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["nginx", "g++", "libc6", "python3.11", "0ad"] {
            assert!(package_name(ok).is_ok(), "{ok}");
        }
        for bad in ["-y", "Nginx", "nginx=1.2", "nginx:amd64", "a b", "x"] {
            assert!(package_name(bad).is_err(), "{bad}");
        }
    }
}
