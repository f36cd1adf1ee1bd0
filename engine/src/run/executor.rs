//! Runs a loaded playbook against the inventory.

use std::path::Path;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::ahead::{goes_ahead, run_ahead};
use super::connect::ensure_session;
use super::halt::Halt;
use super::host::HostCtx;
use super::magic::PlayScope;
use super::rehearsal::{foresee, gathers_facts, play_vars, rehearse};
use super::session::Session;
use super::shared::Shared;
use crate::cache::Coverage;
use crate::inventory::{Host, InventoryError};
use crate::report::{Event, HostStats};
use crate::script::{Play, Playbook, ScriptError};

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// Per host, in inventory order.
    pub recap: Vec<(String, HostStats)>,
    /// 0 all ok, 2 some host failed, 4 some host unreachable, 130 Ctrl-C
    /// stopped some host (see [`crate::report::exit_code`]).
    pub exit_code: i32,
}

/// A run that could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// `--limit` or a play's host pattern is invalid.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// A play's options are invalid for its hosts.
    #[error("play '{play}' ({at}): {message}")]
    Play {
        /// The play.
        play: String,
        /// Where it is declared.
        at: String,
        /// What is wrong.
        message: String,
    },
}

#[derive(Default)]
pub(super) struct SlotState {
    pub(super) session: Option<Arc<Session>>,
    pub(super) connect_attempted: bool,
    pub(super) unreachable: bool,
    pub(super) failed: bool,
    /// Ctrl-C stopped the run before this host was done.
    pub(super) interrupted: bool,
    /// The last play this host ran to its end (see [`mark_left_out`]).
    pub(super) finished: Option<usize>,
    pub(super) stats: HostStats,
}

pub(super) struct Slot {
    pub(super) host: Host,
    pub(super) state: Mutex<SlotState>,
}

impl Slot {
    pub(super) fn state(&self) -> std::sync::MutexGuard<'_, SlotState> {
        // A panic on the host's thread (reported as its failure) must not
        // take the recap down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One host's run of a play, as [`play_on_host`] takes it.
pub(super) struct OnHost<'a> {
    pub(super) slot: &'a Slot,
    pub(super) session: Arc<Session>,
    pub(super) halt: Option<Arc<Halt>>,
    pub(super) scope: PlayScope,
    /// A pass ahead of the host's serial batch (see `ahead.rs`).
    pub(super) ahead: bool,
}

/// Runs one play's body, then its notified handlers, for one host, on the
/// calling (blocking) thread. Returns whether the host is still healthy: a
/// host stopped by another's failure (`halt.rs`) is, since it did not fail.
/// A pass ahead of the host's batch returns whether it ran the play, and
/// counts and reports nothing otherwise.
pub(super) fn play_on_host(
    shared: &Arc<Shared>,
    playbook: &Playbook,
    index: usize,
    on: OnHost<'_>,
) -> bool {
    let OnHost {
        slot,
        session,
        halt,
        mut scope,
        ahead,
    } = on;
    scope.playbook_dir = std::path::absolute(&playbook.path)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let started = Instant::now();
    let play = &playbook.decls.plays[index];
    let vars = play_vars(shared, playbook, index, &slot.host);
    let host_value = crate::script::host_map(&slot.host, &vars, session.play_facts());
    if !session.is_offline() {
        let rehearsed = rehearse(shared, playbook, index, &slot.host, session.clone());
        let _ = shared.rt.block_on(session.prefetch(&rehearsed.probes));
    }
    let ctx = HostCtx::new(
        shared.clone(),
        slot.host.clone(),
        vars,
        session,
        index,
        play.options.tags.clone(),
    )
    .in_play(scope)
    .halting_with(halt);
    let ctx = Rc::new(if ahead { ctx.going_ahead() } else { ctx });
    // Queued changes (see `batch.rs`) reach the host before the handlers
    // and at the end; after a script error too, since they came before it.
    // A failed change comes first: run op by op, the script would have
    // stopped there.
    let result = ctx.enter(|| {
        let body = play.body.call(&playbook.engine, vec![host_value]);
        let flushed = ctx.flush(rhai::Position::NONE);
        flushed?;
        let _ = body?;
        ctx.still_whole(rhai::Position::NONE)?;
        let notified = ctx.notified.borrow().clone();
        for handler in playbook
            .decls
            .handlers
            .iter()
            .filter(|h| notified.contains(&h.name))
        {
            let ran = handler.body.call(&playbook.engine, vec![]);
            let flushed = ctx.flush(rhai::Position::NONE);
            flushed?;
            let _ = ran?;
        }
        ctx.still_whole(rhai::Position::NONE)
    });
    if !ctx.keep_ahead(result.is_ok()) {
        return false;
    }
    let stats = ctx.stats.take();
    let mut st = slot.state();
    st.stats.ok += stats.ok;
    st.stats.changed += stats.changed;
    st.stats.skipped += stats.skipped;
    st.stats.elapsed += started.elapsed();
    if ctx.interrupted.get() {
        // Ctrl-C, not the host, ended its play: not a failure.
        st.interrupted = true;
        return true;
    }
    match result {
        Ok(()) => true,
        Err(_) if ctx.stopped.get() => true,
        Err(e) => {
            let lost = ctx.session.transport().ok().map(|t| t.connection_lost());
            if let Some(reason) = lost.and_then(|lost| shared.rt.block_on(lost)) {
                st.unreachable = true;
                let host = slot.host.name.clone();
                let error = reason
                    .strip_prefix(&format!("{host}: "))
                    .unwrap_or(&reason)
                    .to_string();
                shared.reporter.event(&Event::Unreachable { host, error });
                return false;
            }
            st.failed = true;
            st.stats.failed += 1;
            if ctx.reported_failure.borrow().is_none() {
                let error = ScriptError::from_eval(&e, &shared.sources).to_string();
                shared.reporter.event(&Event::HostFailed {
                    host: slot.host.name.clone(),
                    error,
                });
            }
            false
        }
    }
}

/// Says once, before the recap, that Ctrl-C stopped the run (no play,
/// batch or op started after it).
fn warn_if_interrupted(shared: &Shared) {
    if shared.settings.interrupt.is_set() {
        shared.reporter.event(&Event::Warn {
            host: None,
            message: "interrupted (Ctrl-C): no further op started; the recap shows what was done"
                .into(),
        });
    }
}

/// Why the hosts' failures in one `serial` batch end the run, as in Ansible:
/// `any_errors_fatal` and any failure; more than `max_fail_percentage` of the
/// batch (not of the play's hosts); or every host of the batch, whatever the
/// play's options. Unreachable hosts count as failed.
fn batch_stops_the_run(play: &Play, failed: usize, size: usize) -> Option<&'static str> {
    let over_limit = play
        .options
        .max_fail_percentage
        .is_some_and(|max| (failed as f64) * 100.0 / (size as f64) > max);
    if failed == 0 {
        None
    } else if play.options.any_errors_fatal {
        Some("any_errors_fatal")
    } else if over_limit {
        Some("max_fail_percentage exceeded")
    } else if failed == size {
        Some("every host of the batch failed")
    } else {
        None
    }
}

/// Marks interrupted every host that Ctrl-C kept from a play it was due to
/// run, from play `from` on (a host that ran `from` to its end excepted):
/// it did not get the whole playbook, though nothing of its failed.
fn mark_left_out(playbook: &Playbook, shared: &Shared, slots: &[Arc<Slot>], from: usize) {
    for (index, play) in playbook.decls.plays.iter().enumerate().skip(from) {
        let Ok((matched, _)) = shared.inventory.select_play(&play.hosts) else {
            continue;
        };
        let due = slots
            .iter()
            .filter(|s| matched.iter().any(|m| m.name == s.host.name))
            .filter(|s| {
                let st = s.state();
                !st.failed && !st.unreachable
            })
            .take(if play.options.run_once { 1 } else { usize::MAX });
        for slot in due {
            let mut st = slot.state();
            if st.finished.is_none_or(|done| done < index) {
                st.interrupted = true;
            }
        }
    }
}

/// One host's part in one play, run as its own task.
pub(super) struct HostRun {
    pub(super) shared: Arc<Shared>,
    pub(super) slot: Arc<Slot>,
    pub(super) playbook: Arc<Playbook>,
    /// The play's index in the playbook.
    pub(super) index: usize,
    /// The batch's `any_errors_fatal` flag.
    pub(super) halt: Option<Arc<Halt>>,
    /// The play's hosts and batch, for the templates' magic variables.
    pub(super) scope: PlayScope,
}

impl HostRun {
    /// Connects (on first use) and runs the play on the host's own blocking
    /// thread. Returns whether the host is still healthy; a failure raises
    /// the batch's `any_errors_fatal` flag.
    async fn run(self) -> bool {
        let HostRun {
            shared,
            slot,
            playbook,
            index,
            halt,
            scope,
        } = self;
        let name = slot.host.name.clone();
        shared
            .reporter
            .event(&Event::HostStart { host: name.clone() });
        let healthy = match open_foreseeing(&shared, &slot, &playbook, index).await {
            None => false,
            Some(session) => {
                let (on_shared, on_host, halt) = (shared.clone(), slot.clone(), halt.clone());
                let joined = tokio::task::spawn_blocking(move || {
                    let on = OnHost {
                        slot: &on_host,
                        session,
                        halt,
                        scope,
                        ahead: false,
                    };
                    play_on_host(&on_shared, &playbook, index, on)
                })
                .await;
                host_outcome(joined).unwrap_or_else(|error| {
                    let mut st = slot.state();
                    st.failed = true;
                    st.stats.failed += 1;
                    let host = name.clone();
                    shared.reporter.event(&Event::HostFailed { host, error });
                    false
                })
            }
        };
        if let (false, Some(halt)) = (healthy, &halt) {
            halt.raise(&name);
        }
        {
            let mut st = slot.state();
            if healthy && !st.interrupted {
                st.finished = Some(index);
            }
        }
        shared.reporter.event(&Event::HostEnd { host: name });
        healthy
    }
}

/// Connects on first use, asking what the host's plays from `index` on
/// are foreseen to ask in the opening round trip (see `rehearsal.rs`,
/// rehearsed with the facts its cache entry kept); `None` when the host is
/// unreachable. The rehearsal waits for a turn (`cpu_turns.rs`) while the
/// connection is made: a host's handshake does not wait for the others'
/// rehearsals.
pub(super) async fn open_foreseeing(
    shared: &Arc<Shared>,
    slot: &Arc<Slot>,
    playbook: &Arc<Playbook>,
    index: usize,
) -> Option<Arc<Session>> {
    let fresh = !slot.state().connect_attempted;
    let opening = fresh && shared.settings.offline.is_none();
    // Asked once, when the host's session is made (a later play finds it made).
    let gathered = fresh && gathers_facts(shared, playbook, &slot.host);
    let rehearsed = async {
        if !opening {
            return Default::default();
        }
        let (shared, slot, playbook) = (shared.clone(), slot.clone(), playbook.clone());
        let turns = shared.rehearsal_turns.clone();
        turns
            .run(move || {
                let cached = shared.settings.cache.load(&slot.host.name);
                let guess = cached.facts.clone();
                let foreseen = foresee(&shared, &playbook, index, &slot.host, guess, gathered);
                (cached, foreseen)
            })
            .await
            .unwrap_or_default()
    };
    ensure_session(shared, slot, gathered, rehearsed).await
}

/// Whether the host's thread left the host healthy, or the error to report
/// when it ended without an answer: it panicked (a bug in kbz-play or an
/// op), so the host failed, with the panic's message; never a silent
/// "not healthy" that leaves the host looking ok.
fn host_outcome(joined: Result<bool, tokio::task::JoinError>) -> Result<bool, String> {
    joined.map_err(panic_report)
}

fn panic_report(e: tokio::task::JoinError) -> String {
    let why = match e.try_into_panic() {
        Ok(payload) => payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".into()),
        Err(e) => e.to_string(),
    };
    format!("kbz-play panicked while running this host's play (a bug: please report it): {why}")
}

/// For each host, the index of the last play it takes part in: once that
/// play is done on it, [`finish_host`] releases it, so that another run
/// waiting for the host's lock need not wait for this whole run (and two
/// runs that each hold a host the other waits for do not wait on each
/// other until the lock timeout). A play whose pattern does not resolve
/// counts as every host's.
fn last_plays(
    playbook: &Playbook,
    inventory: &crate::inventory::Inventory,
    slots: &[Arc<Slot>],
) -> std::collections::HashMap<String, usize> {
    let mut last = std::collections::HashMap::new();
    for (index, play) in playbook.decls.plays.iter().enumerate() {
        let matched = inventory.select_play(&play.hosts).map(|(m, _)| m);
        for slot in slots {
            let takes_part = match &matched {
                Ok(hosts) => hosts.iter().any(|h| h.name == slot.host.name),
                Err(_) => true,
            };
            if takes_part {
                last.insert(slot.host.name.clone(), index);
            }
        }
    }
    last
}

/// Done with a host for this run: counts its round trips, stores what its
/// session learned in the cache and closes it, which releases its run lock.
/// A persistent master stays up unless Ctrl-C stopped the run. `through`:
/// the host ran its last play to the end.
async fn finish_host(shared: &Shared, slot: &Slot, through: bool) {
    let session = {
        let mut st = slot.state();
        let Some(session) = st.session.take() else {
            return;
        };
        st.stats.round_trips = session.round_trips();
        session
    };
    if session.is_offline() {
        return;
    }
    let unfiltered = shared.settings.tags.is_empty() && shared.settings.skip_tags.is_empty();
    let coverage = match through && unfiltered {
        true => Coverage::Whole,
        false => Coverage::Part,
    };
    if let Err(e) = shared
        .settings
        .cache
        .store(&slot.host.name, &session.cache_entry(), coverage)
    {
        shared.reporter.event(&Event::Warn {
            host: Some(slot.host.name.clone()),
            message: format!("could not write the cache (the next run will be slower): {e}"),
        });
    }
    if let Ok(session) = Arc::try_unwrap(session) {
        match shared.settings.interrupt.is_set() {
            true => session.close().await,
            false => session.leave().await,
        }
    }
}

/// Runs every play of `playbook` and reports as it goes.
pub async fn run(playbook: Arc<Playbook>, shared: Arc<Shared>) -> Result<RunSummary, RunError> {
    let run_started = Instant::now();
    let inventory = shared.inventory.clone();
    let selected: Vec<Host> = shared.run_hosts()?.into_iter().cloned().collect();
    shared.reporter.event(&Event::RunStart {
        playbook: playbook.path.display().to_string(),
        hosts: selected.len(),
        check: shared.settings.check,
    });
    let slots: Vec<Arc<Slot>> = selected
        .iter()
        .map(|h| {
            Arc::new(Slot {
                host: h.clone(),
                state: Mutex::new(SlotState::default()),
            })
        })
        .collect();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(shared.settings.forks.max(1)));
    // The play Ctrl-C stopped the run in, if it did between two batches.
    let mut interrupted_at = None;
    let last_plays = last_plays(&playbook, &inventory, &slots);
    // A listing (`--list-tags`) runs every play on every host it selects,
    // whatever failed before: a failure must not hide the plays after it.
    let listing = shared.settings.catalog().is_some();

    'plays: for (index, play) in playbook.decls.plays.iter().enumerate() {
        if shared.settings.interrupt.is_set() {
            interrupted_at = Some(index);
            break 'plays;
        }
        let (matched, unknown) = inventory.select_play(&play.hosts)?;
        let mut hosts: Vec<Arc<Slot>> = slots
            .iter()
            .filter(|s| matched.iter().any(|m| m.name == s.host.name))
            .filter(|s| {
                let st = s.state();
                listing || (!st.failed && !st.unreachable)
            })
            .cloned()
            .collect();
        if play.options.run_once {
            hosts.truncate(1);
        }
        shared.reporter.event(&Event::PlayStart {
            play: play.name.clone(),
            hosts: hosts.iter().map(|s| s.host.name.clone()).collect(),
        });
        // Plays deselected by --tags/--skip-tags stay quiet: `--tags redis`
        // on the whole site must not warn about every other module's group.
        if shared.settings.tags_selected(&play.options.tags) {
            let why = if unknown.is_empty() {
                String::new()
            } else {
                format!(" ({})", unknown.join("; "))
            };
            if hosts.is_empty() {
                shared.reporter.event(&Event::Warn {
                    host: None,
                    message: format!(
                        "play '{}' ({}): no hosts match '{}'{why}",
                        play.name, play.at, play.hosts
                    ),
                });
            } else if !unknown.is_empty() {
                shared.reporter.event(&Event::Warn {
                    host: None,
                    message: format!(
                        "play '{}' ({}): in '{}', ignored{why}",
                        play.name, play.at, play.hosts
                    ),
                });
            }
        }
        let batch = match &play.options.serial {
            Some(serial) => serial
                .batch_size(hosts.len())
                .map_err(|message| RunError::Play {
                    play: play.name.clone(),
                    at: play.at.clone(),
                    message,
                })?,
            None => hosts.len().max(1),
        };
        let names = |slots: &[Arc<Slot>]| -> Vec<String> {
            slots.iter().map(|s| s.host.name.clone()).collect()
        };
        let play_hosts = names(&hosts);
        let scope_of = |chunk: &[Arc<Slot>]| PlayScope::new(&play_hosts, &names(chunk));
        let host_run = |slot: &Arc<Slot>, halt: &Option<Arc<Halt>>, scope: PlayScope| HostRun {
            shared: shared.clone(),
            slot: slot.clone(),
            playbook: playbook.clone(),
            index,
            halt: halt.clone(),
            scope,
        };
        let spawn = |host: HostRun, ahead: bool| {
            let semaphore = semaphore.clone();
            let last = last_plays.get(&host.slot.host.name) == Some(&index);
            tokio::spawn(async move {
                let _permit = semaphore.acquire_owned().await.expect("semaphore open");
                let (shared, slot) = (host.shared.clone(), host.slot.clone());
                let done = match ahead {
                    true => host.go_ahead().await,
                    false => host.run().await,
                };
                if last && (done || !ahead) {
                    finish_host(&shared, &slot, done).await;
                }
                done
            })
        };
        let chunks: Vec<&[Arc<Slot>]> = hosts.chunks(batch).collect();
        let went_ahead = match !listing && goes_ahead(&shared, chunks.len()) {
            true => {
                let ahead = chunks.iter().flat_map(|chunk| {
                    let scope = scope_of(chunk);
                    chunk
                        .iter()
                        .map(move |slot| host_run(slot, &None, scope.clone()))
                });
                run_ahead(ahead.collect(), &spawn).await
            }
            false => Default::default(),
        };
        for chunk in chunks {
            if shared.settings.interrupt.is_set() {
                interrupted_at = Some(index);
                shared.reporter.event(&Event::PlayEnd {
                    play: play.name.clone(),
                });
                break 'plays;
            }
            let halt = (play.options.any_errors_fatal && !listing).then(Arc::<Halt>::default);
            let scope = scope_of(chunk);
            let tasks: Vec<_> = chunk
                .iter()
                .filter(|slot| !went_ahead.contains(&slot.host.name))
                .map(|slot| spawn(host_run(slot, &halt, scope.clone()), false))
                .collect();
            let mut failed = 0usize;
            for task in tasks {
                if !task.await.unwrap_or(false) {
                    failed += 1;
                }
            }
            let stops = batch_stops_the_run(play, failed, chunk.len()).filter(|_| !listing);
            if let Some(why) = stops {
                shared.reporter.event(&Event::Warn {
                    host: None,
                    message: format!(
                        "play '{}': {failed} of {} hosts of the batch failed; stopping the run ({why})",
                        play.name,
                        chunk.len()
                    ),
                });
                shared.reporter.event(&Event::PlayEnd {
                    play: play.name.clone(),
                });
                break 'plays;
            }
        }
        shared.reporter.event(&Event::PlayEnd {
            play: play.name.clone(),
        });
    }

    if let Some(from) = interrupted_at {
        mark_left_out(&playbook, &shared, &slots, from);
    }
    warn_if_interrupted(&shared);
    let mut recap = Vec::new();
    for slot in &slots {
        finish_host(&shared, slot, false).await;
        let stats = {
            let st = slot.state();
            let mut stats = st.stats.clone();
            stats.unreachable = st.unreachable;
            stats.interrupted = st.interrupted;
            stats
        };
        recap.push((slot.host.name.clone(), stats));
    }
    let exit_code = crate::report::exit_code(&recap);
    shared.reporter.event(&Event::RunEnd {
        recap: recap.clone(),
        elapsed: run_started.elapsed(),
    });
    shared.reporter.finish();
    Ok(RunSummary { recap, exit_code })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn joined(
        f: impl FnOnce() -> bool + Send + 'static,
    ) -> Result<bool, tokio::task::JoinError> {
        tokio::task::spawn_blocking(f).await
    }

    #[tokio::test]
    async fn a_panic_on_a_host_thread_fails_the_host_with_its_message() {
        let report = host_outcome(joined(|| panic!("index out of bounds: the len is 0")).await)
            .expect_err("a panic is a failure to report");
        assert!(report.contains("panicked"), "{report}");
        assert!(
            report.ends_with("index out of bounds: the len is 0"),
            "{report}"
        );
        let n = 7;
        let report = host_outcome(joined(move || panic!("formatted {n}")).await).unwrap_err();
        assert!(report.ends_with("formatted 7"), "{report}");
        assert_eq!(host_outcome(joined(|| false).await), Ok(false));
    }
}
