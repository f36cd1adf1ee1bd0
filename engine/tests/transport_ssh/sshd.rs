//! The throwaway sshd every test here talks to, and helpers they share.

use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kbz_engine::op::WriteFile;
use kbz_engine::transport::ConnectOptions;

pub(crate) const SSHD: &str = "/usr/sbin/sshd";

/// A running sshd and the client-side files to reach it.
pub(crate) struct Sshd {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) port: u16,
    pub(crate) child: Option<Child>,
}

pub(crate) fn run(cmd: &mut Command) {
    let out = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Stops `t`'s master as if it died (`ssh -O exit`): the next command
/// restarts it.
pub(crate) fn exit_master(t: &kbz_engine::transport::Transport) {
    let kbz_engine::transport::Transport::Ssh(ssh) = t else {
        panic!("not ssh")
    };
    run(Command::new("ssh")
        .arg("-S")
        .arg(ssh.control_socket())
        .args(["-O", "exit", "x"]));
}

pub(crate) fn keygen(path: &Path) {
    let _ = std::fs::remove_file(path);
    let _ = std::fs::remove_file(path.with_extension("pub"));
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path));
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

pub(crate) fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// What this machine lacks to run these tests, if anything.
pub(crate) fn missing() -> Option<&'static str> {
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
pub(crate) fn sshd() -> Sshd {
    if let Some(what) = missing() {
        panic!("this test needs a local sshd: {what}; bash tests/run.sh installs it");
    }
    Sshd::start()
}

impl Sshd {
    pub(crate) fn start() -> Sshd {
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
                 SetEnv SHLVL=1\n\
                 LogLevel VERBOSE\n",
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

    pub(crate) fn spawn(&mut self) {
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

    /// How many session channels (one per command) clients opened so far,
    /// as sshd logged them.
    pub(crate) fn sessions_opened(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("sshd.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("Starting session: command"))
            .count()
    }

    pub(crate) fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new host key, as after a reinstall.
    pub(crate) fn restart_with_new_host_key(&mut self) {
        self.stop();
        keygen(&self.dir.path().join("host_key"));
        self.spawn();
    }

    /// An ssh config (for `-F`) using `known_hosts` and, if given, a key.
    pub(crate) fn client_config(
        &self,
        name: &str,
        known_hosts: &str,
        key: Option<&str>,
    ) -> PathBuf {
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

    pub(crate) fn opts(&self) -> ConnectOptions {
        let mut o = ConnectOptions::new("loop", "127.0.0.1", self.dir.path().join("c"));
        o.port = Some(self.port);
        o.ssh_config = Some(self.client_config("ssh_config", "known_hosts", Some("client_key")));
        o.connect_timeout = Duration::from_secs(5);
        o
    }

    pub(crate) fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn file(path: &str, content: &[u8]) -> WriteFile {
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
pub(crate) fn mode_of(path: &str) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

pub(crate) fn temp_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".kbz-play."))
        .collect()
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}
