//! URL filters and tests as Python's `urllib.parse` reads URLs: the
//! `urlsplit` filter (the whole split as a mapping, or one part of it),
//! `urldecode` (`unquote_plus`), Jinja2's `urlencode` (`quote`, or a
//! query string from a mapping or pairs), and the `uri`, `url` and `urn`
//! tests.

use std::collections::BTreeMap;

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("urlsplit", urlsplit);
    env.add_filter("urldecode", |s: &str| unquote_plus(s));
    env.add_filter("urlencode", urlencode);
    env.add_test("uri", |s: &str, schemes: Option<Vec<String>>| {
        is_uri(s, schemes.as_deref())
    });
    env.add_test("url", |s: &str, schemes: Option<Vec<String>>| {
        is_uri(s, schemes.as_deref()) && {
            let parts = split(s);
            !parts.netloc.is_empty() || parts.scheme == "file"
        }
    });
    env.add_test("urn", |s: &str| is_uri(s, Some(&["urn".to_string()])));
}

/// `urlsplit`'s five parts.
struct Split<'a> {
    scheme: String,
    netloc: &'a str,
    path: &'a str,
    query: &'a str,
    fragment: &'a str,
}

/// Python's `urlsplit`: `scheme:`, `//netloc`, path, `?query`, `#fragment`.
fn split(url: &str) -> Split<'_> {
    let url = url.trim_start_matches(|c: char| c <= ' ');
    let (mut scheme, mut rest) = (String::new(), url);
    if let Some(i) = url.find(':').filter(|&i| i > 0) {
        let head = &url[..i];
        let scheme_char = |c: char| c.is_ascii_alphanumeric() || "+-.".contains(c);
        if head.starts_with(|c: char| c.is_ascii_alphabetic()) && head.chars().all(scheme_char) {
            scheme = head.to_lowercase();
            rest = &url[i + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        (netloc, rest) = after.split_at(end);
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    Split {
        scheme,
        netloc,
        path,
        query,
        fragment,
    }
}

/// `url | urlsplit(query='')`: every part (Python's attribute names, as
/// Ansible lists them), or the one asked for.
fn urlsplit(url: &str, query: Option<&str>) -> Result<Value, Error> {
    let parts = split(url);
    let (userinfo, hostinfo) = parts
        .netloc
        .rsplit_once('@')
        .map_or((None, parts.netloc), |(u, h)| (Some(u), h));
    let (username, password) =
        match userinfo.map(|u| u.split_once(':').map_or((u, None), |(n, p)| (n, Some(p)))) {
            Some((name, password)) => (
                Value::from(name),
                password.map_or(Value::from(()), Value::from),
            ),
            None => (Value::from(()), Value::from(())),
        };
    let (hostname, port) = host_and_port(hostinfo)?;
    let all = BTreeMap::from([
        ("fragment", Value::from(parts.fragment)),
        ("hostname", hostname),
        ("netloc", Value::from(parts.netloc)),
        ("password", password),
        ("path", Value::from(parts.path)),
        ("port", port),
        ("query", Value::from(parts.query)),
        ("scheme", Value::from(parts.scheme)),
        ("username", username),
    ]);
    match query.filter(|q| !q.is_empty()) {
        None => Ok(Value::from(all)),
        Some(q) => all
            .get(q)
            .cloned()
            .ok_or_else(|| invalid(format!("urlsplit: unknown URL component: {q}"))),
    }
}

/// The host (lowercased; none when empty) and port (a number; none when
/// absent) of a netloc's `host:port` or `[v6]:port`.
fn host_and_port(hostinfo: &str) -> Result<(Value, Value), Error> {
    let (host, port) = match hostinfo.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').unwrap_or((v6, ""));
            (host, after.strip_prefix(':'))
        }
        None => hostinfo
            .split_once(':')
            .map_or((hostinfo, None), |(h, p)| (h, Some(p))),
    };
    let host = match host {
        "" => Value::from(()),
        h => Value::from(h.to_lowercase()),
    };
    let port = match port {
        None => Value::from(()),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if p.bytes().all(|b| b.is_ascii_digit()) => Value::from(n),
            _ => {
                return Err(invalid(format!(
                    "urlsplit: port {p:?} is not a number from 0 to 65535"
                )))
            }
        },
    };
    Ok((host, port))
}

/// Python's `unquote_plus`: `+` a space, `%XX` a byte, read as UTF-8
/// (a bad sequence as U+FFFD).
fn unquote_plus(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Jinja2's `urlencode`: a string (or any single value) quoted with `/`
/// kept; a mapping or a list of pairs as a query string, `/` quoted too and
/// spaces as `+`.
fn urlencode(value: &Value) -> Result<String, Error> {
    let pairs: Vec<(Value, Value)> = match value.kind() {
        ValueKind::Map => value
            .try_iter()?
            .map(|k| value.get_item(&k).map(|v| (k, v)))
            .collect::<Result<_, _>>()?,
        ValueKind::Seq | ValueKind::Iterable => value
            .try_iter()?
            .map(|pair| Ok((pair.get_item_by_index(0)?, pair.get_item_by_index(1)?)))
            .collect::<Result<_, Error>>()?,
        _ => return Ok(quote(&python_str(value), "/")),
    };
    let field = |v: &Value| quote(&python_str(v), "").replace("%20", "+");
    let fields: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", field(k), field(v)))
        .collect();
    Ok(fields.join("&"))
}

/// Python's `str(value)` for the values a URL holds (`None` for none).
fn python_str(value: &Value) -> String {
    match value.is_none() {
        true => "None".into(),
        false => value.to_string(),
    }
}

/// Python's `quote(text, safe)`: every UTF-8 byte but letters, digits,
/// `_.-~` and those of `safe` as `%XX`.
pub(super) fn quote(text: &str, safe: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte.is_ascii_alphanumeric()
            || b"_.-~".contains(&byte)
            || safe.as_bytes().contains(&byte)
        {
            true => out.push(byte as char),
            false => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Ansible's `uri` test: anything `urlsplit` reads, its scheme in `schemes` if given.
fn is_uri(text: &str, schemes: Option<&[String]>) -> bool {
    let scheme = split(text).scheme;
    schemes.is_none_or(|s| s.is_empty() || s.contains(&scheme))
}

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn a_url_splits_as_python_splits_it() {
        let url = "HTTPS://User:pw@Example.COM:8443/a/b?x=1&y=2#top";
        let part = |q| urlsplit(url, Some(q)).unwrap().to_string();
        assert_eq!(part("scheme"), "https");
        assert_eq!(part("hostname"), "example.com");
        assert_eq!(part("port"), "8443");
        assert_eq!(part("path"), "/a/b");
        assert_eq!(part("query"), "x=1&y=2");
        assert_eq!(part("password"), "pw");
        let v6 = urlsplit("http://[::1]:80/", Some("hostname")).unwrap();
        assert_eq!(v6.to_string(), "::1");
        assert!(urlsplit("http://h:x/", None).is_err());
        assert!(urlsplit(url, Some("nope")).is_err());
        assert_eq!(unquote_plus("a+b%20c%2Fd%zz"), "a b c/d%zz");
    }
}
