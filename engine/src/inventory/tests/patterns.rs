//! Host patterns: groups, globs, set operations, regexes, subscripts and
//! the errors for terms that match nothing.

use super::*;

/// Nine hosts in overlapping groups, one ungrouped, one in a group of its own.
fn pattern_inventory() -> (tempfile::TempDir, Inventory) {
    load_ok(
        "servers.tsv",
        "hostname\tgroups\n\
         web-01\tweb,front\n\
         web-02\tweb\n\
         db-master\tdb\n\
         db-slave-01\tdb\n\
         db-slave-02\tdb\n\
         db-slave-03\tdb\n\
         redis-01\tredis,db\n\
         lonely\t\n\
         spare\tempty_later\n",
    )
}

/// The names `pattern` selects, panicking with the pattern on error.
fn sel(inv: &Inventory, pattern: &str) -> Vec<String> {
    names(
        &inv.select(pattern)
            .unwrap_or_else(|e| panic!("{pattern}: {e}")),
    )
}

#[test]
fn pattern_all_group_host() {
    let (_d, inv) = pattern_inventory();
    assert_eq!(sel(&inv, "all").len(), 9);
    assert_eq!(sel(&inv, "*").len(), 9);
    assert_eq!(sel(&inv, "web"), ["web-01", "web-02"]);
    assert_eq!(sel(&inv, "redis-01"), ["redis-01"]);
    assert_eq!(sel(&inv, "ungrouped"), ["lonely"]);
}

#[test]
fn pattern_globs() {
    let (_d, inv) = pattern_inventory();
    assert_eq!(sel(&inv, "web*"), ["web-01", "web-02"]);
    assert_eq!(sel(&inv, "db-slave-0[12]"), ["db-slave-01", "db-slave-02"]);
    assert_eq!(sel(&inv, "*-01"), ["web-01", "db-slave-01", "redis-01"]);
    assert_eq!(
        sel(&inv, "re?is"),
        ["redis-01"],
        "globs match group names too"
    );
}

#[test]
fn pattern_union_intersection_exclusion() {
    let (_d, inv) = pattern_inventory();
    // Results are always in inventory order.
    assert_eq!(sel(&inv, "redis:web"), ["web-01", "web-02", "redis-01"]);
    assert_eq!(sel(&inv, "redis, web"), ["web-01", "web-02", "redis-01"]);
    assert_eq!(sel(&inv, "db:&redis"), ["redis-01"]);
    assert_eq!(sel(&inv, "web:!front"), ["web-02"]);
    assert_eq!(sel(&inv, "db:!db-slave-*:!redis"), ["db-master"]);
    // Ansible evaluates unions, then intersections, then exclusions,
    // whatever the order they are written in.
    assert_eq!(sel(&inv, "!front:web"), ["web-02"]);
    assert_eq!(sel(&inv, "&db:redis:web"), ["redis-01"]);
    // Only exclusions: start from all.
    assert_eq!(sel(&inv, "!db:!web"), ["lonely", "spare"]);
    // Known terms, empty result: not an error.
    assert!(sel(&inv, "web:&db").is_empty());
}

#[test]
fn pattern_regex_and_subscripts() {
    let (_d, inv) = pattern_inventory();
    assert_eq!(
        sel(&inv, "~db-(master|slave-03)"),
        ["db-master", "db-slave-03"]
    );
    assert_eq!(sel(&inv, "db[0]"), ["db-master"]);
    assert_eq!(sel(&inv, "db[-1]"), ["redis-01"]);
    assert_eq!(sel(&inv, "db[1:2]"), ["db-slave-01", "db-slave-02"]);
    assert_eq!(sel(&inv, "db[3:]"), ["db-slave-03", "redis-01"]);
    assert_eq!(sel(&inv, "web[0]:db[0]"), ["web-01", "db-master"]);
    let err = inv.select("web[5]").unwrap_err().to_string();
    assert_has(&err, "index 5 is out of range");
}

#[test]
fn pattern_unknown_term_suggests() {
    let (_d, inv) = pattern_inventory();
    let err = inv.select("redsi").unwrap_err().to_string();
    assert_eq!(
        err,
        "no host or group matches 'redsi'; did you mean 'redis'?"
    );
    let err = inv.select("web:!frnt").unwrap_err().to_string();
    assert_has(&err, "did you mean 'front'?");
    let err = inv.select("db-mastr").unwrap_err().to_string();
    assert_has(&err, "did you mean 'db-master'?");
    let err = inv.select("xyzzy").unwrap_err().to_string();
    assert_has(
        &err,
        "no host or group matches 'xyzzy'; check the spelling (known groups:",
    );
    assert_has(&err, "redis");
    // A glob that matches nothing is treated like a typo too.
    let err = inv.select("cache*").unwrap_err().to_string();
    assert_has(&err, "no host or group matches 'cache*'");
}

#[test]
fn pattern_malformed() {
    let (_d, inv) = pattern_inventory();
    assert_has(&inv.select("").unwrap_err().to_string(), "use 'all'");
    assert_has(
        &inv.select(" , ").unwrap_err().to_string(),
        "the pattern is empty",
    );
    assert_has(
        &inv.select("web:!").unwrap_err().to_string(),
        "'!' must be followed by",
    );
    assert_has(
        &inv.select("~(web").unwrap_err().to_string(),
        "bad regular expression",
    );
    assert_has(&inv.select("web[").unwrap_err().to_string(), "bad glob");
}

#[test]
fn host_and_group_with_same_name_warns() {
    let (_d, inv) = load_ok(
        "hosts.yml",
        "all:\n  hosts:\n    db:\n  children:\n    db:\n      hosts:\n        db1:\n",
    );
    assert_has(
        &inv.warnings().join("\n"),
        "'db' is both a host and a group",
    );
    assert_eq!(sel(&inv, "db"), ["db1"]);
}

#[test]
fn play_patterns_skip_unknown_names_with_a_warning() {
    let (_d, inv) = pattern_inventory();
    let (hosts, unknown) = inv.select_play("postgres").unwrap();
    assert!(hosts.is_empty());
    assert_eq!(unknown.len(), 1);
    assert_has(&unknown[0], "no host or group matches 'postgres'");
    // An unknown exclusion excludes nothing; a typo still gets its suggestion.
    let (hosts, unknown) = inv.select_play("redis:!placeholder").unwrap();
    let strict: Vec<&str> = inv
        .select("redis")
        .unwrap()
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    assert_eq!(
        hosts.iter().map(|h| h.name.as_str()).collect::<Vec<_>>(),
        strict
    );
    assert_has(&unknown[0], "'placeholder'");
    let (_, unknown) = inv.select_play("web:!frnt").unwrap();
    assert_has(&unknown[0], "did you mean 'front'?");
    // Malformed patterns are still errors, and --limit stays strict.
    assert!(inv.select_play("web:!").is_err());
    assert!(inv.select("postgres").is_err());
}
