//! What `docker_container` and `docker_image` share: the pinned-image rule
//! and the `docker inspect` query.

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Inspected {
    /// There is no such container or image.
    Missing,
    /// Its `--format` output.
    Found(String),
}

/// The query: `docker inspect --type KIND --format FORMAT NAME`, exiting 1
/// when the object does not exist, 127 without docker, 2 on any other
/// error (daemon down), with docker's message as output.
pub(crate) fn inspect_query(kind: &str, format: &str, name: &str) -> String {
    format!(
        "command -v docker >/dev/null || exit 127\n\
         o=$(docker inspect --type {kind} --format {} {} 2>&1) && {{ printf '%s\\n' \"$o\"; exit 0; }}\n\
         case $o in *'No such '*) exit 1;; esac\n\
         printf '%s\\n' \"$o\"; exit 2",
        quote(format),
        quote(name)
    )
}

/// The probe for [`inspect_query`].
pub(crate) fn inspect_probe(kind: &str, format: &str, name: &str) -> Probe {
    query::probe(&inspect_query(kind, format, name))
}

/// Reads the answer to [`inspect_query`].
pub(crate) fn inspected(
    observed: &Observed,
    kind: &str,
    format: &str,
    name: &str,
) -> Result<Inspected, OpError> {
    let answer = observed.query(&inspect_query(kind, format, name))?;
    match answer.rc {
        0 => Ok(Inspected::Found(answer.stdout.trim().to_string())),
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
    fn the_query_tells_missing_from_broken() {
        let run = |docker: &str| {
            let script = format!(
                "docker() {{ {docker}; }}\n{}",
                inspect_query("container", "{{.State.Status}}", "redis")
            );
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&script)
                .output()
                .unwrap();
            (
                out.status.code().unwrap(),
                String::from_utf8(out.stdout).unwrap(),
            )
        };
        assert_eq!(run("echo running"), (0, "running\n".to_string()));
        assert_eq!(
            run("echo 'Error: No such container: redis' >&2; return 1").0,
            1
        );
        let (rc, out) = run("echo 'Cannot connect to the Docker daemon' >&2; return 1");
        assert_eq!(rc, 2);
        assert!(out.contains("Cannot connect"));
    }
}
