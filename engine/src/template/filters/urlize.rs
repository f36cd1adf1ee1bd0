//! Jinja2's `urlize`: the text escaped as markupsafe escapes it, and each
//! whitespace-separated word that Jinja2 takes for a URL (`http(s)://`,
//! `www.`, a bare `.com`/`.org`... domain, an email address, `mailto:`,
//! or one of `extra_schemes`) made a link, with the same punctuation left
//! outside and the same `rel` (`noopener` always, as Jinja2's policy adds).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, Error, State};
use regex::Regex;

use super::invalid;
use super::markup::{escape, escape_value, in_context};

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("urlize", urlize);
}

/// What the links get: `urlize(trim_url_limit=None, nofollow=False,
/// target=None, rel=None, extra_schemes=None)`.
#[derive(Debug, Default)]
struct Links {
    trim_url_limit: Option<usize>,
    /// ` rel="..."`, or empty.
    rel: String,
    /// ` target="..."`, or empty.
    target: String,
    extra_schemes: Vec<String>,
}

fn urlize(state: &State, value: &Value, args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let links = Links::new(&args, &kwargs)?;
    let text = escape_value(value);
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    for space in SPACE.find_iter(&text) {
        out.push_str(&links.word(&text[pos..space.start()]));
        out.push_str(space.as_str());
        pos = space.end();
    }
    out.push_str(&links.word(&text[pos..]));
    Ok(in_context(state, out))
}

/// Python's `\s` on text: Unicode whitespace and `\x1c`..`\x1f`.
static SPACE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\s\x1c-\x1f]+").unwrap());

/// Jinja2's `_http_re`: what a word must be to become an `http(s)` link.
static HTTP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^(
            (https?://|www\.)(([\w%-]+\.)+)?([a-z]{2,63}|xn--[\w%]{2,59})
          | ([\w%-]{2,63}\.)+(com|net|int|edu|gov|org|info|mil)
          | (https?://)((\d{1,3})(\.\d{1,3}){3}|\[([\da-f]{0,4}:){2}([\da-f]{0,4}:?){1,6}\])
        )(:\d{1,5})?([/?\#]\S*)?$",
    )
    .unwrap()
});

/// Jinja2's `_email_re`.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\S+@\w[\w.-]*\.\w+$").unwrap());

/// Jinja2's `_uri_scheme_re`, which every extra scheme must match.
static SCHEME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[\w.+-]{2,}:/{0,2}$").unwrap());

/// Punctuation kept out of a link before it and after it.
static LEAD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(?:[(<]|&lt;)+").unwrap());
static TRAIL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?:[)>.,\n]|&gt;)+$").unwrap());

impl Links {
    /// The filter's arguments, positional then by name; none is the default.
    fn new(args: &[Value], kwargs: &Kwargs) -> Result<Self, Error> {
        const NAMES: [&str; 5] = [
            "trim_url_limit",
            "nofollow",
            "target",
            "rel",
            "extra_schemes",
        ];
        if args.len() > NAMES.len() {
            return Err(invalid("urlize: too many arguments"));
        }
        let mut given: [Value; 5] = Default::default();
        for (i, name) in NAMES.iter().enumerate() {
            given[i] = match kwargs.get::<Option<Value>>(name)? {
                Some(v) => v,
                None => args.get(i).cloned().unwrap_or_default(),
            };
        }
        kwargs.assert_all_used()?;
        let [limit, nofollow, target, rel, schemes] =
            given.map(|v| (!v.is_none() && !v.is_undefined()).then_some(v));
        let mut rel: BTreeSet<String> = rel
            .map(|r| r.to_string())
            .unwrap_or_default()
            .split_whitespace()
            .map(String::from)
            .collect();
        if nofollow.is_some_and(|v| v.is_true()) {
            rel.insert("nofollow".into());
        }
        rel.insert("noopener".into());
        let rel = rel.into_iter().collect::<Vec<_>>().join(" ");
        Ok(Links {
            trim_url_limit: limit.map(usize::try_from).transpose()?,
            rel: format!(r#" rel="{}""#, escape(&rel)),
            target: target
                .map(|t| format!(r#" target="{}""#, escape(&t.to_string())))
                .unwrap_or_default(),
            extra_schemes: extra_schemes(schemes)?,
        })
    }

    /// One word of the escaped text, a link where Jinja2 makes one.
    fn word(&self, word: &str) -> String {
        let (head, middle, tail) = split_punctuation(word);
        let attrs = format!("{}{}", self.rel, self.target);
        let middle = if HTTP.is_match(&middle) {
            let href = match middle.starts_with("https://") || middle.starts_with("http://") {
                true => middle.clone(),
                false => format!("https://{middle}"),
            };
            format!(r#"<a href="{href}"{attrs}>{}</a>"#, self.trim(&middle))
        } else if middle
            .strip_prefix("mailto:")
            .is_some_and(|m| EMAIL.is_match(m))
        {
            format!(r#"<a href="{middle}">{}</a>"#, &middle[7..])
        } else if middle.contains('@')
            && !middle.starts_with("www.")
            && !middle.starts_with('@')
            && !middle.contains(':')
            && EMAIL.is_match(&middle)
        {
            format!(r#"<a href="mailto:{middle}">{middle}</a>"#)
        } else {
            self.extra_scheme_link(middle, &attrs)
        };
        format!("{head}{middle}{tail}")
    }

    /// `middle` made a link when it starts with (and is more than) one of
    /// the extra schemes, each tried on what the one before left.
    fn extra_scheme_link(&self, mut middle: String, attrs: &str) -> String {
        for scheme in &self.extra_schemes {
            if middle != *scheme && middle.starts_with(scheme.as_str()) {
                middle = format!(r#"<a href="{middle}"{attrs}>{middle}</a>"#);
            }
        }
        middle
    }

    /// A link's shown text, cut to `trim_url_limit` characters and `...`.
    fn trim(&self, url: &str) -> String {
        match self.trim_url_limit {
            Some(limit) if url.chars().count() > limit => {
                format!("{}...", url.chars().take(limit).collect::<String>())
            }
            _ => url.to_string(),
        }
    }
}

/// `extra_schemes`, each checked to be a scheme (`tel:`, `ftp://`).
fn extra_schemes(schemes: Option<Value>) -> Result<Vec<String>, Error> {
    let Some(schemes) = schemes else {
        return Ok(Vec::new());
    };
    let schemes: Vec<String> = schemes.try_iter()?.map(|s| s.to_string()).collect();
    match schemes.iter().find(|s| !SCHEME.is_match(s)) {
        Some(bad) => Err(invalid(format!(
            "urlize: {bad:?} is not a valid URI scheme prefix"
        ))),
        None => Ok(schemes),
    }
}

/// `word` as opening punctuation, the candidate link and closing
/// punctuation, a closing `)`, `>` or `&gt;` moved back into the link
/// while the link opens more of them than it closes.
fn split_punctuation(word: &str) -> (&str, String, String) {
    let head_len = LEAD.find(word).map_or(0, |m| m.end());
    let (head, rest) = word.split_at(head_len);
    let tail_start = TRAIL.find(rest).map_or(rest.len(), |m| m.start());
    let mut middle = rest[..tail_start].to_string();
    let mut tail = rest[tail_start..].to_string();
    for (open, close) in [("(", ")"), ("<", ">"), ("&lt;", "&gt;")] {
        let opened = middle.matches(open).count();
        if opened <= middle.matches(close).count() {
            continue;
        }
        for _ in 0..opened.min(tail.matches(close).count()) {
            let end = tail.find(close).unwrap() + close.len();
            middle.push_str(&tail[..end]);
            tail.drain(..end);
        }
    }
    (head, middle, tail)
}
