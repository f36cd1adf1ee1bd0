use std::os::unix::fs::PermissionsExt;

use super::*;

/// A home of its own with `~/.ssh/`, an `ssh` stand-in (only its path, size
/// and mtime count) and the key of `ssh -G -F CONFIG -- host`.
struct Home {
    dir: tempfile::TempDir,
    env: Env,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(".ssh/inc")).unwrap();
        let ssh = dir.path().join("ssh");
        std::fs::write(&ssh, "ssh").unwrap();
        let env = Env {
            home: dir.path().to_path_buf(),
            user: "kbz".into(),
            ssh,
        };
        Home { dir, env }
    }

    /// Writes `text` at `rel` under the home.
    fn write(&self, rel: &str, text: &str) -> &Home {
        std::fs::write(self.dir.path().join(rel), text).unwrap();
        self
    }

    /// The key with `-F config` (under the home), or with the user's and
    /// the system's config when `None`.
    fn key(&self, config: Option<&str>) -> Option<String> {
        let config = config.map(|c| self.dir.path().join(c));
        let args = [OsStr::new("-G"), OsStr::new("--"), OsStr::new("host")];
        key(&self.env, &args, config.as_deref())
    }
}

#[test]
fn a_changed_config_or_included_file_is_a_new_key() {
    let home = Home::new();
    home.write("config", "Include inc/*.conf\nHost host\n  Port 2201\n")
        .write(".ssh/inc/a.conf", "Host other\n  Port 2\n");
    let first = home.key(Some("config")).expect("cacheable");
    assert_eq!(home.key(Some("config")), Some(first.clone()), "the same");
    home.write(".ssh/inc/a.conf", "Host other\n  Port 3\n");
    let included = home.key(Some("config")).unwrap();
    assert_ne!(included, first, "an included file changed");
    home.write(".ssh/inc/b.conf", "");
    let added = home.key(Some("config")).unwrap();
    assert_ne!(added, included, "the glob matches one more file");
    home.write("config", "Include inc/*.conf\nHost host\n  Port 2202\n");
    assert_ne!(
        home.key(Some("config")).unwrap(),
        added,
        "the -F file changed"
    );
}

#[test]
fn without_f_the_users_config_counts_and_includes_are_under_dot_ssh() {
    let home = Home::new();
    let none = home.key(None).expect("cacheable");
    home.write(".ssh/config", "Include ~/.ssh/inc/x\n");
    let user = home.key(None).unwrap();
    assert_ne!(user, none);
    home.write(".ssh/inc/x", "Port 7\n");
    assert_ne!(home.key(None).unwrap(), user, "the included file appeared");
}

#[test]
fn a_config_whose_answer_depends_on_more_is_never_kept() {
    let home = Home::new();
    for config in [
        "Match exec \"true\"\n",
        "Match host h exec \"test -e /x\"\n",
        "Match !localnetwork 10.0.0.0/8\n",
        "Match canonical all\n",
        "Match final\n",
        "CanonicalizeHostname yes\n",
        "CanonicalizeHostname=always\n",
        "IdentityFile ${KEYS}/id\n",
        "Include ~other/config\n",
    ] {
        home.write("config", config);
        assert_eq!(home.key(Some("config")), None, "{config}");
    }
    home.write("config", "Include inc/m\n")
        .write(".ssh/inc/m", "Match exec true\n");
    assert_eq!(home.key(Some("config")), None, "an included Match exec");
    for config in [
        "Match host h user u\n  Port 1\n",
        "Match all\n",
        "CanonicalizeHostname no\n",
    ] {
        home.write("config", config);
        assert!(home.key(Some("config")).is_some(), "{config}");
    }
}

#[test]
fn the_answer_is_kept_0600_in_a_0700_folder_beside_the_persist_folder() {
    let parent = tempfile::tempdir().unwrap();
    let persist = parent.path().join("kbz-play-ssh");
    assert_eq!(load(&persist, "k"), None);
    store(&persist, "k", "port 22\n");
    assert_eq!(load(&persist, "k").as_deref(), Some("port 22\n"));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = parent.path().join("kbz-play-ssh-G");
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("k")), 0o600);
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temp file left"
    );
}
