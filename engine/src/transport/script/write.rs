//! The atomic write script behind `write_file` and batched writes: a temp
//! file beside the target opened once (`O_EXCL`) and used only through its
//! descriptor, the compare-and-swap on the probed content, owner and mode on
//! the descriptor, the validator on a private copy, then `mv -T`.

use super::{unique_suffix, CHANGED_RC, MAX_TEMP_BASENAME};
use crate::op::{Expected, WriteFile};
use crate::shell::{ownership, quote};

/// Splits an absolute file path into (directory, basename), refusing what
/// cannot be a regular file's path.
pub(super) fn split_path(path: &str) -> Result<(&str, &str), String> {
    if !path.starts_with('/') {
        return Err("the path must be absolute".into());
    }
    if path.contains('\0') {
        return Err("the path contains a NUL byte".into());
    }
    let (dir, base) = path.rsplit_once('/').unwrap_or(("", path));
    if base.is_empty() || base == "." || base == ".." {
        return Err("the path must name a file, not a directory".into());
    }
    Ok((if dir.is_empty() { "/" } else { dir }, base))
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
pub(super) fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The atomic write, run with the content on stdin. Exits 0 only once the
/// target has been replaced; on any failure the temp file is gone and the
/// target untouched. The byte count check is what makes an interrupted
/// transfer (the stream just ends early) fail instead of installing a
/// truncated file.
///
/// Forks are the main cost on the host, so the script uses builtins where it
/// can: the temp file is created by the shell (`set -C`, i.e. `O_EXCL`)
/// rather than `mktemp`, one `stat` reads the temp file's size and the
/// target's metadata, and `chown` only runs when something changes. That
/// leaves `dd` (write + fsync), `stat`, `chmod` and `mv`; a new file of a
/// batch needs only `dd` and `mv` (see [`Input::NextBytes`] and
/// [`created_mode`]).
pub(crate) fn write_script(file: &WriteFile) -> Result<String, String> {
    write_script_from(file, Input::WholeStdin)
}

/// Where a write script finds the file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// All of stdin, up to end of file: a write on its own (any POSIX `dd`).
    WholeStdin,
    /// The next `content.len()` bytes of stdin and not one more, so the
    /// following write of a batch finds its own content right after
    /// (GNU `dd`'s `iflag=fullblock,count_bytes`, coreutils 8.16 and later),
    /// then the line [`END_OF_CONTENT`]. The shell's `read` finds that line
    /// only when `dd` had every byte: a transfer cut short is found without a
    /// `stat` of the temp file, which a new file then never needs.
    NextBytes,
}

/// The line that follows each file's content on a batch's stdin
/// ([`Input::NextBytes`]).
pub(crate) const END_OF_CONTENT: &[u8] = b":kbz-play-end-of-content\n";

/// [`write_script`], reading the content as `input` says.
pub(crate) fn write_script_from(file: &WriteFile, input: Input) -> Result<String, String> {
    let (dir, base) = split_path(&file.path)?;
    let dir = if dir == "/" { "" } else { dir };
    let prefix = format!("{dir}/.kbz-play.{}.", truncate(base, MAX_TEMP_BASENAME));
    let tmp = format!("{prefix}{}", unique_suffix());
    let len = file.content.len();
    let count = match input {
        Input::WholeStdin => String::new(),
        Input::NextBytes => format!("iflag=fullblock,count_bytes count={len}"),
    };
    let mut s = format!(
        "t={}\nnew={}\ncount='{count}'\n",
        quote(&file.path),
        quote(&tmp)
    );
    // `$tmp` is set only once the file is ours, so the trap never removes anyone else's.
    // The temp file is created with O_EXCL (`set -C`; a symlink planted at its
    // name fails it) and then only reached through fd 4 (`/dev/fd/4` for
    // stat, chown, chmod): in a folder a service's uid owns (Redis's conf
    // folder, mounted into its container), the service can swap the temp file
    // for a symlink, and root must never write, chown or chmod through it.
    // `mv -T` renames whatever is at the temp name over the target itself,
    // never into a directory a symlink at the target points to.
    // Only `dd` reads the content (moved to fd 3, stdin is /dev/null): a validator
    // that reads stdin would otherwise eat the next write's bytes in a batch.
    s.push_str(&sweep(&prefix));
    s.push_str(
        "tmp= v=\n\
         trap '[ -z \"$tmp\" ] || rm -f -- \"$tmp\"; [ -z \"$v\" ] || rm -rf -- \"$v\"' EXIT\n\
         trap 'exit 1' HUP INT TERM PIPE\n\
         fail() { printf '%s\\n' \"$*\" >&2; exit 1; }\n\
         unwritten() {\n\
         r=${1##*: } d=${t%/*} h=\n\
         case $r in *space*|*quota*) h=\"; free space on the file system that holds it (df -h ${d:-/}), then run again\";; esac\n\
         fail \"${r:-dd failed}; $t left unchanged, the temp file removed$h\"\n\
         }\n\
         exec 3<&0 </dev/null\n\
         [ -d \"$t\" ] && fail \"$t is a directory\"\n",
    );
    s.push_str(&created_mode(file));
    s.push_str(
        "set -C\n\
         command exec 4> \"$new\" || fail \"cannot create a temp file next to $t\"\n\
         tmp=$new\n\
         set +C\n\
         e=$(LC_ALL=C dd bs=65536 conv=fsync status=none ${count} <&3 2>&1 >&4) || unwritten \"$e\"\n",
    );
    let new_size = match input {
        Input::WholeStdin => "n=$(stat -L -c %s -- /dev/fd/4) || exit 1".to_string(),
        Input::NextBytes => {
            let end = String::from_utf8_lossy(&END_OF_CONTENT[..END_OF_CONTENT.len() - 1]);
            s.push_str(&format!(
                "IFS= read -r end <&3 && [ \"$end\" = {} ] || fail \"the content of $t arrived cut short (interrupted transfer?); $t left unchanged\"\n",
                quote(&end)
            ));
            format!("n={len}")
        }
    };
    s.push_str(&format!(
        "exec 3<&-\n\
         if [ -e \"$t\" ]; then\n\
         set -- $(stat -L -c '%s %u %g %a' -- /dev/fd/4 \"$t\")\n\
         [ $# = 8 ] || fail \"cannot stat $t\"\n\
         n=$1 tu=$2 tg=$3 u=$6 g=$7 mode=$8\n\
         else\n\
         {new_size}\n\
         u= mode=644\n\
         fi\n"
    ));
    s.push_str(&format!(
        "[ \"$n\" = {len} ] || fail \"only $n of {len} bytes arrived (interrupted transfer?); $t left unchanged\"\n"
    ));
    if let Some(m) = file.mode {
        s.push_str(&format!("mode={:o}\n", m & 0o7777));
    }
    if let Some(validate) = &file.validate {
        s.push_str(&validation(validate, base, &attrs_on(file, "\"$vf\"")));
    }
    s.push_str(&attrs_on(file, "/dev/fd/4"));
    s.push_str("exec 4>&-\n");
    if let Some(expect) = &file.expect {
        s.push_str(&compare(expect));
    }
    s.push_str(
        "mv -fT -- \"$tmp\" \"$t\" || fail \"cannot rename the temp file over $t\"\n\
         tmp=\n",
    );
    Ok(s)
}

/// Commands giving `f` (a shell word: `/dev/fd/4`, the temp file through
/// its descriptor, or the validator's copy) the write's owner, group and
/// mode, or the target's when the write leaves them alone (`$u`, `$g`,
/// `$mode`). Owner and group first: chown clears setuid/setgid bits, chmod
/// comes last.
fn attrs_on(file: &WriteFile, f: &str) -> String {
    let mut s = String::new();
    if file.owner.is_none() || file.group.is_none() {
        // Keep the target's ids. Succeeds as root; otherwise the file simply
        // belongs to the writing user, as any non-root write would.
        s.push_str(&format!("if [ -n \"$u\" ] && [ \"$u:$g\" != \"$tu:$tg\" ]; then chown -- \"$u:$g\" {f} 2>/dev/null || :; fi\n"));
    }
    if let Some(cmd) = ownership(file.owner.as_deref(), file.group.as_deref(), "") {
        s.push_str(&format!(
            "{cmd} {f} || fail \"cannot set the owner/group of $t\"\n"
        ));
    }
    s.push_str(&format!(
        "[ \"$mode\" = \"$made\" ] || chmod \"$mode\" {f} || fail \"cannot set the mode of $t\"\n"
    ));
    s
}

/// Sets the umask the temp file is created under, and `$made`, the mode it
/// gets. Until the write's owner, group and mode are on it, the temp file
/// is 0600 (umask 077): its content is then never readable by more users
/// than the installed file's. A new file that keeps the writing user's ids
/// (no `owner`, no `group`) would be readable by exactly the same users, so
/// it is created with its final mode when a umask can give it (no
/// execute, setuid, setgid or sticky bit), and needs no `chmod`; the
/// validator's copy is created likewise. Whether the target exists is
/// checked again after `dd`; a temp file whose mode is not the one wanted
/// by then gets its `chmod`.
fn created_mode(file: &WriteFile) -> String {
    let new_mode = file.mode.unwrap_or(0o644) & 0o7777;
    if file.owner.is_some() || file.group.is_some() || new_mode & !0o666 != 0 {
        return "umask 077\nmade=600\n".to_string();
    }
    format!(
        "if [ -e \"$t\" ]; then umask 077; made=600; else umask {:03o}; made={new_mode:o}; fi\n",
        0o777 & !new_mode
    )
}

/// Runs the validator on a copy of the temp file in a folder of its own
/// (`mktemp -d` under umask 077: new, 0700, the writing user's), never on the temp file by
/// name: that one sits in the target's folder, which a service may own and
/// where it could swap the name for another file while the validator reads
/// it. The copy is read from the temp file's descriptor before the temp file
/// gets its owner and mode (until then only the writing user can change it),
/// and gets them itself (validators such as `visudo -c` check them), so the
/// validator sees exactly the bytes and attributes that are installed. It
/// keeps the target's name, for validators that read a name's suffix.
fn validation(validate: &str, base: &str, attrs: &str) -> String {
    let cmd = validate.replace("{}", "\"$vf\"");
    let shown = validate
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('$', "\\$")
        .replace('`', "\\`");
    format!(
        "v=$(umask 077; mktemp -d \"${{TMPDIR:-/tmp}}/kbz-play-validate.XXXXXX\") || fail \"cannot create a folder to validate $t in\"\n\
         vf=\"$v\"/{}\n\
         cat /dev/fd/4 > \"$vf\" || fail \"cannot copy the new $t to validate it\"\n\
         {attrs}\
         if ! out=$({cmd} 2>&1); then fail \"validation failed, $t left unchanged: {shown}: $out\"; fi\n\
         rm -rf -- \"$v\"; v=\n",
        quote(base)
    )
}

/// Removes the temp files an earlier write of this target left behind: its
/// script only cleans up on its way out, so a host that died mid-write (power
/// lost, kernel panic, `kill -9` of the whole machine) keeps the half-written
/// temp file, and a rerun would otherwise leave it there for good. Only our
/// own names for this target match (the 12 hex digits of
/// [`unique_suffix`]), and the host's run lock means no other write of ours
/// is in flight; `rm` removes a planted symlink itself, never its target.
/// The shell's own glob and tests find them, so `rm` runs only when there
/// is one: a write in a clean folder (nearly all) starts one program less.
fn sweep(prefix: &str) -> String {
    format!(
        "for f in {}{}; do [ -e \"$f\" ] || [ -h \"$f\" ] || continue; rm -f -- \"$f\" 2>/dev/null || :; done\n",
        quote(prefix),
        "[0-9a-f]".repeat(12)
    )
}

/// The compare half of the compare-and-swap: exits with [`CHANGED_RC`]
/// unless the target is still what the write expects. It runs last before
/// the rename, after the (possibly slow) validator, so the window left is
/// that of two commands, not the play's.
fn compare(expect: &Expected) -> String {
    let same = match expect {
        Expected::Missing => "! [ -e \"$t\" ] && ! [ -h \"$t\" ]".to_string(),
        Expected::Sha256(h) => format!(
            "[ -f \"$t\" ] && ! [ -h \"$t\" ] && h=$(sha256sum < \"$t\") && [ \"${{h%% *}}\" = {} ]",
            quote(h)
        ),
    };
    format!(
        "{{ {same}; }} || {{ printf '%s\\n' \"$t changed on the host since it was probed\" >&2; exit {CHANGED_RC}; }}\n"
    )
}
