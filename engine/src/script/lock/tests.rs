use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::*;

/// How long a test waits for another thread before it fails (never hangs).
const PATIENCE: Duration = Duration::from_secs(5);

fn closure() -> FnPtr {
    FnPtr::new("f").expect("a closure's name")
}

/// Whether this thread holds its run's lock.
fn held() -> bool {
    TURN.with(|t| t.borrow().as_ref().is_some_and(|turn| turn.held))
}

/// Runs `f` as a host thread of `lock`'s run, calling a closure.
fn on_host<T: Send + 'static>(
    lock: &Arc<ScriptLock>,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    let lock = lock.clone();
    std::thread::spawn(move || lock.enter(|| holding(&closure(), f)))
}

#[test]
fn closures_on_host_threads_never_run_at_once() {
    let lock = Arc::<ScriptLock>::default();
    let inside = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let hosts: Vec<_> = (0..4)
        .map(|_| {
            let (inside, most) = (inside.clone(), most.clone());
            let lock = lock.clone();
            std::thread::spawn(move || {
                for _ in 0..20 {
                    on_host(&lock, {
                        let (inside, most) = (inside.clone(), most.clone());
                        move || {
                            most.fetch_max(
                                inside.fetch_add(1, Ordering::SeqCst) + 1,
                                Ordering::SeqCst,
                            );
                            std::thread::sleep(Duration::from_millis(1));
                            inside.fetch_sub(1, Ordering::SeqCst);
                        }
                    })
                    .join()
                    .unwrap();
                }
            })
        })
        .collect();
    for host in hosts {
        host.join().unwrap();
    }
    assert_eq!(most.load(Ordering::SeqCst), 1);
}

#[test]
fn an_op_lets_other_hosts_evaluate_meanwhile() {
    let lock = Arc::<ScriptLock>::default();
    let (started, at_op) = mpsc::channel();
    let (ran, other_ran) = mpsc::channel();
    let first = on_host(&lock, move || {
        started.send(()).unwrap();
        outside(|| other_ran.recv_timeout(PATIENCE).is_ok())
    });
    at_op.recv_timeout(PATIENCE).unwrap();
    let other = on_host(&lock, move || ran.send(()).unwrap());
    assert!(first.join().unwrap(), "the other host waited for the op");
    other.join().unwrap();
}

#[test]
fn a_closure_an_op_calls_holds_the_lock_again() {
    let lock = Arc::<ScriptLock>::default();
    let seen = lock.enter(|| {
        holding(&closure(), || {
            let before = held();
            let (during, nested) = outside(|| (held(), holding(&closure(), held)));
            [before, during, nested, held()]
        })
    });
    assert_eq!(seen, [true, false, true, true]);
    assert!(!held(), "nothing is held once the host thread is done");
}

#[test]
fn an_op_called_back_by_a_method_on_a_captured_value_keeps_the_lock() {
    let lock = Arc::<ScriptLock>::default();
    let cell = Dynamic::from(1_i64).into_shared();
    let mut f = closure();
    f.set_curry(vec![cell.clone()]);
    let seen = lock.enter(|| {
        holding(&f, || {
            let free = outside(held);
            // What Rhai does for `captured.method(...)`, until the method returns.
            let mut method_on = cell.clone();
            let _locked = method_on.write_lock::<Dynamic>().expect("the cell");
            [free, outside(held)]
        })
    });
    assert_eq!(seen, [false, true]);
}

#[test]
fn a_panicking_host_leaves_the_lock_free() {
    let lock = Arc::<ScriptLock>::default();
    let panicked = on_host(&lock, || outside(|| panic!("an op's bug")));
    assert!(panicked.join().is_err());
    let (done, finished) = mpsc::channel();
    on_host(&lock, move || done.send(()).unwrap());
    assert!(
        finished.recv_timeout(PATIENCE).is_ok(),
        "the lock stayed taken"
    );
}
