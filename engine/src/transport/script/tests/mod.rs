//! The scripts the transports run: invocation, become, timeouts, reads.
//! The write script's tests are in `write.rs`.

use super::*;
use std::io::Write;
use std::process::{Command, Stdio};

mod write;

/// Runs a script locally with `sh -c`, feeding `stdin`.
pub(super) fn run(script: &str, stdin: &[u8]) -> (i32, String) {
    run_in("sh", script, stdin)
}

/// Runs a script locally with `shell -c`, feeding `stdin`: (exit code, stderr).
pub(super) fn run_in(shell: &str, script: &str, stdin: &[u8]) -> (i32, String) {
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
    let line = invocation("echo 'hi'", None, Some(&b)).command_line();
    assert!(
        line.starts_with("sudo -n -H -u postgres -- sh -c "),
        "{line}"
    );
    let line = invocation("echo 'hi' >&2", None, None).command_line();
    let out = Command::new("sh").arg("-c").arg(line).output().unwrap();
    assert_eq!(out.stderr, b"hi\n");
    // The become script, run without sudo, shows the marker then the script's stderr.
    let script = invocation("echo 'hi' >&2", None, Some(&Become::default()))
        .argv
        .pop()
        .unwrap();
    let out = Command::new("sh").arg("-c").arg(script).output().unwrap();
    assert_eq!(out.stderr, b"\x01kbz-play\x01hi\n");
}

#[test]
fn long_scripts_go_on_stdin() {
    let script = format!("{}echo \"$0\" done", ": padding\n".repeat(30_000));
    let inv = invocation(&script, None, None);
    assert_eq!(inv.stdin.as_deref(), Some(script.as_bytes()));
    assert!(inv.command_line().len() < 100);
    let (rc, _) = run_in("sh", &inv.argv[2], script.as_bytes());
    assert_eq!(rc, 0);
    assert_eq!(
        invocation("true", Some(b"data"), None).stdin.as_deref(),
        Some(&b"data"[..])
    );
}

#[test]
fn a_long_script_with_stdin_of_its_own_reads_it_after_itself() {
    let script = format!("{}cat; echo \" $x\"", ": padding\n".repeat(30_000));
    let script = format!("x=set\n{script}");
    let inv = invocation(&script, Some(b"own input"), None);
    assert!(inv.command_line().len() < 400);
    let out = Command::new("sh")
        .args(&inv.argv[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(&inv.stdin.unwrap())?;
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "own input set\n");
}

#[test]
fn a_long_script_cut_short_runs_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("ran");
    let script = format!("touch {}\n{}", mark.display(), ": padding\n".repeat(30_000));
    let inv = invocation(&script, Some(b"own input"), None);
    let sent = inv.stdin.unwrap();
    let (rc, stderr) = run_in("sh", &inv.argv[2], &sent[..sent.len() / 2]);
    assert_eq!(rc, 1);
    assert!(stderr.contains("cut short"), "{stderr}");
    assert!(!mark.exists());
}
