//! A call's own copy of the top level's constants.
//!
//! A function reads the top level's constants as `global::NAME` from one map
//! that Rhai keeps in a shared cell (under the `sync` feature, an `RwLock`),
//! write-locks for each read, and panics when another thread holds it longer
//! than Rhai waits (50 ms). A play's closure runs on all its hosts at once,
//! so on a loaded machine such reads failed hosts with a panic. Constants are
//! never written once the top level is done, so each call of a play's or
//! handler's closure gets its own copy, deep (arrays, maps and closures inside
//! are copied too; two references to one cell stay one cell within a copy).
//!
//! Captured variables are not copied: playbooks share them between hosts and
//! plays on purpose (site.rhai's `redis_views[host.name] = ...`, read by a
//! later play), so they stay one cell, which hosts reach one at a time
//! (`lock.rs`).

use std::collections::{BTreeMap, HashMap};

use rhai::{Dynamic, ImmutableString, Locked, Shared};

/// The top level's constants as Rhai keeps them (`global::NAME`).
pub(super) type Constants = Shared<Locked<BTreeMap<ImmutableString, Dynamic>>>;

/// Replaces the script state's `constants` by a copy no other call shares.
pub(super) fn own_constants(constants: &mut Option<Constants>) {
    if let Some(original) = constants {
        *constants = Some(Copies::default().constants(original));
    }
}

/// The cells copied so far in one call, by the address of their content.
#[derive(Default)]
struct Copies {
    cells: HashMap<usize, Dynamic>,
}

impl Copies {
    /// A deep copy of `value` whose shared cells are this call's own.
    fn of(&mut self, value: &Dynamic) -> Dynamic {
        let mut copy = value.clone();
        copy.deep_scan(|v| {
            if v.is_shared() {
                *v = self.cell(v);
            }
        });
        copy
    }

    /// This call's cell for the shared `original`: a new one holding a copy
    /// of its content, registered before that content is copied, so that a
    /// cell reachable from its own content (a closure that captured itself)
    /// ends the walk.
    fn cell(&mut self, original: &Dynamic) -> Dynamic {
        let Some(content) = original.read_lock::<Dynamic>() else {
            // Write-locked for longer than Rhai waits: cannot happen once the
            // top level is done (nobody writes the originals); keep sharing.
            return original.clone();
        };
        let key = &*content as *const Dynamic as usize;
        if let Some(cell) = self.cells.get(&key) {
            return cell.clone();
        }
        let content = content.clone();
        let mut cell = Dynamic::UNIT.into_shared();
        cell.set_tag(original.tag());
        self.cells.insert(key, cell.clone());
        let copied = self.of(&content);
        if let Some(mut slot) = cell.write_lock::<Dynamic>() {
            *slot = copied;
        }
        cell
    }

    /// A copy of the constants map (Rust's lock, which waits: nobody writes
    /// the original once the top level is done).
    fn constants(&mut self, original: &Constants) -> Constants {
        let map = original.read().unwrap_or_else(|e| e.into_inner()).clone();
        let map = map.into_iter().map(|(k, v)| (k, self.of(&v))).collect();
        Shared::new(Locked::new(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::{Engine, FnPtr, AST};

    /// The script and the closure it evaluates to.
    fn closure(engine: &Engine, script: &str) -> (AST, FnPtr) {
        let ast = engine.compile(script).expect("a script");
        let f = engine.eval_ast::<FnPtr>(&ast).expect("a closure");
        (ast, f)
    }

    /// `f` with its captured values copied as constants are.
    fn copy(f: &FnPtr) -> FnPtr {
        let mut copies = Copies::default();
        let curry: Vec<Dynamic> = f.iter_curry().map(|v| copies.of(v)).collect();
        let mut f = f.clone();
        f.set_curry(curry);
        f
    }

    fn call(engine: &Engine, ast: &AST, f: &FnPtr) -> Dynamic {
        f.call::<Dynamic>(engine, ast, ()).expect("the call")
    }

    #[test]
    fn a_copy_shares_no_cell_with_the_original_or_another_copy() {
        let engine = Engine::new();
        let (ast, f) = closure(&engine, "let seen = []; || { seen.push(1); seen.len() }");
        let (a, b) = (copy(&f), copy(&f));
        let len = |g: &FnPtr| call(&engine, &ast, g).as_int();
        assert_eq!(len(&a), Ok(1));
        assert_eq!(len(&a), Ok(2), "a copy keeps its own changes");
        assert_eq!(len(&b), Ok(1), "another copy starts afresh");
        assert_eq!(len(&f), Ok(1), "the original was not touched");
    }

    #[test]
    fn cells_captured_twice_stay_one_cell_within_a_copy() {
        let engine = Engine::new();
        let script = "let n = 1; let get = || n; || { n += 10; [get.call(), n] }";
        let (ast, f) = closure(&engine, script);
        let seen = call(&engine, &ast, &copy(&f)).into_array().unwrap();
        let seen: Vec<i64> = seen.iter().map(|v| v.as_int().unwrap()).collect();
        assert_eq!(
            seen,
            [11, 11],
            "the inner closure sees the outer one's change"
        );
    }

    #[test]
    fn a_closure_that_captured_itself_is_copied() {
        let engine = Engine::new();
        let (ast, f) = closure(&engine, "let f = 0; f = || type_of(f); f");
        assert_eq!(call(&engine, &ast, &copy(&f)).into_string().unwrap(), "Fn");
    }
}
