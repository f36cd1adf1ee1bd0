//! Ansible's math filters, Python's `math` functions: `log` (natural by
//! default, `log(10)` as `log10`), `pow` and `root` (square by default).
//! Each gives a float, as Python's `math` does.

use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("log", |x: f64, base: Option<f64>| {
        finite(
            "log",
            match base {
                None => x.ln(),
                Some(10.0) => x.log10(),
                Some(b) => x.ln() / b.ln(),
            },
        )
    });
    env.add_filter("pow", |x: f64, y: f64| finite("pow", x.powf(y)));
    env.add_filter("root", |x: f64, base: Option<f64>| {
        finite(
            "root",
            match base {
                None | Some(2.0) => x.sqrt(),
                Some(b) => x.powf(1.0 / b),
            },
        )
    });
}

/// The result, or Python's `math domain error` where it has none.
fn finite(filter: &str, value: f64) -> Result<f64, Error> {
    if value.is_nan() || value.is_infinite() {
        return Err(invalid(format!("{filter}: math domain error")));
    }
    Ok(value)
}

#[cfg(test)]
mod unit {
    fn render(source: &str) -> String {
        super::super::render_with(super::register, source, minijinja::Value::from(()))
    }

    #[test]
    fn math_gives_pythons_floats() {
        assert_eq!(
            render("{{ 8 | log(2) }} {{ 1000 | log(10) }} {{ 1 | log }}"),
            "3.0 3.0 0.0"
        );
        assert_eq!(
            render("{{ 2 | pow(10) }} {{ 16 | root }} {{ 27 | root(3) }}"),
            "1024.0 4.0 3.0"
        );
        assert!(render("{{ -1 | log }}").contains("math domain error"));
    }
}
