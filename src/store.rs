//! The host's users: the `UserStore` trait, an in-memory store, and the login
//! flow (verify → find → create on first login).

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::config::JwtConfig;
use crate::error::Error;
use crate::map::MappedIdentity;
use crate::registry::Registry;

/// A user as the login flow sees it.
///
/// Created on first login from the [`MappedIdentity`]: `user_type` and
/// `roles` come from the configuration (`user_type`, `initial_roles`) and the
/// token's mapped roles. Later logins find the user and keep its type and
/// roles, whatever later tokens carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user ID (the configuration's `claims.user_id`).
    pub user_id: String,
    /// The user type given at creation, e.g. `reader`.
    pub user_type: String,
    /// The roles given at creation.
    pub roles: Vec<String>,
    /// The display name, when the token carried one.
    pub name: Option<String>,
    /// The email address, when the token carried one.
    pub email: Option<String>,
    /// The name of the configuration whose login created the user; `None`
    /// for a user the host created itself (any configuration may log it in).
    #[serde(default)]
    pub created_by_config: Option<String>,
}

impl User {
    /// The user a first login creates from `identity`.
    pub fn from_identity(identity: &MappedIdentity) -> Self {
        User {
            user_id: identity.user_id.clone(),
            user_type: identity.user_type.clone(),
            roles: identity.roles.clone(),
            name: identity.name.clone(),
            email: identity.email.clone(),
            created_by_config: Some(identity.config.clone()),
        }
    }
}

/// What a [`UserStore`] reports when it fails.
///
/// Any `std::error::Error + Send + Sync` converts into
/// [`StoreError::Failed`] with `?`. The login flow carries it into
/// [`Error::Store`] (kind `store`) with the store's error as its `source`.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// [`UserStore::create`] found the user ID taken: another login created
    /// the user first. The login flow then finds the user instead.
    Conflict,
    /// Anything else: the database is down, a query failed, …
    Failed(Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// A failure from any error or message.
    pub fn failed(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError::Failed(error.into())
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for StoreError {
    fn from(error: E) -> Self {
        StoreError::Failed(Box::new(error))
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Conflict => f.write_str("a user with this ID already exists"),
            StoreError::Failed(error) => error.fmt(f),
        }
    }
}

/// Where a host keeps its users. Implement it over the host's database.
///
/// The methods are `async` and the store is shared between concurrent
/// logins (`Send + Sync`). Write them as `async fn` in the `impl`.
///
/// **Uniqueness:** `create` must insert atomically and report an existing
/// user ID as [`StoreError::Conflict`] (e.g. a primary-key violation), never
/// overwrite it. Two first logins of one user can race between `find` and
/// `create`; the loser gets `Conflict`, and [`Authenticator`] finds the
/// winner's user instead, so exactly one user is created.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use jwt_sso::{MappedIdentity, StoreError, User, UserStore};
///
/// /// A store over a map; a real one would use the host's database.
/// #[derive(Default)]
/// struct Users(Mutex<HashMap<String, User>>);
///
/// impl UserStore for Users {
///     async fn find(&self, user_id: &str) -> Result<Option<User>, StoreError> {
///         Ok(self.0.lock().unwrap().get(user_id).cloned())
///     }
///
///     async fn create(&self, identity: &MappedIdentity) -> Result<User, StoreError> {
///         let user = User::from_identity(identity);
///         let mut users = self.0.lock().unwrap();
///         if users.contains_key(&user.user_id) {
///             return Err(StoreError::Conflict); // like a primary-key violation
///         }
///         users.insert(user.user_id.clone(), user.clone());
///         Ok(user)
///     }
/// }
/// ```
pub trait UserStore: Send + Sync {
    /// The user with this ID, if any.
    fn find(&self, user_id: &str) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Creates the user of a first login, usually
    /// [`User::from_identity`]`(identity)` (the identity also offers the
    /// prompts and the configuration name). An existing user ID is
    /// [`StoreError::Conflict`].
    fn create(
        &self,
        identity: &MappedIdentity,
    ) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// Saves a changed name or email of an existing user (called only when
    /// [`Authenticator::update_profiles`] is on). The default refuses with a
    /// store error, so that turning that option on without implementing this
    /// fails loudly rather than silently.
    fn update_profile(&self, user: &User) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = user;
        async {
            Err(StoreError::failed(
                "this user store does not implement update_profile",
            ))
        }
    }
}

/// The key of a used `jti` (CONTRACT section 6): a `single_use` token is
/// accepted once per (configuration, `iss`, `jti`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct JtiKey<'a> {
    /// The configuration that accepted the token.
    pub config: &'a str,
    /// The token's `iss` (`""` when the token has none).
    pub issuer: &'a str,
    /// The token's `jti`.
    pub jti: &'a str,
}

/// Where the used `jti`s of `single_use` configurations are remembered.
///
/// **Atomicity:** [`ReplayStore::record`] must be an atomic insert-if-absent
/// (a unique key plus insert-on-conflict-do-nothing in SQL): of any number of
/// racing calls with one key, exactly one returns `Ok(true)`.
pub trait ReplayStore: Send + Sync {
    /// Records `key` as used until `expires_at` (seconds since 1970: the
    /// token's `exp` + leeway). `Ok(true)` when it was not recorded before
    /// (or its earlier record had expired at `now`), `Ok(false)` when it was:
    /// a replay. A store that cannot record (down, full) returns an error,
    /// never `Ok(true)`.
    fn record(
        &self,
        key: JtiKey<'_>,
        expires_at: i64,
        now: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets every record whose `expires_at` is at or before `now`; returns how many.
    fn purge_expired(&self, now: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// A login session of the host (the `X-Auth-Token` of CONTRACT section 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The user the session belongs to.
    pub user_id: String,
    /// The configuration the login came through.
    pub config: String,
    /// When the session was made (seconds since 1970).
    pub created_at: i64,
    /// When the session ends (seconds since 1970).
    pub expires_at: i64,
}

/// Where sessions live. Sessions are stored under an `id` that is the
/// SHA-256 (hex) of the opaque token handed to the client, never the token.
pub trait SessionStore: Send + Sync {
    /// Stores a new session. Then, if the user holds more than
    /// `max_per_user` unexpired sessions, ends the oldest ones (by
    /// `created_at`) so that `max_per_user` remain. The work done must not
    /// grow with the total number of sessions (an index on the user).
    fn insert(
        &self,
        id: &str,
        session: &Session,
        max_per_user: usize,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session stored under `id`, if it exists and `now < expires_at`.
    fn get(
        &self,
        id: &str,
        now: i64,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Ends the session; `Ok(true)` when there was one.
    fn remove(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes every session with `expires_at <= now`; returns how many.
    fn purge_expired(&self, now: i64) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// One change to the stored configurations.
#[derive(Debug, Clone, Copy)]
pub enum ConfigChange<'a> {
    /// A new configuration; a taken name (case-insensitive) is [`StoreError::Conflict`].
    Create(&'a JwtConfig),
    /// Replaces the configuration named `name` (case-insensitive) if its
    /// stored version is still `expected_version`, else [`StoreError::Conflict`].
    Update {
        /// The configuration's current name.
        name: &'a str,
        /// The version the change is based on.
        expected_version: &'a str,
        /// The new configuration (its name may differ from `name`).
        config: &'a JwtConfig,
    },
    /// Deletes the configuration named `name` (case-insensitive).
    Delete {
        /// The configuration's name.
        name: &'a str,
    },
}

/// Where a registry's configurations are saved (a file, or a database shared
/// by several instances).
///
/// A configuration's version is [`JwtConfig::version`] of what is stored, so
/// every instance computes the same `ETag` for the same configuration.
pub trait ConfigStore: Send + Sync {
    /// Every stored configuration, with the store's revision (a number that
    /// changes whenever any instance applies a change).
    fn load(&self) -> impl Future<Output = Result<(Vec<JwtConfig>, u64), StoreError>> + Send;

    /// Applies `change` atomically; `after` is the whole set as it is once
    /// the change is applied (a file store writes it; a database applies the
    /// change alone, checking versions and names in the database). A failed
    /// apply leaves the stored data as it was. Returns the new revision.
    fn apply(
        &self,
        change: ConfigChange<'_>,
        after: &[JwtConfig],
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The current revision, cheap enough to poll every second.
    fn revision(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// A [`UserStore`] in memory: for tests, trials and single-process hosts
/// that keep no users across restarts.
#[derive(Debug, Default)]
pub struct MemoryStore {
    users: Mutex<HashMap<String, User>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// Every user, sorted by user ID.
    pub fn users(&self) -> Vec<User> {
        let mut users: Vec<User> = self.lock().values().cloned().collect();
        users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        users
    }

    /// How many users the store holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether the store holds no user.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Each operation is one map access, so a poisoned lock holds a consistent map.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, User>> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl UserStore for MemoryStore {
    async fn find(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.lock().get(user_id).cloned())
    }

    async fn create(&self, identity: &MappedIdentity) -> Result<User, StoreError> {
        let user = User::from_identity(identity);
        let mut users = self.lock();
        if users.contains_key(&user.user_id) {
            return Err(StoreError::Conflict);
        }
        users.insert(user.user_id.clone(), user.clone());
        Ok(user)
    }

    async fn update_profile(&self, user: &User) -> Result<(), StoreError> {
        match self.lock().get_mut(&user.user_id) {
            Some(stored) => {
                stored.name = user.name.clone();
                stored.email = user.email.clone();
                Ok(())
            }
            None => Err(StoreError::failed(format!(
                "no user `{}` to update",
                user.user_id
            ))),
        }
    }
}

/// The outcome of a successful login.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// Whether this login created the user.
    pub first_login: bool,
    /// The user as the store holds it (type and roles from its creation).
    pub user: User,
    /// The verified identity of this login.
    pub identity: MappedIdentity,
}

/// The login flow: verify the token through a [`Registry`], find the user,
/// and create it on first login.
///
/// ```
/// use std::sync::Arc;
/// use jwt_sso::{Authenticator, FixedClock, MemoryStore, Registry};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), jwt_sso::Error> {
/// let registry = Registry::from_json_str(r#"{
///     "name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
///     "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///     "expiration_time": 3600, "claims": {"user_id": "sub", "roles": "groups"},
///     "user_type": "analyst", "initial_roles": ["Viewer"]
/// }"#)?
/// .with_clock(FixedClock(1_767_225_600));
/// let auth = Authenticator::new(Arc::new(registry), MemoryStore::new());
///
/// let sign = |groups: &[&str]| jwt_sso::mint::sign_json(
///     &jwt_sso::mint::SigningKey::from_secret(b"erp-secret-of-at-least-32-bytes!!"),
///     jwt_sso::Algorithm::HS256,
///     &serde_json::json!({"iss": "https://erp.example.com", "sub": "jdoe",
///                         "groups": groups, "exp": 1_767_229_200}),
/// );
///
/// let first = auth.login(&sign(&["Sales"])?).await?;
/// assert!(first.first_login);
/// assert_eq!(first.user.user_type, "analyst");
/// assert_eq!(first.user.roles, ["Viewer", "Sales"]);
///
/// // Later logins find the user and keep its roles.
/// let later = auth.login(&sign(&["Finance"])?).await?;
/// assert!(!later.first_login);
/// assert_eq!(later.user.roles, ["Viewer", "Sales"]);
/// assert_eq!(later.identity.roles, ["Viewer", "Finance"]);
/// assert_eq!(auth.store().len(), 1);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Authenticator<S> {
    registry: Arc<Registry>,
    store: S,
    update_profiles: bool,
}

impl<S: UserStore> Authenticator<S> {
    /// A login flow over `registry` and `store`.
    pub fn new(registry: Arc<Registry>, store: S) -> Self {
        Authenticator {
            registry,
            store,
            update_profiles: false,
        }
    }

    /// Whether later logins save a changed name or email through
    /// [`UserStore::update_profile`] (default: off). Only values the token
    /// carries are taken; an absent claim keeps the stored value. Type and
    /// roles are never changed by a login.
    pub fn update_profiles(mut self, on: bool) -> Self {
        self.update_profiles = on;
        self
    }

    /// The registry tokens are verified with.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The user store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Verifies `token` ([`Registry::verify`]), then finds or creates its user.
    pub async fn login(&self, token: &str) -> Result<Login, Error> {
        let identity = self.registry.verify(token)?;
        self.provision(identity).await
    }

    /// [`Authenticator::login`] as if the time were `now` (seconds since 1970).
    pub async fn login_at(&self, token: &str, now: i64) -> Result<Login, Error> {
        let identity = self.registry.verify_at(token, now)?;
        self.provision(identity).await
    }

    /// Finds or creates the user of an identity verified elsewhere.
    ///
    /// Find; if absent, create (first login). When `create` reports
    /// [`StoreError::Conflict`], a concurrent login created the user first:
    /// find it and report a later login. Store failures are
    /// [`Error::Store`].
    pub async fn provision(&self, identity: MappedIdentity) -> Result<Login, Error> {
        let user_id = identity.user_id.as_str();
        if let Some(user) = self.find(user_id).await? {
            return self.later_login(user, identity).await;
        }
        match self.store.create(&identity).await {
            Ok(user) => {
                tracing::info!(
                    target: "jwt_sso",
                    config = %identity.config,
                    user_id = %user.user_id,
                    "first login: user created"
                );
                Ok(Login {
                    first_login: true,
                    user,
                    identity,
                })
            }
            Err(StoreError::Conflict) => match self.find(user_id).await? {
                Some(user) => self.later_login(user, identity).await,
                None => Err(store_error(
                    format!("finding user `{user_id}` after a create conflict"),
                    StoreError::failed(
                        "the store reported the user as existing but cannot find it",
                    ),
                )),
            },
            Err(error) => Err(store_error(format!("creating user `{user_id}`"), error)),
        }
    }

    async fn find(&self, user_id: &str) -> Result<Option<User>, Error> {
        self.store
            .find(user_id)
            .await
            .map_err(|e| store_error(format!("finding user `{user_id}`"), e))
    }

    async fn later_login(&self, mut user: User, identity: MappedIdentity) -> Result<Login, Error> {
        if self.update_profiles {
            let name = identity.name.clone().or_else(|| user.name.clone());
            let email = identity.email.clone().or_else(|| user.email.clone());
            if name != user.name || email != user.email {
                user.name = name;
                user.email = email;
                self.store.update_profile(&user).await.map_err(|e| {
                    store_error(
                        format!("updating the profile of user `{}`", user.user_id),
                        e,
                    )
                })?;
            }
        }
        Ok(Login {
            first_login: false,
            user,
            identity,
        })
    }
}

fn store_error(action: String, error: StoreError) -> Error {
    let source = match error {
        StoreError::Failed(source) => source,
        StoreError::Conflict => StoreError::Conflict.to_string().into(),
    };
    Error::Store { action, source }
}
