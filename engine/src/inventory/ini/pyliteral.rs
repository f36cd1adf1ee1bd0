//! The two Python functions ansible-core's INI plugin runs on values:
//! `shlex.split(line, comments=True)` on host lines and `ast.literal_eval` on
//! every value, so `110` is an int, `"['a','b']"` a list and `true` stays
//! the string "true" (`True` is the bool).
//!
//! `literal_eval` is reimplemented for the literals an inventory holds:
//! numbers (`1_000`, `0x1f`, `1.5e3`, signs), strings (quotes, prefixes,
//! escapes, implicit concatenation), lists, tuples, sets, dicts, `True`,
//! `False`, `None`, `...`, a bare `a, b` tuple and `#` comments. Anything it
//! does not accept stays the raw string, as a `ValueError`/`SyntaxError` does
//! in Ansible. A complex number (`3j`, `1+2j`) becomes Python's `str()` of
//! it (`"(1+2j)"`), which is what ansible-inventory prints. Where Ansible
//! differs: integers beyond 64 bits and `\N{name}` escapes stay strings
//! here; a set of several items
//! keeps its written order (Python's depends on hashes); dict keys equal
//! in Python (`1` and `True`) stay two keys.

use serde_json::{Map, Number, Value};

/// `shlex.split(line, comments=True)` (POSIX mode): whitespace-separated
/// words, quotes removed, `#` outside quotes ends the line. `Err` for an
/// unclosed quote or a trailing backslash, with the message Python gives.
pub(crate) fn shlex_split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' => break,
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("No closing quotation".to_string()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("No closing quotation".to_string()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("No closing quotation".to_string()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err("No escaped character".to_string()),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// Ansible's `_parse_value`: the Python literal `text` denotes, as JSON, or
/// the text itself when it is not a literal.
pub(crate) fn parse_value(text: &str) -> Value {
    let mut p = Parser {
        s: text.trim_start_matches([' ', '\t']).as_bytes(),
        i: 0,
        depth: 0,
        complex: None,
    };
    match p.top() {
        Some(v) => v,
        None => Value::String(text.to_string()),
    }
}

/// How deeply brackets and signs may nest: deeper values stay strings
/// rather than exhaust the stack (Python fails on them too, with a
/// RecursionError, around the same depth).
const MAX_DEPTH: usize = 100;

/// A cursor over the value's bytes; every method returns `None` when the
/// text is not a literal it accepts.
struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
    /// The complex number (real, imaginary) the value ending at this byte
    /// stands for: JSON holds it as Python's `str()` of it, as
    /// ansible-inventory prints it, so its parts are kept here for a sign
    /// or a `1+2j` sum to apply to.
    complex: Option<(usize, f64, f64)>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Skips blanks and a `#` comment (which runs to the end: one line).
    fn blank(&mut self) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' => self.i += 1,
                b'#' => self.i = self.s.len(),
                _ => break,
            }
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.blank();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    /// The whole text: one expression, or a bare tuple `a, b`.
    fn top(&mut self) -> Option<Value> {
        let first = self.expr()?;
        self.blank();
        let v = if self.peek() == Some(b',') {
            let mut items = vec![first];
            while self.eat(b',') {
                self.blank();
                if self.peek().is_none() {
                    break;
                }
                items.push(self.expr()?);
            }
            Value::Array(items)
        } else {
            first
        };
        self.blank();
        (self.i == self.s.len()).then_some(v)
    }

    /// An operand, or Python's one binary literal: a real number plus or
    /// minus an imaginary one (`1+2j`).
    fn expr(&mut self) -> Option<Value> {
        let left = self.operand()?;
        self.complex_sum(left)
    }

    fn operand(&mut self) -> Option<Value> {
        self.depth += 1;
        let v = if self.depth > MAX_DEPTH {
            None
        } else {
            self.expr_inner()
        };
        self.depth -= 1;
        v
    }

    /// The complex parts of the value just parsed, if it is one.
    fn last_complex(&self) -> Option<(f64, f64)> {
        self.complex
            .filter(|&(end, _, _)| end == self.i)
            .map(|(_, re, im)| (re, im))
    }

    fn complex_value(&mut self, re: f64, im: f64) -> Value {
        self.complex = Some((self.i, re, im));
        Value::String(complex_str(re, im))
    }

    /// `left + IMAGINARY` or `left - IMAGINARY` when they follow a real
    /// number; any other operation is no literal (`None`).
    fn complex_sum(&mut self, left: Value) -> Option<Value> {
        let end = self.i;
        self.blank();
        let neg = match self.peek() {
            Some(b'+') => false,
            Some(b'-') => true,
            _ => {
                self.i = end;
                return Some(left);
            }
        };
        let re = left.as_f64().filter(|_| self.last_complex().is_none())?;
        self.i += 1;
        self.blank();
        if !self.peek().is_some_and(|c| c.is_ascii_digit() || c == b'.') {
            return None;
        }
        self.number()?;
        let (_, im) = self.last_complex()?;
        Some(if neg {
            self.complex_value(re - 0.0, 0.0 - im)
        } else {
            self.complex_value(re + 0.0, 0.0 + im)
        })
    }

    fn expr_inner(&mut self) -> Option<Value> {
        self.blank();
        match self.peek()? {
            b'-' | b'+' => {
                let neg = self.peek() == Some(b'-');
                self.i += 1;
                self.blank();
                // Python takes one sign on a number literal, not `--1`.
                if matches!(self.peek(), Some(b'-' | b'+')) {
                    return None;
                }
                let v = self.operand()?;
                match (self.last_complex(), neg) {
                    (Some((re, im)), true) => Some(self.complex_value(-re, -im)),
                    (Some(_), false) => Some(v),
                    (None, true) => negate(&v),
                    (None, false) => v.is_number().then_some(v),
                }
            }
            b'[' => {
                self.i += 1;
                Some(Value::Array(self.items(b']')?))
            }
            b'(' => self.paren(),
            b'{' => self.brace(),
            b'0'..=b'9' => self.number(),
            b'.' if self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit) => self.number(),
            b'.' => self.s[self.i..].starts_with(b"...").then(|| {
                self.i += 3;
                Value::String("...".to_string())
            }),
            _ => self.name_or_string(),
        }
    }

    /// Comma-separated expressions up to `close` (a trailing comma allowed).
    fn items(&mut self, close: u8) -> Option<Vec<Value>> {
        let mut out = Vec::new();
        loop {
            if self.eat(close) {
                return Some(out);
            }
            out.push(self.expr()?);
            if !self.eat(b',') {
                return self.eat(close).then_some(out);
            }
        }
    }

    /// `(x)` is x; `()`, `(x,)` and `(x, y)` are tuples (lists in JSON).
    fn paren(&mut self) -> Option<Value> {
        self.i += 1;
        if self.eat(b')') {
            return Some(Value::Array(Vec::new()));
        }
        let first = self.expr()?;
        if self.eat(b')') {
            return Some(first);
        }
        if !self.eat(b',') {
            return None;
        }
        let mut items = vec![first];
        items.extend(self.items(b')')?);
        Some(Value::Array(items))
    }

    /// `{}` and `{k: v}` are dicts, `{a, b}` a set (a list in JSON, in the
    /// written order).
    fn brace(&mut self) -> Option<Value> {
        self.i += 1;
        if self.eat(b'}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.expr()?;
        if !self.eat(b':') {
            if self.eat(b'}') {
                return Some(Value::Array(vec![first]));
            }
            if !self.eat(b',') {
                return None;
            }
            let mut items = vec![first];
            items.extend(self.items(b'}')?);
            return Some(Value::Array(items));
        }
        let mut map = Map::new();
        let mut key = first;
        loop {
            map.insert(json_key(&key)?, self.expr()?);
            if self.eat(b'}') {
                return Some(Value::Object(map));
            }
            if !self.eat(b',') {
                return None;
            }
            if self.eat(b'}') {
                return Some(Value::Object(map));
            }
            key = self.expr()?;
            if !self.eat(b':') {
                return None;
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        while let Some(c) = self.peek() {
            let exp_sign = matches!(c, b'+' | b'-')
                && matches!(self.s.get(self.i - 1), Some(b'e' | b'E'))
                && !self.s[start..self.i].starts_with(b"0x")
                && !self.s[start..self.i].starts_with(b"0X");
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exp_sign {
                self.i += 1;
            } else {
                break;
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        match text.strip_suffix(['j', 'J']) {
            Some(imaginary) => {
                let im = python_number(imaginary)?.as_f64()?;
                Some(self.complex_value(0.0, im))
            }
            None => python_number(text),
        }
    }

    /// `True`/`False`/`None`, or string literals (with optional prefixes),
    /// adjacent ones concatenated.
    fn name_or_string(&mut self) -> Option<Value> {
        let start = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.i += 1;
        }
        let word = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        if !matches!(self.peek(), Some(b'\'' | b'"')) {
            return match word {
                "True" => Some(Value::Bool(true)),
                "False" => Some(Value::Bool(false)),
                "None" => Some(Value::Null),
                _ => None,
            };
        }
        let mut out = String::new();
        let mut bytes = None;
        self.i = start;
        loop {
            self.blank();
            let (raw, is_bytes) = self.prefix()?;
            if *bytes.get_or_insert(is_bytes) != is_bytes {
                return None;
            }
            out.push_str(&self.string(raw)?);
            self.blank();
            if !self
                .peek()
                .is_some_and(|c| c == b'\'' || c == b'"' || c.is_ascii_alphabetic())
            {
                return Some(Value::String(out));
            }
        }
    }

    /// A string prefix (`r`, `b`, `u`, `rb`...): (raw, bytes). `f` strings
    /// are not literals.
    fn prefix(&mut self) -> Option<(bool, bool)> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            self.i += 1;
        }
        let p = std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .to_ascii_lowercase();
        match p.as_str() {
            "" | "u" => Some((false, false)),
            "r" => Some((true, false)),
            "b" => Some((false, true)),
            "rb" | "br" => Some((true, true)),
            _ => None,
        }
    }

    /// One quoted string at the cursor, escapes decoded unless `raw`.
    fn string(&mut self, raw: bool) -> Option<String> {
        let q = self.peek()?;
        if q != b'\'' && q != b'"' {
            return None;
        }
        let triple = self.s[self.i..].starts_with(&[q, q, q]);
        let delim: &[u8] = if triple { &[q, q, q] } else { &[q] };
        self.i += delim.len();
        let rest = std::str::from_utf8(&self.s[self.i..]).ok()?;
        let mut out = String::new();
        let mut it = rest.char_indices().peekable();
        while let Some((off, c)) = it.next() {
            if rest.as_bytes()[off..].starts_with(delim) {
                self.i += off + delim.len();
                return Some(out);
            }
            match c {
                '\n' if !triple => return None,
                '\\' if raw => {
                    out.push('\\');
                    if let Some((_, n)) = it.next() {
                        out.push(n);
                    }
                }
                '\\' => unescape(&mut it, &mut out)?,
                c => out.push(c),
            }
        }
        None
    }
}

/// Decodes one escape after a backslash, as Python does in a str literal
/// (an unknown escape keeps its backslash).
fn unescape(
    it: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    out: &mut String,
) -> Option<()> {
    let (_, c) = it.next()?;
    let simple = match c {
        '\n' => Some(None),
        '\\' => Some(Some('\\')),
        '\'' => Some(Some('\'')),
        '"' => Some(Some('"')),
        'a' => Some(Some('\x07')),
        'b' => Some(Some('\x08')),
        'f' => Some(Some('\x0c')),
        'n' => Some(Some('\n')),
        'r' => Some(Some('\r')),
        't' => Some(Some('\t')),
        'v' => Some(Some('\x0b')),
        _ => None,
    };
    if let Some(ch) = simple {
        out.extend(ch);
        return Some(());
    }
    let mut take = |n: usize, radix: u32, exact: bool| -> Option<char> {
        let mut digits = String::new();
        while digits.len() < n && it.peek().is_some_and(|(_, d)| d.is_digit(radix)) {
            digits.push(it.next()?.1);
        }
        if digits.is_empty() || (exact && digits.len() != n) {
            return None;
        }
        char::from_u32(u32::from_str_radix(&digits, radix).ok()?)
    };
    match c {
        '0'..='7' => {
            let mut v = c.to_digit(8)?;
            for _ in 0..2 {
                match it.peek() {
                    Some(&(_, d)) if d.is_digit(8) => {
                        v = v * 8 + d.to_digit(8)?;
                        it.next();
                    }
                    _ => break,
                }
            }
            out.push(char::from_u32(v)?);
        }
        'x' => out.push(take(2, 16, true)?),
        'u' => out.push(take(4, 16, true)?),
        'U' => out.push(take(8, 16, true)?),
        'N' => return None,
        c => {
            out.push('\\');
            out.push(c);
        }
    }
    Some(())
}

/// A Python int or float literal (no sign), as JSON.
fn python_number(text: &str) -> Option<Value> {
    if text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    let lower = text.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            let digits = digits.strip_prefix('_').unwrap_or(digits).replace('_', "");
            return i64::from_str_radix(&digits, radix).ok().map(Value::from);
        }
    }
    let plain = lower.replace('_', "");
    if plain.bytes().all(|b| b.is_ascii_digit()) {
        // `010` is a SyntaxError in Python 3; `00` is zero.
        if plain.len() > 1 && plain.starts_with('0') && plain.bytes().any(|b| b != b'0') {
            return None;
        }
        return plain.parse::<i64>().ok().map(Value::from);
    }
    let valid_float = plain
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'+' | b'-'))
        && plain.bytes().any(|b| b.is_ascii_digit())
        && !plain.starts_with('e');
    if !valid_float {
        return None;
    }
    let f: f64 = plain.parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

/// Python's `str()` of a complex number: `3j`, `(-0-3j)`, `(1+2j)`.
fn complex_str(re: f64, im: f64) -> String {
    if re == 0.0 && re.is_sign_positive() {
        return format!("{}j", float_str(im));
    }
    let sign = if im.is_sign_negative() { '-' } else { '+' };
    format!("({}{sign}{}j)", float_str(re), float_str(im.abs()))
}

/// A part of a complex as Python writes it: `repr` without the `.0` of an
/// integral float (`2`, `1.5`, `1e-05`, `1e+20`).
fn float_str(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "nan"
        } else if f > 0.0 {
            "inf"
        } else {
            "-inf"
        }
        .to_string();
    }
    if f == 0.0 || (1e-4..1e16).contains(&f.abs()) {
        return f.to_string();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{mantissa}e{sign}{:02}", exp.abs())
}

/// `-x` for a number literal.
fn negate(v: &Value) -> Option<Value> {
    let n = v.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(Value::from(i.checked_neg()?));
    }
    Number::from_f64(-n.as_f64()?).map(Value::Number)
}

/// A dict key as ansible-inventory's JSON output writes it: Python's
/// `json.dumps` turns number, bool and None keys into strings; a list key is
/// unhashable (an error in Ansible too).
fn json_key(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some("null".to_string()),
        Value::Number(n) => Some(python_float_repr(n)),
        _ => None,
    }
}

/// `str()` of a JSON number as Python prints it (`1.0`, not `1`).
fn python_float_repr(n: &Number) -> String {
    match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => i.to_string(),
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e16 => format!("{f:.1}"),
        _ => n.to_string(),
    }
}
