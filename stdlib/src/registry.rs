//! What the rest of the crate knows about each operation, taken from its
//! argument type once: [`Entry::of`] reads the type's [`OpArgs`](kbz_engine::op::OpArgs) and
//! [`Build`] constants and keeps the functions that register, build and
//! check it. [`crate::ops::ALL`] holds one entry per operation.

use kbz_engine::op::{Operation, Param};

use crate::build::{build_op, Build, Env, Failure, Form};

/// One operation's documentation, as `kbz-play doc` and the README show it.
#[derive(Debug, Clone, Copy)]
pub struct OpDoc {
    /// The Rhai function name.
    pub name: &'static str,
    /// One line saying what it is for.
    pub summary: &'static str,
    /// What it ensures, in a few words (the README's table).
    pub ensures: &'static str,
    /// A short Rhai example.
    pub example: &'static str,
    /// Every parameter, in the order a reader needs them.
    pub params: &'static [Param],
    /// The positional call forms, besides `op(#{...})`.
    pub forms: &'static [Form],
}

impl OpDoc {
    /// Every way to call the operation, the map form first.
    pub fn calls(&self) -> Vec<String> {
        let mut calls = vec![format!("{}(#{{...}})", self.name)];
        calls.extend(self.forms.iter().flat_map(|f| f.calls(self.name)));
        calls
    }
}

/// Builds an operation from a Rhai map.
type BuildFn = fn(&rhai::Dynamic, &dyn Env) -> Result<Box<dyn Operation>, Failure>;

/// One operation: its documentation and what registers, builds and checks it.
pub(crate) struct Entry {
    /// Name, docs and call forms.
    pub doc: OpDoc,
    /// Registers the map form and every [`Form`] as Rhai functions.
    pub register: fn(&mut rhai::Engine),
    /// Parses a map and builds the operation.
    pub build: BuildFn,
    /// Panics unless `PARAMS` names exactly the serde struct's fields.
    #[cfg(test)]
    pub check_params: fn(),
}

impl Entry {
    /// The entry of the operation whose arguments are `A`.
    pub const fn of<A: Build>() -> Entry {
        Entry {
            doc: OpDoc {
                name: A::OP,
                summary: A::SUMMARY,
                ensures: A::ENSURES,
                example: A::EXAMPLE,
                params: A::PARAMS,
                forms: A::FORMS,
            },
            register: crate::register::all_forms::<A>,
            build: build_op::<A>,
            #[cfg(test)]
            check_params: kbz_engine::op::assert_params_match_struct::<A>,
        }
    }
}
