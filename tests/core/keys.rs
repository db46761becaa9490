//! CONTRACT section 1, key sources: static secrets (text, base64, env), static
//! public keys (SPKI, PKCS#1, certificates) and inline JWK Sets, each proven by
//! verifying tokens signed with the matching private key (and refusing others).
//!
//! Most tests are tables: one row per token (its name, the private key that
//! signs it, the `alg` and `kid` of its header, and what the verifier must
//! do), run by [`check_rows`]; every assertion message starts with the row's
//! name.
#![cfg(feature = "mint")]

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, Error, ErrorKind};
use serde_json::{Value, json};

use crate::support::clocked;
use crate::support::clocked::{load, verifier};
// Every token here is verified at NOW (2026-01-01T00:00:00Z).
use crate::support::fixtures::NOW;
#[cfg(feature = "admin")]
use crate::support::owner;
use clocked::TestVerifier;
use jwt_sso::Algorithm::*;
use jwt_sso::ErrorKind::{AlgorithmNotAllowed, InvalidSignature, KeyNotFound};

fn data(path: &str) -> String {
    let path = format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn key(name: &str) -> String {
    data(&format!("keys/{name}"))
}

/// The JWK form of a test key (see tests/data/jwks/README.md), plus `extra` members.
fn jwk(name: &str, extra: Value) -> Value {
    let all: Value = serde_json::from_str(&data("jwks/public_jwks.json")).unwrap();
    let mut jwk = all
        .get(name)
        .unwrap_or_else(|| panic!("no JWK {name}"))
        .clone();
    for (k, v) in extra.as_object().unwrap() {
        jwk[k] = v.clone();
    }
    jwk
}

fn config(algorithms: &[&str], key_source: Value) -> Value {
    json!({
        "name": "keys", "token_name": "token", "algorithms": algorithms,
        "key_source": key_source, "expiration_time": 3600, "claims": {"user_id": "sub"}
    })
}

/// A configuration with one static public key from `tests/data/keys/`.
fn pem_config(algorithms: &[&str], public: &str) -> Value {
    config(
        algorithms,
        json!({"type": "static", "public_key_pem": key(public)}),
    )
}

/// A configuration with one static secret (any form `secret` takes).
fn secret_config(algorithms: &[&str], secret: Value) -> Value {
    config(algorithms, json!({"type": "static", "secret": secret}))
}

/// Loads `v`, expects a `config` error whose message names each of `names`
/// and that never shows a secret; `name` leads every assertion message.
#[track_caller]
fn config_error(name: &str, v: &Value, names: &[&str]) -> Error {
    let err = load(v)
        .err()
        .unwrap_or_else(|| panic!("{name}: expected a config error for {v}"));
    assert_eq!(err.kind(), ErrorKind::Config, "{name}: {err}");
    let message = err.to_string();
    for needle in names {
        assert!(
            message.contains(needle),
            "{name}: message {message:?} does not name {needle:?}"
        );
    }
    assert!(!err.hint().is_empty(), "{name}: no hint for {err}");
    for text in [message, format!("{err:?}"), err.hint().to_owned()] {
        assert!(
            !text.contains("SUPERSECRET"),
            "{name}: a config error shows a secret: {text}"
        );
    }
    err
}

fn jwks_config(algorithms: &[&str], keys: Vec<Value>) -> Value {
    config(algorithms, json!({"type": "jwks", "jwks": {"keys": keys}}))
}

/// A verifier for an inline JWK Set written compactly: each member of `set`
/// is `[NAME, {extra members}]` (the public JWK of a test key, see [`jwk`])
/// or a JWK object as it is.
fn jwks_verifier(algorithms: &[&str], set: Value) -> TestVerifier {
    let keys = set
        .as_array()
        .expect("a key set is an array")
        .iter()
        .map(|member| match member {
            Value::Array(pair) => jwk(pair[0].as_str().unwrap(), pair[1].clone()),
            other => other.clone(),
        })
        .collect();
    verifier(&jwks_config(algorithms, keys))
}

fn claims() -> Value {
    json!({"sub": "jdoe", "iat": NOW, "exp": NOW + 600})
}

fn sign_pem(private: &str, alg: Algorithm) -> String {
    SigningKey::from_pem(&key(private))
        .sign(alg, &claims())
        .unwrap()
}

fn sign_secret(secret: &[u8], alg: Algorithm) -> String {
    SigningKey::from_secret(secret)
        .sign(alg, &claims())
        .unwrap()
}

fn sign_kid(private: &str, alg: Algorithm, kid: Option<Value>) -> String {
    let mut header = json!({"alg": alg.as_str(), "typ": "JWT"});
    if let Some(kid) = kid {
        header["kid"] = kid;
    }
    SigningKey::from_pem(&key(private))
        .sign_with_header(alg, &header, &claims())
        .unwrap()
}

/// What a row expects of the verifier: acceptance as `jdoe` (`OK`), or a
/// rejection of this kind.
type Want = Result<(), ErrorKind>;
const OK: Want = Ok(());

#[track_caller]
fn accepts(name: &str, v: &TestVerifier, token: &str) {
    match v.verify_at(token, NOW) {
        Ok(id) => assert_eq!(id.user_id, "jdoe", "{name}: the user"),
        Err(e) => panic!("{name}: rejected with {} ({e})", e.kind()),
    }
}

#[track_caller]
fn rejects(name: &str, v: &TestVerifier, token: &str, kind: ErrorKind) -> Error {
    match v.verify_at(token, NOW) {
        Ok(id) => panic!("{name}: accepted {id:?}, expected {kind}"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{name}: {e}");
            e
        }
    }
}

/// Checks one token; the error when it is (rightly) refused.
#[track_caller]
fn check(name: &str, v: &TestVerifier, token: &str, want: Want) -> Option<Error> {
    match want {
        Ok(()) => {
            accepts(name, v, token);
            None
        }
        Err(kind) => Some(rejects(name, v, token, kind)),
    }
}

/// A token signed with a test key: its name, the private key file, the
/// algorithm, the header's `kid` (none when `None`) and what the verifier
/// must do with it.
type Row = (&'static str, &'static str, Algorithm, Option<Value>, Want);

/// Runs every row against `v` and returns the errors of the refused rows by
/// name, for checks of their messages.
#[track_caller]
fn check_rows(v: &TestVerifier, rows: Vec<Row>) -> BTreeMap<&'static str, Error> {
    let mut errors = BTreeMap::new();
    for (name, private, alg, kid, want) in rows {
        if let Some(err) = check(name, v, &sign_kid(private, alg, kid), want) {
            errors.insert(name, err);
        }
    }
    errors
}

/// The token with the first character of its signature changed.
fn tamper(token: &str) -> String {
    let at = token.rfind('.').unwrap() + 1;
    let mut out = token.to_owned();
    let first = &token[at..=at];
    out.replace_range(at..=at, if first == "A" { "B" } else { "A" });
    out
}

/// Accepts `token` and refuses it with its signature changed.
#[track_caller]
fn accepts_and_not_tampered(name: &str, v: &TestVerifier, token: &str) {
    accepts(name, v, token);
    rejects(
        &format!("{name}, tampered"),
        v,
        &tamper(token),
        InvalidSignature,
    );
}

// ---------------------------------------------------------------- static PEM keys

#[test]
fn every_pem_form_verifies_its_private_keys_tokens() {
    let cases = [
        (RS256, "rsa2048_private.pem", "rsa2048_public.pem"),
        (RS384, "rsa2048_private.pem", "rsa2048_public.pem"),
        (RS512, "rsa2048_private.pem", "rsa2048_public.pem"),
        (PS256, "rsa2048_private.pem", "rsa2048_public.pem"),
        (PS384, "rsa2048_private.pem", "rsa2048_public.pem"),
        (PS512, "rsa2048_private.pem", "rsa2048_public.pem"),
        (RS256, "rsa2048_private.pem", "rsa2048_public_pkcs1.pem"),
        (PS512, "rsa2048_private.pem", "rsa2048_public_pkcs1.pem"),
        (RS384, "rsa2048_private.pem", "rsa2048_cert.pem"),
        (PS256, "rsa2048_private.pem", "rsa2048_cert.pem"),
        (RS256, "rsa2048_private_pkcs1.pem", "rsa2048_public.pem"),
        (ES256, "p256_private.pem", "p256_public.pem"),
        (ES256, "p256_private.pem", "p256_cert.pem"),
        (ES384, "p384_private.pem", "p384_public.pem"),
        (EdDSA, "ed25519_private.pem", "ed25519_public.pem"),
        (Ed25519, "ed25519_private.pem", "ed25519_public.pem"),
    ];
    for (alg, private, public) in cases {
        let name = format!("{alg} signed with {private}, checked with {public}");
        let v = verifier(&pem_config(&[alg.as_str()], public));
        accepts_and_not_tampered(&name, &v, &sign_pem(private, alg));
        // A token of another key of the same kind does not verify.
        if matches!(alg, ES256 | ES384 | EdDSA | Ed25519) {
            continue;
        }
        let name = format!("{name}: another RSA key's token");
        let err = rejects(
            &name,
            &v,
            &sign_pem("rsa2048b_private.pem", alg),
            InvalidSignature,
        );
        assert!(
            err.to_string().contains(alg.as_str()),
            "{name}: names {alg}: {err}"
        );
    }
}

#[test]
fn a_key_serves_every_algorithm_allowed_for_it() {
    let v = verifier(&pem_config(
        &["RS256", "PS384", "RS512"],
        "rsa2048_public_pkcs1.pem",
    ));
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("RS256 allowed", "rsa2048_private.pem", RS256, None, OK),
        ("PS384 allowed", "rsa2048_private.pem", PS384, None, OK),
        ("RS512 allowed", "rsa2048_private.pem", RS512, None, OK),
        // The key could verify PS256, but it is not allowed.
        ("PS256 not allowed", "rsa2048_private.pem", PS256, None, Err(AlgorithmNotAllowed)),
    ];
    check_rows(&v, rows);
}

#[test]
fn pem_text_may_have_crlf_whitespace_a_preamble_or_a_chain() {
    let pem = key("p256_public.pem");
    // As exported from a PKCS#12 file, or printed by `openssl x509 -text`.
    let cert = key("rsa2048_cert.pem");
    let preamble = format!(
        "Bag Attributes\n    localKeyID: 01 00 00 00\nsubject=CN = jwt-sso test RSA\nissuer=CN = jwt-sso test RSA\n{cert}"
    );
    // A chain: the first certificate is the signer's.
    let chain = format!("{cert}{}", key("p256_cert.pem"));
    #[rustfmt::skip]
    let rows = [
        ("CRLF line ends", pem.replace('\n', "\r\n"), ES256, "p256_private.pem"),
        ("surrounding whitespace", format!("\n\n  {pem}  \n"), ES256, "p256_private.pem"),
        ("no final newline", pem.trim_end().to_owned(), ES256, "p256_private.pem"),
        ("PKCS#12 bag attributes before the certificate", preamble, RS256, "rsa2048_private.pem"),
        ("a chain, the signer's certificate first", chain, RS256, "rsa2048_private.pem"),
    ];
    for (name, text, alg, private) in rows {
        let v = verifier(&config(
            &[alg.as_str()],
            json!({"type": "static", "public_key_pem": text}),
        ));
        accepts(name, &v, &sign_pem(private, alg));
    }
}

#[test]
fn a_token_for_another_key_type_never_verifies() {
    // An RSA key configured for RS256: an ES256 or HS256 token is not allowed at all.
    let v = verifier(&pem_config(&["RS256"], "rsa2048_public.pem"));
    #[rustfmt::skip]
    let rows = [
        ("ES256 token", sign_pem("p256_private.pem", ES256), AlgorithmNotAllowed),
        ("HS256 over the public key's text", sign_secret(key("rsa2048_public.pem").as_bytes(), HS256), AlgorithmNotAllowed),
        // A token whose header lies about its algorithm fails its signature.
        ("PS256 signature under an RS256 header", SigningKey::from_pem(&key("rsa2048_private.pem"))
            .sign_with_header(PS256, &json!({"alg": "RS256"}), &claims()).unwrap(), InvalidSignature),
    ];
    for (name, token, kind) in rows {
        rejects(name, &v, &token, kind);
    }
}

// ---------------------------------------------------------------- static secrets

/// A secret with bytes that differ between the two base64 alphabets (`+/` vs `-_`)
/// and a length that needs padding.
fn binary_secret() -> Vec<u8> {
    let mut bytes: Vec<u8> = (0u8..=255).rev().step_by(7).collect();
    bytes.extend_from_slice(&[0xfb, 0xff, 0xbf, 0xfe]);
    bytes.truncate(34);
    bytes
}

#[test]
fn base64_secrets_in_every_alphabet_and_padding_are_equivalent() {
    let secret = binary_secret();
    let forms = [
        ("standard, padded", STANDARD.encode(&secret)),
        ("standard, unpadded", STANDARD_NO_PAD.encode(&secret)),
        ("url-safe, padded", URL_SAFE.encode(&secret)),
        ("url-safe, unpadded", URL_SAFE_NO_PAD.encode(&secret)),
    ];
    // The forms really differ: padding and alphabet.
    assert!(
        forms[0].1.ends_with('=') && !forms[1].1.ends_with('='),
        "only the padded form ends with `=`: {forms:?}"
    );
    assert!(
        forms[0].1.contains(['+', '/']) && forms[2].1.contains(['-', '_']),
        "the alphabets differ: {forms:?}"
    );
    let token = sign_secret(&secret, HS256);
    let mut other = secret.clone();
    other[0] ^= 1;
    let wrong = sign_secret(&other, HS256);
    for (name, form) in forms {
        let v = verifier(&secret_config(&["HS256"], json!({"base64": form})));
        accepts_and_not_tampered(name, &v, &token);
        rejects(
            &format!("{name}: another secret's token"),
            &v,
            &wrong,
            InvalidSignature,
        );
    }
}

#[test]
fn a_text_secret_is_its_utf8_bytes() {
    // 30 characters, 34 bytes: long enough for HS256.
    let text = "SUPERSECRET-ünïcödé-0123456789";
    assert_eq!(
        (text.chars().count(), text.len()),
        (30, 34),
        "characters and bytes of the text secret"
    );
    // A base64-looking text is used as it is, not decoded.
    let looks_b64 = URL_SAFE_NO_PAD.encode(binary_secret());
    #[rustfmt::skip]
    let rows: Vec<(&str, Value, Vec<u8>, Want)> = vec![
        ("text, signed with its UTF-8 bytes", json!(text), text.as_bytes().to_vec(), OK),
        // The same bytes as base64 are the same secret.
        ("base64 of the text, signed with the text's bytes", json!({"base64": STANDARD.encode(text)}), text.as_bytes().to_vec(), OK),
        ("base64-looking text, signed with the text", json!(looks_b64), looks_b64.as_bytes().to_vec(), OK),
        ("base64-looking text, signed with what it decodes to", json!(looks_b64), binary_secret(), Err(InvalidSignature)),
    ];
    for (name, secret, signing, want) in rows {
        let v = verifier(&secret_config(&["HS256"], secret));
        check(name, &v, &sign_secret(&signing, HS256), want);
    }
}

#[test]
fn hmac_algorithms_with_long_enough_secrets() {
    let secret = "SUPERSECRET-".repeat(6); // 72 bytes
    let v = verifier(&secret_config(&["HS256", "HS384", "HS512"], json!(secret)));
    for alg in [HS256, HS384, HS512] {
        accepts_and_not_tampered(alg.as_str(), &v, &sign_secret(secret.as_bytes(), alg));
    }
}

#[test]
fn env_secrets_are_read_once_at_load_time() {
    let var = "JWT_SSO_TEST_KEYS_ENV_SECRET_7C1E";
    let value = "SUPERSECRET-keys-from-env-0123456789abcdef";
    let env_config = || secret_config(&["HS256"], json!({"env": var}));
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var(var, value) };
    let v = verifier(&env_config());
    let token = sign_secret(value.as_bytes(), HS256);
    accepts("the variable's value", &v, &token);
    assert!(
        !format!("{v:?}").contains(value),
        "the verifier's Debug shows the secret"
    );
    assert!(
        !format!("{:?}", v.config()).contains(value),
        "the configuration's Debug shows the secret"
    );

    // Changing the variable later does not change a loaded verifier.
    // SAFETY: as above.
    unsafe { std::env::set_var(var, "SUPERSECRET-another-value-0123456789abcdef") };
    accepts("the variable changed after loading", &v, &token);
    // A configuration loaded now reads the new value.
    rejects(
        "loaded after the change",
        &verifier(&env_config()),
        &token,
        InvalidSignature,
    );

    // Unset: a config error that names the variable, and never shows a value.
    // SAFETY: as above.
    unsafe { std::env::remove_var(var) };
    let err = config_error("the variable unset", &env_config(), &[var, "env"]);
    assert!(
        !format!("{err:?}").contains(value),
        "the error's Debug shows the old value: {err:?}"
    );
}

// ---------------------------------------------------------------- inline JWK Sets

#[test]
fn jwks_selects_the_key_by_kid() {
    let set = json!([["rsa2048", {"kid": "a"}], ["rsa2048b", {"kid": "b"}]]);
    let v = jwks_verifier(&["RS256"], set);
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("kid a", "rsa2048_private.pem", RS256, Some(json!("a")), OK),
        ("kid b", "rsa2048b_private.pem", RS256, Some(json!("b")), OK),
        // The kid picks the key; the wrong key's signature does not verify.
        ("kid a, signed by b", "rsa2048b_private.pem", RS256, Some(json!("a")), Err(InvalidSignature)),
        ("unknown kid", "rsa2048_private.pem", RS256, Some(json!("c")), Err(KeyNotFound)),
        ("kid not a string", "rsa2048_private.pem", RS256, Some(json!(1)), Err(KeyNotFound)),
        // kid comparison is exact.
        ("kid in another case", "rsa2048_private.pem", RS256, Some(json!("A")), Err(KeyNotFound)),
    ];
    let errors = check_rows(&v, rows);
    let message = errors["unknown kid"].to_string();
    assert!(
        message.contains("`c`") && message.contains("`a`") && message.contains("`b`"),
        "unknown kid: names the kid and the known ones: {message}"
    );
}

/// Two keys under one `kid` (a rotation that reused it): both are tried, in
/// order, and a token that neither verifies names the count.
#[test]
fn a_kid_shared_by_two_keys_tries_both() {
    let set = json!([["rsa2048", {"kid": "same"}], ["rsa2048b", {"kid": "same"}],
        ["p256", {"kid": "same"}]]);
    let v = jwks_verifier(&["RS256"], set);
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("the first key", "rsa2048_private.pem", RS256, Some(json!("same")), OK),
        ("the second key", "rsa2048b_private.pem", RS256, Some(json!("same")), OK),
    ];
    check_rows(&v, rows);
    let name = "tampered: neither key";
    let err = rejects(
        name,
        &v,
        &tamper(&sign_kid("rsa2048_private.pem", RS256, Some(json!("same")))),
        InvalidSignature,
    );
    assert!(
        err.to_string().contains("any of the 2 candidate keys"),
        "{name}: names the count: {err}"
    );
}

#[test]
fn jwks_without_kid_needs_exactly_one_fitting_key() {
    // Two RS256 keys: a token without kid has no single candidate.
    let two = jwks_verifier(
        &["RS256"],
        json!([["rsa2048", {"kid": "a"}], ["rsa2048b", {"kid": "b"}]]),
    );
    let name = "two RS256 keys, no kid";
    let err = rejects(
        name,
        &two,
        &sign_kid("rsa2048_private.pem", RS256, None),
        KeyNotFound,
    );
    assert!(
        err.to_string().contains('2'),
        "{name}: names the count: {err}"
    );
    // One RSA key, one P-256 key, one Ed25519 key: each algorithm has exactly one candidate.
    let set = json!([["rsa2048", {}], ["p256", {"kid": "ec"}], ["ed25519", {}]]);
    let mixed = jwks_verifier(&["RS256", "PS256", "ES256", "EdDSA"], set);
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("RS256, the one RSA key", "rsa2048_private.pem", RS256, None, OK),
        ("PS256, the one RSA key", "rsa2048_private.pem", PS256, None, OK),
        ("ES256, the one P-256 key", "p256_private.pem", ES256, None, OK),
        ("EdDSA, the one Ed25519 key", "ed25519_private.pem", EdDSA, None, OK),
        ("RS256 by another RSA key", "rsa2048b_private.pem", RS256, None, Err(InvalidSignature)),
        // A key without kid never matches a token that names one.
        ("a kid no key has", "rsa2048_private.pem", RS256, Some(json!("rsa")), Err(KeyNotFound)),
    ];
    check_rows(&mixed, rows);
}

#[test]
fn jwks_every_key_type_verifies() {
    let set = json!([["rsa2048", {"kid": "r"}], ["p256", {"kid": "p256"}], ["p384", {"kid": "p384"}],
        ["ed25519", {"kid": "ed"}]]);
    let v = jwks_verifier(&["RS384", "PS512", "ES256", "ES384", "EdDSA"], set);
    for (private, alg, kid) in [
        ("rsa2048_private.pem", RS384, "r"),
        ("rsa2048_private.pem", PS512, "r"),
        ("p256_private.pem", ES256, "p256"),
        ("p384_private.pem", ES384, "p384"),
        ("ed25519_private.pem", EdDSA, "ed"),
    ] {
        let name = format!("{alg} with kid {kid}");
        accepts_and_not_tampered(&name, &v, &sign_kid(private, alg, Some(json!(kid))));
    }
    // The kid names a key that does not fit the algorithm: no candidate.
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("ES384 naming the P-256 key", "p384_private.pem", ES384, Some(json!("p256")), Err(KeyNotFound)),
        ("RS384 naming the Ed25519 key", "rsa2048_private.pem", RS384, Some(json!("ed")), Err(KeyNotFound)),
    ];
    check_rows(&v, rows);
}

#[test]
fn jwks_skips_keys_that_can_never_be_used() {
    let good = jwk("rsa2048", json!({"kid": "good"}));
    // Each skipped key gets its name as its `kid` (where it is an object).
    #[rustfmt::skip]
    let skipped = [
        ("enc", jwk("rsa2048b", json!({"use": "enc"}))),
        ("use-not-string", jwk("rsa2048b", json!({"use": ["sig"]}))),
        ("ops", jwk("rsa2048b", json!({"key_ops": ["encrypt", "wrapKey"]}))),
        ("ops-sign", jwk("rsa2048b", json!({"key_ops": ["sign"]}))),
        ("ops-empty", jwk("rsa2048b", json!({"key_ops": []}))),
        ("small", jwk("rsa1024", json!({}))),
        ("kty", json!({"kty": "XYZ"})),
        ("no-kty", json!({"n": "AQAB", "e": "AQAB"})),
        ("p521", jwk("p521", json!({}))),
        ("k1", jwk("secp256k1", json!({}))),
        ("x25519", json!({"kty": "OKP", "crv": "X25519", "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"})),
        ("ed448", json!({"kty": "OKP", "crv": "Ed448", "x": "X9dEm1m0Yf0s54fsYWrUah2hNCSFpw4fig6nXYDpZ3jt8SR2m0bHBhvWeD3x5Q9s0foavq_oJWGA"})),
        ("bad-n", json!({"kty": "RSA", "n": "not base64url!", "e": "AQAB"})),
        ("alg-none", jwk("rsa2048b", json!({"alg": "none"}))),
        ("alg-misfit", jwk("rsa2048b", json!({"alg": "ES256"}))),
        ("short-oct", json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode([9u8; 31])})),
        ("not-object", json!("a string")),
    ];
    let skipped = skipped.map(|(kid, mut key)| {
        if let Some(members) = key.as_object_mut() {
            members.insert("kid".to_owned(), json!(kid));
        }
        (kid, key)
    });
    let mut keys = vec![good];
    keys.extend(skipped.iter().map(|(_, k)| k.clone()));
    let v = verifier(&jwks_config(&["RS256", "ES256", "EdDSA", "HS256"], keys));
    accepts(
        "the good key",
        &v,
        &sign_kid("rsa2048_private.pem", RS256, Some(json!("good"))),
    );
    for (kid, _) in &skipped {
        // Signed by the key the JWK was made from where there is one; a skipped
        // key is no candidate, so it is never tried.
        let token = sign_kid("rsa2048b_private.pem", RS256, Some(json!(kid)));
        rejects(&format!("skipped key `{kid}`"), &v, &token, KeyNotFound);
    }
    // Without kid, the one good RS256 key is the only candidate.
    accepts(
        "no kid: the good key",
        &v,
        &sign_kid("rsa2048_private.pem", RS256, None),
    );
}

#[test]
fn jwks_use_sig_and_verify_key_ops_are_usable() {
    let set = json!([["rsa2048", {"kid": "sig", "use": "sig"}], ["rsa2048", {"kid": "ops", "key_ops": ["verify"]}],
        ["rsa2048", {"kid": "both", "use": "sig", "key_ops": ["sign", "verify"]}]]);
    let v = jwks_verifier(&["RS256"], set);
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("use sig", "rsa2048_private.pem", RS256, Some(json!("sig")), OK),
        ("key_ops verify", "rsa2048_private.pem", RS256, Some(json!("ops")), OK),
        ("use sig, key_ops sign and verify", "rsa2048_private.pem", RS256, Some(json!("both")), OK),
    ];
    check_rows(&v, rows);
}

#[test]
fn jwk_alg_pins_the_key() {
    let set =
        json!([["rsa2048", {"kid": "pinned", "alg": "RS256"}], ["rsa2048b", {"kid": "free"}]]);
    let v = jwks_verifier(&["RS256", "PS256"], set);
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("pinned key, its algorithm", "rsa2048_private.pem", RS256, Some(json!("pinned")), OK),
        // Another allowed algorithm, the same kid: the pinned key is no candidate.
        ("pinned key, another algorithm", "rsa2048_private.pem", PS256, Some(json!("pinned")), Err(KeyNotFound)),
        ("free key, PS256", "rsa2048b_private.pem", PS256, Some(json!("free")), OK),
        ("free key, RS256", "rsa2048b_private.pem", RS256, Some(json!("free")), OK),
        // Without kid: RS256 has two candidates, PS256 only the unpinned key.
        ("no kid, RS256: two candidates", "rsa2048_private.pem", RS256, None, Err(KeyNotFound)),
        ("no kid, PS256: the free key", "rsa2048b_private.pem", PS256, None, OK),
        ("no kid, PS256 by the pinned key", "rsa2048_private.pem", PS256, None, Err(InvalidSignature)),
    ];
    check_rows(&v, rows);
}

/// Issue 27: `Ed25519` (RFC 9864) is an algorithm of its own name. An
/// Ed25519 key verifies both names; a token's `alg` must be allowed as
/// written; a JWK whose `alg` is one of them is pinned to that one.
#[test]
fn ed25519_is_its_own_algorithm_name_beside_eddsa() {
    const ED: &str = "ed25519_private.pem";
    let ed = |alg: Algorithm| sign_pem(ED, alg);
    let static_ed = |algorithms: &[&str]| verifier(&pem_config(algorithms, "ed25519_public.pem"));
    // Each name as written.
    let only_ed25519 = static_ed(&["Ed25519"]);
    let only_eddsa = static_ed(&["EdDSA"]);
    #[rustfmt::skip]
    let rows = [
        ("only Ed25519 allowed, an Ed25519 token", &only_ed25519, Ed25519, OK, None),
        ("only Ed25519 allowed, an EdDSA token", &only_ed25519, EdDSA, Err(AlgorithmNotAllowed), Some("add `EdDSA` to `algorithms`")),
        ("only EdDSA allowed, an EdDSA token", &only_eddsa, EdDSA, OK, None),
        ("only EdDSA allowed, an Ed25519 token", &only_eddsa, Ed25519, Err(AlgorithmNotAllowed), Some("add `Ed25519` to `algorithms`")),
    ];
    for (name, v, alg, want, hint) in rows {
        let err = check(name, v, &ed(alg), want);
        if let (Some(err), Some(hint)) = (err, hint) {
            assert!(
                err.to_string().contains(hint),
                "{name}: says `{hint}`: {err}"
            );
        }
    }
    // One key, both names.
    let both = static_ed(&["EdDSA", "Ed25519"]);
    for alg in [EdDSA, Ed25519] {
        accepts_and_not_tampered(&format!("both allowed, {alg}"), &both, &ed(alg));
    }
    // A token signed as EdDSA and relabelled Ed25519 verifies too: the name
    // changes nothing in the signature (RFC 9864 section 2.2).
    let relabelled = SigningKey::from_pem(&key(ED))
        .sign_with_header(EdDSA, &json!({"alg": "Ed25519"}), &claims())
        .unwrap();
    accepts("signed as EdDSA, labelled Ed25519", &both, &relabelled);

    // JWKs: unpinned fits both; `alg` pins to its own name.
    let set = json!([["ed25519", {"kid": "free"}], ["ed25519", {"kid": "new", "alg": "Ed25519"}],
        ["ed25519", {"kid": "old", "alg": "EdDSA"}]]);
    let v = jwks_verifier(&["EdDSA", "Ed25519"], set);
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("unpinned JWK, EdDSA", ED, EdDSA, Some(json!("free")), OK),
        ("unpinned JWK, Ed25519", ED, Ed25519, Some(json!("free")), OK),
        ("JWK pinned to Ed25519, Ed25519", ED, Ed25519, Some(json!("new")), OK),
        ("JWK pinned to EdDSA, EdDSA", ED, EdDSA, Some(json!("old")), OK),
        ("JWK pinned to Ed25519, EdDSA", ED, EdDSA, Some(json!("new")), Err(KeyNotFound)),
        ("JWK pinned to EdDSA, Ed25519", ED, Ed25519, Some(json!("old")), Err(KeyNotFound)),
    ];
    for (name, err) in check_rows(&v, rows) {
        let kid = if name.ends_with("EdDSA") {
            "new"
        } else {
            "old"
        };
        assert!(
            err.to_string().contains(&format!("`{kid}`")),
            "{name}: names the kid: {err}"
        );
    }
    // A JWK pinned to `Ed25519` is usable (it was skipped as unsupported before).
    let pinned = jwks_verifier(
        &["Ed25519"],
        json!([["ed25519", {"kid": "k", "alg": "Ed25519"}]]),
    );
    let row = (
        "the only JWK, pinned to Ed25519",
        ED,
        Ed25519,
        Some(json!("k")),
        OK,
    );
    check_rows(&pinned, vec![row]);
    // Only a key that fits: an RSA or EC key is no candidate for Ed25519.
    config_error(
        "Ed25519 with a P-256 JWK",
        &jwks_config(&["Ed25519"], vec![jwk("p256", json!({"kid": "ec"}))]),
        &["Ed25519"],
    );
    config_error(
        "Ed25519 with an RSA PEM",
        &pem_config(&["Ed25519"], "rsa2048_public.pem"),
        &["Ed25519", "public_key_pem"],
    );
}

/// Issue 27: a key set with no key for the token's algorithm names the
/// skipped keys and their reasons, and its hint points at the key set.
#[test]
fn no_key_for_the_tokens_algorithm_names_the_skipped_keys() {
    let set = json!([["p256", {"kid": "ec"}], ["rsa2048", {"kid": "signer", "key_ops": ["sign"]}],
        ["rsa2048b", {"kid": "enc", "use": "enc"}]]);
    let v = jwks_verifier(&["RS256", "ES256"], set);
    // When keys fit the algorithm but not the kid, only a skipped key with
    // that kid is named, and the hint is the usual one.
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("no RSA key", "rsa2048_private.pem", RS256, Some(json!("signer")), Err(KeyNotFound)),
        ("ES256, a skipped key's kid", "p256_private.pem", ES256, Some(json!("enc")), Err(KeyNotFound)),
        ("ES256, an unknown kid", "p256_private.pem", ES256, Some(json!("gone")), Err(KeyNotFound)),
    ];
    let errors = check_rows(&v, rows);
    let mention = |name: &str, needle: &str, wanted: bool| {
        let message = errors[name].to_string();
        assert_eq!(
            message.contains(needle),
            wanted,
            "{name}: the message should {}name {needle:?}: {message}",
            if wanted { "" } else { "not " }
        );
    };
    mention(
        "no RSA key",
        r#"`signer`: `key_ops` ["sign"] without "verify""#,
        true,
    );
    mention("no RSA key", r#"`enc`: `use` "enc" is not "sig""#, true);
    mention("ES256, a skipped key's kid", "`enc`: `use`", true);
    mention("ES256, a skipped key's kid", "signer", false);
    mention("ES256, an unknown kid", "skipped", false);
    let hint = errors["no RSA key"].hint();
    assert!(
        hint.contains("key set") && hint.contains(r#""verify""#),
        "no RSA key: the hint points at the key set and \"verify\": {hint}"
    );
    assert_eq!(
        errors["ES256, a skipped key's kid"].hint(),
        KeyNotFound.hint(),
        "ES256, a skipped key's kid: the usual hint"
    );
}

#[test]
fn jwks_oct_keys_serve_hmac() {
    let secret = binary_secret();
    let v = verifier(&jwks_config(
        &["HS256"],
        vec![json!({"kty": "oct", "kid": "h", "k": URL_SAFE_NO_PAD.encode(&secret)})],
    ));
    let with_kid = |kid: &str| {
        SigningKey::from_secret(&secret)
            .sign_with_header(HS256, &json!({"alg": "HS256", "kid": kid}), &claims())
            .unwrap()
    };
    accepts("HS256, kid h", &v, &with_kid("h"));
    rejects("HS256, another kid", &v, &with_kid("other"), KeyNotFound);
    let v = verifier(&jwks_config(
        &["HS512"],
        vec![json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode([5u8; 64])})],
    ));
    accepts(
        "HS512, the one oct key",
        &v,
        &sign_secret(&[5u8; 64], HS512),
    );
}

#[test]
fn jwks_with_no_usable_key_is_a_config_error() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<&str>, Vec<Value>)> = vec![
        ("empty set", vec!["RS256"], vec![]),
        ("RSA-1024", vec!["RS256"], vec![jwk("rsa1024", json!({"kid": "small"}))]),
        ("use enc", vec!["RS256"], vec![jwk("rsa2048", json!({"use": "enc"}))]),
        ("key_ops encrypt", vec!["RS256"], vec![jwk("rsa2048", json!({"key_ops": ["encrypt"]}))]),
        ("ES256, an RSA key", vec!["ES256"], vec![jwk("rsa2048", json!({}))]),
        ("ES384, a P-256 key", vec!["ES384"], vec![jwk("p256", json!({}))]),
        ("ES256, P-521 and secp256k1", vec!["ES256"], vec![jwk("p521", json!({})), jwk("secp256k1", json!({}))]),
        ("PS256, a key pinned to RS256", vec!["PS256"], vec![jwk("rsa2048", json!({"alg": "RS256"}))]),
        ("HS256, an RSA key", vec!["HS256"], vec![jwk("rsa2048", json!({}))]),
        ("HS512, a 32-byte oct key", vec!["HS512"], vec![json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode([1u8; 32])})]),
        ("EdDSA, an Ed448 key", vec!["EdDSA"], vec![json!({"kty": "OKP", "crv": "Ed448", "x": "AAAA"})]),
        ("Ed25519, a key pinned to EdDSA", vec!["Ed25519"], vec![jwk("ed25519", json!({"alg": "EdDSA"}))]),
        ("key_ops sign only", vec!["RS256"], vec![jwk("rsa2048", json!({"kid": "priv-ops", "key_ops": ["sign"]}))]),
    ];
    for (name, algs, keys) in cases {
        let mut needles = vec!["jwks"];
        needles.extend(&algs);
        config_error(name, &jwks_config(&algs, keys), &needles);
    }
    // A set that is usable for one allowed algorithm loads; the other finds no key.
    let v = jwks_verifier(&["ES256", "ES384"], json!([["p256", {}]]));
    #[rustfmt::skip]
    let rows: Vec<Row> = vec![
        ("ES256, the P-256 key", "p256_private.pem", ES256, None, OK),
        ("ES384, no key", "p384_private.pem", ES384, None, Err(KeyNotFound)),
    ];
    check_rows(&v, rows);
}

#[test]
fn jwks_that_is_not_a_key_set_is_a_config_error() {
    for (name, jwks) in [
        ("an empty object", json!({})),
        ("keys a string", json!({"keys": "x"})),
        ("keys an object", json!({"keys": {}})),
        ("a bare array of keys", json!([jwk("rsa2048", json!({}))])),
        ("null", json!(null)),
        ("a string", json!("keys")),
    ] {
        config_error(
            name,
            &config(&["RS256"], json!({"type": "jwks", "jwks": jwks})),
            &["jwks"],
        );
    }
    config_error(
        "no jwks member",
        &config(&["RS256"], json!({"type": "jwks"})),
        &["jwks"],
    );
}

#[test]
fn jwks_with_private_material_is_a_config_error() {
    let private = jwk("p256_private", json!({"kid": "leaked"}));
    let d = private["d"].as_str().unwrap().to_owned();
    let name = "a private P-256 JWK";
    let err = config_error(
        name,
        &jwks_config(
            &["ES256", "RS256"],
            vec![jwk("rsa2048", json!({"kid": "ok"})), private],
        ),
        &["jwks", "leaked", "`d`"],
    );
    for text in [err.to_string(), format!("{err:?}"), err.hint().to_owned()] {
        assert!(!text.contains(&d), "{name}: the private key shows: {text}");
    }
    // Even on a key that would be skipped anyway.
    config_error(
        "`d` on a key skipped for `use: enc`",
        &jwks_config(
            &["RS256"],
            vec![
                jwk("rsa2048", json!({})),
                jwk("p256", json!({"d": "AAAA", "use": "enc"})),
            ],
        ),
        &["`d`"],
    );
}

#[test]
fn token_headers_never_bring_their_own_key() {
    // The token carries the attacker's public key and URLs; only configured keys count.
    let attacker = jwk("rsa2048b", json!({"kid": "a"}));
    let static_v = verifier(&pem_config(&["RS256"], "rsa2048_public.pem"));
    let jwks_v = jwks_verifier(&["RS256"], json!([["rsa2048", {"kid": "a"}]]));
    for (member, value) in [
        ("jwk", attacker),
        ("jku", json!("https://attacker.example/jwks.json")),
        ("x5u", json!("https://attacker.example/cert.pem")),
        (
            "x5c",
            json!([key("rsa2048_cert.pem")
                .lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>()]),
        ),
    ] {
        let header = json!({"alg": "RS256", "kid": "a", member: value});
        let token = SigningKey::from_pem(&key("rsa2048b_private.pem"))
            .sign_with_header(RS256, &header, &claims())
            .unwrap();
        for (key_source, v) in [("static key", &static_v), ("inline JWKS", &jwks_v)] {
            let name = format!("`{member}` in the header, {key_source}");
            rejects(&name, v, &token, InvalidSignature);
        }
    }
}

/// Issue 9: an `env` secret is read once, when the configuration is
/// validated: a verifier built from the `ValidConfig` (or a clone of it)
/// uses what validation read, even after the variable vanished; a registry
/// edit that leaves the key source alone keeps the parsed keys, and an
/// edited key source or allowlist is read anew.
#[cfg(feature = "admin")]
#[tokio::test]
async fn an_env_secret_is_read_once_per_load_not_again_by_the_verifier() {
    let var = "JWT_SSO_TEST_KEYS_ENV_ONCE_91B2";
    let first = "SUPERSECRET-first-value-0123456789abcdef";
    let second = "SUPERSECRET-second-value-0123456789abcdef";
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var(var, first) };
    let source = json!({"type": "static", "secret": {"env": var}});
    let parsed =
        jwt_sso::JwtConfig::from_json_str(&config(&["HS256"], source).to_string()).unwrap();
    let loaded = parsed.clone().validate().unwrap();
    let owned = owner::owned(
        [parsed.clone()],
        jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(NOW)),
    )
    .await;
    let registry = owned.registry();
    // SAFETY: as above.
    unsafe { std::env::remove_var(var) };
    // The verifier is built without reading the variable.
    let v = TestVerifier::new(loaded.clone());
    let token = |secret: &str| sign_secret(secret.as_bytes(), HS256);
    accepts("the validated configuration", &v, &token(first));
    // A clone (e.g. a registry rebuilding its verifier) reuses the keys too.
    accepts(
        "a clone of the validated configuration",
        &TestVerifier::new(loaded.clone()),
        &token(first),
    );
    // Validating the data again reads the variable again: it is gone.
    let err = Error::from(parsed.clone().validate().unwrap_err());
    assert_eq!(err.kind(), ErrorKind::Config, "validated again: {err}");
    assert!(
        err.to_string().contains(var),
        "validated again: names the variable: {err}"
    );

    let verify = |registry: &jwt_sso::Registry, secret: &str| {
        registry
            .verify_cached(&token(secret), jwt_sso::Verification::default())
            .map(|id| id.user_id.clone())
            .map_err(|e| e.kind())
    };
    // An edit elsewhere keeps the parsed keys (the variable is still unset).
    let mut edited = parsed.clone();
    edited.expiration_time = 7200;
    owned.update("keys", edited.clone()).await;
    assert_eq!(
        registry.get("keys").map(|c| c.expiration_time),
        Some(7200),
        "an edit elsewhere: the new expiration_time"
    );
    assert_eq!(
        verify(registry, first),
        Ok("jdoe".to_owned()),
        "an edit elsewhere: the first secret still verifies"
    );
    // An edited key source is parsed, and its variable read, again.
    let other = "JWT_SSO_TEST_KEYS_ENV_ONCE_91B3";
    // SAFETY: as above (a name unique to this test).
    unsafe { std::env::set_var(other, second) };
    let mut rekeyed = edited.clone();
    rekeyed.key_source =
        serde_json::from_value(json!({"type": "static", "secret": {"env": other}})).unwrap();
    owned.update("keys", rekeyed).await;
    assert_eq!(
        verify(registry, second),
        Ok("jdoe".to_owned()),
        "an edited key source: the new secret verifies"
    );
    assert_eq!(
        verify(registry, first),
        Err(InvalidSignature),
        "an edited key source: the old secret no longer verifies"
    );
    // So is an edited allowlist: the first variable is gone now.
    let mut realg = edited;
    realg.algorithms = vec![HS256, HS384];
    let change = jwt_sso::ConfigChange::Update {
        name: "keys".into(),
        version: owned.configs.get("keys").unwrap().version,
        config: realg,
    };
    let err = owned.configs.apply(change).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "an edited allowlist: {err}");
    assert!(
        err.to_string().contains(var),
        "an edited allowlist: names the variable: {err}"
    );
    // SAFETY: as above.
    unsafe { std::env::remove_var(other) };
}
