//! What the login layer stores, as traits a host implements over its
//! database: users ([`UserStore`]), used `jti`s ([`ReplayStore`]), sessions
//! ([`SessionStore`]) and configurations ([`ConfigStore`]); and an in-memory
//! implementation of each (`memory`).

use std::fmt;
use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::config::JwtConfig;
use crate::error::StoreError;
use crate::map::MappedIdentity;
use crate::unix_time::UnixTime;

mod memory;

#[cfg(feature = "admin")]
pub(crate) use memory::apply_to;
pub use memory::{MemoryConfigStore, MemoryStore};

/// A user as the login flow sees it.
///
/// Created on first login from the [`MappedIdentity`]
/// ([`User::from_identity`]): `user_type` and `roles` come from the
/// configuration (`user_type`, `initial_roles`) and the token's mapped roles,
/// and `created_by_config` records the configuration. Later logins find the
/// user and keep its type and roles, whatever later tokens carry, unless the
/// configuration has `sync_on_login` (then the fields it names, of name,
/// email, roles and user type, are replaced from each login's identity).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The user ID (the configuration's `claims.user_id`).
    pub user_id: String,
    /// The user type given at creation, e.g. `reader` (or at the last
    /// login, with `sync_on_login` naming `user_type`).
    pub user_type: String,
    /// The roles given at creation (or at the last login, with `sync_on_login`
    /// naming `roles`).
    pub roles: Vec<String>,
    /// The display name, when the token carried one.
    pub name: Option<String>,
    /// The email address, when the token carried one.
    pub email: Option<String>,
    /// The configuration whose login created the user: its stable id
    /// ([`JwtConfig::stable_id`](crate::JwtConfig::stable_id), which
    /// survives a rename; records from before it hold the name, which is
    /// the default id). `None` for a user the host created itself (any
    /// configuration may log it in).
    #[serde(default)]
    pub created_by_config: Option<String>,
}

impl User {
    /// The user a first login creates from `identity`, with
    /// `created_by_config` set to the identity's configuration name. The
    /// [`Authenticator`](crate::Authenticator) records the configuration's
    /// stable id instead (the same, in lower case, unless the configuration
    /// was renamed); a host that provisions users itself can do the same
    /// with [`JwtConfig::stable_id`](crate::JwtConfig::stable_id).
    pub fn from_identity(identity: &MappedIdentity) -> Self {
        let owned = |s: &Option<crate::CompactString>| s.as_deref().map(str::to_owned);
        User {
            user_id: identity.user_id.as_str().to_owned(),
            user_type: identity.user_type.as_str().to_owned(),
            roles: crate::identity::owned_roles(&identity.roles),
            name: owned(&identity.name),
            email: owned(&identity.email),
            created_by_config: Some(identity.config.as_str().to_owned()),
        }
    }
}

/// Where a host keeps its users. Implement it over the host's database.
///
/// The methods are `async` and the store is shared between concurrent
/// logins (`Send + Sync`). Write them as `async fn` in the `impl`.
///
/// **Uniqueness:** `create` must insert atomically and report an existing
/// user ID as [`StoreError::conflict`] (e.g. a primary-key violation), never
/// overwrite it. Two first logins of one user can race between `find` and
/// `create`; the loser gets `Conflict`, and [`Authenticator`](crate::Authenticator)
/// finds the winner's user instead, so exactly one user is created.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::Mutex;
/// use jwt_sso::{StoreError, User, UserStore};
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
///     async fn create(&self, user: &User) -> Result<User, StoreError> {
///         let mut users = self.0.lock().unwrap();
///         if users.contains_key(&user.user_id) {
///             return Err(StoreError::conflict()); // like a primary-key violation
///         }
///         users.insert(user.user_id.clone(), user.clone());
///         Ok(user.clone())
///     }
///
///     async fn update(&self, user: &User) -> Result<(), StoreError> {
///         match self.0.lock().unwrap().get_mut(&user.user_id) {
///             Some(stored) => {
///                 stored.name = user.name.clone();
///                 stored.email = user.email.clone();
///                 stored.roles = user.roles.clone();
///                 Ok(())
///             }
///             None => Err(StoreError::failed("no such user")),
///         }
///     }
/// }
/// ```
pub trait UserStore: Send + Sync {
    /// The user with this ID (exact match on the already-normalised ID), if any.
    fn find(&self, user_id: &str) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Inserts atomically; an existing user ID is [`StoreError::conflict`]
    /// (never overwrite). Returns the user as stored.
    fn create(&self, user: &User) -> impl Future<Output = Result<User, StoreError>> + Send;

    /// Replaces name, email, roles and user type of an existing user with
    /// `user`'s (`sync_on_login`; the login flow changes only the fields
    /// the configuration lists and passes the others as stored).
    fn update(&self, user: &User) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// A used `jti` (CONTRACT section 6): a `single_use` token is accepted once
/// per (configuration, `iss`, `jti`), and remembered until it could no
/// longer be accepted anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct UsedJti<'a> {
    /// The stable id of the configuration that accepted the token
    /// ([`JwtConfig::stable_id`](crate::JwtConfig::stable_id): a rename
    /// keeps its used `jti`s).
    pub config: &'a str,
    /// The token's `iss` (`""` when the token has none).
    pub issuer: &'a str,
    /// The token's `jti`.
    pub jti: &'a str,
    /// Until when the record must be kept: past the last second at which
    /// the token could be accepted (its `exp` + leeway).
    pub until: UnixTime,
}

/// Where the used `jti`s of `single_use` configurations are remembered.
///
/// **Atomicity:** [`ReplayStore::record`] must be an atomic insert-if-absent
/// (a unique key plus insert-on-conflict-do-nothing in SQL): of any number of
/// racing calls with one key, exactly one returns `Ok(true)`.
pub trait ReplayStore: Send + Sync {
    /// Records `used` (its configuration, issuer and `jti` are the key)
    /// until `used.until`. `Ok(true)` when it was not recorded before (or
    /// its earlier record had expired at `now`), `Ok(false)` when it was: a
    /// replay. A store that cannot record (down, full) returns an error,
    /// never `Ok(true)`.
    fn record(
        &self,
        used: UsedJti<'_>,
        now: UnixTime,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets every record whose `until` is at or before `now`; returns how many.
    fn purge_expired(&self, now: UnixTime) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// A login session of the host (the `X-Auth-Token` of CONTRACT section 6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user the session belongs to.
    pub user_id: String,
    /// The configuration the login came through: its stable id
    /// ([`JwtConfig::stable_id`](crate::JwtConfig::stable_id)) for the
    /// sessions that `Sessions` starts, so that a session ends with the
    /// configuration that created it, also across a rename.
    pub config: String,
    /// When the session was made.
    pub created_at: UnixTime,
    /// When the session ends.
    pub expires_at: UnixTime,
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
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Ends the session; `Ok(true)` when there was one.
    fn remove(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Ends every session of the user `user_id`; returns how many.
    fn remove_user(&self, user_id: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Ends every session whose [`Session::config`] is `config`; returns how
    /// many.
    fn remove_config(&self, config: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes every session with `expires_at <= now`; returns how many.
    fn purge_expired(&self, now: UnixTime) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// One change to the stored configurations, as the owner of the
/// configurations (`Configs`, cargo feature `admin`) hands it to its
/// [`ConfigStore`]. Enabling or disabling a configuration is an
/// [`Update`](ConfigChange::Update) of its `enabled` flag.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigChange {
    /// A new configuration; a taken name (case-insensitive) is [`StoreError::conflict`].
    Create(JwtConfig),
    /// Replaces the configuration named `name` (case-insensitive) with
    /// `config` (which may carry another name: a rename) if its stored
    /// version is still `version`, else [`StoreError::conflict`]; a new name
    /// that another configuration holds is a conflict too.
    Update {
        /// The configuration's current name.
        name: String,
        /// The version the change is based on (the `ETag` the administrator saw).
        version: String,
        /// The new configuration.
        config: JwtConfig,
    },
    /// Deletes the configuration named `name` (case-insensitive); a name
    /// that is not stored is [`StoreError::conflict`].
    Delete {
        /// The configuration's name.
        name: String,
    },
}

impl ConfigChange {
    /// The name of the configuration the change is about (its current name
    /// for an update).
    pub fn name(&self) -> &str {
        match self {
            ConfigChange::Create(config) => &config.name,
            ConfigChange::Update { name, .. } | ConfigChange::Delete { name } => name,
        }
    }
}

/// A configuration as a [`ConfigStore`] holds it: with the version the
/// store gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConfig {
    /// The configuration.
    pub config: JwtConfig,
    /// Its version: the `ETag` of the administrator's API, and what an
    /// [`Update`](ConfigChange::Update) names. The store gives a new one on
    /// every create and change of the configuration, and only then: 128
    /// random bits (or anything else that never repeats and says nothing
    /// about the configuration), never a hash of the configuration, which
    /// holds its secret.
    pub version: String,
}

/// Everything a [`ConfigStore`] holds, from one consistent read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConfigSet {
    /// Every configuration with its version, in the store's order: by name
    /// without regard to case (a file: as written, so that an error names
    /// an entry by its place in the file).
    pub configs: Vec<StoredConfig>,
    /// The store's revision: a number that changes whenever the stored set
    /// changes (through any instance, or by hand), and is 0 only in a store
    /// that has never held a configuration.
    pub revision: u64,
}

impl ConfigSet {
    /// The configurations alone, in order.
    pub fn into_configs(self) -> Vec<JwtConfig> {
        self.configs.into_iter().map(|c| c.config).collect()
    }

    /// The stored configuration named `name` (any case).
    pub fn get(&self, name: &str) -> Option<&StoredConfig> {
        let key = name.to_lowercase();
        self.configs
            .iter()
            .find(|c| c.config.name.to_lowercase() == key)
    }
}

/// Where configurations are kept: a file ([`ConfigFile`](crate::ConfigFile)),
/// a database shared by several instances ([`SqlStore`](crate::SqlStore)), or
/// memory ([`MemoryConfigStore`]). Implement it over a host's own database.
///
/// The store is the truth: its owner (`Configs`, cargo feature `admin`)
/// saves every change here first and serves what the store returns, and
/// polls [`revision`](ConfigStore::revision) to pick up changes made
/// elsewhere (another instance, an edit of the file by hand).
///
/// - **Versions** are the store's: it gives a configuration a new random
///   version (see [`StoredConfig::version`]) on every create and change, so
///   every instance serves the same `ETag` for it.
/// - **Changes apply to what the store holds now**, under its lock or in
///   one transaction: a create whose name is taken, an update whose version
///   is not the stored one, or a delete of a name that is not stored is
///   [`StoreError::conflict`] and changes nothing. Configurations the
///   change does not name are left as the store holds them.
pub trait ConfigStore: Send + Sync {
    /// Every stored configuration with its version, and the store's revision.
    fn load(&self) -> impl Future<Output = Result<ConfigSet, StoreError>> + Send;

    /// Applies `change` to what the store holds now, atomically, and returns
    /// the stored set as it is afterwards (with the new revision). A failed
    /// apply leaves the stored data as it was.
    fn apply(
        &self,
        change: &ConfigChange,
    ) -> impl Future<Output = Result<ConfigSet, StoreError>> + Send;

    /// The current revision, cheap enough to poll every second.
    fn revision(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Stores `configs` if the store has never held a configuration (its
    /// revision is 0), and returns whether it did: a database whose
    /// configurations were all deleted stays empty. The default creates
    /// them one by one after reading the revision; a store shared by several
    /// instances should do it in one transaction (as [`SqlStore`](crate::SqlStore) does).
    fn seed(&self, configs: &[JwtConfig]) -> impl Future<Output = Result<bool, StoreError>> + Send {
        async move {
            if self.revision().await? != 0 {
                return Ok(false);
            }
            for config in configs {
                match self.apply(&ConfigChange::Create(config.clone())).await {
                    Ok(_) => {}
                    // Another instance seeded first.
                    Err(e) if e.is_conflict() => return Ok(false),
                    Err(e) => return Err(e),
                }
            }
            Ok(true)
        }
    }
}

impl<S: ConfigStore> ConfigStore for std::sync::Arc<S> {
    fn load(&self) -> impl Future<Output = Result<ConfigSet, StoreError>> + Send {
        (**self).load()
    }

    fn apply(
        &self,
        change: &ConfigChange,
    ) -> impl Future<Output = Result<ConfigSet, StoreError>> + Send {
        (**self).apply(change)
    }

    fn revision(&self) -> impl Future<Output = Result<u64, StoreError>> + Send {
        (**self).revision()
    }

    fn seed(&self, configs: &[JwtConfig]) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).seed(configs)
    }
}

/// A new random version for a stored configuration: 128 bits from the
/// operating system, as 32 lower-case hex digits.
pub(crate) fn new_version() -> Result<String, StoreError> {
    random_hex().map_err(|e| StoreError::failed(e).during("drawing a random configuration version"))
}

/// 128 random bits as 32 lower-case hex digits.
pub(crate) fn random_hex() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    let mut hex = String::with_capacity(32);
    for b in bytes {
        use fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}

/// A shared store is a store: a host hands one `Arc` of its backend to the
/// login flow, the sessions and the extractors.
impl<T: UserStore + ?Sized> UserStore for std::sync::Arc<T> {
    fn find(&self, user_id: &str) -> impl Future<Output = Result<Option<User>, StoreError>> + Send {
        (**self).find(user_id)
    }
    fn create(&self, user: &User) -> impl Future<Output = Result<User, StoreError>> + Send {
        (**self).create(user)
    }
    fn update(&self, user: &User) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).update(user)
    }
}

/// A shared store is a store.
impl<T: SessionStore + ?Sized> SessionStore for std::sync::Arc<T> {
    fn insert(
        &self,
        id: &str,
        session: &Session,
        max_per_user: usize,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        (**self).insert(id, session, max_per_user)
    }
    fn get(
        &self,
        id: &str,
        now: UnixTime,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send {
        (**self).get(id, now)
    }
    fn remove(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> + Send {
        (**self).remove(id)
    }
    fn remove_user(&self, user_id: &str) -> impl Future<Output = Result<u64, StoreError>> + Send {
        (**self).remove_user(user_id)
    }
    fn remove_config(&self, config: &str) -> impl Future<Output = Result<u64, StoreError>> + Send {
        (**self).remove_config(config)
    }
    fn purge_expired(&self, now: UnixTime) -> impl Future<Output = Result<u64, StoreError>> + Send {
        (**self).purge_expired(now)
    }
}
