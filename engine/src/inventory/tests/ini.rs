//! INI inventories as data: text in, hosts/groups/vars out; values typed as
//! ansible-core types them (each case checked against ansible-inventory
//! 2.19); errors located at file:line:col.

use super::*;
use crate::inventory::ini::pyliteral::{parse_value, shlex_split};
use serde_json::{json, Value};

/// The inventory as one JSON value: each host's merged vars and each
/// group's own hosts and children.
fn shape(inv: &Inventory) -> Value {
    let hosts: serde_json::Map<String, Value> = inv
        .hosts()
        .iter()
        .map(|h| (h.name.clone(), Value::Object(h.vars.clone())))
        .collect();
    let groups: serde_json::Map<String, Value> = inv
        .groups()
        .into_iter()
        .map(|g| {
            let (direct, children) = inv.group_tree(g).unwrap();
            let direct: Vec<&str> = direct.iter().map(|h| h.name.as_str()).collect();
            (
                g.to_string(),
                json!({"hosts": direct, "children": children}),
            )
        })
        .collect();
    json!({"hosts": hosts, "groups": groups})
}

#[test]
fn ini_text_to_hosts_groups_and_vars() {
    let cases: &[(&str, Value)] = &[
        (
            "bastion ansible_host=192.0.2.1\n[web]\nweb[01:05:2] tier=front\nweb-x:2222\n",
            json!({
                "hosts": {
                    "bastion": {"ansible_host": "192.0.2.1"},
                    "web01": {"tier": "front"}, "web03": {"tier": "front"},
                    "web05": {"tier": "front"}, "web-x": {"ansible_port": 2222},
                },
                "groups": {
                    "all": {"hosts": [], "children": ["web"]},
                    "web": {"hosts": ["web01", "web03", "web05", "web-x"], "children": []},
                },
            }),
        ),
        (
            "[a]\nh1\n[b]\nh2\nh1\n[all:vars]\nx=1\n[a:vars]\nx=2\n",
            json!({
                "hosts": {"h1": {"x": 2}, "h2": {"x": 1}},
                "groups": {
                    "all": {"hosts": [], "children": ["a", "b"]},
                    "a": {"hosts": ["h1"], "children": []},
                    "b": {"hosts": ["h2", "h1"], "children": []},
                },
            }),
        ),
        (
            "[top:children]\nmid # why\n[mid:vars]\nv = 'mid'\n[mid]\ndb-[a:b]\n",
            json!({
                "hosts": {"db-a": {"v": "mid"}, "db-b": {"v": "mid"}},
                "groups": {
                    "all": {"hosts": [], "children": ["top"]},
                    "top": {"hosts": [], "children": ["mid"]},
                    "mid": {"hosts": ["db-a", "db-b"], "children": []},
                },
            }),
        ),
    ];
    for (text, want) in cases {
        let (_dir, inv) = load_ok("hosts.ini", text);
        assert_eq!(&shape(&inv), want, "for:\n{text}");
    }
}

#[test]
fn values_are_typed_as_ansible_types_them() {
    // (raw value after shlex/strip, what literal_eval makes of it)
    let cases: &[(&str, Value)] = &[
        ("110", json!(110)),
        ("-3", json!(-3)),
        ("1_000", json!(1000)),
        ("0x1F", json!(31)),
        ("0o17", json!(15)),
        ("0b101", json!(5)),
        ("00", json!(0)),
        ("010", json!("010")),
        ("0.75", json!(0.75)),
        ("1e3", json!(1000.0)),
        (".5", json!(0.5)),
        ("true", json!("true")),
        ("True", json!(true)),
        ("False", json!(false)),
        ("None", json!(null)),
        ("...", json!("...")),
        ("'110'", json!("110")),
        ("\"a b\"", json!("a b")),
        ("'a' \"b\"", json!("ab")),
        ("r'a\\n'", json!("a\\n")),
        ("'a\\tb\\x41\\u00e9'", json!("a\tbA\u{e9}")),
        ("b'bytes'", json!("bytes")),
        ("f'x'", json!("f'x'")),
        ("['a', 'b']", json!(["a", "b"])),
        ("[1, [2, 3],]", json!([1, [2, 3]])),
        ("(1, 2)", json!([1, 2])),
        ("(1)", json!(1)),
        ("()", json!([])),
        ("1, 2", json!([1, 2])),
        ("{'k': 1, 'n': None}", json!({"k": 1, "n": null})),
        (
            "{1: 'a', 'b': True, None: 2.5}",
            json!({"1": "a", "b": true, "null": 2.5}),
        ),
        ("{}", json!({})),
        ("{'x'}", json!(["x"])),
        ("5 # a comment", json!(5)),
        ("hello world", json!("hello world")),
        ("1 ; no", json!("1 ; no")),
        ("", json!("")),
        ("yes", json!("yes")),
        ("[1, 2", json!("[1, 2")),
        ("1.2.3", json!("1.2.3")),
        ("-'a'", json!("-'a'")),
        ("--1", json!("--1")),
        ("- 1", json!(-1)),
    ];
    for (text, want) in cases {
        assert_eq!(&parse_value(text), want, "value {text:?}");
    }
}

#[test]
fn complex_numbers_become_what_python_prints_for_them() {
    // What Python's str(ast.literal_eval(text)) gives.
    let cases: &[(&str, Value)] = &[
        ("3j", json!("3j")),
        ("2J", json!("2j")),
        ("1+2j", json!("(1+2j)")),
        ("-3j", json!("(-0-3j)")),
        ("1.5-0.5j", json!("(1.5-0.5j)")),
        ("-1+2j", json!("(-1+2j)")),
        ("1-0j", json!("(1+0j)")),
        ("0+1j", json!("1j")),
        ("1e3j", json!("1000j")),
        ("1e20j", json!("1e+20j")),
        ("1e-5j", json!("1e-05j")),
        ("1_0j", json!("10j")),
        ("(1+2j)", json!("(1+2j)")),
        ("[1j]", json!(["1j"])),
        ("1+2", json!("1+2")),
        ("1+x", json!("1+x")),
        ("2j+1", json!("2j+1")),
    ];
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        parse_value(&deep),
        json!(deep),
        "too deep: kept as the string"
    );
    for (text, want) in cases {
        assert_eq!(&parse_value(text), want, "value {text:?}");
    }
}

#[test]
fn host_lines_split_like_a_shell() {
    let cases: &[(&str, &[&str])] = &[
        ("h1 a=1 b=2", &["h1", "a=1", "b=2"]),
        ("h1 a=\"x y\" b='p q'", &["h1", "a=x y", "b=p q"]),
        ("h1 a=\"q\\\"d\" b=c\\ d", &["h1", "a=q\"d", "b=c d"]),
        ("h1 a=b#comment", &["h1", "a=b"]),
        ("h1 a='#not'", &["h1", "a=#not"]),
    ];
    for (line, want) in cases {
        assert_eq!(shlex_split(line).unwrap(), *want, "line {line:?}");
    }
    // Quotes are gone before typing: a="1" is the int 1 on a host line, the
    // string "1" in a [group:vars] section.
    let (_dir, inv) = load_ok(
        "hosts.ini",
        "[g]\nh1 a=\"1\" s=\"'1'\"\n[g:vars]\nb = \"1\"\n",
    );
    let vars = &inv.host("h1").unwrap().vars;
    assert_eq!(
        (&vars["a"], &vars["s"], &vars["b"]),
        (&json!(1), &json!("1"), &json!("1"))
    );
}

#[test]
fn ini_errors_name_file_line_and_column() {
    assert_load_errs(
        "hosts.ini",
        &[
            (
                "[web\nh1\n",
                &["hosts.ini:1:1: invalid section entry '[web'"],
            ),
            ("[web] x\n", &["hosts.ini:1:1: invalid section entry"]),
            (
                "\n  [web:hostz]\n",
                &["hosts.ini:2:8: section [web:hostz] has unknown type 'hostz'"],
            ),
            (
                "[web]\nh1 a=1 oops\n",
                &["hosts.ini:2:8: expected key=value host variable assignment, got 'oops'"],
            ),
            (
                "[web]\nh1 a='x\n",
                &[
                    "hosts.ini:2:1: cannot parse host line",
                    "No closing quotation",
                ],
            ),
            (
                "[web]\nh1:\n",
                &["hosts.ini:2:1: invalid host pattern 'h1:'"],
            ),
            (
                "---\nall:\n",
                &["hosts.ini:1:1: '---' starts a YAML document"],
            ),
            (
                "[web]\nweb[3:1]\n",
                &["hosts.ini:2:1: invalid host range in 'web[3:1]'"],
            ),
            (
                "[web:vars]\nnovalue\n[web]\n",
                &["hosts.ini:2:1: expected key=value, got 'novalue'"],
            ),
            (
                "[db:vars]\na=1\n",
                &["hosts.ini:1:1: section [db:vars] is for a group no section defines"],
            ),
            (
                "[p:children]\nc\n",
                &["hosts.ini:2:1: [p:children] names group 'c', which no section defines"],
            ),
            (
                "[web]\nh1 ansible_port=ssh\n",
                &["hosts.ini:2:4: ansible_port must be a TCP port number"],
            ),
            (
                "[a:children]\nb\n[b:children]\na\n",
                &["group 'a' is its own ancestor"],
            ),
            (
                "$ANSIBLE_VAULT;1.1;AES256\n6162\n",
                &["hosts.ini:1:1: file is encrypted with ansible-vault"],
            ),
        ],
    );
}
