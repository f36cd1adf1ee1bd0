//! `'2024-01-31 12:00:00' | to_datetime(format)`: Ansible's `to_datetime`,
//! Python's `datetime.strptime`, giving a naive Python `datetime` as a
//! minijinja object ([`PyDateTime`]): its attributes (`year` ...
//! `microsecond`), its methods (`strftime`, `isoformat`, `date`,
//! `timestamp`, `weekday`, `isoweekday`), its order (`<`, `==`) and
//! `str(datetime)` when printed. The `template` module's
//! `template_run_date` is one too. Subtracting two (Python's `timedelta`)
//! is not there: minijinja's `-` takes numbers only (see
//! [`SUBTRACTION_HINT`]).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use chrono::format::{Parsed, StrftimeItems};
use chrono::{Datelike, Local, NaiveDateTime, TimeZone, Timelike};
use minijinja::value::{DynObject, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Environment, Error, State};

use super::{invalid, strftime};

/// Python's `datetime.strptime` default format in Ansible's `to_datetime`.
const DEFAULT_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// What to write instead of `date_a - date_b`, which minijinja refuses.
pub const SUBTRACTION_HINT: &str = "a datetime minus a datetime (Python's timedelta) is not there \
     in kbz-play: write (a.timestamp() - b.timestamp()) for the seconds between them, \
     ((a.timestamp() - b.timestamp()) // 86400) | int for the whole days";

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("to_datetime", to_datetime);
}

fn to_datetime(text: &str, format: Option<&str>, kwargs: Kwargs) -> Result<Value, Error> {
    let format = kwargs.get::<Option<&str>>("format")?.or(format);
    kwargs.assert_all_used()?;
    let format = format.unwrap_or(DEFAULT_FORMAT);
    let at = strptime(text, format).ok_or_else(|| {
        invalid(format!(
            "to_datetime: time data {text:?} does not match format {format:?}"
        ))
    })?;
    Ok(PyDateTime::value(at))
}

/// Python's `strptime`: the fields `format` leaves out are those of
/// `1900-01-01 00:00:00`; `%f` takes six digits.
fn strptime(text: &str, format: &str) -> Option<NaiveDateTime> {
    let format = format.replace("%f", "%6f");
    let mut parsed = Parsed::new();
    chrono::format::parse(&mut parsed, text, StrftimeItems::new(&format)).ok()?;
    defaults(&mut parsed).ok()?;
    parsed.to_naive_datetime_with_offset(0).ok()
}

/// Fills in Python's defaults for the fields a format did not give.
fn defaults(p: &mut Parsed) -> chrono::format::ParseResult<()> {
    let by_week = p.ordinal().is_some()
        || p.week_from_sun().is_some()
        || p.week_from_mon().is_some()
        || p.isoweek().is_some();
    if p.year().is_none() && p.year_mod_100().is_none() && p.isoyear().is_none() {
        p.set_year(1900)?;
    }
    if p.month().is_none() && !by_week {
        p.set_month(1)?;
    }
    if p.day().is_none() && !by_week {
        p.set_day(1)?;
    }
    match (p.hour_div_12(), p.hour_mod_12()) {
        (None, None) => p.set_hour(0)?,
        (None, Some(_)) => p.set_ampm(false)?,
        _ => {}
    }
    if p.minute().is_none() {
        p.set_minute(0)?;
    }
    if p.second().is_none() {
        p.set_second(0)?;
    }
    Ok(())
}

/// A Python `datetime` (naive), or the `date` its `date()` gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PyDateTime {
    at: NaiveDateTime,
    date_only: bool,
}

impl PyDateTime {
    /// `at` as a template value.
    pub fn value(at: NaiveDateTime) -> Value {
        Value::from_object(PyDateTime {
            at,
            date_only: false,
        })
    }

    /// Python's `isoformat(sep)`: microseconds only when there are some.
    fn iso(&self, sep: &str) -> String {
        let date = self.at.format("%Y-%m-%d").to_string();
        if self.date_only {
            return date;
        }
        let micro = self.at.nanosecond() / 1000;
        let fraction = if micro == 0 {
            String::new()
        } else {
            format!(".{micro:06}")
        };
        format!("{date}{sep}{}{fraction}", self.at.format("%H:%M:%S"))
    }

    /// Python's `timestamp()`: a naive datetime is the control machine's
    /// local time.
    fn timestamp(&self) -> Result<f64, Error> {
        let local = Local
            .from_local_datetime(&self.at)
            .earliest()
            .ok_or_else(|| invalid(format!("timestamp: {} is no local time", self.iso(" "))))?;
        #[allow(clippy::cast_precision_loss)]
        let seconds = local.timestamp() as f64 + f64::from(self.at.nanosecond() / 1000) / 1e6;
        Ok(seconds)
    }
}

impl Object for PyDateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let at = &self.at;
        let field = match key.as_str()? {
            "year" => at.year(),
            "month" => at.month().try_into().ok()?,
            "day" => at.day().try_into().ok()?,
            _ if self.date_only => return None,
            "hour" => at.hour().try_into().ok()?,
            "minute" => at.minute().try_into().ok()?,
            "second" => at.second().try_into().ok()?,
            "microsecond" => (at.nanosecond() / 1000).try_into().ok()?,
            _ => return None,
        };
        Some(Value::from(field))
    }

    fn call_method(
        self: &Arc<Self>,
        _state: &mut State<'_, '_>,
        method: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let arg = |i: usize| args.get(i).and_then(Value::as_str);
        match (method, args.len()) {
            ("strftime", 1) => {
                let format = arg(0).ok_or_else(|| invalid("strftime: the format is a string"))?;
                strftime::format(format, self.at, None).map(Value::from)
            }
            ("isoformat", 0 | 1) => Ok(Value::from(self.iso(arg(0).unwrap_or("T")))),
            ("date", 0) => Ok(Value::from_object(PyDateTime {
                date_only: true,
                ..**self
            })),
            ("timestamp", 0) if !self.date_only => self.timestamp().map(Value::from),
            ("weekday", 0) => Ok(Value::from(self.at.weekday().num_days_from_monday())),
            ("isoweekday", 0) => Ok(Value::from(self.at.weekday().number_from_monday())),
            _ => Err(Error::from(minijinja::ErrorKind::UnknownMethod)),
        }
    }

    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<Ordering> {
        Some(self.as_ref().cmp(other.downcast_ref::<Self>()?))
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.iso(" "))
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    /// Renders `source` in an environment with this module's filter.
    fn render(source: &str) -> Result<String, Error> {
        let mut env = Environment::new();
        register(&mut env);
        super::strftime::register(&mut env);
        env.render_str(source, ())
    }

    /// Python 3.11's answers for the same calls.
    #[test]
    fn a_datetime_has_pythons_fields_methods_and_text() {
        let t = "{% set d = '2024-02-29 13:05:09.012345' | to_datetime('%Y-%m-%d %H:%M:%S.%f') %}\
                 {{ d }}|{{ d.year }} {{ d.month }} {{ d.microsecond }}|{{ d.isoformat() }}|\
                 {{ d.date() }}|{{ d.strftime('%j %A') }}|{{ d.weekday() }}";
        assert_eq!(
            render(t).unwrap(),
            "2024-02-29 13:05:09.012345|2024 2 12345|2024-02-29T13:05:09.012345|\
             2024-02-29|060 Thursday|3"
        );
        assert_eq!(
            render("{{ '10:30' | to_datetime('%H:%M') }}").unwrap(),
            "1900-01-01 10:30:00"
        );
        assert_eq!(
            render("{{ '07 PM' | to_datetime('%I %p') }}").unwrap(),
            "1900-01-01 19:00:00"
        );
    }

    #[test]
    fn datetimes_order_and_a_bad_text_names_its_format() {
        let t = "{{ ('2024-01-02' | to_datetime('%Y-%m-%d')) > ('2023-12-31' | to_datetime('%Y-%m-%d')) }}";
        assert_eq!(render(t).unwrap(), "True");
        let err = render("{{ '2024-01-02' | to_datetime }}").unwrap_err();
        assert!(
            err.to_string()
                .contains("does not match format \"%Y-%m-%d %H:%M:%S\""),
            "{err}"
        );
        let sub = render("{{ ('2024-01-02' | to_datetime('%Y-%m-%d')) - ('2024-01-01' | to_datetime('%Y-%m-%d')) }}");
        assert!(sub.unwrap_err().to_string().contains("plain object"));
    }
}
