//! `'%Y-%m-%d' | strftime(second=EPOCH, utc=false)`: Ansible's `strftime`
//! filter, Python's `time.strftime` of the control machine's local time (its
//! zone from `TZ` or `/etc/localtime`, `%Z` its abbreviation, `CET`; UTC
//! with `utc=true`, whose `%Z` is `GMT` as glibc's `gmtime`), now when no
//! `second` is given. The directives are
//! glibc's in the C/POSIX locale (`%c` is `Thu Jan  1 00:00:00 1970`, `%x`
//! `01/01/70`), through chrono; [`format`] also formats `to_datetime`'s
//! values, so both read a format the same way.

use std::fmt::Write;

use chrono::format::StrftimeItems;
use chrono::{DateTime, FixedOffset, NaiveDateTime, Offset, TimeZone, Utc};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("strftime", strftime);
}

fn strftime(
    format: &str,
    second: Option<Value>,
    utc: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let second = kwargs.get::<Option<Value>>("second")?.or(second);
    let utc = kwargs.get::<Option<bool>>("utc")?.or(utc).unwrap_or(false);
    kwargs.assert_all_used()?;
    let at = match second.filter(|s| !s.is_none()) {
        None => Utc::now(),
        Some(s) => instant(&s)?,
    };
    if utc {
        self::format(format, at.naive_utc(), Some((Utc.fix(), "GMT")))
    } else {
        let (offset, name) = local_zone(&jiff::tz::TimeZone::system(), at.timestamp());
        let local = at.with_timezone(&offset).naive_local();
        self::format(format, local, Some((offset, &name)))
    }
}

/// The offset from UTC and the abbreviation (`CET`, `UTC`) of `zone` at
/// `second` after the epoch, as the C library's `localtime` gives them to
/// Python (both read the system's zoneinfo); UTC for an instant out of range.
fn local_zone(zone: &jiff::tz::TimeZone, second: i64) -> (FixedOffset, String) {
    let Ok(at) = jiff::Timestamp::from_second(second) else {
        return (Utc.fix(), "UTC".into());
    };
    let info = zone.to_offset_info(at);
    let offset = FixedOffset::east_opt(info.offset().seconds()).unwrap_or(Utc.fix());
    (offset, info.abbreviation().to_string())
}

/// The instant `second` seconds after the epoch, as Python's
/// `time.localtime(float(second))` takes it (the fraction dropped, toward
/// the past).
fn instant(second: &Value) -> Result<DateTime<Utc>, Error> {
    let bad = || {
        invalid(format!(
            "strftime: Invalid value for epoch value ({second})"
        ))
    };
    let seconds = match second.as_str() {
        Some(text) => text.trim().parse::<f64>().map_err(|_| bad())?,
        None => f64::try_from(second.clone()).map_err(|_| bad())?,
    };
    if !seconds.is_finite() {
        return Err(bad());
    }
    #[allow(clippy::cast_possible_truncation)]
    let whole = seconds.floor() as i64;
    Utc.timestamp_opt(whole, 0).single().ok_or_else(bad)
}

/// `at` formatted by Python's strftime directives in `format`; `zone` is
/// its offset and zone name, none for a naive datetime (whose `%z` and `%Z`
/// are empty, as Python's). `%f` is the microseconds, six digits.
pub(super) fn format(
    format: &str,
    at: NaiveDateTime,
    zone: Option<(FixedOffset, &str)>,
) -> Result<String, Error> {
    let chrono_format = translated(format, zone);
    let items = StrftimeItems::new(&chrono_format)
        .parse()
        .map_err(|_| invalid(format!("strftime: {format:?} holds an unknown directive")))?;
    let mut out = String::new();
    write!(out, "{}", at.format_with_items(items.iter()))
        .map_err(|_| invalid(format!("strftime: cannot format {format:?}")))?;
    Ok(out)
}

/// `format` as chrono reads it: `%f` as `%6f`, `%z` and `%Z` written out
/// (chrono's `%Z` of a fixed offset is the offset, with a colon; a zone
/// without a name shows its offset).
fn translated(format: &str, zone: Option<(FixedOffset, &str)>) -> String {
    let mut out = String::with_capacity(format.len());
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('f') => out.push_str("%6f"),
            Some('z') => out.push_str(&zone.map(|(o, _)| offset(o)).unwrap_or_default()),
            Some('Z') => out.push_str(&zone.map_or(String::new(), |(o, name)| {
                if name.is_empty() {
                    offset(o)
                } else {
                    name.to_string()
                }
            })),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// Python's `%z`: `+0100`, `-0530`.
fn offset(o: FixedOffset) -> String {
    let seconds = o.local_minus_utc();
    let sign = if seconds < 0 { '-' } else { '+' };
    let minutes = seconds.abs() / 60;
    format!("{sign}{:02}{:02}", minutes / 60, minutes % 60)
}

#[cfg(test)]
mod unit {
    use super::*;

    /// What the venv's Python 3.11 gives for
    /// `time.strftime(fmt, time.gmtime(1700000000.9))` (C locale).
    #[test]
    fn every_directive_formats_as_python_in_the_c_locale() {
        let at = instant(&Value::from(1_700_000_000.9)).unwrap().naive_utc();
        let utc = Some((Utc.fix(), "GMT"));
        let got = |f: &str| format(f, at, utc).unwrap();
        assert_eq!(
            got("%a %A %b %B %d %H %I %j %m %M %p %S %U %w %W %y %Y %z %Z %%"),
            "Tue Tuesday Nov November 14 22 10 318 11 13 PM 20 46 2 46 23 2023 +0000 GMT %"
        );
        assert_eq!(
            got("%c|%x|%X"),
            "Tue Nov 14 22:13:20 2023|11/14/23|22:13:20"
        );
        assert_eq!(got("%f"), "000000");
        assert!(format("%Q", at, utc).is_err());
    }

    #[test]
    fn a_naive_datetime_has_no_zone_and_an_offset_shows_as_python_writes_it() {
        let at = instant(&Value::from("86400")).unwrap().naive_utc();
        assert_eq!(format("%Y%z%Z.", at, None).unwrap(), "1970.");
        let east = FixedOffset::east_opt(5 * 3600 + 1800).unwrap();
        assert_eq!(
            format("%z %Z", at, Some((east, ""))).unwrap(),
            "+0530 +0530"
        );
        assert!(instant(&Value::from("soon")).is_err());
    }

    /// The zone's abbreviation where Python gives one (issue 12: kbz-play
    /// gave `+0100` for `CET`), checked against the C library through the
    /// system's Python, for zones on both sides of UTC, summer and winter.
    #[test]
    fn the_local_zone_is_named_as_python_names_it() {
        for zone in ["Europe/Paris", "America/New_York", "Asia/Kolkata", "UTC"] {
            for second in [0_i64, 1_750_000_000] {
                let Some(python) = python_zone(zone, second) else {
                    eprintln!("no python3: skipped");
                    return;
                };
                let tz = jiff::tz::TimeZone::get(zone).unwrap();
                let (offset, name) = local_zone(&tz, second);
                assert_eq!(
                    format!("{name}|{}", self::offset(offset)),
                    python,
                    "{zone} {second}"
                );
            }
        }
    }

    /// `time.strftime('%Z|%z', time.localtime(second))` in `zone`, by python3.
    fn python_zone(zone: &str, second: i64) -> Option<String> {
        let code = format!("import time; print(time.strftime('%Z|%z', time.localtime({second})))");
        let out = std::process::Command::new("python3")
            .args(["-c", &code])
            .env("TZ", zone)
            .output()
            .ok()?;
        Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
    }
}
