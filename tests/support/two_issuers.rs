//! Two HS256 configurations routed by issuer, ERP and CRM, and their tokens:
//! the registry's tests (core) and the configuration owner's (host).

use jwt_sso::{JwtConfig, Registry};
use serde_json::{Value, json};

pub const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
pub const SECRET_A: &str = "registry-secret-a-0123456789abcdef";
pub const SECRET_B: &str = "registry-secret-b-0123456789abcdef";
pub const ERP: &str = "https://erp.example.com";
pub const CRM: &str = "https://crm.example.com";

pub fn config_json(name: &str, issuer: Option<&str>, secret: &str) -> Value {
    let mut config = json!({
        "name": name,
        "token_name": "token",
        "algorithms": ["HS256"],
        "key_source": {"type": "static", "secret": secret},
        "expiration_time": 3600,
        "claims": {"user_id": "sub"},
    });
    if let Some(issuer) = issuer {
        config["issuer"] = json!(issuer);
    }
    config
}

pub fn config(name: &str, issuer: Option<&str>, secret: &str) -> JwtConfig {
    JwtConfig::from_json_str(&config_json(name, issuer, secret).to_string()).unwrap()
}

pub use super::fixtures::sign as token;

pub fn erp_token() -> String {
    token(
        SECRET_A,
        json!({"iss": ERP, "sub": "jdoe", "exp": NOW + 600}),
    )
}

pub fn crm_token() -> String {
    token(
        SECRET_B,
        json!({"iss": CRM, "sub": "jdoe", "exp": NOW + 600}),
    )
}

pub fn names(registry: &Registry) -> Vec<String> {
    registry.list().into_iter().map(|c| c.name.into()).collect()
}
