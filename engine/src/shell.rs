//! POSIX shell quoting: every command we send is a `sh -c` script, so every
//! path, value and name that reaches it goes through [`quote`].

/// Quotes `s` for a POSIX shell, leaving simple words readable in logs.
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Joins words into one shell command line, quoting each.
pub fn join<I, S>(words: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    words
        .into_iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The command giving a path `owner` and `group` (either may be left
/// alone), `flags` before its `--`: `chown o:g`, `chown o` or `chgrp g`,
/// the path to be appended; `None` when both are left alone. `-h` acts on
/// a link itself, for paths a service could have swapped.
pub fn ownership(owner: Option<&str>, group: Option<&str>, flags: &str) -> Option<String> {
    let (cmd, ids) = match (owner, group) {
        (Some(o), Some(g)) => ("chown", format!("{o}:{g}")),
        (Some(o), None) => ("chown", o.to_string()),
        (None, Some(g)) => ("chgrp", g.to_string()),
        (None, None) => return None,
    };
    Some(format!("{cmd} {flags}-- {}", quote(&ids)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_readable() {
        assert_eq!(quote("/etc/ssh/sshd_config"), "/etc/ssh/sshd_config");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(join(["echo", "$HOME"]), "echo '$HOME'");
    }

    #[test]
    fn ownership_names_what_changes() {
        assert_eq!(
            ownership(Some("redis"), Some("adm"), ""),
            Some("chown -- redis:adm".into())
        );
        assert_eq!(
            ownership(Some("999"), None, "-h "),
            Some("chown -h -- 999".into())
        );
        assert_eq!(
            ownership(None, Some("adm"), "-h "),
            Some("chgrp -h -- adm".into())
        );
        assert_eq!(ownership(None, None, ""), None);
    }

    #[test]
    fn quoted_strings_survive_a_real_shell() {
        for s in [
            "a b",
            "it's",
            "$(reboot)",
            "`x`",
            "\"q\"",
            "back\\slash",
            "new\nline",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quote(s)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
        }
    }
}
