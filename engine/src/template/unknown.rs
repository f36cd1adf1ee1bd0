//! What an unknown filter or test error adds: the closest name kbz-play
//! knows (a typo), or that the name is of a collection kbz-play does not
//! carry (ansible.utils' network filters beyond those it has).

/// The filters a template may name: Jinja's (minijinja's) and those of
/// `ansible.builtin` kbz-play has (see `filters/`). Each is also
/// `ansible.builtin.NAME` (see `filters/qualified.rs`); a unit test holds
/// this list to what the environment has.
pub const FILTERS: &[&str] = &[
    "abs",
    "attr",
    "b64decode",
    "b64encode",
    "basename",
    "batch",
    "bool",
    "capitalize",
    "center",
    "chain",
    "checksum",
    "combinations",
    "combine",
    "comment",
    "commonpath",
    "count",
    "d",
    "default",
    "dict2items",
    "dictsort",
    "difference",
    "dirname",
    "e",
    "escape",
    "expanduser",
    "expandvars",
    "extract",
    "fileglob",
    "filesizeformat",
    "first",
    "flatten",
    "float",
    "forceescape",
    "format",
    "from_json",
    "from_yaml",
    "from_yaml_all",
    "groupby",
    "hash",
    "human_readable",
    "human_to_bytes",
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
    "json_query",
    "last",
    "length",
    "lines",
    "list",
    "log",
    "lower",
    "mandatory",
    "map",
    "max",
    "md5",
    "min",
    "normpath",
    "nthhost",
    "password_hash",
    "path_join",
    "permutations",
    "pow",
    "pprint",
    "product",
    "quote",
    "random",
    "realpath",
    "regex_escape",
    "regex_findall",
    "regex_replace",
    "regex_search",
    "reject",
    "rejectattr",
    "rekey_on_member",
    "relpath",
    "replace",
    "reverse",
    "root",
    "round",
    "safe",
    "select",
    "selectattr",
    "sha1",
    "shuffle",
    "slice",
    "sort",
    "split",
    "splitext",
    "strftime",
    "string",
    "striptags",
    "subelements",
    "sum",
    "symmetric_difference",
    "ternary",
    "title",
    "to_datetime",
    "to_json",
    "to_nice_json",
    "to_nice_yaml",
    "to_uuid",
    "to_yaml",
    "tojson",
    "trim",
    "truncate",
    "type_debug",
    "union",
    "unique",
    "unvault",
    "upper",
    "urldecode",
    "urlencode",
    "urlize",
    "urlsplit",
    "vault",
    "win_basename",
    "win_dirname",
    "win_splitdrive",
    "wordcount",
    "wordwrap",
    "xmlattr",
    "zip",
    "zip_longest",
];

/// The tests a template may name, as [`FILTERS`] (the operator-named ones,
/// `==`, `<`..., left out: they have no qualified name).
pub const TESTS: &[&str] = &[
    "abs",
    "all",
    "any",
    "boolean",
    "callable",
    "change",
    "changed",
    "contains",
    "defined",
    "directory",
    "divisibleby",
    "endingwith",
    "eq",
    "equalto",
    "escaped",
    "even",
    "exists",
    "failed",
    "failure",
    "false",
    "falsy",
    "file",
    "filter",
    "finished",
    "float",
    "ge",
    "greaterthan",
    "gt",
    "in",
    "int",
    "integer",
    "is_abs",
    "is_dir",
    "is_file",
    "is_link",
    "is_mount",
    "is_same_file",
    "isnan",
    "issubset",
    "issuperset",
    "iterable",
    "le",
    "lessthan",
    "link",
    "link_exists",
    "lower",
    "lt",
    "mapping",
    "match",
    "mount",
    "nan",
    "ne",
    "none",
    "number",
    "odd",
    "reachable",
    "regex",
    "safe",
    "same_file",
    "sameas",
    "search",
    "sequence",
    "skip",
    "skipped",
    "started",
    "startingwith",
    "string",
    "subset",
    "succeeded",
    "success",
    "successful",
    "superset",
    "test",
    "timedout",
    "true",
    "truthy",
    "undefined",
    "unreachable",
    "upper",
    "uri",
    "url",
    "urn",
    "vault_encrypted",
    "vaulted_file",
    "version",
    "version_compare",
];

/// The ansible.utils network filters roles use besides those kbz-play has
/// (`ipaddr`, `ipmath`, `ipv4`, `ipv6`, `nthhost`): a collection's, not
/// ansible.builtin's, so a deliberate difference (see README).
const COLLECTION_ONLY: &[&str] = &[
    "cidr_merge",
    "hwaddr",
    "ipsubnet",
    "ipwrap",
    "macaddr",
    "network_in_network",
    "network_in_usable",
    "next_nth_usable",
    "previous_nth_usable",
    "reduce_on_network",
];

/// The hint for the unknown `name`, if there is one to give.
pub fn hint(name: &str) -> Option<String> {
    let name = crate::template::filters::short_name(name);
    if COLLECTION_ONLY.contains(&name) {
        return Some(format!(
            "{name} is ansible.utils', not ansible.builtin's: kbz-play has ipaddr, ipmath, \
             ipv4, ipv6 and nthhost of it (see README, Coming from Ansible)"
        ));
    }
    FILTERS
        .iter()
        .chain(TESTS)
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
    fn a_typo_gets_the_closest_name_and_a_collections_name_is_told_apart() {
        assert_eq!(
            hint("regex_replce").as_deref(),
            Some("did you mean regex_replace?")
        );
        assert!(hint("ipsubnet")
            .unwrap()
            .contains("ipsubnet is ansible.utils'"));
        assert_eq!(hint("qqqqqqqqqqqq"), None);
        assert_eq!(unknown_name("filter foo is unknown"), Some("foo"));
    }

    #[test]
    fn no_name_is_both_known_and_a_collections_only() {
        let known = |n: &&&str| FILTERS.contains(n) || TESTS.contains(n);
        let both: Vec<_> = COLLECTION_ONLY.iter().filter(known).collect();
        assert!(both.is_empty(), "{both:?}");
    }

    /// The names of the environment's filters or tests (`which`), without
    /// the qualified aliases and the operators, from its debug form (the
    /// only place minijinja lists them).
    fn registered(which: &str) -> Vec<String> {
        let mut env = minijinja::Environment::new();
        crate::template::filters::register(&mut env);
        let debug = format!("{env:?}");
        let after = &debug[debug.find(&format!("{which}: [")).unwrap() + which.len() + 3..];
        let list = &after[..after.find(']').unwrap()];
        list.split(", ")
            .map(|n| n.trim_matches('"').to_string())
            .filter(|n| !n.contains('.') && n.chars().all(|c| c.is_alphanumeric() || c == '_'))
            .collect()
    }

    #[test]
    fn the_lists_hold_every_filter_and_test_the_environment_has() {
        assert_eq!(registered("filters"), FILTERS);
        assert_eq!(registered("tests"), TESTS);
    }
}
