use std::path::Path;
use std::process::Command;

use super::*;
use crate::programs_started::ProgramsStarted;

/// The route's lines before they read sysfs with `read` and took the
/// interface's addresses from the facts' listing: the oracle the new lines
/// must agree with.
const ROUTE_BY_PROGRAMS: &str = r#"r=$(ip -4 route get 8.8.8.8 2>/dev/null | head -n1); echo "route4=$r"
d=$(echo "$r" | awk '$1 == "8.8.8.8" {for (i = 1; i < NF; i++) if ($i == "dev") {print $(i+1); exit}}')
if [ -n "$d" ]; then s=/sys/class/net/$d; echo "route4_link=$(cat $s/address 2>/dev/null)/$(cat $s/mtu 2>/dev/null)/$(cat $s/type 2>/dev/null)/$([ -d $s/bridge ] && echo bridge)$([ -d $s/bonding ] && echo bonding)"; ip -o -4 addr show dev "$d" 2>/dev/null | sed 's/^/route4_inet=/'; fi"#;

/// The variables Python's `getpass.getuser()` reads, in its order.
const USER_VARS: [&str; 4] = ["LOGNAME", "USER", "LNAME", "USERNAME"];

/// `script` under `shell` with `path` as PATH (the caller's when `None`).
fn shell(shell: &str, script: &str, path: Option<&Path>) -> Command {
    let mut cmd = Command::new(shell);
    cmd.args(["-c", script]);
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    cmd
}

/// What `cmd` prints on stdout.
fn stdout(cmd: &mut Command) -> String {
    let out = cmd.output().expect("the program runs");
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// Runs `script` under `shell` with `path` as PATH, its stdout.
fn run(sh: &str, script: &str, path: Option<&Path>) -> String {
    stdout(&mut shell(sh, script, path))
}

/// `cmd` with the user variables `set` only (the others removed).
fn with_user_vars<'c>(cmd: &'c mut Command, set: &[(&str, &str)]) -> &'c mut Command {
    for var in USER_VARS {
        cmd.env_remove(var);
    }
    cmd.envs(set.iter().copied())
}

/// What the programs the facts script no longer starts say about this
/// machine, read as the script read them before.
fn facts_by_programs() -> Facts {
    let say = |cmd: &str| run("sh", cmd, None).trim().to_string();
    let mut route = None;
    for line in run("sh", ROUTE_BY_PROGRAMS, None).lines() {
        match line.split_once('=') {
            Some(("route4", v)) => route = DefaultRoute::parse(v.trim()),
            Some(("route4_link", v)) => route.iter_mut().for_each(|r| r.link(v)),
            Some(("route4_inet", v)) => route.iter_mut().for_each(|r| r.inet(v)),
            _ => {}
        }
    }
    let listing = say("ip -o -4 addr show | awk '{print \"x \" $2 \" x \" $4}'");
    Facts {
        hostname: say("hostname -s"),
        kernel: say("uname -r"),
        arch: say("uname -m"),
        cpus: say("nproc").parse().unwrap(),
        memory_mb: say("awk '/^MemTotal:/ {print $2}' /proc/meminfo")
            .parse::<u64>()
            .unwrap()
            / 1024,
        addresses: listing.lines().filter_map(Address::listed).collect(),
        default_route: route.map(Box::new),
        ..Facts::default()
    }
}

#[test]
fn the_facts_are_the_replaced_programs_and_cost_two_programs_under_dash_and_bash() {
    let expected = facts_by_programs();
    let (id_user, fqdn) = (run("sh", "id -un", None), run("sh", "hostname -f", None));
    for sh in ["/bin/sh", "/bin/bash"] {
        for (vars, user, started) in [
            (&[("USER", "deploy")][..], "deploy", &["hostname", "ip"][..]),
            (&[], id_user.trim(), &["hostname", "id", "ip"][..]),
        ] {
            let programs = ProgramsStarted::wrapping(&[
                "hostname", "ip", "id", "uname", "nproc", "awk", "cat", "head", "sed", "cut",
            ]);
            let mut cmd = shell(sh, &script(true), Some(&programs.path()));
            let out = stdout(with_user_vars(&mut cmd, vars));
            let facts = Facts::parse(&out.lines().collect::<Vec<_>>());
            let mine = Facts {
                os_id: String::new(),
                os_version: String::new(),
                os_codename: String::new(),
                os_pretty: String::new(),
                sftp_server: None,
                systemd: false,
                ..facts.clone()
            };
            let want = Facts {
                user: user.into(),
                fqdn: fqdn.trim().into(),
                ..expected.clone()
            };
            assert_eq!(mine, want, "{sh} {vars:?}: {out}");
            assert_eq!(programs.started(), started, "{sh} {vars:?}");
        }
    }
}

/// Without a play that gathers facts, the opening asks only the engine's
/// own (user, SFTP server, systemd), the same as gathered, and starts no
/// program for them: not `hostname -f`, not `ip`.
#[test]
fn the_engines_own_facts_start_no_program() {
    for sh in ["/bin/sh", "/bin/bash"] {
        let programs = ProgramsStarted::wrapping(&["hostname", "ip", "id", "uname", "nproc"]);
        let mut own = shell(sh, &script(false), Some(&programs.path()));
        let own = stdout(with_user_vars(&mut own, &[("USER", "deploy")]));
        let own = Facts::parse(&own.lines().collect::<Vec<_>>());
        assert_eq!(programs.started(), Vec::<String>::new(), "{sh}");
        let all = stdout(with_user_vars(
            &mut shell(sh, &script(true), None),
            &[("USER", "deploy")],
        ));
        let all = Facts::parse(&all.lines().collect::<Vec<_>>());
        let engines = |f: &Facts| (f.user.clone(), f.sftp_server.clone(), f.systemd);
        assert_eq!(engines(&own), engines(&all), "{sh}");
        assert_eq!(own.user, "deploy");
        assert_eq!((own.fqdn.as_str(), own.addresses.len()), ("", 0), "{sh}");
    }
}

#[test]
fn the_user_is_whom_pythons_getpass_names() {
    let cases: [&[(&str, &str)]; 5] = [
        &[
            ("LOGNAME", "a"),
            ("USER", "b"),
            ("LNAME", "c"),
            ("USERNAME", "d"),
        ],
        &[("LOGNAME", ""), ("USER", "b"), ("USERNAME", "d")],
        &[("LNAME", "c"), ("USERNAME", "d")],
        &[("USERNAME", "d")],
        &[],
    ];
    let getuser = "import getpass; print(getpass.getuser())";
    for vars in cases {
        let python = stdout(with_user_vars(
            Command::new("python3").args(["-c", getuser]),
            vars,
        ));
        let out = stdout(with_user_vars(
            &mut shell("/bin/sh", &script(true), None),
            vars,
        ));
        let facts = Facts::parse(&out.lines().collect::<Vec<_>>());
        assert_eq!(facts.user, python.trim(), "{vars:?}");
    }
}

#[test]
fn a_cpu_list_counts_as_nproc_counts_it() {
    assert_eq!(count_cpus("0-3,8,10-11"), Some(7));
    assert_eq!(count_cpus("5"), Some(1));
    assert_eq!(count_cpus(""), None);
    assert_eq!(count_cpus("3-1"), None);
}

#[test]
fn the_route_takes_its_interfaces_addresses_from_the_listing() {
    let facts = Facts::parse(&[
        "route4=8.8.8.8 via 10.0.0.1 dev eth0 src 10.0.0.5 uid 0 ",
        "addr4=1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever",
        "addr4=2: eth0    inet 10.0.0.5/24 brd 10.0.0.255 scope global eth0\\       valid_lft forever",
        "addr4=3: eth1    inet 10.1.0.5/24 brd 10.1.0.255 scope global eth1\\       valid_lft forever",
    ]);
    let route = facts.default_route.unwrap();
    assert_eq!(route.inets.len(), 1);
    assert_eq!(route.inets[0].address, "10.0.0.5");
    assert_eq!(
        facts
            .addresses
            .iter()
            .map(|a| (a.interface.as_str(), a.address.as_str(), a.prefix))
            .collect::<Vec<_>>(),
        [
            ("lo", "127.0.0.1", 8),
            ("eth0", "10.0.0.5", 24),
            ("eth1", "10.1.0.5", 24)
        ]
    );
}
