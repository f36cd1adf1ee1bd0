//! Steps of a batch that the host does together: a first run makes many
//! directories and a play's `line` edits write one file several times, and
//! each program the host starts costs it a millisecond or more of CPU
//! (README, Performance). A merged step does exactly what its steps would
//! have done one by one, and a failure still names the step, hence the op,
//! that failed.

use std::borrow::Cow;

use crate::digest::sha256_hex;
use crate::op::{Action, Expected, NewDirectory, WriteFile};
use crate::shell::quote;

/// What one step of a batch's script does.
#[derive(Debug)]
pub(super) enum Merged<'a> {
    /// One action, or a write standing for several ([`merged`]).
    One(Cow<'a, Action>),
    /// Consecutive new directories with one mode: one `mkdir`.
    Directories(Vec<&'a NewDirectory>),
}

/// The first of `steps`, merged with the ones right after it that one
/// program can do with it, and how many it absorbed:
///
/// - writes that each replace exactly what the one before wrote (several
///   `line` edits of one file, each planned from the text the one before
///   leaves) become one write of the last content, expecting what the first
///   expected: the same file, attributes and compare-and-swap, without the
///   states in between, which nothing could read. A write with a validator
///   is never merged: each of its contents must pass it;
/// - new directories with the same mode become one `mkdir`
///   ([`directories_script`]).
pub(super) fn merged(steps: &[Action]) -> (Merged<'_>, usize) {
    let one = (Merged::One(Cow::Borrowed(&steps[0])), 0);
    match &steps[0] {
        Action::Write(first) => {
            let mut last = first;
            let mut absorbed = 0;
            for next in &steps[1..] {
                match next {
                    Action::Write(w) if replaces_exactly(last, w) => last = w,
                    _ => break,
                }
                absorbed += 1;
            }
            if absorbed == 0 {
                return one;
            }
            let mut write = last.clone();
            write.expect = first.expect.clone();
            (Merged::One(Cow::Owned(Action::Write(write))), absorbed)
        }
        Action::Mkdir(first) => {
            let dirs: Vec<&NewDirectory> = steps
                .iter()
                .map_while(|s| match s {
                    Action::Mkdir(d) if d.mode == first.mode => Some(d),
                    _ => None,
                })
                .collect();
            match dirs.len() {
                1 => one,
                n => (Merged::Directories(dirs), n - 1),
            }
        }
        Action::Exec { .. } => one,
    }
}

/// Whether `next` overwrites, with the same attributes and no validator,
/// exactly the file `prev` leaves.
fn replaces_exactly(prev: &WriteFile, next: &WriteFile) -> bool {
    next.path == prev.path
        && prev.validate.is_none()
        && next.validate.is_none()
        && (&next.owner, &next.group, next.mode) == (&prev.owner, &prev.group, prev.mode)
        && next.expect == Some(Expected::Sha256(sha256_hex(&prev.content)))
}

/// The body of the step that makes `dirs`, steps `first` on, as
/// [`NewDirectory::script`] makes each: their missing parents first (all
/// of them, with one `mkdir -p`), then, with one `mkdir -m`, every
/// directory up to the first that something is at by then, which fails its
/// own step as `mkdir` would have. When `mkdir` itself fails, the step is
/// that of the first directory it did not make (the last one's when each is
/// a directory by then: another made one in between). The script prints
/// the failing step's `marker` itself.
pub(super) fn directories_script(first: usize, dirs: &[&NewDirectory], marker: &str) -> String {
    let mut s = String::from("set --\n");
    for parent in missing_parents(dirs) {
        let parent = quote(parent);
        s.push_str(&format!("[ -d {parent} ] || set -- \"$@\" {parent}\n"));
    }
    s.push_str("[ $# = 0 ] || mkdir -p -- \"$@\" || exit 1\nset --\nfor d in");
    for d in dirs {
        s.push(' ');
        s.push_str(&quote(&d.path));
    }
    s.push_str(&format!(
        "; do\n\
         if [ -e \"$d\" ] || [ -h \"$d\" ]; then break; fi\n\
         set -- \"$@\" \"$d\"\n\
         done\n\
         if [ $# != 0 ] && ! e=$(mkdir {mode}-- \"$@\" 2>&1); then\n\
         k=0; for d; do [ -d \"$d\" ] || break; k=$((k + 1)); done\n\
         [ $k -lt $# ] || k=$(($# - 1))\n\
         printf '{marker}\\n%s\\n' $(({first} + k)) \"$e\" >&2; exit 1\n\
         fi\n\
         [ $# = {n} ] || {{ printf '{marker}\\n' $(({first} + $#)) >&2; \
         printf \"mkdir: cannot create directory '%s': File exists\\n\" \"$d\" >&2; exit 1; }}\n",
        mode = dirs[0].mode_flag(),
        n = dirs.len(),
    ));
    s
}

/// The parents `dirs` need, in order, without those that are themselves
/// among the directories before: `mkdir` makes its arguments in order.
fn missing_parents<'a>(dirs: &[&'a NewDirectory]) -> Vec<&'a str> {
    let mut parents: Vec<&str> = Vec::new();
    for (i, d) in dirs.iter().enumerate() {
        let parent = d.parent();
        if !parents.contains(&parent) && !dirs[..i].iter().any(|e| e.path == parent) {
            parents.push(parent);
        }
    }
    parents
}
