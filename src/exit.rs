//! Every exit code kbz-play returns, in one table, shown by `--help` and the
//! man page. The README's "Output and exit codes" section lists the same
//! (`readme.rs` checks it); a run's codes come from
//! [`kbz_engine::report::exit_code`] (a test below checks they are here).

/// Every host succeeded; or a check or listing found nothing wrong.
pub const OK: u8 = 0;
/// An error before any host was touched: bad arguments (clap's usage
/// errors exit 2 before this code exists, like any clap program), an
/// unreadable inventory, a playbook that does not load.
pub const ERROR: u8 = 1;
/// `--syntax-check` found an error in the playbook (ansible-playbook's
/// parser-error code).
pub const SYNTAX_ERROR: u8 = 4;

/// Each code with what it means, as the README says it.
pub const CODES: &[(i32, &str)] = &[
    (
        0,
        "every host succeeded (changed or not); --syntax-check, --list-*: no error",
    ),
    (
        1,
        "an error before any host was touched: playbook, inventory, -e",
    ),
    (
        2,
        "a host failed (others may be unreachable); a usage error (unknown flag, missing argument)",
    ),
    (
        4,
        "a host was unreachable and none failed; --syntax-check: the playbook has an error",
    ),
    (130, "Ctrl-C stopped the run"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use kbz_engine::report::{exit_code, HostStats};

    #[test]
    fn every_code_is_in_the_table() {
        let host = |stats: HostStats| vec![("h".to_string(), stats)];
        let recaps = [
            host(HostStats::default()),
            host(HostStats {
                failed: 1,
                ..HostStats::default()
            }),
            host(HostStats {
                unreachable: true,
                ..HostStats::default()
            }),
            host(HostStats {
                interrupted: true,
                ..HostStats::default()
            }),
        ];
        let known = |code: i32| CODES.iter().any(|(c, _)| *c == code);
        for recap in &recaps {
            let code = exit_code(recap);
            assert!(known(code), "the recap's exit code {code} is not in CODES");
        }
        for code in [OK, ERROR, SYNTAX_ERROR] {
            assert!(known(i32::from(code)), "{code} is not in CODES");
        }
        assert!(known(kbz_engine::report::recap::INTERRUPTED));
    }
}
