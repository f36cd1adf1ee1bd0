//! Where a run's ssh masters live and what becomes of them: a folder of the
//! run's own, removed at its end (`--persist 0`), or the persist folder,
//! where they stay up for the next run (see `kbz_engine::transport::persist`);
//! `kbz-play disconnect` ends those.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use kbz_engine::report::recap::INTERRUPTED;
use kbz_engine::report::{Event, Reporter};
use kbz_engine::transport::{persist, Interrupt};

/// The run's ssh control folder and how long its masters persist.
pub struct Sockets {
    /// Where the masters' sockets live.
    pub dir: PathBuf,
    /// Zero: the folder is the run's own, removed at its end.
    pub persist: Duration,
}

impl Sockets {
    /// The persist folder for `persist` seconds; a folder of the run's own
    /// for 0, or (with a warning) when the persist folder cannot be trusted.
    pub fn open(persist: u64, reporter: &Arc<dyn Reporter>) -> Result<Sockets> {
        if persist > 0 {
            match persist::persist_dir() {
                Ok(dir) => {
                    return Ok(Sockets {
                        dir,
                        persist: Duration::from_secs(persist),
                    })
                }
                Err(e) => reporter.event(&Event::Warn {
                    host: None,
                    message: format!("ssh masters close with this run: {e}"),
                }),
            }
        }
        let dir = kbz_engine::transport::ssh::create_control_dir()
            .context("cannot create a private folder for the ssh control sockets")?;
        Ok(Sockets {
            dir,
            persist: Duration::ZERO,
        })
    }

    /// After the run: the run's own folder goes; the persist folder stays.
    pub fn finish(&self) {
        if self.persist.is_zero() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// The first Ctrl-C stops the run the orderly way (no op starts,
    /// commands in flight are killed on their hosts, masters are closed, the
    /// recap prints); the second one exits at once, ending the run's ssh
    /// masters (which would otherwise persist for minutes) and removing
    /// their folders.
    pub async fn on_ctrl_c(self: Arc<Self>, interrupt: Interrupt) {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        interrupt.trigger();
        if tokio::signal::ctrl_c().await.is_ok() {
            persist::end_used_masters();
            if self.persist.is_zero() {
                kbz_engine::transport::end_masters(&self.dir);
            }
            self.finish();
            std::process::exit(INTERRUPTED);
        }
    }
}

/// `kbz-play disconnect [PATTERN]`: closes the persisted masters of the
/// hosts matching PATTERN (all without it) and says which.
pub fn disconnect(pattern: Option<&str>) -> Result<u8> {
    let dir = persist::persist_dir().context("cannot open the folder of persistent ssh masters")?;
    let closed = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(persist::disconnect(&dir, pattern))
        .with_context(|| format!("invalid pattern {:?}", pattern.unwrap_or_default()))?;
    for c in &closed {
        println!("closed {} ({})", c.host, c.target);
    }
    if closed.is_empty() {
        println!("no persistent ssh master{}", matching(pattern));
    }
    Ok(crate::exit::OK)
}

fn matching(pattern: Option<&str>) -> String {
    pattern.map_or_else(String::new, |p| format!(" matching {p:?}"))
}
