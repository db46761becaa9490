//! Keeping a [`Registry`] in step with a shared [`ConfigStore`]: several
//! instances on one database each poll the store's revision and swap in the
//! stored configurations when another instance changed them (CONTRACT
//! section 8).

use std::fmt;
use std::sync::Arc;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "sessions"))]
use std::time::Duration;

use crate::admin::AdminError;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "sessions"))]
use crate::error::escape_controls;
use crate::registry::Registry;
use crate::store::{ConfigStore, StoreError};

/// What one [`ConfigSync::poll`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncOutcome {
    /// The store's revision is the one last applied: nothing to do.
    Unchanged {
        /// The revision.
        revision: u64,
    },
    /// The registry changed (a local administrator's change) while the
    /// store was read: the set read may be older, so it was not applied;
    /// the next poll reads the store again.
    Raced {
        /// The revision read and not applied.
        revision: u64,
    },
    /// The store changed; its configurations are now the registry's.
    Applied {
        /// The revision applied.
        revision: u64,
        /// How many configurations the registry holds now.
        configs: usize,
    },
}

/// Why a [`ConfigSync::poll`] did not bring the registry up to date. The
/// registry keeps the configurations it had.
#[derive(Debug)]
#[non_exhaustive]
pub enum SyncError {
    /// The store could not be read (e.g. the database is down). The next
    /// poll tries again.
    Store(StoreError),
    /// The stored set was read but the registry refused it (an invalid
    /// configuration, e.g. an `env` secret missing on this machine, or two
    /// names that collide). This revision is not retried; the next change
    /// in the store is.
    Rejected {
        /// The refused revision.
        revision: u64,
        /// Why the registry refused it (`config`, `duplicate_name`, …).
        error: AdminError,
    },
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Store(_) => f.write_str("reading the configuration store failed"),
            SyncError::Rejected { revision, error } => write!(
                f,
                "the stored configurations at revision {revision} were refused ({}): {error}",
                error.kind()
            ),
        }
    }
}

impl std::error::Error for SyncError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SyncError::Store(e) => Some(e),
            SyncError::Rejected { error, .. } => Some(error),
        }
    }
}

/// Brings a [`Registry`] up to date with a [`ConfigStore`] that other
/// instances change too: each [`poll`](ConfigSync::poll) reads the store's
/// [`revision`](ConfigStore::revision) (one cheap query) and, when it is not
/// the one last applied, [`load`](ConfigStore::load)s every configuration
/// and hands them to [`Registry::replace_all`]. Configurations whose key
/// source did not change keep their warm remote key caches, so a change to
/// one configuration costs no other configuration a JWKS fetch.
///
/// The type is free of any runtime: call `poll` from your own timer, or use
/// [`ConfigSync::spawn`] (features `sqlite`, `postgres` or `sessions`, on tokio), which
/// polls every second, logs failures and keeps retrying.
///
/// A change made through this instance's `Admin` is in the
/// registry already; the next poll sees a new revision, loads the same set
/// and swaps it in without any fetch.
///
/// ```
/// use std::sync::Arc;
/// use jwt_sso::{ConfigChange, ConfigStore, ConfigSync, JwtConfig, MemoryConfigStore,
///     Registry, SyncOutcome};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = Arc::new(MemoryConfigStore::new());
/// let (configs, revision) = store.load().await.map_err(|e| e.to_string())?;
/// let registry = Arc::new(Registry::from_configs(configs)?);
/// let mut sync = ConfigSync::new(registry.clone(), store.clone()).starting_at(revision);
/// assert!(matches!(sync.poll().await?, SyncOutcome::Unchanged { .. }));
///
/// // Another instance creates a configuration in the shared store…
/// let erp = JwtConfig::from_json_str(r#"{"name": "ERP", "token_name": "token",
///     "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///     "expiration_time": 3600, "claims": {"user_id": "sub"}}"#)?;
/// store.apply(ConfigChange::Create(&erp), &[]).await.map_err(|e| e.to_string())?;
/// // …and the next poll brings it here.
/// assert!(matches!(sync.poll().await?, SyncOutcome::Applied { configs: 1, .. }));
/// assert!(registry.get("erp").is_some());
/// # Ok(())
/// # }
/// ```
pub struct ConfigSync<S> {
    registry: Arc<Registry>,
    store: Arc<S>,
    seen: Option<u64>,
}

impl<S> fmt::Debug for ConfigSync<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigSync")
            .field("registry", &self.registry)
            .field("seen", &self.seen)
            .finish_non_exhaustive()
    }
}

impl<S: ConfigStore> ConfigSync<S> {
    /// Syncs `registry` from `store`. Without
    /// [`starting_at`](ConfigSync::starting_at) the first poll loads and
    /// applies the stored set whatever its revision. The store is shared
    /// (e.g. with the host's `Admin`; a `SqlStore`
    /// clone shares its pool too).
    pub fn new(registry: Arc<Registry>, store: Arc<S>) -> Self {
        ConfigSync {
            registry,
            store,
            seen: None,
        }
    }

    /// Declares that the registry already holds the store's set at
    /// `revision` (the revision [`ConfigStore::load`] returned with the set
    /// the registry was built from), so polls do nothing until it changes.
    pub fn starting_at(mut self, revision: u64) -> Self {
        self.seen = Some(revision);
        self
    }

    /// The revision last applied (or declared), if any.
    pub fn revision(&self) -> Option<u64> {
        self.seen
    }

    /// The registry kept in step.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Checks the store once and applies its set when the revision moved.
    ///
    /// The revision recorded is the one [`ConfigStore::load`] returned with
    /// the set, so a change that lands while a poll is loading is picked up
    /// by the next poll. A store failure changes nothing and is retried by
    /// the next poll; a set the registry refuses is reported once per
    /// revision ([`SyncError::Rejected`]).
    pub async fn poll(&mut self) -> Result<SyncOutcome, SyncError> {
        let revision = self.store.revision().await.map_err(SyncError::Store)?;
        if self.seen == Some(revision) {
            return Ok(SyncOutcome::Unchanged { revision });
        }
        // A local change (this instance's administrator) applied while the
        // store is read must not be undone by the older set read here.
        let generation = self.registry.generation();
        let (configs, revision) = self.store.load().await.map_err(SyncError::Store)?;
        if self.seen == Some(revision) {
            // The revision moved back between the two reads (e.g. a restored
            // backup was replaced again): what is applied is current.
            return Ok(SyncOutcome::Unchanged { revision });
        }
        let count = configs.len();
        // An unchanged set (e.g. this instance's own admin change, applied
        // already) needs no swap at all.
        let unchanged = self.registry.list() == sorted(configs.clone());
        if !unchanged {
            match self
                .registry
                .replace_all_unless_changed(configs, generation)
            {
                Ok(true) => {}
                // The registry changed meanwhile: read the store again next time.
                Ok(false) => return Ok(SyncOutcome::Raced { revision }),
                Err(error) => {
                    self.seen = Some(revision);
                    return Err(SyncError::Rejected { revision, error });
                }
            }
        }
        self.seen = Some(revision);
        Ok(SyncOutcome::Applied {
            revision,
            configs: count,
        })
    }
}

/// The set in the registry's order (by name, case-insensitively).
fn sorted(mut configs: Vec<crate::config::JwtConfig>) -> Vec<crate::config::JwtConfig> {
    configs.sort_by_key(|c| c.name.to_lowercase());
    configs
}

/// Logs one poll's outcome: a failure once when it starts (WARN, or ERROR
/// for a refused set) and then at DEBUG while it lasts, and the recovery.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "sessions"))]
fn log_outcome(outcome: &Result<SyncOutcome, SyncError>, failing: &mut bool) {
    match outcome {
        Ok(SyncOutcome::Applied { revision, configs }) => {
            if std::mem::take(failing) {
                tracing::info!(target: "jwt_sso", "the configuration store is reachable again");
            }
            tracing::info!(
                target: "jwt_sso",
                revision = *revision,
                configs = *configs,
                "configurations changed in the store were applied"
            );
        }
        Ok(SyncOutcome::Unchanged { .. } | SyncOutcome::Raced { .. }) => {
            if std::mem::take(failing) {
                tracing::info!(target: "jwt_sso", "the configuration store is reachable again");
            }
        }
        Err(SyncError::Store(e)) => {
            let error = escape_controls(&crate::error::chain(e)).into_owned();
            if *failing {
                tracing::debug!(target: "jwt_sso", error = %error, "configuration sync still failing");
            } else {
                *failing = true;
                tracing::warn!(
                    target: "jwt_sso",
                    error = %error,
                    "reading the configuration store failed; keeping the current \
                     configurations and retrying"
                );
            }
        }
        Err(SyncError::Rejected { revision, error }) => {
            tracing::error!(
                target: "jwt_sso",
                revision = *revision,
                kind = error.kind().as_str(),
                error = %escape_controls(&crate::error::chain(error)),
                hint = %escape_controls(error.hint()),
                "the stored configurations were refused; keeping the current ones"
            );
        }
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "sessions"))]
impl<S: ConfigStore + 'static> ConfigSync<S> {
    /// Starts a tokio task that [`poll`](ConfigSync::poll)s every `every`
    /// (e.g. 1 s, as `login_server` does; at least 10 ms), logging failures
    /// (target `jwt_sso`: a store failure once at WARN until it recovers, a
    /// refused set at ERROR) and retrying on the next tick. The first poll
    /// runs at once. The task stops when the returned [`ConfigSyncTask`] is
    /// dropped. Needs a tokio runtime (features `sqlite`, `postgres` or `sessions`).
    pub fn spawn(self, every: Duration) -> ConfigSyncTask {
        let every = every.max(Duration::from_millis(10));
        let mut sync = self;
        ConfigSyncTask(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut failing = false;
            loop {
                ticks.tick().await;
                let outcome = sync.poll().await;
                log_outcome(&outcome, &mut failing);
            }
        }))
    }
}

/// The task started by [`ConfigSync::spawn`]; dropping it stops the task.
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "sessions"))]
#[derive(Debug)]
#[must_use = "the sync task stops when this handle is dropped"]
pub struct ConfigSyncTask(tokio::task::JoinHandle<()>);

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "sessions"))]
impl ConfigSyncTask {
    /// Stops the task now (as dropping the handle does).
    pub fn stop(self) {}
}

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "sessions"))]
impl Drop for ConfigSyncTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}
