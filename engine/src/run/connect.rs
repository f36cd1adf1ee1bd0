//! Connecting a host for a run: local or over SSH, with the options the
//! inventory and the command line give, once, on first use.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::executor::Slot;
use super::foresight::Foreseen;
use super::session::{ProbeError, Session};
use super::shared::Shared;
use crate::cache::HostCache;
use crate::inventory::Host;
use crate::report::Event;
use crate::transport::{ConnectOptions, RunLock, Transport};

fn connect_options(shared: &Shared, host: &Host) -> ConnectOptions {
    let c = &shared.settings.connect;
    ConnectOptions {
        host: host.name.clone(),
        address: host.address.clone(),
        port: host.port,
        user: host.user.clone().or_else(|| c.user.clone()),
        identity_file: host
            .vars
            .get("ansible_ssh_private_key_file")
            .and_then(|v| v.as_str())
            .map(PathBuf::from)
            .or_else(|| c.identity_file.clone()),
        ssh_config: c.ssh_config.clone(),
        known_hosts: c.known_hosts,
        connect_timeout: c.connect_timeout,
        become_: c.become_.clone(),
        control_dir: c.control_dir.clone(),
        persist: c.persist,
    }
}

/// Whether the host is this machine, reached without SSH: when the inventory
/// says so (`ansible_connection: local`), or for `localhost` at a loopback
/// address without its own port or user ([`ConnectOptions::is_local`]). A
/// port or user means a real SSH login (a tunnel, a container's sshd): run
/// locally, its port forwards and tunnels would reach the control machine.
fn is_local(host: &Host) -> bool {
    match host.vars.get("ansible_connection").and_then(|v| v.as_str()) {
        Some(connection) => connection == "local",
        None => {
            let mut opts = ConnectOptions::new(&host.name, &host.address, PathBuf::new());
            opts.port = host.port;
            opts.user = host.user.clone();
            opts.is_local()
        }
    }
}

/// Connects to the host on first use; `None` when it is unreachable. The
/// opening round trip asks the probes the cached entry remembers, and the
/// foreseen probes and read-only commands (see `rehearsal.rs`): `rehearsed`
/// gives both, and runs while the connection is made.
pub(super) async fn ensure_session(
    shared: &Shared,
    slot: &Slot,
    gathered: bool,
    rehearsed: impl Future<Output = (HostCache, Foreseen)>,
) -> Option<Arc<Session>> {
    {
        let st = slot.state();
        if let Some(s) = &st.session {
            return Some(s.clone());
        }
        if st.connect_attempted {
            return None;
        }
    }
    let started = Instant::now();
    if shared.settings.offline.is_some() {
        let facts = super::render::offline_facts(&slot.host);
        let session = Arc::new(Session::offline(facts).gathering(gathered));
        let mut st = slot.state();
        st.connect_attempted = true;
        st.session = Some(session.clone());
        return Some(session);
    }
    let connected = async {
        match is_local(&slot.host) {
            true => Ok(Transport::local(shared.settings.connect.become_.clone())),
            false => Transport::connect(&connect_options(shared, &slot.host)).await,
        }
    };
    let (connected, (cached, foreseen)) = tokio::join!(connected, rehearsed);
    let opened = async {
        let transport = connected.map_err(ProbeError::from)?;
        let c = &shared.settings.connect;
        let lock = RunLock::new(&c.run, &slot.host.name, c.lock_timeout);
        let limit = shared.settings.probe_limit();
        let changes = shared.changes.count();
        Session::open_locked(
            transport, &cached, &foreseen, gathered, changes, &lock, limit,
        )
        .await
    };
    let opened: Result<Session, ProbeError> = opened.await;
    let mut st = slot.state();
    st.connect_attempted = true;
    st.stats.elapsed += started.elapsed();
    match opened {
        Ok(session) => {
            for path in session.drift(&cached) {
                shared.reporter.event(&Event::Warn {
                    host: Some(slot.host.name.clone()),
                    message: format!("{path} was changed on the host since the last run"),
                });
            }
            if let Some(facts) = session.play_facts() {
                shared.template_inventory.gathered(&slot.host.name, facts);
            }
            let session = Arc::new(session);
            st.session = Some(session.clone());
            Some(session)
        }
        Err(error) => {
            let host = slot.host.name.clone();
            let unreachable = error.is_unreachable();
            let text = error.to_string();
            let text = text
                .strip_prefix(&format!("{host}: "))
                .unwrap_or(&text)
                .to_string();
            if unreachable {
                st.unreachable = true;
                shared
                    .reporter
                    .event(&Event::Unreachable { host, error: text });
            } else {
                st.failed = true;
                st.stats.failed += 1;
                shared
                    .reporter
                    .event(&Event::HostFailed { host, error: text });
            }
            None
        }
    }
}
