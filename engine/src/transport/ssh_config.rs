//! What the user's own ssh config says, as `ssh -G` resolves it for one
//! destination: the options kbz-play would otherwise set on ssh's command
//! line (which beats any config file) give way where the user set them.

use std::ffi::{OsStr, OsString};
use std::time::Duration;

use openssh::{KnownHosts, SessionBuilder};

use super::error::connect_error;
use super::ssh_g_cache::{key, load, store, Env};
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

/// Reads the user's ssh config for `destination` ([`Resolved`]). With
/// `--persist`, an answer kept by an earlier run stands where it is provably
/// the same (see `ssh_g_cache.rs`), and a new one is kept.
pub(super) async fn resolve_config(
    opts: &ConnectOptions,
    b: &SessionBuilder,
    destination: &str,
) -> Result<Resolved, TransportError> {
    let args = g_args(opts, b, destination);
    let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
    let key = match opts.persist.is_zero() {
        true => None,
        false => Env::current().and_then(|env| key(&env, &args, opts.ssh_config.as_deref())),
    };
    let text = match key.as_ref().and_then(|k| load(&opts.control_dir, k)) {
        Some(kept) => kept,
        None => {
            let text = ask_ssh_g(opts, &args).await?;
            if let Some(k) = &key {
                store(&opts.control_dir, k, &text);
            }
            text
        }
    };
    let mut resolved = configured(text);
    if opts.known_hosts == HostKeyPolicy::Strict {
        resolved.check = KnownHosts::Strict;
    }
    Ok(resolved)
}

/// `ssh`'s arguments for `destination`: `-G`, then kbz-play's `-F`, `-p`
/// and `-l`.
fn g_args(opts: &ConnectOptions, b: &SessionBuilder, destination: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["-G".into()];
    if let Some(config) = &opts.ssh_config {
        args.extend(["-F".into(), config.into()]);
    }
    if let Some(port) = b.get_port() {
        args.extend(["-p".into(), port.into()]);
    }
    if let Some(user) = b.get_user() {
        args.extend(["-l".into(), user.into()]);
    }
    args.extend(["--".into(), destination.into()]);
    args
}

/// Runs `ssh ARGS`: its answer.
async fn ask_ssh_g(opts: &ConnectOptions, args: &[&OsStr]) -> Result<String, TransportError> {
    let out = tokio::process::Command::new("ssh")
        .args(args)
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
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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
    use crate::transport::ssh_g_cache::folder;
    use std::path::Path;

    #[test]
    fn the_users_host_key_checking_wins_over_accept_new() {
        let check = |text: &str| format!("{:?}", configured(text.into()).check);
        assert_eq!(check("user root\nstricthostkeychecking true\n"), "Strict");
        assert_eq!(check("stricthostkeychecking false\n"), "Accept");
        assert_eq!(check("stricthostkeychecking ask\n"), "Add");
        assert_eq!(check("stricthostkeychecking accept-new\n"), "Add");
    }

    /// The port `ssh -G` resolves for `host` with `-F config`, under
    /// `--persist` (whose cache lives in the control folder `persist`).
    async fn resolved_port(config: &Path, persist: &Path) -> String {
        let mut opts = ConnectOptions::new("h", "host", persist.to_path_buf());
        opts.ssh_config = Some(config.to_path_buf());
        opts.persist = Duration::from_secs(60);
        let text = resolve_config(&opts, &SessionBuilder::default(), "host")
            .await
            .unwrap()
            .text;
        super::super::persist::resolved_value(&text, "port")
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn a_kept_answer_gives_way_to_a_changed_config_and_match_exec_is_never_kept() {
        let dir = tempfile::tempdir().unwrap();
        let persist = dir.path().join("persist");
        crate::private::ensure(&persist).unwrap();
        let config = dir.path().join("config");
        let kept = || std::fs::read_dir(folder(&persist)).map_or(0, |d| d.count());
        std::fs::write(&config, "Host host\n  Port 2201\n").unwrap();
        assert_eq!(resolved_port(&config, &persist).await, "2201");
        assert_eq!(kept(), 1);
        assert_eq!(resolved_port(&config, &persist).await, "2201");
        std::fs::write(&config, "Host host\n  Port 2202\n").unwrap();
        assert_eq!(resolved_port(&config, &persist).await, "2202");
        std::fs::write(&config, "Match exec true\n  Port 2203\n").unwrap();
        assert_eq!(resolved_port(&config, &persist).await, "2203");
        std::fs::write(&config, "Match exec false\n  Port 2203\n").unwrap();
        assert_eq!(resolved_port(&config, &persist).await, "22");
        assert_eq!(kept(), 2, "no answer kept for a Match exec");
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
