//! Python's `repr()` of a float (`1000.0`, `1e-05`, `1.2345678901234568e+17`):
//! how ansible-inventory's JSON and YAML write the floats kbz-play prints
//! beside them.

/// `repr(f)` for a finite `f`: the shortest digits that read back as `f`,
/// positional from 1e-4 up to 1e16, else in exponent form.
pub fn repr(f: f64) -> String {
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let body = if (-4..16).contains(&exp) {
        positional(&digits, exp)
    } else {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{first}{dot}{rest}e{exp_sign}{:02}", exp.abs())
    };
    format!("{sign}{body}")
}

/// `digits` (d.ddd) times 10^`exp`, with at least one digit after the point.
fn positional(digits: &str, exp: i32) -> String {
    let point = exp + 1;
    if point <= 0 {
        return format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize));
    }
    let point = point as usize;
    let padded = format!("{digits:0<point$}");
    let (int, frac) = padded.split_at(point);
    format!("{int}.{}", if frac.is_empty() { "0" } else { frac })
}

#[cfg(test)]
mod tests {
    use super::repr;

    #[test]
    fn floats_read_as_python_prints_them() {
        for (f, want) in [
            (1000.0, "1000.0"),
            (0.1, "0.1"),
            (-3.0, "-3.0"),
            (-0.0, "-0.0"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e16, "1e+16"),
            (1e20, "1e+20"),
            (2.5e-7, "2.5e-07"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1234567890123456.0, "1234567890123456.0"),
        ] {
            assert_eq!(repr(f), want, "{f:e}");
        }
    }
}
