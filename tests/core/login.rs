//! The login flow over the in-memory store: first and later logins, roles
//! kept, `sync_on_login`, store failures, and concurrent first logins.
#![cfg(feature = "admin")]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use jwt_sso::mint::SigningKey;
use jwt_sso::{
    Algorithm, Authenticator, ErrorKind, ManualClock, MemoryStore, Registry, StoreError, UnixTime,
    User, UserStore, Verification,
};
use serde_json::{Value, json};

const NOW: i64 = 1_767_225_600;
const SECRET: &str = "login-flow-secret-0123456789abcdef";
const ISSUER: &str = "https://erp.example.com";

use crate::support::owner;
use crate::support::policies::{accepted, refused};

fn erp_config() -> jwt_sso::JwtConfig {
    let config = json!({
        "name": "ERP", "token_name": "token", "issuer": ISSUER,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET},
        "expiration_time": 3600,
        "claims": {"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
        "user_type": "reader", "initial_roles": ["Viewer"]
    });
    jwt_sso::JwtConfig::from_json_str(&config.to_string()).unwrap()
}

fn registry() -> Arc<Registry> {
    Arc::new(
        Registry::from_configs([erp_config()])
            .unwrap()
            .with_clock(ManualClock::new(UnixTime::from_secs(NOW))),
    )
}

/// The ERP configuration under an owner, for tests that change it.
async fn owned() -> owner::Owned {
    owner::owned([erp_config()], ManualClock::new(UnixTime::from_secs(NOW))).await
}

fn token(claims: Value) -> String {
    let mut claims = claims;
    claims["iss"] = json!(ISSUER);
    claims["exp"] = json!(NOW + 600);
    SigningKey::from_secret(SECRET.as_bytes())
        .sign(Algorithm::HS256, &claims)
        .unwrap()
}

#[tokio::test]
async fn first_login_creates_later_logins_find_and_keep_roles() {
    let owned = owned().await;
    let registry = Arc::clone(owned.registry());
    let auth = Authenticator::new(Arc::clone(&registry), MemoryStore::new());

    let first = accepted(
        &auth,
        &token(json!({"loginname": "jdoe", "name": "Jane Doe", "groups": ["Sales"]})),
    )
    .await;
    assert!(first.first_login);
    assert_eq!(
        first.user,
        User {
            user_id: "jdoe".into(),
            user_type: "reader".into(),
            roles: vec!["Viewer".into(), "Sales".into()],
            name: Some("Jane Doe".into()),
            email: None,
            created_by_config: Some("erp".into()),
        }
    );
    assert_eq!(first.identity.config, "ERP");
    assert_eq!(auth.store().users(), std::slice::from_ref(&first.user));

    // The configuration changes its user type and roles; the token its groups.
    let mut changed = registry.get("ERP").unwrap();
    changed.user_type = "author".into();
    changed.initial_roles = vec!["Editor".into()];
    owned.update("ERP", changed).await;
    let later = accepted(
        &auth,
        &token(json!({"loginname": "jdoe", "name": "Jane Smith", "groups": "Finance"})),
    )
    .await;
    assert!(!later.first_login);
    assert_eq!(
        later.user, first.user,
        "type, roles and (without sync_on_login) name are kept"
    );
    assert_eq!(later.identity.roles, ["Editor", "Finance"]);
    assert_eq!(later.identity.name.as_deref(), Some("Jane Smith"));

    // A new user gets the new configuration's type and roles.
    let other = accepted(&auth, &token(json!({"loginname": 42}))).await;
    assert!(other.first_login);
    assert_eq!(
        (other.user.user_id.as_str(), other.user.user_type.as_str()),
        ("42", "author")
    );
    assert_eq!(other.user.roles, ["Editor"]);
    assert_eq!(auth.store().len(), 2);

    // A rejected token never reaches the store.
    let err = refused(&auth, "not-a-token").await;
    assert_eq!(err.kind(), ErrorKind::Malformed);
    let err = auth
        .login(
            &token(json!({"loginname": "jdoe"})),
            Verification::default().at(UnixTime::from_secs(NOW + 3600)),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Expired);
    assert_eq!(auth.store().len(), 2);
}

#[tokio::test]
async fn sync_on_login_replaces_name_email_and_roles_from_each_login() {
    let owned = owned().await;
    let registry = Arc::clone(owned.registry());
    let mut erp = registry.get("erp").unwrap();
    erp.sync_on_login = true.into();
    owned.update("erp", erp).await;
    let auth = Authenticator::new(Arc::clone(&registry), MemoryStore::new());
    let claims = json!({"loginname": "jdoe", "name": "Jane Doe", "email": "jane@example.com", "groups": ["Sales"]});
    let first = accepted(&auth, &token(claims)).await;
    assert!(first.first_login);
    assert_eq!(first.user.roles, ["Viewer", "Sales"]);

    // Replaced, not merged: an absent email is gone, the roles are this login's.
    let later = accepted(
        &auth,
        &token(json!({"loginname": "jdoe", "name": "Jane Smith", "groups": "Finance"})),
    )
    .await;
    assert!(!later.first_login);
    assert_eq!(later.user.name.as_deref(), Some("Jane Smith"));
    assert_eq!(later.user.email, None);
    assert_eq!(later.user.roles, ["Viewer", "Finance"]);
    assert_eq!(
        later.user.user_type, "reader",
        "`true` does not sync the type"
    );
    assert_eq!(auth.store().users(), std::slice::from_ref(&later.user));

    // Off again: the stored user stays as it is.
    let mut erp = registry.get("erp").unwrap();
    erp.sync_on_login = false.into();
    owned.update("erp", erp).await;
    let off = accepted(
        &auth,
        &token(json!({"loginname": "jdoe", "name": "Someone Else", "groups": ["X"]})),
    )
    .await;
    assert_eq!(off.user, later.user);
    assert_eq!(auth.store().users(), [later.user]);
}

/// A store that fails the way the test says, and counts calls.
#[derive(Default)]
struct ScriptedStore {
    fail_find: bool,
    fail_create: bool,
    /// `create` reports a conflict, as if another login had just created the user.
    conflict: bool,
    /// After a conflict, `find` still finds nothing (a broken store).
    lose_user: bool,
    /// `find` finds a user created by `ERP`, and `update` fails.
    existing_fail_update: bool,
    finds: AtomicUsize,
    creates: AtomicUsize,
}

#[derive(Debug, thiserror::Error)]
#[error("database is down")]
struct DatabaseDown;

impl UserStore for ScriptedStore {
    async fn find(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let n = self.finds.fetch_add(1, Ordering::SeqCst);
        if self.fail_find {
            return Err(StoreError::failed(DatabaseDown));
        }
        if self.existing_fail_update {
            return Ok(Some(User {
                user_id: user_id.into(),
                user_type: "reader".into(),
                roles: vec![],
                name: None,
                email: None,
                created_by_config: Some("ERP".into()),
            }));
        }
        if self.conflict && n > 0 && !self.lose_user {
            return Ok(Some(User {
                user_id: user_id.into(),
                user_type: "administrator".into(),
                roles: vec!["Admin".into()],
                name: None,
                email: None,
                created_by_config: None,
            }));
        }
        Ok(None)
    }

    async fn create(&self, user: &User) -> Result<User, StoreError> {
        self.creates.fetch_add(1, Ordering::SeqCst);
        if self.fail_create {
            return Err(StoreError::failed(DatabaseDown));
        }
        if self.conflict {
            return Err(StoreError::conflict());
        }
        Ok(user.clone())
    }

    async fn update(&self, _user: &User) -> Result<(), StoreError> {
        Err(StoreError::failed(DatabaseDown))
    }
}

/// A store failing at `find`, `create` or `update` refuses the login with
/// `store`, a message naming the step and the user, and the store's error
/// as the source.
#[tokio::test]
async fn store_failures_are_store_errors_with_their_source() {
    // sync_on_login on a store whose update fails: refused with `store`.
    let owned = owned().await;
    let synced = Arc::clone(owned.registry());
    let mut erp = synced.get("erp").expect("ERP");
    erp.sync_on_login = true.into();
    owned.update("erp", erp).await;
    let store = |fail_find, fail_create, existing_fail_update| ScriptedStore {
        fail_find,
        fail_create,
        existing_fail_update,
        ..Default::default()
    };
    let cases = [
        ("finding", registry(), store(true, false, false), json!({})),
        ("creating", registry(), store(false, true, false), json!({})),
        (
            "updating",
            synced,
            store(false, false, true),
            json!({"name": "New"}),
        ),
    ];
    for (step, registry, store, extra) in cases {
        let mut claims = json!({"loginname": "jdoe"});
        claims
            .as_object_mut()
            .expect("claims")
            .extend(extra.as_object().cloned().unwrap_or_default());
        let err = refused(&Authenticator::new(registry, store), &token(claims)).await;
        assert_eq!(err.kind(), ErrorKind::Store, "{step}");
        assert_eq!(err.kind().as_str(), "store", "{step}");
        let message = format!("store failed while {step} user `jdoe`");
        assert_eq!(err.to_string(), message);
        assert_eq!(err.to_json()["kind"], "store", "{step}");
        let source = std::error::Error::source(&err).expect("the store's error is the source");
        let down = source
            .downcast_ref::<DatabaseDown>()
            .map(ToString::to_string);
        assert_eq!(
            down.as_deref(),
            Some("database is down"),
            "{step}: {source}"
        );
    }
}

#[tokio::test]
async fn a_create_conflict_is_retried_as_a_find() {
    let auth = Authenticator::new(
        registry(),
        ScriptedStore {
            conflict: true,
            ..Default::default()
        },
    );
    let login = accepted(&auth, &token(json!({"loginname": "jdoe"}))).await;
    assert!(!login.first_login, "the other login created the user");
    assert_eq!(
        login.user.user_type, "administrator",
        "the stored user is returned"
    );
    assert_eq!(auth.store().finds.load(Ordering::SeqCst), 2);
    assert_eq!(auth.store().creates.load(Ordering::SeqCst), 1);

    let broken = ScriptedStore {
        conflict: true,
        lose_user: true,
        ..Default::default()
    };
    let auth = Authenticator::new(registry(), broken);
    let err = refused(&auth, &token(json!({"loginname": "jdoe"}))).await;
    assert_eq!(err.kind(), ErrorKind::Store);
    assert!(err.to_string().contains("after a create conflict"), "{err}");
}

/// The in-memory store, slowed down in `find` so that concurrent first logins
/// really race between `find` and `create`.
#[derive(Default)]
struct SlowFind {
    inner: MemoryStore,
    conflicts: AtomicUsize,
}

impl UserStore for SlowFind {
    async fn find(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        // Read, then take a while to answer: every login that started before
        // the first create sees no user.
        let found = self.inner.find(user_id).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        found
    }

    async fn create(&self, user: &User) -> Result<User, StoreError> {
        let result = self.inner.create(user).await;
        if result.as_ref().is_err_and(StoreError::is_conflict) {
            self.conflicts.fetch_add(1, Ordering::SeqCst);
        }
        result
    }

    async fn update(&self, user: &User) -> Result<(), StoreError> {
        self.inner.update(user).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_first_logins_create_one_user() {
    let auth = Arc::new(Authenticator::new(registry(), SlowFind::default()));
    let jdoe = token(json!({"loginname": "jdoe", "groups": ["Sales"]}));
    let barrier = Arc::new(tokio::sync::Barrier::new(100));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (auth, jdoe, barrier) = (Arc::clone(&auth), jdoe.clone(), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                auth.login(&jdoe, Verification::default()).await
            })
        })
        .collect();
    let mut first = 0;
    for task in tasks {
        let login = task.await.unwrap().unwrap();
        first += usize::from(login.first_login);
        assert_eq!(login.user.roles, ["Viewer", "Sales"]);
    }
    assert_eq!(first, 1, "exactly one login is the first");
    assert_eq!(auth.store().inner.len(), 1);
    assert!(
        auth.store().conflicts.load(Ordering::SeqCst) > 0,
        "the logins really raced"
    );
}
