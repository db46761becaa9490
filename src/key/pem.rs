//! Static public keys in PEM: SPKI, PKCS#1 and certificates. DER is parsed by
//! RustCrypto's `der`/`spki`/`x509-cert`/`pkcs1`, never by hand.

use jsonwebtoken::DecodingKey;
use pkcs1::RsaPublicKey;
use x509_cert::Certificate;
use x509_cert::der::asn1::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::SubjectPublicKeyInfoRef;

use super::{Curve, KeyFamily, VerifyingKey, misfit};
use crate::config::Algorithm;
use crate::error::ConfigError;

const FIELD: &str = "key_source.public_key_pem";

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const RSASSA_PSS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.10");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const SECP521R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
const ED448: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.113");

/// The smallest RSA modulus accepted (RFC 7518 section 3.3).
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// The largest RSA modulus the crypto backend verifies with: aws-lc-rs
/// accepts up to 8192 bits, the `rsa` crate behind `rust-crypto` up to 4096.
/// A larger key is refused when it loads, rather than failing every
/// signature later as `invalid_signature`.
pub(crate) const MAX_RSA_BITS: usize = if cfg!(feature = "aws-lc") { 8192 } else { 4096 };

const PUBOUT: &str = "paste the public key; `openssl pkey -in key.pem -pubout` prints it";

fn bad(problem: impl Into<String>, fix: impl Into<String>) -> ConfigError {
    ConfigError::new(FIELD, problem, fix)
}

/// Loads a static public key and checks it against every allowed algorithm.
pub(crate) fn load(text: &str, algorithms: &[Algorithm]) -> Result<VerifyingKey, ConfigError> {
    if let Some(alg) = algorithms.iter().find(|a| a.is_hmac()) {
        return Err(bad(
            format!("a public key cannot verify the shared-secret algorithm {alg}"),
            format!(
                "for {alg} put the shared secret into `secret` instead of `public_key_pem`, or allow only RS*/PS*/ES*/EdDSA/Ed25519 algorithms"
            ),
        ));
    }
    let (family, decoding) = parse(text)?;
    if let KeyFamily::Rsa { bits } = family
        && bits < MIN_RSA_BITS
    {
        return Err(bad(
            format!("the RSA key has {bits} bits; at least {MIN_RSA_BITS} are required"),
            "make the sender sign with an RSA key of 2048 bits or more (e.g. `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072`)",
        ));
    }
    if let KeyFamily::Rsa { bits } = family
        && bits > MAX_RSA_BITS
    {
        return Err(bad(
            format!(
                "the RSA key has {bits} bits; this build verifies RSA keys of at most {MAX_RSA_BITS} bits"
            ),
            "make the sender sign with an RSA key of 2048 to 4096 bits, or build jwt-sso with its default `aws-lc` backend (up to 8192 bits)",
        ));
    }
    if let Some(alg) = algorithms.iter().find(|a| !family.fits(**a)) {
        return Err(misfit(FIELD, *alg, family));
    }
    Ok(VerifyingKey::new(
        family,
        decoding,
        "key_source.public_key_pem",
    ))
}

/// Parses PEM text into a key family and backend key.
pub(crate) fn parse(text: &str) -> Result<(KeyFamily, DecodingKey), ConfigError> {
    let blocks = ::pem::parse_many(text.trim()).unwrap_or_default();
    // A private key anywhere in the text is refused, even after other blocks
    // (`openssl ecparam -genkey` prints `EC PARAMETERS` first).
    if let Some(private) = blocks.iter().find(|b| b.tag().contains("PRIVATE KEY")) {
        return Err(private_key(private.tag()));
    }
    // Curve parameters are not a key; the key is the block after them.
    let Some(block) = blocks.iter().find(|b| b.tag() != "EC PARAMETERS") else {
        return Err(not_pem(text));
    };
    let tag = block.tag();
    match tag {
        "PUBLIC KEY" => from_spki(block.contents()),
        "RSA PUBLIC KEY" => from_pkcs1(block.contents()),
        "CERTIFICATE" => {
            let cert = Certificate::from_der(block.contents()).map_err(|e| {
                bad(
                    format!("the certificate is not valid DER: {e}"),
                    "paste the certificate exactly as the identity provider publishes it",
                )
            })?;
            let spki = cert
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .map_err(|e| {
                    bad(
                        format!("the certificate's public key cannot be read: {e}"),
                        PUBOUT,
                    )
                })?;
            from_spki(&spki)
        }
        "EC PUBLIC KEY" => Err(bad(
            "`BEGIN EC PUBLIC KEY` is not a standard public key format",
            "convert the key to SPKI (`BEGIN PUBLIC KEY`): from the EC private key, `openssl pkey -in ec-key.pem -pubout` prints it",
        )),
        t if t.contains("PRIVATE KEY") => Err(private_key(t)),
        t => Err(bad(
            format!("unsupported PEM label `BEGIN {t}`"),
            "paste a `BEGIN PUBLIC KEY`, `BEGIN RSA PUBLIC KEY` or `BEGIN CERTIFICATE` block",
        )),
    }
}

fn private_key(tag: &str) -> ConfigError {
    bad(
        format!("this is a private key (`BEGIN {tag}`); it must never leave the sender"),
        format!("{PUBOUT}; then replace the private key at the sender, since it has been exposed"),
    )
}

fn not_pem(text: &str) -> ConfigError {
    let t = text.trim_start();
    let fix = if t.starts_with("ssh-") || t.starts_with("ecdsa-sha2-") {
        "this is an OpenSSH public key; convert it to SPKI with `ssh-keygen -e -m PKCS8 -f key.pub` and paste the `BEGIN PUBLIC KEY` block"
    } else if t.starts_with('{') {
        "this looks like a JWK; use the key source `{\"type\": \"jwks\", \"jwks\": {\"keys\": [ … ]}}` instead"
    } else if t.starts_with("-----BEGIN") {
        "the PEM armour is damaged; paste the whole block, from `-----BEGIN …-----` to `-----END …-----`, with its line breaks"
    } else {
        "paste the key in PEM (`-----BEGIN PUBLIC KEY-----` …); a DER file converts with `openssl pkey -pubin -inform DER -in key.der -out key.pem`"
    };
    bad("the text is not a PEM block", fix)
}

fn from_spki(der: &[u8]) -> Result<(KeyFamily, DecodingKey), ConfigError> {
    let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|e| {
        bad(
            format!("the public key is not a valid SubjectPublicKeyInfo: {e}"),
            PUBOUT,
        )
    })?;
    let key_bytes = spki
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| bad("the public key bit string is not whole bytes", PUBOUT))?;
    let oid = spki.algorithm.oid;
    if oid == RSA_ENCRYPTION {
        from_pkcs1(key_bytes)
    } else if oid == EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or_else(|| bad("the EC key names no curve", PUBOUT))?;
        let (curve, len) = if curve == SECP256R1 {
            (Curve::P256, 65)
        } else if curve == SECP384R1 {
            (Curve::P384, 97)
        } else if curve == SECP521R1 {
            return Err(bad(
                "P-521 keys (ES512) are not supported by the crypto backend",
                "make the sender sign with ES256 (P-256) or ES384 (P-384)",
            ));
        } else {
            return Err(bad(
                format!("unsupported elliptic curve {curve}"),
                "make the sender sign with ES256 (P-256) or ES384 (P-384)",
            ));
        };
        if key_bytes.len() != len || key_bytes[0] != 0x04 {
            return Err(bad(
                "the EC public key is not an uncompressed point",
                "export the key uncompressed: `openssl pkey -pubin -in key.pem -pubout -ec_conv_form uncompressed`",
            ));
        }
        Ok((KeyFamily::Ec(curve), DecodingKey::from_ec_der(key_bytes)))
    } else if oid == ED25519 {
        if key_bytes.len() != 32 {
            return Err(bad("the Ed25519 public key is not 32 bytes", PUBOUT));
        }
        Ok((KeyFamily::Ed25519, DecodingKey::from_ed_der(key_bytes)))
    } else if oid == ED448 {
        Err(bad(
            "Ed448 keys are not supported",
            "make the sender sign with Ed25519 (`EdDSA` or `Ed25519`)",
        ))
    } else if oid == RSASSA_PSS {
        Err(bad(
            "RSASSA-PSS-only keys (OID 1.2.840.113549.1.1.10) are not supported",
            "export the RSA key as a plain rsaEncryption SPKI (`openssl rsa -pubin -in key.pem -RSAPublicKey_out` gives PKCS#1)",
        ))
    } else {
        Err(bad(
            format!("unsupported public key algorithm {oid}"),
            "use an RSA (2048 bits or more), P-256, P-384 or Ed25519 key",
        ))
    }
}

fn from_pkcs1(der: &[u8]) -> Result<(KeyFamily, DecodingKey), ConfigError> {
    let rsa = RsaPublicKey::from_der(der).map_err(|e| {
        bad(
            format!("the RSA public key is not valid PKCS#1: {e}"),
            PUBOUT,
        )
    })?;
    let n = rsa.modulus.as_bytes();
    let e = rsa.public_exponent.as_bytes();
    let bits = rsa_bits(n);
    if let Some(problem) = rsa_weakness(n, e) {
        return Err(bad(problem, RSA_WEAKNESS_FIX));
    }
    Ok((
        KeyFamily::Rsa { bits },
        DecodingKey::from_rsa_raw_components(n, e),
    ))
}

/// The bit length of a big-endian modulus.
pub(crate) fn rsa_bits(n: &[u8]) -> usize {
    let n = match n.iter().position(|b| *b != 0) {
        Some(i) => &n[i..],
        None => return 0,
    };
    n.len() * 8 - n[0].leading_zeros() as usize
}

/// What to do about a key [`rsa_weakness`] refuses.
pub(crate) const RSA_WEAKNESS_FIX: &str = "replace the key at the sender with a new RSA key of 2048 bits or more (public exponent 65537, e.g. `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072`) and paste its public key";

/// Why an RSA public key must not be trusted, whatever its size: a public
/// exponent that is even or under 3 (RFC 8017 section 3.1; with `e = 1` the
/// signature is the padded hash itself, so anyone can forge one), or the ROCA
/// fingerprint (CVE-2017-15361: the private key can be computed from the
/// public one). Found by the Wycheproof JWK vectors (tc7, tc9). Checked at
/// load time, for PEM and JWK keys alike, so that a weak key never depends on
/// the crypto backend to be refused.
pub(crate) fn rsa_weakness(n: &[u8], e: &[u8]) -> Option<String> {
    let e = &e[e.iter().position(|b| *b != 0).unwrap_or(e.len())..];
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    if !odd || (e.len() == 1 && e[0] < 3) {
        let shown = if e.len() <= 8 {
            e.iter()
                .fold(0u64, |v, b| (v << 8) | u64::from(*b))
                .to_string()
        } else {
            format!("a {}-bit number", rsa_bits(e))
        };
        return Some(format!(
            "the RSA public exponent is {shown}; it must be odd and at least 3"
        ));
    }
    if roca_fingerprint(n) {
        return Some(
            "the RSA key has the ROCA fingerprint (CVE-2017-15361): its private key can be computed from the public key".to_owned(),
        );
    }
    None
}

/// The odd primes among the first 126: the ROCA moduli of 1984 bits and more
/// are `65537^a` modulo their product (keys under 2048 bits are refused
/// anyway). A random modulus matches with probability under 2^-160.
const ROCA_PRIMES: [u32; 125] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167, 173, 179, 181, 191, 193,
    197, 199, 211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307,
    311, 313, 317, 331, 337, 347, 349, 353, 359, 367, 373, 379, 383, 389, 397, 401, 409, 419, 421,
    431, 433, 439, 443, 449, 457, 461, 463, 467, 479, 487, 491, 499, 503, 509, 521, 523, 541, 547,
    557, 563, 569, 571, 577, 587, 593, 599, 601, 607, 613, 617, 619, 631, 641, 643, 647, 653, 659,
    661, 673, 677, 683, 691, 701,
];

/// The ROCA test (Nemec et al., CCS 2017): for every prime `p`, `n mod p`
/// lies in the subgroup of `Z_p*` that 65537 generates.
fn roca_fingerprint(n: &[u8]) -> bool {
    ROCA_PRIMES.iter().all(|&p| {
        let r = n.iter().fold(0u32, |r, b| (r * 256 + u32::from(*b)) % p);
        let g = 65_537 % p;
        let (mut order, mut x) = (1u32, g);
        while x != 1 {
            x = x * g % p;
            order += 1;
        }
        let (mut power, mut base, mut k) = (1u32, r, order);
        while k > 0 {
            if k & 1 == 1 {
                power = power * base % p;
            }
            base = base * base % p;
            k >>= 1;
        }
        r != 0 && power == 1
    })
}
