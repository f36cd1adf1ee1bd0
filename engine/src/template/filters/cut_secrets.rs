//! Filters that cut text (`wordwrap`, `truncate`) can cut a secret: the
//! pieces no longer match it whole, and masking works on text
//! (`secrets.rs`), so a diff or a report would show them. With the run's
//! secrets, each piece of a secret such a filter writes is registered as a
//! secret of its own.

use std::ops::Range;

use minijinja::value::Kwargs;
use minijinja::{Environment, Error};
use similar::{Algorithm, DiffOp};

use crate::secrets::Secrets;

/// Replaces the cutting filters with ones that register the pieces of
/// `secrets` they write.
pub fn register(env: &mut Environment<'static>, secrets: &Secrets) {
    env.add_filter("wordwrap", registering(secrets, super::wordwrap::wordwrap));
    env.add_filter(
        "truncate",
        registering(secrets, super::jinja_text::truncate),
    );
}

/// `filter` (text, three optional arguments, keywords), then the pieces of
/// `secrets` its output holds registered.
fn registering<A, B, C>(
    secrets: &Secrets,
    filter: fn(&str, A, B, C, Kwargs) -> Result<String, Error>,
) -> impl Fn(&str, A, B, C, Kwargs) -> Result<String, Error> + Send + Sync + 'static
where
    A: 'static,
    B: 'static,
    C: 'static,
{
    let secrets = secrets.clone();
    move |text, a, b, c, kw| {
        let out = filter(text, a, b, c, kw)?;
        register_pieces(&secrets, text, &out);
        Ok(out)
    }
}

/// Registers what `output` kept of each secret in `input`: the filter's
/// output is its input with text dropped and inserted, so the parts the
/// two have in common (a character diff) that fall inside a secret are its
/// pieces. A piece too short to mask is left, as a short secret is.
fn register_pieces(secrets: &Secrets, input: &str, output: &str) {
    let found = secrets.find(input.as_bytes());
    if found.is_empty() {
        return;
    }
    let secret_chars: Vec<Range<usize>> = found
        .iter()
        .map(|r| chars_before(input, r.start)..chars_before(input, r.end))
        .collect();
    let old: Vec<char> = input.chars().collect();
    let new: Vec<char> = output.chars().collect();
    for op in similar::capture_diff_slices(Algorithm::Myers, &old, &new) {
        let DiffOp::Equal {
            old_index,
            new_index,
            len,
        } = op
        else {
            continue;
        };
        for secret in &secret_chars {
            let (from, to) = (secret.start.max(old_index), secret.end.min(old_index + len));
            if from < to {
                let piece: String = new[new_index + from - old_index..new_index + to - old_index]
                    .iter()
                    .collect();
                secrets.add(&piece);
            }
        }
    }
}

/// How many characters of `text` come before byte `at`.
fn chars_before(text: &str, at: usize) -> usize {
    text[..at].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "correct-horse-battery-staple-42";

    fn render(source: &str) -> (String, Secrets) {
        let secrets = Secrets::new();
        secrets.add(SECRET);
        let mut env = Environment::new();
        super::super::register(&mut env);
        register(&mut env, &secrets);
        let out = env
            .render_str(source, minijinja::context! { pw => SECRET })
            .unwrap();
        (out, secrets)
    }

    /// Every run of four characters of the secret, the shortest masked.
    fn fragments() -> Vec<String> {
        let chars: Vec<char> = SECRET.chars().collect();
        chars.windows(4).map(|w| w.iter().collect()).collect()
    }

    fn assert_hidden(source: &str) {
        let (out, secrets) = render(source);
        assert!(
            !out.contains(SECRET),
            "{source}: the filter cut nothing: {out}"
        );
        let masked = secrets.mask(&out);
        for piece in fragments() {
            assert!(
                !masked.contains(&piece),
                "{source}: {piece:?} shows in {masked:?}"
            );
        }
    }

    #[test]
    fn a_secret_wrapped_over_lines_is_masked_on_each() {
        assert_hidden("password = {{ pw | wordwrap(12) }}");
        assert_hidden("{{ ('key ' ~ pw ~ ' end') | wordwrap(width=9, wrapstring='\\n  ') }}");
        assert_hidden("{{ pw | ansible.builtin.wordwrap(7, break_on_hyphens=false) }}");
    }

    #[test]
    fn a_truncated_secret_is_masked() {
        assert_hidden("{{ ('token: ' ~ pw) | truncate(25, true, leeway=0) }}");
    }

    #[test]
    fn text_without_a_secret_registers_nothing() {
        let (out, secrets) = render("{{ 'a long line of plain words' | wordwrap(6) }}");
        assert!(out.contains('\n'));
        assert_eq!(secrets.mask(&out), out);
    }
}
