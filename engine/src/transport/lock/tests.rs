use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::*;

#[test]
fn claims_of_one_run_share_its_id_and_each_has_its_own_holder_id() {
    let run = RunId::new();
    let (a, b) = (
        RunLock::new(&run, "a", Duration::from_secs(1)),
        RunLock::new(&run, "b", Duration::from_secs(1)),
    );
    assert_eq!(a.run, b.run);
    assert_ne!(a.id, b.id);
    assert_ne!(run, RunId::new());
}

/// Runs `script` under each shell a host may run it with.
fn under_sh_and_bash(script: &str) -> Vec<String> {
    ["/bin/sh", "/bin/bash"]
        .iter()
        .map(|shell| {
            let out = std::process::Command::new(shell)
                .args(["-c", script])
                .env("HOME", "/home/someone")
                .output()
                .expect("the shell runs");
            String::from_utf8_lossy(&out.stdout).into_owned()
        })
        .collect()
}

#[test]
fn the_lock_is_in_run_for_root_and_in_home_for_others_as_id_u_says() {
    let script = format!(
        "{}echo \"$kbz_lock\"\nif [ \"$(id -u)\" = 0 ]; then echo /run/{LOCK_NAME}; \
         else echo \"$HOME/.{LOCK_NAME}\"; fi\n",
        RunLock::locate_in(None)
    );
    for out in under_sh_and_bash(&script) {
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert_eq!(lines[0], lines[1]);
    }
    let nobody = std::process::Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "sh",
            "-c",
        ])
        .arg(format!("{}echo \"$kbz_lock\"", RunLock::locate_in(None)))
        .env("HOME", "/home/someone")
        .output();
    if let Some(out) = nobody.ok().filter(|o| o.status.success()) {
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(said.trim(), format!("/home/someone/.{LOCK_NAME}"));
    }
}

#[test]
fn a_file_has_a_line_only_whole_as_grep_qxf_says() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("info");
    std::fs::write(&file, "run 1-2-3\nholder 4-5-6\nlast").unwrap();
    let file = file.display();
    let script = format!(
        "{HAS_LINE}for l in 'run 1-2-3' 'holder 4-5-6' last 'holder 4-5' 'older 4-5-6' ''; do \
         kbz_has \"$l\" '{file}' && echo y || echo n; done; \
         kbz_has last '{file}.missing' && echo y || echo n\n"
    );
    for out in under_sh_and_bash(&script) {
        assert_eq!(out.split_whitespace().collect::<String>(), "yyynnnn");
    }
}

/// The holder runs the opening under the lock, with its input, and
/// holds on after it: its output ends with the end line, and the lock
/// stays taken until the holder's stdin closes. On a free host that
/// costs two `flock`s, and a `dd` for the input.
#[tokio::test]
async fn a_free_lock_is_taken_with_two_flocks_and_the_opening_runs_under_it() {
    use std::process::Stdio;
    use tokio::process::Command;
    let programs = crate::programs_started::ProgramsStarted::wrapping(&[
        "flock", "id", "date", "cat", "grep", "sleep", "dd",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let locate = RunLock::locate_in(Some(dir.path().display().to_string()));
    let lock_file = dir.path().join(LOCK_NAME);
    let lock = RunLock::new(&RunId::new(), "h", Duration::from_secs(5));
    let opening = "read -r l; echo \"got $l\"; echo oops >&2; exit 3";
    let (script, end) = lock.running_lines(&locate, opening, Some(6));
    let mut holder = Command::new("/bin/sh")
        .args(["-c", &script])
        .env("PATH", programs.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = holder.stdin.take().unwrap();
    stdin
        .write_all(b"hello\nleft for the holder\n")
        .await
        .unwrap();
    let mut out = BufReader::new(holder.stdout.take().unwrap());
    let mut said = String::new();
    out.read_line(&mut said).await.unwrap();
    assert!(said.starts_with("locked "), "{said}");
    let mut err = holder.stderr.take().unwrap();
    let (printed, printed_err) = (end.read(&mut out).await, end.read(&mut err).await);
    assert_eq!(
        end.parts(printed.unwrap()),
        Some((b"got hello\n".to_vec(), 3))
    );
    assert_eq!(
        end.parts(printed_err.unwrap()),
        Some((b"oops\n".to_vec(), 3))
    );
    let free = || {
        std::process::Command::new("flock")
            .args(["-n", "-E", "9"])
            .arg(&lock_file)
            .arg("true")
            .status()
            .unwrap()
            .success()
    };
    assert!(!free(), "the holder let the lock go with its output");
    drop(stdin);
    assert!(holder.wait().await.unwrap().success());
    assert!(free());
    assert_eq!(programs.started(), ["dd", "flock", "flock"]);
    let info = std::fs::read_to_string(dir.path().join("kbz-play.lock.info")).unwrap();
    assert!(info.contains(&format!("{}\n", lock.holder)), "{info}");
}

/// The turn from exclusive to shared is not atomic: another run may take
/// the lock in between and name itself in the holder file. Here every turn
/// is overtaken so (the `flock` on the PATH rewrites the file before it
/// turns): the holder must never say `locked`, and gives up as busy,
/// naming the other run.
#[test]
fn a_holder_overtaken_in_its_turn_to_shared_does_not_take_the_lock() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let info = dir.path().join(format!("{LOCK_NAME}.info"));
    let real = ["/usr/bin/flock", "/bin/flock"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("flock is installed");
    let overtaking = bin.join("flock");
    std::fs::write(
        &overtaking,
        format!(
            "#!/bin/sh
[ \"$1 $2\" = '-s 9' ] && printf 'run other\\nuser x, pid 1\\n' >'{}'\nexec {real} \"$@\"\n",
            info.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&overtaking, std::fs::Permissions::from_mode(0o755)).unwrap();
    let locate = RunLock::locate_in(Some(dir.path().display().to_string()));
    let lock = RunLock::new(&RunId::new(), "h", Duration::from_millis(300));
    let script = lock.take_lines(&locate, lock.timeout, "");
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    for shell in ["/bin/sh", "/bin/bash"] {
        let out = std::process::Command::new(shell)
            .args(["-c", &script])
            .env("PATH", &path)
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(BUSY_RC), "{shell}: {said}");
        assert!(said.starts_with("busy\nrun other\n"), "{shell}: {said}");
    }
}

#[test]
fn an_opening_cut_short_or_ending_with_another_claims_end_line_has_no_end() {
    let lock = RunLock::new(&RunId::new(), "h", Duration::from_secs(5));
    let other = RunLock::new(&RunId::new(), "h", Duration::from_secs(5));
    let (_, end) = lock.running_lines("", "", None);
    let (_, forged) = other.running_lines("", "", None);
    let line = |e: &Opening, rc: &str| format!("out\n{} {rc}\n", e.end).into_bytes();
    assert_eq!(end.parts(line(&end, "0")), Some((b"out".to_vec(), 0)));
    assert_eq!(end.parts(line(&forged, "0")), None);
    assert_eq!(end.parts(b"out\n".to_vec()), None);
    assert_eq!(end.parts(format!("\n{} 1", end.end).into_bytes()), None);
}
