//! An identity provider with the RS256 keys of tests/data, whose JWK Sets
//! a test serves from `provider::Server`, and a static HS256 ERP beside it:
//! the fixtures of the host tier's remote-key tests (login_remote,
//! config_sync).

use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, JwtConfig};
use serde_json::{Value, json};

/// The provider's issuer is the core tier's.
pub use super::fixtures::{ISSUER as IDP, NOW};
use super::fixtures::{data_json, key_pem, sign};

pub const ERP: &str = "https://erp.example.com";
pub const ERP_SECRET: &str = "remote-erp-secret-0123456789abcdef";

/// A JWK Set of RSA test keys, each `(key name, kid)`.
pub fn rsa_set(keys: &[(&str, &str)]) -> String {
    let all = data_json("jwks/public_jwks.json");
    let keys: Vec<Value> = keys
        .iter()
        .map(|(name, kid)| {
            let mut key = all[*name].clone();
            key["kid"] = json!(kid);
            key
        })
        .collect();
    json!({ "keys": keys }).to_string()
}

/// An RS256 token of the IdP for `sub`, signed with `key`, header `kid`.
pub fn idp_token(key: &str, kid: &str, sub: &str) -> String {
    let private = SigningKey::from_pem(&key_pem(&format!("{key}_private.pem")));
    private
        .sign_with_header(
            Algorithm::RS256,
            &json!({"alg": "RS256", "kid": kid}),
            &json!({"iss": IDP, "sub": sub, "exp": NOW + 3600}),
        )
        .expect("a token")
}

/// An HS256 token of ERP for `sub`.
pub fn erp_token(sub: &str) -> String {
    let claims = json!({"iss": ERP, "sub": sub, "exp": NOW + 600});
    sign(ERP_SECRET, claims)
}

fn config(value: Value) -> JwtConfig {
    JwtConfig::from_json_str(&value.to_string()).expect("a configuration")
}

/// An RS256 configuration with `key_source` (remote or not).
pub fn remote_config(name: &str, key_source: Value, issuer: &str) -> JwtConfig {
    config(json!({
        "name": name, "token_name": "token", "issuer": issuer,
        "algorithms": ["RS256"], "key_source": key_source,
        "expiration_time": 86400, "claims": {"user_id": "sub"}
    }))
}

/// An HS256 configuration with ERP's secret.
pub fn static_config(name: &str, token_name: &str, issuer: &str) -> JwtConfig {
    config(json!({
        "name": name, "token_name": token_name, "issuer": issuer,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": ERP_SECRET},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    }))
}

pub fn erp_config() -> JwtConfig {
    static_config("ERP", "token", ERP)
}
