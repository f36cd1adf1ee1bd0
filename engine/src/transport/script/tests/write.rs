//! The write script: what replaces a file on a host, run here under `sh`
//! and `dash` against real files.

use super::{run, run_in};
use crate::op::{Expected, WriteFile};
use crate::transport::script::*;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::Arc;

fn wf(path: &str, content: &[u8], mode: Option<u32>) -> WriteFile {
    WriteFile {
        path: path.into(),
        content: Arc::new(content.to_vec()),
        mode,
        owner: None,
        group: None,
        validate: None,
        expect: None,
    }
}

fn leftovers(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".kbz-play."))
        .collect()
}

#[test]
fn a_rejected_file_never_replaces_the_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("haproxy.cfg");
    std::fs::write(&target, "good\n").unwrap();
    let mut file = wf(target.to_str().unwrap(), b"bad \"$(x)\"\n", None);
    file.validate = Some("grep -q '^good' {} || { echo \"$0: no good line\"; exit 3; }".into());
    let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
    assert_ne!(rc, 0);
    assert!(
        err.contains("validation failed") && err.contains("no good line"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "good\n");
    assert!(leftovers(dir.path()).is_empty());
    file.content = Arc::new(b"good again\n".to_vec());
    let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "good again\n");
}

#[test]
fn the_validator_reads_a_private_copy_of_exactly_what_is_installed() {
    let dir = tempfile::tempdir().unwrap();
    let seen = tempfile::tempdir().unwrap();
    let seen = seen.path().join("seen");
    let target = dir.path().join("sudoers");
    let mut file = wf(target.to_str().unwrap(), b"new\n", Some(0o440));
    // What the validator is given: the copy's mode, its folder's, content and path.
    file.validate = Some(format!(
        "stat -c %a {{}} \"$(dirname {{}})\" > {s}; cat {{}} >> {s}; echo {{}} >> {s}",
        s = seen.display()
    ));
    let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
    assert_eq!(rc, 0, "{err}");
    let seen = std::fs::read_to_string(&seen).unwrap();
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines[..3], ["440", "700", "new"], "{seen}");
    let copy = std::path::Path::new(lines[3]);
    assert!(
        !copy.starts_with(dir.path()) && copy.ends_with("sudoers"),
        "the validator read {copy:?}, in the target's folder"
    );
    assert!(!copy.parent().unwrap().exists(), "its folder is removed");
    assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_write_expecting_what_is_no_longer_there_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("conf");
    std::fs::write(&target, "edited meanwhile\n").unwrap();
    let mut file = wf(target.to_str().unwrap(), b"new\n", None);
    for expect in [
        Expected::Missing,
        Expected::Sha256(crate::digest::sha256_hex(b"as probed\n")),
    ] {
        file.expect = Some(expect);
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
        assert_eq!(rc, CHANGED_RC, "{err}");
        assert!(
            err.contains("changed on the host since it was probed"),
            "{err}"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"edited meanwhile\n");
        assert!(leftovers(dir.path()).is_empty());
    }
    file.expect = Some(Expected::Sha256(crate::digest::sha256_hex(
        b"edited meanwhile\n",
    )));
    let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
    assert_eq!(rc, 0, "{err}");
    std::fs::remove_file(&target).unwrap();
    file.expect = Some(Expected::Missing);
    let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
}

#[test]
fn a_symlink_swapped_in_at_the_target_is_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let target = dir.path().join("conf");
    // What a service could plant once the write script has checked the target.
    let file = wf(target.to_str().unwrap(), b"new\n", None);
    let script = write_script(&file).unwrap().replace(
        "mv -fT",
        &format!("ln -s {} \"$t\"; mv -fT", elsewhere.display()),
    );
    let (rc, err) = run(&script, &file.content);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}

#[test]
fn paths_are_checked() {
    assert!(split_path("relative").is_err());
    assert!(split_path("/etc/").is_err());
    assert!(split_path("/etc/..").is_err());
    assert_eq!(split_path("/f").unwrap(), ("/", "f"));
    assert_eq!(split_path("/etc/a b").unwrap(), ("/etc", "a b"));
    assert_eq!(truncate("héllo", 2), "h");
}

#[test]
fn write_replaces_the_target_and_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("it's a file");
    std::fs::write(&target, "old").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let file = wf(target.to_str().unwrap(), b"new\0binary\n", None);
    let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"new\0binary\n");
    assert_eq!(
        std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
        0o600
    );
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn new_files_get_0644_or_the_given_mode() {
    let dir = tempfile::tempdir().unwrap();
    for (name, mode, want) in [("a", None, 0o644), ("b", Some(0o640), 0o640)] {
        let target = dir.path().join(name);
        let file = wf(target.to_str().unwrap(), b"x", mode);
        let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
        assert_eq!(rc, 0, "{err}");
        assert_eq!(
            std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
            want
        );
    }
}

#[test]
fn a_short_stream_leaves_the_target_alone() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("conf");
    std::fs::write(&target, "old").unwrap();
    let file = wf(target.to_str().unwrap(), b"the whole new content", None);
    // The connection "drops" after 7 bytes.
    let (rc, err) = run(&write_script(&file).unwrap(), &file.content[..7]);
    assert_eq!(rc, 1);
    assert!(err.contains("only 7 of 21 bytes arrived"), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_full_disk_is_named_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("conf");
    std::fs::write(&target, "old").unwrap();
    // A `dd` that fails as GNU dd does on a full file system.
    let shim = dir.path().join("bin");
    std::fs::create_dir(&shim).unwrap();
    std::fs::write(
        shim.join("dd"),
        "#!/bin/sh\necho \"dd: error writing 'standard output': No space left on device\" >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(shim.join("dd"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let file = wf(target.to_str().unwrap(), b"new", None);
    let path = format!("{}:{}", shim.display(), std::env::var("PATH").unwrap());
    let out = Command::new("sh")
        .arg("-c")
        .arg(write_script(&file).unwrap())
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let dir_text = dir.path().display();
    assert_eq!(
        err.trim(),
        format!(
            "No space left on device; {} left unchanged, the temp file removed; free space \
             on the file system that holds it (df -h {dir_text}), then run again",
            target.display()
        )
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn failures_remove_the_temp_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("conf");
    let mut file = wf(target.to_str().unwrap(), b"x", None);
    file.owner = Some("no-such-user-kbz".into());
    let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
    assert_eq!(rc, 1);
    assert!(err.contains("cannot set the owner/group"), "{err}");
    assert!(!target.exists());
    assert!(leftovers(dir.path()).is_empty());
    // A directory in the way is refused before anything is written.
    std::fs::create_dir(&target).unwrap();
    let (rc, err) = run(
        &write_script(&wf(target.to_str().unwrap(), b"x", None)).unwrap(),
        b"x",
    );
    assert_eq!(rc, 1);
    assert!(err.contains("is a directory"), "{err}");
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn a_write_removes_the_temp_files_a_dead_host_left_for_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a b*.conf");
    let ours = dir.path().join(".kbz-play.a b*.conf.0123456789ab");
    let kept = [
        ".kbz-play.other.conf.0123456789ab",
        ".kbz-play.a b*.conf.keep",
        "a b*.conf.0123456789ab",
    ];
    std::fs::write(&ours, "half of it").unwrap();
    let planted = dir.path().join(".kbz-play.a b*.conf.00000000cafe");
    let canary = dir.path().join("canary");
    std::fs::write(&canary, "keep me").unwrap();
    std::os::unix::fs::symlink(&canary, &planted).unwrap();
    for name in kept {
        std::fs::write(dir.path().join(name), "not ours to remove").unwrap();
    }
    let file = wf(target.to_str().unwrap(), b"new\n", None);
    let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
    assert!(!ours.exists(), "the dead write's temp file is still there");
    assert!(
        planted.symlink_metadata().is_err() && canary.exists(),
        "a link at one of our names is removed, never its target"
    );
    for name in kept {
        assert!(dir.path().join(name).exists(), "{name} was removed");
    }
}

#[test]
fn a_write_in_a_clean_folder_starts_no_rm() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("rm.log");
    let target = dir.path().join("app.conf");
    let file = wf(target.to_str().unwrap(), b"new\n", None);
    let counted = format!(
        "rm() {{ echo \"$*\" >> {}; command rm \"$@\"; }}\n{}",
        log.display(),
        write_script(&file).unwrap()
    );
    let (rc, err) = run(&counted, &file.content);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
    assert!(!log.exists(), "rm ran: {:?}", std::fs::read_to_string(&log));
}

#[test]
fn the_write_script_is_posix() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["dash", "bash", "busybox"] {
        if Command::new(shell).arg("-c").arg("true").output().is_err() {
            eprintln!("{shell} not installed, not tried");
            continue;
        }
        let target = dir.path().join(shell);
        std::fs::write(&target, "old").unwrap();
        let file = wf(target.to_str().unwrap(), b"new", Some(0o755));
        let script = write_script(&file).unwrap();
        let (rc, err) = match shell {
            "busybox" => run_in(
                "busybox",
                &format!("sh -c {}", quote(&script)),
                &file.content,
            ),
            _ => run_in(shell, &script, &file.content),
        };
        assert_eq!(rc, 0, "{shell}: {err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(
            std::fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
            0o755
        );
    }
    assert!(leftovers(dir.path()).is_empty());
}

#[test]
fn long_names_still_fit_in_a_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("n".repeat(250));
    let file = wf(target.to_str().unwrap(), b"x", None);
    let (rc, err) = run(&write_script(&file).unwrap(), &file.content);
    assert_eq!(rc, 0, "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"x");
}
