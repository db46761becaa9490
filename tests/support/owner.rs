//! An owner of configurations in memory for the tests that change a set
//! mid-test: `Configs` over a shared `MemoryConfigStore`, with each change in
//! one call (the version read from the owner, as an administrator's
//! `If-Match`). The store is shared so a test can change it as another
//! instance would, then `sync`.
#![allow(dead_code)]

use std::sync::Arc;

use jwt_sso::{Clock, ConfigChange, Configs, JwtConfig, MemoryConfigStore, Registry, StoredConfig};

pub struct Owned {
    pub configs: Configs,
    pub store: Arc<MemoryConfigStore>,
}

/// The owner of `configs` (held in memory) on `clock`.
pub async fn owned(
    configs: impl IntoIterator<Item = JwtConfig>,
    clock: impl Clock + 'static,
) -> Owned {
    let store = Arc::new(MemoryConfigStore::with_configs(configs));
    let configs = Configs::new(Arc::clone(&store))
        .with_clock(clock)
        .load()
        .await
        .expect("a valid set");
    Owned { configs, store }
}

impl Owned {
    pub fn registry(&self) -> &Arc<Registry> {
        self.configs.registry()
    }

    /// Replaces the configuration called `name` with `config`.
    pub async fn update(&self, name: &str, config: JwtConfig) -> StoredConfig {
        let version = self
            .configs
            .get(name)
            .expect("a stored configuration")
            .version;
        let change = ConfigChange::Update {
            name: name.to_owned(),
            version,
            config,
        };
        self.configs
            .apply(change)
            .await
            .expect("the update applies")
    }

    /// Enables or disables the configuration called `name`.
    pub async fn set_enabled(&self, name: &str, enabled: bool) -> StoredConfig {
        let mut config = self
            .configs
            .get(name)
            .expect("a stored configuration")
            .config;
        config.enabled = enabled;
        self.update(name, config).await
    }

    pub async fn create(&self, config: JwtConfig) -> StoredConfig {
        self.configs
            .apply(ConfigChange::Create(config))
            .await
            .expect("the create applies")
    }

    pub async fn delete(&self, name: &str) -> StoredConfig {
        self.configs
            .apply(ConfigChange::Delete {
                name: name.to_owned(),
            })
            .await
            .expect("the delete applies")
    }
}

/// The configuration of `registry` that accepts `token` now (as the
/// default `Verification`), or the kind it is refused with.
pub fn verified_by(registry: &Registry, token: &str) -> Result<String, jwt_sso::ErrorKind> {
    let verified = registry.verify_cached(token, jwt_sso::Verification::default());
    verified.map(|v| v.config.clone()).map_err(|e| e.kind())
}

/// A change `configs` must apply: what it stored.
pub async fn applied(configs: &Configs, change: ConfigChange) -> StoredConfig {
    let stored = configs.apply(change).await;
    stored.unwrap_or_else(|e| panic!("refused with `{}`: {e}", e.kind()))
}

/// A change `configs` must refuse: its error.
pub async fn refused(configs: &Configs, change: ConfigChange) -> jwt_sso::AdminError {
    match configs.apply(change).await {
        Ok(stored) => panic!("applied: {}", stored.config.name.as_str()),
        Err(err) => err,
    }
}

/// The owner of the configurations in `store`, loaded, on a clock stopped
/// at `now`.
pub async fn load_at<S: jwt_sso::ConfigStore + 'static>(store: S, now: i64) -> Configs {
    let clock = jwt_sso::ManualClock::new(jwt_sso::UnixTime::from_secs(now));
    let configs = Configs::new(store).with_clock(clock).load().await;
    configs.unwrap_or_else(|e| panic!("the set loads: {e}"))
}

/// The name `registry` holds a configuration under, looked up in any case
/// (`None`: there is none).
pub fn live(registry: &Registry, name: &str) -> Option<String> {
    registry.get(name).map(|c| c.name.as_str().to_owned())
}

/// The field of a `config` error from the owner (panics on another error).
pub fn config_field(err: &jwt_sso::AdminError) -> &str {
    match err {
        jwt_sso::AdminError::Config(e) => e.field(),
        other => panic!("not a config error: {other:?}"),
    }
}
