//! PyYAML's YAML 1.1 implicit resolvers (`yaml/resolver.py`): the type a
//! plain scalar reads as (`yes` a boolean, `012` an octal integer, `1:30`
//! sexagesimal, `2024-01-01` a date), and SafeConstructor's reading of it.
//! The writer asks it which strings to quote ([`super::dump_with`]), the
//! reader which type a plain scalar is ([`super::load`]).

use regex::Regex;
use std::sync::LazyLock;

/// What a plain scalar resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Bool,
    Float,
    Int,
    /// `<<`, a merge key.
    Merge,
    Null,
    Timestamp,
    /// `=`, which SafeConstructor cannot construct.
    Value,
    Str,
}

/// The kind of the plain scalar `text` (a final line break allowed, as
/// Python's `$` allows it).
pub(crate) fn kind(text: &str) -> Kind {
    static RESOLVERS: LazyLock<Vec<(Kind, Regex)>> = LazyLock::new(|| {
        let re = |body: &str| Regex::new(&format!(r"^(?:{body})\n?$")).expect("a valid regex");
        vec![
            (
                Kind::Bool,
                re("yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF"),
            ),
            (
                Kind::Float,
                re(concat!(
                    r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
                    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
                )),
            ),
            (
                Kind::Int,
                re(concat!(
                    r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+",
                    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+"
                )),
            ),
            (Kind::Merge, re("<<")),
            (Kind::Null, re("~|null|Null|NULL|")),
            (
                Kind::Timestamp,
                re(concat!(
                    r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
                    r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?",
                    r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?"
                )),
            ),
            (Kind::Value, re("=")),
        ]
    });
    RESOLVERS
        .iter()
        .find(|(_, re)| re.is_match(text))
        .map_or(Kind::Str, |(kind, _)| *kind)
}

/// SafeConstructor's boolean.
pub(crate) fn boolean(text: &str) -> bool {
    matches!(text.to_lowercase().as_str(), "yes" | "true" | "on")
}

/// SafeConstructor's integer: `0b` binary, `0x` hex, a leading `0` octal,
/// `a:b:c` sexagesimal, `_` ignored; `None` past 128 bits.
pub(crate) fn int(text: &str) -> Option<i128> {
    let clean = text.replace('_', "");
    let (sign, digits) = signed(&clean);
    let value = if digits == "0" {
        0
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i128::from_str_radix(bin, 2).ok()?
    } else if let Some(hex) = digits.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).ok()?
    } else if let Some(oct) = digits.strip_prefix('0') {
        i128::from_str_radix(oct, 8).ok()?
    } else if digits.contains(':') {
        digits.split(':').try_fold(0i128, |acc, part| {
            acc.checked_mul(60)?.checked_add(part.parse::<i128>().ok()?)
        })?
    } else {
        digits.parse().ok()?
    };
    Some(sign as i128 * value)
}

/// SafeConstructor's float: `.inf`, `.nan`, sexagesimal `a:b.c`, `_` ignored.
pub(crate) fn float(text: &str) -> f64 {
    let clean = text.replace('_', "").to_lowercase();
    let (sign, digits) = signed(&clean);
    let value = match digits {
        ".inf" => f64::INFINITY,
        ".nan" => return f64::NAN,
        d if d.contains(':') => d.split(':').fold(0.0, |acc, part| {
            acc * 60.0 + part.parse::<f64>().unwrap_or(0.0)
        }),
        d => d.parse().unwrap_or(f64::NAN),
    };
    f64::from(sign) * value
}

fn signed(text: &str) -> (i8, &str) {
    match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    }
}

/// A timestamp as Python prints the `date` or `datetime` SafeConstructor
/// makes of it (`2001-12-14 21:59:43.100000-05:00`); `None` for a day
/// or time that does not exist.
pub(crate) fn timestamp(text: &str) -> Option<String> {
    static PARTS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(concat!(
            r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})",
            r"(?:(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?",
            r"(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)?\n?$"
        ))
        .expect("a valid regex")
    });
    let c = PARTS.captures(text)?;
    let n = |i: usize| {
        c.get(i)
            .map_or(0, |m| m.as_str().parse::<u32>().unwrap_or(0))
    };
    let (year, month, day) = (n(1), n(2), n(3));
    if !(1..=12).contains(&month) || day == 0 || day > days_in(year, month) {
        return None;
    }
    let date = format!("{year:04}-{month:02}-{day:02}");
    if c.get(4).is_none() {
        return Some(date);
    }
    let (hour, minute, second) = (n(4), n(5), n(6));
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut out = format!("{date} {hour:02}:{minute:02}:{second:02}");
    let fraction = c.get(7).map_or("", |m| m.as_str());
    let micros: String = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect();
    if micros != "000000" {
        out.push('.');
        out.push_str(&micros);
    }
    match (c.get(8).map(|m| m.as_str()), c.get(9)) {
        (Some("Z"), _) => out.push_str("+00:00"),
        (Some(_), Some(sign)) => {
            out.push_str(&format!("{}{:02}:{:02}", sign.as_str(), n(10), n(11)))
        }
        _ => {}
    }
    Some(out)
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are what ansible-core 2.19's `from_yaml` gave for
    /// the same plain scalars (PyYAML 6, SafeLoader's resolvers).
    #[test]
    fn plain_scalars_resolve_as_pyyaml_resolves_them() {
        let cases = [
            ("yes", Kind::Bool),
            ("OFF", Kind::Bool),
            ("y", Kind::Str),
            ("012", Kind::Int),
            ("0o12", Kind::Str),
            ("08", Kind::Str),
            ("1e3", Kind::Str),
            ("1.0e+3", Kind::Float),
            ("1.0e5", Kind::Str),
            ("1:30", Kind::Int),
            ("190:20:30.15", Kind::Float),
            ("~", Kind::Null),
            ("", Kind::Null),
            ("-.Inf", Kind::Float),
            ("2024-01-01", Kind::Timestamp),
            ("<<", Kind::Merge),
            ("=", Kind::Value),
        ];
        for (text, expected) in cases {
            assert_eq!(kind(text), expected, "{text:?}");
        }
    }

    #[test]
    fn values_construct_as_safe_constructor_makes_them() {
        assert_eq!(int("012"), Some(10));
        assert_eq!(int("0x1F"), Some(31));
        assert_eq!(int("-0x1f"), Some(-31));
        assert_eq!(int("1_000"), Some(1000));
        assert_eq!(int("0b101"), Some(5));
        assert_eq!(int("1:30"), Some(90));
        assert_eq!(int("+12"), Some(12));
        assert_eq!(float("190:20:30.15"), 685_230.15);
        assert_eq!(float("1_0.5"), 10.5);
        assert_eq!(float("-.Inf"), f64::NEG_INFINITY);
        assert_eq!(float("0."), 0.0);
        assert!(boolean("On") && !boolean("NO"));
        assert_eq!(timestamp("2024-01-01").as_deref(), Some("2024-01-01"));
        assert_eq!(
            timestamp("2001-12-14t21:59:43.10-05:00").as_deref(),
            Some("2001-12-14 21:59:43.100000-05:00")
        );
        assert_eq!(
            timestamp("2001-12-14 21:59:43.10 -5").as_deref(),
            Some("2001-12-14 21:59:43.100000-05:00")
        );
        assert_eq!(
            timestamp("2001-12-14T21:59:43Z").as_deref(),
            Some("2001-12-14 21:59:43+00:00")
        );
        assert_eq!(timestamp("2023-02-29"), None);
    }
}
