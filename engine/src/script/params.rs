//! The `params` an operation written in Rhai declares: each parameter's
//! name and doc, and whether it is required or what its default is.
//!
//! ```rhai
//! params: #{
//!     name: "the database",                                           // required
//!     container: #{ doc: "the container", default_value: "patroni" },  // optional
//!     comment: #{ doc: "a comment" },                  // optional, no default
//! }
//! ```
//!
//! The call is checked against it as a built-in op's is (an unknown or a
//! missing parameter is an error) and a default fills an argument left out,
//! so the plan reads `args.container` without testing for it. The key is
//! `default_value`: `default` is a Rhai keyword. `kbz-play doc OP` prints
//! the same declaration, read from the role's source.

use rhai::{Dynamic, Engine, Map};

/// One declared parameter.
#[derive(Debug, Clone)]
pub struct Param {
    /// Its name, the argument's key.
    pub name: String,
    /// What it is, for the op's page.
    pub doc: String,
    /// Whether a call must give it.
    pub required: bool,
    /// The value an optional parameter takes when left out, if any.
    pub default: Option<Dynamic>,
}

impl Param {
    /// What it takes, for a parameters table: `required`, `default "patroni"`
    /// or `default none`.
    pub fn takes(&self) -> String {
        match (&self.default, self.required) {
            (_, true) => "required".into(),
            (Some(d), false) if d.is_string() => format!("default {:?}", d.to_string()),
            (Some(d), false) => format!("default {d}"),
            (None, false) => "default none".into(),
        }
    }
}

const SHAPE: &str = "params is a map of parameter names to their doc (a required one) or to \
                     #{ doc: \"...\", default_value: VALUE } (an optional one; without default_value when it has none)";

/// The parameters `params` declares, in name order.
pub fn params_of(params: &Map) -> Result<Vec<Param>, String> {
    params.iter().map(|(name, v)| param(name, v)).collect()
}

fn param(name: &str, value: &Dynamic) -> Result<Param, String> {
    let bad = || format!("{SHAPE}; '{name}' is neither");
    if value.is_string() {
        return Ok(Param {
            name: name.to_owned(),
            doc: value.to_string(),
            required: true,
            default: None,
        });
    }
    let mut spec = value.clone().try_cast::<Map>().ok_or_else(bad)?;
    let doc = spec
        .remove("doc")
        .filter(Dynamic::is_string)
        .ok_or_else(bad)?;
    let default = spec.remove("default_value");
    if let Some(k) = spec.keys().next() {
        return Err(format!("{SHAPE}; '{name}' has an unknown key '{k}'"));
    }
    Ok(Param {
        name: name.to_owned(),
        doc: doc.to_string(),
        required: false,
        default,
    })
}

/// Checks `args` against `params` as built-in ops are checked, and fills in
/// the defaults of the optional parameters left out.
pub fn check_args(op: &str, args: &mut Map, params: &[Param]) -> Result<(), String> {
    for key in args.keys() {
        if !params.iter().any(|p| p.name == key.as_str()) {
            let names = params.iter().map(|p| p.name.as_str());
            let hint = crate::op::suggest(key, names)
                .map(|s| format!("; did you mean '{s}'?"))
                .unwrap_or_default();
            return Err(format!("unknown parameter '{key}' for {op}(){hint}"));
        }
    }
    for p in params {
        if args.contains_key(p.name.as_str()) {
            continue;
        }
        match (&p.default, p.required) {
            (_, true) => return Err(format!("{op}() needs the parameter '{}'", p.name)),
            (Some(d), false) => {
                args.insert(p.name.as_str().into(), d.clone());
            }
            (None, false) => {}
        }
    }
    Ok(())
}

/// The parameters a `params: #{ ... }` literal of a role's source declares
/// (`kbz-play doc` reads roles without running them), in the order they are
/// written.
pub fn declared_params(literal: &str) -> Result<Vec<Param>, String> {
    let map: Map = Engine::new_raw()
        .eval_expression(literal)
        .map_err(|e| format!("params is not a literal map: {e}"))?;
    let mut params = params_of(&map)?;
    params.sort_by_key(|p| literal.find(&format!("{}:", p.name)));
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LITERAL: &str = r#"#{
        name: "the database",
        owner: "its owner",
        container: #{ doc: "the container", default_value: "patroni" },
        port: #{ doc: "the port", default_value: 5432 },
        comment: #{ doc: "a comment" },
    }"#;

    #[test]
    fn a_declaration_reads_in_its_order_with_what_each_takes() {
        let params = declared_params(LITERAL).unwrap();
        let rows: Vec<(&str, String)> = params
            .iter()
            .map(|p| (p.name.as_str(), p.takes()))
            .collect();
        assert_eq!(
            rows,
            [
                ("name", "required".to_string()),
                ("owner", "required".into()),
                ("container", "default \"patroni\"".into()),
                ("port", "default 5432".into()),
                ("comment", "default none".into()),
            ]
        );
        let bad = declared_params("#{ x: 1 }").unwrap_err();
        assert!(bad.contains("'x' is neither"), "{bad}");
        let bad = declared_params("#{ x: #{ doc: \"d\", default_valeu: 1 } }").unwrap_err();
        assert!(bad.contains("unknown key 'default_valeu'"), "{bad}");
    }

    #[test]
    fn calls_are_checked_and_defaults_filled_in() {
        let params = declared_params(LITERAL).unwrap();
        let mut args = Map::new();
        args.insert("name".into(), "app".into());
        args.insert("owner".into(), "app".into());
        check_args("db", &mut args, &params).unwrap();
        assert_eq!(args["container"].to_string(), "patroni");
        assert_eq!(args["port"].as_int().unwrap(), 5432);
        assert!(!args.contains_key("comment"));

        args.remove("owner");
        let err = check_args("db", &mut args, &params).unwrap_err();
        assert_eq!(err, "db() needs the parameter 'owner'");
        args.insert("onwer".into(), "app".into());
        let err = check_args("db", &mut args, &params).unwrap_err();
        assert!(err.contains("did you mean 'owner'?"), "{err}");
    }
}
