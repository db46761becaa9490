//! Property tests: whatever text arrives as a token, and whatever text is
//! loaded as a configuration, nothing panics, and no token that was not
//! signed by a configured key verifies.
//!
//! Case counts are bounded (see `CASES`) so the suite stays fast; the fuzz
//! targets in `fuzz/` run the same questions for as long as one likes.
#![cfg(feature = "mint")]

use std::sync::OnceLock;

use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, JwtConfig};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use serde_json::{Value, json};

use crate::support::clocked;
// Tokens are verified at NOW, 2026-01-01T00:00:00Z.
use crate::support::fixtures::NOW;
use clocked::TestVerifier;

const SECRET: &str = "SUPERSECRET-properties-0123456789abcdef";
/// Cases per property: enough to find shallow bugs quickly, bounded for CI.
const CASES: u32 = 256;

fn key(name: &str) -> String {
    let path = format!("{}/tests/data/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn jwk(name: &str, kid: &str) -> Value {
    let path = format!(
        "{}/tests/data/jwks/public_jwks.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut jwk = all[name].clone();
    jwk["kid"] = json!(kid);
    jwk
}

fn base_config() -> Value {
    json!({
        "name": "props", "token_name": "token", "issuer": "https://idp.example.com",
        "audience": "bi-server", "algorithms": ["HS256"],
        "key_source": {"type": "static", "secret": SECRET},
        "expiration_time": 3600,
        "claims": {"user_id": "sub", "name": "name", "roles": "/realm/roles"},
        "system_prompts": [{"kind": "text", "slot": 1, "claim": "dept"}, {"kind": "date", "slot": 1, "claim": "hired"}]
    })
}

fn verifier(config: Value) -> TestVerifier {
    TestVerifier::new(
        JwtConfig::from_json_str(&config.to_string())
            .unwrap()
            .validate()
            .unwrap(),
    )
}

/// A shared-secret verifier, a static RSA verifier and a JWK Set verifier
/// (every family, every algorithm allowed), each with its name.
fn verifiers() -> &'static [(&'static str, TestVerifier)] {
    static V: OnceLock<Vec<(&'static str, TestVerifier)>> = OnceLock::new();
    V.get_or_init(|| {
        let mut rsa = base_config();
        rsa["algorithms"] = json!(["RS256", "PS256"]);
        rsa["key_source"] = json!({"type": "static", "public_key_pem": key("rsa2048_public.pem")});
        let mut jwks = base_config();
        let mut keys = vec![
            jwk("rsa2048", "rsa"),
            jwk("p256", "ec"),
            jwk("ed25519", "ed"),
        ];
        keys.push(json!({"kty": "oct", "kid": "hmac", "k": base64_url(SECRET.as_bytes())}));
        jwks["algorithms"] = json!(
            Algorithm::ALL
                .iter()
                .map(|a| a.as_str())
                .collect::<Vec<_>>()
        );
        jwks["key_source"] = json!({"type": "jwks", "jwks": {"keys": keys}});
        vec![
            ("the HS256 secret", verifier(base_config())),
            ("the static RSA key", verifier(rsa)),
            ("the JWK Set", verifier(jwks)),
        ]
    })
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn claims() -> Value {
    json!({
        "iss": "https://idp.example.com", "aud": "bi-server", "sub": "jdoe", "name": "Jane",
        "realm": {"roles": ["a", "b"]}, "dept": "Sales", "hired": "2021-04-15",
        "iat": NOW, "exp": NOW + 600
    })
}

/// Valid tokens, one per key family, each accepted by at least one verifier.
fn valid_tokens() -> &'static [String] {
    static T: OnceLock<Vec<String>> = OnceLock::new();
    T.get_or_init(|| {
        let hs = SigningKey::from_secret(SECRET.as_bytes());
        let with_kid = |alg: Algorithm, kid: &str, key: &SigningKey| {
            key.sign_with_header(alg, &json!({"alg": alg.as_str(), "kid": kid}), &claims())
                .unwrap()
        };
        let tokens = vec![
            hs.sign(Algorithm::HS256, &claims()).unwrap(),
            SigningKey::from_pem(&key("rsa2048_private.pem"))
                .sign(Algorithm::RS256, &claims())
                .unwrap(),
            with_kid(
                Algorithm::PS256,
                "rsa",
                &SigningKey::from_pem(&key("rsa2048_private.pem")),
            ),
            with_kid(
                Algorithm::ES256,
                "ec",
                &SigningKey::from_pem(&key("p256_private.pem")),
            ),
            with_kid(
                Algorithm::EdDSA,
                "ed",
                &SigningKey::from_pem(&key("ed25519_private.pem")),
            ),
            with_kid(Algorithm::HS256, "hmac", &hs),
        ];
        for token in &tokens {
            assert_ne!(
                accepted_by(token),
                None,
                "a base token is not accepted: {token}"
            );
        }
        tokens
    })
}

/// The first verifier that accepts `token`, and the user it maps to.
fn accepted_by(token: &str) -> Option<String> {
    verifiers().iter().find_map(|(name, v)| {
        let id = v.verify_at(token, NOW).ok()?;
        Some(format!("{name} (as {})", id.user_id))
    })
}

/// Runs every verifier; every error must render (Display, Debug, JSON,
/// hint). The verifiers that accepted `token` and the users they map to.
fn verify_all(token: &str) -> Option<String> {
    let mut accepted = Vec::new();
    for (name, v) in verifiers() {
        match v.verify_at(token, NOW) {
            Ok(id) => accepted.push(format!("{name} (as {})", id.user_id)),
            Err(e) => {
                let _ = (e.to_string(), format!("{e:?}"), e.to_json(), e.hint());
            }
        }
    }
    (!accepted.is_empty()).then(|| accepted.join(", "))
}

/// One edit of a token's text.
#[derive(Debug, Clone)]
enum Edit {
    Insert(usize, char),
    Delete(usize),
    Replace(usize, char),
    Truncate(usize),
    Duplicate(usize, usize),
    SwapSegments(usize, usize),
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    // Characters that keep a token plausible, and some that do not.
    let chars = prop_oneof![
        4 => prop::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.".chars().collect::<Vec<_>>()
        ),
        1 => prop::sample::select(vec!['=', '+', '/', ' ', '\n', '\0', 'é', '．', '%']),
        1 => any::<char>(),
    ];
    prop_oneof![
        (any::<usize>(), chars.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
        any::<usize>().prop_map(Edit::Delete),
        (any::<usize>(), chars).prop_map(|(i, c)| Edit::Replace(i, c)),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), any::<usize>()).prop_map(|(i, n)| Edit::Duplicate(i, n)),
        (0..3usize, 0..3usize).prop_map(|(a, b)| Edit::SwapSegments(a, b)),
    ]
}

fn apply(token: &str, edit: &Edit) -> String {
    let mut chars: Vec<char> = token.chars().collect();
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match *edit {
        Edit::Insert(i, c) => chars.insert(at(i, chars.len() + 1), c),
        Edit::Delete(i) if !chars.is_empty() => {
            chars.remove(at(i, chars.len()));
        }
        Edit::Replace(i, c) if !chars.is_empty() => {
            let i = at(i, chars.len());
            chars[i] = c;
        }
        Edit::Truncate(i) => chars.truncate(at(i, chars.len())),
        Edit::Duplicate(i, n) if !chars.is_empty() => {
            let i = at(i, chars.len());
            let piece: Vec<char> = chars[i..(i + n % 64).min(chars.len())].to_vec();
            chars.splice(i..i, piece);
        }
        Edit::SwapSegments(a, b) => {
            let mut segments: Vec<String> = token.split('.').map(str::to_owned).collect();
            if a < segments.len() && b < segments.len() {
                segments.swap(a, b);
            }
            return segments.join(".");
        }
        _ => {}
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: CASES,
        // A failing case is saved here and replayed first on the next run (commit it).
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    })]

    /// Arbitrary bytes (as text) never panic and never verify.
    #[test]
    fn arbitrary_bytes_never_verify(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let text = String::from_utf8_lossy(&bytes);
        prop_assert_eq!(verify_all(&text), None, "arbitrary bytes verified: {:?}", text);
    }

    /// Three arbitrary base64url segments: past the syntax checks, into the JSON
    /// and signature stages. Never a panic, never a verified token.
    #[test]
    fn arbitrary_segments_never_verify(
        header in prop::collection::vec(any::<u8>(), 0..120),
        payload in prop::collection::vec(any::<u8>(), 0..200),
        signature in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let token = format!("{}.{}.{}", base64_url(&header), base64_url(&payload), base64_url(&signature));
        prop_assert_eq!(verify_all(&token), None, "arbitrary segments verified: {}", token);
    }

    /// Headers that parse and name an allowed algorithm and key, with
    /// arbitrary signatures: only the signature stands between them and a login.
    #[test]
    fn well_formed_headers_with_arbitrary_signatures_never_verify(
        alg in prop::sample::select(Algorithm::ALL.to_vec()),
        kid in prop::sample::select(vec![None, Some("rsa"), Some("ec"), Some("ed"), Some("hmac")]),
        signature in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut header = json!({"alg": alg.as_str()});
        if let Some(kid) = kid {
            header["kid"] = json!(kid);
        }
        let token = format!(
            "{}.{}.{}",
            base64_url(header.to_string().as_bytes()),
            base64_url(claims().to_string().as_bytes()),
            base64_url(&signature)
        );
        prop_assert_eq!(verify_all(&token), None, "an arbitrary signature verified: {}", token);
    }

    /// Arbitrary edits of valid tokens never panic, and never verify unless
    /// the edits gave back the original text.
    #[test]
    fn mutated_valid_tokens_never_verify(
        which in 0..6usize,
        edits in prop::collection::vec(edit_strategy(), 1..4),
    ) {
        let original = &valid_tokens()[which];
        let mutated = edits.iter().fold(original.clone(), |t, e| apply(&t, e));
        prop_assume!(&mutated != original);
        prop_assert_eq!(verify_all(&mutated), None, "a mutated token verified: {}", mutated);
    }

    /// A single flipped bit anywhere in a token with arbitrary claims is
    /// refused (the exhaustive test below flips every bit of fixed tokens).
    #[test]
    fn a_bit_flip_of_a_token_with_arbitrary_claims_is_refused(
        sub in prop::collection::vec(prop::sample::select(('a'..='z').collect::<Vec<_>>()), 1..12),
        extra in prop::collection::vec(any::<u8>(), 0..40),
        position in any::<usize>(),
        bit in 0..7u8,
    ) {
        let mut c = claims();
        c["sub"] = json!(sub.into_iter().collect::<String>());
        c["x"] = json!(base64_url(&extra));
        let token = SigningKey::from_secret(SECRET.as_bytes()).sign(Algorithm::HS256, &c).unwrap();
        prop_assert_ne!(accepted_by(&token), None, "the unflipped token is refused: {}", token);
        let mut bytes = token.into_bytes();
        let i = position % bytes.len();
        bytes[i] ^= 1 << bit;
        // A flip that leaves UTF-8 cannot even be passed as a token.
        if let Ok(flipped) = String::from_utf8(bytes) {
            prop_assert_eq!(verify_all(&flipped), None, "a flipped token verified: {}", flipped);
        }
    }

    /// Any clock reading, however far from today, only changes the outcome:
    /// no panic, and every error renders (times outside RFC 3339 included).
    #[test]
    fn any_clock_reading_never_panics(which in 0..6usize, now in any::<i64>()) {
        let token = &valid_tokens()[which];
        for (_, v) in verifiers() {
            if let Err(e) = v.verify_at(token, now) {
                let _ = (e.to_string(), format!("{e:?}"), e.to_json());
            }
        }
    }

    /// Arbitrary text never panics the configuration loaders (JSON and TOML).
    #[test]
    fn arbitrary_text_never_panics_the_loaders(text in prop::collection::vec(any::<char>(), 0..400)) {
        let text: String = text.into_iter().collect();
        load_everything(&text);
    }

    /// Arbitrary JSON values in every field of a valid configuration never
    /// panic the loader; whatever loads builds a verifier that renders.
    #[test]
    fn arbitrary_json_in_a_configuration_never_panics_the_loader(
        field in prop::sample::select(vec![
            "/name", "/enabled", "/token_name", "/issuer", "/audience", "/algorithms", "/key_source",
            "/key_source/type", "/key_source/secret", "/expiration_time", "/leeway", "/max_token_bytes",
            "/claims", "/claims/user_id", "/claims/roles", "/system_prompts", "/system_prompts/0",
            "/system_prompts/0/slot", "/system_prompts/0/kind", "/user_type", "/initial_roles",
            "/last_modified", "/created_by", "/key_source/jwks", "/unknown",
        ]),
        value in json_value(),
    ) {
        let mut config = base_config();
        if field == "/key_source/jwks" {
            config["key_source"] = json!({"type": "jwks", "jwks": {"keys": [value]}});
        } else {
            let (parent, last) = field.rsplit_once('/').unwrap();
            match config.pointer_mut(parent) {
                Some(Value::Object(map)) => { map.insert(last.to_owned(), value); }
                Some(Value::Array(items)) => items[0] = value,
                _ => {}
            }
        }
        let text = config.to_string();
        load_everything(&text);
        if let Ok(toml) = toml::to_string(&config) {
            load_everything(&toml);
        }
    }
}

/// Loads `text` as JSON and as TOML; whatever loads must build, render and round-trip.
fn load_everything(text: &str) {
    for loaded in [
        JwtConfig::from_json_str(text),
        JwtConfig::from_toml_str(text),
    ] {
        match loaded.and_then(JwtConfig::validate) {
            Ok(config) => {
                let _ = format!("{config:?}");
                let again = JwtConfig::from_json_str(&config.to_json_string().unwrap())
                    .and_then(JwtConfig::validate)
                    .expect("a valid configuration loads again");
                assert_eq!(
                    again.config(),
                    config.config(),
                    "a configuration differs after a JSON round trip: {text}"
                );
                let verifier = TestVerifier::new(config);
                let _ = format!("{verifier:?}");
                let _ = verifier.verify_at(&valid_tokens()[0], NOW);
            }
            Err(e) => {
                let _ = (e.to_string(), format!("{e:?}"), e.to_json(), e.hint());
            }
        }
    }
}

/// Arbitrary JSON values, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::collection::vec(any::<char>(), 0..40)
            .prop_map(|c| Value::String(c.into_iter().collect())),
        prop::sample::select(vec![
            "HS256",
            "RS256",
            "none",
            "static",
            "jwks",
            "jwks_uri",
            "issuer",
            "text",
            "date",
            "numeric",
            "",
            "sub",
            "/a/b",
            "/~2",
            "2026-03-13T10:00:00Z",
            "RSA",
            "EC",
            "oct",
            "OKP",
            "P-256",
            "AQAB",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "type",
                        "secret",
                        "base64",
                        "env",
                        "kty",
                        "n",
                        "e",
                        "x",
                        "y",
                        "crv",
                        "k",
                        "kid",
                        "alg",
                        "use",
                        "key_ops",
                        "keys",
                        "d",
                        "url",
                        "public_key_pem",
                        "a",
                    ]),
                    inner
                ),
                0..6
            )
            .prop_map(|members| Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v))
                    .collect()
            )),
        ]
    })
}

/// Every single-bit flip of every byte of each valid token is refused (or is
/// not UTF-8, and so cannot be passed as a token at all): about 18 000 tokens,
/// each against every verifier.
#[test]
fn every_single_bit_flip_of_a_valid_token_is_refused() {
    let mut flips = 0;
    for token in valid_tokens() {
        for i in 0..token.len() {
            for bit in 0..8 {
                let mut bytes = token.clone().into_bytes();
                bytes[i] ^= 1 << bit;
                let Ok(flipped) = String::from_utf8(bytes) else {
                    continue;
                };
                flips += 1;
                assert_eq!(
                    accepted_by(&flipped),
                    None,
                    "flipping bit {bit} of byte {i} verified: {flipped}"
                );
            }
        }
    }
    println!(
        "{flips} single-bit flips of {} tokens, all refused",
        valid_tokens().len()
    );
    assert!(flips > 10_000, "only {flips} single-bit flips were UTF-8");
}
