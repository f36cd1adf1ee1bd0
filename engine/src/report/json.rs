//! JSON Lines output, for machines: one [`Event`] per line.

use std::io::{self, Stdout, Write};
use std::sync::{Mutex, PoisonError};

use super::{Event, Reporter};

/// Writes each event as one JSON object on its own line, tagged by its kind
/// (`{"event":"op_end","host":...}`), and flushes after each line so a
/// consumer reading the pipe sees events as they happen, not when a buffer
/// fills. Field names are those of [`Event`]; durations are seconds as
/// floats.
///
/// Write errors are ignored, as in [`super::Plain`]: a consumer that stops
/// reading must not fail the run.
pub struct Json<W: Write + Send = Stdout> {
    out: Mutex<W>,
}

impl Json<Stdout> {
    /// Writes to standard output.
    pub fn stdout() -> Self {
        Json::new(io::stdout())
    }
}

impl<W: Write + Send> Json<W> {
    /// Writes to `out`.
    pub fn new(out: W) -> Self {
        Json {
            out: Mutex::new(out),
        }
    }

    /// The writer back, e.g. a buffer in tests.
    pub fn into_inner(self) -> W {
        self.out
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl<W: Write + Send> Reporter for Json<W> {
    fn event(&self, event: &Event) {
        // Serialised outside the lock: host threads only wait for the write.
        let Ok(mut line) = serde_json::to_vec(event) else {
            return;
        };
        line.push(b'\n');
        let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = out.write_all(&line);
        let _ = out.flush();
    }

    fn finish(&self) {
        let _ = self
            .out
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush();
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn run(events: &[Event]) -> String {
        let json = Json::new(Vec::new());
        for e in events {
            json.event(e);
        }
        json.finish();
        String::from_utf8(json.into_inner()).unwrap()
    }

    #[test]
    fn one_object_per_line() {
        let out = run(&fixtures::redis_run());
        let events = fixtures::redis_run();
        assert_eq!(out.lines().count(), events.len());
        for line in out.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            assert!(value["event"].is_string(), "{line}");
        }
        insta::assert_snapshot!(out);
    }

    #[test]
    fn failing_run() {
        insta::assert_snapshot!(run(&fixtures::failing_run()));
    }
}
