//! `--syntax-check`, `--list-hosts` and `--list-tags`: what an Ansible user
//! runs before touching production, in ansible-playbook's output shapes.
//! Each loads the inventory and the playbook (compiling it and running its
//! top level, which only declares plays) and connects nowhere: `secret()`
//! gives placeholders, as in `render`, so no credentials are needed either.

use std::fmt::Write as _;
use std::sync::Arc;

use anyhow::Result;
use kbz_engine::credentials::Credentials;
use kbz_engine::inventory::Inventory;
use kbz_engine::report::{plain::Plain, Event, Reporter};
use kbz_engine::script::Play;

use crate::cli::RunArgs;
use crate::exit;

/// Whether the run only inspects the playbook instead of running it.
pub fn wanted(args: &RunArgs) -> bool {
    args.syntax_check || args.list_hosts || args.list_tags
}

/// One declared play as the listings show it.
struct Listed {
    name: String,
    pattern: String,
    tags: Vec<String>,
    hosts: Vec<String>,
}

/// Checks or lists the playbook; prints to stdout, warnings to stderr.
/// Under `--syntax-check` an error in the playbook exits
/// [`exit::SYNTAX_ERROR`]; an unreadable inventory or bad `-e` stays
/// [`exit::ERROR`], as do all errors of the listings.
pub fn inspect(args: &RunArgs) -> Result<u8> {
    let common = &args.common;
    // As ansible-playbook: vaulted inventory vars need their password here too.
    let vault = crate::vault::open(&common.vault, &kbz_engine::secrets::Secrets::default())?;
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
        vault,
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
    crate::print_bytes(listing(args, &plays).as_bytes())
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
    let hosts = matched
        .iter()
        .map(|h| h.name.clone())
        .filter(|name| limited.map_or(true, |l| l.contains(name)))
        .collect();
    Ok(Listed {
        name: play.name.clone(),
        pattern: play.hosts.clone(),
        tags: play.options.tags.clone(),
        hosts,
    })
}

/// ansible-playbook's shape: `playbook: FILE`, then per play
/// `play #N (PATTERN): NAME<TAB>TAGS: [..]` and, with `--list-hosts`, its
/// `pattern:` and `hosts (N):` lines. `--syntax-check` alone prints only
/// the first line.
fn listing(args: &RunArgs, plays: &[Listed]) -> String {
    let mut out = format!("\nplaybook: {}\n", args.common.playbook.display());
    if !(args.list_hosts || args.list_tags) {
        return out;
    }
    for (index, play) in plays.iter().enumerate() {
        let _ = write!(
            out,
            "\n  play #{} ({}): {}\tTAGS: [{}]\n",
            index + 1,
            play.pattern,
            play.name,
            play.tags.join(", ")
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
    }
    out
}
