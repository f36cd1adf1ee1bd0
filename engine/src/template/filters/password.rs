//! `password_hash('sha512'|'sha256', salt, rounds=N)`: SHA-crypt, the form
//! `/etc/shadow` holds, written as Ansible's passlib writes it (`rounds=`
//! left out at 5000, the scheme's implicit count; Ansible's default counts
//! 656000 for sha512 and 535000 for sha256). The salt is required: Ansible
//! draws a random one when none is given, which makes every run a change.

use minijinja::value::Kwargs;
use minijinja::{Environment, Error};
use sha_crypt::{sha256_crypt_b64, sha512_crypt_b64, Sha256Params, Sha512Params};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("password_hash", password_hash);
}

/// SHA-crypt's implicit round count, the one its output leaves unwritten.
const IMPLICIT_ROUNDS: usize = 5000;

/// The characters of a crypt salt (passlib refuses others).
const SALT_CHARS: &str = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn password_hash(
    password: &str,
    scheme: Option<&str>,
    salt: Option<&str>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let salt = kwargs.get::<Option<&str>>("salt")?.or(salt);
    let rounds = kwargs.get::<Option<usize>>("rounds")?;
    kwargs.assert_all_used()?;
    let scheme = scheme.unwrap_or("sha512");
    let salt = checked_salt(salt)?;
    let (id, default_rounds) = match scheme {
        "sha512" | "sha512_crypt" => ("6", 656_000),
        "sha256" | "sha256_crypt" => ("5", 535_000),
        other => {
            return Err(invalid(format!(
                "password_hash: {other:?} is not supported: kbz-play has sha512 and sha256 \
                 (md5 and bcrypt are not there)"
            )))
        }
    };
    let rounds = rounds.filter(|&r| r != 0).unwrap_or(default_rounds);
    let hash = crypt(id, password.as_bytes(), salt.as_bytes(), rounds)
        .map_err(|e| invalid(format!("password_hash: rounds={rounds}: {e:?}")))?;
    Ok(match rounds {
        IMPLICIT_ROUNDS => format!("${id}${salt}${hash}"),
        _ => format!("${id}$rounds={rounds}${salt}${hash}"),
    })
}

fn crypt(
    id: &str,
    password: &[u8],
    salt: &[u8],
    rounds: usize,
) -> Result<String, sha_crypt::CryptError> {
    if id == "6" {
        sha512_crypt_b64(password, salt, &Sha512Params::new(rounds)?)
    } else {
        sha256_crypt_b64(password, salt, &Sha256Params::new(rounds)?)
    }
}

/// The salt, refused as passlib refuses it: missing, over 16 characters,
/// or with a character outside `./0-9A-Za-z`.
fn checked_salt(salt: Option<&str>) -> Result<&str, Error> {
    let salt = salt.filter(|s| !s.is_empty()).ok_or_else(|| {
        invalid(
            "password_hash: give a salt (password_hash('sha512', 'somesalt')): without one \
             Ansible draws a random salt, a new hash (and a change) on every run",
        )
    })?;
    if salt.len() > 16 || !salt.chars().all(|c| SALT_CHARS.contains(c)) {
        return Err(invalid(format!(
            "password_hash: the salt must be 1 to 16 characters of ./0-9A-Za-z, got {} characters",
            salt.chars().count()
        )));
    }
    Ok(salt)
}

#[cfg(test)]
mod unit {
    //! Expected hashes are what glibc's crypt(3) gave (Python's `crypt`
    //! module) for the same password, salt and rounds.
    use super::*;
    use minijinja::value::Value;

    fn hash(scheme: &str, salt: &str, rounds: Option<usize>) -> Result<String, Error> {
        let kwargs = Kwargs::from_iter(rounds.map(|r| ("rounds", Value::from(r))));
        password_hash("secret", Some(scheme), Some(salt), kwargs)
    }

    #[test]
    fn sha512_at_ansibles_default_rounds_is_glibcs() {
        assert_eq!(
            hash("sha512", "mysalt", None).unwrap(),
            "$6$rounds=656000$mysalt$cDA0t8lm/qt.LT6DzpoHxJ.NwTpx.WTkOPwhseSva8pRixDSH2./ffedCjAMbTX1Uo1QNT7jJPJ6FIzU2i59K/"
        );
    }

    #[test]
    fn sha256_at_ansibles_default_rounds_is_glibcs() {
        assert_eq!(
            hash("sha256", "mysalt", None).unwrap(),
            "$5$rounds=535000$mysalt$GnEktJhWXRuwViyPsEWK9s63HYW1GqXFqU5SdKDqol6"
        );
    }

    #[test]
    fn five_thousand_rounds_are_left_unwritten() {
        assert_eq!(
            hash("sha512", "mysalt", Some(5000)).unwrap(),
            "$6$mysalt$UX6P1VKOf6dr0s2pg4pLNvIUB6hLXvP6M5f/Yj9hJgMPdAJ4oArvk5YUD9/XWtk1JOpVwt/JTsczMJr8sFVML1"
        );
    }

    #[test]
    fn a_missing_long_or_odd_salt_and_an_unknown_scheme_are_refused() {
        let kwargs = || Kwargs::from_iter(Vec::<(&str, Value)>::new());
        let no_salt = password_hash("secret", Some("sha512"), None, kwargs()).unwrap_err();
        assert!(no_salt.to_string().contains("give a salt"), "{no_salt}");
        assert!(hash("sha512", &"s".repeat(17), Some(5000)).is_err());
        assert!(hash("sha512", "bad$salt", Some(5000)).is_err());
        assert!(hash("md5", "mysalt", Some(5000))
            .unwrap_err()
            .to_string()
            .contains("not supported"));
    }
}
