//! Keys prepared once for the signature primitive (backend `aws-lc`).
//!
//! jsonwebtoken's provider builds a verifier per call: it clones the key and,
//! for RSA, parses the public key again for every token, and an HMAC key
//! derives its inner and outer pads every time. Here each key is turned, once,
//! into aws-lc-rs's own prepared form for every algorithm its family fits:
//! `hmac::Key` and `signature::ParsedPublicKey`. The algorithm constants are
//! the ones jsonwebtoken's aws-lc provider uses, so what verifies is the same.

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents, VerificationAlgorithm};
use jsonwebtoken::{DecodingKey, DecodingKeyKind};

use super::KeyFamily;
use crate::config::Algorithm;

enum Primitive {
    Hmac(Box<hmac::Key>),
    Public(ParsedPublicKey),
}

/// One prepared primitive per algorithm the key's family fits.
pub(crate) struct Prepared {
    entries: Vec<(Algorithm, Primitive)>,
}

/// The aws-lc-rs algorithm that verifies `alg` (the one jsonwebtoken's
/// aws-lc provider uses); `None` for HMAC.
fn verification_algorithm(alg: Algorithm) -> Option<&'static dyn VerificationAlgorithm> {
    if let Some(rsa) = rsa_parameters(alg) {
        return Some(rsa);
    }
    match alg {
        Algorithm::ES256 => Some(&signature::ECDSA_P256_SHA256_FIXED),
        Algorithm::ES384 => Some(&signature::ECDSA_P384_SHA384_FIXED),
        Algorithm::EdDSA | Algorithm::Ed25519 => Some(&signature::ED25519),
        _ => None,
    }
}

fn rsa_parameters(alg: Algorithm) -> Option<&'static signature::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn prepare(alg: Algorithm, key: &DecodingKey) -> Option<Primitive> {
    match (alg, key.kind()) {
        (
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512,
            DecodingKeyKind::SecretOrDer(secret),
        ) => {
            let hmac_alg = match alg {
                Algorithm::HS256 => hmac::HMAC_SHA256,
                Algorithm::HS384 => hmac::HMAC_SHA384,
                _ => hmac::HMAC_SHA512,
            };
            Some(Primitive::Hmac(Box::new(hmac::Key::new(hmac_alg, secret))))
        }
        (_, DecodingKeyKind::RsaModulusExponent { n, e }) => RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(rsa_parameters(alg)?)
            .ok()
            .map(Primitive::Public),
        (_, DecodingKeyKind::SecretOrDer(bytes)) => {
            ParsedPublicKey::new(verification_algorithm(alg)?, bytes)
                .ok()
                .map(Primitive::Public)
        }
    }
}

impl Prepared {
    /// Prepares `key` for every algorithm of `family`. A key the backend
    /// refuses for an algorithm gets no entry, so it verifies nothing there.
    pub(crate) fn new(family: KeyFamily, key: &DecodingKey) -> Self {
        let entries = Algorithm::ALL
            .into_iter()
            .filter(|alg| family.fits(*alg))
            .filter_map(|alg| prepare(alg, key).map(|p| (alg, p)))
            .collect();
        Prepared { entries }
    }

    /// Whether `signature` over `message` verifies with `alg`.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match self.entries.iter().find(|(a, _)| *a == alg) {
            Some((_, Primitive::Hmac(key))) => hmac::verify(key, message, signature).is_ok(),
            Some((_, Primitive::Public(key))) => key.verify_sig(message, signature).is_ok(),
            None => false,
        }
    }
}
