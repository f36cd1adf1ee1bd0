"""Writes html_entities.rs: Python's html.unescape tables, so that `striptags`
unescapes exactly as Jinja2 (through markupsafe and html.unescape) does.

Run with any Python 3, then cargo fmt:
python3 html_entities.py > html_entities.rs && cargo fmt
"""

import html
import html.entities


def rust(s):
    return '"' + "".join(
        c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\u{{{ord(c):x}}}" for c in s
    ) + '"'


print("//! Python's `html.unescape` tables, written by html_entities.py from")
print("//! Python's `html.entities.html5` and `html` module: do not edit by hand.")
print()
print("/// HTML5's named character references, the name with its `;` where the")
print("/// standard requires one, sorted by name.")
print("pub(super) const NAMED: &[(&str, &str)] = &[")
for name in sorted(html.entities.html5):
    print(f"    ({rust(name)}, {rust(html.entities.html5[name])}),")
print("];")
print()
print("/// Numeric references HTML5 maps to another character (Windows-1252's).")
print("pub(super) const REMAPPED: &[(u32, &str)] = &[")
for num in sorted(html._invalid_charrefs):
    print(f"    (0x{num:x}, {rust(html._invalid_charrefs[num])}),")
print("];")
print()
print("/// Numeric references HTML5 drops: control characters and noncharacters.")
print("pub(super) const DROPPED: &[u32] = &[")
for num in sorted(html._invalid_codepoints):
    print(f"    0x{num:x},")
print("];")
