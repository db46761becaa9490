//! Strict JSON objects for JOSE headers and claims: member names appear
//! once per object, nesting is at most [`MAX_DEPTH`] levels deep (the
//! top-level object is level 1).
//!
//! Two readers with one set of rules. The token's objects (the header's
//! `alg`, `kid` and `crit` ([`parse_header`]), the claims a verifier reads
//! ([`capture`]), the routing's first `iss` ([`peek_string_member`]) and a
//! plain strictness check ([`check_object`])) are read in one pass by
//! [`scan`], which keeps only what is asked for, borrowed from the text.
//! [`parse_object`] builds a whole `Map` with serde_json; it also explains
//! every refusal of the scanner.

mod scan;

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::mem::ManuallyDrop;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Number, Value};

use scan::{Refused, Scan, Scanner};

/// The deepest nesting accepted; the top-level object is level 1.
pub(crate) const MAX_DEPTH: usize = 64;

/// Parses `bytes` as one JSON object, strictly, into a `Map`.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = Strict { depth: 1 }.deserialize(&mut de).map_err(describe)?;
    de.end().map_err(describe)?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(format!("is {}, not a JSON object", type_name(&other))),
    }
}

/// Checks that `bytes` is one JSON object, as strictly as [`parse_object`],
/// without keeping anything.
pub(crate) fn check_object(bytes: &[u8]) -> Result<(), String> {
    walk_object(bytes, |scanner| scanner.skip(1))
}

/// The exact JSON text of the value found by following `tokens` (member
/// names or array indexes) from the top of `document`.
///
/// `Value` holds an integer beyond 64 bits as the nearest `f64` (without
/// serde_json's `arbitrary_precision`, which a library must not force on its
/// hosts), and prints floats in its own way; the mapper uses this to map such
/// numbers from the sender's own text (CONTRACT section 4). It is called only
/// for those rare claims, on a document that [`capture`] already accepted.
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

// ------------------------------------------------------------ header

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
    walk_object(bytes, |scanner| {
        scanner.object(1, |scanner, name, _| {
            match name.as_ref() {
                "alg" => {
                    header.alg = Some(match scanner.claim(2)? {
                        Claim::Str(s) => Ok(s),
                        other => Err(other.into_value().to_string()),
                    })
                }
                "kid" => {
                    header.kid = Some(match scanner.claim(2)? {
                        Claim::Str(s) => Ok(s),
                        _ => Err(()),
                    })
                }
                "crit" => header.crit = Some(scanner.tree(2)?.to_string()),
                _ => scanner.skip(2)?,
            }
            Ok(())
        })
    })?;
    Ok(header)
}

// ------------------------------------------------------------ claims

/// One value as the scanner read it: strings borrowed from the text where
/// they hold no escapes, an array of strings as a list, and anything else
/// built as a `Value`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Claim<'p> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Cow<'p, str>),
    /// An array holding only strings (`aud`, roles).
    Strings(Vec<Cow<'p, str>>),
    /// Any other array, an object, or a value a JSON Pointer reads into.
    Tree(Value),
}

/// A borrowed view of one claim value, whether captured ([`Claim`]) or
/// part of a `Value` tree: what the registered-claim checks and the mapper read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum ClaimRef<'a> {
    Null,
    Bool(bool),
    Number(&'a Number),
    Str(&'a str),
    /// An array of strings as captured.
    Strings(&'a [Cow<'a, str>]),
    /// An array or an object.
    Tree(&'a Value),
}

impl<'a> From<&'a Value> for ClaimRef<'a> {
    fn from(value: &'a Value) -> Self {
        match value {
            Value::Null => ClaimRef::Null,
            Value::Bool(b) => ClaimRef::Bool(*b),
            Value::Number(n) => ClaimRef::Number(n),
            Value::String(s) => ClaimRef::Str(s),
            Value::Array(_) | Value::Object(_) => ClaimRef::Tree(value),
        }
    }
}

impl<'a> ClaimRef<'a> {
    /// The JSON type name, for messages.
    pub(crate) fn type_name(self) -> &'static str {
        match self {
            ClaimRef::Null => "null",
            ClaimRef::Bool(_) => "a boolean",
            ClaimRef::Number(_) => "a number",
            ClaimRef::Str(_) => "a string",
            ClaimRef::Strings(_) => "an array",
            ClaimRef::Tree(value) => type_name(value),
        }
    }

    pub(crate) fn as_str(self) -> Option<&'a str> {
        match self {
            ClaimRef::Str(s) => Some(s),
            _ => None,
        }
    }

    /// For an array: `Ok` with its items when they are all strings, `Err`
    /// with the first item that is not. `None` for anything else.
    pub(crate) fn strings(self) -> Option<Result<Strings<'a>, ClaimRef<'a>>> {
        match self {
            ClaimRef::Strings(items) => Some(Ok(Strings::Captured(items.iter()))),
            ClaimRef::Tree(Value::Array(items)) => {
                Some(match items.iter().find(|v| !v.is_string()) {
                    Some(other) => Err(ClaimRef::from(other)),
                    None => Ok(Strings::Values(items.iter())),
                })
            }
            _ => None,
        }
    }

    /// The value as a `Value`.
    #[cfg(test)]
    pub(crate) fn to_value(self) -> Value {
        match self {
            ClaimRef::Null => Value::Null,
            ClaimRef::Bool(b) => Value::Bool(b),
            ClaimRef::Number(n) => Value::Number(n.clone()),
            ClaimRef::Str(s) => Value::String(s.to_owned()),
            ClaimRef::Strings(items) => items.iter().map(|s| s.to_string()).collect(),
            ClaimRef::Tree(value) => value.clone(),
        }
    }

    /// The value `pointer` (RFC 6901) leads to from this one.
    pub(crate) fn pointer(self, pointer: &str) -> Option<ClaimRef<'a>> {
        match self {
            ClaimRef::Tree(value) => value.pointer(pointer).map(ClaimRef::from),
            _ => None,
        }
    }
}

/// The items of an array of strings ([`ClaimRef::strings`]).
pub(crate) enum Strings<'a> {
    Captured(std::slice::Iter<'a, Cow<'a, str>>),
    Values(std::slice::Iter<'a, Value>),
}

impl<'a> Iterator for Strings<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self {
            Strings::Captured(items) => items.next().map(AsRef::as_ref),
            Strings::Values(items) => items.next().and_then(Value::as_str),
        }
    }
}

/// Top-level claims as a verifier's [`ClaimPlan`] or a `Map` holds them.
pub(crate) trait ClaimSource {
    /// The top-level claim `name`, which the plan keeps in `slot`.
    fn root(&self, slot: usize, name: &str) -> Option<ClaimRef<'_>>;
}

impl ClaimSource for Map<String, Value> {
    fn root(&self, _: usize, name: &str) -> Option<ClaimRef<'_>> {
        self.get(name).map(ClaimRef::from)
    }
}

/// The top-level claims a verifier reads: each has a slot, in which
/// [`capture`] keeps its value.
#[derive(Debug, Clone)]
pub(crate) struct ClaimPlan {
    entries: Vec<Planned>,
    /// By a fingerprint's low 6 bits: 0 when no planned claim has them,
    /// `slot + 1` when one does, [`ClaimPlan::SEVERAL`] when more do (then
    /// the entries are searched). Most members are found, or passed over,
    /// with one look and one comparison.
    index: [u8; 64],
}

#[derive(Debug, Clone)]
struct Planned {
    fingerprint: u64,
    name: Box<str>,
    /// A JSON Pointer reads into this claim: keep it as a `Value` tree.
    tree: bool,
}

impl ClaimPlan {
    /// A plan that keeps `names` in slots 0, 1, …
    pub(crate) fn new(names: &[&str]) -> Self {
        let mut plan = ClaimPlan {
            entries: Vec::new(),
            index: [0; 64],
        };
        for name in names {
            plan.slot(name, false);
        }
        plan
    }

    /// The slot of the claim `name`, planned now when it is new; `tree` when
    /// a JSON Pointer reads into it.
    pub(crate) fn slot(&mut self, name: &str, tree: bool) -> usize {
        let fingerprint = fingerprint(name);
        if let Some(slot) = self.find(name, fingerprint) {
            self.entries[slot].tree |= tree;
            return slot;
        }
        let slot = self.entries.len();
        let index = &mut self.index[(fingerprint & 63) as usize];
        *index = match u8::try_from(slot + 1) {
            Ok(one) if *index == 0 && one < Self::SEVERAL => one,
            _ => Self::SEVERAL,
        };
        self.entries.push(Planned {
            fingerprint,
            name: name.into(),
            tree,
        });
        slot
    }

    const SEVERAL: u8 = u8::MAX;

    fn find(&self, name: &str, fingerprint: u64) -> Option<usize> {
        let is = |e: &Planned| e.fingerprint == fingerprint && same(&e.name, name);
        match self.index[(fingerprint & 63) as usize] {
            0 => None,
            Self::SEVERAL => self.entries.iter().position(is),
            one => {
                let slot = usize::from(one - 1);
                is(&self.entries[slot]).then_some(slot)
            }
        }
    }
}

/// The claims [`capture`] kept, by slot of its [`ClaimPlan`].
#[derive(Debug)]
pub(crate) struct Captured<'p> {
    /// Not dropped slot by slot: most claims borrow from the payload or are
    /// plain values, and [`Drop`] takes out only the ones `owning` marks.
    inline: ManuallyDrop<[Option<Claim<'p>>; Captured::INLINE]>,
    /// One bit per inline slot whose claim may own memory.
    owning: u16,
    more: Vec<Option<Claim<'p>>>,
}

impl Drop for Captured<'_> {
    fn drop(&mut self) {
        let mut owning = self.owning;
        while owning != 0 {
            drop(self.inline[owning.trailing_zeros() as usize].take());
            owning &= owning - 1;
        }
    }
}

impl<'p> Captured<'p> {
    /// Slots held without allocating (7 registered claims and 9 mapped ones).
    const INLINE: usize = 16;

    /// Empty slots for the claims of `plan`.
    pub(crate) fn new(plan: &ClaimPlan) -> Self {
        let mut more = Vec::new();
        more.resize_with(plan.entries.len().saturating_sub(Self::INLINE), || None);
        Captured {
            inline: ManuallyDrop::new(Default::default()),
            owning: 0,
            more,
        }
    }

    /// The slot `slot` when it is empty; `None` when it holds a claim
    /// already (a repeated member).
    #[inline]
    fn vacant(&mut self, slot: usize) -> Option<&mut Option<Claim<'p>>> {
        let held = match slot.checked_sub(Self::INLINE) {
            None => &mut self.inline[slot],
            Some(i) => &mut self.more[i],
        };
        held.is_none().then_some(held)
    }

    /// Notes whether the claim now in `slot` owns memory (see `Drop`).
    #[inline]
    fn kept(&mut self, slot: usize) {
        let Some(held) = self.inline.get(slot) else {
            return; // past the inline slots: dropped with `more`
        };
        let owns = match held {
            None | Some(Claim::Null | Claim::Bool(_) | Claim::Str(Cow::Borrowed(_))) => false,
            // Plain data, unless serde_json's `arbitrary_precision` is on.
            Some(Claim::Number(_)) => std::mem::needs_drop::<Number>(),
            Some(Claim::Str(Cow::Owned(_)) | Claim::Strings(_) | Claim::Tree(_)) => true,
        };
        self.owning |= u16::from(owns) << slot;
    }

    /// The claim in `slot`, when the payload has it.
    #[inline]
    pub(crate) fn get(&self, slot: usize) -> Option<ClaimRef<'_>> {
        let claim = match slot.checked_sub(Self::INLINE) {
            None => self.inline[slot].as_ref(),
            Some(i) => self.more.get(i)?.as_ref(),
        }?;
        Some(match claim {
            Claim::Null => ClaimRef::Null,
            Claim::Bool(b) => ClaimRef::Bool(*b),
            Claim::Number(n) => ClaimRef::Number(n),
            Claim::Str(s) => ClaimRef::Str(s),
            Claim::Strings(items) => ClaimRef::Strings(items),
            Claim::Tree(value) => ClaimRef::from(value),
        })
    }
}

impl ClaimSource for Captured<'_> {
    #[inline]
    fn root(&self, slot: usize, _: &str) -> Option<ClaimRef<'_>> {
        self.get(slot)
    }
}

/// Reads a JWT payload in one pass, as strictly as [`parse_object`]
/// (repeated members and depth are checked everywhere), keeping only the
/// top-level members `plan` names in `captured` (made for `plan`), borrowed
/// from `bytes` where possible; the others are checked and skipped without
/// allocating.
pub(crate) fn capture<'p>(
    bytes: &'p [u8],
    plan: &ClaimPlan,
    captured: &mut Captured<'p>,
) -> Result<(), String> {
    // A repeated claim that is kept finds its slot filled; the names of the
    // others are remembered (from the first one on).
    let mut others: Option<Seen> = None;
    walk_object(bytes, |scanner| {
        scanner.members(1, |scanner, name, fingerprint| {
            let Some(slot) = plan.find(&name, fingerprint) else {
                let others = others.get_or_insert_with(Seen::default);
                return match others.insert(fingerprint, &name) {
                    true => scanner.skip(2),
                    false => Err(Refused),
                };
            };
            let out = captured.vacant(slot).ok_or(Refused)?;
            match plan.entries[slot].tree {
                true => *out = Some(Claim::Tree(scanner.tree(2)?)),
                false => scanner.claim_into(2, out)?,
            }
            captured.kept(slot);
            Ok(())
        })
    })
}

/// The first top-level member `name` of the JSON object `bytes`, when it is a
/// string; reading stops there, so a later repeat of `name` or a syntax error
/// after it goes unseen. For choosing a configuration only: the chosen
/// verifier parses the whole object strictly.
pub(crate) fn peek_string_member(bytes: &[u8], name: &str) -> Result<Option<String>, String> {
    let mut scanner = Scanner::new(object_text(bytes)?);
    let mut found = None;
    let scanned = scanner.object(1, |scanner, key, _| {
        if key != name {
            return scanner.skip(2);
        }
        found = Some(match scanner.claim(2)? {
            Claim::Str(s) => Some(s.into_owned()),
            _ => None,
        });
        // Stop reading here.
        Err(Refused)
    });
    match (found, scanned.and_then(|()| scanner.end())) {
        (Some(found), _) => Ok(found),
        (None, Ok(())) => Ok(None),
        (None, Err(Refused)) => Err(refusal(bytes)),
    }
}

// ------------------------------------------------------------ the walk

/// A cheap 64-bit hash of a member name, to compare names quickly (equal
/// fingerprints are confirmed by comparing the names). Eight bytes per
/// multiplication rather than one (FNV-1a's chain of a multiplication per
/// byte was most of the cost of a short name); each round folds the high
/// half into the low bits, which index the plan and the seen-names mask.
pub(crate) fn fingerprint(name: &str) -> u64 {
    // 2^64 / the golden ratio, odd: the usual multiplier of Fibonacci hashing.
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let round = |h: u64, word: u64| {
        let h = (h ^ word).wrapping_mul(K);
        h ^ (h >> 32)
    };
    let bytes = name.as_bytes();
    let mut chunks = bytes.chunks_exact(8);
    let mut h = (bytes.len() as u64).wrapping_mul(K);
    for chunk in &mut chunks {
        h = round(h, u64::from_le_bytes(chunk.try_into().unwrap_or_default()));
    }
    // The last 0–7 bytes, shifted into one word (no stack buffer to read back).
    let tail = chunks
        .remainder()
        .iter()
        .enumerate()
        .fold(0, |w, (i, &b)| w | u64::from(b) << (8 * i));
    round(h, tail)
}

/// `a == b` for the short strings of member names, without a call.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

/// Scans the JSON object `bytes` with `read`, then checks that only white
/// space follows.
fn walk_object<'p>(
    bytes: &'p [u8],
    read: impl FnOnce(&mut Scanner<'p>) -> Scan<()>,
) -> Result<(), String> {
    let mut scanner = Scanner::new(object_text(bytes)?);
    read(&mut scanner)
        .and_then(|()| scanner.end())
        .map_err(|Refused| refusal(bytes))
}

/// `bytes` as text, when it is UTF-8 and starts (after white space) like an
/// object; else why it is not a JSON object.
fn object_text(bytes: &[u8]) -> Result<&str, String> {
    if bytes.iter().find(|b| !b" \t\r\n".contains(b)) != Some(&b'{') {
        // `parse_object` names what it is.
        return Err(refusal(bytes));
    }
    // One UTF-8 check for the whole text; the scanner then reads it as `str`.
    std::str::from_utf8(bytes).map_err(|_| NOT_UTF8.to_owned())
}

/// Why `bytes` is not a strict JSON object, as [`parse_object`] says it.
#[cold]
fn refusal(bytes: &[u8]) -> String {
    match parse_object(bytes) {
        Err(reason) => reason,
        // The scanner and serde_json disagree (a bug): refuse all the same.
        Ok(_) => "is not valid JSON".to_owned(),
    }
}

const NOT_UTF8: &str = "is not valid JSON (it is not UTF-8 text)";

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
    /// The first names that had no escapes, borrowed from the text.
    inline: [(u64, &'a str); Seen::INLINE],
    inline_len: usize,
    /// The other names: past the inline ones, or unescaped into new text.
    more: Vec<(u64, Cow<'a, str>)>,
    /// One bit per fingerprint's low 6 bits: a clear bit means "not seen",
    /// so a member without a repeat is usually added without a scan.
    mask: u64,
    /// Every fingerprint, once the object has more than `INLINE` members.
    set: Option<HashSet<u64>>,
}

impl Default for Seen<'_> {
    fn default() -> Self {
        Seen {
            inline: [(0, ""); Seen::INLINE],
            inline_len: 0,
            more: Vec::new(),
            mask: 0,
            set: None,
        }
    }
}

impl<'a> Seen<'a> {
    const INLINE: usize = 24;

    fn len(&self) -> usize {
        self.inline_len + self.more.len()
    }

    fn has(&self, fingerprint: u64, name: &str) -> bool {
        self.inline[..self.inline_len]
            .iter()
            .any(|(f, n)| *f == fingerprint && same(n, name))
            || self
                .more
                .iter()
                .any(|(f, n)| *f == fingerprint && same(n, name))
    }

    /// Adds `name`; `false` when it was there already. A borrowed name is
    /// kept by reference, an unescaped one copied.
    #[allow(clippy::ptr_arg)] // the `Cow` says which of the two it is
    fn insert(&mut self, fingerprint: u64, name: &Cow<'a, str>) -> bool {
        let bit = 1u64 << (fingerprint & 63);
        let maybe_seen = if self.len() <= Self::INLINE {
            self.mask & bit != 0
        } else {
            let set = self.set.get_or_insert_with(|| {
                let inline = self.inline[..self.inline_len].iter().map(|(f, _)| *f);
                inline.chain(self.more.iter().map(|(f, _)| *f)).collect()
            });
            !set.insert(fingerprint)
        };
        if maybe_seen && self.has(fingerprint, name) {
            return false;
        }
        self.mask |= bit;
        match name {
            Cow::Borrowed(name) if self.inline_len < Self::INLINE => {
                self.inline[self.inline_len] = (fingerprint, name);
                self.inline_len += 1;
            }
            name => self.more.push((fingerprint, name.clone())),
        }
        true
    }
}

impl Claim<'_> {
    fn into_value(self) -> Value {
        match self {
            Claim::Null => Value::Null,
            Claim::Bool(b) => Value::Bool(b),
            Claim::Number(n) => Value::Number(n),
            Claim::Str(s) => Value::String(s.into_owned()),
            Claim::Strings(items) => items.into_iter().map(Cow::into_owned).collect(),
            Claim::Tree(value) => value,
        }
    }
}

fn finite<E: de::Error>(v: f64) -> Result<Number, E> {
    Number::from_f64(v).ok_or_else(|| E::custom("number is not finite"))
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

/// Builds a `Value` at `depth`, refusing repeated members and nesting
/// deeper than [`MAX_DEPTH`].
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
        finite(v).map(Value::Number)
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

    /// `capture` into new slots.
    fn capture<'p>(bytes: &'p [u8], plan: &ClaimPlan) -> Result<Captured<'p>, String> {
        let mut captured = Captured::new(plan);
        super::capture(bytes, plan, &mut captured).map(|()| captured)
    }

    /// What `capture` kept for `name`, as a `Value` (`None`: absent).
    fn kept(bytes: &[u8], names: &[&str], name: &str) -> Option<Value> {
        let plan = ClaimPlan::new(names);
        let captured = capture(bytes, &plan).unwrap();
        let slot = names.iter().position(|n| *n == name).unwrap();
        captured.get(slot).map(ClaimRef::to_value)
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

    /// Level 64 is accepted and 65 refused wherever the nesting is: in a
    /// claim that is captured (as a list of strings, a `Value` tree or a
    /// pointer's tree), in one that is skipped, in an array that starts
    /// with strings, and in objects and arrays alike.
    #[test]
    fn capture_accepts_level_64_and_refuses_65_everywhere() {
        // `inner(n)`: a value that, as a member of the top-level object,
        // reaches level `n` (the member's value itself is level 2).
        type Shape = (&'static str, fn(usize) -> String);
        let shapes: [Shape; 4] = [
            ("arrays", |n| {
                format!("{}{}", "[".repeat(n - 1), "]".repeat(n - 1))
            }),
            ("objects", |n| {
                let mut s = "{}".to_owned();
                for _ in 0..n - 2 {
                    s = format!("{{\"a\":{s}}}");
                }
                s
            }),
            ("strings first", |n| {
                format!("[\"s\",\"t\",{}{}]", "[".repeat(n - 2), "]".repeat(n - 2))
            }),
            ("object in array", |n| {
                let mut s = "{}".to_owned();
                for _ in 0..n - 3 {
                    s = format!("{{\"a\":{s}}}");
                }
                format!("[\"s\",{s}]")
            }),
        ];
        let mut pointer_plan = ClaimPlan::new(&["exp"]);
        pointer_plan.slot("x", true);
        let plans = [
            ("captured", ClaimPlan::new(&["exp", "x"])),
            ("skipped", ClaimPlan::new(&["exp"])),
            ("tree", pointer_plan),
        ];
        for (shape, inner) in shapes {
            for (how, plan) in &plans {
                let ok = format!("{{\"exp\":1,\"x\":{}}}", inner(64));
                assert!(
                    parse_object(ok.as_bytes()).is_ok(),
                    "{shape}: full parse of 64"
                );
                assert!(capture(ok.as_bytes(), plan).is_ok(), "{shape}, {how}: 64");
                let deep = format!("{{\"exp\":1,\"x\":{}}}", inner(65));
                assert!(
                    parse_object(deep.as_bytes()).is_err(),
                    "{shape}: full parse of 65"
                );
                let err = capture(deep.as_bytes(), plan).unwrap_err();
                assert!(err.contains("deeper than 64"), "{shape}, {how}: {err}");
                assert!(
                    check_object(deep.as_bytes()).is_err(),
                    "{shape}: check of 65"
                );
            }
        }
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

    /// A member name is the name after unescaping: `"s\u0075b"` is `sub`,
    /// captured as `sub` and a repeat of `sub`, wherever it stands.
    #[test]
    fn escaped_names_are_the_claims_they_spell() {
        assert_eq!(
            kept(br#"{"s\u0075b":"jdoe","exp":1}"#, &["exp", "sub"], "sub"),
            Some(Value::from("jdoe"))
        );
        assert_eq!(
            kept(br#"{"\u0065\u0078\u0070":7}"#, &["exp"], "exp"),
            Some(Value::from(7))
        );
        let plan = ClaimPlan::new(&["exp", "sub"]);
        for text in [
            r#"{"sub":"a","s\u0075b":"b"}"#,
            r#"{"s\u0075b":"a","sub":"b"}"#,
            r#"{"s\u0075b":"a","\u0073ub":"b"}"#,
        ] {
            let err = capture(text.as_bytes(), &plan).unwrap_err();
            assert!(
                err.contains("repeats the member name `sub`"),
                "{text}: {err}"
            );
            assert!(check_object(text.as_bytes()).is_err(), "{text}");
        }
        // Past the inline entries too.
        let filler: String = (0..30).map(|i| format!("\"f{i}\":{i},")).collect();
        let text = format!(r#"{{"sub":"a",{filler}"s\u0075b":"b"}}"#);
        assert!(capture(text.as_bytes(), &plan).is_err());
        let text = format!(r#"{{{filler}"s\u0075b":"a","sub":"b"}}"#);
        assert!(capture(text.as_bytes(), &plan).is_err());
        // A name that only looks like a claim is another claim.
        assert_eq!(
            kept(br#"{"sub ":"x","Sub":"y"}"#, &["exp", "sub"], "sub"),
            None
        );
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
    fn capture_is_as_strict_as_the_full_parse() {
        let plan = ClaimPlan::new(&["exp"]);
        let cases: [&[u8]; 11] = [
            br#"{"exp":1,"x":{"a":1,"a":2}}"#,
            br#"{"exp":1,"x":[{"a":1,"a":2}]}"#,
            br#"{"exp":[{"a":1,"a":2}]}"#,
            br#"{"exp":["s",{"a":1,"a":2}]}"#,
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
            assert!(capture(case, &plan).is_err(), "capture accepted {text}");
            assert!(check_object(case).is_err(), "check accepted {text}");
        }
        assert!(capture(b"[1]", &plan).unwrap_err().contains("an array"));
        assert!(check_object(b"7").unwrap_err().contains("a number"));
    }

    /// Every captured claim is the value the full parse finds, whatever its
    /// shape; strings without escapes are borrowed from the payload.
    #[test]
    fn captured_claims_are_the_full_parses_values() {
        let payload = br#"{"exp":1767229200.5,"nbf":-3,"iat":18446744073709551615,
            "iss":"https:\/\/idp","aud":["a","b\u00e9"],"sub":"jdoe","jti":null,
            "e":[],"m":["x",1,["y"],{"k":"v"}],"o":{"a":[1,"b"]},"t":true,
            "skip":{"deep":[[["z"]]]},"big":123456789012345678901234567890,
            "z0":-0,"n18":-999999999999999999,"n19":-9223372036854775809,"u19":1000000000000000000}"#;
        let names = [
            "exp", "nbf", "iat", "iss", "aud", "sub", "jti", "e", "m", "o", "t", "big", "none",
            "z0", "n18", "n19", "u19",
        ];
        let full = parse_object(payload).unwrap();
        for name in names {
            assert_eq!(
                kept(payload, &names, name),
                full.get(name).cloned(),
                "claim `{name}`"
            );
        }
        let plan = ClaimPlan::new(&names);
        let captured = capture(payload, &plan).unwrap();
        // Borrowed from the payload: the same bytes.
        match captured.get(5) {
            Some(ClaimRef::Str(s)) => assert!(payload.as_ptr_range().contains(&s.as_ptr())),
            other => panic!("sub captured as {other:?}"),
        }
        assert!(
            matches!(captured.inline[3], Some(Claim::Str(Cow::Owned(ref s))) if s == "https://idp")
        );
        match captured.get(4) {
            Some(ClaimRef::Strings(items)) => {
                assert!(matches!(items[0], Cow::Borrowed("a")));
                assert!(matches!(&items[1], Cow::Owned(s) if s == "bé"));
                assert_eq!(items.len(), 2);
            }
            other => panic!("aud captured as {other:?}"),
        }
        assert!(matches!(captured.get(7), Some(ClaimRef::Strings(items)) if items.is_empty()));
        assert!(matches!(
            captured.get(8),
            Some(ClaimRef::Tree(Value::Array(_)))
        ));
        assert_eq!(captured.get(12), None);
        // More planned claims than the inline slots hold.
        let many: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
        let names: Vec<&str> = many.iter().map(String::as_str).collect();
        let text: String = (0..40).rev().map(|i| format!("\"c{i}\":{i},")).collect();
        let text = format!("{{{}}}", text.trim_end_matches(','));
        let captured = capture(text.as_bytes(), &ClaimPlan::new(&names)).unwrap();
        for i in 0..40 {
            assert_eq!(captured.get(i), Some(ClaimRef::Number(&i.into())), "c{i}");
        }
    }

    #[test]
    fn a_plan_gives_each_name_one_slot() {
        let mut plan = ClaimPlan::new(&["exp", "sub"]);
        assert_eq!(plan.slot("sub", false), 1);
        assert_eq!(plan.slot("groups", false), 2);
        assert_eq!(plan.slot("groups", true), 2);
        assert!(plan.entries[2].tree, "a pointer's root is kept as a tree");
        assert_eq!(plan.find("groups", fingerprint("groups")), Some(2));
        assert_eq!(plan.find("group", fingerprint("group")), None);
    }

    /// Names that differ in any byte, in length or only past the first
    /// eight bytes get different fingerprints, and the low six bits (the
    /// plan's index and the seen-names mask) spread over all 64 values.
    #[test]
    fn fingerprints_tell_names_apart_and_spread_their_low_bits() {
        let mut names: Vec<String> = ["", "a", "a\0", "ab", "ba", "department", "departmenu"]
            .into_iter()
            .map(str::to_owned)
            .collect();
        names.extend(["exp", "nbf", "iat", "iss", "aud", "sub", "jti"].map(str::to_owned));
        names.extend((0..2000).map(|i| format!("claim_{i}")));
        names.extend((0..200).map(|i| format!("{}{i}", "x".repeat(i % 20))));
        let mut seen = std::collections::HashMap::new();
        for name in &names {
            if let Some(other) = seen.insert(fingerprint(name), name) {
                panic!("`{name}` and `{other}` share a fingerprint");
            }
        }
        let low: std::collections::HashSet<u64> =
            names.iter().map(|n| fingerprint(n) & 63).collect();
        assert_eq!(low.len(), 64);
        // Only the 8-byte words differ: a hash of the words alone would
        // not tell these apart.
        assert_ne!(
            fingerprint("abcdefgh12345678"),
            fingerprint("12345678abcdefgh")
        );
    }

    #[test]
    fn repeated_members_are_found_among_many() {
        let mut text = String::from("{");
        for i in 0..100 {
            text.push_str(&format!("\"k{i}\":{i},"));
        }
        text.push_str("\"k7\":0}");
        assert!(check_object(text.as_bytes()).unwrap_err().contains("`k7`"));
        let ok = text.replace("\"k7\":0}", "\"z\":0}");
        assert!(check_object(ok.as_bytes()).is_ok());
        // Escaped spellings of one name are one name.
        assert!(check_object(br#"{"alg":1,"\u0061lg":2}"#).is_err());
        // A repeat of any earlier member is found, before, at and past the
        // inline entries (where the quick mask and then the set take over),
        // whether the repeated member is captured or skipped.
        for total in [1, 2, 23, 24, 25, 26, 70] {
            for repeated in 0..total {
                let mut text: String = (0..total).map(|i| format!("\"m{i}\":{i},")).collect();
                text = format!("{{{text}\"m{repeated}\":0}}");
                let err = check_object(text.as_bytes()).unwrap_err();
                assert!(
                    err.contains(&format!("`m{repeated}`")),
                    "{total}/{repeated}: {err}"
                );
                let name = format!("m{repeated}");
                for plan in [ClaimPlan::new(&[&name]), ClaimPlan::new(&["m0", "other"])] {
                    let err = capture(text.as_bytes(), &plan).unwrap_err();
                    assert!(
                        err.contains(&format!("`{name}`")),
                        "{total}/{repeated}: {err}"
                    );
                }
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
        let h = parse_header(br#"{"alg":{"a":[1.5,null]}}"#).unwrap();
        assert_eq!(h.alg, Some(Err(r#"{"a":[1.5,null]}"#.to_owned())));
        assert!(parse_header(br#"{"alg":"HS256","alg":"none"}"#).is_err());
        assert!(parse_header(br#"{"alg":"HS256","\u0061lg":"none"}"#).is_err());
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
        assert!(check_object(b"{} {}").is_err());
        assert!(check_object(b" {\"a\":1}\r\n").is_ok());
    }
}
