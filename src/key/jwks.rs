//! JSON Web Keys (RFC 7517): one bad key never poisons the set. A key that can
//! never be a candidate is skipped with a warning; the set is refused only
//! when nothing usable is left.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::DecodingKey;
use serde_json::Value;

use super::pem::{MAX_RSA_BITS, MIN_RSA_BITS, rsa_bits, rsa_weakness};
use super::{Curve, KeyFamily, KeySet, VerifyingKey};
use crate::config::Algorithm;
use crate::error::{ConfigError, untrusted};

/// base64url as JWKs use it; padding tolerated, since some providers emit it.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Why a JWK was left out of the usable set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JwkSkip {
    /// The key's `kid` (shown safely), or its position: for messages.
    pub(crate) key: String,
    /// The key's `kid` as the set has it.
    pub(crate) kid: Option<String>,
    /// Why it is unusable.
    pub(crate) reason: String,
    /// The JWK carries private material (`d`, or an `oct` key outside HS use).
    pub(crate) private: bool,
}

fn field_b64<'a>(jwk: &'a serde_json::Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let text: &'a str = jwk
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("member `{name}` is missing or not a string"))?;
    B64URL
        .decode(text)
        .map_err(|_| format!("member `{name}` is not base64url"))
}

/// Parses one JWK. `index` names the key in messages when it has no `kid`.
pub(crate) fn parse_jwk(value: &Value, index: usize) -> Result<VerifyingKey, JwkSkip> {
    let kid = value.get("kid").and_then(Value::as_str).map(str::to_owned);
    let name = kid.as_ref().map_or_else(
        || format!("#{index}"),
        // A remote set's `kid` goes into logs: escaped and cut.
        |k| format!("`{}`", untrusted(k)),
    );
    let skip = |reason: String| JwkSkip {
        key: name.clone(),
        kid: kid.clone(),
        reason,
        private: false,
    };
    let Some(jwk) = value.as_object() else {
        return Err(skip("the key is not a JSON object".to_owned()));
    };
    if jwk.contains_key("d") {
        return Err(JwkSkip {
            private: true,
            ..skip("the key contains private material (`d`)".to_owned())
        });
    }
    match jwk.get("use") {
        None => {}
        Some(Value::String(u)) if u == "sig" => {}
        Some(other) => return Err(skip(format!("`use` {} is not \"sig\"", shown(other)))),
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !verifies {
            return Err(skip(format!("`key_ops` {} without \"verify\"", shown(ops))));
        }
    }
    let pinned = match jwk.get("alg") {
        None => None,
        Some(Value::String(a)) => match a.parse::<Algorithm>() {
            Ok(alg) => Some(alg),
            Err(_) => {
                return Err(skip(format!(
                    "`alg` \"{}\" is not a supported signature algorithm",
                    untrusted(a)
                )));
            }
        },
        Some(other) => return Err(skip(format!("`alg` {} is not a string", shown(other)))),
    };
    let kty = match jwk.get("kty") {
        Some(Value::String(kty)) => kty.as_str(),
        Some(other) => return Err(skip(format!("`kty` {} is not a string", shown(other)))),
        None => return Err(skip("the key has no `kty`".to_owned())),
    };
    let crv = jwk.get("crv").and_then(Value::as_str);
    let (family, decoding) = match (kty, crv) {
        ("RSA", _) => {
            let n = field_b64(jwk, "n").map_err(&skip)?;
            let e = field_b64(jwk, "e").map_err(&skip)?;
            let bits = rsa_bits(&n);
            if bits < MIN_RSA_BITS {
                return Err(skip(format!(
                    "RSA key of {bits} bits is under {MIN_RSA_BITS} bits"
                )));
            }
            if bits > MAX_RSA_BITS {
                return Err(skip(format!(
                    "RSA key of {bits} bits is over the {MAX_RSA_BITS} bits this build verifies with"
                )));
            }
            if let Some(problem) = rsa_weakness(&n, &e) {
                return Err(skip(problem));
            }
            (
                KeyFamily::Rsa { bits },
                DecodingKey::from_rsa_raw_components(&n, &e),
            )
        }
        ("EC", Some(crv @ ("P-256" | "P-384"))) => {
            let (curve, len) = if crv == "P-256" {
                (Curve::P256, 32)
            } else {
                (Curve::P384, 48)
            };
            let x = field_b64(jwk, "x").map_err(&skip)?;
            let y = field_b64(jwk, "y").map_err(&skip)?;
            if x.len() != len || y.len() != len {
                return Err(skip(format!("{crv} coordinates must be {len} bytes each")));
            }
            let mut point = Vec::with_capacity(1 + 2 * len);
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            (KeyFamily::Ec(curve), DecodingKey::from_ec_der(&point))
        }
        ("OKP", Some("Ed25519")) => {
            let x = field_b64(jwk, "x").map_err(&skip)?;
            if x.len() != 32 {
                return Err(skip("Ed25519 `x` must be 32 bytes".to_owned()));
            }
            (KeyFamily::Ed25519, DecodingKey::from_ed_der(&x))
        }
        ("oct", _) => {
            let k = zeroize::Zeroizing::new(field_b64(jwk, "k").map_err(&skip)?);
            if k.len() < Algorithm::HS256.min_secret_bytes() {
                return Err(skip(format!(
                    "`oct` key of {} bytes is under 32 bytes",
                    k.len()
                )));
            }
            // jsonwebtoken refuses only an empty secret, which is under 32 bytes.
            let decoding = DecodingKey::from_secret(&k)
                .map_err(|e| skip(format!("`oct` key refused: {e}")))?;
            (KeyFamily::Hmac { len: k.len() }, decoding)
        }
        ("EC", crv) | ("OKP", crv) => {
            return Err(skip(format!(
                "curve {} is not supported (P-256, P-384 and Ed25519 are)",
                crv.map_or_else(|| "(none)".to_owned(), |c| format!("\"{}\"", untrusted(c)))
            )));
        }
        (kty, _) => {
            return Err(skip(format!(
                "key type \"{}\" is not supported",
                untrusted(kty)
            )));
        }
    };
    if let Some(alg) = pinned
        && !family.fits(alg)
    {
        return Err(skip(format!("`alg` {alg} does not fit the {family}")));
    }
    let mut key = VerifyingKey::new(family, decoding, format!("the JWK Set (key {name})"));
    key.kid = kid;
    key.pinned = pinned;
    Ok(key)
}

/// A JSON value from a JWK Set as a message shows it (its JSON text, escaped and cut).
fn shown(value: &Value) -> String {
    untrusted(&value.to_string()).into_owned()
}

/// Parses a JWK Set document into its usable keys and the skipped ones.
pub(crate) fn parse_set(doc: &Value) -> Result<(Vec<VerifyingKey>, Vec<JwkSkip>), String> {
    let keys = doc
        .as_object()
        .and_then(|o| o.get("keys"))
        .and_then(Value::as_array)
        .ok_or_else(|| "a JWK Set must be an object with a `keys` array".to_owned())?;
    let mut usable = Vec::new();
    let mut skipped = Vec::new();
    for (i, jwk) in keys.iter().enumerate() {
        match parse_jwk(jwk, i) {
            Ok(key) => usable.push(key),
            Err(skip) => skipped.push(skip),
        }
    }
    Ok((usable, skipped))
}

/// Loads an inline JWK Set (`key_source.type = "jwks"`).
pub(crate) fn load_inline(doc: &Value, algorithms: &[Algorithm]) -> Result<KeySet, ConfigError> {
    const FIELD: &str = "key_source.jwks";
    let (keys, skipped) = parse_set(doc).map_err(|problem| {
        ConfigError::new(
            FIELD,
            problem,
            "paste the provider's JWK Set: {\"keys\": [ … ]}",
        )
    })?;
    if let Some(private) = skipped.iter().find(|s| s.private) {
        return Err(ConfigError::new(
            FIELD,
            format!("key {} contains private key material (`d`)", private.key),
            "publish only the public members of the key (remove `d`, `p`, `q`, `dp`, `dq`, `qi`), and replace the key at the sender since it has been exposed",
        ));
    }
    for skip in &skipped {
        tracing::warn!(key = %skip.key, reason = %skip.reason, "JWK skipped");
    }
    let set = KeySet::from_jwks(keys, skipped, None);
    if !algorithms.iter().any(|a| set.any_fits(*a)) {
        return Err(ConfigError::new(
            FIELD,
            no_usable_key(algorithms, &set),
            "add the sender's public signing key to the set, or allow the algorithm its keys are for",
        ));
    }
    Ok(set)
}

/// Why a key set serves none of `algorithms`: its size and the first few
/// skipped keys with their reasons.
pub(crate) fn no_usable_key(algorithms: &[Algorithm], set: &KeySet) -> String {
    let names: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
    let reasons = set.skip_reasons();
    format!(
        "no usable key for {} (the allowed algorithms); the set has {} usable key(s) for other algorithms{}",
        names.join(", "),
        set.len(),
        if reasons.is_empty() {
            String::new()
        } else {
            format!("; skipped: {}", reasons.join("; "))
        }
    )
}
