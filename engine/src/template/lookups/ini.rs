//! `ini`: a key's value in an INI file (or a Java properties file with
//! `type=properties`), read as Python's `configparser` reads it, which is
//! what Ansible's lookup uses: `=` or `:` between key and value, `#` and
//! `;` full-line comments, indented lines continuing a value, keys
//! lowercased unless `case_sensitive=True`, `[DEFAULT]` keys in every
//! section, `%(key)s` and `%%` interpolated unless `interpolation=False`.

use minijinja::value::Value;
use minijinja::{Error, State};

use super::call::Call;
use super::inline::{self, Term};
use super::{invalid, search};

const OPTIONS: &[&str] = &[
    "type",
    "file",
    "section",
    "re",
    "encoding",
    "default",
    "case_sensitive",
    "allow_no_value",
    "allow_none",
    "interpolation",
];

/// Each term's value; a regex key (`re=True`) gives every matching key's.
pub(super) fn lookup(state: &State, call: &Call) -> Result<Vec<Value>, Error> {
    let mut found = Vec::new();
    for term in inline::terms(call, "ini", OPTIONS)? {
        let file = term.get("file", "ansible.ini");
        let path = search::find(state, "files", file)?;
        let mut text = search::read_text(&path, term.get("encoding", "utf-8"))?;
        let properties = term.get("type", "ini") == "properties";
        if properties {
            text.insert_str(0, "[java_properties]\n");
        }
        let ini = Ini::parse(&text, &Settings::of(&term)?)
            .map_err(|e| invalid(format!("lookup ini {}: {e}", path.display())))?;
        let section = if properties {
            "java_properties"
        } else {
            term.get("section", "global")
        };
        let values = ini
            .values(&term, section)
            .map_err(|e| invalid(format!("lookup ini: {e} in {file:?}")))?;
        found.extend(values);
    }
    Ok(found)
}

/// How the file is read.
struct Settings {
    case_sensitive: bool,
    allow_no_value: bool,
    interpolation: bool,
}

impl Settings {
    fn of(term: &Term) -> Result<Settings, Error> {
        let no_value = term.flag("allow_no_value", false)? || term.flag("allow_none", false)?;
        Ok(Settings {
            case_sensitive: term.flag("case_sensitive", false)?,
            allow_no_value: no_value,
            interpolation: term.flag("interpolation", true)?,
        })
    }

    fn key(&self, key: &str) -> String {
        if self.case_sensitive {
            key.to_string()
        } else {
            key.to_lowercase()
        }
    }
}

/// Where the line being read goes.
#[derive(Clone, Copy)]
enum Place {
    Nowhere,
    Defaults,
    Section(usize),
}

/// A section's keys and values in file order (a key without a value is
/// `None`).
type Entries = Vec<(String, Option<String>)>;

/// The sections of a file.
struct Ini {
    defaults: Entries,
    sections: Vec<(String, Entries)>,
    interpolation: bool,
}

impl Ini {
    fn parse(text: &str, settings: &Settings) -> Result<Ini, String> {
        let mut ini = Ini {
            defaults: Vec::new(),
            sections: Vec::new(),
            interpolation: settings.interpolation,
        };
        let mut current = Place::Nowhere;
        // The option being read and its key's indentation, for continuations.
        let mut open: Option<(String, usize)> = None;
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            let indent = line.len() - line.trim_start().len();
            if trimmed.starts_with(['#', ';']) {
                continue;
            }
            if trimmed.is_empty() {
                if let Some((key, _)) = &open {
                    ini.append(current, key, "");
                }
                continue;
            }
            if let Some((key, level)) = &open {
                if indent > *level {
                    ini.append(current, key, trimmed);
                    continue;
                }
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                current = ini.section(name, n + 1)?;
                open = None;
                continue;
            }
            let (key, value) = match trimmed.find(['=', ':']) {
                Some(i) => (&trimmed[..i], Some(trimmed[i + 1..].trim().to_string())),
                None if settings.allow_no_value => (trimmed, None),
                None => return Err(format!("line {}: no `=` or `:` in {trimmed:?}", n + 1)),
            };
            let key = settings.key(key.trim_end());
            let entries = ini.entries(current, n + 1)?;
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(format!("line {}: option {key:?} given twice", n + 1));
            }
            entries.push((key.clone(), value));
            open = Some((key, indent));
        }
        ini.trim_values();
        Ok(ini)
    }

    /// Starts section `name` (`DEFAULT` holds the defaults).
    fn section(&mut self, name: &str, line: usize) -> Result<Place, String> {
        if name == "DEFAULT" {
            return Ok(Place::Defaults);
        }
        if self.sections.iter().any(|(s, _)| s == name) {
            return Err(format!("line {line}: section {name:?} given twice"));
        }
        self.sections.push((name.to_string(), Vec::new()));
        Ok(Place::Section(self.sections.len() - 1))
    }

    /// The entries of `place`: a key before any section is an error, as
    /// in configparser.
    fn entries(&mut self, place: Place, line: usize) -> Result<&mut Entries, String> {
        match place {
            Place::Section(i) => Ok(&mut self.sections[i].1),
            Place::Defaults => Ok(&mut self.defaults),
            Place::Nowhere => Err(format!("line {line}: a key before any [section]")),
        }
    }

    /// Adds a continuation line to `key`'s value.
    fn append(&mut self, place: Place, key: &str, line: &str) {
        let Ok(entries) = self.entries(place, 0) else {
            return;
        };
        if let Some((_, Some(value))) = entries.iter_mut().rev().find(|(k, _)| k == key) {
            value.push('\n');
            value.push_str(line);
        }
    }

    /// Drops the blank lines that ended multi-line values.
    fn trim_values(&mut self) {
        let all = self
            .sections
            .iter_mut()
            .flat_map(|(_, e)| e.iter_mut())
            .chain(self.defaults.iter_mut());
        for (_, value) in all {
            if let Some(v) = value {
                v.truncate(v.trim_end().len());
            }
        }
    }

    /// The section's keys and values, the defaults first.
    fn items(&self, section: &str) -> Option<Vec<(&str, Option<&str>)>> {
        let own = self.sections.iter().find(|(s, _)| s == section);
        if own.is_none() && section != "DEFAULT" {
            return None;
        }
        let mut items: Vec<(&str, Option<&str>)> = Vec::new();
        for (k, v) in self.defaults.iter().chain(own.iter().flat_map(|(_, e)| e)) {
            let v = v.as_deref();
            match items.iter_mut().find(|(key, _)| key == k) {
                Some(item) => item.1 = v,
                None => items.push((k, v)),
            }
        }
        Some(items)
    }

    /// The values the term asks for: its key's (or its default), or with
    /// `re=True` those of every key the regex matches from its start.
    fn values(&self, term: &Term, section: &str) -> Result<Vec<Value>, String> {
        let items = self
            .items(section)
            .ok_or_else(|| format!("no section {section:?}"))?;
        if term.flag("re", false).map_err(|e| e.to_string())? {
            let re = regex::Regex::new(&format!("^(?:{})", term.key))
                .map_err(|e| format!("re key {:?}: {e}", term.key))?;
            let matching = items.iter().filter(|(k, _)| re.is_match(k));
            let values = matching.filter_map(|(_, v)| v.map(|v| self.expand(v, &items, 0)));
            return values.map(|v| v.map(Value::from)).collect();
        }
        let key = if term
            .flag("case_sensitive", false)
            .map_err(|e| e.to_string())?
        {
            term.key.clone()
        } else {
            term.key.to_lowercase()
        };
        match items.iter().find(|(k, _)| *k == key) {
            Some((_, Some(v))) => Ok(vec![Value::from(self.expand(v, &items, 0)?)]),
            Some((_, None)) => Ok(Vec::new()),
            None => Ok(vec![term.value("default").unwrap_or(Value::from(""))]),
        }
    }

    /// `value` with `%%` and `%(key)s` replaced (configparser's
    /// `BasicInterpolation`), unless interpolation is off.
    fn expand(
        &self,
        value: &str,
        items: &[(&str, Option<&str>)],
        depth: usize,
    ) -> Result<String, String> {
        if !self.interpolation {
            return Ok(value.to_string());
        }
        if depth > 10 {
            return Err(format!("interpolation deeper than 10 levels in {value:?}"));
        }
        let mut out = String::new();
        let mut rest = value;
        while let Some(i) = rest.find('%') {
            out.push_str(&rest[..i]);
            rest = &rest[i + 1..];
            if let Some(r) = rest.strip_prefix('%') {
                out.push('%');
                rest = r;
                continue;
            }
            let (name, r) = rest
                .strip_prefix('(')
                .and_then(|r| r.split_once(")s"))
                .ok_or_else(|| format!("'%' must be followed by '%' or '(' in {value:?}"))?;
            let found = items.iter().find(|(k, _)| *k == name.to_lowercase());
            let Some((_, Some(v))) = found else {
                return Err(format!("no option {name:?} to interpolate in {value:?}"));
            };
            out.push_str(&self.expand(v, items, depth + 1)?);
            rest = r;
        }
        out.push_str(rest);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> Settings {
        Settings {
            case_sensitive: false,
            allow_no_value: true,
            interpolation: true,
        }
    }

    #[test]
    fn continuations_defaults_and_keys_without_values_read_as_configparser_does() {
        let text = "[DEFAULT]\nbase = /srv\n[app]\nDir = %(base)s/app\nnote = one\n  two\n\nflag\n";
        let ini = Ini::parse(text, &settings()).unwrap();
        let items = ini.items("app").unwrap();
        assert_eq!(
            items,
            [
                ("base", Some("/srv")),
                ("dir", Some("%(base)s/app")),
                ("note", Some("one\ntwo")),
                ("flag", None)
            ]
        );
        assert_eq!(ini.expand("%(base)s/app", &items, 0).unwrap(), "/srv/app");
        assert!(ini.expand("100%", &items, 0).is_err());
    }

    #[test]
    fn a_key_given_twice_is_an_error_as_in_configparser() {
        let err = Ini::parse("[a]\nx=1\nX=2\n", &settings()).err().unwrap();
        assert!(err.contains("given twice"), "{err}");
    }
}
