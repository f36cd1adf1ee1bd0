//! Encoding and digest filters: `b64encode`, `b64decode`, `hash`.

use base64::Engine as _;
use minijinja::{Environment, Error};
use sha2::Digest;

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("b64encode", |s: &str| {
        base64::engine::general_purpose::STANDARD.encode(s)
    });
    env.add_filter("b64decode", b64decode);
    env.add_filter("hash", hash);
}

/// The text a base64 string holds (UTF-8, as Ansible decodes it).
fn b64decode(s: &str) -> Result<String, Error> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| invalid(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|e| invalid(format!("b64decode: not UTF-8 text: {e}")))
}

/// `s | hash('sha256')`: the hex digest of the text.
fn hash(s: &str, algorithm: Option<&str>) -> Result<String, Error> {
    let data = s.as_bytes();
    Ok(match algorithm.unwrap_or("sha1") {
        "sha224" => hex::encode(sha2::Sha224::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha384" => hex::encode(sha2::Sha384::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        other => {
            return Err(invalid(format!(
                "hash: {other:?} is not supported yet (sha224, sha256, sha384, sha512 are)"
            )))
        }
    })
}
