//! Hosts the site must not touch, or not firewall: the `unconfirmed` rows of
//! servers.tsv are in no play (one warning names them), and base_os enables
//! ufw's default deny only where the host's groups declare the ports it
//! serves, or the host opts in with `firewall_default_deny: true`.

use super::*;

/// The lines of a host's commands.sh that change ufw (the apt line that
/// installs the package aside).
fn ufw_commands(commands: &str) -> Vec<&str> {
    commands.lines().filter(|l| l.starts_with("ufw ")).collect()
}

const DEFAULT_DENY: &str = "ufw --force default deny incoming";

#[test]
fn unconfirmed_hosts_are_in_no_play_and_named_in_one_warning() {
    let site = site();
    let unconfirmed = hosts_in("unconfirmed");
    assert_eq!(unconfirmed.len(), 20, "the legacy rows: {unconfirmed:?}");
    let warnings: Vec<&str> = site
        .log
        .lines()
        .filter(|l| l.contains("unconfirmed hosts left out of every play"))
        .collect();
    assert_eq!(warnings.len(), 1, "one warning:\n{}", site.log);
    assert!(warnings[0].starts_with("WARNING"), "{}", warnings[0]);
    let (_, named) = warnings[0]
        .rsplit_once("): ")
        .unwrap_or_else(|| panic!("no list of names: {}", warnings[0]));
    let mut named: Vec<&str> = named.split(", ").collect();
    let mut expected: Vec<&str> = unconfirmed.iter().map(String::as_str).collect();
    named.sort_unstable();
    expected.sort_unstable();
    assert_eq!(named, expected, "{}", warnings[0]);
    for host in &unconfirmed {
        assert!(!file(host, "").exists(), "{host} got files");
    }
    // Nor in any cluster's member list, Kubespray inventory or config.
    for f in walk(&site.out) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).to_string();
        for host in &unconfirmed {
            assert!(!text.contains(host.as_str()), "{host} in {}", f.display());
        }
    }
}

#[test]
fn base_os_leaves_ufw_alone_where_no_group_declares_ports() {
    let site = site();
    // install-01 (groups install, kubespray) serves ports no seed lists.
    let install = read("install-01", "commands.sh");
    assert!(
        install.contains("10-keybuzz.conf"),
        "base_os ran:\n{install}"
    );
    assert_eq!(ufw_commands(&install), Vec::<&str>::new());
    assert!(
        site.log.lines().any(|l| l.contains("install-01")
            && l.contains("ufw left as it is")
            && l.starts_with("WARNING")),
        "no warning naming install-01:\n{}",
        site.log
    );
    // Every host whose groups declare ports keeps its default deny.
    for (host, groups) in fleet() {
        let skipped = ["install", "placeholder", "unconfirmed"];
        if groups.iter().any(|g| skipped.contains(&g.as_str())) {
            continue;
        }
        assert!(
            read(&host, "commands.sh").contains(DEFAULT_DENY),
            "{host} ({groups:?}) lost its firewall"
        );
    }
}

#[test]
fn a_host_opts_in_or_out_of_the_default_deny() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.yml");
    std::fs::write(
        &inventory,
        "all:\n  hosts:\n\
         \x20   mail-a:\n      ansible_host: 192.0.2.10\n\
         \x20   mail-b:\n      ansible_host: 192.0.2.11\n      firewall_default_deny: true\n\
         \x20   redis-c:\n      ansible_host: 192.0.2.12\n      firewall_default_deny: false\n\
         \x20   redis-d:\n      ansible_host: 192.0.2.13\n\
         \x20 children:\n\
         \x20   mail:\n      hosts:\n        mail-a: {}\n        mail-b: {}\n\
         \x20   redis:\n      hosts:\n        redis-c: {}\n        redis-d: {}\n",
    )
    .unwrap();
    let out = dir.path().join("review");
    let o = render(&inventory, &out, &["--tags", "base"]);
    let log = common::text(&o);
    assert!(o.status.success(), "render failed\n{log}");
    let commands = |h: &str| std::fs::read_to_string(out.join(h).join("commands.sh")).unwrap();
    for (host, deny) in [
        ("mail-a", false),
        ("mail-b", true),
        ("redis-c", false),
        ("redis-d", true),
    ] {
        let cmds = commands(host);
        assert!(
            cmds.contains("10-keybuzz.conf"),
            "{host}: no base_os\n{log}"
        );
        let ufw = ufw_commands(&cmds);
        if deny {
            assert!(ufw.contains(&DEFAULT_DENY), "{host}: {ufw:?}");
            assert!(
                ufw.contains(&"ufw allow 22/tcp comment ssh"),
                "{host}: {ufw:?}"
            );
        } else {
            assert_eq!(ufw, Vec::<&str>::new(), "{host}");
            assert!(
                log.lines()
                    .any(|l| l.contains(host) && l.contains("ufw left as it is")),
                "{host}: no warning\n{log}"
            );
        }
    }
    // An inventory without marker groups gets no warning about them.
    assert!(
        !log.contains("placeholder") && !log.contains("unconfirmed"),
        "{log}"
    );
}
