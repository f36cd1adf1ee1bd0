//! The programs a first run starts on a host to make its changes: each
//! costs the host a millisecond or more of CPU, and a first run on many
//! hosts is bound by them (README, Performance). The host is local
//! (`ansible_connection: local`, the same scripts as over SSH) and the
//! programs are counted by stand-ins on PATH that log, then run the real one.

mod common;

use common::Test;

/// The programs counted.
const COUNTED: [&str; 5] = ["mkdir", "dd", "mv", "chmod", "chown"];

/// The bench workload's shape (`roles/keybuzz_base.rhai`): 15 folders with
/// one mode, four `line` edits of one file, three new files in the folders.
const PLAYBOOK: &str = r#"
play("layout", "all", |host| {
    let root = host.vars.tmp + "/opt";
    for svc in ["postgres", "redis", "rabbitmq", "mariadb", "minio"] {
        for sub in ["data", "config", "logs"] {
            file(#{ path: `${root}/${svc}/${sub}`, state: "directory", mode: "0750" });
        }
    }
    for kv in [["PermitRootLogin", "prohibit-password"], ["PasswordAuthentication", "no"],
               ["X11Forwarding", "no"], ["MaxAuthTries", "3"]] {
        line(#{ path: host.vars.tmp + "/sshd_config", regexp: `^#?\s*${kv[0]}\s`,
                line: `${kv[0]} ${kv[1]}` });
    }
    for svc in ["postgres", "redis", "minio"] {
        copy(#{ dest: `${root}/${svc}/config/README`, content: `${svc}\n`, mode: "0644" });
    }
});
"#;

fn first_run_test() -> Test {
    let t = Test::new()
        .playbook(PLAYBOOK)
        .inventory("hostname\tip_private\tansible_connection\nh1\t127.0.0.1\tlocal\n")
        .file(
            "state/sshd_config",
            "#PermitRootLogin yes\nPasswordAuthentication yes\nX11Forwarding yes\n",
        )
        .dir("bin");
    let log = t.at("started");
    for program in COUNTED {
        let stand_in = t.at(format!("bin/{program}"));
        std::fs::write(
            &stand_in,
            format!(
                "#!/bin/sh\necho \"{program} $*\" >> '{}'\nPATH=/usr/bin:/bin exec {program} \"$@\"\n",
                log.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stand_in, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let tmp = t.at("state");
    t.var("tmp", tmp.display())
}

/// The programs started since the last call, by name, and the log emptied.
fn started(t: &Test) -> Vec<String> {
    let log = t.at("started");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    std::fs::remove_file(&log).ok();
    text.lines().map(str::to_string).collect()
}

fn names(lines: &[String]) -> Vec<&str> {
    lines
        .iter()
        .map(|l| l.split(' ').next().unwrap_or_default())
        .collect()
}

#[test]
fn a_first_run_makes_folders_with_one_mkdir_and_new_files_with_dd_and_mv() {
    let t = first_run_test();
    t.run_with_bin_first::<&str>(&[]).assert_each_host(22, 2);
    let lines = started(&t);
    // Every missing parent with one `mkdir -p`, the 15 folders with one
    // `mkdir -m`; the four edits of sshd_config as one write, which keeps
    // its mode (`chmod`); each new file `dd` and `mv` only.
    assert_eq!(
        names(&lines),
        ["mkdir", "mkdir", "dd", "chmod", "mv", "dd", "mv", "dd", "mv", "dd", "mv"],
        "{lines:#?}"
    );
    assert!(lines[0].starts_with("mkdir -p -- "), "{}", lines[0]);
    assert_eq!(lines[1].matches(" -m 0750 ").count(), 1, "{}", lines[1]);
    assert_eq!(lines[1].split(' ').count(), 4 + 15, "{}", lines[1]);
    let sshd = std::fs::read_to_string(t.at("state/sshd_config")).unwrap();
    assert_eq!(
        sshd,
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nX11Forwarding no\nMaxAuthTries 3\n"
    );
    let readme = t.at("state/opt/redis/config/README");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&readme).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o644);
    let data = std::fs::metadata(t.at("state/opt/minio/data")).unwrap();
    assert_eq!(data.permissions().mode() & 0o7777, 0o750);
    t.run_with_bin_first::<&str>(&[]).assert_each_host(0, 1);
    assert_eq!(started(&t), Vec::<String>::new());
}
