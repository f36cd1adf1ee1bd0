//! What `file`, `copy`, `template` and `line` share as operations: each
//! edits one path and plans from that path's probe alone. [`OnPath`] is
//! their [`Operation`], so probing, reporting and batching are decided
//! once for all of them; each op only says how it plans from the path's
//! state.

use std::sync::Arc;

use kbz_engine::op::{ContentDiff, Expected, OpError, Operation, Plan, WriteFile};
use kbz_engine::probe::{NotProbed, Observation, Observed, PathState, Probe};

use super::attrs::Attrs;

/// An edit of one path, planned from that path's state.
pub(crate) trait PathEdit: std::fmt::Debug + Send + Sync + 'static {
    /// Whether the plan reads the file's content, not only its digest
    /// (`line` edits the text; the others compare digests or kinds).
    const CONTENT: bool = false;

    /// The Rhai function name, e.g. `"file"`.
    fn kind(&self) -> &'static str;

    /// The path edited, which is also what reports show as the target.
    fn path(&self) -> &str;

    /// Decides what to change from the path's current state.
    fn plan(&self, cur: &PathState) -> Result<Plan, OpError>;

    /// See [`Operation::owns`].
    fn owns(&self) -> Option<&str> {
        None
    }
}

/// The [`Operation`] of a [`PathEdit`].
#[derive(Debug)]
pub(crate) struct OnPath<E>(E);

impl<E: PathEdit> OnPath<E> {
    /// The one probe the plan reads.
    fn probe(&self) -> Probe {
        Probe::Path {
            path: self.0.path().to_string(),
            content: E::CONTENT,
        }
    }

    /// Boxed, as ops are built.
    pub fn boxed(edit: E) -> Box<dyn Operation> {
        Box::new(OnPath(edit))
    }
}

impl<E: PathEdit> Operation for OnPath<E> {
    /// File edits cannot be observed by the rest of the play without a
    /// probe, so the engine may hold them and apply them together.
    fn batchable(&self) -> bool {
        true
    }

    fn kind(&self) -> &'static str {
        self.0.kind()
    }

    fn target(&self) -> String {
        self.0.path().to_string()
    }

    fn probes(&self) -> Vec<Probe> {
        vec![self.probe()]
    }

    fn owns(&self) -> Option<&str> {
        self.0.owns()
    }

    fn plan(&self, observed: &Observed) -> Result<Plan, OpError> {
        let probe = self.probe();
        match observed.get(&probe)? {
            Observation::Path(cur) => self.0.plan(cur),
            _ => Err(NotProbed(probe).into()),
        }
    }
}

/// Writes `content` to `path` with `attrs` (`None` ones left alone), and
/// the diff that write makes from `before`: every whole-file write of these
/// ops comes with its diff. The write was planned from `cur`, the path's
/// probed state, so it is made only while the host still has it
/// ([`Expected`]): a file a service edited since is planned again, not
/// overwritten from the stale snapshot.
pub(crate) fn write_with_diff(
    path: &str,
    cur: &PathState,
    before: Option<Arc<Vec<u8>>>,
    content: Arc<Vec<u8>>,
    attrs: &Attrs,
) -> (WriteFile, ContentDiff) {
    let write = WriteFile {
        path: path.to_string(),
        content: Arc::clone(&content),
        mode: attrs.mode,
        owner: attrs.owner.clone(),
        group: attrs.group.clone(),
        validate: None,
        expect: Expected::of(cur),
    };
    let diff = ContentDiff {
        path: path.to_string(),
        before,
        after: content,
    };
    (write, diff)
}
