//! The payload reader against serde_json: arbitrary bytes, signed as the
//! payload of an HS256 token, are refused as a malformed payload exactly
//! when a strict reading with serde_json refuses them (JSON as serde_json
//! reads it, a single top-level object, no repeated member name, nesting
//! at most 64 levels). When the payload is accepted, the claims the
//! configuration maps are the ones serde_json reads.
//!
//! The verifier reads payloads with its own scanner; this target keeps it
//! equal to serde_json, as the unit tests in `src/json/scan.rs` do on
//! generated documents.

#![no_main]

use std::fmt;
use std::sync::OnceLock;

use jwt_sso::{
    Algorithm, Error, ErrorKind, JwtConfig, ManualClock, TokenError, TokenPart, UnixTime, Verifier,
};
use libfuzzer_sys::fuzz_target;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;
const SECRET: &str = "fuzz-payload-secret-0123456789abcdef-0123456789";

fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let config = serde_json::json!({
            "name": "fuzz-json", "token_name": "t", "algorithms": ["HS256"],
            "key_source": {"type": "static", "secret": SECRET},
            "expiration_time": 3_000_000_000u64,
            "claims": {"user_id": "sub", "name": "name", "email": "email", "roles": "groups"},
            "max_token_bytes": 65536
        });
        let config = JwtConfig::from_json_str(&config.to_string())
            .and_then(JwtConfig::validate)
            .expect("fuzz configuration");
        Verifier::new(config).with_clock(ManualClock::new(UnixTime::from_secs(NOW)))
    })
}

/// A value read strictly: repeated member names and nesting deeper than 64
/// levels are refused (the top-level object is level 1).
struct Strict(usize);

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.0 > 64 {
            return Err(de::Error::custom("too deep"));
        }
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Strict(self.0 + 1))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.0 > 64 {
            return Err(de::Error::custom("too deep"));
        }
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Strict(self.0 + 1))?;
            if members.insert(key, value).is_some() {
                return Err(de::Error::custom("repeated"));
            }
        }
        Ok(Value::Object(members))
    }
}

fn strict(bytes: &[u8]) -> Option<Map<String, Value>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    match Strict(1).deserialize(&mut de).ok()? {
        Value::Object(map) => de.end().ok().map(|()| map),
        _ => None,
    }
}

fuzz_target!(|payload: &[u8]| {
    let key = jwt_sso::mint::SigningKey::from_secret(SECRET.as_bytes());
    let token = key
        .sign_raw(Algorithm::HS256, br#"{"alg":"HS256"}"#, payload)
        .expect("signing");
    let result = verifier().verify_cached(&token);
    let malformed = matches!(
        &result,
        Err(Error::Token(TokenError::Malformed { part: TokenPart::Payload, .. }))
    );
    match strict(payload) {
        None => assert!(malformed, "serde_json refuses, the verifier did not: {result:?}"),
        Some(claims) => {
            assert!(!malformed, "serde_json accepts, the verifier refused: {result:?}");
            let Ok(identity) = result else {
                // Refused for another reason (no `exp`, a type, a time).
                assert_ne!(result.unwrap_err().kind(), ErrorKind::Malformed);
                return;
            };
            let string = |name: &str| claims.get(name).and_then(Value::as_str);
            if let Some(sub) = string("sub") {
                assert_eq!(identity.user_id, sub);
            }
            assert_eq!(identity.name.as_deref(), string("name"));
            assert_eq!(identity.email.as_deref(), string("email"));
            assert_eq!(identity.issuer.as_deref(), string("iss"));
        }
    }
});
