//! `Registry`: the named configurations a server accepts tokens for, each
//! validated into a [`Verifier`], and verification routed by `iss`, by the
//! name a token travelled under, or by configuration name.
//!
//! By concern: [`routing`] chooses a configuration for a token,
//! [`snapshot`] holds one immutable state (verifiers, routes, versions,
//! warnings) and builds the next, [`loading`] makes a registry of a fixed
//! set. Changes come from one owner (`Configs`, cargo feature `admin`),
//! through [`Registry::install`].

use std::fmt;
#[cfg(feature = "remote")]
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::clock::Clock;
use crate::config::JwtConfig;
use crate::error::{Error, escape_controls};
use crate::identity::Verified;
#[cfg(feature = "remote")]
use crate::remote::{HttpFetch, RemoteOptions};
use crate::unix_time::UnixTime;
use crate::verify::Verifier;

mod loading;
mod routing;
mod snapshot;

pub use routing::{Route, Verification};
pub use snapshot::ConfigWarning;

use routing::{Routes, route_in};
use snapshot::{Settings, Snapshot, log_warnings};

/// Named JWT configurations, each validated into a [`Verifier`]: the set a
/// server accepts tokens for, and how a token finds its configuration.
///
/// - Names are unique without regard to case (`ERP` and `erp` are the same
///   name; Unicode lower-casing decides). Every lookup by name ignores case.
/// - The registry is read-only in public. A fixed set is loaded with
///   [`Registry::from_configs`], [`Registry::from_json_str`] or
///   [`Registry::load`]; a set that changes (the administrator's API, a
///   host's own code, another instance, a hand edit of the configuration
///   file) is owned by `Configs` (cargo feature `admin`), which saves every
///   change to its store first and then installs the new set here.
/// - The registry is `Send + Sync`. Readers take a snapshot (an `Arc` of an
///   immutable map) and never wait for a change; a change builds a new map
///   and swaps it in whole, so a verification sees either the old or the
///   new configuration, never a mixture. A change rebuilds only the
///   verifiers of the configurations it changes: the others are kept as
///   they are (the same `Arc<Verifier>`, warm remote key caches included).
/// - One [`Clock`] ([`Registry::clock`]; set once, at set-up, by
///   [`Registry::with_clock`] or by the owner's `Configs::with_clock`; the
///   system clock otherwise) gives "now" to verifications and is the time
///   of the remote key caches; the login flow's replay store uses it, and
///   a host hands it on to its sessions and the SQL purge.
/// - Remote key sources (`jwks_uri`, `issuer`; cargo feature `remote`): an
///   edit that leaves a configuration's key source (URL or issuer, and
///   algorithms) as it was keeps its warm key cache, a rename too.
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
/// use jwt_sso::{ErrorKind, Registry, UnixTime, Verification};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let registry = Registry::from_json_str(r#"[
///   {"name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
///    "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///    "expiration_time": 3600, "claims": {"user_id": "sub"}, "initial_roles": ["Viewer"]},
///   {"name": "CRM", "token_name": "token", "issuer": "https://crm.example.com",
///    "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "crm-secret-of-at-least-32-bytes!!"},
///    "expiration_time": 3600, "claims": {"user_id": "sub"}, "user_type": "analyst", "enabled": false}
/// ]"#)?;
/// let at = Verification::default().at(UnixTime::from_secs(1_767_225_600));
///
/// // A token from the ERP is verified by the ERP configuration (routing by `iss`).
/// let token = jwt_sso::mint::SigningKey::from_secret(b"erp-secret-of-at-least-32-bytes!!").sign(
///     jwt_sso::Algorithm::HS256,
///     &serde_json::json!({"iss": "https://erp.example.com", "sub": "jdoe", "exp": 1_767_229_200}),
/// )?;
/// let identity = registry.verify(&token, at).await?;
/// assert_eq!((identity.config.as_str(), identity.roles.as_slice()), ("ERP", &["Viewer".into()][..]));
///
/// // A token whose issuer only a disabled configuration has is `disabled`.
/// let crm = jwt_sso::mint::SigningKey::from_secret(b"crm-secret-of-at-least-32-bytes!!").sign(
///     jwt_sso::Algorithm::HS256,
///     &serde_json::json!({"iss": "https://crm.example.com", "sub": "jdoe", "exp": 1_767_229_200}),
/// )?;
/// assert_eq!(registry.verify(&crm, at).await.unwrap_err().kind(), ErrorKind::Disabled);
///
/// // Names are matched without regard to case.
/// assert!(registry.get("erp").is_some());
/// let names: Vec<String> = registry.list().into_iter().map(|c| c.name.to_string()).collect();
/// assert_eq!(names, ["CRM", "ERP"]);
/// # Ok(())
/// # }
/// ```
pub struct Registry {
    current: RwLock<Arc<Snapshot>>,
    /// Serialises installs, so each builds on the snapshot before it.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    writer: Mutex<()>,
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
            .field("clock", &snapshot.settings.clock)
            .finish_non_exhaustive()
    }
}

impl Registry {
    /// An empty registry on the system clock (its owner installs sets).
    pub(crate) fn new() -> Self {
        Registry {
            current: RwLock::new(Arc::new(Snapshot::empty())),
            writer: Mutex::new(()),
        }
    }

    fn snapshot(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Installs a validated set: `configs`, each with the version its store
    /// gave it. Only the verifiers of configurations that changed are built
    /// (see [`Snapshot::rebuilt`]); an invalid set (`config`,
    /// `duplicate_name`) changes nothing. New routing warnings are logged.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn install(
        &self,
        configs: Vec<(JwtConfig, Option<String>)>,
    ) -> Result<(), crate::error::AdminError> {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let before = self.snapshot();
        let after = before.rebuilt(configs, Arc::clone(&before.settings), true)?;
        self.swap(&before, after);
        Ok(())
    }

    /// Rebuilds every verifier with changed settings (set-up time: remote
    /// key caches start empty; no key is parsed again).
    fn resettle(&self, change: impl FnOnce(&mut Settings)) {
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let before = self.snapshot();
        let mut settings = Settings::clone(&before.settings);
        change(&mut settings);
        let configs = before
            .entries
            .iter()
            .map(|(key, v)| (v.config().clone(), before.versions.get(key).cloned()))
            .collect();
        // The same configurations, which were valid: rebuilding cannot fail
        // except for an `env` secret that has gone since; then the old
        // verifiers stay, on the old settings.
        match before.rebuilt(configs, Arc::new(settings.clone()), true) {
            Ok(after) => self.swap(&before, after),
            Err(error) => {
                tracing::error!(
                    target: "jwt_sso",
                    kind = error.kind().as_str(),
                    error = %escape_controls(&error.to_string()),
                    "the configurations could not be rebuilt with the new settings"
                );
                let kept = Snapshot::new(
                    before.entries.clone(),
                    before.versions.clone(),
                    Arc::new(settings),
                );
                self.swap(&before, kept);
            }
        }
    }

    fn swap(&self, before: &Snapshot, after: Snapshot) {
        log_warnings(&after.warnings, &before.warnings);
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(after);
    }

    /// Replaces the clock (set-up time; see `Registry::with_clock`).
    pub(crate) fn set_clock(&self, clock: Arc<dyn Clock>) {
        self.resettle(|settings| settings.clock = clock);
    }

    /// Replaces the host's administrator roles (set-up time; see
    /// `Registry::with_admin_roles`).
    pub(crate) fn set_admin_roles(&self, roles: Arc<[String]>) {
        self.resettle(|settings| settings.admin_roles = Some(roles));
    }

    /// Replaces the remote key caches' options (set-up time).
    #[cfg(feature = "remote")]
    pub(crate) fn set_remote_options(&self, options: RemoteOptions) {
        self.resettle(|settings| settings.options = options);
    }

    /// Replaces the remote key caches' HTTP client (set-up time).
    #[cfg(feature = "remote")]
    pub(crate) fn set_http_fetch(&self, fetch: Arc<dyn HttpFetch>) {
        self.resettle(|settings| settings.fetch = Some(fetch));
    }

    /// The registry's clock: "now" for every verification without an
    /// explicit time, and the time of the remote key caches. Hand the same
    /// clock to what works beside the registry (sessions, the SQL purge).
    pub fn clock(&self) -> Arc<dyn Clock> {
        Arc::clone(&self.snapshot().settings.clock)
    }

    /// The registry clock's time.
    pub(crate) fn clock_now(&self) -> UnixTime {
        self.snapshot().settings.clock.now()
    }

    /// Notes on configurations that routing by `iss` can never choose: one
    /// without `issuer` while several configurations are enabled, or several
    /// enabled ones with the same `issuer`. Each message says whether a
    /// token can still reach the configuration through its own `token_name`
    /// and what to change. Logged (WARN) when they first appear.
    pub fn warnings(&self) -> Vec<ConfigWarning> {
        self.snapshot().warnings.clone()
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
        let fetches = remote.iter().map(|verifier| async move {
            verifier
                .refresh()
                .await
                .err()
                .map(|e| (verifier.name().to_owned(), e))
        });
        let failures: Vec<(String, Error)> = futures_util::future::join_all(fetches)
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

    /// The configuration called `name` (any case) with the version its
    /// store gave it (`None` in a registry of a fixed set).
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn get_versioned(&self, name: &str) -> Option<(JwtConfig, Option<String>)> {
        let snapshot = self.snapshot();
        let verifier = snapshot.get(name)?;
        let version = snapshot.versions.get(&snapshot::key(name)).cloned();
        Some((verifier.config().clone(), version))
    }

    /// Validates `config`, which is to replace the configuration called
    /// `replacing` (if any): the parsed keys of that one are reused when the
    /// key source, algorithms and issuer are unchanged (so an edit of a
    /// configuration whose `env` secret is gone from the environment works
    /// as long as it leaves the key source alone).
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn check(
        &self,
        config: &JwtConfig,
        replacing: Option<&str>,
    ) -> Result<(), crate::error::ConfigError> {
        let snapshot = self.snapshot();
        let previous = replacing.and_then(|name| snapshot.get(name));
        crate::validated::ValidConfig::revalidate(
            config.clone(),
            previous.map(|v| v.valid_config()),
        )
        .map(drop)
    }

    /// The names of every configuration, sorted without regard to case.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn names(&self) -> Vec<String> {
        self.snapshot().names()
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

    /// Describes every metric series (see [`crate::metrics`], which shows it
    /// with a Prometheus exporter) and registers it at 0 with the installed
    /// recorder, so that each is present from the start:
    /// `jwt_sso_logins_total{config=<each configuration>,outcome="accepted",kind="none"}`
    /// and `{config="none",outcome="refused",kind="rate_limited"}`, both
    /// outcomes of the histogram, `jwt_sso_key_fetches_total` for each remote
    /// configuration (`config="none"` when there is none), and the three
    /// unlabelled series. Call it once after installing the recorder, and
    /// again after adding configurations to show theirs at 0 too (it only
    /// adds zeros). Without an installed recorder it does nothing.
    pub fn describe_metrics(&self) {
        let snapshot = self.snapshot();
        crate::metrics::describe(
            snapshot
                .entries
                .values()
                .map(|v| (v.config().name.as_str(), v.is_remote())),
        );
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

    /// Whether an enabled configuration has the stable id `id`.
    #[cfg(feature = "sessions")]
    pub(crate) fn is_enabled_id(&self, id: &str) -> bool {
        self.snapshot()
            .all
            .enabled
            .iter()
            .any(|v| v.config().stable_id() == id)
    }

    /// The configuration (enabled or not) whose stable id is `id`.
    #[cfg(feature = "sessions")]
    pub(crate) fn config_by_id(&self, id: &str) -> Option<JwtConfig> {
        self.snapshot()
            .entries
            .values()
            .find(|v| v.config().stable_id() == id)
            .map(|v| v.config().clone())
    }

    /// The stable ids of the enabled configurations.
    #[cfg(feature = "admin")]
    pub(crate) fn enabled_ids(&self) -> std::collections::HashSet<String> {
        self.snapshot()
            .all
            .enabled
            .iter()
            .map(|v| v.config().stable_id())
            .collect()
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
        let (verifier, payload, now) =
            self.routed_at(verification.route_of(), verification.time(), token, true)?;
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
        routed_in(&self.snapshot(), route, token, log)
    }

    /// [`Registry::routed`], and the time to verify at: `at`, else the
    /// clock's time, read from the same snapshot.
    fn routed_at(
        &self,
        route: Route<'_>,
        at: Option<UnixTime>,
        token: &str,
        log: bool,
    ) -> Result<Routed, Error> {
        let snapshot = self.snapshot();
        let now = at.unwrap_or_else(|| snapshot.settings.clock.now());
        let (verifier, payload) = routed_in(&snapshot, route, token, log)?;
        Ok((verifier, payload, now))
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
        let (verifier, payload, now) = self.routed_at(route, at, token, log)?;
        verify_with(verifier, token, now, payload).await
    }
}

/// What routing chose: the verifier, the payload when routing decoded it,
/// and the time to verify at.
type Routed = (Arc<Verifier>, Option<Vec<u8>>, UnixTime);

/// The verifier for `token` along `route` in `snapshot`; a failure is
/// logged when `log`.
fn routed_in(
    snapshot: &Snapshot,
    route: Route<'_>,
    token: &str,
    log: bool,
) -> Result<(Arc<Verifier>, Option<Vec<u8>>), Error> {
    let result = match route {
        Route::Issuer => route_in(&snapshot.all, token),
        Route::TokenName(name) => match snapshot.by_token_name.get(name) {
            Some(routes) => route_in(routes, token),
            None => route_in(&Routes::new([]), token),
        },
        Route::Bearer(None) => route_in(&snapshot.bearer, token),
        Route::Bearer(Some(name)) => match snapshot.bearer_by_token_name.get(name) {
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
