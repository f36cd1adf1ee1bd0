//! `kbz-play render`: every file each host would receive, written under a
//! folder for review, without connecting anywhere.

use anyhow::{Context, Result};

use crate::cli::{Output, RenderArgs, RunArgs};

/// Renders the playbook for review into `args.out`.
pub fn render(args: RenderArgs) -> Result<u8> {
    let out = args.out.clone();
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("cannot clear {}", out.display()))?;
    }
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
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
        output: if args.verbose_output {
            Output::Plain
        } else {
            Output::Quiet
        },
        cache_dir: None,
        no_cache: true,
    };
    let code = crate::execute(&run, Some(out.clone()))?;
    if code == 0 {
        println!("rendered into {}", out.display());
    }
    Ok(code)
}
