//! The salts of `password_hash`: checked as passlib checks a given one,
//! or drawn at random as passlib draws one when none is given.

use base64::alphabet::BCRYPT;
use base64::engine::general_purpose::NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose};
use base64::Engine as _;
use minijinja::Error;

use super::invalid;

/// The characters of a crypt salt (passlib's hash64 alphabet).
const SALT_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// bcrypt's salt: 16 bytes written as 22 characters of its own base64.
pub const BCRYPT_SALT_LEN: usize = 22;

/// bcrypt's base64, reading a salt whose last character carries bits
/// past the 16 bytes (passlib's `repair_unused` clears them).
const BCRYPT64: GeneralPurpose = GeneralPurpose::new(
    &BCRYPT,
    NO_PAD
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// `salt` if given (refused unless 1 to `max` characters of `./0-9A-Za-z`),
/// else `size` random ones.
pub fn crypt_salt(salt: Option<&str>, max: usize, size: usize) -> Result<String, Error> {
    let Some(salt) = salt.filter(|s| !s.is_empty()) else {
        return random_chars(size.min(max));
    };
    if salt.len() > max || !salt.bytes().all(|c| SALT_CHARS.contains(&c)) {
        return Err(invalid(format!(
            "password_hash: the salt must be 1 to {max} characters of ./0-9A-Za-z, got {} characters",
            salt.chars().count()
        )));
    }
    Ok(salt.to_string())
}

/// bcrypt's 16 salt bytes: from the 22 characters given, or random.
pub fn bcrypt_salt(salt: Option<&str>) -> Result<[u8; 16], Error> {
    let salt = match salt.filter(|s| !s.is_empty()) {
        Some(salt) => salt.to_string(),
        None => random_chars(BCRYPT_SALT_LEN)?,
    };
    let bytes = (salt.len() == BCRYPT_SALT_LEN)
        .then(|| BCRYPT64.decode(&salt).ok())
        .flatten()
        .and_then(|b| <[u8; 16]>::try_from(b).ok());
    bytes.ok_or_else(|| {
        invalid(format!(
            "password_hash: a bcrypt salt is exactly {BCRYPT_SALT_LEN} characters of \
             ./A-Za-z0-9, got {} characters",
            salt.chars().count()
        ))
    })
}

/// `len` characters of [`SALT_CHARS`] from the kernel's random source.
fn random_chars(len: usize) -> Result<String, Error> {
    let bytes = crate::private::random_bytes::<64>()
        .map_err(|e| invalid(format!("password_hash: the system's random source: {e}")))?;
    Ok(bytes[..len.min(64)]
        .iter()
        .map(|b| char::from(SALT_CHARS[usize::from(b % 64)]))
        .collect())
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn a_missing_salt_is_drawn_and_a_given_one_checked() {
        let drawn = crypt_salt(None, 16, 16).unwrap();
        assert_eq!(drawn.len(), 16);
        assert_ne!(drawn, crypt_salt(None, 16, 16).unwrap());
        assert_eq!(crypt_salt(Some("abc"), 8, 8).unwrap(), "abc");
        assert!(crypt_salt(Some("123456789"), 8, 8).is_err());
        assert!(crypt_salt(Some("bad$salt"), 16, 16).is_err());
    }

    #[test]
    fn a_bcrypt_salt_is_22_characters_its_spare_bits_ignored() {
        let repaired = bcrypt_salt(Some("abcdefghijklmnopqrstuu")).unwrap();
        assert_eq!(
            bcrypt_salt(Some("abcdefghijklmnopqrstuv")).unwrap(),
            repaired
        );
        assert!(bcrypt_salt(Some("short")).is_err());
        assert!(bcrypt_salt(None).is_ok());
    }
}
