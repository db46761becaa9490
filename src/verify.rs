//! `Verifier`: the validate-then-map pipeline of CONTRACT section 2.
//!
//! disabled → size → segments/base64/header → alg → crit → key → signature →
//! payload → claim types → exp → time → iss/aud → user ID → mapping.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::clock::{Clock, SystemClock};
use crate::config::{Algorithm, JwtConfig, KeySource, MAX_NAME_CHARS};
use crate::error::{Error, MaxAge, TokenPart};
use crate::json::{parse_object, type_name};
use crate::key::{KeySet, Selection, load_static_keys};
use crate::map::{ClaimMapper, MappedIdentity, check_claim_name};
use crate::time_fmt::to_datetime;

/// Strict base64url: URL-safe alphabet, no padding, unused trailing bits zero.
const STRICT_B64URL: GeneralPurpose = GeneralPurpose::new(
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
    keys: KeySet,
    mapper: ClaimMapper,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config.name)
            .field("enabled", &self.config.enabled)
            .field("algorithms", &self.allowed_names)
            .field("key_source", &self.config.key_source.type_name())
            .field("keys", &self.keys.len())
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

/// The registered claims, typed (step 9).
struct Registered {
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    iss: Option<String>,
    aud: Option<Vec<String>>,
}

impl Verifier {
    /// Validates `config` (CONTRACT section 1) and parses its keys.
    ///
    /// Errors are of kind `config` and name the field at fault. A remote key
    /// source (`jwks_uri`, `issuer`) needs the cargo feature `remote`.
    pub fn new(config: JwtConfig) -> Result<Self, Error> {
        let algorithms = validate(&config)?;
        let keys = load_static_keys(&config, &algorithms)?;
        let mapper = ClaimMapper::new(&config);
        Ok(Verifier {
            allowed_names: algorithms.iter().map(|a| a.as_str().to_owned()).collect(),
            algorithms,
            keys,
            mapper,
            config,
            clock: Arc::new(SystemClock),
        })
    }

    /// Replaces the clock (default: [`SystemClock`]).
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
    pub fn verify(&self, token: &str) -> Result<MappedIdentity, Error> {
        self.verify_at(token, self.clock.now())
    }

    /// Verifies `token` as if the time were `now` (seconds since 1970).
    ///
    /// Every rejection emits one `tracing` event (target `jwt_sso`, level
    /// WARN) with the configuration name and error kind; never the token or
    /// a secret.
    pub fn verify_at(&self, token: &str, now: i64) -> Result<MappedIdentity, Error> {
        let result = self.run(token, now);
        match &result {
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
        result
    }

    fn run(&self, token: &str, now: i64) -> Result<MappedIdentity, Error> {
        let parsed = self.parse(token)?;
        let keys = match self.keys.select(parsed.alg, parsed.kid()) {
            Selection::Keys(keys) => keys,
            Selection::NotFound(error) => return Err(error),
        };
        if !keys
            .iter()
            .any(|k| k.verify(parsed.alg, parsed.message, &parsed.signature))
        {
            let key = match keys.as_slice() {
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

    /// Steps 1–5: enabled, size, segments and base64url, header, `alg`, `crit`.
    pub(crate) fn parse<'t>(&self, token: &'t str) -> Result<Parsed<'t>, Error> {
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
        let mut segments = token.split('.');
        let (Some(h), Some(p), Some(s), None) = (
            segments.next(),
            segments.next(),
            segments.next(),
            segments.next(),
        ) else {
            let count = token.split('.').count();
            return Err(Error::malformed(
                TokenPart::Token,
                format!("a compact JWT has exactly 3 dot-separated segments, this one has {count}"),
            ));
        };
        let decode = |segment: &str, which: &str| {
            STRICT_B64URL.decode(segment).map_err(|_| {
                Error::malformed(
                    TokenPart::Token,
                    format!("the {which} segment is not strict base64url (no padding, no other characters, zero trailing bits)"),
                )
            })
        };
        let header_bytes = decode(h, "header")?;
        let payload = decode(p, "payload")?;
        let signature = decode(s, "signature")?;
        let header = parse_object(&header_bytes)
            .map_err(|reason| Error::malformed(TokenPart::Header, reason))?;

        let alg = match header.get("alg") {
            Some(Value::String(name)) => name
                .parse::<Algorithm>()
                .ok()
                .filter(|a| self.algorithms.contains(a))
                .ok_or_else(|| self.alg_error(Some(name.clone())))?,
            Some(other) => return Err(self.alg_error(Some(other.to_string()))),
            None => return Err(self.alg_error(None)),
        };
        if let Some(crit) = header.get("crit") {
            return Err(Error::CriticalHeader {
                crit: crit.to_string(),
            });
        }
        let kid = header.get("kid").map(|k| match k {
            Value::String(s) => Ok(s.clone()),
            _ => Err(()),
        });
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
        let claims =
            parse_object(payload).map_err(|reason| Error::malformed(TokenPart::Payload, reason))?;
        let reg = registered(&claims)?;
        let Some(exp) = reg.exp else {
            return Err(Error::MissingExp {
                present: claims.keys().cloned().collect(),
            });
        };
        let expires_at = self.check_time(exp, reg.nbf, reg.iat, now)?;
        if let Some(expected) = &self.config.issuer
            && reg.iss.as_ref() != Some(expected)
        {
            return Err(Error::IssuerMismatch {
                expected: expected.clone(),
                found: reg.iss,
            });
        }
        if let Some(expected) = &self.config.audience
            && !reg.aud.as_ref().is_some_and(|aud| aud.contains(expected))
        {
            return Err(Error::AudienceMismatch {
                expected: expected.clone(),
                found: reg.aud,
            });
        }
        self.mapper.map(&claims, expires_at)
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
fn registered(claims: &Map<String, Value>) -> Result<Registered, Error> {
    let numeric = |name: &str| match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(Error::invalid_claim(
            name,
            "a NumericDate (a JSON number)",
            type_name(other),
        )),
    };
    let iss = match claims.get("iss") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(Error::invalid_claim("iss", "a string", type_name(other))),
    };
    let aud = match claims.get("aud") {
        None => None,
        Some(Value::String(s)) => Some(vec![s.clone()]),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    Error::invalid_claim(
                        "aud",
                        "a string or an array of strings",
                        "an array holding a non-string",
                    )
                })?,
        ),
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
    })
}

/// CONTRACT section 1: every rule that needs no key material. Returns the
/// parsed allowlist.
fn validate(config: &JwtConfig) -> Result<Vec<Algorithm>, Error> {
    let name_chars = config.name.chars().count();
    if config.name.trim().is_empty() {
        return Err(Error::config(
            "name",
            "the name is empty",
            "give the configuration a name of 1–64 characters",
        ));
    }
    if name_chars > MAX_NAME_CHARS {
        return Err(Error::config(
            "name",
            format!("the name has {name_chars} characters, more than {MAX_NAME_CHARS}"),
            "shorten the name to at most 64 characters",
        ));
    }
    if config.token_name.trim().is_empty() {
        return Err(Error::config(
            "token_name",
            "the token name is empty",
            "set token_name to the parameter, cookie or header name the token travels under, e.g. \"token\"",
        ));
    }
    for (field, value) in [("issuer", &config.issuer), ("audience", &config.audience)] {
        if value.as_deref().is_some_and(str::is_empty) {
            return Err(Error::config(
                field,
                format!("{field} is an empty string"),
                format!(
                    "set {field} to the exact value tokens carry, or remove it to not check it"
                ),
            ));
        }
    }
    let algorithms = parse_algorithms(&config.algorithms)?;
    if config.expiration_time == 0 {
        return Err(Error::config(
            "expiration_time",
            "expiration_time is 0",
            "set expiration_time to the longest validity period accepted, in seconds (e.g. 3600)",
        ));
    }
    if config.max_token_bytes == 0 {
        return Err(Error::config(
            "max_token_bytes",
            "max_token_bytes is 0, so every token would be refused",
            "remove max_token_bytes to use the default 16384, or set a positive size",
        ));
    }
    let claims = &config.claims;
    let named = [
        ("claims.user_id", Some(&claims.user_id)),
        ("claims.name", claims.name.as_ref()),
        ("claims.email", claims.email.as_ref()),
        ("claims.roles", claims.roles.as_ref()),
    ];
    for (field, name) in named {
        if let Some(name) = name {
            check_claim_name(name).map_err(|problem| {
                Error::config(
                    field,
                    format!("the claim name {problem}"),
                    "name a top-level claim (e.g. \"sub\") or a JSON Pointer (e.g. \"/realm_access/roles\")",
                )
            })?;
        }
    }
    let mut slots = HashSet::new();
    for (i, prompt) in config.system_prompts.iter().enumerate() {
        let field = format!("system_prompts[{i}]");
        let max = prompt.kind.slots();
        if prompt.slot < 1 || prompt.slot > max {
            return Err(Error::config(
                field,
                format!("{} slot {} is out of range", prompt.kind, prompt.slot),
                format!("use a {} slot from 1 to {max}", prompt.kind),
            ));
        }
        if !slots.insert((prompt.kind, prompt.slot)) {
            return Err(Error::config(
                field,
                format!("{} slot {} is mapped twice", prompt.kind, prompt.slot),
                "map each (kind, slot) once; pick a free slot for the second claim",
            ));
        }
        check_claim_name(&prompt.claim).map_err(|problem| {
            Error::config(
                format!("system_prompts[{i}].claim"),
                format!("the claim name {problem}"),
                "name the claim to copy into the prompt",
            )
        })?;
    }
    if config.user_type.trim().is_empty() {
        return Err(Error::config(
            "user_type",
            "user_type is empty",
            "name one of the host's user types, e.g. \"reader\", or remove the field for the default",
        ));
    }
    if config.initial_roles.iter().any(|r| r.trim().is_empty()) {
        return Err(Error::config(
            "initial_roles",
            "a role name is empty",
            "remove the empty entry from initial_roles",
        ));
    }
    if matches!(config.key_source, KeySource::Issuer {}) && config.issuer.is_none() {
        return Err(Error::config(
            "issuer",
            "key_source type `issuer` needs the configuration's `issuer`",
            "set issuer to the identity provider's issuer URL (discovery reads {issuer}/.well-known/openid-configuration)",
        ));
    }
    Ok(algorithms)
}

fn parse_algorithms(names: &[String]) -> Result<Vec<Algorithm>, Error> {
    const FIELD: &str = "algorithms";
    let supported = Algorithm::ALL.map(Algorithm::as_str).join(", ");
    if names.is_empty() {
        return Err(Error::config(
            FIELD,
            "the list of allowed algorithms is empty",
            format!("allow the algorithm the sender signs with: one of {supported}"),
        ));
    }
    let mut algorithms = Vec::with_capacity(names.len());
    for name in names {
        let alg = match name.parse::<Algorithm>() {
            Ok(alg) => alg,
            Err(_) if name.eq_ignore_ascii_case("none") => {
                return Err(Error::config(
                    FIELD,
                    format!("`{name}` means an unsigned token and is never allowed"),
                    format!("allow the algorithm the sender signs with: one of {supported}"),
                ));
            }
            Err(_) if name == "ES512" => {
                return Err(Error::config(
                    FIELD,
                    "ES512 (P-521) is not supported by the crypto backend",
                    "make the sender sign with ES256 (P-256) or ES384 (P-384)",
                ));
            }
            Err(_) => {
                return Err(Error::config(
                    FIELD,
                    format!("unknown algorithm `{name}`"),
                    format!("use the exact names (case matters): {supported}"),
                ));
            }
        };
        if !algorithms.contains(&alg) {
            algorithms.push(alg);
        }
    }
    Ok(algorithms)
}
