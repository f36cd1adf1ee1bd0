//! The README's "Output and exit codes" section, held to the code: every
//! exit code of [`crate::exit::CODES`] and every `--output json` event is in
//! its tables.

use kbz_engine::report::Event;

/// The README's "Output and exit codes" section.
fn section() -> &'static str {
    let readme = include_str!("../README.md");
    let start = readme
        .find("## Output and exit codes")
        .expect("README has an \"Output and exit codes\" section");
    let rest = &readme[start + 3..];
    &readme[start..start + 3 + rest.find("\n## ").unwrap_or(rest.len())]
}

/// Every event's `event` name in JSON, as [`name`] spells them.
const EVENTS: [&str; 12] = [
    "run_start",
    "play_start",
    "host_start",
    "op_start",
    "op_end",
    "unreachable",
    "host_failed",
    "warn",
    "log",
    "host_end",
    "play_end",
    "run_end",
];

/// An event's `event` name in JSON. The match has no wildcard: a new event
/// does not compile here until it is named (then add it to [`EVENTS`] and
/// the README's table).
fn name(event: &Event) -> &'static str {
    match event {
        Event::RunStart { .. } => "run_start",
        Event::PlayStart { .. } => "play_start",
        Event::HostStart { .. } => "host_start",
        Event::OpStart { .. } => "op_start",
        Event::OpEnd { .. } => "op_end",
        Event::Unreachable { .. } => "unreachable",
        Event::HostFailed { .. } => "host_failed",
        Event::Warn { .. } => "warn",
        Event::Log { .. } => "log",
        Event::HostEnd { .. } => "host_end",
        Event::PlayEnd { .. } => "play_end",
        Event::RunEnd { .. } => "run_end",
    }
}

#[test]
fn every_exit_code_is_documented() {
    for (code, _) in crate::exit::CODES {
        assert!(
            section().contains(&format!("| `{code}` |")),
            "README's exit code table lacks `{code}`"
        );
    }
}

#[test]
fn every_json_event_is_documented() {
    let events = [
        Event::HostEnd { host: "h".into() },
        Event::Log {
            host: None,
            message: "m".into(),
        },
    ];
    for event in &events {
        let json = serde_json::to_value(event).unwrap();
        assert_eq!(json["event"], name(event), "name() spells it as serde does");
    }
    for n in EVENTS {
        assert!(
            section().contains(&format!("| `{n}` |")),
            "README's event table lacks `{n}`"
        );
    }
}
