//! `Configs::sync`: the owner's registry kept in step with a shared
//! configuration store. Against a real SQLite file opened by two "instances"
//! and a loopback JWKS server that counts requests: changes made through the
//! other handle reach the registry, unchanged configurations keep their warm
//! key cache (0 fetches), a changed key source starts cold; a store that
//! fails is retried and a refused set is kept out; a local change never
//! interleaves with a poll; dropping the task stops it.

#![cfg(all(feature = "remote", feature = "sqlite"))]

use crate::support::fixtures::TempDir;
use crate::support::provider as support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::support::idp::*;
use crate::support::owner::{config_field, live, load_at, refused};
use jwt_sso::{
    ConfigChange, ConfigSet, ConfigStore, Configs, ErrorKind, JwtConfig, MemoryConfigStore,
    Registry, SqlStore, StoreError, StoredConfig, Verification,
};
use serde_json::json;
use support::{Reply, Server};

fn idp_config(url: &str) -> JwtConfig {
    remote_config("IdP", json!({"type": "jwks_uri", "url": url}), IDP)
}

/// What `registry` makes of `token` now (fetching keys as needed).
async fn identity(registry: &Registry, token: &str) -> jwt_sso::Verified {
    let verified = registry.verify(token, Verification::default()).await;
    verified.unwrap_or_else(|e| panic!("refused with `{}`: {e}", e.kind()))
}

fn db(dir: &TempDir) -> String {
    format!("sqlite:{}", dir.join("configs.sqlite").display())
}

/// Waits up to 5 s (the contract's bound) for `f`.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "not within 5 s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn current(store: &SqlStore, name: &str) -> StoredConfig {
    store.load().await.unwrap().get(name).unwrap().clone()
}

async fn update(store: &SqlStore, name: &str, config: &JwtConfig) {
    let version = current(store, name).await.version;
    let change = ConfigChange::Update {
        name: name.into(),
        version,
        config: config.clone(),
    };
    store.apply(&change).await.unwrap();
}

fn crm_config() -> JwtConfig {
    static_config("CRM", "jwt", "https://crm.example.com")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_from_another_instance_arrive_and_unchanged_caches_stay_warm() {
    let dir = TempDir::new("config-sync");
    let jwks = Server::start();
    jwks.set("/jwks", Reply::json(rsa_set(&[("rsa2048", "k1")])));
    jwks.set("/jwks2", Reply::json(rsa_set(&[("rsa2048", "k1")])));

    // "Instance B" seeds the shared database; "instance A" owns its registry from it.
    let other = SqlStore::open(&db(&dir)).await.unwrap();
    assert!(
        other
            .seed(&[idp_config(&jwks.url("/jwks")), erp_config()])
            .await
            .unwrap()
    );
    let store = SqlStore::open(&db(&dir)).await.unwrap();
    let configs = load_at(store.clone(), NOW).await;
    let registry = Arc::clone(configs.registry());
    let task = configs.spawn_sync(Duration::from_millis(50));

    // Warm the IdP's cache: one fetch.
    let t = idp_token("rsa2048", "k1", "jdoe");
    assert_eq!(identity(&registry, &t).await.user_id, "jdoe");
    assert_eq!(jwks.hits("/jwks"), 1);
    let idp_verifier = registry.verifier("idp").unwrap();

    // Another configuration changed, disabled, enabled, a new one created and
    // deleted: each arrives, and the IdP never refetches.
    let mut erp = erp_config();
    erp.audience = Some("bi-server".into());
    update(&other, "erp", &erp).await;
    eventually("the ERP change", || {
        registry.get("erp").unwrap().audience.as_deref() == Some("bi-server")
    })
    .await;
    let e = registry
        .verify(&erp_token("jdoe"), Verification::default())
        .await
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::AudienceMismatch,
        "the new audience is in force"
    );
    // The same version on both instances: the store's.
    assert_eq!(
        configs.get("erp").unwrap().version,
        current(&other, "erp").await.version
    );
    // The IdP's verifier was not even rebuilt.
    assert!(Arc::ptr_eq(
        &idp_verifier,
        &registry.verifier("idp").unwrap()
    ));

    let mut disabled = current(&other, "erp").await.config;
    disabled.enabled = false;
    update(&other, "erp", &disabled).await;
    eventually("ERP disabled", || !registry.get("erp").unwrap().enabled).await;

    other
        .apply(&ConfigChange::Create(crm_config()))
        .await
        .unwrap();
    eventually("CRM created", || registry.get("crm").is_some()).await;
    other
        .apply(&ConfigChange::Delete { name: "CRM".into() })
        .await
        .unwrap();
    eventually("CRM deleted", || registry.get("crm").is_none()).await;

    // An edit of the IdP itself that keeps its key source: still warm.
    let mut idp = current(&other, "idp").await.config;
    idp.user_type = "author".into();
    update(&other, "idp", &idp).await;
    eventually("the IdP edit", || {
        registry.get("idp").unwrap().user_type == "author"
    })
    .await;
    assert_eq!(identity(&registry, &t).await.user_type, "author");
    assert_eq!(
        jwks.hits("/jwks"),
        1,
        "an unchanged key source keeps its cache"
    );

    // A new key source starts cold: one fetch of the new URL.
    let mut moved = current(&other, "idp").await.config;
    moved.key_source = idp_config(&jwks.url("/jwks2")).key_source;
    update(&other, "idp", &moved).await;
    eventually("the new key source", || {
        registry.get("idp").unwrap().key_source == moved.key_source
    })
    .await;
    assert_eq!(identity(&registry, &t).await.user_id, "jdoe");
    assert_eq!((jwks.hits("/jwks"), jwks.hits("/jwks2")), (1, 1));

    // Dropping the handle stops the task: later changes stay out.
    drop(task);
    tokio::time::sleep(Duration::from_millis(100)).await;
    other
        .apply(&ConfigChange::Create(crm_config()))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        live(&registry, "crm"),
        None,
        "a stopped task applies nothing"
    );
    store.close().await;
    other.close().await;
}

/// A memory store that can be down, and whose `load` can be held at a gate
/// (after it read the set) until the test opens it.
struct Flaky {
    inner: MemoryConfigStore,
    down: AtomicBool,
    gate: tokio::sync::Mutex<()>,
}

impl Flaky {
    fn new(configs: impl IntoIterator<Item = JwtConfig>) -> Self {
        Flaky {
            inner: MemoryConfigStore::with_configs(configs),
            down: AtomicBool::new(false),
            gate: tokio::sync::Mutex::new(()),
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::failed("the database is down"))
        } else {
            Ok(())
        }
    }
}

impl ConfigStore for Flaky {
    async fn load(&self) -> Result<ConfigSet, StoreError> {
        self.check()?;
        let read = self.inner.load().await?;
        drop(self.gate.lock().await);
        Ok(read)
    }
    async fn apply(&self, change: &ConfigChange) -> Result<ConfigSet, StoreError> {
        self.check()?;
        self.inner.apply(change).await
    }
    async fn revision(&self) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.revision().await
    }
}

#[tokio::test]
async fn polls_report_failures_keep_the_registry_and_recover() {
    let store = Arc::new(Flaky::new([erp_config()]));
    let configs = load_at(Arc::clone(&store), NOW).await;
    let registry = configs.registry();
    assert_eq!(live(registry, "erp").as_deref(), Some("ERP"));
    assert!(!configs.sync().await.unwrap(), "nothing changed");

    // The store fails: reported, nothing changes, the revision stays unseen.
    store
        .apply(&ConfigChange::Create(crm_config()))
        .await
        .unwrap();
    store.down.store(true, Ordering::SeqCst);
    let e = configs.sync().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Store, "{e:?}");
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        chain = format!("{chain}: {cause}");
        source = cause.source();
    }
    assert!(chain.contains("the database is down"), "{chain}");
    assert_eq!(live(registry, "crm"), None);
    // Back: the next poll applies the change.
    store.down.store(false, Ordering::SeqCst);
    assert!(configs.sync().await.unwrap());
    assert_eq!(live(registry, "crm").as_deref(), Some("CRM"));

    // A set the registry refuses (a configuration another release or a
    // hand edit stored, which parses but never validates) is kept out,
    // reported once, and not retried.
    let mut broken = static_config("Broken", "b", "https://broken.example.com");
    broken.expiration_time = 0;
    store.apply(&ConfigChange::Create(broken)).await.unwrap();
    let error = configs.sync().await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config, "{error}");
    let field = config_field(&error);
    assert!(
        field.starts_with("expiration_time") && field.contains("`Broken`"),
        "{field}"
    );
    assert_eq!(
        live(registry, "broken"),
        None,
        "the refused set is kept out"
    );
    assert_eq!(registry.len(), 2, "the registry keeps what it had");
    assert!(!configs.sync().await.unwrap(), "not retried");
    // The next change is applied again.
    store
        .apply(&ConfigChange::Delete {
            name: "broken".into(),
        })
        .await
        .unwrap();
    assert!(configs.sync().await.unwrap());
    assert_eq!(registry.len(), 2);

    // A change through this owner while the store is down fails and
    // changes nothing; one whose name is taken in the store meanwhile (by
    // another instance) is `duplicate_name`, and the owner serves what the
    // store holds at once.
    store.down.store(true, Ordering::SeqCst);
    let mut portal = crm_config();
    portal.name = "Portal".parse().unwrap();
    portal.issuer = Some("https://portal.example.com".into());
    let e = refused(&configs, ConfigChange::Create(portal.clone())).await;
    assert_eq!(e.kind(), ErrorKind::Store);
    assert_eq!(live(registry, "portal"), None);
    store.down.store(false, Ordering::SeqCst);
    store
        .apply(&ConfigChange::Create(portal.clone()))
        .await
        .unwrap();
    let e = refused(&configs, ConfigChange::Create(portal)).await;
    assert_eq!(e.kind(), ErrorKind::DuplicateName);
    let portal = live(registry, "portal");
    assert_eq!(
        portal.as_deref(),
        Some("Portal"),
        "read again after the conflict"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spawned_task_retries_through_an_outage() {
    let store = Arc::new(Flaky::new([]));
    let configs = load_at(Arc::clone(&store), NOW).await;
    let registry = Arc::clone(configs.registry());
    store
        .apply(&ConfigChange::Create(erp_config()))
        .await
        .unwrap();
    store.down.store(true, Ordering::SeqCst);
    let _task = configs.spawn_sync(Duration::from_millis(20));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        registry.is_empty(),
        "nothing is applied while the store is down"
    );
    store.down.store(false, Ordering::SeqCst);
    eventually("the first load after the outage", || {
        registry.get("erp").is_some()
    })
    .await;
    assert_eq!(identity(&registry, &erp_token("jdoe")).await.config, "ERP");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_change_never_interleaves_with_a_poll() {
    let store = Arc::new(Flaky::new([erp_config()]));
    let configs = Configs::new(Arc::clone(&store)).load().await.unwrap();
    let registry = Arc::clone(configs.registry());

    // Another instance creates CRM; a poll reads the set and is held there.
    store
        .apply(&ConfigChange::Create(crm_config()))
        .await
        .unwrap();
    let gate = store.gate.lock().await;
    let poll = tokio::spawn({
        let configs = configs.clone();
        async move { configs.sync().await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Meanwhile this instance's administrator disables ERP: the change waits
    // for the poll, then applies to what the store holds.
    let erp = configs.get("erp").unwrap();
    let mut disabled = erp.config.clone();
    disabled.enabled = false;
    let change = tokio::spawn({
        let configs = configs.clone();
        async move {
            configs
                .apply(ConfigChange::Update {
                    name: "ERP".into(),
                    version: erp.version,
                    config: disabled,
                })
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!change.is_finished(), "the change waits for the poll");
    assert!(registry.get("erp").unwrap().enabled);
    drop(gate);
    assert!(poll.await.unwrap().unwrap());
    change.await.unwrap().unwrap();

    // Both are in force, and neither undid the other.
    assert!(!registry.get("erp").unwrap().enabled);
    assert_eq!(live(&registry, "crm").as_deref(), Some("CRM"));
    let stored = store.load().await.unwrap();
    assert!(!stored.get("erp").unwrap().config.enabled);
    assert!(!configs.sync().await.unwrap(), "nothing left to apply");
    assert!(!registry.get("erp").unwrap().enabled);
}
