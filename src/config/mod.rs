//! `JwtConfig`: the administrator's configuration (CONTRACT section 1), its
//! serde model for JSON and TOML, and its validation.

mod names;
mod parse;
mod role_rules;
mod rules;
#[cfg(feature = "remote")]
pub(crate) mod url_rules;

pub(crate) use names::{CONFIG_NAME_FIX, MAX_NAME_CHARS, REMOTE_URL_FIX, TOKEN_NAME_FIX};
pub use names::{ConfigName, RemoteUrl, TokenName};

pub(crate) use parse::{parse_json, parse_toml};
pub use role_rules::{RoleRule, SyncField, SyncOnLogin};
pub(crate) use rules::check_rules;

use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use crate::error::ConfigError;
use crate::secret::Secret;

/// Default `leeway`, seconds.
pub(crate) const DEFAULT_LEEWAY: u64 = 60;
/// Default `max_token_bytes`.
pub(crate) const DEFAULT_MAX_TOKEN_BYTES: usize = 16_384;
/// Default `user_type`.
pub(crate) const DEFAULT_USER_TYPE: &str = "reader";

/// A signature algorithm that a configuration may allow.
///
/// `none` is deliberately absent, and so is `ES512` (P-521 is not supported by
/// the crypto backend). `EdDSA` and `Ed25519` both verify Ed25519 signatures
/// but are distinct names: a token's `alg` must be in the allowlist as
/// written (RFC 9864 registers `Ed25519` as the fully-specified name).
///
/// ```
/// use jwt_sso::Algorithm;
///
/// let alg: Algorithm = "RS256".parse().unwrap();
/// assert_eq!(alg, Algorithm::RS256);
/// assert_eq!(alg.as_str(), "RS256");
/// assert!("none".parse::<Algorithm>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256.
    HS256,
    /// HMAC with SHA-384.
    HS384,
    /// HMAC with SHA-512.
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// EdDSA (RFC 8037), which jwt-sso verifies on Ed25519.
    EdDSA,
    /// Ed25519 under its fully-specified name (RFC 9864): the same
    /// signature as `EdDSA` over an Ed25519 key, matched by its own name.
    Ed25519,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 13] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
        Algorithm::Ed25519,
    ];

    /// The JOSE name, e.g. `"ES256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::Ed25519 => "Ed25519",
        }
    }

    /// Whether this is an HMAC (shared secret) algorithm.
    pub fn is_hmac(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    /// The shortest secret accepted for an HMAC algorithm (its hash length,
    /// RFC 7518 section 3.2), in bytes; 0 for the others.
    pub fn min_secret_bytes(self) -> usize {
        match self {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => 0,
        }
    }

    #[cfg_attr(all(feature = "aws-lc", not(feature = "mint")), allow(dead_code))]
    pub(crate) fn to_jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as J;
        match self {
            Algorithm::HS256 => J::HS256,
            Algorithm::HS384 => J::HS384,
            Algorithm::HS512 => J::HS512,
            Algorithm::RS256 => J::RS256,
            Algorithm::RS384 => J::RS384,
            Algorithm::RS512 => J::RS512,
            Algorithm::PS256 => J::PS256,
            Algorithm::PS384 => J::PS384,
            Algorithm::PS512 => J::PS512,
            Algorithm::ES256 => J::ES256,
            Algorithm::ES384 => J::ES384,
            // jsonwebtoken has one name for both; the header is jwt-sso's own.
            Algorithm::EdDSA | Algorithm::Ed25519 => J::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Algorithm::from_str`]: the name is not a supported
/// algorithm. Its message says why: `none` is never allowed, `ES512` is not
/// supported, anything else is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UnknownAlgorithm(String);

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.0;
        if name.eq_ignore_ascii_case("none") {
            write!(f, "`{name}` means an unsigned token and is never allowed")
        } else if name == "ES512" {
            f.write_str("ES512 (P-521) is not supported by the crypto backend")
        } else {
            write!(
                f,
                "unknown algorithm `{}`",
                crate::error::escape_controls(name)
            )
        }
    }
}

/// The JOSE name, exactly (case matters); a refused name is a `config`
/// error about `algorithms` that says why (`none` is never allowed, `ES512`
/// is not supported, anything else is unknown).
impl FromStr for Algorithm {
    type Err = ConfigError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                ConfigError::new(
                    "algorithms",
                    UnknownAlgorithm(s.to_owned()).to_string(),
                    algorithms_fix(),
                )
            })
    }
}

impl PartialEq<str> for Algorithm {
    /// Whether `other` is this algorithm's JOSE name (case matters).
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Algorithm {
    /// Whether `other` is this algorithm's JOSE name (case matters).
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// How to write the allowlist: the fix of every error about `algorithms`.
pub(crate) fn algorithms_fix() -> String {
    let supported = Algorithm::ALL.map(Algorithm::as_str).join(", ");
    format!(
        "allow the algorithms the sender signs with, each once, by their exact names (case matters): {supported}; `none` is never allowed, and for ES512 make the sender sign with ES256 (P-256) or ES384 (P-384)"
    )
}

/// The JOSE name, e.g. `"RS256"`.
impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// The JOSE name, exactly (case matters). A refused name gives a message
/// that says why and how to fix it: `none` is never allowed, `ES512` is not
/// supported, anything else lists the supported names.
///
/// ```
/// use jwt_sso::Algorithm;
///
/// let algs: Vec<Algorithm> = serde_json::from_str(r#"["RS256", "EdDSA"]"#).unwrap();
/// assert_eq!(algs, [Algorithm::RS256, Algorithm::EdDSA]);
/// let err = serde_json::from_str::<Algorithm>(r#""none""#).unwrap_err();
/// assert!(err.to_string().contains("never allowed"));
/// ```
impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;

        impl Visitor<'_> for NameVisitor {
            type Value = Algorithm;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an algorithm name such as \"RS256\"")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Algorithm, E> {
                v.parse()
                    .map_err(|refused: ConfigError| E::custom(refused.problem()))
            }
        }

        deserializer.deserialize_str(NameVisitor)
    }
}

/// One JWT configuration, as an administrator writes it (CONTRACT section 1):
/// plain data, for files, the administrator's JSON and code alike.
///
/// Read it with [`JwtConfig::from_json_str`] or [`JwtConfig::from_toml_str`]
/// (structure: unknown fields, missing fields, wrong types); a configuration
/// built in code starts from [`JwtConfig::new`] (the type grows, so it is
/// `#[non_exhaustive]`). Either way [`JwtConfig::validate`] checks every rule
/// and parses the keys into a [`ValidConfig`](crate::ValidConfig), which is
/// what a [`Verifier`](crate::Verifier) is built from:
///
/// ```
/// use jwt_sso::{Algorithm, ClaimNames, JwtConfig, KeySource, Secret, SecretSpec, StaticKey, Verifier};
///
/// let mut config = JwtConfig::new(
///     "ERP".parse()?,
///     "token".parse()?,
///     [Algorithm::HS256],
///     KeySource::Static(StaticKey::Secret(SecretSpec::Text(Secret::new(
///         "a-shared-secret-of-32-bytes-or-more!",
///     )))),
///     3600,
///     ClaimNames::new("sub"),
/// );
/// config.audience = Some("bi-server".into());
/// let verifier = Verifier::new(config.validate()?);
/// assert_eq!(verifier.name(), "ERP");
/// # Ok::<(), jwt_sso::ConfigError>(())
/// ```
///
/// Every field documents its default (CONTRACT section 1): `enabled` true,
/// `leeway` 60 s, `max_token_bytes` 16384, `user_type` `reader`, the login
/// policies off, names at most 64 characters.
///
/// ```
/// use jwt_sso::JwtConfig;
///
/// let config = JwtConfig::from_json_str(r#"{
///     "name": "ERP",
///     "token_name": "token",
///     "issuer": "https://erp.example.com",
///     "audience": "bi-server",
///     "algorithms": ["HS256"],
///     "key_source": {"type": "static", "secret": "a-shared-secret-of-32-bytes-or-more!"},
///     "expiration_time": 3600,
///     "claims": {"user_id": "sub", "email": "email"}
/// }"#).unwrap();
/// assert_eq!(config.leeway, 60);
/// assert_eq!(config.user_type, "reader");
/// // Secrets never print.
/// assert!(!format!("{config:?}").contains("a-shared-secret"));
///
/// let typo = JwtConfig::from_json_str(r#"{"name": "x", "audiance": "y"}"#).unwrap_err();
/// assert_eq!(typo.field(), "audiance");
/// assert!(typo.to_string().contains("audiance"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct JwtConfig {
    /// Unique name (1–64 characters, unique case-insensitively in a registry).
    pub name: ConfigName,
    /// The configuration's stable identity, which survives a rename: the
    /// users it created (`User::created_by_config`) and the `jti`s it
    /// accepted are recorded under it. It is never given to another
    /// configuration: the owner of the configurations (`Configs`, and the
    /// administrator's API through it) gives every configuration it creates
    /// a fresh random id (32 hex digits), whatever `id` the creator sent, so
    /// a new configuration with a deleted one's name does not own the
    /// deleted one's users. Absent (a configuration written by hand), it is
    /// the name in lower case. Read it through [`JwtConfig::stable_id`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Whether tokens are accepted at all. Default `true`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The query/form parameter, cookie or header name the token travels under.
    pub token_name: TokenName,
    /// When set, `iss` must equal it exactly. Required for `key_source.type = "issuer"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// When set, `aud` (a string or an array of strings) must contain it exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The allowed signature algorithms (non-empty, each once; each must
    /// fit the key). In JSON and TOML, their JOSE names.
    pub algorithms: Vec<Algorithm>,
    /// Where verification keys come from.
    pub key_source: KeySource,
    /// The longest validity period accepted, in seconds (> 0).
    pub expiration_time: u64,
    /// Clock skew allowed for `exp`, `nbf` and `iat`, in seconds. Default 60.
    #[serde(default = "default_leeway")]
    pub leeway: u64,
    /// Longer tokens are rejected before any parsing. Default 16384.
    #[serde(default = "default_max_token_bytes")]
    pub max_token_bytes: usize,
    /// Which claims carry the user ID, name, email and roles.
    pub claims: ClaimNames,
    /// Claims copied into system prompts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub system_prompts: Vec<PromptMapping>,
    /// The user type new users get. Default `reader`.
    #[serde(default = "default_user_type")]
    pub user_type: String,
    /// Roles given to a user on first login.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub initial_roles: Vec<String>,
    /// Registry metadata: who created the configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    /// Registry metadata: when the configuration last changed (RFC 3339).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "last_modified"
    )]
    pub last_modified: Option<OffsetDateTime>,
    /// When `true`, every token must carry a string `jti` (`missing_jti`),
    /// and a login with a `jti` this configuration already accepted (for the
    /// same `iss`) is refused with `token_replayed`. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub single_use: bool,
    /// When `false`, a login for a user the host does not have is refused
    /// with `unknown_user` and nothing is created. Default `true`.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub create_users: bool,
    /// Whether this configuration may log in users that another
    /// configuration created. Default [`UserScope::Own`].
    #[serde(default, skip_serializing_if = "UserScope::is_own")]
    pub user_scope: UserScope,
    /// How the mapped user ID is normalised. Default [`UserIdNormalize::None`].
    #[serde(default, skip_serializing_if = "UserIdNormalize::is_none")]
    pub user_id_normalize: UserIdNormalize,
    /// Which fields of an existing user each login replaces from its
    /// identity: `true` (name, email and roles), `false` (the default), or a
    /// list of `name`, `email`, `roles`, `user_type`.
    #[serde(default, skip_serializing_if = "SyncOnLogin::is_default")]
    pub sync_on_login: SyncOnLogin,
    /// Role rules (at most 100): a token whose claim is or holds a rule's
    /// value gets the rule's roles and user type (CONTRACT section 4).
    /// Default none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub role_rules: Vec<RoleRule>,
    /// When `true`, a token that matches no role rule is refused with
    /// `no_matching_role`. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub role_rules_required: bool,
    /// Whether a token of this configuration may give the host's
    /// administrator role (by its roles claim or a role rule). Default
    /// `false`: that role is dropped from the mapped roles, with a warning
    /// (`initial_roles` are kept). The administrator roles are the
    /// verifier's (default `["Administrator"]`; see
    /// [`Verifier::with_admin_roles`](crate::Verifier::with_admin_roles)).
    #[serde(default, skip_serializing_if = "is_false")]
    pub may_grant_admin: bool,
    /// When `true`, this configuration's tokens are also accepted as
    /// per-request credentials on a host's protected routes
    /// (`Authorization: Bearer`; the axum `Identity` extractor and layer).
    /// A configuration without it only logs users in: its tokens are never
    /// a bearer credential. Together with `single_use` it is a `config`
    /// error. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub bearer: bool,
    /// Where a browser goes after signing out of a session that this
    /// configuration created (`POST /logout`): an `https://` URL (plain
    /// `http://` only to 127.0.0.0/8, ::1 or localhost, as for remote key
    /// sources).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logout_url: Option<String>,
}

fn is_false(value: &bool) -> bool {
    !*value
}
fn is_true(value: &bool) -> bool {
    *value
}

/// Whether a configuration may log in a user that another configuration
/// created (CONTRACT section 6). Users the host created itself may be logged
/// in by any configuration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserScope {
    /// Only users this configuration created (or the host created): the default.
    #[default]
    Own,
    /// Also users that another configuration created.
    Shared,
}

impl UserScope {
    fn is_own(&self) -> bool {
        *self == UserScope::Own
    }
}

/// How a mapped user ID is normalised before the store is asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserIdNormalize {
    /// The user ID as sent: the default.
    #[default]
    None,
    /// Unicode NFC, then lower case, so `JDoe`, `jdoe` and a decomposed `é` name one user.
    Lowercase,
}

impl UserIdNormalize {
    fn is_none(&self) -> bool {
        *self == UserIdNormalize::None
    }
}

fn default_true() -> bool {
    true
}
fn default_leeway() -> u64 {
    DEFAULT_LEEWAY
}
fn default_max_token_bytes() -> usize {
    DEFAULT_MAX_TOKEN_BYTES
}
fn default_user_type() -> String {
    DEFAULT_USER_TYPE.to_owned()
}

/// The claims that carry the user's identity. A name that starts with `/` is
/// a JSON Pointer (RFC 6901) into nested claims, e.g. `/realm_access/roles`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimNames {
    /// The claim mapped to the user ID (required).
    pub user_id: String,
    /// The claim mapped to the display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The claim mapped to the email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The claim whose roles are added to `initial_roles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<String>,
}

impl ClaimNames {
    /// The user ID from `user_id`; no name, email or roles claim.
    pub fn new(user_id: impl Into<String>) -> Self {
        ClaimNames {
            user_id: user_id.into(),
            name: None,
            email: None,
            roles: None,
        }
    }
}

/// The three kinds of system prompt slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromptKind {
    /// Text prompts, slots 1–15.
    Text,
    /// Numeric prompts, slots 1–15.
    Numeric,
    /// Date prompts, slots 1–10.
    Date,
}

impl PromptKind {
    /// The highest slot number of this kind.
    pub fn slots(self) -> u32 {
        match self {
            PromptKind::Text | PromptKind::Numeric => 15,
            PromptKind::Date => 10,
        }
    }

    /// `"text"`, `"numeric"` or `"date"`.
    pub fn as_str(self) -> &'static str {
        match self {
            PromptKind::Text => "text",
            PromptKind::Numeric => "numeric",
            PromptKind::Date => "date",
        }
    }
}

impl fmt::Display for PromptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A claim copied into one system prompt slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptMapping {
    /// The kind of slot.
    pub kind: PromptKind,
    /// The slot number (1-based).
    pub slot: u32,
    /// The claim name or JSON Pointer.
    pub claim: String,
}

/// Where verification keys come from. Exactly one source per configuration,
/// so conflicting sources cannot be written.
///
/// `Debug` never shows key material: secrets print as `[redacted]`, and so do
/// the secret members (`k`, `d`, …) of an inline JWK Set.
///
/// ```
/// use jwt_sso::{KeySource, SecretSpec, StaticKey};
///
/// let source: KeySource =
///     serde_json::from_str(r#"{"type": "static", "secret": {"env": "ERP_SECRET"}}"#).unwrap();
/// assert_eq!(source, KeySource::Static(StaticKey::Secret(SecretSpec::Env("ERP_SECRET".into()))));
/// assert_eq!(
///     serde_json::to_string(&source).unwrap(),
///     r#"{"type":"static","secret":{"env":"ERP_SECRET"}}"#
/// );
/// ```
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", try_from = "RawKeySource")]
pub enum KeySource {
    /// A static shared secret (HS*) or a static public key in PEM (RS*, PS*,
    /// ES*, EdDSA, Ed25519): `{"type": "static", "secret": …}` or
    /// `{"type": "static", "public_key_pem": "…"}`, exactly one of the two.
    Static(StaticKey),
    /// An inline JWK Set (`{"keys": [...]}`).
    Jwks {
        /// The JWK Set document.
        jwks: serde_json::Value,
    },
    /// A JWK Set fetched over HTTPS (cargo feature `remote`).
    JwksUri {
        /// The URL of the JWK Set.
        url: RemoteUrl,
    },
    /// OpenID Provider Issuer Discovery from the configuration's `issuer`
    /// (cargo feature `remote`).
    Issuer {},
}

/// The one key of a `static` key source: a shared secret or a public key,
/// never both (CONTRACT section 1).
///
/// In JSON it is the member beside `"type": "static"`: `"secret": …` or
/// `"public_key_pem": "…"`. Both, neither (an explicit `null` counts as
/// absent) or any other member is a `config` error naming `key_source`.
///
/// ```
/// use jwt_sso::{JwtConfig, KeySource, StaticKey};
///
/// let both = JwtConfig::from_json_str(r#"{
///     "name": "ERP", "token_name": "token", "algorithms": ["HS256"],
///     "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef",
///                    "public_key_pem": "-----BEGIN PUBLIC KEY-----"},
///     "expiration_time": 3600, "claims": {"user_id": "sub"}
/// }"#).unwrap_err();
/// assert!(both.to_string().contains("both `secret` and `public_key_pem`"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StaticKey {
    /// The HMAC secret (`secret`).
    Secret(SecretSpec),
    /// HMAC secrets for key rotation with overlap (`"secret": [ … ]`): 1–3
    /// secrets, each in any form and each long enough for every allowed
    /// algorithm, tried in order (at most three HMACs per token). The
    /// administrator adds the new secret, switches the sender, then removes
    /// the old one, and no login fails in between.
    Secrets(Vec<SecretSpec>),
    /// A public key (`public_key_pem`): `BEGIN PUBLIC KEY` (SPKI), `BEGIN RSA
    /// PUBLIC KEY` (PKCS#1) or `BEGIN CERTIFICATE` (its SPKI is used).
    PublicKeyPem(String),
}

impl Serialize for StaticKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut map = serializer.serialize_struct("StaticKey", 1)?;
        match self {
            StaticKey::Secret(secret) => map.serialize_field("secret", secret)?,
            StaticKey::Secrets(secrets) => map.serialize_field("secret", secrets)?,
            StaticKey::PublicKeyPem(pem) => map.serialize_field("public_key_pem", pem)?,
        }
        map.end()
    }
}

/// The key source as written: every member any type may have, so that
/// serde tracks the path of each (`key_source.secret.base64`) and this
/// module decides, with its own message, which members a type takes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKeySource {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    secret: Option<SecretField>,
    #[serde(default)]
    public_key_pem: Option<String>,
    #[serde(default)]
    jwks: Option<serde_json::Value>,
    #[serde(default)]
    url: Option<RemoteUrl>,
}

/// The fix of every error about the members of `key_source`.
pub(crate) const KEY_SOURCE_FIX: &str = "give the key source's `type` and exactly its members: `static` with `secret` (HS*) or `public_key_pem` (RS*/PS*/ES*/EdDSA/Ed25519), not both; `jwks` with `jwks`; `jwks_uri` with `url`; `issuer` with nothing else";

impl TryFrom<RawKeySource> for KeySource {
    type Error = String;

    fn try_from(raw: RawKeySource) -> Result<Self, String> {
        let RawKeySource {
            kind,
            secret,
            public_key_pem,
            jwks,
            url,
        } = raw;
        let present = [
            ("secret", secret.is_some()),
            ("public_key_pem", public_key_pem.is_some()),
            ("jwks", jwks.is_some()),
            ("url", url.is_some()),
        ];
        let takes: &[&str] = match kind.as_str() {
            "static" => &["secret", "public_key_pem"],
            "jwks" => &["jwks"],
            "jwks_uri" => &["url"],
            "issuer" => &[],
            other => {
                return Err(format!(
                    "unknown key source type `{}`; the types are static, jwks, jwks_uri and issuer",
                    crate::error::escape_controls(other)
                ));
            }
        };
        if let Some((member, _)) = present
            .iter()
            .find(|(member, given)| *given && !takes.contains(member))
        {
            return Err(format!(
                "`{member}` is not a member of a `{kind}` key source"
            ));
        }
        Ok(match kind.as_str() {
            // An explicit `null` is no key at all.
            "static" => match (secret, public_key_pem) {
                (Some(SecretField::One(secret)), None) => {
                    KeySource::Static(StaticKey::Secret(secret))
                }
                (Some(SecretField::Many(secrets)), None) => {
                    KeySource::Static(StaticKey::Secrets(secrets))
                }
                (None, Some(pem)) => KeySource::Static(StaticKey::PublicKeyPem(pem)),
                (Some(_), Some(_)) => {
                    return Err("both `secret` and `public_key_pem` are set".to_owned());
                }
                (None, None) => {
                    return Err("a static key source needs `secret` or `public_key_pem`".to_owned());
                }
            },
            "jwks" => KeySource::Jwks {
                jwks: jwks.ok_or("a `jwks` key source needs `jwks`, the JWK Set")?,
            },
            "jwks_uri" => KeySource::JwksUri {
                url: url.ok_or("a `jwks_uri` key source needs `url`, the JWK Set's URL")?,
            },
            _ => KeySource::Issuer {},
        })
    }
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Static(key) => f.debug_tuple("Static").field(key).finish(),
            KeySource::Jwks { jwks } => f
                .debug_struct("Jwks")
                .field("jwks", &redact_jwk_secrets(jwks))
                .finish(),
            KeySource::JwksUri { url } => f.debug_struct("JwksUri").field("url", url).finish(),
            KeySource::Issuer {} => f.write_str("Issuer"),
        }
    }
}

/// The JWK members that hold secret or private key material (RFC 7518 section 6).
const JWK_SECRET_MEMBERS: [&str; 8] = ["k", "d", "p", "q", "dp", "dq", "qi", "oth"];

/// A copy of a JWK Set document with every secret member replaced by `"[redacted]"`.
fn redact_jwk_secrets(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(name, member)| {
                    let shown = if JWK_SECRET_MEMBERS.contains(&name.as_str()) {
                        Value::String("[redacted]".to_owned())
                    } else {
                        redact_jwk_secrets(member)
                    };
                    (name.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact_jwk_secrets).collect()),
        other => other.clone(),
    }
}

impl KeySource {
    /// The `type` tag, e.g. `"static"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            KeySource::Static(_) => "static",
            KeySource::Jwks { .. } => "jwks",
            KeySource::JwksUri { .. } => "jwks_uri",
            KeySource::Issuer {} => "issuer",
        }
    }
}

/// The three ways to give an HMAC secret.
///
/// In JSON: `"text"` (UTF-8 bytes), `{"base64": "…"}` (standard or URL-safe,
/// padding optional) or `{"env": "VAR"}` (read from the environment when the
/// configuration is loaded). Serialising writes the same form back, so an
/// `env` secret stays a reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSpec {
    /// A UTF-8 secret.
    Text(Secret),
    /// A binary secret in base64.
    Base64(Secret),
    /// The name of an environment variable holding a UTF-8 secret.
    Env(String),
}

impl Serialize for SecretSpec {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            SecretSpec::Text(s) => s.serialize(serializer),
            SecretSpec::Base64(s) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("base64", s)?;
                map.end()
            }
            SecretSpec::Env(var) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("env", var)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for SecretSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SpecVisitor)
    }
}

/// `key_source.secret` as written: one secret, or an array of them (key
/// rotation). Each entry is read as a [`SecretSpec`], so an error names its
/// position (`key_source.secret[1]`) and never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SecretField {
    One(SecretSpec),
    Many(Vec<SecretSpec>),
}

impl<'de> Deserialize<'de> for SecretField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;

        impl<'de> Visitor<'de> for FieldVisitor {
            type Value = SecretField;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{SECRET_EXPECTED}, or an array of 1 to 3 of them")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretField, E> {
                SpecVisitor.visit_str(v).map(SecretField::One)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<SecretField, E> {
                SpecVisitor.visit_bool(v).map(SecretField::One)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<SecretField, E> {
                SpecVisitor.visit_i64(v).map(SecretField::One)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<SecretField, E> {
                SpecVisitor.visit_u64(v).map(SecretField::One)
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<SecretField, E> {
                SpecVisitor.visit_i128(v).map(SecretField::One)
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<SecretField, E> {
                SpecVisitor.visit_u128(v).map(SecretField::One)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<SecretField, E> {
                SpecVisitor.visit_f64(v).map(SecretField::One)
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<SecretField, E> {
                SpecVisitor.visit_bytes(v).map(SecretField::One)
            }
            fn visit_unit<E: de::Error>(self) -> Result<SecretField, E> {
                SpecVisitor.visit_unit().map(SecretField::One)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SecretField, A::Error> {
                SpecVisitor.visit_map(map).map(SecretField::One)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<SecretField, A::Error> {
                let mut secrets = Vec::new();
                while let Some(secret) = seq.next_element::<SecretSpec>()? {
                    secrets.push(secret);
                }
                Ok(SecretField::Many(secrets))
            }
        }

        deserializer.deserialize_any(FieldVisitor)
    }
}

const SECRET_EXPECTED: &str = r#"a secret string, {"base64": "…"} or {"env": "VAR"}"#;

/// One secret in any of its three forms; every other type is refused by
/// its type alone.
struct SpecVisitor;

impl<'de> Visitor<'de> for SpecVisitor {
    type Value = SecretSpec;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SECRET_EXPECTED)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretSpec, E> {
        Ok(SecretSpec::Text(Secret::new(v)))
    }

    // Every other type is refused by its type alone: serde's own
    // "invalid type: integer `…`" would quote the secret.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<SecretSpec, E> {
        Err(not_a_secret("secret", "a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<SecretSpec, E> {
        Err(not_a_secret("secret", "a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<SecretSpec, E> {
        Err(not_a_secret("secret", "a number"))
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<SecretSpec, E> {
        Err(not_a_secret("secret", "a number"))
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<SecretSpec, E> {
        Err(not_a_secret("secret", "a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<SecretSpec, E> {
        Err(not_a_secret("secret", "a number"))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<SecretSpec, E> {
        Err(not_a_secret("secret", "bytes"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<SecretSpec, E> {
        Err(not_a_secret("secret", "null"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<SecretSpec, A::Error> {
        Err(not_a_secret("secret", "an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSpec, A::Error> {
        let Some(key) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!("expected {SECRET_EXPECTED}")));
        };
        // Member names are never echoed: someone may have written the
        // secret itself as one (`{"secret": {"s3cr3t…": 1}}`).
        let spec = match key.as_str() {
            "base64" => SecretSpec::Base64(Secret::new(
                map.next_value_seed(SecretText("secret.base64"))?,
            )),
            "env" => SecretSpec::Env(map.next_value_seed(SecretText("secret.env"))?),
            TOML_DATETIME => return Err(not_a_secret("secret", "a date-time")),
            _ => {
                return Err(de::Error::custom(format!(
                    "an object whose member is neither `base64` nor `env` (its name is not shown: it is a secret field); expected {SECRET_EXPECTED}"
                )));
            }
        };
        if map.next_key::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(format!(
                "an object with more than one member (their names are not shown: it is a secret field); expected {SECRET_EXPECTED}"
            )));
        }
        Ok(spec)
    }
}

/// The member name under which the `toml` crate hands a TOML date-time to
/// serde (a one-member map); shown as "a date-time", never by this name.
const TOML_DATETIME: &str = "$__toml_private_datetime";

/// The error for a secret field of the wrong type: it names the field and the
/// type, never the value (CONTRACT section 1).
fn not_a_secret<E: de::Error>(_member: &str, found: &str) -> E {
    E::custom(format!(
        "expected a string, found {found} (the value is not shown: it is a secret field)"
    ))
}

/// A string member of a secret (`base64`, `env`), refused by its type alone
/// when it is not a string.
struct SecretText(&'static str);

impl<'de> de::DeserializeSeed<'de> for SecretText {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SecretText {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: a string", self.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<String, E> {
        Err(not_a_secret(self.0, "a boolean"))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<String, E> {
        Err(not_a_secret(self.0, "a number"))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<String, E> {
        Err(not_a_secret(self.0, "a number"))
    }
    fn visit_i128<E: de::Error>(self, _: i128) -> Result<String, E> {
        Err(not_a_secret(self.0, "a number"))
    }
    fn visit_u128<E: de::Error>(self, _: u128) -> Result<String, E> {
        Err(not_a_secret(self.0, "a number"))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<String, E> {
        Err(not_a_secret(self.0, "a number"))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<String, E> {
        Err(not_a_secret(self.0, "bytes"))
    }
    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(not_a_secret(self.0, "null"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(not_a_secret(self.0, "an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        let found = match map.next_key::<String>()? {
            Some(key) if key == TOML_DATETIME => "a date-time",
            _ => "an object",
        };
        Err(not_a_secret(self.0, found))
    }
}

impl JwtConfig {
    /// A configuration with the required fields and every default of
    /// CONTRACT section 1 (enabled, leeway 60, max_token_bytes 16384,
    /// user_type `reader`, no issuer or audience, no prompts, the login
    /// policies' defaults). Not validated yet: see [`JwtConfig::validate`].
    pub fn new(
        name: ConfigName,
        token_name: TokenName,
        algorithms: impl IntoIterator<Item = Algorithm>,
        key_source: KeySource,
        expiration_time: u64,
        claims: ClaimNames,
    ) -> Self {
        JwtConfig {
            name,
            id: None,
            enabled: true,
            token_name,
            issuer: None,
            audience: None,
            algorithms: algorithms.into_iter().collect(),
            key_source,
            expiration_time,
            leeway: DEFAULT_LEEWAY,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            claims,
            system_prompts: Vec::new(),
            user_type: DEFAULT_USER_TYPE.to_owned(),
            initial_roles: Vec::new(),
            created_by: None,
            last_modified: None,
            single_use: false,
            create_users: true,
            user_scope: UserScope::Own,
            user_id_normalize: UserIdNormalize::None,
            sync_on_login: SyncOnLogin::Flag(false),
            role_rules: Vec::new(),
            role_rules_required: false,
            may_grant_admin: false,
            bearer: false,
            logout_url: None,
        }
    }

    /// The configuration's stable identity ([`JwtConfig::id`]): `id` when
    /// set, else the name in lower case.
    ///
    /// ```
    /// # let mut config = jwt_sso::JwtConfig::from_json_str(r#"{"name":"ERP","token_name":"token","algorithms":["HS256"],
    /// #   "key_source":{"type":"static","secret":"erp-secret-of-at-least-32-bytes!!"},"expiration_time":3600,"claims":{"user_id":"sub"}}"#).unwrap();
    /// assert_eq!(config.stable_id(), "erp");
    /// config.id = Some("erp".into());
    /// config.name = "ERP (old)".parse().unwrap(); // renamed: the identity stays
    /// assert_eq!(config.stable_id(), "erp");
    /// ```
    pub fn stable_id(&self) -> String {
        match &self.id {
            Some(id) => id.to_lowercase(),
            None => self.name.to_lowercase(),
        }
    }

    /// Takes over `old`'s stable identity (an edit that may rename):
    /// `id` is set only when it differs from the new name's default.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn keep_identity_of(&mut self, old: &JwtConfig) {
        let id = old.stable_id();
        self.id = (id != self.name.to_lowercase()).then_some(id);
    }

    /// Parses one configuration, or a JSON array of them (the registry file
    /// format), without validating; errors name the field.
    pub(crate) fn parse_json_list(text: &str) -> Result<Vec<JwtConfig>, ConfigError> {
        if text.trim_start().starts_with('[') {
            parse_json(text).map_err(|e| name_the_entry(e, text))
        } else {
            parse_json(text).map(|c| vec![c])
        }
    }

    /// Renders the configuration as pretty JSON (secrets included as given;
    /// see [`SecretSpec`]).
    ///
    /// An error (kind `config`) is returned rather than an empty or partial
    /// text, so that a caller that saves the text never overwrites a good
    /// file with nothing.
    pub fn to_json_string(&self) -> Result<String, ConfigError> {
        serde_json::to_string_pretty(self).map_err(|e| {
            ConfigError::new(
                "configuration",
                format!("the configuration cannot be written as JSON: {e}"),
                "report this: every configuration that loads can be written back",
            )
        })
    }
}

/// A `config` error of an array of configurations at field `[i].rest`,
/// with the field named as the registry names an invalid entry: `rest
/// (entry i+1, `NAME`)`, the name read from the text when it has one.
fn name_the_entry(error: ConfigError, text: &str) -> ConfigError {
    let entry = error
        .field()
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(index, rest)| Some((index.parse::<usize>().ok()?, rest.to_owned())));
    let Some((index, rest)) = entry else {
        return error;
    };
    let rest = rest.strip_prefix('.').unwrap_or(&rest);
    let rest = if rest.is_empty() {
        "configuration"
    } else {
        rest
    };
    let name = serde_json::from_str::<Vec<serde_json::Value>>(text)
        .ok()
        .and_then(|list| list.get(index)?.get("name")?.as_str().map(str::to_owned));
    let entry = match name {
        Some(name) => format!("entry {}, `{}`", index + 1, crate::error::untrusted(&name)),
        None => format!("entry {}", index + 1),
    };
    error.with_field(format!("{rest} ({entry})"))
}

/// `last_modified`: RFC 3339 in JSON and TOML (a quoted string, or a TOML
/// offset date-time, which reaches serde as a one-member map).
mod last_modified {
    use std::fmt;

    use serde::de::{self, MapAccess, Visitor};
    use serde::{Deserializer, Serializer};
    use time::OffsetDateTime;

    use time::format_description::well_known::Rfc3339;

    pub(super) fn serialize<S: Serializer>(
        value: &Option<OffsetDateTime>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        time::serde::rfc3339::option::serialize(value, serializer)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        deserializer.deserialize_any(LastModified)
    }

    fn parse<E: de::Error>(text: &str) -> Result<Option<OffsetDateTime>, E> {
        OffsetDateTime::parse(text, &Rfc3339).map(Some).map_err(|_| {
            E::custom(format!(
                "`{text}` is not an RFC 3339 date-time with an offset, e.g. 2026-03-13T10:00:00Z"
            ))
        })
    }

    struct LastModified;

    impl<'de> Visitor<'de> for LastModified {
        type Value = Option<OffsetDateTime>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 date-time such as 2026-03-13T10:00:00Z")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            parse(v)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(LastModified)
        }

        /// A TOML offset date-time reaches serde as a map that `toml`'s
        /// own public `Datetime` type reads back.
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            use serde::Deserialize as _;
            let datetime =
                toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map_err(|_: A::Error| {
                        de::Error::custom(
                            "expected an RFC 3339 date-time such as 2026-03-13T10:00:00Z",
                        )
                    })?;
            parse(&datetime.to_string())
        }
    }
}
