//! Ansible's `template` module against kbz-play's `template` op, byte for
//! byte, on the corpus of tests/fixtures/templates/ (issue 12).
//!
//! `corpus/` holds one construct per template, and whole templates in the
//! style of widely used public roles, written fresh (`role_*.j2`, their
//! variables in `inventory/group_vars/web.yml`, every dict written out of
//! alphabetical order so that key order shows); each must render exactly as
//! ansible-core (the test venv's) renders it. `differences/` holds the
//! deliberate differences, each listed in [`DIFFERENCES`] with its reason:
//! they must still differ (so a fixed one moves into `corpus/`), and no file
//! may sit there unlisted. Both sides see the same inventory
//! (`inventory/hosts.ini`, its `group_vars/` and `host_vars/`) and the same
//! project folder (so `playbook_dir` and `inventory_dir` agree) and the same
//! `files/` (for the `file`, `fileglob` and `first_found` lookups). Ansible runs once, with a
//! local connection, looping the `template` module over every template for
//! the first web host (the play holds both, for `ansible_play_hosts`);
//! kbz-play runs once, `kbz-play render` of a playbook with one `template()`
//! call per file.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/templates");

/// The host whose files are compared.
const HOST: &str = "web-01.example.com";

/// The variable both sides find in their environment, for `lookup('env', ...)`.
const ENV_VAR: (&str, &str) = ("KBZ_PARITY_ENV", "from the environment");

/// The templates kbz-play deliberately renders otherwise, with the reason.
const DIFFERENCES: &[(&str, &str)] = &[
    (
        "lone_native_value.j2",
        "ansible-core 2.19 drops the source's final newline when the whole output is one \
         non-string value (`{{ port }}\\n` gives `8080`); kbz-play keeps the newline the \
         template has, as ansible-core up to 2.18 did",
    ),
    (
        "set_order.j2",
        "union, intersect, difference and symmetric_difference give a Python set's order in \
         Ansible (by hash: ascending for small integers, varying from run to run for \
         strings); kbz-play keeps the order the items are first seen in",
    ),
    (
        "lookup_password.j2",
        "`kbz-play render` reads no credentials: a password lookup gives the placeholder \
         `<secret:password:PATH>` where Ansible gives the stored password (the lookup itself, \
         generation, 0600 file and masking, is unit-tested in engine/src/credentials/password.rs)",
    ),
    (
        "template_vars_render.j2",
        "`kbz-play render` gives review files that are the same on every machine and run: \
         template_host is `localhost`, template_uid `<owner>`, template_fullpath \
         `<project>/PATH`, template_run_date `1970-01-01 00:00:00`; Ansible gives this \
         machine's name, the file owner, the absolute path and the time of the run (a run \
         of kbz-play gives those too: unit-tested in engine/src/run/template_vars.rs)",
    ),
    (
        "f_unvault.j2",
        "`kbz-play render` shows no secret: `unvault` gives the placeholder `<vault:unvault>` \
         where Ansible gives the plaintext (the plaintext and its masking are unit-tested in \
         engine/src/template/filters/vault.rs)",
    ),
    (
        "f_vault_wrap_object.j2",
        "ansible-core 2.19's `vault(..., wrap_object=True)` renders the password itself (it \
         tags the secret, not the vaulted text); kbz-play gives the vaulted text, as without \
         `wrap_object`, and never writes the password",
    ),
];

/// With `KBZ_VALIDATORS_REQUIRED` set (tests/run.sh, CI), the comparison
/// must run and ansible-playbook must be there.
#[test]
fn parity_runs_when_kbz_validators_required_is_set() {
    common::venv_tool_guard("ansible-playbook", "the template parity test");
}

/// Every file of `differences/` is listed with a reason, and the other way round.
#[test]
fn every_deliberate_difference_is_listed_with_its_reason() {
    let mut listed: Vec<String> = DIFFERENCES.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(templates("differences"), listed);
}

#[test]
#[ignore = "needs ansible-core (the test venv): bash tests/run.sh puts it on PATH"]
fn kbz_play_renders_every_template_as_ansible_does() {
    let ansible = common::find_tool("ansible-playbook").expect("ansible-playbook on PATH");
    let project = project();
    let dir = project.path();
    let names = [templates("corpus"), templates("differences")].concat();
    run_ansible(&ansible, dir);
    run_kbz(dir, &names);
    let read = |side: &str, name: &str| std::fs::read(dir.join(side).join(name));
    let mut report = Vec::new();
    for name in &names {
        let (a, k) = (read("ansible-out", name), read("kbz-out", name));
        let deliberate = DIFFERENCES.iter().any(|(n, _)| n == name);
        match (a, k) {
            (Ok(a), Ok(k)) if (a == k) == deliberate => report.push(if deliberate {
                format!("{name}: listed as a difference but now renders as Ansible does: move it into corpus/")
            } else {
                format!(
                    "{name}:\n  ansible: {:?}\n  kbz:     {:?}",
                    String::from_utf8_lossy(&a),
                    String::from_utf8_lossy(&k)
                )
            }),
            (Ok(_), Ok(_)) => {}
            (a, k) => report.push(format!(
                "{name}: not rendered (ansible: {}, kbz: {})",
                a.is_ok(),
                k.is_ok()
            )),
        }
    }
    assert!(names.len() >= 30, "corpus missing in {FIXTURES}: {names:?}");
    assert!(report.is_empty(), "{}", report.join("\n"));
}

/// The names of the `.j2` files of the fixtures' `sub` folder, sorted.
fn templates(sub: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(Path::new(FIXTURES).join(sub))
        .unwrap_or_else(|e| panic!("{FIXTURES}/{sub}: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".j2"))
        .collect();
    names.sort();
    names
}

/// A project folder holding the inventory, the files the lookups read
/// (`files/`) and every template under `templates/`.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["inventory", "files"] {
        copy_tree(&Path::new(FIXTURES).join(sub), &dir.path().join(sub));
    }
    for sub in ["corpus", "differences"] {
        copy_tree(
            &Path::new(FIXTURES).join(sub),
            &dir.path().join("templates"),
        );
    }
    dir
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_tree(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// One ansible-playbook run: the `template` module over every template,
/// written to `dir/ansible-out/`.
fn run_ansible(ansible: &Path, dir: &Path) {
    let playbook = format!(
        "- hosts: web\n  connection: local\n  gather_facts: false\n  tasks:\n\
         \x20   - ansible.builtin.template:\n\
         \x20       src: \"{{{{ item }}}}\"\n\
         \x20       dest: \"{{{{ playbook_dir }}}}/ansible-out/{{{{ item | basename }}}}\"\n\
         \x20     loop: \"{{{{ query('fileglob', playbook_dir + '/templates/*.j2') }}}}\"\n\
         \x20     when: inventory_hostname == '{HOST}'\n\
         \x20     ignore_errors: true\n"
    );
    std::fs::write(dir.join("parity.yml"), playbook).unwrap();
    std::fs::create_dir_all(dir.join("ansible-out")).unwrap();
    let python = ansible.with_file_name("python3");
    let out = Command::new(ansible)
        .current_dir(dir)
        .args(["-i", "inventory/hosts.ini", "parity.yml"])
        .env(ENV_VAR.0, ENV_VAR.1)
        .env_remove("KBZ_PARITY_UNSET")
        .env("ANSIBLE_PIPELINING", "1")
        .env("ANSIBLE_NOCOLOR", "1")
        .env("ANSIBLE_PYTHON_INTERPRETER", &python)
        .output()
        .expect("ansible-playbook runs");
    assert!(
        out.status.success(),
        "ansible-playbook failed\n{}",
        common::text(&out)
    );
}

/// One `kbz-play render` run: a `template()` call per template, the files
/// moved to `dir/kbz-out/`.
fn run_kbz(dir: &Path, names: &[String]) {
    let calls: String = names
        .iter()
        .map(|n| format!("    template(\"{n}\", \"/parity/{n}\");\n"))
        .collect();
    let playbook = format!("play(\"parity\", \"web\", |host| {{\n{calls}}});\n");
    std::fs::write(dir.join("parity.rhai"), playbook).unwrap();
    let out = common::bin()
        .current_dir(dir)
        .env(ENV_VAR.0, ENV_VAR.1)
        .env_remove("KBZ_PARITY_UNSET")
        .args([
            "render",
            "parity.rhai",
            "-i",
            "inventory/hosts.ini",
            "--out",
            "review",
        ])
        .output()
        .expect("kbz-play runs");
    assert!(
        out.status.success(),
        "kbz-play render failed\n{}",
        common::text(&out)
    );
    let rendered: PathBuf = dir.join("review").join(HOST).join("parity");
    std::fs::rename(rendered, dir.join("kbz-out")).unwrap();
}
