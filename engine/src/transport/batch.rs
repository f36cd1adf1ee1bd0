//! Many changes in one round trip: the script behind [`super::Transport::apply`].
//!
//! A batch is one `sh -c` script whose steps run in order, each in its own
//! subshell (so a step's `exit`, `umask`, traps and variables stay its own),
//! and stops at the first step that fails. Commands get `/dev/null` as stdin;
//! file writes share the script's stdin, which carries every file's content
//! back to back, each write taking exactly its own bytes (see
//! [`Input::NextBytes`]). However many steps, it is one script and one
//! transfer: a script too long for a command line travels on stdin ahead of
//! the files ([`script::spill`]), not in several round trips.
//!
//! Before each step the script prints a marker with the step's index on
//! stderr, so a failure names its step, and the message is what that step
//! printed after its marker.

use super::script::{self, Input};
use crate::op::Action;

/// Starts the marker line printed before each step: `\x1e<index>\n`.
const STEP_MARKER: u8 = 0x1e;

/// The script of a whole batch, and its stdin.
#[derive(Debug)]
pub(crate) struct Script {
    /// The script.
    pub script: String,
    /// The content of every write, in step order.
    pub stdin: Vec<u8>,
}

/// Why a step was refused before anything ran.
#[derive(Debug)]
pub(crate) struct Refused {
    /// Index of the step.
    pub step: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// The one script that runs `steps`.
pub(crate) fn script(steps: &[Action]) -> Result<Script, Refused> {
    let mut out = Script {
        script: String::new(),
        stdin: Vec::new(),
    };
    for (index, action) in steps.iter().enumerate() {
        let step = step_script(index, action).map_err(|reason| Refused {
            step: index,
            reason,
        })?;
        out.script.push_str(&step);
        if let Action::Write(w) = action {
            out.stdin.extend_from_slice(&w.content);
        }
    }
    Ok(out)
}

/// Why a command with input cannot join a batch: the batch's stdin carries
/// the files' contents, so the command would read those instead.
const UNBATCHABLE_INPUT: &str = "a command with input on stdin cannot run in a batch";

/// One step: its marker, then the step in a subshell; the batch exits with
/// the step's status when it fails.
fn step_script(index: usize, action: &Action) -> Result<String, String> {
    let marker = format!("printf '\\036%s\\n' {index} >&2\n");
    let body = match action {
        Action::Exec { input: Some(_), .. } => return Err(UNBATCHABLE_INPUT.to_string()),
        Action::Exec { script, .. } => format!("(\n{script}\n) </dev/null || exit $?\n"),
        Action::Write(w) => format!(
            "(\n{}) || exit $?\n",
            script::write_script_from(w, Input::NextBytes)?
        ),
    };
    Ok(format!("{marker}{body}"))
}

/// The step that failed, given a failed batch's stderr, and what it printed.
/// Without any marker the shell failed before the first step.
pub(crate) fn failed_step(stderr: &[u8]) -> (usize, String) {
    let mut step = 0;
    let mut rest = stderr;
    let mut at = 0;
    while at < rest.len() {
        if rest[at] == STEP_MARKER {
            let line_end = rest[at..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |n| at + n);
            if let Some(n) = std::str::from_utf8(&rest[at + 1..line_end])
                .ok()
                .and_then(|s| s.parse::<usize>().ok())
            {
                step = n;
                rest = &rest[(line_end + 1).min(rest.len())..];
                at = 0;
                continue;
            }
        }
        at += 1;
    }
    (step, String::from_utf8_lossy(rest).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::WriteFile;
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::sync::Arc;

    fn write(path: &std::path::Path, content: &str) -> Action {
        Action::Write(WriteFile {
            path: path.to_str().unwrap().into(),
            content: Arc::new(content.as_bytes().to_vec()),
            mode: Some(0o640),
            ..WriteFile::default()
        })
    }

    /// Runs the batch locally as the transports would (a long script on
    /// stdin ahead of the files): the failed step and its message, if any.
    fn run(steps: &[Action]) -> Option<(usize, String)> {
        let batch = script(steps).unwrap();
        let inv = script::invocation(&batch.script, Some(&batch.stdin), None);
        let mut child = Command::new(&inv.argv[0])
            .args(&inv.argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        match child.stdin.take().unwrap().write_all(&inv.stdin.unwrap()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("{e}"),
            _ => {}
        }
        let out = child.wait_with_output().unwrap();
        (!out.status.success()).then(|| failed_step(&out.stderr))
    }

    #[test]
    fn writes_take_their_own_bytes_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let big = "x".repeat(200_000) + "\n";
        let steps = [
            Action::exec(format!("mkdir -p {}/conf", d.display())),
            write(&d.join("conf/a.yml"), "a: 1\n"),
            write(&d.join("conf/big"), &big),
            write(&d.join("empty"), ""),
            write(&d.join("conf/b.yml"), "b: 2\n"),
            Action::exec(format!(
                "cat {0}/conf/a.yml {0}/conf/b.yml > {0}/ab",
                d.display()
            )),
        ];
        assert_eq!(run(&steps), None);
        assert_eq!(
            std::fs::read_to_string(d.join("conf/a.yml")).unwrap(),
            "a: 1\n"
        );
        assert_eq!(std::fs::read_to_string(d.join("conf/big")).unwrap(), big);
        assert_eq!(std::fs::read_to_string(d.join("empty")).unwrap(), "");
        assert_eq!(
            std::fs::read_to_string(d.join("ab")).unwrap(),
            "a: 1\nb: 2\n"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("conf/b.yml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o640);
    }

    #[test]
    fn the_first_failure_stops_the_batch_and_names_its_step() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("is-a-dir")).unwrap();
        let steps = [
            write(&d.join("first"), "1\n"),
            Action::exec("echo noise >&2; true"),
            write(&d.join("is-a-dir"), "2\n"),
            write(&d.join("never"), "3\n"),
        ];
        let (step, message) = run(&steps).unwrap();
        assert_eq!(step, 2);
        assert!(message.contains("is a directory"), "{message}");
        assert!(!message.contains("noise"), "{message}");
        assert!(d.join("first").exists());
        assert!(!d.join("never").exists());
        let (step, message) =
            run(&[Action::exec("true"), Action::exec("echo nope >&2; exit 7")]).unwrap();
        assert_eq!((step, message.as_str()), (1, "nope"));
    }

    #[test]
    fn a_validator_reading_stdin_cannot_eat_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut first = write(&d.join("first"), "1\n");
        if let Action::Write(w) = &mut first {
            w.validate = Some("head -c 3 >/dev/null; cat >/dev/null; true".into());
        }
        let steps = [
            first,
            write(&d.join("second"), "second\n"),
            write(&d.join("third"), "3\n"),
        ];
        assert_eq!(run(&steps), None);
        for (name, want) in [("first", "1\n"), ("second", "second\n"), ("third", "3\n")] {
            assert_eq!(std::fs::read_to_string(d.join(name)).unwrap(), want);
        }
    }

    #[test]
    fn a_step_cannot_leak_into_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let steps = [
            Action::exec("x=leaked; cd /; umask 777; exit 0"),
            Action::exec(format!(
                "echo \"[$x]\" > {}; read line || echo eof >> {0}",
                out.display()
            )),
            write(&dir.path().join("after"), "ok\n"),
        ];
        assert_eq!(run(&steps), None);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "[]\neof\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("after")).unwrap(),
            "ok\n"
        );
    }

    #[test]
    fn a_batch_too_long_for_a_command_line_is_still_one_script() {
        let dir = tempfile::tempdir().unwrap();
        let steps: Vec<Action> = (0..300)
            .map(|i| write(&dir.path().join(format!("f{i}")), &format!("{i}\n")))
            .collect();
        let batch = script(&steps).unwrap();
        assert!(batch.script.len() > script::MAX_INLINE_SCRIPT * 2);
        let inv = script::invocation(&batch.script, Some(&batch.stdin), None);
        assert!(inv.command_line().len() < 400, "{}", inv.command_line());
        assert_eq!(run(&steps), None);
        for i in [0, 149, 299] {
            let got = std::fs::read_to_string(dir.path().join(format!("f{i}"))).unwrap();
            assert_eq!(got, format!("{i}\n"));
        }
        // A failure deep in it still names its step.
        let mut failing = steps;
        failing.push(Action::exec("echo last >&2; exit 3"));
        assert_eq!(run(&failing), Some((300, "last".to_string())));
    }

    #[test]
    fn a_command_with_input_is_refused() {
        let steps = [
            Action::exec("true"),
            Action::exec_with_input("cat", b"secret".to_vec()),
        ];
        let refused = script(&steps).unwrap_err();
        assert_eq!(
            (refused.step, refused.reason.as_str()),
            (1, UNBATCHABLE_INPUT)
        );
    }
}
