//! `v is version('1.2', '>=', version_type=...)` (alias `version_compare`):
//! Ansible's version test, the comparison of [`crate::version`] that the
//! scripts' `version()` shares.

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error};

use super::invalid;

pub(super) fn register(env: &mut Environment<'static>) {
    env.add_test("version", version);
    env.add_test("version_compare", version);
}

fn version(
    value: &Value,
    other: &Value,
    operator: Option<&str>,
    kwargs: Kwargs,
) -> Result<bool, Error> {
    let operator = kwargs.get::<Option<&str>>("operator")?.or(operator);
    let strict = kwargs.get::<Option<bool>>("strict")?;
    let version_type = kwargs.get::<Option<&str>>("version_type")?;
    kwargs.assert_all_used()?;
    // Ansible reads none as no version: an empty one, which it refuses.
    let text = |v: &Value| match v.is_none() {
        true => String::new(),
        false => v.to_string(),
    };
    crate::version::compare(&text(value), &text(other), operator, strict, version_type)
        .map_err(|e| invalid(format!("version: {e}")))
}

#[cfg(test)]
mod tests {
    use super::super::render_with;
    use minijinja::context;

    #[test]
    fn the_test_takes_ansibles_arguments_and_reports_its_refusals() {
        let render = |s: &str| render_with(super::register, s, context! { v => "1.10.2" });
        assert_eq!(render("{{ v is version('1.9', '>') }}"), "True");
        assert_eq!(render("{{ v is version_compare('1.10.2') }}"), "True");
        assert_eq!(
            render("{{ v is version('1.10', operator='lt', strict=true) }}"),
            "False"
        );
        assert_eq!(
            render("{{ v is version('1.10.2-rc.1', 'gt', version_type='semver') }}"),
            "True"
        );
        let refused = render("{{ v is version('x', 'gt', version_type='strict') }}");
        assert!(
            refused.contains("version: invalid version \"x\" (strict)"),
            "{refused}"
        );
        let refused = render("{{ none is version('1') }}");
        assert!(
            refused.contains("the input version value cannot be empty"),
            "{refused}"
        );
    }
}
