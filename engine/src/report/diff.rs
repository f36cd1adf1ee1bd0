//! Unified diffs of file contents, for `--diff`, with secrets masked.

use std::fmt::Write as _;
use std::ops::Range;
use std::time::{Duration, Instant};

use similar::{Algorithm, DiffTag};

use crate::secrets::Secrets;

/// Lines of context around each change, as `diff -u` and `git diff` show.
const CONTEXT: usize = 3;

/// Diff lines shown before the rest is summarised: a regenerated 10,000-line
/// file would otherwise bury every other line of the run.
pub const MAX_LINES: usize = 400;

/// How much of a file is inspected for NUL bytes, as Git does.
const SNIFF: usize = 8000;

/// Diffing pathological inputs must not stall a run; past this, the diff is
/// still correct but may be less minimal.
const DEADLINE: Duration = Duration::from_secs(1);

/// A unified diff from the host's `before` (`None`: the file does not exist)
/// to the desired `after`, or an empty string when they are equal.
///
/// - Headers are `--- path (on host)` and `+++ path (desired)`; a new file
///   diffs from `/dev/null`.
/// - Content with a NUL byte in its first 8000 bytes is binary and is only
///   described (`binary content differs`), never shown. Other content that
///   is not valid UTF-8 is shown lossily.
/// - Both sides are masked with `secrets` before anything is shown, as whole
///   texts, so multi-line secrets are caught too. A line whose only
///   difference is a secret's value is still shown as changed (both sides
///   reading `********`): lines compare equal only if their original bytes
///   do, so a rotated password is visible as a change without either value
///   being visible.
/// - Past [`MAX_LINES`] lines, the rest is summarised as `... N more lines`.
pub fn unified(path: &str, before: Option<&[u8]>, after: &[u8], secrets: &Secrets) -> String {
    if before == Some(after) {
        return String::new();
    }
    let old_header = match before {
        Some(_) => format!("--- {path} (on host)"),
        None => "--- /dev/null".to_owned(),
    };
    let mut out = format!("{old_header}\n+++ {path} (desired)\n");

    if let Some(whole) = secrets
        .whole(after)
        .or_else(|| before.and_then(|b| secrets.whole(b)))
    {
        let _ = writeln!(out, "content hidden ({whole}): {}", sizes(before, after));
        return out;
    }
    if before.is_some_and(is_binary) || is_binary(after) {
        let _ = match before {
            Some(_) => writeln!(out, "binary content differs ({})", sizes(before, after)),
            None => writeln!(out, "binary content: {}", sizes(before, after)),
        };
        return out;
    }

    let old = before.map(|b| masked_lines(b, secrets)).unwrap_or_default();
    let new = masked_lines(after, secrets);
    if new.is_empty() && before.is_none() {
        out.push_str("(new empty file)\n");
        return out;
    }

    let ops = similar::capture_diff_slices_deadline(
        Algorithm::Myers,
        &old,
        &new,
        Some(Instant::now() + DEADLINE),
    );
    let mut body: Vec<String> = Vec::new();
    for group in similar::group_diff_ops(ops, CONTEXT) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let old_range = first.old_range().start..last.old_range().end;
        let new_range = first.new_range().start..last.new_range().end;
        body.push(format!(
            "@@ -{} +{} @@",
            hunk_range(&old_range),
            hunk_range(&new_range)
        ));
        for op in &group {
            let (tag, old_r, new_r) = op.as_tag_tuple();
            match tag {
                DiffTag::Equal => push_lines(&mut body, ' ', &old[old_r]),
                DiffTag::Delete => push_lines(&mut body, '-', &old[old_r]),
                DiffTag::Insert => push_lines(&mut body, '+', &new[new_r]),
                DiffTag::Replace => {
                    push_lines(
                        &mut body,
                        '-',
                        &shadow_rotated(&old[old_r], &new[new_r.clone()]),
                    );
                    push_lines(&mut body, '+', &new[new_r]);
                }
            }
        }
    }
    if body.is_empty() {
        // Different bytes, same lines: cannot happen with the comparison on
        // original bytes, but an empty diff under a header would puzzle.
        out.push_str("(content differs)\n");
        return out;
    }

    let total = body.len();
    for line in body.iter().take(MAX_LINES) {
        out.push_str(line);
        out.push('\n');
    }
    if total > MAX_LINES {
        let _ = writeln!(out, "... {} more lines", total - MAX_LINES);
    }
    out
}

/// One line of a side, as compared and as shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Line<'a> {
    /// The masked text, newline included (so a missing final newline is a
    /// difference, as in `diff`).
    text: String,
    /// The original bytes behind it: compared, never shown.
    raw: &'a [u8],
    /// Whether a secret was masked in it.
    secret: bool,
}

/// Splits `raw` into masked lines, each knowing the original bytes it came
/// from. A secret spanning several lines becomes one `********` in one line,
/// whose `raw` covers all of them.
fn masked_lines<'a>(raw: &'a [u8], secrets: &Secrets) -> Vec<Line<'a>> {
    let secret_ranges = secrets.find(raw);
    let mut lines = Vec::new();
    let mut text: Vec<u8> = Vec::new();
    let mut secret = false;
    let mut line_start = 0;
    let mut push = |text: &mut Vec<u8>, secret: &mut bool, raw_range: Range<usize>| {
        lines.push(Line {
            text: String::from_utf8_lossy(text).into_owned(),
            raw: &raw[raw_range],
            secret: std::mem::take(secret),
        });
        text.clear();
    };
    let mut pos = 0;
    let mut secrets_iter = secret_ranges.into_iter().peekable();
    while pos < raw.len() {
        if let Some(range) = secrets_iter.next_if(|r| r.start == pos) {
            text.extend_from_slice(crate::secrets::PLACEHOLDER.as_bytes());
            secret = true;
            pos = range.end;
            continue;
        }
        let byte = raw[pos];
        text.push(byte);
        pos += 1;
        if byte == b'\n' {
            push(&mut text, &mut secret, line_start..pos);
            line_start = pos;
        }
    }
    if !text.is_empty() || line_start < raw.len() {
        push(&mut text, &mut secret, line_start..raw.len());
    }
    lines
}

/// A rotated secret: the host still has the old value, which is no longer
/// registered (only the new one is), so masking alone would show it. The old
/// lines replaced by desired lines holding a secret are masked too, line for
/// line when the counts match and all of them when they do not (which old
/// line held the secret is then unknown): from where the desired line holds
/// its secret when the old line starts the same (`password = ********`), else
/// whole, whatever its prefix.
fn shadow_rotated<'a>(old: &[Line<'a>], new: &[Line<'a>]) -> Vec<Line<'a>> {
    let paired = |i: usize| -> &[Line<'a>] {
        if old.len() == new.len() {
            &new[i..=i]
        } else {
            new
        }
    };
    old.iter()
        .enumerate()
        .map(|(i, line)| {
            let holders: Vec<&Line<'a>> = paired(i).iter().filter(|l| l.secret).collect();
            if holders.is_empty() {
                line.clone()
            } else {
                shadow(line, &holders)
            }
        })
        .collect()
}

/// `old` masked as a line that replaced one of `holders` (lines holding a
/// secret): its text up to where a holder's secret starts, when it starts the
/// same, then the placeholder; or only the placeholder.
fn shadow<'a>(old: &Line<'a>, holders: &[&Line<'a>]) -> Line<'a> {
    let placeholder = crate::secrets::PLACEHOLDER;
    let prefix = holders
        .iter()
        .filter_map(|l| l.text.find(placeholder).map(|at| &l.text[..at]))
        .find(|prefix| !prefix.trim().is_empty() && old.text.starts_with(prefix))
        .unwrap_or("");
    let newline = if old.text.ends_with('\n') { "\n" } else { "" };
    Line {
        text: format!("{prefix}{placeholder}{newline}"),
        raw: old.raw,
        secret: true,
    }
}

fn push_lines(body: &mut Vec<String>, prefix: char, lines: &[Line<'_>]) {
    for line in lines {
        match line.text.strip_suffix('\n') {
            Some(text) => body.push(format!("{prefix}{text}")),
            None => {
                body.push(format!("{prefix}{}", line.text));
                body.push("\\ No newline at end of file".to_owned());
            }
        }
    }
}

/// `start,len` as `diff -u` writes it: 1-based, `,len` omitted when 1, and
/// an empty range numbered after the line it follows.
fn hunk_range(r: &Range<usize>) -> String {
    let len = r.end - r.start;
    match len {
        1 => format!("{}", r.start + 1),
        0 => format!("{},0", r.start),
        _ => format!("{},{}", r.start + 1, len),
    }
}

fn is_binary(content: &[u8]) -> bool {
    content[..content.len().min(SNIFF)].contains(&0)
}

/// The sizes of both sides: `N bytes on host, M bytes desired`, or
/// `new file, M bytes`.
fn sizes(before: Option<&[u8]>, after: &[u8]) -> String {
    match before {
        Some(b) => format!("{} on host, {} desired", bytes(b.len()), bytes(after.len())),
        None => format!("new file, {}", bytes(after.len())),
    }
}

fn bytes(n: usize) -> String {
    if n == 1 {
        "1 byte".to_owned()
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> Secrets {
        Secrets::new()
    }

    const CONF: &str = "\
port 26379
daemonize no
sentinel monitor main 10.0.0.11 6379 2
sentinel down-after-milliseconds main 5000
sentinel failover-timeout main 60000
sentinel parallel-syncs main 1
logfile /var/log/redis/sentinel.log
dir /var/lib/redis
";

    #[test]
    fn equal_is_empty() {
        assert_eq!(unified("/x", Some(b"a\n"), b"a\n", &none()), "");
    }

    #[test]
    fn change() {
        let after = CONF
            .replace("10.0.0.11", "10.0.0.12")
            .replace("dir /var/lib/redis\n", "");
        let after = format!("# managed by kbz-play\n{after}");
        insta::assert_snapshot!(unified(
            "/opt/keybuzz/redis/conf/sentinel.conf",
            Some(CONF.as_bytes()),
            after.as_bytes(),
            &none()
        ));
    }

    #[test]
    fn separate_hunks() {
        let before: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let after = before
            .replace("line 2\n", "line two\n")
            .replace("line 18\n", "");
        insta::assert_snapshot!(unified(
            "/etc/many",
            Some(before.as_bytes()),
            after.as_bytes(),
            &none()
        ));
    }

    #[test]
    fn new_file() {
        insta::assert_snapshot!(unified("/etc/motd", None, b"welcome\nto kbz\n", &none()));
    }

    #[test]
    fn new_empty_file() {
        insta::assert_snapshot!(unified("/etc/empty", None, b"", &none()));
    }

    #[test]
    fn missing_final_newline() {
        insta::assert_snapshot!(unified("/etc/x", Some(b"a\nb"), b"a\nb\n", &none()));
    }

    #[test]
    fn changed_secret_shows_neither_value() {
        let secrets = Secrets::new();
        secrets.add("old-Passw0rd");
        secrets.add("new-Passw0rd");
        let before = "bind 0.0.0.0\nrequirepass old-Passw0rd\nmaxmemory 2gb\n";
        let after = "bind 0.0.0.0\nrequirepass new-Passw0rd\nmaxmemory 2gb\n";
        let d = unified(
            "/etc/redis/redis.conf",
            Some(before.as_bytes()),
            after.as_bytes(),
            &secrets,
        );
        assert!(!d.contains("Passw0rd"), "{d}");
        insta::assert_snapshot!(d);
    }

    #[test]
    fn unchanged_secret_is_context_and_masked() {
        let secrets = Secrets::new();
        secrets.add("s3cr3t-token");
        let before = "token s3cr3t-token\nlevel 1\n";
        let after = "token s3cr3t-token\nlevel 2\n";
        insta::assert_snapshot!(unified(
            "/etc/app.conf",
            Some(before.as_bytes()),
            after.as_bytes(),
            &secrets
        ));
    }

    #[test]
    fn multi_line_secret_is_masked_whole() {
        let key = "-----BEGIN KEY-----\nAAAA1111\nBBBB2222\n-----END KEY-----\n";
        let secrets = Secrets::new();
        secrets.add(key);
        let after = format!("[tls]\n{key}port = 443\n");
        let d = unified("/etc/tls.conf", None, after.as_bytes(), &secrets);
        assert!(!d.contains("AAAA1111") && !d.contains("BBBB2222"), "{d}");
        insta::assert_snapshot!(d);
    }

    #[test]
    fn binary() {
        insta::assert_snapshot!(unified(
            "/usr/local/bin/tool",
            Some(b"\x7fELF\x00\x01"),
            b"\x7fELF\x00\x02\x03",
            &none()
        ));
        insta::assert_snapshot!(
            "binary_new",
            unified("/usr/local/bin/tool", None, b"\x00", &none())
        );
    }

    #[test]
    fn invalid_utf8_is_text_if_no_nul() {
        let d = unified("/etc/latin1", Some(b"caf\xe9\n"), b"cafe\n", &none());
        assert!(d.contains("-caf\u{fffd}"), "{d}");
    }

    #[test]
    fn long_diffs_are_capped() {
        let after: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let d = unified("/big", None, after.as_bytes(), &none());
        let lines: Vec<&str> = d.lines().collect();
        // Two headers, the hunk header and 399 lines shown, then the summary.
        assert_eq!(lines.len(), 2 + MAX_LINES + 1);
        assert_eq!(lines[2], "@@ -0,0 +1,1000 @@");
        assert_eq!(*lines.last().unwrap(), "... 601 more lines");
    }

    #[test]
    fn hunk_ranges() {
        assert_eq!(hunk_range(&(0..0)), "0,0");
        assert_eq!(hunk_range(&(4..4)), "4,0");
        assert_eq!(hunk_range(&(0..1)), "1");
        assert_eq!(hunk_range(&(2..7)), "3,5");
    }

    #[test]
    fn a_rotated_secret_hides_the_old_value_too() {
        let secrets = Secrets::default();
        secrets.add("new-value-42");
        let d = unified(
            "/etc/db.conf",
            Some(b"user = a\npassword = old-value-17\n"),
            b"user = a\npassword = new-value-42\n",
            &secrets,
        );
        assert!(!d.contains("old-value") && !d.contains("new-value"), "{d}");
        assert!(
            d.contains("-password = ********\n+password = ********"),
            "{d}"
        );
    }

    #[test]
    fn a_whole_file_secret_is_hidden_on_both_sides() {
        let secrets = Secrets::default();
        secrets.add_named("K3S_TOKEN", "K10new-token-value\n");
        let d = unified(
            "/etc/rancher/token",
            Some(b"K10old-token-value\n"),
            b"K10new-token-value\n",
            &secrets,
        );
        assert_eq!(
            d,
            "--- /etc/rancher/token (on host)\n+++ /etc/rancher/token (desired)\n\
             content hidden (uses secret K3S_TOKEN): 19 bytes on host, 19 bytes desired\n"
        );
        // Too short to be masked as text, still hidden whole.
        secrets.add_named("PIN", "123");
        let d = unified("/etc/pin", None, b"123", &secrets);
        assert!(
            d.ends_with("content hidden (uses secret PIN): new file, 3 bytes\n"),
            "{d}"
        );
    }

    #[test]
    fn a_rotated_secret_line_is_hidden_whatever_its_prefix() {
        let secrets = Secrets::default();
        secrets.add("new-token-42");
        let d = unified(
            "/etc/app.conf",
            Some(b"[auth]\nold-token-17\nkey = old-pw\nlevel = 1\n"),
            b"[auth]\nnew-token-42\nkey: new-token-42\nlevel = 2\n",
            &secrets,
        );
        assert!(!d.contains("old-") && !d.contains("new-"), "{d}");
        assert!(d.contains("-********\n-********\n-level = 1\n"), "{d}");
    }
}
