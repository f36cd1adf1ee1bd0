//! The variables Ansible's `template` module defines while it renders a
//! template, so a role's header (`# {{ template_path }} on {{ template_host }}`)
//! renders as there: `template_host` (the control machine's name),
//! `template_path` (the source as the call names it), `template_fullpath`
//! (absolute), `template_uid` (the file owner's name, its number when the
//! name is unknown), `template_run_date` (a datetime, local time); the
//! `template` op adds `template_destpath`. An offline run (`kbz-play render`)
//! gives the same review files on every machine and every run: the host
//! `localhost`, the owner `<owner>`, the path under the project `<project>/...`,
//! the date `1970-01-01 00:00:00`.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use chrono::{DateTime, Local};
use minijinja::Value;

use crate::template::PyDateTime;

/// Where a template file is: as the call names it, and under the project.
pub(super) struct Source<'a> {
    /// The name given to the `template` call (`template_path`).
    pub given: &'a str,
    /// The project's root.
    pub root: &'a Path,
    /// The file, relative to `root` (as `Templates::resolve` gives it).
    pub name: &'a str,
}

/// The `template_*` variables for `source`; `offline` for a render.
pub(super) fn template_vars(source: &Source<'_>, offline: bool) -> Value {
    let (host, uid, fullpath, date) = if offline {
        (
            "localhost".to_string(),
            "<owner>".to_string(),
            format!("<project>/{}", project_relative(source.name)),
            DateTime::UNIX_EPOCH.naive_utc(),
        )
    } else {
        let full = std::path::absolute(source.root.join(source.name)).unwrap_or_default();
        (
            hostname(),
            owner(&full),
            full.display().to_string(),
            Local::now().naive_local(),
        )
    };
    minijinja::context! {
        template_host => host,
        template_path => source.given,
        template_fullpath => fullpath,
        template_uid => uid,
        template_run_date => PyDateTime::value(date),
    }
}

/// `name` without its `.` components (`./templates/a.j2` gives `templates/a.j2`).
fn project_relative(name: &str) -> String {
    let path: std::path::PathBuf = Path::new(name)
        .components()
        .filter(|c| *c != std::path::Component::CurDir)
        .collect();
    path.display().to_string()
}

/// The control machine's name, as Python's `os.uname()[1]`.
fn hostname() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The name of the owner of `file`, as Python's `pwd.getpwuid` finds it in
/// `/etc/passwd`; its number when no line names it.
fn owner(file: &Path) -> String {
    let Ok(uid) = std::fs::metadata(file).map(|m| m.uid()) else {
        return String::new();
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    user_name(&passwd, uid).unwrap_or_else(|| uid.to_string())
}

/// The name of user `uid` in `passwd` (`name:x:uid:...` lines).
fn user_name(passwd: &str, uid: u32) -> Option<String> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(root: &Path) -> Source<'_> {
        Source {
            given: "motd.j2",
            root,
            name: "templates/motd.j2",
        }
    }

    /// Python's `os.uname()[1]`, `pwd.getpwuid(st_uid).pw_name`, as the
    /// `template` module reads them, on this machine.
    #[test]
    fn a_run_names_this_machine_the_owner_and_the_absolute_path() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("templates")).unwrap();
        std::fs::write(dir.path().join("templates/motd.j2"), "").unwrap();
        let vars = template_vars(&source(dir.path()), false);
        let get = |k: &str| vars.get_attr(k).unwrap().to_string();
        let uname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
        assert_eq!(get("template_host"), uname.trim());
        let whoami = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        assert_eq!(
            get("template_uid"),
            String::from_utf8_lossy(&whoami.stdout).trim()
        );
        let full = dir.path().join("templates/motd.j2");
        assert_eq!(get("template_fullpath"), full.display().to_string());
        assert_eq!(get("template_path"), "motd.j2");
        let year = vars
            .get_attr("template_run_date")
            .unwrap()
            .get_attr("year")
            .unwrap();
        assert!(i64::try_from(year).unwrap() >= 2024);
    }

    #[test]
    fn a_render_gives_the_same_values_everywhere() {
        let mut source = source(Path::new("."));
        source.name = "./templates/motd.j2";
        let vars = template_vars(&source, true);
        let get = |k: &str| vars.get_attr(k).unwrap().to_string();
        assert_eq!(get("template_host"), "localhost");
        assert_eq!(get("template_uid"), "<owner>");
        assert_eq!(get("template_fullpath"), "<project>/templates/motd.j2");
        assert_eq!(get("template_run_date"), "1970-01-01 00:00:00");
    }

    #[test]
    fn an_owner_without_a_name_is_its_number() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nkbz:x:1000:1000::/home/kbz:/bin/sh\n";
        assert_eq!(user_name(passwd, 1000).as_deref(), Some("kbz"));
        assert_eq!(user_name(passwd, 4242), None);
    }
}
