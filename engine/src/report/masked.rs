//! Secret masking in front of any reporter.

use crate::secrets::Secrets;

use super::{ChangeLine, Event, HostStats, Reporter};

/// Wraps a reporter so that it never sees a secret: every string of every
/// event (host and play names included, since inventories do get generated
/// from secrets) is passed through [`Secrets::mask`] first.
///
/// Masking here, once, rather than in each reporter means a new reporter
/// cannot forget to, and a new event field cannot slip through:
/// [`mask_event`] destructures every variant completely, so adding a field
/// does not compile until it is masked.
#[derive(Debug)]
pub struct Masked<R> {
    inner: R,
    secrets: Secrets,
}

impl<R: Reporter> Masked<R> {
    /// Masks with `secrets`, which may keep growing during the run: each event
    /// is masked with the values registered by the time it is reported.
    pub fn new(inner: R, secrets: Secrets) -> Self {
        Masked { inner, secrets }
    }

    /// The wrapped reporter.
    pub fn inner(&self) -> &R {
        &self.inner
    }

    /// The wrapped reporter back, e.g. to read a test buffer.
    pub fn into_inner(self) -> R {
        self.inner
    }
}

impl<R: Reporter> Reporter for Masked<R> {
    fn event(&self, event: &Event) {
        if self.secrets.is_empty() {
            // The common case (no vault) costs nothing.
            self.inner.event(event);
        } else {
            self.inner.event(&mask_event(event, &self.secrets));
        }
    }

    fn finish(&self) {
        self.inner.finish();
    }
}

/// A copy of `event` with every string masked.
pub fn mask_event(event: &Event, secrets: &Secrets) -> Event {
    let m = |s: &String| secrets.mask(s);
    let mo = |s: &Option<String>| s.as_deref().map(|s| secrets.mask(s));
    match event {
        Event::RunStart {
            playbook,
            hosts,
            check,
        } => Event::RunStart {
            playbook: m(playbook),
            hosts: *hosts,
            check: *check,
        },
        Event::PlayStart { play, hosts } => Event::PlayStart {
            play: m(play),
            hosts: hosts.iter().map(m).collect(),
        },
        Event::OpStart { host, op, target } => Event::OpStart {
            host: m(host),
            op: m(op),
            target: m(target),
        },
        Event::OpEnd {
            host,
            op,
            target,
            status,
            changes,
            diff,
            message,
            at,
            elapsed,
        } => Event::OpEnd {
            host: m(host),
            op: m(op),
            target: m(target),
            status: *status,
            changes: changes
                .iter()
                .map(|ChangeLine { symbol, summary }| ChangeLine {
                    symbol: *symbol,
                    summary: m(summary),
                })
                .collect(),
            diff: mo(diff),
            message: mo(message),
            at: mo(at),
            elapsed: *elapsed,
        },
        Event::Unreachable { host, error } => Event::Unreachable {
            host: m(host),
            error: m(error),
        },
        Event::HostFailed { host, error } => Event::HostFailed {
            host: m(host),
            error: m(error),
        },
        Event::Warn { host, message } => Event::Warn {
            host: mo(host),
            message: m(message),
        },
        Event::Log { host, message } => Event::Log {
            host: mo(host),
            message: m(message),
        },
        Event::PlayEnd { play } => Event::PlayEnd { play: m(play) },
        Event::RunEnd { recap, elapsed } => Event::RunEnd {
            recap: recap
                .iter()
                .map(|(host, stats)| {
                    // Destructured so a new string field in the stats is noticed.
                    let HostStats {
                        ok: _,
                        changed: _,
                        failed: _,
                        skipped: _,
                        unreachable: _,
                        interrupted: _,
                        elapsed: _,
                        round_trips: _,
                    } = stats;
                    (m(host), stats.clone())
                })
                .collect(),
            elapsed: *elapsed,
        },
        Event::HostStart { host } => Event::HostStart { host: m(host) },
        Event::HostEnd { host } => Event::HostEnd { host: m(host) },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::super::fixtures;
    use super::*;

    /// Records what it is given.
    #[derive(Default)]
    struct Record(Mutex<Vec<String>>);

    impl Reporter for Record {
        fn event(&self, event: &Event) {
            self.0
                .lock()
                .unwrap()
                .push(serde_json::to_string(event).unwrap());
        }
    }

    /// Every string of the fixtures, registered as a secret, must vanish.
    #[test]
    fn no_string_survives() {
        let secrets = Secrets::new();
        for needle in [
            "redis-01",
            "Redis HA",
            "sentinel.conf",
            "10.0.0.12",
            "restarted",
            "role: replica",
        ] {
            secrets.add(needle);
        }
        secrets.add("site.rhai:12:5");
        secrets.add("Connection timed out");
        secrets.add("worker_count");
        secrets.add("handlers");
        let record = Arc::new(Record::default());
        let masked = Masked::new(Arc::clone(&record), secrets);
        for e in fixtures::redis_run().iter().chain(&fixtures::failing_run()) {
            masked.event(e);
        }
        masked.finish();
        let all = record.0.lock().unwrap().join("\n");
        for needle in [
            "redis-01",
            "Redis HA",
            "sentinel.conf",
            "10.0.0.12",
            "restarted",
            "role: replica",
            "site.rhai:12:5",
            "Connection timed out",
            "worker_count",
            "handlers",
        ] {
            assert!(!all.contains(needle), "{needle} leaked");
        }
        assert!(all.contains("********"));
        // Untouched otherwise.
        assert!(all.contains("redis-02"));
    }

    #[test]
    fn secrets_added_later_apply_to_later_events() {
        let secrets = Secrets::new();
        let record = Arc::new(Record::default());
        let masked = Masked::new(Arc::clone(&record), secrets.clone());
        let log = Event::Log {
            host: None,
            message: "token=abcd1234".to_owned(),
        };
        masked.event(&log);
        secrets.add("abcd1234");
        masked.event(&log);
        let seen = record.0.lock().unwrap().clone();
        assert!(seen[0].contains("abcd1234"));
        assert_eq!(seen[1], r#"{"event":"log","message":"token=********"}"#);
    }
}
