//! `JwtConfig`: the administrator's configuration (CONTRACT section 1), its
//! serde model for JSON and TOML, and its validation.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use crate::error::{Error, escape_controls};
use crate::secret::Secret;

/// Longest `name`, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Default `leeway`, seconds.
pub const DEFAULT_LEEWAY: u64 = 60;
/// Default `max_token_bytes`.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 16_384;
/// Default `user_type`.
pub const DEFAULT_USER_TYPE: &str = "reader";

/// A signature algorithm that a configuration may allow.
///
/// `none` is deliberately absent, and so is `ES512` (P-521 is not supported by
/// the crypto backend).
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
    /// Ed25519.
    EdDSA,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 12] = [
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
            Algorithm::EdDSA => J::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of [`Algorithm::from_str`]: the name is not a supported algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown or unsupported algorithm `{0}`")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAlgorithm(s.to_owned()))
    }
}

/// One JWT configuration, as an administrator writes it (CONTRACT section 1).
///
/// Load it with [`JwtConfig::from_json_str`] or [`JwtConfig::from_toml_str`]:
/// both parse *and* validate, so a configuration that loads is one that can
/// verify. A configuration built in code is validated by [`JwtConfig::validate`]
/// or by [`crate::Verifier::new`].
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
/// assert_eq!(typo.kind().as_str(), "config");
/// assert!(typo.to_string().contains("audiance"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// Unique name (1–64 characters, unique case-insensitively in a registry).
    pub name: String,
    /// Whether tokens are accepted at all. Default `true`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The query/form parameter, cookie or header name the token travels under.
    pub token_name: String,
    /// When set, `iss` must equal it exactly. Required for `key_source.type = "issuer"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// When set, `aud` (a string or an array of strings) must contain it exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The allowed signature algorithms (non-empty; each must fit the key).
    pub algorithms: Vec<String>,
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
    /// When `true`, name, email and roles of an existing user are replaced
    /// from each login's identity. Default `false`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub sync_on_login: bool,
    /// The keys parsed when this configuration was last validated, so that
    /// the verifier built from it next does not parse them (or read an
    /// `env` secret) again. Never serialised, never compared.
    #[serde(skip)]
    pub(crate) loaded: Loaded,
}

/// Key material parsed at load time, kept for the verifier built next
/// (see `crate::validated`). Opaque here: the configuration model does
/// not depend on the key code above it.
#[derive(Clone, Default)]
pub(crate) struct Loaded(pub(crate) Option<std::sync::Arc<dyn std::any::Any + Send + Sync>>);

impl PartialEq for Loaded {
    /// A cache, not part of the configuration.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "keys parsed"
        } else {
            "keys not parsed"
        })
    }
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
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum KeySource {
    /// A static shared secret (HS*) or a static public key in PEM (RS*, PS*, ES*, EdDSA).
    /// Exactly one of the two must be set.
    Static {
        /// The HMAC secret.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        secret: Option<SecretSpec>,
        /// A public key: `BEGIN PUBLIC KEY` (SPKI), `BEGIN RSA PUBLIC KEY` (PKCS#1)
        /// or `BEGIN CERTIFICATE` (its SPKI is used).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        public_key_pem: Option<String>,
    },
    /// An inline JWK Set (`{"keys": [...]}`).
    Jwks {
        /// The JWK Set document.
        jwks: serde_json::Value,
    },
    /// A JWK Set fetched over HTTPS (cargo feature `remote`).
    JwksUri {
        /// The URL of the JWK Set.
        url: String,
    },
    /// OpenID Provider Issuer Discovery from the configuration's `issuer`
    /// (cargo feature `remote`).
    Issuer {},
}

impl fmt::Debug for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Static {
                secret,
                public_key_pem,
            } => f
                .debug_struct("Static")
                .field("secret", secret)
                .field("public_key_pem", public_key_pem)
                .finish(),
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
            KeySource::Static { .. } => "static",
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
        struct SpecVisitor;
        const EXPECTED: &str = r#"a secret string, {"base64": "…"} or {"env": "VAR"}"#;

        impl<'de> Visitor<'de> for SpecVisitor {
            type Value = SecretSpec;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
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
                    return Err(de::Error::custom(format!("secret: expected {EXPECTED}")));
                };
                let spec = match key.as_str() {
                    "base64" => SecretSpec::Base64(Secret::new(
                        map.next_value_seed(SecretText("secret.base64"))?,
                    )),
                    "env" => SecretSpec::Env(map.next_value_seed(SecretText("secret.env"))?),
                    other => {
                        return Err(de::Error::custom(format!(
                            "secret: `{}` is not a form of secret, expected {EXPECTED}",
                            crate::error::escape_controls(other)
                        )));
                    }
                };
                if let Some(extra) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "secret: unexpected second field `{extra}`, expected {EXPECTED}"
                    )));
                }
                Ok(spec)
            }
        }

        deserializer.deserialize_any(SpecVisitor)
    }
}

/// The error for a secret field of the wrong type: it names the field and the
/// type, never the value (CONTRACT section 1).
fn not_a_secret<E: de::Error>(field: &str, found: &str) -> E {
    E::custom(format!(
        "{field}: expected a string, found {found} (the value is not shown: it is a secret field)"
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
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<String, A::Error> {
        Err(not_a_secret(self.0, "an object"))
    }
}

impl JwtConfig {
    /// Parses one configuration, or a JSON array of them (the registry file
    /// format), without validating; errors name the field.
    pub(crate) fn parse_json_list(text: &str) -> Result<Vec<JwtConfig>, Error> {
        if text.trim_start().starts_with('[') {
            parse_json(text)
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
    pub fn to_json_string(&self) -> Result<String, Error> {
        serde_json::to_string_pretty(self).map_err(|e| {
            Error::config(
                "configuration",
                format!("the configuration cannot be written as JSON: {e}"),
                "report this: every configuration that loads can be written back",
            )
        })
    }

    /// A short tag that changes whenever anything of the configuration
    /// changes (the base64url of the first 16 bytes of the SHA-256 of its JSON
    /// form): the `ETag` of the administrator's API. Every instance computes
    /// the same tag for the same configuration.
    pub fn version(&self) -> String {
        use base64::Engine as _;
        use sha2::Digest as _;
        let json = serde_json::to_vec(self).unwrap_or_default();
        let digest = sha2::Sha256::digest(&json);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
    }
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

/// Deserialises JSON text, with the path of the value at fault.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| described_error(&path_parts(e.path()), &e.inner().to_string()))?;
    de.end().map_err(|e| described_error(&[], &e.to_string()))?;
    Ok(value)
}

/// Deserialises TOML text directly (no JSON round trip), with the path of
/// the value at fault. The message gives the line and column, never the
/// line itself (it may hold a secret).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let inner = e.inner();
        let position = inner.span().map(|span| {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!(" (line {line}, column {column})")
        });
        let message = format!("{}{}", inner.message().trim(), position.unwrap_or_default());
        let path = path_parts(e.path());
        if path.is_empty() && !is_data_message(inner.message()) {
            return Error::config(
                "configuration",
                format!("the TOML text does not parse: {message}"),
                "fix the configuration text at the place the message names",
            );
        }
        described_error(&path, &message)
    })
}

/// Whether a deserializer's message is about a value (not the syntax).
fn is_data_message(message: &str) -> bool {
    [
        "unknown field `",
        "missing field `",
        "unknown variant `",
        "invalid type",
        "invalid value",
    ]
    .iter()
    .any(|p| message.contains(p))
}

/// `claims.user_id`, `system_prompts[1].slot`: the members of a serde path.
fn path_parts(path: &serde_path_to_error::Path) -> Vec<String> {
    use serde_path_to_error::Segment;
    let mut parts: Vec<String> = Vec::new();
    for segment in path.iter() {
        match segment {
            Segment::Map { key } => parts.push(key.clone()),
            Segment::Seq { index } => match parts.last_mut() {
                Some(last) => last.push_str(&format!("[{index}]")),
                None => parts.push(format!("[{index}]")),
            },
            Segment::Enum { .. } => {}
            Segment::Unknown => break,
        }
    }
    parts
}

/// A `config` error for a serde message about the value at `path`.
fn described_error(path: &[String], message: &str) -> Error {
    let quoted = |prefix: &str| {
        message.find(prefix).and_then(|start| {
            let rest = &message[start + prefix.len()..];
            rest.find('`').map(|end| rest[..end].to_owned())
        })
    };
    let join = |name: Option<&str>| {
        let mut parts: Vec<&str> = path.iter().map(String::as_str).collect();
        if let Some(name) = name
            && parts.last() != Some(&name)
        {
            parts.push(name);
        }
        parts.join(".")
    };
    if let Some(name) = quoted("unknown field `") {
        return Error::config(
            join(Some(&name)),
            format!("unknown field ({message})"),
            format!("remove `{name}` or correct its spelling; unknown fields are never ignored"),
        );
    }
    if let Some(name) = quoted("missing field `") {
        let field = join(Some(&name));
        return Error::config(
            field.clone(),
            format!("required field is missing ({message})"),
            format!("add `{field}` to the configuration"),
        );
    }
    let field = if path.is_empty() {
        "configuration".to_owned()
    } else {
        join(None)
    };
    if let Some(variant) = quoted("unknown variant `") {
        return Error::config(
            field,
            format!("unknown value `{variant}` ({message})"),
            "use one of the values the message lists",
        );
    }
    Error::config(
        field,
        message.to_owned(),
        "fix the configuration text at the place the message names",
    )
}

/// Whether `name` is a valid claim name or JSON Pointer, for config validation.
pub(crate) fn check_claim_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".to_owned());
    }
    if let Some(pointer) = name.strip_prefix('/') {
        let mut chars = pointer.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(format!(
                    "`{name}` is not a valid JSON Pointer: `~` must be followed by 0 or 1"
                ));
            }
        }
    }
    Ok(())
}

/// CONTRACT section 1: every rule that needs no key material. Returns the
/// parsed allowlist.
pub(crate) fn check_rules(config: &JwtConfig) -> Result<Vec<Algorithm>, Error> {
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
    if config.name.chars().any(char::is_control) {
        return Err(Error::config(
            "name",
            format!(
                "the name `{}` holds a control character",
                escape_controls(&config.name)
            ),
            "use a name of printable characters only (no line breaks, tabs or escape codes)",
        ));
    }
    if config.token_name.trim().is_empty() {
        return Err(Error::config(
            "token_name",
            "the token name is empty",
            "set token_name to the parameter, cookie or header name the token travels under, e.g. \"token\"",
        ));
    }
    let token_name_chars = config.token_name.chars().count();
    if token_name_chars > MAX_NAME_CHARS {
        return Err(Error::config(
            "token_name",
            format!("the token name has {token_name_chars} characters, more than {MAX_NAME_CHARS}"),
            "shorten token_name to at most 64 characters",
        ));
    }
    if let Some(bad) = config
        .token_name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(Error::config(
            "token_name",
            format!(
                "the token name `{}` holds the character {:?}, which is not safe in a query or form parameter, cookie and header name",
                escape_controls(&config.token_name),
                bad
            ),
            "use only ASCII letters, digits, `-`, `_` and `.` in token_name, e.g. \"token\" or \"jwt_token\"",
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
        if algorithms.contains(&alg) {
            return Err(Error::config(
                FIELD,
                format!("{alg} is listed twice"),
                format!("list each algorithm once, e.g. [\"{alg}\"]"),
            ));
        }
        algorithms.push(alg);
    }
    Ok(algorithms)
}
