//! `/etc/fstab` as `swap_off` and `xfs_volume` edit it: whole-line edits
//! that keep every other line (comments, spacing) byte for byte, written
//! back atomically with a diff.

use std::sync::Arc;

use kbz_engine::op::{Action, Change, ContentDiff, Expected, OpError, Symbol, WriteFile};
use kbz_engine::probe::{PathKind, PathState};

use kbz_engine::shell::quote;

use super::file::wrong_kind;

/// Where the table lives.
pub(crate) const PATH: &str = "/etc/fstab";

/// The fields of an entry line; `None` for blank and comment lines.
pub(crate) fn fields(line: &str) -> Option<Vec<&str>> {
    let trimmed = line.trim();
    (!trimmed.is_empty() && !trimmed.starts_with('#')).then(|| trimmed.split_whitespace().collect())
}

/// The text of the table as probed (with content); a missing file is empty.
pub(crate) fn text(cur: &PathState) -> Result<String, OpError> {
    match cur.kind {
        PathKind::Missing => Ok(String::new()),
        PathKind::File => {
            let bytes = cur.content.as_deref().ok_or_else(|| {
                OpError::Invalid(format!("the content of {PATH} could not be read"))
            })?;
            String::from_utf8(bytes.to_vec())
                .map_err(|_| OpError::Conflict(format!("{PATH} is not UTF-8 text")))
        }
        _ => Err(wrong_kind(PATH, cur, "file")),
    }
}

/// Comments out (`# ` prefix) every active swap entry; returns the new text
/// and how many lines changed.
pub(crate) fn comment_swap(text: &str) -> (String, usize) {
    let mut count = 0;
    let out = map_lines(text, |line| match fields(line) {
        Some(f) if f.get(2) == Some(&"swap") => {
            count += 1;
            Some(format!("# {line}"))
        }
        _ => None,
    });
    (out, count)
}

/// The active entry mounting `mount` (the last one wins at boot, as with
/// `mount -a`), as fields.
pub(crate) fn entry_for<'a>(text: &'a str, mount: &str) -> Option<Vec<&'a str>> {
    text.lines()
        .rev()
        .filter_map(fields)
        .find(|f| f.get(1) == Some(&mount))
}

/// Makes `line` the only active entry for `mount`: it replaces the first
/// entry for that mount point, later ones are dropped, and it is appended
/// when there is none.
pub(crate) fn set_entry(text: &str, mount: &str, line: &str) -> String {
    let mut placed = false;
    let mut out = String::new();
    for l in text.lines() {
        if fields(l).is_some_and(|f| f.get(1) == Some(&mount)) {
            if !placed {
                out.push_str(line);
                out.push('\n');
                placed = true;
            }
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    if !placed {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A script doing [`set_entry`] on the host, for an entry only known there
/// (the UUID of a filesystem made in the same run). `line` is a shell word
/// that expands to the entry, e.g. `"UUID=$uuid /data xfs noatime 0 0"`.
/// The new table goes to a temp file beside `table`, takes its mode and
/// owner, and is renamed over it.
pub(crate) fn set_entry_script(table: &str, mount: &str, line: &str) -> String {
    let (t, m) = (quote(table), quote(mount));
    let dir = quote(table.rsplit_once('/').map_or(".", |(d, _)| d));
    let awk = "'$0 !~ /^[ \\t]*(#|$)/ && $2 == m { if (!d) print l; d = 1; next } \
               { print } END { if (!d) print l }'";
    [
        format!("line={line}"),
        format!("tmp=$(mktemp {dir}/.fstab.XXXXXX) || exit 1"),
        format!("if [ -f {t} ]; then"),
        format!("  awk -v m={m} -v l=\"$line\" {awk} {t} > \"$tmp\" &&"),
        format!("  chmod --reference={t} \"$tmp\" && chown --reference={t} \"$tmp\""),
        "else".to_string(),
        "  printf '%s\\n' \"$line\" > \"$tmp\" && chmod 644 \"$tmp\"".to_string(),
        format!(
            "fi && sync -- \"$tmp\" && mv -f -- \"$tmp\" {t} || {{ rm -f -- \"$tmp\"; exit 1; }}"
        ),
    ]
    .join("\n")
}

/// Applies `edit` to each line (`Some(new)` replaces it), keeping the rest;
/// the result ends with a newline.
fn map_lines(text: &str, mut edit: impl FnMut(&str) -> Option<String>) -> String {
    let mut out = String::new();
    for line in text.lines() {
        match edit(line) {
            Some(new) => out.push_str(&new),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// The change writing `after` over the table (atomically, keeping its mode
/// and owner; 0644 for a new table), with the before and after for `--diff`.
/// `after` was computed from `cur`, the table as probed, so the write is a
/// compare-and-swap ([`Expected`]): an entry another tool (an installer,
/// cloud-init) added since is planned again, never dropped.
pub(crate) fn rewrite(
    cur: &PathState,
    before: &str,
    after: String,
    symbol: Symbol,
    summary: String,
) -> Change {
    let after = Arc::new(after.into_bytes());
    let write = Action::Write(WriteFile {
        path: PATH.to_string(),
        content: Arc::clone(&after),
        mode: None,
        owner: None,
        group: None,
        validate: None,
        expect: Expected::of(cur),
    });
    Change::new(symbol, summary, vec![write]).with_diff(ContentDiff {
        path: PATH.to_string(),
        before: Some(Arc::new(before.as_bytes().to_vec())),
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "# /etc/fstab\nUUID=a / ext4 errors=remount-ro 0 1\n\
                         /swap.img\tnone\tswap\tsw\t0\t0\n#/dev/sdb none swap sw 0 0\n\
                         UUID=b none swap sw 0 0\n";

    #[test]
    fn swap_lines_are_commented_once() {
        let (out, n) = comment_swap(TABLE);
        assert_eq!(n, 2);
        assert_eq!(
            out,
            "# /etc/fstab\nUUID=a / ext4 errors=remount-ro 0 1\n\
             # /swap.img\tnone\tswap\tsw\t0\t0\n#/dev/sdb none swap sw 0 0\n\
             # UUID=b none swap sw 0 0\n"
        );
        assert_eq!(comment_swap(&out), (out.clone(), 0));
        assert_eq!(comment_swap(""), (String::new(), 0));
    }

    #[test]
    fn the_host_script_edits_like_set_entry() {
        let dir = tempfile::tempdir().unwrap();
        let table = dir.path().join("fstab");
        let table = table.to_str().unwrap();
        let run = |line: &str| {
            let script = format!("uuid=u1\n{}", set_entry_script(table, "/data", line));
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(&script)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::fs::read_to_string(table).unwrap()
        };
        let line = "\"UUID=$uuid /data xfs noatime 0 0\"";
        assert_eq!(
            run(line),
            "UUID=u1 /data xfs noatime 0 0\n",
            "a missing table is created"
        );
        let text = "UUID=a / ext4 defaults 0 1\n/dev/vdb /data xfs defaults 0 0\n\
                    # UUID=z /data xfs noatime 0 0\n\n/dev/vdc  /data  xfs  defaults  0 0\n";
        std::fs::write(table, text).unwrap();
        let want = set_entry(text, "/data", "UUID=u1 /data xfs noatime 0 0");
        assert_eq!(run(line), want);
        assert_eq!(run(line), want, "a second run changes nothing");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn entries_are_found_and_replaced() {
        let text = "UUID=a / ext4 defaults 0 1\n/dev/vdb /data xfs defaults 0 0\n\
                    # UUID=z /data xfs noatime 0 0\n/dev/vdc  /data  xfs  defaults  0 0\n";
        assert_eq!(
            entry_for(text, "/data"),
            Some(vec!["/dev/vdc", "/data", "xfs", "defaults", "0", "0"])
        );
        assert_eq!(entry_for(text, "/srv"), None);
        let new = "UUID=u /data xfs noatime 0 0";
        assert_eq!(
            set_entry(text, "/data", new),
            "UUID=a / ext4 defaults 0 1\nUUID=u /data xfs noatime 0 0\n\
             # UUID=z /data xfs noatime 0 0\n"
        );
        assert_eq!(
            set_entry("UUID=a / ext4 defaults 0 1", "/data", new),
            "UUID=a / ext4 defaults 0 1\nUUID=u /data xfs noatime 0 0\n"
        );
    }
}
