//! Ansible host patterns, as used by `hosts:` in plays and `--limit`.
//!
//! Terms are separated by `,` or `:` (colons inside `[...]` do not split).
//! Each term is one of:
//!
//! * `all` or `*` — every host;
//! * a group name (its hosts and its child groups' hosts) or a host name;
//! * a glob (`web*`, `db-slave-0[12]`) matched against group and host names;
//! * `~regex`, matched (anchored at the start, like Ansible) against group
//!   and host names;
//! * `group[i]`, `group[i:j]`, `group[i:]` — Ansible subscripts (0-based,
//!   inclusive, negative counts from the end) when `group` is a group;
//! * `ungrouped` — hosts in no group but `all`, unless a group has that name.
//!
//! Prefix `&` intersects, `!` excludes. As in Ansible, all plain terms are
//! united first, then intersections apply, then exclusions, whatever their
//! order in the pattern; a pattern with only `&`/`!` terms starts from `all`.

use super::{Inventory, InventoryError};
use globset::GlobBuilder;
use regex::Regex;
use std::sync::OnceLock;

/// Split a pattern into terms on `,` and `:` outside brackets.
fn split_terms(pattern: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in pattern.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            ',' | ':' if depth == 0 => {
                terms.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    terms.push(&pattern[start..]);
    terms
        .into_iter()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect()
}

/// Indexes of the hosts matching `pattern`, in inventory order.
pub(crate) fn select(inv: &Inventory, pattern: &str) -> Result<Vec<usize>, InventoryError> {
    select_with(inv, pattern, None)
}

/// [`select`], except that a term naming no known host or group matches
/// nothing and is reported in `unknown` instead of failing the whole pattern.
pub(crate) fn select_lenient(
    inv: &Inventory,
    pattern: &str,
    unknown: &mut Vec<InventoryError>,
) -> Result<Vec<usize>, InventoryError> {
    select_with(inv, pattern, Some(unknown))
}

fn select_with(
    inv: &Inventory,
    pattern: &str,
    mut unknown: Option<&mut Vec<InventoryError>>,
) -> Result<Vec<usize>, InventoryError> {
    let terms = split_terms(pattern);
    if terms.is_empty() {
        return Err(InventoryError::InvalidPattern {
            pattern: pattern.to_string(),
            message: "the pattern is empty; use 'all' to target every host".to_string(),
        });
    }
    let mut unions: Vec<Vec<bool>> = Vec::new();
    let mut intersections: Vec<Vec<bool>> = Vec::new();
    let mut exclusions: Vec<Vec<bool>> = Vec::new();
    for term in terms {
        let (bucket, body, op) = if let Some(rest) = term.strip_prefix('!') {
            (&mut exclusions, rest.trim_start(), "!")
        } else if let Some(rest) = term.strip_prefix('&') {
            (&mut intersections, rest.trim_start(), "&")
        } else {
            (&mut unions, term, "")
        };
        if body.is_empty() {
            return Err(InventoryError::InvalidPattern {
                pattern: pattern.to_string(),
                message: format!("'{op}' must be followed by a host or group, e.g. '{op}web'"),
            });
        }
        let mask = match (resolve(inv, body), unknown.as_deref_mut()) {
            (Err(e @ InventoryError::UnknownPattern { .. }), Some(unknown)) => {
                unknown.push(e);
                vec![false; inv.hosts.len()]
            }
            (mask, _) => mask?,
        };
        bucket.push(mask);
    }
    let n = inv.hosts.len();
    let mut set = if unions.is_empty() {
        vec![true; n]
    } else {
        let mut set = vec![false; n];
        for u in &unions {
            for (s, m) in set.iter_mut().zip(u) {
                *s |= *m;
            }
        }
        set
    };
    for i in &intersections {
        for (s, m) in set.iter_mut().zip(i) {
            *s &= *m;
        }
    }
    for e in &exclusions {
        for (s, m) in set.iter_mut().zip(e) {
            *s &= !*m;
        }
    }
    Ok((0..n).filter(|&i| set[i]).collect())
}

fn subscript_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^(.+)\[(-?[0-9]+)(?::(-?[0-9]*))?\]$").expect("valid regex"))
}

/// The hosts one term (without its `&`/`!` prefix) stands for, as a mask.
fn resolve(inv: &Inventory, term: &str) -> Result<Vec<bool>, InventoryError> {
    let n = inv.hosts.len();
    let mut mask = vec![false; n];
    if term == "all" || term == "*" {
        return Ok(vec![true; n]);
    }
    if let Some(&g) = inv.group_index.get(term) {
        for &h in &inv.groups[g].hosts {
            mask[h] = true;
        }
        return Ok(mask);
    }
    if let Some(&h) = inv.host_index.get(term) {
        mask[h] = true;
        return Ok(mask);
    }
    if term == "ungrouped" {
        for (i, h) in inv.hosts.iter().enumerate() {
            mask[i] = h.groups.len() == 1;
        }
        return Ok(mask);
    }
    if let Some(caps) = subscript_re().captures(term) {
        if let Some(&g) = inv.group_index.get(&caps[1]) {
            let members = &inv.groups[g].hosts;
            for h in subscript(term, members, &caps[2], caps.get(3).map(|m| m.as_str()))? {
                mask[h] = true;
            }
            return Ok(mask);
        }
    }

    let matcher: Box<dyn Fn(&str) -> bool> = if let Some(re) = term.strip_prefix('~') {
        let re = Regex::new(&format!("^(?:{re})")).map_err(|e| InventoryError::InvalidPattern {
            pattern: term.to_string(),
            message: format!("bad regular expression: {e}"),
        })?;
        Box::new(move |s| re.is_match(s))
    } else if term.contains(['*', '?', '[']) {
        let glob = GlobBuilder::new(term)
            .literal_separator(false)
            .build()
            .map_err(|e| InventoryError::InvalidPattern {
                pattern: term.to_string(),
                message: format!("bad glob: {}", e.kind()),
            })?
            .compile_matcher();
        Box::new(move |s| glob.is_match(s))
    } else {
        return Err(unknown(inv, term));
    };

    let mut any = false;
    for group in &inv.groups {
        if matcher(&group.name) {
            any = true;
            for &h in &group.hosts {
                mask[h] = true;
            }
        }
    }
    for (i, host) in inv.hosts.iter().enumerate() {
        if matcher(&host.name) {
            any = true;
            mask[i] = true;
        }
    }
    if !any {
        return Err(unknown(inv, term));
    }
    Ok(mask)
}

/// Ansible's `group[i]` / `group[i:j]` / `group[i:]`: inclusive, 0-based,
/// negative indexes from the end.
fn subscript(
    term: &str,
    members: &[usize],
    start: &str,
    end: Option<&str>,
) -> Result<Vec<usize>, InventoryError> {
    let len = members.len() as i64;
    let norm = |s: &str| -> i64 {
        let i: i64 = s.parse().unwrap_or(i64::MAX);
        if i < 0 {
            len + i
        } else {
            i
        }
    };
    let first = norm(start);
    let last = match end {
        None => {
            if !(0..len).contains(&first) {
                return Err(InventoryError::InvalidPattern {
                    pattern: term.to_string(),
                    message: format!(
                        "index {start} is out of range: the group has {len} host(s), \
                         numbered 0 to {}",
                        len - 1
                    ),
                });
            }
            first
        }
        Some("") => len - 1,
        Some(e) => norm(e).min(len - 1),
    };
    let first = first.max(0);
    if first > last {
        return Ok(Vec::new());
    }
    Ok(members[first as usize..=last as usize].to_vec())
}

/// The "no such host or group" error, with the closest known name.
fn unknown(inv: &Inventory, term: &str) -> InventoryError {
    let bare = term.trim_start_matches('~');
    let suggestion = inv
        .groups
        .iter()
        .map(|g| g.name.as_str())
        .chain(inv.hosts.iter().map(|h| h.name.as_str()))
        .map(|cand| {
            let score = if cand.eq_ignore_ascii_case(bare) {
                1.0
            } else {
                strsim::jaro_winkler(bare, cand)
            };
            (score, cand)
        })
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, cand)| cand.to_string());
    InventoryError::UnknownPattern {
        term: term.to_string(),
        suggestion,
        groups: inv
            .groups
            .iter()
            .filter(|g| g.name != "all")
            .map(|g| g.name.clone())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::split_terms;

    #[test]
    fn terms_split_on_commas_and_colons_outside_brackets() {
        assert_eq!(split_terms("a:b,c"), ["a", "b", "c"]);
        assert_eq!(split_terms(" web , !db : &x "), ["web", "!db", "&x"]);
        assert_eq!(split_terms("web[0:2]:db"), ["web[0:2]", "db"]);
        assert_eq!(split_terms("a,,b:"), ["a", "b"]);
        assert!(split_terms(" ").is_empty());
    }
}
