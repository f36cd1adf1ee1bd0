//! Commands over a real sshd: output, exit codes and timings, unreachable hosts, a lost master.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kbz_engine::transport::{Transport, TransportError};

use super::sshd::*;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn exec_over_a_real_sshd() {
    let sshd = sshd();
    let started = Instant::now();
    let t = Transport::connect(&sshd.opts()).await.unwrap();
    eprintln!(
        "connect (new master, key exchange): {}",
        ms(started.elapsed())
    );
    assert!(matches!(t, Transport::Ssh(_)));

    let out = t
        .exec("echo out; echo err >&2; exit 3", None)
        .await
        .unwrap();
    assert_eq!(
        (out.rc, &out.stdout[..], &out.stderr[..]),
        (3, &b"out\n"[..], &b"err\n"[..])
    );

    // Stdin, binary and larger than any pipe buffer, comes back intact.
    let blob: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let started = Instant::now();
    let out = t.exec("cat", Some(&blob)).await.unwrap();
    eprintln!(
        "exec `cat` of 3 MB through stdin/stdout: {}",
        ms(started.elapsed())
    );
    assert_eq!(out.rc, 0);
    assert!(out.stdout == blob, "stdin did not round-trip");
    // A script that ignores its stdin is not an error.
    assert_eq!(t.exec("exit 0", Some(&blob)).await.unwrap().rc, 0);

    // Awkward scripts reach sh untouched, whatever the login shell does with the command line.
    let awkward = "printf '%s|' \"it's\" '$HOME' \"$(echo sub)\" 'a\"b' 'back\\slash' '*' 'tab\there' 'ünï'\nprintf 'line2\\n'";
    let out = t.exec(awkward, None).await.unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "it's|$HOME|sub|a\"b|back\\slash|*|tab\there|ünï|line2\n"
    );
    let out = t
        .exec("echo \"$0\"; set -e; false; echo not reached", None)
        .await
        .unwrap();
    assert_eq!((out.rc, &out.stdout[..]), (1, &b"sh\n"[..]));

    // Scripts beyond what one argument may hold (128 KiB on Linux) still run.
    let long = format!("{}echo long done", ": padding line\n".repeat(20_000));
    let out = t.exec(&long, None).await.unwrap();
    assert_eq!((out.rc, &out.stdout[..]), (0, &b"long done\n"[..]));

    // Round trip of a trivial command over the established master.
    let n = 50;
    let started = Instant::now();
    for _ in 0..n {
        assert_eq!(t.exec("true", None).await.unwrap().rc, 0);
    }
    eprintln!(
        "exec `true`: {} per call (mean of {n})",
        ms(started.elapsed() / n)
    );

    // More concurrent commands than sshd's MaxSessions (10): queued, not refused.
    let t = Arc::new(t);
    let started = Instant::now();
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move { t.exec(&format!("sleep 0.1; echo {i}"), None).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let out = task.await.unwrap().unwrap();
        assert_eq!(out.stdout, format!("{i}\n").into_bytes());
    }
    eprintln!("24 concurrent `sleep 0.1`: {}", ms(started.elapsed()));
    Arc::try_unwrap(t).unwrap().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn unreachable_hosts_fail_fast_and_clearly() {
    let sshd = sshd();
    // Nothing listens on a port we just freed.
    let mut refused = sshd.opts();
    refused.port = Some(free_port());
    let started = Instant::now();
    let e = Transport::connect(&refused).await.unwrap_err();
    let took = started.elapsed();
    eprintln!("connection refused after {}: {e}", ms(took));
    assert!(matches!(e, TransportError::Unreachable { .. }), "{e}");
    assert!(e.is_unreachable());
    assert!(e.to_string().contains("connection refused"), "{e}");
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // A port that accepts connections but never speaks SSH: the timeout applies.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut hung = sshd.opts();
    hung.port = Some(silent.local_addr().unwrap().port());
    hung.connect_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let e = Transport::connect(&hung).await.unwrap_err();
    let took = started.elapsed();
    eprintln!("silent port gave up after {}: {e}", ms(took));
    assert!(e.is_unreachable(), "{e}");
    assert!(e.to_string().contains("no answer"), "{e}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    drop(silent);

    // A key sshd does not know.
    let mut wrong_key = sshd.opts();
    wrong_key.ssh_config = Some(sshd.client_config("nokey_config", "known_hosts", None));
    wrong_key.identity_file = Some(sshd.dir.path().join("other_key"));
    let e = Transport::connect(&wrong_key).await.unwrap_err();
    assert!(matches!(e, TransportError::Unreachable { .. }), "{e}");
    assert!(e.to_string().contains("authentication failed"), "{e}");
    assert!(
        e.to_string().contains(" -i "),
        "the hint shows the key: {e}"
    );

    let mut bad_name = sshd.opts();
    bad_name.address = "no-such-host.invalid".into();
    let e = Transport::connect(&bad_name).await.unwrap_err();
    assert!(e.is_unreachable(), "{e}");
    assert!(e.to_string().contains("cannot resolve"), "{e}");
}

/// Whether any process's command line mentions `needle` (the master's socket dir).
fn process_mentions(needle: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn a_lost_master_is_restarted_and_close_cleans_up() {
    let sshd = sshd();
    let t = Transport::connect(&sshd.opts()).await.unwrap();

    // A command running when the master dies fails as Disconnected...
    let t = Arc::new(t);
    let running = tokio::spawn({
        let t = t.clone();
        async move { t.exec("sleep 5", None).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    exit_master(&t);
    let e = running.await.unwrap().unwrap_err();
    assert!(matches!(e, TransportError::Disconnected { .. }), "{e}");
    assert!(e.is_unreachable());

    // ...and the next command starts a new master (it never ran, so retrying is safe).
    let started = Instant::now();
    let out = t.exec("echo again", None).await.unwrap();
    eprintln!(
        "exec after the master died (reconnect included): {}",
        ms(started.elapsed())
    );
    assert_eq!(out.stdout, b"again\n");
    let Transport::Ssh(ssh) = &*t else {
        panic!("not ssh")
    };
    let socket = ssh.control_socket();
    assert!(socket.exists());

    let t = Arc::try_unwrap(t).unwrap();
    let started = Instant::now();
    t.close().await.unwrap();
    eprintln!("close: {}", ms(started.elapsed()));
    let dir = socket.parent().unwrap().to_str().unwrap().to_string();
    assert!(!Path::new(&dir).exists(), "the socket directory is removed");
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_mentions(&dir) {
        assert!(
            Instant::now() < deadline,
            "the ssh master is still running after close"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
