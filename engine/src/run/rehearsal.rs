//! Rehearsing a play: its body run once with every op only recording the
//! probes it would ask (see [`HostCtx::rehearsing`]), so they are all asked
//! in one round trip before the ops plan.
//!
//! A host's first play is rehearsed twice. Before the host is opened, with
//! the facts a render assumes (`render::offline_facts`): its probes join the
//! opening round trip, beside the facts, so a first run asks the host once
//! before it changes anything. Then with the host's real facts, as every
//! play is: a script that branches on a fact the guess got wrong asks what
//! the first rehearsal missed in one more round trip, and only then.

use std::rc::Rc;
use std::sync::Arc;

use super::host::HostCtx;
use super::session::Session;
use super::shared::Shared;
use crate::inventory::{Host, Vars};
use crate::probe::Probe;
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

/// The probes play `index`'s body asks of `host`, seen through `session`
/// (its facts). Whatever the rehearsal does not reach (an error, a branch
/// on a command's output) is simply probed later, op by op.
pub(super) fn rehearse(
    shared: &Arc<Shared>,
    playbook: &Playbook,
    index: usize,
    host: &Host,
    session: Arc<Session>,
) -> Vec<Probe> {
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

/// The probes play `index` would ask of `host` before it is opened: a
/// rehearsal against the facts a render assumes.
pub(super) fn foresee(
    shared: &Arc<Shared>,
    playbook: &Playbook,
    index: usize,
    host: &Host,
) -> Vec<Probe> {
    let guess = Arc::new(Session::offline(super::render::offline_facts(host)));
    rehearse(shared, playbook, index, host, guess)
}
