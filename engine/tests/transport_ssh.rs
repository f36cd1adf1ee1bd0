//! The SSH transport against a real, throwaway sshd on 127.0.0.1: its own
//! config, host key, client key and known_hosts in a temp dir, on a free port.
//! `#[ignore]`d, with the reason, in a plain `cargo test`: they need
//! `/usr/sbin/sshd` and the OpenSSH client (become also root and sudo).
//! `tests/run.sh` installs them and runs these tests with `--include-ignored`,
//! where a missing program fails them.
//! Timings are printed to stderr: `cargo test --test transport_ssh --
//! --include-ignored --nocapture`.

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kbz_engine::op::WriteFile;
use kbz_engine::transport::{Become, ConnectOptions, HostKeyPolicy, Transport, TransportError};

const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd and the client-side files to reach it.
struct Sshd {
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn keygen(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path));
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// What this machine lacks to run these tests, if anything.
fn missing() -> Option<&'static str> {
    if !Path::new(SSHD).exists() {
        return Some("/usr/sbin/sshd is missing (apt-get install openssh-server)");
    }
    if Command::new("ssh").arg("-V").output().is_err()
        || Command::new("ssh-keygen").arg("-?").output().is_err()
    {
        return Some(
            "the OpenSSH client (ssh, ssh-keygen) is missing (apt-get install openssh-client)",
        );
    }
    None
}

/// A throwaway sshd; fails the test, saying what is missing, when this
/// machine cannot run one (these tests are `#[ignore]`d for that reason).
fn sshd() -> Sshd {
    if let Some(what) = missing() {
        panic!("this test needs a local sshd: {what}; bash tests/run.sh installs it");
    }
    Sshd::start()
}

impl Sshd {
    fn start() -> Sshd {
        // Short path: the mux socket lives under it.
        let dir = tempfile::Builder::new()
            .prefix("kbz")
            .tempdir_in("/tmp")
            .unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("client_key"));
        keygen(&d.join("other_key"));
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        std::fs::write(
            d.join("sshd_config"),
            format!(
                "ListenAddress 127.0.0.1\n\
                 HostKey {d}/host_key\n\
                 PidFile {d}/sshd.pid\n\
                 AuthorizedKeysFile {d}/authorized_keys\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 UsePAM no\n\
                 StrictModes no\n\
                 PermitRootLogin prohibit-password\n\
                 MaxStartups 100\n\
                 Subsystem sftp internal-sftp\n\
                 SetEnv SHLVL=1\n",
                d = d.display()
            ),
        )
        .unwrap();
        // SetEnv SHLVL=1 above: Debian's bash sources ~/.bashrc for commands run by
        // sshd unless SHLVL >= 2, and this machine's root .bashrc runs `pyenv init`
        // (~170 ms), which would swamp the transport's own timings.
        let _ = std::fs::create_dir_all("/run/sshd"); // privilege separation dir
        let mut sshd = Sshd {
            port: free_port(),
            dir,
            child: None,
        };
        sshd.spawn();
        sshd
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let child = Command::new(SSHD)
            .args(["-D", "-e", "-p", &self.port.to_string(), "-f"])
            .arg(d.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sshd.log")).unwrap())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "sshd exited ({status}): {}",
                    std::fs::read_to_string(d.join("sshd.log")).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "sshd did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new host key, as after a reinstall.
    fn restart_with_new_host_key(&mut self) {
        self.stop();
        keygen(&self.dir.path().join("host_key"));
        self.spawn();
    }

    /// An ssh config (for `-F`) using `known_hosts` and, if given, a key.
    fn client_config(&self, name: &str, known_hosts: &str, key: Option<&str>) -> PathBuf {
        let d = self.dir.path();
        let mut text = format!(
            "Host *\n  UserKnownHostsFile {d}/{known_hosts}\n  GlobalKnownHostsFile /dev/null\n  IdentitiesOnly yes\n  User {user}\n",
            d = d.display(),
            user = whoami()
        );
        if let Some(key) = key {
            text.push_str(&format!("  IdentityFile {}/{key}\n", d.display()));
        }
        let path = d.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn opts(&self) -> ConnectOptions {
        let mut o = ConnectOptions::new("loop", "127.0.0.1", self.dir.path().join("c"));
        o.port = Some(self.port);
        o.ssh_config = Some(self.client_config("ssh_config", "known_hosts", Some("client_key")));
        o.connect_timeout = Duration::from_secs(5);
        o
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn file(path: &str, content: &[u8]) -> WriteFile {
    WriteFile {
        path: path.into(),
        content: Arc::new(content.to_vec()),
        mode: None,
        owner: None,
        group: None,
        validate: None,
        expect: None,
    }
}

/// A local file's permission bits, as a write's `mode` sets them.
fn mode_of(path: &str) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn temp_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".kbz-play."))
        .collect()
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn exec_over_a_real_sshd() {
    let sshd = sshd();
    let started = Instant::now();
    let t = Transport::connect(&sshd.opts()).await.unwrap();
    eprintln!(
        "connect (new master, key exchange): {}",
        ms(started.elapsed())
    );
    assert!(matches!(t, Transport::Ssh(_)));

    let out = t
        .exec("echo out; echo err >&2; exit 3", None)
        .await
        .unwrap();
    assert_eq!(
        (out.rc, &out.stdout[..], &out.stderr[..]),
        (3, &b"out\n"[..], &b"err\n"[..])
    );

    // Stdin, binary and larger than any pipe buffer, comes back intact.
    let blob: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let started = Instant::now();
    let out = t.exec("cat", Some(&blob)).await.unwrap();
    eprintln!(
        "exec `cat` of 3 MB through stdin/stdout: {}",
        ms(started.elapsed())
    );
    assert_eq!(out.rc, 0);
    assert!(out.stdout == blob, "stdin did not round-trip");
    // A script that ignores its stdin is not an error.
    assert_eq!(t.exec("exit 0", Some(&blob)).await.unwrap().rc, 0);

    // Awkward scripts reach sh untouched, whatever the login shell does with the command line.
    let awkward = "printf '%s|' \"it's\" '$HOME' \"$(echo sub)\" 'a\"b' 'back\\slash' '*' 'tab\there' 'ünï'\nprintf 'line2\\n'";
    let out = t.exec(awkward, None).await.unwrap();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "it's|$HOME|sub|a\"b|back\\slash|*|tab\there|ünï|line2\n"
    );
    let out = t
        .exec("echo \"$0\"; set -e; false; echo not reached", None)
        .await
        .unwrap();
    assert_eq!((out.rc, &out.stdout[..]), (1, &b"sh\n"[..]));

    // Scripts beyond what one argument may hold (128 KiB on Linux) still run.
    let long = format!("{}echo long done", ": padding line\n".repeat(20_000));
    let out = t.exec(&long, None).await.unwrap();
    assert_eq!((out.rc, &out.stdout[..]), (0, &b"long done\n"[..]));

    // Round trip of a trivial command over the established master.
    let n = 50;
    let started = Instant::now();
    for _ in 0..n {
        assert_eq!(t.exec("true", None).await.unwrap().rc, 0);
    }
    eprintln!(
        "exec `true`: {} per call (mean of {n})",
        ms(started.elapsed() / n)
    );

    // More concurrent commands than sshd's MaxSessions (10): queued, not refused.
    let t = Arc::new(t);
    let started = Instant::now();
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let t = t.clone();
            tokio::spawn(async move { t.exec(&format!("sleep 0.1; echo {i}"), None).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let out = task.await.unwrap().unwrap();
        assert_eq!(out.stdout, format!("{i}\n").into_bytes());
    }
    eprintln!("24 concurrent `sleep 0.1`: {}", ms(started.elapsed()));
    Arc::try_unwrap(t).unwrap().close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn files_over_a_real_sshd() {
    let sshd = sshd();
    let t = Transport::connect(&sshd.opts()).await.unwrap();
    let dir = sshd.dir.path().join("files");
    std::fs::create_dir(&dir).unwrap();
    let target = format!("{}/app's.conf", dir.display());

    assert_eq!(t.read_file(&target).await.unwrap(), None);
    let e = t.read_file(dir.to_str().unwrap()).await.unwrap_err();
    assert!(matches!(e, TransportError::ReadFile { .. }), "{e}");

    // New file: content (binary), default mode 0644, nothing left behind.
    let content: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let started = Instant::now();
    t.write_file(&file(&target, &content)).await.unwrap();
    eprintln!("write_file 100 kB (new file): {}", ms(started.elapsed()));
    assert_eq!(std::fs::read(&target).unwrap(), content);
    assert_eq!(mode_of(&target), 0o644);
    assert_eq!(
        t.read_file(&target).await.unwrap().as_deref(),
        Some(&content[..])
    );

    // Replacing: a new inode is renamed over the target; the mode is kept when not given.
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let inode = std::fs::metadata(&target).unwrap().ino();
    t.write_file(&file(&target, b"v2\n")).await.unwrap();
    let meta = std::fs::metadata(&target).unwrap();
    assert_ne!(
        meta.ino(),
        inode,
        "the target must be replaced by rename, not rewritten"
    );
    assert_eq!(meta.permissions().mode() & 0o7777, 0o640);
    assert_eq!(std::fs::read(&target).unwrap(), b"v2\n");

    // Explicit mode; empty content.
    t.write_file(&WriteFile {
        mode: Some(0o600),
        ..file(&target, b"")
    })
    .await
    .unwrap();
    assert_eq!(mode_of(&target), 0o600);
    assert_eq!(t.read_file(&target).await.unwrap(), Some(vec![]));

    if is_root() {
        // Owner by name, then kept on the next write that does not name one.
        let owned = WriteFile {
            owner: Some("nobody".into()),
            group: Some("root".into()),
            ..file(&target, b"x")
        };
        t.write_file(&owned).await.unwrap();
        let nobody = std::fs::metadata(&target).unwrap().uid();
        assert_ne!(nobody, 0);
        t.write_file(&file(&target, b"y")).await.unwrap();
        assert_eq!(std::fs::metadata(&target).unwrap().uid(), nobody);
        t.write_file(&WriteFile {
            owner: Some("root".into()),
            ..file(&target, b"z")
        })
        .await
        .unwrap();
        let meta = std::fs::metadata(&target).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (0, 0));
        // chown clears setuid bits, so the mode must be set after it.
        t.write_file(&WriteFile {
            owner: Some("nobody".into()),
            mode: Some(0o4750),
            ..file(&target, b"s")
        })
        .await
        .unwrap();
        assert_eq!(mode_of(&target), 0o4750);
    } else {
        eprintln!("not root: owner checks skipped");
    }

    // Failures leave the target alone and no temp file behind.
    let bad_owner = WriteFile {
        owner: Some("no-such-user-kbz".into()),
        ..file(&target, b"never")
    };
    let e = t.write_file(&bad_owner).await.unwrap_err();
    assert!(matches!(e, TransportError::WriteFile { .. }), "{e}");
    assert!(e.to_string().contains("cannot set the owner/group"), "{e}");
    let e = t
        .write_file(&file(&format!("{}/missing/x", dir.display()), b"x"))
        .await
        .unwrap_err();
    assert!(matches!(e, TransportError::WriteFile { .. }), "{e}");
    assert_ne!(std::fs::read(&target).unwrap(), b"never");
    assert!(
        temp_leftovers(&dir).is_empty(),
        "{:?}",
        temp_leftovers(&dir)
    );

    let n = 20;
    let started = Instant::now();
    for i in 0..n {
        t.write_file(&file(&target, format!("config {i}\n").as_bytes()))
            .await
            .unwrap();
    }
    eprintln!(
        "write_file small file over an existing one: {} per call (mean of {n})",
        ms(started.elapsed() / n)
    );
    let started = Instant::now();
    for _ in 0..n {
        t.read_file(&target).await.unwrap().unwrap();
    }
    eprintln!(
        "read_file small file: {} per call (mean of {n})",
        ms(started.elapsed() / n)
    );
    let big = vec![7u8; 20 << 20];
    let started = Instant::now();
    t.write_file(&file(&target, &big)).await.unwrap();
    eprintln!("write_file 20 MB: {}", ms(started.elapsed()));
    assert_eq!(std::fs::metadata(&target).unwrap().len(), big.len() as u64);
    assert!(temp_leftovers(&dir).is_empty());
    t.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd, the OpenSSH client, sudo, and root: bash tests/run.sh installs them; run it as root"]
async fn become_through_sudo() {
    let sshd = sshd();
    // Becoming another user without a password needs a sudoers entry; as
    // root it works out of the box (root may sudo to anyone).
    assert!(
        is_root() && Path::new("/usr/bin/sudo").exists(),
        "become needs root (and sudo) on this loopback host: run as root, with sudo installed"
    );
    let mut opts = sshd.opts();
    opts.become_ = Some(Become {
        user: "nobody".into(),
    });
    let t = Transport::connect(&opts).await.unwrap();
    let out = t.exec("id -un; echo warn >&2; exit 4", None).await.unwrap();
    assert_eq!(
        (out.rc, &out.stdout[..], &out.stderr[..]),
        (4, &b"nobody\n"[..], &b"warn\n"[..])
    );
    let out = t.exec("cat", Some(b"through sudo")).await.unwrap();
    assert_eq!(out.stdout, b"through sudo");
    let long = format!("{}id -un >&2", ": padding line\n".repeat(20_000));
    let out = t.exec(&long, None).await.unwrap();
    assert_eq!((out.rc, &out.stderr[..]), (0, &b"nobody\n"[..]));
    t.close().await.unwrap();

    opts.become_ = Some(Become::default());
    let t = Transport::connect(&opts).await.unwrap();
    let target = sshd.path("root-owned");
    t.write_file(&WriteFile {
        owner: Some("nobody".into()),
        mode: Some(0o600),
        ..file(&target, b"secret")
    })
    .await
    .unwrap();
    assert_eq!(
        t.read_file(&target).await.unwrap().as_deref(),
        Some(&b"secret"[..])
    );
    assert_eq!(t.read_file(&sshd.path("nope")).await.unwrap(), None);
    t.close().await.unwrap();

    opts.become_ = Some(Become {
        user: "no-such-user-kbz".into(),
    });
    let t = Transport::connect(&opts).await.unwrap();
    let e = t.exec("true", None).await.unwrap_err();
    assert!(matches!(e, TransportError::Become { .. }), "{e}");
    assert!(!e.is_unreachable());
    eprintln!("become error reads: {e}");
    t.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn changed_and_unknown_host_keys_are_refused() {
    let mut sshd = sshd();
    let opts = sshd.opts();
    // accept-new records the key on first contact.
    Transport::connect(&opts)
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    let known = std::fs::read_to_string(sshd.path("known_hosts")).unwrap();
    assert!(
        known.contains(&format!("[127.0.0.1]:{}", sshd.port)),
        "{known}"
    );

    sshd.restart_with_new_host_key();
    let e = Transport::connect(&opts).await.unwrap_err();
    match &e {
        TransportError::HostKeyChanged {
            host,
            address,
            known_hosts,
        } => {
            assert_eq!(host, "loop");
            assert_eq!(address, &format!("[127.0.0.1]:{}", sshd.port));
            assert_eq!(known_hosts, &sshd.path("known_hosts"));
        }
        other => panic!("expected HostKeyChanged, got {other}"),
    }
    assert!(e.is_unreachable());
    eprintln!("host key changed reads: {e}");
    // The recorded key was not replaced.
    assert_eq!(
        std::fs::read_to_string(sshd.path("known_hosts")).unwrap(),
        known
    );

    let mut strict = sshd.opts();
    strict.ssh_config =
        Some(sshd.client_config("strict_config", "empty_known_hosts", Some("client_key")));
    strict.known_hosts = HostKeyPolicy::Strict;
    let e = Transport::connect(&strict).await.unwrap_err();
    assert!(matches!(e, TransportError::HostKeyUnknown { .. }), "{e}");
    assert!(e.is_unreachable());
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn the_users_strict_host_key_checking_is_kept() {
    let sshd = sshd();
    let mut opts = sshd.opts();
    let config = sshd.client_config("yes_config", "unknown_hosts", Some("client_key"));
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("  StrictHostKeyChecking yes\n");
    std::fs::write(&config, text).unwrap();
    opts.ssh_config = Some(config);
    // kbz-play's default (accept-new) applies only where the config is silent.
    assert_eq!(opts.known_hosts, HostKeyPolicy::AcceptNew);
    let e = Transport::connect(&opts).await.unwrap_err();
    assert!(matches!(e, TransportError::HostKeyUnknown { .. }), "{e}");
    let recorded = std::fs::read_to_string(sshd.path("unknown_hosts")).unwrap_or_default();
    assert_eq!(recorded, "", "the unknown key was recorded");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn unreachable_hosts_fail_fast_and_clearly() {
    let sshd = sshd();
    // Nothing listens on a port we just freed.
    let mut refused = sshd.opts();
    refused.port = Some(free_port());
    let started = Instant::now();
    let e = Transport::connect(&refused).await.unwrap_err();
    let took = started.elapsed();
    eprintln!("connection refused after {}: {e}", ms(took));
    assert!(matches!(e, TransportError::Unreachable { .. }), "{e}");
    assert!(e.is_unreachable());
    assert!(e.to_string().contains("connection refused"), "{e}");
    assert!(took < Duration::from_secs(2), "took {took:?}");

    // A port that accepts connections but never speaks SSH: the timeout applies.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut hung = sshd.opts();
    hung.port = Some(silent.local_addr().unwrap().port());
    hung.connect_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let e = Transport::connect(&hung).await.unwrap_err();
    let took = started.elapsed();
    eprintln!("silent port gave up after {}: {e}", ms(took));
    assert!(e.is_unreachable(), "{e}");
    assert!(e.to_string().contains("no answer"), "{e}");
    assert!(took < Duration::from_secs(4), "took {took:?}");
    drop(silent);

    // A key sshd does not know.
    let mut wrong_key = sshd.opts();
    wrong_key.ssh_config = Some(sshd.client_config("nokey_config", "known_hosts", None));
    wrong_key.identity_file = Some(sshd.dir.path().join("other_key"));
    let e = Transport::connect(&wrong_key).await.unwrap_err();
    assert!(matches!(e, TransportError::Unreachable { .. }), "{e}");
    assert!(e.to_string().contains("authentication failed"), "{e}");
    assert!(
        e.to_string().contains(" -i "),
        "the hint shows the key: {e}"
    );

    let mut bad_name = sshd.opts();
    bad_name.address = "no-such-host.invalid".into();
    let e = Transport::connect(&bad_name).await.unwrap_err();
    assert!(e.is_unreachable(), "{e}");
    assert!(e.to_string().contains("cannot resolve"), "{e}");
}

/// Whether any process's command line mentions `needle` (the master's socket dir).
fn process_mentions(needle: &str) -> bool {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .any(|e| {
            std::fs::read(e.path().join("cmdline"))
                .map(|c| String::from_utf8_lossy(&c).contains(needle))
                .unwrap_or(false)
        })
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn a_lost_master_is_restarted_and_close_cleans_up() {
    let sshd = sshd();
    let t = Transport::connect(&sshd.opts()).await.unwrap();
    let Transport::Ssh(ssh) = &t else {
        panic!("not ssh")
    };
    let socket = ssh.control_socket();

    // A command running when the master dies fails as Disconnected...
    let t = Arc::new(t);
    let running = tokio::spawn({
        let t = t.clone();
        async move { t.exec("sleep 5", None).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    run(Command::new("ssh")
        .arg("-S")
        .arg(&socket)
        .args(["-O", "exit", "x"]));
    let e = running.await.unwrap().unwrap_err();
    assert!(matches!(e, TransportError::Disconnected { .. }), "{e}");
    assert!(e.is_unreachable());

    // ...and the next command starts a new master (it never ran, so retrying is safe).
    let started = Instant::now();
    let out = t.exec("echo again", None).await.unwrap();
    eprintln!(
        "exec after the master died (reconnect included): {}",
        ms(started.elapsed())
    );
    assert_eq!(out.stdout, b"again\n");
    let Transport::Ssh(ssh) = &*t else {
        panic!("not ssh")
    };
    let socket = ssh.control_socket();
    assert!(socket.exists());

    let t = Arc::try_unwrap(t).unwrap();
    let started = Instant::now();
    t.close().await.unwrap();
    eprintln!("close: {}", ms(started.elapsed()));
    let dir = socket.parent().unwrap().to_str().unwrap().to_string();
    assert!(!Path::new(&dir).exists(), "the socket directory is removed");
    let deadline = Instant::now() + Duration::from_secs(5);
    while process_mentions(&dir) {
        assert!(
            Instant::now() < deadline,
            "the ssh master is still running after close"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The run lock over SSH (see `transport/lock.rs`): its holder lives on its
/// own channel of the master; the opening batch still costs one round trip;
/// a second session waits, then fails naming the holder; closing or dropping
/// the session releases the lock at once.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs sshd and the OpenSSH client (openssh-server, openssh-client): bash tests/run.sh installs them"]
async fn the_run_lock_over_a_real_sshd() {
    use kbz_engine::cache::HostCache;
    use kbz_engine::run::{ProbeError, Session};
    use kbz_engine::transport::{LockError, RunLock};

    let sshd = sshd();
    let host = format!("lock-test-{}", std::process::id());
    let open = |timeout: u64| {
        let (opts, host) = (sshd.opts(), host.clone());
        async move {
            let t = Transport::connect(&opts).await.unwrap();
            let lock = RunLock::new(&host, Duration::from_secs(timeout));
            Session::open_locked(t, &HostCache::default(), &lock, Duration::from_secs(60)).await
        }
    };
    let first = open(5).await.unwrap();
    assert_eq!(first.round_trips(), 1);

    let started = Instant::now();
    let busy = open(1).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3), "{busy}");
    match &busy {
        ProbeError::Lock(LockError::Busy { holder, .. }) => {
            assert!(
                holder.contains(&format!("pid {},", std::process::id())),
                "{busy}"
            )
        }
        other => panic!("not busy: {other}"),
    }

    first.close().await;
    let started = Instant::now();
    let second = open(5).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(2));
    // A run that ends without closing (a crash) releases the lock too.
    drop(second);
    let started = Instant::now();
    open(5).await.unwrap().close().await;
    assert!(started.elapsed() < Duration::from_secs(2));

    let file = match is_root() {
        true => format!("/run/kbz-play-{host}.lock"),
        false => format!("{}/.kbz-play-{host}.lock", std::env::var("HOME").unwrap()),
    };
    std::fs::remove_file(format!("{file}.info")).unwrap();
    std::fs::remove_file(file).unwrap();
}
