//! Query probes as the cache keeps them: sealed with the run that asked
//! them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::key::{hmac_equal, CacheKey};
use crate::probe::Probe;

/// A query probe with the HMAC, under the user's cache key, of its JSON and
/// of the run's [`Definition`](crate::definition::Definition) (the playbook
/// and every file its scripts read, the inventory, `-e`, tags and limit).
/// Only this user's own runs can make one that verifies, and it verifies
/// only while nothing that shapes the scripts changed, so its script is one
/// the current playbook, with the same inputs, asked last time: a query an
/// earlier version of the playbook asked is dropped, never run. Keeping the
/// scripts (rather than only their identity) keeps a no-op rerun at one
/// round trip: the opening batch can ask them before any play runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Sealed {
    probe: Probe,
    mac: String,
}

impl Sealed {
    /// `probe` sealed for the run whose definition has the MAC `definition`.
    pub(super) fn new(key: &CacheKey, probe: &Probe, definition: &str) -> Sealed {
        let json = serde_json::to_string(probe).unwrap_or_default();
        Sealed {
            probe: probe.clone(),
            mac: key.seal(&format!("{json}\0{definition}")),
        }
    }

    /// The probe when it was sealed with `key` for a run of the definition
    /// `definition`, else `None`.
    pub(super) fn open(&self, key: &CacheKey, definition: &str) -> Option<Probe> {
        let expected = Sealed::new(key, &self.probe, definition).mac;
        hmac_equal(&expected, &self.mac).then(|| self.probe.clone())
    }
}

/// The queries one run asked, sealed with its definition, and the files its
/// scripts read (the next run hashes them again to tell whether the queries
/// still hold). An entry keeps a few of them, one per definition, so that a
/// `--tags` run between two whole runs costs neither its round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct SealedRun {
    pub(super) inputs: Vec<PathBuf>,
    pub(super) queries: Vec<Sealed>,
}

impl SealedRun {
    /// The queries that verify for the definition whose MAC over this run's
    /// inputs as they are now is `definition`.
    pub(super) fn open(&self, key: &CacheKey, definition: &str) -> Vec<Probe> {
        self.queries
            .iter()
            .filter_map(|q| q.open(key, definition))
            .collect()
    }

    /// Adds `other`'s queries this run does not hold.
    pub(super) fn absorb(&mut self, other: SealedRun) {
        for query in other.queries {
            if !self.queries.contains(&query) {
                self.queries.push(query);
            }
        }
    }
}
