//! The script lock: one host thread at a time evaluates a run's Rhai.
//!
//! A play's closure runs on all its hosts at once, and what it captured from
//! the top level is one shared cell for all of them (playbooks share them on
//! purpose: site.rhai's `redis_views[host.name] = ...`, read by a later
//! play). Rhai locks such a cell for the whole of a method call on it
//! (`nodes.filter(...)`) and fails any other thread that waits for it more
//! than 50 ms with "Data race detected" (issue 13). So a host thread holds
//! the run's lock while it evaluates Rhai ([`Callable::call`]), and lets it
//! go while its op plans and applies ([`outside`]), which is where a run
//! spends its time: round trips, waits, templates. No other thread then
//! holds a cell when Rhai locks one.
//!
//! An op called back from a method on a captured value
//! (`nodes.for_each(|n| copy(...))`) finds that value's cell locked by its
//! own thread: it keeps the lock, since another host reading `nodes`
//! meanwhile would fail. Such ops run one host at a time.
//!
//! [`Callable::call`]: super::Callable::call

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex};

use rhai::{Dynamic, FnPtr};

/// One run's lock on Rhai evaluation, shared by its host threads.
#[derive(Debug, Default)]
pub struct ScriptLock {
    taken: Mutex<bool>,
    freed: Condvar,
}

/// The lock of the run whose host this thread runs, and what it does with it.
struct Turn {
    lock: Arc<ScriptLock>,
    held: bool,
    /// The closures being called on this thread, innermost last: their
    /// captured cells are the ones other hosts read.
    calls: Vec<FnPtr>,
}

thread_local! {
    static TURN: RefCell<Option<Turn>> = const { RefCell::new(None) };
}

impl ScriptLock {
    /// Runs `f` as a host thread of this lock's run: the closures it calls
    /// ([`Callable::call`](super::Callable::call)) hold the lock.
    pub fn enter<T>(self: &Arc<Self>, f: impl FnOnce() -> T) -> T {
        struct Restore(Option<Turn>);
        impl Drop for Restore {
            fn drop(&mut self) {
                TURN.with(|t| *t.borrow_mut() = self.0.take());
            }
        }
        let turn = Turn {
            lock: self.clone(),
            held: false,
            calls: Vec::new(),
        };
        let _restore = Restore(TURN.with(|t| t.borrow_mut().replace(turn)));
        f()
    }

    fn acquire(&self) {
        let mut taken = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        while *taken {
            taken = self.freed.wait(taken).unwrap_or_else(|e| e.into_inner());
        }
        *taken = true;
    }

    fn release(&self) {
        *self.taken.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.freed.notify_one();
    }
}

/// Sets whether this thread holds its run's lock, taking or releasing it;
/// returns whether it did so (false: no run, or already so).
fn set_held(held: bool) -> bool {
    let Some(lock) = TURN.with(|t| {
        let mut t = t.borrow_mut();
        let turn = t.as_mut().filter(|turn| turn.held != held)?;
        turn.held = held;
        Some(turn.lock.clone())
    }) else {
        return false;
    };
    match held {
        true => lock.acquire(),
        false => lock.release(),
    }
    true
}

/// Undoes, on every way out (a panic too), a [`set_held`] that changed
/// something.
struct Undo {
    changed: bool,
    held: bool,
}

impl Undo {
    /// Sets whether this thread holds its run's lock until the result drops.
    fn set_held(held: bool) -> Undo {
        Undo {
            changed: set_held(held),
            held,
        }
    }
}

impl Drop for Undo {
    fn drop(&mut self) {
        if self.changed {
            set_held(!self.held);
        }
    }
}

/// Runs `f`, a call of `closure`, holding this thread's run lock (if it is
/// a host thread: see [`ScriptLock::enter`]).
pub(super) fn holding<T>(closure: &FnPtr, f: impl FnOnce() -> T) -> T {
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            TURN.with(|t| t.borrow_mut().as_mut().map(|turn| turn.calls.pop()));
        }
    }
    let pushed = TURN.with(|t| {
        let mut t = t.borrow_mut();
        t.as_mut().map(|turn| turn.calls.push(closure.clone()))
    });
    let _pop = pushed.map(|()| Pop);
    let _undo = Undo::set_held(true);
    f()
}

/// Runs `f` (an op's planning and applying) without this thread's run lock,
/// so that other hosts evaluate meanwhile; with it if a closure being called
/// here has a captured cell locked (a method on it is calling back here).
pub fn outside<T>(f: impl FnOnce() -> T) -> T {
    let _undo = (!captured_cell_locked()).then(|| Undo::set_held(false));
    f()
}

/// Whether a cell captured by a closure being called on this thread is
/// locked, by this thread since it holds the run lock. Rhai waits up to
/// 50 ms for a locked cell before it says so: that case is rare.
fn captured_cell_locked() -> bool {
    TURN.with(|t| {
        t.borrow().as_ref().is_some_and(|turn| {
            turn.held
                && turn
                    .calls
                    .iter()
                    .any(|f| f.iter_curry().any(Dynamic::is_locked))
        })
    })
}

#[cfg(test)]
mod tests;
