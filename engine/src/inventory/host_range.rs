//! Ansible's host name forms, shared by every inventory format (YAML, INI,
//! host lists): `host:port` and ranges (`web[01:20:2]`, `db-[a:c]`).

/// Split Ansible's `host:port` form. IPv6 addresses (several colons) are left
/// whole; `[v6addr]:port` is unwrapped.
pub(crate) fn split_port(key: &str) -> (&str, Option<u16>) {
    if let Some(rest) = key.strip_prefix('[') {
        if let Some((addr, tail)) = rest.split_once(']') {
            if addr.matches(':').count() >= 2 {
                let port = tail.strip_prefix(':').and_then(|p| p.parse().ok());
                return (addr, port);
            }
        }
    }
    let Some((head, port)) = key.rsplit_once(':') else {
        return (key, None);
    };
    let mut depth = 0i32;
    let colon_outside_brackets = head.chars().any(|c| {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ':' if depth == 0 => return true,
            _ => {}
        }
        false
    });
    if colon_outside_brackets
        || depth != 0
        || port.is_empty()
        || !port.bytes().all(|b| b.is_ascii_digit())
    {
        return (key, None);
    }
    match port.parse::<u16>() {
        Ok(p) if p != 0 => (head, Some(p)),
        _ => (key, None),
    }
}

/// The most hosts one inventory entry may expand to. Nested ranges multiply
/// (`h[0:99999]-[0:99999]` is ten billion names): without a bound on the
/// whole expansion, a typo would run until killed.
const MAX_RANGE_HOSTS: usize = 100_000;

/// Expand Ansible host ranges: `web[01:03]` -> web01 web02 web03,
/// `db-[a:c]`, `n[0:10:5]`; nested ranges expand left to right, at most
/// [`MAX_RANGE_HOSTS`] names in all.
pub(crate) fn expand_host_range(pattern: &str) -> Result<Vec<String>, String> {
    let (Some(open), Some(close)) = (pattern.find('['), pattern.find(']')) else {
        return Ok(vec![pattern.to_string()]);
    };
    let inner = &pattern[open + 1..close.max(open + 1)];
    if close < open || !inner.contains(':') {
        return Ok(vec![pattern.to_string()]);
    }
    let (head, tail) = (&pattern[..open], &pattern[close + 1..]);
    let bounds: Vec<&str> = inner.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("a range is [begin:end] or [begin:end:step]".to_string());
    }
    let beg = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err("the range needs an end value".to_string());
    }
    let step: usize = match bounds.get(2) {
        Some(s) => s
            .parse()
            .ok()
            .filter(|&s| s > 0)
            .ok_or("the step must be a positive integer")?,
        None => 1,
    };
    let mut items: Vec<String> = Vec::new();
    let letters = |s: &str| s.len() == 1 && s.bytes().all(|b| b.is_ascii_alphabetic());
    if letters(beg) && letters(end) {
        const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let b = ALPHABET.find(beg).expect("ascii letter");
        let e = ALPHABET.find(end).expect("ascii letter");
        if b > e {
            return Err("the range's begin must not be after its end".to_string());
        }
        items.extend(ALPHABET[b..=e].chars().step_by(step).map(String::from));
    } else {
        let (Ok(b), Ok(e)) = (beg.parse::<u64>(), end.parse::<u64>()) else {
            return Err("bounds must be two numbers or two single letters".to_string());
        };
        if b > e {
            return Err("the range's begin must not be after its end".to_string());
        }
        let width = if beg.starts_with('0') && beg.len() > 1 {
            if beg.len() != end.len() {
                return Err("zero-padded bounds must have the same width, e.g. [01:10]".to_string());
            }
            beg.len()
        } else {
            0
        };
        if e - b >= MAX_RANGE_HOSTS as u64 {
            return Err(format!(
                "the range expands to more than {MAX_RANGE_HOSTS} hosts"
            ));
        }
        items.extend((b..=e).step_by(step).map(|n| format!("{n:0width$}")));
    }
    let mut out = Vec::new();
    for item in items {
        out.extend(expand_host_range(&format!("{head}{item}{tail}"))?);
        if out.len() > MAX_RANGE_HOSTS {
            return Err(format!(
                "the ranges together expand to more than {MAX_RANGE_HOSTS} hosts"
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ranges_expand_like_ansible() {
        assert_eq!(expand_host_range("web").unwrap(), ["web"]);
        assert_eq!(expand_host_range("w[1:3]").unwrap(), ["w1", "w2", "w3"]);
        assert_eq!(
            expand_host_range("web[01:03].x").unwrap(),
            ["web01.x", "web02.x", "web03.x"]
        );
        assert_eq!(expand_host_range("n[0:10:5]").unwrap(), ["n0", "n5", "n10"]);
        assert_eq!(
            expand_host_range("db-[a:c]").unwrap(),
            ["db-a", "db-b", "db-c"]
        );
        assert_eq!(
            expand_host_range("r[1:2]-[a:b]").unwrap(),
            ["r1-a", "r1-b", "r2-a", "r2-b"]
        );
        assert_eq!(expand_host_range("[:1]x").unwrap(), ["0x", "1x"]);
        assert_eq!(expand_host_range("plain[12]").unwrap(), ["plain[12]"]);
        assert!(expand_host_range("w[3:1]").is_err());
        assert!(expand_host_range("w[01:100]").is_err());
        assert!(expand_host_range("w[1:]").is_err());
        assert!(expand_host_range("w[1:2:0]").is_err());
        assert!(expand_host_range("w[1:x]").is_err());
    }

    #[test]
    fn host_port_suffix() {
        assert_eq!(split_port("web1"), ("web1", None));
        assert_eq!(split_port("web1:2222"), ("web1", Some(2222)));
        assert_eq!(split_port("web[1:3]"), ("web[1:3]", None));
        assert_eq!(split_port("web[1:3]:22"), ("web[1:3]", Some(22)));
        assert_eq!(split_port("fe80::1"), ("fe80::1", None));
        assert_eq!(split_port("[fe80::1]:22"), ("fe80::1", Some(22)));
        assert_eq!(split_port("web1:99999"), ("web1:99999", None));
    }
}
