//! The errors of the library by layer, their one flat [`ErrorKind`] and the
//! administrator's hints.
//!
//! [`Error`] is what verification and the login flow return: a rejected
//! token ([`TokenError`]), an invalid configuration ([`ConfigError`]),
//! unreachable remote keys ([`KeyFetchError`]), a refused login
//! ([`LoginError`]) or a failing store ([`StoreError`]). Administrators'
//! answers are an [`AdminError`] (here, below the registry that loads
//! configurations and the administrator's operations that both return it);
//! HTTP statuses and the sentences a client sees live in the axum module.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use crate::time_fmt::rfc3339;
use crate::unix_time::UnixTime;

/// One row per kind: its stable name and the administrator's hint. In the
/// order of [`ErrorKind::ALL`] (and of the enum's declaration), so a kind's
/// row is `KINDS[kind as usize]`.
struct KindInfo {
    kind: ErrorKind,
    name: &'static str,
    hint: &'static str,
}

const KINDS: [KindInfo; 36] = [
    KindInfo {
        kind: ErrorKind::Disabled,
        name: "disabled",
        hint: "Enable the JWT configuration, or send the token to a configuration that is enabled.",
    },
    KindInfo {
        kind: ErrorKind::TokenTooLarge,
        name: "token_too_large",
        hint: "Check that the whole token and nothing else is sent; if the identity provider really issues larger tokens, raise max_token_bytes.",
    },
    KindInfo {
        kind: ErrorKind::Malformed,
        name: "malformed",
        hint: "Check that the sender passes the compact JWT unchanged (three base64url parts, no padding, no quotes or whitespace) and that its header and payload are JSON objects without repeated members.",
    },
    KindInfo {
        kind: ErrorKind::AlgorithmNotAllowed,
        name: "algorithm_not_allowed",
        hint: "Check the algorithm: the token's `alg` must be one of the configuration's `algorithms`. Either sign with an allowed algorithm or add the token's algorithm (never `none`) if the key supports it.",
    },
    KindInfo {
        kind: ErrorKind::CriticalHeader,
        name: "critical_header",
        hint: "The sender uses JWS extensions (`crit`) that are not supported; configure it to sign plain JWTs without `crit`.",
    },
    KindInfo {
        kind: ErrorKind::KeyNotFound,
        name: "key_not_found",
        hint: "Check the public key: the key set has no usable key for the token's `kid` and `alg`. Make sure the identity provider's current signing key is in the key set (or that the key set URL is the right one).",
    },
    KindInfo {
        kind: ErrorKind::InvalidSignature,
        name: "invalid_signature",
        hint: "Check the secret or public key: it must be the exact counterpart of the key the sender signs with (same secret bytes, or the public half of its private key), and the sender must not alter the token after signing.",
    },
    KindInfo {
        kind: ErrorKind::InvalidClaim,
        name: "invalid_claim",
        hint: "Check the claim types the sender puts in the token: exp/nbf/iat must be numbers, iss a string, aud a string or array of strings, and mapped claims must have types they can be mapped from.",
    },
    KindInfo {
        kind: ErrorKind::MissingExp,
        name: "missing_exp",
        hint: "Check the expiration time: the sender must put an `exp` claim (seconds since 1970) in every token.",
    },
    KindInfo {
        kind: ErrorKind::Expired,
        name: "expired",
        hint: "Check the expiration time and the clock: the token has expired. Make the sender issue fresh tokens, and make sure both servers' clocks are synchronised (NTP).",
    },
    KindInfo {
        kind: ErrorKind::NotYetValid,
        name: "not_yet_valid",
        hint: "Check the clock: the token is not valid yet (`nbf`). Synchronise both servers' clocks (NTP) or raise the leeway.",
    },
    KindInfo {
        kind: ErrorKind::IssuedInFuture,
        name: "issued_in_future",
        hint: "Check the clock: the token claims to be issued in the future (`iat`). Synchronise both servers' clocks (NTP) or raise the leeway.",
    },
    KindInfo {
        kind: ErrorKind::MaxAgeExceeded,
        name: "max_age_exceeded",
        hint: "Check the expiration time: the token is older or lives longer than the configuration's expiration_time allows. Issue shorter-lived tokens or raise expiration_time.",
    },
    KindInfo {
        kind: ErrorKind::IssuerMismatch,
        name: "issuer_mismatch",
        hint: "Check the issuer: the configuration's `issuer` must equal the token's `iss` exactly (case and trailing slash included).",
    },
    KindInfo {
        kind: ErrorKind::AudienceMismatch,
        name: "audience_mismatch",
        hint: "Check the audience: the configuration's `audience` must appear exactly in the token's `aud`.",
    },
    KindInfo {
        kind: ErrorKind::MissingUserId,
        name: "missing_user_id",
        hint: "Check the username field mapping: `claims.user_id` must name a claim that every token carries with a non-empty value.",
    },
    KindInfo {
        kind: ErrorKind::NoMatchingRole,
        name: "no_matching_role",
        hint: "The configuration requires a role rule to match (role_rules_required): give the user the group or claim value a rule expects at the identity provider, add a rule for the value the token carries, or turn role_rules_required off.",
    },
    KindInfo {
        kind: ErrorKind::MissingJti,
        name: "missing_jti",
        hint: "The configuration is single_use: make the sender put a unique string `jti` in every token, or turn single_use off.",
    },
    KindInfo {
        kind: ErrorKind::TokenReplayed,
        name: "token_replayed",
        hint: "The token was already used to log in and the configuration is single_use: make the sender mint a fresh token (new `jti`) for every login.",
    },
    KindInfo {
        kind: ErrorKind::UnknownUser,
        name: "unknown_user",
        hint: "The configuration does not create users (create_users is false): create the user in the host first, or turn create_users on.",
    },
    KindInfo {
        kind: ErrorKind::UserConflict,
        name: "user_conflict",
        hint: "The user was created by another configuration: set user_scope to \"shared\" on this configuration if both may log in the same users.",
    },
    KindInfo {
        kind: ErrorKind::Unauthorized,
        name: "unauthorized",
        hint: "Send the administrator's token as `Authorization: Bearer …`, or sign in with a session whose user has the administrator's role.",
    },
    KindInfo {
        kind: ErrorKind::Forbidden,
        name: "forbidden",
        hint: "Sign in as a user with the administrator's role (login_server's --admin-role).",
    },
    KindInfo {
        kind: ErrorKind::VersionConflict,
        name: "version_conflict",
        hint: "Someone saved this configuration in the meantime: reload it, apply your change again and save.",
    },
    KindInfo {
        kind: ErrorKind::PreconditionRequired,
        name: "precondition_required",
        hint: "Send the configuration's current version (its ETag) in `If-Match`, so that a concurrent change is not overwritten.",
    },
    KindInfo {
        kind: ErrorKind::ConfirmationRequired,
        name: "confirmation_required",
        hint: "Confirm the delete by passing the configuration's name as `confirm`.",
    },
    KindInfo {
        kind: ErrorKind::KeyFetch,
        name: "key_fetch",
        hint: "Check that the key set URL or issuer is right and reachable from this server, and that it serves a JSON Web Key Set.",
    },
    KindInfo {
        kind: ErrorKind::Config,
        name: "config",
        hint: "Correct the configuration as the message says, then load it again.",
    },
    KindInfo {
        kind: ErrorKind::Store,
        name: "store",
        hint: "Check the user store (database) that the host application uses.",
    },
    KindInfo {
        kind: ErrorKind::DuplicateName,
        name: "duplicate_name",
        hint: "Choose another name (names are compared without regard to case), or update the existing configuration instead.",
    },
    KindInfo {
        kind: ErrorKind::UnknownConfig,
        name: "unknown_config",
        hint: "Check the configuration name against the list of configurations (names are compared without regard to case).",
    },
    KindInfo {
        kind: ErrorKind::NoMatchingConfig,
        name: "no_matching_config",
        hint: "Check the issuer: add or enable a configuration whose `issuer` equals the token's `iss` exactly, or make the sender put that issuer in `iss`.",
    },
    KindInfo {
        kind: ErrorKind::AmbiguousConfig,
        name: "ambiguous_config",
        hint: "Check the issuer: give each enabled configuration its own `issuer`, or disable the configurations that should not accept these tokens.",
    },
    KindInfo {
        kind: ErrorKind::BadRequest,
        name: "bad_request",
        hint: "Send the token as the login request expects: the compact JWT alone, in the field or parameter the message names.",
    },
    KindInfo {
        kind: ErrorKind::Io,
        name: "io",
        hint: "Check that the file exists and that this process may read it (or, when saving, write it and its directory).",
    },
    KindInfo {
        kind: ErrorKind::RateLimited,
        name: "rate_limited",
        hint: "This client address had too many refused logins within 60 seconds; its attempts are refused unchecked until the oldest of them is 60 seconds old (Retry-After). Read the reason of its earlier refusals in the login events, and fix the sender (or raise the host's failed-login limit).",
    },
];

/// The stable, machine-readable kind of an error (CONTRACT sections 2, 6, 7
/// and 9): of an [`Error`], of an [`AdminError`](crate::AdminError), and of
/// the HTTP layer's errors (`bad_request`, `unauthorized`, `rate_limited`).
///
/// [`ErrorKind::as_str`] gives the snake_case name that logs, JSON output and
/// the conformance suite use; those names never change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration is switched off.
    Disabled,
    /// The token is longer than `max_token_bytes`.
    TokenTooLarge,
    /// The token is not a well-formed compact JWS, or its header or payload is not a strict JSON object.
    Malformed,
    /// The header `alg` is missing, not a string, or not in the allowlist.
    AlgorithmNotAllowed,
    /// The header carries `crit`.
    CriticalHeader,
    /// No key of the key set fits the token's `kid` and `alg`.
    KeyNotFound,
    /// The signature does not verify.
    InvalidSignature,
    /// A claim has a type it cannot be used or mapped from.
    InvalidClaim,
    /// The token has no `exp`.
    MissingExp,
    /// `exp` has passed (after leeway).
    Expired,
    /// `nbf` is in the future (after leeway).
    NotYetValid,
    /// `iat` is in the future (after leeway).
    IssuedInFuture,
    /// The token is older, or lives longer, than `expiration_time` allows.
    MaxAgeExceeded,
    /// `iss` differs from the configured issuer.
    IssuerMismatch,
    /// `aud` does not contain the configured audience.
    AudienceMismatch,
    /// The user-ID claim is absent, `null` or empty.
    MissingUserId,
    /// `role_rules_required` is on and no role rule matches the token.
    NoMatchingRole,
    /// `single_use` is on and the token carries no non-empty string `jti`.
    MissingJti,
    /// `single_use` is on and this (`iss`, `jti`) was already accepted.
    TokenReplayed,
    /// `create_users` is off and the host has no such user.
    UnknownUser,
    /// The user was created by another configuration, and this one's `user_scope` is `own`.
    UserConflict,
    /// A request to an administrator's endpoint carries no valid credential (HTTP 401).
    Unauthorized,
    /// A session without the administrator's role called an administrator's endpoint (HTTP 403).
    Forbidden,
    /// A conditional update named a version that is no longer current (HTTP 412).
    VersionConflict,
    /// A change was sent without the version it is based on (`If-Match`, HTTP 428).
    PreconditionRequired,
    /// A delete was sent without confirming the configuration's name.
    ConfirmationRequired,
    /// Remote keys could not be fetched and no cached keys apply.
    KeyFetch,
    /// The configuration is invalid.
    Config,
    /// A store (users, used `jti`s, sessions, configurations) failed.
    Store,
    /// A registry already holds a configuration of that name (names are case-insensitive).
    DuplicateName,
    /// A registry holds no configuration of that name.
    UnknownConfig,
    /// No enabled configuration of a registry matches the token's `iss`.
    NoMatchingConfig,
    /// More than one enabled configuration of a registry matches the token's `iss`.
    AmbiguousConfig,
    /// A request does not carry a token the way the server expects (HTTP 400).
    BadRequest,
    /// A registry file could not be read or written.
    Io,
    /// A client address had too many refused logins within a minute (HTTP
    /// 429, CONTRACT section 9); the attempt was refused before any check.
    /// A kind of the HTTP layer (the login routes' throttle).
    RateLimited,
}

impl ErrorKind {
    /// Every kind, in the order of CONTRACT section 2 (then the non-token kinds).
    pub const ALL: [ErrorKind; 36] = {
        let mut all = [ErrorKind::Disabled; 36];
        let mut i = 0;
        while i < KINDS.len() {
            all[i] = KINDS[i].kind;
            i += 1;
        }
        all
    };

    /// The stable snake_case name, e.g. `"invalid_signature"`.
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// The administrator's next step for this kind of failure.
    pub fn hint(self) -> &'static str {
        self.info().hint
    }

    fn info(self) -> &'static KindInfo {
        &KINDS[self as usize]
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which part of a compact JWS a [`TokenError::Malformed`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenPart {
    /// The token as a whole (segment count).
    Token,
    /// The protected header.
    Header,
    /// The claims.
    Payload,
    /// The signature segment.
    Signature,
}

impl fmt::Display for TokenPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenPart::Token => "token",
            TokenPart::Header => "header",
            TokenPart::Payload => "payload",
            TokenPart::Signature => "signature",
        })
    }
}

/// Every failure of jwt-sso's verification and login flow, by layer.
///
/// - [`Error::kind`] is stable and machine-readable (CONTRACT section 2);
/// - `Display` names the values involved (expected vs found, times as RFC
///   3339), lower-case, and never repeats its source;
/// - [`Error::hint`] tells the administrator what to change;
/// - `source()` chains a store's own error.
///
/// No variant ever holds the token or a secret.
///
/// ```
/// use jwt_sso::{Error, ErrorKind, JwtConfig, TokenError, Verifier};
///
/// let config = JwtConfig::from_json_str(r#"{
///     "name": "ERP", "token_name": "token", "algorithms": ["HS256"],
///     "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
///     "expiration_time": 3600, "claims": {"user_id": "sub"}
/// }"#)?.validate()?;
/// let verifier = Verifier::new(config);
/// let err = verifier.verify_cached("not-a-token").unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Malformed);
/// assert_eq!(err.kind().as_str(), "malformed");
/// assert!(matches!(err, Error::Token(TokenError::Malformed { .. })));
/// assert!(!err.hint().is_empty());
/// # Ok::<(), jwt_sso::Error>(())
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token is refused by a step of CONTRACT section 2.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Remote keys could not be fetched and no cached keys apply.
    #[error(transparent)]
    KeyFetch(#[from] KeyFetchError),
    /// The login is refused: routing or the configuration's policies.
    #[error(transparent)]
    Login(#[from] LoginError),
    /// A store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Token(e) => e.kind(),
            Error::Config(_) => ErrorKind::Config,
            Error::KeyFetch(_) => ErrorKind::KeyFetch,
            Error::Login(e) => e.kind(),
            Error::Store(_) => ErrorKind::Store,
        }
    }

    /// What the administrator should change. Config errors and
    /// `user_conflict` carry their own fix.
    pub fn hint(&self) -> &str {
        match self {
            Error::Config(e) => e.fix(),
            Error::Login(LoginError::UserConflict { fix, .. }) => fix,
            Error::Token(TokenError::KeyNotFound {
                candidates: 0,
                key_set,
                skipped,
                ..
            }) if key_set.is_some() || !skipped.is_empty() => NO_USABLE_KEY_HINT,
            other => other.kind().hint(),
        }
    }

    /// The error as the JSON object of CONTRACT section 5:
    /// `{"kind": …, "message": …, "hint": …}` (the `Serialize` form, which
    /// keeps that member order).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind().as_str(),
            "message": self.to_string(),
            "hint": self.hint(),
        })
    }

    pub(crate) fn malformed(part: TokenPart, reason: impl Into<String>) -> Self {
        Error::Token(TokenError::Malformed {
            part,
            reason: reason.into(),
        })
    }

    pub(crate) fn invalid_claim(
        claim: &str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Error::Token(TokenError::InvalidClaim {
            claim: claim.to_owned(),
            expected: expected.into(),
            found: found.into(),
        })
    }
}

/// Serialises as `{"kind": …, "message": …, "hint": …}`, in that order.
impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Error", 3)?;
        s.serialize_field("kind", self.kind().as_str())?;
        s.serialize_field("message", &self.to_string())?;
        s.serialize_field("hint", self.hint())?;
        s.end()
    }
}

/// A token refused by one of the steps of CONTRACT section 2 (each variant
/// is one kind, except the two of `max_age_exceeded`'s rule, told apart by
/// `iat`). Every variant carries the evidence its message names.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The configuration is switched off.
    #[error("configuration `{config}` is disabled")]
    #[non_exhaustive]
    Disabled {
        /// The configuration's name.
        config: String,
    },
    /// The token is longer than `max_token_bytes`.
    #[error("token is {size} bytes long, more than max_token_bytes = {max}")]
    #[non_exhaustive]
    TokenTooLarge {
        /// The token's length in bytes.
        size: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The token is not well-formed.
    #[error("malformed {part}: {reason}")]
    #[non_exhaustive]
    Malformed {
        /// Which part is malformed.
        part: TokenPart,
        /// What is wrong with it.
        reason: String,
    },
    /// The header `alg` is missing, not a string, or not allowed.
    #[error("{}", alg_message(found.as_deref(), allowed))]
    #[non_exhaustive]
    AlgorithmNotAllowed {
        /// The header's `alg` as text (`None` when missing; a JSON rendering when not a string).
        found: Option<String>,
        /// The configuration's allowlist.
        allowed: Vec<String>,
    },
    /// The header carries `crit`.
    #[error(
        "header has a `crit` member ({}); no JWS extensions are supported",
        untrusted(crit)
    )]
    #[non_exhaustive]
    CriticalHeader {
        /// The `crit` value as JSON text.
        crit: String,
    },
    /// No candidate key for the token.
    #[error("{}", key_not_found_message(kid.as_deref(), alg, *candidates, available, key_set.as_deref(), skipped))]
    #[non_exhaustive]
    KeyNotFound {
        /// The token's `kid`, if any.
        kid: Option<String>,
        /// The token's algorithm.
        alg: String,
        /// How many keys fit the algorithm (relevant when `kid` is absent).
        candidates: usize,
        /// The `kid`s of the keys that fit the algorithm.
        available: Vec<String>,
        /// The URL of a fetched key set (`jwks_uri`, or found by discovery).
        key_set: Option<Box<str>>,
        /// Keys of the set that were skipped, each as "`kid`: why", when they
        /// explain the miss: every skipped key when none fits the algorithm,
        /// else the skipped keys with the token's `kid` (at most five, then
        /// "and N more"). Boxed slices keep [`Error`] small.
        skipped: Box<[String]>,
    },
    /// The signature does not verify.
    #[error("signature does not verify with {key} for {alg}")]
    #[non_exhaustive]
    InvalidSignature {
        /// The token's algorithm.
        alg: String,
        /// A description of the key that was tried (never the key material).
        key: String,
    },
    /// A claim has the wrong type.
    #[error("claim `{claim}` is {}, expected {expected}", untrusted(found))]
    #[non_exhaustive]
    InvalidClaim {
        /// The claim name (or JSON Pointer).
        claim: String,
        /// What it should be.
        expected: String,
        /// What it is (a JSON type, or the offending value for mapped claims).
        found: String,
    },
    /// The token has no `exp`.
    #[error("token has no `exp` claim; claims present: {}", list(present))]
    #[non_exhaustive]
    MissingExp {
        /// The names of the claims the token has.
        present: Vec<String>,
    },
    /// `exp` has passed.
    #[error("token expired at {} (exp = {exp}); now is {now} (leeway {} s)", rfc3339(*exp), leeway.as_secs())]
    #[non_exhaustive]
    Expired {
        /// The token's `exp`.
        exp: f64,
        /// The verification's time.
        now: UnixTime,
        /// The configured leeway.
        leeway: Duration,
    },
    /// `nbf` is in the future.
    #[error("token is not valid before {} (nbf = {nbf}); now is {now} (leeway {} s)", rfc3339(*nbf), leeway.as_secs())]
    #[non_exhaustive]
    NotYetValid {
        /// The token's `nbf`.
        nbf: f64,
        /// The verification's time.
        now: UnixTime,
        /// The configured leeway.
        leeway: Duration,
    },
    /// `iat` is in the future.
    #[error("token is issued in the future at {} (iat = {iat}); now is {now} (leeway {} s)", rfc3339(*iat), leeway.as_secs())]
    #[non_exhaustive]
    IssuedInFuture {
        /// The token's `iat`.
        iat: f64,
        /// The verification's time.
        now: UnixTime,
        /// The configured leeway.
        leeway: Duration,
    },
    /// The token is too old (`now > iat + expiration_time + leeway`), or,
    /// without `iat`, lives too long (`exp - now > expiration_time + leeway`).
    #[error("{}", max_age_message(*iat, *exp, *now, *expiration_time, *leeway))]
    #[non_exhaustive]
    MaxAgeExceeded {
        /// The token's `iat`: `Some` for the "too old" rule, `None` for
        /// the "lives too long" rule.
        iat: Option<f64>,
        /// The token's `exp`.
        exp: f64,
        /// The verification's time.
        now: UnixTime,
        /// The configured `expiration_time`.
        expiration_time: Duration,
        /// The configured leeway.
        leeway: Duration,
    },
    /// `iss` differs.
    #[error("issuer mismatch: expected `{expected}`, found {}", found.as_deref().map_or_else(|| "no `iss` claim".to_owned(), |f| format!("`{}`", untrusted(f))))]
    #[non_exhaustive]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// The token's `iss`.
        found: Option<String>,
    },
    /// `aud` lacks the audience.
    #[error("audience mismatch: expected `{expected}`, found {}", found.as_ref().map_or_else(|| "no `aud` claim".to_owned(), |f| format!("[{}]", list(f))))]
    #[non_exhaustive]
    AudienceMismatch {
        /// The configured audience.
        expected: String,
        /// The token's `aud` values.
        found: Option<Vec<String>>,
    },
    /// The user-ID claim is absent, null or empty.
    #[error(
        "user ID claim `{claim}` is {state}; claims present: {}",
        list(present)
    )]
    #[non_exhaustive]
    MissingUserId {
        /// The configured user-ID claim.
        claim: String,
        /// `"absent"`, `"null"` or `"empty"`.
        state: &'static str,
        /// The names of the claims the token has.
        present: Vec<String>,
    },
    /// `role_rules_required` is on and no role rule matches.
    #[error("{}", no_matching_role_message(*rules, found))]
    #[non_exhaustive]
    NoMatchingRole {
        /// How many rules the configuration has.
        rules: usize,
        /// What the token holds in each claim the rules read, as
        /// "`claim`: what" (at most ten claims, then "and N more").
        found: Vec<String>,
    },
    /// `single_use` is on and the token has no usable `jti`.
    #[error(
        "configuration is single_use but `jti` is {state}; claims present: {}",
        list(present)
    )]
    #[non_exhaustive]
    MissingJti {
        /// `"absent"`, `"empty"` or the JSON type found, e.g. `"a number"`.
        state: String,
        /// The names of the claims the token has.
        present: Vec<String>,
    },
}

impl TokenError {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TokenError::Disabled { .. } => ErrorKind::Disabled,
            TokenError::TokenTooLarge { .. } => ErrorKind::TokenTooLarge,
            TokenError::Malformed { .. } => ErrorKind::Malformed,
            TokenError::AlgorithmNotAllowed { .. } => ErrorKind::AlgorithmNotAllowed,
            TokenError::CriticalHeader { .. } => ErrorKind::CriticalHeader,
            TokenError::KeyNotFound { .. } => ErrorKind::KeyNotFound,
            TokenError::InvalidSignature { .. } => ErrorKind::InvalidSignature,
            TokenError::InvalidClaim { .. } => ErrorKind::InvalidClaim,
            TokenError::MissingExp { .. } => ErrorKind::MissingExp,
            TokenError::Expired { .. } => ErrorKind::Expired,
            TokenError::NotYetValid { .. } => ErrorKind::NotYetValid,
            TokenError::IssuedInFuture { .. } => ErrorKind::IssuedInFuture,
            TokenError::MaxAgeExceeded { .. } => ErrorKind::MaxAgeExceeded,
            TokenError::IssuerMismatch { .. } => ErrorKind::IssuerMismatch,
            TokenError::AudienceMismatch { .. } => ErrorKind::AudienceMismatch,
            TokenError::MissingUserId { .. } => ErrorKind::MissingUserId,
            TokenError::NoMatchingRole { .. } => ErrorKind::NoMatchingRole,
            TokenError::MissingJti { .. } => ErrorKind::MissingJti,
        }
    }
}

/// An invalid configuration (kind `config`): the field at fault, what is
/// wrong and how to fix it, as three values. Never the value of a secret.
///
/// ```
/// use jwt_sso::JwtConfig;
///
/// let err = JwtConfig::from_json_str(r#"{
///     "name": "ERP", "token_name": "token", "algorithms": ["HS256"],
///     "key_source": {"type": "static", "secret": "short"},
///     "expiration_time": 3600, "claims": {"user_id": "sub"}
/// }"#).unwrap().validate().unwrap_err();
/// assert_eq!(err.field(), "key_source.secret");
/// assert!(err.problem().contains("32 bytes"));
/// assert!(!err.fix().is_empty());
/// assert!(!err.to_string().contains("short"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {field}: {problem}")]
pub struct ConfigError {
    field: String,
    problem: String,
    fix: String,
}

impl ConfigError {
    pub(crate) fn new(
        field: impl Into<String>,
        problem: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        ConfigError {
            field: field.into(),
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    /// The field at fault as a path, e.g. `key_source.secret` or
    /// `system_prompts[1].slot` (`configuration` for the text as a whole).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// What is wrong.
    pub fn problem(&self) -> &str {
        &self.problem
    }

    /// How to fix it: the administrator's hint.
    pub fn fix(&self) -> &str {
        &self.fix
    }

    /// [`ErrorKind::Config`], as every error type of the crate reports its kind.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Config
    }

    /// The same as [`fix`](ConfigError::fix): the hint, as every error type
    /// of the crate gives one.
    pub fn hint(&self) -> &str {
        &self.fix
    }

    /// `{"kind": "config", "message": …, "hint": …}`, as [`Error::to_json`].
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": ErrorKind::Config.as_str(),
            "message": self.to_string(),
            "hint": self.fix,
        })
    }

    /// The same error about another field (an entry of a list, named).
    pub(crate) fn with_field(mut self, field: String) -> Self {
        self.field = field;
        self
    }

    /// The same error, saying which file held the configuration.
    #[cfg(feature = "admin")]
    pub(crate) fn in_file(mut self, path: &std::path::Path) -> Self {
        self.problem = format!("{} (in `{}`)", self.problem, path.display());
        self
    }

    /// The same error about the entry `entry` (0-based) of a list of
    /// configurations, named `name`.
    pub(crate) fn in_entry(mut self, entry: usize, name: &str) -> Self {
        self.field = format!("{} (entry {}, `{name}`)", self.field, entry + 1);
        self
    }
}

/// Remote keys could not be fetched and no cached keys apply (kind
/// `key_fetch`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not fetch keys from {}: {reason}", untrusted(url))]
pub struct KeyFetchError {
    url: String,
    reason: String,
}

impl KeyFetchError {
    #[cfg_attr(not(feature = "remote"), allow(dead_code))]
    pub(crate) fn new(url: impl Into<String>, reason: impl Into<String>) -> Self {
        KeyFetchError {
            url: url.into(),
            reason: reason.into(),
        }
    }

    /// The URL that was fetched.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// What went wrong.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// A refused login: no configuration takes the token (routing), or a policy
/// of the configuration that verified it says no.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// No enabled configuration matches the token's `iss`.
    #[error("{}", no_match_message(iss.as_deref(), candidates))]
    #[non_exhaustive]
    NoMatchingConfig {
        /// The token's `iss` (`None` when absent or not a string). Nothing
        /// else of the unverified payload is ever reported.
        iss: Option<String>,
        /// The enabled configurations: name and issuer.
        candidates: Vec<(String, Option<String>)>,
    },
    /// Several enabled configurations match the token's `iss`.
    #[error("token issuer `{}` matches {} enabled configurations: {}", untrusted(iss), candidates.len(), list(candidates))]
    #[non_exhaustive]
    AmbiguousConfig {
        /// The token's `iss`.
        iss: String,
        /// The names of the matching configurations.
        candidates: Vec<String>,
    },
    /// The token was sent to a configuration by name, and there is none of
    /// that name.
    #[error(
        "no configuration is named `{}`; configurations: {}",
        untrusted(name),
        list(known)
    )]
    #[non_exhaustive]
    UnknownConfig {
        /// The name that was asked for.
        name: String,
        /// The names the registry holds, sorted.
        known: Vec<String>,
    },
    /// The (`iss`, `jti`) of a `single_use` configuration was already accepted.
    #[error("token `jti` {} (issuer {}) was already used to log in through configuration `{config}`", quoted(jti), iss.as_deref().map_or_else(|| "none".to_owned(), quoted))]
    #[non_exhaustive]
    TokenReplayed {
        /// The configuration's name.
        config: String,
        /// The token's `iss`, if any.
        iss: Option<String>,
        /// The token's `jti`.
        jti: String,
    },
    /// `create_users` is off and the user does not exist.
    #[error(
        "user {} does not exist and configuration `{config}` does not create users (create_users = false)",
        quoted(user_id)
    )]
    #[non_exhaustive]
    UnknownUser {
        /// The configuration's name.
        config: String,
        /// The user ID of the identity.
        user_id: String,
    },
    /// The user belongs to another configuration.
    #[error(
        "user {} was created by configuration `{owner}`, and configuration `{config}` may log in only its own users (user_scope = \"own\")",
        quoted(user_id)
    )]
    #[non_exhaustive]
    UserConflict {
        /// The configuration that tried to log the user in.
        config: String,
        /// The user ID of the identity.
        user_id: String,
        /// The configuration that created the user.
        owner: String,
        /// The administrator's next step, naming the owner.
        fix: String,
    },
}

impl LoginError {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            LoginError::NoMatchingConfig { .. } => ErrorKind::NoMatchingConfig,
            LoginError::AmbiguousConfig { .. } => ErrorKind::AmbiguousConfig,
            LoginError::UnknownConfig { .. } => ErrorKind::UnknownConfig,
            LoginError::TokenReplayed { .. } => ErrorKind::TokenReplayed,
            LoginError::UnknownUser { .. } => ErrorKind::UnknownUser,
            LoginError::UserConflict { .. } => ErrorKind::UserConflict,
        }
    }
}

fn quoted(value: &str) -> String {
    format!("`{}`", untrusted(value))
}

pub(crate) fn list(items: &[String]) -> String {
    if items.is_empty() {
        return "(none)".to_owned();
    }
    const SHOWN: usize = 20;
    let mut shown: Vec<String> = items.iter().take(SHOWN).map(|s| quoted(s)).collect();
    if items.len() > SHOWN {
        shown.push(format!("and {} more", items.len() - SHOWN));
    }
    shown.join(", ")
}

pub(crate) fn duplicate_message(name: &str, existing: &str) -> String {
    if name == existing {
        format!("a configuration named `{name}` already exists")
    } else {
        format!(
            "a configuration named `{existing}` already exists, and names are compared without regard to case (`{name}`)"
        )
    }
}

fn no_match_message(iss: Option<&str>, candidates: &[(String, Option<String>)]) -> String {
    let found = match iss {
        Some(iss) => format!("no enabled configuration has issuer `{}`", untrusted(iss)),
        None => "the token has no string `iss` claim to choose a configuration by".to_owned(),
    };
    if candidates.is_empty() {
        return format!("{found}; no configuration is enabled");
    }
    let candidates = candidates
        .iter()
        .map(|(name, issuer)| match issuer {
            Some(issuer) => format!("`{name}` (issuer `{issuer}`)"),
            None => format!("`{name}` (no issuer)"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!("{found}; enabled configurations: {candidates}")
}

/// `error` and its sources as one line, `: `-separated: for logs, whose
/// readers see no `source()`.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The most characters of one untrusted value that a message shows.
pub(crate) const SHOWN_CHARS: usize = 200;

/// Whether `c` is escaped in messages: a control character (Unicode `Cc`:
/// U+0000–U+001F, U+007F–U+009F), an invisible format character (`Cf`:
/// bidi controls such as U+202E that reorder what a reader sees, zero-width
/// characters, tag characters), or a line or paragraph separator (`Zl`,
/// `Zp`: U+2028, U+2029, which some log viewers break lines at).
fn needs_escape(c: char) -> bool {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    c.is_control()
        || (!c.is_ascii()
            && matches!(
                c.general_category(),
                GeneralCategory::Format
                    | GeneralCategory::LineSeparator
                    | GeneralCategory::ParagraphSeparator
            ))
}

/// `text` with its control characters escaped (`\n`, `\u{1b}`, …), other
/// characters as they are: for a whole message whose untrusted parts were
/// each shown with [`untrusted`] (a second line of defence: messages go
/// into logs, and a raw line break there would let a token forge log lines;
/// CWE-117, RFC 8725 §3.10).
pub(crate) fn escape_controls(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        push_escaped(&mut out, c);
    }
    out.into()
}

fn push_escaped(out: &mut String, c: char) {
    if needs_escape(c) {
        out.extend(c.escape_debug());
    } else {
        out.push(c);
    }
}

/// One untrusted value as a message or log line shows it: text from a
/// token (its unauthenticated header, an `iss` used for routing, claims,
/// which users often choose themselves at the identity provider), from a
/// discovery document or from a JWK Set (CONTRACT section 6). Control
/// characters are escaped as [`escape_controls`] does, and the value is cut
/// to [`SHOWN_CHARS`] characters (counted after escaping) with a note of its
/// full length, so that one value can neither forge a log line nor flood
/// the log.
///
/// Every message that quotes such a value goes through this function.
pub(crate) fn untrusted(text: &str) -> std::borrow::Cow<'_, str> {
    let clean = !text.chars().any(needs_escape);
    if clean && (text.len() <= SHOWN_CHARS || text.chars().count() <= SHOWN_CHARS) {
        return text.into();
    }
    let mut out = String::with_capacity(SHOWN_CHARS + 40);
    let mut shown = 0;
    for c in text.chars() {
        let width = if needs_escape(c) {
            c.escape_debug().count()
        } else {
            1
        };
        if shown + width > SHOWN_CHARS {
            use std::fmt::Write as _;
            let _ = write!(out, "… (cut; {} characters in all)", text.chars().count());
            return out.into();
        }
        push_escaped(&mut out, c);
        shown += width;
    }
    out.into()
}

fn alg_message(found: Option<&str>, allowed: &[String]) -> String {
    match found {
        None => format!("header has no `alg`; allowed: {}", allowed.join(", ")),
        Some(f) => format!(
            "algorithm `{}` is not allowed; allowed: {}{}",
            untrusted(f),
            allowed.join(", "),
            other_ed25519_name(f, allowed)
        ),
    }
}

/// For a token whose `alg` is one of the two names of Ed25519 signatures
/// while the allowlist has the other: a note that they are matched by name.
fn other_ed25519_name(found: &str, allowed: &[String]) -> String {
    let other = match found {
        "EdDSA" => "Ed25519",
        "Ed25519" => "EdDSA",
        _ => return String::new(),
    };
    if !allowed.iter().any(|a| a == other) {
        return String::new();
    }
    format!(
        " (`{found}` and `{other}` both name Ed25519 signatures, but each is matched by its own name: add `{found}` to `algorithms` to accept these tokens)"
    )
}

/// The hint of `key_not_found` when the key set has no key at all for the
/// token's algorithm: the provider's key set is at fault, not the token.
const NO_USABLE_KEY_HINT: &str = "Check the identity provider's key set: it has no usable key for the token's algorithm, and fetching it again will not change that. The message lists the keys that were skipped and why; have the provider publish its public signing key with `use` \"sig\" (or no `use`), `key_ops` that include \"verify\" (or no `key_ops`) and an `alg` equal to the token's (or none), or allow the algorithm its keys are for.";

fn key_not_found_message(
    kid: Option<&str>,
    alg: &str,
    candidates: usize,
    available: &[String],
    key_set: Option<&str>,
    skipped: &[String],
) -> String {
    let mut message = key_not_found_base(kid, alg, candidates, available);
    if candidates == 0
        && let Some(url) = key_set
    {
        message.push_str(&format!(
            "; the key set fetched from {} has no usable key for {alg}",
            untrusted(url)
        ));
    }
    if !skipped.is_empty() {
        message.push_str("; skipped: ");
        message.push_str(&skipped.join("; "));
    }
    message
}

fn key_not_found_base(
    kid: Option<&str>,
    alg: &str,
    candidates: usize,
    available: &[String],
) -> String {
    match kid {
        Some(kid) => format!(
            "no key with kid `{}` for {alg}; key IDs available for {alg}: {}",
            untrusted(kid),
            list(available)
        ),
        None => format!(
            "token has no `kid` and {candidates} keys fit {alg} (exactly one is needed); key IDs: {}",
            list(available)
        ),
    }
}

fn no_matching_role_message(rules: usize, found: &[String]) -> String {
    let rules = match rules {
        1 => "the configuration's role rule".to_owned(),
        n => format!("any of the configuration's {n} role rules"),
    };
    let mut message = format!("role_rules_required is on and the token does not match {rules}");
    if !found.is_empty() {
        message.push_str(&format!("; the token has {}", found.join(", ")));
    }
    message
}

fn max_age_message(
    iat: Option<f64>,
    exp: f64,
    now: UnixTime,
    expiration_time: Duration,
    leeway: Duration,
) -> String {
    let (e, l) = (expiration_time.as_secs(), leeway.as_secs());
    match iat {
        Some(iat) => format!(
            "token issued at {} (iat = {iat}) is older than expiration_time = {e} s (leeway {l} s); now is {now}",
            rfc3339(iat),
        ),
        None => format!(
            "token without `iat` expires at {} (exp = {exp}), more than expiration_time = {e} s (leeway {l} s) after now ({now})",
            rfc3339(exp),
        ),
    }
}

/// What a store reports when it fails (kind `store`): a conflict the login
/// flow knows how to handle, or any other failure with its cause as
/// [`source`](std::error::Error::source), never flattened into text.
///
/// In a store implementation, `StoreError::failed(e)` wraps the database's
/// error (`.map_err(StoreError::failed)?`), and [`StoreError::conflict`]
/// reports a taken key. `?` turns it into an [`Error`](crate::Error).
///
/// ```
/// use jwt_sso::{Error, ErrorKind, StoreError};
///
/// fn lookup() -> Result<(), StoreError> {
///     let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "database timed out");
///     Err(StoreError::failed(io))
/// }
/// fn login() -> Result<(), Error> {
///     lookup()?;
///     Ok(())
/// }
/// let err = login().unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Store);
/// let source = std::error::Error::source(&err).unwrap();
/// assert_eq!(source.to_string(), "database timed out");
/// ```
#[derive(Debug)]
pub struct StoreError {
    conflict: bool,
    /// What the library was doing, e.g. "finding user `jdoe`".
    action: Option<String>,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl StoreError {
    /// [`UserStore::create`](crate::UserStore::create) found the user ID taken (another login created
    /// the user first; the login flow then finds the user instead), or
    /// [`ConfigStore::apply`](crate::ConfigStore::apply) found a stale version or a taken name.
    pub fn conflict() -> Self {
        StoreError {
            conflict: true,
            action: None,
            source: None,
        }
    }

    /// Anything else (the database is down, a query failed, …), caused by
    /// `source` (any error, or a message).
    pub fn failed(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        StoreError {
            conflict: false,
            action: None,
            source: Some(source.into()),
        }
    }

    /// Whether this is a conflict ([`StoreError::conflict`]).
    pub fn is_conflict(&self) -> bool {
        self.conflict
    }

    /// What was being done, as [`StoreError::during`] said.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn action(&self) -> Option<&str> {
        self.action.as_deref()
    }

    /// The failure's cause, owned (to downcast it, e.g. to the
    /// [`ConfigError`](crate::ConfigError) of an unreadable configuration
    /// file); `None` for a conflict.
    pub fn into_source(self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        self.source
    }

    /// The same error, saying what was being done when it failed, e.g.
    /// `"finding user `jdoe`"` (shown as "store failed while …").
    pub fn during(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into());
        self
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.action, self.conflict) {
            (Some(action), true) => write!(
                f,
                "store conflict while {action}: the record exists already or was changed by someone else"
            ),
            (None, true) => {
                f.write_str("conflict: the record exists already or was changed by someone else")
            }
            (Some(action), false) => write!(f, "store failed while {action}"),
            (None, false) => f.write_str("store failed"),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

/// Why a change to the configurations, or an administrator's request, was
/// refused: the administrator's kinds (CONTRACT section 7), an invalid
/// configuration, a store or file that failed.
///
/// Returned by [`Registry`](crate::Registry)'s loading methods, by the
/// owner of the configurations (`Configs`) and by the administrator's
/// operations. [`AdminError::kind`] is the same
/// flat [`ErrorKind`] as [`Error::kind`].
///
/// ```
/// use jwt_sso::{ErrorKind, Registry};
///
/// let two = r#"[
///   {"name": "ERP", "token_name": "token", "algorithms": ["HS256"],
///    "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///    "expiration_time": 3600, "claims": {"user_id": "sub"}},
///   {"name": "erp", "token_name": "token", "algorithms": ["HS256"],
///    "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///    "expiration_time": 3600, "claims": {"user_id": "sub"}}
/// ]"#;
/// let err = Registry::from_json_str(two).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::DuplicateName);
/// assert!(err.to_string().contains("compared without regard to case"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No or a bad credential for an administrator's endpoint.
    #[error("{problem}")]
    #[non_exhaustive]
    Unauthorized {
        /// What is wrong with the credential (never the credential itself).
        problem: String,
    },
    /// A session without the administrator's role.
    #[error("{problem}")]
    #[non_exhaustive]
    Forbidden {
        /// Why access is refused.
        problem: String,
    },
    /// A conditional update named a version that is no longer current.
    #[error(
        "configuration `{config}` was changed by someone else (expected version {expected}, current version {current})"
    )]
    #[non_exhaustive]
    VersionConflict {
        /// The configuration's name.
        config: String,
        /// The version the change was based on.
        expected: String,
        /// The current version.
        current: String,
    },
    /// A change without the version it is based on (`If-Match`).
    #[error("changing configuration `{config}` needs its current version in `If-Match`")]
    #[non_exhaustive]
    PreconditionRequired {
        /// The configuration's name.
        config: String,
    },
    /// A delete without the right confirmation.
    #[error("deleting configuration `{config}` needs `confirm` set to its name")]
    #[non_exhaustive]
    ConfirmationRequired {
        /// The configuration's name.
        config: String,
    },
    /// The set already holds a configuration of that name (names are
    /// compared without regard to case).
    #[error("{}", duplicate_message(name, existing))]
    #[non_exhaustive]
    DuplicateName {
        /// The name that was given.
        name: String,
        /// The name of the configuration that holds it (it may differ in case).
        existing: String,
    },
    /// No configuration has that name.
    #[error(
        "no configuration is named `{}`; configurations: {}",
        untrusted(name),
        list(known)
    )]
    #[non_exhaustive]
    UnknownConfig {
        /// The name that was asked for.
        name: String,
        /// The names the set holds, sorted.
        known: Vec<String>,
    },
    /// A configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store of configurations failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A configuration file could not be read or written.
    #[error("cannot {action} `{path}`")]
    #[non_exhaustive]
    Io {
        /// `"read"` or `"write"`.
        action: &'static str,
        /// The file.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl AdminError {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AdminError::Unauthorized { .. } => ErrorKind::Unauthorized,
            AdminError::Forbidden { .. } => ErrorKind::Forbidden,
            AdminError::VersionConflict { .. } => ErrorKind::VersionConflict,
            AdminError::PreconditionRequired { .. } => ErrorKind::PreconditionRequired,
            AdminError::ConfirmationRequired { .. } => ErrorKind::ConfirmationRequired,
            AdminError::DuplicateName { .. } => ErrorKind::DuplicateName,
            AdminError::UnknownConfig { .. } => ErrorKind::UnknownConfig,
            AdminError::Config(_) => ErrorKind::Config,
            AdminError::Store(_) => ErrorKind::Store,
            AdminError::Io { .. } => ErrorKind::Io,
        }
    }

    /// What the administrator should change (a config error's own fix).
    pub fn hint(&self) -> &str {
        match self {
            AdminError::Config(e) => e.fix(),
            other => other.kind().hint(),
        }
    }

    /// `{"kind": …, "message": …, "hint": …}`, as [`Error::to_json`].
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind().as_str(),
            "message": self.to_string(),
            "hint": self.hint(),
        })
    }

    pub(crate) fn duplicate(name: &str, existing: &str) -> Self {
        AdminError::DuplicateName {
            name: name.to_owned(),
            existing: existing.to_owned(),
        }
    }

    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn unknown(name: &str, known: Vec<String>) -> Self {
        AdminError::UnknownConfig {
            name: name.to_owned(),
            known,
        }
    }
}

/// An [`Error`] that arises while administering: a config or store error
/// keeps its kind; any other (none of the operations give one) is carried
/// as a store failure with its source.
impl From<Error> for AdminError {
    fn from(error: Error) -> Self {
        match error {
            Error::Config(e) => AdminError::Config(e),
            Error::Store(e) => AdminError::Store(e),
            other => AdminError::Store(StoreError::failed(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compile-time exhaustive: a new kind that is missing here fails to build.
    fn position(kind: ErrorKind) -> usize {
        match kind {
            ErrorKind::Disabled
            | ErrorKind::TokenTooLarge
            | ErrorKind::Malformed
            | ErrorKind::AlgorithmNotAllowed
            | ErrorKind::CriticalHeader
            | ErrorKind::KeyNotFound
            | ErrorKind::InvalidSignature
            | ErrorKind::InvalidClaim
            | ErrorKind::MissingExp
            | ErrorKind::Expired
            | ErrorKind::NotYetValid
            | ErrorKind::IssuedInFuture
            | ErrorKind::MaxAgeExceeded
            | ErrorKind::IssuerMismatch
            | ErrorKind::AudienceMismatch
            | ErrorKind::MissingUserId
            | ErrorKind::NoMatchingRole
            | ErrorKind::MissingJti
            | ErrorKind::TokenReplayed
            | ErrorKind::UnknownUser
            | ErrorKind::UserConflict
            | ErrorKind::Unauthorized
            | ErrorKind::Forbidden
            | ErrorKind::VersionConflict
            | ErrorKind::PreconditionRequired
            | ErrorKind::ConfirmationRequired
            | ErrorKind::KeyFetch
            | ErrorKind::Config
            | ErrorKind::Store
            | ErrorKind::DuplicateName
            | ErrorKind::UnknownConfig
            | ErrorKind::NoMatchingConfig
            | ErrorKind::AmbiguousConfig
            | ErrorKind::BadRequest
            | ErrorKind::Io
            | ErrorKind::RateLimited => ErrorKind::ALL.iter().position(|k| *k == kind).unwrap(),
        }
    }

    #[test]
    fn every_kind_is_listed_once_with_a_unique_name_a_hint_and_a_readme_row() {
        let readme = include_str!("../README.md");
        let mut names = std::collections::HashSet::new();
        for (i, kind) in ErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(position(kind), i);
            // The table's row of a kind is the kind's own (discriminant order).
            assert_eq!(kind as usize, i);
            assert_eq!(KINDS[i].kind, kind);
            assert!(names.insert(kind.as_str()), "{kind} twice");
            assert!(!kind.hint().is_empty());
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
            assert!(
                readme.contains(&format!("| `{kind}` |")),
                "README error table lacks `{kind}`"
            );
        }
    }

    #[test]
    fn the_unverified_iss_is_escaped_in_the_no_match_message() {
        let forged = LoginError::NoMatchingConfig {
            iss: Some("https://x\nWARN jwt_sso: token accepted\u{1b}[31m".into()),
            candidates: vec![("ERP".into(), Some("https://erp".into()))],
        };
        let message = forged.to_string();
        assert!(!message.chars().any(char::is_control), "{message:?}");
        assert!(message.contains(r"https://x\nWARN"), "{message}");
        assert!(message.contains(r"\u{1b}[31m"), "{message}");
    }

    #[test]
    fn untrusted_text_is_escaped_and_cut_to_two_hundred_characters_with_its_length() {
        assert_eq!(
            untrusted("https://idp.example.com"),
            "https://idp.example.com"
        );
        assert_eq!(untrusted("a\nb\u{1b}[2K\r"), r"a\nb\u{1b}[2K\r");
        // Bidi controls, zero-width and tag characters and line separators
        // are escaped too; visible text is not.
        assert_eq!(
            untrusted("x\u{202e}y\u{2028}\u{200b}\u{e0041}"),
            r"x\u{202e}y\u{2028}\u{200b}\u{e0041}"
        );
        assert_eq!(untrusted("José 山田 ✓"), "José 山田 ✓");
        let long = format!("\u{1b}[2K\rFORGED-LINE\n{}", "x".repeat(5000));
        let shown = untrusted(&long);
        assert!(!shown.chars().any(char::is_control), "{shown:?}");
        let (text, note) = shown.split_once('…').unwrap();
        assert_eq!(text.chars().count(), SHOWN_CHARS, "{text}");
        assert!(text.starts_with(r"\u{1b}[2K\rFORGED-LINE\n"), "{text}");
        assert_eq!(note, " (cut; 5017 characters in all)");
        // Exactly 200 characters are shown whole; an escape is never split.
        let exact = "y".repeat(SHOWN_CHARS);
        assert_eq!(untrusted(&exact), exact);
        let split = format!("{}\n", "y".repeat(SHOWN_CHARS - 1));
        assert_eq!(
            untrusted(&split),
            format!(
                "{}… (cut; 200 characters in all)",
                "y".repeat(SHOWN_CHARS - 1)
            )
        );
        // Multi-byte characters count as one.
        let wide = "é".repeat(SHOWN_CHARS);
        assert_eq!(untrusted(&wide), wide);
    }

    #[test]
    fn the_two_names_of_ed25519_signatures_are_explained_when_one_is_allowed() {
        let message = TokenError::AlgorithmNotAllowed {
            found: Some("Ed25519".into()),
            allowed: vec!["EdDSA".into()],
        }
        .to_string();
        assert!(
            message.contains("`Ed25519` and `EdDSA` both name Ed25519 signatures")
                && message.contains("add `Ed25519` to `algorithms`"),
            "{message}"
        );
        let unrelated = TokenError::AlgorithmNotAllowed {
            found: Some("Ed25519".into()),
            allowed: vec!["RS256".into()],
        }
        .to_string();
        assert_eq!(
            unrelated,
            "algorithm `Ed25519` is not allowed; allowed: RS256"
        );
    }

    #[test]
    fn registry_errors_name_the_candidates() {
        let none = LoginError::NoMatchingConfig {
            iss: Some("https://x".into()),
            candidates: vec![
                ("ERP".into(), Some("https://erp".into())),
                ("CRM".into(), None),
            ],
        };
        assert_eq!(
            none.to_string(),
            "no enabled configuration has issuer `https://x`; enabled configurations: `ERP` (issuer `https://erp`), `CRM` (no issuer)"
        );
        let empty = LoginError::NoMatchingConfig {
            iss: None,
            candidates: vec![],
        };
        assert!(empty.to_string().contains("no string `iss`"), "{empty}");
        assert!(
            empty.to_string().contains("no configuration is enabled"),
            "{empty}"
        );
        let two = LoginError::AmbiguousConfig {
            iss: "https://x".into(),
            candidates: vec!["A".into(), "B".into()],
        };
        assert_eq!(
            two.to_string(),
            "token issuer `https://x` matches 2 enabled configurations: `A`, `B`"
        );
        let dup = crate::AdminError::duplicate("erp", "ERP");
        assert!(dup.to_string().contains("`ERP` already exists"), "{dup}");
        assert_eq!(dup.kind().as_str(), "duplicate_name");
        let unknown = LoginError::UnknownConfig {
            name: "X".into(),
            known: vec!["ERP".into()],
        };
        assert_eq!(
            unknown.to_string(),
            "no configuration is named `X`; configurations: `ERP`"
        );
    }
}
