//! Every example `kbz-play doc` shows runs: each operation's and each
//! script function's example, as written, inside a play rendered offline
//! (`kbz-play render`, no host contacted, every probe answered as a fresh
//! host would). The project holds what the examples name (templates, a
//! local file, credentials), the play first writes the files an example
//! edits ([`SETUP`]), and every call of the op in its example must report a
//! plan under the op's own name (its `kind()`).
//!
//! It reads the examples from the stdlib's registry, so a new op's example
//! is run as soon as the op is declared.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::Test;

/// The host every example runs on.
const HOST: &str = "web-01";

/// Files the examples name, relative to the project.
const PROJECT_FILES: &[(&str, &str)] = &[
    (
        "inv.tsv",
        "hostname\tip_private\tgroups\nweb-01\t10.0.0.11\tweb\n",
    ),
    (
        "templates/nginx.conf.j2",
        "worker_processes {{ facts.cpus }};\n",
    ),
    (
        "templates/app.env.j2",
        "PORT={{ port }}\nHOST={{ host.name }}\n",
    ),
    ("templates/haproxy.cfg.j2", "global\n    daemon\n"),
    (
        "files/app.service",
        "[Service]\nExecStart=/opt/app/bin/app\n",
    ),
    (
        "credentials/examples.env",
        "REDIS_PASSWORD=example-redis\nPOSTGRES_SUPERUSER_PASSWORD=example-postgres\n",
    ),
];

/// A project holding [`PROJECT_FILES`], the credentials file 0600 as
/// `secret()` requires.
fn project() -> Test {
    let t = PROJECT_FILES
        .iter()
        .fold(Test::new(), |t, (path, text)| t.file(path, text));
    let creds = t.at("credentials/examples.env");
    std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
    t
}

/// What an example needs on the host before it runs, written by the play
/// first (a render answers probes from what the play wrote): a fresh host
/// has no files for `line` to edit.
const SETUP: &[(&str, &str)] = &[(
    "line",
    r##"copy(#{ dest: "/etc/ssh/sshd_config", content: "#PermitRootLogin yes\n" });
copy(#{ dest: "/etc/hosts", content: "127.0.0.1 localhost\n" });
copy(#{ dest: "/etc/fstab", content: "/dev/sdb /mnt/old ext4 defaults 0 0\n" });"##,
)];

/// Renders `example` inside a play on [`HOST`]; the report's lines and,
/// when the run failed, why.
fn render(name: &str, example: &str) -> Result<Vec<String>, String> {
    let setup = SETUP.iter().filter(|(op, _)| *op == name).map(|(_, s)| *s);
    let body = setup
        .chain([example])
        .collect::<Vec<_>>()
        .join("\n")
        .replace('\n', "\n    ");
    let t = project()
        .playbook(&format!(
            "play(\"{name} example\", \"all\", |host| {{\n    {body}\n}});\n"
        ))
        .inventory_file("inv.tsv")
        .render();
    let credentials = t.at("credentials");
    let out = t
        .args(["--show-ops", "-v", "--credentials"])
        .arg(credentials)
        .run();
    if !out.success() {
        return Err(out.text());
    }
    Ok(out.stdout().lines().map(str::to_string).collect())
}

/// The report lines of operations: `(status, kind)` from
/// `web-01  changed  file /srv/app  (+ directory)`, not the recap's
/// `web-01   2        3       0 ...`.
fn reported_ops(lines: &[String]) -> Vec<(String, String)> {
    lines
        .iter()
        .filter_map(|l| {
            let mut words = l.strip_prefix(HOST)?.split_whitespace();
            let status = words
                .next()
                .filter(|w| w.starts_with(char::is_alphabetic))?;
            Some((status.to_string(), words.next()?.to_string()))
        })
        .collect()
}

/// How many times `name(` is called in `code` (not as part of a longer name).
fn calls(code: &str, name: &str) -> usize {
    code.match_indices(&format!("{name}("))
        .filter(|(i, _)| {
            !code[..*i]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .count()
}

#[test]
fn every_op_example_runs_and_each_call_plans() {
    let mut failures = Vec::new();
    let docs = kbz_stdlib::docs();
    for d in &docs {
        let lines = match render(d.name, d.example) {
            Ok(lines) => lines,
            Err(e) => {
                failures.push(format!("{}: the example fails: {e}", d.name));
                continue;
            }
        };
        let ops = reported_ops(&lines);
        let wanted = calls(d.example, d.name);
        let planned = ops
            .iter()
            .filter(|(status, kind)| kind == d.name && ["ok", "changed"].contains(&status.as_str()))
            .count();
        if wanted == 0 || planned != wanted {
            failures.push(format!(
                "{}: {wanted} calls in the example, {planned} planned under its name:\n{}",
                d.name,
                lines.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} examples:\n\n{}",
        failures.len(),
        docs.len(),
        failures.join("\n\n")
    );
}

#[test]
fn every_function_example_runs() {
    for f in kbz_stdlib::functions() {
        if let Err(e) = render(f.name, f.example) {
            panic!("{}: the example fails: {e}", f.name);
        }
    }
}
