//! Turns on a blocking thread for work that needs only a CPU: a host's
//! foresight rehearsal before its opening (see `rehearsal.rs`).
//!
//! Every host of a run asks for its rehearsal at once, when the run starts.
//! Given a blocking thread each, 250 hosts started 250 threads (the
//! runtime's blocking pool grows up to `--forks` + 8), each of which
//! touched its stack as deep as Rhai evaluates and kept a malloc arena busy,
//! for work that takes turns anyway: Rhai under the run's script lock, the
//! rest on the machine's few cores (issue 13). A few turns at a time do the
//! same work on a few threads.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinError;

/// How many CPU-only jobs run at once, each on a blocking thread.
#[derive(Debug, Clone)]
pub struct CpuTurns(Arc<Semaphore>);

impl CpuTurns {
    /// At most `turns` jobs at once (at least one).
    pub fn new(turns: usize) -> Self {
        Self(Arc::new(Semaphore::new(turns.max(1))))
    }

    /// Runs `f` on a blocking thread once a turn is free.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, JoinError> {
        let _turn = self.0.clone().acquire_owned().await.expect("never closed");
        tokio::task::spawn_blocking(f).await
    }
}

/// As many turns as the machine has cores: more would only wait for them.
impl Default for CpuTurns {
    fn default() -> Self {
        Self::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_jobs_run_at_once_than_turns() {
        let turns = CpuTurns::new(3);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let jobs: Vec<_> = (0..40)
            .map(|_| {
                let (turns, running, most) = (turns.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    turns
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            std::thread::sleep(Duration::from_millis(5));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                })
            })
            .collect();
        for job in jobs {
            job.await.unwrap().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 3, "40 jobs over 3 turns");
    }
}
