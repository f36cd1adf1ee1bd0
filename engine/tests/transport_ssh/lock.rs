//! The per-host run lock over a real sshd.

use std::time::{Duration, Instant};

use kbz_engine::transport::Transport;

use super::sshd::*;

/// The run lock over SSH (see `transport/lock.rs`): its holder lives on its
/// own channel of the master; the opening batch still costs one round trip;
/// a second session waits, then fails naming the holder; closing or dropping
/// the session releases the lock at once.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn the_run_lock_over_a_real_sshd() {
    use kbz_engine::cache::HostCache;
    use kbz_engine::run::{ProbeError, Session};
    use kbz_engine::transport::{LockError, RunLock};

    let sshd = sshd();
    let host = format!("lock-test-{}", std::process::id());
    let open = |timeout: u64| {
        let (opts, host) = (sshd.opts(), host.clone());
        async move {
            let t = Transport::connect(&opts).await.unwrap();
            let lock = RunLock::new(&host, Duration::from_secs(timeout));
            Session::open_locked(t, &HostCache::default(), &lock, Duration::from_secs(60)).await
        }
    };
    let first = open(5).await.unwrap();
    assert_eq!(first.round_trips(), 1);

    let started = Instant::now();
    let busy = open(1).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{busy}");
    match &busy {
        ProbeError::Lock(LockError::Busy { holder, .. }) => {
            assert!(
                holder.contains(&format!("pid {},", std::process::id())),
                "{busy}"
            )
        }
        other => panic!("not busy: {other}"),
    }

    first.close().await;
    let started = Instant::now();
    let second = open(5).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    // A run that ends without closing (a crash) releases the lock too.
    drop(second);
    let started = Instant::now();
    open(5).await.unwrap().close().await;
    assert!(started.elapsed() < Duration::from_secs(2));

    let file = match is_root() {
        true => format!("/run/kbz-play-{host}.lock"),
        false => format!("{}/.kbz-play-{host}.lock", std::env::var("HOME").unwrap()),
    };
    std::fs::remove_file(format!("{file}.info")).unwrap();
    std::fs::remove_file(file).unwrap();
}
