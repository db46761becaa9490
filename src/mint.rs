//! Making test tokens: for trials before the real sender is ready, for the
//! examples and for tests. Production senders sign with their own software;
//! this module exists so an administrator can try a configuration end to end.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::config::Algorithm;
use crate::crypto::provider;
use crate::error::ConfigError;
use crate::secret::Secret;

/// A key to sign test tokens with: an HMAC secret or a PKCS#8 private key in
/// PEM (`BEGIN PRIVATE KEY`, or `BEGIN RSA PRIVATE KEY` for RSA).
///
/// `Debug` never shows the key.
///
/// ```
/// use jwt_sso::Algorithm;
/// use jwt_sso::mint::SigningKey;
///
/// let key = SigningKey::from_secret(b"0123456789abcdef0123456789abcdef");
/// let token = key.sign(Algorithm::HS256, &serde_json::json!({"sub": "jdoe", "exp": 2000000000}))?;
/// assert_eq!(token.split('.').count(), 3);
/// assert_eq!(format!("{key:?}"), "SigningKey::Secret([redacted])");
/// # Ok::<(), jwt_sso::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct SigningKey(Repr);

#[derive(Clone)]
enum Repr {
    /// HMAC secret bytes.
    Secret(Zeroizing<Vec<u8>>),
    /// A private key in PEM.
    Pem(Secret),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Repr::Secret(_) => f.write_str("SigningKey::Secret([redacted])"),
            Repr::Pem(_) => f.write_str("SigningKey::Pem([redacted])"),
        }
    }
}

impl SigningKey {
    /// An HMAC secret.
    pub fn from_secret(secret: &[u8]) -> Self {
        SigningKey(Repr::Secret(Zeroizing::new(secret.to_vec())))
    }

    /// A private key in PEM.
    pub fn from_pem(pem: &str) -> Self {
        SigningKey(Repr::Pem(Secret::new(pem)))
    }

    /// Signs `claims` with header `{"alg": alg, "typ": "JWT"}`.
    pub fn sign(&self, alg: Algorithm, claims: &Value) -> Result<String, ConfigError> {
        let header = serde_json::json!({"alg": alg.as_str(), "typ": "JWT"});
        self.sign_with_header(alg, &header, claims)
    }

    /// Signs `claims` with `alg` under the given header object (which should
    /// name the same `alg`; it is not checked, so tests can lie on purpose).
    pub fn sign_with_header(
        &self,
        alg: Algorithm,
        header: &Value,
        claims: &Value,
    ) -> Result<String, ConfigError> {
        self.sign_raw(
            alg,
            header.to_string().as_bytes(),
            claims.to_string().as_bytes(),
        )
    }

    /// Signs arbitrary header and payload bytes: for tests of odd inputs.
    pub fn sign_raw(
        &self,
        alg: Algorithm,
        header: &[u8],
        payload: &[u8],
    ) -> Result<String, ConfigError> {
        let mut token = URL_SAFE_NO_PAD.encode(header);
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let signer = (provider().signer_factory)(&alg.to_jsonwebtoken(), &self.encoding_key(alg)?)
            .map_err(|e| {
                ConfigError::new(
                    "signing key",
                    format!("cannot sign with {alg}: {e}"),
                    "check the key",
                )
            })?;
        let signature = signer.try_sign(token.as_bytes()).map_err(|_| {
            ConfigError::new(
                "signing key",
                format!("signing with {alg} failed"),
                "check the key",
            )
        })?;
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature));
        Ok(token)
    }

    fn encoding_key(&self, alg: Algorithm) -> Result<EncodingKey, ConfigError> {
        let bad = |problem: String| {
            ConfigError::new(
                "signing key",
                problem,
                "give an HMAC secret for HS*, or a PKCS#8 private key PEM that fits the algorithm",
            )
        };
        match &self.0 {
            Repr::Secret(bytes) if alg.is_hmac() => EncodingKey::from_secret(bytes)
                .map_err(|_| bad("the HMAC secret is empty".to_owned())),
            Repr::Secret(_) => Err(bad(format!("{alg} needs a private key, not a secret"))),
            Repr::Pem(_) if alg.is_hmac() => {
                Err(bad(format!("{alg} needs a secret, not a private key")))
            }
            Repr::Pem(pem) => {
                let pem = pem.expose().as_bytes();
                let key = match alg {
                    Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem),
                    Algorithm::EdDSA | Algorithm::Ed25519 => EncodingKey::from_ed_pem(pem),
                    _ => EncodingKey::from_rsa_pem(pem),
                };
                key.map_err(|_| bad(format!("the private key does not fit {alg}")))
            }
        }
    }
}
