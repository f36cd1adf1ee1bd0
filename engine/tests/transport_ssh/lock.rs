//! The run lock over a real sshd. The lock is this machine's (as root,
//! `/run/kbz-play.lock`), one for all these tests, which therefore take
//! turns ([`ONE_AT_A_TIME`]); it is left in place, as a run leaves it.

use std::time::{Duration, Instant};

use kbz_engine::cache::HostCache;
use kbz_engine::run::{ProbeError, Session};
use kbz_engine::transport::{Become, LockError, RunId, RunLock, Transport, TransportError};

use super::sshd::*;

/// The tests here share the machine's lock: one at a time, or one test's
/// run would hold the lock another test expects free.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Opens a session of run `run` under the lock, waiting up to `timeout` seconds.
async fn open(sshd: &Sshd, run: &RunId, timeout: u64) -> Result<Session, ProbeError> {
    let t = Transport::connect(&sshd.opts()).await.unwrap();
    open_on(t, run, timeout).await
}

/// [`open`] on the connection `t`.
async fn open_on(t: Transport, run: &RunId, timeout: u64) -> Result<Session, ProbeError> {
    let lock = RunLock::new(run, "lock-test", Duration::from_secs(timeout));
    Session::open_locked(
        t,
        &HostCache::default(),
        &kbz_engine::run::Foreseen::default(),
        true,
        0,
        &lock,
        Duration::from_secs(60),
    )
    .await
}

/// A session opened under the lock costs the host one channel, the
/// holder's, and one login shell: the holder runs the opening batch.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn the_lock_and_the_opening_batch_share_one_channel() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let sshd = sshd();
    let session = open(&sshd, &RunId::new(), 5).await.unwrap();
    assert_eq!(session.round_trips(), 1);
    assert!(!session.facts.hostname.is_empty());
    assert_eq!(sshd.sessions_opened(), 1);
    session.close().await;
}

/// sudo refusing the holder (which runs the opening) is a become error
/// with sudo's words, not a lock that could not be taken.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn a_become_sudo_refuses_fails_the_opening_as_a_become_error() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let sshd = sshd();
    let mut opts = sshd.opts();
    opts.become_ = Some(Become {
        user: "no-such-user-kbz".into(),
    });
    let t = Transport::connect(&opts).await.unwrap();
    let e = open_on(t, &RunId::new(), 5).await.unwrap_err();
    assert!(
        matches!(e, ProbeError::Transport(TransportError::Become { .. })),
        "{e}"
    );
    assert!(e.to_string().contains("no-such-user-kbz"), "{e}");
}

/// The lock error behind `e`, or a panic saying what `e` is instead.
fn lock_error(e: &ProbeError) -> &LockError {
    match e {
        ProbeError::Transport(TransportError::Lock(l)) => l,
        other => panic!("not a lock error: {other}"),
    }
}

/// The run lock over SSH (see `transport/lock.rs`): its holder runs the
/// opening batch on the channel it keeps, so the lock costs no round trip;
/// a second run waits, then fails naming the holder; closing or dropping
/// the session releases the lock at once; a second session of the same run
/// shares it.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn the_run_lock_over_a_real_sshd() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let sshd = sshd();
    let (ours, theirs) = (RunId::new(), RunId::new());
    let first = open(&sshd, &ours, 5).await.unwrap();
    assert_eq!(first.round_trips(), 1);

    let started = Instant::now();
    let busy = open(&sshd, &theirs, 1).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{busy}");
    match lock_error(&busy) {
        LockError::Busy { holder, .. } => assert!(
            holder.contains(&format!("pid {},", std::process::id())),
            "{busy}"
        ),
        other => panic!("not busy: {other}"),
    }
    // Another host of the same run that is this machine shares the lock.
    open(&sshd, &ours, 1).await.unwrap().close().await;

    first.close().await;
    let started = Instant::now();
    let second = open(&sshd, &theirs, 5).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    // A run that ends without closing (a crash) releases the lock too.
    drop(second);
    let started = Instant::now();
    open(&sshd, &ours, 5).await.unwrap().close().await;
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A master restarted mid-run takes the lock again before anything runs on
/// it: with nobody else around the run goes on, still excluding others; if
/// another run took the host while the connection was down (and holds it,
/// or already left), the host fails naming that run and runs nothing more.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn a_restarted_master_takes_the_run_lock_again_or_stops_the_host() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let sshd = sshd();
    let marker = sshd.path("ran-unlocked");
    let touch = format!("touch {marker}");

    let a = open(&sshd, &RunId::new(), 5).await.unwrap();
    exit_master(a.transport().unwrap());
    a.transport().unwrap().exec("true", None).await.unwrap();
    let busy = open(&sshd, &RunId::new(), 1).await.unwrap_err();
    assert!(
        matches!(lock_error(&busy), LockError::Busy { .. }),
        "{busy}"
    );

    // Another run holds the host when the master comes back.
    exit_master(a.transport().unwrap());
    let b = open(&sshd, &RunId::new(), 5).await.unwrap();
    let lost = a.transport().unwrap().exec(&touch, None).await.unwrap_err();
    assert!(
        matches!(&lost, TransportError::Lock(LockError::Lost { holder, .. })
            if holder.contains(&format!("pid {},", std::process::id()))),
        "{lost}"
    );
    b.close().await;
    let still = a.transport().unwrap().exec(&touch, None).await.unwrap_err();
    assert!(
        matches!(still, TransportError::Lock(LockError::Lost { .. })),
        "{still}"
    );
    a.close().await;

    // Another run took the host and left before the master came back.
    let a = open(&sshd, &RunId::new(), 5).await.unwrap();
    exit_master(a.transport().unwrap());
    open(&sshd, &RunId::new(), 5).await.unwrap().close().await;
    let lost = a.transport().unwrap().exec(&touch, None).await.unwrap_err();
    assert!(
        matches!(lost, TransportError::Lock(LockError::Lost { .. })),
        "{lost}"
    );
    a.close().await;
    assert!(
        !std::path::Path::new(&marker).exists(),
        "a command ran without the lock"
    );
}

/// A kept master (`--persist`) found live can idle out before the run's
/// first channel opens: the holder and the opening batch then start on a
/// new master, and the run holds the lock there.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn a_kept_master_gone_before_the_first_channel_is_replaced_under_the_lock() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let sshd = sshd();
    let opts = super::persist::persistent(&sshd);
    Transport::connect(&opts)
        .await
        .unwrap()
        .leave()
        .await
        .unwrap();
    let t = Transport::connect(&opts).await.unwrap();
    let kept = super::persist::socket(&t);
    exit_master(&t);
    let a = open_on(t, &RunId::new(), 5).await.unwrap();
    let t = a.transport().unwrap();
    assert_ne!(super::persist::socket(t), kept, "the master gone was used");
    assert_eq!(t.exec("echo hi", None).await.unwrap().stdout, b"hi\n");
    let busy = open(&sshd, &RunId::new(), 1).await.unwrap_err();
    assert!(
        matches!(lock_error(&busy), LockError::Busy { .. }),
        "{busy}"
    );
    a.close().await;
}

/// Every command of a locked session checks, under the lock, that the
/// holder file still names its run: should another run have the host (here
/// the file is rewritten as its holder would), the command does not run.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn commands_run_only_while_the_holder_file_names_their_run() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let sshd = sshd();
    let marker = sshd.path("ran-unlocked");
    let a = open(&sshd, &RunId::new(), 5).await.unwrap();
    let t = a.transport().unwrap();
    assert_eq!(t.exec("echo ok", None).await.unwrap().stdout, b"ok\n");
    let file = match is_root() {
        true => "/run/kbz-play.lock.info".to_string(),
        false => format!("{}/.kbz-play.lock.info", std::env::var("HOME").unwrap()),
    };
    let info = std::fs::read(&file).unwrap();
    std::fs::write(
        &file,
        "run another\nuser x, pid 1, started 2026-01-01T00:00:00Z\n",
    )
    .unwrap();
    let out = t.exec(&format!("touch {marker}"), None).await.unwrap();
    std::fs::write(&file, &info).unwrap();
    assert_eq!(out.rc, 75, "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not hold the run lock"),
        "{out:?}"
    );
    assert!(!std::path::Path::new(&marker).exists());
    a.close().await;
}
