//! The JWS examples of RFC 7515 Appendix A and RFC 8037 A.4, copied with their
//! sources into tests/data/rfc/ (see its README): tokens made by others, with
//! keys given in the forms a configuration accepts.

use jwt_sso::{Error, ErrorKind, ManualClock, SystemClock, TokenError, TokenPart, UnixTime};
use serde_json::{Value, json};

use crate::support::clocked;
use crate::support::clocked::{load, verifier};
use clocked::TestVerifier;
use jwt_sso::ErrorKind::{AlgorithmNotAllowed, Expired, InvalidSignature, KeyNotFound};

/// Before the RFC 7515 tokens' `exp` (1300819380 = 2011-03-22T18:43:00Z).
const BEFORE_EXP: i64 = 1_300_819_000;
const EXP: i64 = 1_300_819_380;

fn vector(file: &str) -> Value {
    let path = format!("{}/tests/data/rfc/{file}", env!("CARGO_MANIFEST_DIR"));
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let source = v["source"].as_str().unwrap_or("");
    assert!(
        source.starts_with("RFC "),
        "{file} lost its source: {source:?}"
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

/// A vector's public key as the two key sources: a static PEM and an
/// inline JWK Set.
fn key_sources(v: &Value) -> (Value, Value) {
    (
        json!({"type": "static", "public_key_pem": v["pem"]}),
        json!({"type": "jwks", "jwks": {"keys": [v["jwk"]]}}),
    )
}

fn verifier_for(algorithms: &[&str], key_source: Value) -> TestVerifier {
    verifier(&config(algorithms, key_source))
}

/// The kind of the error `token` gets at `now` (a panic naming `name` when accepted).
#[track_caller]
fn kind_at(name: &str, v: &TestVerifier, token: &str, now: i64) -> ErrorKind {
    match v.verify_at(token, now) {
        Ok(id) => panic!("{name}: accepted {id:?}"),
        Err(e) => e.kind(),
    }
}

/// Expects `token` refused at [`BEFORE_EXP`] with `kind`.
#[track_caller]
fn refused(name: &str, v: &TestVerifier, token: &str, kind: ErrorKind) {
    assert_eq!(kind_at(name, v, token, BEFORE_EXP), kind, "{name}");
}

/// Expects the configuration refused with a `config` error whose message
/// names each of `needles`.
#[track_caller]
fn config_refused(name: &str, algorithms: &[&str], key_source: Value, needles: &[&str]) {
    let err = match load(&config(algorithms, key_source)) {
        Ok(_) => panic!("{name}: the configuration loaded"),
        Err(err) => err,
    };
    assert_eq!(err.kind(), ErrorKind::Config, "{name}: {err}");
    for needle in needles {
        assert!(
            err.to_string().contains(needle),
            "{name}: should name {needle}: {err}"
        );
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
fn check_rfc7515(name: &str, verifier: &TestVerifier, token: &str) {
    let id = verifier
        .verify_at(token, BEFORE_EXP)
        .unwrap_or_else(|e| panic!("{name}: {} ({e})", e.kind()));
    assert_eq!(id.user_id, "joe", "{name}: the user");
    assert_eq!(id.config, "RFC", "{name}: the configuration");
    assert_eq!(id.expires_at.unix_timestamp(), EXP, "{name}: expires_at");
    let user = |result: Result<jwt_sso::Verified, Error>| {
        result
            .map(|v| v.into_identity().user_id)
            .map_err(|e| e.kind())
    };
    // The same through an injected clock.
    let clocked = jwt_sso::Verifier::new(verifier.config().clone().validate().unwrap())
        .with_clock(ManualClock::new(UnixTime::from_secs(BEFORE_EXP)));
    assert_eq!(
        user(clocked.verify_cached(token)),
        Ok("joe".to_owned()),
        "{name}: through a clock"
    );
    // exp + leeway is the first second it is expired.
    assert_eq!(
        user(verifier.verify_at(token, EXP + 59)),
        Ok("joe".to_owned()),
        "{name}: at exp + leeway - 1"
    );
    assert_eq!(
        kind_at(name, verifier, token, EXP + 60),
        Expired,
        "{name}: at exp + leeway"
    );
    // Today.
    let today = jwt_sso::Verifier::new(verifier.config().clone().validate().unwrap())
        .with_clock(SystemClock);
    let err = today.verify_cached(token).unwrap_err();
    assert_eq!(err.kind(), Expired, "{name}: today: {err}");
    assert!(
        err.to_string().contains("2011-03-22T18:43:00Z"),
        "{name}: today: names exp: {err}"
    );
    // A changed signature.
    refused(
        &format!("{name}, signature changed"),
        verifier,
        &flip_signature(token),
        InvalidSignature,
    );
    // A changed payload under the original signature.
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = parts[1].replacen("eyJpc3MiOiJqb2Ui", "eyJpc3MiOiJqb2Yi", 1); // "joe" -> "jof"
    assert_ne!(parts.join("."), token, "{name}: the payload changed");
    refused(
        &format!("{name}, payload changed"),
        verifier,
        &parts.join("."),
        InvalidSignature,
    );
}

#[test]
fn rfc7515_a1_hs256_with_the_jwk_k_as_base64_secret() {
    let v = vector("rfc7515-A1-HS256.json");
    let k = v["jwk"]["k"].as_str().unwrap();
    let verifier = verifier_for(
        &["HS256"],
        json!({"type": "static", "secret": {"base64": k}}),
    );
    check_rfc7515("A.1, the JWK's k as base64", &verifier, token(&v));

    // The same 64 bytes as standard, padded base64 are the same secret.
    let hex = v["hmac_secret_hex"].as_str().unwrap();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(bytes.len(), 64, "A.1: the secret's length");
    use base64::Engine;
    let standard = base64::engine::general_purpose::STANDARD.encode(&bytes);
    assert_ne!(standard, k, "A.1: standard base64 differs from the JWK's k");
    for algs in [&["HS256"][..], &["HS256", "HS384", "HS512"]] {
        let same = verifier_for(
            algs,
            json!({"type": "static", "secret": {"base64": standard}}),
        );
        assert_eq!(
            same.verify_at(token(&v), BEFORE_EXP)
                .map(|id| id.user_id.clone())
                .map_err(|e| e.kind()),
            Ok("joe".to_owned()),
            "A.1, standard base64, allowing {algs:?}"
        );
    }
    // The JWK itself, inline (an `oct` key; the token has no kid, and it is the only key).
    let inline = verifier_for(
        &["HS256"],
        json!({"type": "jwks", "jwks": {"keys": [v["jwk"]]}}),
    );
    check_rfc7515("A.1, the JWK inline", &inline, token(&v));
    // Another secret of the right length does not verify it.
    let other = verifier_for(
        &["HS256"],
        json!({"type": "static", "secret": "SUPERSECRET-not-the-rfc-key-0123456789"}),
    );
    refused("A.1, another secret", &other, token(&v), InvalidSignature);
}

#[test]
fn rfc7515_a2_rs256_with_its_pem_and_its_jwk() {
    let v = vector("rfc7515-A2-RS256.json");
    let (pem, jwks) = key_sources(&v);
    check_rfc7515(
        "A.2, PEM",
        &verifier_for(&["RS256"], pem.clone()),
        token(&v),
    );
    check_rfc7515(
        "A.2, JWK",
        &verifier_for(&["RS256", "PS256"], jwks),
        token(&v),
    );
    // A JWK pinned to PS256 is no candidate for it.
    let mut pinned = v["jwk"].clone();
    pinned["alg"] = json!("PS256");
    let pinned = json!({"type": "jwks", "jwks": {"keys": [pinned]}});
    #[rustfmt::skip]
    let rows = [
        // The token's signature is PKCS#1 v1.5: only RS256 is allowed to check it.
        ("A.2, PEM, only PS256 allowed", verifier_for(&["PS256"], pem), AlgorithmNotAllowed),
        ("A.2, JWK pinned to PS256", verifier_for(&["RS256", "PS256"], pinned), KeyNotFound),
    ];
    for (name, verifier, kind) in rows {
        refused(name, &verifier, token(&v), kind);
    }
    // The vector's private JWK is refused inline.
    config_refused(
        "A.2, the private JWK inline",
        &["RS256"],
        json!({"type": "jwks", "jwks": {"keys": [v["private_jwk"]]}}),
        &[],
    );
}

#[test]
fn rfc7515_a3_es256_with_its_pem_and_its_jwk() {
    let v = vector("rfc7515-A3-ES256.json");
    let (pem, jwks) = key_sources(&v);
    let pem = verifier_for(&["ES256"], pem);
    check_rfc7515("A.3, PEM", &pem, token(&v));
    check_rfc7515("A.3, JWK", &verifier_for(&["ES256"], jwks), token(&v));
    // The signature is 64 octets R||S: one octet more or less never verifies.
    let (signed, sig) = token(&v).rsplit_once('.').unwrap();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let raw = b64.decode(sig).unwrap();
    assert_eq!(raw.len(), 64, "A.3: the signature's length");
    let mut longer = raw.clone();
    longer.push(0);
    for bad in [&raw[..63], &longer[..], &[0u8; 64][..], &[][..]] {
        let t = format!("{signed}.{}", b64.encode(bad));
        let name = format!("A.3, a signature of {} bytes", bad.len());
        refused(&name, &pem, &t, InvalidSignature);
    }
}

#[test]
fn rfc7515_a4_es512_is_refused_by_the_configuration() {
    let v = vector("rfc7515-A4-ES512.json");
    let (pem, jwks) = key_sources(&v);
    #[rustfmt::skip]
    let rows: [(&str, &[&str], Value, &[&str]); 3] = [
        ("A.4, ES512 itself", &["ES512"], pem.clone(), &["algorithms", "ES512"]),
        ("A.4, its P-521 key for ES256", &["ES256"], pem, &["public_key_pem", "P-521"]),
        ("A.4, its JWK inline: no usable key", &["ES256"], jwks, &["jwks"]),
    ];
    for (name, algorithms, key_source, needles) in rows {
        config_refused(name, algorithms, key_source, needles);
    }
    // Its token reaches an ES256 configuration as an algorithm that is not allowed.
    let es256 = verifier_for(&["ES256"], key_sources(&vector("rfc7515-A3-ES256.json")).0);
    let name = "A.4's token, an ES256 configuration";
    let err = es256.verify_at(token(&v), BEFORE_EXP).unwrap_err();
    assert_eq!(err.kind(), AlgorithmNotAllowed, "{name}: {err}");
    assert!(
        err.to_string().contains("ES512"),
        "{name}: names ES512: {err}"
    );
}

#[test]
fn rfc7515_a5_unsecured_tokens_are_never_allowed() {
    let v = vector("rfc7515-A5-none.json");
    let a1 = vector("rfc7515-A1-HS256.json");
    let a2 = vector("rfc7515-A2-RS256.json");
    let hs = json!({"type": "static", "secret": {"base64": a1["jwk"]["k"]}});
    let (a2_pem, a2_jwks) = key_sources(&a2);
    let verifiers = [
        ("A.1's secret", verifier_for(&["HS256"], hs.clone())),
        ("A.2's PEM", verifier_for(&["RS256"], a2_pem)),
        ("A.2's JWK", verifier_for(&["RS256"], a2_jwks)),
    ];
    let (_, rest) = token(&v).split_once('.').unwrap();
    let payload = rest.trim_end_matches('.');
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut tokens = vec![("A.5 as published".to_owned(), token(&v).to_owned())];
    for alg in ["None", "NONE", "nOnE", "none"] {
        let header = b64.encode(format!("{{\"alg\":\"{alg}\"}}"));
        tokens.push((format!("alg {alg}"), format!("{header}.{payload}.")));
        // With a junk signature too.
        let junk = b64.encode(b"junk signature");
        tokens.push((
            format!("alg {alg}, junk signature"),
            format!("{header}.{payload}.{junk}"),
        ));
    }
    for (key, verifier) in &verifiers {
        for (name, t) in &tokens {
            refused(&format!("{name}, {key}"), verifier, t, AlgorithmNotAllowed);
        }
    }
    // And a configuration cannot allow it.
    for alg in ["none", "None"] {
        let name = format!("a configuration allowing `{alg}`");
        config_refused(&name, &[alg], hs.clone(), &["algorithms"]);
    }
}

#[test]
fn rfc8037_a4_eddsa_signature_holds_and_the_text_payload_is_malformed() {
    let v = vector("rfc8037-A4-EdDSA.json");
    let (pem, jwks) = key_sources(&v);
    for (name, key_source) in [("RFC 8037 A.4, PEM", pem), ("RFC 8037 A.4, JWK", jwks)] {
        let verifier = &verifier_for(&["EdDSA"], key_source);
        // The payload ("Example of Ed25519 signing") is parsed only after the
        // signature holds, so `malformed` about the payload proves the signature.
        match verifier.verify_at(token(&v), BEFORE_EXP) {
            Err(Error::Token(TokenError::Malformed { part, .. })) => {
                assert_eq!(part, TokenPart::Payload, "{name}: the malformed part")
            }
            other => panic!("{name}: expected a malformed payload, got {other:?}"),
        }
        refused(
            &format!("{name}, signature changed"),
            verifier,
            &flip_signature(token(&v)),
            InvalidSignature,
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
    refused(
        "RFC 8037 A.4, another Ed25519 key",
        &other,
        token(&v),
        InvalidSignature,
    );
}
