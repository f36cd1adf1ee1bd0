//! A host's connection for the whole run, and the snapshot of its state.
//!
//! The snapshot holds the answers to every probe asked so far. Operations read
//! from it instead of the host while it is fresh. A file write teaches it the
//! state it leaves (applied, queued, or only planned under `--check` and
//! render); any other change drops the answers it may have changed, and a
//! command that could change anything marks the whole snapshot stale, so the
//! next probe re-reads every remembered resource in the same single round
//! trip. What the cache keeps for the next run comes from the host's answers
//! and the writes that happened, never from planned ones.

use std::sync::Mutex;
use std::time::Duration;

use crate::cache::HostCache;
use crate::digest::sha256_hex;

use super::foresight::{self, Answers, Ask, Foreseen};
use super::snapshot::{affects, offline_answer, written, Snapshot};
use crate::op::Input;
use crate::probe::{self, Facts, Observation, Observed, PathKind, Probe};
use crate::transport::{ExecOutput, LockHolder, RunLock, Transport, TransportError};

/// Probing failed: the transport failed or the host's answer was unreadable.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The connection failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The probe script's output was not understood.
    #[error("{0}")]
    Parse(#[from] probe::BatchParseError),
    /// An offline session was asked to reach the host.
    #[error("internal error: an offline session cannot reach the host")]
    Offline,
    /// The probe script itself failed.
    #[error("probing the host failed (exit {rc}): {stderr}")]
    Script {
        /// Exit status.
        rc: i32,
        /// Its standard error.
        stderr: String,
    },
    /// The connection went away while the host was being opened (the link
    /// cut while the lock was taken): whatever step noticed it first (the
    /// lock's holder, the first probes), the host is unreachable.
    #[error("{0}")]
    Lost(String),
}

impl ProbeError {
    /// Whether the host is unreachable rather than failed (exit 4, not 2).
    pub fn is_unreachable(&self) -> bool {
        match self {
            ProbeError::Transport(t) => t.is_unreachable(),
            ProbeError::Lost(_) => true,
            _ => false,
        }
    }

    /// This error, or [`ProbeError::Lost`] when the connection is gone: a
    /// holder or a probe cut off with it fails with its own words ("the
    /// holder stopped without taking it"), which blame the host.
    async fn or_lost(self, transport: &Transport) -> ProbeError {
        if self.is_unreachable() {
            return self;
        }
        match transport.connection_lost().await {
            Some(reason) => ProbeError::Lost(reason),
            None => self,
        }
    }
}

/// One host's connection and what the run knows about it.
pub struct Session {
    /// How commands and files reach the host; `None` for an offline session
    /// (`kbz-play render`), which answers every probe with "nothing there yet".
    transport: Option<Transport>,
    /// How long one round trip of probes may take (see [`RunSettings::probe_limit`]).
    ///
    /// [`RunSettings::probe_limit`]: super::settings::RunSettings::probe_limit
    probe_limit: Duration,
    /// The host's facts, from the first round trip: only those the engine
    /// reads itself when `gathered` is false (see [`Session::play_facts`]).
    pub facts: Facts,
    /// Whether the opening gathered every fact, for the plays to read.
    gathered: bool,
    snapshot: Mutex<Snapshot>,
    /// The opening's answers to the read-only commands and guards foreseen
    /// (see `foresight.rs`): never in the snapshot, nor the cache.
    answers: Answers,
    /// Holds the host's run lock until [`Session::close`] (or the drop).
    lock: Option<LockHolder>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("facts", &self.facts.hostname)
            .finish_non_exhaustive()
    }
}

/// Asks `probes` in one round trip (one script, see [`probe::render_batch`])
/// and parses the answers, in the order asked. A script that fails before
/// printing readable answers is reported with its exit status and stderr.
async fn run_batch(
    transport: &Transport,
    probes: &[Probe],
    limit: Duration,
) -> Result<Vec<Observation>, ProbeError> {
    let (script, stdin) = batch_script(probes, &[], limit);
    let out = transport
        .exec_within(&script, stdin.as_deref(), Some(limit), None)
        .await?;
    Ok(batch_answers(probes, &out)?.0)
}

/// The script that answers `asks` (see `foresight.rs`), then `probes`, and
/// its stdin: a batch with env values goes there whatever its length, never
/// on a command line.
fn batch_script(probes: &[Probe], asks: &[Ask], limit: Duration) -> (String, Option<Vec<u8>>) {
    let script = format!(
        "{}{}",
        foresight::render(asks, limit),
        probe::render_batch(probes)
    );
    match asks.iter().any(Ask::has_input) {
        true => (foresight::READ_BATCH.to_string(), Some(script.into_bytes())),
        false => (script, None),
    }
}

/// The answers to `probes` in the batch's output, and the output itself
/// for the asks' answers.
fn batch_answers(
    probes: &[Probe],
    out: &ExecOutput,
) -> Result<(Vec<Observation>, String), ProbeError> {
    let stdout = String::from_utf8_lossy(&out.stdout);
    match probe::parse_batch(probes, &stdout) {
        Ok(obs) => Ok((obs, stdout.into_owned())),
        Err(_) if out.rc != 0 => Err(ProbeError::Script {
            rc: out.rc,
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// What the opening round trip asks: the facts, the probes the cache
/// remembers, and the cacheable ones of `foreseen` (the first play's
/// rehearsal: see `rehearsal.rs`) not among them.
fn opening_probes(cached: &HostCache, foreseen: &[Probe], gathered: bool) -> Vec<Probe> {
    let mut probes = vec![Probe::Facts { gathered }];
    probes.extend(cached.probes.iter().cloned());
    for p in foreseen.iter().filter(|p| p.cacheable()) {
        add_probe(&mut probes, p);
    }
    probes
}

/// Adds `p` to `batch` unless a probe there answers it; a probe it answers
/// (the plain probe of a path whose content it asks) makes way for it.
fn add_probe(batch: &mut Vec<Probe>, p: &Probe) {
    if !batch.iter().any(|b| p.answered_by(b)) {
        batch.retain(|b| !b.answered_by(p));
        batch.push(p.clone());
    }
}

impl Session {
    /// Opens the session: one round trip answers the facts and every probe the
    /// cache remembers from the last run (its queries only when their seal
    /// verified: see [`crate::cache::Sealed`]).
    pub async fn open(
        transport: Transport,
        cached: &HostCache,
        probe_limit: Duration,
    ) -> Result<Session, ProbeError> {
        let probes = opening_probes(cached, &[], true);
        let answers = run_batch(&transport, &probes, probe_limit).await?;
        Ok(Session::opened(
            transport,
            probes,
            answers,
            None,
            probe_limit,
        ))
    }

    /// [`Session::open`] under the host's run lock, held until the session
    /// closes: the lock's holder runs the opening batch once it holds the
    /// lock, on one channel (see `transport/lock.rs`), so the lock costs no
    /// round trip; another run holding the lock past its timeout fails with
    /// [`crate::transport::LockError::Busy`]. The opening batch also asks
    /// the `foreseen` probes and read-only commands, whose answers stand
    /// while the run's change count stays at `changes` (see `foresight.rs`),
    /// and every fact only when the host's plays read them (`gathered`).
    pub async fn open_locked(
        transport: Transport,
        cached: &HostCache,
        foreseen: &Foreseen,
        gathered: bool,
        changes: u64,
        lock: &RunLock,
        probe_limit: Duration,
    ) -> Result<Session, ProbeError> {
        let probes = opening_probes(cached, &foreseen.probes, gathered);
        let (script, stdin) = batch_script(&probes, &foreseen.asks, probe_limit);
        let opened = transport
            .open_locked(lock, &script, stdin.as_deref(), probe_limit)
            .await
            .map_err(ProbeError::from)
            .and_then(|(holder, out)| Ok((holder, batch_answers(&probes, &out)?)));
        let (holder, (answers, output)) = match opened {
            Ok(opened) => opened,
            Err(e) => return Err(e.or_lost(&transport).await),
        };
        let mut session = Session::opened(transport, probes, answers, Some(holder), probe_limit);
        session.answers = foresight::parse(&foreseen.asks, &output, changes);
        Ok(session)
    }

    fn opened(
        transport: Transport,
        probes: Vec<Probe>,
        answers: Vec<Observation>,
        lock: Option<LockHolder>,
        probe_limit: Duration,
    ) -> Session {
        let mut snapshot = Snapshot {
            round_trips: 1,
            ..Snapshot::default()
        };
        let (mut facts, mut gathered) = (Facts::default(), false);
        for (p, o) in probes.into_iter().zip(answers) {
            match (p, o) {
                (Probe::Facts { gathered: all }, Observation::Facts(f)) => {
                    (facts, gathered) = (f, all)
                }
                (p, o) => snapshot.insert(p, o),
            }
        }
        Session {
            transport: Some(transport),
            probe_limit,
            facts,
            gathered,
            snapshot: Mutex::new(snapshot),
            answers: Answers::default(),
            lock,
        }
    }

    /// A session that connects nowhere: every probe is answered as a fresh
    /// host would answer it (no files, units stopped, packages absent), so
    /// every operation plans its full work. Used to render for review.
    pub fn offline(facts: Facts) -> Session {
        Session {
            transport: None,
            probe_limit: Duration::MAX,
            facts,
            gathered: true,
            snapshot: Mutex::new(Snapshot::default()),
            answers: Answers::default(),
            lock: None,
        }
    }

    /// This session as one whose plays gather facts or not (`gathered`): a
    /// rehearsal's guess must see what the run's plays will see.
    pub(super) fn gathering(mut self, gathered: bool) -> Session {
        self.gathered = gathered;
        self
    }

    /// The facts the plays see: every one, or none (`host.facts` absent, no
    /// `ansible_*` facts in templates) when no play of the host gathers
    /// them, as in Ansible with `gather_facts: false`.
    pub fn play_facts(&self) -> Option<&Facts> {
        self.gathered.then_some(&self.facts)
    }

    /// Whether this session connects nowhere (`kbz-play render`).
    pub fn is_offline(&self) -> bool {
        self.transport.is_none()
    }

    /// Releases the run lock and closes the connection cleanly; a failure to
    /// close changes nothing. The lock goes first: its holder shares the
    /// master, which closes only once the holder is gone.
    pub async fn close(self) {
        self.end(false).await;
    }

    /// [`Session::close`] at the end of a run: a persistent master is left
    /// up for the next run ([`Transport::leave`]).
    pub async fn leave(self) {
        self.end(true).await;
    }

    async fn end(self, keep_master: bool) {
        if let Some(lock) = self.lock {
            lock.release().await;
        }
        if let Some(transport) = self.transport {
            let _ = match keep_master {
                true => transport.leave().await,
                false => transport.close().await,
            };
        }
    }

    /// The transport, which only an offline session lacks.
    pub fn transport(&self) -> Result<&Transport, ProbeError> {
        self.transport.as_ref().ok_or(ProbeError::Offline)
    }

    /// Paths whose content differs from what the last run left them with:
    /// edited on the host since (the run will put them back).
    pub fn drift(&self, cached: &HostCache) -> Vec<String> {
        cached.drifted(&self.snapshot.lock().expect("snapshot lock").digests)
    }

    /// Whether [`Session::observe`] would answer `probes` from the snapshot,
    /// without a round trip.
    pub fn can_answer(&self, probes: &[Probe]) -> bool {
        if self.transport.is_none() {
            return true;
        }
        let snap = self.snapshot.lock().expect("snapshot lock");
        probes
            .iter()
            .all(|p| p.cacheable() && !snap.stale && snap.lookup(p).is_some())
    }

    /// Answers `probes`: from the snapshot where it is fresh, the rest in one
    /// round trip (which also refreshes a stale snapshot).
    pub async fn observe(&self, probes: &[Probe]) -> Result<Observed, ProbeError> {
        if self.transport.is_none() {
            let snap = self.snapshot.lock().expect("snapshot lock");
            return Ok(Observed::new(
                probes
                    .iter()
                    .map(|p| {
                        let known = snap.lookup(p).cloned();
                        (
                            p.clone(),
                            known.unwrap_or_else(|| offline_answer(p, &self.facts)),
                        )
                    })
                    .collect(),
            ));
        }
        let batch: Vec<Probe> = {
            let snap = self.snapshot.lock().expect("snapshot lock");
            let mut batch: Vec<Probe> = Vec::new();
            for p in probes {
                let fresh = p.cacheable() && !snap.stale && snap.lookup(p).is_some();
                if !fresh && !batch.contains(p) {
                    batch.push(p.clone());
                }
            }
            if snap.stale && !batch.is_empty() {
                for (p, _) in &snap.answers {
                    if !batch.iter().any(|b| p.answered_by(b)) {
                        batch.push(p.clone());
                    }
                }
            }
            batch
        };
        let mut transient = Vec::new();
        if !batch.is_empty() {
            let answers = run_batch(self.transport()?, &batch, self.probe_limit).await?;
            let mut snap = self.snapshot.lock().expect("snapshot lock");
            snap.round_trips += 1;
            for (p, o) in batch.into_iter().zip(answers) {
                if p.cacheable() {
                    snap.insert(p, o);
                } else {
                    transient.push((p, o));
                }
            }
            snap.stale = false;
        }
        let mut snap = self.snapshot.lock().expect("snapshot lock");
        for p in probes.iter().filter(|p| p.cacheable()) {
            snap.remember(p);
        }
        Ok(Observed::new(
            probes
                .iter()
                .filter_map(|p| {
                    transient
                        .iter()
                        .find(|(q, _)| q == p)
                        .map(|(_, o)| o)
                        .or_else(|| snap.lookup(p))
                        .map(|o| (p.clone(), o.clone()))
                })
                .collect(),
        ))
    }

    /// [`Session::observe`], but a command probe (an `unless` guard) the
    /// opening answered is taken from there while the run has made no
    /// change since (`changes`, the count now), as a read-only command is.
    pub async fn observe_at(&self, probes: &[Probe], changes: u64) -> Result<Observed, ProbeError> {
        let mut guards = Vec::new();
        let mut rest = Vec::new();
        for p in probes {
            match self.answers.guard(p, changes) {
                Some(o) => guards.push((p.clone(), o)),
                None => rest.push(p.clone()),
            }
        }
        Ok(self.observe(&rest).await?.with(guards))
    }

    /// Answers, in one round trip, every cacheable probe in `probes` the
    /// snapshot lacks: the probes a rehearsal of the play recorded (see
    /// `play_on_host` in the executor), so its ops plan without further trips.
    pub async fn prefetch(&self, probes: &[Probe]) -> Result<(), ProbeError> {
        if self.transport.is_none() {
            return Ok(());
        }
        let missing: Vec<Probe> = {
            let snap = self.snapshot.lock().expect("snapshot lock");
            if snap.stale {
                return Ok(());
            }
            let mut missing: Vec<Probe> = Vec::new();
            for p in probes.iter().filter(|p| p.cacheable()) {
                if snap.lookup(p).is_none() {
                    add_probe(&mut missing, p);
                }
            }
            missing
        };
        if missing.is_empty() {
            return Ok(());
        }
        let answers = run_batch(self.transport()?, &missing, self.probe_limit).await?;
        let mut snap = self.snapshot.lock().expect("snapshot lock");
        snap.round_trips += 1;
        for (p, o) in missing.into_iter().zip(answers) {
            snap.insert(p, o);
        }
        Ok(())
    }

    /// Forgets the answers to `probes` after a change to what they describe;
    /// with `deep` (something was removed), also everything under a changed
    /// path, since removing a directory changes what its children's probes
    /// would say. Creating a directory or changing its mode does not.
    pub fn invalidate(&self, probes: &[Probe], deep: bool) {
        let mut snap = self.snapshot.lock().expect("snapshot lock");
        snap.answers.retain(|(q, _)| {
            !probes.iter().any(|p| {
                if deep {
                    affects(p, q)
                } else {
                    p.answered_by(q) || q.answered_by(p)
                }
            })
        });
    }

    /// Updates the snapshot with the state a successful write left `w.path` in.
    /// Only when the path's previous state is known and fresh (its mode and
    /// owner carry over when the write keeps them); returns whether it did,
    /// so the caller can forget the path instead.
    pub fn learn_write(&self, w: &crate::op::WriteFile) -> bool {
        let mut snap = self.snapshot.lock().expect("snapshot lock");
        if snap.stale {
            return false;
        }
        let plain = Probe::path(w.path.clone());
        let Some((probe, Observation::Path(prev))) = snap
            .answers
            .iter()
            .find(|(p, _)| plain.answered_by(p))
            .cloned()
        else {
            return false;
        };
        if prev.kind != PathKind::File
            && (w.mode.is_none() || w.owner.is_none() || w.group.is_none())
        {
            return false;
        }
        // Only root's writes keep the previous owner; anyone else's file ends up theirs.
        if (w.owner.is_none() || w.group.is_none()) && self.facts.user != "root" {
            return false;
        }
        let with_content = matches!(probe, Probe::Path { content: true, .. });
        let prev = (prev.kind == PathKind::File).then_some(&prev);
        let state = written(w, prev, &self.facts.user, with_content);
        snap.answers.retain(|(p, _)| !plain.answered_by(p));
        snap.answers.push((probe, Observation::Path(state)));
        true
    }

    /// Teaches the snapshot a write that was planned but not made (`--check`,
    /// `kbz-play render`), so later ops of the same host plan against the
    /// content it would have left: a `line` edit of a file a `copy` would
    /// create finds the file, several edits of one file add up. The answer
    /// always carries the content, so no later op asks the host for a file
    /// whose planned content only the snapshot knows. Attributes the write
    /// does not set are kept from a known file, else a new file's: 0644,
    /// owned by the connecting user. Only the answers learn it: the digests
    /// the cache keeps record writes that happened ([`Session::record_write`]).
    pub fn assume_write(&self, w: &crate::op::WriteFile) {
        let mut snap = self.snapshot.lock().expect("snapshot lock");
        let plain = Probe::path(w.path.clone());
        let prev = match snap.lookup(&plain) {
            Some(Observation::Path(p)) if !snap.stale && p.kind == PathKind::File => {
                Some(p.clone())
            }
            _ => None,
        };
        let state = written(w, prev.as_ref(), &self.facts.user, true);
        snap.answers.retain(|(p, _)| !plain.answered_by(p));
        let probe = Probe::path_with_content(w.path.clone());
        snap.answers.push((probe, Observation::Path(state)));
    }

    /// Marks every answer stale after a command that may have changed anything.
    pub fn mark_stale(&self) {
        self.snapshot.lock().expect("snapshot lock").stale = true;
    }

    /// Notes a file whose whole content the run decides, so the next run
    /// reports an edit of it made on the host in between.
    pub fn mark_owned(&self, path: &str) {
        self.snapshot
            .lock()
            .expect("snapshot lock")
            .owned
            .insert(path.to_string());
    }

    /// Records the content digest a write left its file with.
    pub fn record_write(&self, w: &crate::op::WriteFile) {
        let digest = sha256_hex(&w.content);
        self.snapshot
            .lock()
            .expect("snapshot lock")
            .digests
            .insert(w.path.clone(), digest);
    }

    /// The opening's answer to the read-only command `script` with `input`,
    /// while the run has made no change since (`changes`, the count now).
    pub(super) fn foreseen(
        &self,
        script: &str,
        input: Option<&Input>,
        changes: u64,
    ) -> Option<ExecOutput> {
        self.answers.get(script, input, changes).cloned()
    }

    /// Round trips spent on this host so far.
    pub fn round_trips(&self) -> u32 {
        self.snapshot.lock().expect("snapshot lock").round_trips
    }

    /// Counts a round trip made outside probing (a change, a file write, a read).
    pub fn count_round_trip(&self) {
        self.snapshot.lock().expect("snapshot lock").round_trips += 1;
    }

    /// What to remember for the next run: the probes used, the digests of
    /// the files the run owns, and the facts when gathered (the next
    /// opening's guess).
    pub fn cache_entry(&self) -> HostCache {
        let snap = self.snapshot.lock().expect("snapshot lock");
        let digests = snap
            .digests
            .iter()
            .filter(|(path, _)| snap.owned.contains(*path))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let entry = HostCache::new(snap.used.clone(), digests);
        match self.play_facts() {
            Some(facts) => entry.with_facts(facts.clone()),
            None => entry,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Session;
    use crate::cache::HostCache;
    use crate::digest::sha256_hex;
    use crate::op::WriteFile;
    use crate::probe::{Observation, PathKind, Probe};
    use crate::transport::Transport;

    fn write(path: &str, content: &str) -> WriteFile {
        WriteFile {
            path: path.into(),
            content: Arc::new(content.as_bytes().to_vec()),
            ..WriteFile::default()
        }
    }

    async fn content(session: &Session, path: &str) -> Option<Vec<u8>> {
        let probe = Probe::path_with_content(path);
        match session
            .observe(std::slice::from_ref(&probe))
            .await
            .unwrap()
            .get(&probe)
        {
            Ok(Observation::Path(p)) if p.kind == PathKind::File => p.content.clone(),
            Ok(Observation::Path(_)) => None,
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn the_cache_keeps_the_probes_read_not_every_one_the_opening_asked() {
        let dir = tempfile::tempdir().unwrap();
        let (read, gone) = (dir.path().join("read"), dir.path().join("gone"));
        let (read, gone) = (
            Probe::path(read.to_str().unwrap()),
            Probe::path(gone.to_str().unwrap()),
        );
        // The last run read both; this one's ops read only the first.
        let cached = HostCache::new(vec![read.clone(), gone.clone()], Default::default());
        let session = Session::open(
            Transport::local(None),
            &cached,
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
        session.observe(std::slice::from_ref(&read)).await.unwrap();
        assert_eq!(session.round_trips(), 1);
        assert_eq!(session.cache_entry().probes, [read]);
    }

    #[tokio::test]
    async fn an_assumed_write_teaches_the_snapshot_but_not_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let (new, old) = (dir.path().join("new"), dir.path().join("old"));
        let (new, old) = (new.to_str().unwrap(), old.to_str().unwrap());
        std::fs::write(old, "old\n").unwrap();
        let session = Session::open(
            Transport::local(None),
            &HostCache::default(),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
        assert_eq!(content(&session, new).await, None);
        assert_eq!(content(&session, old).await, Some(b"old\n".to_vec()));
        session.mark_owned(new);
        session.mark_owned(old);
        let trips = session.round_trips();

        session.assume_write(&write(new, "planned\n"));
        session.assume_write(&write(old, "replaced\n"));
        // A plain probe is answered too, and nothing asks the host.
        assert!(session.can_answer(&[Probe::path(new), Probe::path_with_content(old)]));
        assert_eq!(content(&session, new).await, Some(b"planned\n".to_vec()));
        assert_eq!(content(&session, old).await, Some(b"replaced\n".to_vec()));
        assert_eq!(session.round_trips(), trips);

        // The cache keeps what the host has: nothing for the file never
        // written, the old content's digest for the other.
        let digests = session.cache_entry().digests;
        assert_eq!(digests.get(new), None);
        assert_eq!(digests.get(old), Some(&sha256_hex(b"old\n")));
        assert!(!std::path::Path::new(new).exists());
    }
}
