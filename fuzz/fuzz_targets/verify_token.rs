//! Token verification: arbitrary text against three configurations (a shared
//! secret, a static RSA key and a mixed inline JWK Set), and arbitrary header
//! and payload bytes signed with the shared secret, so the fuzzer also reaches
//! the stages behind the signature (claims, time, mapping).
//!
//! Input: the first byte picks the mode, the rest is the data.
//! - even: the rest is the token text; nothing may panic and nothing may verify.
//! - `% 4 == 1`: the rest is a payload, signed under `{"alg":"HS256"}`.
//! - `% 4 == 3`: the rest is `header 0x00 payload`, both signed as they are.

#![no_main]

use std::sync::OnceLock;

use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, Error, JwtConfig, ManualClock, UnixTime, Verifier};
use libfuzzer_sys::fuzz_target;

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;
/// 64 bytes, so HS256, HS384 and HS512 are all allowed.
const SECRET: &str = "fuzz-shared-secret-0123456789abcdef-0123456789abcdef-0123456789a";

fn config(text: &str) -> Verifier {
    let config = JwtConfig::from_json_str(text)
        .and_then(JwtConfig::validate)
        .expect("fuzz configuration");
    Verifier::new(config).with_clock(ManualClock::new(UnixTime::from_secs(NOW)))
}

/// The shared-secret verifier: a long validity period and no issuer or
/// audience, so that claims reach the mapping often.
fn hmac() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        config(&format!(
            r#"{{"name":"fuzz-hs","token_name":"t","algorithms":["HS256","HS384","HS512"],
            "key_source":{{"type":"static","secret":"{SECRET}"}},
            "expiration_time":3000000000,
            "claims":{{"user_id":"sub","name":"name","email":"email","roles":"/realm_access/roles"}},
            "system_prompts":[{{"kind":"text","slot":1,"claim":"dept"}},
                {{"kind":"numeric","slot":2,"claim":"level"}},
                {{"kind":"date","slot":1,"claim":"hired"}}],
            "initial_roles":["Viewer"]}}"#
        ))
    })
}

fn others() -> &'static [Verifier] {
    static V: OnceLock<Vec<Verifier>> = OnceLock::new();
    V.get_or_init(|| {
        let rsa = include_str!("../../tests/data/keys/rsa2048_public.pem");
        let jwks = include_str!("../../tests/data/jwks/public_jwks.json");
        let jwks: serde_json::Value = serde_json::from_str(jwks).unwrap();
        let mut keys = Vec::new();
        for (name, kid) in [("rsa2048", "rsa"), ("p256", "ec"), ("p384", "ec384"), ("ed25519", "ed")] {
            let mut key = jwks[name].clone();
            key["kid"] = kid.into();
            keys.push(key);
        }
        keys.push(serde_json::json!({"kty": "oct", "kid": "hmac",
            "k": "ZnV6ei1zaGFyZWQtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWYtMDEyMzQ1Njc4OWFiY2RlZi0wMTIzNDU2Nzg5YQ"}));
        let all: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
        vec![
            config(
                &serde_json::json!({"name": "fuzz-rs", "token_name": "t", "algorithms": ["RS256", "PS256"],
                    "issuer": "https://idp.example.com", "audience": "bi-server",
                    "key_source": {"type": "static", "public_key_pem": rsa},
                    "expiration_time": 3600, "claims": {"user_id": "sub"}})
                .to_string(),
            ),
            config(
                &serde_json::json!({"name": "fuzz-jwks", "token_name": "t", "algorithms": all,
                    "key_source": {"type": "jwks", "jwks": {"keys": keys}},
                    "expiration_time": 3600, "claims": {"user_id": "sub"}, "max_token_bytes": 65536})
                .to_string(),
            ),
        ]
    })
}

/// Whether the input itself carries the secret's text (raw, or in a base64url
/// segment): then an error may quote it back (e.g. as the `alg` it names)
/// without leaking anything. The first crash of this target was exactly that.
fn carries_secret(input: &[u8]) -> bool {
    use base64::Engine;
    let has = |bytes: &[u8]| bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes());
    has(input)
        || input.split(|b| *b == b'.').any(|segment| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(segment)
                .is_ok_and(|decoded| has(&decoded))
        })
}

/// Every way an error is shown must work, never show the secret (unless the
/// input brought it), and hold no raw control character (messages are logged).
fn render(error: &Error, input: &[u8]) {
    let quoted = carries_secret(input);
    for text in [
        error.to_string(),
        format!("{error:?}"),
        error.to_json().to_string(),
    ] {
        assert!(
            quoted || !text.contains(SECRET),
            "an error shows the secret: {text}"
        );
    }
    let message = error.to_string();
    assert!(
        !message.chars().any(char::is_control),
        "a control character in a message: {message:?}"
    );
    assert!(!error.hint().is_empty());
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let Ok(token) = std::str::from_utf8(rest) else {
            return;
        };
        for verifier in std::iter::once(hmac()).chain(others()) {
            match verifier.verify_cached(token) {
                Ok(identity) => panic!("an unsigned input verified: {identity:?}"),
                Err(error) => render(&error, rest),
            }
        }
        return;
    }
    let (header, payload): (&[u8], &[u8]) = if mode % 4 == 1 {
        (br#"{"alg":"HS256"}"#, rest)
    } else {
        match rest.iter().position(|b| *b == 0) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, b"{}"),
        }
    };
    let key = SigningKey::from_secret(SECRET.as_bytes());
    let token = key.sign_raw(Algorithm::HS256, header, payload).expect("HS256 signs anything");
    match hmac().verify_cached(&token) {
        Ok(identity) => {
            assert!(
                !identity.user_id.is_empty(),
                "an identity without a user ID"
            );
            serde_json::to_string(&identity).expect("an identity serialises");
        }
        Err(error) => render(&error, rest),
    }
});
