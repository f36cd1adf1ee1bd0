//! `docker_image`: a pinned image pulled (or built) on the host, or removed.

use kbz_engine::op::{Action, Change, OpArgs, OpError, Operation, Param, Plan, Symbol};
use kbz_engine::probe::{Observed, Probe};
use kbz_engine::shell::quote;
use serde::Deserialize;

use super::docker::{inspect_probe, inspected, pinned_image, reference, Inspected, Kind};
use super::values::{absolute_path, Presence};
use super::{Build, Env, Failure, Form};

/// Arguments of `docker_image()`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args {
    name: String,
    #[serde(default)]
    state: Presence,
    #[serde(default)]
    build: Option<String>,
}

impl OpArgs for Args {
    const OP: &'static str = "docker_image";
    const SUMMARY: &'static str =
        "Ensure a pinned Docker image is on the host (docker pull, or docker build, when missing), or is not.";
    const EXAMPLE: &'static str = r#"docker_image(#{ name: "redis:7.2.4" });
docker_image(#{ name: "keybuzz/patroni:3.3.0-pg16", build: "/opt/keybuzz/postgres/image" });
docker_image(#{ name: "minio/minio:latest", state: "absent" });"#;
    const PARAMS: &'static [Param] = &[
        Param {
            name: "name",
            ty: "string",
            default: None,
            doc: "Image reference with a pinned tag or digest, e.g. \"haproxy:2.8.5\" or \"redis@sha256:…\". \"latest\" or no tag is an error with state \"present\", so every host runs the same build; any reference may be removed.",
        },
        Param {
            name: "state",
            ty: "string",
            default: Some("\"present\""),
            doc: "\"present\": pulled (or built) when docker does not have it (an existing image is never pulled or built again: a pinned tag does not move); \"absent\": removed with docker rmi (fails while a container uses it).",
        },
        Param {
            name: "build",
            ty: "string",
            default: Some("none: pulled"),
            doc: "Absolute path of a build context on the host (its Dockerfile written by an earlier op, say): a missing image is built there with `docker build --tag NAME PATH` instead of pulled, as Ansible's `source: build`. Only with state \"present\".",
        },
    ];
}

impl Build for Args {
    const ENSURES: &'static str =
        "an image is present (pulled, or built from a context on the host) or absent";
    const FORMS: &'static [Form] = &[Form::String("name")];

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        match self.state {
            Presence::Present => pinned_image(&self.name)?,
            Presence::Absent => reference(&self.name)?,
        }
        if let Some(dir) = &self.build {
            absolute_path("build", dir)?;
            if self.state == Presence::Absent {
                return Err(String::from(
                    "build is for state \"present\": an absent image is not built",
                )
                .into());
            }
        }
        Ok(Box::new(DockerImageOp {
            name: self.name,
            state: self.state,
            build: self.build,
        }))
    }
}

/// Pulls (or builds) or removes one image.
#[derive(Debug)]
pub(crate) struct DockerImageOp {
    name: String,
    state: Presence,
    build: Option<String>,
}

impl Operation for DockerImageOp {
    fn kind(&self) -> &'static str {
        Args::OP
    }

    fn target(&self) -> String {
        self.name.clone()
    }

    fn probes(&self) -> Vec<Probe> {
        vec![inspect_probe(Kind::Image, &self.name)]
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        let image = inspected(observed, Kind::Image, &self.name)?;
        let name = quote(&self.name);
        // The image's id, which `docker pull` and `docker rmi` change.
        let id = image.field("/Id").to_string();
        Ok(match (self.state, image) {
            (Presence::Present, Inspected::Found(_)) => Plan::noop(format!("present ({id})")),
            (Presence::Present, Inspected::Missing) => match &self.build {
                None => Plan::of(vec![Change::new(
                    Symbol::Create,
                    format!("image {}", self.name),
                    vec![Action::exec(format!("docker pull {name}"))],
                )]),
                Some(dir) => Plan::of(vec![Change::new(
                    Symbol::Create,
                    format!("image {}, built from {dir}", self.name),
                    vec![Action::exec(format!(
                        "docker build --tag {name} {}",
                        quote(dir)
                    ))],
                )]),
            },
            (Presence::Absent, Inspected::Found(_)) => Plan::of(vec![Change::new(
                Symbol::Delete,
                format!("image {} ({id})", self.name),
                vec![Action::exec(format!("docker rmi {name}"))],
            )]),
            (Presence::Absent, Inspected::Missing) => Plan::noop("already absent"),
        })
    }
}
