//! The whole run's read-only commands, waits and `unless` guards asked
//! ahead, in the opening round trip (`engine/src/run/foresight.rs`), on
//! local hosts: a no-op rerun of several plays is one round trip per host,
//! and a command or a guard that reads what an earlier play changed runs
//! live. The same playbook runs on the lab in `round_trips.rs`.

mod common;

use common::lab::{credentials, secret};
use common::Test;

/// The playbook both test files run.
const SITE: &str = include_str!("fixtures/foresight/site.rhai");

/// [`SITE`] on `hosts` local hosts h1..hN writing under the project's
/// `state/`, with the fixture credentials, a kept cache and the waits'
/// port `port`.
fn local(hosts: usize, port: u16) -> Test {
    let t = local_hosts(hosts, SITE);
    let (tmp, creds) = (t.at("state"), credentials(t.path()));
    t.var("tmp", tmp.display())
        .var("port", port)
        .arg("--credentials")
        .arg(creds)
}

/// `playbook` on `hosts` local hosts h1..hN, group `local`, with a
/// `state/` folder and a kept cache.
fn local_hosts(hosts: usize, playbook: &str) -> Test {
    Test::new()
        .playbook(playbook)
        .local_hosts(hosts)
        .dir("state")
        .cache()
}

fn read(t: &Test, rel: &str) -> String {
    std::fs::read_to_string(t.at(rel)).unwrap_or_default()
}

/// Every file under `dir`, read whole.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match path.is_dir() {
            true => found.extend(files_under(&path)),
            false => found.push((path.clone(), std::fs::read(&path).unwrap())),
        }
    }
    found
}

#[test]
fn a_no_op_rerun_of_four_plays_is_one_round_trip_per_host() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = local(2, port).var("level", 1);
    let first = t.run();
    first.assert_code(0);
    for host in ["h1", "h2"] {
        assert_eq!(read(&t, &format!("state/{host}/seen-1")), "1\n");
        assert_eq!(read(&t, &format!("state/{host}/seen-2")), "1\n");
        assert_eq!(read(&t, &format!("state/{host}/token")), "token-set\n");
        assert_eq!(read(&t, &format!("state/{host}/mode")), "750\n");
        assert_eq!(read(&t, &format!("state/{host}/memory")), "memory-known\n");
    }
    // The facts, the probes of the four plays, their five read-only
    // commands (one behind a branch on the facts, which the opening
    // rehearses with the last run's), two waits and one `unless` guard: all
    // in the opening;
    // nothing else to ask.
    t.run().assert_each_host(0, 1);

    // The cache keeps the probes, never a command's env (a secret) nor its
    // encoding in the opening's script.
    let secret = secret("REDIS_PASSWORD");
    let encoded = {
        use base64::Engine;
        let line = format!("export KBZ_TOKEN='{secret}'\n");
        base64::engine::general_purpose::STANDARD.encode(line)
    };
    let cached = files_under(&t.at("cache"));
    assert!(!cached.is_empty(), "the cache is kept");
    for (path, bytes) in cached {
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&secret) && !text.contains(&encoded),
            "{} holds the secret",
            path.display()
        );
    }
}

#[test]
fn a_command_reading_what_an_earlier_play_changed_runs_live() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = local(2, port);
    t.run_with(&["-e", "level=1"]).assert_code(0);
    // The opening reads `level` = 1; play 1 then writes 2, and both plays'
    // commands, and play 3's guard, run after that change, must act on 2.
    let changed = t.run_with(&["-e", "level=2"]);
    changed.assert_code(0);
    for host in ["h1", "h2"] {
        assert_eq!(
            read(&t, &format!("state/{host}/seen-1")),
            "2\n",
            "{}",
            changed.text()
        );
        assert_eq!(
            read(&t, &format!("state/{host}/seen-2")),
            "2\n",
            "{}",
            changed.text()
        );
        assert_eq!(
            read(&t, &format!("state/{host}/level-copy")),
            "2\n",
            "{}",
            changed.text()
        );
    }
    t.run_with(&["-e", "level=2"]).assert_each_host(0, 1);
}

/// A run_once play between plays on every host: its read-only command
/// appends the name of the host it runs on to `asked`, and it sets what
/// the last play's read-only command reads (as the site's Redis master).
const RUN_ONCE: &str = r#"
let chosen = #{};
play("every host", "all", |host| {
    file(#{ path: host.vars.tmp + "/" + host.name, state: "directory", mode: "0755" });
});
play("once", "all", #{ run_once: true }, |host| {
    shell(`echo ${host.name} >> ${host.vars.tmp}/asked`, #{ readonly: true });
    chosen["dir"] = host.vars.tmp;
});
play("after", "all", |host| {
    shell(`test -d ${chosen.dir}/${host.name}`, #{ readonly: true });
});
"#;

#[test]
fn a_run_once_play_is_asked_ahead_only_on_the_host_it_runs_on() {
    let t = local_hosts(3, RUN_ONCE);
    let tmp = t.at("state");
    let t = t.var("tmp", tmp.display());
    // The first run: asked ahead on h1 and, after the first play's
    // changes, live again there; never on h2 or h3, which it skips.
    t.run().assert_code(0);
    assert_eq!(read(&t, "state/asked"), "h1\nh1\n");
    // A no-op rerun: asked once, ahead, on h1 only; h1's play uses the
    // answer. Every host still rehearses the play, for what it sets: the
    // last play's command is asked ahead too, one round trip per host.
    t.run().assert_each_host(0, 1);
    assert_eq!(read(&t, "state/asked"), "h1\nh1\nh1\n");
    // Under --limit, the play runs on the first host of the limit.
    t.run_with(&["--limit", "h2,h3"]).assert_each_host(0, 1);
    assert_eq!(read(&t, "state/asked"), "h1\nh1\nh1\nh2\n");
}
