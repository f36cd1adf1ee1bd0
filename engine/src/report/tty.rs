//! Live progress on a terminal: a bar per play, a line per running host.

use std::collections::HashSet;
use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::lines::{op_target, LineFormat};
use super::{Event, OpStatus, Reporter};

/// Spinner frame rate: smooth enough to show life, cheap enough for dozens.
const TICK: Duration = Duration::from_millis(120);

/// Host lines shown at most, whatever the terminal's height: beyond this, a
/// wall of spinners says no more than the count in the play's bar.
const MAX_HOST_LINES: usize = 20;

/// Progress for humans at a terminal.
///
/// While a play runs, the bottom of the screen shows the play's bar (hosts
/// done out of its hosts, elapsed time, how many failed) and below it one
/// line per running host with the operation it is on:
///
/// ```text
/// ⠋ Redis HA [=========>         ] 4/12 hosts  00:00:07  8 running
///   ⠙ redis-01  template /opt/keybuzz/redis/conf/sentinel.conf
///   ⠹ redis-02  apt redis-server
/// ```
///
/// Everything worth keeping (changed and failed operations, diffs,
/// warnings, logs, the recap) is printed above the bars with the same text as
/// [`super::Plain`], through indicatif so the bars are never torn.
///
/// A host's line appears at [`Event::HostStart`] or its first
/// [`Event::OpStart`], and goes at [`Event::HostEnd`], [`Event::Unreachable`],
/// [`Event::HostFailed`] or a failed operation; whatever is left goes at
/// [`Event::PlayEnd`]. When there are more running hosts than fit, the first
/// ones started are shown and the bar counts the rest.
pub struct Tty {
    mp: MultiProgress,
    state: Mutex<State>,
}

struct State {
    format: LineFormat,
    /// Where lines go when indicatif draws nothing (not a terminal after all):
    /// they must not be lost.
    fallback: Box<dyn Write + Send>,
    max_visible: usize,
    /// The current play's bar.
    overall: Option<ProgressBar>,
    /// Hosts running in the current play, in the order they started.
    running: Vec<Running>,
    /// Hosts done with the current play: a second end is ignored.
    done: HashSet<String>,
    /// Hosts of the current play that failed.
    failed: usize,
    /// Hosts of the current play that could not be reached.
    unreachable: usize,
    /// Width of the current play's host names, to align the host lines.
    host_width: usize,
}

/// How a host left the play, for the play bar's counts.
#[derive(Clone, Copy)]
enum End {
    Done,
    Failed,
    Unreachable,
}

struct Running {
    host: String,
    /// What the host is doing, for its line.
    doing: String,
    /// Its line, when shown.
    bar: Option<ProgressBar>,
}

impl Tty {
    /// Draws on standard output, with colours unless the environment says
    /// otherwise (`NO_COLOR`, `CLICOLOR=0`, a dumb terminal).
    /// `verbose` is as for [`super::Plain::new`].
    pub fn new(verbose: u8) -> Self {
        Tty::with_target(
            ProgressDrawTarget::stdout(),
            verbose,
            console::colors_enabled(),
        )
    }

    /// Draws on `target`, e.g. standard error when standard output is
    /// redirected but a human still watches.
    pub fn with_target(target: ProgressDrawTarget, verbose: u8, color: bool) -> Self {
        let rows = console::Term::stdout()
            .size_checked()
            .map_or(24, |(rows, _)| usize::from(rows));
        Tty {
            mp: MultiProgress::with_draw_target(target),
            state: Mutex::new(State {
                format: LineFormat::new(verbose, color),
                fallback: Box::new(io::stdout()),
                // Room for the bar, a few log lines, and the prompt.
                max_visible: rows.saturating_sub(6).clamp(1, MAX_HOST_LINES),
                overall: None,
                running: Vec::new(),
                done: HashSet::new(),
                failed: 0,
                unreachable: 0,
                host_width: 0,
            }),
        }
    }

    /// For tests: a hidden display whose lines land in `out`.
    #[cfg(test)]
    fn hidden(verbose: u8, out: Box<dyn Write + Send>) -> Self {
        let tty = Tty::with_target(ProgressDrawTarget::hidden(), verbose, false);
        tty.state.lock().unwrap().fallback = out;
        tty
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Prints above the bars.
    fn print(&self, state: &mut State, text: &str) {
        if self.mp.is_hidden() {
            let out = &mut state.fallback;
            self.mp.suspend(|| {
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
            });
        } else {
            let _ = self.mp.println(text);
        }
    }

    fn start_play(&self, state: &mut State, hosts: &[String]) {
        self.end_play(state);
        state.host_width = hosts
            .iter()
            .map(|h| console::measure_text_width(h))
            .max()
            .unwrap_or(0);
        let bar = ProgressBar::new(hosts.len() as u64).with_style(overall_style());
        let bar = self.mp.add(bar);
        bar.enable_steady_tick(TICK);
        state.overall = Some(bar);
        self.update_overall(state);
    }

    /// Clears the play's bar and host lines.
    fn end_play(&self, state: &mut State) {
        for r in state.running.drain(..) {
            if let Some(bar) = r.bar {
                bar.finish_and_clear();
                self.mp.remove(&bar);
            }
        }
        if let Some(bar) = state.overall.take() {
            bar.finish_and_clear();
            self.mp.remove(&bar);
        }
        state.done.clear();
        state.failed = 0;
        state.unreachable = 0;
    }

    /// Marks `host` running (if it is not already, nor done) and sets what it
    /// is doing.
    fn host_doing(&self, state: &mut State, host: &str, doing: String) {
        if state.done.contains(host) {
            return;
        }
        match state.running.iter_mut().find(|r| r.host == host) {
            Some(r) => {
                if let Some(bar) = &r.bar {
                    bar.set_message(doing.clone());
                }
                r.doing = doing;
            }
            None => {
                state.running.push(Running {
                    host: host.to_owned(),
                    doing,
                    bar: None,
                });
                self.show_hosts(state);
            }
        }
    }

    fn host_done(&self, state: &mut State, host: &str, end: End) {
        if !state.done.insert(host.to_owned()) {
            return;
        }
        match end {
            End::Done => {}
            End::Failed => state.failed += 1,
            End::Unreachable => state.unreachable += 1,
        }
        if let Some(i) = state.running.iter().position(|r| r.host == host) {
            let r = state.running.remove(i);
            if let Some(bar) = r.bar {
                bar.finish_and_clear();
                self.mp.remove(&bar);
            }
        }
        if let Some(bar) = &state.overall {
            bar.inc(1);
        }
        self.show_hosts(state);
    }

    /// Gives a line to the earliest running hosts without one, while there is
    /// room, and refreshes the play's bar.
    fn show_hosts(&self, state: &mut State) {
        let shown = state.running.iter().filter(|r| r.bar.is_some()).count();
        let room = state.max_visible.saturating_sub(shown);
        let width = state.host_width;
        for r in state
            .running
            .iter_mut()
            .filter(|r| r.bar.is_none())
            .take(room)
        {
            let bar = ProgressBar::new_spinner()
                .with_style(host_style())
                .with_prefix(format!("{:<width$}", r.host))
                .with_message(r.doing.clone());
            let bar = self.mp.add(bar);
            bar.enable_steady_tick(TICK);
            r.bar = Some(bar);
        }
        self.update_overall(state);
    }

    fn update_overall(&self, state: &State) {
        let Some(bar) = &state.overall else { return };
        let running = state.running.len();
        let hidden = state.running.iter().filter(|r| r.bar.is_none()).count();
        let mut msg = format!("{running} running");
        if hidden > 0 {
            msg.push_str(&format!(" ({hidden} not shown)"));
        }
        if state.failed > 0 {
            msg.push_str(&format!(", {} failed", state.failed));
        }
        if state.unreachable > 0 {
            msg.push_str(&format!(", {} unreachable", state.unreachable));
        }
        bar.set_message(msg);
    }
}

fn overall_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{spinner:.cyan} {prefix:.bold} [{bar:30.cyan/blue}] {pos}/{len} hosts  {elapsed_precise:.dim}  {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

fn host_style() -> ProgressStyle {
    ProgressStyle::with_template("  {spinner:.dim} {prefix:.bold}  {wide_msg} {elapsed:.dim}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

impl Reporter for Tty {
    fn event(&self, event: &Event) {
        let mut guard = self.lock();
        let state = &mut *guard;
        match event {
            Event::PlayStart { play, hosts } => {
                self.start_play(state, hosts);
                if let Some(bar) = &state.overall {
                    bar.set_prefix(play.clone());
                }
            }
            Event::HostStart { host } => self.host_doing(state, host, "connecting".to_owned()),
            Event::OpStart { host, op, target } => {
                self.host_doing(state, host, op_target(op, target))
            }
            Event::OpEnd {
                host,
                status: OpStatus::Failed,
                ..
            }
            | Event::HostFailed { host, .. } => {
                self.host_done(state, host, End::Failed);
            }
            Event::Unreachable { host, .. } => self.host_done(state, host, End::Unreachable),
            Event::HostEnd { host } => self.host_done(state, host, End::Done),
            Event::PlayEnd { .. } | Event::RunEnd { .. } => self.end_play(state),
            _ => {}
        }
        if let Some(text) = state.format.render(event) {
            self.print(state, &text);
        }
    }

    fn finish(&self) {
        let mut state = self.lock();
        self.end_play(&mut state);
        let _ = self.mp.clear();
        let _ = state.fallback.flush();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::super::fixtures::{self, op_end};
    use super::super::Plain;
    use super::*;

    /// A writer whose bytes the test can read after handing it over.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    fn state(tty: &Tty) -> (Vec<String>, usize, Option<u64>) {
        let s = tty.lock();
        (
            s.running.iter().map(|r| r.host.clone()).collect(),
            s.running.iter().filter(|r| r.bar.is_some()).count(),
            s.overall.as_ref().map(ProgressBar::position),
        )
    }

    /// Same lines as Plain: a log read later says what the screen said.
    #[test]
    fn prints_what_plain_prints() {
        for verbose in 0..=2 {
            for events in [fixtures::redis_run(), fixtures::failing_run()] {
                let out = Shared::default();
                let tty = Tty::hidden(verbose, Box::new(out.clone()));
                let plain = Plain::new(Vec::new(), verbose);
                for e in &events {
                    tty.event(e);
                    plain.event(e);
                }
                tty.finish();
                assert_eq!(out.text(), String::from_utf8(plain.into_inner()).unwrap());
            }
        }
    }

    #[test]
    fn host_lifecycle() {
        let tty = Tty::hidden(0, Box::new(io::sink()));
        let hosts: Vec<String> = (1..=3).map(|i| format!("h{i}")).collect();
        tty.event(&Event::PlayStart {
            play: "p".into(),
            hosts,
        });
        tty.event(&Event::HostStart { host: "h1".into() });
        tty.event(&Event::OpStart {
            host: "h2".into(),
            op: "apt".into(),
            target: "x".into(),
        });
        assert_eq!(state(&tty), (vec!["h1".into(), "h2".into()], 2, Some(0)));
        assert_eq!(tty.lock().running[1].doing, "apt x");

        tty.event(&op_end("h2", "apt", "x", OpStatus::Failed, 1));
        assert_eq!(state(&tty), (vec!["h1".into()], 1, Some(1)));
        // A HostEnd after the failure is not counted twice, nor are late events.
        tty.event(&Event::HostEnd { host: "h2".into() });
        tty.event(&Event::OpStart {
            host: "h2".into(),
            op: "apt".into(),
            target: "y".into(),
        });
        assert_eq!(state(&tty), (vec!["h1".into()], 1, Some(1)));
        assert_eq!(tty.lock().failed, 1);

        tty.event(&Event::Unreachable {
            host: "h3".into(),
            error: "down".into(),
        });
        tty.event(&Event::HostEnd { host: "h1".into() });
        assert_eq!(state(&tty), (vec![], 0, Some(3)));
        assert_eq!(
            tty.lock().overall.as_ref().unwrap().message(),
            "0 running, 1 failed, 1 unreachable"
        );

        tty.event(&Event::PlayEnd { play: "p".into() });
        assert_eq!(state(&tty), (vec![], 0, None));
    }

    #[test]
    fn play_end_clears_hosts_without_host_end() {
        let tty = Tty::hidden(0, Box::new(io::sink()));
        tty.event(&Event::PlayStart {
            play: "p".into(),
            hosts: vec!["a".into(), "b".into()],
        });
        tty.event(&Event::OpStart {
            host: "a".into(),
            op: "apt".into(),
            target: "x".into(),
        });
        tty.event(&Event::OpStart {
            host: "b".into(),
            op: "apt".into(),
            target: "x".into(),
        });
        tty.event(&Event::PlayEnd { play: "p".into() });
        assert_eq!(state(&tty), (vec![], 0, None));
        // The next play starts afresh: a host done in the last play runs again.
        tty.event(&Event::PlayStart {
            play: "q".into(),
            hosts: vec!["a".into()],
        });
        tty.event(&Event::HostStart { host: "a".into() });
        assert_eq!(state(&tty), (vec!["a".into()], 1, Some(0)));
    }

    #[test]
    fn hosts_beyond_the_screen_wait_for_a_line() {
        let tty = Tty::hidden(0, Box::new(io::sink()));
        tty.lock().max_visible = 2;
        let hosts: Vec<String> = (1..=4).map(|i| format!("h{i}")).collect();
        tty.event(&Event::PlayStart {
            play: "p".into(),
            hosts: hosts.clone(),
        });
        for h in &hosts {
            tty.event(&Event::HostStart { host: h.clone() });
        }
        assert_eq!(state(&tty).1, 2);
        assert_eq!(
            tty.lock().overall.as_ref().unwrap().message(),
            "4 running (2 not shown)"
        );
        tty.event(&Event::HostEnd { host: "h1".into() });
        // h3 takes h1's line.
        let s = tty.lock();
        let shown: Vec<&str> = s
            .running
            .iter()
            .filter(|r| r.bar.is_some())
            .map(|r| r.host.as_str())
            .collect();
        assert_eq!(shown, ["h2", "h3"]);
    }
}
