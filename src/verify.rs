//! `Verifier`: the validate-then-map pipeline of CONTRACT section 2.
//!
//! disabled → size → segments/base64/header → alg → crit → key → signature →
//! payload → claim types → exp → time → iss/aud → user ID → mapping.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use base64::DecodeSliceError;
use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::Value;
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use crate::config::{Algorithm, JwtConfig};
use crate::error::{Error, MaxAge, TokenPart};
use crate::json::{ClaimSource, fingerprint, parse_claims, parse_header, parse_object, type_name};
use crate::key::{KeySet, Selection, VerifyingKey};
use crate::map::{ClaimMapper, MappedIdentity};
#[cfg(feature = "remote")]
use crate::remote::{CacheClock, HttpFetch, RemoteOptions};
use crate::time_fmt::to_datetime;
use crate::validated::{Keys, Validated};

/// Strict base64url: URL-safe alphabet, no padding, unused trailing bits zero.
pub(crate) const STRICT_B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Verifies tokens for one configuration and maps them into identities.
///
/// Built once from a [`JwtConfig`] (keys are parsed here, never per token);
/// `Send + Sync`, cheap to share behind an [`Arc`].
///
/// With a remote key source (`jwks_uri`, `issuer`; cargo feature `remote`)
/// the verifier owns a key cache: [`Verifier::new`] does no I/O, the async
/// `verify_async` fetches and refreshes keys as needed, and the synchronous
/// [`Verifier::verify`] uses cached keys only (see `RemoteOptions` for the
/// cache's rules).
///
/// ```
/// use jwt_sso::{ErrorKind, JwtConfig, Verifier};
///
/// let config = JwtConfig::from_json_str(r#"{
///     "name": "ERP", "token_name": "token", "algorithms": ["HS256"],
///     "issuer": "https://erp.example.com",
///     "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
///     "expiration_time": 3600, "claims": {"user_id": "sub"}
/// }"#).unwrap();
/// let verifier = Verifier::new(config).unwrap();
///
/// // A token signed by the ERP (header {"alg":"HS256"}; sub "jdoe", exp 2026-01-01T01:00:00Z).
/// let token = jwt_sso::mint::sign_json(
///     &jwt_sso::mint::SigningKey::from_secret(b"0123456789abcdef0123456789abcdef"),
///     jwt_sso::Algorithm::HS256,
///     &serde_json::json!({"iss": "https://erp.example.com", "sub": "jdoe", "exp": 1767229200}),
/// ).unwrap();
///
/// let identity = verifier.verify_at(&token, 1767225600).unwrap();
/// assert_eq!(identity.user_id, "jdoe");
///
/// let err = verifier.verify_at(&token, 1767229200 + 60).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Expired);
/// println!("{err}\nhint: {}", err.hint());
/// ```
pub struct Verifier {
    config: JwtConfig,
    algorithms: Vec<Algorithm>,
    allowed_names: Vec<String>,
    keys: Keys,
    mapper: ClaimMapper,
    /// The top-level claims the pipeline reads (registered and mapped ones),
    /// with their fingerprints.
    kept_claims: Vec<(u64, String)>,
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

/// A token that passed steps 1–5: split, decoded, header checked.
pub(crate) struct Parsed<'t> {
    pub(crate) alg: Algorithm,
    kid: Option<Result<String, ()>>,
    /// `header.payload`, the signing input.
    message: &'t [u8],
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl Parsed<'_> {
    /// The header's `kid`: `Some(Err(()))` when it is not a string.
    pub(crate) fn kid(&self) -> Option<Result<&str, ()>> {
        self.kid.as_ref().map(|k| k.as_deref().map_err(|_| ()))
    }
}

/// The three dot-separated segments of a compact JWS (step 3).
pub(crate) fn segments(token: &str) -> Result<[&str; 3], Error> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Ok([h, p, s]),
        _ => Err(Error::malformed(
            TokenPart::Token,
            format!(
                "a compact JWT has exactly 3 dot-separated segments, this one has {}",
                token.split('.').count()
            ),
        )),
    }
}

/// The `which` segment is not strict base64url (step 3).
pub(crate) fn not_base64url(which: &str) -> Error {
    Error::malformed(
        TokenPart::Token,
        format!(
            "the {which} segment is not strict base64url (no padding, no other characters, zero trailing bits)"
        ),
    )
}

/// The registered claims, typed (step 9), borrowed from the claims.
struct Registered<'c> {
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    iss: Option<&'c str>,
    /// A string, or an array holding only strings.
    aud: Option<&'c Value>,
    /// `sub` when it is a string.
    sub: Option<&'c str>,
    /// `jti` as found (any type: `missing_jti` reports it).
    jti: Option<&'c Value>,
}

/// The audience values of a checked `aud`.
fn audiences(aud: &Value) -> impl Iterator<Item = &str> {
    let (one, many) = match aud {
        Value::Array(items) => (None, items.as_slice()),
        other => (other.as_str(), &[][..]),
    };
    one.into_iter().chain(many.iter().filter_map(Value::as_str))
}

/// Every top-level claim name, for messages (only on the error path: the
/// pipeline keeps just the claims it uses).
fn claim_names(payload: &[u8]) -> Vec<String> {
    parse_object(payload)
        .map(|claims| claims.keys().cloned().collect())
        .unwrap_or_default()
}

impl Verifier {
    /// Validates `config` (CONTRACT section 1) and parses its keys.
    ///
    /// Errors are of kind `config` and name the field at fault. A remote key
    /// source (`jwks_uri`, `issuer`) needs the cargo feature `remote`.
    pub fn new(config: JwtConfig) -> Result<Self, Error> {
        Ok(Self::from_validated(Validated::new(config)?))
    }

    /// A verifier for a configuration validated once.
    pub(crate) fn from_validated(validated: Validated) -> Self {
        let Validated {
            config,
            algorithms,
            keys,
        } = validated;
        let mapper = ClaimMapper::new(&config);
        let mut kept_claims: Vec<String> = ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]
            .map(str::to_owned)
            .into();
        for root in mapper.roots() {
            if !kept_claims.contains(&root) {
                kept_claims.push(root);
            }
        }
        let kept_claims = kept_claims
            .into_iter()
            .map(|name| (fingerprint(&name), name))
            .collect();
        Verifier {
            kept_claims,
            allowed_names: algorithms.iter().map(|a| a.as_str().to_owned()).collect(),
            algorithms,
            keys,
            mapper,
            config,
            clock: Arc::new(SystemClock),
        }
    }

    /// Replaces the clock that gives "now" for the token's time claims
    /// (default: [`SystemClock`]). A remote key cache has its own clock.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The configuration this verifier was built from.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// The configuration's name.
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// Verifies `token` at the clock's current time.
    ///
    /// Never does I/O. With a remote key source it uses the cached keys
    /// only, fresh or within their stale-if-error window, and fails with
    /// `key_fetch` when there are none (nothing fetched yet, or too old):
    /// warm the cache with `refresh().await` and keep it fresh with
    /// `verify_async` or a periodic `refresh`.
    pub fn verify(&self, token: &str) -> Result<MappedIdentity, Error> {
        self.verify_at(token, self.clock.now())
    }

    /// Verifies `token` as if the time were `now` (seconds since 1970).
    ///
    /// Every rejection emits one `tracing` event (target `jwt_sso`, level
    /// WARN) with the configuration name and error kind; never the token or
    /// a secret.
    pub fn verify_at(&self, token: &str, now: i64) -> Result<MappedIdentity, Error> {
        let result = self.run(token, now, None);
        self.log(&result);
        result
    }

    /// [`Verifier::verify_at`] for a token whose payload segment the caller
    /// already decoded with strict base64url (the registry, after routing).
    pub(crate) fn verify_at_decoded(
        &self,
        token: &str,
        now: i64,
        payload: Vec<u8>,
    ) -> Result<MappedIdentity, Error> {
        let result = self.run(token, now, Some(payload));
        self.log(&result);
        result
    }

    fn log(&self, result: &Result<MappedIdentity, Error>) {
        match result {
            Ok(identity) => tracing::debug!(
                target: "jwt_sso",
                config = %self.config.name,
                // A user ID is taken as it is (CONTRACT section 4); escaped
                // here so that one holding a line break forges no log line.
                user_id = %crate::error::escape_controls(&identity.user_id),
                "token accepted"
            ),
            Err(error) => tracing::warn!(
                target: "jwt_sso",
                config = %self.config.name,
                kind = error.kind().as_str(),
                error = %error,
                "token rejected"
            ),
        }
    }

    fn run(
        &self,
        token: &str,
        now: i64,
        payload: Option<Vec<u8>>,
    ) -> Result<MappedIdentity, Error> {
        let parsed = self.parse(token, payload)?;
        match &self.keys {
            Keys::Static(set) => self.check_with(&parsed, set, now),
            #[cfg(feature = "remote")]
            Keys::Remote(cache) => cache.with_usable(|set| self.check_with(&parsed, set, now))?,
        }
    }

    /// Step 6 with a key set, then the rest.
    fn check_with(
        &self,
        parsed: &Parsed<'_>,
        set: &KeySet,
        now: i64,
    ) -> Result<MappedIdentity, Error> {
        match set.select(parsed.alg, parsed.kid()) {
            Selection::Keys(keys) => self.check_signed(parsed, &keys, now),
            Selection::NotFound(error) => Err(error),
        }
    }

    /// Steps 7–14 with the candidate keys.
    fn check_signed(
        &self,
        parsed: &Parsed<'_>,
        keys: &[&VerifyingKey],
        now: i64,
    ) -> Result<MappedIdentity, Error> {
        if !keys
            .iter()
            .any(|k| k.verify(parsed.alg, parsed.message, &parsed.signature))
        {
            let key = match keys {
                [one] => one.describe(),
                many => format!("any of the {} candidate keys", many.len()),
            };
            return Err(Error::InvalidSignature {
                alg: parsed.alg.as_str().to_owned(),
                key,
            });
        }
        self.claims(&parsed.payload, now)
    }

    /// Verifies `token` at the clock's current time, fetching or refreshing
    /// remote keys when the cache needs it (cargo feature `remote`).
    ///
    /// With a static source this is [`Verifier::verify`]. With a remote
    /// source: a token whose key is in the fresh cache is verified without
    /// I/O or locking; a stale cache is refreshed; an unknown `kid` triggers
    /// at most one refetch per cooldown, shared by concurrent calls; when a
    /// refresh fails the last good keys keep serving (stale-if-error). A token
    /// that fails steps 1–5 (size, syntax, `alg`, `crit`) never causes a
    /// fetch, and no URL from a token is ever fetched. The timeline is on
    /// [`RemoteOptions`].
    ///
    /// ```
    /// use jwt_sso::{Algorithm, HttpRequest, HttpResponse, JwtConfig, Verifier};
    /// use jwt_sso::mint::{SigningKey, sign_with_header};
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
    /// }"#)?;
    /// // No I/O here. This example serves the JWK Set from a closure; by
    /// // default it is fetched with reqwest.
    /// let verifier = Verifier::new(config)?.with_http_fetch(|request: HttpRequest| async move {
    ///     assert_eq!(request.url, "https://idp.example.com/jwks");
    ///     Ok(HttpResponse::new(200, JWKS).with_cache_control("max-age=3600"))
    /// });
    ///
    /// let token = sign_with_header(
    ///     &SigningKey::from_pem(PRIVATE),
    ///     Algorithm::EdDSA,
    ///     &serde_json::json!({"alg": "EdDSA", "kid": "k1"}),
    ///     &serde_json::json!({"sub": "jdoe", "exp": 1767229200}),
    /// )?;
    /// let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    /// // Cold cache: the synchronous path never fetches.
    /// assert_eq!(verifier.verify_at(&token, 1767225600).unwrap_err().kind().as_str(), "key_fetch");
    /// // The async path fetches once, then serves from the cache.
    /// let identity = runtime.block_on(verifier.verify_at_async(&token, 1767225600))?;
    /// assert_eq!(identity.user_id, "jdoe");
    /// assert!(verifier.verify_at(&token, 1767225600).is_ok());
    /// # Ok::<(), jwt_sso::Error>(())
    /// ```
    #[cfg(feature = "remote")]
    pub async fn verify_async(&self, token: &str) -> Result<MappedIdentity, Error> {
        self.verify_at_async(token, self.clock.now()).await
    }

    /// [`Verifier::verify_async`] as if the time were `now` (seconds since
    /// 1970) for the token's time claims. The key cache keeps its own clock.
    #[cfg(feature = "remote")]
    pub async fn verify_at_async(&self, token: &str, now: i64) -> Result<MappedIdentity, Error> {
        let result = self.run_async(token, now).await;
        self.log(&result);
        result
    }

    #[cfg(feature = "remote")]
    async fn run_async(&self, token: &str, now: i64) -> Result<MappedIdentity, Error> {
        let parsed = self.parse(token, None)?;
        match &self.keys {
            Keys::Static(set) => self.check_with(&parsed, set, now),
            Keys::Remote(cache) => {
                let (alg, kid) = (parsed.alg, parsed.kid());
                cache
                    .select_async(alg, kid, |keys| self.check_signed(&parsed, &keys, now))
                    .await?
            }
        }
    }

    /// Fetches the remote keys now (discovery too when its cached copy is
    /// stale), whatever the cache's state: a warm-up at start-up, or a
    /// periodic refresh for hosts that use the synchronous
    /// [`Verifier::verify`]. Joins a fetch already in flight instead of
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

    /// Replaces the HTTP client of the remote key cache (default
    /// [`ReqwestFetch`](crate::ReqwestFetch)); a closure works. The URL rules,
    /// redirects, size limit and parsing stay jwt-sso's. No effect on static
    /// sources.
    #[cfg(feature = "remote")]
    pub fn with_http_fetch(mut self, fetch: impl HttpFetch + 'static) -> Self {
        if let Keys::Remote(cache) = &mut self.keys {
            cache.set_fetch(Arc::new(fetch));
        }
        self
    }

    /// Replaces the remote key cache's clock (default
    /// [`InstantClock`](crate::InstantClock)), e.g. with a
    /// [`ManualClock`](crate::ManualClock) in tests. Empties the cache. No
    /// effect on static sources.
    #[cfg(feature = "remote")]
    pub fn with_cache_clock(mut self, clock: impl CacheClock + 'static) -> Self {
        if let Keys::Remote(cache) = &mut self.keys {
            cache.set_clock(Arc::new(clock));
        }
        self
    }

    /// Steps 1–5: enabled, size, segments and base64url, header, `alg`, `crit`.
    ///
    /// `decoded_payload`: the payload segment, when the caller already
    /// decoded it strictly.
    pub(crate) fn parse<'t>(
        &self,
        token: &'t str,
        decoded_payload: Option<Vec<u8>>,
    ) -> Result<Parsed<'t>, Error> {
        if !self.config.enabled {
            return Err(Error::Disabled {
                config: self.config.name.clone(),
            });
        }
        if token.len() > self.config.max_token_bytes {
            return Err(Error::TokenTooLarge {
                size: token.len(),
                max: self.config.max_token_bytes,
            });
        }
        let [h, p, s] = segments(token)?;
        let malformed = not_base64url;
        // The header is decoded onto the stack and parsed in place.
        let mut header_buf = [0u8; 1024];
        let header_vec;
        let header_bytes = match STRICT_B64URL.decode_slice(h, &mut header_buf) {
            Ok(len) => &header_buf[..len],
            Err(DecodeSliceError::OutputSliceTooSmall) => {
                header_vec = STRICT_B64URL.decode(h).map_err(|_| malformed("header"))?;
                &header_vec[..]
            }
            Err(DecodeSliceError::DecodeError(_)) => return Err(malformed("header")),
        };
        let payload = match decoded_payload {
            Some(payload) => payload,
            None => STRICT_B64URL.decode(p).map_err(|_| malformed("payload"))?,
        };
        let signature = STRICT_B64URL
            .decode(s)
            .map_err(|_| malformed("signature"))?;
        let header = parse_header(header_bytes)
            .map_err(|reason| Error::malformed(TokenPart::Header, reason))?;

        let alg = match header.alg {
            Some(Ok(name)) => match name.parse::<Algorithm>() {
                Ok(alg) if self.algorithms.contains(&alg) => alg,
                _ => return Err(self.alg_error(Some(name.into_owned()))),
            },
            Some(Err(json)) => return Err(self.alg_error(Some(json))),
            None => return Err(self.alg_error(None)),
        };
        if let Some(crit) = header.crit {
            return Err(Error::CriticalHeader { crit });
        }
        let kid = header.kid.map(|k| k.map(Cow::into_owned));
        Ok(Parsed {
            alg,
            kid,
            message: &token.as_bytes()[..h.len() + 1 + p.len()],
            payload,
            signature,
        })
    }

    fn alg_error(&self, found: Option<String>) -> Error {
        Error::AlgorithmNotAllowed {
            found,
            allowed: self.allowed_names.clone(),
        }
    }

    /// Steps 8–14, on a payload whose signature holds.
    pub(crate) fn claims(&self, payload: &[u8], now: i64) -> Result<MappedIdentity, Error> {
        let mut claims = parse_claims(payload, |name, fp| {
            self.kept_claims.iter().any(|(f, k)| *f == fp && k == name)
        })
        .map_err(|reason| Error::malformed(TokenPart::Payload, reason))?;
        let reg = registered(&claims)?;
        let Some(exp) = reg.exp else {
            return Err(Error::MissingExp {
                present: claim_names(payload),
            });
        };
        let expires_at = self.check_time(exp, reg.nbf, reg.iat, now)?;
        if let Some(expected) = &self.config.issuer
            && reg.iss != Some(expected.as_str())
        {
            return Err(Error::IssuerMismatch {
                expected: expected.clone(),
                found: reg.iss.map(str::to_owned),
            });
        }
        if let Some(expected) = &self.config.audience
            && !reg
                .aud
                .is_some_and(|aud| audiences(aud).any(|a| a == expected))
        {
            return Err(Error::AudienceMismatch {
                expected: expected.clone(),
                found: reg
                    .aud
                    .map(|aud| audiences(aud).map(str::to_owned).collect()),
            });
        }
        // The verified registered claims the identity carries (CONTRACT
        // section 4, end), taken before the mapper may move strings out.
        let issuer = reg.iss.map(str::to_owned);
        let subject = reg.sub.map(str::to_owned);
        let issued_at = reg.iat.and_then(to_datetime);
        let token_id = match reg.jti {
            Some(Value::String(jti)) if !jti.is_empty() => Ok(jti.clone()),
            Some(Value::String(_)) => Err("empty"),
            Some(other) => Err(type_name(other)),
            None => Err("absent"),
        };
        let mut identity = self
            .mapper
            .map_payload(&mut claims, Some(payload), expires_at)
            .map_err(|e| match e {
                // The mapper saw only the kept claims; name them all.
                Error::MissingUserId { claim, state, .. } => Error::MissingUserId {
                    claim,
                    state,
                    present: claim_names(payload),
                },
                other => other,
            })?;
        // Step 15.
        if self.config.single_use
            && let Err(state) = token_id
        {
            return Err(Error::MissingJti {
                state: state.to_owned(),
                present: claim_names(payload),
            });
        }
        identity.issuer = issuer;
        identity.subject = subject;
        identity.token_id = token_id.ok();
        identity.issued_at = issued_at;
        Ok(identity)
    }

    /// Step 11 (CONTRACT section 3); returns `expires_at`.
    fn check_time(
        &self,
        exp: f64,
        nbf: Option<f64>,
        iat: Option<f64>,
        now: i64,
    ) -> Result<OffsetDateTime, Error> {
        let leeway = self.config.leeway;
        let expiration_time = self.config.expiration_time;
        let (l, e, n) = (leeway as f64, expiration_time as f64, now as f64);
        if n >= exp + l {
            return Err(Error::Expired { exp, now, leeway });
        }
        if let Some(nbf) = nbf
            && n + l < nbf
        {
            return Err(Error::NotYetValid { nbf, now, leeway });
        }
        if let Some(iat) = iat
            && n + l < iat
        {
            return Err(Error::IssuedInFuture { iat, now, leeway });
        }
        let too_old = match iat {
            Some(iat) => (n > iat + e + l).then_some(MaxAge::TooOld { iat }),
            None => (exp - n > e + l).then_some(MaxAge::LivesTooLong { exp }),
        };
        if let Some(reason) = too_old {
            return Err(Error::MaxAgeExceeded {
                reason,
                now,
                expiration_time,
                leeway,
            });
        }
        let expires = iat.map_or(exp, |iat| exp.min(iat + e));
        to_datetime(expires).ok_or_else(|| {
            Error::invalid_claim("exp", "a NumericDate within years 0–9999", format!("{exp}"))
        })
    }
}

/// Step 9: the registered claims must have their registered types.
fn registered<C: ClaimSource>(claims: &C) -> Result<Registered<'_>, Error> {
    let numeric = |name: &str| match claims.claim(name) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(Error::invalid_claim(
            name,
            "a NumericDate (a JSON number)",
            type_name(other),
        )),
    };
    let iss = match claims.claim("iss") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => return Err(Error::invalid_claim("iss", "a string", type_name(other))),
    };
    let aud = match claims.claim("aud") {
        None => None,
        Some(aud @ Value::String(_)) => Some(aud),
        Some(aud @ Value::Array(items)) => {
            if !items.iter().all(Value::is_string) {
                return Err(Error::invalid_claim(
                    "aud",
                    "a string or an array of strings",
                    "an array holding a non-string",
                ));
            }
            Some(aud)
        }
        Some(other) => {
            return Err(Error::invalid_claim(
                "aud",
                "a string or an array of strings",
                type_name(other),
            ));
        }
    };
    Ok(Registered {
        exp: numeric("exp")?,
        nbf: numeric("nbf")?,
        iat: numeric("iat")?,
        iss,
        aud,
        sub: claims.claim("sub").and_then(Value::as_str),
        jti: claims.claim("jti"),
    })
}
