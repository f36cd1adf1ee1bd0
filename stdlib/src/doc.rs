//! `kbz-play doc` and the README's table of operations, both from the
//! registry: [`text`] lists or describes operations and script functions,
//! [`readme_table`] is what README.md holds between its `ops:` markers.

use std::fmt::Write as _;

use crate::{docs, functions, FunctionDoc, OpDoc};

/// `kbz-play doc` without a name: every operation and script function with
/// its summary. With a name: that one's calls, parameters and example.
/// An unknown name is an error suggesting the closest one.
pub fn text(name: Option<&str>) -> Result<String, String> {
    let ops = docs();
    let fns = functions();
    let Some(name) = name else {
        return Ok(listing(&ops, &fns));
    };
    if let Some(d) = ops.iter().find(|d| d.name == name) {
        return Ok(op_text(d));
    }
    if let Some(f) = fns.iter().find(|f| f.name == name) {
        return Ok(function_text(f));
    }
    let names = ops.iter().map(|d| d.name).chain(fns.iter().map(|f| f.name));
    let hint = kbz_engine::op::suggest(name, names)
        .map(|s| format!("; did you mean '{s}'?"))
        .unwrap_or_default();
    Err(format!(
        "no operation or function named '{name}'{hint} (kbz-play doc lists them)"
    ))
}

fn listing(ops: &[OpDoc], fns: &[FunctionDoc]) -> String {
    let width = ops
        .iter()
        .map(|d| d.name.len())
        .chain(fns.iter().map(|f| f.call.len()))
        .max()
        .unwrap_or(0);
    let mut out = String::from("Operations (kbz-play doc OP for parameters):\n\n");
    for d in ops {
        let _ = writeln!(out, "  {:width$}  {}", d.name, d.summary);
    }
    out.push_str("\nFunctions (read what the run knows; change nothing, take no tags):\n\n");
    for f in fns {
        let _ = writeln!(out, "  {:width$}  {}", f.call, f.summary);
    }
    out
}

fn op_text(d: &OpDoc) -> String {
    let mut out = format!("{}: {}\n\nCalls:\n", d.name, d.summary);
    for call in d.calls() {
        let _ = writeln!(out, "  {call}");
    }
    let rows = d.params.iter().map(|p| {
        let default = p
            .default
            .map(|v| format!("default {v}"))
            .unwrap_or_else(|| "required".into());
        (
            p.name.to_string(),
            format!("{}, {default}", p.ty),
            p.doc.to_string(),
        )
    });
    out.push_str(&parameters(rows));
    example(&mut out, d.example);
    out
}

/// The `Parameters:` section of an op's page, built-in or written in Rhai:
/// one `(name, what it takes, doc)` row each, then `tags`, which every op
/// takes.
pub fn parameters(rows: impl IntoIterator<Item = (String, String, String)>) -> String {
    let mut out = String::from("\nParameters:\n");
    for (name, takes, doc) in rows {
        let _ = writeln!(out, "  {name} ({takes})\n      {doc}");
    }
    out.push_str(
        "  tags (string or array of strings, default none)\n      Tags for --tags/--skip-tags.\n",
    );
    out
}

fn function_text(f: &FunctionDoc) -> String {
    let takes = match f.params.is_empty() {
        true => "no parameters or tags",
        false => "no tags",
    };
    let mut out = format!(
        "{}: {}\n\n{}\n\nA script function, not an operation: it changes nothing on the host and takes {takes}.\n",
        f.call, f.summary, f.detail
    );
    example(&mut out, f.example);
    out
}

fn example(out: &mut String, example: &str) {
    let _ = writeln!(out, "\nExample:\n  {}", example.replace('\n', "\n  "));
}

/// The README's table of operations, then the script functions, in
/// Markdown: what `UPDATE_README=1 cargo test -p kbz-stdlib --test readme`
/// writes between the `<!-- ops:begin -->` and `<!-- ops:end -->` markers.
pub fn readme_table() -> String {
    let mut out = String::from("| op | what it ensures |\n|---|---|\n");
    for d in docs() {
        let _ = writeln!(out, "| `{}` | {} |", d.name, d.ensures);
    }
    out.push_str("\nNot an operation, but a script function that changes nothing:\n\n");
    out.push_str("| function | what it returns |\n|---|---|\n");
    for f in functions() {
        let _ = writeln!(out, "| `{}` | {} |", f.call, f.summary);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_are_listed_apart_and_take_no_tags() {
        let all = text(None).unwrap();
        let (ops, fns) = all.split_once("\nFunctions").expect("a functions section");
        assert!(ops.contains("\n  file ") && !ops.contains("facts"), "{all}");
        assert!(fns.contains("facts()"), "{all}");
        let facts = text(Some("facts")).unwrap();
        assert!(
            !facts.contains("Parameters") && !facts.contains("tags ("),
            "{facts}"
        );
        let file = text(Some("file")).unwrap();
        assert!(
            file.contains("tags (") && file.contains("file(#{...})"),
            "{file}"
        );
        let package = text(Some("package")).unwrap();
        assert!(
            package.contains("  package([name, ...], #{...})\n"),
            "{package}"
        );
    }

    #[test]
    fn unknown_names_suggest_ops_and_functions() {
        assert!(text(Some("fact"))
            .unwrap_err()
            .contains("did you mean 'facts'?"));
        assert!(text(Some("fiel"))
            .unwrap_err()
            .contains("did you mean 'file'?"));
    }
}
