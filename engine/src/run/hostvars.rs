//! Templates' `hostvars`, as Ansible gives it: each host's inventory
//! variables and magic variables, the whole `groups` map, and the facts
//! of the hosts gathered so far in the run (`ansible_facts` and the
//! `ansible_*` names; `ansible_facts` is `{}` for a host not gathered yet,
//! as in Ansible). The variables are built once per run and shared by
//! every host (see `lookup.rs`); the facts are read at each lookup, so a
//! host sees those of the hosts connected after its context was built.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use minijinja::value::{Enumerator, Object, Value};

use crate::inventory::Vars;
use crate::probe::Facts;

/// The facts of the hosts connected so far, under Ansible's names, by host
/// name: filled as hosts connect (`connect.rs`), read by [`HostVars`]. A
/// render connects no host: there, no other host has facts.
#[derive(Debug, Default)]
pub struct Gathered(RwLock<HashMap<String, Value>>);

impl Gathered {
    /// Keeps `facts` as `host`'s, for the templates of every host.
    pub(super) fn record(&self, host: &str, facts: &Facts) {
        let mut names = Vars::new();
        super::ansible_facts::insert(&mut names, facts);
        let value = Value::from(minijinja::value::Serde(&names));
        self.0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(host.to_string(), value);
    }

    fn of(&self, host: &str) -> Option<Value> {
        let facts = self
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        facts.get(host).cloned()
    }
}

/// `hostvars`: a mapping of host names to their variables.
#[derive(Debug)]
pub(super) struct HostVars {
    /// Each host's variables (a mapping of host names), `ansible_facts`
    /// empty.
    pub vars: Value,
    /// What every host's entry holds alike: `groups`. Kept once, not in
    /// each entry: copied per host it grew with the square of the hosts.
    pub common: Value,
    /// The facts gathered so far.
    pub gathered: Arc<Gathered>,
}

impl Object for HostVars {
    /// `hostvars[name]`: its facts win over its variables, as in Ansible,
    /// and `groups` over both (a magic variable).
    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let vars = self.vars.get_item(key).ok().filter(|v| !v.is_undefined())?;
        let common = self.common.clone();
        Some(match key.as_str().and_then(|h| self.gathered.of(h)) {
            Some(facts) => minijinja::context! { ..common, ..facts, ..vars },
            None => minijinja::context! { ..common, ..vars },
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        match self.vars.try_iter() {
            Ok(names) => Enumerator::Values(names.collect()),
            Err(_) => Enumerator::Empty,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(hostvars: &Arc<HostVars>, source: &str) -> String {
        let env = minijinja::Environment::new();
        let ctx = minijinja::context! { hostvars => Value::from_dyn_object(hostvars.clone()) };
        env.render_str(source, ctx).unwrap()
    }

    #[test]
    fn a_hosts_facts_show_once_gathered_and_groups_in_every_entry() {
        let vars = serde_json::json!({
            "a": { "port": 1, "ansible_facts": {} },
            "b": { "port": 2, "ansible_facts": {} },
        });
        let hostvars = Arc::new(HostVars {
            vars: Value::from(minijinja::value::Serde(&vars)),
            common: Value::from(minijinja::value::Serde(
                serde_json::json!({ "groups": { "web": ["a", "b"] } }),
            )),
            gathered: Arc::default(),
        });
        let source = "{{ hostvars.b.ansible_facts }} {{ hostvars.b.ansible_hostname | default('-') }} \
                      {{ hostvars.a.groups.web }} {{ hostvars | list }} {{ hostvars.c is defined }}";
        assert_eq!(
            render(&hostvars, source),
            "{} - ['a', 'b'] ['a', 'b'] False"
        );
        let facts = Facts {
            hostname: "bee".into(),
            ..Facts::default()
        };
        hostvars.gathered.record("b", &facts);
        let source = "{{ hostvars.b.ansible_facts.hostname }} {{ hostvars.b.ansible_hostname }} {{ hostvars.b.port }}";
        assert_eq!(render(&hostvars, source), "bee bee 2");
    }
}
