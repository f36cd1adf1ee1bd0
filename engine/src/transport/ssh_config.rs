//! What the user's own ssh config says, as `ssh -G` resolves it for one
//! destination: the options kbz-play would otherwise set on ssh's command
//! line (which beats any config file) give way where the user set them.

use std::time::Duration;

use openssh::{KnownHosts, SessionBuilder};

use super::error::connect_error;
use super::{ConnectOptions, HostKeyPolicy, TransportError};

/// What the user's ssh config (`-F` or `~/.ssh/config`, as `ssh -G` resolves
/// it for this destination) says about the options kbz-play passes on ssh's
/// command line, which beats any config file: where the config sets one, its
/// value is passed on.
#[derive(Debug)]
pub(super) struct Resolved {
    /// `StrictHostKeyChecking`: only where the config is silent (`ask`, the
    /// default, which cannot ask in batch mode) does `accept-new` apply.
    pub(super) check: KnownHosts,
    /// `ServerAliveInterval`: how soon a dead peer is noticed is the user's
    /// call (a flaky WAN wants it long, a test lab short); `None` where the
    /// config is silent (0), and [`super::ssh::SERVER_ALIVE`] applies.
    pub(super) server_alive: Option<Duration>,
    /// `ssh -G`'s whole answer: what a persisted master is keyed by (see
    /// `persist/key.rs`).
    pub(super) text: String,
}

/// Reads the user's ssh config for `destination` ([`Resolved`]).
pub(super) async fn resolve_config(
    opts: &ConnectOptions,
    b: &SessionBuilder,
    destination: &str,
) -> Result<Resolved, TransportError> {
    let mut cmd = tokio::process::Command::new("ssh");
    cmd.arg("-G");
    if let Some(config) = &opts.ssh_config {
        cmd.arg("-F").arg(config);
    }
    if let Some(port) = b.get_port() {
        cmd.arg("-p").arg(port);
    }
    if let Some(user) = b.get_user() {
        cmd.arg("-l").arg(user);
    }
    let out = cmd
        .arg("--")
        .arg(destination)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| TransportError::Io {
            host: opts.host.clone(),
            context: "cannot run `ssh -G` (is the OpenSSH client installed?)".into(),
            source,
        })?;
    if !out.status.success() {
        return Err(connect_error(opts, &String::from_utf8_lossy(&out.stderr)));
    }
    let mut resolved = configured(String::from_utf8_lossy(&out.stdout).into_owned());
    if opts.known_hosts == HostKeyPolicy::Strict {
        resolved.check = KnownHosts::Strict;
    }
    Ok(resolved)
}

/// Reads `ssh -G`'s output ([`Resolved`]).
fn configured(resolved: String) -> Resolved {
    let value = |key: &str| super::persist::resolved_value(&resolved, key);
    let server_alive = value("serveraliveinterval")
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&secs| secs > 0)
        .map(Duration::from_secs);
    let check = configured_check(value("stricthostkeychecking"));
    Resolved {
        check,
        server_alive,
        text: resolved,
    }
}

/// Maps `ssh -G`'s `stricthostkeychecking` value to openssh's setting.
fn configured_check(value: Option<&str>) -> KnownHosts {
    match value {
        Some("true" | "yes") => KnownHosts::Strict,
        Some("false" | "no" | "off") => KnownHosts::Accept,
        _ => KnownHosts::Add,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_host_key_checking_wins_over_accept_new() {
        let check = |text: &str| format!("{:?}", configured(text.into()).check);
        assert_eq!(check("user root\nstricthostkeychecking true\n"), "Strict");
        assert_eq!(check("stricthostkeychecking false\n"), "Accept");
        assert_eq!(check("stricthostkeychecking ask\n"), "Add");
        assert_eq!(check("stricthostkeychecking accept-new\n"), "Add");
    }

    #[test]
    fn the_users_server_alive_interval_wins_over_ours() {
        let alive = |text: &str| configured(text.into()).server_alive;
        assert_eq!(
            alive("serveraliveinterval 2\nserveralivecountmax 3\n"),
            Some(Duration::from_secs(2))
        );
        assert_eq!(alive("serveraliveinterval 0\n"), None);
        assert_eq!(alive("user root\n"), None);
    }
}
