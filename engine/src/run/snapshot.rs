//! What a run knows about one host: the answers to the probes asked so far
//! ([`Snapshot`]), what a write leaves a file in ([`written`]), which answers
//! a change may have made wrong ([`affects`]), and what a fresh host answers
//! when there is no host to ask ([`offline_answer`]). The session
//! (`session.rs`) owns one snapshot and the connection that fills it.

use std::collections::BTreeMap;

use crate::digest::sha256_hex;
use crate::probe::{
    CommandState, Facts, Observation, PackageState, PathKind, PathState, Probe, ServiceState,
};

#[derive(Debug, Default)]
pub(super) struct Snapshot {
    pub(super) answers: Vec<(Probe, Observation)>,
    pub(super) stale: bool,
    /// Every cacheable probe an op read this run, for the cache: only the
    /// read ones, not every answer the snapshot holds, or a probe the cache
    /// replays that no op asks any more (an op whose query changed with a
    /// new kbz-play, a play removed) would be asked again on every run.
    pub(super) used: Vec<Probe>,
    /// Content digests the run left files with, for the cache.
    pub(super) digests: BTreeMap<String, String>,
    /// Files whose whole content an op of this run decides (Operation::owns).
    pub(super) owned: std::collections::BTreeSet<String>,
    pub(super) round_trips: u32,
}

impl Snapshot {
    pub(super) fn lookup(&self, p: &Probe) -> Option<&Observation> {
        self.answers
            .iter()
            .find(|(q, _)| p.answered_by(q))
            .map(|(_, o)| o)
    }

    /// Adds `p` to the probes the cache will replay; a content probe
    /// supersedes the plain probe of the same path.
    pub(super) fn remember(&mut self, p: &Probe) {
        if self.used.iter().any(|u| p.answered_by(u)) {
            return;
        }
        self.used.retain(|u| !u.answered_by(p));
        self.used.push(p.clone());
    }

    pub(super) fn insert(&mut self, p: Probe, o: Observation) {
        self.answers.retain(|(q, _)| q != &p && !q.answered_by(&p));
        if p.cacheable() {
            if let (Probe::Path { path, .. }, Observation::Path(st)) = (&p, &o) {
                match &st.sha256 {
                    Some(h) => self.digests.insert(path.clone(), h.clone()),
                    None => self.digests.remove(path),
                };
            }
            self.answers.push((p, o));
        }
    }
}

/// The state a write of `w` leaves its file in: what the write sets, the
/// rest kept from the file it replaces (`prev`, when it was a file), else a
/// new file's (mode 0644, owned by `user`, the connecting user). A numeric
/// id is only known when kept, or for root; `u32::MAX` stands for unknown.
pub(super) fn written(
    w: &crate::op::WriteFile,
    prev: Option<&PathState>,
    user: &str,
    with_content: bool,
) -> PathState {
    let kept = |set: &Option<String>, of: fn(&PathState) -> &String| {
        set.clone()
            .or_else(|| prev.map(|p| of(p).clone()))
            .unwrap_or_else(|| user.to_string())
    };
    let id = |set: &Option<String>, name: &str, of: fn(&PathState) -> u32| match prev {
        Some(p) if set.is_none() => of(p),
        _ if name == "root" => 0,
        _ => u32::MAX,
    };
    let owner = kept(&w.owner, |p| &p.owner);
    let group = kept(&w.group, |p| &p.group);
    PathState {
        kind: PathKind::File,
        mode: w.mode.or(prev.map(|p| p.mode)).unwrap_or(0o644),
        uid: id(&w.owner, &owner, |p| p.uid),
        gid: id(&w.group, &group, |p| p.gid),
        owner,
        group,
        size: w.content.len() as u64,
        sha256: Some(sha256_hex(&w.content)),
        link_target: None,
        content: with_content.then(|| w.content.as_ref().clone()),
    }
}

/// Whether a change to what `changed` describes may change the answer to `other`.
pub(super) fn affects(changed: &Probe, other: &Probe) -> bool {
    match (changed, other) {
        (Probe::Path { path: a, .. }, Probe::Path { path: b, .. }) => {
            a == b
                || b.strip_prefix(a.as_str())
                    .is_some_and(|rest| rest.starts_with('/') || a.ends_with('/'))
        }
        _ => changed.answered_by(other) || other.answered_by(changed),
    }
}

/// What a freshly installed host would answer.
pub(super) fn offline_answer(p: &Probe, facts: &Facts) -> Observation {
    match p {
        Probe::Path { .. } => Observation::Path(PathState::missing()),
        Probe::Service { .. } => Observation::Service(ServiceState {
            load: "loaded".into(),
            active: "inactive".into(),
            enabled: "disabled".into(),
        }),
        Probe::Sysctl { .. } => Observation::Sysctl {
            value: Some(String::new()),
        },
        Probe::Packages { names, .. } => Observation::Packages {
            packages: PackageState::none_installed(names),
        },
        Probe::User { .. } => Observation::User { user: None },
        Probe::Group { .. } => Observation::Group { group: None },
        Probe::Command { .. } | Probe::Query { .. } => Observation::Command(CommandState {
            rc: 1,
            stdout: String::new(),
        }),
        Probe::Facts { .. } => Observation::Facts(facts.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::{affects, written};
    use crate::digest::sha256_hex;
    use crate::op::WriteFile;
    use crate::probe::{PathKind, Probe};

    fn write(path: &str, content: &str) -> WriteFile {
        WriteFile {
            path: path.into(),
            content: std::sync::Arc::new(content.as_bytes().to_vec()),
            ..WriteFile::default()
        }
    }

    #[test]
    fn a_write_keeps_what_it_does_not_set() {
        use crate::probe::PathState;
        let prev = PathState {
            kind: PathKind::File,
            mode: 0o600,
            uid: 33,
            gid: 33,
            owner: "www-data".into(),
            group: "www-data".into(),
            ..PathState::missing()
        };
        let w = write("/etc/app.conf", "x\n");
        let kept = written(&w, Some(&prev), "root", false);
        assert_eq!(
            (kept.mode, kept.uid, kept.owner.as_str(), kept.content),
            (0o600, 33, "www-data", None)
        );
        let new = written(&w, None, "deploy", true);
        assert_eq!(
            (new.mode, new.uid, new.owner.as_str(), new.group.as_str()),
            (0o644, u32::MAX, "deploy", "deploy")
        );
        assert_eq!(new.sha256, Some(sha256_hex(b"x\n")));
        assert_eq!(new.content, Some(b"x\n".to_vec()));
        let as_root = WriteFile {
            owner: Some("root".into()),
            mode: Some(0o640),
            ..w
        };
        let set = written(&as_root, Some(&prev), "deploy", false);
        assert_eq!((set.mode, set.uid, set.gid), (0o640, 0, 33));
    }

    #[test]
    fn a_changed_directory_invalidates_what_is_under_it() {
        let dir = Probe::path("/opt/app");
        assert!(affects(&dir, &Probe::path("/opt/app")));
        assert!(affects(
            &dir,
            &Probe::path_with_content("/opt/app/conf/a.yml")
        ));
        assert!(!affects(&dir, &Probe::path("/opt/application")));
        assert!(!affects(&dir, &Probe::path("/opt")));
        assert!(affects(&Probe::path("/"), &Probe::path("/etc/x")));
        let unit = Probe::Service { unit: "ssh".into() };
        assert!(affects(&unit, &unit));
        assert!(!affects(&unit, &Probe::path("/etc/ssh")));
    }
}
