//! Which probes of a batch one bulk call answers: those of one kind, and
//! only when there are enough of them for the call to save programs (one
//! probe alone asks as before).

use super::Probe;

/// Probe indices, in batch order.
pub(super) struct Members(Vec<usize>);

impl Members {
    /// The probes of `probes` that `wanted` picks, when there are at least
    /// `min` of them; else none.
    pub(super) fn of(probes: &[Probe], min: usize, wanted: impl Fn(&Probe) -> bool) -> Self {
        let picked: Vec<usize> = probes
            .iter()
            .enumerate()
            .filter(|(_, p)| wanted(p))
            .map(|(i, _)| i)
            .collect();
        Members(if picked.len() >= min {
            picked
        } else {
            Vec::new()
        })
    }

    /// Whether probe `index` is answered in bulk.
    pub(super) fn answers(&self, index: usize) -> bool {
        self.0.binary_search(&index).is_ok()
    }

    /// The members' indices, in batch order.
    pub(super) fn indices(&self) -> &[usize] {
        &self.0
    }
}
