//! Strict JSON objects for JOSE headers and claims: serde_json parses, and a
//! seed on top refuses repeated member names and nesting deeper than
//! [`MAX_DEPTH`] (the top-level object is level 1), before serde_json's own
//! recursion limit could be reached.

use std::fmt;

use std::borrow::Cow;
use std::collections::HashMap;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
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

/// The exact JSON text of the value found by following `tokens` (member
/// names or array indexes) from the top of `document`.
///
/// `Value` holds an integer beyond 64 bits as the nearest `f64` (without
/// serde_json's `arbitrary_precision`, which a library must not force on its
/// hosts), and prints floats in its own way; the mapper uses this to map such
/// numbers from the sender's own text (CONTRACT section 4). It is called only
/// for those rare claims, on a document that [`parse_object`] already accepted.
pub(crate) fn raw_text<'d, 't>(
    document: &'d [u8],
    tokens: impl IntoIterator<Item = Cow<'t, str>>,
) -> Option<&'d str> {
    let mut current: &'d RawValue = serde_json::from_slice(document).ok()?;
    for token in tokens {
        let text = current.get();
        current = if text.starts_with('{') {
            let members: HashMap<String, &'d RawValue> = serde_json::from_str(text).ok()?;
            members.get(token.as_ref()).copied()?
        } else if text.starts_with('[') {
            let items: Vec<&'d RawValue> = serde_json::from_str(text).ok()?;
            items.get(token.parse::<usize>().ok()?).copied()?
        } else {
            return None;
        };
    }
    Some(current.get())
}

/// What the pipeline needs from a JOSE header (steps 3–6).
#[derive(Debug, Default)]
pub(crate) struct Header<'a> {
    /// `alg`: `Ok` for a string, `Err(json text)` for any other value.
    pub(crate) alg: Option<Result<Cow<'a, str>, String>>,
    /// `kid`: `Ok` for a string, `Err(())` for any other value.
    pub(crate) kid: Option<Result<Cow<'a, str>, ()>>,
    /// `crit` as JSON text, when present.
    pub(crate) crit: Option<String>,
}

/// Parses a JOSE header as strictly as [`parse_object`], keeping only `alg`,
/// `kid` and `crit`, borrowed from `bytes` where possible: no `Value` tree.
pub(crate) fn parse_header(bytes: &[u8]) -> Result<Header<'_>, String> {
    let mut header = Header::default();
    walk_object(bytes, &mut header)?;
    Ok(header)
}

impl<'de> Members<'de> for Header<'de> {
    fn member<A: MapAccess<'de>>(
        &mut self,
        key: Cow<'de, str>,
        _: u64,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key.as_ref() {
            "alg" => {
                self.alg = Some(match map.next_value_seed(LooseVisitor { depth: 2 })? {
                    Loose::Str(s) => Ok(s),
                    Loose::Other(v) => Err(v.to_string()),
                })
            }
            "kid" => {
                self.kid = Some(match map.next_value_seed(LooseVisitor { depth: 2 })? {
                    Loose::Str(s) => Ok(s),
                    Loose::Other(_) => Err(()),
                })
            }
            "crit" => self.crit = Some(map.next_value_seed(Strict { depth: 2 })?.to_string()),
            _ => map.next_value_seed(Validate { depth: 2 })?,
        }
        Ok(())
    }
}

/// Parses a JWT payload as strictly as [`parse_object`] (repeated members and
/// depth are checked everywhere), but builds values only for the top-level
/// members `keep` accepts (the registered and mapped claims); the others are
/// validated and skipped without allocating.
///
/// `keep` gets each member name with its [`fingerprint`].
pub(crate) fn parse_claims(
    bytes: &[u8],
    keep: impl Fn(&str, u64) -> bool,
) -> Result<Kept<'_>, String> {
    let mut keeper = Keeper {
        keep,
        kept: Kept {
            entries: Vec::with_capacity(12),
        },
    };
    walk_object(bytes, &mut keeper)?;
    Ok(keeper.kept)
}

/// The first top-level member `name` of the JSON object `bytes`, when it is a
/// string; reading stops there, so a later repeat of `name` or a syntax error
/// after it goes unseen. For choosing a configuration only: the chosen
/// verifier parses the whole object strictly.
pub(crate) fn peek_string_member(bytes: &[u8], name: &str) -> Result<Option<String>, String> {
    struct Peek<'n> {
        name: &'n str,
        found: Option<Option<String>>,
    }

    impl<'de> Members<'de> for Peek<'_> {
        fn member<A: MapAccess<'de>>(
            &mut self,
            key: Cow<'de, str>,
            _: u64,
            map: &mut A,
        ) -> Result<(), A::Error> {
            if key != self.name {
                return map.next_value_seed(Validate { depth: 2 });
            }
            self.found = Some(match map.next_value_seed(LooseVisitor { depth: 2 })? {
                Loose::Str(s) => Some(s.into_owned()),
                Loose::Other(_) => None,
            });
            // Stop reading here; the walk reports this error, which is expected.
            Err(de::Error::custom("found"))
        }
    }

    let mut peek = Peek { name, found: None };
    if bytes.iter().find(|b| !b" \t\r\n".contains(b)) != Some(&b'{') {
        return parse_object(bytes).map(|_| None);
    }
    match walk_members(bytes, &mut peek) {
        Ok(()) => Ok(None),
        Err(_) if peek.found.is_some() => Ok(peek.found.flatten()),
        Err(e) => Err(e.map_or_else(|| NOT_UTF8.to_owned(), describe)),
    }
}

/// Top-level claims by name: a full `Map`, or the [`Kept`] subset.
pub(crate) trait ClaimSource {
    /// The top-level claim `name`.
    fn claim(&self, name: &str) -> Option<&Value>;
    /// The top-level claim `name`, to move parts out of.
    fn claim_mut(&mut self, name: &str) -> Option<&mut Value>;
}

impl ClaimSource for Map<String, Value> {
    fn claim(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }

    fn claim_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.get_mut(name)
    }
}

/// The claims [`parse_claims`] kept, in payload order, names borrowed.
#[derive(Debug)]
pub(crate) struct Kept<'p> {
    entries: Vec<(Cow<'p, str>, Value)>,
}

impl ClaimSource for Kept<'_> {
    fn claim(&self, name: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    fn claim_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.entries
            .iter_mut()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

struct Keeper<'p, F> {
    keep: F,
    kept: Kept<'p>,
}

impl<'de, F: Fn(&str, u64) -> bool> Members<'de> for Keeper<'de, F> {
    fn member<A: MapAccess<'de>>(
        &mut self,
        key: Cow<'de, str>,
        fingerprint: u64,
        map: &mut A,
    ) -> Result<(), A::Error> {
        if (self.keep)(&key, fingerprint) {
            let value = map.next_value_seed(Strict { depth: 2 })?;
            self.kept.entries.push((key, value));
        } else {
            map.next_value_seed(Validate { depth: 2 })?;
        }
        Ok(())
    }
}

/// A cheap 64-bit FNV-1a hash of a member name, to compare names quickly
/// (equal fingerprints are confirmed by comparing the names).
pub(crate) fn fingerprint(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Receives the members of a top-level object; must consume each value.
trait Members<'de> {
    fn member<A: MapAccess<'de>>(
        &mut self,
        key: Cow<'de, str>,
        fingerprint: u64,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

/// Walks the top-level object of `bytes`, refusing repeated member names,
/// nesting deeper than [`MAX_DEPTH`] and trailing data.
fn walk_object<'de, M: Members<'de>>(bytes: &'de [u8], members: &mut M) -> Result<(), String> {
    // Not an object at all: `parse_object` names what it is.
    if bytes.iter().find(|b| !b" \t\r\n".contains(b)) != Some(&b'{') {
        return parse_object(bytes).map(|_| ());
    }
    walk_members(bytes, members).map_err(|e| e.map_or_else(|| NOT_UTF8.to_owned(), describe))
}

const NOT_UTF8: &str = "is not valid JSON (it is not UTF-8 text)";

/// [`walk_object`] for a text that starts with `{`, with the parser's own
/// error (`None`: not UTF-8), so a caller that stops early pays no formatting.
fn walk_members<'de, M: Members<'de>>(
    bytes: &'de [u8],
    members: &mut M,
) -> Result<(), Option<serde_json::Error>> {
    struct TopLevel<'m, M>(&'m mut M);

    impl<'de, M: Members<'de>> Visitor<'de> for TopLevel<'_, M> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = Seen::default();
            while let Some(key) = map.next_key_seed(KeySeed)? {
                let fingerprint = fingerprint(&key);
                if !seen.insert(fingerprint, key.clone()) {
                    return Err(repeated(&key));
                }
                self.0.member(key, fingerprint, &mut map)?;
            }
            Ok(())
        }
    }

    // One UTF-8 check for the whole text; the parser then reads it as `str`.
    let text = std::str::from_utf8(bytes).map_err(|_| None)?;
    let mut de = serde_json::Deserializer::from_str(text);
    serde::Deserializer::deserialize_map(&mut de, TopLevel(members)).map_err(Some)?;
    de.end().map_err(Some)
}

/// The name may come from an unauthenticated header: no raw control
/// characters into messages and logs.
fn repeated<E: de::Error>(key: &str) -> E {
    E::custom(format!(
        "repeats the member name `{}`",
        crate::error::untrusted(key)
    ))
}

/// Member names seen so far in one object, with their fingerprints. Names
/// are compared only when fingerprints are equal; the first members live on
/// the stack, and past them a set of fingerprints keeps hostile objects with
/// thousands of members fast.
struct Seen<'a> {
    inline: [(u64, Cow<'a, str>); Seen::INLINE],
    len: usize,
    /// One bit per fingerprint's low 6 bits: a clear bit means "not seen",
    /// so a member without a repeat is usually added without a scan.
    mask: u64,
    more: Vec<(u64, Cow<'a, str>)>,
    set: std::collections::HashSet<u64>,
}

impl Default for Seen<'_> {
    fn default() -> Self {
        Seen {
            inline: std::array::from_fn(|_| (0, Cow::Borrowed(""))),
            len: 0,
            mask: 0,
            more: Vec::new(),
            set: Default::default(),
        }
    }
}

impl<'a> Seen<'a> {
    const INLINE: usize = 24;

    fn entries(&self) -> impl Iterator<Item = &(u64, Cow<'a, str>)> {
        self.inline[..self.len.min(Self::INLINE)]
            .iter()
            .chain(&self.more)
    }

    /// Adds `name`; `false` when it was there already.
    fn insert(&mut self, fingerprint: u64, name: Cow<'a, str>) -> bool {
        let bit = 1u64 << (fingerprint & 63);
        let maybe_seen = if self.len <= Self::INLINE {
            self.mask & bit != 0 && self.entries().any(|(f, _)| *f == fingerprint)
        } else {
            if self.set.is_empty() {
                let all: Vec<u64> = self.entries().map(|(f, _)| *f).collect();
                self.set.extend(all);
            }
            !self.set.insert(fingerprint)
        };
        if maybe_seen && self.entries().any(|(f, n)| *f == fingerprint && *n == name) {
            return false;
        }
        self.mask |= bit;
        if self.len < Self::INLINE {
            self.inline[self.len] = (fingerprint, name);
        } else {
            self.more.push((fingerprint, name));
        }
        self.len += 1;
        true
    }
}

/// A member name, borrowed from the input when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

/// A string borrowed where possible, or any other value (checked like [`Strict`]).
enum Loose<'de> {
    Str(Cow<'de, str>),
    Other(Value),
}

impl<'de> DeserializeSeed<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

struct LooseVisitor {
    depth: usize,
}

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Other(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose::Other(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Strict { depth: self.depth }.visit_f64(v).map(Loose::Other)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Other(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Strict { depth: self.depth }
            .visit_seq(seq)
            .map(Loose::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Strict { depth: self.depth }
            .visit_map(map)
            .map(Loose::Other)
    }
}

/// Checks a value like [`Strict`] (depth, repeated members) without keeping it.
struct Validate {
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Validate {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Validate {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if self.depth > MAX_DEPTH {
            return Err(too_deep());
        }
        while seq
            .next_element_seed(Validate {
                depth: self.depth + 1,
            })?
            .is_some()
        {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        if self.depth > MAX_DEPTH {
            return Err(too_deep());
        }
        let mut seen = Seen::default();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if !seen.insert(fingerprint(&key), key.clone()) {
                return Err(repeated(&key));
            }
            map.next_value_seed(Validate {
                depth: self.depth + 1,
            })?;
        }
        Ok(())
    }
}

fn too_deep<E: de::Error>() -> E {
    E::custom(format!("nests deeper than {MAX_DEPTH} levels"))
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
            Err(too_deep())
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
                return Err(repeated(&key));
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
    fn raw_text_keeps_the_senders_digits() {
        let doc = br#"{"a":18446744073709551616,"b":[1,-99999999999999999999,2.50e1],"c/d":{"~":123456789012345678901234567890},"e":"x"}"#;
        let at = |tokens: &[&str]| raw_text(doc, tokens.iter().map(|t| Cow::Borrowed(*t)));
        assert_eq!(at(&["a"]), Some("18446744073709551616"));
        assert_eq!(at(&["b", "1"]), Some("-99999999999999999999"));
        assert_eq!(at(&["b", "2"]), Some("2.50e1"));
        assert_eq!(at(&["c/d", "~"]), Some("123456789012345678901234567890"));
        assert_eq!(at(&["e"]), Some(r#""x""#));
        assert_eq!(at(&["b", "3"]), None);
        assert_eq!(at(&["a", "x"]), None);
        assert_eq!(at(&["zz"]), None);
    }

    #[test]
    fn selective_parsing_is_as_strict_as_the_full_parse() {
        let keep = |k: &str, _: u64| k == "exp";
        let cases: [&[u8]; 9] = [
            br#"{"exp":1,"x":{"a":1,"a":2}}"#,
            br#"{"exp":1,"x":[{"a":1,"a":2}]}"#,
            br#"{"x":1,"exp":2,"x":3}"#,
            br#"{"exp":1,"x":"\ud800"}"#,
            b"{\"exp\":1,\"x\":\"\xff\"}",
            br#"{"exp":1} x"#,
            br#"[{"exp":1}]"#,
            br#"{"exp":1,"x":1e400}"#,
            br#"{"exp":1,"x":tru}"#,
        ];
        for case in cases {
            let text = String::from_utf8_lossy(case);
            assert!(parse_object(case).is_err(), "full parse accepted {text}");
            assert!(
                parse_claims(case, keep).is_err(),
                "selective parse accepted {text}"
            );
        }
        let deep = format!("{{\"exp\":1,\"x\":{}{}}}", "[".repeat(64), "]".repeat(64));
        assert!(
            parse_claims(deep.as_bytes(), keep)
                .unwrap_err()
                .contains("deeper than 64")
        );
        let deep = format!("{{\"exp\":1,\"x\":{}{}}}", "[".repeat(63), "]".repeat(63));
        let kept = parse_claims(deep.as_bytes(), keep).unwrap();
        assert_eq!(kept.entries.len(), 1);
        assert_eq!(kept.claim("exp"), Some(&Value::from(1)));
        assert!(parse_claims(b"[1]", keep).unwrap_err().contains("an array"));
    }

    #[test]
    fn repeated_members_are_found_among_many() {
        let mut text = String::from("{");
        for i in 0..100 {
            text.push_str(&format!("\"k{i}\":{i},"));
        }
        text.push_str("\"k7\":0}");
        assert!(
            parse_claims(text.as_bytes(), |_, _| false)
                .unwrap_err()
                .contains("`k7`")
        );
        let ok = text.replace("\"k7\":0}", "\"z\":0}");
        assert!(
            parse_claims(ok.as_bytes(), |_, _| false)
                .unwrap()
                .entries
                .is_empty()
        );
        // Escaped spellings of one name are one name.
        assert!(parse_claims(br#"{"alg":1,"\u0061lg":2}"#, |_, _| true).is_err());
        // A repeat of any earlier member is found, before, at and past the
        // inline entries (where the quick mask and then the set take over).
        for total in [1, 2, 23, 24, 25, 26, 70] {
            for repeated in 0..total {
                let mut text: String = (0..total).map(|i| format!("\"m{i}\":{i},")).collect();
                text = format!("{{{text}\"m{repeated}\":0}}");
                let err = parse_claims(text.as_bytes(), |_, _| false).unwrap_err();
                assert!(
                    err.contains(&format!("`m{repeated}`")),
                    "{total}/{repeated}: {err}"
                );
            }
        }
    }

    #[test]
    fn headers_keep_alg_kid_and_crit() {
        let h = parse_header(br#"{"alg":"RS256","kid":"k1","typ":"JWT","x5c":["a"]}"#).unwrap();
        assert_eq!(h.alg, Some(Ok(Cow::Borrowed("RS256"))));
        assert_eq!(h.kid, Some(Ok(Cow::Borrowed("k1"))));
        assert_eq!(h.crit, None);
        let h = parse_header(br#"{"alg":["HS256"],"kid":7,"crit":["b64"]}"#).unwrap();
        assert_eq!(h.alg, Some(Err(r#"["HS256"]"#.to_owned())));
        assert_eq!(h.kid, Some(Err(())));
        assert_eq!(h.crit.as_deref(), Some(r#"["b64"]"#));
        let h = parse_header(br#"{"alg":"HS\u0032\u0035\u0036"}"#).unwrap();
        assert_eq!(h.alg, Some(Ok(Cow::Owned("HS256".to_owned()))));
        assert!(parse_header(br#"{"alg":"HS256","alg":"none"}"#).is_err());
        assert!(parse_header(br#""HS256""#).is_err());
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
