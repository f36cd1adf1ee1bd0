//! `servers.tsv`: the operators' spreadsheet export.
//!
//! One header row, then one host per line, tab-separated. Known columns
//! (case-insensitive): `hostname|host|name` (required), `ip_private|private_ip|ip`
//! (the SSH address unless `ansible_host` is set), `ip_public|public_ip`,
//! `groups|group|role` (comma-separated). Every other column becomes a host
//! var named after its lowercased header; empty cells set nothing. Values
//! stay strings, except `ansible_port` which becomes a number as in YAML.

use super::{
    check_connection_vars, port_value, InventoryError, RawInventory, Vars, PATTERN_METACHARS,
};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// What a header column means.
#[derive(Debug, Clone, PartialEq)]
enum Column {
    Hostname,
    IpPrivate,
    IpPublic,
    Groups,
    Var(String),
}

impl Column {
    fn from_header(header: &str) -> Column {
        match header {
            "hostname" | "host" | "name" => Column::Hostname,
            "ip_private" | "private_ip" | "ip" => Column::IpPrivate,
            "ip_public" | "public_ip" => Column::IpPublic,
            "groups" | "group" | "role" => Column::Groups,
            other => Column::Var(other.to_string()),
        }
    }

    /// Name used to detect two headers meaning the same thing.
    fn key(&self) -> &str {
        match self {
            Column::Hostname => "hostname",
            Column::IpPrivate => "ip_private",
            Column::IpPublic => "ip_public",
            Column::Groups => "groups",
            Column::Var(v) => v,
        }
    }
}

/// A cell: its trimmed text and the 1-based character column where that
/// text starts (where an editor cursor should land).
struct Cell<'a> {
    text: &'a str,
    col: usize,
}

/// Split a line on tabs, tracking character columns.
fn cells(line: &str) -> Vec<Cell<'_>> {
    let mut out = Vec::new();
    let mut col = 1;
    for raw in line.split('\t') {
        let lead = raw.chars().take_while(|c| c.is_whitespace()).count();
        out.push(Cell {
            text: raw.trim(),
            col: col + lead,
        });
        col += raw.chars().count() + 1;
    }
    out
}

/// Parse a TSV inventory.
pub(crate) fn parse(file: &Path, text: &str) -> Result<RawInventory, InventoryError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut raw = RawInventory::new(file);
    let mut columns: Option<Vec<Column>> = None;
    let mut first_seen: HashMap<String, usize> = HashMap::new();

    for (idx, line) in text.split('\n').enumerate() {
        let lineno = idx + 1;
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let row = cells(line);
        let Some(cols) = &columns else {
            columns = Some(parse_header(file, lineno, line, &row)?);
            continue;
        };

        if row.len() != cols.len() {
            let hint = if row.len() == 1 && line.contains(' ') {
                "; columns must be separated by tabs, not spaces"
            } else if row.len() > cols.len() {
                "; remove the extra tab(s) or add a header for the extra column"
            } else {
                "; add the missing cells (an empty cell between two tabs is fine)"
            };
            let col = if row.len() > cols.len() {
                row[cols.len()].col
            } else {
                line.chars().count() + 1
            };
            return Err(InventoryError::tsv(
                file,
                lineno,
                col,
                format!(
                    "this row has {} cells but the header has {} columns{hint}",
                    row.len(),
                    cols.len()
                ),
            ));
        }

        let host_col = cols
            .iter()
            .position(|c| *c == Column::Hostname)
            .expect("checked");
        let name_cell = &row[host_col];
        if name_cell.text.is_empty() {
            return Err(InventoryError::tsv(
                file,
                lineno,
                name_cell.col,
                "hostname is empty; every row needs a host name",
            ));
        }
        if let Some(bad) = name_cell.text.chars().find(|c| c.is_whitespace()) {
            return Err(InventoryError::tsv(
                file,
                lineno,
                name_cell.col,
                format!(
                    "host name '{}' contains whitespace ({bad:?}); host names are single words",
                    name_cell.text
                ),
            ));
        }
        let name = name_cell.text.to_string();
        if let Some(first) = first_seen.get(&name) {
            return Err(InventoryError::tsv(
                file,
                lineno,
                name_cell.col,
                format!(
                    "duplicate host '{name}' (first defined on line {first}); list a host once \
                     and put all its groups, comma-separated, in the groups column"
                ),
            ));
        }
        first_seen.insert(name.clone(), lineno);

        let mut vars = Vars::new();
        let mut groups: Vec<String> = Vec::new();
        let mut address_hint = None;
        for (cell, column) in row.iter().zip(cols) {
            if cell.text.is_empty() {
                continue;
            }
            match column {
                Column::Hostname => {}
                Column::IpPrivate => {
                    address_hint = Some(cell.text.to_string());
                    vars.insert("ip_private".into(), Value::String(cell.text.into()));
                }
                Column::IpPublic => {
                    vars.insert("ip_public".into(), Value::String(cell.text.into()));
                }
                Column::Groups => {
                    groups = parse_groups(file, lineno, cell, &mut raw.warnings)?;
                }
                Column::Var(key) => {
                    let value = Value::String(cell.text.to_string());
                    let mut one = Vars::new();
                    one.insert(key.clone(), value);
                    if let Err((_, message)) = check_connection_vars(&one) {
                        return Err(InventoryError::tsv(file, lineno, cell.col, message));
                    }
                    let mut value = one.remove(key).expect("just inserted");
                    if key == "ansible_port" || key == "ansible_ssh_port" {
                        value = Value::from(port_value(&value).expect("validated"));
                    }
                    vars.insert(key.clone(), value);
                }
            }
        }

        let (host, _) = raw.host(&name);
        host.vars = vars;
        host.address_hint = address_hint;
        for g in &groups {
            raw.add_host_to_group(&name, g);
        }
    }

    if columns.is_none() {
        return Err(InventoryError::tsv(
            file,
            1,
            1,
            "no header row; the first non-comment line must name the tab-separated columns, \
             at least 'hostname'",
        ));
    }
    Ok(raw)
}

fn parse_header(
    file: &Path,
    lineno: usize,
    line: &str,
    row: &[Cell<'_>],
) -> Result<Vec<Column>, InventoryError> {
    let mut cols: Vec<Column> = Vec::with_capacity(row.len());
    let mut seen: HashMap<String, (usize, String)> = HashMap::new();
    for cell in row {
        if cell.text.is_empty() {
            return Err(InventoryError::tsv(
                file,
                lineno,
                cell.col,
                "empty column header; name every column (or delete the stray tab)",
            ));
        }
        let header = cell.text.to_lowercase();
        let column = Column::from_header(&header);
        if let Some((col, original)) = seen.get(column.key()) {
            return Err(InventoryError::tsv(
                file,
                lineno,
                cell.col,
                format!(
                    "column '{}' duplicates column '{original}' (column {col}); keep only one",
                    cell.text
                ),
            ));
        }
        seen.insert(column.key().to_string(), (cell.col, cell.text.to_string()));
        cols.push(column);
    }
    if !cols.contains(&Column::Hostname) {
        let hint = if row.len() == 1 && line.contains(' ') {
            "; columns must be separated by tabs, not spaces"
        } else {
            "; the first non-comment line is the header"
        };
        return Err(InventoryError::tsv(
            file,
            lineno,
            1,
            format!("header has no hostname column (name one 'hostname', 'host' or 'name'){hint}"),
        ));
    }
    Ok(cols)
}

/// Split a groups cell on commas, reporting the column of a bad name.
fn parse_groups(
    file: &Path,
    lineno: usize,
    cell: &Cell<'_>,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, InventoryError> {
    let mut out: Vec<String> = Vec::new();
    let mut offset = 0; // chars into cell.text
    for part in cell.text.split(',') {
        let lead = part.chars().take_while(|c| c.is_whitespace()).count();
        let name = part.trim();
        let col = cell.col + offset + lead;
        offset += part.chars().count() + 1;
        if name.is_empty() || name == "all" {
            continue;
        }
        if name.chars().any(char::is_whitespace) {
            return Err(InventoryError::tsv(
                file,
                lineno,
                col,
                format!("group name '{name}' contains whitespace; separate groups with commas"),
            ));
        }
        if name.contains(PATTERN_METACHARS) {
            warnings.push(format!(
                "{}:{lineno}:{col}: group name '{name}' contains one of {} and cannot be \
                 selected by a host pattern",
                file.display(),
                PATTERN_METACHARS.iter().collect::<String>()
            ));
        }
        if !out.iter().any(|g| g == name) {
            out.push(name.to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_columns_count_characters_not_bytes() {
        let row = cells("héllo\t  ünï\t\tz");
        let cols: Vec<(usize, &str)> = row.iter().map(|c| (c.col, c.text)).collect();
        assert_eq!(cols, [(1, "héllo"), (9, "ünï"), (13, ""), (14, "z")]);
    }

    #[test]
    fn error_column_is_a_character_column() {
        let err = parse(
            Path::new("s.tsv"),
            "hostname\tdc\tansible_port\nhôte-é\tzürich\tnope\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("s.tsv:2:15: ansible_port"), "{err}");
    }

    #[test]
    fn groups_are_deduplicated_and_all_is_implicit() {
        let raw = parse(Path::new("s.tsv"), "name\tgroup\nh\tweb, all,web,,db\n").unwrap();
        assert_eq!(raw.hosts[0].groups, ["web", "db"]);
    }
}
