//! Masters that outlive the connection (`ConnectOptions::persist`) over a
//! real sshd: left up by `leave`, found again by the next connect, never by
//! one that would connect otherwise, ended by `close`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kbz_engine::transport::{ConnectOptions, Transport};

use super::sshd::*;

pub(crate) fn socket(t: &Transport) -> PathBuf {
    let Transport::Ssh(ssh) = t else {
        panic!("not ssh")
    };
    ssh.control_socket()
}

pub(crate) fn persistent(sshd: &Sshd) -> ConnectOptions {
    let mut opts = sshd.opts();
    opts.control_dir = sshd.dir.path().join("p");
    opts.persist = Duration::from_secs(60);
    opts
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn a_left_master_is_reused_and_close_ends_it() {
    let sshd = sshd();
    let opts = persistent(&sshd);
    let first = Transport::connect(&opts).await.unwrap();
    let master = socket(&first);
    assert!(
        master.starts_with(&opts.control_dir),
        "{}",
        master.display()
    );
    first.leave().await.unwrap();
    assert!(master.exists(), "leave ended the master");

    let started = Instant::now();
    let again = Transport::connect(&opts).await.unwrap();
    eprintln!("connect (persisted master): {}", ms(started.elapsed()));
    assert_eq!(socket(&again), master, "a new master was started");
    assert_eq!(again.exec("echo hi", None).await.unwrap().stdout, b"hi\n");

    // Another key file: another master, the first one left alone.
    let mut other = opts.clone();
    other.identity_file = Some(sshd.dir.path().join("client_key"));
    let third = Transport::connect(&other).await.unwrap();
    assert_ne!(socket(&third), master);
    third.close().await.unwrap();

    again.close().await.unwrap();
    let gone = std::fs::read_dir(&opts.control_dir).unwrap().count();
    assert_eq!(gone, 0, "close left a master's folder");
    assert!(!master.exists());
}
