//! The holder process of a run lock (see the parent module): the channel
//! it lives on, the opening batch it runs once it holds the lock, and how
//! that batch's output is told apart from the holding that follows.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

use super::{LockError, RunLock};
use crate::transport::{script, Become, ExecOutput, TransportError};

/// The opening a holder runs ([`RunLock::running_script`]): its output on
/// the holder's stdout ends with a line of its own.
#[derive(Debug)]
pub(in crate::transport) struct Opening {
    /// Starts the line after the opening's output, before its exit status.
    /// Unique to the claim: an output that ends with such a line (a file
    /// the batch reads) cannot pass for the end of one cut short.
    pub(super) end: String,
}

impl Opening {
    /// The opening's output on one stream and its exit status, from
    /// everything the holder printed there (after `locked` on stdout);
    /// `None` while the stream does not end with the end line yet.
    pub(super) fn parts(&self, mut printed: Vec<u8>) -> Option<(Vec<u8>, i32)> {
        let (at, rc) = self.ended(&printed)?;
        printed.truncate(at);
        Some((printed, rc))
    }

    /// Where the end line starts in `printed` and the exit status it
    /// gives, when `printed` ends with it.
    fn ended(&self, printed: &[u8]) -> Option<(usize, i32)> {
        let mark = format!("\n{} ", self.end);
        let at = printed
            .windows(mark.len())
            .rposition(|w| w == mark.as_bytes())?;
        let rc = std::str::from_utf8(&printed[at + mark.len()..])
            .ok()?
            .strip_suffix('\n')?
            .parse()
            .ok()?;
        Some((at, rc))
    }

    /// Reads `stream` up to the end line: over SSH the holder's streams do
    /// not end while it holds the lock (sshd gives a command its stdin and
    /// stdout on one socket), so the end line is what ends the output.
    pub(super) async fn read<R: AsyncRead + Unpin>(
        &self,
        stream: &mut R,
    ) -> std::io::Result<Vec<u8>> {
        let mut printed = Vec::new();
        let mut chunk = [0u8; 8192];
        while self.ended(&printed).is_none() {
            match stream.read(&mut chunk).await? {
                0 => break,
                n => printed.extend_from_slice(&chunk[..n]),
            }
        }
        Ok(printed)
    }
}

/// The holder process of a taken lock; dropping it (or [`LockHolder::release`])
/// closes its stdin and so releases the lock.
pub struct LockHolder {
    /// The lock file, as the holder found it (see [`RunLock::guard`]).
    path: String,
    stdin: Option<Box<dyn AsyncWrite + Send + Sync + Unpin>>,
    stdout: BufReader<Box<dyn AsyncRead + Send + Sync + Unpin>>,
    stderr: Option<Box<dyn AsyncRead + Send + Sync + Unpin>>,
    child: Child,
    /// Whom the holder runs as through sudo, if anyone: a holder that
    /// stopped before it ran was refused by sudo.
    become_: Option<Become>,
}

impl std::fmt::Debug for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockHolder").finish_non_exhaustive()
    }
}

enum Child {
    Local(tokio::process::Child),
    Ssh(openssh::Child<std::sync::Arc<openssh::Session>>),
}

impl LockHolder {
    /// Waits for the holder's answer: the holder itself once it says
    /// `locked`, else why not (busy, or lost when `rejoin`ing).
    pub(in crate::transport) async fn taken(
        mut self,
        lock: &RunLock,
        rejoin: bool,
    ) -> Result<LockHolder, TransportError> {
        let started = std::time::Instant::now();
        let mut line = String::new();
        let read = self.stdout.read_line(&mut line).await;
        if let Some(path) = line
            .strip_prefix("locked ")
            .and_then(|l| l.strip_suffix('\n'))
        {
            if read.is_ok() {
                self.path = path.to_string();
                return Ok(self);
            }
        }
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest).await;
        let host = lock.host.clone();
        if line == "busy\n" {
            let holder = rest
                .lines()
                .nth(1)
                .unwrap_or("its holder did not say who it is")
                .to_string();
            let waited = started.elapsed().as_secs();
            return Err(match rejoin {
                true => LockError::Lost { host, holder },
                false => LockError::Busy {
                    host,
                    holder,
                    waited,
                },
            }
            .into());
        }
        let mut stderr = Vec::new();
        if let Some(mut pipe) = self.stderr.take() {
            let _ = pipe.read_to_end(&mut stderr).await;
        }
        // sudo refusing before the holder ran is a become error, as for a command.
        let stopped = ExecOutput {
            rc: 1,
            stdout: Vec::new(),
            stderr,
        };
        let stopped = script::finish(&host, self.become_.as_ref(), stopped)?;
        let stderr = String::from_utf8_lossy(&stopped.stderr);
        Err(LockError::Failed {
            host,
            reason: format!("the holder stopped without taking it ({})", stderr.trim()),
        }
        .into())
    }
}

impl LockHolder {
    /// [`LockHolder::taken`] for the holder of [`RunLock::running_script`]:
    /// feeds the opening its `input` meanwhile, then reads the opening's
    /// output to its end; the holder goes on holding the lock. An opening
    /// cut short (the connection lost, the holder killed) is an `Err` with
    /// what is known of why.
    pub(in crate::transport) async fn opened(
        mut self,
        lock: &RunLock,
        opening: &Opening,
        input: Option<&[u8]>,
    ) -> Result<(LockHolder, Result<ExecOutput, String>), TransportError> {
        let mut stdin = self.stdin.take();
        let feed = async {
            if let (Some(pipe), Some(data)) = (stdin.as_mut(), input) {
                // A holder that stopped (busy) reads nothing: `taken` says why.
                let _ = pipe.write_all(data).await;
                let _ = pipe.flush().await;
            }
        };
        let (_, taken) = tokio::join!(feed, self.taken(lock, false));
        let mut holder = taken?;
        holder.stdin = stdin;
        let output = holder.output(opening).await;
        Ok((holder, output))
    }

    /// The opening's output: stdout and stderr, each read up to its end
    /// line, and the exit status the end line gives.
    async fn output(&mut self, opening: &Opening) -> Result<ExecOutput, String> {
        let (out, err) = (&mut self.stdout, &mut self.stderr);
        let read_err = async {
            match err {
                Some(pipe) => opening.read(pipe).await,
                None => Ok(Vec::new()),
            }
        };
        let (stdout, stderr) = tokio::join!(opening.read(out), read_err);
        let stdout = stdout.map_err(|e| format!("reading stdout: {e}"))?;
        let stderr = stderr.map_err(|e| format!("reading stderr: {e}"))?;
        let cut = "the opening stopped before its end (connection lost or holder killed)";
        let (stdout, rc) = opening.parts(stdout).ok_or(cut)?;
        let (stderr, _) = opening.parts(stderr).ok_or(cut)?;
        Ok(ExecOutput { rc, stdout, stderr })
    }

    pub(in crate::transport) fn local(
        mut child: tokio::process::Child,
        become_: Option<Become>,
    ) -> LockHolder {
        LockHolder {
            path: String::new(),
            stdin: child.stdin.take().map(|p| Box::new(p) as _),
            stdout: BufReader::new(Box::new(child.stdout.take().expect("piped stdout"))),
            stderr: child.stderr.take().map(|p| Box::new(p) as _),
            child: Child::Local(child),
            become_,
        }
    }

    pub(in crate::transport) fn ssh(
        mut child: openssh::Child<std::sync::Arc<openssh::Session>>,
        become_: Option<Become>,
    ) -> LockHolder {
        LockHolder {
            path: String::new(),
            stdin: child.stdin().take().map(|p| Box::new(p) as _),
            stdout: BufReader::new(Box::new(child.stdout().take().expect("piped stdout"))),
            stderr: child.stderr().take().map(|p| Box::new(p) as _),
            child: Child::Ssh(child),
            become_,
        }
    }

    /// The lock file on the host, once taken.
    pub(in crate::transport) fn path(&self) -> &str {
        &self.path
    }

    /// Releases the lock: closes the holder's stdin and waits for it to exit,
    /// so the next run finds the lock free as soon as this returns.
    pub async fn release(mut self) {
        drop(self.stdin.take());
        match self.child {
            Child::Local(mut c) => {
                let _ = c.wait().await;
            }
            Child::Ssh(c) => {
                let _ = c.wait().await;
            }
        }
    }
}
