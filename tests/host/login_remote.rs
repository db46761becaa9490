//! Remote key sources through `Registry` and `Authenticator`, against a real
//! JWKS server on 127.0.0.1 that counts requests: a cold cache fetches once,
//! later logins not at all, a rotation refetches once, stale keys serve
//! through an outage, and edits keep warm caches (0 fetches) unless they
//! change the key source. Cache time is a `ManualClock`, so nothing sleeps.

#![cfg(all(feature = "remote", feature = "admin"))]

use crate::support::provider as support;

use std::sync::Arc;
use std::time::Duration;

use crate::support::owner;

use crate::support::idp::*;
use jwt_sso::{
    Authenticator, ConfigChange, ConfigStore, ErrorKind, JwtConfig, ManualClock, MemoryStore,
    Registry, Route, UnixTime, Verification,
};
use serde_json::json;
use support::{Reply, Server};

/// A server with `k1` at /jwks; a `jwks_uri` configuration (IdP) of it
/// beside a static one (ERP); a manual cache clock.
fn provider() -> (Server, [JwtConfig; 2], ManualClock) {
    let server = Server::start();
    server.set("/jwks", Reply::json(rsa_set(&[("rsa2048", "k1")])));
    let key_source = json!({"type": "jwks_uri", "url": server.url("/jwks")});
    let idp = remote_config("IdP", key_source, IDP);
    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    (server, [idp, erp_config()], clock)
}

/// [`provider`]'s configurations in a registry on its clock.
fn setup() -> (Server, Arc<Registry>, ManualClock) {
    let (server, configs, clock) = provider();
    let registry = Registry::from_configs(configs).expect("a valid set");
    (server, Arc::new(registry.with_clock(clock.clone())), clock)
}

/// [`setup`] under an owner, for the tests that change configurations.
async fn owned_setup() -> (Server, owner::Owned, ManualClock) {
    let (server, configs, clock) = provider();
    let owned = owner::owned(configs, clock.clone()).await;
    (server, owned, clock)
}

#[tokio::test]
async fn the_registry_fetches_on_a_cold_cache_then_serves_from_it() {
    let (server, registry, clock) = setup();
    let t = idp_token("rsa2048", "k1", "jdoe");
    // The synchronous path never fetches.
    assert_eq!(
        registry.verify_cached(&t, pinned()).unwrap_err().kind(),
        ErrorKind::KeyFetch
    );
    assert_eq!(server.total(), 0);
    // Cold: one fetch; then none.
    assert_eq!(registry.verify(&t, pinned()).await.unwrap().user_id, "jdoe");
    assert_eq!(server.hits("/jwks"), 1);
    for _ in 0..3 {
        registry.verify(&t, pinned()).await.unwrap();
    }
    assert_eq!(
        registry.verify_cached(&t, pinned()).unwrap().user_id,
        "jdoe"
    );
    registry
        .verify(&t, pinned().route(Route::Config("idp")))
        .await
        .unwrap();
    registry
        .verify(&t, pinned().route(Route::TokenName("token")))
        .await
        .unwrap();
    assert_eq!(server.hits("/jwks"), 1);

    // Rotation: a token with a new `kid` triggers one refetch.
    server.set(
        "/jwks",
        Reply::json(rsa_set(&[("rsa2048", "k1"), ("rsa2048b", "k2")])),
    );
    let rotated = idp_token("rsa2048b", "k2", "jdoe");
    registry.verify(&rotated, pinned()).await.unwrap();
    registry.verify(&rotated, pinned()).await.unwrap();
    assert_eq!(server.hits("/jwks"), 2);

    // Outage: past freshness the refresh fails, the stale keys keep serving.
    server.set("/jwks", Reply::status(503, "down"));
    clock.advance(Duration::from_secs(11 * 60));
    assert_eq!(
        registry.verify(&rotated, pinned()).await.unwrap().user_id,
        "jdoe"
    );
    assert_eq!(registry.verify(&t, pinned()).await.unwrap().user_id, "jdoe");
    assert_eq!(server.hits("/jwks"), 3, "one failed refresh attempt");
}

#[tokio::test]
async fn edits_keep_warm_caches_unless_the_key_source_changes() {
    let (server, owned, _clock) = owned_setup().await;
    let registry = Arc::clone(owned.registry());
    let t = idp_token("rsa2048", "k1", "jdoe");
    registry.verify(&t, pinned()).await.unwrap();
    assert_eq!(server.hits("/jwks"), 1);

    // Edits of another configuration: 0 fetches.
    let mut erp = registry.get("erp").unwrap();
    erp.audience = Some("bi".into());
    owned.update("erp", erp).await;
    owned.set_enabled("erp", false).await;
    owned.set_enabled("erp", true).await;
    owned
        .create(remote_config(
            "Other",
            json!({"type": "jwks_uri", "url": server.url("/other")}),
            "https://other.example.com",
        ))
        .await;
    owned.delete("other").await;
    registry.verify(&t, pinned()).await.unwrap();
    assert_eq!(server.hits("/jwks"), 1);

    // Edits of this configuration that leave its key source: 0 fetches.
    let mut idp = registry.get("idp").unwrap();
    idp.user_type = "author".into();
    idp.leeway = 30;
    owned.update("idp", idp.clone()).await;
    assert_eq!(
        registry.verify(&t, pinned()).await.unwrap().user_type,
        "author"
    );
    owned.set_enabled("idp", false).await;
    assert_eq!(
        registry
            .verify(&t, pinned().route(Route::Config("idp")))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Disabled
    );
    owned.set_enabled("idp", true).await;
    idp.name = "IdP renamed".parse().unwrap();
    owned.update("idp", idp.clone()).await;
    assert_eq!(
        registry.verify(&t, pinned()).await.unwrap().config,
        "IdP renamed"
    );
    // The synchronous path sees the kept keys too.
    assert_eq!(
        registry.verify_cached(&t, pinned()).unwrap().config,
        "IdP renamed"
    );
    // Every configuration changed by another instance, then synced:
    // unchanged sources stay warm.
    for stored in owned.store.load().await.unwrap().configs {
        let mut config = stored.config.clone();
        config.created_by = Some("elsewhere".into());
        let change = ConfigChange::Update {
            name: config.name.to_string(),
            version: stored.version,
            config,
        };
        owned.store.apply(&change).await.unwrap();
    }
    assert!(owned.configs.sync().await.unwrap());
    assert_eq!(
        registry.get("idp renamed").unwrap().created_by.as_deref(),
        Some("elsewhere")
    );
    registry.verify(&t, pinned()).await.unwrap();
    assert_eq!(server.hits("/jwks"), 1);

    // A new URL (or new algorithms) is a new key source: a cold cache.
    server.set("/jwks2", Reply::json(rsa_set(&[("rsa2048", "k1")])));
    idp.key_source =
        serde_json::from_value(json!({"type": "jwks_uri", "url": server.url("/jwks2")})).unwrap();
    owned.update("idp renamed", idp.clone()).await;
    registry.verify(&t, pinned()).await.unwrap();
    assert_eq!(server.hits("/jwks2"), 1);
    idp.algorithms = vec![jwt_sso::Algorithm::RS256, jwt_sso::Algorithm::PS256];
    owned.update("idp renamed", idp).await;
    registry.verify(&t, pinned()).await.unwrap();
    assert_eq!(server.hits("/jwks2"), 2);
    assert_eq!(server.hits("/jwks"), 1);
}

#[tokio::test]
async fn warm_up_fetches_every_enabled_remote_configuration_and_reports_failures() {
    let server = Server::start();
    server.set("/a", Reply::json(rsa_set(&[("rsa2048", "k1")])));
    server.set("/b", Reply::status(500, "nope"));
    server.set(
        "/.well-known/openid-configuration",
        Reply::json(json!({"issuer": server.url(""), "jwks_uri": server.url("/a")}).to_string()),
    );
    let issuer = server.url("");
    let owned = owner::owned(
        [
            remote_config(
                "A",
                json!({"type": "jwks_uri", "url": server.url("/a")}),
                IDP,
            ),
            remote_config(
                "B",
                json!({"type": "jwks_uri", "url": server.url("/b")}),
                "https://b.example.com",
            ),
            remote_config("D", json!({"type": "issuer"}), &issuer),
            erp_config(),
        ],
        ManualClock::new(UnixTime::from_secs(NOW)),
    )
    .await;
    let registry = owned.registry();
    let mut off = registry.get("b").unwrap();
    off.name = "Off".parse().unwrap();
    off.enabled = false;
    off.issuer = Some("https://off.example.com".into());
    owned.create(off).await;

    let failures = registry.warm_up().await;
    let names: Vec<&str> = failures.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["B"]);
    assert_eq!(failures[0].1.kind(), ErrorKind::KeyFetch);
    assert_eq!(server.hits("/b"), 1, "the disabled copy is not fetched");
    assert_eq!(server.hits("/.well-known/openid-configuration"), 1);
    assert_eq!(server.hits("/a"), 2, "A and D's discovered jwks_uri");
    // Warm: the synchronous path works at once.
    let t = idp_token("rsa2048", "k1", "jdoe");
    assert_eq!(registry.verify_cached(&t, pinned()).unwrap().config, "A");
    assert_eq!(server.hits("/a"), 2);
}

#[tokio::test]
async fn logins_through_remote_configurations_fetch_once_and_keep_caches() {
    let (server, owned, clock) = owned_setup().await;
    let registry = Arc::clone(owned.registry());
    let auth = Authenticator::new(Arc::clone(&registry), MemoryStore::new());
    // Cold cache: one fetch, the user is created.
    let t = idp_token("rsa2048", "k1", "jdoe");
    let first = auth.login(&t, pinned()).await.unwrap();
    assert!(first.first_login);
    assert_eq!(first.user.created_by_config.as_deref(), Some("idp"));
    assert_eq!(server.hits("/jwks"), 1);
    // Second login: none.
    assert!(!auth.login(&t, pinned()).await.unwrap().first_login);
    assert_eq!(server.hits("/jwks"), 1);
    // An administrator edits another configuration: still none.
    let mut erp = registry.get("erp").unwrap();
    erp.user_type = "analyst".into();
    owned.update("erp", erp).await;
    auth.login(&erp_token("erp-user"), pinned()).await.unwrap();
    auth.login(&t, pinned()).await.unwrap();
    assert_eq!(server.hits("/jwks"), 1);
    // And this one, leaving its key source: none.
    let mut idp = registry.get("idp").unwrap();
    idp.initial_roles = vec!["Viewer".into()];
    owned.update("idp", idp).await;
    let second = auth
        .login(&idp_token("rsa2048", "k1", "new-user"), pinned())
        .await
        .unwrap();
    assert_eq!(second.user.roles, ["Viewer"]);
    assert_eq!(server.hits("/jwks"), 1);
    // Rotation: one refetch.
    server.set("/jwks", Reply::json(rsa_set(&[("rsa2048b", "k2")])));
    auth.login(&idp_token("rsa2048b", "k2", "jdoe"), pinned())
        .await
        .unwrap();
    auth.login(&idp_token("rsa2048b", "k2", "jdoe"), pinned())
        .await
        .unwrap();
    assert_eq!(server.hits("/jwks"), 2);
    // Outage with stale keys: logins go on.
    server.set("/jwks", Reply::status(500, "down"));
    clock.advance(Duration::from_secs(11 * 60));
    auth.login(&idp_token("rsa2048b", "k2", "jdoe"), pinned())
        .await
        .unwrap();
    assert_eq!(server.hits("/jwks"), 3);
    // An unknown key during the outage: key_fetch is not the answer, the
    // stale set decides (key_not_found), and nothing more is fetched within
    // the retry period.
    let err = auth
        .login(&idp_token("rsa2048", "k1", "jdoe"), pinned())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyNotFound, "{err}");
    assert_eq!(server.hits("/jwks"), 3);
}

#[tokio::test]
async fn a_cold_cache_that_cannot_fetch_refuses_with_key_fetch_503() {
    let (server, registry, _clock) = setup();
    server.set("/jwks", Reply::status(500, "down"));
    let auth = Authenticator::new(registry, MemoryStore::new());
    let err = auth
        .login(&idp_token("rsa2048", "k1", "jdoe"), pinned())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyFetch);
    // The status is the axum module's (feature `axum`).
    #[cfg(feature = "axum")]
    assert_eq!(err.kind().http_status(), 503);
    assert!(auth.store().is_empty());
    assert_eq!(server.hits("/jwks"), 1);
}

/// Verifications at `NOW`: the token's time stays put while the one clock
/// (the key caches' time) moves.
fn pinned() -> Verification<'static> {
    Verification::default().at(UnixTime::from_secs(NOW))
}
