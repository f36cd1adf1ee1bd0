//! The field names a struct's `Deserialize` accepts, as serde itself lists
//! them, so that a list of known options (for an error's "did you mean")
//! never has to repeat a struct's fields by hand and drift from them.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use std::cell::Cell;

/// The fields `T` deserializes (its `#[serde(rename)]`s applied), or an
/// empty list when `T` is not a struct.
pub fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let seen = Cell::new(&[][..]);
    // The introspector always fails: it only records what serde asked for.
    let _ = T::deserialize(Introspector(&seen));
    seen.get()
}

/// A deserializer that answers nothing and records the fields serde's
/// derived code passes to `deserialize_struct`.
struct Introspector<'a>(&'a Cell<&'static [&'static str]>);

impl<'de> Deserializer<'de> for Introspector<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.set(fields);
        Err(de::Error::custom("fields recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Options {
        serial: Option<i64>,
        #[serde(rename = "any_errors_fatal")]
        fatal: bool,
    }

    #[test]
    fn a_struct_lists_its_fields_as_serde_names_them() {
        assert_eq!(fields_of::<Options>(), ["serial", "any_errors_fatal"]);
    }

    #[test]
    fn anything_else_lists_none() {
        assert!(fields_of::<String>().is_empty());
        assert!(fields_of::<Vec<i64>>().is_empty());
    }
}
