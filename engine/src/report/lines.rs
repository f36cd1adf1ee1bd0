//! The text of each event, shared by [`super::Plain`] and [`super::Tty`] so a
//! log file and a terminal say the same thing in the same words.

use std::fmt::Write as _;

use console::Style;

use super::recap::{self, format_duration};
use super::{ChangeLine, Event, OpStatus};

/// Continuation lines (diffs, multi-line errors) are indented by this much,
/// so they read as belonging to the line above.
const INDENT: &str = "    ";

/// Width of the status column: `changed` and `skipped`.
const STATUS_WIDTH: usize = 7;

/// Turns events into lines of text. Holds the little state that alignment
/// needs (the width of the current play's host names).
#[derive(Debug, Clone)]
pub(crate) struct LineFormat {
    /// 0: changes, failures, warnings, logs. 1: also `ok` and `skipped`
    /// operations, with their times. 2: also operation starts.
    verbose: u8,
    /// ANSI colours (forced on or off, never guessed here).
    color: bool,
    /// Host names are padded to this, so the status column lines up.
    host_width: usize,
}

impl LineFormat {
    pub(crate) fn new(verbose: u8, color: bool) -> Self {
        LineFormat {
            verbose,
            color,
            host_width: 0,
        }
    }

    pub(crate) fn verbose(&self) -> u8 {
        self.verbose
    }

    fn style(&self, style: Style) -> Style {
        style.force_styling(self.color)
    }

    /// The host column: the name, padded to the play's widest.
    fn host(&self, host: &str) -> String {
        let pad = self
            .host_width
            .saturating_sub(console::measure_text_width(host));
        format!(
            "{}{}",
            self.style(Style::new().bold()).apply_to(host),
            " ".repeat(pad)
        )
    }

    fn status(&self, word: &str, style: Style) -> String {
        let pad = STATUS_WIDTH.saturating_sub(word.len());
        format!("{}{}", self.style(style).apply_to(word), " ".repeat(pad))
    }

    /// The text for one event, without a trailing newline, or `None` when the
    /// event is not shown at this verbosity. Updates the alignment state, so
    /// call it for every event, shown or not.
    pub(crate) fn render(&mut self, event: &Event) -> Option<String> {
        match event {
            Event::RunStart {
                playbook,
                hosts,
                check,
            } => {
                let mut line = format!(
                    "{} {playbook} [{hosts} {}",
                    self.style(Style::new().bold()).apply_to("RUN"),
                    if *hosts == 1 { "host" } else { "hosts" }
                );
                if *check {
                    line.push_str(", check mode: nothing will be changed");
                }
                line.push(']');
                Some(line)
            }
            Event::PlayStart { play, hosts } => {
                self.host_width = hosts
                    .iter()
                    .map(|h| console::measure_text_width(h))
                    .max()
                    .unwrap_or(0);
                Some(format!(
                    "{} {} [{} {}]",
                    self.style(Style::new().bold()).apply_to("PLAY"),
                    self.style(Style::new().bold()).apply_to(play),
                    hosts.len(),
                    if hosts.len() == 1 { "host" } else { "hosts" }
                ))
            }
            Event::OpStart { host, op, target } => (self.verbose >= 2).then(|| {
                format!(
                    "{}  {}  {}",
                    self.host(host),
                    self.status("start", Style::new().dim()),
                    op_target(op, target)
                )
            }),
            Event::OpEnd {
                host,
                op,
                target,
                status,
                changes,
                diff,
                message,
                at,
                elapsed,
            } => {
                let shown = match status {
                    OpStatus::Changed | OpStatus::Failed | OpStatus::Interrupted => true,
                    OpStatus::Ok | OpStatus::Skipped => self.verbose >= 1,
                };
                if !shown {
                    return None;
                }
                let (word, style) = match status {
                    OpStatus::Ok => ("ok", Style::new().green()),
                    OpStatus::Changed => ("changed", Style::new().yellow()),
                    OpStatus::Skipped => ("skipped", Style::new().cyan()),
                    OpStatus::Failed => ("FAILED", Style::new().red().bold()),
                    OpStatus::Interrupted => ("INTERRUPTED", Style::new().yellow().bold()),
                };
                let mut out = format!(
                    "{}  {}  {}",
                    self.host(host),
                    self.status(word, style),
                    op_target(op, target)
                );
                if !changes.is_empty() {
                    let _ = write!(out, "  ({})", change_list(changes));
                }
                // A skip reason fits on the line; anything else gets its own lines.
                let mut message = message.as_deref();
                if *status == OpStatus::Skipped {
                    if let Some(m) = message.filter(|m| !m.contains('\n')) {
                        let _ = write!(out, "  ({m})");
                        message = None;
                    }
                }
                let stopped = matches!(status, OpStatus::Failed | OpStatus::Interrupted);
                if let Some(at) = at.as_deref().filter(|_| stopped) {
                    let _ = write!(out, "  at {at}");
                }
                if self.verbose >= 1 {
                    let time = format!("[{}]", format_duration(*elapsed));
                    let _ = write!(out, "  {}", self.style(Style::new().dim()).apply_to(time));
                }
                if let Some(m) = message {
                    let style = if *status == OpStatus::Failed {
                        Style::new().red()
                    } else {
                        Style::new()
                    };
                    out.push('\n');
                    out.push_str(&self.indented(m, &style));
                }
                if let Some(d) = diff.as_deref().filter(|d| !d.is_empty()) {
                    out.push('\n');
                    out.push_str(&self.diff(d));
                }
                Some(out)
            }
            Event::Unreachable { host, error } => {
                Some(self.host_problem(host, "UNREACHABLE", error))
            }
            Event::HostFailed { host, error } => Some(self.host_problem(host, "FAILED", error)),
            Event::Warn { host, message } => {
                let word = self.style(Style::new().yellow().bold()).apply_to("WARNING");
                let head = match host {
                    Some(h) => format!("{word} {}: ", self.style(Style::new().bold()).apply_to(h)),
                    None => format!("{word}: "),
                };
                Some(self.first_line_then_indented(&head, message, &Style::new().yellow()))
            }
            Event::Log { host, message } => Some(match host {
                Some(h) => {
                    let head = format!(
                        "{}  {}  ",
                        self.host(h),
                        self.status("log", Style::new().dim())
                    );
                    self.first_line_then_indented(&head, message, &Style::new())
                }
                None => message.clone(),
            }),
            Event::PlayEnd { .. } | Event::HostStart { .. } | Event::HostEnd { .. } => None,
            Event::RunEnd { recap, elapsed } => {
                // A blank line sets the table apart from the last event.
                let table = recap::render(recap, *elapsed, self.color);
                Some(format!("\n{}", table.trim_end_matches('\n')))
            }
        }
    }

    /// `host  UNREACHABLE  first line`, the rest indented below.
    fn host_problem(&self, host: &str, word: &str, error: &str) -> String {
        let head = format!(
            "{}  {}  ",
            self.host(host),
            self.status(word, Style::new().red().bold())
        );
        self.first_line_then_indented(&head, error, &Style::new().red())
    }

    /// `head` (separator included) and the first line of `text`, the rest of
    /// `text` indented below.
    fn first_line_then_indented(&self, head: &str, text: &str, style: &Style) -> String {
        let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
        let mut out = format!("{head}{}", self.style(style.clone()).apply_to(first));
        let rest = rest.trim_end_matches('\n');
        if !rest.is_empty() {
            out.push('\n');
            out.push_str(&self.indented(rest, style));
        }
        out
    }

    /// Every line indented, trailing newlines dropped.
    fn indented(&self, text: &str, style: &Style) -> String {
        text.trim_end_matches('\n')
            .lines()
            .map(|l| format!("{INDENT}{}", self.style(style.clone()).apply_to(l)))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A unified diff, indented, coloured the way `git diff` colours it.
    fn diff(&self, diff: &str) -> String {
        diff.trim_end_matches('\n')
            .lines()
            .map(|l| {
                let style = if l.starts_with("+++") || l.starts_with("---") {
                    Style::new().bold()
                } else if l.starts_with('+') {
                    Style::new().green()
                } else if l.starts_with('-') {
                    Style::new().red()
                } else if l.starts_with("@@") {
                    Style::new().cyan()
                } else {
                    Style::new()
                };
                format!("{INDENT}{}", self.style(style).apply_to(l))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `template /etc/x`, or just `facts` when there is no target.
pub(crate) fn op_target(op: &str, target: &str) -> String {
    if target.is_empty() {
        op.to_owned()
    } else {
        format!("{op} {target}")
    }
}

/// `~ content, ~ mode 0644 -> 0640`.
fn change_list(changes: &[ChangeLine]) -> String {
    changes
        .iter()
        .map(|c| format!("{} {}", c.symbol, c.summary))
        .collect::<Vec<_>>()
        .join(", ")
}
