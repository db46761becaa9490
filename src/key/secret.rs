//! HMAC secrets: UTF-8 text, base64, or an environment variable.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::DecodingKey;
use zeroize::Zeroizing;

use super::{KeyFamily, VerifyingKey};
use crate::config::{Algorithm, SecretSpec};
use crate::error::ConfigError;

const FIELD: &str = "key_source.secret";

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, LENIENT);
const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, LENIENT);

/// The bytes of a secret, read once at load time.
pub(crate) fn resolve(spec: &SecretSpec) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
    match spec {
        SecretSpec::Text(s) => Ok(Zeroizing::new(s.expose().as_bytes().to_vec())),
        SecretSpec::Base64(s) => {
            let text = s.expose();
            STANDARD_ANY_PAD
                .decode(text)
                .or_else(|_| URL_SAFE_ANY_PAD.decode(text))
                .map(Zeroizing::new)
                .map_err(|_| {
                    ConfigError::new(
                        "key_source.secret.base64",
                        "the value is not valid base64 (standard or URL-safe)",
                        "paste the secret's base64 text exactly, without spaces or line breaks, or give the secret as plain text",
                    )
                })
        }
        SecretSpec::Env(var) => match std::env::var(var) {
            Ok(value) => Ok(Zeroizing::new(value.into_bytes())),
            Err(std::env::VarError::NotPresent) => Err(ConfigError::new(
                "key_source.secret.env",
                format!("environment variable `{var}` is not set"),
                format!(
                    "set `{var}` in the server's environment before the configuration is loaded"
                ),
            )),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::new(
                "key_source.secret.env",
                format!("environment variable `{var}` is not valid UTF-8"),
                "put the secret's text in the variable, or use {\"base64\": …} for binary secrets",
            )),
        },
    }
}

/// Loads the secrets of a rotation (`"secret": [ … ]`), in order, each
/// checked as [`load`] checks one; an error names the entry
/// (`key_source.secret[1]`, `key_source.secret[1].env`).
pub(crate) fn load_all(
    specs: &[SecretSpec],
    algorithms: &[Algorithm],
) -> Result<Vec<VerifyingKey>, ConfigError> {
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let at = format!("{FIELD}[{i}]");
            load(spec, algorithms)
                .map(|key| key.with_origin(at.clone()))
                .map_err(|e| {
                    let field = e.field().replacen(FIELD, &at, 1);
                    e.with_field(field)
                })
        })
        .collect()
}

/// Loads a static HMAC secret and checks it against every allowed algorithm.
pub(crate) fn load(
    spec: &SecretSpec,
    algorithms: &[Algorithm],
) -> Result<VerifyingKey, ConfigError> {
    if let Some(alg) = algorithms.iter().find(|a| !a.is_hmac()) {
        return Err(ConfigError::new(
            FIELD,
            format!("a shared secret cannot verify the asymmetric algorithm {alg}"),
            format!(
                "for {alg} paste the sender's public key into `public_key_pem` instead of `secret`; keep `secret` only for HS256/HS384/HS512"
            ),
        ));
    }
    let bytes = resolve(spec)?;
    let len = bytes.len();
    if let Some(alg) = algorithms.iter().find(|a| len < a.min_secret_bytes()) {
        let need = alg.min_secret_bytes();
        return Err(ConfigError::new(
            FIELD,
            format!("the secret is {len} bytes; {alg} needs at least {need} bytes"),
            format!(
                "use a random secret of at least {need} bytes (e.g. `openssl rand -base64 {need}` given as {{\"base64\": …}}) and configure the sender with it"
            ),
        ));
    }
    // jsonwebtoken refuses only an empty secret, which the length check above refused.
    let decoding = DecodingKey::from_secret(&bytes).map_err(|e| {
        ConfigError::new(
            FIELD,
            format!("the secret is refused: {e}"),
            "use a random secret of at least 32 bytes",
        )
    })?;
    Ok(VerifyingKey::new(
        KeyFamily::Hmac { len },
        decoding,
        "key_source.secret",
    ))
}
