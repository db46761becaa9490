//! A configuration validated once (CONTRACT section 1) into what the
//! verifier consumes: the rules checked, the allowlist typed, the keys parsed
//! (an `env` secret read) exactly once.
//!
//! The module graph: `config` (the serde model and its rules) knows nothing
//! of keys; `key` and `remote` build keys from it; this module joins them;
//! `verify` consumes the result.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

#[cfg(feature = "remote")]
use crate::config::KeySource;
use crate::config::{Algorithm, JwtConfig, check_rules, parse_json, parse_toml};
use crate::error::ConfigError;
use crate::key::{KeySet, load_static_keys};
#[cfg(feature = "remote")]
use crate::remote::RemoteSource;

/// The keys of a validated configuration.
#[derive(Clone)]
pub(crate) enum ValidKeys {
    /// A static key or an inline JWK Set, parsed.
    Static(Arc<KeySet>),
    /// A remote source whose URL passed the rules; the verifier's cache
    /// fetches its keys.
    #[cfg(feature = "remote")]
    Remote(RemoteSource),
}

/// A [`JwtConfig`] that passed every rule of CONTRACT section 1, with its
/// keys parsed: the evidence [`Verifier::new`](crate::Verifier::new) takes,
/// so that building a verifier cannot fail.
///
/// Made only by [`JwtConfig::validate`]. Read the configuration through
/// `Deref` (`valid.name`, `valid.issuer`); to change it, take it back with
/// [`ValidConfig::into_config`], edit, and validate again. Cloning shares
/// the parsed keys.
///
/// ```
/// use jwt_sso::{JwtConfig, Verifier};
///
/// let config = JwtConfig::from_json_str(r#"{
///     "name": "ERP", "token_name": "token", "algorithms": ["HS256"],
///     "key_source": {"type": "static", "secret": {"env": "ERP_SECRET_NOT_SET"}},
///     "expiration_time": 3600, "claims": {"user_id": "sub"}
/// }"#)?; // data: parsed, not yet checked
/// let err = config.validate().unwrap_err(); // the variable is read here, once
/// assert_eq!(err.field(), "key_source.secret.env");
/// # Ok::<(), jwt_sso::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct ValidConfig {
    config: JwtConfig,
    algorithms: Vec<Algorithm>,
    keys: ValidKeys,
}

impl fmt::Debug for ValidConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidConfig")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Deref for ValidConfig {
    type Target = JwtConfig;

    fn deref(&self) -> &JwtConfig {
        &self.config
    }
}

impl ValidConfig {
    /// The configuration.
    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// The configuration as plain data again (the parsed keys are dropped).
    pub fn into_config(self) -> JwtConfig {
        self.config
    }

    pub(crate) fn algorithms(&self) -> &[Algorithm] {
        &self.algorithms
    }

    pub(crate) fn keys(&self) -> &ValidKeys {
        &self.keys
    }

    /// Validates `config`, reusing the keys `previous` parsed when what they
    /// were checked against (key source, algorithms, issuer) is unchanged:
    /// an edit of a name, a flag or a claim mapping reads no `env` secret
    /// and parses no key again.
    pub(crate) fn revalidate(
        config: JwtConfig,
        previous: Option<&ValidConfig>,
    ) -> Result<ValidConfig, ConfigError> {
        let Some(previous) = previous.filter(|p| {
            p.config.key_source == config.key_source
                && p.config.algorithms == config.algorithms
                && p.config.issuer == config.issuer
        }) else {
            return config.validate();
        };
        let algorithms = check_rules(&config)?;
        Ok(ValidConfig {
            config,
            algorithms,
            keys: previous.keys.clone(),
        })
    }
}

impl JwtConfig {
    /// Parses a configuration from JSON (CONTRACT section 1), without
    /// checking its rules: see [`JwtConfig::validate`].
    ///
    /// Errors are `config` errors that name the field at fault (unknown
    /// fields, missing required fields, wrong types, an unknown algorithm).
    pub fn from_json_str(text: &str) -> Result<Self, ConfigError> {
        parse_json(text)
    }

    /// Parses a configuration from TOML, as [`JwtConfig::from_json_str`].
    ///
    /// TOML is read by the `toml` deserializer into the same serde model as
    /// JSON. `last_modified` may be a quoted RFC 3339 string or a TOML offset
    /// date-time. Error messages name the field and the line, but never
    /// quote the TOML text (a line may hold a secret).
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        parse_toml(text)
    }

    /// Checks every rule of CONTRACT section 1 and parses the keys (an `env`
    /// secret is read here); the result is what a
    /// [`Verifier`](crate::Verifier) is built from. A remote key source
    /// (`jwks_uri`, `issuer`) is checked without I/O and needs the cargo
    /// feature `remote`.
    ///
    /// Logs the configuration's [`warnings`](JwtConfig::warnings) (WARN,
    /// target `jwt_sso`).
    pub fn validate(self) -> Result<ValidConfig, ConfigError> {
        let algorithms = check_rules(&self)?;
        let keys = load_keys(&self, &algorithms)?;
        for warning in self.warnings() {
            tracing::warn!(target: "jwt_sso", config = %crate::error::escape_controls(&self.name), warning = %warning, "configuration warning");
        }
        Ok(ValidConfig {
            config: self,
            algorithms,
            keys,
        })
    }

    /// What an administrator should know about a configuration that is
    /// valid: e.g. without `audience`, tokens minted for any relying party
    /// are accepted. Also logged (`tracing`, WARN) when it is validated.
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

fn load_keys(config: &JwtConfig, algorithms: &[Algorithm]) -> Result<ValidKeys, ConfigError> {
    Ok(match &config.key_source {
        #[cfg(feature = "remote")]
        KeySource::JwksUri { .. } | KeySource::Issuer {} => {
            ValidKeys::Remote(RemoteSource::new(config, algorithms)?)
        }
        _ => ValidKeys::Static(Arc::new(load_static_keys(config, algorithms)?)),
    })
}
