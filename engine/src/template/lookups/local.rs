//! The lookups that read the control machine: `file`, `fileglob`,
//! `first_found` (found as Ansible finds them, see [`search`]), `pipe` and
//! `lines`, which run a command on the control machine, never on the host.

use std::collections::BTreeMap;

use minijinja::value::Value;
use minijinja::{Error, State};

use super::call::Call;
use super::{invalid, search};
use crate::template::glob;

/// `file`: each file's text, trailing whitespace stripped unless
/// `rstrip=False`, leading whitespace too with `lstrip=True`.
pub(super) fn file(state: &State, call: &Call) -> Result<Vec<Value>, Error> {
    let rstrip = call.flag_or("rstrip", true)?;
    let lstrip = call.flag("lstrip")?;
    call.strings()?
        .iter()
        .map(|name| {
            let (_, text) = search::find_and_read(state, "files", name, "file")?;
            let text = if rstrip { text.trim_end() } else { &text };
            let text = if lstrip { text.trim_start() } else { text };
            Ok(Value::from(text))
        })
        .collect()
}

/// `fileglob`: the files matching each pattern, in the first folder of the
/// search path where the pattern's own folder exists and anything matches.
pub(super) fn fileglob(state: &State, call: &Call) -> Result<Vec<Value>, Error> {
    let mut found = Vec::new();
    for term in call.strings()? {
        let pattern = glob::Pattern::new(&term)
            .map_err(|e| invalid(format!("lookup fileglob {term}: {e}")))?;
        let folders = match pattern.folder {
            Some(dir) => search::candidates(state, "files", dir),
            None => search::bases(state, "files"),
        };
        let first = folders
            .iter()
            .map(|f| pattern.files_in(f))
            .find(|m| !m.is_empty());
        found.extend(first.unwrap_or_default());
    }
    Ok(found
        .iter()
        .map(|p| Value::from(p.display().to_string()))
        .collect())
}

/// `first_found`: the first existing file of the terms (names, or mappings
/// of `files`, `paths` and `skip`), as an absolute path; with `skip`, none
/// found gives nothing instead of an error. In a template, Ansible searches
/// the template action's subfolder, `templates/` (not `files/` as `file` does).
pub(super) fn first_found(state: &State, call: &Call) -> Result<Vec<Value>, Error> {
    let mut skip = call.flag("skip")?;
    let mut names = Vec::new();
    let options = Value::from(BTreeMap::from([
        ("files", call.option("files").unwrap_or_default()),
        ("paths", call.option("paths").unwrap_or_default()),
    ]));
    for term in call.terms.iter().chain(std::iter::once(&options)) {
        skip |= term.get_attr("skip").is_ok_and(|v| v.is_true());
        names.extend(candidates_of(term)?);
    }
    for name in &names {
        let found = search::candidates(state, "templates", name)
            .into_iter()
            .find(|p| p.is_file());
        if let Some(path) = found {
            let path = std::path::absolute(&path).unwrap_or(path);
            return Ok(vec![Value::from(path.display().to_string())]);
        }
    }
    if skip {
        return Ok(Vec::new());
    }
    Err(invalid(format!(
        "lookup first_found: no file was found (tried {})",
        names.join(", ")
    )))
}

/// The file names one `first_found` term names: a string (split on `,` and
/// `;`, as Ansible does), a list of them, or a mapping whose `files` are
/// joined under each of its `paths`.
fn candidates_of(term: &Value) -> Result<Vec<String>, Error> {
    if let Some(s) = term.as_str() {
        return Ok(split(s));
    }
    if term.kind() == minijinja::value::ValueKind::Seq {
        let mut all = Vec::new();
        for item in term.try_iter()? {
            all.extend(candidates_of(&item)?);
        }
        return Ok(all);
    }
    let files = term
        .get_attr("files")
        .map_or(Ok(Vec::new()), |v| listed(&v))?;
    let paths = term
        .get_attr("paths")
        .map_or(Ok(Vec::new()), |v| listed(&v))?;
    if paths.is_empty() {
        return Ok(files);
    }
    Ok(paths
        .iter()
        .flat_map(|p| {
            files
                .iter()
                .map(move |f| format!("{}/{f}", p.trim_end_matches('/')))
        })
        .collect())
}

/// A `files`/`paths` value: a string split as a term, or a list of them.
fn listed(v: &Value) -> Result<Vec<String>, Error> {
    if v.is_undefined() || v.is_none() {
        return Ok(Vec::new());
    }
    candidates_of(v)
}

fn split(s: &str) -> Vec<String> {
    s.split([',', ';'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// `pipe`: each command's standard output, trailing whitespace stripped.
/// The command runs on the control machine (the one running kbz-play), in
/// the playbook's folder, as Ansible's `pipe` does.
pub(super) fn pipe(state: &State, call: &Call) -> Result<Vec<Value>, Error> {
    call.strings()?
        .iter()
        .map(|command| Ok(Value::from(output(state, "pipe", command)?.trim_end())))
        .collect()
}

/// `lines`: the lines of each command's standard output, run as `pipe` runs it.
pub(super) fn lines(state: &State, call: &Call) -> Result<Vec<Value>, Error> {
    let mut found = Vec::new();
    for command in call.strings()? {
        found.extend(split_lines(&output(state, "lines", &command)?).map(Value::from));
    }
    Ok(found)
}

/// The lines of `text` as Python's `bytes.splitlines()` gives them, which
/// Ansible's `lines` calls on the output's bytes: split at `\n`, `\r` and
/// `\r\n` only (not at the other breaks `str.splitlines()` knows, `\x0b`,
/// `\x85`, `\u2028`...), no empty line after a final break.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = rest.get(end + skip..).unwrap_or("");
        Some(line)
    })
}

/// The standard output of `command`, run by `sh` on the control machine in
/// the playbook's folder; an error when it fails.
fn output(state: &State, lookup: &str, command: &str) -> Result<String, Error> {
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(command)
        .current_dir(search::playbook_dir(state))
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| invalid(format!("lookup {lookup} {command:?}: {e}")))?;
    if !out.status.success() {
        return Err(invalid(format!(
            "lookup {lookup} {command:?} failed on the control machine ({})",
            out.status
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::split_lines;

    #[test]
    fn lines_split_as_pythons_bytes_splitlines() {
        let split = |t| split_lines(t).collect::<Vec<_>>();
        assert_eq!(
            split("a\nb\rc\r\nd\x0be\u{2028}f\n\ng\r"),
            ["a", "b", "c", "d\x0be\u{2028}f", "", "g"]
        );
        assert_eq!(split("x\r\r\ny"), ["x", "", "y"]);
        assert!(split("").is_empty());
    }
}
