use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::op::{Change, OpError, Plan, Symbol};
use crate::programs_started::ProgramsStarted;

fn ask(script: &str, input: Option<&str>) -> Ask {
    Ask {
        script: script.into(),
        input: input.map(|i| Input(Arc::new(i.as_bytes().to_vec()))),
        check: script.into(),
        wait: false,
        guard: false,
    }
}

fn wait(script: &str, check: &str) -> Ask {
    Ask {
        check: check.into(),
        wait: true,
        ..ask(script, None)
    }
}

/// Runs `asks` as the opening does, the whole batch on `sh`'s stdin (where
/// a command reading its stdin would find the rest of the batch), under a
/// locale other than the probe batch's, and parses the answers.
fn opening(asks: &[Ask], limit: Duration) -> Answers {
    opening_on(asks, limit, None)
}

/// [`opening`] with `path` as the batch's PATH, when given.
fn opening_on(asks: &[Ask], limit: Duration, path: Option<&std::path::Path>) -> Answers {
    use std::io::Write;
    let script = format!("{}echo '@@kbz-end'\n", render(asks, limit));
    let mut sh = std::process::Command::new("/bin/sh");
    if let Some(path) = path {
        sh.env("PATH", path);
    }
    let mut sh = sh
        .arg("-s")
        .env("LC_ALL", "POSIX")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    sh.stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = sh.wait_with_output().unwrap();
    parse(asks, &String::from_utf8_lossy(&out.stdout), 7)
}

fn answer<'a>(answers: &'a Answers, a: &Ask) -> Option<&'a ExecOutput> {
    let (script, input) = a.command();
    answers.get(script, input, 7)
}

#[test]
fn a_command_is_answered_with_its_env_on_stdin() {
    let env = "eval \"$(cat)\" || exit\nprintf '%s\\n' \"$KBZ_SECRET\"; echo oops >&2; exit 3";
    let asked = ask(env, Some("export KBZ_SECRET='s3 cr'\n"));
    let stdin = ask("cat; echo done", None);
    let answers = opening(&[asked.clone(), stdin.clone()], Duration::from_secs(60));
    let out = answer(&answers, &asked).expect("answered");
    assert_eq!(
        (out.rc, &out.stdout[..], &out.stderr[..]),
        (3, &b"s3 cr"[..], &b"oops"[..])
    );
    // Its stdin is empty, never the rest of the batch.
    assert_eq!(answer(&answers, &stdin).unwrap().stdout, b"done");
}

/// The asks are most of what a site's no-op rerun costs its hosts: each
/// starts `timeout`, its `sh` and one `base64`, and a decoding `base64`
/// only for its env. Before, five programs each.
#[test]
fn an_ask_starts_three_programs_and_a_fourth_for_its_env() {
    let programs = ProgramsStarted::wrapping(&["timeout", "sh", "base64"]);
    let plain = ask("echo out; echo err >&2; exit 4", None);
    let env = ask("read -r l; echo \"$l\"", Some("export A=1\n"));
    let limit = Duration::from_secs(60);
    let answers = opening_on(&[plain.clone(), env.clone()], limit, Some(&programs.path()));
    let out = answer(&answers, &plain).expect("answered");
    assert_eq!(
        (out.rc, &out.stdout[..], &out.stderr[..]),
        (4, &b"out"[..], &b"err"[..])
    );
    assert_eq!(answer(&answers, &env).unwrap().stdout, b"export A=1");
    let started = [
        "base64", "base64", "base64", "sh", "sh", "timeout", "timeout",
    ];
    assert_eq!(programs.started(), started);
}

#[test]
fn an_answer_cut_short_or_with_a_field_too_many_is_none() {
    let line = |raw: &[u8]| b64(raw);
    assert!(exec_output(&line(b"0\0out\0err\0")).is_some());
    assert!(exec_output(&line(b"0\0out\0err")).is_none());
    assert!(exec_output(&line(b"0\0out\0")).is_none());
    assert!(exec_output(&line(b"0\0out\0err\0more\0")).is_none());
    assert!(exec_output("not base64!").is_none());
}

#[test]
fn the_script_never_holds_an_env_value_in_clear() {
    let asked = ask("eval \"$(cat)\"", Some("export P='hunter2'\n"));
    let script = render(&[asked], Duration::from_secs(60));
    assert!(!script.contains("hunter2"), "{script}");
}

#[test]
fn a_wait_is_answered_only_once_over() {
    let over = wait("loop a", "true");
    let not_yet = wait("loop b", "false");
    let answers = opening(&[over.clone(), not_yet.clone()], Duration::from_secs(60));
    assert_eq!(answer(&answers, &over).map(|o| o.rc), Some(0));
    assert!(answer(&answers, &not_yet).is_none());
}

#[test]
fn a_command_past_its_share_of_the_limit_is_left_to_run_live() {
    let slow = ask("sleep 5; echo late", None);
    let started = std::time::Instant::now();
    let answers = opening(std::slice::from_ref(&slow), Duration::from_secs(2));
    assert!(answer(&answers, &slow).is_none());
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[test]
fn an_answer_stands_for_the_same_command_until_a_change() {
    let asked = ask("redis-cli role", Some("export REDISCLI_AUTH='a'\n"));
    let answers = Answers {
        found: vec![(
            asked.clone(),
            ExecOutput {
                rc: 0,
                stdout: vec![],
                stderr: vec![],
            },
        )],
        changes: 2,
    };
    let (script, input) = asked.command();
    assert!(answers.get(script, input, 2).is_some());
    // Any change in the run since (on any host) and it runs live.
    assert!(answers.get(script, input, 3).is_none());
    // So does the same script with other env values, or another script.
    let other = Input(Arc::new(b"export REDISCLI_AUTH='b'\n".to_vec()));
    assert!(answers.get(script, Some(&other), 2).is_none());
    assert!(answers.get(script, None, 2).is_none());
    assert!(answers.get("redis-cli info", input, 2).is_none());
}

/// The `ka` lines of the opening script: one per ask it runs.
fn asked(script: &str) -> Vec<&str> {
    script.lines().filter(|l| l.starts_with("ka ")).collect()
}

#[test]
fn each_ask_gets_its_share_of_the_limit_in_whole_seconds() {
    let asks = [ask("a", None), ask("b", None), ask("c", None)];
    let lines = |limit| asked(&render(&asks, Duration::from_secs(limit))).join("\n");
    // A quarter of 60 s is 15, above the cap; of 8 s, 2.
    assert!(
        lines(60).lines().all(|l| l.ends_with(" 10")),
        "{}",
        lines(60)
    );
    assert!(lines(8).lines().all(|l| l.ends_with(" 2")), "{}", lines(8));
    // Under a second each: only the asks that leave a second over run,
    // under one second each; the rest run live.
    assert_eq!(asked(&render(&asks, Duration::from_secs(3))).len(), 2);
    assert!(lines(3).lines().all(|l| l.ends_with(" 1")), "{}", lines(3));
    assert_eq!(render(&asks, Duration::from_secs(1)), "");
}

#[test]
fn a_guard_is_answered_for_its_command_probe_only() {
    let script = "printf '%s\\n' \"$LC_ALL\"; exit 3";
    let probe = Probe::Command {
        script: script.into(),
    };
    let op = Query {
        readonly: false,
        probes: vec![Probe::path("/x"), probe.clone()],
        first_check: None,
    };
    let guards = Ask::guards(&op);
    assert_eq!(guards.len(), 1);
    assert!(!guards[0].has_input() && !guards[0].wait);
    let answers = opening(&guards, Duration::from_secs(60));
    // Exit status and stdout, as the probe batch gives them (under its
    // LC_ALL=C), while nothing has changed since.
    let said = Observation::Command(CommandState {
        rc: 3,
        stdout: "C".into(),
    });
    assert_eq!(answers.guard(&probe, 7), Some(said));
    assert_eq!(answers.guard(&probe, 8), None);
    // Never a command's answer, nor another probe's.
    assert!(answers.get(script, None, 7).is_none());
    let other = Probe::Command {
        script: "true".into(),
    };
    assert_eq!(answers.guard(&other, 7), None);
    assert_eq!(answers.guard(&Probe::path("/x"), 7), None);
}

#[test]
fn a_guard_past_its_share_of_the_limit_has_no_answer() {
    let probe = Probe::Command {
        script: "sleep 5".into(),
    };
    let op = Query {
        readonly: false,
        probes: vec![probe.clone()],
        first_check: None,
    };
    let answers = opening(&Ask::guards(&op), Duration::from_secs(2));
    assert_eq!(answers.guard(&probe, 7), None);
}

/// A command-like op: `readonly`, with `probes`, and a first check.
#[derive(Debug)]
struct Query {
    readonly: bool,
    probes: Vec<Probe>,
    first_check: Option<String>,
}

impl Operation for Query {
    fn kind(&self) -> &'static str {
        "shell"
    }
    fn target(&self) -> String {
        String::new()
    }
    fn probes(&self) -> Vec<Probe> {
        self.probes.clone()
    }
    fn plan(&self, _: &Observed) -> Result<Plan, OpError> {
        let run = Action::exec("systemctl is-active redis");
        Ok(Plan::of(vec![Change::new(Symbol::Run, "x", vec![run])]))
    }
    fn readonly(&self) -> bool {
        self.readonly
    }
    fn first_check(&self) -> Option<String> {
        self.first_check.clone()
    }
}

#[test]
fn only_a_readonly_op_without_guards_is_asked_ahead() {
    let query = |readonly, probes| Query {
        readonly,
        probes,
        first_check: None,
    };
    let asked = Ask::of(&query(true, vec![])).expect("a plain query");
    assert_eq!(asked.command().0, "systemctl is-active redis");
    assert!(!asked.wait);
    assert!(Ask::of(&query(false, vec![])).is_none());
    assert!(Ask::of(&query(true, vec![Probe::path("/x")])).is_none());
    let waits = Query {
        first_check: Some("kbz_open h 1".into()),
        ..query(true, vec![])
    };
    let asked = Ask::of(&waits).unwrap();
    assert!(asked.wait && asked.check == "kbz_open h 1");
    assert_eq!(asked.command().0, "systemctl is-active redis");
}

/// A read-only `shell` of a script and a `wait_for` whose first check is
/// that script (the Galera node's probe and its wait for Synced) run once:
/// each such pair was one `docker exec` more on every rerun.
#[test]
fn asks_that_run_the_same_check_run_once_and_answer_each() {
    let programs = ProgramsStarted::wrapping(&["timeout", "sh", "base64"]);
    let limit = Duration::from_secs(60);
    let script = "echo state=Synced; exit 0";
    let probe = ask(script, None);
    let synced = wait("the wait's loop", script);
    let answers = opening_on(
        &[probe.clone(), synced.clone()],
        limit,
        Some(&programs.path()),
    );
    assert_eq!(
        asked(&render(&[probe.clone(), synced.clone()], limit)).len(),
        1
    );
    assert_eq!(programs.started(), ["base64", "sh", "timeout"]);
    assert_eq!(answer(&answers, &probe).unwrap().stdout, b"state=Synced");
    // The wait is over, and as quiet as the live loop once over.
    let over = answer(&answers, &synced).expect("the wait is over");
    assert_eq!((over.rc, &over.stdout[..]), (0, &b""[..]));

    // Not synced: the probe has its answer, the wait runs live.
    let script = "echo state=Joining; exit 1";
    let (probe, joining) = (ask(script, None), wait("the wait's loop", script));
    let answers = opening(&[probe.clone(), joining.clone()], limit);
    assert_eq!(answer(&answers, &probe).unwrap().stdout, b"state=Joining");
    assert!(answer(&answers, &joining).is_none());

    // The same check with another stdin is another run.
    let other = ask(script, Some("export A=1\n"));
    assert_eq!(asked(&render(&[probe, other], limit)).len(), 2);
}
