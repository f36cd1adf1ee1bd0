//! Ansible's version comparison, `version(value, other, operator,
//! strict=..., version_type=...)`, shared by the templates' `version` test
//! and the scripts' `version()` function so both order versions alike:
//! `loose` (the default, LooseVersion), `strict` (StrictVersion: `1.2`,
//! `1.2.3`, `1.2b3`; `strict=true` says the same), `semver`/`semantic`
//! (Semantic Versioning 2.0.0) and `pep440` (PEP 440, as Python's
//! `packaging.version.Version` orders it: epochs, pre, post and dev
//! releases, local versions).

use std::cmp::Ordering;

use regex::Regex;

/// A comparison Ansible refuses, in its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The version compared is empty (or none).
    #[error("the input version value cannot be empty")]
    EmptyValue,
    /// The version compared against is empty (or none).
    #[error("the version to compare against cannot be empty")]
    EmptyOther,
    /// Both `strict` and `version_type` were given.
    #[error("give strict or version_type, not both")]
    StrictAndType,
    /// A `version_type` kbz-play does not have.
    #[error("version_type={0:?}: kbz-play has 'loose', 'strict', 'semver', 'semantic', 'pep440'")]
    UnknownType(String),
    /// An operator that is no comparison.
    #[error("{0:?} is not a comparison (lt, le, gt, ge, eq, ne, <, <=, >, >=, ==, !=)")]
    UnknownOperator(String),
    /// A version its type cannot read.
    #[error("invalid version {version:?} ({kind}){}", detail.as_ref().map(|d| format!(": {d}")).unwrap_or_default())]
    Invalid {
        /// The version as given.
        version: String,
        /// The version type that refused it.
        kind: &'static str,
        /// The parser's reason, where it gives one.
        detail: Option<String>,
    },
}

/// Whether `value` compares to `other` as `operator` (default `eq`) says,
/// read as `version_type` (default `loose`) or, with `strict`, as strict.
pub fn compare(
    value: &str,
    other: &str,
    operator: Option<&str>,
    strict: Option<bool>,
    version_type: Option<&str>,
) -> Result<bool, VersionError> {
    if value.is_empty() {
        return Err(VersionError::EmptyValue);
    }
    if other.is_empty() {
        return Err(VersionError::EmptyOther);
    }
    let (a, b) = (value, other);
    let order = match (strict, version_type) {
        (Some(_), Some(_)) => return Err(VersionError::StrictAndType),
        (Some(true), None) | (None, Some("strict")) => strict_order(a, b)?,
        (None, Some("semver" | "semantic")) => semver_order(a, b)?,
        (None, Some("pep440")) => pep440_order(a, b)?,
        (_, None | Some("loose")) => loose_order(a, b),
        (None, Some(other)) => return Err(VersionError::UnknownType(other.to_string())),
    };
    compared(order, operator.unwrap_or("eq"))
}

/// Whether `order` satisfies `operator`.
fn compared(order: Ordering, operator: &str) -> Result<bool, VersionError> {
    Ok(match operator {
        "<" | "lt" => order == Ordering::Less,
        "<=" | "le" => order != Ordering::Greater,
        ">" | "gt" => order == Ordering::Greater,
        ">=" | "ge" => order != Ordering::Less,
        "==" | "=" | "eq" => order == Ordering::Equal,
        "!=" | "<>" | "ne" => order != Ordering::Equal,
        bad => return Err(VersionError::UnknownOperator(bad.to_string())),
    })
}

/// `version` refused as a `kind` version.
fn invalid(version: &str, kind: &'static str, detail: Option<String>) -> VersionError {
    VersionError::Invalid {
        version: version.to_string(),
        kind,
        detail,
    }
}

/// A part of a loose version: a number or a run of letters.
type LoosePart = Result<u64, String>;

/// LooseVersion's parts: runs of digits as numbers, runs of letters as text.
fn loose_parts(s: &str) -> Vec<LoosePart> {
    let re = Regex::new(r"\d+|[a-zA-Z]+").expect("a valid pattern");
    re.find_iter(s)
        .map(|m| {
            m.as_str()
                .parse::<u64>()
                .map_err(|_| m.as_str().to_string())
        })
        .collect()
}

/// LooseVersion's order: part by part, a number before text.
fn loose_order(a: &str, b: &str) -> Ordering {
    let rank = |x: &LoosePart, y: &LoosePart| match (x, y) {
        (Ok(x), Ok(y)) => x.cmp(y),
        (Err(x), Err(y)) => x.cmp(y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
    };
    let (a, b) = (loose_parts(a), loose_parts(b));
    a.iter()
        .zip(&b)
        .map(|(x, y)| rank(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(a.len().cmp(&b.len()))
}

/// StrictVersion's order: major, minor, patch, then a release after its
/// pre-releases (`a` before `b`, by number).
fn strict_order(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let re = Regex::new(r"^(\d+)\.(\d+)(?:\.(\d+))?(?:([ab])(\d+))?$").expect("a valid pattern");
    let parse = |s: &str| {
        let caps = re.captures(s).ok_or_else(|| invalid(s, "strict", None))?;
        let num = |i: usize| caps.get(i).map_or(Ok(0), |m| m.as_str().parse::<u64>());
        let release = [num(1), num(2), num(3)].map(|n| n.unwrap_or(u64::MAX));
        let pre = caps
            .get(4)
            .map(|m| (m.as_str().to_string(), num(5).unwrap_or(0)));
        Ok::<_, VersionError>((release, pre))
    };
    let ((ra, pa), (rb, pb)) = (parse(a)?, parse(b)?);
    Ok(release_then_pre((ra, pa), (rb, pb)))
}

/// Release numbers first, then a release after its own pre-releases: the
/// rule strict and semantic versions share.
fn release_then_pre<R: Ord, P: Ord>(a: (R, Option<P>), b: (R, Option<P>)) -> Ordering {
    a.0.cmp(&b.0).then_with(|| match (a.1, b.1) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => x.cmp(&y),
    })
}

/// Semantic Versioning 2.0.0's precedence: major, minor, patch, then a
/// release after its pre-releases, whose dot-separated identifiers compare
/// numerically when numbers, as text otherwise, a number first; build
/// metadata ignored.
fn semver_order(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let re = Regex::new(
        r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$",
    )
    .expect("a valid pattern");
    let parse = |s: &str| {
        let caps = re.captures(s).ok_or_else(|| invalid(s, "semver", None))?;
        let num = |i: usize| caps[i].parse::<u64>().unwrap_or(u64::MAX);
        let pre: Option<Vec<LoosePart>> = caps.get(4).map(|m| {
            m.as_str()
                .split('.')
                .map(|id| id.parse::<u64>().map_err(|_| id.to_string()))
                .collect()
        });
        Ok::<_, VersionError>(([num(1), num(2), num(3)], pre))
    };
    let ((ra, pa), (rb, pb)) = (parse(a)?, parse(b)?);
    Ok(release_then_pre((ra, pa), (rb, pb)))
}

/// PEP 440's order (pep440_rs, the parser of uv): `1!1.0` after `2.0`,
/// `1.0.dev1 < 1.0a1 < 1.0 < 1.0.post1 < 1.0+local`, `1.0 == 1.0.0`.
fn pep440_order(a: &str, b: &str) -> Result<Ordering, VersionError> {
    let parse = |s: &str| {
        s.trim()
            .parse::<pep440_rs::Version>()
            .map_err(|e| invalid(s, "pep440", Some(e.to_string())))
    };
    Ok(parse(a)?.cmp(&parse(b)?))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn loose_versions_compare_by_number_not_text() {
        assert_eq!(loose_order("1.10.0", "1.9"), Ordering::Greater);
        assert_eq!(loose_order("1.24.3", "1.24.3"), Ordering::Equal);
        assert_eq!(loose_order("2.0", "2.0.1"), Ordering::Less);
    }

    #[test]
    fn strict_and_semantic_versions_put_prereleases_first() {
        assert_eq!(strict_order("1.2b3", "1.2").unwrap(), Ordering::Less);
        assert_eq!(strict_order("1.2a9", "1.2b1").unwrap(), Ordering::Less);
        assert_eq!(strict_order("1.2", "1.2.0").unwrap(), Ordering::Equal);
        assert!(strict_order("1.2.3.4", "1.2").is_err());
        let order = |a, b| semver_order(a, b).unwrap();
        assert_eq!(order("1.0.0-alpha", "1.0.0-alpha.1"), Ordering::Less);
        assert_eq!(order("1.0.0-alpha.beta", "1.0.0-beta"), Ordering::Less);
        assert_eq!(order("1.0.0-2", "1.0.0-11"), Ordering::Less);
        assert_eq!(order("1.0.0-rc.1", "1.0.0"), Ordering::Less);
        assert_eq!(order("1.0.0+build.5", "1.0.0"), Ordering::Equal);
        assert!(semver_order("1.0", "1.0.0").is_err());
    }
}
