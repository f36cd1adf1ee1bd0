//! The Rhai host: loads a playbook, collects its plays and handlers, and turns
//! Rhai errors into messages that point at `file:line:col`.
//!
//! A playbook's top level *declares*: `play(...)` and `handler(...)` record
//! closures, and ordinary Rhai (`let versions = load_yaml(...)`) computes
//! values they capture. The executor runs the plays afterwards, calling each
//! play's closure once per host on that host's own thread. Roles are Rhai
//! modules resolved under the project's `roles/` folder.

mod api;
mod captured;
mod error;
mod lock;
mod operation;
mod params;
mod resolver;
mod scram;
mod sources;

pub use api::{host_map, Callable};
pub use error::{locate, location, ScriptError};
pub use lock::{outside, ScriptLock};
pub use params::{declared_params, Param};
pub use sources::{first_file, Sources};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rhai::{Engine, AST};
use serde::Deserialize as _;

use crate::inventory::Vars;

/// Rhai operations a discovery rehearsal may take before it is abandoned.
const DISCOVERY_OPERATIONS: u64 = 2_000_000;

/// Options of one play, from the map given to `play(name, hosts, opts, body)`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlayOptions {
    /// Rolling batches: a number of hosts (`1`) or a percentage (`"30%"`).
    #[serde(default)]
    pub serial: Option<Serial>,
    /// Stop the play when more than this percentage of its hosts failed.
    #[serde(default, deserialize_with = "number")]
    pub max_fail_percentage: Option<f64>,
    /// Stop everything at the first failure.
    #[serde(default)]
    pub any_errors_fatal: bool,
    /// Run the body on the first selected host only.
    #[serde(default)]
    pub run_once: bool,
    /// Gather the host's facts for the play to read (Ansible's
    /// `gather_facts`, on by default). A run gathers them once per host,
    /// when any of its plays does; when none does, `host.facts` is absent,
    /// templates get no `ansible_*` facts, and the opening starts no
    /// program for them (`hostname -f`, `ip`).
    #[serde(default = "on")]
    pub gather_facts: bool,
    /// Tags of every op in the play.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Variables for this play (above inventory vars, below `-e`).
    #[serde(default)]
    pub vars: Option<Vars>,
}

/// serde's default for an option that is on unless the play turns it off.
fn on() -> bool {
    true
}

/// Accepts `20` as well as `20.0`: Rhai keeps integers and floats apart.
fn number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Num {
        Int(i64),
        Float(f64),
    }
    Ok(Option::<Num>::deserialize(d)?.map(|n| match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }))
}

/// Batch size for `serial`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(untagged)]
pub enum Serial {
    /// This many hosts at a time.
    Count(i64),
    /// This percentage of the play's hosts at a time (`"25%"`).
    Percent(String),
}

impl Serial {
    /// The batch size for `total` hosts (at least 1).
    pub fn batch_size(&self, total: usize) -> Result<usize, String> {
        let n = match self {
            Serial::Count(n) if *n >= 1 => *n as usize,
            Serial::Count(n) => return Err(format!("serial must be at least 1, got {n}")),
            Serial::Percent(p) => {
                let pct: f64 = p.trim().trim_end_matches('%').parse().map_err(|_| {
                    format!("serial must be a number or a percentage like \"30%\", got {p:?}")
                })?;
                ((total as f64) * pct / 100.0).floor() as usize
            }
        };
        Ok(n.clamp(1, total.max(1)))
    }
}

/// A declared play.
#[derive(Debug, Clone)]
pub struct Play {
    /// Its name, shown in output.
    pub name: String,
    /// Host pattern (`redis`, `db:&prod`, ...).
    pub hosts: String,
    /// Its options.
    pub options: PlayOptions,
    /// The closure called with each host.
    pub body: Callable,
    /// Where it was declared.
    pub at: String,
}

/// A declared handler.
#[derive(Debug, Clone)]
pub struct Handler {
    /// The name ops notify.
    pub name: String,
    /// The closure to run.
    pub body: Callable,
}

/// What a playbook's top level declared.
#[derive(Debug, Clone, Default)]
pub struct Declarations {
    /// Plays, in order.
    pub plays: Vec<Play>,
    /// Handlers, in declaration order (the order they run in).
    pub handlers: Vec<Handler>,
}

/// A loaded playbook: the compiled script, its engine and its declarations.
pub struct Playbook {
    /// The playbook file.
    pub path: PathBuf,
    /// The project root: the nearest folder above the playbook holding
    /// `roles/` or `templates/`, else the playbook's folder.
    pub root: PathBuf,
    /// Maps Rhai source labels to files and roles.
    pub sources: Sources,
    /// The engine, with every op and API function registered.
    pub engine: Arc<Engine>,
    /// The compiled playbook.
    pub ast: Arc<AST>,
    /// Plays and handlers.
    pub decls: Declarations,
}

impl std::fmt::Debug for Playbook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playbook")
            .field("path", &self.path)
            .field("decls", &self.decls)
            .finish()
    }
}

/// Everything the script API needs from outside: the inventory, extra vars
/// and where to print. Shared with the op runtime.
pub use api::ScriptEnv;

/// The nearest folder at or above `start` that holds `roles/` or `templates/`.
pub fn project_root(playbook: &Path) -> PathBuf {
    let start = playbook
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let start = std::fs::canonicalize(&start).unwrap_or(start);
    start
        .ancestors()
        .find(|d| d.join("roles").is_dir() || d.join("templates").is_dir())
        .map(Path::to_path_buf)
        .unwrap_or(start)
}

impl Playbook {
    /// Compiles and evaluates the playbook's top level. `register_ops` adds the
    /// operations (from `kbz-stdlib`).
    pub fn load(
        path: &Path,
        env: Arc<ScriptEnv>,
        register_ops: &dyn Fn(&mut Engine),
    ) -> Result<Playbook, ScriptError> {
        let source = std::fs::read_to_string(path).map_err(|e| ScriptError::Read {
            path: path.to_path_buf(),
            error: e.to_string(),
        })?;
        let root = project_root(path);
        let inputs = crate::definition::Inputs::default();
        inputs.record(path, source.as_bytes());
        let decls = Arc::new(Mutex::new(Declarations::default()));
        let mut engine = Engine::new();
        engine.set_max_expr_depths(128, 64);
        engine.set_max_call_levels(64);
        engine.set_max_operations(50_000_000);
        engine.set_max_modules(256);
        engine.set_max_string_size(64 << 20);
        engine.set_max_array_size(1_000_000);
        engine.set_max_map_size(1_000_000);
        engine.set_fail_on_invalid_map_property(true);
        // A discovery rehearsal answers every command with empty output, so a
        // script polling a command in a loop would never leave it: cut it short.
        engine.on_progress(|ops| {
            (ops > DISCOVERY_OPERATIONS && crate::run::is_discovering())
                .then_some(rhai::Dynamic::UNIT)
        });
        engine.set_module_resolver(resolver::RecordingResolver::new(
            root.join("roles"),
            inputs.clone(),
        ));
        let display = path.to_string_lossy().to_string();
        let sources = Sources::new(root.clone(), display.clone(), inputs);
        api::register(&mut engine, env, decls.clone(), sources.clone());
        register_ops(&mut engine);

        let mut ast = engine.compile(&source).map_err(|e| {
            let pos = e.1;
            ScriptError::at(&display, pos, &source, e.0.to_string(), "syntax error")
        })?;
        ast.set_source(display.as_str());
        engine
            .run_ast(&ast)
            .map_err(|e| ScriptError::from_eval(&e, &sources))?;
        let decls = decls.lock().expect("declarations lock").clone();
        Ok(Playbook {
            path: path.to_path_buf(),
            root,
            sources,
            engine: Arc::new(engine),
            ast: Arc::new(ast),
            decls,
        })
    }
}
