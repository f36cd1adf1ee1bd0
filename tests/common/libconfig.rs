//! A strict reader of libconfig files (the format of `proxysql.cnf`), for
//! tests that check a rendered config's structure rather than its text.
//!
//! Why our own: the one maintained crate (libconfig-rs 4) requires a `;`
//! after every setting and knows no comments, so it rejects files libconfig
//! itself reads (ProxySQL's own examples have neither); the others are
//! bindings to the C library. This follows libconfig's grammar
//! (<https://hyperrealm.github.io/libconfig/libconfig_manual.html>,
//! "Configuration File Grammar") and is stricter where it may be: a
//! duplicate name in a group, a trailing comma, an `@include`, a mixed-type
//! array or anything after the last setting is an error, so a file it
//! accepts is one libconfig accepts.

use std::fmt;

/// A libconfig value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
    /// `[ ... ]`: scalars of one type.
    Array(Vec<Value>),
    /// `( ... )`: values of any type.
    List(Vec<Value>),
    /// `{ ... }`: named settings, in file order.
    Group(Vec<(String, Value)>),
}

impl Value {
    /// The setting `name` of a group; None for a missing name or a non-group.
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Group(settings) => settings.iter().find(|(n, _)| n == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The setting at `path` ("mysql_variables.interfaces"), or a panic
    /// naming what is missing: tests read what must be there.
    pub fn at(&self, path: &str) -> &Value {
        path.split('.').fold(self, |v, name| {
            v.get(name)
                .unwrap_or_else(|| panic!("libconfig: no setting {path:?} (missing {name:?})"))
        })
    }

    pub fn int(&self) -> i64 {
        match self {
            Value::Int(i) => *i,
            other => panic!("libconfig: {other} is not an integer"),
        }
    }

    pub fn str(&self) -> &str {
        match self {
            Value::Str(s) => s,
            other => panic!("libconfig: {other} is not a string"),
        }
    }

    /// The elements of a list or an array.
    pub fn items(&self) -> &[Value] {
        match self {
            Value::List(v) | Value::Array(v) => v,
            other => panic!("libconfig: {other} is not a list or an array"),
        }
    }

    /// The names of a group's settings, in file order.
    pub fn names(&self) -> Vec<&str> {
        match self {
            Value::Group(settings) => settings.iter().map(|(n, _)| n.as_str()).collect(),
            other => panic!("libconfig: {other} is not a group"),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Bool(_) => "boolean",
            Value::Str(_) => "string",
            Value::Array(_) => "array",
            Value::List(_) => "list",
            Value::Group(_) => "group",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => write!(f, "{s:?}"),
            other => write!(f, "a {}", other.kind()),
        }
    }
}

/// Parses a whole libconfig file: its top-level settings as a group.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        s: text.as_bytes(),
        at: 0,
    };
    let settings = p.settings(None)?;
    Ok(Value::Group(settings))
}

struct Parser<'a> {
    s: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn err<T>(&self, what: impl fmt::Display) -> Result<T, String> {
        let line = 1 + self.s[..self.at].iter().filter(|&&b| b == b'\n').count();
        Err(format!("libconfig: line {line}: {what}"))
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    /// Skips white space and the three comment forms.
    fn blank(&mut self) -> Result<(), String> {
        loop {
            match (self.peek(), self.s.get(self.at + 1)) {
                (Some(b' ' | b'\t' | b'\r' | b'\n'), _) => self.at += 1,
                (Some(b'#'), _) | (Some(b'/'), Some(b'/')) => {
                    while self.peek().is_some_and(|b| b != b'\n') {
                        self.at += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let rest = &self.s[self.at + 2..];
                    match rest.windows(2).position(|w| w == b"*/") {
                        Some(end) => self.at += 2 + end + 2,
                        None => return self.err("unterminated /* comment"),
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    /// Settings up to `close` (a group's `}`) or the end of the file.
    fn settings(&mut self, close: Option<u8>) -> Result<Vec<(String, Value)>, String> {
        let mut out: Vec<(String, Value)> = Vec::new();
        loop {
            self.blank()?;
            match (self.peek(), close) {
                (None, None) => return Ok(out),
                (None, Some(c)) => return self.err(format!("missing {:?}", c as char)),
                (Some(b), Some(c)) if b == c => {
                    self.at += 1;
                    return Ok(out);
                }
                (Some(b'@'), _) => return self.err("@include and other directives are refused"),
                _ => {}
            }
            let name = self.name()?;
            if out.iter().any(|(n, _)| *n == name) {
                return self.err(format!("duplicate setting {name:?}"));
            }
            self.blank()?;
            match self.peek() {
                Some(b'=' | b':') => self.at += 1,
                _ => return self.err(format!("expected = or : after {name:?}")),
            }
            let value = self.value()?;
            self.blank()?;
            if matches!(self.peek(), Some(b';' | b',')) {
                self.at += 1;
            }
            out.push((name, value));
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let start = self.at;
        match self.peek() {
            Some(b) if b.is_ascii_alphabetic() || b == b'*' => self.at += 1,
            _ => return self.err("expected a setting name"),
        }
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'*'))
        {
            self.at += 1;
        }
        Ok(String::from_utf8_lossy(&self.s[start..self.at]).into_owned())
    }

    fn value(&mut self) -> Result<Value, String> {
        self.blank()?;
        match self.peek() {
            Some(b'{') => {
                self.at += 1;
                Ok(Value::Group(self.settings(Some(b'}'))?))
            }
            Some(b'(') => {
                self.at += 1;
                Ok(Value::List(self.values(b')')?))
            }
            Some(b'[') => {
                self.at += 1;
                let items = self.values(b']')?;
                if let Some(first) = items.first() {
                    if let Some(odd) = items.iter().find(|v| v.kind() != first.kind()) {
                        return self.err(format!("array of {}s holds {odd}", first.kind()));
                    }
                    if matches!(first, Value::Array(_) | Value::List(_) | Value::Group(_)) {
                        return self.err("an array holds scalars only");
                    }
                }
                Ok(Value::Array(items))
            }
            Some(b'"') => self.string(),
            Some(_) => self.scalar(),
            None => self.err("expected a value"),
        }
    }

    /// Comma-separated values up to `close` (no trailing comma).
    fn values(&mut self, close: u8) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        self.blank()?;
        if self.peek() == Some(close) {
            self.at += 1;
            return Ok(out);
        }
        loop {
            out.push(self.value()?);
            self.blank()?;
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b) if b == close => {
                    self.at += 1;
                    return Ok(out);
                }
                _ => return self.err(format!("expected , or {:?}", close as char)),
            }
        }
    }

    /// One or more adjacent double-quoted strings, concatenated.
    fn string(&mut self) -> Result<Value, String> {
        let mut out = Vec::new();
        while self.peek() == Some(b'"') {
            self.at += 1;
            loop {
                match self.peek() {
                    None | Some(b'\n') => return self.err("unterminated string"),
                    Some(b'"') => {
                        self.at += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let b = match self.s.get(self.at + 1) {
                            Some(b'\\') => b'\\',
                            Some(b'"') => b'"',
                            Some(b'f') => 0x0c,
                            Some(b'n') => b'\n',
                            Some(b'r') => b'\r',
                            Some(b't') => b'\t',
                            Some(b'x') => {
                                let hex = self.s.get(self.at + 2..self.at + 4).unwrap_or_default();
                                let Some(b) = std::str::from_utf8(hex)
                                    .ok()
                                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                                else {
                                    return self.err("bad \\x escape");
                                };
                                self.at += 2;
                                b
                            }
                            _ => return self.err("unknown escape in a string"),
                        };
                        out.push(b);
                        self.at += 2;
                    }
                    Some(b) => {
                        out.push(b);
                        self.at += 1;
                    }
                }
            }
            self.blank()?;
        }
        match String::from_utf8(out) {
            Ok(s) => Ok(Value::Str(s)),
            Err(_) => self.err("a string that is not UTF-8"),
        }
    }

    /// A boolean, an integer (decimal, 0x hex, optional L) or a float.
    fn scalar(&mut self) -> Result<Value, String> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+'))
        {
            self.at += 1;
        }
        let word = String::from_utf8_lossy(&self.s[start..self.at]).into_owned();
        if word.eq_ignore_ascii_case("true") || word.eq_ignore_ascii_case("false") {
            return Ok(Value::Bool(word.eq_ignore_ascii_case("true")));
        }
        let digits = word
            .strip_suffix("LL")
            .or(word.strip_suffix('L'))
            .unwrap_or(&word);
        let int = match digits.strip_prefix("0x").or(digits.strip_prefix("0X")) {
            Some(hex) => i64::from_str_radix(hex, 16).ok(),
            None if digits
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'-' || b == b'+') =>
            {
                digits.parse().ok()
            }
            None => None,
        };
        if let Some(i) = int {
            return Ok(Value::Int(i));
        }
        let is_float = word.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
            && word
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
        match word.parse::<f64>() {
            Ok(x) if is_float => Ok(Value::Float(x)),
            _ => self.err(format!("{word:?} is not a value")),
        }
    }
}
