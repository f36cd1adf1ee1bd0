//! The shell side of the transports: the command line that runs a script (with
//! or without sudo, bounded by `timeout`, stoppable by its token), and the
//! script behind `read_file`; the atomic write script is in [`write`].
//!
//! Both transports run exactly these, so `localhost` and SSH hosts agree on
//! atomicity, modes, owners and error messages. Only POSIX `sh` and the usual
//! coreutils/busybox tools are assumed on the host (`dd`, `stat -c`, `chown`,
//! `chmod`, `mv`, `cat`, `mktemp -d` for validators), plus `sudo` for become;
//! file writes also need `/dev/fd` and `mv -T` (GNU coreutils, busybox);
//! bounded scripts (every probe, limited or interruptible commands) `timeout`
//! and `pkill`, which [`with_timeout`] checks for.

use std::borrow::Cow;

use super::{Become, ExecOutput, TransportError};
use crate::shell::quote;

mod write;

#[cfg(test)]
use write::{split_path, truncate};
pub(crate) use write::{write_script, write_script_from, Input, END_OF_CONTENT};

/// Printed on stderr by the script before anything else under become. Its
/// absence means sudo refused before the script ever ran.
pub(crate) const BECOME_MARKER: &[u8] = b"\x01kbz-play\x01";

/// `read_file`'s exit status for "no such file" (`cat` itself only uses 0 and 1).
pub(crate) const READ_MISSING_RC: i32 = 3;

/// A write script's exit status when the target is no longer what the write
/// was planned from ([`WriteFile::expect`]): nothing was written. Neither the
/// script's own failures (1) nor the shell's (126, 127, signals) use it.
pub(crate) const CHANGED_RC: i32 = 75;

/// Longest basename kept in a temp file name, so `.kbz-play.<name>.XXXXXX`
/// stays under the usual 255-byte file name limit.
pub(super) const MAX_TEMP_BASENAME: usize = 200;

/// Longest script passed as an argument. Longer ones are sent on stdin:
/// Linux caps one `execve` argument at 128 KiB, and over SSH the whole command
/// line is one argument of the login shell.
pub(crate) const MAX_INLINE_SCRIPT: usize = 64 * 1024;

/// What `sh -c` runs for a script sent on stdin: `eval` has no size limit, and
/// the script sees an empty stdin, as it would have.
const EVAL_STDIN: &str = "eval \"$(cat)\"";

/// What `sh -c` runs for a script sent on stdin ahead of its own stdin,
/// `script` being the script with [`end_line`] `end` after it: `dd` takes
/// exactly its bytes (GNU `dd`'s `count_bytes`, as batched writes need
/// anyway) and leaves the rest to the script. A script cut short (the
/// connection lost mid-transfer) lacks its last line and runs not at all.
/// Then a shell of its own reads it from a pipe (`/dev/fd/5`) with the
/// original stdin back on fd 0: a shell that `eval`s a long script forks
/// its steps two to three times slower, carrying it whole in its memory.
fn read_ahead(script: &[u8], end: &str) -> String {
    format!(
        "exec 6<&0\n\
         s=$(dd bs=65536 iflag=fullblock,count_bytes count={} status=none) || exit 1\n\
         case $s in *{}) ;; *) echo 'kbz-play: the script arrived cut short' >&2; exit 1;; esac\n\
         printf '%s\\n' \"$s\" | sh /dev/fd/5 5<&0 0<&6 6<&-",
        script.len(),
        quote(end)
    )
}

/// The line that ends a script sent on stdin ahead of other bytes: a no-op
/// whose text appears nowhere else.
fn end_line() -> String {
    format!(": kbz-play-end-{}", unique_suffix())
}

/// A script ready for a command line, and what its stdin carries.
#[derive(Debug)]
pub(crate) struct Spilled<'s, 'a> {
    /// The script, or the few lines that read it from stdin.
    pub script: Cow<'s, str>,
    /// The caller's stdin, behind the script when it went there too.
    pub stdin: Option<Cow<'a, [u8]>>,
}

/// `script` as it fits a command line: as is up to [`MAX_INLINE_SCRIPT`],
/// else sent on stdin (ahead of `stdin`, when there is one). Done before a
/// script is wrapped (timeout, run lock guard), so the wrapper's argument
/// stays short whatever the script's length.
pub(crate) fn spill<'s, 'a>(script: &'s str, stdin: Option<&'a [u8]>) -> Spilled<'s, 'a> {
    if script.len() <= MAX_INLINE_SCRIPT {
        return Spilled {
            script: Cow::Borrowed(script),
            stdin: stdin.map(Cow::Borrowed),
        };
    }
    let (head, input) = match stdin {
        None => (EVAL_STDIN.to_string(), script.as_bytes().to_vec()),
        Some(own) => {
            let end = end_line();
            let whole = [script.as_bytes(), b"\n", end.as_bytes(), b"\n"].concat();
            (read_ahead(&whole, &end), [&whole, own].concat())
        }
    };
    Spilled {
        script: Cow::Owned(head),
        stdin: Some(Cow::Owned(input)),
    }
}

/// Seconds between the TERM and the KILL a timed-out script's process group gets.
pub(crate) const KILL_AFTER_SECS: u64 = 2;

/// `script` run under coreutils (or busybox) `timeout`, which makes itself
/// the leader of a new process group and, when `secs` have passed (0: never,
/// GNU coreutils), signals the whole group: a pipeline or a `sleep &` the
/// script started goes too, not only its `sh`. It passes a TERM it gets on
/// to the group too, which is how [`kill_script`] stops it. `exec` keeps the
/// process tree as it was (no extra shell), and under become `timeout` runs
/// inside sudo, so it may kill root's processes. `token` ends its command
/// line (the inner `sh`'s `$0`), so [`kill_script`] can find it.
///
/// First it checks that the host has `timeout` and `pkill` ([`NEEDED`]);
/// if not, it runs nothing and names the missing ones (see
/// [`missing_tools`]), rather than failing as `exec: timeout: not found`
/// or, worse, leaving a command running after Ctrl-C.
pub(crate) fn with_timeout(script: &str, secs: u64, token: &str) -> String {
    let needed = NEEDED.map(|(tool, _)| tool).join(" ");
    format!(
        "m=; for c in {needed}; do command -v $c >/dev/null 2>&1 || m=\"$m $c\"; done\n\
         [ -z \"$m\" ] || {{ printf '{MISSING}%s\\n' \"$m\" >&2; exit {MISSING_RC}; }}\n\
         exec timeout -k {KILL_AFTER_SECS} {secs} sh -c {} {token}",
        quote(script)
    )
}

/// The programs [`with_timeout`] needs on the host, each with the Debian
/// package that has it: `timeout` bounds every script, `pkill` stops one
/// on Ctrl-C ([`kill_script`]).
pub(crate) const NEEDED: [(&str, &str); 2] = [("timeout", "coreutils"), ("pkill", "procps")];

/// Starts the line [`with_timeout`] prints when tools are missing.
const MISSING: &str = "kbz-play: missing:";

/// [`with_timeout`]'s exit status when tools are missing: sysexits'
/// `EX_UNAVAILABLE`. Not the shell's 127 for a command not found, which
/// OpenSSH's mux reports as an error of its own, without stderr.
const MISSING_RC: i32 = 69;

/// The tools [`with_timeout`] found missing on the host, if that is why
/// the script did not run.
pub(crate) fn missing_tools(out: &ExecOutput) -> Option<Vec<String>> {
    if out.rc != MISSING_RC {
        return None;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().find_map(|l| l.strip_prefix(MISSING))?;
    Some(line.split_whitespace().map(str::to_string).collect())
}

/// A name for one script's processes no other process carries.
pub(crate) fn process_token() -> String {
    format!("kbz-play-{}", unique_suffix())
}

/// Sends TERM to the processes whose command line holds `token` (the
/// `timeout` of [`with_timeout`], which passes it on to its group, and its
/// `sh`). The bracket keeps the pattern from matching this script itself.
pub(crate) fn kill_script(token: &str) -> String {
    let (first, rest) = token.split_at(1);
    format!("pkill -TERM -f '[{first}]{rest}' || true")
}

/// Whether `rc` is `timeout`'s own status for a script it stopped: 124
/// after TERM, 128 + 9 when the KILL was needed. A script may exit 124 by
/// itself, so callers also check that the limit has passed.
pub(crate) fn stopped_by_timeout(rc: i32) -> bool {
    rc == 124 || rc == 128 + 9
}

/// How to run one script: the argv and what to feed its stdin.
#[derive(Debug)]
pub(crate) struct Invocation<'a> {
    /// `sh -c ...`, or `sudo -n -H -u USER -- sh -c ...` with become.
    pub argv: Vec<String>,
    /// The caller's stdin, behind the script itself when it is too long for argv.
    pub stdin: Option<Cow<'a, [u8]>>,
}

impl Invocation<'_> {
    /// The argv as one command line for the remote login shell (ssh sends a
    /// single string, which the user's shell parses again).
    pub fn command_line(&self) -> String {
        crate::shell::join(&self.argv)
    }
}

/// How to run `script` with `sh -c`, through `sudo -n` with become; a script
/// too long for argv goes on stdin ([`spill`]).
pub(crate) fn invocation<'a>(
    script: &str,
    stdin: Option<&'a [u8]>,
    become_: Option<&Become>,
) -> Invocation<'a> {
    let Spilled { script, stdin } = spill(script, stdin);
    let argv = match become_ {
        None => vec!["sh".into(), "-c".into(), script.into_owned()],
        Some(b) => vec![
            "sudo".into(),
            "-n".into(),
            "-H".into(),
            "-u".into(),
            b.user.clone(),
            "--".into(),
            "sh".into(),
            "-c".into(),
            format!("printf '\\001kbz-play\\001' >&2\n{script}"),
        ],
    };
    Invocation { argv, stdin }
}

/// Under become: strips the marker from stderr, or turns sudo's refusal into
/// [`TransportError::Become`]. Without become: the output as is.
pub(crate) fn finish(
    host: &str,
    become_: Option<&Become>,
    mut out: ExecOutput,
) -> Result<ExecOutput, TransportError> {
    let Some(b) = become_ else { return Ok(out) };
    match find(&out.stderr, BECOME_MARKER) {
        Some(at) => {
            // Keep whatever sudo printed before (e.g. "unable to resolve host"): it is
            // worth seeing, and the script's own output follows unchanged.
            out.stderr.drain(at..at + BECOME_MARKER.len());
            Ok(out)
        }
        None if out.rc == 0 => Ok(out),
        None => Err(TransportError::Become {
            host: host.to_string(),
            user: b.user.clone(),
            reason: reason_text(&out.stderr, out.rc),
        }),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn reason_text(stderr: &[u8], rc: i32) -> String {
    let text = String::from_utf8_lossy(stderr);
    let text = text.trim();
    if text.is_empty() {
        format!("exit status {rc}")
    } else {
        text.to_string()
    }
}

/// Why a `write_file`/`read_file` script failed, from its stderr.
pub(crate) fn failure_reason(out: &ExecOutput) -> String {
    reason_text(&out.stderr, out.rc)
}

/// A name no other write or command will pick: a write's temp file is
/// created with `O_EXCL` (`set -C`) anyway, this only has to make
/// collisions unlikely.
pub(super) fn unique_suffix() -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

/// Prints the file, or exits with [`READ_MISSING_RC`] when it does not exist.
pub(crate) fn read_script(path: &str) -> String {
    format!(
        "p={}\nif [ -e \"$p\" ]; then exec cat -- \"$p\"; fi\nexit {READ_MISSING_RC}\n",
        quote(path)
    )
}

#[cfg(test)]
mod tests;
