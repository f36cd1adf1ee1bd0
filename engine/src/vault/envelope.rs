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
        let keys = Keys::derive(password, &self.salt);
        keys.mac()
            .ok()?
            .chain_update(&self.ciphertext)
            .verify_slice(&self.hmac)
            .ok()?;
        let mut plain = self.ciphertext.clone();
        keys.cipher().ok()?.apply_keystream(&mut plain);
        unpad(plain)
    }

    /// `plain` encrypted with `password` and `salt` (Ansible's
    /// `VaultAES256.encrypt`), in `ansible-vault`'s text form: the header
    /// (`1.2` with the label unless there is none or it is `default`), the
    /// hex in lines of 80, a final newline (`format_vaulttext_envelope`).
    pub(super) fn seal(plain: &[u8], password: &[u8], salt: &[u8], label: &str) -> String {
        let keys = Keys::derive(password, salt);
        let mut ciphertext = pad(plain);
        keys.cipher()
            .expect("a 32-byte key and a 16-byte counter")
            .apply_keystream(&mut ciphertext);
        let hmac = keys
            .mac()
            .expect("HMAC takes any key")
            .chain_update(&ciphertext);
        let inner = [
            hex::encode(salt),
            hex::encode(hmac.finalize().into_bytes()),
            hex::encode(&ciphertext),
        ]
        .join("\n");
        let header = match label {
            "" | DEFAULT_LABEL => "$ANSIBLE_VAULT;1.1;AES256".to_owned(),
            label => format!("$ANSIBLE_VAULT;1.2;AES256;{label}"),
        };
        let body = hex::encode(inner);
        let lines = body.as_bytes().chunks(80).map(String::from_utf8_lossy);
        std::iter::once(header.into())
            .chain(lines)
            .map(|l| l + "\n")
            .collect()
    }
}

/// The 80 bytes PBKDF2 derives from a password and a salt: the AES-256 key,
/// the HMAC-SHA256 key and the CTR counter block.
struct Keys([u8; 80]);

impl Keys {
    fn derive(password: &[u8], salt: &[u8]) -> Keys {
        let mut derived = [0u8; 80];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ITERATIONS, &mut derived);
        Keys(derived)
    }

    fn cipher(&self) -> Result<ctr::Ctr128BE<aes::Aes256>, aes::cipher::InvalidLength> {
        ctr::Ctr128BE::<aes::Aes256>::new_from_slices(&self.0[..32], &self.0[64..])
    }

    fn mac(&self) -> Result<Hmac<Sha256>, hmac::digest::InvalidLength> {
        Hmac::<Sha256>::new_from_slice(&self.0[32..64])
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

/// Adds PKCS#7 padding (block size 16): 1 to 16 bytes, each their count.
fn pad(data: &[u8]) -> Vec<u8> {
    let n = 16 - data.len() % 16;
    let mut padded = data.to_vec();
    padded.resize(data.len() + n, u8::try_from(n).expect("at most 16"));
    padded
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
    use super::{pad, unpad, Envelope};

    #[test]
    fn padding_round_trips_on_block_boundaries() {
        for len in [0, 1, 15, 16, 17] {
            let data = vec![b'x'; len];
            assert_eq!(pad(&data).len() % 16, 0);
            assert_eq!(unpad(pad(&data)), Some(data));
        }
    }

    #[test]
    fn a_sealed_value_opens_with_its_password_only() {
        let text = Envelope::seal(b"plain", b"pw", b"salt", "prod");
        assert!(
            text.starts_with("$ANSIBLE_VAULT;1.2;AES256;prod\n"),
            "{text}"
        );
        let envelope = Envelope::parse(&text).unwrap();
        assert_eq!(envelope.open(b"pw"), Some(b"plain".to_vec()));
        assert_eq!(envelope.open(b"other"), None);
    }

    #[test]
    fn pkcs7_padding_is_checked() {
        assert_eq!(unpad(vec![b'a', 3, 3, 3]), Some(vec![b'a']));
        assert_eq!(unpad(vec![b'a', 2, 3, 3]), None);
        assert_eq!(unpad(vec![b'a', 0]), None);
        assert_eq!(unpad(vec![]), None);
    }
}
