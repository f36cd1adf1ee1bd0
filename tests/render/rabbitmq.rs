//! RabbitMQ's quorum default (module 5, `rabbitmq::finish`): whether the
//! server has `update_vhost_metadata` (3.11+) is read from the pinned image's
//! tag, never asked of the host (`rabbitmqctl help` boots an Erlang VM in
//! the container on every run); an older or unreadable tag warns and leaves
//! vhost / alone. Each node's readiness wait is its AMQP port, not
//! `rabbitmq-diagnostics check_running` (another Erlang VM per run).

use super::*;

const UPDATE: &str = "rabbitmqctl update_vhost_metadata / --default-queue-type quorum";

/// The RabbitMQ plays rendered with `images.rabbitmq` set to `image`: the
/// run_once host's commands.sh, and the run's log.
fn render_rabbitmq(image: &str) -> (String, String) {
    let r = ImageRender::new("rabbitmq", image, "rabbitmq");
    let log = common::text(&r.output);
    assert!(r.output.status.success(), "{image}\n{log}");
    (r.read(&hosts_in("rabbitmq")[0], "commands.sh"), log)
}

#[test]
fn the_pinned_release_sets_quorum_without_asking_rabbitmqctl_help() {
    for image in [
        "rabbitmq:3.13.2-management",
        "rabbitmq:3.11.0",
        "rabbitmq:4.0.5-management",
        "registry.example.com:5000/rabbitmq:3.12@sha256:0123abcd",
        "rabbitmq:3.12-management-alpine",
    ] {
        let (cmds, log) = render_rabbitmq(image);
        assert!(cmds.contains(UPDATE), "{image}: no update\n{cmds}");
        assert!(!cmds.contains("rabbitmqctl help"), "{image}:\n{cmds}");
        assert!(
            !log.contains("update_vhost_metadata (3.11+)"),
            "{image}:\n{log}"
        );
    }
}

#[test]
fn an_older_or_unreadable_tag_warns_and_leaves_the_vhost_alone() {
    for (image, why) in [
        ("kbz-lab/rabbitmq:3.10.8", "is RabbitMQ 3.10, which has no"),
        ("rabbitmq:2.8.7", "is RabbitMQ 2.8, which has no"),
        ("rabbitmq:management", "names no release in its tag"),
        // The release is read as a strict version (`version()`'s
        // `strict: true`): a release candidate's `rc` is none of its forms,
        // where the role's own MAJOR.MINOR parsing took 3.13 from it.
        ("rabbitmq:3.13rc1-management", "names no release in its tag"),
        ("rabbitmq:3", "names no release in its tag"),
        (
            "registry.example.com:5000/rabbitmq@sha256:0123abcd",
            "names no release in its tag",
        ),
    ] {
        let (cmds, log) = render_rabbitmq(image);
        assert!(!cmds.contains("update_vhost_metadata"), "{image}:\n{cmds}");
        assert!(!cmds.contains("rabbitmqctl help"), "{image}:\n{cmds}");
        for part in [
            format!("its image '{image}' {why}"),
            "vhost / keeps its default queue type".into(),
        ] {
            assert!(log.contains(&part), "{image}: no `{part}`\n{log}");
        }
    }
}

#[test]
fn each_node_waits_for_its_amqp_port_without_an_erlang_vm() {
    for h in hosts_in("rabbitmq") {
        let cmds = read(&h, "commands.sh");
        let wait = format!("kbz_open {} 5672", ip_private(&h));
        assert!(cmds.contains(&wait), "{h}: no `{wait}`\n{cmds}");
        assert!(!cmds.contains("rabbitmq-diagnostics"), "{h}:\n{cmds}");
    }
}
