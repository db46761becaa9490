//! [`Configs`]: the one owner of configuration state. Every change — the
//! administrator's API, a host's own code, another instance, a hand edit of
//! the configuration file — reaches the registry through it: saved in the
//! store first, then installed.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::AdminError;
use crate::clock::Clock;
use crate::config::JwtConfig;
use crate::error::StoreError;
use crate::error::{ConfigError, escape_controls};
use crate::registry::Registry;
#[cfg(feature = "remote")]
use crate::remote::{HttpFetch, RemoteOptions};
use crate::store::{ConfigChange, ConfigSet, ConfigStore, StoredConfig, random_hex};
use crate::task::Task;

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// [`ConfigStore`] with boxed futures, so that the owner holds any store.
trait DynStore: Send + Sync + 'static {
    fn load(&self) -> BoxFuture<'_, Result<ConfigSet, StoreError>>;
    fn apply<'a>(
        &'a self,
        change: &'a ConfigChange,
    ) -> BoxFuture<'a, Result<ConfigSet, StoreError>>;
    fn revision(&self) -> BoxFuture<'_, Result<u64, StoreError>>;
    fn seed<'a>(&'a self, configs: &'a [JwtConfig]) -> BoxFuture<'a, Result<bool, StoreError>>;
}

impl<S: ConfigStore + 'static> DynStore for S {
    fn load(&self) -> BoxFuture<'_, Result<ConfigSet, StoreError>> {
        Box::pin(ConfigStore::load(self))
    }

    fn apply<'a>(
        &'a self,
        change: &'a ConfigChange,
    ) -> BoxFuture<'a, Result<ConfigSet, StoreError>> {
        Box::pin(ConfigStore::apply(self, change))
    }

    fn revision(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(ConfigStore::revision(self))
    }

    fn seed<'a>(&'a self, configs: &'a [JwtConfig]) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(ConfigStore::seed(self, configs))
    }
}

/// The one owner of a server's configurations: a [`ConfigStore`] (the
/// truth) and the [`Registry`] that serves what it holds.
///
/// **One mutation path.** The administrator's API ([`Admin`](crate::Admin)
/// sits on top of it), a host's own code and the store's poller all change
/// configurations through [`Configs::apply`]: the change is applied to what
/// the store holds *now* ([`ConfigStore::apply`], under the store's lock or
/// in one transaction) and only then is the store's new set installed in
/// the registry, rebuilding only the verifiers of configurations that
/// changed. A change refused by the store (a stale version, a taken name)
/// changes nothing anywhere; so a host that changes a configuration in code
/// gets the persistence and the propagation to other instances that the
/// administrator's API gets.
///
/// **Changes made elsewhere** (another instance on a shared database, an
/// edit of the `--config` file by hand) are picked up by [`Configs::sync`]:
/// it reads the store's revision and, when it moved, loads and installs the
/// stored set. [`Configs::spawn_sync`] runs it every second or so. A stored
/// set that does not parse or validate is refused (a logged `config` error
/// naming the field and the configuration) and the last good set keeps
/// serving until the store holds a valid set again.
///
/// **Versions and ids.** Each configuration's version (the `ETag`) is the
/// one its store gave it: random, new on every change, never derived from
/// the configuration (which holds its secret). A configuration created
/// through the owner gets a fresh random stable id (`id`, 32 hex digits),
/// whatever the caller sent, so a new configuration never takes over the
/// users and used `jti`s of a deleted one, even when it takes its name; a
/// rename keeps the id. (A configuration written into a file by hand without
/// `id` has its name in lower case as its id.)
///
/// **One clock.** [`Configs::with_clock`] sets the clock of everything the
/// owner serves: the registry (verifications, remote key caches), the
/// `last_modified` stamps, and through [`Registry::clock`] the sessions and
/// the SQL purge a host hands it to.
///
/// The owner is cheap to clone (clones share everything).
///
/// ```
/// use jwt_sso::{ConfigChange, Configs, ErrorKind, JwtConfig, ManualClock, MemoryConfigStore, UnixTime};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let configs = Configs::new(MemoryConfigStore::new())
///     .with_clock(ManualClock::new(UnixTime::from_secs(1_767_225_600)))
///     .load()
///     .await?;
///
/// // A host creates a configuration in code: saved, then served.
/// let erp = JwtConfig::from_json_str(r#"{"name": "ERP", "token_name": "token",
///     "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///     "expiration_time": 3600, "claims": {"user_id": "sub"}}"#)?;
/// let created = configs.apply(ConfigChange::Create(erp.clone())).await?;
/// assert!(configs.registry().get("erp").is_some());
/// assert_eq!(created.config.stable_id().len(), 32); // a fresh random id
///
/// // A change names the version it is based on.
/// let mut disabled = created.config.clone();
/// disabled.enabled = false;
/// let stale = ConfigChange::Update { name: "ERP".into(), version: "old".into(), config: disabled.clone() };
/// assert_eq!(configs.apply(stale).await.unwrap_err().kind(), ErrorKind::VersionConflict);
/// let current = ConfigChange::Update { name: "ERP".into(), version: created.version, config: disabled };
/// configs.apply(current).await?;
/// assert!(!configs.registry().get("ERP").unwrap().enabled);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Configs {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Arc<Registry>,
    store: Box<dyn DynStore>,
    /// Serialises changes and polls; what the last poll found.
    state: tokio::sync::Mutex<SyncState>,
    /// Called with the stable id of each configuration that an installed
    /// set disabled or removed (sessions end with it).
    ended: std::sync::Mutex<Vec<EndedHook>>,
}

type EndedHook = Arc<dyn Fn(String) + Send + Sync>;

#[derive(Debug, Default)]
struct SyncState {
    /// The store revision whose set the registry holds, or whose set was
    /// refused (not read again until the revision moves).
    seen: Option<u64>,
    /// A failure to read the store is being reported (once, until it recovers).
    failing: bool,
}

impl std::fmt::Debug for Configs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Configs")
            .field("registry", &self.inner.registry)
            .finish_non_exhaustive()
    }
}

/// What one poll did.
enum Synced {
    Unchanged,
    Applied { revision: u64, configs: usize },
}

impl Configs {
    /// The owner of the configurations in `store`, with an empty registry on
    /// the system clock. Set it up (`with_clock`, and with cargo feature
    /// `remote` `with_remote_options` and `with_http_fetch`), then
    /// [`load`](Configs::load) the store.
    pub fn new(store: impl ConfigStore + 'static) -> Self {
        Configs {
            inner: Arc::new(Inner {
                registry: Arc::new(Registry::new()),
                store: Box::new(store),
                state: tokio::sync::Mutex::new(SyncState::default()),
                ended: std::sync::Mutex::new(Vec::new()),
            }),
        }
    }

    /// Sets the one clock (default: [`SystemClock`](crate::SystemClock)):
    /// "now" of every verification without an explicit time and of the
    /// remote key caches, the `last_modified` stamps of changes, and what
    /// [`Registry::clock`] hands to sessions and the SQL purge. Call it while
    /// setting up (every verifier is rebuilt, remote key caches empty).
    pub fn with_clock(self, clock: impl Clock + 'static) -> Self {
        self.inner.registry.set_clock(Arc::new(clock));
        self
    }

    /// The host's administrator roles (default `["Administrator"]`): a token
    /// gives one of them only through a configuration with
    /// `may_grant_admin` (see
    /// [`Verifier::with_admin_roles`](crate::Verifier::with_admin_roles)).
    /// Call it while setting up (every verifier is rebuilt).
    pub fn with_admin_roles(self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.inner
            .registry
            .set_admin_roles(roles.into_iter().map(Into::into).collect());
        self
    }

    /// The options of the remote key caches of the verifiers (default
    /// [`RemoteOptions::default`]; cargo feature `remote`). Call it while
    /// setting up.
    #[cfg(feature = "remote")]
    pub fn with_remote_options(self, options: RemoteOptions) -> Self {
        self.inner.registry.set_remote_options(options);
        self
    }

    /// The HTTP client of the remote key caches (default: reqwest with
    /// rustls; a closure works; cargo feature `remote`). Call it while
    /// setting up.
    #[cfg(feature = "remote")]
    pub fn with_http_fetch(self, fetch: impl HttpFetch + 'static) -> Self {
        self.inner.registry.set_http_fetch(Arc::new(fetch));
        self
    }

    /// Reads the store and installs its set. A set that does not parse or
    /// validate is the `config` error naming the field and the entry (the
    /// file, for a [`ConfigFile`](crate::ConfigFile)); a file that cannot be
    /// read is `io`; a store failure is `store`.
    pub async fn load(self) -> Result<Self, AdminError> {
        {
            let mut state = self.inner.state.lock().await;
            let set = self.inner.store.load().await.map_err(store_failure)?;
            self.install(&mut state, set)?;
        }
        Ok(self)
    }

    /// The registry serving the owner's configurations.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.inner.registry
    }

    /// The configuration called `name` (any case) with its version.
    pub fn get(&self, name: &str) -> Option<StoredConfig> {
        self.inner
            .registry
            .get_versioned(name)
            .map(|(config, version)| StoredConfig {
                config,
                version: version.unwrap_or_default(),
            })
    }

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::try_from(self.inner.registry.clock_now())
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    /// Applies one change: saved in the store first (applied to what it
    /// holds now), then installed in the registry. Returns the
    /// configuration as stored, with its new version (for a delete: the
    /// deleted configuration and its last version).
    ///
    /// - **Create:** `last_modified` is set to now and the configuration
    ///   gets a fresh random `id` (one the caller set is replaced), its
    ///   `created_by` is kept as given. A taken name (any case) is
    ///   `duplicate_name`; an invalid configuration is `config`.
    /// - **Update** (also how a configuration is enabled or disabled): the
    ///   configuration called `name` is replaced if its stored version is
    ///   still `version`, else `version_conflict` (someone changed it: in
    ///   the API, by hand, on another instance); a new name that is taken is
    ///   `duplicate_name`. `last_modified` is set to now; `created_by` and
    ///   the stable id are kept from the stored configuration.
    /// - **Delete:** an unknown name is `unknown_config`.
    ///
    /// A refusal changes nothing, in the store or the registry; after a
    /// conflict the owner reads the store again, so that what it serves is
    /// current. A store failure is `store`.
    pub async fn apply(&self, change: ConfigChange) -> Result<StoredConfig, AdminError> {
        let now = self.now();
        let registry = &self.inner.registry;
        let mut state = self.inner.state.lock().await;
        let mut deleted = None;
        let change = match change {
            ConfigChange::Create(mut config) => {
                config.last_modified = Some(now);
                config.id = Some(fresh_id()?);
                if let Some(existing) = registry.get(&config.name) {
                    return Err(AdminError::duplicate(&config.name, &existing.name));
                }
                registry.check(&config, None)?;
                ConfigChange::Create(config)
            }
            ConfigChange::Update {
                name,
                version,
                mut config,
            } => {
                let Some(old) = registry.get(&name) else {
                    return Err(self.unknown(&name));
                };
                config.last_modified = Some(now);
                config.created_by = old.created_by.clone();
                config.keep_identity_of(&old);
                if config.name.to_lowercase() != old.name.to_lowercase()
                    && let Some(existing) = registry.get(&config.name)
                {
                    return Err(AdminError::duplicate(&config.name, &existing.name));
                }
                registry.check(&config, Some(&old.name))?;
                ConfigChange::Update {
                    name: old.name.to_string(),
                    version,
                    config,
                }
            }
            ConfigChange::Delete { name } => {
                let Some(old) = self.get(&name) else {
                    return Err(self.unknown(&name));
                };
                let name = old.config.name.to_string();
                deleted = Some(old);
                ConfigChange::Delete { name }
            }
        };
        let set = match self.inner.store.apply(&change).await {
            Ok(set) => set,
            Err(e) if e.is_conflict() => {
                // The store holds something other than what this instance
                // serves: serve what it holds, then say what is in the way.
                if let Err(error) = self.poll(&mut state).await {
                    log_refusal(&error);
                }
                return Err(self.conflict(&change));
            }
            Err(e) => {
                return Err(saving_failure(
                    e.during(format!("saving configuration `{}`", change.name())),
                ));
            }
        };
        let stored = match &change {
            ConfigChange::Create(config) | ConfigChange::Update { config, .. } => {
                set.get(&config.name).cloned()
            }
            ConfigChange::Delete { .. } => deleted,
        };
        self.install(&mut state, set)?;
        stored.ok_or_else(|| {
            AdminError::Store(
                StoreError::failed("the store's set after the change does not hold it")
                    .during(format!("saving configuration `{}`", change.name())),
            )
        })
    }

    /// Why the store refused `change`, from what it holds now.
    fn conflict(&self, change: &ConfigChange) -> AdminError {
        let registry = &self.inner.registry;
        match change {
            ConfigChange::Create(config) => {
                let existing = registry
                    .get(&config.name)
                    .map_or_else(|| config.name.to_string(), |c| c.name.to_string());
                AdminError::duplicate(&config.name, &existing)
            }
            ConfigChange::Update {
                name,
                version,
                config,
            } => {
                let Some(current) = self.get(name) else {
                    return self.unknown(name);
                };
                if config.name.to_lowercase() != name.to_lowercase()
                    && let Some(existing) = registry.get(&config.name)
                {
                    return AdminError::duplicate(&config.name, &existing.name);
                }
                AdminError::VersionConflict {
                    config: current.config.name.to_string(),
                    expected: version.clone(),
                    current: current.version,
                }
            }
            ConfigChange::Delete { name } => self.unknown(name),
        }
    }

    fn unknown(&self, name: &str) -> AdminError {
        AdminError::unknown(name, self.inner.registry.names())
    }

    /// Seeds an empty store: when the store has never held a configuration
    /// (revision 0), the configurations of `source` (e.g. the `--config`
    /// file, a [`ConfigFile`](crate::ConfigFile)) are validated and stored,
    /// in one step ([`ConfigStore::seed`]), and installed. A store whose
    /// configurations were all deleted has held some, so it stays empty
    /// (and `source` is not read). Returns whether it seeded; logs which
    /// (INFO, target `jwt_sso`).
    pub async fn seed_from(&self, source: &impl ConfigStore) -> Result<bool, AdminError> {
        let mut state = self.inner.state.lock().await;
        let revision = self.inner.store.revision().await.map_err(store_failure)?;
        let seeded = if revision != 0 {
            false
        } else {
            let configs = source.load().await.map_err(store_failure)?.into_configs();
            let numbered = configs.len() > 1;
            for (i, config) in configs.iter().enumerate() {
                config.clone().validate().map_err(|e| {
                    if numbered {
                        e.in_entry(i, &config.name)
                    } else {
                        e
                    }
                })?;
            }
            let seeded = self
                .inner
                .store
                .seed(&configs)
                .await
                .map_err(|e| store_failure(e.during("seeding the configurations")))?;
            if seeded {
                tracing::info!(
                    target: "jwt_sso",
                    seeded = true,
                    configs = configs.len(),
                    "the configuration store never held a configuration: seeded it"
                );
            }
            seeded
        };
        if !seeded {
            tracing::info!(
                target: "jwt_sso",
                seeded = false,
                revision,
                "the configuration store has held configurations before: not seeded"
            );
        }
        self.poll(&mut state).await?;
        Ok(seeded)
    }

    /// Brings the registry up to date with the store once: when the store's
    /// revision moved since the set the registry holds (a change through
    /// another instance, an edit of the file by hand), loads the stored set
    /// and installs it. `Ok(true)` when it installed a new set.
    ///
    /// A set that does not parse or validate is refused with its `config`
    /// error (field and configuration named); the registry keeps the set it
    /// has, and the same revision is not read again (the next change is). A
    /// store that cannot be read (`store`, `io`) is tried again by the next
    /// call.
    pub async fn sync(&self) -> Result<bool, AdminError> {
        let mut state = self.inner.state.lock().await;
        Ok(matches!(
            self.poll(&mut state).await?,
            Synced::Applied { .. }
        ))
    }

    async fn poll(&self, state: &mut SyncState) -> Result<Synced, AdminError> {
        let store = &self.inner.store;
        let revision = store.revision().await.map_err(store_failure)?;
        if state.seen == Some(revision) {
            return Ok(Synced::Unchanged);
        }
        let set = match store.load().await {
            Ok(set) => set,
            Err(e) => {
                let error = store_failure(e);
                if matches!(error, AdminError::Config(_)) {
                    // Refused: not read again until the revision moves.
                    state.seen = Some(revision);
                }
                return Err(error);
            }
        };
        if state.seen == Some(set.revision) {
            return Ok(Synced::Unchanged);
        }
        let (revision, configs) = (set.revision, set.configs.len());
        self.install(state, set)?;
        Ok(Synced::Applied { revision, configs })
    }

    /// Installs `set` in the registry. A set the registry refuses is not
    /// tried again at the same revision.
    fn install(&self, state: &mut SyncState, set: ConfigSet) -> Result<(), AdminError> {
        state.seen = Some(set.revision);
        let configs = set
            .configs
            .into_iter()
            .map(|c| (c.config, Some(c.version)))
            .collect();
        let before = self.inner.registry.enabled_ids();
        self.inner.registry.install(configs)?;
        let after = self.inner.registry.enabled_ids();
        let hooks = self
            .inner
            .ended
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for id in before.difference(&after) {
            for hook in &hooks {
                hook(id.clone());
            }
        }
        Ok(())
    }

    /// Calls `hook` with the stable id of every configuration that a set
    /// installed from now on disables or removes.
    #[cfg(feature = "sessions")]
    pub(crate) fn on_ended(&self, hook: impl Fn(String) + Send + Sync + 'static) {
        self.inner
            .ended
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(Arc::new(hook));
    }

    /// Starts a tokio task that [`sync`](Configs::sync)s every `every` (e.g.
    /// one second, as `login_server` does; at least 10 ms), so that changes
    /// made through other instances or by hand are in force within that
    /// time. It logs (target `jwt_sso`): a new set applied (INFO); a set
    /// refused (ERROR, once per revision: `kind = "config"`, the `field`
    /// naming the configuration, the message and the hint; the last good
    /// set keeps serving); a store that cannot be read (WARN once, then
    /// DEBUG until it recovers, then INFO). Runs until the [`Task`] is
    /// dropped. Needs a tokio runtime.
    pub fn spawn_sync(&self, every: Duration) -> Task {
        let configs = self.clone();
        Task::every(every, move || {
            let configs = configs.clone();
            async move { configs.sync_and_log().await }
        })
    }

    async fn sync_and_log(&self) {
        let mut state = self.inner.state.lock().await;
        let outcome = self.poll(&mut state).await;
        let recovered = !matches!(outcome, Err(AdminError::Store(_) | AdminError::Io { .. }))
            && std::mem::take(&mut state.failing);
        if recovered {
            tracing::info!(target: "jwt_sso", "the configuration store can be read again");
        }
        match outcome {
            Ok(Synced::Unchanged) => {}
            Ok(Synced::Applied { revision, configs }) => tracing::info!(
                target: "jwt_sso",
                revision,
                configs,
                "configurations changed in the store were applied"
            ),
            Err(error @ (AdminError::Store(_) | AdminError::Io { .. })) => {
                let text = escape_controls(&crate::error::chain(&error)).into_owned();
                if state.failing {
                    tracing::debug!(target: "jwt_sso", error = %text, "configuration sync still failing");
                } else {
                    state.failing = true;
                    tracing::warn!(
                        target: "jwt_sso",
                        kind = error.kind().as_str(),
                        error = %text,
                        "reading the configuration store failed; keeping the current \
                         configurations and retrying"
                    );
                }
            }
            Err(error) => log_refusal(&error),
        }
    }
}

/// Logs a stored set the registry refused (ERROR): kind, field, message, hint.
fn log_refusal(error: &AdminError) {
    let field = match error {
        AdminError::Config(e) => e.field(),
        _ => "",
    };
    tracing::error!(
        target: "jwt_sso",
        kind = error.kind().as_str(),
        field = %escape_controls(field),
        error = %escape_controls(&error.to_string()),
        hint = %escape_controls(error.hint()),
        "the stored configurations were refused; the last good set keeps serving"
    );
}

/// A store's failure as the error it is: a configuration that does not
/// parse is `config`, a file that cannot be read `io`, anything else `store`.
fn store_failure(error: StoreError) -> AdminError {
    failure(error, true)
}

/// A failed save: a stored set that does not parse (a hand edit of the
/// file) is the `config` error naming it; anything else — a file that
/// cannot be written included — is `store` (try again later), its cause
/// chained.
fn saving_failure(error: StoreError) -> AdminError {
    failure(error, false)
}

fn failure(error: StoreError, io_as_io: bool) -> AdminError {
    if error.is_conflict() {
        return AdminError::Store(error);
    }
    let during = error.action().map(str::to_owned);
    let Some(source) = error.into_source() else {
        return AdminError::Store(StoreError::failed("the store failed without a cause"));
    };
    let source = match source.downcast::<ConfigError>() {
        Ok(config) => return AdminError::Config(*config),
        Err(source) => source,
    };
    let source = match source.downcast::<AdminError>() {
        Ok(admin) if io_as_io || !matches!(*admin, AdminError::Io { .. }) => return *admin,
        Ok(admin) => admin as Box<dyn std::error::Error + Send + Sync>,
        Err(source) => source,
    };
    let error = StoreError::failed(source);
    AdminError::Store(match during {
        Some(action) => error.during(action),
        None => error,
    })
}

/// A fresh stable id: 128 random bits, 32 lower-case hex digits.
fn fresh_id() -> Result<String, AdminError> {
    random_hex().map_err(|e| {
        AdminError::Store(StoreError::failed(e).during("drawing a random configuration id"))
    })
}
