//! `command` and `shell`: run something on the host, unless a guard says
//! it already happened.
//!
//! `command` splits its string into words with shell rules and runs the
//! program with exactly those arguments (no pipes, variables or globs);
//! `shell` hands its string to `sh` as is.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kbz_engine::op::{
    Action, Change, Input, OpArgs, OpError, Operation, Param, Plan, Reach, Symbol,
};
use kbz_engine::probe::{Observed, Probe};
use kbz_engine::shell::{join, quote};
use serde::Deserialize;

use super::values::{absolute_path, one_line, yes, Text};
use super::{Build, Env, Failure, Form};

/// Arguments of `command()` and `shell()` (the same table, two names).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Args<K> {
    cmd: String,
    #[serde(default)]
    creates: Option<String>,
    #[serde(default)]
    removes: Option<String>,
    #[serde(default)]
    unless: Option<String>,
    #[serde(default)]
    chdir: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, Text>,
    #[serde(default = "yes")]
    check: bool,
    #[serde(default)]
    readonly: bool,
    #[serde(default)]
    timeout: Option<u64>,
    #[serde(skip)]
    kind: std::marker::PhantomData<K>,
}

/// How the string becomes a script.
pub(crate) trait Flavor: std::fmt::Debug + Send + Sync + 'static {
    /// The Rhai function name.
    const OP: &'static str;
    /// One line for `kbz-play doc`.
    const SUMMARY: &'static str;
    /// Its row of the README's table.
    const ENSURES: &'static str;
    /// A short example.
    const EXAMPLE: &'static str;
    /// What `cmd` is.
    const CMD_DOC: &'static str;
    /// The script running `cmd`.
    fn script(cmd: &str) -> Result<String, String>;
}

/// `command`: argv-style.
#[derive(Debug)]
pub(crate) struct Argv;
/// `shell`: through `sh`.
#[derive(Debug)]
pub(crate) struct Sh;

impl Flavor for Argv {
    const OP: &'static str = "command";
    const SUMMARY: &'static str =
        "Run a program with arguments (no shell), unless a guard says it already ran.";
    const ENSURES: &'static str = "a program runs (no shell), unless `creates`/`removes`/`unless` says it already did; `readonly: true` for queries";
    const EXAMPLE: &'static str = r#"command("systemctl daemon-reload");
command("tar xzf /tmp/app.tgz -C /opt/app", #{ creates: "/opt/app/bin/app" });
let r = command("cat /etc/machine-id", #{ readonly: true });"#;
    const CMD_DOC: &'static str = "The program and its arguments, split like a shell would (quotes and backslashes work), e.g. \"useradd -m 'Jane Doe'\". No shell runs it: pipes, redirections, $VARS and globs are refused, use shell() for those.";

    fn script(cmd: &str) -> Result<String, String> {
        Ok(join(split_words(cmd)?))
    }
}

impl Flavor for Sh {
    const OP: &'static str = "shell";
    const SUMMARY: &'static str = "Run a shell script with sh, unless a guard says it already ran.";
    const ENSURES: &'static str =
        "the same as `command`, for a script run by `sh` (pipes, redirections, variables)";
    const EXAMPLE: &'static str = r#"shell("curl -fsSL https://example.com/install.sh | sh", #{ creates: "/usr/local/bin/tool" });
shell("pg_dumpall > /backup/all.sql", #{ chdir: "/var/lib/postgresql", env: #{ PGUSER: "postgres" } });"#;
    const CMD_DOC: &'static str = "A script for sh, run as is (pipes, redirections, variables, several lines), e.g. \"make -j4 && make install\".";

    fn script(cmd: &str) -> Result<String, String> {
        Ok(cmd.to_string())
    }
}

impl<K: Flavor> OpArgs for Args<K> {
    const OP: &'static str = K::OP;
    const SUMMARY: &'static str = K::SUMMARY;
    const EXAMPLE: &'static str = K::EXAMPLE;
    const PARAMS: &'static [Param] = &[
        Param { name: "cmd", ty: "string", default: None, doc: K::CMD_DOC },
        Param {
            name: "creates",
            ty: "string",
            default: Some("none"),
            doc: "Skip when this path exists, e.g. \"/opt/app/bin/app\". Relative paths are taken from chdir.",
        },
        Param {
            name: "removes",
            ty: "string",
            default: Some("none"),
            doc: "Skip when this path is missing, e.g. \"/etc/nginx/sites-enabled/default\". Relative paths are taken from chdir.",
        },
        Param {
            name: "unless",
            ty: "string",
            default: Some("none"),
            doc: "Shell command run first (in chdir, without env: it runs as a probe, whose script is on a command line); skip when it exits 0, e.g. \"grep -q ^ok /var/lib/app/state\". A check, never a change: it may run ahead, in the host's opening round trip (under its own share of the probe limit), and its answer stands while the run has changed nothing.",
        },
        Param { name: "chdir", ty: "string", default: Some("the remote user's home"), doc: "Absolute directory to run in, e.g. \"/opt/app\"." },
        Param {
            name: "env",
            ty: "map",
            default: Some("#{}"),
            doc: "Environment variables for the command, e.g. #{ DEBIAN_FRONTEND: \"noninteractive\" }. Sent on the command's stdin, never on a command line (ps, sudo's log), so secret() values are safe here; the command itself gets an empty stdin.",
        },
        Param {
            name: "check",
            ty: "bool",
            default: Some("true"),
            doc: "Fail the op when the exit status is not 0; with false, branch on the result's rc instead.",
        },
        Param {
            name: "readonly",
            ty: "bool",
            default: Some("false"),
            doc: "The command only reads (a query): it also runs under --check and never reports changed, e.g. #{ readonly: true } for `cat /etc/os-release`.",
        },
        Param {
            name: "timeout",
            ty: "int",
            default: Some("--op-timeout, else none"),
            doc: "Seconds the command may run: then its whole process group on the host is killed (TERM, KILL 2 s later) and the host fails with \"timed out after N s\", e.g. #{ timeout: 600 }. Needs `timeout` (coreutils, busybox) on the host. The unless guard is a probe: --op-timeout bounds it.",
        },
    ];
}

impl<K: Flavor> Build for Args<K> {
    const ENSURES: &'static str = K::ENSURES;
    const FORMS: &'static [Form] = &[Form::String("cmd")];

    fn build(self, _env: &dyn Env) -> Result<Box<dyn Operation>, Failure> {
        if self.cmd.trim().is_empty() {
            return Err("cmd is empty".to_string().into());
        }
        if let Some(dir) = &self.chdir {
            absolute_path("chdir", dir)?;
        }
        if self.timeout == Some(0) {
            return Err("timeout must be at least 1 second".to_string().into());
        }
        let guard_path = |param: &str, p: Option<String>| -> Result<Option<String>, String> {
            let Some(p) = p else { return Ok(None) };
            let full = match &self.chdir {
                Some(dir) if !p.starts_with('/') => format!("{}/{p}", dir.trim_end_matches('/')),
                _ => p,
            };
            absolute_path(param, &full)?;
            Ok(Some(full))
        };
        let creates = guard_path("creates", self.creates.clone())?;
        let removes = guard_path("removes", self.removes.clone())?;
        let mut prelude = String::new();
        if let Some(dir) = &self.chdir {
            prelude.push_str(&format!("cd {} || exit\n", quote(dir)));
        }
        let input = env_input(&self.env)?;
        if let Some(u) = &self.unless {
            unless_without_env(u, &self.env)?;
        }
        let unless = self.unless.map(|u| format!("{prelude}{u}"));
        if input.is_some() {
            prelude.push_str(READ_ENV);
        }
        Ok(Box::new(CommandOp {
            kind: K::OP,
            display: one_line(&self.cmd),
            script: format!("{prelude}{}", K::script(&self.cmd)?),
            input: input.map(|i| Input(Arc::new(i))),
            creates,
            removes,
            unless,
            check: self.check,
            readonly: self.readonly,
            timeout: self.timeout.map(Duration::from_secs),
        }))
    }
}

/// The script's first step when it has env: the `export` lines arrive on
/// stdin and `eval` (a builtin: no process, no argv) runs them, so no value
/// is ever an argument of ssh, sudo or `sh -c`.
const READ_ENV: &str = "eval \"$(cat)\" || exit\n";

/// The `export NAME='value'` lines [`READ_ENV`] reads; `None` without env.
fn env_input(env: &BTreeMap<String, Text>) -> Result<Option<Vec<u8>>, String> {
    if env.is_empty() {
        return Ok(None);
    }
    let mut lines = String::new();
    for (name, value) in env {
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("env name {name:?} is not a valid variable name"));
        }
        lines.push_str(&format!("export {name}={}\n", quote(&value.0)));
    }
    Ok(Some(lines.into_bytes()))
}

/// Refuses an `unless` that reads an env variable: it runs as a probe,
/// batched on a command line with no stdin of its own, so env values (often
/// secrets) cannot reach it without showing in `ps`.
fn unless_without_env(unless: &str, env: &BTreeMap<String, Text>) -> Result<(), String> {
    let reads = |name: &str| {
        unless.match_indices(name).any(|(at, _)| {
            let before = &unless[..at];
            let after = unless[at + name.len()..].chars().next();
            (before.ends_with('$') || before.ends_with("${"))
                && !after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        })
    };
    match env.keys().find(|name| reads(name)) {
        Some(name) => Err(format!(
            "unless reads ${name}, but env does not reach unless (it runs as a probe, on a \
             command line where values would show in ps); write a value that is not secret \
             into unless itself"
        )),
        None => Ok(()),
    }
}

/// Runs a script unless a guard says not to.
#[derive(Debug)]
pub(crate) struct CommandOp {
    kind: &'static str,
    display: String,
    script: String,
    /// The env as `export` lines for the script's stdin (its Debug shows
    /// only the size).
    input: Option<Input>,
    creates: Option<String>,
    removes: Option<String>,
    unless: Option<String>,
    check: bool,
    readonly: bool,
    timeout: Option<Duration>,
}

impl Operation for CommandOp {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn target(&self) -> String {
        self.display.clone()
    }

    fn probes(&self) -> Vec<Probe> {
        let paths = self.creates.iter().chain(&self.removes).map(Probe::path);
        paths
            .chain(
                self.unless
                    .iter()
                    .map(|s| Probe::Command { script: s.clone() }),
            )
            .collect()
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        if let Some(p) = &self.creates {
            if observed.path(p)?.exists() {
                return Ok(Plan::noop(format!("creates: {p} exists")));
            }
        }
        if let Some(p) = &self.removes {
            if !observed.path(p)?.exists() {
                return Ok(Plan::noop(format!("removes: {p} is missing")));
            }
        }
        if let Some(u) = &self.unless {
            if observed.command(u)?.rc == 0 {
                return Ok(Plan::noop("unless: the check command succeeded"));
            }
        }
        let run = Action::Exec {
            script: self.script.clone(),
            check: self.check,
            input: self.input.clone(),
        };
        Ok(Plan::of(vec![Change::new(
            Symbol::Run,
            self.display.clone(),
            vec![run],
        )]))
    }

    fn reach(&self) -> Reach {
        if self.readonly {
            Reach::OwnProbes
        } else {
            Reach::Anything
        }
    }

    fn readonly(&self) -> bool {
        self.readonly
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }
}

/// Characters that only mean something to a shell; unquoted in a
/// `command()` they would reach the program literally, which is never what
/// the author meant.
const SHELL_ONLY: &str = "|&;<>()`$*";

/// Splits a command line into words with POSIX shell quoting rules: blanks
/// separate words, single quotes keep everything, double quotes keep all
/// but `\"`, `\\`, `\$`, `` \` ``, and a backslash outside quotes keeps the
/// next character. Unquoted shell-only characters are refused.
pub(crate) fn split_words(s: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("cmd has an unterminated single quote".into()),
                    }
                }
            }
            '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                w.push('\\');
                                w.push(c);
                            }
                            None => return Err("cmd has an unterminated double quote".into()),
                        },
                        Some(c @ ('$' | '`')) => {
                            return Err(format!(
                                "command() runs no shell, so {c:?} inside double quotes would not expand; \
                                 use shell(), or single quotes to pass it literally"
                            ))
                        }
                        Some(c) => w.push(c),
                        None => return Err("cmd has an unterminated double quote".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("cmd ends with a backslash".into()),
            },
            c if SHELL_ONLY.contains(c) || (c == '~' && word.is_none()) => {
                return Err(format!(
                    "command() runs the program without a shell, so {c:?} would reach it as a literal \
                     argument; use shell() for pipes, redirections, variables and globs, or quote it"
                ))
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        split_words(s).unwrap()
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(words("  ls  -l\t/tmp "), ["ls", "-l", "/tmp"]);
        assert_eq!(
            words("useradd -c 'Jane Doe' jane"),
            ["useradd", "-c", "Jane Doe", "jane"]
        );
        assert_eq!(words(r#"echo "a \"b\" \\ \n""#), ["echo", r#"a "b" \ \n"#]);
        assert_eq!(words(r"echo a\ b it\'s"), ["echo", "a b", "it's"]);
        assert_eq!(words("echo ''"), ["echo", ""]);
        assert_eq!(words("a'b'\"c\"d"), ["abcd"]);
        assert_eq!(
            words("echo 'a|b' \"x>y\" \\$HOME"),
            ["echo", "a|b", "x>y", "$HOME"]
        );
        assert_eq!(words("a \\\nb"), ["a", "b"]);
        assert_eq!(words("echo a~b"), ["echo", "a~b"]);
    }

    #[test]
    fn refuses_what_needs_a_shell() {
        for bad in [
            "ls | wc",
            "echo $HOME",
            "rm /tmp/*.log",
            "a && b",
            "a; b",
            "cat < x",
            "ls ~/x",
            "echo \"$x\"",
        ] {
            let err = split_words(bad).unwrap_err();
            assert!(err.contains("shell()"), "{bad}: {err}");
        }
        for bad in ["echo 'x", "echo \"x", "echo x\\"] {
            assert!(split_words(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn split_then_quoted_survives_sh() {
        let cmd = r#"printf '%s|' "a b" 'it'\''s' c\$d"#;
        let script = Argv::script(cmd).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "a b|it's|c$d|");
    }

    /// The env reaches the command from stdin, not from the script's text
    /// (an argument of `sh -c`, so in every `ps`).
    #[test]
    fn env_values_travel_on_stdin_only() {
        use crate::build::{build_op, LocalEnv};
        use kbz_engine::probe::Observed;
        use std::io::Write;
        let secret = "s3 'cr\"et $HOME\nline";
        let args = rhai::serde::to_dynamic(serde_json::json!({
            "cmd": "printf '%s|%s' \"$A\" \"$B\"", "env": { "A": secret, "B": "2" }
        }))
        .unwrap();
        let op = build_op::<Args<Sh>>(&args, &LocalEnv).unwrap();
        let plan = op.plan(&Observed::new(vec![])).unwrap();
        let Action::Exec { script, input, .. } = &plan.changes[0].actions[0] else {
            panic!("{plan:?}")
        };
        assert!(!script.contains("s3"), "{script}");
        assert!(!format!("{op:?}{plan:?}").contains("s3"));
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = input.as_ref().unwrap().0.as_slice();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            format!("{secret}|2")
        );
    }
}
