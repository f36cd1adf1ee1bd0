//! The Hetzner load balancer scripts (roles/hetzner_lb.rhai) rendered on
//! install-01: each one's targets are the inventory's hosts of the right
//! group; they parse (bash -n, shellcheck); they refuse to run while a value
//! no seed gives is unset; and, run against a stand-in hcloud CLI
//! (tests/fixtures/hcloud/hcloud, a project kept in a JSON file) on an empty
//! project, each builds the load balancer the seeds describe, a rerun changes
//! nothing, and drift is put back with exactly the commands that fix it.

use super::*;
use serde_json::{json, Value};

const DIR: &str = "opt/keybuzz-installer/review/lb";

/// A service as the seeds give it: (protocol, listen port, destination port,
/// health check protocol, health check port, HTTP path checked).
type Service = (
    &'static str,
    u64,
    u64,
    &'static str,
    u64,
    Option<&'static str>,
);

/// One load balancer the seeds describe, and its script.
struct Lb {
    file: &'static str,
    /// Its private address; None: the script takes it from LB_PRIVATE_IP.
    private_ip: Option<&'static str>,
    /// Whether it has a public interface; None: from LB_PUBLIC_INTERFACE.
    public: Option<bool>,
    services: &'static [Service],
    /// The inventory groups whose hosts are its targets.
    groups: &'static [&'static str],
}

const fn tcp(port: u64) -> Service {
    ("tcp", port, port, "tcp", port, None)
}

const INGRESS: &[Service] = &[
    ("http", 80, 31695, "http", 31695, Some("/healthz")),
    ("https", 443, 31695, "http", 31695, Some("/healthz")),
];

/// Rapport technique (Design définitif A, Réseau et Load Balancing) and the
/// Module 9 validation ("Configuration LB Hetzner Requise").
const LBS: &[Lb] = &[
    Lb {
        file: "lb-10.0.0.10.sh",
        private_ip: Some("10.0.0.10"),
        public: Some(false),
        services: &[tcp(5432), tcp(6432), tcp(6379), tcp(5672)],
        groups: &["haproxy"],
    },
    Lb {
        file: "lb-10.0.0.20.sh",
        private_ip: Some("10.0.0.20"),
        public: Some(false),
        services: &[tcp(3306)],
        groups: &["proxysql"],
    },
    Lb {
        file: "lb-ingress-10.0.0.5.sh",
        private_ip: Some("10.0.0.5"),
        public: Some(true),
        services: INGRESS,
        groups: &["k3s_masters", "k3s_workers"],
    },
    Lb {
        file: "lb-ingress-10.0.0.6.sh",
        private_ip: Some("10.0.0.6"),
        public: Some(true),
        services: INGRESS,
        groups: &["k3s_masters", "k3s_workers"],
    },
    Lb {
        file: "lb-k8s-api.sh",
        private_ip: None,
        public: None,
        services: &[tcp(6443)],
        groups: &["k3s_masters"],
    },
];

/// The values a test run gives the UNCONFIRMED variables: test values for a
/// stand-in project, not the fleet's (192.0.2.0/24 is documentation space).
const TEST_VALUES: &[(&str, &str)] = &[
    ("LB_NAME", "test-lb"),
    ("LB_TYPE", "lb11"),
    ("LB_LOCATION", "test-location"),
    ("HCLOUD_NETWORK", "test-network"),
    ("HCLOUD_CERTIFICATES", "test-cert-a,test-cert-b"),
    ("LB_PRIVATE_IP", "192.0.2.10"),
    ("LB_PUBLIC_INTERFACE", "disable"),
];
const NETWORK_ID: u64 = 7;
const CERTIFICATE_IDS: [u64; 2] = [91, 92];

fn script(lb: &Lb) -> PathBuf {
    file("install-01", &format!("{DIR}/{}", lb.file))
}

/// The (name, ip) of each `ensure_target NAME IP` line of a script.
fn targets_of(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("ensure_target "))
        .map(|rest| {
            let (name, ip) = rest.split_once(' ').unwrap();
            (name.to_string(), ip.to_string())
        })
        .collect()
}

/// The names listed under the script header's UNCONFIRMED line.
fn unconfirmed_of(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| !l.starts_with("# UNCONFIRMED"))
        .skip(1)
        .take_while(|l| l.starts_with("#   "))
        .map(|l| l[4..].split(':').next().unwrap().to_string())
        .collect()
}

/// The inventory rows the site may touch: (name, private IP) of `groups`,
/// without the `placeholder` and `unconfirmed` rows.
fn expected_targets(groups: &[&str]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = inventory_rows()
        .into_values()
        .filter(|row| {
            let g: Vec<&str> = row["groups"].split(',').collect();
            groups.iter().any(|w| g.contains(w))
                && !g.contains(&"placeholder")
                && !g.contains(&"unconfirmed")
        })
        .map(|row| (row["hostname"].clone(), row["ip_private"].clone()))
        .collect();
    out.sort();
    out
}

#[test]
fn hetzner_lb_scripts_target_the_inventory_hosts_of_their_groups() {
    let commands = read("install-01", "commands.sh");
    for lb in LBS {
        let text = std::fs::read_to_string(script(lb)).unwrap();
        let mut got = targets_of(&text);
        got.sort();
        let want = expected_targets(lb.groups);
        assert!(
            !want.is_empty(),
            "{}: no inventory host in {:?}",
            lb.file,
            lb.groups
        );
        assert_eq!(got, want, "{}: targets", lb.file);
        assert!(
            commands.contains(&format!("# write /{DIR}/{} mode=0750 ", lb.file)),
            "{}: not written 0750\n{commands}",
            lb.file
        );
    }
}

#[test]
fn hetzner_lb_scripts_parse() {
    for lb in LBS {
        let (ok, out) = run(Command::new("bash").arg("-n").arg(script(lb)));
        assert!(ok, "{out}");
    }
}

#[test]
#[ignore = "needs shellcheck: bash tests/run.sh installs it"]
fn shellcheck_accepts_the_hetzner_lb_scripts_and_the_hcloud_stand_in() {
    let sc = tool("shellcheck", "shellcheck");
    let mut files: Vec<PathBuf> = LBS.iter().map(script).collect();
    files.push(common::repo().join("tests/fixtures/hcloud/hcloud"));
    let (ok, out) = run(Command::new(sc).args(["-s", "bash"]).args(&files));
    assert!(ok, "{out}");
}

/// A stand-in project: every inventory host as a server (ID, private IP),
/// the test network and certificates, no load balancer.
fn empty_project() -> Value {
    let servers: Vec<Value> = inventory_rows()
        .values()
        .enumerate()
        .map(|(i, row)| {
            json!({ "id": i + 1, "name": row["hostname"],
                    "private_net": [{ "network": NETWORK_ID, "ip": row["ip_private"] }] })
        })
        .collect();
    json!({
        "next_id": 1000,
        "load_balancers": [],
        "servers": servers,
        "networks": [{ "id": NETWORK_ID, "name": "test-network" }],
        "certificates": [
            { "id": CERTIFICATE_IDS[0], "name": "test-cert-a" },
            { "id": CERTIFICATE_IDS[1], "name": "test-cert-b" },
        ],
    })
}

/// A stand-in project in a folder, and the scripts run against it.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(state: &Value) -> Project {
        let p = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        p.save(state);
        p
    }
    fn state_path(&self) -> PathBuf {
        self.dir.path().join("state.json")
    }
    fn state(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.state_path()).unwrap()).unwrap()
    }
    fn save(&self, state: &Value) {
        std::fs::write(self.state_path(), state.to_string()).unwrap();
    }
    /// The changing hcloud commands run so far, one a line.
    fn log(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("log"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }
    /// `lb`'s script with only PATH (the stand-in first) and `vars`: no
    /// HCLOUD_TOKEN or context of this machine reaches it.
    fn run(&self, lb: &Lb, vars: &[(&str, &str)]) -> (bool, String) {
        let fake = common::repo().join("tests/fixtures/hcloud");
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", fake.display());
        run(Command::new("bash")
            .arg(script(lb))
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.dir.path())
            .env("HCLOUD_FAKE_STATE", self.state_path())
            .env("HCLOUD_FAKE_LOG", self.dir.path().join("log"))
            .envs(vars.iter().copied()))
    }
    /// The load balancer the scripts made.
    fn lb(&self) -> Value {
        let s = self.state();
        let lbs = s["load_balancers"].as_array().unwrap();
        assert_eq!(lbs.len(), 1, "{s:#}");
        lbs[0].clone()
    }
}

#[test]
fn hetzner_lb_scripts_refuse_to_run_until_every_unconfirmed_value_is_set() {
    for lb in LBS {
        let text = std::fs::read_to_string(script(lb)).unwrap();
        let names = unconfirmed_of(&text);
        assert!(names.len() >= 4, "{}: UNCONFIRMED lists {names:?}", lb.file);
        for name in &names {
            let p = Project::new(&empty_project());
            let vars: Vec<(&str, &str)> = TEST_VALUES
                .iter()
                .copied()
                .filter(|(k, _)| k != name)
                .collect();
            let (ok, out) = p.run(lb, &vars);
            assert!(!ok, "{}: ran without {name}\n{out}", lb.file);
            assert!(
                out.contains(&format!("{name}: set {name},")) && out.contains("UNCONFIRMED"),
                "{}: the refusal names {name}\n{out}",
                lb.file
            );
            assert!(p.log().is_empty(), "{}: changed {:?}", lb.file, p.log());
        }
    }
}

/// The services of `have` (a load balancer), as the seeds' tuples.
fn services_of(have: &Value) -> Vec<(String, u64, u64, String, u64, Option<String>)> {
    have["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let hc = &s["health_check"];
            (
                s["protocol"].as_str().unwrap().to_string(),
                s["listen_port"].as_u64().unwrap(),
                s["destination_port"].as_u64().unwrap(),
                hc["protocol"].as_str().unwrap().to_string(),
                hc["port"].as_u64().unwrap(),
                hc["http"]["path"].as_str().map(String::from),
            )
        })
        .collect()
}

/// Checks that `have` is the load balancer the seeds describe as `lb`.
fn assert_matches_the_seeds(lb: &Lb, have: &Value, project: &Value) {
    let f = lb.file;
    assert_eq!(have["name"], "test-lb", "{f}");
    assert_eq!(have["load_balancer_type"]["name"], "lb11", "{f}");
    let ip = lb.private_ip.unwrap_or("192.0.2.10");
    assert_eq!(
        have["private_net"],
        json!([{ "network": NETWORK_ID, "ip": ip }]),
        "{f}"
    );
    assert_eq!(
        have["public_net"]["enabled"],
        json!(lb.public.unwrap_or(false)),
        "{f}"
    );
    let want: Vec<_> = lb
        .services
        .iter()
        .map(|(p, l, d, hp, hport, path)| {
            (
                p.to_string(),
                *l,
                *d,
                hp.to_string(),
                *hport,
                path.map(String::from),
            )
        })
        .collect();
    assert_eq!(services_of(have), want, "{f}");
    for s in have["services"].as_array().unwrap() {
        if s["health_check"]["protocol"] == "http" {
            assert_eq!(
                s["health_check"]["http"]["status_codes"],
                json!(["200"]),
                "{f}"
            );
        }
        if s["protocol"] == "https" {
            assert_eq!(s["http"]["certificates"], json!(CERTIFICATE_IDS), "{f}");
        }
    }
    // Targets: the servers of the inventory's hosts of the groups, by ID,
    // over the private network.
    let id_of = |name: &str| {
        project["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["id"]
            .clone()
    };
    let want: Vec<Value> = expected_targets(lb.groups)
        .iter()
        .map(|(name, _)| json!({ "type": "server", "server": { "id": id_of(name) }, "use_private_ip": true }))
        .collect();
    let mut got = have["targets"].as_array().unwrap().clone();
    got.sort_by_key(|t| t["server"]["id"].as_u64());
    let mut want = want;
    want.sort_by_key(|t| t["server"]["id"].as_u64());
    assert_eq!(got, want, "{f}");
}

#[test]
#[ignore = "needs jq: bash tests/run.sh installs it"]
fn hetzner_lb_scripts_build_the_seeds_load_balancers_then_change_nothing() {
    tool("jq", "the load balancer scripts");
    for lb in LBS {
        let f = lb.file;
        let start = empty_project();
        let p = Project::new(&start);
        let (ok, out) = p.run(lb, TEST_VALUES);
        assert!(ok, "{f}: first run\n{out}");
        assert_matches_the_seeds(lb, &p.lb(), &start);
        let first = p.log();
        assert!(
            first[0].starts_with(
                "load-balancer create --name test-lb --type lb11 --location test-location"
            ),
            "{f}: {first:?}"
        );

        let (ok, out) = p.run(lb, TEST_VALUES);
        assert!(ok, "{f}: rerun\n{out}");
        assert_eq!(p.log(), first, "{f}: the rerun changed something\n{out}");

        // Drift: a service's destination, a target gone, the public
        // interface flipped. The rerun puts back exactly those.
        let mut s = p.state();
        let have = &mut s["load_balancers"][0];
        have["services"][0]["destination_port"] = json!(1);
        let gone = have["targets"].as_array_mut().unwrap().remove(0);
        let public = have["public_net"]["enabled"].as_bool().unwrap();
        have["public_net"]["enabled"] = json!(!public);
        p.save(&s);
        let (ok, out) = p.run(lb, TEST_VALUES);
        assert!(ok, "{f}: run after drift\n{out}");
        let fixes: Vec<String> = p.log()[first.len()..].to_vec();
        let name = start["servers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == gone["server"]["id"])
            .unwrap()["name"]
            .as_str()
            .unwrap()
            .to_string();
        let want = [
            format!(
                "load-balancer {}-public-interface test-lb",
                if public { "enable" } else { "disable" }
            ),
            format!(
                "load-balancer update-service test-lb --protocol {} --listen-port {} ",
                lb.services[0].0, lb.services[0].1
            ),
            format!("load-balancer add-target test-lb --server {name} --use-private-ip"),
        ];
        assert_eq!(fixes.len(), want.len(), "{f}: {fixes:#?}\n{out}");
        for (got, want) in fixes.iter().zip(&want) {
            assert!(
                got.starts_with(want.as_str()),
                "{f}: {got:?} is not {want:?}"
            );
        }
        assert_matches_the_seeds(lb, &p.lb(), &start);
    }
}

#[test]
#[ignore = "needs jq: bash tests/run.sh installs it"]
fn hetzner_lb_scripts_leave_what_the_seeds_do_not_name_and_refuse_to_move_an_address() {
    tool("jq", "the load balancer scripts");
    let lb = &LBS[0];
    let p = Project::new(&empty_project());
    assert!(p.run(lb, TEST_VALUES).0);
    let mut s = p.state();
    let have = &mut s["load_balancers"][0];
    have["services"].as_array_mut().unwrap().push(json!({ "protocol": "tcp", "listen_port": 9999, "destination_port": 9999, "health_check": { "protocol": "tcp", "port": 9999 } }));
    have["targets"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "type": "label_selector", "label_selector": { "selector": "role=other" } }));
    p.save(&s);
    let before = p.log();
    let (ok, out) = p.run(lb, TEST_VALUES);
    assert!(ok, "{out}");
    assert_eq!(p.log(), before, "{out}");
    assert!(out.contains("WARNING: a service on 9999"), "{out}");
    assert!(
        out.contains("WARNING: target label_selector role=other"),
        "{out}"
    );

    // Attached at another address: refused, nothing changed.
    let mut s = p.state();
    s["load_balancers"][0]["private_net"][0]["ip"] = json!("192.0.2.99");
    p.save(&s);
    let (ok, out) = p.run(lb, TEST_VALUES);
    assert!(!ok, "{out}");
    assert!(out.contains("at 192.0.2.99, not 10.0.0.10"), "{out}");
    assert_eq!(p.log(), before, "{out}");
}
