//! Python's `%` formatting of one integer (`"host%02d" % 7`), for the
//! `sequence` lookup's `format=`: flags `-`, `0`, `+`, ` ` and `#`, a
//! width, a precision, and the conversions `d`, `i`, `u`, `o`, `x`, `X`,
//! `s` and `f`.

/// `format` with its one `%` conversion replaced by `n`; `None` for a
/// conversion Python would refuse for an integer (or one not supported).
pub(super) fn int(format: &str, n: i64) -> Option<String> {
    let at = format.find('%')?;
    let spec = &format[at + 1..];
    let flags_end = spec.find(|c| !"-0+ #".contains(c)).unwrap_or(spec.len());
    let flags = &spec[..flags_end];
    let rest = &spec[flags_end..];
    let width_end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let width: usize = rest[..width_end].parse().unwrap_or(0);
    let mut rest = &rest[width_end..];
    let mut precision = None;
    if let Some(p) = rest.strip_prefix('.') {
        let end = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
        precision = Some(p[..end].parse().unwrap_or(0));
        rest = &p[end..];
    }
    let conversion = rest.chars().next()?;
    let body = body(n.unsigned_abs(), conversion, flags.contains('#'), precision)?;
    let sign = match (n < 0, flags.contains('+'), flags.contains(' ')) {
        (true, _, _) => "-",
        (false, true, _) => "+",
        (false, false, true) => " ",
        _ => "",
    };
    let text = pad(sign, &body, width, flags, conversion);
    Some(format!(
        "{}{text}{}",
        &format[..at],
        &rest[conversion.len_utf8()..]
    ))
}

/// The digits of `n` (without sign) in `conversion`, with `#`'s prefix.
fn body(n: u64, conversion: char, alternate: bool, precision: Option<usize>) -> Option<String> {
    let (digits, prefix) = match conversion {
        'd' | 'i' | 'u' | 's' => (n.to_string(), ""),
        'o' => (format!("{n:o}"), "0o"),
        'x' => (format!("{n:x}"), "0x"),
        'X' => (format!("{n:X}"), "0X"),
        'f' | 'F' => return Some(format!("{:.*}", precision.unwrap_or(6), n as f64)),
        _ => return None,
    };
    let digits = match precision {
        Some(p) if conversion != 's' => format!("{digits:0>p$}"),
        _ => digits,
    };
    Some(if alternate {
        format!("{prefix}{digits}")
    } else {
        digits
    })
}

/// `sign` and `body` padded to `width`: left-aligned with `-`, with zeros
/// after the sign with `0`, else with spaces before.
fn pad(sign: &str, body: &str, width: usize, flags: &str, conversion: char) -> String {
    let len = sign.len() + body.chars().count();
    let fill = width.saturating_sub(len);
    if flags.contains('-') {
        format!("{sign}{body}{}", " ".repeat(fill))
    } else if flags.contains('0') && conversion != 's' {
        format!("{sign}{}{body}", "0".repeat(fill))
    } else {
        format!("{}{sign}{body}", " ".repeat(fill))
    }
}

#[cfg(test)]
mod tests {
    use super::int;

    /// Expected texts are what Python's `%` gives.
    #[test]
    fn formats_as_python_does() {
        let cases = [
            ("host%02d", 7, "host07"),
            ("%04x", 3840, "0f00"),
            ("%5d|", -3, "   -3|"),
            ("%-4o|", 8, "10  |"),
            ("%#x", 255, "0xff"),
            ("%+.3d", 5, "+005"),
            ("%X", 10, "A"),
            ("%s!", 12, "12!"),
            ("%.2f", 1, "1.00"),
        ];
        for (format, n, expected) in cases {
            assert_eq!(int(format, n).as_deref(), Some(expected), "{format}");
        }
        assert_eq!(int("%q", 1), None);
    }
}
