//! `Verifier`: the validate-then-map pipeline of CONTRACT section 2.
//!
//! disabled → size → segments/base64/header → alg → crit → key → signature →
//! payload → claim types → exp → time → iss/aud → user ID → mapping.
//!
//! The stages live apart: [`token`] (segments, header, `alg`, `crit`),
//! [`claims`] (payload, registered claims, time, issuer, audience, mapping);
//! this module holds the `Verifier` and the orchestration (keys, signature).

mod claims;
#[cfg(feature = "admin")]
mod inspect;
mod token;

use std::fmt;
use std::sync::Arc;
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use crate::config::{Algorithm, JwtConfig};
use crate::error::{Error, TokenError};
use crate::identity::{MappedIdentity, Verified};
use crate::key::{KeySet, Selection, VerifyingKey};
use crate::map::ClaimMapper;
#[cfg(feature = "remote")]
use crate::remote::{HttpFetch, KeyCache, RemoteOptions};
use crate::unix_time::UnixTime;
use crate::validated::{ValidConfig, ValidKeys};

#[cfg(feature = "admin")]
pub(crate) use inspect::Inspection;
pub(crate) use token::Parsed;
use token::{KnownHeaders, Scratch};

/// Where the keys of a verifier live.
enum Keys {
    /// A static key or an inline JWK Set, parsed once.
    Static(Arc<KeySet>),
    /// A remote source and its cache.
    #[cfg(feature = "remote")]
    Remote(Box<KeyCache>),
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Keys::Static(set) => write!(f, "{}", set.len()),
            #[cfg(feature = "remote")]
            Keys::Remote(cache) => cache.fmt(f),
        }
    }
}

/// Verifies tokens for one configuration and maps them into identities.
///
/// Built once from a [`ValidConfig`] (its keys were parsed when it was
/// validated, never per token); `Send + Sync`, cheap to share behind an
/// [`Arc`]. Two ways to verify:
///
/// - [`Verifier::verify`] (async) is the complete check: with a remote key
///   source (`jwks_uri`, `issuer`; cargo feature `remote`) it fetches and
///   refreshes keys as needed; with static keys it is ready at once.
/// - [`Verifier::verify_cached`] never does I/O: a remote source's cached
///   keys only (`key_fetch` when there are none).
///
/// "Now" comes from the verifier's [`Clock`] ([`Verifier::with_clock`]).
///
/// ```
/// use jwt_sso::{ErrorKind, JwtConfig, ManualClock, UnixTime, Verifier};
///
/// let config = JwtConfig::from_json_str(r#"{
///     "name": "ERP", "token_name": "token", "algorithms": ["HS256"],
///     "issuer": "https://erp.example.com",
///     "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
///     "expiration_time": 3600, "claims": {"user_id": "sub"}
/// }"#)?.validate()?;
/// let clock = ManualClock::new(UnixTime::from_secs(1767225600));
/// let verifier = Verifier::new(config).with_clock(clock.clone());
///
/// // A token signed by the ERP (header {"alg":"HS256"}; sub "jdoe", exp 2026-01-01T01:00:00Z).
/// let token = jwt_sso::mint::SigningKey::from_secret(b"0123456789abcdef0123456789abcdef").sign(
///     jwt_sso::Algorithm::HS256,
///     &serde_json::json!({"iss": "https://erp.example.com", "sub": "jdoe", "exp": 1767229200}),
/// )?;
///
/// let identity = verifier.verify_cached(&token)?;
/// assert_eq!(identity.user_id, "jdoe");
///
/// clock.set(UnixTime::from_secs(1767229200 + 60));
/// let err = verifier.verify_cached(&token).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Expired);
/// println!("{err}\nhint: {}", err.hint());
/// # Ok::<(), jwt_sso::Error>(())
/// ```
pub struct Verifier {
    config: ValidConfig,
    algorithms: Vec<Algorithm>,
    allowed_names: Vec<String>,
    keys: Keys,
    mapper: ClaimMapper,
    /// The usual headers of the allowed algorithms, recognised without parsing.
    known_headers: KnownHeaders,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config.name)
            .field("enabled", &self.config.enabled)
            .field("algorithms", &self.allowed_names)
            .field("key_source", &self.config.key_source.type_name())
            .field("keys", &self.keys)
            .field("clock", &self.clock)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// A verifier for a validated configuration, on the system clock. No
    /// I/O: a remote source's keys are fetched by the first
    /// [`verify`](Verifier::verify) (or [`refresh`](Verifier::refresh)).
    pub fn new(config: ValidConfig) -> Self {
        let algorithms = config.algorithms().to_vec();
        let keys = match config.keys() {
            ValidKeys::Static(set) => Keys::Static(Arc::clone(set)),
            #[cfg(feature = "remote")]
            ValidKeys::Remote(source) => Keys::Remote(Box::new(KeyCache::new(source, &algorithms))),
        };
        let mapper = ClaimMapper::new(&config);
        Verifier {
            known_headers: KnownHeaders::new(&algorithms),
            allowed_names: algorithms.iter().map(|a| a.as_str().to_owned()).collect(),
            algorithms,
            keys,
            mapper,
            config,
            clock: Arc::new(SystemClock),
        }
    }

    /// Replaces the clock (default: [`SystemClock`]): "now" for the token's
    /// time claims, and the time of a remote key cache (whose cached keys
    /// are dropped, since their times were read from the old clock).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.set_clock(Arc::new(clock));
        self
    }

    pub(crate) fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        #[cfg(feature = "remote")]
        if let Keys::Remote(cache) = &mut self.keys {
            cache.set_clock(Arc::clone(&clock));
        }
        self.clock = clock;
    }

    /// Replaces the host's administrator roles (default
    /// `["Administrator"]`, compared exactly): a token gives one of them
    /// (by its roles claim or a role rule) only when the configuration has
    /// `may_grant_admin`; otherwise the role is dropped from the identity's
    /// roles with a warning in its `warnings`. `initial_roles` are kept.
    pub fn with_admin_roles(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let roles: Arc<[String]> = roles.into_iter().map(Into::into).collect();
        self.set_admin_roles(&roles);
        self
    }

    pub(crate) fn set_admin_roles(&mut self, roles: &Arc<[String]>) {
        self.mapper.set_admin_roles(roles);
    }

    /// The configuration this verifier was built from.
    pub fn config(&self) -> &JwtConfig {
        self.config.config()
    }

    /// The validated configuration (its parsed keys shared).
    pub(crate) fn valid_config(&self) -> &ValidConfig {
        &self.config
    }

    /// The configuration's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Verifies `token` in full at the clock's time: the steps of CONTRACT
    /// section 2, fetching or refreshing remote keys when the cache needs
    /// it (static keys make this ready at once).
    ///
    /// With a remote source: a token whose key is in the fresh cache is
    /// verified without I/O or locking; a stale cache is refreshed; an
    /// unknown `kid` triggers at most one refetch per cooldown, shared by
    /// concurrent calls; when a refresh fails the last good keys keep
    /// serving (stale-if-error). A token that fails steps 1–5 (size, syntax,
    /// `alg`, `crit`) never causes a fetch, and no URL from a token is ever
    /// fetched. The timeline is on `RemoteOptions`.
    ///
    /// Every rejection emits one `tracing` event (target `jwt_sso`, level
    /// WARN) with the configuration name and error kind; never the token or
    /// a secret.
    ///
    /// ```
    /// # #[cfg(feature = "remote")] {
    /// use jwt_sso::{Algorithm, HttpRequest, HttpResponse, JwtConfig, ManualClock, UnixTime, Verifier};
    /// use jwt_sso::mint::SigningKey;
    ///
    /// const PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
    /// MC4CAQAwBQYDK2VwBCIEINq22V2wP8q8BKhyoUVCFdTAKsSuWRde8uSDnqDQnR9/
    /// -----END PRIVATE KEY-----";
    /// const JWKS: &str = r#"{"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k1",
    ///     "x": "-uq2yNSInzxORUNhw208wwQKDMGTlvqKaEvQMoAitgw"}]}"#;
    ///
    /// let config = JwtConfig::from_json_str(r#"{
    ///     "name": "IdP", "token_name": "token", "algorithms": ["EdDSA"],
    ///     "key_source": {"type": "jwks_uri", "url": "https://idp.example.com/jwks"},
    ///     "expiration_time": 3600, "claims": {"user_id": "sub"}
    /// }"#)?.validate()?;
    /// // No I/O here. This example serves the JWK Set from a closure; by
    /// // default it is fetched with reqwest.
    /// let verifier = Verifier::new(config)
    ///     .with_clock(ManualClock::new(UnixTime::from_secs(1767225600)))
    ///     .with_http_fetch(|request: HttpRequest| async move {
    ///         assert_eq!(request.url, "https://idp.example.com/jwks");
    ///         Ok(HttpResponse::new(200, JWKS).with_cache_control("max-age=3600"))
    ///     });
    ///
    /// let token = SigningKey::from_pem(PRIVATE).sign_with_header(
    ///     Algorithm::EdDSA,
    ///     &serde_json::json!({"alg": "EdDSA", "kid": "k1"}),
    ///     &serde_json::json!({"sub": "jdoe", "exp": 1767229200}),
    /// )?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// // Cold cache: `verify_cached` never fetches.
    /// assert_eq!(verifier.verify_cached(&token).unwrap_err().kind().as_str(), "key_fetch");
    /// // `verify` fetches once, then the cache serves.
    /// let identity = runtime.block_on(verifier.verify(&token))?;
    /// assert_eq!(identity.user_id, "jdoe");
    /// assert!(verifier.verify_cached(&token).is_ok());
    /// # }
    /// # Ok::<(), jwt_sso::Error>(())
    /// ```
    pub async fn verify(&self, token: &str) -> Result<Verified, Error> {
        self.verify_at_async(token, self.clock.now()).await
    }

    /// Verifies `token` at the clock's time **without I/O**: with a remote
    /// key source, the cached keys only, fresh or within their
    /// stale-if-error window, and `key_fetch` when there are none (nothing
    /// fetched yet, or too old). Warm the cache with `refresh().await`.
    pub fn verify_cached(&self, token: &str) -> Result<Verified, Error> {
        self.verify_at(token, self.clock.now())
    }

    /// [`Verifier::verify_cached`] as if the time were `now`.
    pub(crate) fn verify_at(&self, token: &str, now: UnixTime) -> Result<Verified, Error> {
        self.run(token, now, None)
    }

    /// [`Verifier::verify_at`] for a token whose payload segment the caller
    /// already decoded with strict base64url (the registry, after routing).
    pub(crate) fn verify_at_decoded(
        &self,
        token: &str,
        now: UnixTime,
        payload: Vec<u8>,
    ) -> Result<Verified, Error> {
        self.run(token, now, Some(payload))
    }

    fn log(&self, result: &Result<Verified, Error>) {
        match result {
            Ok(identity) => tracing::debug!(
                target: "jwt_sso",
                config = %self.config.name,
                // A user ID is taken as it is (CONTRACT section 4); escaped
                // here so that one holding a line break forges no log line.
                user_id = %crate::error::untrusted(&identity.user_id),
                "token accepted"
            ),
            // DEBUG: a login reports its one outcome event itself (CONTRACT
            // section 6), and the admin API's test reports none.
            Err(error) => tracing::debug!(
                target: "jwt_sso",
                config = %self.config.name,
                kind = error.kind().as_str(),
                error = %error,
                "token rejected"
            ),
        }
    }

    /// Steps 1–15, logged. The identity is built where it is returned
    /// (see [`Verifier::fill`]), not moved there: it is a few hundred bytes,
    /// just written.
    fn run(&self, token: &str, now: UnixTime, payload: Option<Vec<u8>>) -> Result<Verified, Error> {
        let mut result = Ok(Verified::new(self.mapper.blank(OffsetDateTime::UNIX_EPOCH)));
        if let Ok(verified) = &mut result
            && let Err(error) = self.fill(token, now, payload, verified.identity_mut())
        {
            result = Err(error);
        }
        self.log(&result);
        result
    }

    /// [`Verifier::run`]'s steps, into a blank `identity`.
    fn fill(
        &self,
        token: &str,
        now: UnixTime,
        payload: Option<Vec<u8>>,
        identity: &mut MappedIdentity,
    ) -> Result<(), Error> {
        let mut scratch = Scratch::default();
        let parsed = self.parse(token, payload, &mut scratch)?;
        match &self.keys {
            Keys::Static(set) => self.check_with(&parsed, set, now, identity),
            #[cfg(feature = "remote")]
            Keys::Remote(cache) => {
                cache.with_usable(|set| self.check_with(&parsed, set, now, identity))?
            }
        }
    }

    /// Step 6 with a key set, then the rest.
    fn check_with(
        &self,
        parsed: &Parsed<'_, '_>,
        set: &KeySet,
        now: UnixTime,
        identity: &mut MappedIdentity,
    ) -> Result<(), Error> {
        match set.select(parsed.alg, parsed.kid()) {
            Selection::Keys(keys) => self.check_signed(parsed, keys.as_slice(), now, identity),
            Selection::NotFound(error) => Err(error),
        }
    }

    /// Steps 7–14 with the candidate keys.
    fn check_signed(
        &self,
        parsed: &Parsed<'_, '_>,
        keys: &[&VerifyingKey],
        now: UnixTime,
        identity: &mut MappedIdentity,
    ) -> Result<(), Error> {
        if !keys
            .iter()
            .any(|k| k.verify(parsed.alg, parsed.message, &parsed.signature))
        {
            let key = match keys {
                [one] => one.describe(),
                many => format!("any of the {} candidate keys", many.len()),
            };
            return Err(Error::Token(TokenError::InvalidSignature {
                alg: parsed.alg.as_str().to_owned(),
                key,
            }));
        }
        self.claims(&parsed.payload, now, identity)
    }

    /// [`Verifier::verify`] as if the time were `now` for the token's time
    /// claims (the key cache keeps the clock's time).
    pub(crate) async fn verify_at_async(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Verified, Error> {
        #[cfg(feature = "remote")]
        match &self.keys {
            Keys::Static(_) => self.run(token, now, None),
            Keys::Remote(cache) => {
                let result = self.run_async(cache, token, now).await;
                self.log(&result);
                result
            }
        }
        #[cfg(not(feature = "remote"))]
        self.verify_at(token, now)
    }

    #[cfg(feature = "remote")]
    async fn run_async(
        &self,
        cache: &KeyCache,
        token: &str,
        now: UnixTime,
    ) -> Result<Verified, Error> {
        // Steps 1–5 before any fetch. Only `alg` and `kid` wait for the
        // keys (no decoding buffers in the future); the token is decoded
        // again, on the stack, once the keys are there.
        let (alg, kid) = {
            let mut scratch = Scratch::default();
            let parsed = self.parse(token, None, &mut scratch)?;
            let kid = parsed.kid().map(|k| k.map(str::to_owned));
            (parsed.alg, kid)
        };
        let kid = kid.as_ref().map(|k| k.as_deref().map_err(|_| ()));
        cache
            .select_async(alg, kid, |keys| {
                let mut scratch = Scratch::default();
                let parsed = self.parse(token, None, &mut scratch)?;
                let mut identity = self.mapper.blank(OffsetDateTime::UNIX_EPOCH);
                self.check_signed(&parsed, keys, now, &mut identity)?;
                Ok(Verified::new(identity))
            })
            .await?
    }

    /// Fetches the remote keys now (discovery too when its cached copy is
    /// stale), whatever the cache's state: a warm-up at start-up, or a
    /// periodic refresh for hosts that use [`Verifier::verify_cached`].
    /// Joins a fetch already in flight instead of
    /// starting another. On failure the last good keys stay cached and the
    /// error (`key_fetch`) says what went wrong. A no-op for static sources.
    #[cfg(feature = "remote")]
    pub async fn refresh(&self) -> Result<(), Error> {
        match &self.keys {
            Keys::Static(_) => Ok(()),
            Keys::Remote(cache) => cache.refresh().await,
        }
    }

    /// Replaces the remote key cache's options (default
    /// [`RemoteOptions::default`]). No effect on static sources.
    #[cfg(feature = "remote")]
    pub fn with_remote_options(mut self, options: RemoteOptions) -> Self {
        if let Keys::Remote(cache) = &mut self.keys {
            cache.set_options(options);
        }
        self
    }

    /// Replaces the HTTP client of the remote key cache (default: reqwest
    /// with rustls, no redirects followed by the client itself); a closure
    /// works. The URL rules,
    /// redirects, size limit and parsing stay jwt-sso's. No effect on static
    /// sources.
    #[cfg(feature = "remote")]
    pub fn with_http_fetch(mut self, fetch: impl HttpFetch + 'static) -> Self {
        if let Keys::Remote(cache) = &mut self.keys {
            cache.set_fetch(Arc::new(fetch));
        }
        self
    }
}

impl Verifier {
    /// Whether the keys are fetched (a `jwks_uri` or `issuer` source).
    pub(crate) fn is_remote(&self) -> bool {
        match &self.keys {
            Keys::Static(_) => false,
            #[cfg(feature = "remote")]
            Keys::Remote(_) => true,
        }
    }

    /// Applies the registry's remote settings (no effect on static sources).
    #[cfg(feature = "remote")]
    pub(crate) fn set_remote(
        &mut self,
        options: &RemoteOptions,
        fetch: Option<&Arc<dyn HttpFetch>>,
    ) {
        if let Keys::Remote(cache) = &mut self.keys {
            cache.set_options(options.clone());
            if let Some(fetch) = fetch {
                cache.set_fetch(Arc::clone(fetch));
            }
        }
    }

    /// Takes over the cached keys of `old` when both fetch the same source
    /// for the same algorithms; returns whether it did.
    #[cfg(feature = "remote")]
    pub(crate) fn keep_keys_of(&mut self, old: &Verifier) -> bool {
        match (&mut self.keys, &old.keys) {
            (Keys::Remote(new), Keys::Remote(old)) => new.adopt(old),
            _ => false,
        }
    }
}
