//! Functions a playbook calls besides operations: `play`, `handler`,
//! `load_yaml`, `hosts`, `secret`, `scram_sha256`, `sha256`, `warn`, `log`,
//! `fail`, and `.notify()` on results.

#![allow(deprecated)] // rhai marks NativeCallContextStore "volatile", not deprecated.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, NativeCallContext, NativeCallContextStore};

use super::{Declarations, Handler, Play, PlayOptions};
use crate::inventory::{Host, Inventory, Vars};
use crate::report::{Event, Reporter};
use crate::run::outcome::OpResult;

/// What the script API needs from the run: the inventory, `-e` vars, the
/// project root and where messages go.
pub struct ScriptEnv {
    /// The loaded inventory.
    pub inventory: Arc<Inventory>,
    /// `-e` variables (highest precedence).
    pub extra_vars: Vars,
    /// Where `warn`/`log` output goes.
    pub reporter: Arc<dyn Reporter>,
    /// Where `secret(NAME)` reads from.
    pub credentials: Arc<crate::credentials::Credentials>,
    /// Decrypts a vaulted file `load_yaml`/`load_json` reads.
    pub vault: crate::vault::Vault,
}

impl ScriptEnv {
    /// Reports a script's message for the host whose script runs on this
    /// thread, as the event `event` builds; nothing during a discovery
    /// rehearsal, since the real run says it again; held while the host
    /// goes ahead of its serial batch, since that pass may be dropped.
    fn say(&self, event: fn(Option<String>, String) -> Event, message: String) {
        if crate::run::is_discovering() {
            return;
        }
        let said = event(crate::run::current_host_name(), message);
        if let Some(said) = crate::run::unless_held(said) {
            self.reporter.event(&said);
        }
    }
}

/// [`Event::Warn`] from [`ScriptEnv::say`]'s parts.
fn warn(host: Option<String>, message: String) -> Event {
    Event::Warn { host, message }
}

/// [`Event::Log`] from [`ScriptEnv::say`]'s parts.
fn log(host: Option<String>, message: String) -> Event {
    Event::Log { host, message }
}

/// A play's or handler's closure together with the script state it was
/// declared in (imports, function libraries), so it can be called later on
/// any host thread and still reach the roles it imported.
#[derive(Debug, Clone)]
pub struct Callable {
    /// The closure.
    pub body: FnPtr,
    context: NativeCallContextStore,
}

impl Callable {
    /// The closure `body`, with the script state of the call `ctx`.
    pub fn new(ctx: &NativeCallContext, body: FnPtr) -> Callable {
        Callable {
            body,
            context: ctx.store_data(),
        }
    }

    /// Calls the closure on this thread, with `engine` as the thread's
    /// script engine meanwhile (Rhai operations plan with it), on its own
    /// copy of the top level's constants, holding the run's script lock:
    /// other hosts call it at the same time (see [`super::captured`] and
    /// [`super::lock`]).
    pub fn call(
        &self,
        engine: &Arc<Engine>,
        args: Vec<Dynamic>,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        super::lock::holding(&self.body, || {
            super::operation::with_engine(engine, || {
                let mut context = self.context.clone();
                super::captured::own_constants(&mut context.global.constants);
                self.body
                    .call_raw(&context.create_context(engine), None, args)
            })
        })
    }
}

pub(super) fn register(
    engine: &mut Engine,
    env: Arc<ScriptEnv>,
    decls: Arc<Mutex<Declarations>>,
    sources: super::Sources,
) {
    OpResult::register(engine);
    super::operation::register(engine);

    let (d, src) = (decls.clone(), sources.clone());
    engine.register_fn(
        "play",
        move |ctx: NativeCallContext, name: &str, hosts: &str, opts: rhai::Map, body: FnPtr| {
            declare_play(&ctx, &d, &src, name, hosts, opts, body)
        },
    );
    let (d, src) = (decls.clone(), sources.clone());
    engine.register_fn(
        "play",
        move |ctx: NativeCallContext, name: &str, hosts: &str, body: FnPtr| {
            declare_play(&ctx, &d, &src, name, hosts, rhai::Map::new(), body)
        },
    );
    let d = decls.clone();
    engine.register_fn(
        "handler",
        move |ctx: NativeCallContext, name: &str, body: FnPtr| -> Result<(), Box<EvalAltResult>> {
            let mut decls = d.lock().expect("declarations lock");
            if decls.handlers.iter().any(|h| h.name == name) {
                return Err(err(&ctx, format!("handler '{name}' is declared twice")));
            }
            decls.handlers.push(Handler {
                name: name.to_string(),
                body: Callable::new(&ctx, body),
            });
            Ok(())
        },
    );

    let d = decls;
    engine.register_fn(
        "notify",
        move |ctx: NativeCallContext,
              r: &mut OpResult,
              name: &str|
              -> Result<OpResult, Box<EvalAltResult>> {
            let decls = d.lock().expect("declarations lock");
            if !decls.handlers.iter().any(|h| h.name == name) {
                let names = decls.handlers.iter().map(|h| h.name.as_str());
                let hint = crate::op::suggest(name, names)
                    .map(|s| format!("; did you mean '{s}'?"))
                    .unwrap_or_else(|| {
                        "; declare it with handler(\"NAME\", || { ... })".to_string()
                    });
                return Err(err(&ctx, format!("no handler named '{name}'{hint}")));
            }
            drop(decls);
            if r.changed {
                crate::run::notify(name);
            }
            Ok(r.clone())
        },
    );

    let (src, e) = (sources.clone(), env.clone());
    engine.register_fn("load_yaml", move |ctx: NativeCallContext, path: &str| {
        load_data(&ctx, &src, &e.vault, path, true)
    });
    let (src, e) = (sources, env.clone());
    engine.register_fn("load_json", move |ctx: NativeCallContext, path: &str| {
        load_data(&ctx, &src, &e.vault, path, false)
    });

    let e = env.clone();
    engine.register_fn(
        "hosts",
        move |ctx: NativeCallContext, pattern: &str| -> Result<rhai::Array, Box<EvalAltResult>> {
            let (hosts, unknown) = e
                .inventory
                .select_play(pattern)
                .map_err(|x| err(&ctx, x.to_string()))?;
            if !unknown.is_empty() {
                e.say(
                    warn,
                    format!("hosts(\"{pattern}\"): {}", unknown.join("; ")),
                );
            }
            Ok(hosts
                .into_iter()
                .map(|h| host_map(h, &e.extra_vars, None))
                .collect::<rhai::Array>())
        },
    );
    let e = env.clone();
    engine.register_fn(
        "secret",
        move |ctx: NativeCallContext, name: &str| -> Result<String, Box<EvalAltResult>> {
            e.credentials
                .get(name)
                .map_err(|x| err(&ctx, x.to_string()))
        },
    );
    register_scram(engine, &env);
    let e = env.clone();
    engine.register_fn("warn", move |message: &str| e.say(warn, message.into()));
    let e = env.clone();
    engine.register_fn("log", move |message: &str| e.say(log, message.into()));
    let e = env;
    engine.on_print(move |message| e.say(log, message.into()));
    engine.register_fn(
        "fail",
        |ctx: NativeCallContext, message: &str| -> Result<(), Box<EvalAltResult>> {
            Err(err(&ctx, message.to_string()))
        },
    );
}

/// `scram_sha256(password)` (a new salt) and `scram_sha256(password, salt,
/// iterations)` (a stored verifier's), PostgreSQL's `rolpassword` form; the
/// verifier is masked in every output like the secret it stands for. And
/// `sha256(text)`, hex, to compare it with a digest a host printed instead
/// of the verifier itself.
fn register_scram(engine: &mut Engine, env: &Arc<ScriptEnv>) {
    let e = env.clone();
    engine.register_fn(
        "scram_sha256",
        move |ctx: NativeCallContext, password: &str| -> Result<String, Box<EvalAltResult>> {
            let v = super::scram::new_verifier(password).map_err(|x| err(&ctx, x.to_string()))?;
            e.credentials.mask(&v);
            Ok(v)
        },
    );
    let e = env.clone();
    engine.register_fn(
        "scram_sha256",
        move |ctx: NativeCallContext,
              password: &str,
              salt: &str,
              iterations: i64|
              -> Result<String, Box<EvalAltResult>> {
            let v = super::scram::verifier_with(password, salt, iterations)
                .map_err(|x| err(&ctx, x.to_string()))?;
            e.credentials.mask(&v);
            Ok(v)
        },
    );
    engine.register_fn("sha256", |text: &str| {
        crate::digest::sha256_hex(text.as_bytes())
    });
}

fn declare_play(
    ctx: &NativeCallContext,
    decls: &Mutex<Declarations>,
    sources: &super::Sources,
    name: &str,
    hosts: &str,
    opts: rhai::Map,
    body: FnPtr,
) -> Result<(), Box<EvalAltResult>> {
    let keys: Vec<String> = opts.keys().map(|k| k.to_string()).collect();
    let options: PlayOptions =
        rhai::serde::from_dynamic(&Dynamic::from_map(opts)).map_err(|e| {
            let known = crate::serde_fields::fields_of::<PlayOptions>();
            let unknown = keys.iter().find(|k| !known.contains(&k.as_str()));
            match unknown {
                Some(k) => err(
                    ctx,
                    format!(
                        "unknown play option '{k}'{}",
                        crate::op::suggest(k, known.iter().copied())
                            .map(|s| format!("; did you mean '{s}'?"))
                            .unwrap_or_else(|| format!(" (known: {})", known.join(", ")))
                    ),
                ),
                None => err(ctx, format!("bad play options: {e}")),
            }
        })?;
    if let Some(serial) = &options.serial {
        serial.batch_size(1).map_err(|m| err(ctx, m))?;
    }
    let at = super::error::location(&sources.display(ctx.call_source()), ctx.call_position());
    decls.lock().expect("declarations lock").plays.push(Play {
        name: name.to_string(),
        hosts: hosts.to_string(),
        options,
        body: Callable::new(ctx, body),
        at,
    });
    Ok(())
}

/// `load_yaml`/`load_json`: a file vaulted whole is decrypted first and its
/// values become secrets; an error in its content names only the file (the
/// parser's message could quote a secret).
fn load_data(
    ctx: &NativeCallContext,
    sources: &super::Sources,
    vault: &crate::vault::Vault,
    path: &str,
    yaml: bool,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let candidates: Vec<PathBuf> = match sources.dir(ctx.call_source()) {
        Some(dir) if Path::new(path).is_relative() => vec![dir.join(path), PathBuf::from(path)],
        _ => vec![PathBuf::from(path)],
    };
    let file = &super::first_file("data file", path, &candidates).map_err(|m| err(ctx, m))?;
    let text = std::fs::read_to_string(file)
        .map_err(|e| err(ctx, format!("cannot read {}: {e}", file.display())))?;
    sources.inputs.record(file, text.as_bytes());
    if crate::vault::is_encrypted(&text) {
        let plain = vault
            .decrypt(&text)
            .map_err(|e| err(ctx, format!("{}: file {e}", file.display())))?;
        let value = parse_data(ctx, file, &plain, yaml).map_err(|_| {
            err(
                ctx,
                format!(
                    "{}: the decrypted content is not valid {} (the message is not shown: it \
                     could quote a secret); check it with `ansible-vault view FILE`",
                    file.display(),
                    if yaml { "YAML" } else { "JSON" }
                ),
            )
        })?;
        return rhai::serde::to_dynamic(vault.vaulted_values(value, file));
    }
    rhai::serde::to_dynamic(&parse_data(ctx, file, &text, yaml)?)
}

/// The YAML or JSON value of `text`, read from `file`.
fn parse_data(
    ctx: &NativeCallContext,
    file: &Path,
    text: &str,
    yaml: bool,
) -> Result<serde_json::Value, Box<EvalAltResult>> {
    Ok(if yaml {
        yaml_serde::from_str(text).map_err(|e| {
            let at = e
                .location()
                .map(|l| format!(":{}:{}", l.line(), l.column()))
                .unwrap_or_default();
            err(ctx, format!("{}{at}: invalid YAML: {e}", file.display()))
        })?
    } else {
        serde_json::from_str(text).map_err(|e| {
            err(
                ctx,
                format!(
                    "{}:{}:{}: invalid JSON: {e}",
                    file.display(),
                    e.line(),
                    e.column()
                ),
            )
        })?
    })
}

/// The `host` map a play's closure receives: `name`, `address`, `ip`,
/// `groups`, `vars` (merged, `-e` on top) and, once connected, `facts`.
pub fn host_map(host: &Host, extra: &Vars, facts: Option<&crate::probe::Facts>) -> Dynamic {
    let mut vars = host.vars.clone();
    vars.extend(extra.clone());
    let ip = host.ip(&vars).to_string();
    let mut m = rhai::Map::new();
    m.insert("name".into(), host.name.clone().into());
    m.insert("address".into(), host.address.clone().into());
    m.insert("ip".into(), ip.into());
    m.insert(
        "groups".into(),
        host.groups
            .iter()
            .cloned()
            .map(Dynamic::from)
            .collect::<rhai::Array>()
            .into(),
    );
    m.insert(
        "vars".into(),
        rhai::serde::to_dynamic(&vars).unwrap_or(Dynamic::UNIT),
    );
    if let Some(f) = facts {
        m.insert(
            "facts".into(),
            rhai::serde::to_dynamic(f).unwrap_or(Dynamic::UNIT),
        );
    }
    Dynamic::from_map(m)
}

fn err(ctx: &NativeCallContext, message: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        message.into(),
        ctx.call_position(),
    ))
}
