//! `kbz-play render`: every file each host would receive, written under a
//! folder for review, without connecting anywhere.

use std::path::Path;

use anyhow::{bail, Context, Result};

use crate::cli::{Output, RenderArgs, RunArgs};

/// The file that marks a folder as written by `render`, which may then
/// empty it for the next render.
const MARKER: &str = ".kbz-play-render";

/// Makes `out` an empty folder holding only [`MARKER`]. A folder is emptied
/// only when a previous render wrote it (or it is empty already): `--out .`
/// or `--out ~` must not wipe a checkout or a home.
fn prepare_out(out: &Path) -> Result<()> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out)
            .with_context(|| format!("--out {}: cannot read the folder", out.display()))?;
        if !out.join(MARKER).is_file() && entries.next().is_some() {
            bail!(
                "--out {} is not empty and not a folder an earlier `kbz-play render` wrote (it \
                 has no {MARKER}); render empties its folder first, so give it a new or an empty one",
                out.display()
            );
        }
        std::fs::remove_dir_all(out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    std::fs::write(
        out.join(MARKER),
        "Written by `kbz-play render`, which empties this folder on its next run.\n",
    )
    .with_context(|| format!("cannot write {}", out.join(MARKER).display()))
}

/// Renders the playbook for review into `args.out`.
pub fn render(args: RenderArgs) -> Result<u8> {
    let out = args.out.clone();
    prepare_out(&out)?;
    let run = RunArgs {
        common: args.common,
        check: false,
        diff: false,
        forks: 64,
        user: None,
        become_: false,
        become_user: "root".into(),
        private_key: None,
        ssh_config: None,
        strict_host_keys: false,
        timeout: 10,
        // Unused: render connects nowhere, so it locks nothing.
        lock_timeout: 0,
        op_timeout: None,
        // Render connects nowhere: no masters, and no persist folder made.
        persist: 0,
        output: if args.verbose_output {
            Output::Plain
        } else {
            Output::Quiet
        },
        cache_dir: None,
        no_cache: true,
        list_hosts: false,
        list_tags: false,
        syntax_check: false,
    };
    let code = crate::execute(&run, Some(out.clone()))?;
    if code == 0 {
        println!("rendered into {}", out.display());
    }
    Ok(code)
}
