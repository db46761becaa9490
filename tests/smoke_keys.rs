use jwt_sso::mint::{SigningKey, sign_json};
use jwt_sso::{Algorithm, JwtConfig, Verifier};

fn key(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn every_asymmetric_algorithm_round_trips() {
    let cases = [
        (
            Algorithm::RS256,
            "rsa2048_private.pem",
            "rsa2048_public.pem",
        ),
        (
            Algorithm::PS512,
            "rsa2048_private.pem",
            "rsa2048_public_pkcs1.pem",
        ),
        (Algorithm::RS384, "rsa2048_private.pem", "rsa2048_cert.pem"),
        (Algorithm::ES256, "p256_private.pem", "p256_cert.pem"),
        (Algorithm::ES384, "p384_private.pem", "p384_public.pem"),
        (
            Algorithm::EdDSA,
            "ed25519_private.pem",
            "ed25519_public.pem",
        ),
    ];
    for (alg, private, public) in cases {
        let config = serde_json::json!({
            "name": "t", "token_name": "token", "algorithms": [alg.as_str()],
            "key_source": {"type": "static", "public_key_pem": key(public)},
            "expiration_time": 3600, "claims": {"user_id": "sub"}
        });
        let verifier =
            Verifier::new(JwtConfig::from_json_str(&config.to_string()).unwrap()).unwrap();
        let token = sign_json(
            &SigningKey::from_pem(&key(private)),
            alg,
            &serde_json::json!({"sub": "u", "exp": 1000}),
        )
        .unwrap();
        let id = verifier
            .verify_at(&token, 10)
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(id.user_id, "u");
        let mut bad = token.clone();
        bad.push('A');
        assert!(verifier.verify_at(&bad, 10).is_err());
    }
}
