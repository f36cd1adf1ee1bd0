//! `--syntax-check`, `--list-hosts`, `--list-tags` and `--list-tasks`: what
//! an Ansible user runs before touching production, in ansible-playbook's
//! output shapes. Each loads the inventory and the playbook (compiling it and
//! running its top level, which only declares plays) and connects nowhere:
//! `secret()` gives placeholders, as in `render`, so no credentials are
//! needed either. The op calls and their tags are known only by running the
//! play bodies: `--list-tags` and `--list-tasks` run them offline, as
//! `render` does, into a [`Catalog`].

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::Result;
use kbz_engine::credentials::Credentials;
use kbz_engine::inventory::Inventory;
use kbz_engine::report::{masked::Masked, plain::Plain, Event, OpStatus, Reporter};
use kbz_engine::run::catalog::Catalog;
use kbz_engine::run::Offline;
use kbz_engine::script::Play;
use kbz_engine::secrets::Secrets;
use kbz_engine::vault::Vault;

use crate::cli::{Output, RunArgs};
use crate::exit;

/// Whether the run only inspects the playbook instead of running it.
pub fn wanted(args: &RunArgs) -> bool {
    args.syntax_check || args.list_hosts || args.list_tags || args.list_tasks
}

/// Whether the listing shows the op calls, which takes an offline run.
fn lists_ops(args: &RunArgs) -> bool {
    args.list_tags || args.list_tasks
}

/// One declared play as the listings show it.
struct Listed {
    name: String,
    pattern: String,
    tags: Vec<String>,
    /// Its hosts after `--limit`.
    hosts: Vec<String>,
    /// Its hosts whatever `--limit` says, which the ops are listed for.
    matched: Vec<String>,
}

/// Checks or lists the playbook; prints to stdout, warnings to stderr.
/// Under `--syntax-check` an error in the playbook exits
/// [`exit::SYNTAX_ERROR`]; an unreadable inventory or bad `-e` stays
/// [`exit::ERROR`], as do all errors of the listings.
pub fn inspect(args: &RunArgs) -> Result<u8> {
    let common = &args.common;
    // As ansible-playbook: vaulted inventory vars need their password here too.
    let secrets = Secrets::default();
    let vault = crate::vault::open(&common.vault, &secrets)?;
    let inventory = Arc::new(crate::load_inventory(&common.inventory, &vault)?);
    let extra_vars = crate::parse_extra_vars(&common.extra_vars)?;
    let limited = limited(&inventory, common.limit.as_deref())?;
    // Review credentials read no secret: there is nothing to mask.
    let reporter: Arc<dyn Reporter> = Arc::new(Plain::new(std::io::stderr(), common.verbose));
    let declared = crate::load_playbook(
        common,
        inventory.clone(),
        extra_vars,
        reporter.clone(),
        Arc::new(Credentials::review()),
        vault.clone(),
    )
    .and_then(|playbook| {
        playbook
            .decls
            .plays
            .iter()
            .map(|play| listed(play, &inventory, limited.as_deref(), &reporter))
            .collect::<Result<Vec<_>>>()
    });
    let plays = match declared {
        Ok(plays) => plays,
        Err(e) if args.syntax_check => {
            eprintln!("error: {e:#}");
            return Ok(exit::SYNTAX_ERROR);
        }
        Err(e) => return Err(e),
    };
    let (catalog, code) = catalogued(args, vault, &secrets)?;
    crate::print_bytes(listing(args, &plays, &catalog).as_bytes())?;
    Ok(code)
}

/// Every play's op calls, from running the bodies offline when the listing
/// shows them, and that run's exit code (2 when a body failed). The vault
/// is the one loading used: its passwords are asked once.
fn catalogued(args: &RunArgs, vault: Vault, secrets: &Secrets) -> Result<(Arc<Catalog>, u8)> {
    let catalog = Arc::new(Catalog::default());
    if !lists_ops(args) {
        return Ok((catalog, exit::OK));
    }
    // As ansible-playbook's, the ops listed are the same whatever `--limit`
    // says: every host of the play runs its body.
    let mut common = args.common.clone();
    common.limit = None;
    let offline = RunArgs::offline(common, Output::Quiet);
    let listing = Some(Offline::List(catalog.clone()));
    let code = crate::execute_opened(&offline, listing, vault, secrets)?;
    Ok((catalog, code))
}

/// What the offline run behind `--list-tags` reports, on stderr (stdout is
/// the listing's): only what a play's body ran into, a failed op, a host's
/// error, its warnings. The top level's warnings came with loading it.
pub fn reporter(verbose: u8, secrets: &Secrets) -> Arc<dyn Reporter> {
    let stderr = Box::new(Plain::new(std::io::stderr(), verbose));
    Arc::new(Masked::new(Box::new(BodyTrouble(stderr)), secrets.clone()))
}

/// Passes on only the events of a play body's trouble.
struct BodyTrouble(Box<dyn Reporter>);

impl Reporter for BodyTrouble {
    fn event(&self, event: &Event) {
        let keep = match event {
            Event::OpEnd { status, .. } => *status == OpStatus::Failed,
            Event::Warn { host, .. } => host.is_some(),
            Event::HostFailed { .. } => true,
            _ => false,
        };
        if keep {
            self.0.event(event);
        }
    }

    fn finish(&self) {
        self.0.finish();
    }
}

/// The hosts `--limit` leaves, or `None` without one; strict, as in a run.
fn limited(inventory: &Inventory, limit: Option<&str>) -> Result<Option<Vec<String>>> {
    let Some(limit) = limit else {
        return Ok(None);
    };
    let hosts = inventory.select(limit)?;
    Ok(Some(hosts.iter().map(|h| h.name.clone()).collect()))
}

/// A play's hosts (its pattern, then `--limit`), warning about the pattern's
/// terms that name nothing, as a run would.
fn listed(
    play: &Play,
    inventory: &Inventory,
    limited: Option<&[String]>,
    reporter: &Arc<dyn Reporter>,
) -> Result<Listed> {
    let (matched, unknown) = inventory.select_play(&play.hosts)?;
    if !unknown.is_empty() {
        reporter.event(&Event::Warn {
            host: None,
            message: format!("play '{}': {}", play.name, unknown.join("; ")),
        });
    }
    let matched: Vec<String> = matched.iter().map(|h| h.name.clone()).collect();
    let hosts = matched
        .iter()
        .filter(|name| limited.map_or(true, |l| l.contains(name)))
        .cloned()
        .collect();
    Ok(Listed {
        name: play.name.clone(),
        pattern: play.hosts.clone(),
        tags: play.options.tags.clone(),
        hosts,
        matched,
    })
}

/// ansible-playbook's shape: `playbook: FILE`, then per play
/// `play #N (PATTERN): NAME<TAB>TAGS: [a,b]` and, with `--list-hosts`, its
/// `pattern:` and `hosts (N):` lines; then its ops (`--list-tasks`) and
/// their tags (`--list-tags`). `--syntax-check` alone prints only the first
/// line.
fn listing(args: &RunArgs, plays: &[Listed], catalog: &Catalog) -> String {
    let mut out = format!("\nplaybook: {}\n", args.common.playbook.display());
    if !(args.list_hosts || lists_ops(args)) {
        return out;
    }
    for (index, play) in plays.iter().enumerate() {
        let _ = write!(
            out,
            "\n  play #{} ({}): {}\tTAGS: [{}]\n",
            index + 1,
            play.pattern,
            play.name,
            play.tags.join(",")
        );
        if args.list_hosts {
            let _ = write!(
                out,
                "    pattern: ['{}']\n    hosts ({}):\n",
                play.pattern,
                play.hosts.len()
            );
            for host in &play.hosts {
                let _ = writeln!(out, "      {host}");
            }
        }
        if lists_ops(args) {
            out.push_str(&ops(args, play, index, catalog));
        }
    }
    out
}

/// A play's op calls (`--list-tasks`: `tasks:`, then `NAME<TAB>TAGS: [..]`
/// each) and their tags with the play's (`--list-tags`: `TASK TAGS: [..]`),
/// sorted, as ansible-playbook prints them.
fn ops(args: &RunArgs, play: &Listed, index: usize, catalog: &Catalog) -> String {
    let mut out = String::new();
    if args.list_tasks {
        out.push_str("    tasks:\n");
        for task in catalog.tasks(index, &play.matched) {
            let _ = writeln!(out, "      {}\tTAGS: [{}]", task.name, task.tags.join(", "));
        }
    }
    if args.list_tags {
        let mut tags = catalog.tags(index);
        tags.extend(play.tags.iter().cloned());
        tags.sort();
        tags.dedup();
        let _ = writeln!(out, "      TASK TAGS: [{}]", tags.join(", "));
    }
    out
}
