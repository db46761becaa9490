//! In-memory stores: [`MemoryStore`] (users, used `jti`s and sessions, as
//! [`SqlStore`](crate::SqlStore) keeps all three in one database) and
//! [`MemoryConfigStore`]. For tests, trials and single-process hosts that
//! keep nothing across restarts.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::new_version;
use super::{
    ConfigChange, ConfigSet, ConfigStore, ReplayStore, Session, SessionStore, StoreError,
    StoredConfig, UsedJti, User, UserStore,
};
use crate::config::JwtConfig;
use crate::unix_time::UnixTime;

/// Each operation of these stores changes its maps completely or not at all
/// (nothing in them panics half-way), so a poisoned lock holds consistent data.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ------------------------------------------------------------------- users

/// Users, used `jti`s and sessions in memory: a [`UserStore`], a
/// [`ReplayStore`] and a [`SessionStore`] (each part independent of the
/// others, so one value may serve as any of them).
///
/// - **Users** are never overwritten: `create` refuses a taken user ID
///   with a conflict.
/// - **Used `jti`s** are forgotten once expired (`until <= now`), as part of
///   each `record` (each record is purged once, so the cost stays
///   logarithmic) and by [`ReplayStore::purge_expired`]. At most a capacity
///   of unexpired records is held (default 100 000,
///   [`with_jti_capacity`](MemoryStore::with_jti_capacity)): when full,
///   `record` fails with a [`StoreError`] that says so (the login is refused
///   with `store`), and never forgets a record early, since that would let a
///   replay through.
/// - **Sessions** are indexed by user and by expiry: an insert touches only
///   that user's sessions (at most `max_per_user` + 1), a purge only the
///   expired ones, so no operation grows with the number of sessions.
///
/// ```
/// use std::time::Duration;
/// use jwt_sso::{MemoryStore, ReplayStore, Session, SessionStore, UnixTime, UsedJti, User, UserStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), jwt_sso::StoreError> {
/// let at = UnixTime::from_secs;
/// let store = MemoryStore::new().with_jti_capacity(1);
///
/// // A user the host made itself: any configuration may log it in.
/// let admin = User {
///     user_id: "admin".into(), user_type: "administrator".into(),
///     roles: vec!["Administrator".into()], name: None, email: None,
///     created_by_config: None,
/// };
/// store.create(&admin).await?;
/// assert!(store.create(&admin).await.unwrap_err().is_conflict()); // never overwritten
/// assert_eq!(store.find("admin").await?, Some(admin));
///
/// let used = UsedJti { config: "erp", issuer: "https://erp.example.com", jti: "t-1", until: at(1_000) };
/// assert!(store.record(used, at(0)).await?); // first use
/// assert!(!store.record(used, at(10)).await?); // a replay
/// let other = UsedJti { jti: "t-2", ..used };
/// assert!(store.record(other, at(10)).await.is_err()); // full: refused, nothing forgotten
/// assert!(store.record(UsedJti { until: at(2_000), ..other }, at(1_000)).await?); // `t-1` expired at 1000
///
/// let session = |t| Session {
///     user_id: "jdoe".into(), config: "ERP".into(),
///     created_at: at(t), expires_at: at(t) + Duration::from_secs(3600),
/// };
/// store.insert("id-1", &session(0), 2).await?;
/// store.insert("id-2", &session(1), 2).await?;
/// store.insert("id-3", &session(2), 2).await?; // the oldest ends
/// assert_eq!(store.get("id-1", at(10)).await?, None);
/// assert!(store.get("id-3", at(10)).await?.is_some());
/// assert!(store.remove("id-3").await?);
/// assert_eq!(SessionStore::purge_expired(&store, at(4000)).await?, 1);
/// # Ok(())
/// # }
/// ```
pub struct MemoryStore {
    users: Mutex<HashMap<String, User>>,
    jti_capacity: usize,
    jtis: Mutex<ReplayInner>,
    sessions: Mutex<SessionsInner>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("users", &self.len())
            .field("used_jtis", &self.used_jtis())
            .field("jti_capacity", &self.jti_capacity)
            .field("sessions", &self.sessions())
            .finish()
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            users: Mutex::default(),
            jti_capacity: DEFAULT_REPLAY_CAPACITY,
            jtis: Mutex::default(),
            sessions: Mutex::default(),
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// The same store holding at most `capacity` unexpired used `jti`s
    /// (default 100 000).
    pub fn with_jti_capacity(mut self, capacity: usize) -> Self {
        self.jti_capacity = capacity;
        self
    }

    /// Every user, sorted by user ID.
    pub fn users(&self) -> Vec<User> {
        let mut users: Vec<User> = lock(&self.users).values().cloned().collect();
        users.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        users
    }

    /// How many users the store holds.
    pub fn len(&self) -> usize {
        lock(&self.users).len()
    }

    /// Whether the store holds no user.
    pub fn is_empty(&self) -> bool {
        lock(&self.users).is_empty()
    }

    /// How many used `jti`s the store holds (expired ones not yet purged
    /// included).
    pub fn used_jtis(&self) -> usize {
        lock(&self.jtis).expiry.len()
    }

    /// How many sessions the store holds (expired ones not yet purged
    /// included).
    pub fn sessions(&self) -> usize {
        lock(&self.sessions).sessions.len()
    }

    /// How many sessions `user_id` holds (expired ones not yet purged
    /// included).
    pub fn sessions_of(&self, user_id: &str) -> usize {
        lock(&self.sessions)
            .by_user
            .get(user_id)
            .map_or(0, BTreeSet::len)
    }
}

impl UserStore for MemoryStore {
    async fn find(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        Ok(lock(&self.users).get(user_id).cloned())
    }

    async fn create(&self, user: &User) -> Result<User, StoreError> {
        let mut users = lock(&self.users);
        if users.contains_key(&user.user_id) {
            return Err(StoreError::conflict());
        }
        users.insert(user.user_id.clone(), user.clone());
        Ok(user.clone())
    }

    async fn update(&self, user: &User) -> Result<(), StoreError> {
        match lock(&self.users).get_mut(&user.user_id) {
            Some(stored) => {
                stored.name.clone_from(&user.name);
                stored.email.clone_from(&user.email);
                stored.roles.clone_from(&user.roles);
                stored.user_type.clone_from(&user.user_type);
                Ok(())
            }
            None => Err(StoreError::failed(format!(
                "no user `{}` to update",
                crate::error::untrusted(&user.user_id)
            ))),
        }
    }
}

// ---------------------------------------------------------------- used jti

/// How many unexpired `jti`s a [`MemoryStore`] holds by default.
pub(crate) const DEFAULT_REPLAY_CAPACITY: usize = 100_000;

/// (configuration, issuer, jti)
type OwnedJtiKey = (String, String, String);

#[derive(Default)]
struct ReplayInner {
    expiry: HashMap<OwnedJtiKey, UnixTime>,
    by_expiry: BTreeSet<(UnixTime, OwnedJtiKey)>,
}

impl ReplayInner {
    fn purge(&mut self, now: UnixTime) -> u64 {
        let mut purged = 0;
        while let Some((at, _)) = self.by_expiry.first() {
            if *at > now {
                break;
            }
            if let Some((_, key)) = self.by_expiry.pop_first() {
                self.expiry.remove(&key);
                purged += 1;
            }
        }
        purged
    }
}

/// A [`MemoryStore`] full of used `jti`s.
#[derive(Debug)]
struct ReplayStoreFull {
    capacity: usize,
}

impl fmt::Display for ReplayStoreFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the in-memory replay store is full: it holds its maximum of {} used token IDs that have not expired yet, and forgetting one early would let its token be replayed; raise the capacity (MemoryStore::with_jti_capacity), shorten the configuration's expiration_time, or use a database-backed ReplayStore",
            self.capacity
        )
    }
}

impl std::error::Error for ReplayStoreFull {}

impl ReplayStore for MemoryStore {
    async fn record(&self, used: UsedJti<'_>, now: UnixTime) -> Result<bool, StoreError> {
        let mut inner = lock(&self.jtis);
        inner.purge(now);
        let owned = (
            used.config.to_owned(),
            used.issuer.to_owned(),
            used.jti.to_owned(),
        );
        if inner.expiry.contains_key(&owned) {
            return Ok(false);
        }
        if inner.expiry.len() >= self.jti_capacity {
            return Err(StoreError::failed(ReplayStoreFull {
                capacity: self.jti_capacity,
            }));
        }
        inner.by_expiry.insert((used.until, owned.clone()));
        inner.expiry.insert(owned, used.until);
        Ok(true)
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        Ok(lock(&self.jtis).purge(now))
    }
}

// ---------------------------------------------------------------- sessions

#[derive(Debug, Default)]
struct SessionsInner {
    /// By id: the session and its insertion number (ties in `created_at`).
    sessions: HashMap<String, (Session, u64)>,
    /// Per user: (created_at, insertion number, id), oldest first.
    by_user: HashMap<String, BTreeSet<(UnixTime, u64, String)>>,
    /// (expires_at, id), soonest first.
    by_expiry: BTreeSet<(UnixTime, String)>,
    inserted: u64,
}

impl SessionsInner {
    fn remove(&mut self, id: &str) -> Option<Session> {
        let (session, n) = self.sessions.remove(id)?;
        self.by_expiry.remove(&(session.expires_at, id.to_owned()));
        if let Some(mine) = self.by_user.get_mut(&session.user_id) {
            mine.remove(&(session.created_at, n, id.to_owned()));
            if mine.is_empty() {
                self.by_user.remove(&session.user_id);
            }
        }
        Some(session)
    }
}

impl SessionStore for MemoryStore {
    /// Stores the session (replacing one under the same `id`), then ends
    /// this user's expired sessions (as of `session.created_at`) and, beyond
    /// `max_per_user` (at least 1: the new session always survives), the
    /// oldest.
    async fn insert(
        &self,
        id: &str,
        session: &Session,
        max_per_user: usize,
    ) -> Result<(), StoreError> {
        let mut inner = lock(&self.sessions);
        inner.remove(id);
        inner.inserted += 1;
        let n = inner.inserted;
        inner.sessions.insert(id.to_owned(), (session.clone(), n));
        inner.by_expiry.insert((session.expires_at, id.to_owned()));
        let mine = inner.by_user.entry(session.user_id.clone()).or_default();
        mine.insert((session.created_at, n, id.to_owned()));
        // This user's other sessions, oldest first: at most `max_per_user`.
        let others: Vec<String> = mine
            .iter()
            .map(|(_, _, other)| other.clone())
            .filter(|other| other != id)
            .collect();
        let (expired, live): (Vec<String>, Vec<String>) = others.into_iter().partition(|other| {
            inner
                .sessions
                .get(other)
                .is_some_and(|(s, _)| s.expires_at <= session.created_at)
        });
        let excess = (live.len() + 1).saturating_sub(max_per_user.max(1));
        for other in expired.iter().chain(live.iter().take(excess)) {
            inner.remove(other);
        }
        Ok(())
    }

    async fn get(&self, id: &str, now: UnixTime) -> Result<Option<Session>, StoreError> {
        Ok(lock(&self.sessions)
            .sessions
            .get(id)
            .filter(|(s, _)| now < s.expires_at)
            .map(|(s, _)| s.clone()))
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.sessions).remove(id).is_some())
    }

    async fn remove_user(&self, user_id: &str) -> Result<u64, StoreError> {
        let mut inner = lock(&self.sessions);
        let ids: Vec<String> = inner
            .by_user
            .get(user_id)
            .map(|mine| mine.iter().map(|(_, _, id)| id.clone()).collect())
            .unwrap_or_default();
        for id in &ids {
            inner.remove(id);
        }
        Ok(ids.len() as u64)
    }

    async fn remove_config(&self, config: &str) -> Result<u64, StoreError> {
        let mut inner = lock(&self.sessions);
        let ids: Vec<String> = inner
            .sessions
            .iter()
            .filter(|(_, (s, _))| s.config == config)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &ids {
            inner.remove(id);
        }
        Ok(ids.len() as u64)
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        let mut inner = lock(&self.sessions);
        let mut purged = 0;
        while let Some((at, id)) = inner.by_expiry.first().cloned() {
            if at > now {
                break;
            }
            inner.remove(&id);
            purged += 1;
        }
        Ok(purged)
    }
}

// ---------------------------------------------------------- configurations

/// A [`ConfigStore`] in memory. It applies each change itself, checking
/// names and versions as a database does, so several owners may share one
/// (through an `Arc`), like instances sharing a database.
///
/// ```
/// use jwt_sso::{ConfigChange, ConfigStore, JwtConfig, MemoryConfigStore};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let erp = JwtConfig::from_json_str(r#"{"name": "ERP", "token_name": "token",
///     "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///     "expiration_time": 3600, "claims": {"user_id": "sub"}}"#)?;
/// let store = MemoryConfigStore::new();
/// let set = store.apply(&ConfigChange::Create(erp.clone())).await?;
/// let version = set.get("erp").unwrap().version.clone();
///
/// let mut changed = erp.clone();
/// changed.audience = Some("bi".into());
/// let stale = ConfigChange::Update { name: "erp".into(), version: "not-the-version".into(), config: changed.clone() };
/// assert!(store.apply(&stale).await.unwrap_err().is_conflict()); // nothing changed
/// let current = ConfigChange::Update { name: "erp".into(), version: version.clone(), config: changed.clone() };
/// let set = store.apply(&current).await?;
/// assert_eq!(set.into_configs(), [changed]);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Default)]
pub struct MemoryConfigStore {
    inner: Mutex<ConfigSet>,
}

impl MemoryConfigStore {
    /// An empty store at revision 0 (one that has never held a configuration).
    pub fn new() -> Self {
        MemoryConfigStore::default()
    }

    /// A store holding `configs` at revision 1 (a seed, e.g. from a file),
    /// each with a fresh version.
    pub fn with_configs(configs: impl IntoIterator<Item = JwtConfig>) -> Self {
        let mut configs: Vec<StoredConfig> = configs
            .into_iter()
            .map(|config| StoredConfig {
                config,
                version: random_version(),
            })
            .collect();
        configs.sort_by_key(|c| c.config.name.to_lowercase());
        MemoryConfigStore {
            inner: Mutex::new(ConfigSet {
                configs,
                revision: 1,
            }),
        }
    }
}

/// A fresh version; should the operating system's generator fail, a
/// counter that still never repeats within the process (versions in memory
/// live no longer).
fn random_version() -> String {
    static FALLBACK: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    new_version().unwrap_or_else(|_| {
        let n = FALLBACK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("m{}-{n}", std::process::id())
    })
}

fn position(configs: &[StoredConfig], name: &str) -> Option<usize> {
    let key = name.to_lowercase();
    configs
        .iter()
        .position(|c| c.config.name.to_lowercase() == key)
}

/// Applies `change` to `configs` as a store does: a taken name, a stale
/// version, or a configuration that is not there is
/// [`StoreError::conflict()`] and changes nothing; the configuration
/// created or changed gets a new version. The set stays sorted by name.
pub(crate) fn apply_to(
    configs: &mut Vec<StoredConfig>,
    change: &ConfigChange,
) -> Result<(), StoreError> {
    match change {
        ConfigChange::Create(config) => {
            if position(configs, &config.name).is_some() {
                return Err(StoreError::conflict());
            }
            configs.push(StoredConfig {
                config: config.clone(),
                version: new_version()?,
            });
        }
        ConfigChange::Update {
            name,
            version,
            config,
        } => {
            let at = position(configs, name).ok_or_else(StoreError::conflict)?;
            if configs[at].version != *version {
                return Err(StoreError::conflict());
            }
            if position(configs, &config.name).is_some_and(|other| other != at) {
                return Err(StoreError::conflict());
            }
            configs[at] = StoredConfig {
                config: config.clone(),
                version: new_version()?,
            };
        }
        ConfigChange::Delete { name } => {
            let at = position(configs, name).ok_or_else(StoreError::conflict)?;
            configs.remove(at);
        }
    }
    configs.sort_by_key(|c| c.config.name.to_lowercase());
    Ok(())
}

impl ConfigStore for MemoryConfigStore {
    async fn load(&self) -> Result<ConfigSet, StoreError> {
        Ok(lock(&self.inner).clone())
    }

    /// Applies `change` to the stored set (see [`ConfigStore`]): a taken
    /// name, a stale version, or a configuration that is no longer there
    /// (deleted by someone else) is [`StoreError::conflict()`].
    async fn apply(&self, change: &ConfigChange) -> Result<ConfigSet, StoreError> {
        let mut inner = lock(&self.inner);
        apply_to(&mut inner.configs, change)?;
        inner.revision += 1;
        Ok(inner.clone())
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        Ok(lock(&self.inner).revision)
    }

    /// Stores `configs` when the store is at revision 0, in one step.
    async fn seed(&self, configs: &[JwtConfig]) -> Result<bool, StoreError> {
        let mut inner = lock(&self.inner);
        if inner.revision != 0 {
            return Ok(false);
        }
        let mut seeded = Vec::new();
        for config in configs {
            apply_to(&mut seeded, &ConfigChange::Create(config.clone()))?;
        }
        inner.configs = seeded;
        inner.revision = 1;
        Ok(true)
    }
}
