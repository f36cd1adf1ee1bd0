//! Compiled regexes shared by every host of a run.
//!
//! An op's pattern is usually the same on every host (the `line` ops of a
//! role), and each host planning it compiled its own: at 250 hosts, a
//! thousand compilations of the bench's four patterns, each copy with its
//! own search caches, all held until the hosts' changes were applied (a
//! seventh of the first run's peak heap, issue 13). A compiled [`Regex`] is
//! cheap to clone and safe to share between threads, so one compilation per
//! pattern serves them all.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use regex::Regex;

/// Patterns kept; past it the table starts over, so a script that makes a
/// pattern per host from data cannot grow it without bound.
const KEPT: usize = 1024;

static RUN: LazyLock<Table> = LazyLock::new(Table::default);

/// `pattern` compiled, once per run whatever the number of hosts asking.
pub(crate) fn compiled(pattern: &str) -> Result<Regex, regex::Error> {
    RUN.compiled(pattern)
}

/// The patterns compiled so far, and how many compilations that took.
#[derive(Default)]
struct Table {
    kept: Mutex<(HashMap<String, Regex>, usize)>,
}

impl Table {
    fn compiled(&self, pattern: &str) -> Result<Regex, regex::Error> {
        let table = || self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(re) = table().0.get(pattern) {
            return Ok(re.clone());
        }
        let re = Regex::new(pattern)?;
        let (kept, compilations) = &mut *table();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(pattern.to_string(), re.clone());
        *compilations += 1;
        Ok(re)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Table {
        fn compilations(&self) -> usize {
            self.kept.lock().unwrap().1
        }
    }

    #[test]
    fn a_pattern_is_compiled_once_and_a_bad_one_is_an_error() {
        let table = Table::default();
        let first = table.compiled(r"^#?\s*X11Forwarding\s").unwrap();
        let again = table.compiled(r"^#?\s*X11Forwarding\s").unwrap();
        table.compiled(r"^#?\s*MaxAuthTries\s").unwrap();
        assert_eq!(table.compilations(), 2);
        assert!(again.is_match("#X11Forwarding yes"));
        assert_eq!(first.as_str(), again.as_str());
        assert!(table.compiled("(unclosed").is_err());
    }

    #[test]
    fn the_table_starts_over_when_full() {
        let table = Table::default();
        for i in 0..=KEPT {
            table.compiled(&format!("^p{i}$")).unwrap();
        }
        assert_eq!(table.kept.lock().unwrap().0.len(), 1);
        table.compiled("^p0$").unwrap();
        assert_eq!(table.compilations(), KEPT + 2);
    }
}
