//! Verification keys: a parsed key knows its family (and, from a JWK, its
//! pinned algorithm), so a key can only ever be used with an algorithm that
//! fits it. Sources: a static secret, a static PEM, an inline JWK Set.

mod jwks;
mod pem;
#[cfg(feature = "aws-lc")]
mod prepared;
mod secret;

use std::fmt;

use jsonwebtoken::DecodingKey;

use crate::config::{Algorithm, JwtConfig, KeySource, StaticKey};
use crate::error::{ConfigError, Error, TokenError};

#[allow(unused_imports)] // used by the remote key cache
pub(crate) use jwks::{JwkSkip, no_usable_key, parse_jwk, parse_set};

/// An elliptic curve that jwt-sso verifies on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

/// What kind of key this is, with the facts that decide which algorithms fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyFamily {
    Hmac { len: usize },
    Rsa { bits: usize },
    Ec(Curve),
    Ed25519,
}

impl KeyFamily {
    /// Whether `alg` can be verified with a key of this family.
    pub(crate) fn fits(self, alg: Algorithm) -> bool {
        use Algorithm::*;
        match self {
            KeyFamily::Hmac { len } => alg.is_hmac() && len >= alg.min_secret_bytes(),
            KeyFamily::Rsa { .. } => {
                matches!(alg, RS256 | RS384 | RS512 | PS256 | PS384 | PS512)
            }
            KeyFamily::Ec(Curve::P256) => alg == ES256,
            KeyFamily::Ec(Curve::P384) => alg == ES384,
            KeyFamily::Ed25519 => matches!(alg, EdDSA | Ed25519),
        }
    }

    /// The algorithms a key of this family can verify, for messages.
    pub(crate) fn fitting_algorithms(self) -> Vec<&'static str> {
        Algorithm::ALL
            .into_iter()
            .filter(|a| self.fits(*a))
            .map(Algorithm::as_str)
            .collect()
    }
}

impl fmt::Display for KeyFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFamily::Hmac { len } => write!(f, "{len}-byte HMAC secret"),
            KeyFamily::Rsa { bits } => write!(f, "{bits}-bit RSA key"),
            KeyFamily::Ec(Curve::P256) => f.write_str("P-256 EC key"),
            KeyFamily::Ec(Curve::P384) => f.write_str("P-384 EC key"),
            KeyFamily::Ed25519 => f.write_str("Ed25519 key"),
        }
    }
}

/// A parsed verification key.
#[derive(Clone)]
pub(crate) struct VerifyingKey {
    pub(crate) family: KeyFamily,
    material: Material,
    /// The JWK `kid`, if any.
    pub(crate) kid: Option<String>,
    /// The JWK `alg`, which pins the key to one algorithm.
    pub(crate) pinned: Option<Algorithm>,
    /// Where the key came from, for messages ("public_key_pem", "JWK `kid1`").
    origin: String,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("family", &self.family)
            .field("kid", &self.kid)
            .field("pinned", &self.pinned)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    pub(crate) fn new(family: KeyFamily, decoding: DecodingKey, origin: impl Into<String>) -> Self {
        VerifyingKey {
            family,
            material: Material::new(family, decoding),
            kid: None,
            pinned: None,
            origin: origin.into(),
        }
    }

    /// The key, described in messages as coming from `origin`.
    pub(crate) fn with_origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = origin.into();
        self
    }

    /// Whether this key may verify a token signed with `alg`.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        self.family.fits(alg) && self.pinned.is_none_or(|p| p == alg)
    }

    /// A description for messages: never key material (nor a secret's length).
    pub(crate) fn describe(&self) -> String {
        match self.family {
            KeyFamily::Hmac { .. } => format!("the HMAC secret in {}", self.origin),
            family => format!("the {family} in {}", self.origin),
        }
    }

    /// Verifies `signature` over `message` with `alg`, through the chosen
    /// backend. Any failure (including a signature of the wrong length) is `false`.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        if !self.fits(alg) {
            return false;
        }
        self.material.verify(alg, message, signature)
    }
}

/// The key as the crypto backend uses it: with `aws-lc`, prepared once for
/// aws-lc-rs (shared by clones); with `rust-crypto` alone, jsonwebtoken's key
/// handed to the explicitly named provider.
#[cfg(feature = "aws-lc")]
#[derive(Clone)]
struct Material(std::sync::Arc<prepared::Prepared>);

#[cfg(feature = "aws-lc")]
impl Material {
    fn new(family: KeyFamily, decoding: DecodingKey) -> Self {
        Material(std::sync::Arc::new(prepared::Prepared::new(
            family, &decoding,
        )))
    }

    fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        self.0.verify(alg, message, signature)
    }
}

#[cfg(not(feature = "aws-lc"))]
#[derive(Clone)]
struct Material(DecodingKey);

#[cfg(not(feature = "aws-lc"))]
impl Material {
    fn new(_family: KeyFamily, decoding: DecodingKey) -> Self {
        Material(decoding)
    }

    fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match (crate::crypto::provider().verifier_factory)(&alg.to_jsonwebtoken(), &self.0) {
            Ok(verifier) => verifier.verify(message, &signature.to_vec()).is_ok(),
            Err(_) => false,
        }
    }
}

/// The keys of one configuration.
#[derive(Debug, Clone)]
pub(crate) struct KeySet {
    keys: Vec<VerifyingKey>,
    /// A static source has one key and ignores `kid`; a JWK Set matches on it.
    by_kid: bool,
    /// The keys of a JWK Set that were left out, and why: named in a
    /// `key_not_found` they explain.
    skipped: Vec<JwkSkip>,
    /// Where a fetched set came from, for messages.
    url: Option<String>,
    /// The secrets of a rotation (`"secret": [ … ]`), in their order.
    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    rotated: bool,
}

/// The keys to try for a token, in order (at least one). Up to three
/// candidates (one key, the usual case, or the secrets of a rotation) are
/// held without allocating.
pub(crate) enum Candidates<'a> {
    One(&'a VerifyingKey),
    Few {
        keys: [&'a VerifyingKey; 3],
        len: usize,
    },
    Many(Vec<&'a VerifyingKey>),
}

impl<'a> Candidates<'a> {
    /// The candidates among `keys` that `fits` accepts; `None` when none does.
    fn of(keys: &'a [VerifyingKey], fits: impl Fn(&VerifyingKey) -> bool) -> Option<Self> {
        let mut fitting = keys.iter().filter(|k| fits(k));
        let first = fitting.next()?;
        let Some(second) = fitting.next() else {
            return Some(Candidates::One(first));
        };
        let Some(third) = fitting.next() else {
            return Some(Candidates::Few {
                keys: [first, second, second],
                len: 2,
            });
        };
        Some(match fitting.next() {
            None => Candidates::Few {
                keys: [first, second, third],
                len: 3,
            },
            Some(fourth) => Candidates::Many(
                [first, second, third, fourth]
                    .into_iter()
                    .chain(fitting)
                    .collect(),
            ),
        })
    }

    pub(crate) fn as_slice(&self) -> &[&'a VerifyingKey] {
        match self {
            Candidates::One(key) => std::slice::from_ref(key),
            Candidates::Few { keys, len } => &keys[..*len],
            Candidates::Many(keys) => keys,
        }
    }
}

/// The outcome of choosing keys for a token.
pub(crate) enum Selection<'a> {
    /// Keys to try, in order (at least one).
    Keys(Candidates<'a>),
    /// No candidate: the error to report.
    NotFound(Error),
}

impl KeySet {
    pub(crate) fn from_keys(keys: Vec<VerifyingKey>, by_kid: bool) -> Self {
        KeySet {
            keys,
            by_kid,
            skipped: Vec::new(),
            url: None,
            rotated: false,
        }
    }

    /// A JWK Set's usable keys with the ones it skipped; `url` for a fetched set.
    pub(crate) fn from_jwks(
        keys: Vec<VerifyingKey>,
        skipped: Vec<JwkSkip>,
        url: Option<String>,
    ) -> Self {
        KeySet {
            keys,
            by_kid: true,
            skipped,
            url,
            rotated: false,
        }
    }

    /// Chooses the candidate keys for a token (CONTRACT section 2, step 6).
    ///
    /// `kid` is `Some(Ok(..))` for a string `kid`, `Some(Err(()))` for a
    /// `kid` that is not a string (it matches no key), `None` when absent.
    pub(crate) fn select(&self, alg: Algorithm, kid: Option<Result<&str, ()>>) -> Selection<'_> {
        if !self.by_kid {
            return match Candidates::of(&self.keys, |k| k.fits(alg)) {
                Some(keys) => Selection::Keys(keys),
                None => Selection::NotFound(self.not_found(alg, None)),
            };
        }
        match kid {
            Some(Ok(kid)) => {
                match Candidates::of(&self.keys, |k| k.fits(alg) && k.kid.as_deref() == Some(kid)) {
                    Some(keys) => Selection::Keys(keys),
                    None => Selection::NotFound(self.not_found(alg, Some(kid.to_owned()))),
                }
            }
            Some(Err(())) => {
                Selection::NotFound(self.not_found(alg, Some("(not a string)".to_owned())))
            }
            None => match Candidates::of(&self.keys, |k| k.fits(alg)) {
                Some(one @ Candidates::One(_)) => Selection::Keys(one),
                _ => Selection::NotFound(self.not_found(alg, None)),
            },
        }
    }

    fn not_found(&self, alg: Algorithm, kid: Option<String>) -> Error {
        let fitting: Vec<_> = self.keys.iter().filter(|k| k.fits(alg)).collect();
        let skipped = if fitting.is_empty() {
            skip_reasons(self.skipped.iter())
        } else {
            // Only the skipped keys that carry the token's `kid` explain the miss.
            skip_reasons(
                self.skipped
                    .iter()
                    .filter(|s| kid.is_some() && s.kid == kid),
            )
        };
        Error::Token(TokenError::KeyNotFound {
            kid,
            alg: alg.as_str().to_owned(),
            candidates: fitting.len(),
            available: fitting.iter().filter_map(|k| k.kid.clone()).collect(),
            key_set: self.url.as_deref().map(Box::from),
            skipped: skipped.into_boxed_slice(),
        })
    }

    /// Whether any key fits `alg`.
    pub(crate) fn any_fits(&self, alg: Algorithm) -> bool {
        self.keys.iter().any(|k| k.fits(alg))
    }

    /// The skipped keys with their reasons, for messages (see [`skip_reasons`]).
    pub(crate) fn skip_reasons(&self) -> Vec<String> {
        skip_reasons(self.skipped.iter())
    }

    /// For the secrets of a rotation: the position (0-based) of the one
    /// that verifies `signature` over `message` with `alg`, trying each in
    /// order. `None` for any other key set, or when none verifies.
    #[cfg(feature = "admin")]
    pub(crate) fn secret_index(
        &self,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> Option<usize> {
        if !self.rotated {
            return None;
        }
        self.keys
            .iter()
            .position(|k| k.verify(alg, message, signature))
    }

    /// How many keys the set holds.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

/// The first few skipped keys as "`kid`: why" (both already shown safely),
/// and how many more there are.
pub(crate) fn skip_reasons<'a>(skipped: impl Iterator<Item = &'a JwkSkip>) -> Vec<String> {
    const SHOWN: usize = 5;
    let mut reasons = Vec::new();
    let mut more = 0;
    for skip in skipped {
        if reasons.len() < SHOWN {
            reasons.push(format!("{}: {}", skip.key, skip.reason));
        } else {
            more += 1;
        }
    }
    if more > 0 {
        reasons.push(format!("and {more} more"));
    }
    reasons
}

/// Builds the key set of a static or inline-JWKS configuration, checking that
/// every allowed algorithm fits. Remote sources are built elsewhere.
pub(crate) fn load_static_keys(
    config: &JwtConfig,
    algorithms: &[Algorithm],
) -> Result<KeySet, ConfigError> {
    match &config.key_source {
        KeySource::Static(StaticKey::Secret(spec)) => Ok(KeySet::from_keys(
            vec![secret::load(spec, algorithms)?],
            false,
        )),
        KeySource::Static(StaticKey::Secrets(specs)) => Ok(KeySet {
            rotated: true,
            ..KeySet::from_keys(secret::load_all(specs, algorithms)?, false)
        }),
        KeySource::Static(StaticKey::PublicKeyPem(text)) => {
            Ok(KeySet::from_keys(vec![pem::load(text, algorithms)?], false))
        }
        KeySource::Jwks { jwks } => jwks::load_inline(jwks, algorithms),
        KeySource::JwksUri { .. } | KeySource::Issuer {} => Err(ConfigError::new(
            "key_source.type",
            format!("`{}` is a remote key source", config.key_source.type_name()),
            "build jwt-sso with the cargo feature `remote`, or use a `static` or `jwks` key source",
        )),
    }
}

/// The config error for an algorithm that does not fit the key.
pub(crate) fn misfit(field: &str, alg: Algorithm, family: KeyFamily) -> ConfigError {
    let fitting = family.fitting_algorithms();
    let fix = if fitting.is_empty() {
        format!("use a stronger key: {family} fits none of the algorithms")
    } else {
        format!(
            "set `algorithms` to what the key supports ({}), or use a key made for {alg}",
            fitting.join(", ")
        )
    };
    ConfigError::new(
        field,
        format!("algorithm {alg} does not fit the {family}"),
        fix,
    )
}
