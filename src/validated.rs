//! A configuration validated once (CONTRACT section 1) into what the
//! verifier consumes: the rules checked, the allowlist typed, the keys parsed
//! (an `env` secret read) exactly once per load.
//!
//! The module graph: `config` (the serde model and its rules) knows nothing
//! of keys; `key` and `remote` build keys from it; this module joins them;
//! `verify` consumes the result.

use std::fmt;
use std::sync::Arc;

use crate::config::{Algorithm, JwtConfig, KeySource, Loaded, check_rules, parse_json, parse_toml};
use crate::error::Error;
use crate::key::{KeySet, load_static_keys};
#[cfg(feature = "remote")]
use crate::remote::KeyCache;

/// Where the keys of a verifier live.
pub(crate) enum Keys {
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

/// A configuration that passed every rule, with its typed allowlist and keys.
pub(crate) struct Validated {
    pub(crate) config: JwtConfig,
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) keys: Keys,
}

/// What [`Loaded`] holds: the static keys and what they were parsed from.
struct Parsed {
    key_source: KeySource,
    algorithms: Vec<Algorithm>,
    keys: Arc<KeySet>,
}

impl Validated {
    /// Checks `config` and parses its keys, unless the same key source was
    /// parsed when `config` was loaded.
    pub(crate) fn new(mut config: JwtConfig) -> Result<Self, Error> {
        let algorithms = check_rules(&config)?;
        let keys = match reuse(&config, &algorithms) {
            Some(keys) => Keys::Static(keys),
            None => {
                let keys = load_keys(&config, &algorithms)?;
                for warning in config.warnings() {
                    tracing::warn!(target: "jwt_sso", config = %crate::error::escape_controls(&config.name), warning = %warning, "configuration warning");
                }
                keys
            }
        };
        if let Keys::Static(keys) = &keys {
            config.loaded = Loaded(Some(Arc::new(Parsed {
                key_source: config.key_source.clone(),
                algorithms: algorithms.clone(),
                keys: Arc::clone(keys),
            })));
        }
        Ok(Validated {
            config,
            algorithms,
            keys,
        })
    }
}

/// The keys parsed at load time, when they were parsed from this key source
/// and allowlist (a caller may have edited the public fields since).
fn reuse(config: &JwtConfig, algorithms: &[Algorithm]) -> Option<Arc<KeySet>> {
    let parsed = config.loaded.0.as_ref()?.downcast_ref::<Parsed>()?;
    (parsed.key_source == config.key_source && parsed.algorithms == algorithms)
        .then(|| Arc::clone(&parsed.keys))
}

fn load_keys(config: &JwtConfig, algorithms: &[Algorithm]) -> Result<Keys, Error> {
    Ok(match &config.key_source {
        #[cfg(feature = "remote")]
        KeySource::JwksUri { .. } | KeySource::Issuer {} => {
            Keys::Remote(Box::new(KeyCache::new(config, algorithms)?))
        }
        _ => Keys::Static(Arc::new(load_static_keys(config, algorithms)?)),
    })
}

impl JwtConfig {
    /// Parses a configuration from JSON and validates it (keys included).
    ///
    /// Errors are of kind `config` and name the field at fault. The keys
    /// parsed here are kept for the [`crate::Verifier`] built from the
    /// result, so `Verifier::new(JwtConfig::from_json_str(..)?)` parses them,
    /// and reads an `{"env": …}` secret, once.
    pub fn from_json_str(text: &str) -> Result<Self, Error> {
        Validated::new(parse_json(text)?).map(|v| v.config)
    }

    /// Parses a configuration from TOML and validates it (keys included).
    ///
    /// TOML is read by the `toml` deserializer into the same serde model as
    /// JSON. `last_modified` may be a quoted RFC 3339 string or a TOML offset
    /// date-time. Error messages name the field and the line, but never
    /// quote the TOML text (a line may hold a secret).
    pub fn from_toml_str(text: &str) -> Result<Self, Error> {
        Validated::new(parse_toml(text)?).map(|v| v.config)
    }

    /// Checks every rule of CONTRACT section 1, including that the keys parse
    /// and fit every allowed algorithm. An `env` secret is read here unless
    /// this configuration was loaded with the same key source.
    pub fn validate(&self) -> Result<(), Error> {
        let algorithms = check_rules(self)?;
        if reuse(self, &algorithms).is_none() {
            load_keys(self, &algorithms)?;
        }
        Ok(())
    }

    /// What an administrator should know about a configuration that is
    /// valid: e.g. without `audience`, tokens minted for any relying party
    /// are accepted. Also logged (`tracing`, WARN) when it is loaded.
    ///
    /// ```
    /// let config = jwt_sso::JwtConfig::from_json_str(r#"{
    ///     "name": "ERP", "token_name": "token", "algorithms": ["HS256"],
    ///     "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
    ///     "expiration_time": 3600, "claims": {"user_id": "sub"}
    /// }"#).unwrap();
    /// assert!(config.warnings()[0].contains("audience"));
    /// ```
    pub fn warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.audience.is_none() {
            warnings.push(
                "no `audience`: tokens minted for any relying party are accepted; set audience to the identifier the identity provider uses for this server".to_owned(),
            );
        }
        warnings
    }
}

impl std::str::FromStr for JwtConfig {
    type Err = Error;

    /// JSON (the canonical form); use [`JwtConfig::from_toml_str`] for TOML.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JwtConfig::from_json_str(s)
    }
}
