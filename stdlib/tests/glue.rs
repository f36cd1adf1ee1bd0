//! The Rhai side: argument mistakes surface at the call's position with the
//! op's name, before anything reaches a host. That every op is registered
//! with exactly its declared call forms is checked in `src/lib.rs`; that
//! every doc example runs, by `tests/doc_examples.rs` at the top level.

use rhai::Engine;

fn engine() -> Engine {
    let mut engine = Engine::new();
    kbz_stdlib::register(&mut engine);
    engine
}

/// Runs a script that must fail; returns the message and the line it points at.
fn fails(script: &str) -> (String, Option<usize>) {
    let err = engine().run(script).expect_err("the script should fail");
    (err.to_string(), err.position().line())
}

#[test]
fn typos_point_at_the_call() {
    let (msg, line) = fails("let x = 1;\nfile(#{ pth: \"/x\" });");
    assert!(
        msg.contains("unknown parameter 'pth' for file(); did you mean 'path'?"),
        "{msg}"
    );
    assert_eq!(line, Some(2));
}

/// Runs each `(script, needle)`: the script must fail with a message
/// containing the needle.
fn assert_fail_with(cases: &[(&str, &str)]) {
    for (script, needle) in cases {
        let (msg, _) = fails(script);
        assert!(msg.contains(needle), "{msg}");
    }
}

#[test]
fn op_checks_name_the_op() {
    assert_fail_with(&[
        (
            "copy(#{ dest: \"etc/motd\", content: \"x\" });",
            "copy(): dest must be an absolute path",
        ),
        ("command(\"ps aux | grep app\");", "use shell() for pipes"),
        (
            "service(\"nginx\");",
            "service(): needs state, enabled or daemon_reload",
        ),
        ("package([\"nginx\", 3]);", "bad arguments for package()"),
    ]);
}

#[test]
fn positional_forms() {
    assert_fail_with(&[
        (
            "template(\"a.j2\", \"/etc/a\", #{ src: \"b.j2\" });",
            "template(): 'src' is given twice",
        ),
        (
            "command(\"true\", #{ cmd: \"false\" });",
            "'cmd' is given twice",
        ),
        (
            "shell(\"true\", #{ creates: \"relative\" });",
            "shell(): creates must be an absolute path",
        ),
        ("package(\"Nginx\");", "not a Debian package name"),
    ]);
}

#[test]
fn valid_calls_reach_the_engine() {
    // Without a running play there is no host: the call gets past argument
    // checking (tags included) and the engine refuses it.
    for call in [
        "file(#{ path: \"/x\", tags: [\"base\"] })",
        "template(\"a.j2\", \"/x\")",
        "package([\"curl\", \"jq\"], #{ state: \"latest\" })",
        "service(\"nginx\", #{ state: \"started\" })",
        "wait_for(#{ port: 22 })",
        "swap_off()",
        "docker_image(\"redis:7.2.4\")",
        "ufw(#{ rules: [#{ rule: \"allow\", port: 22, proto: \"tcp\" }] })",
        "facts()",
    ] {
        let (msg, _) = fails(call);
        for bad in [
            "unknown parameter",
            "bad arguments",
            "Function not found",
            "needs",
        ] {
            assert!(!msg.contains(bad), "{call}: {msg}");
        }
    }
}
