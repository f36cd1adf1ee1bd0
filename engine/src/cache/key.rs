//! The per-user key the cache seals with, and the HMAC it seals with.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::private;

/// The key's file in the base folder.
pub(super) const KEY_FILE: &str = "key";

/// The random per-user key digests and queries are kept under
/// (HMAC-SHA256).
#[derive(Clone, PartialEq, Eq)]
pub(super) struct CacheKey([u8; 32]);

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(..)")
    }
}

impl CacheKey {
    /// The key in `base`, made on first use: written to a temp file (0600)
    /// and hard-linked into place, so of two runs racing the first wins and
    /// both use its key. A key file of the wrong size is replaced (the
    /// digests kept under it were unreadable anyway).
    pub(super) fn load_or_create(base: &Path) -> std::io::Result<CacheKey> {
        let path = base.join(KEY_FILE);
        let corrupt = match Self::read(&path) {
            Ok(Some(key)) => return Ok(key),
            Ok(None) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(e),
        };
        let tmp = base.join(format!(".{KEY_FILE}.tmp{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let written = private_file(&tmp)
            .and_then(|mut f| f.write_all(&private::random_bytes::<32>()?))
            .and_then(|()| match std::fs::hard_link(&tmp, &path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && corrupt => {
                    std::fs::rename(&tmp, &path)
                }
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
                _ => Ok(()),
            });
        let _ = std::fs::remove_file(&tmp);
        written?;
        Self::read(&path)?
            .ok_or_else(|| std::io::Error::other(format!("{} is not a key", path.display())))
    }

    /// The key at `path`; `None` when the file does not hold one.
    fn read(path: &Path) -> std::io::Result<Option<CacheKey>> {
        let bytes = std::fs::read(path)?;
        Ok(<[u8; 32]>::try_from(bytes.as_slice()).ok().map(CacheKey))
    }

    pub(super) fn seal(&self, digest: &str) -> String {
        self.seal_bytes(digest.as_bytes())
    }

    pub(super) fn seal_bytes(&self, msg: &[u8]) -> String {
        hex::encode(hmac_sha256(&self.0, msg))
    }
}

/// HMAC-SHA256 (RFC 2104) of `msg` under `key`.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
    mac.update(msg);
    mac.finalize().into_bytes().into()
}

/// Compares two MACs in time independent of where they differ.
pub(super) fn hmac_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

/// A new file only we can read or write (fails if the name exists).
pub(super) fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_corrupt_key_is_replaced() {
        let base = tempfile::tempdir().unwrap();
        std::fs::write(base.path().join(KEY_FILE), b"short").unwrap();
        CacheKey::load_or_create(base.path()).unwrap();
        assert_eq!(std::fs::read(base.path().join(KEY_FILE)).unwrap().len(), 32);
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
