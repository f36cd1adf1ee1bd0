//! Line-per-event output, for logs, CI and anything that is not a terminal.

use std::io::{self, Stdout, Write};
use std::sync::{Mutex, PoisonError};

use super::lines::LineFormat;
use super::{Event, Reporter};

/// Writes one line (or a few, for diffs and multi-line errors) per meaningful
/// event, then the recap table. No cursor movement, no redrawing: the output
/// reads the same in a CI log, a file or a pipe, and lines from different
/// hosts interleave as they happen.
///
/// Each event is written and flushed under one lock, so lines from host
/// threads never mix mid-line and a log tail is always current.
///
/// Write errors (a closed pipe, a full disk) are ignored: reporting must not
/// turn a successful run into a failed one, and there is nowhere to report
/// them anyway.
pub struct Plain<W: Write + Send = Stdout> {
    state: Mutex<State<W>>,
}

struct State<W> {
    out: W,
    format: LineFormat,
}

impl Plain<Stdout> {
    /// Writes to standard output, without colours: see [`Plain::new`].
    pub fn stdout(verbose: u8) -> Self {
        Plain::new(io::stdout(), verbose)
    }
}

impl<W: Write + Send> Plain<W> {
    /// Writes to `out`. `verbose` 0 shows changes, failures, warnings and
    /// logs; 1 adds operations that were `ok` or skipped, and every
    /// operation's time; 2 adds a line when each operation starts.
    /// No colours unless [`Plain::with_color`] says so: logs are read in
    /// places that do not render ANSI codes.
    pub fn new(out: W, verbose: u8) -> Self {
        Plain {
            state: Mutex::new(State {
                out,
                format: LineFormat::new(verbose, false),
            }),
        }
    }

    /// Turns ANSI colours on or off, e.g. for `--color=always` when a CI
    /// system renders them.
    pub fn with_color(self, color: bool) -> Self {
        let mut state = self
            .state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner);
        let verbose = state.format.verbose();
        state.format = LineFormat::new(verbose, color);
        Plain {
            state: Mutex::new(state),
        }
    }

    /// The writer back, e.g. a buffer in tests.
    pub fn into_inner(self) -> W {
        self.state
            .into_inner()
            .unwrap_or_else(PoisonError::into_inner)
            .out
    }
}

impl<W: Write + Send> Reporter for Plain<W> {
    fn event(&self, event: &Event) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let State { out, format } = &mut *state;
        if let Some(text) = format.render(event) {
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    fn finish(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = state.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    fn run(verbose: u8, events: &[Event]) -> String {
        let plain = Plain::new(Vec::new(), verbose);
        for e in events {
            plain.event(e);
        }
        plain.finish();
        String::from_utf8(plain.into_inner()).unwrap()
    }

    #[test]
    fn default_verbosity() {
        insta::assert_snapshot!(run(0, &fixtures::redis_run()));
    }

    #[test]
    fn verbose() {
        insta::assert_snapshot!(run(1, &fixtures::redis_run()));
    }

    #[test]
    fn very_verbose_shows_starts() {
        let out = run(2, &fixtures::redis_run());
        assert!(out.contains(
            "redis-01           start    template /opt/keybuzz/redis/conf/sentinel.conf\n"
        ));
    }

    #[test]
    fn failures_and_unreachable() {
        insta::assert_snapshot!(run(0, &fixtures::failing_run()));
    }

    #[test]
    fn no_colour_by_default_colour_on_request() {
        let plain = run(1, &fixtures::failing_run());
        assert!(!plain.contains('\x1b'));

        let coloured = Plain::new(Vec::new(), 1).with_color(true);
        for e in fixtures::failing_run() {
            coloured.event(&e);
        }
        let coloured = String::from_utf8(coloured.into_inner()).unwrap();
        assert!(coloured.contains('\x1b'));
        assert_eq!(console::strip_ansi_codes(&coloured), plain);
    }
}
