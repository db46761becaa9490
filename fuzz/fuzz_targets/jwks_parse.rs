//! JWK Set parsing, reached as it is in production: through configuration
//! loading with an inline `jwks` key source (the remote sources parse sets the
//! same way). The input is the JWK Set document; a set that loads must then
//! verify tokens without panicking (tokens by known keys, under several `kid`s).

#![no_main]

use std::sync::OnceLock;

use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, JwtConfig, ManualClock, UnixTime, Verifier};
use libfuzzer_sys::fuzz_target;

fn tokens() -> &'static [String] {
    static T: OnceLock<Vec<String>> = OnceLock::new();
    T.get_or_init(|| {
        let claims = serde_json::json!({"sub": "jdoe", "exp": 1_767_226_000});
        let keys = [
            (
                Algorithm::RS256,
                SigningKey::from_pem(include_str!("../../tests/data/keys/rsa2048_private.pem")),
            ),
            (
                Algorithm::PS256,
                SigningKey::from_pem(include_str!("../../tests/data/keys/rsa2048_private.pem")),
            ),
            (
                Algorithm::ES256,
                SigningKey::from_pem(include_str!("../../tests/data/keys/p256_private.pem")),
            ),
            (
                Algorithm::ES384,
                SigningKey::from_pem(include_str!("../../tests/data/keys/p384_private.pem")),
            ),
            (
                Algorithm::EdDSA,
                SigningKey::from_pem(include_str!("../../tests/data/keys/ed25519_private.pem")),
            ),
            (Algorithm::HS256, SigningKey::from_secret(&[0u8; 32])),
        ];
        let mut out = Vec::new();
        for (alg, key) in &keys {
            for kid in [None, Some("a"), Some("1")] {
                let mut header = serde_json::json!({"alg": alg.as_str()});
                if let Some(kid) = kid {
                    header["kid"] = kid.into();
                }
                out.push(key.sign_with_header(*alg, &header, &claims).unwrap());
            }
        }
        out
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(jwks) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let all: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
    let config = serde_json::json!({
        "name": "fuzz", "token_name": "t", "algorithms": all,
        "key_source": {"type": "jwks", "jwks": jwks},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    });
    match JwtConfig::from_json_str(&config.to_string()).and_then(JwtConfig::validate) {
        Ok(valid) => {
            let verifier =
                Verifier::new(valid).with_clock(ManualClock::new(UnixTime::from_secs(1_767_225_600)));
            let _ = format!("{verifier:?}");
            for token in tokens() {
                if let Err(error) = verifier.verify_cached(token) {
                    let _ = (error.to_string(), format!("{error:?}"));
                }
            }
        }
        Err(error) => {
            let _ = (error.to_string(), format!("{error:?}"), error.hint());
        }
    }
});
