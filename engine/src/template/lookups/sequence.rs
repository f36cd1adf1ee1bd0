//! `sequence`: numbers as strings, from `start=`, `end=` (or `count=`),
//! `stride=` and a printf `format=`, or the shortcut
//! `[start-]end[/stride][:format]` (`4:host%02d`), as Ansible's lookup
//! gives them. Numbers are decimal, as Ansible's integer options read them.

use std::sync::LazyLock;

use minijinja::value::Value;
use minijinja::Error;
use regex::Regex;

use super::call::Call;
use super::inline::{self, Term};
use super::{invalid, printf};

const OPTIONS: &[&str] = &["start", "end", "count", "stride", "format"];

/// Every term's numbers, formatted; keywords alone make one term.
pub(super) fn lookup(call: &Call) -> Result<Vec<Value>, Error> {
    let texts = if call.terms.is_empty() && call.has_options() {
        vec![String::new()]
    } else {
        call.strings()?
    };
    let mut found = Vec::new();
    for text in texts {
        let mut term = inline::term(call, "", "sequence", OPTIONS)?;
        if !shortcut(&text, &mut term) {
            term = inline::term(call, &text, "sequence", OPTIONS)?;
            if !term.key.is_empty() {
                return Err(invalid(format!(
                    "lookup sequence: {text:?} is neither [start-]end[/stride][:format] nor \
                     start=, end=, count=, stride=, format="
                )));
            }
        }
        let numbers = numbers(&term).map_err(|e| invalid(format!("lookup sequence: {e}")))?;
        found.extend(numbers.into_iter().map(Value::from));
    }
    Ok(found)
}

/// Sets the fields the shortcut form `text` gives; false if it is not one.
fn shortcut(text: &str, term: &mut Term) -> bool {
    static SHORTCUT: LazyLock<Regex> = LazyLock::new(|| {
        let num = "(0?x?[0-9a-f]+)";
        Regex::new(&format!("(?i)^(?:{num}-)?{num}(?:/{num})?(?::(.+))?$")).expect("a valid regex")
    });
    let Some(caps) = SHORTCUT.captures(text) else {
        return false;
    };
    for (i, name) in ["start", "end", "stride", "format"].iter().enumerate() {
        if let Some(m) = caps.get(i + 1) {
            term.set(name, m.as_str());
        }
    }
    true
}

/// The numbers the options describe, formatted: `count` counts from
/// `start`; a negative stride counts down; a zero stride or count gives none.
fn numbers(term: &Term) -> Result<Vec<String>, String> {
    let int = |name| term.int(name).map_err(|e| e.to_string());
    let start = int("start")?.unwrap_or(1);
    let stride = int("stride")?.unwrap_or(1);
    let end = match (int("count")?, int("end")?) {
        (None, None) => return Err("must specify count or end".into()),
        (Some(_), Some(_)) => return Err("can't specify both count and end".into()),
        (Some(0), None) => return Ok(Vec::new()),
        (Some(count), None) => start + count * stride - 1,
        (None, Some(end)) => end,
    };
    if stride > 0 && end < start {
        return Err("to count backwards make stride negative".into());
    }
    if stride < 0 && end > start {
        return Err("to count forward don't make stride negative".into());
    }
    if stride == 0 {
        return Ok(Vec::new());
    }
    let format = term.get("format", "%d");
    if format.matches('%').count() != 1 {
        return Err(format!("bad formatting string: {format}"));
    }
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(
            printf::int(format, i)
                .ok_or_else(|| format!("problem formatting {i} with {format:?}"))?,
        );
        i += stride;
    }
    Ok(out)
}
