//! A host or its connection goes away mid-run.

use std::time::Duration;

use crate::common::lab::lab_alone;
use crate::{Restart, LOST, PEER};

#[test]
#[ignore = "needs the lab: bash tests/lab/lab.sh up 18"]
fn a_host_lost_mid_run_is_unreachable_and_the_others_finish() {
    let (_guard, lab) = lab_alone();
    let (lost, peer) = (lab.hosts[LOST].0.clone(), lab.hosts[PEER].0.clone());
    let playbook = format!(
        r#"
play("p", "all", |host| {{
    if host.name == "{lost}" {{ command("sleep 30"); }}
    command("sleep 6");
    command("true");
}});
"#
    );
    let t = lab
        .test()
        .playbook(&playbook)
        .args(["--limit", &format!("{lost},{peer}")]);
    let restart = Restart {
        lab: &lab,
        host: LOST,
    };
    let out = std::thread::scope(|s| {
        let run = s.spawn(|| t.run());
        // The command has started once the run has connected and probed.
        std::thread::sleep(Duration::from_secs(3));
        lab.lab_sh(&["stop", &lost]);
        run.join().unwrap()
    });
    drop(restart);
    out.assert_code(4);
    let recap = out.recap();
    let stats = |name: &str| recap.iter().find(|(h, _)| h == name).unwrap().1.clone();
    assert_eq!(stats(&lost)["unreachable"], true, "{}", out.text());
    assert_eq!(stats(&lost)["failed"], 0, "{}", out.text());
    assert_eq!(
        stats(&peer)["changed"],
        2,
        "{peer} finished: {}",
        out.text()
    );
    assert_eq!(out.events_named("unreachable").len(), 1, "{}", out.text());
}
