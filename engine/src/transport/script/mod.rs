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

use super::{Become, ExecOutput, TransportError};
use crate::shell::quote;

mod write;

#[cfg(test)]
use write::{split_path, truncate};
pub(crate) use write::{write_script, write_script_from, Input};

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
    /// The caller's stdin, or the script itself when it is too long for argv.
    pub stdin: Option<&'a [u8]>,
}

impl Invocation<'_> {
    /// The argv as one command line for the remote login shell (ssh sends a
    /// single string, which the user's shell parses again).
    pub fn command_line(&self) -> String {
        crate::shell::join(&self.argv)
    }
}

/// How to run `script` with `sh -c`, through `sudo -n` with become. Fails only
/// for a script too long for argv that also has stdin of its own.
pub(crate) fn invocation<'a>(
    script: &'a str,
    stdin: Option<&'a [u8]>,
    become_: Option<&Become>,
) -> Result<Invocation<'a>, String> {
    let (body, stdin) = if script.len() <= MAX_INLINE_SCRIPT {
        (script, stdin)
    } else if stdin.is_none() {
        (EVAL_STDIN, Some(script.as_bytes()))
    } else {
        return Err(format!(
            "the script is {} bytes long: over {MAX_INLINE_SCRIPT} bytes it is sent on stdin, \
             so it cannot take stdin of its own",
            script.len()
        ));
    };
    let argv = match become_ {
        None => vec!["sh".into(), "-c".into(), body.into()],
        Some(b) => vec![
            "sudo".into(),
            "-n".into(),
            "-H".into(),
            "-u".into(),
            b.user.clone(),
            "--".into(),
            "sh".into(),
            "-c".into(),
            format!("printf '\\001kbz-play\\001' >&2\n{body}"),
        ],
    };
    Ok(Invocation { argv, stdin })
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
mod tests {
    use super::*;
    use crate::op::{Expected, WriteFile};
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::process::{Command, Stdio};
    use std::sync::Arc;

    fn wf(path: &str, content: &[u8], mode: Option<u32>) -> WriteFile {
        WriteFile {
            path: path.into(),
            content: Arc::new(content.to_vec()),
            mode,
            owner: None,
            group: None,
            validate: None,
            expect: None,
        }
    }

    /// Runs a script locally with `sh -c`, feeding `stdin`.
    fn run(script: &str, stdin: &[u8]) -> (i32, String) {
        run_in("sh", script, stdin)
    }

    fn run_in(shell: &str, script: &str, stdin: &[u8]) -> (i32, String) {
        let mut child = Command::new(shell)
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A script that refuses early exits without reading its stdin, as the
        // transports allow: a broken pipe there is not a failure.
        match child.stdin.take().unwrap().write_all(stdin) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("{e}"),
            _ => {}
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn leftovers(dir: &std::path::Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".kbz-play."))
            .collect()
    }

    #[test]
    fn a_rejected_file_never_replaces_the_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("haproxy.cfg");
        std::fs::write(&target, "good\n").unwrap();
        let mut file = wf(target.to_str().unwrap(), b"bad \"$(x)\"\n", None);
        file.validate = Some("grep -q '^good' {} || { echo \"$0: no good line\"; exit 3; }".into());
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
        assert_ne!(rc, 0);
        assert!(
            err.contains("validation failed") && err.contains("no good line"),
            "{err}"
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "good\n");
        assert!(leftovers(dir.path()).is_empty());
        file.content = Arc::new(b"good again\n".to_vec());
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
        assert_eq!(rc, 0, "{err}");
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "good again\n");
    }

    #[test]
    fn the_validator_reads_a_private_copy_of_exactly_what_is_installed() {
        let dir = tempfile::tempdir().unwrap();
        let seen = tempfile::tempdir().unwrap();
        let seen = seen.path().join("seen");
        let target = dir.path().join("sudoers");
        let mut file = wf(target.to_str().unwrap(), b"new\n", Some(0o440));
        // What the validator is given: the copy's mode, its folder's, content and path.
        file.validate = Some(format!(
            "stat -c %a {{}} \"$(dirname {{}})\" > {s}; cat {{}} >> {s}; echo {{}} >> {s}",
            s = seen.display()
        ));
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
        assert_eq!(rc, 0, "{err}");
        let seen = std::fs::read_to_string(&seen).unwrap();
        let lines: Vec<&str> = seen.lines().collect();
        assert_eq!(lines[..3], ["440", "700", "new"], "{seen}");
        let copy = std::path::Path::new(lines[3]);
        assert!(
            !copy.starts_with(dir.path()) && copy.ends_with("sudoers"),
            "the validator read {copy:?}, in the target's folder"
        );
        assert!(!copy.parent().unwrap().exists(), "its folder is removed");
        assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_write_expecting_what_is_no_longer_there_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("conf");
        std::fs::write(&target, "edited meanwhile\n").unwrap();
        let mut file = wf(target.to_str().unwrap(), b"new\n", None);
        for expect in [
            Expected::Missing,
            Expected::Sha256(crate::digest::sha256_hex(b"as probed\n")),
        ] {
            file.expect = Some(expect);
            let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
            assert_eq!(rc, CHANGED_RC, "{err}");
            assert!(
                err.contains("changed on the host since it was probed"),
                "{err}"
            );
            assert_eq!(std::fs::read(&target).unwrap(), b"edited meanwhile\n");
            assert!(leftovers(dir.path()).is_empty());
        }
        file.expect = Some(Expected::Sha256(crate::digest::sha256_hex(
            b"edited meanwhile\n",
        )));
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
        assert_eq!(rc, 0, "{err}");
        std::fs::remove_file(&target).unwrap();
        file.expect = Some(Expected::Missing);
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
        assert_eq!(rc, 0, "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
    }

    #[test]
    fn a_symlink_swapped_in_at_the_target_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        let target = dir.path().join("conf");
        // What a service could plant once the write script has checked the target.
        let file = wf(target.to_str().unwrap(), b"new\n", None);
        let script = write_script(&file).unwrap().replace(
            "mv -fT",
            &format!("ln -s {} \"$t\"; mv -fT", elsewhere.display()),
        );
        let (rc, err) = run(&script, &file.content);
        assert_eq!(rc, 0, "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
        assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    }

    #[test]
    fn paths_are_checked() {
        assert!(split_path("relative").is_err());
        assert!(split_path("/etc/").is_err());
        assert!(split_path("/etc/..").is_err());
        assert_eq!(split_path("/f").unwrap(), ("/", "f"));
        assert_eq!(split_path("/etc/a b").unwrap(), ("/etc", "a b"));
        assert_eq!(truncate("héllo", 2), "h");
    }

    #[test]
    fn write_replaces_the_target_and_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("it's a file");
        std::fs::write(&target, "old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let file = wf(target.to_str().unwrap(), b"new\0binary\n", None);
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
        assert_eq!(rc, 0, "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"new\0binary\n");
        assert_eq!(
            std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
            0o600
        );
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn new_files_get_0644_or_the_given_mode() {
        let dir = tempfile::tempdir().unwrap();
        for (name, mode, want) in [("a", None, 0o644), ("b", Some(0o640), 0o640)] {
            let target = dir.path().join(name);
            let file = wf(target.to_str().unwrap(), b"x", mode);
            let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
            assert_eq!(rc, 0, "{err}");
            assert_eq!(
                std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
                want
            );
        }
    }

    #[test]
    fn a_short_stream_leaves_the_target_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("conf");
        std::fs::write(&target, "old").unwrap();
        let file = wf(target.to_str().unwrap(), b"the whole new content", None);
        // The connection "drops" after 7 bytes.
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content[..7]);
        assert_eq!(rc, 1);
        assert!(err.contains("only 7 of 21 bytes arrived"), "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn missing_tools_are_named_and_nothing_runs() {
        let dir = tempfile::tempdir().unwrap();
        let ran = dir.path().join("ran");
        let script = with_timeout(&format!("touch {}", ran.display()), 5, "tok");
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(&script)
            .env("PATH", dir.path())
            .output()
            .unwrap();
        let out = ExecOutput {
            rc: out.status.code().unwrap(),
            stdout: out.stdout,
            stderr: out.stderr,
        };
        assert_eq!(
            missing_tools(&out),
            Some(vec!["timeout".to_string(), "pkill".to_string()])
        );
        assert!(!ran.exists());
        let out = Command::new("sh").arg("-c").arg(&script).output().unwrap();
        assert!(out.status.success(), "{out:?}");
        assert!(ran.exists());
    }

    #[test]
    fn a_full_disk_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("conf");
        std::fs::write(&target, "old").unwrap();
        // A `dd` that fails as GNU dd does on a full file system.
        let shim = dir.path().join("bin");
        std::fs::create_dir(&shim).unwrap();
        std::fs::write(
            shim.join("dd"),
            "#!/bin/sh\necho \"dd: error writing 'standard output': No space left on device\" >&2\nexit 1\n",
        )
        .unwrap();
        std::fs::set_permissions(shim.join("dd"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let file = wf(target.to_str().unwrap(), b"new", None);
        let path = format!("{}:{}", shim.display(), std::env::var("PATH").unwrap());
        let out = Command::new("sh")
            .arg("-c")
            .arg(write_script(&file).unwrap())
            .env("PATH", path)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        let dir_text = dir.path().display();
        assert_eq!(
            err.trim(),
            format!(
                "No space left on device; {} left unchanged, the temp file removed; free space \
                 on the file system that holds it (df -h {dir_text}), then run again",
                target.display()
            )
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn failures_remove_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("conf");
        let mut file = wf(target.to_str().unwrap(), b"x", None);
        file.owner = Some("no-such-user-kbz".into());
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
        assert_eq!(rc, 1);
        assert!(err.contains("cannot set the owner/group"), "{err}");
        assert!(!target.exists());
        assert!(leftovers(dir.path()).is_empty());
        // A directory in the way is refused before anything is written.
        std::fs::create_dir(&target).unwrap();
        let (rc, err) = run(
            &write_script(&wf(target.to_str().unwrap(), b"x", None)).unwrap(),
            b"x",
        );
        assert_eq!(rc, 1);
        assert!(err.contains("is a directory"), "{err}");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_write_removes_the_temp_files_a_dead_host_left_for_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a b*.conf");
        let ours = dir.path().join(".kbz-play.a b*.conf.0123456789ab");
        let kept = [
            ".kbz-play.other.conf.0123456789ab",
            ".kbz-play.a b*.conf.keep",
            "a b*.conf.0123456789ab",
        ];
        std::fs::write(&ours, "half of it").unwrap();
        for name in kept {
            std::fs::write(dir.path().join(name), "not ours to remove").unwrap();
        }
        let file = wf(target.to_str().unwrap(), b"new\n", None);
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
        assert_eq!(rc, 0, "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
        assert!(!ours.exists(), "the dead write's temp file is still there");
        for name in kept {
            assert!(dir.path().join(name).exists(), "{name} was removed");
        }
    }

    #[test]
    fn the_write_script_is_posix() {
        let dir = tempfile::tempdir().unwrap();
        for shell in ["dash", "bash", "busybox"] {
            if Command::new(shell).arg("-c").arg("true").output().is_err() {
                eprintln!("{shell} not installed, not tried");
                continue;
            }
            let target = dir.path().join(shell);
            std::fs::write(&target, "old").unwrap();
            let file = wf(target.to_str().unwrap(), b"new", Some(0o755));
            let script = write_script(&file).unwrap();
            let (rc, err) = match shell {
                "busybox" => run_in(
                    "busybox",
                    &format!("sh -c {}", quote(&script)),
                    &file.content,
                ),
                _ => run_in(shell, &script, &file.content),
            };
            assert_eq!(rc, 0, "{shell}: {err}");
            assert_eq!(std::fs::read(&target).unwrap(), b"new");
            assert_eq!(
                std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
                0o755
            );
        }
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn long_names_still_fit_in_a_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("n".repeat(250));
        let file = wf(target.to_str().unwrap(), b"x", None);
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
        assert_eq!(rc, 0, "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"x");
    }

    #[test]
    fn read_distinguishes_missing_from_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let (rc, _) = run(&read_script(dir.path().join("nope").to_str().unwrap()), b"");
        assert_eq!(rc, READ_MISSING_RC);
        let (rc, err) = run(&read_script(dir.path().to_str().unwrap()), b"");
        assert_eq!(rc, 1, "{err}");
    }

    #[test]
    fn become_marker_is_stripped_or_reported() {
        let b = Become::default();
        let out = |stderr: &[u8], rc| ExecOutput {
            rc,
            stdout: vec![],
            stderr: stderr.to_vec(),
        };
        let ok = finish(
            "h",
            Some(&b),
            out(b"sudo: unable to resolve host h\n\x01kbz-play\x01oops\n", 2),
        )
        .unwrap();
        assert_eq!(ok.stderr, b"sudo: unable to resolve host h\noops\n");
        assert_eq!(ok.rc, 2);
        let err = finish("h", Some(&b), out(b"sudo: a password is required\n", 1)).unwrap_err();
        assert!(matches!(err, TransportError::Become { .. }), "{err}");
        assert!(err.to_string().contains("NOPASSWD"), "{err}");
        // Without become, stderr is the script's own.
        let plain = finish("h", None, out(b"sudo: a password is required\n", 1)).unwrap();
        assert_eq!(plain.rc, 1);
    }

    #[test]
    fn become_command_line_prints_the_marker_first() {
        let b = Become {
            user: "postgres".into(),
        };
        let line = invocation("echo 'hi'", None, Some(&b))
            .unwrap()
            .command_line();
        assert!(
            line.starts_with("sudo -n -H -u postgres -- sh -c "),
            "{line}"
        );
        let line = invocation("echo 'hi' >&2", None, None)
            .unwrap()
            .command_line();
        let out = Command::new("sh").arg("-c").arg(line).output().unwrap();
        assert_eq!(out.stderr, b"hi\n");
        // The become script, run without sudo, shows the marker then the script's stderr.
        let script = invocation("echo 'hi' >&2", None, Some(&Become::default()))
            .unwrap()
            .argv
            .pop()
            .unwrap();
        let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
        assert_eq!(out.stderr, b"\x01kbz-play\x01hi\n");
    }

    #[test]
    fn long_scripts_go_on_stdin() {
        let script = format!("{}echo \"$0\" done", ": padding\n".repeat(30_000));
        let inv = invocation(&script, None, None).unwrap();
        assert_eq!(inv.stdin, Some(script.as_bytes()));
        assert!(inv.command_line().len() < 100);
        let (rc, _) = run_in("sh", &inv.argv[2], script.as_bytes());
        assert_eq!(rc, 0);
        assert!(invocation(&script, Some(b"data"), None).is_err());
        assert_eq!(
            invocation("true", Some(b"data"), None).unwrap().stdin,
            Some(&b"data"[..])
        );
    }
}
