//! `random` and `shuffle` as Ansible has them. With `seed=`, the draw is
//! Python's `random.Random(seed)` (see `pyrandom`), so `65534 |
//! random(seed=inventory_hostname)`, the idiom for a host's cron minute or
//! a stable salt, gives the number Ansible gives; without a seed, any draw
//! (Ansible uses the system's generator there: a new value every run).

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error};

use super::invalid;
use super::pyrandom::PyRandom;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_filter("random", random);
    env.add_filter("shuffle", shuffle);
}

/// `end | random(start=0, step=1, seed=None)`: `randrange(start, end,
/// step)` for an integer, `choice` for a list or string.
fn random(
    end: &Value,
    start: Option<Value>,
    step: Option<Value>,
    seed: Option<Value>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let start = kwargs.get::<Option<Value>>("start")?.or(start);
    let step = kwargs.get::<Option<Value>>("step")?.or(step);
    let seed = kwargs.get::<Option<Value>>("seed")?.or(seed);
    kwargs.assert_all_used()?;
    let mut rng = generator(seed.as_ref())?;
    // Python's `if not start`: none, 0 and false all mean the default.
    let given = |v: &Option<Value>| v.as_ref().filter(|v| v.is_true()).cloned();
    let (start, step) = (given(&start), given(&step));
    if let Ok(end) = i64::try_from(end.clone()) {
        let start = start.map_or(Ok(0), i64::try_from)?;
        let step = step.map_or(Ok(1), i64::try_from)?;
        return rng
            .randrange(start, end, step)
            .map(Value::from)
            .ok_or_else(|| {
                invalid(format!(
                    "random: empty range for randrange({start}, {end}, {step})"
                ))
            });
    }
    if start.is_some() || step.is_some() {
        return Err(invalid(
            "random: start and step can only be used with integer values",
        ));
    }
    let items = choices(end)?;
    if items.is_empty() {
        return Err(invalid("random: cannot choose from an empty sequence"));
    }
    Ok(items[rng.below(items.len() as u64) as usize].clone())
}

/// What `choice` picks from: a list's items or a string's characters.
fn choices(value: &Value) -> Result<Vec<Value>, Error> {
    match value.kind() {
        ValueKind::Seq | ValueKind::Iterable => Ok(value.try_iter()?.collect()),
        ValueKind::String => Ok(value
            .as_str()
            .unwrap_or_default()
            .chars()
            .map(Value::from)
            .collect()),
        _ => Err(invalid(
            "random: can only be used on sequences and integers",
        )),
    }
}

/// `list | shuffle(seed=None)`: Python's `Random(seed).shuffle` of the
/// items; a value that is not a list comes back as it is, as in Ansible.
fn shuffle(value: Value, seed: Option<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let seed = kwargs.get::<Option<Value>>("seed")?.or(seed);
    kwargs.assert_all_used()?;
    let Ok(items) = choices(&value) else {
        return Ok(value);
    };
    let mut items = items;
    generator(seed.as_ref().filter(|s| s.is_true()))?.shuffle(&mut items);
    Ok(Value::from(items))
}

/// `Random(seed)` for a string or integer seed; without one, seeded from
/// the system's entropy.
fn generator(seed: Option<&Value>) -> Result<PyRandom, Error> {
    let Some(seed) = seed.filter(|s| !s.is_none()) else {
        return PyRandom::from_entropy()
            .map_err(|e| invalid(format!("random: the system's random source: {e}")));
    };
    if let Some(text) = seed.as_str() {
        return Ok(PyRandom::from_str(text));
    }
    match seed.kind() {
        ValueKind::Number | ValueKind::Bool => i128::try_from(seed.clone())
            .map(PyRandom::from_int)
            .map_err(|_| {
                invalid(format!(
                    "random: seed={seed} must be a string or an integer"
                ))
            }),
        _ => Err(invalid(format!(
            "random: seed must be a string or an integer, got {seed}"
        ))),
    }
}

#[cfg(test)]
mod unit {
    use minijinja::context;

    /// CPython 3.11's `Random('web-01.example.com')`: `.choice(['a', 'b',
    /// 'c'])`, `.randrange(10, 100, 5)`, `.shuffle(list(range(10)))`.
    const PY_CHOICE: &str = "b";
    const PY_START_STEP: &str = "60";
    const PY_SHUFFLE: &str = "8,9,6,0,3,2,7,4,1,5";

    fn render(source: &str) -> String {
        super::super::render_with(
            super::register,
            source,
            context! { host => "web-01.example.com" },
        )
    }

    #[test]
    fn a_seeded_draw_is_pythons() {
        assert_eq!(render("{{ 65534 | random(seed=host) }}"), "21207");
        assert_eq!(render("{{ 60 | random(seed=42) }}"), "40");
        assert_eq!(
            render("{{ ['a', 'b', 'c'] | random(seed=host) }}"),
            PY_CHOICE
        );
        assert_eq!(
            render("{{ 100 | random(10, 5, seed=host) }}"),
            PY_START_STEP
        );
        assert_eq!(
            render("{{ range(10) | shuffle(seed=host) | join(',') }}"),
            PY_SHUFFLE
        );
    }

    #[test]
    fn an_unseeded_draw_stays_in_range() {
        for _ in 0..20 {
            let n: i64 = render("{{ 10 | random(start=5) }}").parse().unwrap();
            assert!((5..10).contains(&n), "{n}");
        }
    }

    #[test]
    fn start_on_a_list_and_an_empty_range_are_refused() {
        assert!(render("{{ [1] | random(start=1) }}").contains("integer values"));
        assert!(render("{{ 0 | random }}").contains("empty range"));
        assert!(render("{{ {'a': 1} | random }}").contains("sequences and integers"));
    }
}
