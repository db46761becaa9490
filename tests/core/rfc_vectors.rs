//! The JWS examples of RFC 7515 Appendix A and RFC 8037 A.4, copied with their
//! sources into tests/data/rfc/ (see its README): tokens made by others, with
//! keys given in the forms a configuration accepts.

use jwt_sso::{Error, ErrorKind, ManualClock, SystemClock, TokenError, TokenPart, UnixTime};
use serde_json::{Value, json};

use crate::support::clocked;
use crate::support::clocked::{load, verifier};
use clocked::TestVerifier;

/// Before the RFC 7515 tokens' `exp` (1300819380 = 2011-03-22T18:43:00Z).
const BEFORE_EXP: i64 = 1_300_819_000;
const EXP: i64 = 1_300_819_380;

fn vector(file: &str) -> Value {
    let path = format!("{}/tests/data/rfc/{file}", env!("CARGO_MANIFEST_DIR"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert!(
        v["source"].as_str().is_some_and(|s| s.starts_with("RFC ")),
        "{file} lost its source"
    );
    v
}

fn token(v: &Value) -> &str {
    v["token"].as_str().unwrap()
}

/// A configuration for the RFC 7515 tokens: no user ID claim, so `iss` ("joe") serves.
fn config(algorithms: &[&str], key_source: Value) -> Value {
    json!({
        "name": "RFC", "token_name": "token", "algorithms": algorithms, "key_source": key_source,
        "issuer": "joe", "expiration_time": 3600, "claims": {"user_id": "iss"}
    })
}

#[track_caller]
fn kind_at(v: &TestVerifier, token: &str, now: i64) -> ErrorKind {
    match v.verify_at(token, now) {
        Ok(id) => panic!("accepted {id:?}"),
        Err(e) => e.kind(),
    }
}

/// The token with one character of its signature changed (the first, whose
/// six bits are all significant, so the change is never mere padding bits).
fn flip_signature(token: &str) -> String {
    let at = token.rfind('.').unwrap() + 1;
    let mut out = token.to_owned();
    let c = if &token[at..=at] == "A" { "B" } else { "A" };
    out.replace_range(at..=at, c);
    out
}

/// Checks an RFC 7515 A.1–A.3 token: accepted before its `exp` with the
/// user from `iss`, expired as it is today, and broken by a changed signature.
#[track_caller]
fn check_rfc7515(verifier: &TestVerifier, token: &str) {
    let id = verifier
        .verify_at(token, BEFORE_EXP)
        .unwrap_or_else(|e| panic!("{} ({e})", e.kind()));
    assert_eq!(id.user_id, "joe");
    assert_eq!(id.config, "RFC");
    assert_eq!(id.expires_at.unix_timestamp(), EXP);
    // The same through an injected clock.
    let clocked = jwt_sso::Verifier::new(verifier.config().clone().validate().unwrap())
        .with_clock(ManualClock::new(UnixTime::from_secs(BEFORE_EXP)));
    assert_eq!(clocked.verify_cached(token).unwrap().user_id, "joe");
    // exp + leeway is the first second it is expired.
    assert_eq!(
        verifier
            .verify_at(token, EXP + 59)
            .map(|v| v.into_identity().user_id)
            .map_err(|e| e.kind()),
        Ok("joe".into())
    );
    assert_eq!(kind_at(verifier, token, EXP + 60), ErrorKind::Expired);
    // Today.
    let today = jwt_sso::Verifier::new(verifier.config().clone().validate().unwrap())
        .with_clock(SystemClock);
    let err = today.verify_cached(token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired, "{err}");
    assert!(err.to_string().contains("2011-03-22T18:43:00Z"), "{err}");
    // A changed signature.
    assert_eq!(
        kind_at(verifier, &flip_signature(token), BEFORE_EXP),
        ErrorKind::InvalidSignature
    );
    // A changed payload under the original signature.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replacen("eyJpc3MiOiJqb2Ui", "eyJpc3MiOiJqb2Yi", 1); // "joe" -> "jof"
    assert_ne!(parts.join("."), token);
    assert_eq!(
        kind_at(verifier, &parts.join("."), BEFORE_EXP),
        ErrorKind::InvalidSignature
    );
}

#[test]
fn rfc7515_a1_hs256_with_the_jwk_k_as_base64_secret() {
    let v = vector("rfc7515-A1-HS256.json");
    let k = v["jwk"]["k"].as_str().unwrap();
    let verifier = verifier(&config(
        &["HS256"],
        json!({"type": "static", "secret": {"base64": k}}),
    ));
    check_rfc7515(&verifier, token(&v));

    // The same 64 bytes as standard, padded base64 are the same secret.
    let hex = v["hmac_secret_hex"].as_str().unwrap();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(bytes.len(), 64);
    use base64::Engine;
    let standard = base64::engine::general_purpose::STANDARD.encode(&bytes);
    assert_ne!(standard, k);
    for algs in [&["HS256"][..], &["HS256", "HS384", "HS512"]] {
        let same = verifier_for(
            algs,
            json!({"type": "static", "secret": {"base64": standard}}),
        );
        assert_eq!(
            same.verify_at(token(&v), BEFORE_EXP).unwrap().user_id,
            "joe"
        );
    }
    // The JWK itself, inline (an `oct` key; the token has no kid, and it is the only key).
    let inline = verifier_for(
        &["HS256"],
        json!({"type": "jwks", "jwks": {"keys": [v["jwk"]]}}),
    );
    check_rfc7515(&inline, token(&v));
    // Another secret of the right length does not verify it.
    let other = verifier_for(
        &["HS256"],
        json!({"type": "static", "secret": "SUPERSECRET-not-the-rfc-key-0123456789"}),
    );
    assert_eq!(
        kind_at(&other, token(&v), BEFORE_EXP),
        ErrorKind::InvalidSignature
    );
}

fn verifier_for(algorithms: &[&str], key_source: Value) -> TestVerifier {
    verifier(&config(algorithms, key_source))
}

#[test]
fn rfc7515_a2_rs256_with_its_pem_and_its_jwk() {
    let v = vector("rfc7515-A2-RS256.json");
    let pem = verifier_for(
        &["RS256"],
        json!({"type": "static", "public_key_pem": v["pem"]}),
    );
    check_rfc7515(&pem, token(&v));
    let jwk = verifier_for(
        &["RS256", "PS256"],
        json!({"type": "jwks", "jwks": {"keys": [v["jwk"]]}}),
    );
    check_rfc7515(&jwk, token(&v));
    // The token's signature is PKCS#1 v1.5: only RS256 is allowed to check it.
    let ps_only = verifier_for(
        &["PS256"],
        json!({"type": "static", "public_key_pem": v["pem"]}),
    );
    assert_eq!(
        kind_at(&ps_only, token(&v), BEFORE_EXP),
        ErrorKind::AlgorithmNotAllowed
    );
    // A JWK pinned to PS256 is no candidate for it.
    let mut pinned = v["jwk"].clone();
    pinned["alg"] = json!("PS256");
    let pinned = verifier_for(
        &["RS256", "PS256"],
        json!({"type": "jwks", "jwks": {"keys": [pinned]}}),
    );
    assert_eq!(
        kind_at(&pinned, token(&v), BEFORE_EXP),
        ErrorKind::KeyNotFound
    );
    // The vector's private JWK is refused inline.
    let err = load(&config(
        &["RS256"],
        json!({"type": "jwks", "jwks": {"keys": [v["private_jwk"]]}}),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
}

#[test]
fn rfc7515_a3_es256_with_its_pem_and_its_jwk() {
    let v = vector("rfc7515-A3-ES256.json");
    let pem = verifier_for(
        &["ES256"],
        json!({"type": "static", "public_key_pem": v["pem"]}),
    );
    check_rfc7515(&pem, token(&v));
    let jwk = verifier_for(
        &["ES256"],
        json!({"type": "jwks", "jwks": {"keys": [v["jwk"]]}}),
    );
    check_rfc7515(&jwk, token(&v));
    // The signature is 64 octets R||S: one octet more or less never verifies.
    let (signed, sig) = token(&v).rsplit_once('.').unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let raw = b64.decode(sig).unwrap();
    assert_eq!(raw.len(), 64);
    let mut longer = raw.clone();
    longer.push(0);
    for bad in [&raw[..63], &longer[..], &[0u8; 64][..], &[][..]] {
        let t = format!("{signed}.{}", b64.encode(bad));
        assert_eq!(
            kind_at(&pem, &t, BEFORE_EXP),
            ErrorKind::InvalidSignature,
            "{} bytes",
            bad.len()
        );
    }
}

#[test]
fn rfc7515_a4_es512_is_refused_by_the_configuration() {
    let v = vector("rfc7515-A4-ES512.json");
    // ES512 itself.
    let err = load(&config(
        &["ES512"],
        json!({"type": "static", "public_key_pem": v["pem"]}),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains("algorithms") && err.to_string().contains("ES512"),
        "{err}"
    );
    // Its P-521 key for ES256.
    let err = load(&config(
        &["ES256"],
        json!({"type": "static", "public_key_pem": v["pem"]}),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains("public_key_pem") && err.to_string().contains("P-521"),
        "{err}"
    );
    // Its JWK inline: no usable key.
    let err = load(&config(
        &["ES256"],
        json!({"type": "jwks", "jwks": {"keys": [v["jwk"]]}}),
    ))
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("jwks"), "{err}");
    // Its token reaches an ES256 configuration as an algorithm that is not allowed.
    let a3 = vector("rfc7515-A3-ES256.json");
    let es256 = verifier_for(
        &["ES256"],
        json!({"type": "static", "public_key_pem": a3["pem"]}),
    );
    let err = es256.verify_at(token(&v), BEFORE_EXP).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlgorithmNotAllowed);
    assert!(err.to_string().contains("ES512"), "{err}");
}

#[test]
fn rfc7515_a5_unsecured_tokens_are_never_allowed() {
    let v = vector("rfc7515-A5-none.json");
    let a1 = vector("rfc7515-A1-HS256.json");
    let a2 = vector("rfc7515-A2-RS256.json");
    let verifiers = [
        verifier_for(
            &["HS256"],
            json!({"type": "static", "secret": {"base64": a1["jwk"]["k"]}}),
        ),
        verifier_for(
            &["RS256"],
            json!({"type": "static", "public_key_pem": a2["pem"]}),
        ),
        verifier_for(
            &["RS256"],
            json!({"type": "jwks", "jwks": {"keys": [a2["jwk"]]}}),
        ),
    ];
    let (_, rest) = token(&v).split_once('.').unwrap();
    let payload = rest.trim_end_matches('.');
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut tokens = vec![token(&v).to_owned()];
    for alg in ["None", "NONE", "nOnE", "none"] {
        let header = b64.encode(format!("{{\"alg\":\"{alg}\"}}"));
        tokens.push(format!("{header}.{payload}."));
        // With a junk signature too.
        tokens.push(format!(
            "{header}.{payload}.{}",
            b64.encode(b"junk signature")
        ));
    }
    for verifier in &verifiers {
        for t in &tokens {
            let err = verifier.verify_at(t, BEFORE_EXP).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AlgorithmNotAllowed, "{t}: {err}");
        }
    }
    // And a configuration cannot allow it.
    for alg in ["none", "None"] {
        let err = load(&config(
            &[alg],
            json!({"type": "static", "secret": {"base64": a1["jwk"]["k"]}}),
        ))
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.to_string().contains("algorithms"), "{err}");
    }
}

#[test]
fn rfc8037_a4_eddsa_signature_holds_and_the_text_payload_is_malformed() {
    let v = vector("rfc8037-A4-EdDSA.json");
    let pem = verifier_for(
        &["EdDSA"],
        json!({"type": "static", "public_key_pem": v["pem"]}),
    );
    let jwk = verifier_for(
        &["EdDSA"],
        json!({"type": "jwks", "jwks": {"keys": [v["jwk"]]}}),
    );
    for verifier in [&pem, &jwk] {
        // The payload ("Example of Ed25519 signing") is parsed only after the
        // signature holds, so `malformed` about the payload proves the signature.
        match verifier.verify_at(token(&v), BEFORE_EXP) {
            Err(Error::Token(TokenError::Malformed { part, .. })) => {
                assert_eq!(part, TokenPart::Payload)
            }
            other => panic!("expected a malformed payload, got {other:?}"),
        }
        assert_eq!(
            kind_at(verifier, &flip_signature(token(&v)), BEFORE_EXP),
            ErrorKind::InvalidSignature
        );
    }
    // Another Ed25519 key does not verify it.
    let other_key = std::fs::read_to_string(format!(
        "{}/tests/data/keys/ed25519_public.pem",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let other = verifier_for(
        &["EdDSA"],
        json!({"type": "static", "public_key_pem": other_key}),
    );
    assert_eq!(
        kind_at(&other, token(&v), BEFORE_EXP),
        ErrorKind::InvalidSignature
    );
}
