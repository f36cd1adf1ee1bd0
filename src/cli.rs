//! Command-line arguments. Flag names follow Ansible's wherever one exists,
//! so an operator's habits carry over.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Rhai playbooks over SSH, idempotent by content hash.
///
/// `kbz-play PLAYBOOK.rhai -i INVENTORY` runs a playbook: every operation
/// compares the host's state with the desired one and changes only what
/// differs, so a rerun changes nothing and costs about one round trip per host.
#[derive(Debug, Parser)]
#[command(
    name = "kbz-play",
    version,
    about,
    long_about,
    propagate_version = true
)]
#[command(after_help = "Examples:\n  \
    kbz-play playbooks/site.rhai -i playbooks/inventory/servers.tsv\n  \
    kbz-play playbooks/site.rhai -i inv.tsv --check --diff\n  \
    kbz-play playbooks/site.rhai -i inv.tsv --limit redis --tags sentinel -e redis_port=6380\n  \
    kbz-play render playbooks/site.rhai -i inv.tsv --out review/\n  \
    kbz-play doc template")]
pub struct Cli {
    /// What to do; without a subcommand, the playbook is run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands. `run` is implied when the first argument is a playbook.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a playbook against the inventory (the default).
    Run(RunArgs),
    /// Write every file each host would receive, and the commands it would
    /// run, into a folder for review; connects nowhere.
    Render(RenderArgs),
    /// List the operations and script functions, or describe one: its
    /// calls, parameters and an example.
    Doc {
        /// An operation or function name, e.g. `template` or `facts`.
        op: Option<String>,
    },
    /// Show the inventory: hosts, groups and their merged variables;
    /// `--list`, `--graph`, `--host` and `--yaml` print what
    /// `ansible-inventory` prints.
    Inventory(InventoryArgs),
}

/// `kbz-play inventory`.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The inventory: a TSV, Ansible YAML or INI file, or a folder of them;
    /// repeat to merge several in order, as Ansible does.
    #[arg(short, long, env = "KBZ_INVENTORY", required = true)]
    pub inventory: Vec<PathBuf>,
    /// Only hosts matching this pattern (the default view).
    #[arg(short, long)]
    pub limit: Option<String>,
    /// Every group and host with its merged vars, as `ansible-inventory --list`.
    #[arg(long, conflicts_with_all = ["graph", "host"])]
    pub list: bool,
    /// The group tree from GROUP (default `all`), as `ansible-inventory --graph`.
    #[arg(long, value_name = "GROUP", num_args = 0..=1, conflicts_with = "host")]
    pub graph: Option<Option<String>>,
    /// One host's merged vars, as `ansible-inventory --host`.
    #[arg(long, value_name = "NAME")]
    pub host: Option<String>,
    /// YAML instead of JSON for `--list` and `--host`.
    #[arg(short = 'y', long)]
    pub yaml: bool,
}

/// Options shared by `run` and `render`.
#[derive(Debug, Args)]
pub struct PlaybookArgs {
    /// The playbook, a Rhai script.
    pub playbook: PathBuf,
    /// The inventory: servers.tsv, an Ansible YAML or INI inventory, or a folder
    /// of them; repeat to merge several in order, as Ansible does.
    #[arg(short, long, env = "KBZ_INVENTORY", required = true)]
    pub inventory: Vec<PathBuf>,
    /// Only hosts matching this pattern (`redis`, `db*`, `a:&b`, `a:!b`).
    #[arg(short, long)]
    pub limit: Option<String>,
    /// Only ops carrying one of these tags (comma-separated, repeatable).
    #[arg(short, long, value_delimiter = ',')]
    pub tags: Vec<String>,
    /// Skip ops carrying one of these tags.
    #[arg(long, value_delimiter = ',')]
    pub skip_tags: Vec<String>,
    /// Extra variables, highest precedence: `k=v k2=v2`, a JSON/YAML map, or `@file.yml`.
    #[arg(short, long = "extra-vars", value_name = "VARS")]
    pub extra_vars: Vec<String>,
    /// The folder of NAME.env credential files that `secret("NAME")` reads (0600 files only).
    #[arg(long, value_name = "DIR", env = "KBZ_CREDENTIALS", default_value = kbz_engine::credentials::DEFAULT_DIR)]
    pub credentials: PathBuf,
    /// More output (`-v` shows unchanged ops too).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// `kbz-play run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: PlaybookArgs,
    /// Show what would change; change nothing.
    #[arg(short = 'C', long)]
    pub check: bool,
    /// Show unified diffs of changed files (secrets masked).
    #[arg(short = 'D', long)]
    pub diff: bool,
    /// How many hosts to work on at once.
    #[arg(short, long, default_value_t = 50)]
    pub forks: usize,
    /// Remote user (the inventory's ansible_user wins).
    #[arg(short, long)]
    pub user: Option<String>,
    /// Run commands and write files as root through `sudo -n`.
    #[arg(short, long = "become")]
    pub become_: bool,
    /// The user to become.
    #[arg(long, default_value = "root")]
    pub become_user: String,
    /// SSH private key.
    #[arg(long, value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// OpenSSH config file (`ssh -F`); ~/.ssh/config is used otherwise.
    #[arg(short = 'F', long, value_name = "FILE", env = "KBZ_SSH_CONFIG")]
    pub ssh_config: Option<PathBuf>,
    /// Refuse hosts whose key is not already known (default: the ssh config's
    /// StrictHostKeyChecking, else record new keys and refuse changed ones,
    /// like OpenSSH's accept-new).
    #[arg(long)]
    pub strict_host_keys: bool,
    /// Connection timeout in seconds.
    #[arg(short = 'T', long, default_value_t = 10)]
    pub timeout: u64,
    /// Seconds to wait for another kbz-play run to release a host (each run
    /// locks its hosts); then the host fails as busy, naming that run.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub lock_timeout: u64,
    /// Seconds a command or a round trip of probes may run on a host before
    /// its processes are killed and the host fails (an op's `timeout:` wins;
    /// default: commands unbounded, probes 300).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub op_timeout: Option<u64>,
    /// Output format: `auto` (progress on a terminal, plain lines otherwise), `plain`, `json`.
    #[arg(short, long, value_enum, default_value_t = Output::Auto)]
    pub output: Output,
    /// Where the probe cache lives (default $XDG_CACHE_HOME/kbz-play, else
    /// ~/.cache/kbz-play); made 0700, ignored with a warning if another user owns it.
    #[arg(long, value_name = "DIR", env = "KBZ_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not read or write the probe cache.
    #[arg(long)]
    pub no_cache: bool,
}

/// `kbz-play render`.
#[derive(Debug, Args)]
pub struct RenderArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: PlaybookArgs,
    /// The folder to write into (DIR/HOST/etc/..., DIR/HOST/commands.sh);
    /// emptied first, so it must be new, empty, or written by an earlier render.
    #[arg(long, default_value = "review")]
    pub out: PathBuf,
    /// Print every rendered operation, not only errors.
    #[arg(long = "show-ops")]
    pub verbose_output: bool,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Progress bars on a terminal, plain lines otherwise.
    Auto,
    /// One line per event.
    Plain,
    /// One JSON object per line.
    Json,
    /// Only warnings, errors and the recap.
    Quiet,
}

const SUBCOMMANDS: &[&str] = &["run", "render", "doc", "inventory", "help"];

/// Parses argv, inserting `run` when the first argument is not a subcommand
/// (so `kbz-play site.rhai -i inv` works).
pub fn parse() -> Cli {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(first) = args.get(1).and_then(|a| a.to_str()) {
        let is_flag = first.starts_with('-');
        let implied_run = if is_flag {
            !matches!(first, "-h" | "--help" | "-V" | "--version")
        } else {
            !SUBCOMMANDS.contains(&first)
        };
        if implied_run {
            args.insert(1, "run".into());
        }
    }
    Cli::parse_from(args)
}
