//! The end-of-run table, and what the run's exit status should be.
//!
//! Shared by [`super::Plain`] and [`super::Tty`] so both show exactly the same
//! numbers. [`render`] is a pure function of the recap, for snapshot tests.

use std::fmt::Write as _;
use std::time::Duration;

use console::Style;

use super::HostStats;

/// The exit status of a run Ctrl-C stopped: a shell's 128 + SIGINT.
pub const INTERRUPTED: i32 = 130;

/// How many host names a verdict lists before abbreviating: enough to act on,
/// short enough to stay on one line.
const MAX_NAMES: usize = 5;

/// The process exit status for a run, following Ansible's convention so that
/// existing CI scripts and wrappers keep working unchanged:
///
/// - `0`: every host succeeded (changed or not);
/// - `2`: at least one host failed (whether or not others were unreachable);
/// - `4`: at least one host was unreachable and none failed;
/// - `130` (a shell's 128 + SIGINT): Ctrl-C stopped the run before some host
///   was done, whatever the others did: the run is incomplete, and a wrapper
///   must not mistake it for a host's failure.
///
/// An empty recap (no host matched) is `0`: nothing was asked, nothing failed;
/// the CLI is expected to refuse an empty `--limit` before running.
pub fn exit_code(recap: &[(String, HostStats)]) -> i32 {
    if recap.iter().any(|(_, s)| s.interrupted) {
        INTERRUPTED
    } else if recap.iter().any(|(_, s)| s.failed > 0) {
        2
    } else if recap.iter().any(|(_, s)| s.unreachable) {
        4
    } else {
        0
    }
}

/// Formats a duration for humans: `0.42s`, `4.2s`, `2m05s`, `1h02m`.
/// Precision shrinks as durations grow, since nobody cares about the tenths
/// of a second of a ten-minute run.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 1.0 {
        format!("{secs:.2}s")
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else if secs < 3600.0 {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        let s = d.as_secs();
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// Colours for the table, all of them no-ops unless colour was asked for:
/// the output must be byte-identical in logs and snapshots.
struct Palette {
    color: bool,
}

impl Palette {
    fn style(&self, style: Style) -> Style {
        style.force_styling(self.color)
    }
    fn ok(&self) -> Style {
        self.style(Style::new().green())
    }
    fn changed(&self) -> Style {
        self.style(Style::new().yellow())
    }
    fn bad(&self) -> Style {
        self.style(Style::new().red())
    }
    fn skipped(&self) -> Style {
        self.style(Style::new().cyan())
    }
    fn dim(&self) -> Style {
        self.style(Style::new().dim())
    }
    fn bold(&self) -> Style {
        self.style(Style::new().bold())
    }
}

/// Renders the recap table:
///
/// ```text
/// RECAP
/// host      ok  changed  failed  skipped  unreachable  interrupted  time
/// redis-01  12        3       0        0            0            0  4.2s
/// total     12        3       0        0            0            0  4.3s
///
/// OK: 1 host, 1 changed
/// ```
///
/// One row per host in the order given (inventory order), then a totals row
/// whose time is the run's wall time (hosts run in parallel, so summing their
/// times would mean nothing), then a one-line verdict that matches
/// [`exit_code`]. Ends with a newline. With `color`, non-zero counts are
/// coloured (green ok, yellow changed and interrupted, red failed and
/// unreachable) and so is each host's name, by its worst outcome.
pub fn render(recap: &[(String, HostStats)], elapsed: Duration, color: bool) -> String {
    let p = Palette { color };
    let headers = [
        "host",
        "ok",
        "changed",
        "failed",
        "skipped",
        "unreachable",
        "interrupted",
        "time",
    ];

    let mut total = HostStats {
        elapsed,
        ..HostStats::default()
    };
    let mut flags_total = [0u32; 2];
    for (_, s) in recap {
        total.ok += s.ok;
        total.changed += s.changed;
        total.failed += s.failed;
        total.skipped += s.skipped;
        flags_total[0] += u32::from(s.unreachable);
        flags_total[1] += u32::from(s.interrupted);
    }
    let flags = |s: &HostStats| [u32::from(s.unreachable), u32::from(s.interrupted)];

    // Cells as plain text first, to measure them: styling adds invisible bytes.
    let row = |name: &str, s: &HostStats, [unreachable, interrupted]: [u32; 2]| -> [String; 8] {
        [
            name.to_owned(),
            s.ok.to_string(),
            s.changed.to_string(),
            s.failed.to_string(),
            s.skipped.to_string(),
            unreachable.to_string(),
            interrupted.to_string(),
            format_duration(s.elapsed),
        ]
    };
    let mut rows: Vec<[String; 8]> = recap.iter().map(|(h, s)| row(h, s, flags(s))).collect();
    rows.push(row("total", &total, flags_total));

    let mut widths = headers.map(str::len);
    for r in &rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(console::measure_text_width(cell));
        }
    }

    let mut out = String::new();
    let _ = writeln!(out, "{}", p.bold().apply_to("RECAP"));
    let mut header = String::new();
    for (i, (h, w)) in headers.iter().zip(widths).enumerate() {
        if i == 0 {
            let _ = write!(header, "{h:<w$}");
        } else {
            let _ = write!(header, "  {h:>w$}");
        }
    }
    let _ = writeln!(out, "{}", p.dim().apply_to(header));

    let count_style = |column: usize, value: u32| -> Style {
        if value == 0 {
            return p.dim();
        }
        match column {
            1 => p.ok(),
            2 => p.changed(),
            3 | 5 => p.bad(),
            4 => p.skipped(),
            6 => p.changed(),
            _ => p.style(Style::new()),
        }
    };
    let last = rows.len() - 1;
    for (r, cells) in rows.iter().enumerate() {
        let stats = if r == last { &total } else { &recap[r].1 };
        let [unreachable, interrupted] = if r == last { flags_total } else { flags(stats) };
        let values = [
            0,
            stats.ok,
            stats.changed,
            stats.failed,
            stats.skipped,
            unreachable,
            interrupted,
        ];
        let name_style = if r == last {
            p.bold()
        } else if stats.failed > 0 || stats.unreachable {
            p.bad()
        } else if stats.changed > 0 || stats.interrupted {
            p.changed()
        } else {
            p.ok()
        };
        let mut line = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            let padded = if i == 0 {
                format!(
                    "{}{}",
                    cell,
                    " ".repeat(w - console::measure_text_width(cell))
                )
            } else {
                format!(
                    "{}{}",
                    " ".repeat(w - console::measure_text_width(cell)),
                    cell
                )
            };
            let styled = match i {
                0 => name_style.apply_to(padded).to_string(),
                7 => padded,
                _ => count_style(i, values[i]).apply_to(padded).to_string(),
            };
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(&styled);
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }

    out.push('\n');
    let _ = writeln!(out, "{}", verdict(recap, &p));
    out
}

/// The one line a hurried reader needs: did it work, and if not, where to look.
fn verdict(recap: &[(String, HostStats)], p: &Palette) -> String {
    let hosts = recap.len();
    if hosts == 0 {
        return format!(
            "{}: no hosts matched",
            p.changed().bold().apply_to("NOTHING RAN")
        );
    }
    let failed: Vec<&str> = recap
        .iter()
        .filter(|(_, s)| s.failed > 0)
        .map(|(h, _)| h.as_str())
        .collect();
    let unreachable: Vec<&str> = recap
        .iter()
        .filter(|(_, s)| s.unreachable && s.failed == 0)
        .map(|(h, _)| h.as_str())
        .collect();
    let interrupted: Vec<&str> = recap
        .iter()
        .filter(|(_, s)| s.interrupted && s.failed == 0 && !s.unreachable)
        .map(|(h, _)| h.as_str())
        .collect();
    let changed = recap.iter().filter(|(_, s)| s.changed > 0).count();

    if failed.is_empty() && unreachable.is_empty() && interrupted.is_empty() {
        let what = if changed == 0 {
            "nothing changed".to_owned()
        } else {
            format!("{changed} changed")
        };
        return format!(
            "{}: {} {}, {what}",
            p.ok().bold().apply_to("OK"),
            hosts,
            plural(hosts)
        );
    }

    let mut parts = Vec::new();
    if !interrupted.is_empty() {
        parts.push(format!(
            "{} interrupted ({})",
            interrupted.len(),
            names(&interrupted)
        ));
    }
    if !failed.is_empty() {
        parts.push(format!("{} failed ({})", failed.len(), names(&failed)));
    }
    if !unreachable.is_empty() {
        parts.push(format!(
            "{} unreachable ({})",
            unreachable.len(),
            names(&unreachable)
        ));
    }
    let good = hosts - failed.len() - unreachable.len() - interrupted.len();
    let word = if interrupted.is_empty() {
        p.bad().bold().apply_to("FAILED")
    } else {
        p.changed().bold().apply_to("INTERRUPTED")
    };
    format!(
        "{word}: {}; {good} of {hosts} {} ok",
        parts.join(", "),
        plural(hosts)
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "host"
    } else {
        "hosts"
    }
}

/// `a, b, c`, or `a, b, c, d, e, +3 more`.
fn names(hosts: &[&str]) -> String {
    let mut s = hosts
        .iter()
        .take(MAX_NAMES)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if hosts.len() > MAX_NAMES {
        let _ = write!(s, ", +{} more", hosts.len() - MAX_NAMES);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(
        ok: u32,
        changed: u32,
        failed: u32,
        skipped: u32,
        unreachable: bool,
        ms: u64,
    ) -> HostStats {
        HostStats {
            ok,
            changed,
            failed,
            skipped,
            unreachable,
            interrupted: false,
            elapsed: Duration::from_millis(ms),
            round_trips: 0,
        }
    }

    fn host(name: &str, s: HostStats) -> (String, HostStats) {
        (name.to_owned(), s)
    }

    #[test]
    fn exit_codes_follow_ansible() {
        let ok = host("a", stats(3, 1, 0, 0, false, 10));
        let failed = host("b", stats(1, 0, 1, 0, false, 10));
        let down = host("c", stats(0, 0, 0, 0, true, 10));
        assert_eq!(exit_code(&[]), 0);
        assert_eq!(exit_code(std::slice::from_ref(&ok)), 0);
        assert_eq!(exit_code(&[ok.clone(), failed.clone()]), 2);
        assert_eq!(exit_code(&[ok.clone(), down.clone()]), 4);
        assert_eq!(exit_code(&[down.clone(), failed.clone(), ok.clone()]), 2);
        let mut stopped = host("d", stats(1, 0, 0, 0, false, 10));
        stopped.1.interrupted = true;
        assert_eq!(exit_code(&[down, failed, ok, stopped]), 130);
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(Duration::from_millis(0)), "0.00s");
        assert_eq!(format_duration(Duration::from_millis(420)), "0.42s");
        assert_eq!(format_duration(Duration::from_millis(4_240)), "4.2s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(format_duration(Duration::from_secs(3_720)), "1h02m");
    }

    #[test]
    fn all_ok() {
        let recap = vec![
            host("redis-01", stats(12, 3, 0, 1, false, 4_210)),
            host("redis-02", stats(12, 3, 0, 1, false, 4_050)),
            host("redis-sentinel-03", stats(15, 0, 0, 0, false, 2_900)),
        ];
        insta::assert_snapshot!(render(&recap, Duration::from_millis(4_400), false));
    }

    #[test]
    fn nothing_changed() {
        let recap = vec![host("web-01", stats(7, 0, 0, 0, false, 800))];
        insta::assert_snapshot!(render(&recap, Duration::from_millis(900), false));
    }

    #[test]
    fn failures_and_unreachable() {
        let recap = vec![
            host("db-01", stats(20, 2, 0, 0, false, 61_000)),
            host("db-02", stats(8, 1, 1, 0, false, 30_500)),
            host("db-03", stats(0, 0, 0, 0, true, 10_000)),
        ];
        insta::assert_snapshot!(render(&recap, Duration::from_millis(62_000), false));
    }

    #[test]
    fn many_failures_are_abbreviated() {
        let recap: Vec<_> = (1..=8)
            .map(|i| host(&format!("h{i}"), stats(0, 0, 1, 0, false, 100)))
            .collect();
        let out = render(&recap, Duration::from_millis(200), false);
        let last = out.lines().last().unwrap();
        assert_eq!(
            last,
            "FAILED: 8 failed (h1, h2, h3, h4, h5, +3 more); 0 of 8 hosts ok"
        );
    }

    #[test]
    fn interrupted_hosts_are_neither_failed_nor_ok() {
        let mut stopped = host("db-02", stats(3, 1, 0, 0, false, 5_000));
        stopped.1.interrupted = true;
        let recap = vec![
            host("db-01", stats(4, 1, 0, 0, false, 4_000)),
            stopped,
            host("db-03", stats(2, 0, 1, 0, false, 3_000)),
        ];
        insta::assert_snapshot!(render(&recap, Duration::from_millis(5_100), false));
    }

    #[test]
    fn empty() {
        insta::assert_snapshot!(render(&[], Duration::ZERO, false));
    }

    #[test]
    fn colour_only_when_asked() {
        let recap = vec![host("db-02", stats(8, 1, 1, 0, false, 30_500))];
        let plain = render(&recap, Duration::from_secs(1), false);
        assert!(!plain.contains('\x1b'));
        let coloured = render(&recap, Duration::from_secs(1), true);
        assert!(coloured.contains('\x1b'));
        // Same text once the colours are stripped: alignment is unaffected.
        assert_eq!(console::strip_ansi_codes(&coloured), plain);
    }
}
