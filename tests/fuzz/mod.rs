//! Shared machinery of the `fuzz_*` test targets.
//!
//! `cargo fuzz` needs nightly and libFuzzer, which CI does not have, so the
//! targets are proptest generators plus a seed corpus, run for a time budget:
//! `KBZ_FUZZ_SECONDS` per fuzz test (default 1; a target is two tests,
//! generated and seeded, so CI's 30 gives each target a minute), seeded by
//! `KBZ_FUZZ_SEED` (default fixed, so a failure replays). Every input runs on
//! its own thread under [`INPUT_DEADLINE`]: a panic or a hang fails the test
//! with the input printed, ready to be saved under `fuzz/corpus/<target>/`.

#![allow(dead_code)] // Each target uses a different part of this module.

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest one input may take before it counts as a hang. Generous: a
/// fuzz binary runs its tests on every core at once, so on CI's 2 cores a
/// legitimate large input (a 99999-host range, near the expansion cap) can
/// take a few seconds of a debug build; a real hang never answers.
pub const INPUT_DEADLINE: Duration = Duration::from_secs(10);

/// The time budget of one target.
pub fn budget() -> Duration {
    let secs = std::env::var("KBZ_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs)
}

fn seed() -> u64 {
    std::env::var("KBZ_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x6b627a)
}

/// Runs `check` on `input` on a fresh thread, failing the test if it panics
/// or outlives [`INPUT_DEADLINE`]. `what` names the target in the message.
/// The input is written first to `<target tmp>/fuzz/<what>.last`: a stack
/// overflow aborts the whole process before any message, and that file then
/// holds the culprit.
pub fn bounded<T, F>(what: &str, input: T, check: F)
where
    T: Debug + Send + 'static,
    F: FnOnce(T) + Send + 'static,
{
    bounded_for(what, INPUT_DEADLINE, input, check)
}

/// [`bounded`] with another deadline, for inputs known to be slow.
pub fn bounded_for<T, F>(what: &str, deadline: Duration, input: T, check: F)
where
    T: Debug + Send + 'static,
    F: FnOnce(T) + Send + 'static,
{
    let shown = format!("{input:?}");
    let last = record(what, "last", &shown);
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        check(input);
        let _ = tx.send(());
    });
    let failure = match rx.recv_timeout(deadline) {
        Ok(()) => return drop(handle.join()),
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            let _ = handle.join();
            "panicked on input".to_string()
        }
        Err(mpsc::RecvTimeoutError::Timeout) => {
            format!("no answer within {deadline:?} (hang) on input")
        }
    };
    let saved = record(what, "failed", &shown);
    let _ = std::fs::remove_file(last);
    let preview: String = shown.chars().take(400).collect();
    panic!(
        "{what}: {failure} {preview}{} (whole input, Debug-quoted: {}; save the minimal \
         form under fuzz/corpus/<target>/ as a regression case)",
        if preview.len() < shown.len() {
            "..."
        } else {
            ""
        },
        saved.display()
    );
}

/// Writes `text` to `<target tmp>/fuzz/<what>.<suffix>` and returns the path.
fn record(what: &str, suffix: &str, text: &str) -> PathBuf {
    let name: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz");
    let path = dir.join(format!("{name}.{suffix}"));
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(&path, text);
    path
}

/// Feeds values of `strategy` to `check` (through [`bounded`]) until the
/// budget is spent. No shrinking: the deadline thread makes it impractical,
/// and the generators keep inputs small enough to read.
pub fn generate<S, F>(what: &str, strategy: S, check: F) -> usize
where
    S: Strategy,
    S::Value: Debug + Clone + Send + 'static,
    F: Fn(S::Value) + Send + Sync + Clone + 'static,
{
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed().to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &key);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget() || n == 0 {
        let tree = strategy.new_tree(&mut runner).expect("strategy generates");
        bounded(what, tree.current(), check.clone());
        n += 1;
    }
    eprintln!("{what}: {n} generated inputs in {:?}", start.elapsed());
    n
}

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `fuzz/corpus/<target>/` plus `extra` seeds (paths relative to
/// the repository), as (name, bytes). Saved regressions live in the corpus.
pub fn seeds(target: &str, extra: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let dir = repo().join("fuzz/corpus").join(target);
    let mut files = files_under(&dir);
    files.extend(extra.iter().flat_map(|p| files_under(&repo().join(p))));
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        out.push((f.display().to_string(), bytes));
    }
    assert!(!out.is_empty(), "no seeds for {target}");
    out
}

/// The inputs of `fuzz/known/<target>/`: defects found by fuzzing whose fix
/// belongs upstream (fuzz/README.md); replayed only by ignored tests.
pub fn known(target: &str) -> Vec<(String, Vec<u8>)> {
    files_under(&repo().join("fuzz/known").join(target))
        .into_iter()
        .map(|f| {
            (
                f.display().to_string(),
                std::fs::read(&f).expect("read known case"),
            )
        })
        .collect()
}

/// Every regular file at or under `path`, sorted.
pub fn files_under(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(path) {
        for e in entries.flatten() {
            out.extend(files_under(&e.path()));
        }
    }
    out.sort();
    out
}

/// A small deterministic PRNG (xorshift64*) for the mutators: the mutation
/// of a seed must replay from `KBZ_FUZZ_SEED` alone.
pub struct Rng(u64);

impl Rng {
    pub fn new(salt: u64) -> Rng {
        Rng((seed() ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Bytes that make parsers take unusual branches.
const INTERESTING: &[&[u8]] = &[
    b"\t",
    b"\n",
    b"\r\n",
    b"\"",
    b"'",
    b"[0:9]",
    b"[a:z]",
    b"[01:99999]",
    b":",
    b"-",
    b"{{",
    b"}}",
    b"{%",
    b"%}",
    b"\xc3\xa9",
    b"\xe2\x80\x8b",
    b"\xef\xbb\xbf",
    b"\0",
    b"*",
    b"!",
    b"&",
    b"~",
    b"#",
    b"&a",
    b"*a",
    b"? ",
    b"|",
    b">",
];

/// One random mutation of `data`: a byte flip, a truncation, a duplicated or
/// dropped line, or a spliced interesting token.
pub fn mutate(data: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut out = data.to_vec();
    if out.is_empty() {
        out.extend_from_slice(INTERESTING[rng.below(INTERESTING.len())]);
        return out;
    }
    match rng.below(5) {
        0 => {
            let i = rng.below(out.len());
            out[i] ^= 1 << rng.below(8);
        }
        1 => out.truncate(rng.below(out.len())),
        2 | 3 => {
            let lines: Vec<&[u8]> = data.split_inclusive(|b| *b == b'\n').collect();
            let i = rng.below(lines.len());
            let mut v: Vec<&[u8]> = lines.clone();
            if rng.below(2) == 0 {
                v.insert(i, lines[i]);
            } else {
                v.remove(i);
            }
            out = v.concat();
        }
        _ => {
            let i = rng.below(out.len() + 1);
            let token = INTERESTING[rng.below(INTERESTING.len())];
            out.splice(i..i, token.iter().copied());
        }
    }
    out
}

/// Runs `check` on every seed and on mutations of them (each mutation stacked
/// on the previous one, up to 8 deep) until the budget is spent.
pub fn mutate_seeds<F>(what: &str, seeds: &[(String, Vec<u8>)], check: F)
where
    F: Fn(Vec<u8>) + Send + Sync + Clone + 'static,
{
    for (name, bytes) in seeds {
        let short = name.rsplit('/').next().unwrap_or(name);
        bounded(&format!("{what} seed {short}"), Lossy(bytes.clone()), {
            let check = check.clone();
            move |b| check(b.0)
        });
    }
    let mut rng = Rng::new(what.len() as u64);
    let start = Instant::now();
    let mut n = 0;
    while start.elapsed() < budget() {
        let (_, base) = &seeds[rng.below(seeds.len())];
        let mut input = base.clone();
        for _ in 0..=rng.below(8) {
            input = mutate(&input, &mut rng);
        }
        let check = check.clone();
        bounded(what, Lossy(input), move |b| check(b.0));
        n += 1;
    }
    eprintln!(
        "{what}: {} seeds, {n} mutations in {:?}",
        seeds.len(),
        start.elapsed()
    );
}

/// Bytes shown as a (lossy) string in failure messages, so a failing input
/// can be read and saved.
#[derive(Clone)]
pub struct Lossy(pub Vec<u8>);

impl Debug for Lossy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}
