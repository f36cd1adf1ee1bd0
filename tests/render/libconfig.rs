//! The strict libconfig reader of tests/common (the format of proxysql.cnf):
//! it reads what libconfig reads and refuses, with the line, what libconfig
//! refuses, so a rendered file it accepts is one ProxySQL can load.

use crate::common::libconfig::{parse, Value};

#[test]
fn the_libconfig_reader_reads_what_libconfig_reads() {
    let cnf = parse(
        "# comment\n// comment\n/* a\n comment */\n\
         a = 1; b : -2, c = 0x1F\nd = 3L\ne = 1.5e3\nf = TRUE\n\
         g = \"x\\\"y\\\\z\\x41\" \"-more\"\n\
         h = [1, 2]\ni = ( { j = \"k\" }, 2, \"l\" )\nm = { n = {} }\no = ()\n",
    )
    .unwrap();
    assert_eq!(cnf.at("a").int(), 1);
    assert_eq!(cnf.at("b").int(), -2);
    assert_eq!(cnf.at("c").int(), 31);
    assert_eq!(cnf.at("d").int(), 3);
    assert_eq!(cnf.at("e"), &Value::Float(1500.0));
    assert_eq!(cnf.at("f"), &Value::Bool(true));
    assert_eq!(cnf.at("g").str(), "x\"y\\zA-more");
    assert_eq!(cnf.at("h").items().len(), 2);
    assert_eq!(cnf.at("i").items()[0].at("j").str(), "k");
    assert_eq!(cnf.at("m.n").names(), Vec::<&str>::new());
    assert!(cnf.at("o").items().is_empty());
    assert_eq!(
        cnf.names(),
        vec!["a", "b", "c", "d", "e", "f", "g", "h", "i", "m", "o"]
    );
}

#[test]
fn the_libconfig_reader_refuses_what_libconfig_refuses() {
    for (bad, why) in [
        ("a 1\n", "expected = or :"),
        ("a = \"open\n", "unterminated string"),
        ("a = 1\na = 2\n", "duplicate setting \"a\""),
        ("g = { a = 1 ", "missing '}'"),
        ("l = ( 1, 2, )\n", "is not a value"),
        ("l = [ 1, \"x\" ]\n", "array of integers"),
        ("@include \"other.cfg\"\n", "@include"),
        ("a = yes\n", "\"yes\" is not a value"),
        ("a = \"\\q\"\n", "unknown escape"),
        ("1a = 2\n", "expected a setting name"),
        ("a = 1 }\n", "expected a setting name"),
        ("/* open\n", "unterminated /* comment"),
    ] {
        let err = parse(bad).expect_err(bad);
        assert!(err.contains(why), "{bad:?}: {err}");
    }
}
