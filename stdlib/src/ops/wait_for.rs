//! `wait_for`: wait on the host until a port opens or closes, a path
//! appears or goes, or a command succeeds.

use std::time::Duration;

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Symbol};
use kbz_engine::probe::{Observed, Probe};
use kbz_engine::shell::quote;
use serde::Deserialize;

use super::values::absolute_path;
use super::{exactly_one, Build, Env, Failure};

/// Arguments of `wait_for()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    #[serde(default)]
    port: Option<u16>,
    #[serde(default = "localhost")]
    host: String,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    cmd: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default = "sixty")]
    timeout: u32,
    #[serde(default)]
    delay: u32,
    #[serde(default = "one")]
    sleep: u32,
}

/// Seconds a wait may overrun its deadline (the last check and sleep,
/// process start-up) before its check counts as hung.
const HUNG_CHECK_GRACE_SECS: u32 = 10;

fn localhost() -> String {
    "127.0.0.1".to_string()
}

fn sixty() -> u32 {
    60
}

fn one() -> u32 {
    1
}

impl OpArgs for Args {
    const OP: &'static str = "wait_for";
    const SUMMARY: &'static str = "Wait until a port accepts connections (or stops), a path appears (or goes), or a command succeeds; fail after a timeout.";
    const EXAMPLE: &'static str = r#"wait_for(#{ port: 5432 });
wait_for(#{ path: "/run/app/app.sock", timeout: 30 });
wait_for(#{ cmd: "curl -fsS http://127.0.0.1:8080/health", timeout: 120, sleep: 2 });"#;
    const PARAMS: &'static [Param] = &[
        Param {
            name: "port",
            ty: "int",
            default: Some("none"),
            doc: "TCP port to wait for, e.g. 5432 (checked with bash's /dev/tcp, or nc without bash). Give one of port, path, cmd.",
        },
        Param { name: "host", ty: "string", default: Some("\"127.0.0.1\""), doc: "Address the port is checked on, from the host itself, e.g. \"10.0.0.5\"." },
        Param { name: "path", ty: "string", default: Some("none"), doc: "Absolute path to wait for, e.g. \"/run/app/app.sock\"." },
        Param {
            name: "cmd",
            ty: "string",
            default: Some("none"),
            doc: "Shell command to retry until it exits 0, e.g. \"pg_isready -q\". Its last output is shown on timeout.",
        },
        Param {
            name: "state",
            ty: "string",
            default: Some("\"started\" for ports, \"present\" for paths"),
            doc: "Ports: \"started\" (accepting connections) or \"stopped\"; paths: \"present\" or \"absent\". Not for cmd.",
        },
        Param { name: "timeout", ty: "int", default: Some("60"), doc: "Seconds to wait before failing, e.g. 300. A check that hangs (a cmd without its own timeout) is killed with its process group once delay, timeout and one sleep have passed, plus 10 s." },
        Param { name: "delay", ty: "int", default: Some("0"), doc: "Seconds to wait before the first check, e.g. 5." },
        Param { name: "sleep", ty: "int", default: Some("1"), doc: "Seconds between checks, at least 1." },
    ];
}

impl Build for Args {
    const ENSURES: &'static str = "a port, a path or a command condition, with a timeout";

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        exactly_one(&[
            ("port", self.port.is_some()),
            ("path", self.path.is_some()),
            ("cmd", self.cmd.is_some()),
        ])?;
        if self.sleep == 0 {
            return Err("sleep must be at least 1 second".to_string().into());
        }
        let state = self.state.as_deref();
        // Each condition with its check alone: what the opening asks ahead.
        let (condition, what, alone) = if let Some(port) = self.port {
            let host = &self.host;
            if host.is_empty()
                || !host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c))
            {
                return Err(format!("host {host:?} is not a host name or address").into());
            }
            let open = format!("kbz_open {} {port}", quote(host));
            match state.unwrap_or("started") {
                "started" => (
                    open.clone(),
                    format!("port {port} on {host} to accept connections"),
                    format!("{OPEN}{open}"),
                ),
                "stopped" => (
                    format!("! {open}"),
                    format!("port {port} on {host} to stop accepting connections"),
                    format!("{OPEN}! {open}"),
                ),
                s => {
                    return Err(format!(
                        "state {s:?} does not apply to a port: use \"started\" or \"stopped\""
                    )
                    .into())
                }
            }
        } else if let Some(path) = &self.path {
            absolute_path("path", path)?;
            let exists = format!("{{ [ -e {0} ] || [ -L {0} ]; }}", quote(path));
            match state.unwrap_or("present") {
                "present" => (exists.clone(), format!("{path} to exist"), exists),
                "absent" => (
                    format!("! {exists}"),
                    format!("{path} to go away"),
                    format!("! {exists}"),
                ),
                s => {
                    return Err(format!(
                        "state {s:?} does not apply to a path: use \"present\" or \"absent\""
                    )
                    .into())
                }
            }
        } else {
            let cmd = self.cmd.unwrap_or_default();
            if state.is_some() {
                return Err(
                    "state does not apply to cmd: it waits until the command exits 0"
                        .to_string()
                        .into(),
                );
            }
            if cmd.trim().is_empty() {
                return Err("cmd is empty".to_string().into());
            }
            (
                format!("kbz_out=$(sh -c {} 2>&1)", quote(&cmd)),
                format!("`{}` to succeed", super::values::one_line(&cmd)),
                cmd,
            )
        };
        let script = wait_script(&condition, &what, self.timeout, self.delay, self.sleep);
        let hard_limit = [self.delay, self.timeout, self.sleep, HUNG_CHECK_GRACE_SECS]
            .map(u64::from)
            .iter()
            .sum();
        // A wait with a delay lets something the run started begin first:
        // checking ahead of the run would skip that. The check alone, not
        // the loop run once: no `sleep` nor `date` on every host of a
        // rerun, and a `cmd` is asked as the script itself, so the opening
        // asks it once for this wait and a read-only `shell` of the same
        // script (the engine runs an ask once for all that share it).
        let first_check = (self.delay == 0).then_some(alone);
        Ok(Box::new(WaitOp {
            what: format!("{what} (up to {}s)", self.timeout),
            script,
            first_check,
            limit: Duration::from_secs(hard_limit),
        }))
    }
}

/// `kbz_open HOST PORT` tries a TCP connection (bash's /dev/tcp under a
/// 2 s timeout, else `nc -z`).
const OPEN: &str = r#"kbz_open() {
  if command -v bash >/dev/null 2>&1; then
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' kbz "$1" "$2"
  else
    nc -z -w 2 "$1" "$2"
  fi
} 2>/dev/null
"#;

/// The polling loop, run by one remote `sh`.
fn wait_script(condition: &str, what: &str, timeout: u32, delay: u32, sleep: u32) -> String {
    let message = quote(&format!(
        "wait_for: timed out after {timeout}s waiting for {what}"
    ));
    format!(
        r#"{OPEN}kbz_out=
sleep {delay}
kbz_end=$(( $(date +%s) + {timeout} ))
while :; do
  if {condition}; then exit 0; fi
  if [ "$(date +%s)" -ge "$kbz_end" ]; then
    echo {message} >&2
    [ -n "$kbz_out" ] && printf '%s\n' "$kbz_out" >&2
    exit 1
  fi
  sleep {sleep}
done"#
    )
}

/// Waits for a condition on the host. It changes nothing, so it is
/// readonly: never reported as changed. It has no probes: the wait is its
/// one exec.
#[derive(Debug)]
pub(crate) struct WaitOp {
    what: String,
    script: String,
    /// The loop's first check alone (see [`Operation::first_check`]).
    first_check: Option<String>,
    /// Past the wait's own deadline, a check still running is hung: the
    /// loop itself cannot stop it, so the engine kills it.
    limit: Duration,
}

impl Operation for WaitOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    fn target(&self) -> String {
        self.what.clone()
    }

    fn probes(&self) -> Vec<Probe> {
        Vec::new()
    }

    fn plan(&self, _observed: &Observed) -> Result<Plan, OpError> {
        let wait = Action::exec(self.script.clone());
        Ok(Plan::of(vec![Change::new(
            Symbol::Run,
            format!("wait for {}", self.what),
            vec![wait],
        )]))
    }

    fn readonly(&self) -> bool {
        true
    }

    fn timeout(&self) -> Option<Duration> {
        Some(self.limit)
    }

    fn first_check(&self) -> Option<String> {
        self.first_check.clone()
    }

    /// Under `--check` nothing was started, so waiting for it would only time out.
    fn runs_in_check(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(script: &str) -> (i32, String) {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    #[test]
    fn waits_for_a_path_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ready");
        let q = |s: &str| quote(s);
        let present = format!("{{ [ -e {0} ] || [ -L {0} ]; }}", q(p.to_str().unwrap()));
        let (rc, err) = run(&wait_script(&present, "ready to exist", 1, 0, 1));
        assert_eq!(rc, 1);
        assert!(
            err.contains("wait_for: timed out after 1s waiting for ready to exist"),
            "{err}"
        );
        std::fs::write(&p, "").unwrap();
        assert_eq!(run(&wait_script(&present, "x", 1, 0, 1)).0, 0);
    }

    #[test]
    fn shows_the_last_output_of_a_failing_cmd() {
        let cond = format!("kbz_out=$(sh -c {} 2>&1)", quote("echo not yet; exit 3"));
        let (rc, err) = run(&wait_script(&cond, "x", 0, 0, 1));
        assert_eq!(rc, 1);
        assert!(err.contains("not yet"), "{err}");
    }

    #[test]
    fn detects_an_open_port() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let (rc, err) = run(&wait_script(
            &format!("kbz_open 127.0.0.1 {port}"),
            "x",
            3,
            0,
            1,
        ));
        assert_eq!(rc, 0, "{err}");
        drop(listener);
        let (rc, _) = run(&wait_script(
            &format!("! kbz_open 127.0.0.1 {port}"),
            "x",
            3,
            0,
            1,
        ));
        assert_eq!(rc, 0);
    }

    fn first_check(args: &serde_json::Value) -> Option<String> {
        crate::build_for_test("wait_for", args)
            .unwrap()
            .first_check()
    }

    #[test]
    fn the_first_check_is_the_condition_alone() {
        // A cmd's is the cmd itself: the opening asks it once for the wait
        // and for a read-only shell of the same script.
        let cmd = "test -e /etc/hostname && echo ready";
        assert_eq!(
            first_check(&serde_json::json!({ "cmd": cmd, "timeout": 5 })).as_deref(),
            Some(cmd)
        );
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let open = first_check(&serde_json::json!({ "port": port, "host": "127.0.0.1" })).unwrap();
        let closed = first_check(
            &serde_json::json!({ "port": port, "host": "127.0.0.1", "state": "stopped" }),
        )
        .unwrap();
        for check in [&open, &closed] {
            assert!(
                !check.contains("sleep") && !check.contains("date"),
                "{check}"
            );
        }
        assert_eq!((run(&open).0, run(&closed).0), (0, 1));
        drop(listener);
        assert_eq!((run(&open).0, run(&closed).0), (1, 0));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        let exists = first_check(&serde_json::json!({ "path": path })).unwrap();
        assert_eq!(run(&exists).0, 0);
        let gone = first_check(&serde_json::json!({ "path": path, "state": "absent" })).unwrap();
        assert_eq!(run(&gone).0, 1);
        assert_eq!(
            first_check(&serde_json::json!({ "path": path, "delay": 2 })),
            None,
            "a delayed wait is never asked ahead"
        );
    }
}
