//! TSV inventories (`servers.tsv`): columns, aliases and located errors.

use super::*;
use serde_json::json;

const SERVERS_TSV: &str = "# KeyBuzz servers\r
Hostname\tIP_Private\tip_public\tgroups\tDatacenter\tansible_user\tansible_port\tnotes\r
redis-01\t10.0.0.11\t51.0.0.11\tredis, db\tfsn1\tops\t2222\t\r
\r
web-01\t10.0.0.21\t\tweb\tnbg1\t\t\tfront door\r
bastion\t10.0.0.1\t51.0.0.1\t\tfsn1\troot\t\t\r
";

#[test]
fn tsv_happy_path_with_extra_columns() {
    let (_d, inv) = load_ok("servers.tsv", SERVERS_TSV);
    assert_eq!(
        inv.hosts()
            .iter()
            .map(|h| h.name.as_str())
            .collect::<Vec<_>>(),
        ["redis-01", "web-01", "bastion"]
    );
    let redis = inv.host("redis-01").unwrap();
    assert_eq!(redis.address, "10.0.0.11");
    assert_eq!(redis.user.as_deref(), Some("ops"));
    assert_eq!(redis.port, Some(2222));
    assert_eq!(redis.groups, ["all", "db", "redis"]);
    assert_eq!(
        serde_json::Value::Object(redis.vars.clone()),
        json!({
            "ip_private": "10.0.0.11",
            "ip_public": "51.0.0.11",
            "datacenter": "fsn1",
            "ansible_user": "ops",
            "ansible_port": 2222,
        })
    );
    let web = inv.host("web-01").unwrap();
    assert_eq!(web.vars.get("notes"), Some(&json!("front door")));
    assert!(
        !web.vars.contains_key("ip_public"),
        "empty cells set nothing"
    );
    assert_eq!(web.user, None);
    assert_eq!(web.port, None);
    let bastion = inv.host("bastion").unwrap();
    assert_eq!(bastion.groups, ["all"]);
    assert_eq!(inv.groups(), ["all", "db", "redis", "web"]);
    assert!(inv.source().ends_with("servers.tsv"));
    assert!(inv.warnings().is_empty(), "{:?}", inv.warnings());
}

#[test]
fn tsv_aliases_and_ansible_host_override() {
    let (_d, inv) = load_ok(
        "hosts.tsv",
        "host\tip\trole\tansible_host\nn1\t10.0.0.1\tk8s\t\nn2\t10.0.0.2\tk8s\tn2.example.com\nn3\t\t\t\n",
    );
    assert_eq!(inv.host("n1").unwrap().address, "10.0.0.1");
    assert_eq!(inv.host("n2").unwrap().address, "n2.example.com");
    assert_eq!(
        inv.host("n3").unwrap().address,
        "n3",
        "falls back to the name"
    );
    assert_eq!(names(&inv.select("k8s").unwrap()), ["n1", "n2"]);
}

#[test]
fn tsv_duplicate_host() {
    assert_load_errs(
        "servers.tsv",
        &[(
            "hostname\tip\nweb-01\t10.0.0.1\n# comment\n  web-01\t10.0.0.2\n",
            &["servers.tsv:4:3: duplicate host 'web-01' (first defined on line 2)"],
        )],
    );
}

#[test]
fn tsv_too_many_cells() {
    assert_load_errs(
        "servers.tsv",
        &[(
            "hostname\tip_private\tansible_port\nweb-02\t10.0.0.2\t22\textra\n",
            &["servers.tsv:2:20: this row has 4 cells but the header has 3 columns"],
        )],
    );
}

#[test]
fn tsv_too_few_cells() {
    assert_load_errs(
        "servers.tsv",
        &[(
            "hostname\tip_private\tgroups\nweb-03\t10.0.0.3\n",
            &["servers.tsv:2:16: this row has 2 cells but the header has 3 columns"],
        )],
    );
}

#[test]
fn tsv_spaces_instead_of_tabs() {
    assert_load_errs(
        "servers.tsv",
        &[(
            "hostname\tip\nweb-03   10.0.0.3\n",
            &["servers.tsv:2:", "tabs, not spaces"],
        )],
    );
}

#[test]
fn tsv_bad_port() {
    assert_load_errs(
        "servers.tsv",
        &[
            (
                "# servers\n\nhostname\tip_private\tansible_port\nweb-01\t10.0.0.1\t22x\n",
                &["servers.tsv:4:17: ansible_port must be a TCP port number"],
            ),
            (
                "hostname\tansible_port\nweb-01\t70000\n",
                &["servers.tsv:2:8: ansible_port"],
            ),
        ],
    );
}

#[test]
fn tsv_missing_hostname_column() {
    assert_load_errs(
        "servers.tsv",
        &[
            (
                "# header next\nserver\tip\nweb-01\t10.0.0.1\n",
                &["servers.tsv:2:1: header has no hostname column"],
            ),
            ("hostname ip\nweb-01 10.0.0.1\n", &["tabs, not spaces"]),
        ],
    );
}

#[test]
fn tsv_other_errors() {
    assert_load_errs(
        "servers.tsv",
        &[
            (
                "hostname\tip\n\t10.0.0.1\n",
                &["servers.tsv:2:1: hostname is empty"],
            ),
            (
                "hostname\thost\nweb-01\tx\n",
                &["servers.tsv:1:10: column 'host' duplicates column 'hostname'"],
            ),
            (
                "hostname\t\tip\nweb-01\tx\ty\n",
                &["servers.tsv:1:10: empty column header"],
            ),
            (
                "hostname\tgroups\nweb-01\tweb,front end\n",
                &["servers.tsv:2:12: group name 'front end' contains whitespace"],
            ),
            ("# only a comment\n\n", &["servers.tsv:1:1: no header row"]),
        ],
    );
}
