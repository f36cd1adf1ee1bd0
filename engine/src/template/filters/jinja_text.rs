//! Jinja2's own text filters minijinja lacks, as Jinja2 (the one Ansible
//! runs) writes them: `truncate`, `wordcount`, `center`, `filesizeformat`.

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("truncate", truncate);
    env.add_filter("wordcount", |s: &str| wordcount(s));
    env.add_filter("center", center);
    env.add_filter("filesizeformat", filesizeformat);
}

/// `s | truncate(length=255, killwords=False, end='...', leeway=5)`: `s`
/// as it is while within `length + leeway` characters, else cut to fit
/// `length` with `end`, at the last space unless `killwords`.
pub(super) fn truncate(
    s: &str,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let length = kwargs
        .get::<Option<usize>>("length")?
        .or(length)
        .unwrap_or(255);
    let killwords = kwargs
        .get::<Option<bool>>("killwords")?
        .or(killwords)
        .unwrap_or(false);
    let end = kwargs
        .get::<Option<String>>("end")?
        .or(end)
        .unwrap_or("...".into());
    let leeway = kwargs.get::<Option<usize>>("leeway")?.unwrap_or(5);
    kwargs.assert_all_used()?;
    let chars: Vec<char> = s.chars().collect();
    let end_len = end.chars().count();
    if length < end_len {
        return Err(invalid(format!(
            "truncate: expected length >= {end_len}, got {length}"
        )));
    }
    if chars.len() <= length + leeway {
        return Ok(s.to_string());
    }
    let kept: String = chars[..length - end_len].iter().collect();
    let kept = match killwords {
        true => kept.as_str(),
        false => kept
            .rsplit_once(' ')
            .map_or(kept.as_str(), |(head, _)| head),
    };
    Ok(format!("{kept}{end}"))
}

/// The words of `s`: runs of Python's `\w` (letters, digits, `_`).
fn wordcount(s: &str) -> usize {
    s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .count()
}

/// Python's `str.center(width)`: the odd space goes left when `width` is
/// odd, right when even (`(width - len) // 2 + (pad & width & 1)` left).
fn center(s: &str, width: Option<usize>) -> String {
    let width = width.unwrap_or(80);
    let len = s.chars().count();
    if width <= len {
        return s.to_string();
    }
    let pad = width - len;
    let left = pad / 2 + (pad & width & 1);
    format!("{}{s}{}", " ".repeat(left), " ".repeat(pad - left))
}

/// `size | filesizeformat(binary=False)`: `1 Byte`, `N Bytes` below one
/// kilo, else one decimal in the largest unit (`kB`... or `KiB`...).
fn filesizeformat(value: &Value, binary: Option<bool>) -> Result<String, Error> {
    let bytes = f64::try_from(value.clone())
        .or_else(|_| value.to_string().trim().parse::<f64>())
        .map_err(|_| invalid(format!("filesizeformat: {value} is not a number")))?;
    let binary = binary.unwrap_or(false);
    let base: f64 = if binary { 1024.0 } else { 1000.0 };
    let prefixes = ["k", "M", "G", "T", "P", "E", "Z", "Y"];
    if bytes == 1.0 {
        return Ok("1 Byte".into());
    }
    if bytes < base {
        #[allow(clippy::cast_possible_truncation)]
        return Ok(format!("{} Bytes", bytes.trunc() as i64));
    }
    let mut unit = base;
    let mut prefix = "";
    for (i, p) in prefixes.iter().enumerate() {
        unit = base.powi(i32::try_from(i).unwrap_or(0) + 2);
        prefix = p;
        if bytes < unit {
            break;
        }
    }
    let prefix = match binary {
        true => format!("{}iB", prefix.to_uppercase()),
        false => format!("{prefix}B"),
    };
    Ok(format!("{:.1} {prefix}", base * bytes / unit))
}

#[cfg(test)]
mod unit {
    fn render(source: &str) -> String {
        super::super::render_with(super::register, source, minijinja::Value::from(()))
    }

    /// Expected strings are Jinja2 3.1's.
    #[test]
    fn the_text_filters_write_as_jinja2() {
        assert_eq!(
            render("{{ 'hello big world' | truncate(9) }}|{{ 'hello big world' | truncate(9, true) }}|{{ 'short' | truncate(3, end='') }}"),
            "hello...|hello ...|short"
        );
        assert_eq!(render("{{ 'hello, world_2 x' | wordcount }}"), "3");
        assert_eq!(
            render("[{{ 'x' | center(4) }}][{{ 'ab' | center(5) }}]"),
            "[ x  ][  ab ]"
        );
        assert_eq!(
            render("{{ 1 | filesizeformat }}|{{ 999 | filesizeformat }}|{{ 1000 | filesizeformat }}|{{ 3000000 | filesizeformat }}|{{ 2048 | filesizeformat(true) }}"),
            "1 Byte|999 Bytes|1.0 kB|3.0 MB|2.0 KiB"
        );
        assert!(render("{{ 'abcdefghijkl' | truncate(2) }}").starts_with("error: "));
    }
}
