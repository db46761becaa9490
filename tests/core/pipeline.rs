//! CONTRACT section 2: every step of the verification pipeline, its error
//! kind and message, and the order in which the steps are checked.
#![cfg(feature = "mint")]

use crate::support::fixtures as common;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use common::*;
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, ErrorKind};
use serde_json::{Value, json};

const URL_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// A decoder that tolerates everything strict base64url refuses except the
/// alphabet: padding, non-zero trailing bits.
const LENIENT_URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);
/// The standard alphabet (`+` and `/`), padding optional.
const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `n` nested JSON objects: `{"a":{"a":…{}…}}`.
fn nested(n: usize) -> String {
    assert!(n >= 1);
    format!("{}{{}}{}", "{\"a\":".repeat(n - 1), "}".repeat(n - 1))
}

/// `segment` with the lowest unused trailing bit of its last character set:
/// a lenient decoder still reads the same bytes, a strict one must refuse it.
fn with_trailing_bit(segment: &str) -> String {
    assert_ne!(
        segment.len() % 4,
        0,
        "a segment of 4k characters has no unused bits"
    );
    let last = *segment.as_bytes().last().unwrap();
    let index = URL_ALPHABET.iter().position(|&c| c == last).unwrap();
    assert_eq!(index & 1, 0, "canonical encodings have zero trailing bits");
    let mut out = segment[..segment.len() - 1].to_owned();
    out.push(URL_ALPHABET[index | 1] as char);
    assert_eq!(LENIENT_URL.decode(&out).unwrap(), unb64(segment));
    out
}

/// Claims accepted at `NOW` whose JSON text is `3k + residue` bytes long, so
/// that the payload segment is not a multiple of 4 characters.
fn claims_with_payload_residue(residue: usize) -> Value {
    (0..3)
        .map(|k| claims_with(json!({"pad": "x".repeat(k)})))
        .find(|c| c.to_string().len() % 3 == residue)
        .unwrap()
}

fn good_token() -> String {
    hs256(&good_claims())
}

// ---------------------------------------------------------------- step 1

#[test]
fn disabled_rejects_every_token_before_anything_else() {
    let v = verifier_with(json!({"name": "Payroll SSO", "enabled": false, "max_token_bytes": 64}));
    let good = good_token();
    assert!(good.len() > 64);
    let long = "A".repeat(100);
    for token in [
        good.as_str(),
        "",
        "x",
        "a.b",
        "...",
        &long,
        "eyJhbGciOiJub25lIn0.e30.",
    ] {
        let err = reject(&v, token, NOW, ErrorKind::Disabled);
        assert_mentions(&err, &["Payroll SSO"]);
    }
    // The same configuration enabled accepts the token.
    accept(&verifier_with(json!({"name": "Payroll SSO"})), &good, NOW);
}

// ---------------------------------------------------------------- step 2

#[test]
fn token_of_exactly_max_token_bytes_is_checked_one_more_byte_is_refused() {
    let token = good_token();
    let n = token.len();
    let at_limit = verifier_with(json!({"max_token_bytes": n}));
    accept(&at_limit, &token, NOW);
    // At the limit the token reaches the later checks.
    reject(&at_limit, &token, NOW + 3600, ErrorKind::Expired);
    let malformed = format!("{}!", &token[..n - 1]);
    assert_eq!(malformed.len(), n);
    reject(&at_limit, &malformed, NOW, ErrorKind::Malformed);

    // One byte more than the limit: refused before any parsing.
    let err = reject(
        &at_limit,
        &format!("{token}A"),
        NOW,
        ErrorKind::TokenTooLarge,
    );
    assert_mentions(&err, &[&(n + 1).to_string(), &n.to_string()]);
    let below = verifier_with(json!({"max_token_bytes": n - 1}));
    let err = reject(&below, &token, NOW, ErrorKind::TokenTooLarge);
    assert_mentions(&err, &[&n.to_string(), &(n - 1).to_string()]);
    // Too large beats malformed: garbage over the limit is "too large".
    let small = verifier_with(json!({"max_token_bytes": 16}));
    reject(&small, "!!!!!!!!!!!!!!!!!", NOW, ErrorKind::TokenTooLarge);
    reject(&small, "!!!!!!!!!!!!!!!!", NOW, ErrorKind::Malformed);
    // Bytes, not characters: 8 two-byte characters are 16 bytes.
    reject(&small, &"é".repeat(8), NOW, ErrorKind::Malformed);
    reject(&small, &"é".repeat(9), NOW, ErrorKind::TokenTooLarge);
}

#[test]
fn default_limit_is_16384_bytes() {
    let v = verifier(&base_config());
    assert_eq!(
        v.config().max_token_bytes,
        16_384,
        "the default max_token_bytes"
    );
    // A valid token of exactly 16384 bytes: grow a padding claim to the
    // length (encoded lengths skip some values, so try a second header too).
    let exact = |header: Value| {
        let make = |k: usize| hs256_header(&header, &claims_with(json!({"pad": "x".repeat(k)})));
        let k0 = (16_384 - make(0).len()) * 3 / 4;
        (k0 - 4..k0 + 4).map(make).find(|t| t.len() == 16_384)
    };
    let token = exact(json!({"alg": "HS256", "typ": "JWT"}))
        .or_else(|| exact(json!({"alg": "HS256", "typ": "JWT", "x": ""})))
        .expect("a token of exactly 16384 bytes");
    accept(&v, &token, NOW);
    let err = reject(&v, &format!("{token}A"), NOW, ErrorKind::TokenTooLarge);
    assert_mentions(&err, &["16385", "16384"]);
}

// ---------------------------------------------------------------- step 3

#[test]
fn segment_count_must_be_three() {
    let v = verifier(&base_config());
    let [h, p, s] = segments(&good_token());
    let cases = [
        (format!("{h}.{p}"), "2"),
        (format!("{h}.{p}.{s}.{s}"), "4"),
        (format!("{h}.{p}.{s}."), "4"),
        (format!(".{h}.{p}.{s}"), "4"),
        (format!("{h}{p}{s}"), "1"),
        (String::new(), "1"),
        ("..".to_owned() + "..", "5"),
    ];
    for (token, count) in cases {
        let err = reject(&v, &token, NOW, ErrorKind::Malformed);
        assert_mentions(&err, &["3", count]);
    }
}

#[test]
fn segments_must_be_strict_base64url() {
    let v = verifier(&base_config());
    let token = good_token();
    let [h, p, s] = segments(&token);
    assert_eq!(s.len(), 43, "an HS256 signature is 32 bytes, 43 characters");

    // Padding: a lenient decoder would read the same bytes.
    let padded_sig = format!("{s}=");
    assert_eq!(LENIENT_URL.decode(&padded_sig).unwrap(), unb64(&s));
    let odd = hs256(&claims_with_payload_residue(1)); // payload is 4k+2 characters
    let [oh, op, os] = segments(&odd);
    accept(&v, &odd, NOW);

    // Standard alphabet: find tokens whose text has `-` and `_`.
    let with_char = |c: char| {
        (0..500)
            .map(|i| hs256(&claims_with(json!({"n": i}))))
            .find(|t| t.contains(c))
            .unwrap()
    };
    let dash = with_char('-');
    let underscore = with_char('_');
    accept(&v, &dash, NOW);
    accept(&v, &underscore, NOW);
    let plus = dash.replace('-', "+");
    let slash = underscore.replace('_', "/");
    for t in [&plus, &slash] {
        // Each segment still decodes under the standard alphabet.
        for seg in t.split('.') {
            LENIENT_STANDARD.decode(seg).unwrap();
        }
    }

    // Trailing bits: the signature has 2 unused bits, the odd payload 4, a
    // 16-byte header 4.
    let trailing_sig = join(&h, &p, &with_trailing_bit(&s));
    let trailing_payload = join(&oh, &with_trailing_bit(&op), &os);
    let header16 = br#"{"alg":"HS256" }"#;
    let odd_header = hs256_raw(header16, good_claims().to_string().as_bytes());
    accept(&v, &odd_header, NOW);
    let [hh, hp, hs] = segments(&odd_header);
    let trailing_header = join(&with_trailing_bit(&hh), &hp, &hs);

    let mid = p.len() / 2;
    #[rustfmt::skip]
    let cases: Vec<(&str, String)> = vec![
        ("padded signature", join(&h, &p, &padded_sig)),
        ("doubly padded signature", join(&h, &p, &format!("{s}=="))),
        ("padded payload", join(&oh, &format!("{op}=="), &os)),
        ("padded header", join(&format!("{hh}=="), &hp, &hs)),
        ("url-encoded padding", join(&oh, &format!("{op}%3D%3D"), &os)),
        ("standard alphabet +", plus.clone()),
        ("standard alphabet /", slash.clone()),
        ("trailing bits in signature", trailing_sig),
        ("trailing bits in payload", trailing_payload),
        ("trailing bits in header", trailing_header),
        ("leading space", format!(" {token}")),
        ("trailing space", format!("{token} ")),
        ("trailing newline", format!("{token}\n")),
        ("trailing CRLF", format!("{token}\r\n")),
        ("leading tab", format!("\t{token}")),
        ("space inside payload", join(&h, &format!("{} {}", &p[..mid], &p[mid..]), &s)),
        ("line break inside payload", join(&h, &format!("{}\n{}", &p[..mid], &p[mid..]), &s)),
        ("space after a dot", format!("{h}. {p}.{s}")),
        ("Bearer prefix", format!("Bearer {token}")),
        ("quoted", format!("\"{token}\"")),
        ("impossible length", join(&h, &p, &format!("{s}AB"))),
        ("foreign character", join(&h, &p, &format!("{}!", &s[..42]))),
        ("non-ASCII character", join(&h, &format!("{p}é"), &s)),
        ("asterisk", join(&h, &p, &format!("{}*", &s[..42]))),
    ];
    for (name, t) in cases {
        reject_named(name, &v, &t, NOW, ErrorKind::Malformed);
    }
}

#[test]
fn header_must_be_one_strict_json_object() {
    let v = verifier(&base_config());
    let payload = good_claims().to_string();
    let deep64 = format!("{{\"alg\":\"HS256\",\"x\":{}}}", nested(63));
    let deep65 = format!("{{\"alg\":\"HS256\",\"x\":{}}}", nested(64));
    let deep_array = format!(
        "{{\"alg\":\"HS256\",\"x\":{}{}}}",
        "[".repeat(64),
        "]".repeat(64)
    );
    let far_too_deep = format!("{{\"alg\":\"HS256\",\"x\":{}}}", nested(1500));
    // 64 levels (the top-level object is level 1) are fine.
    accept(&v, &hs256_raw(deep64.as_bytes(), payload.as_bytes()), NOW);
    accept(
        &v,
        &hs256_raw(br#" {"alg" : "HS256"} "#, payload.as_bytes()),
        NOW,
    );

    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        ("not JSON", b"not json".to_vec(), &["header"]),
        ("unquoted names", b"{alg:HS256}".to_vec(), &["header"]),
        ("truncated", br#"{"alg":"HS256""#.to_vec(), &["header"]),
        ("empty", Vec::new(), &["header"]),
        ("array", br#"[{"alg":"HS256"}]"#.to_vec(), &["header", "array"]),
        ("string", br#""HS256""#.to_vec(), &["header", "string"]),
        ("number", b"256".to_vec(), &["header"]),
        ("null", b"null".to_vec(), &["header"]),
        ("repeated alg", br#"{"alg":"HS256","alg":"HS256"}"#.to_vec(), &["header", "alg"]),
        ("repeated typ", br#"{"alg":"HS256","typ":"JWT","typ":"JWT"}"#.to_vec(), &["header", "typ"]),
        ("repeated via escape", br#"{"alg":"HS256","\u0061lg":"HS256"}"#.to_vec(), &["header", "alg"]),
        ("repeated in a nested object", br#"{"alg":"HS256","x":{"k":1,"k":2}}"#.to_vec(), &["header"]),
        ("trailing data", br#"{"alg":"HS256"}{}"#.to_vec(), &["header"]),
        ("invalid UTF-8", b"{\"alg\":\"HS256\",\"x\":\"\xff\"}".to_vec(), &["header"]),
        ("65 levels", deep65.into_bytes(), &["header", "64"]),
        ("65 levels of arrays", deep_array.into_bytes(), &["header", "64"]),
        ("1500 levels", far_too_deep.into_bytes(), &["header", "64"]),
    ];
    for (name, header, needles) in cases {
        let token = hs256_raw(&header, payload.as_bytes());
        let err = reject_named(name, &v, &token, NOW, ErrorKind::Malformed);
        assert_mentions_named(name, &err, needles);
    }
}

// ---------------------------------------------------------------- step 4

#[test]
fn alg_must_be_a_string_in_the_allowlist() {
    let v = verifier(&base_config());
    let claims = good_claims();
    #[rustfmt::skip]
    let cases: Vec<(Value, Option<&str>)> = vec![
        (json!({"alg": "none"}), Some("none")),
        (json!({"alg": "None"}), Some("None")),
        (json!({"alg": "NONE"}), Some("NONE")),
        (json!({"alg": "nOnE"}), Some("nOnE")),
        (json!({"alg": ""}), None),
        (json!({"typ": "JWT"}), None),
        (json!({"alg": 256}), Some("256")),
        (json!({"alg": null}), None),
        (json!({"alg": true}), Some("true")),
        (json!({"alg": ["HS256"]}), None),
        (json!({"alg": {"name": "HS256"}}), None),
        (json!({"alg": "XS256"}), Some("XS256")),
        (json!({"alg": "hs256"}), Some("hs256")),
        (json!({"alg": "HS256 "}), None),
        (json!({"alg": "HS384"}), Some("HS384")),
        (json!({"alg": "RS256"}), Some("RS256")),
        (json!({"alg": "ES512"}), Some("ES512")),
    ];
    for (header, found) in cases {
        // Correctly signed with the configured secret: only `alg` is wrong.
        let name = format!("header {header}");
        let token = hs256_header(&header, &claims);
        let err = reject_named(&name, &v, &token, NOW, ErrorKind::AlgorithmNotAllowed);
        // The allowlist, and the `alg` found where it can be shown.
        assert_mentions_named(&name, &err, &["HS256"]);
        assert_mentions_named(&name, &err, found.as_slice());
    }
    // A missing `alg` is reported as such.
    let err = reject(
        &v,
        &hs256_header(&json!({"typ": "JWT"}), &claims),
        NOW,
        ErrorKind::AlgorithmNotAllowed,
    );
    assert_mentions(&err, &["no `alg`"]);
    // The classic unsigned token: `alg: none` and an empty signature.
    let unsigned = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );
    reject(&v, &unsigned, NOW, ErrorKind::AlgorithmNotAllowed);
}

#[test]
fn hs256_is_refused_where_only_rs256_is_allowed() {
    let public = key_pem("rsa2048_public.pem");
    let v = verifier(&patched(
        base_config(),
        json!({"algorithms": ["RS256"], "key_source": {"type": "static", "public_key_pem": public}}),
    ));
    let claims = good_claims();
    accept(
        &v,
        &pem_key("rsa2048_private.pem")
            .sign(Algorithm::RS256, &claims)
            .unwrap(),
        NOW,
    );
    // Key confusion: an HMAC over the token made with the public key's text.
    let confused = SigningKey::from_secret(public.as_bytes())
        .sign(Algorithm::HS256, &claims)
        .unwrap();
    let err = reject(&v, &confused, NOW, ErrorKind::AlgorithmNotAllowed);
    assert_mentions(&err, &["HS256", "RS256"]);
    let es = pem_key("p256_private.pem")
        .sign(Algorithm::ES256, &claims)
        .unwrap();
    let err = reject(&v, &es, NOW, ErrorKind::AlgorithmNotAllowed);
    assert_mentions(&err, &["ES256", "RS256"]);
    let ps = pem_key("rsa2048_private.pem")
        .sign(Algorithm::PS256, &claims)
        .unwrap();
    reject(&v, &ps, NOW, ErrorKind::AlgorithmNotAllowed);
}

// ---------------------------------------------------------------- step 5

#[test]
fn any_crit_member_is_refused() {
    let v = verifier(&base_config());
    let claims = good_claims();
    let cases = [
        json!({"alg": "HS256", "crit": ["b64"], "b64": false}),
        json!({"alg": "HS256", "crit": ["b64"], "b64": true}),
        json!({"alg": "HS256", "crit": []}),
        json!({"alg": "HS256", "crit": ["exp"], "exp": 1}),
        json!({"alg": "HS256", "crit": "b64"}),
        json!({"alg": "HS256", "crit": null}),
    ];
    for header in cases {
        let token = hs256_header(&header, &claims);
        let err = reject(&v, &token, NOW, ErrorKind::CriticalHeader);
        assert_mentions(&err, &["crit", &header["crit"].to_string()]);
    }
    // b64:false with the payload really left unencoded is refused all the same.
    let header = b64(br#"{"alg":"HS256","crit":["b64"],"b64":false}"#);
    let token = format!("{header}.$.{}", segments(&good_token())[2]);
    // (`$` is not base64url, and step 3 comes before step 5.)
    reject(&v, &token, NOW, ErrorKind::Malformed);
}

// ---------------------------------------------------------------- step 6

/// A 64-byte secret as an `oct` JWK.
fn oct_jwk(kid: &str, secret: &str) -> Value {
    json!({"kty": "oct", "kid": kid, "alg": "HS256", "use": "sig", "k": b64(secret.as_bytes())})
}

fn jwks_verifier(keys: Vec<Value>) -> TestVerifier {
    verifier_with(json!({"key_source": {"type": "jwks", "jwks": {"keys": keys}}}))
}

fn hs256_kid(kid: Value, secret: &str, claims: &Value) -> String {
    SigningKey::from_secret(secret.as_bytes())
        .sign_with_header(
            Algorithm::HS256,
            &json!({"alg": "HS256", "kid": kid}),
            claims,
        )
        .unwrap()
}

#[test]
fn inline_jwks_selects_by_kid() {
    use ErrorKind::{InvalidSignature, KeyNotFound};
    let two = jwks_verifier(vec![oct_jwk("k1", SECRET), oct_jwk("k2", OTHER_SECRET)]);
    // With exactly one key, a token without kid uses it.
    let one = jwks_verifier(vec![oct_jwk("k1", SECRET)]);
    let claims = good_claims();
    let kid = |kid: Value, secret: &str| hs256_kid(kid, secret, &claims);
    /// (name, verifier, token, None to accept or the kind, what the message names)
    type Row<'v> = (
        &'static str,
        &'v TestVerifier,
        String,
        Option<ErrorKind>,
        &'static [&'static str],
    );
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("kid k1", &two, kid(json!("k1"), SECRET), None, &[]),
        ("kid k2", &two, kid(json!("k2"), OTHER_SECRET), None, &[]),
        ("unknown kid", &two, kid(json!("k3"), SECRET), Some(KeyNotFound), &["k3", "k1", "k2", "HS256"]),
        // No kid and two candidates: not exactly one.
        ("no kid, two keys", &two, hs256(&claims), Some(KeyNotFound), &["2", "k1", "k2"]),
        // A kid that is not a string matches nothing.
        ("kid a number", &two, kid(json!(1), SECRET), Some(KeyNotFound), &[]),
        ("kid an array", &two, kid(json!(["k1"]), SECRET), Some(KeyNotFound), &[]),
        ("kid in another case", &two, kid(json!("K1"), SECRET), Some(KeyNotFound), &[]),
        ("kid k2, k1's signature", &two, kid(json!("k2"), SECRET), Some(InvalidSignature), &["HS256"]),
        ("no kid, one key", &one, hs256(&claims), None, &[]),
        ("unknown kid, one key", &one, kid(json!("k2"), SECRET), Some(KeyNotFound), &[]),
    ];
    for (name, v, token, kind, needles) in rows {
        match kind {
            None => {
                accept_named(name, v, &token, NOW);
            }
            Some(kind) => {
                let err = reject_named(name, v, &token, NOW, kind);
                assert_mentions_named(name, &err, needles);
            }
        }
    }
}

#[test]
fn keys_named_by_the_token_are_never_used() {
    let jwks = data_json("jwks/public_jwks.json");
    let with_kid = |stem: &str, kid: &str| {
        let mut jwk = jwks[stem].clone();
        jwk["kid"] = json!(kid);
        jwk
    };
    let v = verifier_with(json!({
        "algorithms": ["RS256"],
        "key_source": {"type": "jwks", "jwks": {"keys": [with_kid("rsa2048", "a")]}}
    }));
    let claims = good_claims();
    let key_a = pem_key("rsa2048_private.pem");
    let key_b = pem_key("rsa2048b_private.pem");
    let sign = |key: &SigningKey, header: Value| {
        key.sign_with_header(Algorithm::RS256, &header, &claims)
            .unwrap()
    };
    accept(&v, &sign(&key_a, json!({"alg": "RS256", "kid": "a"})), NOW);
    // The attacker's own key in `jwk`, or URLs in `jku`/`x5u`: never used or fetched.
    let attacker = with_kid("rsa2048b", "b");
    let headers = [
        json!({"alg": "RS256", "kid": "b", "jwk": attacker}),
        json!({"alg": "RS256", "kid": "b", "jku": "http://127.0.0.1:9/jwks.json"}),
        json!({"alg": "RS256", "kid": "b", "x5u": "http://127.0.0.1:9/cert.pem"}),
    ];
    for header in headers {
        let err = reject(&v, &sign(&key_b, header), NOW, ErrorKind::KeyNotFound);
        assert_mentions(&err, &["`b`", "`a`"]);
    }
    let headers = [
        json!({"alg": "RS256", "kid": "a", "jwk": attacker}),
        json!({"alg": "RS256", "jwk": attacker}),
        json!({"alg": "RS256", "kid": "a", "jku": "http://127.0.0.1:9/jwks.json"}),
    ];
    for header in headers {
        reject(&v, &sign(&key_b, header), NOW, ErrorKind::InvalidSignature);
    }
    // A static key ignores `kid`.
    let public = key_pem("rsa2048_public.pem");
    let s = verifier_with(json!({
        "algorithms": ["RS256"], "key_source": {"type": "static", "public_key_pem": public}
    }));
    accept(
        &s,
        &sign(&key_a, json!({"alg": "RS256", "kid": "anything"})),
        NOW,
    );
    // The attacker's `jwk` is not used with a static key either.
    reject(
        &s,
        &sign(&key_b, json!({"alg": "RS256", "jwk": attacker})),
        NOW,
        ErrorKind::InvalidSignature,
    );
}

// ---------------------------------------------------------------- step 7

/// RSA-6144 (768-byte signatures): verified with aws-lc; refused when it
/// loads with rust-crypto alone (the `rsa` crate stops at 4096 bits), never
/// accepted and then failing every token as `invalid_signature`.
#[test]
fn rsa_6144_signatures_longer_than_512_bytes_verify() {
    let value = patched(
        base_config(),
        json!({"algorithms": ["RS256"], "key_source": {"type": "static",
            "public_key_pem": key_pem("rsa6144_public.pem")}}),
    );
    if cfg!(not(feature = "aws-lc")) {
        let err = jwt_sso::Error::from(
            jwt_sso::JwtConfig::from_json_str(&value.to_string())
                .and_then(jwt_sso::JwtConfig::validate)
                .unwrap_err(),
        );
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert_mentions(&err, &["6144 bits", "at most 4096 bits"]);
        return;
    }
    let v = verifier(&value);
    let token = pem_key("rsa6144_private.pem")
        .sign(Algorithm::RS256, &good_claims())
        .unwrap();
    let [h, p, s] = segments(&token);
    assert_eq!(unb64(&s).len(), 768);
    assert_eq!(accept(&v, &token, NOW).user_id, "jdoe");
    let mut flipped = unb64(&s);
    flipped[700] ^= 1;
    reject(
        &v,
        &join(&h, &p, &b64(&flipped)),
        NOW,
        ErrorKind::InvalidSignature,
    );
    reject(
        &v,
        &join(&h, &p, &b64(&flipped[..767])),
        NOW,
        ErrorKind::InvalidSignature,
    );
}

#[test]
fn signatures_that_do_not_verify() {
    let v = verifier(&base_config());
    let claims = good_claims();
    let token = hs256(&claims);
    let [h, p, s] = segments(&token);
    let sig = unb64(&s);
    let other = hs256(&claims_with(json!({"sub": "eve"})));
    let [_, other_p, other_s] = segments(&other);
    let mut flipped = sig.clone();
    flipped[0] ^= 1;
    #[rustfmt::skip]
    let cases: Vec<(&str, String)> = vec![
        ("wrong secret", SigningKey::from_secret(OTHER_SECRET.as_bytes()).sign(Algorithm::HS256, &claims).unwrap()),
        ("empty signature", format!("{h}.{p}.")),
        ("one byte short", join(&h, &p, &b64(&sig[..31]))),
        ("half", join(&h, &p, &b64(&sig[..16]))),
        ("one byte long", join(&h, &p, &b64(&[sig.as_slice(), &[0]].concat()))),
        ("doubled", join(&h, &p, &b64(&[sig.as_slice(), sig.as_slice()].concat()))),
        // Past the verifier's 512-byte inline signature buffer.
        ("600 bytes", join(&h, &p, &b64(&[sig.as_slice(); 19].concat()[..600]))),
        ("512 bytes", join(&h, &p, &b64(&[sig.as_slice(); 16].concat()))),
        ("one bit flipped", join(&h, &p, &b64(&flipped))),
        ("another token's signature", join(&h, &p, &other_s)),
        ("payload swapped after signing", join(&h, &other_p, &s)),
        ("header changed after signing", join(&b64(br#"{"alg":"HS256"}"#), &p, &s)),
        ("signed with the secret's prefix", SigningKey::from_secret(&SECRET.as_bytes()[..32]).sign(Algorithm::HS256, &claims).unwrap()),
    ];
    for (name, t) in cases {
        let err = reject_named(name, &v, &t, NOW, ErrorKind::InvalidSignature);
        assert_mentions_named(name, &err, &["HS256"]);
    }
}

/// DER `INTEGER` of an unsigned big-endian number.
fn der_integer(bytes: &[u8]) -> Vec<u8> {
    let start = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    let mut body = bytes[start..].to_vec();
    if body[0] & 0x80 != 0 {
        body.insert(0, 0);
    }
    let mut out = vec![0x02, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn asymmetric_signatures_of_the_wrong_key_or_shape() {
    use Algorithm::{ES256, ES384, EdDSA, RS256};
    let claims = good_claims();
    // One verifier per algorithm, with a token it accepts (and its segments).
    let setup = |alg: Algorithm, public: &str, private: &str, sig_len: usize| {
        let v = verifier_with(json!({
            "algorithms": [alg.as_str()],
            "key_source": {"type": "static", "public_key_pem": key_pem(public)}
        }));
        let good = pem_key(private).sign(alg, &claims).unwrap();
        accept_named(&format!("{alg}: the good token"), &v, &good, NOW);
        let [h, p, s] = segments(&good);
        let sig = unb64(&s);
        assert_eq!(sig.len(), sig_len, "{alg}: signature length");
        (v, h, p, s, sig)
    };
    let (rs, h, p, _, sig) = setup(RS256, "rsa2048_public.pem", "rsa2048_private.pem", 256);
    let (es, eh, ep, _, esig) = setup(ES256, "p256_public.pem", "p256_private.pem", 64);
    let (es384, e3h, e3p, _, e3sig) = setup(ES384, "p384_public.pem", "p384_private.pem", 96);
    let (ed, dh, dp, ds, dsig) = setup(EdDSA, "ed25519_public.pem", "ed25519_private.pem", 64);
    // ECDSA: a signature must be r||s of the curve's size; DER is refused.
    let (r, s_) = esig.split_at(32);
    let body = [der_integer(r), der_integer(s_)].concat();
    let der = [vec![0x30, body.len() as u8], body].concat();
    let [_, other_p, _] = segments(&hs256(&claims_with(json!({"sub": "eve"}))));
    let es_sig = |bytes: &[u8]| join(&eh, &ep, &b64(bytes));
    // (name, verifier, token, what the message names)
    #[rustfmt::skip]
    let rows: Vec<(&str, &TestVerifier, String, &[&str])> = vec![
        ("RS256: another key pair", &rs, pem_key("rsa2048b_private.pem").sign(RS256, &claims).unwrap(), &["RS256"]),
        ("RS256: one byte short", &rs, join(&h, &p, &b64(&sig[..255])), &["RS256"]),
        ("RS256: first byte dropped", &rs, join(&h, &p, &b64(&sig[1..])), &["RS256"]),
        ("RS256: empty signature", &rs, join(&h, &p, ""), &["RS256"]),
        ("RS256: PSS under an RS256 header", &rs, pem_key("rsa2048_private.pem")
            .sign_with_header(Algorithm::PS256, &json!({"alg": "RS256"}), &claims).unwrap(), &["RS256"]),
        ("ES256: DER", &es, es_sig(&der), &[]),
        ("ES256: 63 bytes", &es, es_sig(&esig[..63]), &[]),
        ("ES256: 65 bytes", &es, es_sig(&[esig.as_slice(), &[0]].concat()), &[]),
        ("ES256: r and s swapped", &es, es_sig(&[s_, r].concat()), &[]),
        ("ES256: zero", &es, es_sig(&[0; 64]), &[]),
        ("ES384: 95 bytes", &es384, join(&e3h, &e3p, &b64(&e3sig[..95])), &[]),
        ("EdDSA: 63 bytes", &ed, join(&dh, &dp, &b64(&dsig[..63])), &[]),
        ("EdDSA: empty signature", &ed, join(&dh, &dp, ""), &[]),
        ("EdDSA: another payload under the signature", &ed, join(&dh, &other_p, &ds), &[]),
    ];
    for (name, v, token, needles) in rows {
        let err = reject_named(name, v, &token, NOW, ErrorKind::InvalidSignature);
        assert_mentions_named(name, &err, needles);
    }
}

// ---------------------------------------------------------------- step 8

#[test]
fn payload_must_be_one_strict_json_object_once_the_signature_holds() {
    let v = verifier(&base_config());
    let exp = NOW + 600;
    let header = br#"{"alg":"HS256","typ":"JWT"}"#;
    let deep64 = format!("{{\"sub\":\"jdoe\",\"exp\":{exp},\"x\":{}}}", nested(63));
    accept(&v, &hs256_raw(header, deep64.as_bytes()), NOW);

    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"sub=jdoe".to_vec()),
        ("empty", Vec::new()),
        ("truncated", format!("{{\"sub\":\"jdoe\",\"exp\":{exp}").into_bytes()),
        ("array", format!("[{{\"sub\":\"jdoe\",\"exp\":{exp}}}]").into_bytes()),
        ("string", b"\"jdoe\"".to_vec()),
        ("number", exp.to_string().into_bytes()),
        ("null", b"null".to_vec()),
        ("repeated sub", format!("{{\"sub\":\"jdoe\",\"exp\":{exp},\"sub\":\"admin\"}}").into_bytes()),
        ("repeated exp", format!("{{\"sub\":\"jdoe\",\"exp\":{exp},\"exp\":{}}}", exp + 1).into_bytes()),
        ("repeated via escape", format!("{{\"sub\":\"jdoe\",\"exp\":{exp},\"\\u0073ub\":\"admin\"}}").into_bytes()),
        ("repeated in a nested object", format!("{{\"sub\":\"jdoe\",\"exp\":{exp},\"r\":{{\"a\":1,\"a\":1}}}}").into_bytes()),
        ("65 levels", format!("{{\"sub\":\"jdoe\",\"exp\":{exp},\"x\":{}}}", nested(64)).into_bytes()),
        ("3000 levels of arrays", format!("{{\"sub\":\"jdoe\",\"exp\":{exp},\"x\":{}{}}}", "[".repeat(3000), "]".repeat(3000)).into_bytes()),
        ("trailing data", format!("{{\"sub\":\"jdoe\",\"exp\":{exp}}} x").into_bytes()),
        ("invalid UTF-8", [b"{\"sub\":\"jd".as_slice(), &[0xff], format!("oe\",\"exp\":{exp}}}").as_bytes()].concat()),
    ];
    for (name, payload) in cases {
        let token = hs256_raw(header, &payload);
        let err = reject_named(name, &v, &token, NOW, ErrorKind::Malformed);
        assert_mentions_named(name, &err, &["payload"]);
        // The same payload under a signature that does not verify: only the
        // signature is reported, the payload is never parsed.
        let name = format!("{name}, wrong key");
        let token = hs256_raw_wrong_key(header, &payload);
        let err = reject_named(&name, &v, &token, NOW, ErrorKind::InvalidSignature);
        assert!(
            !err.to_string().contains("payload"),
            "{name}: only the signature is reported: {err}"
        );
    }
}

// ---------------------------------------------------------------- steps 9, 10, 12

#[test]
fn registered_claim_types_missing_exp_issuer_and_audience() {
    let n = run_cases("registered_claims.json");
    assert!(n >= 40, "only {n} cases");
}

// ---------------------------------------------------------------- the order

#[test]
fn the_first_failing_step_is_reported() {
    let strict = || {
        patched(
            base_config(),
            json!({
                "issuer": "https://idp.example.com",
                "audience": "bi-server",
                "claims": {"user_id": "sub", "name": "name", "roles": "groups"},
                "max_token_bytes": 4096
            }),
        )
    };
    let v = verifier(&strict());
    let disabled = verifier(&patched(
        strict(),
        json!({"enabled": false, "max_token_bytes": 64}),
    ));
    let tiny = verifier(&patched(strict(), json!({"max_token_bytes": 64})));
    let jwks = verifier(&patched(
        strict(),
        json!({"key_source": {"type": "jwks", "jwks": {"keys": [oct_jwk("k1", SECRET), oct_jwk("k2", OTHER_SECRET)]}}}),
    ));
    let ok = json!({
        "sub": "jdoe", "name": "Jane", "groups": ["Sales"],
        "iss": "https://idp.example.com", "aud": "bi-server",
        "iat": NOW - 60, "exp": NOW + 600
    });
    let claims = |patch: Value| {
        let mut c = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            if v == "<absent>" {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let good = hs256(&ok);
    accept(&v, &good, NOW);
    accept(&jwks, &hs256_kid(json!("k1"), SECRET, &ok), NOW);

    let wrong_key =
        |c: &Value| hs256_raw_wrong_key(br#"{"alg":"HS256"}"#, c.to_string().as_bytes());
    let raw_wrong_key = |payload: &[u8]| hs256_raw_wrong_key(br#"{"alg":"HS256"}"#, payload);
    let alg_none_bad_b64 = format!(
        "{}.{}.A=",
        b64(br#"{"alg":"none"}"#),
        b64(ok.to_string().as_bytes())
    );
    let header_array_crit = hs256_raw(
        br#"[{"alg":"HS256","crit":["b64"]}]"#,
        ok.to_string().as_bytes(),
    );
    let deep = format!("{{\"x\":{}}}", nested(70));
    let past = NOW + 10_000;

    use ErrorKind::*;
    #[rustfmt::skip]
    let cases: Vec<(&str, &TestVerifier, String, i64, ErrorKind)> = vec![
        ("disabled beats a valid token", &disabled, good.clone(), NOW, Disabled),
        ("disabled beats too large", &disabled, "A".repeat(100), NOW, Disabled),
        ("disabled beats malformed", &disabled, "x".into(), NOW, Disabled),
        ("too large beats malformed", &tiny, "!".repeat(65), NOW, TokenTooLarge),
        ("too large beats a valid token", &tiny, good.clone(), NOW, TokenTooLarge),
        ("malformed (2 segments) beats alg none", &v, format!("{}.{}", b64(br#"{"alg":"none"}"#), b64(b"{}")), NOW, Malformed),
        ("malformed base64 beats alg none", &v, alg_none_bad_b64, NOW, Malformed),
        ("malformed header (repeated member) beats alg none", &v, hs256_raw(br#"{"alg":"none","alg":"none"}"#, ok.to_string().as_bytes()), NOW, Malformed),
        ("malformed header (array) beats crit", &v, header_array_crit, NOW, Malformed),
        ("malformed header (too deep) beats alg", &v, hs256_raw(format!("{{\"alg\":\"none\",\"x\":{}}}", nested(64)).as_bytes(), b"{}"), NOW, Malformed),
        ("alg not allowed beats crit", &v, hs256_header(&json!({"alg": "none", "crit": ["b64"], "b64": false}), &ok), NOW, AlgorithmNotAllowed),
        ("alg not allowed beats a bad signature", &v, format!("{}.{}.AAAA", b64(br#"{"alg":"HS512"}"#), b64(ok.to_string().as_bytes())), NOW, AlgorithmNotAllowed),
        ("alg not allowed beats key not found", &jwks, format!("{}.{}.", b64(br#"{"alg":"RS256","kid":"zz"}"#), b64(b"{}")), NOW, AlgorithmNotAllowed),
        ("crit beats key not found", &jwks, hs256_header(&json!({"alg": "HS256", "kid": "zz", "crit": ["b64"]}), &ok), NOW, CriticalHeader),
        ("crit beats a bad signature", &v, SigningKey::from_secret(OTHER_SECRET.as_bytes()).sign_with_header(Algorithm::HS256, &json!({"alg": "HS256", "crit": ["b64"], "b64": false}), &ok).unwrap(), NOW, CriticalHeader),
        ("crit beats a malformed payload", &v, hs256_raw(br#"{"alg":"HS256","crit":[]}"#, b"[]"), NOW, CriticalHeader),
        ("key not found beats a bad signature", &jwks, hs256_kid(json!("zz"), OTHER_SECRET, &ok), NOW, KeyNotFound),
        ("key not found beats a malformed payload", &jwks, hs_key().sign_raw(Algorithm::HS256, br#"{"alg":"HS256","kid":"zz"}"#, b"[1]").unwrap(), NOW, KeyNotFound),
        ("bad signature (jwks) beats expired", &jwks, hs256_kid(json!("k2"), SECRET, &ok), past, InvalidSignature),
        ("bad signature beats payload not JSON", &v, raw_wrong_key(b"not json"), NOW, InvalidSignature),
        ("bad signature beats payload array", &v, raw_wrong_key(b"[]"), NOW, InvalidSignature),
        ("bad signature beats repeated member", &v, raw_wrong_key(br#"{"sub":"a","sub":"b"}"#), NOW, InvalidSignature),
        ("bad signature beats payload too deep", &v, raw_wrong_key(deep.as_bytes()), NOW, InvalidSignature),
        ("bad signature beats invalid claim", &v, wrong_key(&claims(json!({"exp": "tomorrow"}))), NOW, InvalidSignature),
        ("bad signature beats missing exp", &v, wrong_key(&claims(json!({"exp": "<absent>"}))), NOW, InvalidSignature),
        ("bad signature beats expired", &v, wrong_key(&ok), past, InvalidSignature),
        ("bad signature beats issuer mismatch", &v, wrong_key(&claims(json!({"iss": "https://evil.example"}))), NOW, InvalidSignature),
        ("bad signature beats missing user id", &v, wrong_key(&claims(json!({"sub": "<absent>"}))), NOW, InvalidSignature),
        ("empty signature beats everything after it", &v, format!("{}.{}.", b64(br#"{"alg":"HS256"}"#), b64(b"[]")), NOW, InvalidSignature),
        ("malformed payload beats invalid claim", &v, hs256_raw(br#"{"alg":"HS256"}"#, br#"{"exp":"x","exp":"y"}"#), NOW, Malformed),
        ("invalid exp type beats missing user id", &v, hs256(&claims(json!({"exp": "soon", "sub": "<absent>"}))), NOW, InvalidClaim),
        ("invalid nbf type beats missing exp", &v, hs256(&claims(json!({"nbf": "now", "exp": "<absent>"}))), NOW, InvalidClaim),
        ("invalid iss type beats missing exp", &v, hs256(&claims(json!({"iss": 1, "exp": "<absent>"}))), NOW, InvalidClaim),
        ("invalid aud type beats expired", &v, hs256(&claims(json!({"aud": 5}))), past, InvalidClaim),
        ("invalid iat type beats issuer mismatch", &v, hs256(&claims(json!({"iat": null, "iss": "x"}))), NOW, InvalidClaim),
        ("missing exp beats issuer mismatch", &v, hs256(&claims(json!({"exp": "<absent>", "iss": "https://evil.example"}))), NOW, MissingExp),
        ("missing exp beats missing user id", &v, hs256(&claims(json!({"exp": "<absent>", "sub": "<absent>"}))), NOW, MissingExp),
        ("expired beats not yet valid", &v, hs256(&claims(json!({"exp": NOW - 3600, "nbf": NOW + 3600, "iat": "<absent>"}))), NOW, Expired),
        ("expired beats issuer mismatch", &v, hs256(&claims(json!({"iss": "https://evil.example"}))), past, Expired),
        ("expired beats missing user id", &v, hs256(&claims(json!({"sub": "<absent>"}))), past, Expired),
        ("not yet valid beats issued in future", &v, hs256(&claims(json!({"nbf": NOW + 3600, "iat": NOW + 3600, "exp": NOW + 4000}))), NOW, NotYetValid),
        ("not yet valid beats issuer mismatch", &v, hs256(&claims(json!({"nbf": NOW + 3600, "iss": "x"}))), NOW, NotYetValid),
        ("issued in future beats audience mismatch", &v, hs256(&claims(json!({"iat": NOW + 3600, "exp": NOW + 4000, "aud": "x"}))), NOW, IssuedInFuture),
        ("max age beats audience mismatch", &v, hs256(&claims(json!({"iat": "<absent>", "exp": NOW + 100_000, "aud": "x"}))), NOW, MaxAgeExceeded),
        ("issuer mismatch beats audience mismatch", &v, hs256(&claims(json!({"iss": "https://evil.example", "aud": "other"}))), NOW, IssuerMismatch),
        ("missing issuer beats missing audience", &v, hs256(&claims(json!({"iss": "<absent>", "aud": "<absent>"}))), NOW, IssuerMismatch),
        ("audience mismatch beats missing user id", &v, hs256(&claims(json!({"aud": ["other"], "sub": "<absent>"}))), NOW, AudienceMismatch),
        ("missing user id beats a mapped invalid claim", &v, hs256(&claims(json!({"sub": "<absent>", "name": 5}))), NOW, MissingUserId),
        ("null user id beats invalid roles", &v, hs256(&claims(json!({"sub": null, "groups": {"a": 1}}))), NOW, MissingUserId),
        ("empty user id beats invalid roles", &v, hs256(&claims(json!({"sub": "", "groups": [1]}))), NOW, MissingUserId),
        ("a mapped invalid claim comes last", &v, hs256(&claims(json!({"name": 5}))), NOW, InvalidClaim),
    ];
    for (name, verifier, token, now, kind) in cases {
        reject_named(name, verifier, &token, now, kind);
    }
}

#[test]
fn nothing_about_the_claims_is_revealed_before_the_signature_holds() {
    let v = verifier_with(json!({"issuer": "https://idp.example.com"}));
    let marker = "mallory-marker-7f3a";
    let payloads = [
        json!({"sub": marker, "exp": "later"}),
        json!({marker: 1}),
        json!({"sub": marker, "iss": marker, "exp": NOW - 99_999}),
        json!([marker]),
    ];
    for payload in payloads {
        let token = hs256_raw_wrong_key(br#"{"alg":"HS256"}"#, payload.to_string().as_bytes());
        let err = reject(&v, &token, NOW, ErrorKind::InvalidSignature);
        let json = err.to_json().to_string();
        assert!(!json.contains(marker), "{json}");
        let message = err.to_string();
        assert!(
            !message.contains("exp") && !message.contains("iss"),
            "{message}"
        );
    }
}

// ---------------------------------------------------------------- messages and hints

#[test]
fn every_token_kind_has_a_hint_and_a_stable_name() {
    use ErrorKind::*;
    // (kind, its stable name, the troubleshooting step of the contract its
    // hint points at, where the contract names one)
    #[rustfmt::skip]
    let kinds = [
        (Disabled, "disabled", None),
        (TokenTooLarge, "token_too_large", None),
        (Malformed, "malformed", None),
        (AlgorithmNotAllowed, "algorithm_not_allowed", Some("algorithm")),
        (CriticalHeader, "critical_header", None),
        (KeyNotFound, "key_not_found", None),
        (InvalidSignature, "invalid_signature", Some("secret or public key")),
        (InvalidClaim, "invalid_claim", None),
        (MissingExp, "missing_exp", Some("expiration time")),
        (Expired, "expired", Some("clock")),
        (NotYetValid, "not_yet_valid", Some("clock")),
        (IssuedInFuture, "issued_in_future", Some("clock")),
        (MaxAgeExceeded, "max_age_exceeded", Some("expiration time")),
        (IssuerMismatch, "issuer_mismatch", Some("issuer")),
        (AudienceMismatch, "audience_mismatch", Some("audience")),
        (MissingUserId, "missing_user_id", Some("username field mapping")),
        (KeyFetch, "key_fetch", None),
        (Config, "config", None),
    ];
    for (kind, name, step) in kinds {
        assert_eq!(kind.as_str(), name, "{name}: as_str");
        assert_eq!(kind.to_string(), name, "{name}: Display");
        assert_eq!(
            serde_json::to_value(kind).unwrap(),
            json!(name),
            "{name}: Serialize"
        );
        let hint = kind.hint();
        assert!(hint.len() > 20, "{name}: a short hint: {hint}");
        let step = step.unwrap_or("");
        assert!(
            hint.contains(step),
            "{name}: the hint names `{step}`: {hint}"
        );
    }
}

#[test]
fn messages_name_the_values_involved() {
    use ErrorKind::*;
    let v = verifier_with(json!({
        "issuer": ISSUER, "audience": AUDIENCE, "leeway": 0,
        "claims": {"user_id": "loginname"}
    }));
    let base = json!({
        "loginname": "jdoe", "iss": ISSUER, "aud": AUDIENCE,
        "iat": NOW - 60, "exp": NOW + 600
    });
    // `base` with the members of `patch` set; a `null` member is removed.
    let with = |patch: Value| hs256(&patched(base.clone(), patch));
    accept(&v, &hs256(&base), NOW);

    // (name, token, verified at, kind, what the message names)
    #[rustfmt::skip]
    let rows: Vec<(&str, String, i64, ErrorKind, &[&str])> = vec![
        ("issuer with a trailing slash", with(json!({"iss": "https://idp.example.com/"})), NOW, IssuerMismatch,
            &["`https://idp.example.com`", "`https://idp.example.com/`"]),
        ("audience in another case", with(json!({"aud": ["bi", "BI-SERVER"]})), NOW, AudienceMismatch,
            &["bi-server", "`bi`", "`BI-SERVER`"]),
        ("expired at exp", hs256(&base), NOW + 600, Expired,
            &["2026-01-01T00:10:00Z", "2026-01-01T00:10:00Z", "1767226200"]),
        ("expired two hours on", hs256(&base), NOW + 7200, Expired,
            &["2026-01-01T00:10:00Z", "2026-01-01T02:00:00Z"]),
        ("user ID claim missing, another present", with(json!({"loginname": null, "upn": "jdoe@example.com"})), NOW, MissingUserId,
            &["`loginname`", "`upn`", "`iss`", "`aud`", "`exp`", "`iat`"]),
        ("exp missing", with(json!({"exp": null})), NOW, MissingExp,
            &["exp", "`loginname`", "`iat`"]),
        ("exp a date string", with(json!({"exp": "2026-01-01"})), NOW, InvalidClaim,
            &["`exp`", "string"]),
    ];
    for (name, token, now, kind, needles) in rows {
        let err = reject_named(name, &v, &token, now, kind);
        assert_mentions_named(name, &err, needles);
    }
}

// ---------------------------------------------------------------- tracing

#[derive(Debug, Clone)]
struct Recorded {
    target: String,
    level: tracing::Level,
    fields: BTreeMap<String, String>,
}

/// A subscriber that records every event with its fields as text.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<Recorded>>>);

impl Recorder {
    fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct FieldText<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for FieldText<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl tracing::Subscriber for Recorder {
    fn register_callsite(
        &self,
        _: &'static tracing::Metadata<'static>,
    ) -> tracing::subscriber::Interest {
        tracing::subscriber::Interest::always()
    }

    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        let mut fields = BTreeMap::new();
        event.record(&mut FieldText(&mut fields));
        self.0.lock().unwrap().push(Recorded {
            target: event.metadata().target().to_owned(),
            level: *event.metadata().level(),
            fields,
        });
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn one_event_per_rejection_without_token_or_secret() {
    let recorder = Recorder::default();
    let v = verifier_with(
        json!({"name": "ERP", "issuer": "https://idp.example.com", "max_token_bytes": 4096}),
    );
    let ok = claims_with(json!({"iss": "https://idp.example.com"}));
    let good = hs256(&ok);
    let [h, p, s] = segments(&good);
    #[rustfmt::skip]
    let rejections: Vec<(&str, String, ErrorKind)> = vec![
        ("too large", "x".repeat(5000), ErrorKind::TokenTooLarge),
        ("two segments", format!("{h}.{p}"), ErrorKind::Malformed),
        ("padded signature", format!("{h}.{p}.{s}="), ErrorKind::Malformed),
        ("alg none", hs256_header(&json!({"alg": "none"}), &ok), ErrorKind::AlgorithmNotAllowed),
        ("crit", hs256_header(&json!({"alg": "HS256", "crit": ["b64"]}), &ok), ErrorKind::CriticalHeader),
        ("wrong secret", SigningKey::from_secret(OTHER_SECRET.as_bytes()).sign(Algorithm::HS256, &ok).unwrap(), ErrorKind::InvalidSignature),
        ("payload an array", hs256_raw(br#"{"alg":"HS256"}"#, b"[]"), ErrorKind::Malformed),
        ("exp a string", hs256(&claims_with(json!({"iss": "https://idp.example.com", "exp": "x"}))), ErrorKind::InvalidClaim),
        ("no exp", hs256(&json!({"sub": "jdoe", "iss": "https://idp.example.com"})), ErrorKind::MissingExp),
        ("expired", hs256(&claims_with(json!({"iss": "https://idp.example.com", "exp": NOW - 3600}))), ErrorKind::Expired),
        ("another issuer", hs256(&claims_with(json!({"iss": "https://evil.example"}))), ErrorKind::IssuerMismatch),
        ("empty user ID", hs256(&claims_with(json!({"iss": "https://idp.example.com", "sub": ""}))), ErrorKind::MissingUserId),
    ];
    tracing::subscriber::with_default(recorder.clone(), || {
        for (name, token, kind) in &rejections {
            recorder.take();
            reject_named(name, &v, token, NOW, *kind);
            let events = recorder.take();
            assert_eq!(events.len(), 1, "{name}: one event: {events:#?}");
            let event = &events[0];
            // DEBUG: a login reports its own one event (CONTRACT section 6).
            assert_eq!(event.level, tracing::Level::DEBUG, "{name}: {event:?}");
            assert_eq!(event.target, "jwt_sso", "{name}: {event:?}");
            assert_eq!(
                event.fields.get("config").map(String::as_str),
                Some("ERP"),
                "{name}: {event:?}"
            );
            assert_eq!(
                event.fields.get("kind").map(String::as_str),
                Some(kind.as_str()),
                "{name}: {event:?}"
            );
            let text = format!("{:?}", event.fields);
            assert_hides_token(&format!("{name}: the event"), &text, token);
        }
        // A disabled configuration logs its rejections too.
        let disabled = verifier_with(json!({"name": "Old ERP", "enabled": false}));
        recorder.take();
        disabled.verify_at(&good, NOW).unwrap_err();
        let events = recorder.take();
        assert_eq!(events.len(), 1, "{events:#?}");
        assert_eq!(
            events[0].fields.get("config").map(String::as_str),
            Some("Old ERP")
        );
        assert_eq!(
            events[0].fields.get("kind").map(String::as_str),
            Some("disabled")
        );
        // An accepted token logs no warning.
        recorder.take();
        v.verify_at(&good, NOW).unwrap();
        let events = recorder.take();
        assert!(
            events
                .iter()
                .all(|e| e.level != tracing::Level::WARN && !e.fields.contains_key("kind")),
            "{events:#?}"
        );
        let text = format!("{events:?}");
        assert!(!text.contains(&good) && !text.contains(SECRET), "{text}");
    });
}

/// Step 15: `single_use` needs a non-empty string `jti`; without
/// `single_use` any `jti` (or none) passes.
#[test]
fn single_use_requires_a_string_jti_after_every_other_check() {
    let v = verifier_with(json!({"single_use": true}));
    let plain = verifier(&base_config());
    for (jti, state) in [
        (None, "absent"),
        (Some(json!("")), "empty"),
        (Some(json!(42)), "a number"),
        (Some(json!(null)), "null"),
        (Some(json!(["a"])), "an array"),
    ] {
        let mut claims = good_claims();
        if let Some(jti) = jti {
            claims["jti"] = jti;
        }
        let token = hs256(&claims);
        let err = reject(&v, &token, NOW, ErrorKind::MissingJti);
        assert_mentions(&err, &["single_use", state, "sub"]);
        assert_eq!(err.kind().as_str(), "missing_jti");
        accept(&plain, &token, NOW);
    }
    let token = hs256(&claims_with(json!({"jti": "id-1"})));
    assert_eq!(accept(&v, &token, NOW).token_id.as_deref(), Some("id-1"));
    // Accepted twice: the verifier records nothing (replay is the login flow's).
    accept(&v, &token, NOW);

    // It is the last step: an expired token or one without a user ID says so first.
    let expired = hs256(&claims_with(json!({"exp": NOW - 3600, "iat": NOW - 4000})));
    reject(&v, &expired, NOW, ErrorKind::Expired);
    let no_user = hs256(&claims_without(&["sub"]));
    reject(&v, &no_user, NOW, ErrorKind::MissingUserId);
    let bad_user = hs256(&claims_with(json!({"sub": " jdoe"})));
    reject(&v, &bad_user, NOW, ErrorKind::InvalidClaim);
}
