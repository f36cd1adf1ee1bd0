//! Facts under Ansible's names against what Ansible's own `setup` module
//! gathers on the same machine (issue 12): kbz-play renders them through a
//! template on this machine (local connection, the real facts script), the
//! venv's `ansible -m setup` gathers them, and the two must be equal.

mod common;

use std::process::Command;

use common::Test;

#[test]
#[ignore = "needs ansible-core (the test venv): bash tests/run.sh puts it on PATH"]
fn default_ipv4_is_what_ansibles_setup_gathers() {
    let ansible = common::find_tool("ansible").expect("ansible on PATH");
    let out = Command::new(&ansible)
        .args([
            "-i",
            "localhost,",
            "-c",
            "local",
            "localhost",
            "-m",
            "setup",
        ])
        .args(["-a", "filter=ansible_default_ipv4"])
        .env(
            "ANSIBLE_PYTHON_INTERPRETER",
            ansible.with_file_name("python3"),
        )
        .env("ANSIBLE_NOCOLOR", "1")
        .output()
        .expect("ansible runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ansible setup failed\n{}",
        common::text(&out)
    );
    let json = text
        .split_once("=>")
        .expect("ansible's `host | SUCCESS => {...}`")
        .1;
    let gathered: serde_json::Value = serde_json::from_str(json).expect("JSON");
    let expected = &gathered["ansible_facts"]["ansible_default_ipv4"];

    let playbook =
        r#"play("f", "all", |host| { template("facts.j2", host.vars.tmp + "/facts.json"); });"#;
    let t = Test::new()
        .playbook(playbook)
        .file("templates/facts.j2", "{{ ansible_default_ipv4 | to_json }}")
        .inventory(
            "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n",
        )
        .dir("state");
    let tmp = t.at("state");
    let t = t.var("tmp", tmp.display());
    t.run().assert_code(0);
    let rendered = std::fs::read_to_string(tmp.join("facts.json")).unwrap();
    let ours: serde_json::Value = serde_json::from_str(&rendered).expect("JSON");
    assert_eq!(
        &ours, expected,
        "kbz-play's ansible_default_ipv4, then Ansible's"
    );
}
