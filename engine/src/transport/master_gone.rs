//! Whether a channel that failed to open never reached its master: only
//! then may the transport start a new master and open it again (see
//! `ssh.rs`), since nothing of the command can have run.
//!
//! A kept master (`--persist`) idles out `ControlPersist` seconds after its
//! last channel: one found live by the next run may be gone by its first
//! channel, and a master can be killed at any time. Opening a channel is a
//! few messages on the master's unix socket (openssh's native mux): hello
//! both ways, then the new-session request and our three descriptors, after
//! which the master asks sshd to run the command and answers. The kernel
//! says how far it got:
//!
//! - no socket, or nobody listening on it (`NotFound`, `ConnectionRefused`):
//!   the master is gone;
//! - `ConnectionReset`: the master closed with our bytes unread (Linux
//!   resets the peer of a unix socket closed with data in its queue, and
//!   connections still waiting to be accepted), so it never read the request;
//! - `BrokenPipe`: our write found the master's end already closed.
//!
//! openssh reports the first two as [`openssh::Error::Disconnected`] and
//! `BrokenPipe` as a mux error. An end of file instead means the master read
//! what we sent and closed cleanly: it may have started the command, so that
//! failure is never retried (the host is then unreachable if the master no
//! longer answers, see `SshTransport::connection_lost`).
//!
//! Ansible's ssh connection retries the broken pipe once too (its
//! `mux_client_hello_exchange: write packet: Broken pipe` on a master whose
//! `ControlPersist` expired as it connected, ansible/ansible#16731), but
//! tells it from ssh's stderr, which pipelining hides (#78344).

use std::io::ErrorKind;

/// Whether opening a channel failed because the master had gone away
/// before it read the request, so that the command never started.
pub(super) fn never_reached(e: &openssh::Error) -> bool {
    match e {
        openssh::Error::Disconnected => true,
        openssh::Error::SshMux(mux) => io_kind(mux) == Some(ErrorKind::BrokenPipe),
        _ => false,
    }
}

/// The kind of the OS error behind a mux error, if one is.
fn io_kind(mux: &dyn std::error::Error) -> Option<ErrorKind> {
    let io = mux.source()?.downcast_ref::<std::io::Error>()?;
    Some(io.kind())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::unix::net::UnixListener;
    use std::path::Path;

    use openssh::{Session, Stdio};

    /// Opens a channel through a master socket at `ctl`.
    fn open(ctl: &Path) -> openssh::Error {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let session = Session::resume_mux(ctl.into(), None);
            let child = session
                .raw_command("true")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .await;
            child.map(drop).expect_err("no master answers")
        })
    }

    /// A master at `ctl` that accepts one client, reads `read` bytes of
    /// it and exits, as one idling out or killed would.
    fn master_exiting_after(ctl: &Path, read: usize) -> std::thread::JoinHandle<()> {
        let listener = UnixListener::bind(ctl).unwrap();
        std::thread::spawn(move || {
            let (mut client, _) = listener.accept().unwrap();
            let mut buf = vec![0; read];
            client.read_exact(&mut buf).unwrap();
        })
    }

    #[test]
    fn a_master_socket_gone_or_unanswered_was_never_reached() {
        let dir = tempfile::tempdir().unwrap();
        let ctl = dir.path().join("master");
        assert!(never_reached(&open(&ctl)), "no socket");
        // A master killed: its socket stays, nobody listens.
        drop(UnixListener::bind(&ctl).unwrap());
        assert!(never_reached(&open(&ctl)), "socket left by a dead master");
    }

    #[test]
    fn a_master_that_exits_with_the_request_unread_was_never_reached() {
        let dir = tempfile::tempdir().unwrap();
        let ctl = dir.path().join("master");
        // Reads nothing: closed before our hello (a broken pipe, what a
        // master idling out as we connect gives) or after (a reset).
        let master = master_exiting_after(&ctl, 0);
        let e = open(&ctl);
        master.join().unwrap();
        assert!(never_reached(&e), "{e:?}");
    }

    #[test]
    fn a_master_that_read_the_request_and_closed_may_have_run_it() {
        let dir = tempfile::tempdir().unwrap();
        let ctl = dir.path().join("master");
        // Reads our hello (u32 length 8, u32 type, u32 version) and
        // closes without a word: from the outside, a master that took the
        // request and went away.
        let master = master_exiting_after(&ctl, 12);
        let e = open(&ctl);
        master.join().unwrap();
        assert!(!never_reached(&e), "{e:?}");
    }
}
