//! `docker_container`: the seeds' `docker run` lines made idempotent.
//!
//! Docker cannot say whether a running container matches a `docker run`
//! command line, so the op hashes its whole spec (env values included: the
//! hash reveals none of them) and stores the digest as the container label
//! `kbz-play.spec`. Same digest: left alone (only started or stopped as
//! `state` says). Another digest: the new image is pulled first, and only
//! then is the old container removed and the new one run, so a failed pull
//! leaves the old container running. Env values reach docker through an
//! `--env-file` the script fills from its stdin and removes, never on a
//! command line (nor in the script, which is one), and never appear in
//! summaries.

use std::collections::BTreeMap;

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Symbol};
use kbz_engine::probe::{Observed, Probe};
use kbz_engine::shell::{join, quote};
use serde::{Deserialize, Serialize};

use super::command::split_words;
use super::docker::{inspect_probe, inspected, pinned_image, Inspected, Kind};
use super::values::{absolute_path, env_name, Text};
use super::{Build, Env, Failure};
use kbz_engine::digest::sha256_hex;

/// The label holding the spec digest.
const LABEL: &str = "kbz-play.spec";

/// Where the inspect document holds what the plan reads: status, image as
/// given to `docker run`, the spec digest's label.
const STATUS: &str = "/State/Status";
const IMAGE: &str = "/Config/Image";
const DIGEST: &str = "/Config/Labels/kbz-play.spec";

/// The start of a create script with env: stdin (the `NAME=value` lines)
/// into `$d/env`, a file only the script's user can read, removed with its
/// directory when the script exits or is interrupted.
const ENV_FILE_FROM_STDIN: &str = "d=$(mktemp -d) || exit 1\n\
     trap 'rm -rf \"$d\"' EXIT\n\
     trap 'exit 1' HUP INT TERM\n\
     (umask 077 && cat > \"$d/env\") || exit 1\n";

/// Arguments of `docker_container()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    name: String,
    #[serde(default)]
    image: Option<String>,
    #[serde(default)]
    command: Option<CommandArg>,
    #[serde(default)]
    network: Option<String>,
    #[serde(default = "unless_stopped")]
    restart: String,
    #[serde(default)]
    volumes: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, Text>,
    #[serde(default)]
    hostname: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, Text>,
    #[serde(default)]
    ports: Vec<Text>,
    #[serde(default)]
    user: Option<Text>,
    #[serde(default)]
    state: State,
}

fn unless_stopped() -> String {
    "unless-stopped".to_string()
}

/// `command` as a line split like a shell would, or as arguments.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CommandArg {
    Line(String),
    Argv(Vec<Text>),
}

/// What the container should be doing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum State {
    /// Exists with this spec and runs.
    #[default]
    Started,
    /// Exists with this spec and does not run.
    Stopped,
    /// Does not exist.
    Absent,
}

impl OpArgs for Args {
    const OP: &'static str = "docker_container";
    const SUMMARY: &'static str = "Ensure a Docker container runs with exactly this spec (recreated when the spec changes), is stopped, or is absent.";
    const EXAMPLE: &'static str = r#"docker_container(#{
    name: "redis", image: "redis:7.2.4", network: "host",
    volumes: ["/opt/keybuzz/redis/data:/data"],
    command: ["redis-server", "--appendonly", "yes", "--requirepass", secret("REDIS_PASSWORD")]
});
docker_container(#{ name: "patroni", image: "keybuzz/patroni-postgres16:16.4-1", network: "host",
    env: #{ POSTGRES_PASSWORD: secret("POSTGRES_SUPERUSER_PASSWORD") } });
docker_container(#{ name: "old-minio", state: "absent" });"#;
    const PARAMS: &'static [Param] = &[
        Param { name: "name", ty: "string", default: None, doc: "Container name, e.g. \"redis-sentinel\"." },
        Param {
            name: "image",
            ty: "string",
            default: Some("none (required unless state is \"absent\")"),
            doc: "Image with a pinned tag or digest, e.g. \"redis:7.2.4\"; \"latest\" or no tag is an error, so every host runs the same build. Pulled by docker run when missing; when the spec changes, pulled before the old container is removed (a failed pull leaves it running).",
        },
        Param {
            name: "command",
            ty: "string or array of strings",
            default: Some("the image's"),
            doc: "Arguments after the image: a string split like a shell would (no variables or pipes), e.g. \"redis-sentinel /etc/redis/sentinel.conf\", or an array kept as is.",
        },
        Param { name: "network", ty: "string", default: Some("docker's bridge"), doc: "Network to join (--network), e.g. \"host\" as in the seeds." },
        Param {
            name: "restart",
            ty: "string",
            default: Some("\"unless-stopped\""),
            doc: "Restart policy: \"no\", \"always\", \"unless-stopped\", \"on-failure\" or \"on-failure:N\".",
        },
        Param {
            name: "volumes",
            ty: "array of strings",
            default: Some("[]"),
            doc: "Mounts \"source:/container/path[:options]\" (-v), e.g. \"/opt/keybuzz/redis/data:/data\" or \"/etc/app.conf:/etc/app.conf:ro\".",
        },
        Param {
            name: "env",
            ty: "map",
            default: Some("#{}"),
            doc: "Environment variables, e.g. #{ POSTGRES_PASSWORD: secret(\"POSTGRES_SUPERUSER_PASSWORD\") }. Sent on the script's stdin into an env file (0600, removed right after docker reads it), never on a command line or in a summary; single-line values.",
        },
        Param { name: "hostname", ty: "string", default: Some("docker's"), doc: "Container hostname (--hostname), e.g. \"redis-01\"." },
        Param {
            name: "labels",
            ty: "map",
            default: Some("#{}"),
            doc: "Container labels (--label), e.g. #{ \"com.keybuzz.module\": \"redis\" }. kbz-play adds kbz-play.spec, the spec digest.",
        },
        Param { name: "ports", ty: "array of strings", default: Some("[]"), doc: "Published ports (-p), e.g. [\"127.0.0.1:8080:80\"]; not with network \"host\"." },
        Param { name: "user", ty: "string or int", default: Some("the image's"), doc: "User to run as (--user), e.g. \"999:999\"." },
        Param {
            name: "state",
            ty: "string",
            default: Some("\"started\""),
            doc: "\"started\": exists with this spec and runs; \"stopped\": exists with this spec, not running; \"absent\": removed (docker rm -f).",
        },
    ];
}

/// Everything that defines the container, hashed into its label. Field
/// order is part of the digest: changing it recreates every container.
#[derive(Serialize)]
struct Spec {
    version: u32,
    name: String,
    image: String,
    command: Vec<String>,
    network: Option<String>,
    restart: String,
    volumes: Vec<String>,
    env: BTreeMap<String, String>,
    hostname: Option<String>,
    labels: BTreeMap<String, String>,
    ports: Vec<String>,
    user: Option<String>,
}

impl std::fmt::Debug for Spec {
    /// Never prints env values: they are usually secrets.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("image", &self.image)
            .field("command", &self.command)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Spec {
    fn digest(&self) -> String {
        sha256_hex(&serde_json::to_vec(self).unwrap_or_default())
    }
}

/// A word that reaches a `docker run` option: one line, not an option.
fn word(param: &str, value: &str) -> Result<String, String> {
    if value.is_empty() || value.starts_with('-') || value.contains(char::is_whitespace) {
        return Err(format!(
            "{param} {value:?} must be one word, not starting with '-'"
        ));
    }
    Ok(value.to_string())
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "name {name:?} is not a container name (letters, digits, '_', '.', '-')"
        ))
    }
}

fn check_restart(restart: &str) -> Result<(), String> {
    let ok = matches!(restart, "no" | "always" | "unless-stopped" | "on-failure")
        || restart
            .strip_prefix("on-failure:")
            .is_some_and(|n| n.parse::<u32>().is_ok());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "restart {restart:?} must be \"no\", \"always\", \"unless-stopped\", \"on-failure\" or \"on-failure:N\""
        ))
    }
}

fn check_volume(v: &str) -> Result<String, String> {
    let parts: Vec<&str> = v.split(':').collect();
    match parts[..] {
        [src, dst] | [src, dst, _] if !src.is_empty() => {
            absolute_path("the container side of a volume", dst)?;
            word("volume", v)
        }
        _ => Err(format!(
            "volume {v:?} must be \"source:/container/path[:options]\""
        )),
    }
}

impl Build for Args {
    const ENSURES: &'static str = "a container runs with exactly this spec (digest in a label; recreated when it changes); pinned image tags only";

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        check_name(&self.name)?;
        // A container to remove needs no spec: whatever runs under the
        // name goes.
        let image = match (self.state, self.image) {
            (State::Absent, _) => None,
            (_, None) => {
                return Err("needs image (with a pinned tag, e.g. \"redis:7.2.4\")"
                    .to_string()
                    .into())
            }
            (_, Some(image)) => {
                pinned_image(&image)?;
                Some(image)
            }
        };
        check_restart(&self.restart)?;
        let command = match self.command {
            None => Vec::new(),
            Some(CommandArg::Line(line)) => {
                split_words(&line).map_err(|e| e.replace("cmd ", "command "))?
            }
            Some(CommandArg::Argv(args)) => args.into_iter().map(|a| a.0).collect(),
        };
        let mut env = BTreeMap::new();
        for (k, v) in self.env {
            env_name(&k)?;
            if v.0.contains(['\n', '\r', '\0']) {
                return Err(format!("env {k} must be a single line").into());
            }
            env.insert(k, v.0);
        }
        let mut labels = BTreeMap::new();
        for (k, v) in self.labels {
            if k == LABEL {
                return Err(format!("label {LABEL} is kbz-play's own (the spec digest)").into());
            }
            if k.is_empty()
                || k.contains(|c: char| c == '=' || c.is_whitespace())
                || v.0.contains('\n')
            {
                return Err(format!(
                    "label {k:?} must be a word without '=' and a single-line value"
                )
                .into());
            }
            labels.insert(k, v.0);
        }
        let volumes = self
            .volumes
            .iter()
            .map(|v| check_volume(v))
            .collect::<Result<_, _>>()?;
        let ports = self
            .ports
            .iter()
            .map(|p| word("port", &p.0))
            .collect::<Result<_, _>>()?;
        let opt = |param: &str, v: Option<String>| v.map(|v| word(param, &v)).transpose();
        let spec = image.map(|image| -> Result<Spec, String> {
            Ok(Spec {
                version: 1,
                name: self.name.clone(),
                image,
                command,
                network: opt("network", self.network)?,
                restart: self.restart,
                volumes,
                env,
                hostname: opt("hostname", self.hostname)?,
                labels,
                ports,
                user: opt("user", self.user.map(|u| u.0))?,
            })
        });
        let spec = spec.transpose()?;
        let digest = spec.as_ref().map(Spec::digest).unwrap_or_default();
        Ok(Box::new(DockerContainerOp {
            name: self.name,
            spec,
            digest,
            state: self.state,
        }))
    }
}

/// Runs, stops or removes one container.
#[derive(Debug)]
pub(crate) struct DockerContainerOp {
    name: String,
    /// `None` only with state absent.
    spec: Option<Spec>,
    digest: String,
    state: State,
}

impl DockerContainerOp {
    /// The action creating the container (`docker run -d`, or `docker
    /// create` for state stopped). Env values arrive on the script's stdin
    /// and go to docker through a file only its user can read, in a 0700
    /// temp directory removed on exit whatever docker's outcome.
    fn create(&self, spec: &Spec) -> Action {
        let mut args: Vec<String> = vec!["docker".into()];
        if self.state == State::Stopped {
            args.push("create".into());
        } else {
            args.extend(["run".into(), "-d".into()]);
        }
        let mut opt = |flag: &str, value: &str| {
            args.push(flag.to_string());
            args.push(value.to_string());
        };
        opt("--name", &spec.name);
        opt("--label", &format!("{LABEL}={}", self.digest));
        opt("--restart", &spec.restart);
        for (flag, value) in [
            ("--network", &spec.network),
            ("--hostname", &spec.hostname),
            ("--user", &spec.user),
        ] {
            if let Some(v) = value {
                opt(flag, v);
            }
        }
        for v in &spec.volumes {
            opt("-v", v);
        }
        for p in &spec.ports {
            opt("-p", p);
        }
        for (k, v) in &spec.labels {
            opt("--label", &format!("{k}={v}"));
        }
        let mut cmd = join(args);
        if !spec.env.is_empty() {
            cmd.push_str(" --env-file \"$d/env\"");
        }
        cmd.push(' ');
        cmd.push_str(&join(std::iter::once(&spec.image).chain(&spec.command)));
        if spec.env.is_empty() {
            return Action::exec(cmd);
        }
        let lines: String = spec.env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        Action::exec_with_input(format!("{ENV_FILE_FROM_STDIN}{cmd}"), lines.into_bytes())
    }
}

/// Makes sure `image` is present before a container is removed to be run
/// again from it: a pull that fails (registry down, tag missing) then fails
/// the op with the old container still running.
fn pull(image: &str) -> Action {
    let image = quote(image);
    Action::exec(format!(
        "docker image inspect {image} >/dev/null 2>&1 || docker pull -q {image} || \
         {{ rc=$?; echo \"cannot pull {image}; the old container keeps running\" >&2; exit $rc; }}"
    ))
}

impl Operation for DockerContainerOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    fn target(&self) -> String {
        self.name.clone()
    }

    fn probes(&self) -> Vec<Probe> {
        vec![inspect_probe(Kind::Container, &self.name)]
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        let found = inspected(observed, Kind::Container, &self.name)?;
        let name = quote(&self.name);
        let (status, image, digest) =
            (found.field(STATUS), found.field(IMAGE), found.field(DIGEST));
        let remove = || Action::exec(format!("docker rm -f {name}"));
        let Some(spec) = &self.spec else {
            return Ok(match &found {
                Inspected::Missing => Plan::noop("already absent"),
                Inspected::Found(_) => Plan::of(vec![Change::new(
                    Symbol::Delete,
                    format!("container ({status})"),
                    vec![remove()],
                )]),
            });
        };
        let running = matches!(status, "running" | "restarting");
        let wanted = if self.state == State::Stopped {
            "stopped"
        } else {
            "started"
        };
        let change = match &found {
            Inspected::Missing => Change::new(
                Symbol::Create,
                format!("container from {}, {wanted}", spec.image),
                vec![self.create(spec)],
            ),
            Inspected::Found(_) if digest != self.digest => {
                let what = if image == spec.image {
                    "spec changed".to_string()
                } else {
                    format!("spec changed (image {image} -> {})", spec.image)
                };
                Change::new(
                    Symbol::Update,
                    format!("{what}, recreated {wanted}"),
                    vec![pull(&spec.image), remove(), self.create(spec)],
                )
            }
            Inspected::Found(_) => match (self.state, status) {
                (State::Started, "paused") => Change::new(
                    Symbol::Update,
                    "unpaused",
                    vec![Action::exec(format!("docker unpause {name}"))],
                ),
                (State::Started, s) if !running => Change::new(
                    Symbol::Update,
                    format!("started (was {s})"),
                    vec![Action::exec(format!("docker start {name}"))],
                ),
                (State::Stopped, s) if running || s == "paused" => Change::new(
                    Symbol::Update,
                    format!("stopped (was {s})"),
                    vec![Action::exec(format!("docker stop {name}"))],
                ),
                _ => return Ok(Plan::noop(format!("spec matches, {status}"))),
            },
        };
        Ok(Plan::of(vec![change]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::{build_op, LocalEnv};

    fn op(json: serde_json::Value) -> Box<dyn Operation> {
        build_op::<Args>(&rhai::serde::to_dynamic(json).unwrap(), &LocalEnv).unwrap()
    }

    /// The spec digest, as the op's debug form shows it.
    fn digest(o: &dyn Operation) -> String {
        format!("{o:?}").split("digest: \"").nth(1).unwrap()[..64].to_string()
    }

    fn plan(json: serde_json::Value, stdout: &str, rc: i32) -> Plan {
        let op = op(json);
        let probe = op.probes().remove(0);
        let obs = Observed::new(vec![(
            probe,
            kbz_engine::probe::Observation::Command(kbz_engine::probe::CommandState {
                rc,
                stdout: stdout.into(),
            }),
        )]);
        op.plan(&obs).unwrap()
    }

    #[test]
    fn env_stays_out_of_command_lines_and_summaries() {
        let p = plan(
            serde_json::json!({ "name": "pg", "image": "postgres:16.4", "env": { "PGPASSWORD": "s3cr3t value" } }),
            "",
            1,
        );
        let change = &p.changes[0];
        assert!(!change.summary.contains("s3cr3t"), "{}", change.summary);
        let Action::Exec { script, input, .. } = &change.actions[0] else {
            panic!()
        };
        assert!(!script.contains("s3cr3t"), "{script}");
        assert!(!format!("{p:?}").contains("s3cr3t"));
        assert_eq!(
            input.as_ref().unwrap().0.as_slice(),
            b"PGPASSWORD=s3cr3t value\n"
        );
        let docker_line = script
            .lines()
            .find(|l| l.starts_with("docker run"))
            .unwrap();
        assert!(
            docker_line.contains("--env-file \"$d/env\""),
            "{docker_line}"
        );
    }

    #[test]
    fn the_env_file_reaches_docker_and_is_removed() {
        let p = plan(
            serde_json::json!({ "name": "pg", "image": "postgres:16.4", "env": { "A": "x 'y' $HOME `z`", "B": "2" } }),
            "",
            1,
        );
        let Action::Exec { script, input, .. } = &p.changes[0].actions[0] else {
            panic!()
        };
        // A fake docker that prints the env file it is given, and its mode.
        let fake = "docker() { while [ $# -gt 0 ]; do [ \"$1\" = --env-file ] && stat -c %a \"$2\" && cat \"$2\" && echo \"$2\" > \"$T/file\"; shift; done; }";
        let dir = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{fake}\n{script}"))
            .env("T", dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = input.as_ref().unwrap().0.as_slice();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "600\nA=x 'y' $HOME `z`\nB=2\n"
        );
        let file = std::fs::read_to_string(dir.path().join("file")).unwrap();
        assert!(
            !std::path::Path::new(file.trim()).exists(),
            "the env file is removed"
        );
    }

    #[test]
    fn digests_cover_env_but_not_state() {
        let a = op(serde_json::json!({ "name": "x", "image": "redis:7.2.4", "env": { "A": "1" } }));
        let b = op(serde_json::json!({ "name": "x", "image": "redis:7.2.4", "env": { "A": "2" } }));
        let c = op(
            serde_json::json!({ "name": "x", "image": "redis:7.2.4", "env": { "A": "1" }, "state": "stopped" }),
        );
        assert_ne!(digest(a.as_ref()), digest(b.as_ref()));
        assert_eq!(digest(a.as_ref()), digest(c.as_ref()));
    }

    /// The inspect document's fields the plan reads, as docker prints them.
    fn inspect(status: &str, image: &str, digest: Option<&str>) -> String {
        let labels = digest.map(|d| serde_json::json!({ "kbz-play.spec": d, "other": "x" }));
        serde_json::json!({
            "Id": "0123abcd",
            "State": { "Status": status, "Running": status == "running" },
            "Config": { "Image": image, "Labels": labels },
        })
        .to_string()
    }

    #[test]
    fn inspect_output_is_read() {
        let json = serde_json::json!({ "name": "redis", "image": "redis:7.2.4" });
        let digest = digest(op(json.clone()).as_ref());
        let same = plan(
            json.clone(),
            &inspect("running", "redis:7.2.4", Some(&digest)),
            0,
        );
        assert!(same.is_noop(), "{same:?}");
        let exited = plan(
            json.clone(),
            &inspect("exited", "redis:7.2.4", Some(&digest)),
            0,
        );
        assert_eq!(exited.changes[0].summary, "started (was exited)");
        let other = plan(json.clone(), &inspect("running", "redis:7.2.3", None), 0);
        assert_eq!(
            other.changes[0].summary,
            "spec changed (image redis:7.2.3 -> redis:7.2.4), recreated started"
        );
        let missing = plan(json, "", 1);
        assert_eq!(
            missing.changes[0].summary,
            "container from redis:7.2.4, started"
        );
    }

    /// The recreate's commands, run in order as the executor does (the
    /// first failure stops the rest) against a docker whose pull fails:
    /// nothing is removed.
    #[test]
    fn a_failed_pull_removes_nothing() {
        let json = serde_json::json!({ "name": "redis", "image": "redis:7.2.4" });
        let p = plan(json, &inspect("running", "redis:7.2.3", None), 0);
        let fake =
            "docker() { echo \"$*\" >> \"$T/log\"; case $1 in image|pull) return 1;; esac; }";
        let dir = tempfile::tempdir().unwrap();
        for action in &p.changes[0].actions {
            let Action::Exec { script, .. } = action else {
                panic!("{action:?}")
            };
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("{fake}\n{script}"))
                .env("T", dir.path())
                .output()
                .unwrap();
            if !out.status.success() {
                let err = String::from_utf8_lossy(&out.stderr);
                assert!(err.contains("cannot pull redis:7.2.4"), "{err}");
                break;
            }
        }
        let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
        assert!(log.contains("pull -q redis:7.2.4"), "{log}");
        assert!(!log.contains("rm"), "{log}");
    }
}
