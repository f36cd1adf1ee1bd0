//! What `docker_container` and `docker_image` share: the pinned-image rule
//! and the inspect query (the Engine API's socket, or the CLI).

use kbz_engine::op::OpError;
use kbz_engine::probe::{Observed, Probe};
use kbz_engine::shell::quote;

use super::query;

/// Why images are pinned, as errors say it.
const PINNED: &str = "so every host runs the same build (\"latest\" moves under you)";

/// Checks an image reference and that it is pinned: a tag other than
/// `latest`, or a digest. An unpinned image makes two hosts (or two runs)
/// run different software under the same playbook.
pub(crate) fn pinned_image(image: &str) -> Result<(), String> {
    reference(image)?;
    if image.contains("@sha256:") {
        return Ok(());
    }
    match image_tag(image) {
        "latest" => Err(format!(
            "image {image:?} uses the tag \"latest\"; pin a version, e.g. \"redis:7.2.4\", {PINNED}"
        )),
        "" => Err(format!(
            "image {image:?} has no tag, which means \"latest\"; pin a version, e.g. \"{image}:1.2.3\", {PINNED}"
        )),
        _ => Ok(()),
    }
}

/// The tag of an image reference, "" when it has none: what follows the
/// last `:` of its last path segment, its digest (`@sha256:...`) left out.
/// A registry's port (`registry:5000/redis:7.2.4`) is in the first segment,
/// so it is never taken for the tag.
pub(crate) fn image_tag(image: &str) -> &str {
    let name = image.split_once('@').map_or(image, |(name, _)| name);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map_or("", |(_, tag)| tag)
}

/// Checks that an image reference is one word a command line can carry.
pub(crate) fn reference(image: &str) -> Result<(), String> {
    let ok = !image.is_empty()
        && !image.starts_with('-')
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/:@".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{image:?} is not an image reference like \"redis:7.2.4\""
        ))
    }
}

/// What `docker inspect` said about an object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Inspected {
    /// There is no such container or image.
    Missing,
    /// Its inspect document: the Engine API's JSON for it. A container's
    /// holds its env, secrets among them: the document stays in the run's
    /// memory (as the host's answer), the ops read their few fields from it,
    /// and neither it nor the answer is ever printed or cached (the cache
    /// keeps the query's script, never what it printed).
    Found(serde_json::Value),
}

impl Inspected {
    /// The string at `pointer` (`/State/Status`) of a found object's
    /// document, "" when it has none there (a missing label, say).
    pub(crate) fn field(&self, pointer: &str) -> &str {
        match self {
            Inspected::Found(doc) => doc.pointer(pointer).and_then(|v| v.as_str()).unwrap_or(""),
            Inspected::Missing => "",
        }
    }
}

/// The kinds of object the query inspects, as the CLI's `--type` and the
/// Engine API's path name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Container,
    Image,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Container => "container",
            Kind::Image => "image",
        }
    }
}

/// The Engine API's socket, where the CLI goes when nothing points it
/// elsewhere.
const SOCKET: &str = "/var/run/docker.sock";

/// Whether the Engine API on `socket` is where `docker` itself would go:
/// no `DOCKER_HOST`, no context chosen (by `DOCKER_CONTEXT` or the CLI's
/// config), a socket there, and `curl` to ask it. `grep` reads the config
/// only where there is one (a server's root rarely has any).
fn api_is_the_clis(socket: &str) -> String {
    format!(
        "[ -z \"${{DOCKER_HOST-}}${{DOCKER_CONTEXT-}}\" ] && [ -S {socket} ] && command -v curl >/dev/null && \
         dc=\"${{DOCKER_CONFIG:-$HOME/.docker}}/config.json\" && ! {{ [ -f \"$dc\" ] && grep -q currentContext \"$dc\"; }}"
    )
}

/// Asks the Engine API for the object's document with `curl` (about 10 ms
/// of a host's CPU, where the Go CLI takes 40 ms: 30 ms a container, on
/// every host, on every run): 200 is the document, 404 no such object.
fn api_query(kind: Kind, name: &str) -> String {
    let url = format!("http://docker/{}s/{name}/json", kind.name());
    format!(
        "o=$(curl -gsS --unix-socket {SOCKET} -w '\\n%{{http_code}}' {} 2>&1) || {{ printf '%s\\n' \"$o\"; exit 2; }}\n\
         nl='\n'\n\
         c=${{o##*$nl}}; o=${{o%$nl*}}\n\
         case $c in 200) printf '%s\\n' \"$o\"; exit 0;; 404) exit 1;; esac\n\
         printf '%s\\n' \"$o\"; exit 2",
        quote(&url)
    )
}

/// Asks the CLI: `docker inspect --type KIND --format '{{json .}}' NAME`,
/// the same document.
fn cli_query(kind: Kind, name: &str) -> String {
    format!(
        "o=$(docker inspect --type {} --format '{{{{json .}}}}' {} 2>&1) && {{ printf '%s\\n' \"$o\"; exit 0; }}\n\
         case $o in *'No such '*) exit 1;; esac\n\
         printf '%s\\n' \"$o\"; exit 2",
        kind.name(),
        quote(name)
    )
}

/// The query: the object's inspect document, exiting 1 when it does not
/// exist, 127 without docker, 2 on any other error (daemon down), with the
/// error as output. Asked of the Engine API when the CLI would go there,
/// else of the CLI. `name` is a checked container name or image reference
/// (no character a URL or a shell word would read otherwise).
pub(crate) fn inspect_query(kind: Kind, name: &str) -> String {
    format!(
        "command -v docker >/dev/null || exit 127\n\
         if {}; then\n{}\nfi\n{}",
        api_is_the_clis(SOCKET),
        api_query(kind, name),
        cli_query(kind, name)
    )
}

/// The probe for [`inspect_query`].
pub(crate) fn inspect_probe(kind: Kind, name: &str) -> Probe {
    query::probe(&inspect_query(kind, name))
}

/// Reads the answer to [`inspect_query`].
pub(crate) fn inspected(observed: &Observed, kind: Kind, name: &str) -> Result<Inspected, OpError> {
    let answer = observed.query(&inspect_query(kind, name))?;
    let kind = kind.name();
    match answer.rc {
        0 => serde_json::from_str(answer.stdout.trim())
            .map(Inspected::Found)
            .map_err(|e| {
                OpError::Conflict(format!(
                    "cannot read docker's answer about {kind} {name}: {e}"
                ))
            }),
        1 => Ok(Inspected::Missing),
        127 => Err(query::missing_program("docker", "docker-ce")),
        rc => Err(OpError::Conflict(format!(
            "cannot inspect {kind} {name} (exit status {rc}): {}",
            answer.stdout.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `script` under sh after `fakes` (shell functions standing for
    /// programs), with `env` added: (exit status, stdout).
    fn sh(fakes: &str, script: &str, env: &[(&str, &str)]) -> (i32, String) {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{fakes}\n{script}"))
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_CONFIG")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        (out.status.code().unwrap(), stdout.trim().to_string())
    }

    /// curl as `-w '\n%{http_code}'` makes it print: the body, then the code.
    fn curl(body: &str, code: &str, rc: i32) -> String {
        format!("curl() {{ printf '%s\\n%s' '{body}' '{code}'; return {rc}; }}")
    }

    #[test]
    fn the_engine_api_answers_found_missing_or_why_not() {
        let doc = r#"{"Id":"sha256:0123","State":{"Status":"running"}}"#;
        let query = api_query(Kind::Container, "redis");
        assert_eq!(sh(&curl(doc, "200", 0), &query, &[]), (0, doc.to_string()));
        let missing = r#"{"message":"No such container: redis"}"#;
        assert_eq!(sh(&curl(missing, "404", 0), &query, &[]).0, 1);
        let broken = r#"{"message":"boom"}"#;
        assert_eq!(
            sh(&curl(broken, "500", 0), &query, &[]),
            (2, broken.to_string())
        );
        let refused = "curl() { echo 'curl: (7) Failed to connect' >&2; return 7; }";
        assert_eq!(
            sh(refused, &query, &[]),
            (2, "curl: (7) Failed to connect".to_string())
        );
        let url = "curl() { printf '%s\\n200' \"$*\"; }";
        let (_, args) = sh(url, &api_query(Kind::Image, "registry:5000/app:1.0"), &[]);
        assert!(
            args.ends_with("http://docker/images/registry:5000/app:1.0/json"),
            "{args}"
        );
    }

    #[test]
    fn the_cli_answers_the_same_document() {
        let doc = r#"{"Id":"sha256:0123"}"#;
        let query = cli_query(Kind::Image, "redis:7.2.4");
        let found = format!("docker() {{ [ \"$*\" = \"inspect --type image --format {{{{json .}}}} redis:7.2.4\" ] && echo '{doc}'; }}");
        assert_eq!(sh(&found, &query, &[]), (0, doc.to_string()));
        let missing = "docker() { echo 'Error: No such image: redis:7.2.4' >&2; return 1; }";
        assert_eq!(sh(missing, &query, &[]).0, 1);
        let down = "docker() { echo 'Cannot connect to the Docker daemon' >&2; return 1; }";
        assert_eq!(
            sh(down, &query, &[]),
            (2, "Cannot connect to the Docker daemon".to_string())
        );
    }

    #[test]
    fn the_engine_api_is_asked_only_where_the_cli_would_go() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let home = dir.path().to_str().unwrap();
        let test = format!("{} && echo api", api_is_the_clis(socket.to_str().unwrap()));
        let fake = "curl() { :; }";
        let api = |env: &[(&str, &str)]| sh(fake, &test, env).1 == "api";
        assert!(api(&[("HOME", home)]), "a socket, curl, no context");
        assert!(!api(&[
            ("HOME", home),
            ("DOCKER_HOST", "tcp://10.0.0.1:2376")
        ]));
        assert!(!api(&[("HOME", home), ("DOCKER_CONTEXT", "remote")]));
        std::fs::create_dir(dir.path().join(".docker")).unwrap();
        let config = dir.path().join(".docker/config.json");
        std::fs::write(&config, r#"{"auths": {}}"#).unwrap();
        assert!(api(&[("HOME", home)]), "a config without a context");
        std::fs::write(&config, r#"{"currentContext": "remote"}"#).unwrap();
        assert!(!api(&[("HOME", home)]));
        assert!(api(&[("HOME", home), ("DOCKER_CONFIG", "/nonexistent")]));
        let no_curl = sh("", &format!("PATH=/nonexistent; {test}"), &[("HOME", home)]);
        assert_ne!(no_curl.1, "api", "no curl: the CLI");
        let elsewhere = api_is_the_clis(dir.path().join("none").to_str().unwrap());
        assert_ne!(
            sh(fake, &format!("{elsewhere} && echo api"), &[("HOME", home)]).1,
            "api"
        );
    }

    #[test]
    fn the_tag_is_never_a_registry_port_nor_a_digest() {
        for (image, tag) in [
            ("redis:7.2.4", "7.2.4"),
            ("registry.example.com:5000/mariadb:10.11.6", "10.11.6"),
            (
                "registry.example.com:5000/rabbitmq:3.12@sha256:0123abcd",
                "3.12",
            ),
            ("registry.example.com:5000/rabbitmq@sha256:0123abcd", ""),
            ("library/redis", ""),
        ] {
            assert_eq!(image_tag(image), tag, "{image}");
        }
    }

    #[test]
    fn images_must_be_pinned() {
        for ok in [
            "redis:7.2.4",
            "redis:7-alpine",
            "minio/minio:RELEASE.2024-10-02T10-00Z",
            "registry.example.com:5000/team/app:1.0",
            "redis@sha256:0123abcd",
            "redis:7.2.4@sha256:0123abcd",
        ] {
            assert!(pinned_image(ok).is_ok(), "{ok}");
        }
        assert!(pinned_image("redis:latest").unwrap_err().contains("latest"));
        assert!(pinned_image("redis").unwrap_err().contains("no tag"));
        assert!(pinned_image("registry.example.com:5000/app")
            .unwrap_err()
            .contains("no tag"));
        assert!(pinned_image("redis:").is_err());
        assert!(pinned_image("redis:7 --privileged").is_err());
        assert!(pinned_image("-v:1").is_err());
    }

    #[test]
    fn without_docker_the_query_says_so() {
        let query = inspect_query(Kind::Container, "redis");
        assert_eq!(sh("", &format!("PATH=/nonexistent\n{query}"), &[]).0, 127);
    }
}
