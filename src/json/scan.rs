//! A strict JSON scanner for the objects of a token: one pass over the text,
//! no visitor, strings borrowed where they have no escapes.
//!
//! It accepts exactly what [`parse_object`](super::parse_object) accepts
//! (RFC 8259 as serde_json reads it, no repeated member names, nesting at
//! most [`MAX_DEPTH`] levels) and says only yes or no: a refusal is
//! explained by `parse_object`, which reads the text again. The rare parts
//! whose rules are subtle are serde_json's own: a string with an escape is
//! decoded by serde_json, and a number that is not an integer of at most 18
//! digits is read by serde_json (`Number::from_str`: the same values, ranges
//! and refusals as inside a document). The unit tests compare both readers
//! on generated documents; `fuzz/fuzz_targets/json_payload.rs` does it
//! through signed tokens.

use std::borrow::Cow;

use serde_json::{Number, Value};

use super::{Claim, MAX_DEPTH, Seen, fingerprint};

/// The text is not strict JSON (or not the expected shape); ask
/// `parse_object` why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Refused;

pub(super) type Scan<T> = Result<T, Refused>;

/// A position in a UTF-8 text.
pub(super) struct Scanner<'p> {
    text: &'p str,
    pos: usize,
    /// Whether the string [`Scanner::raw_string`] read last has an escape.
    escaped: bool,
}

impl<'p> Scanner<'p> {
    pub(super) fn new(text: &'p str) -> Self {
        Scanner {
            text,
            pos: 0,
            escaped: false,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    /// Skips JSON white space, then returns the byte there.
    fn skip_ws(&mut self) -> Option<u8> {
        let bytes = self.text.as_bytes();
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(self.pos) {
            self.pos += 1;
        }
        bytes.get(self.pos).copied()
    }

    /// Consumes `byte` after white space.
    fn expect(&mut self, byte: u8) -> Scan<()> {
        if self.skip_ws() != Some(byte) {
            return Err(Refused);
        }
        self.pos += 1;
        Ok(())
    }

    /// Only white space is left.
    pub(super) fn end(&mut self) -> Scan<()> {
        match self.skip_ws() {
            None => Ok(()),
            Some(_) => Err(Refused),
        }
    }

    /// The object at `depth` (the top-level one is 1): each member's name,
    /// once (after unescaping), with its fingerprint, to `member`, which
    /// must consume the value.
    pub(super) fn object(
        &mut self,
        depth: usize,
        mut member: impl FnMut(&mut Self, Cow<'p, str>, u64) -> Scan<()>,
    ) -> Scan<()> {
        let mut seen = Seen::default();
        self.members(depth, |scanner, name, fingerprint| {
            if !seen.insert(fingerprint, &name) {
                return Err(Refused);
            }
            member(scanner, name, fingerprint)
        })
    }

    /// [`Scanner::object`] that leaves repeated names to `member`.
    pub(super) fn members(
        &mut self,
        depth: usize,
        mut member: impl FnMut(&mut Self, Cow<'p, str>, u64) -> Scan<()>,
    ) -> Scan<()> {
        if depth > MAX_DEPTH {
            return Err(Refused);
        }
        self.expect(b'{')?;
        if self.skip_ws() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            let name = self.string()?;
            let fingerprint = fingerprint(&name);
            self.expect(b':')?;
            member(self, name, fingerprint)?;
            match self.skip_ws() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Refused),
            }
        }
    }

    /// The array at `depth`: `item` is called at each item and must consume it.
    fn array(&mut self, depth: usize, mut item: impl FnMut(&mut Self) -> Scan<()>) -> Scan<()> {
        if depth > MAX_DEPTH {
            return Err(Refused);
        }
        self.expect(b'[')?;
        if self.skip_ws() == Some(b']') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            item(self)?;
            match self.skip_ws() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Refused),
            }
        }
    }

    /// Checks one value at `depth` and moves past it.
    pub(super) fn skip(&mut self, depth: usize) -> Scan<()> {
        match self.skip_ws() {
            Some(b'"') => self.string().map(drop),
            Some(b'{') => self.object(depth, |s, _, _| s.skip(depth + 1)),
            Some(b'[') => self.array(depth, |s| s.skip(depth + 1)),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            _ => self.number().map(drop),
        }
    }

    /// One value at `depth` as a [`Claim`]: an array holding only strings
    /// as a list, any other array or object as a `Value`.
    pub(super) fn claim(&mut self, depth: usize) -> Scan<Claim<'p>> {
        let mut claim = None;
        self.claim_into(depth, &mut claim)?;
        claim.ok_or(Refused)
    }

    /// [`Scanner::claim`] written into `out`, where the caller keeps it: a
    /// claim handed back through the stack is stored in pieces and loaded
    /// whole, which stalls the CPU's store forwarding on every member.
    /// `out` is written only when the value is read in full.
    pub(super) fn claim_into(&mut self, depth: usize, out: &mut Option<Claim<'p>>) -> Scan<()> {
        *out = Some(match self.skip_ws() {
            Some(b'"') => {
                // Not through `string`: a `Result<Cow>` in between is stored
                // and reloaded in pieces.
                let raw = self.raw_string()?;
                match self.escaped {
                    false => Claim::Str(Cow::Borrowed(raw)),
                    true => Claim::Str(self.unescaped(raw.len())?),
                }
            }
            Some(b'[') => {
                let start = self.pos;
                let mut strings = Vec::new();
                let mut only_strings = true;
                self.array(depth, |s| {
                    if only_strings && s.skip_ws() == Some(b'"') {
                        strings.push(s.string()?);
                        Ok(())
                    } else {
                        only_strings = false;
                        s.skip(depth + 1)
                    }
                })?;
                match only_strings {
                    true => Claim::Strings(strings),
                    false => Claim::Tree(self.value_since(start)?),
                }
            }
            Some(b'{') => Claim::Tree(self.tree(depth)?),
            Some(b't') => self.literal("true").map(|()| Claim::Bool(true))?,
            Some(b'f') => self.literal("false").map(|()| Claim::Bool(false))?,
            Some(b'n') => self.literal("null").map(|()| Claim::Null)?,
            _ => Claim::Number(self.number()?),
        });
        Ok(())
    }

    /// One value at `depth` as a `Value`, whatever its type.
    pub(super) fn tree(&mut self, depth: usize) -> Scan<Value> {
        self.skip_ws();
        let start = self.pos;
        self.skip(depth)?;
        self.value_since(start)
    }

    /// The value checked from `start` to here, built by serde_json (which
    /// finds no repeated member and no depth beyond its own limit in it:
    /// the scan refused those).
    fn value_since(&self, start: usize) -> Scan<Value> {
        serde_json::from_str(&self.text[start..self.pos]).map_err(|_| Refused)
    }

    fn literal(&mut self, word: &str) -> Scan<()> {
        match self.text.as_bytes()[self.pos..].starts_with(word.as_bytes()) {
            true => {
                self.pos += word.len();
                Ok(())
            }
            false => Err(Refused),
        }
    }

    /// A string, after white space: borrowed when it has no escape, else
    /// decoded by serde_json (which checks the escapes).
    #[inline(always)] // small; handed back through the stack, the `Cow` stalls
    fn string(&mut self) -> Scan<Cow<'p, str>> {
        let raw = self.raw_string()?;
        match self.escaped {
            false => Ok(Cow::Borrowed(raw)),
            true => self.unescaped(raw.len()),
        }
    }

    /// The string just read, its `len` bytes between the quotes decoded by
    /// serde_json.
    #[cold]
    fn unescaped(&self, len: usize) -> Scan<Cow<'p, str>> {
        serde_json::from_str(&self.text[self.pos - len - 2..self.pos])
            .map(Cow::Owned)
            .map_err(|_| Refused)
    }

    /// A string, after white space, as written between its quotes (escapes
    /// not decoded; `self.escaped` says whether it has any). Two words, so
    /// that it comes back in registers.
    fn raw_string(&mut self) -> Scan<&'p str> {
        if self.skip_ws() != Some(b'"') {
            return Err(Refused);
        }
        let bytes = self.text.as_bytes();
        let start = self.pos + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            at += bytes.get(at..).map_or(0, plain_prefix);
            match bytes.get(at) {
                Some(b'"') => break,
                // The escaped byte is skipped (it may be a quote); serde_json
                // checks the escape below.
                Some(b'\\') => {
                    escaped = true;
                    at += 2;
                }
                _ => return Err(Refused),
            }
        }
        self.pos = at + 1;
        self.escaped = escaped;
        Ok(&self.text[start..at])
    }

    /// A number (RFC 8259 section 6). An integer of at most 18 digits is
    /// read here; any other number (fraction, exponent, more digits, `-0`)
    /// by serde_json, which refuses one beyond the range of `f64`.
    #[inline(always)] // a `Result<Number>` handed back through the stack stalls
    fn number(&mut self) -> Scan<Number> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let digits = self.pos;
        let mut value: u64 = 0;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    value = value.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
                    self.pos += 1;
                }
            }
            _ => return Err(Refused),
        }
        let short = self.pos - digits <= 18;
        let mut integer = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.digits()?;
            integer = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.digits()?;
            integer = false;
        }
        match (integer && short, negative) {
            (true, false) => Ok(value.into()),
            // At most 18 digits: within i64. Zero goes to serde_json (`-0`).
            (true, true) if value != 0 => Ok((-(value as i64)).into()),
            _ => self.text[start..self.pos].parse().map_err(|_| Refused),
        }
    }

    /// One or more digits.
    fn digits(&mut self) -> Scan<()> {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        match self.pos > start {
            true => Ok(()),
            false => Err(Refused),
        }
    }
}

/// How many bytes at the start of `bytes` need no attention inside a string:
/// neither `"`, `\\` nor a control character. Eight bytes at a time.
fn plain_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // The high bit of each byte that is below `n` (at most 0x80); exact for
    // the first such byte, which is all that is used.
    let below = |word: u64, n: u8| word.wrapping_sub(ONES * u64::from(n)) & !word & HIGH;
    let zero = |word: u64| below(word, 1);
    let mut chunks = bytes.chunks_exact(8);
    let mut done = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let special = zero(word ^ (ONES * u64::from(b'"')))
            | zero(word ^ (ONES * u64::from(b'\\')))
            | below(word, 0x20);
        if special != 0 {
            return done + (special.trailing_zeros() / 8) as usize;
        }
        done += 8;
    }
    done + chunks
        .remainder()
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(chunks.remainder().len())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::test_runner::FileFailurePersistence;
    use serde_json::Value;

    use super::super::{
        ClaimPlan, ClaimRef, capture, check_object, parse_header, parse_object, peek_string_member,
    };
    use super::*;

    #[test]
    fn plain_prefix_stops_at_the_first_byte_that_needs_attention() {
        let naive = |bytes: &[u8]| {
            bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(bytes.len())
        };
        let mut text: Vec<u8> = "abcdefghijklmnopqrstuvwxyzé€😀".bytes().collect();
        text.extend([0x7f, b' ', b'~']);
        for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
            for at in 0..=text.len() {
                let mut bytes = text.clone();
                bytes.insert(at, special);
                for start in 0..bytes.len() {
                    assert_eq!(
                        plain_prefix(&bytes[start..]),
                        naive(&bytes[start..]),
                        "{special} at {at}, from {start}"
                    );
                }
            }
        }
        assert_eq!(plain_prefix(&text), text.len());
    }

    /// A JSON-like text: mostly valid, with the cases that need care
    /// (escapes, surrogates, number forms, repeated names, white space,
    /// depth) and some that are wrong.
    fn value(depth: u32) -> BoxedStrategy<String> {
        let number = prop_oneof![
            8 => "-?(0|[1-9][0-9]{0,22}|0[0-9])(\\.[0-9]{0,4})?([eE][+-]?[0-9]{0,3})?",
            // Far beyond 64 bits, far beyond the range of `f64` or below
            // its smallest value, and the edges of the integer types.
            1 => "-?[1-9][0-9]{300,400}(\\.[0-9]{1,400})?",
            1 => "-?[0-9]\\.?[0-9]{0,3}[eE][+-]?[0-9]{3,6}",
            1 => prop_oneof![
                Just("-9223372036854775808".to_owned()),
                Just("-9223372036854775809".to_owned()),
                Just("18446744073709551615".to_owned()),
                Just("18446744073709551616".to_owned()),
                Just("999999999999999999".to_owned()),
                Just("-999999999999999999".to_owned()),
                Just("1000000000000000000".to_owned()),
                Just("-0".to_owned()),
                Just("-0.0e-0".to_owned()),
                Just("2.2250738585072011e-308".to_owned()),
                Just("1.7976931348623157e308".to_owned()),
                Just("1.7976931348623159e308".to_owned()),
            ],
        ];
        let piece = prop_oneof![
            4 => "[a-zA-Z0-9 _.:/@-]{0,6}",
            1 => "[é€😀]",
            1 => Just("\\\"".to_owned()),
            1 => Just("\\\\".to_owned()),
            1 => Just("\\/".to_owned()),
            1 => "\\\\[bfnrt]",
            1 => "\\\\u[0-9a-fA-F]{4}",
            1 => Just("\\ud83d\\ude00".to_owned()),
            1 => prop_oneof![Just("\\ud800".to_owned()), Just("\\udc00x".to_owned())],
            1 => prop_oneof![Just("\\x".to_owned()), Just("\t".to_owned()), Just("\\u12".to_owned())],
            // Surrogates that do not pair, an escaped non-ASCII character,
            // DEL (allowed unescaped) and the escape of a control character.
            1 => prop_oneof![
                Just("\\ud800\\u0041".to_owned()),
                Just("\\ud800\\ud800".to_owned()),
                Just("\\udbff\\udfff".to_owned()),
                Just("\\udc00\\ud800".to_owned()),
                Just("\\ud800\\".to_owned()),
                Just("\\é".to_owned()),
                Just("\u{7f}".to_owned()),
                Just("\\u0000".to_owned()),
            ],
            // Control characters, which must be escaped.
            1 => "[\u{0}-\u{1f}]",
        ];
        let string = prop::collection::vec(piece, 0..4).prop_map(|p| format!("\"{}\"", p.concat()));
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            number.prop_map(|n| n),
            string.clone(),
            Just("nul".to_owned()),
            Just("1e999".to_owned()),
        ];
        if depth == 0 {
            return leaf.boxed();
        }
        let ws = "[ \t\r\n]{0,1}";
        let key = prop_oneof![
            Just("\"a\"".to_owned()),
            Just("\"b\"".to_owned()),
            Just("\"sub\"".to_owned()),
            Just("\"\\u0061\"".to_owned()),
            Just("\"s\\u0075b\"".to_owned()),
            string,
        ];
        let member = (key, ws, value(depth - 1)).prop_map(|(k, w, v)| format!("{k}{w}:{v}"));
        prop_oneof![
            3 => leaf,
            1 => prop::collection::vec(value(depth - 1), 0..4)
                .prop_map(|items| format!("[{}]", items.join(","))),
            2 => prop::collection::vec(member, 0..5)
                .prop_map(|members| format!("{{{}}}", members.join(","))),
        ]
        .boxed()
    }

    /// A top-level object from [`value`], sometimes cut or with a byte
    /// changed.
    fn document() -> impl Strategy<Value = Vec<u8>> {
        let members = prop::collection::vec(
            (
                prop_oneof![
                    Just("exp"),
                    Just("iss"),
                    Just("aud"),
                    Just("sub"),
                    Just("groups"),
                    Just("x"),
                    // Escaped spellings of claims the plan keeps and skips.
                    Just("\\u0065xp"),
                    Just("s\\u0075b"),
                    Just("\\u0079"),
                ],
                value(3),
            ),
            0..6,
        );
        // Sequences that are not UTF-8: a stray byte, an overlong form, an
        // encoded surrogate, a cut character, beyond U+10FFFF.
        let not_utf8: [&[u8]; 6] = [
            b"\xff",
            b"\xc0\xaf",
            b"\xed\xa0\x80",
            b"\xe2\x82",
            b"\xf4\x90\x80\x80",
            b"\x80",
        ];
        (members, any::<u16>(), any::<u8>(), 0..5u8).prop_map(move |(members, at, byte, how)| {
            let text: Vec<String> = members
                .iter()
                .map(|(k, v)| format!("\"{k}\":{v}"))
                .collect();
            let mut bytes = format!(" {{{}}} ", text.join(",")).into_bytes();
            let at = usize::from(at) % bytes.len();
            match how {
                0 => bytes[at] = byte,
                1 => bytes.truncate(at),
                2 => {
                    let bad = not_utf8[usize::from(byte) % not_utf8.len()];
                    bytes.splice(at..at, bad.iter().copied());
                }
                _ => {}
            }
            bytes
        })
    }

    /// Deeper than the limit, or just within it, in objects and arrays.
    fn nested() -> impl Strategy<Value = Vec<u8>> {
        (60..70usize, any::<bool>()).prop_map(|(levels, arrays)| {
            let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
            format!(
                "{{\"x\":{}1{}}}",
                open.repeat(levels - 1),
                close.repeat(levels - 1)
            )
            .into_bytes()
        })
    }

    fn as_value(claim: ClaimRef<'_>) -> Value {
        claim.to_value()
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 2048,
            failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
            ..ProptestConfig::default()
        })]

        /// The scanner accepts exactly what serde_json (`parse_object`)
        /// accepts, reads the same values, and refuses with its message.
        #[test]
        fn the_scanner_reads_as_serde_json_does(bytes in prop_oneof![4 => document(), 1 => nested()]) {
            let full = parse_object(&bytes);
            let names = ["exp", "nbf", "iat", "iss", "aud", "sub", "jti", "groups", "x", "a"];
            let mut plan = ClaimPlan::new(&names);
            plan.slot("x", true);
            let mut captured = super::super::Captured::new(&plan);
            let scanned = capture(&bytes, &plan, &mut captured);
            match &full {
                Ok(map) => {
                    prop_assert_eq!(&scanned, &Ok(()));
                    for (slot, name) in names.iter().enumerate() {
                        prop_assert_eq!(captured.get(slot).map(as_value), map.get(*name).cloned(), "{}", name);
                    }
                    prop_assert_eq!(check_object(&bytes), Ok(()));
                    prop_assert!(parse_header(&bytes).is_ok());
                    let iss = map.get("iss").and_then(Value::as_str).map(str::to_owned);
                    prop_assert_eq!(peek_string_member(&bytes, "iss"), Ok(iss));
                }
                Err(reason) => {
                    // serde_json's message; for a text that is not UTF-8
                    // (and starts like an object), the crate's own.
                    let expected = match std::str::from_utf8(&bytes) {
                        Ok(_) => vec![reason.as_str()],
                        Err(_) => vec![reason.as_str(), super::super::NOT_UTF8],
                    };
                    let header = parse_header(&bytes).map(drop);
                    for (reader, refused) in [
                        ("capture", &scanned),
                        ("check_object", &check_object(&bytes)),
                        ("parse_header", &header),
                    ] {
                        match refused {
                            Ok(()) => prop_assert!(false, "{} accepted: {}", reader, reason),
                            Err(message) => prop_assert!(
                                expected.contains(&message.as_str()),
                                "{}: {} where serde_json says {}", reader, message, reason
                            ),
                        }
                    }
                }
            }
        }
    }
}
