//! The verification peers of `benches/verify.rs` and `benches/profile.rs`:
//! per algorithm (HS256, RS256, PS256, ES256, EdDSA), 256 tokens with an
//! 11-claim, 293-byte payload, and every library ready to verify them with
//! keys parsed once:
//! - `jwt_sso`: `Verifier::verify_cached` (the system clock read per call), mapping
//!   user ID, name, email, roles, two prompts and the registered claims;
//! - `oxitoken`: a `ValidationPipeline` checking `exp`, `nbf`, `iss` and `aud`
//!   into a claims struct with `sub`, `name` and `email`;
//! - `jsonwebtoken11`, `jsonwebtoken12`: `decode::<Value>` with issuer,
//!   audience and 60 s leeway, then the user ID, name, email and roles taken
//!   out of the `Value`;
//! - `aws_lc_rs`: the signature verification alone (the floor), on the
//!   signature decoded beforehand.
//!
//! Every peer uses aws-lc-rs. Include with `#[path = "support/peers.rs"] mod peers;`.

#![allow(dead_code)]

use std::hint::black_box;

use aws_lc_rs::hmac;
use aws_lc_rs::signature::{self as lc, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, JwtConfig, Verifier};
use serde_json::{Value, json};

pub const SECRET: &str = "benchmark-secret-0123456789abcdef-0123456789";
pub const ISSUER: &str = "https://idp.example.com/realms/erp";
pub const AUDIENCE: &str = "bi-server";
pub const TOKENS: usize = 256;
pub const PAYLOAD_BYTES: usize = 293;
pub const ALGORITHMS: [Algorithm; 5] = [
    Algorithm::HS256,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

pub fn key_file(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../tests/data/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub fn now() -> i64 {
    jwt_sso::UnixTime::now().as_secs()
}

/// Token `i`'s claims: 11 members, 293 bytes as JSON (`sub` differs per token).
pub fn claims(i: usize) -> Value {
    // A minute old: oxitoken wants `nbf` strictly before now.
    let now = now() - 60;
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": format!("jdoe-{i:04}"),
        "name": "Janet Mariah Doe", "email": "jane.doe@sales.example.com",
        "groups": ["Sales", "Analysts", "EMEA", "Report-Viewers"],
        "department": "Sales and Marketing", "level": 7,
        "iat": now, "nbf": now, "exp": now + 6 * 3600
    })
}

pub fn config(alg: Algorithm, key_source: Value) -> Verifier {
    let config = json!({
        "name": "ERP", "token_name": "token", "issuer": ISSUER, "audience": AUDIENCE,
        "algorithms": [alg.as_str()], "key_source": key_source, "expiration_time": 86400,
        "claims": {"user_id": "sub", "name": "name", "email": "email", "roles": "groups"},
        "system_prompts": [
            {"kind": "text", "slot": 1, "claim": "department"},
            {"kind": "numeric", "slot": 1, "claim": "level"}
        ],
        "initial_roles": ["Viewer"]
    });
    Verifier::new(
        JwtConfig::from_json_str(&config.to_string())
            .unwrap()
            .validate()
            .unwrap(),
    )
}

// ------------------------------------------------------------ the floor

/// A key prepared once for aws-lc-rs: the signature primitive alone.
enum Primitive {
    Hmac(Box<hmac::Key>),
    Public(ParsedPublicKey),
}

impl Primitive {
    /// From jsonwebtoken's parsed key (PEM and DER handled there), as
    /// jwt-sso's own aws-lc backend does.
    fn new(alg: Algorithm, key: &jsonwebtoken::DecodingKey) -> Self {
        use jsonwebtoken::DecodingKeyKind;
        let verification: &'static dyn lc::VerificationAlgorithm = match alg {
            Algorithm::HS256 => match key.kind() {
                DecodingKeyKind::SecretOrDer(secret) => {
                    return Primitive::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, secret)));
                }
                _ => unreachable!("an HMAC key is a secret"),
            },
            Algorithm::RS256 => &lc::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::PS256 => &lc::RSA_PSS_2048_8192_SHA256,
            Algorithm::ES256 => &lc::ECDSA_P256_SHA256_FIXED,
            Algorithm::EdDSA => &lc::ED25519,
            other => panic!("no bench case for {other}"),
        };
        let parsed = match key.kind() {
            DecodingKeyKind::RsaModulusExponent { n, e } => {
                let params = match alg {
                    Algorithm::RS256 => &lc::RSA_PKCS1_2048_8192_SHA256,
                    _ => &lc::RSA_PSS_2048_8192_SHA256,
                };
                RsaPublicKeyComponents { n, e }.to_parsed_public_key(params)
            }
            DecodingKeyKind::SecretOrDer(der) => ParsedPublicKey::new(verification, der),
        };
        Primitive::Public(parsed.unwrap())
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Primitive::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Primitive::Public(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

// ------------------------------------------------------------ oxitoken

/// oxitoken's `VerificationKey` over aws-lc-rs: what its own aws-lc backend
/// does (which does not build against aws-lc-rs 1.19), with the algorithm
/// known from the configuration instead of from the key's algorithm static.
struct OxiKey {
    alg: oxitoken::Algorithm,
    key: Primitive,
}

impl oxitoken::validation::VerificationKey for OxiKey {
    fn alg(&self) -> Option<oxitoken::Algorithm> {
        Some(self.alg)
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), oxitoken::error::JwtError> {
        if self.key.verify(message, signature) {
            Ok(())
        } else {
            Err(oxitoken::error::JwtError::InvalidSignature)
        }
    }
}

#[derive(serde::Deserialize)]
struct OxiHeader {
    alg: oxitoken::Algorithm,
}

impl oxitoken::header::Alg for OxiHeader {
    fn alg(&self) -> oxitoken::Algorithm {
        self.alg
    }
}

/// The claims oxitoken validates and maps: `aud` as one string only.
#[derive(serde::Deserialize)]
#[allow(dead_code)] // `name` and `email` are read through black_box only
struct OxiClaims {
    iss: String,
    aud: String,
    exp: i64,
    nbf: i64,
    sub: String,
    name: String,
    email: String,
}

impl oxitoken::claims::Iss for OxiClaims {
    fn iss(&self) -> &str {
        &self.iss
    }
}

impl oxitoken::claims::Aud for OxiClaims {
    fn aud(&self) -> impl Iterator<Item = impl AsRef<str>> {
        std::iter::once(&self.aud)
    }
}

impl oxitoken::claims::Exp for OxiClaims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl oxitoken::claims::Nbf for OxiClaims {
    fn nbf(&self) -> i64 {
        self.nbf
    }
}

type OxiPipeline = oxitoken::validation::ValidationPipeline<
    OxiHeader,
    OxiClaims,
    oxitoken::validation::StaticKeyProvider<OxiKey>,
>;

fn oxitoken_pipeline(alg: Algorithm, key: &jsonwebtoken::DecodingKey) -> OxiPipeline {
    let key = OxiKey {
        alg: serde_json::from_value(json!(alg.as_str())).unwrap(),
        key: Primitive::new(alg, key),
    };
    OxiPipeline::builder(key.into())
        .with_expiration_validator()
        .with_not_before_validator()
        .with_issuer_validator(ISSUER)
        .with_audience_validator(AUDIENCE)
        .build()
}

// ------------------------------------------------------------ jsonwebtoken

/// What the jsonwebtoken peers map out of the decoded claims.
#[allow(dead_code)] // read through black_box only
struct Mapped {
    user_id: String,
    name: Option<String>,
    email: Option<String>,
    roles: Vec<String>,
}

fn map_value(mut claims: Value) -> Mapped {
    let mut take = |name: &str| match claims.get_mut(name).map(Value::take) {
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    let user_id = take("sub").unwrap();
    let (name, email) = (take("name"), take("email"));
    let roles = match claims.get_mut("groups").map(Value::take) {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Mapped {
        user_id,
        name,
        email,
        roles,
    }
}

/// One jsonwebtoken major version's decoder, parsed once. `$secret` makes
/// an HMAC key (12 returns a `Result`, 11 the key).
macro_rules! jsonwebtoken_peer {
    ($name:ident, $krate:ident, $secret:expr) => {
        mod $name {
            use super::*;

            pub struct Peer {
                key: $krate::DecodingKey,
                validation: $krate::Validation,
            }

            impl Peer {
                pub fn new(alg: Algorithm, public_pem: Option<&str>) -> Self {
                    use $krate::DecodingKey as K;
                    let key = match (alg, public_pem) {
                        (Algorithm::HS256, _) => $secret(SECRET.as_bytes()),
                        (Algorithm::ES256, Some(pem)) => K::from_ec_pem(pem.as_bytes()),
                        (Algorithm::EdDSA, Some(pem)) => K::from_ed_pem(pem.as_bytes()),
                        (_, Some(pem)) => K::from_rsa_pem(pem.as_bytes()),
                        (_, None) => unreachable!("an asymmetric case has a public key"),
                    }
                    .unwrap();
                    let mut validation = $krate::Validation::new(alg.as_str().parse().unwrap());
                    validation.set_issuer(&[ISSUER]);
                    validation.set_audience(&[AUDIENCE]);
                    validation.leeway = 60;
                    Peer { key, validation }
                }

                pub fn verify(&self, token: &str) -> Option<Mapped> {
                    $krate::decode::<Value>(token, &self.key, &self.validation)
                        .ok()
                        .map(|data| map_value(data.claims))
                }
            }
        }
    };
}

jsonwebtoken_peer!(jwt11, jsonwebtoken11, |s| Ok(K::from_secret(s)));
jsonwebtoken_peer!(jwt12, jsonwebtoken, K::from_secret);

pub fn install_providers() {
    // decode uses a process-wide provider; with both backends compiled in
    // (`--all-features`) it must be named.
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    let _ = jsonwebtoken11::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
}

// ------------------------------------------------------------ one case

/// One algorithm: 256 tokens, and every library ready to verify them.
pub struct Case {
    pub alg: Algorithm,
    pub tokens: Vec<String>,
    /// Per token: the signing input and the decoded signature (for the floor).
    signed: Vec<(usize, Vec<u8>)>,
    pub verifier: Verifier,
    oxitoken: OxiPipeline,
    jwt11: jwt11::Peer,
    jwt12: jwt12::Peer,
    floor: Primitive,
}

pub fn case(alg: Algorithm) -> Case {
    let files = match alg {
        Algorithm::HS256 => None,
        Algorithm::RS256 | Algorithm::PS256 => Some(("rsa2048_private.pem", "rsa2048_public.pem")),
        Algorithm::ES256 => Some(("p256_private.pem", "p256_public.pem")),
        Algorithm::EdDSA => Some(("ed25519_private.pem", "ed25519_public.pem")),
        other => panic!("no bench case for {other}"),
    };
    let public = files.map(|(_, public)| key_file(public));
    let (signing, key_source) = match files {
        Some((private, _)) => (
            SigningKey::from_pem(&key_file(private)),
            json!({"type": "static", "public_key_pem": public.as_deref().unwrap()}),
        ),
        None => (
            SigningKey::from_secret(SECRET.as_bytes()),
            json!({"type": "static", "secret": SECRET}),
        ),
    };
    let tokens: Vec<String> = (0..TOKENS)
        .map(|i| {
            let claims = claims(i);
            let payload = serde_json::to_vec(&claims).unwrap();
            assert_eq!(payload.len(), PAYLOAD_BYTES, "payload size");
            assert_eq!(claims.as_object().unwrap().len(), 11, "claim count");
            signing.sign(alg, &claims).unwrap()
        })
        .collect();
    let signed = tokens
        .iter()
        .map(|t| {
            let at = t.rfind('.').unwrap();
            (at, URL_SAFE_NO_PAD.decode(&t[at + 1..]).unwrap())
        })
        .collect();
    let jsonwebtoken_key = match (alg, public.as_deref()) {
        (Algorithm::HS256, _) => jsonwebtoken::DecodingKey::from_secret(SECRET.as_bytes()),
        (Algorithm::ES256, Some(pem)) => jsonwebtoken::DecodingKey::from_ec_pem(pem.as_bytes()),
        (Algorithm::EdDSA, Some(pem)) => jsonwebtoken::DecodingKey::from_ed_pem(pem.as_bytes()),
        (_, Some(pem)) => jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes()),
        (_, None) => unreachable!(),
    }
    .unwrap();
    let case = Case {
        alg,
        verifier: config(alg, key_source),
        oxitoken: oxitoken_pipeline(alg, &jsonwebtoken_key),
        jwt11: jwt11::Peer::new(alg, public.as_deref()),
        jwt12: jwt12::Peer::new(alg, public.as_deref()),
        floor: Primitive::new(alg, &jsonwebtoken_key),
        tokens,
        signed,
    };
    // Every library accepts every token and maps the same user.
    for (i, token) in case.tokens.iter().enumerate() {
        let sub = format!("jdoe-{i:04}");
        let identity = case.verifier.verify_cached(token).expect("jwt-sso accepts");
        assert_eq!(identity.user_id, sub);
        assert_eq!(identity.roles.len(), 5);
        assert_eq!(identity.prompts.len(), 2);
        assert_eq!(case.oxitoken.verify(token.as_bytes()).unwrap().1.sub, sub);
        assert_eq!(case.jwt11.verify(token).unwrap().user_id, sub);
        assert_eq!(case.jwt12.verify(token).unwrap().user_id, sub);
        assert!(case.floor_verify(i));
    }
    case
}

/// A library by name, verifying the case's token `i`.
pub type Library<'a> = (&'static str, Box<dyn Fn(usize) + 'a>);

impl Case {
    fn floor_verify(&self, i: usize) -> bool {
        let (at, signature) = &self.signed[i];
        self.floor
            .verify(&self.tokens[i].as_bytes()[..*at], signature)
    }

    /// The libraries, by name, each verifying token `i`.
    pub fn libraries(&self) -> [Library<'_>; 5] {
        [
            (
                "jwt_sso",
                Box::new(|i| {
                    black_box(
                        self.verifier
                            .verify_cached(black_box(&self.tokens[i]))
                            .unwrap(),
                    );
                }),
            ),
            (
                "oxitoken",
                Box::new(|i| {
                    black_box(
                        self.oxitoken
                            .verify(black_box(self.tokens[i].as_bytes()))
                            .unwrap(),
                    );
                }),
            ),
            (
                "jsonwebtoken11",
                Box::new(|i| {
                    black_box(self.jwt11.verify(black_box(&self.tokens[i])).unwrap());
                }),
            ),
            (
                "jsonwebtoken12",
                Box::new(|i| {
                    black_box(self.jwt12.verify(black_box(&self.tokens[i])).unwrap());
                }),
            ),
            (
                "aws_lc_rs",
                Box::new(|i| assert!(self.floor_verify(black_box(i)))),
            ),
        ]
    }
}
