//! Strict JSON objects for JOSE headers and claims: serde_json parses, and a
//! seed on top refuses repeated member names and nesting deeper than
//! [`MAX_DEPTH`] (the top-level object is level 1), before serde_json's own
//! recursion limit could be reached.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The deepest nesting accepted; the top-level object is level 1.
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses `bytes` as one JSON object, strictly.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict { depth: 1 }.deserialize(&mut de).map_err(describe)?;
    de.end().map_err(describe)?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!("is {}, not a JSON object", type_name(&other))),
    }
}

fn describe(e: serde_json::Error) -> String {
    if e.is_data() {
        // Our own messages (repeated member, depth) come through as data errors.
        let text = e.to_string();
        match text.rfind(" at line ") {
            Some(i) => text[..i].to_owned(),
            None => text,
        }
    } else {
        format!("is not valid JSON ({e})")
    }
}

/// The JSON type name of a value, for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

struct Strict {
    depth: usize,
}

impl Strict {
    fn enter<E: de::Error>(&self) -> Result<(), E> {
        if self.depth > MAX_DEPTH {
            Err(E::custom(format!("nests deeper than {MAX_DEPTH} levels")))
        } else {
            Ok(())
        }
    }
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict {
            depth: self.depth + 1,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                // The name may come from an unauthenticated header: no raw
                // control characters into messages and logs.
                return Err(de::Error::custom(format!(
                    "repeats the member name `{}`",
                    crate::error::escape_controls(&key)
                )));
            }
            let value = map.next_value_seed(Strict {
                depth: self.depth + 1,
            })?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        let mut s = String::new();
        for _ in 0..levels - 1 {
            s.push_str("{\"a\":");
        }
        s.push_str("{}");
        for _ in 0..levels - 1 {
            s.push('}');
        }
        s
    }

    #[test]
    fn depth_limit_counts_the_top_level_object_as_one() {
        assert!(parse_object(nested(64).as_bytes()).is_ok());
        let err = parse_object(nested(65).as_bytes()).unwrap_err();
        assert!(err.contains("deeper than 64"), "{err}");
        // Far deeper than serde_json's own recursion limit: still our error, no overflow.
        let err = parse_object(nested(10_000).as_bytes()).unwrap_err();
        assert!(err.contains("deeper than 64"), "{err}");
    }

    #[test]
    fn arrays_count_as_levels() {
        let mut s = String::from("{\"a\":");
        s.push_str(&"[".repeat(63));
        s.push_str(&"]".repeat(63));
        s.push('}');
        assert!(parse_object(s.as_bytes()).is_ok());
        let s = format!("{{\"a\":{}{}}}", "[".repeat(64), "]".repeat(64));
        assert!(parse_object(s.as_bytes()).is_err());
    }

    #[test]
    fn repeated_members_are_refused_even_when_escaped() {
        assert!(
            parse_object(br#"{"a":1,"a":2}"#)
                .unwrap_err()
                .contains("`a`")
        );
        assert!(parse_object(br#"{"a":1,"\u0061":2}"#).is_err());
        assert!(parse_object(br#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(parse_object(br#"{"a":1,"b":{"a":2}}"#).is_ok());
    }

    #[test]
    fn non_objects_and_trailing_data_are_refused() {
        assert!(parse_object(b"[1]").unwrap_err().contains("an array"));
        assert!(parse_object(b"\"x\"").is_err());
        assert!(parse_object(b"{} {}").is_err());
        assert!(parse_object(b"").is_err());
        assert!(parse_object(b"{\"a\":\"\xff\"}").is_err());
        assert!(parse_object(b" {\"a\":1}\r\n").is_ok());
    }
}
