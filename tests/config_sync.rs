//! `ConfigSync`: a registry kept in step with a shared configuration store.
//! Against a real SQLite file opened by two "instances" and a loopback JWKS
//! server that counts requests: changes made through the other handle reach
//! the registry, unchanged configurations keep their warm key cache (0
//! fetches), a changed key source starts cold; a store that fails is retried
//! and a refused set is kept out; dropping the task stops it.

#![cfg(all(feature = "remote", feature = "sqlite"))]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jwt_sso::mint::SigningKey;
use jwt_sso::{
    Algorithm, ConfigChange, ConfigStore, ConfigSync, ErrorKind, JwtConfig, ManualClock,
    MemoryConfigStore, Registry, SqlStore, StoreError, SyncError, SyncOutcome, UnixTime,
    Verification,
};
use serde_json::{Value, json};
use support::{Reply, Server};

const NOW: i64 = 1_767_225_600;
const IDP: &str = "https://idp.example.com";
const ERP: &str = "https://erp.example.com";
const ERP_SECRET: &str = "sync-erp-secret-0123456789abcdef!!";

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn rsa_set(key: &str, kid: &str) -> String {
    let all: Value = serde_json::from_str(&read("jwks/public_jwks.json")).unwrap();
    let mut key = all[key].clone();
    key["kid"] = json!(kid);
    json!({ "keys": [key] }).to_string()
}

fn idp_token(sub: &str) -> String {
    let private = SigningKey::from_pem(&read("keys/rsa2048_private.pem"));
    private
        .sign_with_header(
            Algorithm::RS256,
            &json!({"alg": "RS256", "kid": "k1"}),
            &json!({"iss": IDP, "sub": sub, "exp": NOW + 3600}),
        )
        .unwrap()
}

fn erp_token(sub: &str) -> String {
    SigningKey::from_secret(ERP_SECRET.as_bytes())
        .sign(
            Algorithm::HS256,
            &json!({"iss": ERP, "sub": sub, "exp": NOW + 600}),
        )
        .unwrap()
}

fn config(value: Value) -> JwtConfig {
    JwtConfig::from_json_str(&value.to_string()).unwrap()
}

fn idp_config(url: &str) -> JwtConfig {
    config(json!({
        "name": "IdP", "token_name": "token", "issuer": IDP,
        "algorithms": ["RS256"], "key_source": {"type": "jwks_uri", "url": url},
        "expiration_time": 86400, "claims": {"user_id": "sub"}
    }))
}

fn erp_config() -> JwtConfig {
    config(json!({
        "name": "ERP", "token_name": "token", "issuer": ERP,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": ERP_SECRET},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    }))
}

struct Dir(std::path::PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!("jwt-sso-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Dir(dir)
    }
    fn db(&self) -> String {
        format!("sqlite:{}", self.0.join("configs.sqlite").display())
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits up to 5 s (the contract's bound) for `f`.
async fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "not within 5 s: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn current(store: &SqlStore, name: &str) -> JwtConfig {
    let key = name.to_lowercase();
    store
        .load()
        .await
        .unwrap()
        .0
        .into_iter()
        .find(|c| c.name.to_lowercase() == key)
        .unwrap()
}

async fn update(store: &SqlStore, name: &str, config: &JwtConfig) {
    let version = current(store, name).await.version();
    let change = ConfigChange::Update {
        name,
        expected_version: &version,
        config,
    };
    store.apply(change, &[]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_from_another_instance_arrive_and_unchanged_caches_stay_warm() {
    let dir = Dir::new("config-sync");
    let jwks = Server::start();
    jwks.set("/jwks", Reply::json(rsa_set("rsa2048", "k1")));
    jwks.set("/jwks2", Reply::json(rsa_set("rsa2048", "k1")));

    // "Instance B" seeds the shared database; "instance A" builds its registry from it.
    let other = SqlStore::open(&dir.db()).await.unwrap();
    for c in [idp_config(&jwks.url("/jwks")), erp_config()] {
        other.apply(ConfigChange::Create(&c), &[]).await.unwrap();
    }
    let store = Arc::new(SqlStore::open(&dir.db()).await.unwrap());
    let (configs, revision) = store.load().await.unwrap();
    let registry = Arc::new(
        Registry::from_configs(configs)
            .unwrap()
            .with_clock(ManualClock::new(UnixTime::from_secs(NOW))),
    );
    let task = ConfigSync::new(registry.clone(), store.clone())
        .starting_at(revision)
        .spawn(Duration::from_millis(50));

    // Warm the IdP's cache: one fetch.
    let t = idp_token("jdoe");
    assert_eq!(
        registry
            .verify(&t, Verification::default())
            .await
            .unwrap()
            .user_id,
        "jdoe"
    );
    assert_eq!(jwks.hits("/jwks"), 1);

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

    let mut disabled = current(&other, "erp").await;
    disabled.enabled = false;
    update(&other, "erp", &disabled).await;
    eventually("ERP disabled", || !registry.get("erp").unwrap().enabled).await;

    let crm = config(json!({
        "name": "CRM", "token_name": "jwt", "issuer": "https://crm.example.com",
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": ERP_SECRET},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    }));
    other.apply(ConfigChange::Create(&crm), &[]).await.unwrap();
    eventually("CRM created", || registry.get("crm").is_some()).await;
    other
        .apply(ConfigChange::Delete { name: "CRM" }, &[])
        .await
        .unwrap();
    eventually("CRM deleted", || registry.get("crm").is_none()).await;

    // An edit of the IdP itself that keeps its key source: still warm.
    let mut idp = current(&other, "idp").await;
    idp.user_type = "author".into();
    update(&other, "idp", &idp).await;
    eventually("the IdP edit", || {
        registry.get("idp").unwrap().user_type == "author"
    })
    .await;
    assert_eq!(
        registry
            .verify(&t, Verification::default())
            .await
            .unwrap()
            .user_type,
        "author"
    );
    assert_eq!(
        jwks.hits("/jwks"),
        1,
        "an unchanged key source keeps its cache"
    );

    // A new key source starts cold: one fetch of the new URL.
    let mut moved = current(&other, "idp").await;
    moved.key_source = idp_config(&jwks.url("/jwks2")).key_source;
    update(&other, "idp", &moved).await;
    eventually("the new key source", || {
        registry.get("idp").unwrap().key_source == moved.key_source
    })
    .await;
    registry.verify(&t, Verification::default()).await.unwrap();
    assert_eq!((jwks.hits("/jwks"), jwks.hits("/jwks2")), (1, 1));

    // Dropping the handle stops the task: later changes stay out.
    drop(task);
    tokio::time::sleep(Duration::from_millis(100)).await;
    other.apply(ConfigChange::Create(&crm), &[]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        registry.get("crm").is_none(),
        "a stopped task applies nothing"
    );
    store.close().await;
    other.close().await;
}

/// A configuration store that fails while `down` is set.
/// A memory store that can be down, and whose `load` can let this
/// instance's administrator disable ERP right after the set was read (saved
/// to the store and applied to `local`) while the sync holds the older set.
struct Flaky {
    inner: MemoryConfigStore,
    down: AtomicBool,
    local: std::sync::Mutex<Option<Arc<Registry>>>,
}

impl Flaky {
    fn new(configs: impl IntoIterator<Item = JwtConfig>) -> Self {
        Flaky {
            inner: MemoryConfigStore::with_configs(configs),
            down: AtomicBool::new(false),
            local: std::sync::Mutex::new(None),
        }
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            Err(StoreError::failed("the database is down"))
        } else {
            Ok(())
        }
    }

    async fn disable_erp_locally(&self, registry: &Registry) -> Result<(), StoreError> {
        let mut disabled = registry.get("erp").unwrap();
        disabled.enabled = false;
        let stored = self.inner.load().await?.0;
        let version = stored.iter().find(|c| c.name == "ERP").unwrap().version();
        let change = ConfigChange::Update {
            name: "ERP",
            expected_version: &version,
            config: &disabled,
        };
        self.inner.apply(change, &[]).await?;
        registry.set_enabled("erp", false).unwrap();
        Ok(())
    }
}

impl ConfigStore for Flaky {
    async fn load(&self) -> Result<(Vec<JwtConfig>, u64), StoreError> {
        self.check()?;
        let read = self.inner.load().await?;
        let local = self.local.lock().unwrap().take();
        if let Some(registry) = local {
            self.disable_erp_locally(&registry).await?;
        }
        Ok(read)
    }
    async fn apply(
        &self,
        change: ConfigChange<'_>,
        after: &[JwtConfig],
    ) -> Result<u64, StoreError> {
        self.inner.apply(change, after).await
    }
    async fn revision(&self) -> Result<u64, StoreError> {
        self.check()?;
        self.inner.revision().await
    }
}

#[tokio::test]
async fn polls_report_failures_keep_the_registry_and_recover() {
    let store = Arc::new(Flaky::new([erp_config()]));
    let registry = Arc::new(Registry::new().with_clock(ManualClock::new(UnixTime::from_secs(NOW))));
    let mut sync = ConfigSync::new(registry.clone(), store.clone());
    assert_eq!(sync.revision(), None);

    // Without a starting revision the first poll loads whatever is stored.
    assert_eq!(
        sync.poll().await.unwrap(),
        SyncOutcome::Applied {
            revision: 1,
            configs: 1
        }
    );
    assert!(registry.get("erp").is_some());
    assert_eq!(
        sync.poll().await.unwrap(),
        SyncOutcome::Unchanged { revision: 1 }
    );

    // The store fails: reported, nothing changes, the revision stays unseen.
    let crm = config(json!({
        "name": "CRM", "token_name": "jwt", "issuer": "https://crm.example.com",
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": ERP_SECRET},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    }));
    store.apply(ConfigChange::Create(&crm), &[]).await.unwrap();
    store.down.store(true, Ordering::SeqCst);
    let e = sync.poll().await.unwrap_err();
    assert!(matches!(e, SyncError::Store(_)), "{e:?}");
    let mut chain = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        chain = format!("{chain}: {cause}");
        source = cause.source();
    }
    assert!(chain.contains("the database is down"), "{chain}");
    assert!(registry.get("crm").is_none());
    assert_eq!(sync.revision(), Some(1));
    // Back: the next poll applies the change.
    store.down.store(false, Ordering::SeqCst);
    assert_eq!(
        sync.poll().await.unwrap(),
        SyncOutcome::Applied {
            revision: 2,
            configs: 2
        }
    );
    assert!(registry.get("crm").is_some());

    // A set the registry refuses (a configuration another release or a
    // hand-edit stored with a `token_name` no parameter can have) is kept
    // out, reported once, and not retried.
    let mut broken = config(json!({
        "name": "Broken", "token_name": "b", "issuer": "https://broken.example.com",
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": ERP_SECRET},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    }));
    broken.expiration_time = 0; // parses, but never validates
    store
        .apply(ConfigChange::Create(&broken), &[])
        .await
        .unwrap();
    match sync.poll().await.unwrap_err() {
        SyncError::Rejected { revision, error } => {
            assert_eq!(revision, 3);
            assert_eq!(error.kind(), ErrorKind::Config, "{error}");
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert!(registry.get("broken").is_none());
    assert_eq!(registry.len(), 2, "the registry keeps what it had");
    assert_eq!(
        sync.poll().await.unwrap(),
        SyncOutcome::Unchanged { revision: 3 }
    );
    // The next change is applied again.
    store
        .apply(ConfigChange::Delete { name: "broken" }, &[])
        .await
        .unwrap();
    assert_eq!(
        sync.poll().await.unwrap(),
        SyncOutcome::Applied {
            revision: 4,
            configs: 2
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_spawned_task_retries_through_an_outage() {
    let store = Arc::new(Flaky::new([erp_config()]));
    store.down.store(true, Ordering::SeqCst);
    let registry = Arc::new(Registry::new().with_clock(ManualClock::new(UnixTime::from_secs(NOW))));
    let _task = ConfigSync::new(registry.clone(), store.clone()).spawn(Duration::from_millis(20));
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
    let e = registry
        .verify(&erp_token("jdoe"), Verification::default())
        .await
        .unwrap();
    assert_eq!(e.config, "ERP");
}

#[tokio::test]
async fn a_sync_that_read_the_store_before_a_local_change_does_not_undo_it() {
    let store = Arc::new(Flaky::new([erp_config()]));
    let (configs, revision) = store.load().await.unwrap();
    let registry = Arc::new(Registry::from_configs(configs).unwrap());
    let mut sync = ConfigSync::new(registry.clone(), store.clone()).starting_at(revision);

    // Another instance creates CRM; this instance's administrator disables
    // ERP while the sync reads the store.
    let crm = config(json!({
        "name": "CRM", "token_name": "jwt", "issuer": "https://crm.example.com",
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": ERP_SECRET},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    }));
    let created = store.apply(ConfigChange::Create(&crm), &[]).await.unwrap();
    *store.local.lock().unwrap() = Some(registry.clone());
    assert_eq!(
        sync.poll().await.unwrap(),
        SyncOutcome::Raced { revision: created }
    );
    assert!(
        !registry.get("erp").unwrap().enabled,
        "the local change was undone"
    );
    assert!(registry.get("crm").is_none());

    // The next poll reads the store again and applies both changes.
    assert_eq!(
        sync.poll().await.unwrap(),
        SyncOutcome::Applied {
            revision: created + 1,
            configs: 2
        }
    );
    assert!(!registry.get("erp").unwrap().enabled);
    assert!(registry.get("crm").is_some());
}
