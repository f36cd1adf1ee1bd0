//! What a filter or a string method makes of a secret is a secret too.
//!
//! Masking works on text (`secrets.rs`): a secret, and the forms an encoder
//! makes of it whole (case, URL, HTML, JSON, base64), are hidden wherever
//! they show. A filter that edits or digests the text a secret is in makes
//! something else: `replace` or `quote` leave most of it, `wordwrap` and
//! `truncate` cut it in pieces, `hash` or `password_hash` make a credential
//! of their own (PgBouncer's `md5` userlist entry logs in as the password
//! does). With the run's secrets, each such filter, and every method called
//! on a string (`pw.replace(...)`), registers what it wrote in place of a
//! secret of its input, so that a diff or a report hides it as it hides the
//! secret. Slicing (`pw[:8]`) is not a filter and is not covered.

use std::ops::Range;
use std::sync::Arc;

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, State};
use similar::{Algorithm, DiffOp};

use crate::secrets::Secrets;

/// What a filter makes of the secrets in its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Makes {
    /// An edit of the text (characters replaced, added, cut): what stands
    /// where each secret stood is registered, and each piece of it.
    Edit,
    /// Something new made from the whole text (a digest, an encoding of it
    /// all, the text reversed): the whole output is registered.
    Digest,
}

/// The filters whose output is made from their input's text, with what
/// they make of it. Those that copy a secret as it is (`join`, `format`)
/// or make a form masked already (`upper`, `lower`) are not here.
const FILTERS: &[(&str, Makes)] = &[
    ("wordwrap", Makes::Edit),
    ("truncate", Makes::Edit),
    ("replace", Makes::Edit),
    ("regex_replace", Makes::Edit),
    ("regex_escape", Makes::Edit),
    ("quote", Makes::Edit),
    ("comment", Makes::Edit),
    ("center", Makes::Edit),
    ("indent", Makes::Edit),
    ("trim", Makes::Edit),
    ("title", Makes::Edit),
    ("capitalize", Makes::Edit),
    ("urlencode", Makes::Edit),
    ("tojson", Makes::Edit),
    ("to_json", Makes::Edit),
    ("to_yaml", Makes::Edit),
    ("to_nice_yaml", Makes::Edit),
    ("reverse", Makes::Digest),
    ("b64encode", Makes::Digest),
    ("hash", Makes::Digest),
    ("checksum", Makes::Digest),
    ("sha1", Makes::Digest),
    ("md5", Makes::Digest),
    ("password_hash", Makes::Digest),
    ("to_uuid", Makes::Digest),
];

/// Replaces [`FILTERS`] and the string methods with ones that register what
/// they make of `secrets`. Each calls the filter as it is, from an
/// environment that has only the plain filters.
pub fn register(env: &mut Environment<'static>, secrets: &Secrets) {
    let plain = Arc::new(plain_filters());
    for &(name, makes) in FILTERS {
        let (plain, secrets) = (plain.clone(), secrets.clone());
        env.add_filter(
            name,
            move |args: Rest<Value>, kwargs: Kwargs| -> Result<Value, Error> {
                let args = super::qualified::forwarded(args, kwargs);
                let out = plain.empty_state().apply_filter(name, &args)?;
                if let (Some(input), Some(text)) =
                    (args.first().and_then(Value::as_str), out.as_str())
                {
                    register_made(&secrets, makes, input, text);
                }
                Ok(out)
            },
        );
    }
    let secrets = secrets.clone();
    env.set_unknown_method_callback(
        move |state: &mut State, value: &Value, method: &str, args: &[Value]| {
            let out =
                minijinja_contrib::pycompat::unknown_method_callback(state, value, method, args)?;
            if let (Some(input), Some(text)) = (value.as_str(), out.as_str()) {
                register_made(&secrets, Makes::Edit, input, text);
            }
            Ok(out)
        },
    );
}

/// An environment with minijinja's filters and ours, as they are.
fn plain_filters() -> Environment<'static> {
    let mut env = Environment::new();
    super::register(&mut env);
    env
}

/// Registers what `output` makes of each secret in `input`, as `makes` says.
fn register_made(secrets: &Secrets, makes: Makes, input: &str, output: &str) {
    let found = secrets.find(input.as_bytes());
    if found.is_empty() {
        return;
    }
    match makes {
        Makes::Digest => secrets.add(output),
        Makes::Edit => {
            let secret_chars: Vec<Range<usize>> = found
                .iter()
                .map(|r| chars_before(input, r.start)..chars_before(input, r.end))
                .collect();
            register_pieces(secrets, &secret_chars, input, output);
        }
    }
}

/// Registers what `output` holds where `input` had each secret (character
/// ranges `secrets_at`): the output is the input with text dropped, added
/// and replaced, so a character diff of the two maps each secret to its
/// image, from where its first character went to where its last one did.
/// The parts of the image the diff finds unchanged are registered one by
/// one too, since text around them may change again (a wrapped line gets
/// a diff's `+`). A piece too short to mask is left, as a short secret is.
fn register_pieces(secrets: &Secrets, secrets_at: &[Range<usize>], input: &str, output: &str) {
    let old: Vec<char> = input.chars().collect();
    let new: Vec<char> = output.chars().collect();
    let ops = similar::capture_diff_slices(Algorithm::Myers, &old, &new);
    let text = |range: Range<usize>| -> String { new[range].iter().collect() };
    for secret in secrets_at {
        let image = image_start(&ops, secret.start)..image_end(&ops, secret.end);
        if image.start < image.end {
            secrets.add(&text(image));
        }
        for op in &ops {
            if let DiffOp::Equal {
                old_index,
                new_index,
                len,
            } = *op
            {
                let (from, to) = (secret.start.max(old_index), secret.end.min(old_index + len));
                if from < to {
                    secrets.add(&text(
                        new_index + from - old_index..new_index + to - old_index,
                    ));
                }
            }
        }
    }
}

/// Where in the output the input's character `at` went: a character the
/// diff kept is found as it is; one inside a change stands for the start
/// of what replaced it. Text added just before `at` is not its image.
fn image_start(ops: &[DiffOp], at: usize) -> usize {
    for op in ops {
        let (old, new) = (op.old_range(), op.new_range());
        if old.contains(&at) {
            return match op {
                DiffOp::Equal { .. } => new.start + at - old.start,
                _ => new.start,
            };
        }
    }
    ops.last().map_or(0, |op| op.new_range().end)
}

/// Where in the output the input's text up to character `end` ends: after
/// the image of its last character, and after what replaced it when the
/// diff changed it.
fn image_end(ops: &[DiffOp], end: usize) -> usize {
    let Some(last) = end.checked_sub(1) else {
        return 0;
    };
    for op in ops {
        let (old, new) = (op.old_range(), op.new_range());
        if old.contains(&last) {
            return match op {
                DiffOp::Equal { .. } => new.start + last - old.start + 1,
                _ => new.end,
            };
        }
    }
    0
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
    fn an_edited_secret_is_masked() {
        assert_hidden("{{ pw | replace('-', '_') }}");
        assert_hidden("{{ ('user ' ~ pw) | regex_replace('o', '0') }}");
        assert_hidden("{{ pw | title }}");
        assert_hidden("{{ pw | regex_escape }}");
        assert_hidden("{{ ('x' ~ pw) | center(60) | replace('-', '') }}");
    }

    #[test]
    fn a_string_method_on_a_secret_is_masked() {
        assert_hidden("{{ pw.replace('-', '_') }}");
        assert_hidden("{{ ('[' ~ pw ~ ']').strip('[]').replace('e', '3') }}");
    }

    #[test]
    fn what_a_digest_makes_of_a_secret_is_masked_whole() {
        for source in [
            "md5{{ (pw ~ 'app') | hash('md5') }}",
            "{{ pw | hash('sha256') }}",
            "{{ pw | password_hash('sha512', 'saltsalt', rounds=5000) }}",
            "{{ pw | reverse }}",
            "Authorization: Basic {{ ('app:' ~ pw) | b64encode }}",
            "{{ pw | to_uuid }}",
        ] {
            let (out, secrets) = render(source);
            let masked = secrets.mask(&out);
            let made = out.rsplit(' ').next().unwrap().trim_start_matches("md5");
            assert!(!masked.contains(made), "{source}: {masked}");
            assert!(masked.contains("********"), "{source}: {masked}");
        }
    }

    #[test]
    fn every_listed_filter_is_one() {
        let env = plain_filters();
        for (name, _) in FILTERS {
            // Called with nothing: a filter there says what it misses.
            let called = env.empty_state().apply_filter(name, &[]);
            assert!(
                !matches!(&called, Err(e) if e.kind() == minijinja::ErrorKind::UnknownFilter),
                "{name}: {called:?}"
            );
        }
    }

    #[test]
    fn text_without_a_secret_registers_nothing() {
        let (out, secrets) = render("{{ 'a long line of plain words' | wordwrap(6) }}");
        assert!(out.contains('\n'));
        assert_eq!(secrets.mask(&out), out);
        let (out, secrets) =
            render("{{ 'plain words' | hash('md5') }} {{ 'plain'.replace('a', 'e') }}");
        assert_eq!(secrets.mask(&out), out);
    }
}
