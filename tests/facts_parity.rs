//! Facts under Ansible's names against what Ansible's own `setup` module
//! gathers on the same machine (issue 12; the user, issue 13): kbz-play
//! renders them through a template on this machine (local connection, the
//! real facts script), the venv's `ansible -m setup` gathers them, and the
//! two must be equal, with `LOGNAME` unset (the user from the passwd entry)
//! and set (the user it names, as Python's `getpass.getuser()` takes it).

mod common;

use std::path::Path;
use std::process::Command;

use common::Test;

/// The variables `getpass.getuser()` reads: each run sets `LOGNAME` or none.
const USER_VARS: [&str; 4] = ["LOGNAME", "USER", "LNAME", "USERNAME"];

#[test]
#[ignore = "needs ansible-core (the test venv): bash tests/run.sh puts it on PATH"]
fn default_ipv4_and_user_id_are_what_ansibles_setup_gathers() {
    let ansible = common::find_tool("ansible").expect("ansible on PATH");
    for logname in [None, Some("kbz-parity")] {
        let expected = ansible_setup(&ansible, logname);
        let ours = kbz_facts(logname);
        assert_eq!(
            ours, expected,
            "LOGNAME {logname:?}: kbz-play's [ansible_default_ipv4, ansible_user_id], then Ansible's"
        );
    }
}

/// `cmd` with `LOGNAME` as given and no other user variable.
fn logname_only(cmd: &mut Command, logname: Option<&str>) {
    for var in USER_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(logname.map(|name| ("LOGNAME", name)));
}

/// `[ansible_default_ipv4, ansible_user_id]` as the venv's `setup` gathers them.
fn ansible_setup(ansible: &Path, logname: Option<&str>) -> serde_json::Value {
    let mut cmd = Command::new(ansible);
    cmd.args([
        "-i",
        "localhost,",
        "-c",
        "local",
        "localhost",
        "-m",
        "setup",
    ])
    .args(["-a", "filter=ansible_default_ipv4,ansible_user_id"])
    .env(
        "ANSIBLE_PYTHON_INTERPRETER",
        ansible.with_file_name("python3"),
    )
    .env("ANSIBLE_NOCOLOR", "1");
    logname_only(&mut cmd, logname);
    let out = cmd.output().expect("ansible runs");
    assert!(
        out.status.success(),
        "ansible setup failed\n{}",
        common::text(&out)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let json = text
        .split_once("=>")
        .expect("ansible's `host | SUCCESS => {...}`")
        .1;
    let gathered: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let facts = &gathered["ansible_facts"];
    serde_json::json!([facts["ansible_default_ipv4"], facts["ansible_user_id"]])
}

/// The same two facts as kbz-play renders them for a local host.
fn kbz_facts(logname: Option<&str>) -> serde_json::Value {
    let playbook =
        r#"play("f", "all", |host| { template("facts.j2", host.vars.tmp + "/facts.json"); });"#;
    let t = Test::new()
        .playbook(playbook)
        .file(
            "templates/facts.j2",
            "{{ [ansible_default_ipv4, ansible_user_id] | to_json }}",
        )
        .inventory(
            "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n",
        )
        .dir("state");
    let tmp = t.at("state");
    let t = t.var("tmp", tmp.display());
    let mut cmd = t.command();
    logname_only(&mut cmd, logname);
    let out = cmd.output().expect("kbz-play runs");
    assert!(
        out.status.success(),
        "kbz-play failed\n{}",
        common::text(&out)
    );
    let rendered = std::fs::read_to_string(tmp.join("facts.json")).unwrap();
    serde_json::from_str(&rendered).expect("JSON")
}
