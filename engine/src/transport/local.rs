//! `localhost` without SSH: scripts run as local `sh -c` processes (through
//! `sudo -n -u USER` with become), with the same scripts as the SSH transport
//! so files are written with the same atomicity and metadata rules.

use std::borrow::Cow;
use std::process::Stdio;

use tokio::io::AsyncWriteExt;

use super::{script, Become, ExecOutput, TransportError};

/// What a started script's stdin is still to be fed.
type Input<'a> = Option<Cow<'a, [u8]>>;

/// The inventory name used in messages for the local transport.
const HOST: &str = "localhost";

/// This machine. Stateless apart from the become settings, so it is cheap to
/// create and works from any tokio runtime.
#[derive(Debug, Clone)]
pub struct LocalTransport {
    become_: Option<Become>,
}

impl LocalTransport {
    pub(crate) fn new(become_: Option<Become>) -> Self {
        LocalTransport { become_ }
    }

    /// The inventory name, for messages.
    pub fn host(&self) -> &str {
        HOST
    }

    /// Runs `sh -c SCRIPT` locally; see [`super::Transport::exec`].
    pub async fn exec(
        &self,
        script: &str,
        stdin: Option<&[u8]>,
    ) -> Result<ExecOutput, TransportError> {
        let (mut child, stdin) = self.spawn(script, stdin, false)?;
        let pipe = child.stdin.take();
        let feed = async move {
            if let (Some(mut pipe), Some(data)) = (pipe, stdin) {
                // A script that does not read its stdin closes the pipe early: not an error.
                match pipe.write_all(&data).await {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e),
                    _ => {}
                }
            }
            Ok(())
        };
        let (fed, output) = tokio::join!(feed, child.wait_with_output());
        let io_error = |source| TransportError::Io {
            host: HOST.into(),
            context: "local command".into(),
            source,
        };
        let output = output.map_err(io_error)?;
        fed.map_err(io_error)?;
        let rc = match output.status.code() {
            Some(rc) => rc,
            None => {
                use std::os::unix::process::ExitStatusExt;
                128 + output.status.signal().unwrap_or(0)
            }
        };
        let out = ExecOutput {
            rc,
            stdout: output.stdout,
            stderr: output.stderr,
        };
        script::finish(HOST, self.become_.as_ref(), out)
    }

    /// Starts the run lock's holder (see `lock.rs`) with its pipes open.
    pub(super) fn spawn_holder(
        &self,
        script: &str,
    ) -> Result<super::lock::LockHolder, TransportError> {
        let (child, _) = self.spawn(script, None, true)?;
        Ok(super::lock::LockHolder::local(child, self.become_.clone()))
    }

    /// Starts the run lock's holder `script`, which runs the session's
    /// opening once it holds the lock (see `lock.rs`): returns the holder
    /// and the opening's output.
    pub(super) async fn hold_lock(
        &self,
        lock: &super::RunLock,
        script: &str,
        opening: &super::lock::Opening,
        input: Option<&[u8]>,
    ) -> Result<(super::LockHolder, ExecOutput), TransportError> {
        let holder = self.spawn_holder(script)?;
        let (holder, output) = holder.opened(lock, opening, input).await?;
        let output = output.map_err(|reason| TransportError::Exec {
            host: HOST.to_string(),
            reason,
        })?;
        Ok((holder, script::finish(HOST, self.become_.as_ref(), output)?))
    }

    /// Starts `sh -c SCRIPT` (through sudo under become) with stdout and
    /// stderr piped; stdin is piped when the invocation has bytes for it
    /// (returned beside the child) or `hold_stdin` (the lock holder lives
    /// until its stdin closes), else /dev/null.
    fn spawn<'a>(
        &self,
        script: &'a str,
        stdin: Option<&'a [u8]>,
        hold_stdin: bool,
    ) -> Result<(tokio::process::Child, Input<'a>), TransportError> {
        let inv = script::invocation(script, stdin, self.become_.as_ref());
        let child = tokio::process::Command::new(&inv.argv[0])
            .args(&inv.argv[1..])
            .stdin(if hold_stdin || inv.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| TransportError::Io {
                host: HOST.into(),
                context: format!("cannot run `{}`", inv.argv[0]),
                source,
            })?;
        Ok((child, inv.stdin))
    }

    /// Without become, reads the file directly (no process); `None` means "use
    /// the shared `cat` script" (become: only sudo can read it).
    pub(crate) async fn read_file_directly(
        &self,
        path: &str,
    ) -> Option<Result<Option<Vec<u8>>, TransportError>> {
        if self.become_.is_some() {
            return None;
        }
        Some(match tokio::fs::read(path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(TransportError::ReadFile {
                host: HOST.into(),
                path: path.into(),
                reason: e.to_string(),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Transport;
    use super::*;
    use crate::op::WriteFile;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::sync::Arc;

    #[tokio::test]
    async fn exec_captures_everything() {
        let t = Transport::local(None);
        let out = t
            .exec(
                "printf 'out'; printf 'err' >&2; cat; exit 7",
                Some(b"in\0put"),
            )
            .await
            .unwrap();
        assert_eq!(out.rc, 7);
        assert_eq!(out.stdout, b"outin\0put");
        assert_eq!(out.stderr, b"err");
        // Stdin not read: no broken pipe error, even for a large input.
        let big = vec![b'x'; 4 << 20];
        assert_eq!(t.exec("exit 0", Some(&big)).await.unwrap().rc, 0);
        assert_eq!(t.exec("kill -9 $$", None).await.unwrap().rc, 128 + 9);
    }

    #[tokio::test]
    async fn write_and_read_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f").to_str().unwrap().to_string();
        let t = Transport::local(None);
        assert_eq!(t.read_file(&path).await.unwrap(), None);
        let file = WriteFile {
            path: path.clone(),
            content: Arc::new(b"hello".to_vec()),
            mode: Some(0o600),
            owner: None,
            group: None,
            validate: None,
            expect: None,
        };
        t.write_file(&file).await.unwrap();
        assert_eq!(
            t.read_file(&path).await.unwrap().as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        let e = t.read_file(dir.path().to_str().unwrap()).await.unwrap_err();
        assert!(matches!(e, TransportError::ReadFile { .. }), "{e}");
        let bad = WriteFile {
            path: format!("{path}/sub"),
            ..file
        };
        let e = t.write_file(&bad).await.unwrap_err();
        assert!(matches!(e, TransportError::WriteFile { .. }), "{e}");
    }

    /// Become needs sudo and, without a password, root: skipped otherwise.
    #[tokio::test]
    async fn become_runs_through_sudo() {
        let is_root = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        if !is_root || !std::path::Path::new("/usr/bin/sudo").exists() {
            eprintln!("skipped: needs root and /usr/bin/sudo");
            return;
        }
        let t = Transport::local(Some(Become {
            user: "nobody".into(),
        }));
        let out = t.exec("id -un; echo oops >&2", None).await.unwrap();
        assert_eq!(out.stdout, b"nobody\n");
        assert_eq!(out.stderr, b"oops\n");
        let t = Transport::local(Some(Become {
            user: "no-such-user-kbz".into(),
        }));
        let e = t.exec("true", None).await.unwrap_err();
        assert!(matches!(e, TransportError::Become { .. }), "{e}");
        // Root writes with an owner by name, and reads through sudo.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("owned").to_str().unwrap().to_string();
        let t = Transport::local(Some(Become::default()));
        let file = WriteFile {
            path: path.clone(),
            content: Arc::new(b"x".to_vec()),
            mode: None,
            owner: Some("nobody".into()),
            group: None,
            validate: None,
            expect: None,
        };
        t.write_file(&file).await.unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o644);
        assert_ne!(meta.uid(), 0);
        // Rewriting without an owner keeps nobody as the owner.
        t.write_file(&WriteFile {
            owner: None,
            content: Arc::new(b"y".to_vec()),
            ..file
        })
        .await
        .unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().uid(), meta.uid());
        assert_eq!(
            t.read_file(&path).await.unwrap().as_deref(),
            Some(&b"y"[..])
        );
    }
}
