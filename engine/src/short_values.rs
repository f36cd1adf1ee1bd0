//! Warnings about secret values too short to be masked.
//!
//! [`Secrets`](crate::secrets::Secrets) ignores values shorter than
//! [`MIN_LEN`]: masking `80` everywhere would garble the output. Such a
//! value may then show in output, so the user is told, once per value's
//! source (its file and name, never the value), and can choose a longer
//! one. Credentials and vault values share this.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, PoisonError};

use crate::secrets::MIN_LEN;

/// Where the warnings go (the run's reporter).
type Warn = Arc<dyn Fn(String) + Send + Sync>;

/// Warns about short secret values, once per source. Cheap to clone; the
/// clones share what was warned about. [`ShortValues::default`] says
/// nothing.
#[derive(Clone, Default)]
pub struct ShortValues {
    warn: Option<Warn>,
    /// Sources already warned about: once per run is enough.
    warned: Arc<Mutex<BTreeSet<String>>>,
}

impl ShortValues {
    /// Warnings sent to `warn`.
    pub fn new(warn: impl Fn(String) + Send + Sync + 'static) -> Self {
        ShortValues {
            warn: Some(Arc::new(warn)),
            warned: Arc::default(),
        }
    }

    /// Warns, the first time for `source` (`credential PIN in app.env`),
    /// when `value` is too short to be masked. `source` is built only then.
    pub fn check(&self, value: &str, source: impl FnOnce() -> String) {
        let Some(warn) = &self.warn else { return };
        if value.trim().chars().count() >= MIN_LEN {
            return;
        }
        let source = source();
        let first = self
            .warned
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(source.clone());
        if first {
            warn(format!(
                "{source} is shorter than {MIN_LEN} characters: it cannot be masked in output \
                 and may show there; use a longer value"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_once_per_source_and_never_quotes_the_value() {
        let said = Arc::new(Mutex::new(Vec::new()));
        let sink = said.clone();
        let short = ShortValues::new(move |m| sink.lock().unwrap().push(m));
        short.check("~%^", || "value A".into());
        let shared = short.clone();
        shared.check("~%^", || "value A".into());
        short.check("long enough", || "value B".into());
        short.check("ab", || "value C".into());
        let said = said.lock().unwrap();
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(said[0].starts_with("value A is shorter than 4"), "{said:?}");
        assert!(said[1].starts_with("value C"), "{said:?}");
        assert!(!said.iter().any(|m| m.contains("~%^")), "{said:?}");
        ShortValues::default().check("x", || unreachable!("no sink, no source built"));
    }
}
