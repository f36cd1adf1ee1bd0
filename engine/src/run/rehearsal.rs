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
    let host_value = crate::script::host_map(host, &vars, Some(&session.facts));
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
) -> Foreseen {
    let facts = guess.unwrap_or_else(|| super::render::offline_facts(host));
    let guess = Arc::new(Session::offline(facts));
    let mut foreseen = Foreseen::default();
    for index in
        (first..playbook.decls.plays.len()).filter(|&i| takes_part(shared, playbook, i, host))
    {
        foreseen.extend(rehearse(shared, playbook, index, host, guess.clone()));
    }
    foreseen
}

/// Whether play `index`'s hosts include `host`.
fn takes_part(shared: &Shared, playbook: &Playbook, index: usize, host: &Host) -> bool {
    let pattern = &playbook.decls.plays[index].hosts;
    shared
        .inventory
        .select_play(pattern)
        .is_ok_and(|(matched, _)| matched.iter().any(|h| h.name == host.name))
}
