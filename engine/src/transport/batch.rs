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
//! Some consecutive steps run as one ([`super::merge`]): the writes of one
//! file each planned from what the one before leaves (a play's `line` edits
//! of `sshd_config`), and new directories with one mode.
//!
//! Before each step the script prints a marker with the step's index on
//! stderr, so a failure names its step, and the message is what that step
//! printed after its marker.

use super::merge::{directories_script, merged, Merged};
use super::script::{self, Input};
use crate::op::Action;

/// Starts the marker line printed before each step: `\x1e<index>\n`.
const STEP_MARKER: u8 = 0x1e;

/// The `printf` format of a marker line, its index the argument.
const MARKER: &str = "\\036%s";

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
    let mut index = 0;
    while index < steps.len() {
        let (step, absorbed) = merged(&steps[index..]);
        let text = step_script(index, &step).map_err(|reason| Refused {
            step: index,
            reason,
        })?;
        out.script.push_str(&text);
        if let Merged::One(action) = &step {
            if let Action::Write(w) = action.as_ref() {
                out.stdin.extend_from_slice(&w.content);
                out.stdin.extend_from_slice(script::END_OF_CONTENT);
            }
        }
        index += 1 + absorbed;
    }
    Ok(out)
}

/// Why a command with input cannot join a batch: the batch's stdin carries
/// the files' contents, so the command would read those instead.
const UNBATCHABLE_INPUT: &str = "a command with input on stdin cannot run in a batch";

/// One step: its marker, then the step in a subshell; the batch exits with
/// the step's status when it fails.
fn step_script(index: usize, step: &Merged) -> Result<String, String> {
    let marker = format!("printf '{MARKER}\\n' {index} >&2\n");
    let action = match step {
        Merged::One(action) => action.as_ref(),
        Merged::Directories(dirs) => {
            let body = directories_script(index, dirs, MARKER);
            return Ok(format!("{marker}(\n{body}) </dev/null || exit $?\n"));
        }
    };
    let body = match action {
        Action::Exec { input: Some(_), .. } => return Err(UNBATCHABLE_INPUT.to_string()),
        Action::Exec { script, .. } => format!("(\n{script}\n) </dev/null || exit $?\n"),
        Action::Mkdir(d) => format!("(\n{}\n) </dev/null || exit $?\n", d.script()),
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
    use crate::digest::sha256_hex;
    use crate::op::{Expected, NewDirectory, WriteFile};
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
        run_script(&batch.script, &batch.stdin)
    }

    /// [`run`], each of `programs` counted: the batch's failure, if any,
    /// and the programs it started, in order.
    fn run_counting(
        steps: &[Action],
        programs: &[&str],
        cut: impl Fn(&[u8]) -> &[u8],
    ) -> (Option<(usize, String)>, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("started");
        let batch = script(steps).unwrap();
        let mut counted: String = programs
            .iter()
            .map(|p| {
                format!(
                    "{p}() {{ echo {p} >> {}; command {p} \"$@\"; }}\n",
                    log.display()
                )
            })
            .collect();
        counted.push_str(&batch.script);
        let failure = run_script(&counted, cut(&batch.stdin));
        let started = std::fs::read_to_string(&log).unwrap_or_default();
        (failure, started.lines().map(str::to_string).collect())
    }

    fn run_script(batch: &str, stdin: &[u8]) -> Option<(usize, String)> {
        let out = run_batch(batch, stdin);
        (!out.status.success()).then(|| failed_step(&out.stderr))
    }

    /// Runs a batch's script as the transports would: its exit status and output.
    fn run_batch(batch: &str, stdin: &[u8]) -> std::process::Output {
        let inv = script::invocation(batch, Some(stdin), None);
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
        child.wait_with_output().unwrap()
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

    fn mode_of(path: &std::path::Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    const COUNTED: [&str; 7] = ["dd", "stat", "chmod", "chown", "mv", "sha256sum", "rm"];

    #[test]
    fn a_new_file_in_a_batch_starts_only_dd_and_mv() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let mut default_mode = write(&d.join("readme"), "hello\n");
        if let Action::Write(w) = &mut default_mode {
            w.mode = None;
        }
        let steps = [write(&d.join("app.conf"), "a: 1\n"), default_mode];
        let (failure, started) = run_counting(&steps, &COUNTED, |s| s);
        assert_eq!(failure, None);
        assert_eq!(started, ["dd", "mv", "dd", "mv"]);
        assert_eq!(mode_of(&d.join("app.conf")), 0o640);
        assert_eq!(mode_of(&d.join("readme")), 0o644);
        assert_eq!(
            std::fs::read_to_string(d.join("readme")).unwrap(),
            "hello\n"
        );
    }

    #[test]
    fn a_file_the_umask_cannot_make_still_gets_its_chmod() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("old.conf"), "old\n").unwrap();
        let mut script = write(&d.join("run.sh"), "#!/bin/sh\n");
        let mut owned = write(&d.join("owned.conf"), "o\n");
        if let (Action::Write(s), Action::Write(o)) = (&mut script, &mut owned) {
            s.mode = Some(0o750);
            o.owner = Some(whoami());
        }
        let steps = [script, write(&d.join("old.conf"), "new\n"), owned];
        let (failure, started) = run_counting(&steps, &["chmod", "stat"], |s| s);
        assert_eq!(failure, None);
        assert_eq!(started, ["chmod", "stat", "chmod", "chmod"]);
        for (name, mode) in [
            ("run.sh", 0o750),
            ("old.conf", 0o640),
            ("owned.conf", 0o640),
        ] {
            assert_eq!(mode_of(&d.join(name)), mode, "{name}");
        }
    }

    fn whoami() -> String {
        let out = Command::new("id").arg("-un").output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    #[test]
    fn a_stream_cut_short_in_a_batch_leaves_that_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("second"), "old\n").unwrap();
        let steps = [
            write(&d.join("first"), "1\n"),
            write(&d.join("second"), "the whole new content\n"),
            write(&d.join("third"), "3\n"),
        ];
        let first_len = 2 + script::END_OF_CONTENT.len();
        // Cut inside the content, then right after it (before its end line).
        for cut in [first_len + 7, first_len + 22] {
            std::fs::remove_file(d.join("first")).ok();
            let (failure, _) = run_counting(&steps, &[], |s| &s[..cut]);
            let (step, message) = failure.unwrap();
            assert_eq!(step, 1, "{message}");
            assert!(message.contains("arrived cut short"), "{message}");
            assert_eq!(std::fs::read_to_string(d.join("first")).unwrap(), "1\n");
            assert_eq!(std::fs::read_to_string(d.join("second")).unwrap(), "old\n");
            assert!(!d.join("third").exists());
            let left: Vec<_> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .filter(|n| n.to_string_lossy().starts_with(".kbz-play."))
                .collect();
            assert!(left.is_empty(), "{left:?}");
        }
    }

    /// Three edits of one file, each planned from the text the one before
    /// leaves, as a play's `line` ops plan them.
    fn chained_edits(path: &std::path::Path, probed: &str) -> Vec<Action> {
        let texts = ["a\n", "a\nb\n", "a\nb\nc\n"];
        let mut before = probed.to_string();
        texts
            .iter()
            .map(|text| {
                let mut step = write(path, text);
                if let Action::Write(w) = &mut step {
                    w.expect = Some(Expected::Sha256(sha256_hex(before.as_bytes())));
                }
                before = text.to_string();
                step
            })
            .collect()
    }

    #[test]
    fn chained_writes_of_one_file_reach_it_as_one() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("sshd_config");
        std::fs::write(&conf, "probed\n").unwrap();
        let mut steps = chained_edits(&conf, "probed\n");
        steps.push(write(&dir.path().join("after"), "x\n"));
        let (failure, started) = run_counting(&steps, &["mv", "sha256sum"], |s| s);
        assert_eq!(failure, None);
        assert_eq!(started, ["sha256sum", "mv", "mv"]);
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), "a\nb\nc\n");
        assert_eq!(
            std::fs::read_to_string(dir.path().join("after")).unwrap(),
            "x\n"
        );
    }

    #[test]
    fn a_merged_write_fails_as_the_first_of_its_chain() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("sshd_config");
        std::fs::write(&conf, "changed by hand\n").unwrap();
        let mut steps = vec![Action::exec("true")];
        steps.extend(chained_edits(&conf, "probed\n"));
        let batch = script(&steps).unwrap();
        let out = run_batch(&batch.script, &batch.stdin);
        assert_eq!(out.status.code(), Some(script::CHANGED_RC));
        assert_eq!(failed_step(&out.stderr).0, 1);
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), "changed by hand\n");
    }

    /// Why a write is not merged, how to make it so, and the writes left.
    type Case = (&'static str, fn(&mut WriteFile), usize);

    #[test]
    fn writes_are_merged_only_when_each_replaces_the_one_before() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("app.conf");
        let unchained = |edit: fn(&mut WriteFile)| {
            let mut steps = chained_edits(&conf, "");
            if let Action::Write(w) = &mut steps[1] {
                edit(w);
            }
            steps
        };
        // The second write starts a step of its own; the third joins it
        // unless what sets the second apart also sets it apart from the third.
        let cases: [Case; 4] = [
            ("no compare-and-swap", |w| w.expect = None, 2),
            ("another mode", |w| w.mode = Some(0o600), 3),
            ("a validator", |w| w.validate = Some("true".into()), 3),
            (
                "planned from other text",
                |w| w.expect = Some(Expected::Sha256(sha256_hex(b"other\n"))),
                2,
            ),
        ];
        for (why, edit, steps) in cases {
            let writes = script(&unchained(edit))
                .unwrap()
                .script
                .matches("mv -fT")
                .count();
            assert_eq!(writes, steps, "{why}");
        }
        assert_eq!(
            script(&chained_edits(&conf, ""))
                .unwrap()
                .script
                .matches("mv -fT")
                .count(),
            1
        );
    }

    fn mkdir(path: &std::path::Path, mode: u32) -> Action {
        Action::Mkdir(NewDirectory {
            path: path.to_str().unwrap().into(),
            mode: Some(mode),
        })
    }

    #[test]
    fn new_directories_with_one_mode_share_their_mkdir() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("etc")).unwrap();
        let steps = [
            mkdir(&d.join("opt/a"), 0o750),
            mkdir(&d.join("opt/a/data"), 0o750),
            mkdir(&d.join("opt/b/data"), 0o750),
            mkdir(&d.join("etc/x.d"), 0o755),
            mkdir(&d.join("etc/y.d"), 0o755),
            write(&d.join("opt/a/data/f"), "f\n"),
        ];
        let (failure, started) = run_counting(&steps, &["mkdir", "dd", "mv"], |s| s);
        assert_eq!(failure, None);
        // The parents (opt, opt/b) with `mkdir -p`, then one `mkdir -m` a mode.
        assert_eq!(started, ["mkdir", "mkdir", "mkdir", "dd", "mv"]);
        for (path, mode) in [
            ("opt/a", 0o750),
            ("opt/a/data", 0o750),
            ("opt/b/data", 0o750),
            ("etc/x.d", 0o755),
            ("etc/y.d", 0o755),
        ] {
            assert_eq!(mode_of(&d.join(path)), mode, "{path}");
        }
        assert_eq!(
            std::fs::read_to_string(d.join("opt/a/data/f")).unwrap(),
            "f\n"
        );
    }

    #[test]
    fn a_directory_made_meanwhile_fails_its_own_step() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("b")).unwrap();
        let steps = [
            Action::exec("true"),
            mkdir(&d.join("a"), 0o750),
            mkdir(&d.join("b"), 0o750),
            mkdir(&d.join("c"), 0o750),
        ];
        let (step, message) = run(&steps).unwrap();
        assert_eq!(step, 2, "{message}");
        let b = d.join("b");
        assert_eq!(
            message,
            format!(
                "mkdir: cannot create directory '{}': File exists",
                b.display()
            )
        );
        assert!(d.join("a").is_dir());
        assert!(!d.join("c").exists());
    }

    #[test]
    fn a_failing_mkdir_names_the_first_directory_it_did_not_make() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let steps = [
            mkdir(&d.join("a"), 0o700),
            mkdir(&d.join("n".repeat(300)), 0o700),
            mkdir(&d.join("c"), 0o700),
        ];
        let (step, message) = run(&steps).unwrap();
        assert_eq!(step, 1, "{message}");
        assert!(message.contains("File name too long"), "{message}");
        assert!(d.join("a").is_dir());
    }

    #[test]
    fn a_folder_made_by_another_in_between_fails_within_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let steps = [
            mkdir(&d.join("a"), 0o700),
            mkdir(&d.join("b"), 0o700),
            Action::exec("true"),
        ];
        // Another makes the first folder between the check and `mkdir`.
        let batch = script(&steps).unwrap();
        let racing = format!(
            "mkdir() {{ [ \"$1\" != -m ] || command mkdir \"$4\"; command mkdir \"$@\"; }}\n{}",
            batch.script
        );
        let (step, message) = run_script(&racing, &batch.stdin).unwrap();
        assert_eq!(step, 1, "{message}");
        assert!(message.contains("File exists"), "{message}");
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
