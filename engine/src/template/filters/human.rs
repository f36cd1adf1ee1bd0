//! `human_readable` and `human_to_bytes`: sizes as Ansible's
//! `bytes_to_human` and `human_to_bytes` write and read them (binary
//! units, `K` = 1024; `isbits` for bits).

use minijinja::value::Kwargs;
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("human_readable", human_readable);
    env.add_filter("human_to_bytes", human_to_bytes);
}

/// The unit letters, largest first, with their long names (byte, bit).
const UNITS: &[(char, &str, &str)] = &[
    ('Y', "yottabyte", "yottabit"),
    ('Z', "zetabyte", "zetabit"),
    ('E', "exabyte", "exabit"),
    ('P', "petabyte", "petabit"),
    ('T', "terabyte", "terabit"),
    ('G', "gigabyte", "gigabit"),
    ('M', "megabyte", "megabit"),
    ('K', "kilobyte", "kilobit"),
    ('B', "byte", "bit"),
];

/// The size of one of unit `letter`: 1024 to the power of its rank.
fn limit(letter: char) -> Option<f64> {
    let rank = UNITS.iter().rev().position(|(l, _, _)| *l == letter)?;
    Some(1024f64.powi(rank as i32))
}

/// `size | human_readable(isbits=False, unit=None)`: `'%.2f KB'`, in the
/// largest unit not above `size`, or in `unit`.
fn human_readable(
    size: f64,
    isbits: Option<bool>,
    unit: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let isbits = kwargs
        .get::<Option<bool>>("isbits")?
        .or(isbits)
        .unwrap_or(false);
    let unit = kwargs.get::<Option<String>>("unit")?.or(unit);
    kwargs.assert_all_used()?;
    let wanted = unit
        .and_then(|u| u.chars().next())
        .map(|c| c.to_ascii_uppercase());
    let (letter, size_of) = UNITS
        .iter()
        .map(|(l, _, _)| (*l, limit(*l).unwrap_or(1.0)))
        .find(|(l, lim)| wanted.map_or(size >= *lim, |w| w == *l))
        .unwrap_or(('B', 1.0));
    let base = if isbits { "bits" } else { "Bytes" };
    let suffix = match letter {
        'B' => base.to_string(),
        l => format!("{l}{}", &base[..1]),
    };
    Ok(format!("{:.2} {suffix}", size / size_of))
}

/// `'10 MB' | human_to_bytes(default_unit=None, isbits=False)`: the count,
/// Python's `round` of the number times its unit.
fn human_to_bytes(
    text: &minijinja::Value,
    default_unit: Option<String>,
    isbits: Option<bool>,
    kwargs: Kwargs,
) -> Result<i64, Error> {
    let default_unit = kwargs
        .get::<Option<String>>("default_unit")?
        .or(default_unit);
    let isbits = kwargs
        .get::<Option<bool>>("isbits")?
        .or(isbits)
        .unwrap_or(false);
    kwargs.assert_all_used()?;
    let text = text.to_string();
    let re =
        regex::Regex::new(r"^([0-9]*\.?[0-9]+)(?:\s*([A-Za-z]+))?\s*$").expect("a valid pattern");
    let refused = || invalid(format!("human_to_bytes: can't interpret {text:?}"));
    let caps = re.captures(&text).ok_or_else(refused)?;
    let number: f64 = caps[1].parse().map_err(|_| refused())?;
    let Some(unit) = caps.get(2).map(|m| m.as_str().to_string()).or(default_unit) else {
        return Ok(number.round_ties_even() as i64);
    };
    let letter = unit.chars().next().unwrap_or('B').to_ascii_uppercase();
    let size = limit(letter).ok_or_else(|| {
        invalid(format!(
            "human_to_bytes: failed to convert {text:?} (unit = {unit}): the suffix must be one of Y, Z, E, P, T, G, M, K, B"
        ))
    })?;
    check_unit(&unit, letter, isbits, &text)?;
    Ok((number * size).round_ties_even() as i64)
}

/// A unit longer than its letter must say bytes (`MB`, `megabyte`) or,
/// with `isbits`, bits (`Mb`, `megabit`).
fn check_unit(unit: &str, letter: char, isbits: bool, text: &str) -> Result<(), Error> {
    if unit.len() == 1 {
        return Ok(());
    }
    let (_, byte, bit) = UNITS
        .iter()
        .find(|(l, _, _)| *l == letter)
        .copied()
        .unwrap_or(UNITS[8]);
    let (long, class) = if isbits { (bit, 'b') } else { (byte, 'B') };
    let short = if letter == 'B' {
        class.to_string()
    } else {
        format!("{letter}{class}")
    };
    if unit.to_lowercase() == long || unit == short {
        return Ok(());
    }
    Err(invalid(format!(
        "human_to_bytes: failed to convert {text:?}: expected {short} or {}",
        if letter == 'B' {
            long.to_string()
        } else {
            letter.to_string()
        }
    )))
}

#[cfg(test)]
mod unit {
    //! Expected strings and counts are Ansible 2.19's.
    fn render(source: &str) -> String {
        super::super::render_with(super::register, source, minijinja::Value::from(()))
    }

    #[test]
    fn sizes_read_and_write_as_ansibles() {
        assert_eq!(render("{{ 1536 | human_readable }}"), "1.50 KB");
        assert_eq!(render("{{ 0.5 | human_readable }}"), "0.50 Bytes");
        assert_eq!(
            render("{{ 1048576 | human_readable(isbits=true) }}"),
            "1.00 Mb"
        );
        assert_eq!(
            render("{{ 1048576 | human_readable(unit='G') }}"),
            "0.00 GB"
        );
        assert_eq!(render("{{ '1.5K' | human_to_bytes }}"), "1536");
        assert_eq!(render("{{ '10 megabyte' | human_to_bytes }}"), "10485760");
        assert_eq!(
            render("{{ '1Mb' | human_to_bytes(isbits=true) }}"),
            "1048576"
        );
        assert_eq!(render("{{ 2 | human_to_bytes('K') }}"), "2048");
        assert!(render("{{ '1Mb' | human_to_bytes }}").contains("expected MB or M"));
        assert!(render("{{ 'x' | human_to_bytes }}").contains("can't interpret"));
    }
}
