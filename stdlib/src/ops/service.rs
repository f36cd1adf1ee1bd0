//! `service`: a systemd unit started or stopped, enabled or disabled.

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Symbol};
use kbz_engine::probe::{Observed, Probe, ServiceState};
use kbz_engine::shell::quote;
use serde::Deserialize;

use super::{Build, Env, Failure, Form};

/// Arguments of `service()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    name: String,
    #[serde(default)]
    state: Option<State>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    daemon_reload: bool,
}

/// What the unit should be doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum State {
    /// Running.
    Started,
    /// Not running.
    Stopped,
    /// Restarted now, whatever its state.
    Restarted,
    /// Reloaded now (started if it was not running).
    Reloaded,
}

impl OpArgs for Args {
    const OP: &'static str = "service";
    const SUMMARY: &'static str = "Ensure a systemd unit is started or stopped and enabled or disabled; restart or reload it.";
    const EXAMPLE: &'static str = r#"service("nginx", #{ state: "started", enabled: true });
service("nginx", #{ state: "reloaded" }); // in a handler, notified by the config change
service(#{ name: "app", daemon_reload: true, state: "restarted" });"#;
    const PARAMS: &'static [Param] = &[
        Param {
            name: "name",
            ty: "string",
            default: None,
            doc: "Unit name, e.g. \"nginx\" (meaning nginx.service) or \"certbot.timer\".",
        },
        Param {
            name: "state",
            ty: "string",
            default: Some("unchanged"),
            doc: "\"started\" / \"stopped\": changed only when the unit is not already so. \"restarted\" / \"reloaded\": done on every call, so they belong in handlers (notified by the op that changed the config); \"reloaded\" starts a stopped unit.",
        },
        Param {
            name: "enabled",
            ty: "bool",
            default: Some("unchanged"),
            doc: "Start at boot (systemctl enable / disable), e.g. enabled: true. Static units count as enabled and cannot be disabled.",
        },
        Param {
            name: "daemon_reload",
            ty: "bool",
            default: Some("false"),
            doc: "Run `systemctl daemon-reload` first, when anything else changes (alone: every call). Set it after changing a unit file; it also lets a just-written unit that systemd does not know yet be started.",
        },
    ];
}

/// Unit type suffixes systemd knows; a name without one means a service.
const UNIT_TYPES: &[&str] = &[
    "service",
    "socket",
    "timer",
    "target",
    "mount",
    "automount",
    "path",
    "slice",
    "scope",
    "swap",
    "device",
];

/// `ssh` → `ssh.service`; names with a unit type are kept.
pub(crate) fn unit_name(name: &str) -> Result<String, String> {
    let valid = !name.is_empty()
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":-_.@\\".contains(c));
    if !valid {
        return Err(format!("{name:?} is not a systemd unit name"));
    }
    Ok(match name.rsplit_once('.') {
        Some((_, ty)) if UNIT_TYPES.contains(&ty) => name.to_string(),
        _ => format!("{name}.service"),
    })
}

impl Build for Args {
    const ENSURES: &'static str =
        "a systemd unit started/stopped/restarted/reloaded, enabled or not";
    const FORMS: &'static [Form] = &[Form::String("name")];

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        if self.state.is_none() && self.enabled.is_none() && !self.daemon_reload {
            return Err("needs state, enabled or daemon_reload".to_string().into());
        }
        let unit = unit_name(&self.name)?;
        Ok(Box::new(ServiceOp {
            unit,
            state: self.state,
            enabled: self.enabled,
            daemon_reload: self.daemon_reload,
        }))
    }
}

/// Drives one systemd unit.
#[derive(Debug)]
pub(crate) struct ServiceOp {
    unit: String,
    state: Option<State>,
    enabled: Option<bool>,
    daemon_reload: bool,
}

impl ServiceOp {
    fn systemctl(&self, verb: &str) -> Action {
        Action::exec(format!("systemctl {verb} {}", quote(&self.unit)))
    }

    fn change(&self, summary: &str, verb: &str) -> Change {
        Change::new(Symbol::Update, summary, vec![self.systemctl(verb)])
    }
}

impl Operation for ServiceOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    fn target(&self) -> String {
        self.unit.clone()
    }

    fn probes(&self) -> Vec<Probe> {
        vec![Probe::Service {
            unit: self.unit.clone(),
        }]
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        let found = observed.service(&self.unit)?;
        let unit = &self.unit;
        let wants_up = matches!(
            self.state,
            Some(State::Started | State::Restarted | State::Reloaded)
        );
        if !found.exists() && !self.daemon_reload {
            if wants_up || self.enabled == Some(true) {
                return Err(OpError::Conflict(format!(
                    "systemd has no unit {unit}; install the package that provides it, or if you just wrote \
                     its unit file, pass daemon_reload: true"
                )));
            }
            return Ok(Plan::noop(format!("{unit} is not installed")));
        }
        // A unit systemd does not know yet is about to be loaded by the
        // daemon-reload: plan as if it were stopped and disabled.
        let unknown = ServiceState {
            load: "loaded".into(),
            active: "inactive".into(),
            enabled: "disabled".into(),
        };
        let cur = if found.exists() { found } else { &unknown };
        if cur.load == "masked" && (wants_up || self.enabled == Some(true)) {
            return Err(OpError::Conflict(format!(
                "{unit} is masked; unmask it first (command(\"systemctl unmask {unit}\")) if it should run"
            )));
        }
        let mut changes = Vec::new();
        match self.enabled {
            Some(true) if !cur.is_enabled() => changes.push(self.change("enabled", "enable")),
            Some(false) if cur.enabled == "static" => {
                return Err(OpError::Conflict(format!(
                    "{unit} is static (it has no [Install] section), so it cannot be disabled; mask it to keep it from starting"
                )))
            }
            Some(false) if cur.is_enabled() => changes.push(self.change("disabled", "disable")),
            _ => {}
        }
        match self.state {
            Some(State::Started) if !cur.is_active() => {
                changes.push(self.change("started", "start"))
            }
            Some(State::Stopped) if cur.is_active() => changes.push(self.change("stopped", "stop")),
            Some(State::Restarted) => changes.push(self.change("restarted", "restart")),
            Some(State::Reloaded) if cur.is_active() => {
                changes.push(self.change("reloaded", "reload"))
            }
            Some(State::Reloaded) => {
                changes.push(self.change("started (was not running, so not reloaded)", "start"))
            }
            _ => {}
        }
        let only_reload = self.state.is_none() && self.enabled.is_none();
        if self.daemon_reload && (only_reload || !changes.is_empty()) {
            let reload = Action::exec("systemctl daemon-reload");
            changes.insert(0, Change::new(Symbol::Run, "daemon-reload", vec![reload]));
        }
        if changes.is_empty() {
            let mut parts = Vec::new();
            if let Some(s) = self.state {
                parts.push(format!("{s:?}").to_lowercase());
            }
            if let Some(e) = self.enabled {
                parts.push(if e { "enabled" } else { "disabled" }.to_string());
            }
            return Ok(Plan::noop(format!("already {}", parts.join(" and "))));
        }
        Ok(Plan::of(changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names() {
        assert_eq!(unit_name("ssh").unwrap(), "ssh.service");
        assert_eq!(unit_name("ssh.service").unwrap(), "ssh.service");
        assert_eq!(unit_name("certbot.timer").unwrap(), "certbot.timer");
        assert_eq!(unit_name("getty@tty1").unwrap(), "getty@tty1.service");
        assert_eq!(unit_name("php8.2-fpm").unwrap(), "php8.2-fpm.service");
        assert!(unit_name("-x").is_err());
        assert!(unit_name("a b").is_err());
    }
}
