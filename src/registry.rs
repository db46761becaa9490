//! `Registry`: the administrator's list of named configurations, its file
//! format (CONTRACT section 6), and verification by name or routed by `iss`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
#[cfg(feature = "remote")]
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use base64::Engine;
use time::OffsetDateTime;

use crate::admin::AdminError;
use crate::clock::{Clock, SystemClock};
use crate::config::{DEFAULT_MAX_TOKEN_BYTES, JwtConfig};
use crate::error::{ConfigError, Error, LoginError, TokenError, TokenPart, escape_controls};
use crate::identity::Verified;
use crate::json::{check_object, peek_string_member};
#[cfg(feature = "remote")]
use crate::remote::{HttpFetch, RemoteOptions};
use crate::unix_time::UnixTime;
use crate::validated::ValidConfig;
use crate::verify::{STRICT_B64URL, Verifier, not_base64url, segments};

/// Named JWT configurations, each validated into a [`Verifier`]: the list an
/// administrator manages (name, enabled, last modified, creator).
///
/// - Names are unique without regard to case (`ERP` and `erp` are the same
///   name; Unicode lower-casing decides). Every lookup by name ignores case.
/// - [`create`](Registry::create), [`update`](Registry::update) and
///   [`set_enabled`](Registry::set_enabled) stamp `last_modified` from the
///   registry's [`Clock`]; `update` keeps the stored `created_by`. Loading a
///   file keeps its metadata as written.
/// - The registry is `Send + Sync`. Readers take a snapshot (an `Arc` of an
///   immutable map) and never wait for a writer's key parsing; a writer
///   builds a new map and swaps it in whole, so a verification sees either
///   the old or the new configuration, never a mixture. Writers are
///   serialised.
/// - One [`Clock`] (`with_clock`) stamps `last_modified`, gives "now" to
///   verifications and is the time of the remote key caches.
/// - Remote key sources (`jwks_uri`, `issuer`; cargo feature `remote`): the
///   registry builds their verifiers with its `RemoteOptions` and HTTP client
///   (`with_remote_options`, `with_http_fetch`). An edit ([`update`](Registry::update),
///   [`set_enabled`](Registry::set_enabled), a rename,
///   [`replace_all`](Registry::replace_all)) that leaves a configuration's key
///   source (URL or issuer, and algorithms) as it was keeps its warm key
///   cache; configurations an edit does not touch keep theirs anyway.
///   `warm_up().await` fetches the keys of every enabled remote configuration.
///
/// A token is routed ([`Registry::route`], [`Registry::verify`]) by its
/// [`Route`] ([`Route::Issuer`] by default) like this (CONTRACT section 6):
///
/// 1. exactly one configuration is enabled: that one decides, whatever the
///    token says (so its own `issuer_mismatch`, `disabled`, … errors apply);
/// 2. otherwise the unverified payload is decoded strictly, only to read
///    `iss`, and the enabled configuration whose `issuer` equals it exactly
///    is used; several such configurations are `ambiguous_config`, none is
///    `no_matching_config` (or `disabled` when a disabled configuration has
///    that issuer). These errors name the candidates and, of the token,
///    nothing but its `iss` (escaped).
///
/// [`Route::TokenName`] routes the same way among the configurations whose
/// `token_name` is the name the token was found under, so a token found
/// under another configuration's parameter name is never routed to this
/// one; [`Route::Config`] names the configuration.
///
/// Verification comes in two forms: [`Registry::verify`] is the full check
/// (remote keys are fetched when the cache needs it; static keys make it
/// ready at once); [`Registry::verify_cached`] never does I/O and uses
/// cached remote keys only. Both take a [`Verification`]: the route, and
/// optionally the time to check the token's claims at.
///
/// ```
/// use jwt_sso::{ErrorKind, ManualClock, Registry, UnixTime, Verification};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let registry = Registry::from_json_str(r#"[
///   {"name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
///    "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///    "expiration_time": 3600, "claims": {"user_id": "sub"}, "initial_roles": ["Viewer"]},
///   {"name": "CRM", "token_name": "token", "issuer": "https://crm.example.com",
///    "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "crm-secret-of-at-least-32-bytes!!"},
///    "expiration_time": 3600, "claims": {"user_id": "sub"}, "user_type": "analyst"}
/// ]"#)?
/// .with_clock(ManualClock::new(UnixTime::from_secs(1_767_225_600)));
///
/// // A token from the ERP is verified by the ERP configuration (routing by `iss`).
/// let token = jwt_sso::mint::SigningKey::from_secret(b"erp-secret-of-at-least-32-bytes!!").sign(
///     jwt_sso::Algorithm::HS256,
///     &serde_json::json!({"iss": "https://erp.example.com", "sub": "jdoe", "exp": 1_767_229_200}),
/// )?;
/// let identity = registry.verify(&token, Verification::default()).await?;
/// assert_eq!((identity.config.as_str(), identity.roles.as_slice()), ("ERP", &["Viewer".to_owned()][..]));
///
/// // Administration: names are unique without regard to case.
/// let mut copy = registry.get("erp").unwrap();
/// assert_eq!(registry.create(copy.clone()).unwrap_err().kind(), ErrorKind::DuplicateName);
/// copy.name = "ERP test".parse()?;
/// copy.issuer = Some("https://erp-test.example.com".into());
/// copy.created_by = Some("admin".into());
/// registry.create(copy)?;
/// registry.set_enabled("erp", false)?;
/// let refused = registry.verify(&token, Verification::default()).await.unwrap_err();
/// assert_eq!(refused.kind(), ErrorKind::Disabled);
///
/// let names: Vec<String> = registry.list().into_iter().map(|c| c.name.to_string()).collect();
/// assert_eq!(names, ["CRM", "ERP", "ERP test"]);
/// // `registry.save("jwt-configs.json")?` writes them back in the same format.
/// # Ok(())
/// # }
/// ```
pub struct Registry {
    current: RwLock<Arc<Snapshot>>,
    /// Serialises writers; holds the number of changes made so far.
    writer: Mutex<u64>,
    clock: Arc<dyn Clock>,
    /// The host's administrator roles, given to every verifier.
    admin_roles: Option<Arc<[String]>>,
    #[cfg(feature = "remote")]
    remote: RemoteSetup,
}

/// What the registry gives the remote verifiers it builds.
#[cfg(feature = "remote")]
#[derive(Clone, Default)]
struct RemoteSetup {
    options: RemoteOptions,
    /// `None`: each verifier's default client.
    fetch: Option<Arc<dyn HttpFetch>>,
}

/// A registry-level note for the administrator: something in the set of
/// configurations that makes a configuration unreachable, found when the
/// set is loaded or changed (see [`Registry::warnings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWarning {
    /// The configuration concerned.
    pub config: String,
    /// What is wrong and what to change.
    pub message: String,
}

impl fmt::Display for ConfigWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Which configurations may take a token (the route of a [`Verification`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Route<'a> {
    /// Routing by `iss` among the enabled configurations (or the only one):
    /// the default.
    #[default]
    Issuer,
    /// The same routing among the configurations whose `token_name` is this
    /// name: the parameter, cookie or header the token was found under. A
    /// token whose `iss` is the issuer of an enabled configuration of another
    /// name (and of none of this name) is `no_matching_config`, even when
    /// only one configuration has this name: a token travels only under its
    /// own name.
    TokenName(&'a str),
    /// The configuration of this name (any case), whatever the token says;
    /// an unknown name is `unknown_config`.
    Config(&'a str),
}

/// How a token is verified: the [`Route`] to its configuration (default:
/// by `iss`) and the time its claims are checked at (default: the
/// registry's clock when the verification starts).
///
/// ```
/// use jwt_sso::{Route, UnixTime, Verification};
///
/// let default = Verification::default();
/// let found_under_a_cookie = Verification::from(Route::TokenName("token"));
/// let in_the_past = Verification::default()
///     .route(Route::Config("ERP"))
///     .at(UnixTime::from_secs(1_767_225_600));
/// # let _ = (default, found_under_a_cookie, in_the_past);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verification<'a> {
    route: Route<'a>,
    at: Option<UnixTime>,
}

impl<'a> Verification<'a> {
    /// The same verification along `route`.
    pub fn route(mut self, route: Route<'a>) -> Self {
        self.route = route;
        self
    }

    /// The same verification with the token's time claims checked at `at`
    /// (a remote key cache keeps the clock's time).
    pub fn at(mut self, at: UnixTime) -> Self {
        self.at = Some(at);
        self
    }

    pub(crate) fn route_of(&self) -> Route<'a> {
        self.route
    }

    pub(crate) fn time(&self) -> Option<UnixTime> {
        self.at
    }
}

impl<'a> From<Route<'a>> for Verification<'a> {
    fn from(route: Route<'a>) -> Self {
        Verification { route, at: None }
    }
}

/// One immutable state of the registry.
struct Snapshot {
    /// Keyed by [`key`], so iteration is sorted by name regardless of case.
    entries: BTreeMap<String, Arc<Verifier>>,
    /// Routing facts for every configuration, computed once per snapshot.
    all: Routes,
    /// The same per `token_name`.
    by_token_name: HashMap<String, Routes>,
    warnings: Vec<ConfigWarning>,
}

/// What [`route_in`] needs, precomputed from a set of configurations.
struct Routes {
    /// The enabled configurations.
    enabled: Vec<Arc<Verifier>>,
    /// The disabled ones (a token with their issuer is `disabled`).
    disabled: Vec<Arc<Verifier>>,
    /// Enabled configurations by `issuer`.
    by_issuer: HashMap<String, Vec<Arc<Verifier>>>,
    /// The largest `max_token_bytes` of these configurations.
    max_token_bytes: usize,
    /// For one `token_name`'s routes: the issuers of enabled configurations
    /// with another `token_name` and not of one of these. A token naming one
    /// travels under the wrong name and is `no_matching_config`, even when
    /// only one configuration has this name.
    foreign_issuers: HashSet<String>,
}

impl Routes {
    fn new<'v>(verifiers: impl IntoIterator<Item = &'v Arc<Verifier>>) -> Self {
        let mut routes = Routes {
            enabled: Vec::new(),
            disabled: Vec::new(),
            by_issuer: HashMap::new(),
            max_token_bytes: 0,
            foreign_issuers: HashSet::new(),
        };
        for verifier in verifiers {
            let config = verifier.config();
            routes.max_token_bytes = routes.max_token_bytes.max(config.max_token_bytes);
            if !config.enabled {
                routes.disabled.push(Arc::clone(verifier));
                continue;
            }
            routes.enabled.push(Arc::clone(verifier));
            if let Some(issuer) = &config.issuer {
                routes
                    .by_issuer
                    .entry(issuer.clone())
                    .or_default()
                    .push(Arc::clone(verifier));
            }
        }
        if routes.max_token_bytes == 0 {
            routes.max_token_bytes = DEFAULT_MAX_TOKEN_BYTES;
        }
        routes
    }
}

impl Snapshot {
    fn new(entries: BTreeMap<String, Arc<Verifier>>) -> Self {
        let all = Routes::new(entries.values());
        let mut grouped: HashMap<&str, Vec<&Arc<Verifier>>> = HashMap::new();
        for verifier in entries.values() {
            grouped
                .entry(verifier.config().token_name.as_str())
                .or_default()
                .push(verifier);
        }
        let by_token_name = grouped
            .into_iter()
            .map(|(name, verifiers)| {
                let mut routes = Routes::new(verifiers);
                routes.foreign_issuers = all
                    .by_issuer
                    .keys()
                    .filter(|issuer| !routes.by_issuer.contains_key(*issuer))
                    .cloned()
                    .collect();
                (name.to_owned(), routes)
            })
            .collect();
        let warnings = find_warnings(&all);
        Snapshot {
            entries,
            all,
            by_token_name,
            warnings,
        }
    }

    fn get(&self, name: &str) -> Option<&Arc<Verifier>> {
        self.entries.get(&key(name))
    }

    fn unknown(&self, name: &str) -> Error {
        Error::Login(LoginError::UnknownConfig {
            name: name.to_owned(),
            known: names(&self.entries),
        })
    }
}

/// Configurations that routing by `iss` can never choose, with what to change.
fn find_warnings(all: &Routes) -> Vec<ConfigWarning> {
    let enabled = &all.enabled;
    if enabled.len() < 2 {
        return Vec::new();
    }
    let shares_token_name = |v: &Verifier, others: &mut dyn Iterator<Item = &Arc<Verifier>>| {
        others
            .filter(|o| o.name() != v.name() && o.config().token_name == v.config().token_name)
            .map(|o| format!("`{}`", o.name()))
            .collect::<Vec<_>>()
    };
    let mut warnings = Vec::new();
    for verifier in enabled {
        let config = verifier.config();
        let problem = match &config.issuer {
            None => format!(
                "configuration `{}` has no `issuer`, and {} configurations are enabled, so tokens are routed by their `iss` and routing never chooses it",
                config.name,
                enabled.len()
            ),
            Some(issuer) => {
                let same: Vec<&Arc<Verifier>> = all.by_issuer[issuer]
                    .iter()
                    .filter(|o| o.name() != verifier.name())
                    .collect();
                if same.is_empty() {
                    continue;
                }
                format!(
                    "configuration `{}` has the same issuer `{}` as the enabled {}, so routing by `iss` refuses its tokens with ambiguous_config",
                    config.name,
                    escape_controls(issuer),
                    same.iter()
                        .map(|o| format!("`{}`", o.name()))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        let sharing = shares_token_name(verifier, &mut enabled.iter());
        let message = if sharing.is_empty() {
            format!(
                "{problem}; only a token sent under its own token_name `{}` (which no other enabled configuration uses) reaches it. Set its `issuer` to the `iss` its tokens carry, or disable it",
                config.token_name
            )
        } else {
            format!(
                "{problem}, and it shares its token_name `{}` with {}: no token can ever be routed to it. Set its `issuer` to the `iss` its tokens carry, or give it its own token_name",
                config.token_name,
                sharing.join(", ")
            )
        };
        warnings.push(ConfigWarning {
            config: config.name.to_string(),
            message,
        });
    }
    warnings
}

fn names(entries: &BTreeMap<String, Arc<Verifier>>) -> Vec<String> {
    entries.values().map(|v| v.name().to_owned()).collect()
}

fn unknown(name: &str, entries: &BTreeMap<String, Arc<Verifier>>) -> AdminError {
    AdminError::unknown(name, names(entries))
}

/// The registry's key for a name: names are unique without regard to case.
fn key(name: &str) -> String {
    name.to_lowercase()
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.snapshot();
        f.debug_struct("Registry")
            .field("configs", &snapshot.entries.values().collect::<Vec<_>>())
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry on the system clock.
    pub fn new() -> Self {
        Registry {
            current: RwLock::new(Arc::new(Snapshot::new(BTreeMap::new()))),
            writer: Mutex::new(0),
            clock: Arc::new(SystemClock),
            admin_roles: None,
            #[cfg(feature = "remote")]
            remote: RemoteSetup::default(),
        }
    }

    /// The host's administrator roles (default `["Administrator"]`): a
    /// token gives one of them only through a configuration with
    /// `may_grant_admin` (see [`Verifier::with_admin_roles`]). Call it while
    /// setting the registry up: every verifier is rebuilt (no key is parsed
    /// again).
    pub fn with_admin_roles(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.admin_roles = Some(roles.into_iter().map(Into::into).collect());
        self.rebuild_all();
        self
    }

    /// Replaces the clock (default: [`SystemClock`]): it stamps
    /// `last_modified`, gives "now" to every verification without an
    /// explicit time, and is the time of the remote key caches. Call it
    /// while setting the registry up: every verifier is rebuilt (remote ones
    /// with empty caches; no key is parsed again).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self.rebuild_all();
        self
    }

    /// The options of the remote key caches of the verifiers this registry
    /// builds (default [`RemoteOptions::default`]; cargo feature `remote`).
    /// Call it while setting the registry up: the remote configurations'
    /// verifiers are rebuilt, with empty caches.
    #[cfg(feature = "remote")]
    pub fn with_remote_options(mut self, options: RemoteOptions) -> Self {
        self.remote.options = options;
        self.rebuild_all();
        self
    }

    /// The HTTP client of the remote key caches (default: reqwest with
    /// rustls; a closure works; cargo feature `remote`). Call it while
    /// setting the registry up: the remote configurations' verifiers are
    /// rebuilt, with empty caches.
    #[cfg(feature = "remote")]
    pub fn with_http_fetch(mut self, fetch: impl HttpFetch + 'static) -> Self {
        self.remote.fetch = Some(Arc::new(fetch));
        self.rebuild_all();
        self
    }

    /// Rebuilds every verifier from its validated configuration with the
    /// registry's settings.
    fn rebuild_all(&mut self) {
        let snapshot = self.snapshot();
        let entries = snapshot
            .entries
            .iter()
            .map(|(key, verifier)| {
                let rebuilt = self.verifier_for(verifier.valid_config().clone(), None);
                (key.clone(), Arc::new(rebuilt))
            })
            .collect();
        *self
            .current
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(Snapshot::new(entries));
    }

    /// The verifier of `config` with the registry's clock and remote
    /// settings, keeping the warm cache of `previous` when the key source is
    /// the same.
    fn verifier_for(&self, config: ValidConfig, previous: Option<&Verifier>) -> Verifier {
        #[allow(unused_mut)]
        let mut verifier = Verifier::new(config);
        verifier.set_clock(Arc::clone(&self.clock));
        if let Some(roles) = &self.admin_roles {
            verifier.set_admin_roles(roles);
        }
        #[cfg(feature = "remote")]
        if verifier.is_remote() {
            let remote = &self.remote;
            verifier.set_remote(&remote.options, remote.fetch.as_ref());
            if let Some(previous) = previous {
                verifier.keep_keys_of(previous);
            }
        }
        #[cfg(not(feature = "remote"))]
        let _ = previous;
        verifier
    }

    /// Validates `config` (reusing `previous`'s parsed keys when its key
    /// source is unchanged) and builds its verifier.
    fn build(
        &self,
        config: JwtConfig,
        previous: Option<&Verifier>,
    ) -> Result<Verifier, ConfigError> {
        let valid = ValidConfig::revalidate(config, previous.map(Verifier::valid_config))?;
        Ok(self.verifier_for(valid, previous))
    }

    /// Builds the verifiers of a new set of configurations; `old` offers
    /// warm caches and parsed keys (by name, else by an equal key source for
    /// a renamed one).
    fn build_all(
        &self,
        configs: Vec<JwtConfig>,
        old: Option<&BTreeMap<String, Arc<Verifier>>>,
    ) -> Result<BTreeMap<String, Arc<Verifier>>, AdminError> {
        let numbered = configs.len() > 1;
        let mut entries: BTreeMap<String, Arc<Verifier>> = BTreeMap::new();
        let mut ids: HashMap<String, String> = HashMap::new();
        for (i, config) in configs.into_iter().enumerate() {
            let name = config.name.to_string();
            if let Some(existing) = entries.get(&key(&name)) {
                return Err(AdminError::duplicate(&name, existing.name()));
            }
            if let Some(other) = ids.insert(config.stable_id(), name.clone()) {
                return Err(same_id(&config, &other).into());
            }
            let previous = old.and_then(|old| previous_for(old, &config));
            let verifier = self
                .build(config, previous.as_deref())
                .map_err(|e| if numbered { e.in_entry(i, &name) } else { e })?;
            entries.insert(key(&name), Arc::new(verifier));
        }
        Ok(entries)
    }

    /// A registry holding `configs` as they are (metadata untouched), each
    /// validated. A repeated name is `duplicate_name`; an invalid
    /// configuration is `config`, its field naming the entry. The registry's
    /// [`warnings`](Registry::warnings) are logged (WARN, target `jwt_sso`).
    pub fn from_configs(configs: impl IntoIterator<Item = JwtConfig>) -> Result<Self, AdminError> {
        let mut registry = Registry::new();
        let entries = registry.build_all(configs.into_iter().collect(), None)?;
        let snapshot = Snapshot::new(entries);
        log_warnings(&snapshot.warnings, &[]);
        *registry
            .current
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(snapshot);
        Ok(registry)
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

    /// Notes on configurations that routing by `iss` can never choose: one
    /// without `issuer` while several configurations are enabled, or several
    /// enabled ones with the same `issuer`. Each message says whether a
    /// token can still reach the configuration through its own `token_name`
    /// and what to change. Logged (WARN) when they first appear.
    pub fn warnings(&self) -> Vec<ConfigWarning> {
        self.snapshot().warnings.clone()
    }

    /// The registry as its file format: a pretty JSON array of every
    /// configuration, sorted by name. Secrets are written as they were given,
    /// so an `{"env": …}` secret stays a reference (see [`crate::SecretSpec`]);
    /// a literal secret is written in full, so protect the file accordingly.
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

    /// Writes [`Registry::to_json_string`] to `path`, atomically: a temporary
    /// file in the same directory is written, flushed and renamed over
    /// `path`. A new file gets mode `0600` on Unix (it may hold secrets); an
    /// existing file keeps its permissions. A failure (`io`, or `config` when
    /// a configuration cannot be written) leaves `path` as it was.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), AdminError> {
        let path = path.as_ref();
        let mut text = self.to_json_string()?;
        text.push('\n');
        let temp = temp_path(path);
        let result = write_new(&temp, text.as_bytes(), fs::metadata(path).ok())
            .and_then(|()| fs::rename(&temp, path));
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result.map_err(|source| AdminError::Io {
            action: "write",
            path: path.display().to_string(),
            source,
        })
    }

    /// Adds a configuration. Its `last_modified` is set to now; its
    /// `created_by` is kept as given. A name already present (in any case) is
    /// `duplicate_name`; an invalid configuration is `config`.
    pub fn create(&self, mut config: JwtConfig) -> Result<(), AdminError> {
        config.last_modified = Some(self.now());
        self.modify(|entries| {
            if let Some(existing) = entries.get(&key(&config.name)) {
                return Err(AdminError::duplicate(&config.name, existing.name()));
            }
            give_free_id(&mut config, entries.values().map(|v| v.config()))?;
            let name = key(&config.name);
            entries.insert(name, Arc::new(self.build(config, None)?));
            Ok(())
        })
    }

    /// Replaces the configuration called `name` with `config`, which may
    /// carry a new name (a rename; the new name must be free). `last_modified`
    /// is set to now and `created_by` is kept from the stored configuration,
    /// whatever `config` says. Unknown `name` is `unknown_config`. When the
    /// key source (URL or issuer, and algorithms) is unchanged, the warm
    /// remote key cache is kept.
    pub fn update(&self, name: &str, mut config: JwtConfig) -> Result<(), AdminError> {
        config.last_modified = Some(self.now());
        self.modify(|entries| {
            let old_key = key(name);
            let Some(old) = entries.get(&old_key) else {
                return Err(unknown(name, entries));
            };
            let new_key = key(&config.name);
            if new_key != old_key
                && let Some(existing) = entries.get(&new_key)
            {
                return Err(AdminError::duplicate(&config.name, existing.name()));
            }
            config.created_by = old.config().created_by.clone();
            config.keep_identity_of(old.config());
            let verifier = self.build(config, Some(old))?;
            entries.remove(&old_key);
            entries.insert(new_key, Arc::new(verifier));
            Ok(())
        })
    }

    /// Enables or disables the configuration called `name` (a modification:
    /// `last_modified` is set to now; a warm remote key cache is kept).
    /// Unknown `name` is `unknown_config`.
    pub fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), AdminError> {
        let now = self.now();
        self.modify(|entries| {
            let Some(old) = entries.get(&key(name)) else {
                return Err(unknown(name, entries));
            };
            let mut config = old.config().clone();
            config.enabled = enabled;
            config.last_modified = Some(now);
            let verifier = self.build(config, Some(old))?;
            entries.insert(key(name), Arc::new(verifier));
            Ok(())
        })
    }

    /// Removes the configuration called `name` and returns it. Unknown
    /// `name` is `unknown_config`.
    pub fn delete(&self, name: &str) -> Result<JwtConfig, AdminError> {
        self.modify(|entries| match entries.remove(&key(name)) {
            Some(removed) => Ok(removed.config().clone()),
            None => Err(unknown(name, entries)),
        })
    }

    /// Swaps in a whole new set of configurations, as they are (metadata
    /// untouched): e.g. when another instance changed the shared store. Every
    /// configuration is validated first; an error (`duplicate_name`,
    /// `config`) changes nothing. A configuration whose key source is
    /// unchanged keeps its warm remote key cache (matched by name, or for a
    /// renamed one by an equal key source).
    pub fn replace_all(
        &self,
        configs: impl IntoIterator<Item = JwtConfig>,
    ) -> Result<(), AdminError> {
        let configs: Vec<JwtConfig> = configs.into_iter().collect();
        self.modify(|entries| {
            *entries = self.build_all(configs, Some(entries))?;
            Ok(())
        })
    }

    /// Fetches the keys of every enabled remote configuration now (all at
    /// once), e.g. at start-up so that the first logins do not wait. Returns
    /// the configurations whose fetch failed, with the `key_fetch` error;
    /// each failure is also logged (WARN). Logins still work after a failed
    /// warm-up: they fetch on demand.
    #[cfg(feature = "remote")]
    pub async fn warm_up(&self) -> Vec<(String, Error)> {
        let remote: Vec<Arc<Verifier>> = self
            .snapshot()
            .all
            .enabled
            .iter()
            .filter(|v| v.is_remote())
            .cloned()
            .collect();
        let fetches = remote.iter().map(|verifier| {
            Box::pin(async move {
                verifier
                    .refresh()
                    .await
                    .err()
                    .map(|e| (verifier.name().to_owned(), e))
            }) as std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send + '_>>
        });
        let failures: Vec<(String, Error)> = join_all(fetches.collect())
            .await
            .into_iter()
            .flatten()
            .collect();
        for (config, error) in &failures {
            tracing::warn!(
                target: "jwt_sso",
                config = %config,
                kind = error.kind().as_str(),
                error = %escape_controls(&error.to_string()),
                "warming up the key cache failed; logins will fetch on demand"
            );
        }
        failures
    }

    /// The configuration called `name` (any case).
    pub fn get(&self, name: &str) -> Option<JwtConfig> {
        self.snapshot().get(name).map(|v| v.config().clone())
    }

    /// The verifier of the configuration called `name` (any case). It keeps
    /// working on that configuration even if the registry changes later.
    pub fn verifier(&self, name: &str) -> Option<Arc<Verifier>> {
        self.snapshot().get(name).cloned()
    }

    /// Every configuration, sorted by name without regard to case.
    pub fn list(&self) -> Vec<JwtConfig> {
        self.snapshot()
            .entries
            .values()
            .map(|v| v.config().clone())
            .collect()
    }

    /// How many configurations the registry holds.
    pub fn len(&self) -> usize {
        self.snapshot().entries.len()
    }

    /// Whether the registry holds no configuration.
    pub fn is_empty(&self) -> bool {
        self.snapshot().entries.is_empty()
    }

    /// The distinct `token_name`s of the enabled configurations, sorted: the
    /// parameter or cookie names a server should look for a token under.
    pub fn token_names(&self) -> Vec<String> {
        let snapshot = self.snapshot();
        let mut names: Vec<String> = snapshot
            .all
            .enabled
            .iter()
            .map(|v| v.config().token_name.to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// The name of the configuration whose stable id
    /// ([`JwtConfig::stable_id`]) is `id` (any case).
    pub(crate) fn name_of_id(&self, id: &str) -> Option<String> {
        let id = id.to_lowercase();
        self.snapshot()
            .entries
            .values()
            .find(|v| v.config().stable_id() == id)
            .map(|v| v.name().to_owned())
    }

    /// Verifies `token` in full: routed along the verification's [`Route`]
    /// (by `iss` unless told otherwise; see the type's documentation), at
    /// its time or the registry clock's, with remote keys fetched when the
    /// cache needs it (static keys make this ready at once).
    ///
    /// The future is small (it holds no verifier state of its own, and a
    /// remote fetch is boxed apart), so an axum handler that awaits it stays
    /// cheap to box.
    pub fn verify<'a>(
        &'a self,
        token: &'a str,
        verification: Verification<'a>,
    ) -> impl Future<Output = Result<Verified, Error>> + Send + 'a {
        self.verification(verification.route_of(), verification.time(), token, true)
    }

    /// Verifies `token` as [`Registry::verify`] does, **without I/O**:
    /// remote configurations use their cached keys only and fail with
    /// `key_fetch` when none are cached (see `Registry::warm_up`, cargo
    /// feature `remote`).
    pub fn verify_cached(
        &self,
        token: &str,
        verification: Verification<'_>,
    ) -> Result<Verified, Error> {
        let now = verification.time().unwrap_or_else(|| self.clock.now());
        let (verifier, payload) = self.routed(verification.route_of(), token, true)?;
        match payload {
            Some(payload) => verifier.verify_at_decoded(token, now, payload),
            None => verifier.verify_at(token, now),
        }
    }

    /// The configuration `route` chooses for `token`, without verifying it.
    ///
    /// Only the payload's `iss` is read, after a strict decode (three
    /// segments, strict base64url, a strict JSON object), and only when more
    /// than one configuration (or none) is enabled; the chosen verifier then
    /// checks the token in full. A failure is logged (WARN, target
    /// `jwt_sso`, the token's `iss` escaped).
    pub fn route(&self, token: &str, route: Route<'_>) -> Result<Arc<Verifier>, Error> {
        self.routed(route, token, true)
            .map(|(verifier, _)| verifier)
    }

    /// The verifier for `token` along `route`, with the decoded payload when
    /// routing read it.
    pub(crate) fn routed(
        &self,
        route: Route<'_>,
        token: &str,
        log: bool,
    ) -> Result<(Arc<Verifier>, Option<Vec<u8>>), Error> {
        let snapshot = self.snapshot();
        let result = match route {
            Route::Issuer => route_in(&snapshot.all, token),
            Route::TokenName(name) => match snapshot.by_token_name.get(name) {
                Some(routes) => route_in(routes, token),
                None => route_in(&Routes::new([]), token),
            },
            Route::Config(name) => snapshot
                .get(name)
                .map(|v| (Arc::clone(v), None))
                .ok_or_else(|| snapshot.unknown(name)),
        };
        if log && let Err(error) = &result {
            tracing::warn!(
                target: "jwt_sso",
                kind = error.kind().as_str(),
                error = %escape_controls(&error.to_string()),
                "no configuration for token"
            );
        }
        result
    }

    /// The full verification: routed, at the verification's time or
    /// (`None`) the registry clock's time when first polled.
    ///
    /// The route and the time come apart: a `Verification` held whole in
    /// this future made it 40 bytes larger, which pushed the boxed future
    /// of an axum handler past 1 KiB (see `tests/axum_extract.rs`).
    pub(crate) async fn verification(
        &self,
        route: Route<'_>,
        at: Option<UnixTime>,
        token: &str,
        log: bool,
    ) -> Result<Verified, Error> {
        let now = at.unwrap_or_else(|| self.clock.now());
        let (verifier, payload) = self.routed(route, token, log)?;
        verify_with(verifier, token, now, payload).await
    }

    /// The registry clock's time.
    pub(crate) fn clock_now(&self) -> UnixTime {
        self.clock.now()
    }

    /// The registry's clock, to hand to what works beside it.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Runs one change on a copy of the current map and swaps the result in.
    /// Writers are serialised, so a change always starts from the latest map;
    /// readers keep the snapshot they hold. (A poisoned lock is harmless: the
    /// map behind it is immutable.)
    fn modify<T>(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Arc<Verifier>>) -> Result<T, AdminError>,
    ) -> Result<T, AdminError> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        self.apply_locked(&mut writer, change)
    }

    /// The number of changes applied so far (any of them: create, update,
    /// delete, enable, `replace_all`).
    pub(crate) fn generation(&self) -> u64 {
        *self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// [`Registry::replace_all`], unless the registry changed since it was
    /// at `generation`: then `Ok(false)` and nothing happens. A sync that
    /// read the store before a local change was applied must not undo it.
    pub(crate) fn replace_all_unless_changed(
        &self,
        configs: Vec<JwtConfig>,
        generation: u64,
    ) -> Result<bool, AdminError> {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if *writer != generation {
            return Ok(false);
        }
        self.apply_locked(&mut writer, |entries| {
            *entries = self.build_all(configs, Some(entries))?;
            Ok(true)
        })
    }

    /// [`Registry::modify`] with the writer's lock held: counts the change.
    fn apply_locked<T>(
        &self,
        writer: &mut MutexGuard<'_, u64>,
        change: impl FnOnce(&mut BTreeMap<String, Arc<Verifier>>) -> Result<T, AdminError>,
    ) -> Result<T, AdminError> {
        let before = self.snapshot();
        let mut entries = before.entries.clone();
        let out = change(&mut entries)?;
        let after = Snapshot::new(entries);
        log_warnings(&after.warnings, &before.warnings);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(after);
        **writer += 1;
        Ok(out)
    }

    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::try_from(self.clock.now()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

/// The old verifier whose warm cache a new configuration may keep: the one of
/// the same name, else (a rename) a remote one with an equal key source.
fn previous_for(
    old: &BTreeMap<String, Arc<Verifier>>,
    config: &JwtConfig,
) -> Option<Arc<Verifier>> {
    if let Some(same) = old.get(&key(&config.name)) {
        return Some(Arc::clone(same));
    }
    old.values()
        .find(|v| {
            v.is_remote()
                && v.config().key_source == config.key_source
                && v.config().issuer == config.issuer
                && v.config().algorithms == config.algorithms
        })
        .cloned()
}

/// Logs the warnings that are new in `now` compared with `before`.
fn log_warnings(now: &[ConfigWarning], before: &[ConfigWarning]) {
    for warning in now.iter().filter(|w| !before.contains(w)) {
        tracing::warn!(
            target: "jwt_sso",
            config = %warning.config,
            warning = %warning.message,
            "configuration cannot be routed to"
        );
    }
}

/// Polls every future to completion, concurrently on one task.
#[cfg(feature = "remote")]
async fn join_all<T>(
    mut futures: Vec<std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + '_>>>,
) -> Vec<T> {
    use std::task::Poll;
    let mut results: Vec<Option<T>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, result) in futures.iter_mut().zip(results.iter_mut()) {
            if result.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(value) => *result = Some(value),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    results.into_iter().flatten().collect()
}

/// The full verification of `token` with the verifier routing chose;
/// `payload` is the one routing decoded, when it did.
///
/// Static keys verify without awaiting anything. Only a remote verifier,
/// which may fetch keys first, is awaited, and its future is boxed. That
/// keeps every caller's future small: an axum handler's future is boxed on
/// every request, and under 1 KiB the allocator serves it from its caches.
pub(crate) async fn verify_with(
    verifier: Arc<Verifier>,
    token: &str,
    now: UnixTime,
    payload: Option<Vec<u8>>,
) -> Result<Verified, Error> {
    #[cfg(feature = "remote")]
    if verifier.is_remote() {
        return remote_verification(verifier, token, now).await;
    }
    match payload {
        // The routing decoded the payload already: the verifier reuses it.
        Some(payload) => verifier.verify_at_decoded(token, now, payload),
        None => verifier.verify_at(token, now),
    }
}

#[cfg(feature = "remote")]
fn remote_verification(
    verifier: Arc<Verifier>,
    token: &str,
    now: UnixTime,
) -> Pin<Box<dyn Future<Output = Result<Verified, Error>> + Send + '_>> {
    Box::pin(async move { verifier.verify_at_async(token, now).await })
}

/// Gives a new configuration a stable id no other configuration has: its
/// default (the name in lower case) when free, else that with `~2`, `~3`…
/// (the name of a renamed configuration, whose users and `jti`s stay its
/// own). An `id` set by hand that is taken is a `config` error.
pub(crate) fn give_free_id<'c>(
    config: &mut JwtConfig,
    others: impl Iterator<Item = &'c JwtConfig>,
) -> Result<(), ConfigError> {
    let taken: HashMap<String, &JwtConfig> = others.map(|c| (c.stable_id(), c)).collect();
    let wanted = config.stable_id();
    let Some(other) = taken.get(&wanted) else {
        return Ok(());
    };
    if config.id.is_some() {
        return Err(same_id(config, &other.name));
    }
    let free = (2..)
        .map(|n| format!("{wanted}~{n}"))
        .find(|id| !taken.contains_key(id))
        .unwrap_or_default();
    config.id = Some(free);
    Ok(())
}

fn same_id(config: &JwtConfig, other: &str) -> ConfigError {
    ConfigError::new(
        "id",
        format!(
            "configurations `{}` and `{other}` have the same stable id `{}`",
            escape_controls(&config.name),
            escape_controls(&config.stable_id())
        ),
        "give each configuration its own `id`, or leave `id` out of the new one (the registry picks a free one)",
    )
}

fn route_in(routes: &Routes, token: &str) -> Result<(Arc<Verifier>, Option<Vec<u8>>), Error> {
    if let [only] = routes.enabled.as_slice() {
        return route_to_only(routes, only, token);
    }
    if token.len() > routes.max_token_bytes {
        return Err(Error::Token(TokenError::TokenTooLarge {
            size: token.len(),
            max: routes.max_token_bytes,
        }));
    }
    let payload = decode_payload(token)?;
    // Fast: read up to the first `iss`. A token routed this way is then
    // parsed strictly by its verifier; one that finds no single route is
    // parsed strictly here, so that a malformed payload says so.
    let iss = peek_string_member(&payload, "iss").map_err(|_| not_strict())?;
    let matching = iss.as_deref().and_then(|iss| routes.by_issuer.get(iss));
    let matching = matching.map(Vec::as_slice).unwrap_or_default();
    if let [one] = matching {
        return Ok((Arc::clone(one), Some(payload)));
    }
    check_object(&payload).map_err(|_| not_strict())?;
    if !matching.is_empty() {
        return Err(Error::Login(LoginError::AmbiguousConfig {
            iss: iss.unwrap_or_default(),
            candidates: matching.iter().map(|v| v.name().to_owned()).collect(),
        }));
    }
    if let Some(off) = routes
        .disabled
        .iter()
        .find(|v| iss.is_some() && v.config().issuer == iss)
    {
        return Err(Error::Token(TokenError::Disabled {
            config: off.name().to_owned(),
        }));
    }
    Err(Error::Login(LoginError::NoMatchingConfig {
        iss,
        candidates: routes
            .enabled
            .iter()
            .map(|v| (v.name().to_owned(), v.config().issuer.clone()))
            .collect(),
    }))
}

/// The only enabled configuration takes every token (CONTRACT 6, "or the only
/// one"), except a token whose `iss` belongs to another `token_name`'s
/// configuration (`no_matching_config`), or names a disabled configuration
/// and not this one (`disabled`). The payload is read only when such an
/// issuer exists; a payload that cannot be read goes to the only
/// configuration, whose verifier reports it in its own order.
fn route_to_only(
    routes: &Routes,
    only: &Arc<Verifier>,
    token: &str,
) -> Result<(Arc<Verifier>, Option<Vec<u8>>), Error> {
    let chosen = || Ok((Arc::clone(only), None));
    if (routes.foreign_issuers.is_empty()
        && routes.disabled.iter().all(|v| v.config().issuer.is_none()))
        || token.len() > routes.max_token_bytes
    {
        return chosen();
    }
    let Ok(payload) = decode_payload(token) else {
        return chosen();
    };
    let Ok(Some(iss)) = peek_string_member(&payload, "iss") else {
        return chosen();
    };
    if only.config().issuer.as_deref() != Some(iss.as_str()) {
        if routes.foreign_issuers.contains(&iss) {
            return Err(Error::Login(LoginError::NoMatchingConfig {
                iss: Some(iss),
                candidates: vec![(only.name().to_owned(), only.config().issuer.clone())],
            }));
        }
        if let Some(off) = routes
            .disabled
            .iter()
            .find(|v| v.config().issuer.as_deref() == Some(iss.as_str()))
        {
            return Err(Error::Token(TokenError::Disabled {
                config: off.name().to_owned(),
            }));
        }
    }
    Ok((Arc::clone(only), Some(payload)))
}

/// The payload of an unverified token, decoded strictly, read only to
/// choose a configuration by its `iss`.
fn decode_payload(token: &str) -> Result<Vec<u8>, Error> {
    let [_, payload, _] = segments(token)?;
    STRICT_B64URL
        .decode(payload)
        .map_err(|_| not_base64url("payload"))
}

/// The payload is not a strict JSON object; errors never describe its contents.
fn not_strict() -> Error {
    Error::malformed(
        TokenPart::Payload,
        "is not a strict JSON object, so no configuration can be chosen by its `iss`",
    )
}

/// A temporary file name next to `path`, unique within this process.
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{file}.{}.{n}.tmp", std::process::id()))
}

fn write_new(path: &Path, bytes: &[u8], existing: Option<fs::Metadata>) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    if let Some(existing) = existing {
        file.set_permissions(existing.permissions())?;
    }
    file.sync_all()
}
