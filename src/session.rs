//! Login sessions, framework-free: opaque tokens for the client, their
//! SHA-256 in the store (CONTRACT section 6).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::error::Error;
use crate::error::StoreError;
use crate::store::{Session, SessionStore};
use crate::task::Task;

/// The default number of live sessions one user may hold.
const DEFAULT_MAX_SESSIONS_PER_USER: usize = 20;

/// The default session lifetime: 8 hours.
const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(8 * 3600);

/// The longest session token [`Sessions::lookup`] considers (a longer one
/// is refused without hashing it).
const MAX_TOKEN_CHARS: usize = 128;

/// Login sessions over a [`SessionStore`]: opaque tokens for the client,
/// their SHA-256 in the store (CONTRACT section 6).
///
/// A session token is 32 random bytes from the operating system
/// (base64url, 43 characters); the session is stored under the hex SHA-256
/// of the token (a leaked store holds no usable token). A user holds at most
/// [`max_per_user`](Sessions::max_per_user) live sessions (default 20; a new
/// login beyond it ends the oldest), each lasting [`ttl`](Sessions::ttl)
/// (default 8 hours). Expired sessions are purged by
/// [`Sessions::purge_expired`]: call it periodically, e.g. with
/// [`Sessions::spawn_purger`], never per login.
///
/// "Now" comes from the clock handed to [`Sessions::new`]: the registry's
/// ([`Registry::clock`](crate::Registry::clock)), so that sessions, the
/// login flow and the configurations keep one time.
///
/// ```
/// use std::time::Duration;
/// use jwt_sso::{MemoryStore, Registry, Sessions};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), jwt_sso::Error> {
/// # let registry = Registry::from_configs([]).unwrap();
/// let sessions = Sessions::new(MemoryStore::new(), registry.clock()).ttl(Duration::from_secs(8 * 3600));
/// let token = sessions.create("jdoe", "ERP").await?;
/// assert_eq!(token.len(), 43);
/// assert_eq!(sessions.lookup(&token).await?.unwrap().user_id, "jdoe");
/// assert!(sessions.logout(&token).await?);
/// assert!(sessions.lookup(&token).await?.is_none());
/// # Ok(())
/// # }
/// ```
pub struct Sessions<S> {
    store: S,
    ttl: Duration,
    max_per_user: usize,
    clock: Arc<dyn Clock>,
    /// When set ([`Sessions::ending_with`]): sessions record their
    /// configuration's stable id and end with it.
    registry: Option<Arc<crate::Registry>>,
}

impl<S> fmt::Debug for Sessions<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("ttl", &self.ttl)
            .field("max_per_user", &self.max_per_user)
            .finish_non_exhaustive()
    }
}

impl<S: SessionStore> Sessions<S> {
    /// Sessions in `store`, lasting 8 hours, at most 20 per user, on
    /// `clock` (the registry's: [`Registry::clock`](crate::Registry::clock)).
    pub fn new(store: S, clock: impl Clock + 'static) -> Self {
        Sessions {
            store,
            ttl: DEFAULT_SESSION_TTL,
            max_per_user: DEFAULT_MAX_SESSIONS_PER_USER,
            clock: Arc::new(clock),
            registry: None,
        }
    }

    /// How long a session lasts (whole seconds; at least one). Any duration
    /// is accepted: a session's end saturates at [`UnixTime::MAX`](crate::UnixTime::MAX).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_secs(1));
        self
    }

    /// How many live sessions one user may hold (at least one); a new login
    /// beyond it ends that user's oldest session.
    pub fn max_per_user(mut self, max: usize) -> Self {
        self.max_per_user = max.max(1);
        self
    }

    /// The registry whose configurations the sessions end with.
    #[cfg(feature = "axum")]
    pub(crate) fn registry(&self) -> Option<&Arc<crate::Registry>> {
        self.registry.as_ref()
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The session lifetime.
    pub fn session_ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a session for `user_id`, logged in through configuration
    /// `config` (its name); returns the opaque token for the client
    /// (base64url of 32 random bytes). Only its SHA-256 reaches the store,
    /// with the configuration's stable id when the sessions end with their
    /// configuration ([`Sessions::ending_with`]), else `config` as given.
    pub async fn create(&self, user_id: &str, config: &str) -> Result<String, Error> {
        let config = match &self.registry {
            Some(registry) => registry
                .get(config)
                .map_or_else(|| config.to_lowercase(), |c| c.stable_id()),
            None => config.to_owned(),
        };
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| StoreError::failed(e).during("drawing a random session token"))?;
        let token = URL_SAFE_NO_PAD.encode(bytes);
        let now = self.clock.now();
        let session = Session {
            user_id: user_id.to_owned(),
            config,
            created_at: now,
            expires_at: now + self.ttl,
        };
        self.store
            .insert(&session_id(&token), &session, self.max_per_user)
            .await
            .map_err(|e| store_error("storing a new session", e))?;
        Ok(token)
    }

    /// The live session of `token`, if any. A token that cannot be one of
    /// ours (empty, too long, not base64url) is `None` without a store call.
    ///
    /// When the sessions end with their configuration
    /// ([`Sessions::ending_with`]), a session whose configuration is
    /// disabled or deleted is ended here (removed from the store, so that
    /// re-enabling the configuration does not revive it) and is `None`.
    pub async fn lookup(&self, token: &str) -> Result<Option<Session>, Error> {
        if !plausible(token) {
            return Ok(None);
        }
        let id = session_id(token);
        let session = self
            .store
            .get(&id, self.clock.now())
            .await
            .map_err(|e| store_error("looking up a session", e))?;
        match (session, &self.registry) {
            (Some(session), Some(registry)) if !registry.is_enabled_id(&session.config) => {
                self.store
                    .remove(&id)
                    .await
                    .map_err(|e| store_error("ending a session of an ended configuration", e))?;
                Ok(None)
            }
            (session, _) => Ok(session),
        }
    }

    /// Ends every session of `user_id` at once; returns how many.
    pub async fn end_user(&self, user_id: &str) -> Result<u64, Error> {
        self.store
            .remove_user(user_id)
            .await
            .map_err(|e| store_error("ending a user's sessions", e))
    }

    /// Ends every session that the configuration `name` (any case) created
    /// at once; returns how many.
    pub async fn end_config(&self, name: &str) -> Result<u64, Error> {
        let id = match &self.registry {
            Some(registry) => registry
                .get(name)
                .map_or_else(|| name.to_lowercase(), |c| c.stable_id()),
            None => name.to_owned(),
        };
        self.store
            .remove_config(&id)
            .await
            .map_err(|e| store_error("ending a configuration's sessions", e))
    }

    /// The configuration that created `session`, when the sessions end with
    /// their configuration ([`Sessions::ending_with`]) and it still exists.
    pub fn config_of(&self, session: &Session) -> Option<crate::JwtConfig> {
        self.registry.as_ref()?.config_by_id(&session.config)
    }

    /// Ends the session of `token`; `true` when there was one.
    pub async fn logout(&self, token: &str) -> Result<bool, Error> {
        if !plausible(token) {
            return Ok(false);
        }
        self.store
            .remove(&session_id(token))
            .await
            .map_err(|e| store_error("ending a session", e))
    }

    /// Deletes every expired session; returns how many.
    pub async fn purge_expired(&self) -> Result<u64, Error> {
        self.store
            .purge_expired(self.clock.now())
            .await
            .map_err(|e| store_error("purging expired sessions", e))
    }
}

impl<S: SessionStore + 'static> Sessions<S> {
    /// Sessions that end with the configuration that created them (CONTRACT
    /// section 6): each records its configuration's stable id; a session
    /// whose configuration is disabled or deleted is refused and removed
    /// when used ([`Sessions::lookup`]), and when `configs` installs a set
    /// in which a configuration that was enabled is disabled or gone (a
    /// change through the administrator's API, another instance's change,
    /// an edit of the file), its sessions are removed from the store at
    /// once. Removed is for good: re-enabling the configuration does not
    /// revive them, on any instance sharing the store. Uses the registry's
    /// clock.
    #[cfg(feature = "admin")]
    pub fn ending_with(mut self, configs: &crate::Configs) -> Arc<Self> {
        self.registry = Some(Arc::clone(configs.registry()));
        self.clock = configs.registry().clock();
        let sessions = Arc::new(self);
        let weak = Arc::downgrade(&sessions);
        configs.on_ended(move |id: String| {
            let Some(sessions) = weak.upgrade() else {
                return;
            };
            tokio::spawn(async move {
                match sessions.store.remove_config(&id).await {
                    Ok(n) => tracing::info!(target: "jwt_sso", ended = n, "sessions of a disabled or deleted configuration ended"),
                    Err(e) => tracing::warn!(target: "jwt_sso", error = %crate::error::chain(&e), "ending the sessions of a disabled or deleted configuration failed; they end when next used"),
                }
            });
        });
        sessions
    }

    /// Runs [`Sessions::purge_expired`] every `every` (at least one second;
    /// the first run after one period) on the current tokio runtime, until
    /// the returned [`Task`] is dropped; while the last other reference to
    /// `sessions` is gone it does nothing. Failures are logged.
    pub fn spawn_purger(sessions: &Arc<Self>, every: Duration) -> Task {
        let weak = Arc::downgrade(sessions);
        let every = every.max(Duration::from_secs(1));
        let mut first = true;
        Task::every(every, move || {
            let sessions = weak.upgrade().filter(|_| !std::mem::take(&mut first));
            async move {
                let Some(sessions) = sessions else {
                    return;
                };
                match sessions.purge_expired().await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::debug!(target: "jwt_sso", purged = n, "expired sessions purged")
                    }
                    Err(e) => {
                        tracing::warn!(target: "jwt_sso", error = %crate::error::chain(&e), "purging expired sessions failed")
                    }
                }
            }
        })
    }
}

/// The store key of a session token: the hex SHA-256 of the token
/// (lowercase). One `LowerHex` of the whole digest (generic-array's, a table
/// lookup) rather than one `{:02x}` per byte, which cost twice the hash
/// itself on every session request.
pub(crate) fn session_id(token: &str) -> String {
    format!("{:x}", Sha256::digest(token.as_bytes()))
}

fn plausible(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= MAX_TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn store_error(action: &str, error: StoreError) -> Error {
    Error::Store(error.during(action))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::MemoryStore;
    use crate::unix_time::UnixTime;

    #[test]
    fn the_session_id_is_the_lowercase_hex_sha256() {
        // FIPS 180-2 appendix B.1: SHA-256("abc"); then SHA-256 of the empty
        // message (NIST's example values). Stored sessions keep
        // their keys: the encoding must never change.
        assert_eq!(
            session_id("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            session_id(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[tokio::test]
    async fn sessions_are_capped_per_user_oldest_first_and_purged() {
        let sessions = Sessions::new(
            MemoryStore::new(),
            ManualClock::new(UnixTime::from_secs(1000)),
        )
        .max_per_user(3)
        .ttl(Duration::from_secs(100));
        let mut tokens = Vec::new();
        for _ in 0..4 {
            tokens.push(sessions.create("jdoe", "ERP").await.unwrap());
        }
        let other = sessions.create("ana", "CRM").await.unwrap();
        assert!(sessions.lookup(&tokens[0]).await.unwrap().is_none());
        for t in &tokens[1..] {
            assert_eq!(sessions.lookup(t).await.unwrap().unwrap().user_id, "jdoe");
        }
        assert_eq!(sessions.store().sessions(), 4);
        // Tokens are distinct and never stored raw: the store holds them by hex SHA-256.
        for t in &tokens[1..] {
            let id = session_id(t);
            assert_eq!(id.len(), 64);
            assert_ne!(&id, t);
            let at = UnixTime::from_secs(1000);
            assert!(sessions.store().get(&id, at).await.unwrap().is_some());
            assert!(sessions.store().get(t, at).await.unwrap().is_none());
        }
        assert!(sessions.logout(&other).await.unwrap());
        assert!(!sessions.logout(&other).await.unwrap());
        assert!(
            sessions.lookup("not a token!").await.unwrap().is_none(),
            "implausible tokens are not looked up"
        );

        let later = Sessions {
            clock: Arc::new(ManualClock::new(UnixTime::from_secs(1100))),
            ..sessions
        };
        assert!(later.lookup(&tokens[1]).await.unwrap().is_none(), "expired");
        assert_eq!(later.purge_expired().await.unwrap(), 3);
        assert_eq!(later.store().sessions(), 0);
        assert_eq!(later.store().sessions_of("jdoe"), 0);
    }

    /// A store that counts its purges.
    #[derive(Default)]
    struct Counting(std::sync::atomic::AtomicUsize);

    impl SessionStore for Counting {
        async fn insert(&self, _: &str, _: &Session, _: usize) -> Result<(), StoreError> {
            Ok(())
        }
        async fn get(&self, _: &str, _: UnixTime) -> Result<Option<Session>, StoreError> {
            Ok(None)
        }
        async fn remove(&self, _: &str) -> Result<bool, StoreError> {
            Ok(false)
        }
        async fn remove_user(&self, _: &str) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn remove_config(&self, _: &str) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn purge_expired(&self, _: UnixTime) -> Result<u64, StoreError> {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(0)
        }
    }

    /// Issue 19: the purger used to run until its sessions were dropped,
    /// whatever became of its handle; now dropping the handle stops it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_purger_runs_until_its_handle_is_dropped() {
        use std::sync::atomic::Ordering;
        let sessions = Arc::new(Sessions::new(Counting::default(), crate::SystemClock));
        let task = Sessions::spawn_purger(&sessions, Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(2500)).await;
        let ran = sessions.store().0.load(Ordering::SeqCst);
        assert!(ran >= 1, "the purger ran {ran} times");
        drop(task);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let stopped_at = sessions.store().0.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(
            sessions.store().0.load(Ordering::SeqCst),
            stopped_at,
            "no purge after the handle was dropped, the sessions still alive"
        );
    }

    #[tokio::test]
    async fn the_longest_ttl_saturates_instead_of_overflowing() {
        let now = UnixTime::from_secs(1_767_225_600);
        let sessions = Sessions::new(MemoryStore::new(), ManualClock::new(now)).ttl(Duration::MAX);
        let token = sessions.create("jdoe", "ERP").await.unwrap();
        let session = sessions
            .lookup(&token)
            .await
            .unwrap()
            .expect("a live session");
        assert_eq!(session.created_at, now);
        assert_eq!(session.expires_at, UnixTime::MAX);
        // Born alive, and alive far in the future.
        let later = Sessions {
            clock: Arc::new(ManualClock::new(UnixTime::from_secs(i64::MAX - 1))),
            ..sessions
        };
        assert!(later.lookup(&token).await.unwrap().is_some());
        assert_eq!(later.purge_expired().await.unwrap(), 0);
    }
}
