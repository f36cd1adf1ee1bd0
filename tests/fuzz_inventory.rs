//! Fuzzing the inventory: TSV and YAML parsers, host ranges and host patterns
//! (issue 9). Every input must load or select to `Ok` or a clean
//! `InventoryError`, never panic or hang. Generators build structured inputs;
//! the seed corpus (the repository's real inventories plus
//! `fuzz/corpus/inventory_*`) is replayed and mutated. See tests/fuzz/mod.rs
//! for the budget (`KBZ_FUZZ_SECONDS`) and seed (`KBZ_FUZZ_SEED`).

mod fuzz;

use kbz_engine::inventory::Inventory;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Loads `text` as `servers.<ext>` from a fresh temp dir, then selects a few
/// patterns on what loaded: the loader and `select` must not panic.
fn load(ext: &str, text: &[u8], patterns: &[String]) {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join(format!("servers.{ext}"));
    std::fs::write(&file, text).expect("write inventory");
    if let Ok(inv) = Inventory::load(&file) {
        for p in patterns {
            let _ = inv.select(p);
            let _ = inv.select_play(p);
        }
        for g in inv.groups() {
            let _ = inv.group_hosts(g);
        }
    }
}

/// A TSV/YAML cell: plain words, ranges, unicode, quotes, tabs and the like.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[a-z][a-z0-9_.-]{0,8}",
        2 => "[a-z]{1,4}\\[[0-9a-c]{0,2}:[0-9a-c]{0,3}(:[0-9]{0,2})?\\]",
        2 => "[0-9]{1,3}(\\.[0-9]{1,3}){0,3}",
        2 => "[a-z,]{0,10}",
        1 => ".{0,6}",
        1 => "[ \t\"'\\\\é\u{feff}\u{200b}#:{}\\[\\]!&~*,-]{0,6}",
        1 => Just(String::new()),
    ]
}

/// A TSV header: known columns (in any spelling and case), host vars, and
/// junk.
fn header() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "hostname",
            "host",
            "name",
            "Hostname",
            "ip",
            "ip_private",
            "private_ip",
            "ip_public",
            "public_ip",
            "groups",
            "group",
            "role",
            "ansible_port",
            "ansible_host",
            "ansible_user",
            "ansible_connection",
            "fqdn",
        ])
        .prop_map(str::to_string),
        cell(),
    ]
}

/// A TSV inventory as text: a header then rows, most as wide as the header,
/// with optional CRLF and BOM.
fn tsv() -> impl Strategy<Value = String> {
    let first = prop_oneof![
        8 => prop::sample::select(vec!["hostname", "host", "name"]).prop_map(str::to_string),
        1 => header(),
    ];
    (
        first,
        vec(header(), 0..6),
        vec((vec(cell(), 0..7), prop::bool::weighted(0.8)), 0..8),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(first, mut head, rows, crlf, bom)| {
            head.insert(0, first);
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = if bom {
                "\u{feff}".to_string()
            } else {
                String::new()
            };
            text.push_str(&head.join("\t"));
            for (mut row, fit) in rows {
                if fit {
                    row.resize(head.len(), String::new());
                }
                text.push_str(eol);
                text.push_str(&row.join("\t"));
            }
            text
        })
}

/// A host name, sometimes an Ansible range (small, large or nested: the
/// loader bounds the expansion at 100000 names, so memory stays bounded).
fn host_name() -> impl Strategy<Value = String> {
    let bound = prop_oneof![
        4 => "[0-9]{0,2}",
        1 => "0[0-9]{0,5}",
        1 => "[0-9]{5,6}",
        2 => "[a-zA-Z]",
        1 => ".{0,2}",
    ];
    let range =
        (bound.clone(), bound, prop::option::of("[0-9]{1,2}")).prop_map(|(b, e, s)| match s {
            Some(s) => format!("[{b}:{e}:{s}]"),
            None => format!("[{b}:{e}]"),
        });
    ("[a-z][a-z0-9-]{0,5}", vec((range, "[a-z.-]{0,2}"), 0..3)).prop_map(|(head, parts)| {
        let mut s = head;
        for (r, tail) in parts {
            s.push_str(&r);
            s.push_str(&tail);
        }
        s
    })
}

/// Any YAML-able value, nested a few levels.
fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        cell().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::from),
            btree_map(cell(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Host or group vars: mostly connection vars (checked by the loader), with
/// random values.
fn vars() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "ansible_host",
            "ansible_port",
            "ansible_user",
            "ansible_connection",
            "ansible_become",
            "x",
        ])
        .prop_map(str::to_string),
        cell(),
    ];
    let good = prop_oneof![
        (1u32..70000).prop_map(|p| json!({ "ansible_port": p })),
        "[0-9]{1,3}(\\.[0-9]{1,3}){3}".prop_map(|h| json!({ "ansible_host": h })),
        Just(json!({ "ansible_connection": "local" })),
    ];
    prop_oneof![
        3 => good,
        2 => btree_map(key, value(), 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        1 => value(),
    ]
}

/// An Ansible YAML inventory: `all` with hosts, vars and children groups that
/// may nest, repeat and cycle; sometimes a random document instead.
fn yaml() -> impl Strategy<Value = String> {
    let group_name = prop_oneof![
        6 => prop::sample::select(vec!["all", "ungrouped", "web", "db", "a", "b"])
            .prop_map(str::to_string),
        1 => cell(),
    ];
    let group = (
        btree_map(host_name(), prop::option::of(vars()), 0..4),
        prop::option::of(vars()),
        vec(group_name.clone(), 0..3),
    );
    let doc = (btree_map(group_name, group, 0..5), any::<bool>()).prop_map(|(groups, top)| {
        let mut children = Map::new();
        for (name, (hosts, vars, kids)) in &groups {
            let mut g = Map::new();
            let hosts: Map<String, Value> = hosts
                .iter()
                .map(|(h, v)| (h.clone(), v.clone().unwrap_or(Value::Null)))
                .collect();
            g.insert("hosts".into(), Value::Object(hosts));
            if let Some(v) = vars {
                g.insert("vars".into(), v.clone());
            }
            let kids: Map<String, Value> = kids.iter().map(|k| (k.clone(), json!({}))).collect();
            g.insert("children".into(), Value::Object(kids));
            children.insert(name.clone(), Value::Object(g));
        }
        let root = if top {
            json!({ "all": { "children": children } })
        } else {
            Value::Object(children)
        };
        yaml_serde::to_string(&root).expect("serialize yaml")
    });
    prop_oneof![
        6 => doc,
        1 => value().prop_map(|v| yaml_serde::to_string(&v).expect("serialize yaml")),
    ]
}

/// A host pattern from the grammar of pattern.rs: names, groups, globs,
/// `~regex`, subscripts, with `&`/`!` prefixes, joined by `,` or `:`.
fn pattern() -> impl Strategy<Value = String> {
    let term = prop_oneof![
        prop::sample::select(vec![
            "all",
            "*",
            "ungrouped",
            "web",
            "db",
            "a",
            "b",
            "lab05",
            "redis",
            "web1",
            "",
        ])
        .prop_map(str::to_string),
        "[a-z]{0,3}[*?]{0,2}[a-z0-9]{0,2}",
        "[a-z]{0,3}\\[[0-9a-z!^-]{0,3}\\][a-z]{0,2}",
        "~[a-z.*+?()\\[\\]{}|^$\\\\0-9,]{0,8}",
        "[a-z]{1,4}\\[-?[0-9]{0,2}(:-?[0-9]{0,2})?\\]",
        ".{0,4}",
    ];
    let prefix = prop::sample::select(vec!["", "", "&", "!", "!&", "&!"]);
    let sep = prop::sample::select(vec![",", ":", ", ", "::"]);
    vec((prefix, term, sep), 1..5).prop_map(|terms| {
        let mut s = String::new();
        for (i, (prefix, term, sep)) in terms.iter().enumerate() {
            if i > 0 {
                s.push_str(sep);
            }
            s.push_str(prefix);
            s.push_str(term);
        }
        s
    })
}

#[test]
fn fuzz_tsv_generated() {
    let strategy = (tsv(), vec(pattern(), 0..3));
    fuzz::generate("tsv", strategy, |(text, patterns)| {
        load("tsv", text.as_bytes(), &patterns)
    });
}

#[test]
fn fuzz_yaml_generated() {
    let strategy = (yaml(), vec(pattern(), 0..3));
    fuzz::generate("yaml", strategy, |(text, patterns)| {
        load("yml", text.as_bytes(), &patterns)
    });
}

/// An INI inventory: sections, host lines with ranges and `k=v` values
/// (Python literals, quotes, brackets), comments and stray lines.
fn ini() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        cell(),
        "[\\[\\]{}(),:'\" 0-9a-zTFN._#-]{0,12}",
        Just("\"['a', {'b': (1, 2.5)}]\"".to_string()),
    ];
    let line = prop_oneof![
        3 => (cell(), vec(("[a-z_]{1,6}", value), 0..3)).prop_map(|(h, vars)| {
            let mut l = h;
            for (k, v) in vars {
                l.push_str(&format!(" {k}={v}"));
            }
            l
        }),
        2 => ("[a-z_]{1,6}", prop_oneof![Just(""), Just(":vars"), Just(":children"), Just(":x")])
            .prop_map(|(g, kind)| format!("[{g}{kind}]")),
        1 => "[#;].{0,10}",
        1 => ".{0,12}",
    ];
    vec(line, 0..16).prop_map(|lines| lines.join("\n"))
}

#[test]
fn fuzz_ini_generated() {
    let strategy = (ini(), vec(pattern(), 0..3));
    fuzz::generate("ini", strategy, |(text, patterns)| {
        load("ini", text.as_bytes(), &patterns)
    });
}

/// Patterns against the lab's real site inventory and a generated one.
#[test]
fn fuzz_patterns_generated() {
    let site = fuzz::repo().join("tests/lab/inventory/site.yml");
    let inv = Arc::new(Inventory::load(&site).expect("the lab inventory loads"));
    fuzz::generate("pattern", pattern(), move |p| {
        let _ = inv.select(&p);
        let _ = inv.select_play(&p);
    });
}

#[test]
fn fuzz_tsv_seeds() {
    let seeds = fuzz::seeds("inventory_tsv", &["playbooks/inventory/servers.tsv"]);
    let patterns = vec![
        "all".to_string(),
        "k3s_masters:&k8s:!install-01".to_string(),
    ];
    fuzz::mutate_seeds("tsv mutations", &seeds, move |b| load("tsv", &b, &patterns));
}

#[test]
fn fuzz_yaml_seeds() {
    let seeds = fuzz::seeds("inventory_yaml", &["tests/lab/inventory"]);
    let patterns = vec![
        "redis[0]:postgres[-1:]".to_string(),
        "~lab1.*:!lab12".to_string(),
    ];
    fuzz::mutate_seeds("yaml mutations", &seeds, move |b| {
        load("yml", &b, &patterns)
    });
}

#[test]
fn fuzz_pattern_seeds() {
    let site = fuzz::repo().join("tests/lab/inventory/site.yml");
    let inv = Arc::new(Inventory::load(&site).expect("the lab inventory loads"));
    let seeds = fuzz::seeds("pattern", &[]);
    fuzz::mutate_seeds("pattern mutations", &seeds, move |b| {
        for line in String::from_utf8_lossy(&b).lines() {
            let _ = inv.select(line);
        }
    });
}

/// `group_vars/` and `host_vars/` files: the lab's real group_vars, mutated,
/// next to the lab's real site inventory, as a group file, a host file and a
/// file inside a group directory.
#[test]
fn fuzz_vars_dirs_seeds() {
    let site = std::fs::read(fuzz::repo().join("tests/lab/inventory/site.yml")).expect("site.yml");
    let seeds = fuzz::seeds("vars", &["tests/lab/inventory/group_vars"]);
    fuzz::mutate_seeds("vars mutations", &seeds, move |vars| {
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |rel: &str, bytes: &[u8]| {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        };
        write("site.yml", &site);
        write("group_vars/redis.yml", &vars);
        write("group_vars/all/10-fuzz.yaml", &vars);
        write("host_vars/lab05.json", &vars);
        if let Ok(inv) = Inventory::load(&dir.path().join("site.yml")) {
            let _ = inv.select("all");
        }
    });
}

/// Deeply nested flow collections are refused cleanly. yaml_serde's scanner
/// (libyaml's) is quadratic in the nesting depth before its recursion limit
/// (128) answers: 8000 `[` take about a second in a debug build, 20000 take
/// several, which is why the generators stay shallow (fuzz/README.md).
#[test]
fn deep_flow_nesting_is_refused() {
    let text = format!(
        "all:\n  vars:\n    x: {}{}\n",
        "[".repeat(8000),
        "]".repeat(8000)
    );
    let deadline = std::time::Duration::from_secs(60);
    fuzz::bounded_for(
        "deep flow nesting",
        deadline,
        fuzz::Lossy(text.into_bytes()),
        |b| {
            let dir = tempfile::tempdir().expect("temp dir");
            let file = dir.path().join("hosts.yml");
            std::fs::write(&file, &b.0).expect("write inventory");
            let err = Inventory::load(&file)
                .expect_err("nesting past the limit")
                .to_string();
            assert!(err.contains("recursion limit exceeded"), "{err}");
        },
    );
}
