//! Ansible's fully qualified names: every filter and test kbz-play has is
//! also `ansible.builtin.NAME` (Jinja's own included, as in Ansible), except
//! those Ansible keeps in other collections: the ipaddr family is
//! `ansible.utils.NAME` and `ansible.netcommon.NAME`, `json_query` is
//! `community.general.json_query`. The names come from the one list of what
//! kbz-play has ([`FILTERS`], [`TESTS`]): an alias forwards to the short
//! name, so nothing is declared twice.

use minijinja::value::{Kwargs, Rest, Value};
use minijinja::{Environment, State};

use super::ipaddr;
use crate::template::unknown::{FILTERS, TESTS};

/// The collection every filter and test is also found in.
pub const BUILTIN: &str = "ansible.builtin.";

/// The filters Ansible keeps outside `ansible.builtin`, by collection.
const COLLECTIONS: &[(&str, &[&str])] = &[
    ("ansible.utils.", ipaddr::NAMES),
    ("ansible.netcommon.", ipaddr::NAMES),
    ("community.general.", &["json_query"]),
];

/// Adds the qualified aliases; call after every filter and test is in `env`.
pub(super) fn register(env: &mut Environment<'static>) {
    let elsewhere = |name: &&str| COLLECTIONS.iter().any(|(_, names)| names.contains(name));
    for &name in FILTERS.iter().filter(|n| !elsewhere(n)) {
        alias_filter(env, BUILTIN, name);
    }
    for &name in TESTS {
        let alias = format!("{BUILTIN}{name}");
        env.add_test(
            alias,
            move |state: &State, args: Rest<Value>, kwargs: Kwargs| {
                let args = forwarded(args, kwargs);
                state.env().empty_state().perform_test(name, &args)
            },
        );
    }
    for (prefix, names) in COLLECTIONS {
        for &name in *names {
            alias_filter(env, prefix, name);
        }
    }
}

/// `prefix` + `name` as a filter doing what `name` does (its keyword
/// arguments travel as the last of `args`).
fn alias_filter(env: &mut Environment<'static>, prefix: &str, name: &'static str) {
    env.add_filter(
        format!("{prefix}{name}"),
        move |state: &State, args: Rest<Value>, kwargs: Kwargs| {
            let args = forwarded(args, kwargs);
            state.env().empty_state().apply_filter(name, &args)
        },
    );
}

/// The arguments to pass on: the positional ones, then the keyword ones
/// as minijinja passes them (one last value), if any.
pub(super) fn forwarded(args: Rest<Value>, kwargs: Kwargs) -> Vec<Value> {
    let mut args = args.0;
    if kwargs.args().next().is_some() {
        args.push(Value::from(kwargs));
    }
    args
}

/// The short name of a qualified one (`ansible.builtin.to_json` gives
/// `to_json`), for the unknown-name hint.
pub fn short_name(name: &str) -> &str {
    std::iter::once(BUILTIN)
        .chain(COLLECTIONS.iter().map(|(prefix, _)| *prefix))
        .find_map(|prefix| name.strip_prefix(prefix))
        .unwrap_or(name)
}

#[cfg(test)]
mod unit {
    use minijinja::context;

    fn render(source: &str) -> String {
        let mut env = minijinja::Environment::new();
        super::super::register(&mut env);
        env.render_str(source, context! { x => "a,b" })
            .unwrap_or_else(|e| format!("error: {e:#}"))
    }

    #[test]
    fn a_qualified_filter_or_test_does_what_the_short_one_does() {
        assert_eq!(render("{{ [3, 1] | ansible.builtin.sort }}"), "[1, 3]");
        assert_eq!(
            render("{{ [1] | ansible.builtin.zip_longest([2, 3], fillvalue=0) | list }}"),
            "[[1, 2], [0, 3]]"
        );
        assert_eq!(render("{{ 2 is ansible.builtin.even }}"), "True");
        assert_eq!(
            render("{{ x is ansible.builtin.search('b', ignorecase=true) }}"),
            "True"
        );
        assert_eq!(
            render("{{ '10.0.0.1/24' | ansible.utils.ipaddr('network') }}"),
            "10.0.0.0"
        );
        assert_eq!(
            render("{{ '10.0.0.1/24' | ansible.netcommon.ipaddr('network') }}"),
            "10.0.0.0"
        );
    }

    #[test]
    fn a_qualified_lookup_is_the_short_one() {
        let mut env = minijinja::Environment::new();
        crate::template::lookups::register(&mut env, &crate::template::lookups::Sources::default());
        let out = env.render_str("{{ lookup('ansible.builtin.items', ['a', 'b']) }}", ());
        assert_eq!(out.unwrap(), "a,b");
    }

    #[test]
    fn a_filter_is_only_in_the_collection_ansible_has_it_in() {
        assert!(render("{{ x | ansible.utils.to_json }}").contains("unknown"));
        assert!(render("{{ x | ansible.builtin.ipaddr }}").contains("unknown"));
        assert_eq!(
            render("{{ [{'a': 1}] | community.general.json_query('[0].a') }}"),
            "1"
        );
    }
}
