//! YAML text as PyYAML writes it with libyaml's emitter (`CSafeDumper`,
//! `allow_unicode=True`, keys sorted unless `sort_keys=False`, sequences
//! unindented under their key), for `ansible-inventory --yaml` (block style, indent 2, width 80)
//! and the `to_yaml`/`to_nice_yaml` filters (their [`Options`]), so the
//! outputs can be compared with Ansible's byte for byte.
//!
//! A port of the parts that JSON values reach: libyaml's scalar analysis
//! (which styles a string allows) and line folding, PyYAML's YAML 1.1
//! implicit resolvers (a string that would read back as another type,
//! `yes`, `2024-01-01`, `1_000`, is quoted) and its float representer. Not reproduced:
//! anchors (`&id001`), which PyYAML writes for a Python object reached twice
//! (a group's list or dict var inherited by several hosts), and keys of 128
//! characters or more (PyYAML's `? key` form).
//!
//! Read back as PyYAML's SafeLoader reads it by [`load`] and [`load_all`]
//! (the `from_yaml` filters), with the same resolvers.

use serde_json::{Map, Value};

mod load;
mod resolve;

pub use load::{load, load_all, load_shape, LoadError, TIMESTAMP_TAG};

/// `value` as `ansible-inventory --yaml` dumps it (block style, indent 2),
/// without the final newline.
pub fn dump(value: &Value) -> String {
    let block = Options {
        indent: 2,
        width: 80,
        flow: Flow::Never,
        sort_keys: true,
    };
    dump_with(value, block).trim_end_matches('\n').to_string()
}

/// `value` as `yaml.dump(value, indent=.., width=.., default_flow_style=..)`
/// writes it, final newline included.
pub fn dump_with(value: &Value, options: Options) -> String {
    let mut e = Emitter::new(options);
    e.node(value, None, false);
    e.out.push('\n');
    e.out
}

/// PyYAML's `dump` arguments that shape the layout.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Spaces per level (libyaml takes 2 to 9; others give 2).
    pub indent: usize,
    /// The column past which lines are folded (libyaml: 80 if not more
    /// than twice the indent).
    pub width: usize,
    /// Which collections are written in flow style.
    pub flow: Flow,
    /// Mappings' keys sorted (PyYAML's default), else in the mapping's own
    /// (insertion) order.
    pub sort_keys: bool,
}

/// `default_flow_style`: which collections are written `[a, b]`/`{k: v}`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Flow {
    /// `False`: block style, but for empty collections.
    Never,
    /// `None`: the collections holding scalars only.
    Leaves,
    /// `True`: every collection.
    Always,
}

/// PyYAML's emitter state: where the cursor is and what was written last.
struct Emitter {
    out: String,
    column: usize,
    whitespace: bool,
    indention: bool,
    step: usize,
    width: usize,
    flow: Flow,
    flow_level: usize,
    sort_keys: bool,
}

impl Emitter {
    fn new(options: Options) -> Self {
        let step = if (2..=9).contains(&options.indent) {
            options.indent
        } else {
            2
        };
        let width = if options.width > step * 2 {
            options.width
        } else {
            80
        };
        Self {
            out: String::new(),
            column: 0,
            whitespace: true,
            indention: true,
            step,
            width,
            flow: options.flow,
            flow_level: 0,
            sort_keys: options.sort_keys,
        }
    }

    /// A node inside a container at indentation `parent` (`None`: the
    /// document); `mapping_value` says it is a mapping's value.
    fn node(&mut self, value: &Value, parent: Option<usize>, mapping_value: bool) {
        let step = self.step;
        let inner = parent.map_or(step, |p| p + step);
        let flow = self.in_flow(value);
        match value {
            Value::Object(map) if !map.is_empty() && flow => self.flow_mapping(map, inner),
            Value::Array(items) if !items.is_empty() && flow => self.flow_sequence(items, inner),
            Value::Object(map) if !map.is_empty() => {
                self.mapping(map, parent.map_or(0, |p| p + step))
            }
            Value::Array(items) if !items.is_empty() => {
                let indent = match parent {
                    None => 0,
                    Some(p) if mapping_value && !self.indention => p,
                    Some(p) => p + step,
                };
                self.sequence(items, indent);
            }
            Value::Object(_) => self.indicator("{}", true, false, false),
            Value::Array(_) => self.indicator("[]", true, false, false),
            Value::String(s) => self.string(s, inner, false),
            other => self.plain(&plain_scalar(other), 0, false),
        }
    }

    /// Whether the collection `value` is written in flow style: inside
    /// another flow collection always, else as `default_flow_style` says
    /// (`None`: when it holds no collection, as PyYAML's representer picks).
    fn in_flow(&self, value: &Value) -> bool {
        let scalar = |v: &Value| !matches!(v, Value::Object(_) | Value::Array(_));
        self.flow_level > 0
            || match (self.flow, value) {
                (Flow::Always, _) => true,
                (Flow::Never, _) => false,
                (Flow::Leaves, Value::Object(map)) => map.values().all(scalar),
                (Flow::Leaves, Value::Array(items)) => items.iter().all(scalar),
                (Flow::Leaves, _) => false,
            }
    }

    fn mapping(&mut self, map: &Map<String, Value>, indent: usize) {
        for key in self.keys(map) {
            self.write_indent(indent);
            self.string(key, indent + self.step, true);
            self.indicator(":", false, false, false);
            self.node(&map[key], Some(indent), true);
        }
    }

    /// The mapping's keys in the order they are written.
    fn keys<'a>(&self, map: &'a Map<String, Value>) -> Vec<&'a String> {
        let mut keys: Vec<&String> = map.keys().collect();
        if self.sort_keys {
            keys.sort();
        }
        keys
    }

    /// `{k: v, ...}`, a line folded after a comma past the width.
    fn flow_mapping(&mut self, map: &Map<String, Value>, indent: usize) {
        self.flow_items(("{", "}"), indent, self.keys(map), |e, key| {
            e.string(key, indent + e.step, true);
            e.indicator(":", false, false, false);
            e.node(&map[key], Some(indent), true);
        });
    }

    /// `[a, b, ...]`, a line folded after a comma past the width.
    fn flow_sequence(&mut self, items: &[Value], indent: usize) {
        self.flow_items(("[", "]"), indent, items, |e, item| {
            e.node(item, Some(indent), false);
        });
    }

    fn flow_items<T>(
        &mut self,
        (open, close): (&str, &str),
        indent: usize,
        items: impl IntoIterator<Item = T>,
        mut item: impl FnMut(&mut Self, T),
    ) {
        self.indicator(open, true, true, false);
        self.flow_level += 1;
        for (i, it) in items.into_iter().enumerate() {
            if i > 0 {
                self.indicator(",", false, false, false);
            }
            if self.column > self.width {
                self.write_indent(indent);
            }
            item(self, it);
        }
        self.flow_level -= 1;
        self.indicator(close, false, false, false);
    }

    fn sequence(&mut self, items: &[Value], indent: usize) {
        for item in items {
            self.write_indent(indent);
            self.indicator("-", true, false, true);
            self.node(item, Some(indent), false);
        }
    }

    /// A string in the first style PyYAML allows for it.
    fn string(&mut self, text: &str, indent: usize, simple_key: bool) {
        let a = analyze(text);
        let plain = if self.flow_level > 0 {
            a.flow_plain
        } else {
            a.block_plain
        };
        if resolves_as_str(text) && !(simple_key && (a.empty || a.multiline)) && plain {
            self.plain(text, indent, !simple_key);
        } else if a.single_quoted && !(simple_key && a.multiline) {
            self.single_quoted(text, indent, !simple_key);
        } else {
            self.double_quoted(text, indent, !simple_key);
        }
    }

    fn write(&mut self, data: &str) {
        self.column += data.chars().count();
        self.out.push_str(data);
    }

    fn indicator(&mut self, text: &str, need_space: bool, whitespace: bool, indention: bool) {
        if need_space && !self.whitespace {
            self.write(" ");
        }
        self.write(text);
        self.whitespace = whitespace;
        self.indention = self.indention && indention;
    }

    fn line_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.line_break();
        }
        if self.column < indent {
            self.whitespace = true;
            self.write(&" ".repeat(indent - self.column));
        }
    }

    /// A space where a line would pass the width becomes a line break.
    fn plain(&mut self, text: &str, indent: usize, split: bool) {
        if !self.whitespace {
            self.write(" ");
        }
        self.whitespace = false;
        self.indention = false;
        let chars: Vec<char> = text.chars().collect();
        let (mut start, mut spaces) = (0, false);
        for end in 0..=chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > self.width && split {
                        self.write_indent(indent);
                        self.whitespace = false;
                        self.indention = false;
                    } else {
                        self.write(&chars[start..end].iter().collect::<String>());
                    }
                    start = end;
                }
            } else if ch.is_none() || ch == Some(' ') {
                self.write(&chars[start..end].iter().collect::<String>());
                start = end;
            }
            spaces = ch == Some(' ');
        }
    }

    fn single_quoted(&mut self, text: &str, indent: usize, split: bool) {
        self.indicator("'", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let (mut start, mut spaces, mut breaks) = (0, false, false);
        for end in 0..=chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    let fold = start + 1 == end && start != 0 && end != chars.len();
                    if fold && self.column > self.width && split {
                        self.write_indent(indent);
                    } else {
                        self.write(&chars[start..end].iter().collect::<String>());
                    }
                    start = end;
                }
            } else if breaks {
                if !ch.is_some_and(is_break) {
                    if chars[start] == '\n' {
                        self.line_break();
                    }
                    for &br in &chars[start..end] {
                        self.out.push(br);
                        self.column = 0;
                        self.whitespace = true;
                        self.indention = true;
                    }
                    self.write_indent(indent);
                    start = end;
                }
            } else if ch.is_none_or(|c| c == ' ' || c == '\'' || is_break(c)) && start < end {
                self.write(&chars[start..end].iter().collect::<String>());
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            spaces = ch == Some(' ');
            breaks = ch.is_some_and(is_break);
        }
        self.indicator("'", false, false, false);
    }

    fn double_quoted(&mut self, text: &str, indent: usize, split: bool) {
        self.indicator("\"", true, false, false);
        let chars: Vec<char> = text.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || is_break(c) || matches!(c, '"' | '\\') {
                self.write(&escape(c));
                spaces = false;
            } else if c == ' ' {
                let inner = i != 0 && i + 1 != chars.len();
                if split && !spaces && self.column > self.width && inner {
                    self.write_indent(indent);
                    if chars.get(i + 1) == Some(&' ') {
                        self.write("\\");
                    }
                } else {
                    self.write(" ");
                }
                spaces = true;
            } else {
                self.write(&c.to_string());
                spaces = false;
            }
        }
        self.indicator("\"", false, false, false);
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's printable characters (PyYAML's dumper is libyaml's emitter
/// when libyaml is there, as for ansible-core): no C0 controls but the line
/// feed, no NEL, no byte-order mark, nothing beyond the BMP.
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | ' '..='~' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

/// libyaml's escape of a character in a double-quoted scalar.
fn escape(c: char) -> String {
    let short = match c {
        '\0' => "0",
        '\x07' => "a",
        '\x08' => "b",
        '\t' => "t",
        '\n' => "n",
        '\x0b' => "v",
        '\x0c' => "f",
        '\r' => "r",
        '\x1b' => "e",
        '"' => "\"",
        '\\' => "\\",
        '\u{85}' => "N",
        '\u{a0}' => "_",
        '\u{2028}' => "L",
        '\u{2029}' => "P",
        _ => "",
    };
    match (short, c as u32) {
        ("", n) if n <= 0xff => format!("\\x{n:02X}"),
        ("", n) if n <= 0xffff => format!("\\u{n:04X}"),
        ("", n) => format!("\\U{n:08X}"),
        (s, _) => format!("\\{s}"),
    }
}

/// A null, boolean or number as PyYAML's representer writes it.
fn plain_scalar(value: &Value) -> String {
    match value {
        Value::Null => "null".to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) if n.is_f64() => python_float(n.as_f64().unwrap_or(f64::NAN)),
        other => other.to_string(),
    }
}

/// A float as PyYAML's representer writes it: Python's `repr`, with `.0`
/// added to a bare exponent form (`1.0e+20`), `.inf`, `.nan`.
fn python_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    let repr = crate::pyfloat::repr(f);
    if repr.contains('e') && !repr.contains('.') {
        repr.replacen('e', ".0e", 1)
    } else {
        repr
    }
}

/// Which styles PyYAML's `analyze_scalar` allows for a string.
struct Analysis {
    empty: bool,
    multiline: bool,
    block_plain: bool,
    flow_plain: bool,
    single_quoted: bool,
}

fn analyze(text: &str) -> Analysis {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            block_plain: true,
            flow_plain: true,
            single_quoted: true,
        };
    }
    let space_like =
        |c: Option<&char>| c.is_none_or(|c| matches!(c, '\0' | ' ' | '\t' | '\r') || is_break(*c));
    let mut block_indicators = text.starts_with("---") || text.starts_with("...");
    let mut flow_indicators = block_indicators;
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading, mut trailing, mut break_space, mut space_break) =
        (false, false, false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_ws = true;
    for (i, &c) in chars.iter().enumerate() {
        let followed_by_ws = space_like(chars.get(i + 1));
        if i == 0 {
            block_indicators |=
                "#,[]{}&*!|>'\"%@`".contains(c) || (matches!(c, '?' | ':' | '-') && followed_by_ws);
            flow_indicators |= "#,[]{}&*!|>'\"%@`?:".contains(c) || (c == '-' && followed_by_ws);
        } else {
            block_indicators |= (c == ':' && followed_by_ws) || (c == '#' && preceded_by_ws);
            flow_indicators |= ",?[]{}:".contains(c) || (c == '#' && preceded_by_ws);
        }
        line_breaks |= is_break(c);
        special |= !is_printable(c);
        let last = i + 1 == chars.len();
        if c == ' ' {
            leading |= i == 0;
            trailing |= last;
            break_space |= previous_break;
            (previous_space, previous_break) = (true, false);
        } else if is_break(c) {
            leading |= i == 0;
            trailing |= last;
            space_break |= previous_space;
            (previous_space, previous_break) = (false, true);
        } else {
            (previous_space, previous_break) = (false, false);
        }
        preceded_by_ws = space_like(Some(&c));
    }
    let unplain = leading || trailing || break_space || space_break || special || line_breaks;
    Analysis {
        empty: false,
        multiline: line_breaks,
        block_plain: !(unplain || block_indicators),
        flow_plain: !(unplain || flow_indicators),
        single_quoted: !(break_space || space_break || special),
    }
}

/// Whether PyYAML's YAML 1.1 resolvers read `text` back as a string (else
/// it must be quoted).
fn resolves_as_str(text: &str) -> bool {
    resolve::kind(text) == resolve::Kind::Str
}

#[cfg(test)]
mod tests {
    //! Expected texts are what ansible-core 2.19's `ansible-inventory
    //! --list --yaml` printed for the same values (the fixture
    //! tests/fixtures/inventories/yaml_scalars); for [`dump_with`], what
    //! `yaml.dump(.., Dumper=CSafeDumper, allow_unicode=True, ..)` printed.
    use super::{dump, dump_with, Flow, Options};
    use serde_json::json;

    fn dump_as(value: &serde_json::Value, indent: usize, flow: Flow) -> String {
        dump_with(
            value,
            Options {
                indent,
                width: 80,
                flow,
                sort_keys: true,
            },
        )
    }

    #[test]
    fn collections_of_scalars_go_in_flow_style_quoting_flow_indicators() {
        let v =
            json!({"a": {"u": "http://x", "h": "#x", "c": "a,b", "p": "-1"}, "l": [{"x": "y"}]});
        assert_eq!(
            dump_as(&v, 2, Flow::Leaves),
            "a: {c: 'a,b', h: '#x', p: '-1', u: 'http://x'}\nl:\n- {x: y}\n"
        );
        let item = "a".repeat(30);
        let long = json!([item, item, item, item]);
        assert_eq!(
            dump_as(&long, 2, Flow::Leaves),
            format!("[{item}, {item}, {item},\n  {item}]\n")
        );
    }

    #[test]
    fn a_wider_indent_pads_after_the_dash_as_libyaml_does() {
        let v = json!({"l": [{"x": "y", "z": [1]}]});
        assert_eq!(
            dump_as(&v, 4, Flow::Never),
            "l:\n-   x: y\n    z:\n    - 1\n"
        );
    }

    #[test]
    fn strings_another_type_would_read_back_are_quoted() {
        let v = json!({"b1": "yes", "b2": "No", "d1": "2024-01-01", "i4": "1e3",
            "i5": "12:30:00", "i6": "0b101", "n": "", "s23": "<<", "s24": ".inf",
            "s25": "-.5", "s12": "quote's", "s13": "\"dq\"", "s14": "{x}"});
        assert_eq!(
            dump(&v),
            "b1: 'yes'\nb2: 'No'\nd1: '2024-01-01'\ni4: 1e3\ni5: '12:30:00'\ni6: '0b101'\n\
             n: ''\ns12: quote's\ns13: '\"dq\"'\ns14: '{x}'\ns23: '<<'\ns24: '.inf'\ns25: -.5"
        );
        assert_eq!(
            dump(&json!({"k": {"yes": 1, "2": 2}})),
            "k:\n  '2': 2\n  'yes': 1"
        );
    }

    #[test]
    fn floats_are_written_as_python_writes_them() {
        let v = json!({"f1": 1e20, "f2": 0.1, "f4": -3.0, "f5": 1e-5,
            "f6": 123456789012345678.0, "f7": -0.0});
        assert_eq!(
            dump(&v),
            "f1: 1.0e+20\nf2: 0.1\nf4: -3.0\nf5: 1.0e-05\nf6: 1.2345678901234568e+17\nf7: -0.0"
        );
    }

    #[test]
    fn long_and_multiline_strings_fold_and_escape_as_libyaml_does() {
        let vars = json!({"s6": "multi\nline\n",
            "s7": "this is a rather long string value that goes on and on past the eighty column limit for sure",
            "s9": "tab\there",
            "ctl": "bell\u{7} nul\0 esc\u{1b} nel\u{85} bom\u{feff} astral \u{1F600}",
            "dq_long": "tab\tand a long line that must be folded somewhere past the eighty column mark, yes",
            "sq_long": "# a comment-like value that is long enough to be folded past the eighty columns"});
        let v = json!({"all": {"children": {"ungrouped": {"hosts": {"h": vars}}}}});
        let want = concat!(
            "all:\n",
            "  children:\n",
            "    ungrouped:\n",
            "      hosts:\n",
            "        h:\n",
            "          ctl: \"bell\\a nul\\0 esc\\e nel\\N bom\\uFEFF astral \\U0001F600\"\n",
            "          dq_long: \"tab\\tand a long line that must be folded somewhere past the eighty\n",
            "            column mark, yes\"\n",
            "          s6: 'multi\n",
            "\n",
            "            line\n",
            "\n",
            "            '\n",
            "          s7: this is a rather long string value that goes on and on past the eighty\n",
            "            column limit for sure\n",
            "          s9: \"tab\\there\"\n",
            "          sq_long: '# a comment-like value that is long enough to be folded past the\n",
            "            eighty columns'",
        );
        assert_eq!(dump(&v), want);
    }

    #[test]
    fn collections_nest_as_pyyaml_nests_them() {
        let v = json!({"e1": {}, "e2": [], "l1": [[1, 2], {"a": 1, "b": [null]}]});
        assert_eq!(
            dump(&v),
            "e1: {}\ne2: []\nl1:\n- - 1\n  - 2\n- a: 1\n  b:\n  - null"
        );
        assert_eq!(dump(&json!({})), "{}");
    }
}
