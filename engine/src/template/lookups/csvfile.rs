//! `csvfile`: the value in column `col` of the first row whose column
//! `keycol` is the key, in a file of tab-separated values by default
//! (`delimiter=,` for CSV; `TAB` or `\t` name the tab), read as Python's
//! `csv` module reads it (excel dialect: `"` quotes a field, `""` inside
//! one is a quote).

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, State};

use super::call::Call;
use super::inline::{self, Term};
use super::{invalid, search};

const OPTIONS: &[&str] = &["col", "keycol", "default", "delimiter", "file", "encoding"];

/// Each term's value, or `default=` (nothing when not given).
pub(super) fn lookup(state: &State, call: &Call) -> Result<Vec<Value>, Error> {
    let mut found = Vec::new();
    for term in inline::terms(call, "csvfile", OPTIONS)? {
        if term.key.is_empty() {
            return Err(invalid("lookup csvfile: a search key is required"));
        }
        let path = search::find(state, "files", term.get("file", "ansible.csv"))?;
        let text = search::read_text(&path, term.get("encoding", "utf-8"))?;
        let delimiter = match term.get("delimiter", "TAB") {
            "TAB" | "\\t" | "\t" => '\t',
            other => single(other)?,
        };
        let keycol = column(&term, "keycol", 0)?;
        let row = rows(&text, delimiter)
            .into_iter()
            .find(|row| row.get(keycol) == Some(&term.key));
        match row {
            Some(row) => found.push(Value::from(cell(&row, &term)?)),
            None => found.extend(default(&term)),
        }
    }
    Ok(found)
}

/// `default=` when no row matches, a list's items each a value (Ansible
/// extends its results with a list); nothing when not given.
fn default(term: &Term) -> Vec<Value> {
    match term.value("default") {
        Some(list) if list.kind() == ValueKind::Seq => {
            list.try_iter().into_iter().flatten().collect()
        }
        other => other.into_iter().collect(),
    }
}

fn single(delimiter: &str) -> Result<char, Error> {
    let mut chars = delimiter.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => Err(invalid(format!(
            "lookup csvfile: delimiter {delimiter:?} must be one character"
        ))),
    }
}

/// Option `name` as a column number.
fn column(term: &Term, name: &str, default: i64) -> Result<usize, Error> {
    let n = term.int(name)?.unwrap_or(default);
    usize::try_from(n).map_err(|_| invalid(format!("lookup csvfile: {name}={n} is no column")))
}

/// Column `col` of the row found (an error past its end, as Python's).
fn cell(row: &[String], term: &Term) -> Result<String, Error> {
    let col = column(term, "col", 1)?;
    row.get(col).cloned().ok_or_else(|| {
        invalid(format!(
            "lookup csvfile: the row of {:?} has no column {col}",
            term.key
        ))
    })
}

/// The rows of `text`; a quoted field may hold the delimiter, line breaks
/// and doubled quotes. Empty lines give no row.
fn rows(text: &str, delimiter: char) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let (mut row, mut field) = (Vec::new(), String::new());
    let (mut quoted, mut in_field) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' if quoted => quoted = false,
            '"' if !in_field => (quoted, in_field) = (true, true),
            c if quoted => field.push(c),
            c if c == delimiter => {
                row.push(std::mem::take(&mut field));
                in_field = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\r' => {
                if in_field || !row.is_empty() {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                in_field = false;
            }
            c => {
                field.push(c);
                in_field = true;
            }
        }
    }
    if in_field || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::rows;

    #[test]
    fn quoted_fields_hold_delimiters_quotes_and_line_breaks() {
        let text = "a,\"b, c\",\"say \"\"hi\"\"\"\n\n\"multi\nline\",x\r\ny,\n";
        assert_eq!(
            rows(text, ','),
            [
                vec!["a", "b, c", "say \"hi\""],
                vec!["multi\nline", "x"],
                vec!["y", ""]
            ]
        );
    }
}
