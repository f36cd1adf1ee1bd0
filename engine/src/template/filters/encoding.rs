//! Encoding and digest filters: `b64encode`, `b64decode`, `hash`,
//! `checksum` (and its alias `sha1`), `md5`, `to_uuid`.

use base64::Engine as _;
use minijinja::value::Kwargs;
use minijinja::{Environment, Error};
use sha2::Digest;

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("b64encode", |s: &str| {
        base64::engine::general_purpose::STANDARD.encode(s)
    });
    env.add_filter("b64decode", b64decode);
    env.add_filter("hash", hash);
    for name in ["checksum", "sha1"] {
        env.add_filter(name, |s: &str| {
            hex::encode(sha1::Sha1::digest(s.as_bytes()))
        });
    }
    env.add_filter("md5", |s: &str| hex::encode(md5::Md5::digest(s.as_bytes())));
    env.add_filter("to_uuid", to_uuid);
}

/// The namespace of Ansible's `to_uuid` (its `UUID_NAMESPACE_ANSIBLE`).
const ANSIBLE_NAMESPACE: uuid::Uuid = uuid::uuid!("361e6d51-faec-444a-9079-341386da8e2e");

/// `s | to_uuid`: the version 5 UUID of `s` in Ansible's namespace, or in
/// `namespace` when given.
fn to_uuid(s: &str, positional: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let namespace = kwargs.get::<Option<String>>("namespace")?.or(positional);
    kwargs.assert_all_used()?;
    let namespace = match namespace.as_deref() {
        Some(ns) => uuid::Uuid::parse_str(ns)
            .map_err(|e| invalid(format!("to_uuid: namespace {ns:?}: {e}")))?,
        None => ANSIBLE_NAMESPACE,
    };
    Ok(uuid::Uuid::new_v5(&namespace, s.as_bytes()).to_string())
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
        "md5" => hex::encode(md5::Md5::digest(data)),
        "sha1" => hex::encode(sha1::Sha1::digest(data)),
        "sha224" => hex::encode(sha2::Sha224::digest(data)),
        "sha256" => hex::encode(sha2::Sha256::digest(data)),
        "sha384" => hex::encode(sha2::Sha384::digest(data)),
        "sha512" => hex::encode(sha2::Sha512::digest(data)),
        other => {
            return Err(invalid(format!(
                "hash: {other:?} is not supported (md5, sha1, sha224, sha256, sha384, sha512 are)"
            )))
        }
    })
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn to_uuid_and_hash_give_what_ansible_gives() {
        let none = Kwargs::from_iter(Vec::<(&str, minijinja::Value)>::new());
        let uuid = to_uuid("web-01.example.com", None, none).unwrap();
        assert_eq!(uuid, "dfa37397-dc0e-50ad-b914-53784bf17bb2");
        let md5 = hash("keybuzz-api", Some("md5")).unwrap();
        assert_eq!(md5, "3c22b5906051e694ca5ed1f583fb36f6");
    }
}
