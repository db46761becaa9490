//! The key cache: one per remote [`crate::Verifier`].
//!
//! Reads are lock-free: the current [`State`] sits in an [`ArcSwap`], so a
//! token whose key is in a fresh set costs an atomic load and a clock read.
//! Writes happen only under the refresh lock (an async mutex), which also
//! makes refreshes single-flight: a task that waited for the lock while
//! another fetched uses that fetch's outcome instead of fetching again.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard};
use url::Url;

use super::clock::CacheTime;
use super::discovery::{Discovered, parse_discovery};
use super::http::{HttpFetch, HttpRequest, HttpResponse, ReqwestFetch};
use super::{RemoteOptions, human, too_large_message};
use crate::clock::Clock;
use crate::config::url_rules::{check_redirect, check_url, discovery_url};
use crate::config::{Algorithm, JwtConfig, KeySource};
use crate::error::{ConfigError, Error, KeyFetchError, escape_controls, untrusted};
use crate::key::{JwkSkip, KeyFamily, KeySet, Selection, VerifyingKey, no_usable_key, parse_set};

/// Redirects followed (same origin only) before giving up.
const MAX_REDIRECTS: usize = 5;

/// Where the key set comes from.
#[derive(Debug, Clone)]
enum Source {
    JwksUri(Url),
    Issuer { issuer: String, discovery: Url },
}

/// A key set that was fetched and parsed.
struct Cached {
    set: KeySet,
    url: Url,
    fetched_at: Duration,
    fresh_until: Duration,
    /// `fresh_until + stale_if_error`: past this, the set is never used.
    usable_until: Duration,
}

/// The latest attempt failed: when, where and why.
struct Failure {
    at: Duration,
    url: String,
    reason: String,
}

/// What readers see; replaced as a whole after every fetch attempt.
#[derive(Default)]
struct State {
    /// The last good key set.
    keys: Option<Arc<Cached>>,
    /// Set when the latest attempt failed; cleared by a success.
    failure: Option<Arc<Failure>>,
    /// Fetch attempts completed, successful or not.
    attempts: u64,
}

/// Bookkeeping that only the holder of the refresh lock touches.
#[derive(Default)]
struct Book {
    /// When a token with an unknown `kid` last triggered a refetch.
    last_miss_refetch: Option<Duration>,
    /// The cached discovery result (`issuer` sources).
    discovered: Option<Discovered>,
}

/// A remote key source that passed the URL rules, and an allowlist without
/// HMAC algorithms: what a validated configuration holds. No I/O.
#[derive(Debug, Clone)]
pub(crate) struct RemoteSource {
    source: Source,
    /// The configuration's name: the `config` label of the fetch metric.
    config: Arc<str>,
}

impl RemoteSource {
    /// Checks the remote source of `config` (URL rules, algorithms).
    pub(crate) fn new(config: &JwtConfig, algorithms: &[Algorithm]) -> Result<Self, ConfigError> {
        let source = match &config.key_source {
            KeySource::JwksUri { url } => Source::JwksUri(check_url(url).map_err(|problem| {
                ConfigError::new(
                    "key_source.url",
                    problem,
                    "set key_source.url to the provider's https:// JWK Set URL (plain http only to 127.0.0.1, ::1 or localhost)",
                )
            })?),
            KeySource::Issuer {} => {
                let issuer = config.issuer.clone().ok_or_else(|| {
                    ConfigError::new(
                        "issuer",
                        "key_source type `issuer` needs the configuration's `issuer`",
                        "set issuer to the identity provider's issuer URL",
                    )
                })?;
                let discovery = discovery_url(&issuer).map_err(|problem| {
                    ConfigError::new(
                        "issuer",
                        format!("discovery needs an https issuer URL: {problem}"),
                        "set issuer to the provider's https:// issuer URL exactly as its tokens carry it in `iss`",
                    )
                })?;
                Source::Issuer { issuer, discovery }
            }
            other => {
                return Err(ConfigError::new(
                    "key_source.type",
                    format!("`{}` is not a remote key source", other.type_name()),
                    "use `jwks_uri` or `issuer`",
                ));
            }
        };
        if let Some(alg) = algorithms.iter().find(|a| a.is_hmac()) {
            return Err(ConfigError::new(
                "algorithms",
                format!(
                    "{alg} needs a shared secret, and a remote key source (`{}`) never provides one: a symmetric key published at a URL is no secret",
                    config.key_source.type_name()
                ),
                "remove the HS* algorithms, or use a `static` key source with a `secret` for them",
            ));
        }
        Ok(RemoteSource {
            source,
            config: config.name.as_str().into(),
        })
    }
}

/// Keys of a `jwks_uri` or `issuer` source, fetched on demand and cached.
pub(crate) struct KeyCache {
    /// The configuration's name: the `config` label of the fetch metric.
    config: Arc<str>,
    source: Source,
    algorithms: Vec<Algorithm>,
    options: RemoteOptions,
    fetch: Arc<dyn HttpFetch>,
    clock: Arc<CacheTime>,
    state: ArcSwap<State>,
    book: Mutex<Book>,
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.load();
        f.debug_struct("KeyCache")
            .field("source", &self.source_url())
            .field("cached_keys", &state.keys.as_ref().map(|c| c.set.len()))
            .field("attempts", &state.attempts)
            .field("options", &self.options)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl KeyCache {
    /// A cache (empty) for a checked remote source; no I/O.
    pub(crate) fn new(source: &RemoteSource, algorithms: &[Algorithm]) -> Self {
        KeyCache {
            config: Arc::clone(&source.config),
            source: source.source.clone(),
            algorithms: algorithms.to_vec(),
            options: RemoteOptions::default(),
            fetch: Arc::new(ReqwestFetch::new()),
            clock: Arc::new(CacheTime::default()),
            state: ArcSwap::from_pointee(State::default()),
            book: Mutex::new(Book::default()),
        }
    }

    pub(crate) fn set_options(&mut self, options: RemoteOptions) {
        self.options = options;
    }

    pub(crate) fn set_fetch(&mut self, fetch: Arc<dyn HttpFetch>) {
        self.fetch = fetch;
    }

    /// Replaces the clock; the cache starts empty, since its times were read
    /// from the old clock.
    pub(crate) fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = Arc::new(CacheTime::new(clock));
        self.state = ArcSwap::from_pointee(State::default());
        self.book = Mutex::new(Book::default());
    }

    /// The configured URL: the JWK Set's, or the discovery document's.
    fn source_url(&self) -> String {
        match &self.source {
            Source::JwksUri(url) => url.to_string(),
            Source::Issuer { discovery, .. } => discovery.to_string(),
        }
    }

    /// Runs `f` on the cached keys if they are usable (fresh, or stale within
    /// the stale-if-error window); never does I/O. This is the synchronous
    /// path.
    pub(crate) fn with_usable<R>(&self, f: impl FnOnce(&KeySet) -> R) -> Result<R, Error> {
        let state = self.state.load();
        let now = self.clock.now();
        match state.keys.as_deref() {
            Some(cached) if now < cached.usable_until => Ok(f(&cached.set)),
            _ => Err(self.unavailable(&state, now)),
        }
    }

    /// Chooses the keys for a token, refreshing first when the cache says so,
    /// and runs `f` on them.
    ///
    /// - fresh set, key found: `f` at once, no lock, no I/O;
    /// - fresh set, no key (`kid` unknown): one refetch per `miss_cooldown`,
    ///   shared by concurrent misses;
    /// - stale set: a refresh; a token whose key the stale set has does not
    ///   wait when another task is already refreshing;
    /// - after a failed attempt, none for `retry_after_error`.
    pub(crate) async fn select_async<R>(
        &self,
        alg: Algorithm,
        kid: Option<Result<&str, ()>>,
        f: impl FnOnce(&[&VerifyingKey]) -> R,
    ) -> Result<R, Error> {
        let (seen, stale_hit) = {
            let state = self.state.load();
            let now = self.clock.now();
            match state.keys.as_deref() {
                Some(cached) if now < cached.fresh_until => {
                    if let Selection::Keys(keys) = cached.set.select(alg, kid) {
                        return Ok(f(keys.as_slice()));
                    }
                    (state.attempts, false)
                }
                Some(cached) if now < cached.usable_until => (
                    state.attempts,
                    matches!(cached.set.select(alg, kid), Selection::Keys(_)),
                ),
                _ => (state.attempts, false),
            }
        };
        if stale_hit {
            // Only one task refreshes stale keys; the others serve the stale set.
            if let Ok(book) = self.book.try_lock() {
                self.refresh_locked(book, seen).await;
            }
        } else {
            let book = self.book.lock().await;
            self.refresh_locked(book, seen).await;
        }
        self.with_usable(|set| match set.select(alg, kid) {
            Selection::Keys(keys) => Ok(f(keys.as_slice())),
            Selection::NotFound(error) => Err(error),
        })?
    }

    /// Fetches now (joining a fetch in flight) whatever the cache state, and
    /// reports the outcome. The last good keys survive a failure.
    pub(crate) async fn refresh(&self) -> Result<(), Error> {
        let seen = self.state.load().attempts;
        let mut book = self.book.lock().await;
        if self.state.load().attempts == seen {
            self.attempt(&mut book).await;
        }
        drop(book);
        match &self.state.load().failure {
            Some(failure) => Err(KeyFetchError::new(&failure.url, &failure.reason).into()),
            None => Ok(()),
        }
    }

    /// With the refresh lock held: fetch unless another task just did, the
    /// last attempt failed too recently, or this is a miss within the cooldown.
    async fn refresh_locked(&self, mut book: MutexGuard<'_, Book>, seen: u64) {
        let now = self.clock.now();
        let miss = {
            let state = self.state.load();
            if state.attempts != seen {
                return; // another task fetched while this one waited: share its outcome
            }
            let retry = self.options.retry_after_error;
            if state
                .failure
                .as_ref()
                .is_some_and(|f| now < f.at.saturating_add(retry))
            {
                return;
            }
            // A fresh set means an unknown `kid`: the cooldown applies.
            let cooldown = self.options.miss_cooldown;
            let fresh = state.keys.as_ref().is_some_and(|c| now < c.fresh_until);
            if fresh
                && book
                    .last_miss_refetch
                    .is_some_and(|at| now < at.saturating_add(cooldown))
            {
                return;
            }
            fresh
        };
        self.attempt(&mut book).await;
        // Recorded once the attempt completed, so a caller that gave up (its
        // future dropped mid-fetch) does not use up the cooldown.
        if miss {
            book.last_miss_refetch = Some(now);
        }
    }

    /// One fetch attempt; publishes its outcome.
    async fn attempt(&self, book: &mut Book) {
        let result = self.fetch_keys(book).await;
        crate::metrics::key_fetch(&self.config, result.is_ok());
        let done = self.clock.now();
        let old = self.state.load_full();
        let next = match result {
            Ok((set, url, ttl)) => {
                let fresh_until = done.saturating_add(ttl);
                tracing::debug!(
                    target: "jwt_sso",
                    url = %untrusted(url.as_str()),
                    keys = set.len(),
                    fresh_for = %human(ttl),
                    "fetched the JWK Set"
                );
                State {
                    keys: Some(Arc::new(Cached {
                        set,
                        url,
                        fetched_at: done,
                        fresh_until,
                        usable_until: fresh_until.saturating_add(self.options.stale_if_error),
                    })),
                    failure: None,
                    attempts: old.attempts + 1,
                }
            }
            Err((url, reason)) => {
                match old.keys.as_deref().filter(|c| done < c.usable_until) {
                    Some(cached) => tracing::warn!(
                        target: "jwt_sso",
                        url = %untrusted(&url),
                        error = %escape_controls(&reason),
                        keys_fetched_ago = %human(done.saturating_sub(cached.fetched_at)),
                        serving_for_at_most = %human(cached.usable_until.saturating_sub(done)),
                        "refreshing the keys failed; the last good keys keep serving (stale-if-error)"
                    ),
                    None => tracing::warn!(
                        target: "jwt_sso",
                        url = %untrusted(&url),
                        error = %escape_controls(&reason),
                        "fetching the keys failed and no usable keys are cached; tokens are refused with key_fetch"
                    ),
                }
                State {
                    keys: old.keys.clone(),
                    failure: Some(Arc::new(Failure {
                        at: done,
                        url,
                        reason,
                    })),
                    attempts: old.attempts + 1,
                }
            }
        };
        self.state.store(Arc::new(next));
    }

    /// Discovery (when needed), then the JWK Set. Errors are (url, reason).
    async fn fetch_keys(
        &self,
        book: &mut Book,
    ) -> Result<(KeySet, Url, Duration), (String, String)> {
        let url = self.jwks_url(book).await?;
        let fail = |reason: String| (url.to_string(), reason);
        let response = self.get(&url).await.map_err(fail)?;
        let set = self.parse_jwks(&response.body, &url).map_err(fail)?;
        let ttl = self.options.freshness(response.cache_control.as_deref());
        Ok((set, url, ttl))
    }

    /// The JWK Set URL: configured, or from the (cached) discovery document.
    async fn jwks_url(&self, book: &mut Book) -> Result<Url, (String, String)> {
        let (issuer, discovery) = match &self.source {
            Source::JwksUri(url) => return Ok(url.clone()),
            Source::Issuer { issuer, discovery } => (issuer, discovery),
        };
        let now = self.clock.now();
        if let Some(found) = book.discovered.as_ref().filter(|d| now < d.fresh_until) {
            return Ok(found.jwks_url.clone());
        }
        let fetched = match self.get(discovery).await {
            Ok(response) => parse_discovery(&response.body, issuer).map(|url| {
                (
                    url,
                    self.options.freshness(response.cache_control.as_deref()),
                )
            }),
            Err(reason) => Err(reason),
        };
        let done = self.clock.now();
        match fetched {
            Ok((jwks_url, ttl)) => {
                let fresh_until = done.saturating_add(ttl);
                book.discovered = Some(Discovered {
                    jwks_url: jwks_url.clone(),
                    fresh_until,
                    usable_until: fresh_until.saturating_add(self.options.stale_if_error),
                });
                Ok(jwks_url)
            }
            Err(reason) => match book.discovered.as_ref().filter(|d| done < d.usable_until) {
                Some(previous) => {
                    tracing::warn!(
                        target: "jwt_sso",
                        url = %untrusted(discovery.as_str()),
                        error = %escape_controls(&reason),
                        jwks_uri = %untrusted(previous.jwks_url.as_str()),
                        "refreshing the discovery document failed; using the last discovered jwks_uri"
                    );
                    Ok(previous.jwks_url.clone())
                }
                None => Err((discovery.to_string(), reason)),
            },
        }
    }

    /// One GET with same-origin redirects, status and size checks.
    async fn get(&self, url: &Url) -> Result<HttpResponse, String> {
        let mut current = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            let request = HttpRequest {
                url: current.to_string(),
                timeout: self.options.timeout,
                max_body_bytes: self.options.max_body_bytes,
            };
            let response = self.fetch.fetch(request).await.map_err(|e| e.to_string())?;
            match response.status {
                200 => {
                    if response.body.len() > self.options.max_body_bytes {
                        return Err(too_large_message(self.options.max_body_bytes));
                    }
                    return Ok(response);
                }
                301 | 302 | 303 | 307 | 308 => {
                    let location = response.location.as_deref().ok_or_else(|| {
                        format!("HTTP status {} without a Location header", response.status)
                    })?;
                    current = check_redirect(&current, location)?;
                }
                status => return Err(format!("HTTP status {status} (expected 200)")),
            }
        }
        Err(format!("more than {MAX_REDIRECTS} redirects"))
    }

    /// Parses a fetched JWK Set: unusable keys are skipped with a warning
    /// (private material and symmetric keys included). The set is refused
    /// (a failed fetch) only when it is not a JWK Set or holds more than
    /// `max_keys` keys. A set with no usable key for the allowed algorithms
    /// is what the provider publishes, not an outage: it is kept, with a
    /// warning, and its tokens are `key_not_found` naming the skipped keys.
    fn parse_jwks(&self, body: &[u8], url: &Url) -> Result<KeySet, String> {
        let doc: Value = serde_json::from_slice(body)
            .map_err(|e| format!("the response is not valid JSON ({e})"))?;
        let count = doc
            .get("keys")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if count > self.options.max_keys {
            return Err(format!(
                "the JWK Set has {count} keys, more than the limit of {}",
                self.options.max_keys
            ));
        }
        let (keys, mut skipped) = parse_set(&doc)?;
        let mut usable = Vec::with_capacity(keys.len());
        for key in keys {
            if matches!(key.family, KeyFamily::Hmac { .. }) {
                skipped.push(symmetric_skip(key.kid));
            } else {
                usable.push(key);
            }
        }
        let shown_url = untrusted(url.as_str());
        for skip in &skipped {
            tracing::warn!(target: "jwt_sso", url = %shown_url, key = %skip.key, reason = %skip.reason, "JWK skipped");
        }
        let set = KeySet::from_jwks(usable, skipped, Some(url.to_string()));
        if !self.algorithms.iter().any(|a| set.any_fits(*a)) {
            tracing::warn!(
                target: "jwt_sso",
                url = %shown_url,
                problem = %no_usable_key(&self.algorithms, &set),
                "the fetched JWK Set has no usable key; its tokens are refused with key_not_found until the provider publishes one"
            );
        }
        Ok(set)
    }

    /// The `key_fetch` error when no usable keys are cached.
    fn unavailable(&self, state: &State, now: Duration) -> Error {
        let failure = state.failure.as_deref();
        match (state.keys.as_deref(), failure) {
            (None, Some(failure)) => {
                KeyFetchError::new(&failure.url, &failure.reason).into()
            }
            (None, None) => KeyFetchError::new(
                self.source_url(),
                "no keys have been fetched yet; `verify_cached` never fetches: call `Verifier::refresh` at start-up or use `verify`",
            )
            .into(),
            (Some(cached), failure) => KeyFetchError::new(
                failure.map_or_else(|| cached.url.to_string(), |f| f.url.clone()),
                format!(
                    "the last good keys went stale {} ago, past the stale-if-error window of {}; {}",
                    human(now.saturating_sub(cached.fresh_until)),
                    human(self.options.stale_if_error),
                    failure.map_or_else(
                        || "no refresh has been made since (`verify_cached` never fetches)".to_owned(),
                        |f| format!("the last refresh failed: {}", f.reason)
                    )
                ),
            )
            .into(),
        }
    }
}

/// Why an `oct` key of a fetched set is never used.
fn symmetric_skip(kid: Option<String>) -> JwkSkip {
    JwkSkip {
        key: kid
            .as_ref()
            .map_or_else(|| "(no kid)".to_owned(), |k| format!("`{}`", untrusted(k))),
        kid,
        reason: "a symmetric (`oct`) key in a published key set is no secret; it is never used"
            .to_owned(),
        private: true,
    }
}

// For the registry (login layer): an edited configuration whose key source
// did not change keeps its warm cache.
impl KeyCache {
    /// Takes over `old`'s clock, cached keys, failure record and bookkeeping
    /// when both caches fetch the same source for the same algorithms (the
    /// cached set was parsed for them); returns whether it did. A fetch that
    /// `old` has in flight completes into `old` only.
    pub(crate) fn adopt(&mut self, old: &KeyCache) -> bool {
        let same_source = match (&self.source, &old.source) {
            (Source::JwksUri(a), Source::JwksUri(b)) => a == b,
            (Source::Issuer { issuer: a, .. }, Source::Issuer { issuer: b, .. }) => a == b,
            _ => false,
        };
        if !same_source || self.algorithms != old.algorithms {
            return false;
        }
        self.clock = Arc::clone(&old.clock);
        self.state.store(old.state.load_full());
        let book = match old.book.try_lock() {
            Ok(book) => Book {
                last_miss_refetch: book.last_miss_refetch,
                discovered: book.discovered.clone(),
            },
            Err(_) => Book::default(),
        };
        *self.book.get_mut() = book;
        true
    }
}
