//! `password`: Ansible's generated password, kept by [`Credentials`] in the
//! credentials folder (see `credentials/password.rs`). The term is Ansible's
//! `PATH key=value...` (`length=`, `chars=`); the options may also be given
//! as keywords. `encrypt=`, `ident=` and `seed=` are refused, not ignored:
//! Ansible gives a hash or a seeded password there, and ignoring them would
//! silently write another value.

use minijinja::value::Value;
use minijinja::Error;

use super::call::Call;
use super::invalid;
use crate::credentials::{password::charset, Credentials, PasswordSpec};

/// The password of each term's path.
pub(super) fn lookup(call: &Call, credentials: Option<&Credentials>) -> Result<Vec<Value>, Error> {
    let credentials = credentials
        .ok_or_else(|| invalid("lookup password needs the credentials folder (--credentials)"))?;
    call.strings()?
        .iter()
        .map(|term| {
            let (path, spec) = parse(term, call)?;
            credentials
                .password(&path, &spec)
                .map(Value::from)
                .map_err(|e| invalid(e.to_string()))
        })
        .collect()
}

/// The path and spec of `PATH length=N chars=a,b`, keywords of `call` on top.
fn parse(term: &str, call: &Call) -> Result<(String, PasswordSpec), Error> {
    let mut words = term.split_whitespace();
    let path = words
        .next()
        .ok_or_else(|| invalid("lookup password: no path given"))?;
    let mut spec = PasswordSpec::default();
    let mut options: Vec<(String, String)> = words
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for key in ["length", "chars", "encrypt", "ident", "seed"] {
        if let Some(v) = call.option(key) {
            options.push((key.to_string(), v.to_string()));
        }
    }
    for (key, value) in options {
        match key.as_str() {
            "length" => {
                spec.length = value
                    .parse()
                    .map_err(|_| invalid(format!("lookup password: length={value}")))?;
            }
            "chars" => spec.chars = charset(&value.split(',').collect::<Vec<_>>()),
            "encrypt" | "ident" => {
                return Err(invalid(format!(
                    "lookup password: {key}= is not in kbz-play (Ansible gives the hash): \
                     write lookup('password', PATH) | password_hash(SCHEME, SALT)"
                )))
            }
            "seed" => {
                return Err(invalid(
                    "lookup password: seed= is not in kbz-play: a password is random, \
                     generated once and kept in the credentials folder",
                ))
            }
            _ => {}
        }
    }
    Ok((path.to_string(), spec))
}

#[cfg(test)]
mod tests {
    use minijinja::value::{Kwargs, Value};

    use super::{parse, Call};

    #[test]
    fn what_would_change_the_value_is_refused_inline_or_as_a_keyword() {
        let call = |term: &str, options: &[(&str, Value)]| {
            Call::new(
                vec![Value::from(term)],
                options.iter().cloned().collect::<Kwargs>(),
            )
        };
        let inline = call("p encrypt=sha512_crypt", &[]);
        let err = parse("p encrypt=sha512_crypt", &inline).unwrap_err();
        assert!(
            err.to_string().contains("encrypt= is not in kbz-play"),
            "{err}"
        );
        let keyword = call("p", &[("seed", Value::from("x"))]);
        let err = parse("p", &keyword).unwrap_err();
        assert!(
            err.to_string().contains("seed= is not in kbz-play"),
            "{err}"
        );
        let (_, spec) = parse("p length=8", &call("p length=8", &[])).unwrap();
        assert_eq!(spec.length, 8);
    }
}
