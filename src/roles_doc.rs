//! `kbz-play doc` for the project's own code: its roles (`roles/*.rhai`) and
//! the operations they write in Rhai (`operation("NAME", ...)`), read from
//! the files' comments, so the docs are where the code is. A role's page is
//! its header (the `//` block it opens with: what it ensures, its cfg,
//! variables, secrets and an example) and each exported function's `///`
//! comment.

use std::fmt::Write as _;
use std::path::Path;

/// The longest summary a listing line shows.
const SUMMARY_WIDTH: usize = 100;

/// `text` cut at a word to at most `width` characters, `...` marking the cut.
fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut out = String::new();
    for word in text.split(' ') {
        if out.chars().count() + word.chars().count() + 4 > width {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.trim_end_matches([',', ';', ':']).to_string() + "..."
}

/// One role file, as its comments describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// The module name (`roles/redis.rhai`: `redis`).
    pub name: String,
    /// The header, comment markers removed.
    pub header: String,
    /// Its exported functions, in file order.
    pub functions: Vec<Function>,
}

/// An exported function of a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    /// `fn name(params)`, as written.
    pub signature: String,
    /// Its `///` comment, markers removed.
    pub doc: String,
    /// The name of the operation it defines (`operation("NAME", ...)` in
    /// its body), if it is one.
    pub operation: Option<String>,
    /// The operation's `params: #{ ... }` declaration, as written.
    pub params: Option<String>,
}

impl Role {
    /// Reads a role from its source.
    pub fn parse(name: &str, source: &str) -> Role {
        let header = source
            .lines()
            .take_while(|l| l.starts_with("//") && !l.starts_with("///"))
            .map(|l| l.trim_start_matches("//").strip_prefix(' ').unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        Role {
            name: name.to_string(),
            header,
            functions: functions(source),
        }
    }

    /// The header's first sentence, without the leading `name:`.
    pub fn summary(&self) -> String {
        let para = self.header.split("\n\n").next().unwrap_or_default();
        let para = para.split_whitespace().collect::<Vec<_>>().join(" ");
        let para = para
            .strip_prefix(&format!("{}:", self.name))
            .unwrap_or(&para)
            .trim();
        let sentence = para
            .split(". ")
            .next()
            .unwrap_or(para)
            .trim_end_matches('.');
        shorten(sentence, SUMMARY_WIDTH)
    }

    /// The operations the role writes in Rhai.
    pub fn operations(&self) -> impl Iterator<Item = (&str, &Function)> {
        self.functions
            .iter()
            .filter_map(|f| f.operation.as_deref().map(|op| (op, f)))
    }
}

/// The exported (not `private`) top-level functions of `source`, each with
/// the `///` lines right above it, and whether its body (up to the next
/// top-level item) defines an operation, and with which `params`.
fn functions(source: &str) -> Vec<Function> {
    let mut out: Vec<Function> = Vec::new();
    let mut doc: Vec<&str> = Vec::new();
    // The exported function whose body the lines are in, if any, and where
    // its body starts.
    let mut current: Option<(usize, usize)> = None;
    let mut offset = 0;
    for line in source.split_inclusive('\n') {
        let at = offset;
        offset += line.len();
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some(d) = line.strip_prefix("///") {
            doc.push(d.strip_prefix(' ').unwrap_or(d));
            continue;
        }
        if let Some(rest) = line.strip_prefix("fn ") {
            out.push(Function {
                signature: format!("fn {}", rest.trim_end_matches('{').trim_end()),
                doc: doc.join("\n"),
                operation: None,
                params: None,
            });
            current = Some((out.len() - 1, at));
        } else if line.starts_with("private fn ") {
            current = None;
        } else if let (Some((i, body)), Some(name)) = (current, operation_name(line)) {
            out[i].operation.get_or_insert(name);
            out[i].params = params_literal(&source[body..]).map(str::to_string);
        }
        doc.clear();
    }
    out
}

/// The `#{ ... }` after the first `params:` in `body`: its braces matched,
/// skipping those inside strings.
fn params_literal(body: &str) -> Option<&str> {
    let start = body.find("params:")?;
    let open = start + body[start..].find("#{")?;
    let mut depth = 0;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in body[open..].char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    return Some(&body[open..=open + i]);
                }
            }
            _ => {}
        }
    }
    None
}

/// `NAME` in a line calling `operation("NAME", ...)`.
fn operation_name(line: &str) -> Option<String> {
    let rest = line.split("operation(\"").nth(1)?;
    Some(rest.split('"').next()?.to_string())
}

/// The roles of the project at `root`, by name.
pub fn load(root: &Path) -> Vec<Role> {
    let Ok(entries) = std::fs::read_dir(root.join("roles")) else {
        return Vec::new();
    };
    let mut roles: Vec<Role> = entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".rhai")?
                .to_string();
            let source = std::fs::read_to_string(&path).ok()?;
            Some(Role::parse(&name, &source))
        })
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    roles
}

/// The listing's part about the project: its roles and Rhai operations.
pub fn listing(roles: &[Role]) -> String {
    if roles.is_empty() {
        return String::new();
    }
    let width = roles
        .iter()
        .map(|r| r.name.len())
        .chain(
            roles
                .iter()
                .flat_map(|r| r.operations().map(|(op, _)| op.len())),
        )
        .max()
        .unwrap_or(0);
    let mut out = String::from("\nRoles (roles/*.rhai; kbz-play doc ROLE for its page):\n\n");
    for r in roles {
        let _ = writeln!(out, "  {:width$}  {}", r.name, r.summary());
    }
    let ops: Vec<_> = roles
        .iter()
        .flat_map(|r| r.operations().map(move |(op, f)| (op, r, f)))
        .collect();
    if !ops.is_empty() {
        out.push_str("\nOperations written in Rhai (defined by a role; kbz-play doc OP):\n\n");
        for (op, r, f) in ops {
            let first = f.doc.lines().next().unwrap_or_default();
            let _ = writeln!(out, "  {op:width$}  {first} (role {})", r.name);
        }
    }
    out
}

/// A role's page: its header and its functions with their docs.
pub fn role_page(role: &Role) -> String {
    let mut out = format!(
        "role {} (roles/{}.rhai)\n\n{}\n",
        role.name, role.name, role.header
    );
    out.push_str("\nFunctions:\n");
    for f in &role.functions {
        let _ = writeln!(out, "\n  {}", f.signature);
        for l in f.doc.lines() {
            let _ = writeln!(out, "      {l}");
        }
    }
    out
}

/// The parameters table of an operation written in Rhai, in the shape a
/// built-in op's page has, from its `params` declaration.
fn parameters(literal: Option<&str>) -> String {
    let Some(literal) = literal else {
        return "\nParameters: not declared (the op takes any argument; declare them with \
                `params: #{ ... }`)\n"
            .to_string();
    };
    match kbz_engine::script::declared_params(literal) {
        Ok(params) => kbz_stdlib::doc::parameters(
            params
                .into_iter()
                .map(|p| (p.takes(), p))
                .map(|(takes, p)| (p.name, takes, p.doc)),
        ),
        Err(e) => format!("\nParameters: cannot be read from the source: {e}\n"),
    }
}

/// An operation's page: its function's doc, its parameters, and how to
/// call it.
pub fn operation_page(op: &str, role: &Role, f: &Function) -> String {
    let mut out = format!(
        "{op}: an operation written in Rhai, in roles/{}.rhai\n\n  {}\n\n",
        role.name, f.signature
    );
    for l in f.doc.lines() {
        let _ = writeln!(out, "  {l}");
    }
    out.push_str(&parameters(f.params.as_deref()));
    let _ = write!(
        out,
        "\nCall it as {role}::{op}(#{{...}}) after import \"{role}\" as {role}.\n",
        role = role.name
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = r#"// demo: a role for the tests. It has two
// sentences.
//
// cfg:
//   port  8080 (optional)

/// Not a function's doc: a blank line follows.

private fn helper(x) { x }

/// Ensures the thing exists.
/// Example: thing(#{ name: "a" })
fn thing(args) {
    operation("thing", args, #{
        params: #{ name: "the {thing}, \"quoted\"", size: #{ doc: "its size", default_value: 3 } },
        target: |a| a.name,
    })
}

fn apply(host, cfg) {
    thing(#{ name: "a" });
}
"#;

    #[test]
    fn a_role_reads_from_its_comments() {
        let r = Role::parse("demo", ROLE);
        assert_eq!(r.summary(), "a role for the tests");
        assert!(
            r.header.contains("cfg:\n  port  8080 (optional)"),
            "{}",
            r.header
        );
        let sigs: Vec<&str> = r.functions.iter().map(|f| f.signature.as_str()).collect();
        assert_eq!(sigs, ["fn thing(args)", "fn apply(host, cfg)"]);
        assert_eq!(
            r.functions[0].doc,
            "Ensures the thing exists.\nExample: thing(#{ name: \"a\" })"
        );
        assert_eq!(r.functions[1].doc, "");
        let ops: Vec<&str> = r.operations().map(|(op, _)| op).collect();
        assert_eq!(ops, ["thing"]);
        let listing = listing(std::slice::from_ref(&r));
        assert!(
            listing.contains("  demo   a role for the tests\n"),
            "{listing}"
        );
        assert!(
            listing.contains("  thing  Ensures the thing exists. (role demo)"),
            "{listing}"
        );
        assert_eq!(shorten("one two three", 9), "one...");
        assert_eq!(shorten("one two, three", 12), "one two...");
        let op = operation_page("thing", &r, &r.functions[0]);
        assert!(
            op.contains(
                "\nParameters:\n  name (required)\n      the {thing}, \"quoted\"\n  \
                 size (default 3)\n      its size\n  tags ("
            ),
            "{op}"
        );
        let page = role_page(&r);
        assert!(
            page.contains("  fn thing(args)\n      Ensures the thing exists."),
            "{page}"
        );
    }
}
