//! SCRAM-SHA-256 verifiers (RFC 5802, RFC 7677) computed on the control
//! machine, in PostgreSQL's `rolpassword` form
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
//!
//! A role sends PostgreSQL this verifier instead of the password
//! (`ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...'`), so the clear password
//! never reaches the host, its logs (`log_statement = ddl` logs the
//! statement) or `pg_stat_activity`; and it checks a stored verifier by
//! recomputing it with the stored salt and iterations, so nothing secret is
//! asked of the host either.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

/// PostgreSQL's default `scram_iterations` (and its only value before 16).
pub const ITERATIONS: u32 = 4096;
/// PostgreSQL's salt length, in bytes.
pub const SALT_LEN: usize = 16;

type HmacSha256 = Hmac<Sha256>;

/// Why no verifier could be computed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScramError {
    /// PostgreSQL runs a non-ASCII password through SASLprep (Unicode
    /// normalisation) first; computing that here is not worth the risk of
    /// a verifier that never matches, so such passwords are refused.
    #[error("a SCRAM verifier is computed here for ASCII passwords only (PostgreSQL would SASLprep-normalise this one)")]
    NotAscii,
    /// The salt is not base64.
    #[error("the SCRAM salt is not base64: {0}")]
    Salt(String),
    /// Zero or a negative iteration count.
    #[error("SCRAM iterations must be at least 1, not {0}")]
    Iterations(i64),
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// PBKDF2-HMAC-SHA256 with one 32-byte block: SCRAM's `Hi()`.
fn hi(password: &[u8], salt: &[u8], iterations: u32) -> [u8; 32] {
    let mut first = salt.to_vec();
    first.extend_from_slice(&1u32.to_be_bytes());
    let mut u = hmac(password, &first);
    let mut out = u;
    for _ in 1..iterations {
        u = hmac(password, &u);
        out.iter_mut().zip(u).for_each(|(o, x)| *o ^= x);
    }
    out
}

/// The verifier of `password` with this salt (raw bytes) and iteration count.
pub fn verifier(password: &str, salt: &[u8], iterations: u32) -> Result<String, ScramError> {
    if !password.is_ascii() {
        return Err(ScramError::NotAscii);
    }
    let salted = hi(password.as_bytes(), salt, iterations);
    let stored_key = Sha256::digest(hmac(&salted, b"Client Key"));
    let server_key = hmac(&salted, b"Server Key");
    Ok(format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    ))
}

/// The verifier of `password` with a stored verifier's salt (base64, as
/// `rolpassword` holds it) and iteration count: equal to the stored one
/// exactly when the password is the same.
pub fn verifier_with(
    password: &str,
    salt_b64: &str,
    iterations: i64,
) -> Result<String, ScramError> {
    let salt = STANDARD
        .decode(salt_b64.trim())
        .map_err(|e| ScramError::Salt(e.to_string()))?;
    let iterations = u32::try_from(iterations)
        .ok()
        .filter(|&i| i > 0)
        .ok_or(ScramError::Iterations(iterations))?;
    verifier(password, &salt, iterations)
}

/// A new verifier of `password`: a random salt, PostgreSQL's iterations.
pub fn new_verifier(password: &str) -> Result<String, ScramError> {
    let salt: [u8; SALT_LEN] =
        crate::private::random_bytes().expect("the kernel's random source answers");
    verifier(password, &salt, ITERATIONS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hi_is_pbkdf2_hmac_sha256() {
        // RFC 7914 section 11, PBKDF2-HMAC-SHA256 ("passwd", "salt", c = 1): its first block.
        assert_eq!(
            hex::encode(hi(b"passwd", b"salt", 1)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
        );
    }

    #[test]
    fn verifier_matches_an_independent_implementation() {
        // Python's hashlib.pbkdf2_hmac / hmac / hashlib.sha256 on the same
        // inputs (see the commit that added this test).
        assert_eq!(
            verifier("fx-keybuzz-db-8Hn4sT2w", b"0123456789abcdef", 4096).unwrap(),
            "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==\
             $xG0/EmNsXxXby94xs3cojoDqfdEUmggTi9LktMWEpDM=\
             :/xAY3cBY0xd1K27fTt4I7LsTUjtw1yaRrx+YbJUtD6A="
        );
    }

    #[test]
    fn the_stored_salt_gives_the_stored_verifier_back() {
        let stored = new_verifier("pencil").unwrap();
        let (iterations, salt) = stored
            .strip_prefix("SCRAM-SHA-256$")
            .and_then(|r| r.split('$').next())
            .and_then(|r| r.split_once(':'))
            .unwrap();
        let again = verifier_with("pencil", salt, iterations.parse().unwrap()).unwrap();
        assert_eq!(again, stored);
        assert_ne!(verifier_with("pencil2", salt, 4096).unwrap(), stored);
        assert_ne!(
            new_verifier("pencil").unwrap(),
            stored,
            "a new salt each time"
        );
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert_eq!(verifier("pässword", b"s", 1), Err(ScramError::NotAscii));
        assert!(matches!(
            verifier_with("p", "*", 1),
            Err(ScramError::Salt(_))
        ));
        assert_eq!(
            verifier_with("p", "c2FsdA==", 0),
            Err(ScramError::Iterations(0))
        );
    }
}
