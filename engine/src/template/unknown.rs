//! What an unknown filter or test error adds: the closest name kbz-play
//! knows (a typo), or that Ansible has it and kbz-play not yet (issue 12).

/// Filters and tests a template may name: Jinja's, and those of
/// `ansible.builtin` kbz-play has (see `filters/`).
const KNOWN: &[&str] = &[
    "abs",
    "attr",
    "b64decode",
    "b64encode",
    "basename",
    "batch",
    "bool",
    "capitalize",
    "checksum",
    "combine",
    "count",
    "d",
    "default",
    "dict2items",
    "dictsort",
    "difference",
    "dirname",
    "escape",
    "first",
    "flatten",
    "float",
    "from_json",
    "from_yaml",
    "from_yaml_all",
    "groupby",
    "hash",
    "indent",
    "int",
    "intersect",
    "ipaddr",
    "ipmath",
    "ipv4",
    "ipv6",
    "items",
    "items2dict",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "mandatory",
    "map",
    "max",
    "min",
    "nthhost",
    "password_hash",
    "product",
    "quote",
    "regex_escape",
    "regex_findall",
    "regex_replace",
    "regex_search",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "select",
    "selectattr",
    "slice",
    "sort",
    "splitext",
    "string",
    "sum",
    "symmetric_difference",
    "ternary",
    "title",
    "to_json",
    "to_nice_json",
    "to_nice_yaml",
    "to_uuid",
    "to_yaml",
    "tojson",
    "trim",
    "union",
    "unique",
    "upper",
    "urlencode",
    "zip",
    "zip_longest",
    "defined",
    "undefined",
    "none",
    "match",
    "search",
    "regex",
    "version",
    "subset",
    "superset",
    "truthy",
    "falsy",
    "in",
    "mapping",
    "sequence",
    "number",
    "odd",
    "even",
    "divisibleby",
    "equalto",
    "sameas",
    "iterable",
];

/// Ansible's filters, tests and lookups kbz-play does not have yet.
const NOT_YET: &[&str] = &[
    "random",
    "shuffle",
    "comment",
    "expanduser",
    "realpath",
    "relpath",
    "win_basename",
    "extract",
    "permutations",
    "combinations",
    "strftime",
    "to_datetime",
    "type_debug",
    "human_readable",
    "human_to_bytes",
    "urlsplit",
    "split",
    "vault",
    "unvault",
    "file",
    "directory",
    "link",
    "exists",
    "any",
    "all",
    "json_query",
];

/// The hint for the unknown `name`, if there is one to give.
pub fn hint(name: &str) -> Option<String> {
    if NOT_YET.contains(&name) {
        return Some(format!(
            "{name} is Ansible's; kbz-play does not have it yet (see README, Coming from Ansible)"
        ));
    }
    KNOWN
        .iter()
        .map(|k| (strsim::levenshtein(name, k), *k))
        .filter(|(d, _)| *d <= 2.max(name.len() / 4))
        .min()
        .map(|(_, k)| format!("did you mean {k}?"))
}

/// The name in minijinja's "filter NAME is unknown" / "test NAME is unknown".
pub fn unknown_name(detail: &str) -> Option<&str> {
    let rest = detail
        .strip_prefix("filter ")
        .or_else(|| detail.strip_prefix("test "))?;
    rest.strip_suffix(" is unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_gets_the_closest_name_and_an_ansible_name_is_told_apart() {
        assert_eq!(
            hint("regex_replce").as_deref(),
            Some("did you mean regex_replace?")
        );
        assert!(hint("json_query").unwrap().contains("does not have it yet"));
        assert_eq!(hint("qqqqqqqqqqqq"), None);
        assert_eq!(unknown_name("filter foo is unknown"), Some("foo"));
    }

    #[test]
    fn no_name_is_both_known_and_not_there_yet() {
        let both: Vec<_> = NOT_YET.iter().filter(|n| KNOWN.contains(n)).collect();
        assert!(both.is_empty(), "{both:?}");
    }
}
