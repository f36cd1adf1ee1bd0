//! Command-line arguments. Flag names follow Ansible's wherever one exists,
//! so an operator's habits carry over.

use std::path::PathBuf;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

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
    kbz-play playbooks/site.rhai -i inv.tsv --list-hosts --limit redis\n  \
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
    /// List the operations, script functions, the project's roles and the
    /// operations they write in Rhai, or describe one: an op's calls,
    /// parameters and example, a role's page (its header and functions).
    Doc {
        /// An operation, function or role name, e.g. `template`, `facts`,
        /// `redis` (`roles/NAME` for a role named like an op).
        op: Option<String>,
    },
    /// Start something new in the project: `new role NAME` writes a role
    /// skeleton that renders as written.
    New {
        /// What to create.
        #[command(subcommand)]
        what: New,
    },
    /// Show the inventory: hosts, groups and their merged variables;
    /// `--list`, `--graph`, `--host` and `--yaml` print what
    /// `ansible-inventory` prints.
    Inventory(InventoryArgs),
    /// Print a shell completion script.
    ///
    /// Generated from the same definitions as the parser: `source <(kbz-play
    /// completions bash)`, or save it where the shell looks
    /// (`~/.local/share/bash-completion/completions/kbz-play`,
    /// `~/.zfunc/_kbz-play`, `~/.config/fish/completions/kbz-play.fish`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Close the ssh masters earlier runs left up (`--persist`): those of
    /// the hosts whose inventory name or `user@address:port` matches
    /// PATTERN (a glob), all without one.
    Disconnect {
        /// A glob, e.g. `web*` or `*@10.0.0.5:22`.
        pattern: Option<String>,
    },
    /// Print the man page (roff).
    ///
    /// `kbz-play man | man -l -`, or save it as `kbz-play.1` in a `man1`
    /// folder of the MANPATH; `kbz-play man render` is the page the main one
    /// names `kbz-play-render(1)`.
    Man {
        /// A subcommand, for its own page.
        subcommand: Option<String>,
    },
}

/// What `kbz-play new` creates.
#[derive(Debug, Subcommand)]
pub enum New {
    /// roles/NAME.rhai (a header and a documented `apply`), an example
    /// template in templates/NAME/, and playbooks/NAME.rhai using it.
    Role {
        /// The role's name: lower-case letters, digits and `_`.
        name: String,
        /// The project's folder (holding roles/, templates/, playbooks/).
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

/// `kbz-play inventory`.
#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// The inventory: a TSV, Ansible YAML or INI file, or a folder of them;
    /// repeat to merge several in order, as Ansible does.
    #[arg(short, long, env = "KBZ_INVENTORY", required = true)]
    pub inventory: Vec<PathBuf>,
    /// Only hosts matching this pattern (the default view and `--list`;
    /// `--graph` and `--host` ignore it, as in ansible-inventory).
    #[arg(short, long)]
    pub limit: Option<String>,
    /// With `--list` or `--host`: each group's own vars on the group and
    /// each host's own vars, not merged (`ansible-inventory --export`).
    #[arg(long)]
    pub export: bool,
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
    #[command(flatten)]
    #[allow(missing_docs)]
    pub vault: VaultArgs,
}

/// Options shared by `run` and `render`.
#[derive(Debug, Clone, Args)]
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
    /// More output: `-v` adds the ops that were ok or skipped, and their
    /// times; `-vv` a line as each op starts (JSON has every event anyway).
    #[arg(short, long, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub vault: VaultArgs,
}

/// Ansible Vault passwords, with Ansible's flags: files and values encrypted
/// by `ansible-vault` in `group_vars`/`host_vars` are decrypted with them.
#[derive(Debug, Clone, Default, Args)]
pub struct VaultArgs {
    /// A vault password file (repeatable; default: $ANSIBLE_VAULT_PASSWORD_FILE
    /// when set and not empty); an executable one is run and its output is
    /// the password.
    #[arg(long, value_name = "FILE")]
    pub vault_password_file: Vec<PathBuf>,
    /// Ask for the vault password on the terminal (no echo).
    #[arg(short = 'J', long)]
    pub ask_vault_pass: bool,
    /// A vault id and its password: `LABEL@FILE`, `LABEL@prompt` or `FILE`
    /// (repeatable); a `$ANSIBLE_VAULT;1.2;AES256;LABEL` file tries its
    /// label's password first, then the others.
    #[arg(long, value_name = "[LABEL@]FILE|prompt")]
    pub vault_id: Vec<String>,
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
    /// Seconds the ssh masters stay up after the run, idle, so that the
    /// next run reuses them without a handshake (Ansible's ControlPersist);
    /// 0 closes them with the run. `kbz-play disconnect` closes them.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub persist: u64,
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
    /// List each play's hosts (after `--limit`), then exit; connects nowhere.
    #[arg(long)]
    pub list_hosts: bool,
    /// List each play's tags and its ops' (TASK TAGS, from running the
    /// play bodies offline, as `render` does), then exit; connects nowhere.
    #[arg(long)]
    pub list_tags: bool,
    /// List each play's ops with their tags (from running the play bodies
    /// offline, as `render` does), then exit; connects nowhere.
    #[arg(long)]
    pub list_tasks: bool,
    /// Check the playbook: it compiles and its top level runs (imports,
    /// roles, play declarations, host patterns), then exit; connects nowhere.
    /// An error exits 4, as ansible-playbook's parser errors do.
    #[arg(long)]
    pub syntax_check: bool,
}

impl RunArgs {
    /// A run that connects nowhere (`render`, `--list-tags`): no cache, no
    /// lock, hosts answered as fresh ones; `output` for its events.
    pub fn offline(common: PlaybookArgs, output: Output) -> RunArgs {
        RunArgs {
            common,
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
            // Unused: an offline run locks nothing.
            lock_timeout: 0,
            op_timeout: None,
            // Unused: an offline run connects nowhere.
            persist: 0,
            output,
            cache_dir: None,
            no_cache: true,
            list_hosts: false,
            list_tags: false,
            list_tasks: false,
            syntax_check: false,
        }
    }
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

/// The help's layout: the run's arguments and options first (a playbook
/// run is the default command), then the subcommands; clap's default puts
/// the subcommands first.
const HELP_TEMPLATE: &str = "\
{before-help}{about-with-newline}
{usage-heading} {usage}

Arguments:
{positionals}

Options:
{options}

Commands:
{subcommands}{after-help}";

/// The whole command line as clap sees it: the options of a playbook run at
/// the top level (`kbz-play site.rhai -i inv` is `kbz-play run site.rhai -i
/// inv`), then the subcommands. `--help`, the completions and the man page
/// are all generated from it.
pub fn command() -> clap::Command {
    let top = Cli::command();
    // `augment_args` would put `RunArgs`' doc comment in place of the program's.
    let about = top.get_about().cloned().unwrap_or_default();
    let long_about = top.get_long_about().cloned().unwrap_or_default();
    let after_help = format!(
        "{}\n\nExit codes:\n{}",
        top.get_after_help()
            .map(ToString::to_string)
            .unwrap_or_default(),
        crate::exit::CODES
            .iter()
            .map(|(code, meaning)| format!("  {code:<3}  {meaning}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    RunArgs::augment_args(top)
        .about(about)
        .long_about(long_about)
        .after_help(after_help)
        .args_conflicts_with_subcommands(true)
        .subcommand_negates_reqs(true)
        .subcommand_required(false)
        .help_template(HELP_TEMPLATE)
}

/// Parses argv: a subcommand, or else the options of a playbook run.
pub fn parse() -> Cli {
    let matches = command().get_matches();
    let parsed = match matches.subcommand_name() {
        Some(_) => Command::from_arg_matches(&matches),
        None => RunArgs::from_arg_matches(&matches).map(Command::Run),
    };
    match parsed {
        Ok(command) => Cli { command },
        Err(e) => e.format(&mut command()).exit(),
    }
}
