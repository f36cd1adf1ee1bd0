//! Role modules, resolved under `roles/`, with every file noted as an input
//! of the run (see [`crate::definition`]): a role's code shapes the query
//! scripts its ops ask as much as the playbook's does.

use std::path::PathBuf;

use rhai::module_resolvers::FileModuleResolver;
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position, Shared};

use crate::definition::Inputs;

/// Rhai's file resolver under `roles/`, noting each module file it loads.
pub struct RecordingResolver {
    files: FileModuleResolver,
    inputs: Inputs,
}

impl RecordingResolver {
    /// Resolves modules under `roles` (cached), noting them in `inputs`.
    pub fn new(roles: PathBuf, inputs: Inputs) -> Self {
        let mut files = FileModuleResolver::new_with_path(roles);
        files.enable_cache(true);
        RecordingResolver { files, inputs }
    }
}

impl ModuleResolver for RecordingResolver {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Shared<Module>, Box<EvalAltResult>> {
        let module = self.files.resolve(engine, source, path, pos)?;
        self.inputs
            .record_file(&self.files.get_file_path(path, None));
        Ok(module)
    }
}
