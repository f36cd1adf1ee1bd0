//! `ssh -G`'s answer kept between runs: running it costs each host about
//! 6.5 ms of control CPU, half of a warm rerun's at 49 hosts (README,
//! Performance). An answer is reused only where it is provably the one
//! `ssh -G` would give now: it is filed under a digest of everything that
//! answer depends on (the ssh binary's path, size and mtime, its arguments,
//! `HOME`, `USER`, the uid, the local host name, and the path and content
//! of every config file it reads, following `Include`), and none is kept
//! where a config makes it depend on more: a `Match` on anything but names
//! (`exec`, `localnetwork`, `canonical`, `final`...), `CanonicalizeHostname`
//! other than `no` (it resolves names), an environment variable (`${...}`)
//! or an `Include` this module cannot follow. The files live in a private
//! folder (0700, ours, see `private.rs`) beside the persist folder, which
//! holds masters' folders only (`disconnect` walks it), each file 0600.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The cache's folder: the persist folder's name and `-G`, beside it
/// (`$XDG_RUNTIME_DIR/kbz-play-ssh-G`).
pub(super) fn folder(persist: &Path) -> PathBuf {
    let mut name = persist.file_name().unwrap_or_default().to_os_string();
    name.push("-G");
    persist.with_file_name(name)
}

/// How deep `Include`s nest before ssh itself gives up (`READCONF_MAX_DEPTH`).
const MAX_DEPTH: u32 = 16;

/// `Match` criteria that depend on nothing but the names the key holds;
/// any other (`exec`, `localnetwork`, `canonical`, `final`, a newer one)
/// keeps the answer out of the cache.
const NAME_CRITERIA: [&str; 5] = ["host", "originalhost", "user", "localuser", "tagged"];

/// What the answer depends on in this process's environment.
pub(super) struct Env {
    /// `HOME`: where `~` and the user's config are.
    pub(super) home: PathBuf,
    /// `USER`.
    pub(super) user: std::ffi::OsString,
    /// The `ssh` that PATH finds, as `Command::new("ssh")` runs it.
    pub(super) ssh: PathBuf,
}

impl Env {
    /// This process's; `None` without `HOME` or an `ssh` on PATH.
    pub(super) fn current() -> Option<Env> {
        let path = std::env::var_os("PATH")?;
        Some(Env {
            home: PathBuf::from(std::env::var_os("HOME")?),
            user: std::env::var_os("USER").unwrap_or_default(),
            ssh: std::env::split_paths(&path)
                .map(|dir| dir.join("ssh"))
                .find(|p| p.is_file())?,
        })
    }
}

/// The cache key of `ssh ARGS` with `config` as `-F` (none: the user's and
/// the system's), or `None` when its answer may depend on more.
pub(super) fn key(env: &Env, args: &[&OsStr], config: Option<&Path>) -> Option<String> {
    let mut h = Sha256::new();
    let meta = std::fs::metadata(&env.ssh).ok()?;
    feed(&mut h, env.ssh.as_os_str().as_bytes());
    let stamp = format!("{} {} {}", meta.len(), meta.mtime(), meta.mtime_nsec());
    feed(&mut h, stamp.as_bytes());
    for arg in args {
        feed(&mut h, arg.as_bytes());
    }
    feed(&mut h, env.home.as_os_str().as_bytes());
    feed(&mut h, env.user.as_bytes());
    feed(&mut h, crate::private::current_uid().to_string().as_bytes());
    feed(&mut h, &std::fs::read("/proc/sys/kernel/hostname").ok()?);
    let reader = Reader { home: &env.home };
    match config {
        Some(file) => reader.file(&mut h, file, Scope::User, 0)?,
        None => {
            reader.file(&mut h, &env.home.join(".ssh/config"), Scope::User, 0)?;
            reader.file(&mut h, Path::new("/etc/ssh/ssh_config"), Scope::System, 0)?;
        }
    }
    Some(hex::encode(h.finalize()))
}

/// The answer kept under `key` in the persist folder `persist`, if any.
pub(super) fn load(persist: &Path, key: &str) -> Option<String> {
    let dir = folder(persist);
    crate::private::check(&dir).ok()?;
    std::fs::read_to_string(dir.join(key)).ok()
}

/// Keeps `answer` under `key`; a cache that cannot be written is no error
/// (the next run asks `ssh -G` again).
pub(super) fn store(persist: &Path, key: &str, answer: &str) {
    let dir = folder(persist);
    if crate::private::ensure(&dir).is_err() {
        return;
    }
    let tmp = dir.join(format!("{key}.{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| f.write_all(answer.as_bytes()));
    if written.is_err() || std::fs::rename(&tmp, dir.join(key)).is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// Hashes `bytes` with its length, so that no two sequences of parts run
/// together into one digest.
fn feed(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// Whose config a file is: a relative `Include` is under `~/.ssh` in the
/// user's (and `-F`'s), under `/etc/ssh` in the system's (ssh_config(5)).
#[derive(Clone, Copy)]
enum Scope {
    User,
    System,
}

/// Reads config files into the digest.
struct Reader<'a> {
    home: &'a Path,
}

impl Reader<'_> {
    /// Hashes `path` (its absence too) and what it includes; `None` when
    /// it makes the answer uncacheable or cannot be read.
    fn file(&self, h: &mut Sha256, path: &Path, scope: Scope, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        feed(h, path.as_os_str().as_bytes());
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                feed(h, b"-");
                return Some(());
            }
            Err(_) => return None,
        };
        feed(h, &text);
        for line in String::from_utf8(text).ok()?.lines() {
            let (keyword, args) = split_keyword(line);
            match keyword.to_ascii_lowercase().as_str() {
                _ if line.contains("${") => return None,
                "match" if !names_only(args) => return None,
                "canonicalizehostname" if !args.trim().eq_ignore_ascii_case("no") => return None,
                "include" => self.include(h, args, scope, depth)?,
                _ => {}
            }
        }
        Some(())
    }

    /// Hashes the files an `Include` line names, its globs expanded.
    fn include(&self, h: &mut Sha256, args: &str, scope: Scope, depth: u32) -> Option<()> {
        for arg in args.split_whitespace() {
            if arg.contains(['"', '%', '$']) || (arg.starts_with('~') && !arg.starts_with("~/")) {
                return None;
            }
            let path = match (arg.strip_prefix("~/"), arg.starts_with('/'), scope) {
                (Some(rest), _, _) => self.home.join(rest),
                (None, true, _) => PathBuf::from(arg),
                (None, false, Scope::User) => self.home.join(".ssh").join(arg),
                (None, false, Scope::System) => Path::new("/etc/ssh").join(arg),
            };
            for found in expand_glob(&path)? {
                self.file(h, &found, scope, depth + 1)?;
            }
        }
        Some(())
    }
}

/// A config line's keyword and the rest (`Keyword args` or `Keyword=args`).
fn split_keyword(line: &str) -> (&str, &str) {
    let line = line.trim_start();
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let rest = line[end..].trim_start();
    (&line[..end], rest.strip_prefix('=').unwrap_or(rest))
}

/// Whether a `Match` line's criteria all depend on names only
/// ([`NAME_CRITERIA`], `all`), each (but `all`) followed by its pattern.
fn names_only(criteria: &str) -> bool {
    let mut words = criteria.split_whitespace();
    while let Some(word) = words.next() {
        let word = word.trim_start_matches('!').to_ascii_lowercase();
        if word == "all" {
            continue;
        }
        if !NAME_CRITERIA.contains(&word.as_str()) || words.next().is_none() {
            return false;
        }
    }
    true
}

/// The files a glob names, sorted (as glob(3) lists them); a name without
/// wildcards is itself. `None` when a folder on the way cannot be listed.
fn expand_glob(path: &Path) -> Option<Vec<PathBuf>> {
    let mut found = vec![PathBuf::from("/")];
    for part in path.iter().skip(1) {
        let text = part.to_str()?;
        if !text.contains(['*', '?', '[']) {
            found.iter_mut().for_each(|p| p.push(part));
            continue;
        }
        let matcher = globset::Glob::new(text).ok()?.compile_matcher();
        let mut next = Vec::new();
        for dir in &found {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries {
                let name = entry.ok()?.file_name();
                if matcher.is_match(&name) {
                    next.push(dir.join(name));
                }
            }
        }
        next.sort();
        found = next;
    }
    Some(found)
}

#[cfg(test)]
mod tests;
