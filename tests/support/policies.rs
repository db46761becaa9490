//! Shared by the login tests (core: login, login_policies, login_stores;
//! host: login_events): two configurations (ERP, CRM) with static HS256
//! secrets, their tokens, a replay store that is always down, and a login
//! that must be accepted or refused.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use jwt_sso::mint::SigningKey;
use jwt_sso::{
    Algorithm, Authenticator, Error, JwtConfig, Login, ManualClock, Registry, ReplayStore,
    StoreError, UnixTime, UsedJti, UserStore, Verification,
};
use serde_json::{Value, json};

pub const NOW: i64 = 1_767_225_600;
pub const ERP_SECRET: &str = "policy-erp-secret-0123456789abcdef";
pub const CRM_SECRET: &str = "policy-crm-secret-0123456789abcdef";
pub const ERP: &str = "https://erp.example.com";
pub const CRM: &str = "https://crm.example.com";

pub fn config(name: &str, issuer: &str, secret: &str, extra: Value) -> JwtConfig {
    let mut config = json!({
        "name": name, "token_name": "token", "issuer": issuer,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": secret},
        "expiration_time": 3600, "claims": {"user_id": "loginname", "roles": "groups"},
        "user_type": name.to_lowercase(), "initial_roles": [format!("{name} user")]
    });
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    JwtConfig::from_json_str(&config.to_string()).unwrap()
}

pub fn registry(erp: Value, crm: Value) -> Arc<Registry> {
    Arc::new(
        Registry::from_configs([
            config("ERP", ERP, ERP_SECRET, erp),
            config("CRM", CRM, CRM_SECRET, crm),
        ])
        .unwrap()
        .with_clock(ManualClock::new(UnixTime::from_secs(NOW))),
    )
}

pub fn signed(issuer: &str, secret: &str, claims: Value) -> String {
    let mut claims = claims;
    claims["iss"] = json!(issuer);
    if claims.get("exp").is_none() {
        claims["exp"] = json!(NOW + 600);
    }
    SigningKey::from_secret(secret.as_bytes())
        .sign(Algorithm::HS256, &claims)
        .unwrap()
}

pub fn erp(claims: Value) -> String {
    signed(ERP, ERP_SECRET, claims)
}

pub fn single_use() -> Arc<Registry> {
    registry(json!({"single_use": true}), json!({"single_use": true}))
}

pub fn crm(claims: Value) -> String {
    signed(CRM, CRM_SECRET, claims)
}

#[derive(Default)]
pub struct DownReplay {
    pub calls: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
#[error("replay database unreachable")]
pub struct Unreachable;

impl ReplayStore for DownReplay {
    async fn record(&self, _: UsedJti<'_>, _: UnixTime) -> Result<bool, StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(StoreError::failed(Unreachable))
    }
    async fn purge_expired(&self, _: UnixTime) -> Result<u64, StoreError> {
        Err(StoreError::failed(Unreachable))
    }
}

/// A login with `token` at the registry's time that must be accepted.
pub async fn accepted<S: UserStore, R: ReplayStore>(
    auth: &Authenticator<S, R>,
    token: &str,
) -> Login {
    let login = auth.login(token, Verification::default()).await;
    login.unwrap_or_else(|e| panic!("refused with `{}`: {e}", e.kind()))
}

/// A login with `token` at the registry's time that must be refused: its
/// error.
pub async fn refused<S: UserStore, R: ReplayStore>(
    auth: &Authenticator<S, R>,
    token: &str,
) -> Error {
    match auth.login(token, Verification::default()).await {
        Ok(login) => panic!("accepted as {}", login.user.user_id),
        Err(err) => err,
    }
}
