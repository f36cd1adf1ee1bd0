//! Rehearsing a play: its body run once with every op only recording the
//! probes it would ask (see [`HostCtx::rehearsing`]), so they are all asked
//! in one round trip before the ops plan.
//!
//! Every play of a host is rehearsed twice. Before the host is opened, all
//! of its plays, with the facts the last run gathered (the cache), else
//! those a render assumes (`render::offline_facts`):
//! their probes and read-only commands (`foresight.rs`) join the opening
//! round trip, beside the facts, so a rerun asks the host once for the
//! whole run. Then each play with the host's real facts, before it runs: a
//! script that branches on a fact the guess got wrong, or on a command's
//! output, asks what the first rehearsal missed in one more round trip, and
//! only then.

use std::rc::Rc;
use std::sync::Arc;

use super::foresight::Foreseen;
use super::host::HostCtx;
use super::session::Session;
use super::shared::Shared;
use crate::inventory::{Host, Vars};
use crate::probe::Facts;
use crate::script::Playbook;

/// The host's vars as play `index` sees them: the play's vars over the
/// host's, `-e` over both.
pub(super) fn play_vars(shared: &Shared, playbook: &Playbook, index: usize, host: &Host) -> Vars {
    let mut vars = host.vars.clone();
    if let Some(pv) = &playbook.decls.plays[index].options.vars {
        vars.extend(pv.clone());
    }
    vars.extend(shared.settings.extra_vars.clone());
    vars
}

/// The probes and read-only commands play `index`'s body asks of `host`,
/// seen through `session` (its facts, the opening's answers). Whatever the
/// rehearsal does not reach (an error, a branch on a command's output the
/// opening did not answer) is simply probed later, op by op.
pub(super) fn rehearse(
    shared: &Arc<Shared>,
    playbook: &Playbook,
    index: usize,
    host: &Host,
    session: Arc<Session>,
) -> Foreseen {
    let play = &playbook.decls.plays[index];
    let vars = play_vars(shared, playbook, index, host);
    let host_value = crate::script::host_map(host, &vars, session.play_facts());
    let ctx = HostCtx::new(
        shared.clone(),
        host.clone(),
        vars,
        session,
        index,
        play.options.tags.clone(),
    );
    let rehearsal = Rc::new(ctx.rehearsing());
    let _ = rehearsal.enter(|| play.body.call(&playbook.engine, vec![host_value]));
    rehearsal.rehearsed()
}

/// What the plays of `host` from `first` on would ask before it is opened:
/// rehearsals against `guess`, the facts the last run gathered (the cache),
/// else those a render assumes. The last run's facts take the branches the
/// run will take on a rerun: a read-only command behind `memory_mb > 0`,
/// never reached with a render's facts, would otherwise cost the rerun a
/// second round trip.
pub(super) fn foresee(
    shared: &Arc<Shared>,
    playbook: &Playbook,
    first: usize,
    host: &Host,
    guess: Option<Facts>,
    gathered: bool,
) -> Foreseen {
    let facts = guess.unwrap_or_else(|| super::render::offline_facts(host));
    let guess = Arc::new(Session::offline(facts).gathering(gathered));
    let mut foreseen = Foreseen::default();
    for index in
        (first..playbook.decls.plays.len()).filter(|&i| takes_part(shared, playbook, i, host))
    {
        let met = rehearse(shared, playbook, index, host, guess.clone());
        if runs_on(shared, playbook, index, host) {
            foreseen.extend(met);
        }
    }
    foreseen
}

/// Whether a play of `host` gathers facts (`gather_facts`, on unless a
/// play says otherwise): then the run gathers them once, in the opening,
/// and every play of the host sees them, as a later Ansible play sees the
/// facts an earlier one gathered. Every play counts, whatever `first` is:
/// the host opens once.
pub(super) fn gathers_facts(shared: &Shared, playbook: &Playbook, host: &Host) -> bool {
    (0..playbook.decls.plays.len()).any(|i| {
        playbook.decls.plays[i].options.gather_facts && takes_part(shared, playbook, i, host)
    })
}

/// Whether play `index`'s hosts include `host`.
fn takes_part(shared: &Shared, playbook: &Playbook, index: usize, host: &Host) -> bool {
    let pattern = &playbook.decls.plays[index].hosts;
    shared
        .inventory
        .select_play(pattern)
        .is_ok_and(|(matched, _)| matched.iter().any(|h| h.name == host.name))
}

/// Whether what play `index` met in `host`'s rehearsal is asked in its
/// opening: always, but for a `run_once` play only on the host the run
/// picks (the first of its hosts in the run, see [`first_in_run`]). Every
/// host still rehearses a run_once play, for what it sets that later plays
/// read (the Redis master, the Galera plan); asking its commands and guards
/// everywhere would cost each host for nothing (an Erlang VM per host for
/// RabbitMQ's `rabbitmqctl` guard).
fn runs_on(shared: &Shared, playbook: &Playbook, index: usize, host: &Host) -> bool {
    let play = &playbook.decls.plays[index];
    if !play.options.run_once {
        return true;
    }
    let Ok((matched, _)) = shared.inventory.select_play(&play.hosts) else {
        return false;
    };
    first_in_run(shared, &matched).is_some_and(|name| name == host.name)
}

/// The first host of `matched` in the run's order ([`Shared::run_hosts`]),
/// where the executor runs a run_once play. A host before it that fails or
/// is unreachable moves the play to the next one, which was not foreseen:
/// it asks live, one round trip more.
fn first_in_run<'a>(shared: &Shared, matched: &[&'a Host]) -> Option<&'a str> {
    let run = shared.run_hosts().ok()?;
    run.iter()
        .find_map(|r| matched.iter().find(|m| m.name == r.name))
        .map(|m| m.name.as_str())
}
