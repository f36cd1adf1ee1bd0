//! YAML text read as PyYAML's SafeLoader reads it (YAML 1.1), which is
//! what Ansible's `from_yaml` does: a plain `yes` is true, `012` is 10,
//! `1e3` a string, `2024-01-01` a date, `<<` merges a mapping.
//!
//! yaml_serde parses (libyaml) and resolves YAML 1.2, and its values keep
//! neither a scalar's text as written nor whether it was quoted. So each
//! document is read twice: once as a `yaml_serde::Value` for its shape,
//! then along that shape asking for each scalar's text, which yaml_serde
//! hands over as a slice of the source when it is written on one line:
//! the byte before it tells a quoted scalar from a plain one, and the words
//! before it on its line an explicit tag (`!!str 12`), whose type yaml_serde
//! has already applied. A scalar not handed over as a slice (escapes, block
//! or multi-line) is a string.

use std::fmt;

use minijinja::value::Value;
use serde::de::{
    DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde::Deserialize;
use yaml_serde::value::{Tag, TaggedValue};
use yaml_serde::{Mapping, Number, Value as Shape};

use super::resolve::{self, Kind};

/// The tag a resolved timestamp carries in a [`load_shape`] value: its
/// text as Python prints the `date` or `datetime` (`2001-12-14 21:59:43+00:00`).
pub const TIMESTAMP_TAG: &str = "timestamp";

/// The tag an integer past 64 bits carries in a [`load_shape`] value: its
/// decimal text.
const BIG_INT_TAG: &str = "bigint";

/// YAML that SafeLoader would refuse too.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LoadError(String);

/// The one document of `text` (none: `None`), as SafeLoader reads it.
pub fn load(text: &str) -> Result<Value, LoadError> {
    load_shape(text)
        .map(|shape| as_value(&shape))
        .map_err(|e| LoadError(e.to_string()))
}

/// Every document of `text`, as SafeLoader's `load_all` reads them.
pub fn load_all(text: &str) -> Result<Vec<Value>, LoadError> {
    let docs = shapes(text).map_err(|e| LoadError(e.to_string()))?;
    Ok(docs.iter().map(as_value).collect())
}

/// The one document of `text` (none: null) with SafeLoader's types, as a
/// `yaml_serde::Value`: readers that keep custom tags (`!vault`) and want
/// yaml_serde's located errors use it. A timestamp is tagged
/// [`TIMESTAMP_TAG`]; other tagged nodes are as yaml_serde read them.
pub fn load_shape(text: &str) -> Result<Shape, yaml_serde::Error> {
    let mut docs = shapes(text)?;
    match docs.len() {
        0 => Ok(Shape::Null),
        1 => Ok(docs.remove(0)),
        _ => Err(yaml_serde::Error::custom(
            "expected a single document in the stream, found another",
        )),
    }
}

/// Every document of `text`, read twice: for its shape, then as SafeLoader.
fn shapes(text: &str) -> Result<Vec<Shape>, yaml_serde::Error> {
    let first = yaml_serde::Deserializer::from_str(text);
    let again = yaml_serde::Deserializer::from_str(text);
    let mut docs = Vec::new();
    for (first, second) in first.zip(again) {
        let shape = Shape::deserialize(first)?;
        let node = Node {
            shape: &shape,
            source: text,
        };
        docs.push(node.deserialize(second)?);
    }
    Ok(docs)
}

/// One node to read, with its shape from the first reading.
#[derive(Clone, Copy)]
struct Node<'a> {
    shape: &'a Shape,
    source: &'a str,
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Shape;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Shape, D::Error> {
        match self.shape {
            Shape::Sequence(_) => d.deserialize_seq(self),
            Shape::Mapping(_) => d.deserialize_map(self),
            Shape::Number(_) | Shape::String(_) => {
                let scalar = d.deserialize_str(ScalarText {
                    source: self.source,
                })?;
                scalar.value(self.shape).map_err(D::Error::custom)
            }
            // Null and booleans read the same in both versions; a custom
            // tag (`!vault`) keeps its node as YAML 1.2 read it.
            Shape::Null | Shape::Bool(_) | Shape::Tagged(_) => {
                IgnoredAny::deserialize(d)?;
                Ok(self.shape.clone())
            }
        }
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Shape;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the node the first reading found")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Shape, A::Error> {
        let Shape::Sequence(items) = self.shape else {
            return Err(A::Error::custom(
                "a sequence where the first reading found none",
            ));
        };
        let mut out = Vec::with_capacity(items.len());
        for shape in items {
            let node = Node { shape, ..self };
            out.push(
                seq.next_element_seed(node)?
                    .ok_or_else(|| A::Error::custom("a shorter sequence"))?,
            );
        }
        Ok(Shape::Sequence(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Shape, A::Error> {
        let Shape::Mapping(entries) = self.shape else {
            return Err(A::Error::custom(
                "a mapping where the first reading found none",
            ));
        };
        let mut merged = Vec::new();
        let mut own = Vec::new();
        for (key, value) in entries {
            let text = map.next_key_seed(KeySeed(Node { shape: key, ..self }))?;
            let value = map.next_value_seed(Node {
                shape: value,
                ..self
            })?;
            match text.ok_or_else(|| A::Error::custom("a shorter mapping"))? {
                MapKey::Merge => merged.extend(merge_sources(&value).map_err(A::Error::custom)?),
                MapKey::Key(k) => own.push((k, value)),
            }
        }
        Ok(mapping(merged.into_iter().chain(own)))
    }
}

/// A mapping key: `<<` (plain) merges, anything else is a key.
enum MapKey {
    Merge,
    Key(Shape),
}

struct KeySeed<'a>(Node<'a>);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = MapKey;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<MapKey, D::Error> {
        if !matches!(self.0.shape, Shape::String(s) if s == "<<") {
            return self.0.deserialize(d).map(MapKey::Key);
        }
        let scalar = d.deserialize_str(ScalarText {
            source: self.0.source,
        })?;
        if scalar.style == Style::Plain {
            return Ok(MapKey::Merge);
        }
        Ok(MapKey::Key(Shape::String(scalar.text)))
    }
}

/// The entries a `<<` value brings: a mapping's, or those of a list of
/// mappings, the first listed winning (as SafeLoader's `flatten_mapping`).
fn merge_sources(value: &Shape) -> Result<Vec<(Shape, Shape)>, String> {
    let entries = |m: &Shape| match m {
        Shape::Mapping(map) => Ok(map.clone().into_iter().collect::<Vec<_>>()),
        other => Err(format!(
            "expected a mapping or list of mappings for merging, but found {}",
            as_value(other)
        )),
    };
    let Shape::Sequence(listed) = value else {
        return entries(value);
    };
    let mut all = Vec::new();
    for m in listed.iter().rev() {
        all.extend(entries(m)?);
    }
    Ok(all)
}

/// A mapping of `pairs`, a repeated key keeping its first place and its
/// last value (a Python dict built in order).
fn mapping(pairs: impl Iterator<Item = (Shape, Shape)>) -> Shape {
    let mut out = Mapping::new();
    for (k, v) in pairs {
        out.insert(k, v);
    }
    Shape::Mapping(out)
}

/// How a scalar was written.
#[derive(Debug, PartialEq, Eq)]
enum Style {
    Plain,
    /// Quoted, block, or written over several lines: a string.
    Other,
    /// After an explicit tag: the type yaml_serde gave.
    Tagged,
}

struct Scalar {
    text: String,
    style: Style,
}

impl Scalar {
    /// The value SafeLoader makes of the scalar whose first reading is `shape`.
    fn value(self, shape: &Shape) -> Result<Shape, String> {
        match self.style {
            Style::Other => return Ok(Shape::String(self.text)),
            Style::Tagged => return Ok(shape.clone()),
            Style::Plain => {}
        }
        let text = self.text;
        Ok(match resolve::kind(&text) {
            Kind::Str => Shape::String(text),
            Kind::Null => Shape::Null,
            Kind::Bool => Shape::Bool(resolve::boolean(&text)),
            Kind::Int => resolve::int(&text).map_or(Shape::String(text), int_shape),
            Kind::Float => Shape::Number(Number::from(resolve::float(&text))),
            Kind::Timestamp => tagged(
                TIMESTAMP_TAG,
                resolve::timestamp(&text)
                    .ok_or_else(|| format!("{text:?} is not a valid date or time"))?,
            ),
            Kind::Merge | Kind::Value => {
                return Err(format!("could not determine a constructor for {text:?}"))
            }
        })
    }
}

/// An integer as a number, or past 64 bits tagged [`BIG_INT_TAG`].
fn int_shape(n: i128) -> Shape {
    if let Ok(i) = i64::try_from(n) {
        return Shape::Number(i.into());
    }
    u64::try_from(n).map_or_else(
        |_| tagged(BIG_INT_TAG, n.to_string()),
        |u| Shape::Number(u.into()),
    )
}

fn tagged(tag: &str, text: String) -> Shape {
    Shape::Tagged(Box::new(TaggedValue {
        tag: Tag::new(tag),
        value: Shape::String(text),
    }))
}

/// Reads a scalar's text and style.
struct ScalarText<'a> {
    source: &'a str,
}

impl<'de> Visitor<'de> for ScalarText<'_> {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a scalar")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Scalar, E> {
        Ok(Scalar {
            text: text.to_string(),
            style: style(self.source, text),
        })
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Scalar, E> {
        Ok(Scalar {
            text: text.to_string(),
            style: Style::Other,
        })
    }
}

/// How `text`, a slice of `source`, was written: quoted when a quote is
/// right before it, tagged when a word before it on its line is a tag
/// (`!!str`; anchors `&a` may come between).
fn style(source: &str, text: &str) -> Style {
    let start = (text.as_ptr() as usize).wrapping_sub(source.as_ptr() as usize);
    let Some(before) = source.get(..start) else {
        return Style::Other;
    };
    if before.ends_with(['\'', '"']) {
        return Style::Other;
    }
    let line = before.rsplit('\n').next().unwrap_or(before);
    for word in line.split_whitespace().rev() {
        if word.starts_with('!') {
            return Style::Tagged;
        }
        if !word.starts_with('&') {
            break;
        }
    }
    Style::Plain
}

/// A read node as a template value (a tag dropped, a big integer whole).
fn as_value(shape: &Shape) -> Value {
    match shape {
        Shape::Null => Value::from(()),
        Shape::Bool(b) => Value::from(*b),
        Shape::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_u64().map(Value::from))
            .unwrap_or_else(|| Value::from(n.as_f64().unwrap_or(f64::NAN))),
        Shape::String(s) => Value::from(s.as_str()),
        Shape::Sequence(items) => Value::from(items.iter().map(as_value).collect::<Vec<_>>()),
        Shape::Mapping(map) => {
            Value::from_pairs(map.iter().map(|(k, v)| (as_value(k), as_value(v))))
        }
        Shape::Tagged(t) => match (&t.value, t.tag == BIG_INT_TAG) {
            (Shape::String(n), true) => n
                .parse::<i128>()
                .map_or_else(|_| as_value(&t.value), Value::from),
            _ => as_value(&t.value),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> String {
        serde_json::to_string(&load(text).unwrap()).unwrap()
    }

    /// Expected values are what ansible-core 2.19's `from_yaml` gave.
    #[test]
    fn plain_scalars_read_as_yaml_1_1_quoted_ones_stay_strings() {
        assert_eq!(
            json("a: yes\nb: 'yes'\nc: 012\nd: \"012\"\ne: 1e3\nf: 0o12\ng: 1_000\nh: ~\ni: 2024-01-01\n"),
            r#"{"a":true,"b":"yes","c":10,"d":"012","e":"1e3","f":"0o12","g":1000,"h":null,"i":"2024-01-01"}"#
        );
        assert_eq!(
            json("[on, Off, 1:30, !!str 12, &x no, *x]"),
            r#"[true,false,90,"12",false,false]"#
        );
    }

    #[test]
    fn merge_keys_merge_their_mappings_own_keys_winning() {
        assert_eq!(
            json("a: &x {b: 1, c: 1}\nd:\n  <<: *x\n  c: 2\ne: {'<<': 3}\n"),
            r#"{"a":{"b":1,"c":1},"d":{"b":1,"c":2},"e":{"<<":3}}"#
        );
        assert_eq!(
            json("m:\n  <<: [{a: 1}, {a: 2, b: 2}]\n"),
            r#"{"m":{"a":1,"b":2}}"#
        );
    }

    #[test]
    fn streams_and_errors() {
        assert!(load("").unwrap().is_none());
        assert_eq!(load_all("---\n1\n---\nx: on\n").unwrap().len(), 2);
        assert!(load("a: =\n").is_err());
        assert!(load("a: [\n").is_err());
    }
}
