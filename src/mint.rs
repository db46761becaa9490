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
use crate::error::Error;
use crate::secret::Secret;

/// A key to sign test tokens with: an HMAC secret or a PKCS#8 private key in
/// PEM (`BEGIN PRIVATE KEY`, or `BEGIN RSA PRIVATE KEY` for RSA).
///
/// `Debug` never shows the key.
#[derive(Clone)]
pub enum SigningKey {
    /// HMAC secret bytes.
    Secret(Zeroizing<Vec<u8>>),
    /// A private key in PEM.
    Pem(Secret),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKey::Secret(_) => f.write_str("SigningKey::Secret([redacted])"),
            SigningKey::Pem(_) => f.write_str("SigningKey::Pem([redacted])"),
        }
    }
}

impl SigningKey {
    /// An HMAC secret.
    pub fn from_secret(secret: &[u8]) -> Self {
        SigningKey::Secret(Zeroizing::new(secret.to_vec()))
    }

    /// A private key in PEM.
    pub fn from_pem(pem: &str) -> Self {
        SigningKey::Pem(Secret::new(pem))
    }

    fn encoding_key(&self, alg: Algorithm) -> Result<EncodingKey, Error> {
        let bad = |problem: String| {
            Error::config(
                "signing key",
                problem,
                "give an HMAC secret for HS*, or a PKCS#8 private key PEM that fits the algorithm",
            )
        };
        match self {
            SigningKey::Secret(bytes) if alg.is_hmac() => EncodingKey::from_secret(bytes)
                .map_err(|_| bad("the HMAC secret is empty".to_owned())),
            SigningKey::Secret(_) => Err(bad(format!("{alg} needs a private key, not a secret"))),
            SigningKey::Pem(_) if alg.is_hmac() => {
                Err(bad(format!("{alg} needs a secret, not a private key")))
            }
            SigningKey::Pem(pem) => {
                let pem = pem.expose().as_bytes();
                let key = match alg {
                    Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem),
                    Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
                    _ => EncodingKey::from_rsa_pem(pem),
                };
                key.map_err(|_| bad(format!("the private key does not fit {alg}")))
            }
        }
    }
}

/// Signs `claims` with header `{"alg": alg, "typ": "JWT"}`.
///
/// ```
/// use jwt_sso::Algorithm;
/// use jwt_sso::mint::{SigningKey, sign_json};
///
/// let key = SigningKey::from_secret(b"0123456789abcdef0123456789abcdef");
/// let token = sign_json(&key, Algorithm::HS256, &serde_json::json!({"sub": "jdoe", "exp": 2000000000})).unwrap();
/// assert_eq!(token.split('.').count(), 3);
/// ```
pub fn sign_json(key: &SigningKey, alg: Algorithm, claims: &Value) -> Result<String, Error> {
    let header = serde_json::json!({"alg": alg.as_str(), "typ": "JWT"});
    sign_with_header(key, alg, &header, claims)
}

/// Signs `claims` with `alg` under the given header object (which should name
/// the same `alg`; it is not checked, so tests can lie on purpose).
pub fn sign_with_header(
    key: &SigningKey,
    alg: Algorithm,
    header: &Value,
    claims: &Value,
) -> Result<String, Error> {
    sign_raw(
        key,
        alg,
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    )
}

/// Signs arbitrary header and payload bytes: for tests of odd inputs.
pub fn sign_raw(
    key: &SigningKey,
    alg: Algorithm,
    header: &[u8],
    payload: &[u8],
) -> Result<String, Error> {
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let signer = (provider().signer_factory)(&alg.to_jsonwebtoken(), &key.encoding_key(alg)?)
        .map_err(|e| {
            Error::config(
                "signing key",
                format!("cannot sign with {alg}: {e}"),
                "check the key",
            )
        })?;
    let signature = signer.try_sign(token.as_bytes()).map_err(|_| {
        Error::config(
            "signing key",
            format!("signing with {alg} failed"),
            "check the key",
        )
    })?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}
