//! Regular expressions as Ansible's Python `re` has them: `regex_replace`,
//! `regex_search`, `regex_findall`, `regex_escape`, and the compiling the `match`, `search`
//! and `regex` tests share. Rust's `regex` crate reads Python's syntax,
//! `(?P<name>...)` included, except lookarounds (`(?=`, `(?!`, `(?<=`,
//! `(?<!`) and backreferences (`\1` in a pattern), which it refuses with a
//! message saying so. In a replacement, Python's `\1` and `\g<name>` are
//! turned into the crate's `${1}` and `${name}`.

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};
use regex::{Regex, RegexBuilder};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("regex_replace", regex_replace);
    env.add_filter("regex_search", regex_search);
    env.add_filter("regex_findall", regex_findall);
    env.add_filter("regex_escape", |s: &str| regex::escape(s));
}

/// `pattern` compiled with the `ignorecase` and `multiline` flags of `kwargs`.
pub(super) fn compile(pattern: &str, kwargs: &Kwargs, what: &str) -> Result<Regex, Error> {
    let ignorecase = kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false);
    let multiline = kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false);
    RegexBuilder::new(pattern)
        .case_insensitive(ignorecase)
        .multi_line(multiline)
        .build()
        .map_err(|e| {
            let hint = if ["(?=", "(?!", "(?<=", "(?<!"].iter().any(|l| pattern.contains(l)) {
                " (lookarounds are Python-only: kbz-play's regex has none; match more and pick a group)"
            } else {
                ""
            };
            invalid(format!("{what}: {pattern:?} is not a valid regex{hint}: {e}"))
        })
}

/// Python's replacement syntax (`\1`, `\g<1>`, `\g<name>`) as the crate's.
fn replacement(python: &str) -> String {
    let mut out = String::new();
    let mut chars = python.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek().copied()) {
            ('$', _) => out.push_str("$$"),
            ('\\', Some(d)) if d.is_ascii_digit() => {
                let mut n = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    n.push(d);
                    chars.next();
                }
                out.push_str(&format!("${{{n}}}"));
            }
            ('\\', Some('g')) => {
                chars.next();
                let name: String = chars.by_ref().skip(1).take_while(|&c| c != '>').collect();
                out.push_str(&format!("${{{name}}}"));
            }
            ('\\', Some('n')) => {
                chars.next();
                out.push('\n');
            }
            ('\\', Some('\\')) => {
                chars.next();
                out.push('\\');
            }
            _ => out.push(c),
        }
    }
    out
}

/// `s | regex_replace(pattern, replacement, ignorecase=.., multiline=.., count=0)`.
fn regex_replace(
    s: &str,
    pattern: &str,
    with: Option<&str>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let re = compile(pattern, &kwargs, "regex_replace")?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    Ok(re
        .replacen(s, count, replacement(with.unwrap_or("")))
        .into_owned())
}

/// `s | regex_search(pattern)`: the first match, or none.
fn regex_search(s: &str, pattern: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let re = compile(pattern, &kwargs, "regex_search")?;
    kwargs.assert_all_used()?;
    Ok(re
        .find(s)
        .map_or(Value::from(()), |m| Value::from(m.as_str())))
}

/// `s | regex_findall(pattern)`: every match, as Python's `re.findall`
/// gives them: the whole match without groups, the group with one, a list
/// of the groups with more (a group that took no part gives `''`).
fn regex_findall(s: &str, pattern: &str, kwargs: Kwargs) -> Result<Value, Error> {
    let re = compile(pattern, &kwargs, "regex_findall")?;
    kwargs.assert_all_used()?;
    let group = |c: &regex::Captures, i: usize| Value::from(c.get(i).map_or("", |m| m.as_str()));
    let found = re.captures_iter(s).map(|c| match c.len() {
        1 => group(&c, 0),
        2 => group(&c, 1),
        n => Value::from((1..n).map(|i| group(&c, i)).collect::<Vec<_>>()),
    });
    Ok(Value::from(found.collect::<Vec<_>>()))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn python_replacements_become_the_crates() {
        assert_eq!(replacement(r"\1-\g<name>-$x"), "${1}-${name}-$$x");
    }

    #[test]
    fn findall_gives_what_python_gives_per_group_count() {
        let none = || Kwargs::from_iter(Vec::<(&str, Value)>::new());
        let all = |p| regex_findall("k=v x=", p, none()).unwrap().to_string();
        assert_eq!(all(r"\w="), "['k=', 'x=']");
        assert_eq!(all(r"(\w)="), "['k', 'x']");
        assert_eq!(all(r"(\w)=(\w)?"), "[['k', 'v'], ['x', '']]");
    }

    #[test]
    fn a_lookaround_is_refused_with_the_reason() {
        let kwargs = Kwargs::from_iter(Vec::<(&str, Value)>::new());
        let err = compile("a(?=b)", &kwargs, "regex_search")
            .unwrap_err()
            .to_string();
        assert!(err.contains("lookarounds are Python-only"), "{err}");
    }
}
