//! Content digests: the one form the engine compares file contents in.
//!
//! A file's content is identified by the lowercase hex SHA-256 that
//! `sha256sum` prints, so a digest computed here (for content about to be
//! written, or for the cache's file names) compares equal to the one a
//! probe reads back from the host.

use sha2::{Digest as _, Sha256};

/// The lowercase hex SHA-256 of `bytes`, as `sha256sum` prints it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_sha256sum() {
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
