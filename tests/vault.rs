//! Ansible Vault on a run: vaulted `group_vars`/`host_vars` decrypted with
//! `--vault-password-file`, `--vault-id` or `ANSIBLE_VAULT_PASSWORD_FILE`,
//! their values reaching the host but never the output. The host is this
//! machine (`ansible_connection: local`), writing under the project folder.
//!
//! The committed fixtures in tests/fixtures/vault/ were made by the real
//! `ansible-vault` (its README gives the commands): password
//! `fixture-vault-pass` for the default vault id, `fixture-prod-pass` for
//! `prod`. The last test makes new ones with the `ansible-vault` of the
//! test venv.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::{find_tool, Outcome, Test};

/// The plaintexts of the fixtures, none of which may ever be printed.
const PLAINTEXTS: [&str; 3] = ["s3cret-from-vault", "inline-secret-77", "prod-token-4242"];
/// The passwords, which may not be printed either.
const PASSWORDS: [&str; 2] = ["fixture-vault-pass", "fixture-prod-pass"];

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vault")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// A project whose host `h1` (group `app`) has a vaulted
/// `group_vars/all.yml`, a `group_vars/app.yml` vaulted for the `prod`
/// vault id, and an inline `!vault` value in `host_vars/h1.yml`; the
/// playbook templates all three into `state/app.conf`. Password files:
/// `pass` (default), `prod-pass` (prod).
fn project() -> Test {
    let t = Test::new()
        .playbook(
            r#"play("vault", "all", |host| {
    template("app.conf.j2", host.vars.tmp + "/app.conf", #{ mode: "0600" });
});"#,
        )
        .file(
            "templates/app.conf.j2",
            "db={{ db_password }}\nadmin={{ admin_password }}\ntoken={{ api_token }}\nport={{ redis_port }}\n",
        )
        .file(
            "inv/hosts.yml",
            "all:\n  children:\n    app:\n      hosts:\n        h1:\n          ansible_connection: local\n",
        )
        .file("inv/group_vars/all.yml", &fixture("group_vars.yml"))
        .file("inv/group_vars/app.yml", &fixture("labelled.yml"))
        .file(
            "inv/host_vars/h1.yml",
            &format!("clear_value: visible\n{}", fixture("inline.yml")),
        )
        .file("pass", "fixture-vault-pass\n")
        .file("prod-pass", "fixture-prod-pass\n")
        .inventory_file("inv")
        .dir("state");
    let tmp = t.at("state");
    t.var("tmp", tmp.display())
}

/// The file the play writes, if it did.
fn written(t: &Test) -> Option<String> {
    std::fs::read_to_string(t.at("state/app.conf")).ok()
}

/// No plaintext and no password anywhere in what kbz-play printed.
fn assert_nothing_leaks(out: &Outcome) {
    let text = out.text();
    for secret in PLAINTEXTS.iter().chain(&PASSWORDS) {
        assert!(!text.contains(secret), "{secret} printed:\n{text}");
    }
}

fn vault_ids(t: &Test) -> Vec<String> {
    let pass = t.at("pass").display().to_string();
    let prod = t.at("prod-pass").display().to_string();
    vec![
        "--vault-id".into(),
        format!("default@{pass}"),
        "--vault-id".into(),
        format!("prod@{prod}"),
    ]
}

const EXPECTED: &str =
    "db=s3cret-from-vault\nadmin=inline-secret-77\ntoken=prod-token-4242\nport=6379\n";

#[test]
fn vaulted_values_reach_the_host_but_never_the_output() {
    let t = project();
    let mut args = vault_ids(&t);
    args.push("--diff".into());
    let out = t.run_with(&args);
    out.assert_code(0).assert_total("changed", 1);
    assert_eq!(written(&t).as_deref(), Some(EXPECTED));
    assert_nothing_leaks(&out);
    assert!(
        out.stdout().contains("db=********"),
        "the diff shows the line, masked: {}",
        out.text()
    );
    // Rerun in text output with the diff of a changed value: masked too.
    std::fs::write(t.at("state/app.conf"), "db=old\n").unwrap();
    let again = project_like(&t).text_output().args(args).run();
    again.assert_code(0);
    assert_nothing_leaks(&again);
}

/// A second project on the same files, for a run with other output flags.
fn project_like(t: &Test) -> Test {
    Test::new()
        .playbook_file(t.at("site.rhai"))
        .inventory_file(t.at("inv"))
        .var("tmp", t.at("state").display())
}

#[test]
fn a_wrong_password_fails_before_any_change() {
    let t = project();
    let wrong = t.at("prod-pass").display().to_string();
    let out = t.run_with(&["--vault-password-file", &wrong]);
    out.assert_code(1);
    assert_eq!(written(&t), None, "nothing ran on the host");
    let err = out.stderr();
    assert!(err.contains("group_vars/all.yml:1:1"), "{err}");
    assert!(err.contains("none of the vault passwords"), "{err}");
    assert_nothing_leaks(&out);
}

#[test]
fn no_password_names_the_flags() {
    let t = project();
    // An empty ANSIBLE_VAULT_PASSWORD_FILE is no password file, as in Ansible.
    let out = t
        .command()
        .env("ANSIBLE_VAULT_PASSWORD_FILE", "")
        .output()
        .unwrap();
    let out = Outcome::new(out);
    out.assert_code(1);
    assert_eq!(written(&t), None);
    assert!(
        out.stderr()
            .contains("no vault password was given; pass --vault-password-file"),
        "{}",
        out.text()
    );
}

#[test]
fn the_vault_id_label_picks_the_password() {
    let t = project();
    // Only the default password (`@FILE` is vault id `default`): app.yml,
    // vaulted for `prod`, cannot open.
    let pass = format!("@{}", t.at("pass").display());
    let out = t.run_with(&["--vault-id", &pass]);
    out.assert_code(1);
    let err = out.stderr();
    assert!(
        err.contains("group_vars/app.yml:1:1")
            && err.contains("vault id 'prod'")
            && err.contains("passwords given (default)"),
        "{err}"
    );
    // Both, the prod one first: each file finds its own.
    let mut ids = vault_ids(&t);
    ids.rotate_left(2);
    t.run_with(&ids).assert_code(0);
    assert_eq!(written(&t).as_deref(), Some(EXPECTED));
}

/// Vault ids `default` (its password) and `dev` (prod's password): without
/// `ANSIBLE_VAULT_ID_MATCH` every password is tried, so `dev`'s opens
/// app.yml (vaulted for `prod`); with it, only a `prod` one may.
fn mislabelled_ids(t: &Test) -> Vec<String> {
    let mut ids = vault_ids(t);
    ids[3] = ids[3].replacen("prod@", "dev@", 1);
    ids
}

/// `kbz-play` with `ANSIBLE_VAULT_ID_MATCH` set to `value`.
fn run_with_id_match(t: &Test, value: &str, args: &[String]) -> Outcome {
    let out = t
        .command()
        .env("ANSIBLE_VAULT_ID_MATCH", value)
        .args(args)
        .output()
        .unwrap();
    Outcome::new(out)
}

#[test]
fn ansible_vault_id_match_tries_only_the_vaults_own_id() {
    let t = project();
    let ids = mislabelled_ids(&t);
    run_with_id_match(&t, "false", &ids).assert_code(0);
    assert_eq!(written(&t).as_deref(), Some(EXPECTED));
    std::fs::remove_file(t.at("state/app.conf")).unwrap();

    let out = run_with_id_match(&t, "true", &ids);
    out.assert_code(1);
    assert_eq!(written(&t), None, "nothing ran on the host");
    let err = out.stderr();
    assert!(
        err.contains("group_vars/app.yml:1:1")
            && err.contains("for vault id 'prod' and ANSIBLE_VAULT_ID_MATCH")
            && err.contains("(given: default, dev)"),
        "{err}"
    );
    assert_nothing_leaks(&out);

    let out = run_with_id_match(&t, "maybe", &ids);
    out.assert_code(1);
    assert!(out.stderr().contains("is not a boolean"), "{}", out.text());
}

#[test]
fn an_executable_password_file_is_run_and_the_env_variable_is_read() {
    let t = project()
        .file("pass.sh", "#!/bin/sh\necho fixture-vault-pass\n")
        .file(
            "prod-client.sh",
            "#!/bin/sh\n[ \"$2\" = prod ] && echo fixture-prod-pass\n",
        );
    for script in ["pass.sh", "prod-client.sh"] {
        std::fs::set_permissions(t.at(script), std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    // A `-client` script is asked for its vault id, as Ansible does.
    let client = format!("prod@{}", t.at("prod-client.sh").display());
    let out = t
        .command()
        .env("ANSIBLE_VAULT_PASSWORD_FILE", t.at("pass.sh"))
        .args(["--vault-id", &client])
        .output()
        .unwrap();
    let out = Outcome::new(out);
    out.assert_code(0);
    assert_eq!(written(&t).as_deref(), Some(EXPECTED));
    assert_nothing_leaks(&out);
}

#[test]
fn the_inventory_command_shows_vault_values_masked() {
    let t = project();
    let mut args = vec!["inventory".to_string(), "-i".into()];
    args.push(t.at("inv").display().to_string());
    args.extend(vault_ids(&t));
    let out = Outcome::new(common::bin().args(&args).output().unwrap());
    out.assert_code(0);
    assert!(
        out.stdout().contains("\"db_password\": \"********\""),
        "{}",
        out.text()
    );
    assert!(out.stdout().contains("visible"), "{}", out.text());
    assert_nothing_leaks(&out);
}

#[test]
fn a_vault_value_too_short_to_mask_is_warned_about_once() {
    let host_vars = format!("{}{}", fixture("inline.yml"), fixture("inline_short.yml"));
    let t = project()
        .file("inv/host_vars/h1.yml", &host_vars)
        .text_output();
    let out = t.run_with(&vault_ids(&t));
    out.assert_code(0);
    let text = out.text();
    let warned: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("vault value short_pin in") && l.contains("host_vars/h1.yml"))
        .collect();
    assert_eq!(warned.len(), 1, "{text}");
    assert!(warned[0].contains("cannot be masked"), "{text}");
    assert!(!text.contains("q%7"), "{text}");
    assert!(!text.contains("vault value admin_password"), "{text}");
}

#[test]
fn render_writes_placeholders_for_vault_values_and_no_form_of_them() {
    let template = "db={{ db_password }}\nadmin={{ admin_password | upper }}\n\
                    token={{ api_token | reverse }}\nport={{ redis_port }}\n";
    let t = project().file("templates/app.conf.j2", template).render();
    let out = t.run_with(&vault_ids(&t));
    out.assert_code(0);
    assert_nothing_leaks(&out);
    let conf = t.at("state/app.conf");
    let review = t.read_review("h1", conf.to_str().unwrap().trim_start_matches('/'));
    assert_eq!(
        review,
        "db=<vault:db_password>\nadmin=<VAULT:ADMIN_PASSWORD>\n\
         token=>nekot_ipa:tluav<\nport=<vault:redis_port>\n"
    );
    let forms = ["6379", "INLINE-SECRET-77", "2424-nekot-dorp"];
    for file in files_under(&t.at("review")) {
        let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
        for secret in PLAINTEXTS.iter().chain(&PASSWORDS).chain(&forms) {
            assert!(!text.contains(secret), "{secret} in {}", file.display());
        }
    }
    // The same review again: the same bytes, so review diffs show changes only.
    t.run_with(&vault_ids(&t)).assert_code(0);
    let again = t.read_review("h1", conf.to_str().unwrap().trim_start_matches('/'));
    assert_eq!(again, review);
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn load_yaml_reads_a_vaulted_file_as_secrets() {
    let t = Test::new()
        .playbook(
            r#"let data = load_yaml("data.yml");
play("data", "all", |host| {
    copy(#{ dest: host.vars.tmp + "/app.conf", content: "db=" + data.db_password + "\n" });
});"#,
        )
        .file("data.yml", &fixture("group_vars.yml"))
        .file("pass", "fixture-vault-pass\n")
        .file(
            "hosts.yml",
            "all:\n  hosts:\n    h1:\n      ansible_connection: local\n",
        )
        .inventory_file("hosts.yml")
        .dir("state");
    let tmp = t.at("state");
    let t = t.var("tmp", tmp.display());
    let none = t.run();
    none.assert_code(1);
    assert!(
        none.stderr().contains("data.yml: file is encrypted")
            && none.stderr().contains("--vault-id"),
        "{}",
        none.text()
    );
    let pass = t.at("pass").display().to_string();
    let out = t.run_with(&["--diff", "--vault-password-file", &pass]);
    out.assert_code(0);
    assert_eq!(written(&t).as_deref(), Some("db=s3cret-from-vault\n"));
    assert!(out.stdout().contains("db=********"), "{}", out.text());
    assert_nothing_leaks(&out);
}

#[test]
#[ignore = "needs ansible-vault (ansible-core) on PATH: bash tests/run.sh installs it in a Python venv"]
fn files_made_now_by_the_real_ansible_vault_decrypt() {
    let vault = find_tool("ansible-vault").unwrap_or_else(|| {
        panic!("ansible-vault is not on PATH (bash tests/run.sh installs ansible-core in a venv)")
    });
    let t = project()
        .file(
            "inv/group_vars/all.yml",
            "db_password: s3cret-from-vault\nredis_port: 6379\n",
        )
        .file("inv/group_vars/app.yml", "api_token: prod-token-4242\n");
    let ansible_vault = |args: &[&str]| {
        let out = std::process::Command::new(&vault)
            .args(args)
            .current_dir(t.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", common::text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    ansible_vault(&[
        "encrypt",
        "--vault-password-file",
        "pass",
        "inv/group_vars/all.yml",
    ]);
    ansible_vault(&[
        "encrypt",
        "--vault-id",
        "prod@prod-pass",
        "inv/group_vars/app.yml",
    ]);
    let inline = ansible_vault(&[
        "encrypt_string",
        "--vault-id",
        "prod@prod-pass",
        "--name",
        "admin_password",
        "inline-secret-77",
    ]);
    std::fs::write(t.at("inv/host_vars/h1.yml"), inline).unwrap();
    assert!(fixture_is_vaulted(&t.at("inv/group_vars/app.yml")));
    let out = t.run_with(&vault_ids(&t));
    out.assert_code(0);
    assert_eq!(written(&t).as_deref(), Some(EXPECTED));
    assert_nothing_leaks(&out);
}

/// `ansible-vault view` and kbz-play agree on which files open under
/// `ANSIBLE_VAULT_ID_MATCH=true`, given the same vault ids.
#[test]
#[ignore = "needs ansible-vault (ansible-core) on PATH: bash tests/run.sh installs it in a Python venv"]
fn ansible_vault_id_match_agrees_with_the_real_ansible_vault() {
    let vault = find_tool("ansible-vault").unwrap_or_else(|| {
        panic!("ansible-vault is not on PATH (bash tests/run.sh installs ansible-core in a venv)")
    });
    let t = project();
    let opens = |file: &str, ids: &[String]| {
        let out = std::process::Command::new(&vault)
            .arg("view")
            .args(ids)
            .arg(t.at(file))
            .env("ANSIBLE_VAULT_ID_MATCH", "true")
            .output()
            .unwrap();
        out.status.success()
    };
    let strict = mislabelled_ids(&t);
    assert!(opens("inv/group_vars/all.yml", &strict));
    assert!(!opens("inv/group_vars/app.yml", &strict));
    assert_eq!(run_with_id_match(&t, "true", &strict).code(), Some(1));
    let prod_only = vec![vault_ids(&t)[2].clone(), vault_ids(&t)[3].clone()];
    assert!(
        !opens("inv/group_vars/all.yml", &prod_only),
        "1.1 is vault id default"
    );
    let out = run_with_id_match(&t, "true", &prod_only);
    assert!(
        out.stderr().contains("group_vars/all.yml:1:1"),
        "{}",
        out.text()
    );
    let both = vault_ids(&t);
    assert!(opens("inv/group_vars/app.yml", &both));
    run_with_id_match(&t, "true", &both).assert_code(0);

    // ansible-inventory reads the inventory as a run does: the same verdict.
    let inventory = find_tool("ansible-inventory").expect("ansible-inventory beside ansible-vault");
    let lists = |ids: &[String]| {
        let out = std::process::Command::new(&inventory)
            .args(["--list", "-i"])
            .arg(t.at("inv"))
            .args(ids)
            .env("ANSIBLE_VAULT_ID_MATCH", "true")
            .output()
            .unwrap();
        out.status.success()
    };
    let kbz_lists = |ids: &[String]| {
        let mut args = vec!["inventory".to_string(), "--list".into(), "-i".into()];
        args.push(t.at("inv").display().to_string());
        args.extend_from_slice(ids);
        let out = common::bin()
            .args(&args)
            .env("ANSIBLE_VAULT_ID_MATCH", "true")
            .output()
            .unwrap();
        out.status.success()
    };
    for ids in [&strict, &prod_only, &both] {
        assert_eq!(kbz_lists(ids), lists(ids), "{ids:?}");
    }
    assert!(lists(&both) && !lists(&strict));
}

/// The `vault` filter's text (a random salt) opens with the real
/// `ansible-vault`; `vault_encrypted` is true of an inline `!vault` value
/// only (what ansible-core 2.19 answers on this project), `unvault` gives
/// the plaintext back; neither the filter's password nor a plaintext is
/// printed.
#[test]
#[ignore = "needs ansible-vault (ansible-core) on PATH: bash tests/run.sh installs it in a Python venv"]
fn the_vault_filter_writes_what_the_real_ansible_vault_opens() {
    let vault = find_tool("ansible-vault").unwrap_or_else(|| {
        panic!("ansible-vault is not on PATH (bash tests/run.sh installs ansible-core in a venv)")
    });
    let t = project()
        .playbook(
            r#"play("vault", "all", |host| {
    template("vaulted.j2", host.vars.tmp + "/vaulted", #{ mode: "0600" });
    template("app.conf.j2", host.vars.tmp + "/app.conf", #{ mode: "0600" });
});"#,
        )
        .file(
            "templates/vaulted.j2",
            "{{ db_password | vault('filter-pass-1') }}",
        )
        .file(
            "templates/app.conf.j2",
            "inline={{ admin_password is vault_encrypted }} \
             file={{ db_password is vault_encrypted }} \
             back={{ db_password | vault('p-1') | unvault('p-1') }}\n",
        )
        .file("filter-pass", "filter-pass-1\n");
    let out = t.run_with(&vault_ids(&t));
    out.assert_code(0);
    assert_nothing_leaks(&out);
    assert!(!out.text().contains("filter-pass-1"), "{}", out.text());
    assert_eq!(
        written(&t).as_deref(),
        Some("inline=True file=False back=s3cret-from-vault\n")
    );
    let view = std::process::Command::new(&vault)
        .args(["decrypt", "--vault-password-file", "filter-pass"])
        .args(["--output", "-", "state/vaulted"])
        .current_dir(t.path())
        .output()
        .unwrap();
    assert!(view.status.success(), "{}", common::text(&view));
    assert_eq!(String::from_utf8_lossy(&view.stdout), "s3cret-from-vault");
}

fn fixture_is_vaulted(path: &Path) -> bool {
    std::fs::read_to_string(path)
        .unwrap()
        .starts_with("$ANSIBLE_VAULT;1.2;AES256;prod")
}

/// With `KBZ_VALIDATORS_REQUIRED` set (tests/run.sh, CI), the ignored test
/// above must be part of the run and find `ansible-vault`.
#[test]
fn ansible_vault_runs_when_kbz_validators_required_is_set() {
    common::venv_tool_guard("ansible-vault", "the ansible-vault test");
}

/// `--list-tasks` names each op by what it manages: a vaulted value in a
/// command line is masked there as in every event; the vault's passwords
/// are asked once, though the listing loads the playbook twice.
#[test]
fn list_tasks_masks_vaulted_values_in_op_names() {
    let t = project()
        .playbook(r#"play("vault", "all", |host| { command("echo " + host.vars.db_password); });"#);
    // An executable password file notes each time it is asked: the
    // listing's offline run must not ask (nor prompt) a second time.
    let script = format!(
        "#!/bin/sh\necho asked >> {}\necho fixture-vault-pass\n",
        t.at("asked").display()
    );
    let t = t.file("pass.sh", &script);
    std::fs::set_permissions(t.at("pass.sh"), std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut ids = vault_ids(&t);
    ids[1] = format!("default@{}", t.at("pass.sh").display());
    let out = t.run_with(&[ids, vec!["--list-tasks".into()]].concat());
    out.assert_code(0);
    let asked = std::fs::read_to_string(t.at("asked")).unwrap_or_default();
    assert_eq!(asked, "asked\n", "the vault password asked once");
    assert!(
        out.stdout()
            .contains("      command echo ********\tTAGS: []\n"),
        "{}",
        out.text()
    );
    assert_nothing_leaks(&out);
}
