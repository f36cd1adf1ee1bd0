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

#[test]
fn op_checks_name_the_op() {
    let (msg, _) = fails("copy(#{ dest: \"etc/motd\", content: \"x\" });");
    assert!(
        msg.contains("copy(): dest must be an absolute path"),
        "{msg}"
    );
    let (msg, _) = fails("command(\"ps aux | grep app\");");
    assert!(msg.contains("use shell() for pipes"), "{msg}");
    let (msg, _) = fails("service(\"nginx\");");
    assert!(
        msg.contains("service(): needs state, enabled or daemon_reload"),
        "{msg}"
    );
    let (msg, _) = fails("package([\"nginx\", 3]);");
    assert!(msg.contains("bad arguments for package()"), "{msg}");
}

#[test]
fn positional_forms() {
    let (msg, _) = fails("template(\"a.j2\", \"/etc/a\", #{ src: \"b.j2\" });");
    assert!(msg.contains("template(): 'src' is given twice"), "{msg}");
    let (msg, _) = fails("command(\"true\", #{ cmd: \"false\" });");
    assert!(msg.contains("'cmd' is given twice"), "{msg}");
    let (msg, _) = fails("shell(\"true\", #{ creates: \"relative\" });");
    assert!(
        msg.contains("shell(): creates must be an absolute path"),
        "{msg}"
    );
    let (msg, _) = fails("package(\"Nginx\");");
    assert!(msg.contains("not a Debian package name"), "{msg}");
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
