//! Loading: a registry of a fixed set of configurations, from values, from
//! the registry file format (one configuration object or an array of them),
//! or from a file; and the set written back in that format.

use std::fs;
use std::path::Path;
use std::sync::{Arc, PoisonError};

use super::Registry;
use super::snapshot::{Settings, Snapshot, log_warnings};
use crate::clock::Clock;
use crate::config::JwtConfig;
use crate::error::AdminError;
use crate::error::ConfigError;
#[cfg(feature = "remote")]
use crate::remote::{HttpFetch, RemoteOptions};

impl Registry {
    /// A registry holding `configs` as they are (metadata untouched), each
    /// validated, on the system clock (and, with cargo feature `remote`, the
    /// default remote key cache settings). A repeated name is
    /// `duplicate_name`; an invalid configuration is `config`, its field
    /// naming the entry. The registry's [`warnings`](Registry::warnings) are
    /// logged (WARN, target `jwt_sso`).
    ///
    /// The set is fixed: a registry whose configurations change (an
    /// administrator, another instance, a hand edit of the file) is built
    /// and kept by `Configs` (cargo feature `admin`), which takes the same
    /// settings.
    pub fn from_configs(configs: impl IntoIterator<Item = JwtConfig>) -> Result<Self, AdminError> {
        let registry = Registry::new();
        let set = configs.into_iter().map(|c| (c, None)).collect();
        let snapshot = Snapshot::empty().rebuilt(set, Arc::new(Settings::default()), false)?;
        log_warnings(&snapshot.warnings, &[]);
        *registry
            .current
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
        Ok(registry)
    }

    /// Sets the clock of a registry of a fixed set (default:
    /// [`SystemClock`](crate::SystemClock)): "now" of every verification
    /// without an explicit time and of the remote key caches, and what
    /// [`Registry::clock`] hands to the login flow's replay store, sessions
    /// and the SQL purge. Call it while setting the registry up: every
    /// verifier is rebuilt (remote ones with empty caches; no key is parsed
    /// again). (A registry kept by `Configs` takes the clock of
    /// `Configs::with_clock`.)
    pub fn with_clock(self, clock: impl Clock + 'static) -> Self {
        self.set_clock(Arc::new(clock));
        self
    }

    /// The host's administrator roles (default `["Administrator"]`) for a
    /// registry of a fixed set: a token gives one of them only through a
    /// configuration with `may_grant_admin` (see
    /// [`Verifier::with_admin_roles`](crate::Verifier::with_admin_roles)).
    /// Call it while setting the registry up: every verifier is rebuilt (no
    /// key is parsed again). (A registry kept by `Configs` takes the roles
    /// of `Configs::with_admin_roles`.)
    pub fn with_admin_roles(self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.set_admin_roles(roles.into_iter().map(Into::into).collect());
        self
    }

    /// The options of the remote key caches of a registry of a fixed set
    /// (default [`RemoteOptions::default`]; cargo feature `remote`). Call it
    /// while setting the registry up: the remote configurations' verifiers
    /// are rebuilt, with empty caches.
    #[cfg(feature = "remote")]
    pub fn with_remote_options(self, options: RemoteOptions) -> Self {
        self.set_remote_options(options);
        self
    }

    /// The HTTP client of the remote key caches of a registry of a fixed
    /// set (default: reqwest with rustls; a closure works; cargo feature
    /// `remote`). Call it while setting the registry up: the remote
    /// configurations' verifiers are rebuilt, with empty caches.
    #[cfg(feature = "remote")]
    pub fn with_http_fetch(self, fetch: impl HttpFetch + 'static) -> Self {
        self.set_http_fetch(Arc::new(fetch));
        self
    }

    /// Parses the registry file format: one configuration object, or an
    /// array of them (JSON), and validates every entry as
    /// [`Registry::from_configs`] does.
    pub fn from_json_str(text: &str) -> Result<Self, AdminError> {
        Registry::from_configs(JwtConfig::parse_json_list(text)?)
    }

    /// Reads a registry file (see [`Registry::from_json_str`]). A file that
    /// cannot be read is `io`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, AdminError> {
        let path = path.as_ref();
        let text = fs::read_to_string(path).map_err(|source| AdminError::Io {
            action: "read",
            path: path.display().to_string(),
            source,
        })?;
        Registry::from_json_str(&text)
    }

    /// The registry as its file format: a pretty JSON array of every
    /// configuration, sorted by name. Secrets are written as they were given,
    /// so an `{"env": …}` secret stays a reference (see [`crate::SecretSpec`]);
    /// a literal secret is written in full, so protect what you write it to.
    ///
    /// A configuration that cannot be written (e.g. a `last_modified` beyond
    /// the year 9999) is a `config` error naming it.
    pub fn to_json_string(&self) -> Result<String, ConfigError> {
        let snapshot = self.snapshot();
        let mut values = Vec::with_capacity(snapshot.entries.len());
        for verifier in snapshot.entries.values() {
            let value = serde_json::to_value(verifier.config()).map_err(|e| {
                ConfigError::new(
                    format!("configuration `{}`", verifier.name()),
                    format!("cannot be written as JSON: {e}"),
                    "correct the value named here (timestamps must lie in the years 0000-9999)",
                )
            })?;
            values.push(value);
        }
        serde_json::to_string_pretty(&values).map_err(|e| {
            ConfigError::new(
                "registry",
                format!("cannot be written as JSON: {e}"),
                "correct the value named here",
            )
        })
    }
}
