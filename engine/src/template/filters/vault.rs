//! Ansible's vault filters and test: `vault` (a string encrypted with a
//! password given in the template, deterministic with `salt`), `unvault`
//! (its plaintext, a secret) and `vault_encrypted` (a `!vault` variable).
//! They use the run's [`Vault`] (kbz-play's one implementation) for what a
//! secret becomes: the plaintext and the passwords are registered for
//! masking, and a review (`render`) gives the plaintext's placeholder.

use std::path::Path;

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, State};

use super::invalid;
use crate::vault::{encrypt, is_encrypted, Vault};

/// Ansible's `vault_id` when none is given.
const FILTER_DEFAULT: &str = "filter_default";

/// Adds the filters and the test, answering with `vault` (the run's, or
/// one with no password outside a run).
pub fn register(env: &mut Environment<'static>, vault: &Vault) {
    let v = vault.clone();
    env.add_filter("vault", move |data: &Value, secret: &Value, kw: Kwargs| {
        seal(&v, data, secret, kw)
    });
    let v = vault.clone();
    env.add_filter(
        "unvault",
        move |state: &State, data: &Value, secret: &Value, kw: Kwargs| {
            open(&v, state, data, secret, kw)
        },
    );
    let v = vault.clone();
    env.add_test("vault_encrypted", move |value: &Value| {
        value.as_str().is_some_and(|s| v.is_vaulted_value(s))
    });
}

/// `data | vault(secret, salt=None, vault_id='filter_default',
/// wrap_object=False)`. `wrap_object` gives the vaulted string too (see
/// tests/fixtures/templates/differences/f_vault_wrap_object.j2).
fn seal(vault: &Vault, data: &Value, secret: &Value, kw: Kwargs) -> Result<String, Error> {
    let secret = password(vault, secret, "vault")?;
    let data = data.as_str().ok_or_else(|| {
        invalid(format!(
            "vault: can only vault strings, instead we got {}",
            data.kind()
        ))
    })?;
    let salt = kw.get::<Option<String>>("salt")?;
    let label = vault_id(&kw)?;
    kw.get::<Option<bool>>("wrap_object")?;
    kw.assert_all_used()?;
    encrypt(
        data,
        secret.as_bytes(),
        salt.as_deref().map(str::as_bytes),
        &label,
    )
    .map_err(|e| invalid(format!("vault: unable to encrypt: the value {e}")))
}

/// `data | unvault(secret, vault_id='filter_default')`: the plaintext of a
/// vaulted string (a secret), anything else as it is.
fn open(
    vault: &Vault,
    state: &State,
    data: &Value,
    secret: &Value,
    kw: Kwargs,
) -> Result<Value, Error> {
    let secret = password(vault, secret, "unvault")?;
    let label = vault_id(&kw)?;
    kw.assert_all_used()?;
    let text = data.as_str().ok_or_else(|| {
        invalid(format!(
            "unvault: the vault should be a string, instead we got {}",
            data.kind()
        ))
    })?;
    if !is_encrypted(text) {
        return Ok(data.clone());
    }
    let password = (label.as_str(), secret.as_bytes());
    vault
        .decrypt_with(text, password, Path::new(state.name()), "unvault")
        .map(Value::from)
        .map_err(|e| invalid(format!("unvault: unable to decrypt: the value {e}")))
}

/// The password argument, registered as a secret: a string, as Ansible
/// requires.
fn password(vault: &Vault, secret: &Value, filter: &str) -> Result<String, Error> {
    let secret = secret.as_str().ok_or_else(|| {
        invalid(format!(
            "{filter}: the secret passed is required to be a string, instead we got {}",
            secret.kind()
        ))
    })?;
    vault.secrets().add(secret);
    Ok(secret.to_owned())
}

fn vault_id(kw: &Kwargs) -> Result<String, Error> {
    Ok(kw
        .get::<Option<String>>("vault_id")?
        .unwrap_or_else(|| FILTER_DEFAULT.to_owned()))
}

#[cfg(test)]
mod unit {
    use minijinja::context;

    use crate::vault::{fixtures::vault, Vault};

    fn render(vault: &Vault, source: &str) -> String {
        let mut env = minijinja::Environment::new();
        super::register(&mut env, vault);
        env.render_str(source, context! { pw => "pass-word-1" })
            .unwrap_or_else(|e| format!("error: {e:#}"))
    }

    #[test]
    fn unvault_gives_the_plaintext_as_a_secret() {
        let v = vault(&[]);
        let out = render(&v, "{{ 'top-secret-1' | vault(pw) | unvault(pw) }}");
        assert_eq!(out, "top-secret-1");
        assert!(!v
            .secrets()
            .mask("top-secret-1 pass-word-1")
            .contains("secret-1"));
        assert!(!v.secrets().mask("pass-word-1").contains("word"));
        let review = render(
            &v.review(),
            "{{ 'top-secret-1' | vault(pw) | unvault(pw) }}",
        );
        assert_eq!(review, "<vault:unvault>");
    }

    #[test]
    fn vault_without_a_salt_is_random_and_opens_with_the_password_only() {
        let v = vault(&[]);
        let two = render(&v, "{{ 'x' | vault(pw) == 'x' | vault(pw) }}");
        assert_eq!(two, "False");
        let wrong = render(&v, "{{ 'x' | vault(pw) | unvault('wrong') }}");
        assert!(wrong.contains("unable to decrypt"), "{wrong}");
        let labelled = render(&v, "{{ 'x' | vault(pw, vault_id='prod') | unvault(pw) }}");
        assert_eq!(labelled, "x");
    }

    #[test]
    fn the_filters_refuse_what_ansible_refuses() {
        let v = vault(&[]);
        assert!(render(&v, "{{ 1 | vault(pw) }}").contains("can only vault strings"));
        assert!(render(&v, "{{ 'x' | vault(1) }}").contains("required to be a string"));
        assert!(render(&v, "{{ 'x' | vault(pw) | vault(pw) }}").contains("already encrypted"));
        assert!(render(&v, "{{ 'x' | vault(pw, salt='') }}").contains("empty salt"));
        assert!(render(&v, "{{ 1 | unvault(pw) }}").contains("should be a string"));
    }

    #[test]
    fn vault_encrypted_is_a_vault_variable_not_a_vaulted_string() {
        use crate::vault::fixtures::{fixture, DEFAULT_PASS};
        let v = vault(&[("default", DEFAULT_PASS)]);
        let envelope = fixture("group_vars.yml");
        let plain = v
            .decrypt_value(&envelope, std::path::Path::new("vars.yml"), "db")
            .unwrap();
        let mut env = minijinja::Environment::new();
        super::register(&mut env, &v);
        let source = "{{ db is vault_encrypted }} {{ 'x' | vault('p') is vault_encrypted }} \
                      {{ 'plain' is vault_encrypted }} {{ 1 is vault_encrypted }}";
        let out = env.render_str(source, context! { db => plain }).unwrap();
        assert_eq!(out, "True False False False");
    }
}
