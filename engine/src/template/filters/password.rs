//! `password_hash(scheme, salt, rounds=, ident=, salt_size=)` as Ansible
//! (passlib) writes it: `sha512` (the default) and `sha256` (SHA-crypt, the
//! form `/etc/shadow` holds; `rounds=` left out at 5000, the scheme's
//! implicit count; Ansible's default counts 656000 and 535000), `md5`
//! (md5-crypt, `$1$`), `blowfish`/`bcrypt` (`$2b$`, or the `ident=` given:
//! `2a`, `2y`; 12 rounds by default). passlib's own names (`sha512_crypt`,
//! `md5_crypt`...) work too.
//!
//! Without a salt, a random one, as in Ansible: a new hash, and so a changed
//! file, on every run. For a stable hash give each host its own fixed salt:
//! `password_hash('sha512', 65534 | random(seed=inventory_hostname) | string)`.

use minijinja::value::Kwargs;
use minijinja::{Environment, Error};
use sha_crypt::{sha256_crypt_b64, sha512_crypt_b64, Sha256Params, Sha512Params};

use super::crypt_salt::{bcrypt_salt, crypt_salt};
use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("password_hash", password_hash);
}

/// SHA-crypt's implicit round count, the one its output leaves unwritten.
const IMPLICIT_ROUNDS: usize = 5000;

/// What the filter was asked for, beyond the password and scheme.
struct Options<'a> {
    salt: Option<&'a str>,
    salt_size: Option<usize>,
    rounds: Option<u32>,
    ident: Option<&'a str>,
}

fn password_hash(
    password: &str,
    scheme: Option<&str>,
    salt: Option<&str>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let options = Options {
        salt: kwargs.get::<Option<&str>>("salt")?.or(salt),
        salt_size: kwargs.get("salt_size")?,
        rounds: kwargs.get::<Option<u32>>("rounds")?.filter(|&r| r != 0),
        ident: kwargs.get("ident")?,
    };
    kwargs.assert_all_used()?;
    match scheme.unwrap_or("sha512") {
        "sha512" | "sha512_crypt" => sha_crypt("6", password, &options),
        "sha256" | "sha256_crypt" => sha_crypt("5", password, &options),
        "md5" | "md5_crypt" => md5_crypt(password, &options),
        "blowfish" | "bcrypt" => bcrypt(password, &options),
        other => Err(invalid(format!(
            "password_hash: {other:?} is not a supported scheme: sha512, sha256, md5, blowfish \
             (or passlib's names sha512_crypt, sha256_crypt, md5_crypt, bcrypt)"
        ))),
    }
}

/// SHA-crypt, `$6$` (SHA-512) or `$5$` (SHA-256).
fn sha_crypt(id: &str, password: &str, options: &Options) -> Result<String, Error> {
    let salt = crypt_salt(options.salt, 16, options.salt_size.unwrap_or(16))?;
    let default_rounds = if id == "6" { 656_000 } else { 535_000 };
    let rounds = options.rounds.map_or(default_rounds, |r| r as usize);
    let (password, salt_bytes) = (password.as_bytes(), salt.as_bytes());
    let hash = if id == "6" {
        Sha512Params::new(rounds).and_then(|p| sha512_crypt_b64(password, salt_bytes, &p))
    } else {
        Sha256Params::new(rounds).and_then(|p| sha256_crypt_b64(password, salt_bytes, &p))
    }
    .map_err(|e| invalid(format!("password_hash: rounds={rounds}: {e:?}")))?;
    Ok(match rounds {
        IMPLICIT_ROUNDS => format!("${id}${salt}${hash}"),
        _ => format!("${id}$rounds={rounds}${salt}${hash}"),
    })
}

/// md5-crypt, `$1$`: up to 8 salt characters, no rounds.
fn md5_crypt(password: &str, options: &Options) -> Result<String, Error> {
    if options.rounds.is_some() {
        return Err(invalid("password_hash: md5 has no rounds"));
    }
    let salt = crypt_salt(options.salt, 8, options.salt_size.unwrap_or(8))?;
    let hash = md5crypt::md5crypt(password.as_bytes(), salt.as_bytes());
    String::from_utf8(hash).map_err(|e| invalid(format!("password_hash: md5: {e}")))
}

/// bcrypt, `$2b$` unless `ident` says `2a`, `2x` or `2y`.
fn bcrypt(password: &str, options: &Options) -> Result<String, Error> {
    let version = match options.ident.unwrap_or("2b") {
        "2b" => bcrypt::Version::TwoB,
        "2a" => bcrypt::Version::TwoA,
        "2y" => bcrypt::Version::TwoY,
        "2x" => bcrypt::Version::TwoX,
        other => {
            return Err(invalid(format!(
                "password_hash: bcrypt ident={other:?}: expected 2b, 2a, 2y or 2x"
            )))
        }
    };
    let salt = bcrypt_salt(options.salt)?;
    let rounds = options.rounds.unwrap_or(12);
    bcrypt::hash_with_salt(password, rounds, salt)
        .map(|parts| parts.format_for_version(version))
        .map_err(|e| invalid(format!("password_hash: bcrypt rounds={rounds}: {e}")))
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

    fn with(scheme: &str, kwargs: &[(&str, Value)]) -> Result<String, Error> {
        password_hash(
            "secret",
            Some(scheme),
            None,
            Kwargs::from_iter(kwargs.to_vec()),
        )
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
    fn md5_is_glibcs_md5_crypt() {
        assert_eq!(
            hash("md5", "mysalt", None).unwrap(),
            "$1$mysalt$n/EfEiV74OYgBdqhKQzSW/"
        );
    }

    #[test]
    fn bcrypt_is_glibcs_with_ansibles_ident_and_rounds() {
        let salt = Value::from("abcdefghijklmnopqrstuu");
        let expected = "$2b$12$abcdefghijklmnopqrstuuT1Iwu6o8Wx7BoOyIMHfgVJq6JO/IJhW";
        assert_eq!(
            with("blowfish", &[("salt", salt.clone())]).unwrap(),
            expected
        );
        let two_a = with("bcrypt", &[("salt", salt.clone()), ("ident", "2a".into())]);
        assert_eq!(two_a.unwrap(), expected.replacen("2b", "2a", 1));
        let cheap = with("bcrypt", &[("salt", salt), ("rounds", 5.into())]).unwrap();
        assert_eq!(
            cheap,
            "$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a"
        );
    }

    #[test]
    fn without_a_salt_each_hash_has_a_random_one() {
        let first = with("sha512", &[("rounds", 5000.into())]).unwrap();
        let second = with("sha512", &[("rounds", 5000.into())]).unwrap();
        assert_ne!(first, second);
        assert_eq!(first.split('$').nth(2).unwrap().len(), 16);
        let md5 = with("md5", &[]).unwrap();
        assert_eq!(md5.split('$').nth(2).unwrap().len(), 8);
        assert!(with("bcrypt", &[("rounds", 4.into())])
            .unwrap()
            .starts_with("$2b$04$"));
    }

    #[test]
    fn a_long_or_odd_salt_and_an_unknown_scheme_are_refused() {
        assert!(hash("sha512", &"s".repeat(17), Some(5000)).is_err());
        assert!(hash("sha512", "bad$salt", Some(5000)).is_err());
        assert!(hash("md5", "123456789", None).is_err());
        assert!(hash("md5", "mysalt", Some(1000)).is_err());
        assert!(hash("des", "mysalt", None)
            .unwrap_err()
            .to_string()
            .contains("not a supported scheme"));
    }
}
