//! The binary's own process: what it sets up before a run and keeps from
//! the commands it starts. The host is this machine (`ansible_connection:
//! local`), so a command can look at the running kbz-play.

use crate::common::{Outcome, Test};

/// Prints the `MALLOC_ARENA_MAX` the running kbz-play was started with
/// (its `/proc/PID/environ`, found up the command's parents) and the one
/// the command itself sees.
const ARENA_CAPS: &str = r#"
play("one", "all", |host| {
    let r = shell("p=$$; while [ \"$p\" -gt 1 ] && [ \"$(cat /proc/$p/comm)\" != kbz-play ]; do p=$(cut -d' ' -f4 /proc/$p/stat); done; "
        + "printf 'run=%s command=%s\\n' \"$(tr '\\0' '\\n' < /proc/$p/environ | grep '^MALLOC_ARENA_MAX=')\" \"$MALLOC_ARENA_MAX\"",
        #{ readonly: true });
    log(r.stdout);
});
"#;

/// A run caps glibc's malloc arenas (`src/arenas.rs`: a sixth of the peak
/// memory of a 250-host run): the running kbz-play has the cap in force, in
/// the environment it was started with, and the commands it starts do not
/// inherit it. A cap the user set stays theirs, commands included.
#[test]
fn a_run_caps_its_malloc_arenas_and_its_commands_never_see_the_cap() {
    let t = Test::new()
        .playbook(ARENA_CAPS)
        .inventory(
            "hostname\tip_private\tgroups\tansible_connection\nh1\t127.0.0.1\tlocal\tlocal\n",
        )
        .text_output();
    for (users_cap, said) in [
        (None, "run=MALLOC_ARENA_MAX=2 command=\n"),
        (Some("8"), "run=MALLOC_ARENA_MAX=8 command=8\n"),
    ] {
        let mut cmd = t.command();
        match users_cap {
            None => cmd.env_remove("MALLOC_ARENA_MAX"),
            Some(cap) => cmd.env("MALLOC_ARENA_MAX", cap),
        };
        let out = Outcome::new(cmd.output().expect("kbz-play runs"));
        out.assert_code(0);
        assert!(out.stdout().contains(said), "{said}: {}", out.text());
    }
}
