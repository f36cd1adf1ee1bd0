//! The vault format (`VaultAES256`, see the module above): the header, the
//! three hex parts, and decryption once the HMAC is checked.

use aes::cipher::{KeyIvInit, StreamCipher};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{VaultError, DEFAULT_LABEL, ITERATIONS};

/// A parsed vault: what the header says and the three decoded parts.
pub(super) struct Envelope {
    pub(super) label: Option<String>,
    salt: Vec<u8>,
    hmac: Vec<u8>,
    ciphertext: Vec<u8>,
}

impl Envelope {
    /// The vault id its passwords are looked up by: the header's label, or
    /// `default` for a `1.1` header (Ansible's `parse_vaulttext_envelope`).
    pub(super) fn id(&self) -> &str {
        self.label.as_deref().unwrap_or(DEFAULT_LABEL)
    }

    pub(super) fn parse(text: &str) -> Result<Envelope, VaultError> {
        let format = |why: &str| VaultError::Format(why.to_owned());
        let mut lines = text.trim_start().lines();
        let header = lines.next().unwrap_or_default().trim();
        let fields: Vec<&str> = header.split(';').map(str::trim).collect();
        let label = match fields.as_slice() {
            ["$ANSIBLE_VAULT", "1.1", cipher] => cipher_ok(cipher).map(|()| None)?,
            ["$ANSIBLE_VAULT", "1.2", cipher, label] => {
                cipher_ok(cipher).map(|()| Some((*label).to_owned()))?
            }
            _ => {
                return Err(format(
                    "the header is not `$ANSIBLE_VAULT;1.1;AES256` or \
                     `$ANSIBLE_VAULT;1.2;AES256;LABEL`",
                ))
            }
        };
        let body: String = lines.flat_map(|l| l.split_whitespace()).collect();
        let inner = hex::decode(&body).map_err(|_| format("the body is not hex"))?;
        let mut parts = inner.splitn(3, |&b| b == b'\n');
        let mut next = |what: &str| {
            parts
                .next()
                .and_then(|p| hex::decode(p).ok())
                .ok_or_else(|| format(&format!("the {what} is missing or not hex")))
        };
        let salt = next("salt")?;
        let hmac = next("HMAC")?;
        let ciphertext = next("ciphertext")?;
        if hmac.len() != 32 || ciphertext.is_empty() || ciphertext.len() % 16 != 0 {
            return Err(format("the HMAC or the ciphertext has the wrong length"));
        }
        Ok(Envelope {
            label,
            salt,
            hmac,
            ciphertext,
        })
    }

    /// The plaintext, if `password` is the one: `None` when the HMAC does
    /// not match (wrong password or tampering) or the padding is invalid.
    pub(super) fn open(&self, password: &[u8]) -> Option<Vec<u8>> {
        let mut derived = [0u8; 80];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, &self.salt, ITERATIONS, &mut derived);
        let (cipher_key, rest) = derived.split_at(32);
        let (hmac_key, counter) = rest.split_at(32);
        let mut mac = Hmac::<Sha256>::new_from_slice(hmac_key).ok()?;
        mac.update(&self.ciphertext);
        mac.verify_slice(&self.hmac).ok()?;
        let mut plain = self.ciphertext.clone();
        ctr::Ctr128BE::<aes::Aes256>::new_from_slices(cipher_key, counter)
            .ok()?
            .apply_keystream(&mut plain);
        unpad(plain)
    }
}

fn cipher_ok(cipher: &str) -> Result<(), VaultError> {
    if cipher == "AES256" {
        Ok(())
    } else {
        Err(VaultError::Format(format!(
            "cipher {cipher} is not supported (only AES256, what ansible-vault writes)"
        )))
    }
}

/// Removes PKCS#7 padding (block size 16), checking every padding byte.
fn unpad(mut data: Vec<u8>) -> Option<Vec<u8>> {
    let n = usize::from(*data.last()?);
    if n == 0 || n > 16 || n > data.len() {
        return None;
    }
    let keep = data.len() - n;
    if data[keep..].iter().any(|&b| usize::from(b) != n) {
        return None;
    }
    data.truncate(keep);
    Some(data)
}

#[cfg(test)]
mod tests {
    use super::unpad;

    #[test]
    fn pkcs7_padding_is_checked() {
        assert_eq!(unpad(vec![b'a', 3, 3, 3]), Some(vec![b'a']));
        assert_eq!(unpad(vec![b'a', 2, 3, 3]), None);
        assert_eq!(unpad(vec![b'a', 0]), None);
        assert_eq!(unpad(vec![]), None);
    }
}
