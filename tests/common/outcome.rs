//! What one run of kbz-play gave: exit code, output, and the JSON events and
//! recap read from it, with the assertions the tests make on them.

use std::ops::Deref;
use std::process::Output;

/// One finished run of kbz-play (from [`super::test::Test::run`]). Derefs to
/// the [`Output`], so the free helpers (`text(&out)`, `recap(&out)`) work too.
pub struct Outcome {
    output: Output,
}

impl Outcome {
    pub fn new(output: Output) -> Outcome {
        Outcome { output }
    }

    /// The exit code (None when killed by a signal).
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub fn success(&self) -> bool {
        self.output.status.success()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Exit code, stdout and stderr as one string, for assertion messages.
    pub fn text(&self) -> String {
        super::text(&self.output)
    }

    /// The `--output json` events, in order.
    pub fn events(&self) -> Vec<serde_json::Value> {
        super::events(&self.output)
    }

    /// The events named `event` (`op_end`, `warn`, ...).
    pub fn events_named(&self, event: &str) -> Vec<serde_json::Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == event)
            .collect()
    }

    /// The messages of the run's `warn` events, in order.
    pub fn warnings(&self) -> Vec<String> {
        self.events_named("warn")
            .iter()
            .map(|e| e["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Whether the run warned that the file whose path ends with `path_end`
    /// was changed on the host since the last run (drift).
    pub fn reports_drift(&self, path_end: &str) -> bool {
        self.warnings().iter().any(|w| {
            w.strip_suffix(" was changed on the host since the last run")
                .is_some_and(|path| path.ends_with(path_end))
        })
    }

    /// The `op_end` events whose status is `status` ("failed",
    /// "interrupted", ...), in the run's order.
    pub fn ops_with_status(&self, status: &str) -> Vec<serde_json::Value> {
        self.events_named("op_end")
            .into_iter()
            .filter(|e| e["status"] == status)
            .collect()
    }

    /// The status each call of the operation `op` ended with, in order.
    pub fn statuses(&self, op: &str) -> Vec<String> {
        super::op_ends(&self.output, op)
            .iter()
            .map(|e| e["status"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The events of the plays whose name contains `play` (from each one's
    /// `play_start` to the next play's), in order.
    pub fn play_events(&self, play: &str) -> Vec<serde_json::Value> {
        let mut inside = false;
        let mut out = Vec::new();
        for e in self.events() {
            if e["event"] == "play_start" {
                inside = e["play"].as_str().is_some_and(|p| p.contains(play));
            } else if inside {
                out.push(e);
            }
        }
        out
    }

    /// The recap of the run: (host, stats) in the run's host order.
    pub fn recap(&self) -> Vec<(String, serde_json::Value)> {
        super::recap(&self.output)
    }

    /// The stats of the `i`-th host of the recap.
    pub fn stats(&self, i: usize) -> serde_json::Value {
        self.recap()
            .get(i)
            .unwrap_or_else(|| panic!("no host {i} in the recap\n{}", self.text()))
            .1
            .clone()
    }

    /// One recap counter summed over all hosts.
    pub fn total(&self, key: &str) -> u64 {
        super::total(&self.output, key)
    }

    /// Fails the test, showing the run, unless kbz-play exited with `code`.
    #[track_caller]
    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), Some(code), "{}", self.text());
        self
    }

    /// Fails the test, showing the run, unless kbz-play exited successfully.
    #[track_caller]
    pub fn assert_success(&self) -> &Self {
        assert!(self.success(), "{}", self.text());
        self
    }

    /// Fails the test, showing the run, unless the recap's `key` summed over
    /// all hosts is `n`.
    #[track_caller]
    pub fn assert_total(&self, key: &str, n: u64) -> &Self {
        assert_eq!(self.total(key), n, "{}", self.text());
        self
    }

    /// Fails the test, showing the run, unless kbz-play succeeded and every
    /// host's recap has these `changed` and `round_trips`.
    #[track_caller]
    pub fn assert_each_host(&self, changed: u64, round_trips: u64) -> &Self {
        self.assert_code(0);
        for (host, stats) in self.recap() {
            assert_eq!(
                (stats["changed"].as_u64(), stats["round_trips"].as_u64()),
                (Some(changed), Some(round_trips)),
                "{host}: {stats}\n{}",
                self.text()
            );
        }
        self
    }

    pub fn output(&self) -> &Output {
        &self.output
    }
}

impl Deref for Outcome {
    type Target = Output;
    fn deref(&self) -> &Output {
        &self.output
    }
}

impl From<Outcome> for Output {
    fn from(o: Outcome) -> Output {
        o.output
    }
}
