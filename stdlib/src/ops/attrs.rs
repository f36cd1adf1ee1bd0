//! Mode, owner and group: how `file`, `copy` and `template` parse them,
//! compare them with a [`PathState`], and fix them.

use std::fmt;

use kbz_engine::op::{Action, Change, NewDirectory, Symbol};
use kbz_engine::probe::PathState;
use kbz_engine::shell::{ownership, quote};
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use super::values::account_name;

/// Permission bits, written `"0644"` (a string, always octal) or `0o644`
/// (a Rhai int). A plain `644` int is decimal, i.e. `0o1204`: the docs warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Mode(pub u32);

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Mode;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mode like \"0644\" or 0o644")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Mode, E> {
                parse_mode(v).map(Mode).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Mode, E> {
                match u32::try_from(v) {
                    Ok(m) if m <= 0o7777 => Ok(Mode(m)),
                    _ => Err(E::custom(format!("mode {v} is out of range (0 to 0o7777)"))),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Mode, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
            }
        }
        d.deserialize_any(V)
    }
}

pub(crate) use kbz_engine::op::parse_mode;

/// How modes read in summaries and commands: `0644`.
pub(crate) fn fmt_mode(mode: u32) -> String {
    format!("{mode:04o}")
}

/// The attributes an operation wants on a path; `None` leaves one alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Attrs {
    /// Permission bits.
    pub mode: Option<u32>,
    /// Owner name (or numeric id).
    pub owner: Option<String>,
    /// Group name (or numeric id).
    pub group: Option<String>,
}

impl Attrs {
    /// Checks the names and builds the attributes.
    pub fn new(
        mode: Option<Mode>,
        owner: Option<String>,
        group: Option<String>,
    ) -> Result<Self, String> {
        for (param, value) in [("owner", &owner), ("group", &group)] {
            if let Some(v) = value {
                if !v.bytes().all(|b| b.is_ascii_digit()) {
                    account_name(param, v)?;
                }
            }
        }
        Ok(Attrs {
            mode: mode.map(|m| m.0),
            owner,
            group,
        })
    }

    /// What differs from `current`, as `owner root -> redis` summaries, in
    /// the order [`Attrs::fix`] applies them.
    pub fn differences(&self, current: &PathState) -> Vec<String> {
        self.diffs(current)
            .into_iter()
            .map(|d| d.summary())
            .collect()
    }

    /// One change per attribute that differs from `current`. For links the
    /// ownership commands act on the link itself (`-h`), and the mode is
    /// never set (links have none).
    pub fn fix(&self, path: &str, current: &PathState, link: bool) -> Vec<Change> {
        self.diffs(current)
            .into_iter()
            .filter(|d| d.attr.applies(link))
            .map(|d| Change::new(Symbol::Update, d.summary(), vec![d.attr.action(path, link)]))
            .collect()
    }

    /// For a path being created: `mode 0750, owner redis` (what will be set).
    pub fn describe(&self) -> Vec<String> {
        self.wanted().map(|a| a.describe()).collect()
    }

    /// Commands setting every wanted attribute on a new path: ownership
    /// first, because `chown` clears setuid and setgid bits.
    pub fn set_all(&self, path: &str, link: bool) -> Vec<Action> {
        self.wanted()
            .filter(|a| a.applies(link))
            .map(|a| a.action(path, link))
            .collect()
    }

    /// Actions making the directory `path`, missing when probed, with
    /// every wanted attribute: [`NewDirectory`] (its mode set by `mkdir -m`,
    /// never through a link), then `chown -h`, which never follows one
    /// either. One or two programs where `mkdir` and a perl per attribute
    /// took two to four, and consecutive new directories of a batch share
    /// their `mkdir`. A setuid or setgid mode keeps the perl after the
    /// ownership ([`Attrs::set_all`]): `chown` may clear those bits.
    pub fn new_directory(&self, path: &str) -> Vec<Action> {
        let special = self.mode.is_some_and(|m| m & 0o6000 != 0);
        let mkdir = Action::Mkdir(NewDirectory {
            path: path.to_string(),
            mode: self.mode.filter(|_| !special),
        });
        let mut actions = vec![mkdir];
        if special {
            actions.extend(self.set_all(path, false));
            return actions;
        }
        let ids = ownership(self.owner.as_deref(), self.group.as_deref(), "-h ");
        actions.extend(ids.map(|cmd| Action::exec(format!("{cmd} {}", quote(path)))));
        actions
    }

    fn wanted(&self) -> impl Iterator<Item = Attr<'_>> {
        let owner = self.owner.as_deref().map(Attr::Owner);
        let group = self.group.as_deref().map(Attr::Group);
        let mode = self.mode.map(Attr::Mode);
        owner.into_iter().chain(group).chain(mode)
    }

    fn diffs<'a>(&'a self, current: &'a PathState) -> Vec<Diff<'a>> {
        self.wanted()
            .filter_map(|attr| {
                let before = match attr {
                    Attr::Owner(o) => (!current.owned_by(o)).then(|| current.owner.clone()),
                    Attr::Group(g) => (!current.in_group(g)).then(|| current.group.clone()),
                    Attr::Mode(m) => (current.mode != m).then(|| fmt_mode(current.mode)),
                };
                before.map(|before| Diff { attr, before })
            })
            .collect()
    }
}

/// One wanted attribute.
#[derive(Debug, Clone, Copy)]
enum Attr<'a> {
    Owner(&'a str),
    Group(&'a str),
    Mode(u32),
}

impl Attr<'_> {
    fn name(self) -> &'static str {
        match self {
            Attr::Owner(_) => "owner",
            Attr::Group(_) => "group",
            Attr::Mode(_) => "mode",
        }
    }

    fn value(self) -> String {
        match self {
            Attr::Owner(v) | Attr::Group(v) => v.to_string(),
            Attr::Mode(m) => fmt_mode(m),
        }
    }

    fn describe(self) -> String {
        format!("{} {}", self.name(), self.value())
    }

    /// Whether the attribute is set on a link (`link`) or other path: a
    /// link has no mode of its own (`file` refuses `mode` for links).
    fn applies(self, link: bool) -> bool {
        !(link && matches!(self, Attr::Mode(_)))
    }

    /// The command changing this attribute of `path`: on a link, the link
    /// itself (`chown -h`, which never follows it); on a file or directory,
    /// [`NO_FOLLOW`]'s.
    fn action(self, path: &str, link: bool) -> Action {
        let path = quote(path);
        let (cmd, value) = match self {
            Attr::Owner(o) => ("chown", quote(o)),
            Attr::Group(g) => ("chgrp", quote(g)),
            Attr::Mode(m) => ("chmod", fmt_mode(m)),
        };
        Action::exec(if link {
            format!("{cmd} -h {value} {path}")
        } else {
            format!("perl -e {} -- {cmd} {value} {path}", quote(NO_FOLLOW))
        })
    }
}

/// `chown`, `chgrp` or `chmod` (its arguments: the command, the value, the
/// path) on a file or directory, never through a symlink.
///
/// Why not the commands themselves: they act by path and follow a symlink
/// at it, and root changes owners and modes in folders a service's uid owns
/// (Redis's conf folder, mounted into its container), where the service can
/// swap the file for a symlink to `/etc/shadow` between the probe and the
/// change. `chown -h` would not follow it, but Linux has no `chmod` that does
/// not (before `fchmodat2`), and a check of the path before the command
/// leaves the swap a window. So the path is opened once with `O_NOFOLLOW`
/// (a symlink there fails the open: nothing is changed, the op fails) and
/// `O_NONBLOCK` (a FIFO planted there cannot make it wait), the open object
/// must be a file or directory, and owner and mode change on that open
/// descriptor (`fchown`, `fchmod`), so what is changed is what was checked.
/// Perl because POSIX `sh` cannot open without following; `perl-base` is
/// Essential on Debian and Ubuntu, so every host has it.
const NO_FOLLOW: &str = "use Fcntl;my($c,$v,$p)=@ARGV;\
    sysopen(my$f,$p,O_RDONLY|O_NOFOLLOW|O_NONBLOCK|O_NOCTTY)or die\"$p: not changed, cannot open it (a symlink is never followed): $!\\n\";\
    -f$f||-d$f or die\"$p: not changed, not a file or directory\\n\";\
    if($c eq\"chmod\"){chmod(oct$v,$f)or die\"$p: chmod: $!\\n\";exit}\
    my$i=$v=~/^\\d+$/?$v:$c eq\"chown\"?getpwnam$v:getgrnam$v;\
    defined$i or die\"$p: no such \".($c eq\"chown\"?\"user\":\"group\").\" $v\\n\";\
    my@id=(-1,-1);$id[$c ne\"chown\"]=$i;chown(@id,$f)or die\"$p: $c: $!\\n\"";

/// A wanted attribute and the value it replaces.
struct Diff<'a> {
    attr: Attr<'a>,
    before: String,
}

impl Diff<'_> {
    fn summary(&self) -> String {
        format!(
            "{} {} -> {}",
            self.attr.name(),
            self.before,
            self.attr.value()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbz_engine::probe::PathKind;

    fn state(mode: u32, owner: &str, group: &str) -> PathState {
        PathState {
            kind: PathKind::File,
            mode,
            owner: owner.into(),
            group: group.into(),
            ..PathState::missing()
        }
    }

    #[test]
    fn modes_parse_as_octal() {
        assert_eq!(parse_mode("0644"), Ok(0o644));
        assert_eq!(parse_mode("644"), Ok(0o644));
        assert_eq!(parse_mode("0o750"), Ok(0o750));
        assert_eq!(parse_mode("2755"), Ok(0o2755));
        assert_eq!(parse_mode("04755"), Ok(0o4755));
        for bad in ["", "0648", "u+x", "17777", "0o", "-644", "000644"] {
            assert!(parse_mode(bad).is_err(), "{bad}");
        }
        assert_eq!(fmt_mode(0o644), "0644");
        assert_eq!(fmt_mode(0o4755), "4755");
    }

    #[test]
    fn modes_deserialize_from_string_or_int() {
        let m: Mode = rhai::serde::from_dynamic(&"0640".into()).unwrap();
        assert_eq!(m, Mode(0o640));
        let m: Mode = rhai::serde::from_dynamic(&rhai::Dynamic::from(0o640_i64)).unwrap();
        assert_eq!(m, Mode(0o640));
        let err = rhai::serde::from_dynamic::<Mode>(&rhai::Dynamic::from(0o17777_i64)).unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
        let err = rhai::serde::from_dynamic::<Mode>(&"rwx".into()).unwrap_err();
        assert!(err.to_string().contains("octal"), "{err}");
    }

    #[test]
    fn differences_in_apply_order() {
        let a = Attrs::new(
            Some(Mode(0o750)),
            Some("redis".into()),
            Some("redis".into()),
        )
        .unwrap();
        let cur = state(0o755, "root", "redis");
        assert_eq!(
            a.differences(&cur),
            vec!["owner root -> redis", "mode 0755 -> 0750"]
        );
        let changes = a.fix("/srv/redis", &cur, false);
        assert_eq!(
            changes[0].actions,
            vec![no_follow("chown redis /srv/redis")]
        );
        assert_eq!(changes[1].actions, vec![no_follow("chmod 0750 /srv/redis")]);
        assert!(a
            .fix("/x", &state(0o750, "redis", "redis"), false)
            .is_empty());
    }

    #[test]
    fn new_paths_and_links() {
        let a = Attrs::new(Some(Mode(0o600)), None, Some("adm".into())).unwrap();
        assert_eq!(a.describe(), vec!["group adm", "mode 0600"]);
        assert_eq!(
            a.set_all("/a b", false),
            vec![
                no_follow("chgrp adm '/a b'"),
                no_follow("chmod 0600 '/a b'")
            ]
        );
        let l = Attrs::new(None, Some("www-data".into()), None).unwrap();
        assert_eq!(
            l.set_all("/l", true),
            vec![Action::exec("chown -h www-data /l")]
        );
    }

    fn no_follow(args: &str) -> Action {
        Action::exec(format!("perl -e {} -- {args}", quote(NO_FOLLOW)))
    }

    /// Runs an attribute change's command locally; its exit status and stderr.
    fn apply(action: &Action) -> (i32, String) {
        let script = match action {
            Action::Exec { script, .. } => script.clone(),
            Action::Mkdir(d) => d.script(),
            Action::Write(_) => panic!("{action:?}"),
        };
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        (out.status.code().unwrap_or(-1), err)
    }

    #[test]
    fn owner_and_mode_change_files_and_folders_never_through_a_symlink() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let (file, folder, canary) = (
            dir.path().join("conf"),
            dir.path().join("data"),
            dir.path().join("canary"),
        );
        std::fs::write(&file, "x").unwrap();
        std::fs::create_dir(&folder).unwrap();
        std::fs::write(&canary, "canary").unwrap();
        std::fs::set_permissions(&canary, std::fs::Permissions::from_mode(0o600)).unwrap();
        let gid = std::fs::metadata(&file).unwrap().gid().to_string();
        let a = Attrs::new(Some(Mode(0o640)), None, Some(gid)).unwrap();
        for path in [&file, &folder] {
            for action in a.set_all(path.to_str().unwrap(), false) {
                assert_eq!(apply(&action), (0, String::new()));
            }
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o7777, 0o640, "{path:?}");
        }
        // What a service could swap in once the path was probed as a file.
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(&canary, &file).unwrap();
        for action in a.set_all(file.to_str().unwrap(), false) {
            let (rc, err) = apply(&action);
            assert!(
                rc != 0 && err.contains("a symlink is never followed"),
                "{rc} {err}"
            );
        }
        let mode = std::fs::metadata(&canary).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o600, "the canary's mode changed");
        let unknown = Attrs::new(None, Some("no-such-user-kbz".into()), None).unwrap();
        let (rc, err) = apply(&unknown.set_all(folder.to_str().unwrap(), false)[0]);
        assert!(
            rc != 0 && err.contains("no such user no-such-user-kbz"),
            "{err}"
        );
    }

    #[test]
    fn a_new_directory_gets_its_mode_and_parents_and_never_takes_over_one_made_meanwhile() {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/data");
        let gid = std::fs::metadata(dir.path()).unwrap().gid().to_string();
        let a = Attrs::new(Some(Mode(0o775)), None, Some(gid)).unwrap();
        let actions = a.new_directory(path.to_str().unwrap());
        assert_eq!(actions.len(), 2, "mkdir, then chgrp -h: {actions:?}");
        for action in &actions {
            assert_eq!(apply(action), (0, String::new()));
        }
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o7777,
            0o775,
            "the mode, though the umask (022) would cut it"
        );

        // Made by someone else between the probe and the change: left alone.
        let other = dir.path().join("other");
        std::fs::create_dir(&other).unwrap();
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o700)).unwrap();
        let (rc, err) = apply(&a.new_directory(other.to_str().unwrap())[0]);
        assert!(rc != 0 && err.contains("File exists"), "{rc} {err}");
        let mode = std::fs::metadata(&other).unwrap().permissions().mode();
        assert_eq!(mode & 0o7777, 0o700);
    }

    #[test]
    fn names_are_checked() {
        assert!(Attrs::new(None, Some("-R".into()), None).is_err());
        assert!(Attrs::new(None, Some("1000".into()), Some("root:root".into())).is_err());
        assert!(Attrs::new(None, Some("1000".into()), None).is_ok());
    }
}
