//! CONTRACT section 1, key sources: static secrets (text, base64, env), static
//! public keys (SPKI, PKCS#1, certificates) and inline JWK Sets, each proven by
//! verifying tokens signed with the matching private key (and refusing others).
#![cfg(feature = "mint")]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, Error, ErrorKind};
use serde_json::{Value, json};

use crate::support::clocked;
use crate::support::clocked::{load, verifier};
#[cfg(feature = "admin")]
use crate::support::owner;
use clocked::TestVerifier;

/// The time every token here is verified at (2026-01-01T00:00:00Z).
const NOW: i64 = 1_767_225_600;

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

#[track_caller]
fn config_error(v: &Value, names: &[&str]) -> Error {
    let err = load(v)
        .err()
        .unwrap_or_else(|| panic!("expected a config error for {v}"));
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let message = err.to_string();
    for name in names {
        assert!(
            message.contains(name),
            "message {message:?} does not name {name:?}"
        );
    }
    assert!(!err.hint().is_empty());
    for text in [message, format!("{err:?}"), err.hint().to_owned()] {
        assert!(
            !text.contains("SUPERSECRET"),
            "a config error shows a secret: {text}"
        );
    }
    err
}

fn jwks_config(algorithms: &[&str], keys: Vec<Value>) -> Value {
    config(algorithms, json!({"type": "jwks", "jwks": {"keys": keys}}))
}

fn claims() -> Value {
    json!({"sub": "jdoe", "iat": NOW, "exp": NOW + 600})
}

fn sign_pem(private: &str, alg: Algorithm) -> String {
    SigningKey::from_pem(&key(private))
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

#[track_caller]
fn accepts(v: &TestVerifier, token: &str) {
    match v.verify_at(token, NOW) {
        Ok(id) => assert_eq!(id.user_id, "jdoe"),
        Err(e) => panic!("rejected with {} ({e})", e.kind()),
    }
}

#[track_caller]
fn rejects(v: &TestVerifier, token: &str, kind: ErrorKind) -> Error {
    match v.verify_at(token, NOW) {
        Ok(id) => panic!("accepted {id:?}, expected {kind}"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{e}");
            e
        }
    }
}

/// The token with the first character of its signature changed.
fn tamper(token: &str) -> String {
    let at = token.rfind('.').unwrap() + 1;
    let mut out = token.to_owned();
    let first = &token[at..=at];
    out.replace_range(at..=at, if first == "A" { "B" } else { "A" });
    out
}

// ---------------------------------------------------------------- static PEM keys

#[test]
fn every_pem_form_verifies_its_private_keys_tokens() {
    use Algorithm::*;
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
        let v = verifier(&config(
            &[alg.as_str()],
            json!({"type": "static", "public_key_pem": key(public)}),
        ));
        let token = sign_pem(private, alg);
        accepts(&v, &token);
        rejects(&v, &tamper(&token), ErrorKind::InvalidSignature);
        // A token of another key of the same kind does not verify.
        let other = match alg {
            ES256 | ES384 | EdDSA | Ed25519 => continue,
            _ => sign_pem("rsa2048b_private.pem", alg),
        };
        let err = rejects(&v, &other, ErrorKind::InvalidSignature);
        assert!(err.to_string().contains(alg.as_str()), "{err}");
    }
}

#[test]
fn a_key_serves_every_algorithm_allowed_for_it() {
    let v = verifier(&config(
        &["RS256", "PS384", "RS512"],
        json!({"type": "static", "public_key_pem": key("rsa2048_public_pkcs1.pem")}),
    ));
    for alg in [Algorithm::RS256, Algorithm::PS384, Algorithm::RS512] {
        accepts(&v, &sign_pem("rsa2048_private.pem", alg));
    }
    // PS256 is not allowed, though the key could verify it.
    rejects(
        &v,
        &sign_pem("rsa2048_private.pem", Algorithm::PS256),
        ErrorKind::AlgorithmNotAllowed,
    );
}

#[test]
fn pem_text_may_have_crlf_and_surrounding_whitespace() {
    let pem = key("p256_public.pem");
    for text in [
        pem.replace('\n', "\r\n"),
        format!("\n\n  {pem}  \n"),
        pem.trim_end().to_owned(),
    ] {
        let v = verifier(&config(
            &["ES256"],
            json!({"type": "static", "public_key_pem": text}),
        ));
        accepts(&v, &sign_pem("p256_private.pem", Algorithm::ES256));
    }
}

#[test]
fn pem_text_may_carry_a_preamble_or_a_chain() {
    // As exported from a PKCS#12 file, or printed by `openssl x509 -text`.
    let cert = key("rsa2048_cert.pem");
    let preamble = format!(
        "Bag Attributes\n    localKeyID: 01 00 00 00\nsubject=CN = jwt-sso test RSA\nissuer=CN = jwt-sso test RSA\n{cert}"
    );
    // A chain: the first certificate is the signer's.
    let chain = format!("{cert}{}", key("p256_cert.pem"));
    for text in [preamble, chain] {
        let v = verifier(&config(
            &["RS256"],
            json!({"type": "static", "public_key_pem": text}),
        ));
        accepts(&v, &sign_pem("rsa2048_private.pem", Algorithm::RS256));
    }
}

#[test]
fn a_token_for_another_key_type_never_verifies() {
    // An RSA key configured for RS256 and PS256: an ES256 or HS256 token is not allowed at all.
    let v = verifier(&config(
        &["RS256"],
        json!({"type": "static", "public_key_pem": key("rsa2048_public.pem")}),
    ));
    rejects(
        &v,
        &sign_pem("p256_private.pem", Algorithm::ES256),
        ErrorKind::AlgorithmNotAllowed,
    );
    let hs = (SigningKey::from_secret(key("rsa2048_public.pem").as_bytes()))
        .sign(Algorithm::HS256, &claims())
        .unwrap();
    rejects(&v, &hs, ErrorKind::AlgorithmNotAllowed);
    // A token whose header lies about its algorithm fails its signature.
    let lie = SigningKey::from_pem(&key("rsa2048_private.pem"))
        .sign_with_header(Algorithm::PS256, &json!({"alg": "RS256"}), &claims())
        .unwrap();
    rejects(&v, &lie, ErrorKind::InvalidSignature);
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
        STANDARD.encode(&secret),
        STANDARD_NO_PAD.encode(&secret),
        URL_SAFE.encode(&secret),
        URL_SAFE_NO_PAD.encode(&secret),
    ];
    // The forms really differ: padding and alphabet.
    assert!(forms[0].ends_with('=') && !forms[1].ends_with('='));
    assert!(forms[0].contains(['+', '/']) && forms[2].contains(['-', '_']));
    let token = SigningKey::from_secret(&secret)
        .sign(Algorithm::HS256, &claims())
        .unwrap();
    let mut other = secret.clone();
    other[0] ^= 1;
    let wrong = SigningKey::from_secret(&other)
        .sign(Algorithm::HS256, &claims())
        .unwrap();
    for form in forms {
        let v = verifier(&config(
            &["HS256"],
            json!({"type": "static", "secret": {"base64": form}}),
        ));
        accepts(&v, &token);
        rejects(&v, &wrong, ErrorKind::InvalidSignature);
        rejects(&v, &tamper(&token), ErrorKind::InvalidSignature);
    }
}

#[test]
fn a_text_secret_is_its_utf8_bytes() {
    // 30 characters, 34 bytes: long enough for HS256.
    let text = "SUPERSECRET-ünïcödé-0123456789";
    assert_eq!((text.chars().count(), text.len()), (30, 34));
    let v = verifier(&config(
        &["HS256"],
        json!({"type": "static", "secret": text}),
    ));
    accepts(
        &v,
        &SigningKey::from_secret(text.as_bytes())
            .sign(Algorithm::HS256, &claims())
            .unwrap(),
    );
    // The same bytes as base64 are the same secret.
    let b64 = verifier(&config(
        &["HS256"],
        json!({"type": "static", "secret": {"base64": STANDARD.encode(text)}}),
    ));
    accepts(
        &b64,
        &SigningKey::from_secret(text.as_bytes())
            .sign(Algorithm::HS256, &claims())
            .unwrap(),
    );
    // The text is not decoded: a base64-looking text secret is used as it is.
    let looks_b64 = URL_SAFE_NO_PAD.encode(binary_secret());
    let v = verifier(&config(
        &["HS256"],
        json!({"type": "static", "secret": looks_b64}),
    ));
    accepts(
        &v,
        &SigningKey::from_secret(looks_b64.as_bytes())
            .sign(Algorithm::HS256, &claims())
            .unwrap(),
    );
    rejects(
        &v,
        &SigningKey::from_secret(&binary_secret())
            .sign(Algorithm::HS256, &claims())
            .unwrap(),
        ErrorKind::InvalidSignature,
    );
}

#[test]
fn hmac_algorithms_with_long_enough_secrets() {
    let secret = "SUPERSECRET-".repeat(6); // 72 bytes
    let v = verifier(&config(
        &["HS256", "HS384", "HS512"],
        json!({"type": "static", "secret": secret}),
    ));
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let token = SigningKey::from_secret(secret.as_bytes())
            .sign(alg, &claims())
            .unwrap();
        accepts(&v, &token);
        rejects(&v, &tamper(&token), ErrorKind::InvalidSignature);
    }
}

#[test]
fn env_secrets_are_read_once_at_load_time() {
    let var = "JWT_SSO_TEST_KEYS_ENV_SECRET_7C1E";
    let value = "SUPERSECRET-keys-from-env-0123456789abcdef";
    // SAFETY: the variable name is unique to this test; nothing else reads or writes it.
    unsafe { std::env::set_var(var, value) };
    let v = verifier(&config(
        &["HS256"],
        json!({"type": "static", "secret": {"env": var}}),
    ));
    let token = SigningKey::from_secret(value.as_bytes())
        .sign(Algorithm::HS256, &claims())
        .unwrap();
    accepts(&v, &token);
    assert!(!format!("{v:?}").contains(value));
    assert!(!format!("{:?}", v.config()).contains(value));

    // Changing the variable later does not change a loaded verifier.
    // SAFETY: as above.
    unsafe { std::env::set_var(var, "SUPERSECRET-another-value-0123456789abcdef") };
    accepts(&v, &token);
    // A configuration loaded now reads the new value.
    let later = verifier(&config(
        &["HS256"],
        json!({"type": "static", "secret": {"env": var}}),
    ));
    rejects(&later, &token, ErrorKind::InvalidSignature);

    // Unset: a config error that names the variable, and never shows a value.
    // SAFETY: as above.
    unsafe { std::env::remove_var(var) };
    let err = config_error(
        &config(
            &["HS256"],
            json!({"type": "static", "secret": {"env": var}}),
        ),
        &[var, "env"],
    );
    assert!(!format!("{err:?}").contains(value));
}

// ---------------------------------------------------------------- inline JWK Sets

#[test]
fn jwks_selects_the_key_by_kid() {
    let v = verifier(&jwks_config(
        &["RS256"],
        vec![
            jwk("rsa2048", json!({"kid": "a"})),
            jwk("rsa2048b", json!({"kid": "b"})),
        ],
    ));
    accepts(
        &v,
        &sign_kid("rsa2048_private.pem", Algorithm::RS256, Some(json!("a"))),
    );
    accepts(
        &v,
        &sign_kid("rsa2048b_private.pem", Algorithm::RS256, Some(json!("b"))),
    );
    // The kid picks the key; the wrong key's signature does not verify.
    rejects(
        &v,
        &sign_kid("rsa2048b_private.pem", Algorithm::RS256, Some(json!("a"))),
        ErrorKind::InvalidSignature,
    );
    // An unknown kid.
    let err = rejects(
        &v,
        &sign_kid("rsa2048_private.pem", Algorithm::RS256, Some(json!("c"))),
        ErrorKind::KeyNotFound,
    );
    let message = err.to_string();
    assert!(
        message.contains("`c`") && message.contains("`a`") && message.contains("`b`"),
        "{message}"
    );
    // A kid that is not a string matches no key.
    rejects(
        &v,
        &sign_kid("rsa2048_private.pem", Algorithm::RS256, Some(json!(1))),
        ErrorKind::KeyNotFound,
    );
    // kid comparison is exact.
    rejects(
        &v,
        &sign_kid("rsa2048_private.pem", Algorithm::RS256, Some(json!("A"))),
        ErrorKind::KeyNotFound,
    );
}

/// Two keys under one `kid` (a rotation that reused it): both are tried, in
/// order, and a token that neither verifies names the count.
#[test]
fn a_kid_shared_by_two_keys_tries_both() {
    let v = verifier(&jwks_config(
        &["RS256"],
        vec![
            jwk("rsa2048", json!({"kid": "same"})),
            jwk("rsa2048b", json!({"kid": "same"})),
            jwk("p256", json!({"kid": "same"})),
        ],
    ));
    for private in ["rsa2048_private.pem", "rsa2048b_private.pem"] {
        accepts(
            &v,
            &sign_kid(private, Algorithm::RS256, Some(json!("same"))),
        );
    }
    let err = rejects(
        &v,
        &tamper(&sign_kid(
            "rsa2048_private.pem",
            Algorithm::RS256,
            Some(json!("same")),
        )),
        ErrorKind::InvalidSignature,
    );
    assert!(
        err.to_string().contains("any of the 2 candidate keys"),
        "{err}"
    );
}

#[test]
fn jwks_without_kid_needs_exactly_one_fitting_key() {
    // Two RS256 keys: a token without kid has no single candidate.
    let two = verifier(&jwks_config(
        &["RS256"],
        vec![
            jwk("rsa2048", json!({"kid": "a"})),
            jwk("rsa2048b", json!({"kid": "b"})),
        ],
    ));
    let err = rejects(
        &two,
        &sign_kid("rsa2048_private.pem", Algorithm::RS256, None),
        ErrorKind::KeyNotFound,
    );
    assert!(err.to_string().contains('2'), "{err}");
    // One RSA key, one P-256 key, one Ed25519 key: each algorithm has exactly one candidate.
    let mixed = verifier(&jwks_config(
        &["RS256", "PS256", "ES256", "EdDSA"],
        vec![
            jwk("rsa2048", json!({})),
            jwk("p256", json!({"kid": "ec"})),
            jwk("ed25519", json!({})),
        ],
    ));
    for (private, alg) in [
        ("rsa2048_private.pem", Algorithm::RS256),
        ("rsa2048_private.pem", Algorithm::PS256),
        ("p256_private.pem", Algorithm::ES256),
        ("ed25519_private.pem", Algorithm::EdDSA),
    ] {
        accepts(&mixed, &sign_kid(private, alg, None));
    }
    rejects(
        &mixed,
        &sign_kid("rsa2048b_private.pem", Algorithm::RS256, None),
        ErrorKind::InvalidSignature,
    );
    // A key without kid never matches a token that names one.
    rejects(
        &mixed,
        &sign_kid("rsa2048_private.pem", Algorithm::RS256, Some(json!("rsa"))),
        ErrorKind::KeyNotFound,
    );
}

#[test]
fn jwks_every_key_type_verifies() {
    let v = verifier(&jwks_config(
        &["RS384", "PS512", "ES256", "ES384", "EdDSA"],
        vec![
            jwk("rsa2048", json!({"kid": "r"})),
            jwk("p256", json!({"kid": "p256"})),
            jwk("p384", json!({"kid": "p384"})),
            jwk("ed25519", json!({"kid": "ed"})),
        ],
    ));
    for (private, alg, kid) in [
        ("rsa2048_private.pem", Algorithm::RS384, "r"),
        ("rsa2048_private.pem", Algorithm::PS512, "r"),
        ("p256_private.pem", Algorithm::ES256, "p256"),
        ("p384_private.pem", Algorithm::ES384, "p384"),
        ("ed25519_private.pem", Algorithm::EdDSA, "ed"),
    ] {
        let token = sign_kid(private, alg, Some(json!(kid)));
        accepts(&v, &token);
        rejects(&v, &tamper(&token), ErrorKind::InvalidSignature);
    }
    // The kid names a key that does not fit the algorithm: no candidate.
    rejects(
        &v,
        &sign_kid("p384_private.pem", Algorithm::ES384, Some(json!("p256"))),
        ErrorKind::KeyNotFound,
    );
    rejects(
        &v,
        &sign_kid("rsa2048_private.pem", Algorithm::RS384, Some(json!("ed"))),
        ErrorKind::KeyNotFound,
    );
}

#[test]
fn jwks_skips_keys_that_can_never_be_used() {
    let good = jwk("rsa2048", json!({"kid": "good"}));
    let skipped = [
        ("enc", jwk("rsa2048b", json!({"kid": "enc", "use": "enc"}))),
        (
            "use-not-string",
            jwk("rsa2048b", json!({"kid": "use-not-string", "use": ["sig"]})),
        ),
        (
            "ops",
            jwk(
                "rsa2048b",
                json!({"kid": "ops", "key_ops": ["encrypt", "wrapKey"]}),
            ),
        ),
        (
            "ops-sign",
            jwk("rsa2048b", json!({"kid": "ops-sign", "key_ops": ["sign"]})),
        ),
        (
            "ops-empty",
            jwk("rsa2048b", json!({"kid": "ops-empty", "key_ops": []})),
        ),
        ("small", jwk("rsa1024", json!({"kid": "small"}))),
        ("kty", json!({"kty": "XYZ", "kid": "kty"})),
        ("no-kty", json!({"kid": "no-kty", "n": "AQAB", "e": "AQAB"})),
        ("p521", jwk("p521", json!({"kid": "p521"}))),
        ("k1", jwk("secp256k1", json!({"kid": "k1"}))),
        (
            "x25519",
            json!({"kty": "OKP", "crv": "X25519", "kid": "x25519", "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}),
        ),
        (
            "ed448",
            json!({"kty": "OKP", "crv": "Ed448", "kid": "ed448", "x": "X9dEm1m0Yf0s54fsYWrUah2hNCSFpw4fig6nXYDpZ3jt8SR2m0bHBhvWeD3x5Q9s0foavq_oJWGA"}),
        ),
        (
            "bad-n",
            json!({"kty": "RSA", "kid": "bad-n", "n": "not base64url!", "e": "AQAB"}),
        ),
        (
            "alg-none",
            jwk("rsa2048b", json!({"kid": "alg-none", "alg": "none"})),
        ),
        (
            "alg-misfit",
            jwk("rsa2048b", json!({"kid": "alg-misfit", "alg": "ES256"})),
        ),
        (
            "short-oct",
            json!({"kty": "oct", "kid": "short-oct", "k": URL_SAFE_NO_PAD.encode([9u8; 31])}),
        ),
        ("not-object", json!("a string")),
    ];
    let mut keys = vec![good];
    keys.extend(skipped.iter().map(|(_, k)| k.clone()));
    let v = verifier(&jwks_config(&["RS256", "ES256", "EdDSA", "HS256"], keys));
    accepts(
        &v,
        &sign_kid("rsa2048_private.pem", Algorithm::RS256, Some(json!("good"))),
    );
    for (kid, _) in &skipped {
        // Signed by the key the JWK was made from where there is one; a skipped
        // key is no candidate, so it is never tried.
        let token = sign_kid("rsa2048b_private.pem", Algorithm::RS256, Some(json!(kid)));
        rejects(&v, &token, ErrorKind::KeyNotFound);
    }
    // Without kid, the one good RS256 key is the only candidate.
    accepts(&v, &sign_kid("rsa2048_private.pem", Algorithm::RS256, None));
}

#[test]
fn jwks_use_sig_and_verify_key_ops_are_usable() {
    let v = verifier(&jwks_config(
        &["RS256"],
        vec![
            jwk("rsa2048", json!({"kid": "sig", "use": "sig"})),
            jwk("rsa2048", json!({"kid": "ops", "key_ops": ["verify"]})),
            jwk(
                "rsa2048",
                json!({"kid": "both", "use": "sig", "key_ops": ["sign", "verify"]}),
            ),
        ],
    ));
    for kid in ["sig", "ops", "both"] {
        accepts(
            &v,
            &sign_kid("rsa2048_private.pem", Algorithm::RS256, Some(json!(kid))),
        );
    }
}

#[test]
fn jwk_alg_pins_the_key() {
    let v = verifier(&jwks_config(
        &["RS256", "PS256"],
        vec![
            jwk("rsa2048", json!({"kid": "pinned", "alg": "RS256"})),
            jwk("rsa2048b", json!({"kid": "free"})),
        ],
    ));
    accepts(
        &v,
        &sign_kid(
            "rsa2048_private.pem",
            Algorithm::RS256,
            Some(json!("pinned")),
        ),
    );
    // Another allowed algorithm, the same kid: the pinned key is no candidate.
    rejects(
        &v,
        &sign_kid(
            "rsa2048_private.pem",
            Algorithm::PS256,
            Some(json!("pinned")),
        ),
        ErrorKind::KeyNotFound,
    );
    accepts(
        &v,
        &sign_kid(
            "rsa2048b_private.pem",
            Algorithm::PS256,
            Some(json!("free")),
        ),
    );
    accepts(
        &v,
        &sign_kid(
            "rsa2048b_private.pem",
            Algorithm::RS256,
            Some(json!("free")),
        ),
    );
    // Without kid: RS256 has two candidates, PS256 only the unpinned key.
    rejects(
        &v,
        &sign_kid("rsa2048_private.pem", Algorithm::RS256, None),
        ErrorKind::KeyNotFound,
    );
    accepts(
        &v,
        &sign_kid("rsa2048b_private.pem", Algorithm::PS256, None),
    );
    rejects(
        &v,
        &sign_kid("rsa2048_private.pem", Algorithm::PS256, None),
        ErrorKind::InvalidSignature,
    );
}

/// Issue 27: `Ed25519` (RFC 9864) is an algorithm of its own name. An
/// Ed25519 key verifies both names; a token's `alg` must be allowed as
/// written; a JWK whose `alg` is one of them is pinned to that one.
#[test]
fn ed25519_is_its_own_algorithm_name_beside_eddsa() {
    let ed = |alg: Algorithm, kid: Option<&str>| {
        sign_kid("ed25519_private.pem", alg, kid.map(|k| json!(k)))
    };
    let pem = json!({"type": "static", "public_key_pem": key("ed25519_public.pem")});
    // Each name as written.
    let only_ed25519 = verifier(&config(&["Ed25519"], pem.clone()));
    accepts(&only_ed25519, &ed(Algorithm::Ed25519, None));
    let err = rejects(
        &only_ed25519,
        &ed(Algorithm::EdDSA, None),
        ErrorKind::AlgorithmNotAllowed,
    );
    assert!(
        err.to_string().contains("add `EdDSA` to `algorithms`"),
        "{err}"
    );
    let only_eddsa = verifier(&config(&["EdDSA"], pem.clone()));
    accepts(&only_eddsa, &ed(Algorithm::EdDSA, None));
    let err = rejects(
        &only_eddsa,
        &ed(Algorithm::Ed25519, None),
        ErrorKind::AlgorithmNotAllowed,
    );
    assert!(
        err.to_string().contains("add `Ed25519` to `algorithms`"),
        "{err}"
    );
    // One key, both names.
    let both = verifier(&config(&["EdDSA", "Ed25519"], pem));
    for alg in [Algorithm::EdDSA, Algorithm::Ed25519] {
        accepts(&both, &ed(alg, None));
        rejects(&both, &tamper(&ed(alg, None)), ErrorKind::InvalidSignature);
    }
    // A token signed as EdDSA and relabelled Ed25519 verifies too: the name
    // changes nothing in the signature (RFC 9864 section 2.2).
    let relabelled = SigningKey::from_pem(&key("ed25519_private.pem"))
        .sign_with_header(Algorithm::EdDSA, &json!({"alg": "Ed25519"}), &claims())
        .unwrap();
    accepts(&both, &relabelled);

    // JWKs: unpinned fits both; `alg` pins to its own name.
    let keys = vec![
        jwk("ed25519", json!({"kid": "free"})),
        jwk("ed25519", json!({"kid": "new", "alg": "Ed25519"})),
        jwk("ed25519", json!({"kid": "old", "alg": "EdDSA"})),
    ];
    let v = verifier(&jwks_config(&["EdDSA", "Ed25519"], keys));
    for alg in [Algorithm::EdDSA, Algorithm::Ed25519] {
        accepts(&v, &ed(alg, Some("free")));
    }
    accepts(&v, &ed(Algorithm::Ed25519, Some("new")));
    accepts(&v, &ed(Algorithm::EdDSA, Some("old")));
    for (alg, kid) in [(Algorithm::EdDSA, "new"), (Algorithm::Ed25519, "old")] {
        let err = rejects(&v, &ed(alg, Some(kid)), ErrorKind::KeyNotFound);
        assert!(err.to_string().contains(&format!("`{kid}`")), "{err}");
    }
    // A JWK pinned to `Ed25519` is usable (it was skipped as unsupported before).
    let pinned = verifier(&jwks_config(
        &["Ed25519"],
        vec![jwk("ed25519", json!({"kid": "k", "alg": "Ed25519"}))],
    ));
    accepts(&pinned, &ed(Algorithm::Ed25519, Some("k")));
    // Only a key that fits: an RSA or EC key is no candidate for Ed25519.
    config_error(
        &jwks_config(&["Ed25519"], vec![jwk("p256", json!({"kid": "ec"}))]),
        &["Ed25519"],
    );
    config_error(
        &config(
            &["Ed25519"],
            json!({"type": "static", "public_key_pem": key("rsa2048_public.pem")}),
        ),
        &["Ed25519", "public_key_pem"],
    );
}

/// Issue 27: a key set with no key for the token's algorithm names the
/// skipped keys and their reasons, and its hint points at the key set.
#[test]
fn no_key_for_the_tokens_algorithm_names_the_skipped_keys() {
    let v = verifier(&jwks_config(
        &["RS256", "ES256"],
        vec![
            jwk("p256", json!({"kid": "ec"})),
            jwk("rsa2048", json!({"kid": "signer", "key_ops": ["sign"]})),
            jwk("rsa2048b", json!({"kid": "enc", "use": "enc"})),
        ],
    ));
    let err = rejects(
        &v,
        &sign_kid(
            "rsa2048_private.pem",
            Algorithm::RS256,
            Some(json!("signer")),
        ),
        ErrorKind::KeyNotFound,
    );
    let message = err.to_string();
    assert!(
        message.contains(r#"`signer`: `key_ops` ["sign"] without "verify""#),
        "{message}"
    );
    assert!(
        message.contains(r#"`enc`: `use` "enc" is not "sig""#),
        "{message}"
    );
    assert!(err.hint().contains("key set"), "{}", err.hint());
    assert!(err.hint().contains(r#""verify""#), "{}", err.hint());
    // When keys fit the algorithm but not the kid, only a skipped key with
    // that kid is named, and the hint is the usual one.
    let err = rejects(
        &v,
        &sign_kid("p256_private.pem", Algorithm::ES256, Some(json!("enc"))),
        ErrorKind::KeyNotFound,
    );
    assert!(err.to_string().contains("`enc`: `use`"), "{err}");
    assert!(!err.to_string().contains("signer"), "{err}");
    assert_eq!(err.hint(), ErrorKind::KeyNotFound.hint());
    let err = rejects(
        &v,
        &sign_kid("p256_private.pem", Algorithm::ES256, Some(json!("gone"))),
        ErrorKind::KeyNotFound,
    );
    assert!(!err.to_string().contains("skipped"), "{err}");
}

#[test]
fn jwks_oct_keys_serve_hmac() {
    let secret = binary_secret();
    let v = verifier(&jwks_config(
        &["HS256"],
        vec![json!({"kty": "oct", "kid": "h", "k": URL_SAFE_NO_PAD.encode(&secret)})],
    ));
    let mut header = json!({"alg": "HS256", "kid": "h"});
    accepts(
        &v,
        &SigningKey::from_secret(&secret)
            .sign_with_header(Algorithm::HS256, &header, &claims())
            .unwrap(),
    );
    header["kid"] = json!("other");
    rejects(
        &v,
        &SigningKey::from_secret(&secret)
            .sign_with_header(Algorithm::HS256, &header, &claims())
            .unwrap(),
        ErrorKind::KeyNotFound,
    );
    let v = verifier(&jwks_config(
        &["HS512"],
        vec![json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode([5u8; 64])})],
    ));
    accepts(
        &v,
        &SigningKey::from_secret(&[5u8; 64])
            .sign(Algorithm::HS512, &claims())
            .unwrap(),
    );
}

#[test]
fn jwks_with_no_usable_key_is_a_config_error() {
    let cases: Vec<(Vec<&str>, Vec<Value>)> = vec![
        (vec!["RS256"], vec![]),
        (vec!["RS256"], vec![jwk("rsa1024", json!({"kid": "small"}))]),
        (vec!["RS256"], vec![jwk("rsa2048", json!({"use": "enc"}))]),
        (
            vec!["RS256"],
            vec![jwk("rsa2048", json!({"key_ops": ["encrypt"]}))],
        ),
        (vec!["ES256"], vec![jwk("rsa2048", json!({}))]),
        (vec!["ES384"], vec![jwk("p256", json!({}))]),
        (
            vec!["ES256"],
            vec![jwk("p521", json!({})), jwk("secp256k1", json!({}))],
        ),
        (vec!["PS256"], vec![jwk("rsa2048", json!({"alg": "RS256"}))]),
        (vec!["HS256"], vec![jwk("rsa2048", json!({}))]),
        (
            vec!["HS512"],
            vec![json!({"kty": "oct", "k": URL_SAFE_NO_PAD.encode([1u8; 32])})],
        ),
        (
            vec!["EdDSA"],
            vec![json!({"kty": "OKP", "crv": "Ed448", "x": "AAAA"})],
        ),
        (
            vec!["Ed25519"],
            vec![jwk("ed25519", json!({"alg": "EdDSA"}))],
        ),
        (
            vec!["RS256"],
            vec![jwk(
                "rsa2048",
                json!({"kid": "priv-ops", "key_ops": ["sign"]}),
            )],
        ),
    ];
    for (algs, keys) in cases {
        let err = config_error(&jwks_config(&algs, keys.clone()), &["jwks"]);
        for alg in &algs {
            assert!(err.to_string().contains(alg), "{err}");
        }
    }
    // A set that is usable for one allowed algorithm loads; the other finds no key.
    let v = verifier(&jwks_config(
        &["ES256", "ES384"],
        vec![jwk("p256", json!({}))],
    ));
    accepts(&v, &sign_kid("p256_private.pem", Algorithm::ES256, None));
    rejects(
        &v,
        &sign_kid("p384_private.pem", Algorithm::ES384, None),
        ErrorKind::KeyNotFound,
    );
}

#[test]
fn jwks_that_is_not_a_key_set_is_a_config_error() {
    for jwks in [
        json!({}),
        json!({"keys": "x"}),
        json!({"keys": {}}),
        json!([jwk("rsa2048", json!({}))]),
        json!(null),
        json!("keys"),
    ] {
        config_error(
            &config(&["RS256"], json!({"type": "jwks", "jwks": jwks})),
            &["jwks"],
        );
    }
    config_error(&config(&["RS256"], json!({"type": "jwks"})), &["jwks"]);
}

#[test]
fn jwks_with_private_material_is_a_config_error() {
    let private = jwk("p256_private", json!({"kid": "leaked"}));
    let d = private["d"].as_str().unwrap().to_owned();
    let err = config_error(
        &jwks_config(
            &["ES256", "RS256"],
            vec![jwk("rsa2048", json!({"kid": "ok"})), private],
        ),
        &["jwks", "leaked", "`d`"],
    );
    for text in [err.to_string(), format!("{err:?}"), err.hint().to_owned()] {
        assert!(!text.contains(&d), "the private key shows: {text}");
    }
    // Even on a key that would be skipped anyway.
    config_error(
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
    for extra in [
        json!({"jwk": attacker}),
        json!({"jku": "https://attacker.example/jwks.json"}),
        json!({"x5u": "https://attacker.example/cert.pem"}),
        json!({"x5c": [key("rsa2048_cert.pem").lines().filter(|l| !l.starts_with("-----")).collect::<String>()]}),
    ] {
        let mut header = json!({"alg": "RS256", "kid": "a"});
        for (k, v) in extra.as_object().unwrap() {
            header[k] = v.clone();
        }
        let token = SigningKey::from_pem(&key("rsa2048b_private.pem"))
            .sign_with_header(Algorithm::RS256, &header, &claims())
            .unwrap();
        let static_v = verifier(&config(
            &["RS256"],
            json!({"type": "static", "public_key_pem": key("rsa2048_public.pem")}),
        ));
        rejects(&static_v, &token, ErrorKind::InvalidSignature);
        let jwks_v = verifier(&jwks_config(
            &["RS256"],
            vec![jwk("rsa2048", json!({"kid": "a"}))],
        ));
        rejects(&jwks_v, &token, ErrorKind::InvalidSignature);
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
    let token = |secret: &str| {
        SigningKey::from_secret(secret.as_bytes())
            .sign(Algorithm::HS256, &claims())
            .unwrap()
    };
    accepts(&v, &token(first));
    // A clone (e.g. a registry rebuilding its verifier) reuses the keys too.
    accepts(&TestVerifier::new(loaded.clone()), &token(first));
    // Validating the data again reads the variable again: it is gone.
    let err = Error::from(parsed.clone().validate().unwrap_err());
    assert!(err.to_string().contains(var), "{err}");

    let verify = |registry: &jwt_sso::Registry, secret: &str| {
        registry
            .verify_cached(&token(secret), jwt_sso::Verification::default())
            .map(|id| id.user_id.clone())
    };
    // An edit elsewhere keeps the parsed keys (the variable is still unset).
    let mut edited = parsed.clone();
    edited.expiration_time = 7200;
    owned.update("keys", edited.clone()).await;
    assert_eq!(registry.get("keys").unwrap().expiration_time, 7200);
    assert_eq!(verify(registry, first).unwrap(), "jdoe");
    // An edited key source is parsed, and its variable read, again.
    let other = "JWT_SSO_TEST_KEYS_ENV_ONCE_91B3";
    // SAFETY: as above (a name unique to this test).
    unsafe { std::env::set_var(other, second) };
    let mut rekeyed = edited.clone();
    rekeyed.key_source =
        serde_json::from_value(json!({"type": "static", "secret": {"env": other}})).unwrap();
    owned.update("keys", rekeyed).await;
    assert_eq!(verify(registry, second).unwrap(), "jdoe");
    assert_eq!(
        verify(registry, first).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    // So is an edited allowlist: the first variable is gone now.
    let mut realg = edited;
    realg.algorithms = vec![Algorithm::HS256, Algorithm::HS384];
    let change = jwt_sso::ConfigChange::Update {
        name: "keys".into(),
        version: owned.configs.get("keys").unwrap().version,
        config: realg,
    };
    let err = owned.configs.apply(change).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains(var), "{err}");
    // SAFETY: as above.
    unsafe { std::env::remove_var(other) };
}
