//! Host keys over a real sshd: changed and unknown keys refused, the user's StrictHostKeyChecking kept.

use kbz_engine::transport::{HostKeyPolicy, Transport, TransportError};

use super::sshd::*;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn changed_and_unknown_host_keys_are_refused() {
    let mut sshd = sshd();
    let opts = sshd.opts();
    // accept-new records the key on first contact.
    Transport::connect(&opts)
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    let known = std::fs::read_to_string(sshd.path("known_hosts")).unwrap();
    assert!(
        known.contains(&format!("[127.0.0.1]:{}", sshd.port)),
        "{known}"
    );

    sshd.restart_with_new_host_key();
    let e = Transport::connect(&opts).await.unwrap_err();
    match &e {
        TransportError::HostKeyChanged {
            host,
            address,
            known_hosts,
        } => {
            assert_eq!(host, "loop");
            assert_eq!(address, &format!("[127.0.0.1]:{}", sshd.port));
            assert_eq!(known_hosts, &sshd.path("known_hosts"));
        }
        other => panic!("expected HostKeyChanged, got {other}"),
    }
    assert!(e.is_unreachable());
    eprintln!("host key changed reads: {e}");
    // The recorded key was not replaced.
    assert_eq!(
        std::fs::read_to_string(sshd.path("known_hosts")).unwrap(),
        known
    );

    let mut strict = sshd.opts();
    strict.ssh_config =
        Some(sshd.client_config("strict_config", "empty_known_hosts", Some("client_key")));
    strict.known_hosts = HostKeyPolicy::Strict;
    let e = Transport::connect(&strict).await.unwrap_err();
    assert!(matches!(e, TransportError::HostKeyUnknown { .. }), "{e}");
    assert!(e.is_unreachable());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn the_users_strict_host_key_checking_is_kept() {
    let sshd = sshd();
    let mut opts = sshd.opts();
    let config = sshd.client_config("yes_config", "unknown_hosts", Some("client_key"));
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("  StrictHostKeyChecking yes\n");
    std::fs::write(&config, text).unwrap();
    opts.ssh_config = Some(config);
    // kbz-play's default (accept-new) applies only where the config is silent.
    assert_eq!(opts.known_hosts, HostKeyPolicy::AcceptNew);
    let e = Transport::connect(&opts).await.unwrap_err();
    assert!(matches!(e, TransportError::HostKeyUnknown { .. }), "{e}");
    let recorded = std::fs::read_to_string(sshd.path("unknown_hosts")).unwrap_or_default();
    assert_eq!(recorded, "", "the unknown key was recorded");
}
