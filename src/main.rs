//! `kbz-play`: the thin binary. Parses the command line, builds the engine's
//! settings and reporter, and maps outcomes to exit codes (Ansible's; the
//! table is [`exit::CODES`]).

mod arenas;
mod cli;
mod connections;
mod exit;
mod inventory_cmd;
mod list;
mod new_role;
mod pyjson;
#[cfg(test)]
mod readme;
mod render;
mod roles_doc;
mod vault;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use kbz_engine::cache::Cache;
use kbz_engine::credentials::Credentials;
use kbz_engine::definition::{Definition, Params};
use kbz_engine::inventory::{Inventory, Vars};
use kbz_engine::report::recap::INTERRUPTED;
use kbz_engine::report::{self, Event, Reporter};
use kbz_engine::run::{ConnectDefaults, Offline, RunSettings, Shared};
use kbz_engine::script::{Playbook, ScriptEnv};
use kbz_engine::secrets::Secrets;
use kbz_engine::template::Templates;
use kbz_engine::transport::{Become, HostKeyPolicy, Interrupt, RunId};
use kbz_engine::vault::Vault;

pub use cli::{Command, Output, PlaybookArgs, RunArgs};

fn main() -> ExitCode {
    arenas::cap();
    let cli = cli::parse();
    let result = match cli.command {
        Command::Run(args) if list::wanted(&args) => list::inspect(&args),
        Command::Run(args) => run(&args),
        Command::Render(args) => render::render(args),
        Command::Doc { op } => doc(op.as_deref()),
        Command::Inventory(args) => inventory_cmd::run(&args),
        Command::Completions { shell } => completions(shell),
        Command::Man { subcommand } => man(subcommand.as_deref()),
        Command::Disconnect { pattern } => connections::disconnect(pattern.as_deref()),
        Command::New {
            what: cli::New::Role { name, dir },
        } => new_role(&dir, &name),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::ERROR)
        }
    }
}

/// Loads the inventory (every `-i`, merged in order), with the file named
/// in the error; vaulted vars are decrypted with `vault` (their values then
/// masked as secrets).
fn load_inventory(paths: &[PathBuf], vault: &Vault) -> Result<Inventory> {
    Ok(Inventory::load_all(paths, vault)?)
}

/// Parses `-e` values: `k=v k2=v2`, a JSON or YAML map, or `@file` (YAML/JSON).
pub fn parse_extra_vars(items: &[String]) -> Result<Vars> {
    let mut vars = Vars::new();
    for item in items {
        let item = item.trim();
        if let Some(file) = item.strip_prefix('@') {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read extra vars file {file}"))?;
            // YAML 1.1, as Ansible reads an extra-vars file (`yes` is true).
            let value = kbz_engine::pyyaml::load(&text)
                .map_err(anyhow::Error::from)
                .and_then(|v| Ok(serde_json::to_value(v)?))
                .with_context(|| format!("{file}: invalid YAML"))?;
            let serde_json::Value::Object(map) = value else {
                bail!("{file}: extra vars must be a map")
            };
            vars.extend(map);
        } else if item.starts_with('{') {
            let value: serde_json::Value =
                yaml_serde::from_str(item).context("-e: invalid JSON/YAML map")?;
            let serde_json::Value::Object(map) = value else {
                bail!("-e: extra vars must be a map")
            };
            vars.extend(map);
        } else {
            for pair in item.split_whitespace() {
                let Some((k, v)) = pair.split_once('=') else {
                    bail!("-e {pair:?}: expected key=value, a JSON map, or @file.yml");
                };
                vars.insert(k.to_string(), serde_json::Value::String(v.to_string()));
            }
        }
    }
    Ok(vars)
}

/// Passes on only what needs attention: failures, warnings and the recap.
struct Quiet(Box<dyn Reporter>);

impl Reporter for Quiet {
    fn event(&self, event: &report::Event) {
        use report::{Event, OpStatus};
        let keep = match event {
            Event::OpEnd { status, .. } => {
                matches!(status, OpStatus::Failed | OpStatus::Interrupted)
            }
            Event::Warn { .. }
            | Event::Unreachable { .. }
            | Event::HostFailed { .. }
            | Event::RunEnd { .. } => true,
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

fn reporter(output: Output, verbose: u8, secrets: &Secrets) -> Arc<dyn Reporter> {
    let inner: Box<dyn Reporter> = match output {
        Output::Quiet => Box::new(Quiet(Box::new(report::plain::Plain::stdout(verbose)))),
        Output::Json => Box::new(report::json::Json::stdout()),
        Output::Plain => Box::new(report::plain::Plain::stdout(verbose)),
        Output::Auto if std::io::stdout().is_terminal() => Box::new(report::tty::Tty::new(verbose)),
        Output::Auto => Box::new(report::plain::Plain::stdout(verbose)),
    };
    Arc::new(report::masked::Masked::new(inner, secrets.clone()))
}

/// Loads the playbook with the standard library registered.
pub fn load_playbook(
    common: &PlaybookArgs,
    inventory: Arc<Inventory>,
    extra_vars: Vars,
    reporter: Arc<dyn Reporter>,
    credentials: Arc<Credentials>,
    vault: Vault,
) -> Result<Playbook> {
    let env = Arc::new(ScriptEnv {
        inventory,
        extra_vars,
        reporter,
        credentials,
        vault,
    });
    Ok(Playbook::load(
        &common.playbook,
        env,
        &kbz_stdlib::register,
    )?)
}

/// The `secret()` source: the credentials folder, warning through the
/// reporter; for `render`, placeholders and no folder (see
/// [`Credentials::review`]).
fn credentials(
    common: &PlaybookArgs,
    review: bool,
    secrets: &Secrets,
    reporter: &Arc<dyn Reporter>,
) -> Credentials {
    if review {
        return Credentials::review();
    }
    Credentials::new(&common.credentials, secrets.clone()).with_warnings(warn_to(reporter))
}

/// A warning sink for the run's `reporter`: a warning about no host.
fn warn_to(reporter: &Arc<dyn Reporter>) -> impl Fn(String) + Send + Sync + 'static {
    let reporter = reporter.clone();
    move |message| {
        reporter.event(&report::Event::Warn {
            host: None,
            message,
        });
    }
}

/// The opened vault, warning through the reporter; for `render`, one giving
/// placeholders (see [`Vault::review`]).
fn review_vault(vault: Vault, review: bool, reporter: &Arc<dyn Reporter>) -> Vault {
    let vault = vault.with_warnings(warn_to(reporter));
    if review {
        vault.review()
    } else {
        vault
    }
}

fn run(args: &RunArgs) -> Result<u8> {
    execute(args, None)
}

/// Runs a playbook, or runs it `offline` (`render`, `--list-tags`). An
/// error that ends the run (a script error at the playbook's top level:
/// `fail("x " + secret(..))`) reaches the terminal masked as every event is.
pub fn execute(args: &RunArgs, offline: Option<Offline>) -> Result<u8> {
    let secrets = Secrets::default();
    vault::open(&args.common.vault, &secrets)
        .and_then(|vault| execute_with(args, offline, vault, &secrets))
        .map_err(|e| anyhow::Error::msg(secrets.mask(&format!("{e:#}"))))
}

/// [`execute`] with the vault already open (its passwords asked once),
/// masking what it decrypts with `secrets`.
pub fn execute_opened(
    args: &RunArgs,
    offline: Option<Offline>,
    vault: Vault,
    secrets: &Secrets,
) -> Result<u8> {
    execute_with(args, offline, vault, secrets)
        .map_err(|e| anyhow::Error::msg(secrets.mask(&format!("{e:#}"))))
}

fn execute_with(
    args: &RunArgs,
    offline: Option<Offline>,
    vault: Vault,
    secrets: &Secrets,
) -> Result<u8> {
    let common = &args.common;
    let reporter = match offline {
        Some(Offline::List(_)) => list::reporter(common.verbose, secrets),
        _ => reporter(args.output, common.verbose, secrets),
    };
    let vault = review_vault(
        vault,
        matches!(offline, Some(Offline::Render(_))),
        &reporter,
    );
    let inventory = Arc::new(load_inventory(&common.inventory, &vault)?);
    let extra_vars = parse_extra_vars(&common.extra_vars)?;
    let credentials = Arc::new(credentials(common, offline.is_some(), secrets, &reporter));
    let playbook = Arc::new(load_playbook(
        common,
        inventory.clone(),
        extra_vars.clone(),
        reporter.clone(),
        credentials.clone(),
        vault.clone(),
    )?);
    let templates = Templates::new(&playbook.root)
        .with_credentials(credentials)
        .with_vault(vault);
    let definition = Definition::new(
        &inventory,
        Params {
            extra_vars: &extra_vars,
            tags: &common.tags,
            skip_tags: &common.skip_tags,
            limit: common.limit.as_deref(),
        },
        vec![playbook.sources.inputs.clone(), templates.inputs().clone()],
    );
    let cache = open_cache(args, &reporter).bind(definition);
    // An offline run connects nowhere: it makes no persist folder either.
    let persist = if offline.is_some() { 0 } else { args.persist };
    let sockets = connections::Sockets::open(persist, &reporter)?;
    let settings = RunSettings {
        check: args.check,
        diff: args.diff,
        tags: common.tags.clone(),
        skip_tags: common.skip_tags.clone(),
        forks: args.forks,
        limit: common.limit.clone(),
        extra_vars,
        connect: ConnectDefaults {
            user: args.user.clone(),
            identity_file: args.private_key.clone(),
            ssh_config: args.ssh_config.clone(),
            known_hosts: if args.strict_host_keys {
                HostKeyPolicy::Strict
            } else {
                HostKeyPolicy::AcceptNew
            },
            connect_timeout: Duration::from_secs(args.timeout),
            become_: args.become_.then(|| Become {
                user: args.become_user.clone(),
            }),
            control_dir: sockets.dir.clone(),
            persist: sockets.persist,
            lock_timeout: Duration::from_secs(args.lock_timeout),
            run: RunId::new(),
        },
        cache,
        offline,
        op_timeout: args.op_timeout.map(Duration::from_secs),
        interrupt: Interrupt::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(args.forks.max(1) + 8)
        .build()
        .context("cannot start the async runtime")?;
    let shared = Arc::new(Shared {
        settings,
        reporter,
        templates,
        inventory,
        secrets: secrets.clone(),
        root: playbook.root.clone(),
        sources: playbook.sources.clone(),
        rt: runtime.handle().clone(),
        template_inventory: Default::default(),
        changes: Default::default(),
        script_lock: Default::default(),
        rehearsal_turns: Default::default(),
    });
    let interrupt = shared.settings.interrupt.clone();
    let sockets = Arc::new(sockets);
    runtime.spawn(sockets.clone().on_ctrl_c(interrupt.clone()));
    let summary = runtime.block_on(kbz_engine::run::run(playbook, shared));
    sockets.finish();
    if interrupt.is_set() {
        return Ok(u8::try_from(INTERRUPTED).unwrap_or(1));
    }
    Ok(u8::try_from(summary?.exit_code).unwrap_or(1))
}

/// The probe cache, or none (with a warning) when it cannot be trusted: a
/// cache is only a speed-up, so a run never fails for want of one.
fn open_cache(args: &RunArgs, reporter: &Arc<dyn Reporter>) -> Cache {
    if args.no_cache {
        return Cache::disabled();
    }
    let base = args.cache_dir.clone().map_or_else(Cache::default_base, Ok);
    // The first source names the cache: the fleet a run is about.
    match base.and_then(|b| Cache::open(&b, &args.common.inventory[0])) {
        Ok(cache) => cache,
        Err(e) => {
            reporter.event(&Event::Warn {
                host: None,
                message: e.to_string(),
            });
            Cache::disabled()
        }
    }
}

/// `kbz-play doc [NAME]`: the operations and script functions, the
/// project's roles and Rhai operations (the project holding the current
/// folder), or one of them.
fn doc(name: Option<&str>) -> Result<u8> {
    // project_root takes a playbook's path: any file name in the folder.
    let root = kbz_engine::script::project_root(&std::env::current_dir()?.join("playbook"));
    let text = doc_text(name, &roles_doc::load(&root)).map_err(anyhow::Error::msg)?;
    print_bytes(text.as_bytes())
}

/// What `kbz-play doc [NAME]` prints: a built-in op or function first, then
/// a role (`redis`, or `roles/redis` when an op has its name), then an op
/// written in Rhai; an unknown name suggests the closest of them all.
fn doc_text(name: Option<&str>, roles: &[roles_doc::Role]) -> Result<String, String> {
    let Some(name) = name else {
        let builtin: String = kbz_stdlib::doc::text(None)?;
        return Ok(builtin + roles_doc::listing(roles).as_str());
    };
    let builtin = kbz_stdlib::doc::text(Some(name));
    if builtin.is_ok() {
        return builtin;
    }
    let role_name = name.strip_prefix("roles/").unwrap_or(name);
    let role_name = role_name.strip_suffix(".rhai").unwrap_or(role_name);
    if let Some(r) = roles.iter().find(|r| r.name == role_name) {
        return Ok(roles_doc::role_page(r));
    }
    for r in roles {
        if let Some((op, f)) = r.operations().find(|(op, _)| *op == name) {
            return Ok(roles_doc::operation_page(op, r, f));
        }
    }
    let mut names: Vec<&str> = kbz_stdlib::docs().iter().map(|d| d.name).collect();
    names.extend(kbz_stdlib::functions().iter().map(|f| f.name));
    names.extend(roles.iter().map(|r| r.name.as_str()));
    names.extend(roles.iter().flat_map(|r| r.operations().map(|(op, _)| op)));
    let hint = kbz_engine::op::suggest(name, names.into_iter())
        .map(|s| format!("; did you mean '{s}'?"))
        .unwrap_or_default();
    Err(format!(
        "no operation, function or role named '{name}'{hint} (kbz-play doc lists them)"
    ))
}

/// `kbz-play new role NAME`: writes the skeleton, then says what to run.
fn new_role(dir: &Path, name: &str) -> Result<u8> {
    for file in new_role::write(dir, name)? {
        println!("created {}", file.display());
    }
    println!(
        "next: add hosts to the group '{name}' of your inventory, then\n  \
         kbz-play render playbooks/{name}.rhai -i INVENTORY --out review/\n  \
         kbz-play doc {name}"
    );
    Ok(0)
}

/// Writes generated text to stdout; a closed pipe (`kbz-play man | head`)
/// is not an error worth a panic.
fn print_bytes(bytes: &[u8]) -> Result<u8> {
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), bytes);
    Ok(exit::OK)
}

/// `kbz-play completions SHELL`: the completion script, from the same
/// definitions as the parser, so it never lags behind a new flag.
fn completions(shell: clap_complete::Shell) -> Result<u8> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cli::command(), "kbz-play", &mut script);
    if shell == clap_complete::Shell::Bash {
        script = bash_states_spelt_alike(&script).into_bytes();
    }
    print_bytes(&script)
}

/// clap_complete (4.6.12) spells a hyphenated program's bash states two
/// ways: its loop over the words arrives at `kbz__play__subcmd__doc`, its
/// case arms say `kbz__subcmd__play__subcmd__doc`, so nothing completes
/// after a subcommand (clap-rs/clap#6421, unfixed). The arms get the loop's
/// spelling.
fn bash_states_spelt_alike(script: &[u8]) -> String {
    String::from_utf8_lossy(script).replace("kbz__subcmd__play", "kbz__play")
}

/// `kbz-play man [SUBCOMMAND]`: the man page (roff), from the same
/// definitions; a subcommand's page is titled as the main page's
/// SUBCOMMANDS section names it (`kbz-play-render(1)`).
fn man(subcommand: Option<&str>) -> Result<u8> {
    let mut command = cli::command();
    if let Some(name) = subcommand {
        let known: Vec<String> = command
            .get_subcommands()
            .map(|s| s.get_name().to_string())
            .collect();
        command = command
            .find_subcommand(name)
            .with_context(|| format!("no subcommand '{name}' (known: {})", known.join(", ")))?
            .clone()
            .display_name(format!("kbz-play-{name}"))
            .bin_name(format!("kbz-play {name}"));
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(command)
        .render(&mut page)
        .context("cannot render the man page")?;
    print_bytes(&page)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `@file` reads as Ansible reads it: YAML 1.1.
    #[test]
    fn extra_vars_files_read_yaml_1_1() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("extra.yml");
        std::fs::write(&file, "a: yes\nb: 012\nc: 'on'\n").unwrap();
        let vars = parse_extra_vars(&[format!("@{}", file.display())]).unwrap();
        let got = serde_json::Value::Object(vars);
        assert_eq!(got, serde_json::json!({"a": true, "b": 10, "c": "on"}));
    }
}
