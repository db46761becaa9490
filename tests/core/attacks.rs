//! The attack suite: one regression case per known attack on JWT verifiers
//! (RFC 8725, CVEs, Wycheproof notes), each with its source and the exact
//! error kind the contract prescribes.
//!
//! The cases are data: `tests/data/attacks/*.json` (see the README there for
//! the format). Each case names a configuration preset, describes how its
//! token is built (header, payload, encoding, the key it is signed with, or a
//! hand-made signature) and the outcome. Tokens are built here, at test time,
//! from the test keys in `tests/data/keys`, so a case reads as the attack it
//! is rather than as an opaque string. Every case is run and every mismatch is
//! listed, so one run shows them all.
//!
//! Besides its own outcome, every case checks that
//! - no URL from a token is fetched: a listener on 127.0.0.1, whose address the
//!   `jku`/`x5u` cases carry, must never see a connection;
//! - the error never shows the token, one of its segments or the shared secret,
//!   and its message holds no control character (it is logged: CWE-117).

use std::collections::BTreeMap;
use std::net::TcpListener;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use jwt_sso::{Algorithm, Error, ErrorKind, JwtConfig, TokenError, TokenPart, Verified};
use serde_json::{Map, Value, json};

use crate::support::clocked;
// Every token is verified at NOW (2026-01-01T00:00:00Z); the presets expect
// the tier's ISSUER and AUDIENCE (the case files spell them out too).
use crate::support::fixtures::{AUDIENCE, ISSUER, NOW, backend_name};
use clocked::TestVerifier;

/// The shared secret of the `hs256` preset and the `hmac` JWK: distinctive, so a leak shows.
const SECRET: &str = "SUPERSECRET-attack-suite-0123456789abcdef";

// ---------------------------------------------------------------- files

fn data_path(path: &str) -> String {
    format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    let path = data_path(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn key_text(file: &str) -> String {
    read(&format!("keys/{file}"))
}

/// The DER bytes inside a PEM file.
fn key_der(file: &str) -> Vec<u8> {
    let text = key_text(file);
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(b64).unwrap()
}

fn jwk(name: &str) -> Value {
    let all: Value = serde_json::from_str(&read("jwks/public_jwks.json")).unwrap();
    all.get(name)
        .unwrap_or_else(|| panic!("no JWK {name}"))
        .clone()
}

fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length: {text}");
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&text[i..i + 2], 16).unwrap_or_else(|_| panic!("bad hex {text}"))
        })
        .collect()
}

// ---------------------------------------------------------------- placeholders

/// Values a case may refer to instead of spelling them out:
/// `{listener}` (the URL of the watching listener), `{now}`, `{exp}`,
/// `@pem:FILE` (a key file's text), `@cert_b64:FILE` (a certificate's DER in
/// standard base64, as `x5c` holds it), `@jwk:NAME` (a public JWK),
/// `@secret_b64url` (the shared secret as a JWK `k`).
struct Env {
    listener: TcpListener,
    url: String,
}

impl Env {
    fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        Env { listener, url }
    }

    fn text(&self, s: &str) -> String {
        s.replace("{listener}", &self.url)
            .replace("{now}", &NOW.to_string())
            .replace("{exp}", &(NOW + 600).to_string())
    }

    fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => {
                if let Some(file) = s.strip_prefix("@pem:") {
                    Value::String(key_text(file))
                } else if let Some(file) = s.strip_prefix("@cert_b64:") {
                    Value::String(STANDARD.encode(key_der(file)))
                } else if let Some(name) = s.strip_prefix("@jwk:") {
                    jwk(name)
                } else if s == "@secret_b64url" {
                    Value::String(URL_SAFE_NO_PAD.encode(SECRET))
                } else {
                    Value::String(self.text(s))
                }
            }
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            Value::Object(map) if map.contains_key("@jwk") => {
                // {"@jwk": NAME, more members…}: the public JWK with members added.
                let mut key = jwk(map["@jwk"].as_str().unwrap());
                for (k, v) in map.iter().filter(|(k, _)| *k != "@jwk") {
                    key[k] = self.value(v);
                }
                key
            }
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// Fails when anything connected to the listener since the last call.
    fn no_connection(&self) -> Result<(), String> {
        match self.listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(()),
            Ok((_, peer)) => Err(format!(
                "the verifier connected to {} (from {peer})",
                self.url
            )),
            Err(e) => Err(format!("listener: {e}")),
        }
    }
}

/// JSON Merge Patch (RFC 7396): `null` removes a member.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

// ---------------------------------------------------------------- configurations

/// The configuration presets cases start from.
fn preset(name: &str) -> Value {
    let mut config = json!({
        "name": "attacks", "token_name": "token", "issuer": ISSUER, "audience": AUDIENCE,
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    });
    // The presets with one static public key: (name, algorithm, key file).
    const PEM_PRESETS: [(&str, &str, &str); 4] = [
        ("rs256_pem", "RS256", "rsa2048_public.pem"),
        ("es256_pem", "ES256", "p256_public.pem"),
        ("es384_pem", "ES384", "p384_public.pem"),
        ("eddsa_pem", "EdDSA", "ed25519_public.pem"),
    ];
    let pem_preset = PEM_PRESETS.into_iter().find(|p| p.0 == name);
    let (algorithms, key_source) = match (name, pem_preset) {
        (_, Some((_, alg, file))) => (
            json!([alg]),
            json!({"type": "static", "public_key_pem": key_text(file)}),
        ),
        ("hs256", None) => (
            json!(["HS256"]),
            json!({"type": "static", "secret": SECRET}),
        ),
        // One key of every family, every algorithm allowed: the widest surface
        // for confusion. Each key may only verify its own family.
        ("jwks_mixed", None) => {
            let mut keys = Vec::new();
            for (name, kid) in [
                ("rsa2048", "rsa"),
                ("p256", "ec"),
                ("p384", "ec384"),
                ("ed25519", "ed"),
            ] {
                let mut key = jwk(name);
                key["kid"] = json!(kid);
                keys.push(key);
            }
            keys.push(json!({"kty": "oct", "kid": "hmac", "k": URL_SAFE_NO_PAD.encode(SECRET)}));
            let all: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
            (json!(all), json!({"type": "jwks", "jwks": {"keys": keys}}))
        }
        (other, None) => panic!("unknown configuration preset `{other}`"),
    };
    config["algorithms"] = algorithms;
    config["key_source"] = key_source;
    config
}

fn load(config: &Value) -> Result<TestVerifier, Error> {
    JwtConfig::from_json_str(&config.to_string())
        .and_then(JwtConfig::validate)
        .map(TestVerifier::new)
        .map_err(Error::from)
}

// ---------------------------------------------------------------- signing

/// The crypto backend the library uses, for signing test tokens over any input.
fn provider() -> &'static jsonwebtoken::crypto::CryptoProvider {
    #[cfg(feature = "aws-lc")]
    {
        &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
    {
        &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER
    }
}

/// The signing key a case names: `secret` (the shared secret), `text:…`
/// (those UTF-8 bytes), `pem_text:FILE` (a public key file's text, the classic
/// HMAC confusion), `der:FILE` (its DER bytes), `jwk_text:NAME` (a public
/// JWK's JSON text), `hex:…`, or `private:FILE` (a private key PEM).
fn encoding_key(spec: &str, alg: Algorithm) -> EncodingKey {
    let secret = |bytes: &[u8]| EncodingKey::from_secret(bytes).expect("a non-empty secret");
    if spec == "secret" {
        secret(SECRET.as_bytes())
    } else if let Some(text) = spec.strip_prefix("text:") {
        secret(text.as_bytes())
    } else if let Some(hex) = spec.strip_prefix("hex:") {
        secret(&unhex(hex))
    } else if let Some(file) = spec.strip_prefix("pem_text:") {
        secret(key_text(file).as_bytes())
    } else if let Some(file) = spec.strip_prefix("pem_text_trimmed:") {
        secret(key_text(file).trim().as_bytes())
    } else if let Some(file) = spec.strip_prefix("der:") {
        secret(&key_der(file))
    } else if let Some(name) = spec.strip_prefix("jwk_text:") {
        secret(jwk(name).to_string().as_bytes())
    } else if let Some(file) = spec.strip_prefix("private:") {
        let pem = key_text(file);
        match alg {
            Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem.as_bytes()),
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
            _ => EncodingKey::from_rsa_pem(pem.as_bytes()),
        }
        .unwrap_or_else(|e| panic!("{file} for {alg}: {e}"))
    } else {
        panic!("unknown key `{spec}`")
    }
}

fn sign(alg: Algorithm, key: &str, input: &[u8]) -> Vec<u8> {
    if key == "text:" {
        // An empty HMAC secret, which jsonwebtoken (12) refuses to build a key
        // from: aws-lc-rs (a dev-dependency on every backend) signs with it.
        use aws_lc_rs::hmac;
        let hmac_alg = match alg {
            Algorithm::HS256 => hmac::HMAC_SHA256,
            Algorithm::HS384 => hmac::HMAC_SHA384,
            Algorithm::HS512 => hmac::HMAC_SHA512,
            other => panic!("an empty secret cannot sign {other}"),
        };
        return hmac::sign(&hmac::Key::new(hmac_alg, b""), input)
            .as_ref()
            .to_vec();
    }
    let jalg: jsonwebtoken::Algorithm = alg.as_str().parse().unwrap();
    let signer = (provider().signer_factory)(&jalg, &encoding_key(key, alg))
        .unwrap_or_else(|e| panic!("cannot sign {alg} with {key}: {e}"));
    jsonwebtoken::signature::Signer::try_sign(signer.as_ref(), input).unwrap()
}

// ---------------------------------------------------------------- big numbers

/// `a - b` for big-endian numbers of the same width (`a >= b`).
fn sub_be(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut borrow = 0i16;
    for i in (0..a.len()).rev() {
        let mut d = a[i] as i16 - b[i] as i16 - borrow;
        borrow = (d < 0) as i16;
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    assert_eq!(borrow, 0, "sub_be underflow");
    out
}

/// `a + b` for little-endian numbers of the same width (no overflow expected).
fn add_le(a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; a.len()];
    let mut carry = 0u16;
    for i in 0..a.len() {
        let s = a[i] as u16 + b[i] as u16 + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    assert_eq!(carry, 0, "add_le overflow");
    out
}

/// The order of a curve's group: P-256 and P-384 from SEC 2 (big-endian),
/// and L of the Ed25519 base point from RFC 8032 (little-endian, as Ed25519
/// encodes its scalars).
fn curve_order(curve: &str) -> Vec<u8> {
    #[rustfmt::skip]
    const ORDERS: [(&str, &str); 3] = [
        ("P-256", "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
        ("P-384", "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"),
        ("Ed25519", "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"),
    ];
    let (_, hex) = ORDERS
        .into_iter()
        .find(|(name, _)| *name == curve)
        .unwrap_or_else(|| panic!("unknown curve {curve}"));
    unhex(hex)
}

/// An ECDSA scalar of `width` bytes: `0`, `1`, `n`, `n-1` or hex.
fn scalar(spec: &str, n: &[u8]) -> Vec<u8> {
    let width = n.len();
    let mut one = vec![0u8; width];
    one[width - 1] = 1;
    match spec {
        "0" => vec![0u8; width],
        "1" => one,
        "n" => n.to_vec(),
        "n-1" => sub_be(n, &one),
        hex => {
            let v = unhex(hex);
            assert_eq!(v.len(), width, "scalar width");
            v
        }
    }
}

/// ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }` of a raw `r || s` signature:
/// the form other ECDSA APIs use, which JWS does not (RFC 7518 section 3.4).
fn ecdsa_der(raw: &[u8]) -> Vec<u8> {
    let int = |x: &[u8]| {
        let x = &x[x.iter().position(|b| *b != 0).unwrap_or(x.len() - 1)..];
        let mut v = vec![0x02];
        let pad = x[0] & 0x80 != 0;
        v.push((x.len() + pad as usize) as u8);
        if pad {
            v.push(0);
        }
        v.extend_from_slice(x);
        v
    };
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [int(r), int(s)].concat();
    let mut out = vec![0x30, body.len() as u8];
    out.extend(body);
    out
}

// ---------------------------------------------------------------- tokens

fn encode(bytes: &[u8], how: &str) -> String {
    match how {
        "url" => URL_SAFE_NO_PAD.encode(bytes),
        "url_padded" => URL_SAFE.encode(bytes),
        "standard" => STANDARD_NO_PAD.encode(bytes),
        "standard_padded" => STANDARD.encode(bytes),
        other => panic!("unknown encoding {other}"),
    }
}

/// Sets the lowest unused bit of the last character: the same bytes to a
/// lenient decoder, not canonical base64url (RFC 4648 section 3.5).
fn dirty_trailing_bits(segment: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert!(
        !segment.len().is_multiple_of(4),
        "`{segment}` has no unused bits"
    );
    let last = *segment.as_bytes().last().unwrap();
    let i = ALPHABET.iter().position(|c| *c == last).unwrap();
    let mut out = segment[..segment.len() - 1].to_owned();
    out.push(ALPHABET[i | 1] as char);
    assert_ne!(
        out, segment,
        "the last character already had its unused bit set"
    );
    out
}

fn nest(spec: &Value) -> String {
    let depth = spec["depth"].as_u64().unwrap() as usize;
    let open = spec["open"].as_str().unwrap();
    let close = spec["close"].as_str().unwrap();
    let leaf = spec["leaf"].as_str().unwrap_or("");
    let prefix = spec["prefix"].as_str().unwrap_or("");
    let suffix = spec["suffix"].as_str().unwrap_or("");
    format!(
        "{prefix}{}{leaf}{}{suffix}",
        open.repeat(depth),
        close.repeat(depth)
    )
}

fn default_claims() -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "jdoe", "jti": "attack-0001", "iat": NOW, "exp": NOW + 600})
}

/// A built token and, for a twin case, the untouched original.
struct Built {
    token: String,
    original: Option<String>,
}

fn segment_bytes(env: &Env, spec: &Map<String, Value>, part: &str, default: Value) -> Vec<u8> {
    if let Some(raw) = spec.get(&format!("{part}_raw")) {
        return env.text(raw.as_str().unwrap()).into_bytes();
    }
    if let Some(hex) = spec.get(&format!("{part}_hex")) {
        return unhex(hex.as_str().unwrap());
    }
    if let Some(n) = spec.get(&format!("{part}_nest")) {
        return env.text(&nest(n)).into_bytes();
    }
    let mut value = match spec.get(part) {
        Some(v) => env.value(v),
        None => default,
    };
    if part == "payload"
        && let Some(patch) = spec.get("claims")
    {
        merge(&mut value, &env.value(patch));
    }
    serde_json::to_vec(&value).unwrap()
}

fn build(env: &Env, spec: &Value) -> Built {
    if let Some(text) = spec.as_str() {
        return Built {
            token: env.text(text),
            original: None,
        };
    }
    let spec = spec.as_object().expect("a token is a string or an object");
    if let Some(r) = spec.get("repeat") {
        let text = r["text"]
            .as_str()
            .unwrap()
            .repeat(r["times"].as_u64().unwrap() as usize);
        return Built {
            token: format!("{}{text}", r["prefix"].as_str().unwrap_or("")),
            original: None,
        };
    }
    let sign_spec = spec.get("sign").cloned().unwrap_or_else(|| json!({}));
    let alg: Algorithm = sign_spec["alg"]
        .as_str()
        .unwrap_or("HS256")
        .parse()
        .unwrap();
    let key = sign_spec["key"].as_str().unwrap_or("secret");

    let header = segment_bytes(
        env,
        spec,
        "header",
        json!({"alg": alg.as_str(), "typ": "JWT"}),
    );
    let payload = segment_bytes(env, spec, "payload", default_claims());
    let encoding = spec.get("encoding").cloned().unwrap_or_else(|| json!({}));
    let how = |part: &str| encoding[part].as_str().unwrap_or("url").to_owned();
    let mut h = encode(&header, &how("header"));
    let mut p = encode(&payload, &how("payload"));
    for part in ["header", "payload"] {
        if how(part) != "url" {
            let bytes = if part == "header" { &header } else { &payload };
            let text = if part == "header" { &h } else { &p };
            assert_ne!(
                text,
                &encode(bytes, "url"),
                "the {part} encoding changes nothing"
            );
        }
    }
    // Edits made before signing, so the signature holds over the edited text
    // and the edit itself is the only defect.
    for edit in spec
        .get("before_sign")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let target = match edit["segment"].as_str().unwrap() {
            "header" => &mut h,
            "payload" => &mut p,
            other => panic!("before_sign on {other}"),
        };
        match edit["op"].as_str().unwrap() {
            "insert" => {
                let at = edit["at"].as_u64().unwrap() as usize;
                target.insert_str(at, &env.text(edit["text"].as_str().unwrap()));
            }
            "trailing_bits" => *target = dirty_trailing_bits(target),
            other => panic!("unknown before_sign op {other}"),
        }
    }
    // RFC 7797 unencoded payloads (`b64: false`): the payload travels as it is
    // (`segment`), or is only signed as it is (`signing_input`).
    let unencoded = spec.get("unencoded").and_then(Value::as_str);
    let raw_payload = String::from_utf8(payload.clone()).unwrap_or_default();
    if unencoded == Some("segment") {
        p = raw_payload.clone();
    }
    let input = format!("{h}.{p}");
    let signed_input = match unencoded {
        Some("signing_input") => format!("{h}.{raw_payload}"),
        _ => input.clone(),
    };

    let real = || sign(alg, key, signed_input.as_bytes());
    let mut original = None;
    let signature = match spec.get("signature").and_then(Value::as_str) {
        None => real(),
        Some("empty") => Vec::new(),
        Some(s) if s.starts_with("zeros:") => vec![0u8; s[6..].parse().unwrap()],
        Some(s) if s.starts_with("hex:") => unhex(&s[4..]),
        Some(s) if s.starts_with("truncate:") => {
            real()[..s[9..].parse::<usize>().unwrap()].to_vec()
        }
        Some(s) if s.starts_with("append_zeros:") => {
            [real(), vec![0u8; s[13..].parse().unwrap()]].concat()
        }
        Some(s) if s.starts_with("ecdsa:") => {
            // ecdsa:CURVE:R:S
            let parts: Vec<&str> = s.splitn(4, ':').collect();
            let n = curve_order(parts[1]);
            [scalar(parts[2], &n), scalar(parts[3], &n)].concat()
        }
        Some("ecdsa_der") => ecdsa_der(&real()),
        Some(s) if s.starts_with("high_s:") => {
            // The malleable twin (r, n - s) of a real signature.
            let sig = real();
            let n = curve_order(&s[7..]);
            let (r, s_) = sig.split_at(sig.len() / 2);
            let twin = [r.to_vec(), sub_be(&n, s_)].concat();
            original = Some(format!("{input}.{}", URL_SAFE_NO_PAD.encode(&sig)));
            twin
        }
        Some("ed25519_s_plus_l") => {
            let sig = real();
            let (r, s_) = sig.split_at(32);
            [r.to_vec(), add_le(s_, &curve_order("Ed25519"))].concat()
        }
        Some(other) => panic!("unknown signature `{other}`"),
    };
    let mut s = encode(&signature, &how("signature"));
    if how("signature") != "url" {
        assert_ne!(
            s,
            URL_SAFE_NO_PAD.encode(&signature),
            "the signature encoding changes nothing"
        );
    }
    let mut token = format!("{input}.{s}");
    for m in spec
        .get("mutate")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match m["op"].as_str().unwrap() {
            "append" => token.push_str(m["text"].as_str().unwrap()),
            "prepend" => token.insert_str(0, m["text"].as_str().unwrap()),
            "replace" => {
                token = token.replace(m["from"].as_str().unwrap(), m["to"].as_str().unwrap())
            }
            "signature_trailing_bits" => {
                s = dirty_trailing_bits(&s);
                token = format!("{input}.{s}");
            }
            "drop_signature_segment" => token = input.clone(),
            "extra_segment" => token.push_str(&format!(".{}", m["text"].as_str().unwrap_or(""))),
            other => panic!("unknown mutation {other}"),
        }
    }
    Built { token, original }
}

// ---------------------------------------------------------------- the run

fn kind_named(name: &str) -> ErrorKind {
    *ErrorKind::ALL
        .iter()
        .find(|k| k.as_str() == name)
        .unwrap_or_else(|| panic!("unknown error kind `{name}`"))
}

fn part_named(name: &str) -> TokenPart {
    match name {
        "token" => TokenPart::Token,
        "header" => TokenPart::Header,
        "payload" => TokenPart::Payload,
        other => panic!("unknown token part `{other}`"),
    }
}

/// The error must not show the token, any of its segments, or the secret.
fn check_hygiene(error: &Error, token: &str) -> Result<(), String> {
    let texts = [
        error.to_string(),
        format!("{error:?}"),
        error.hint().to_owned(),
        error.to_json().to_string(),
    ];
    let mut secrets: Vec<&str> = vec![SECRET];
    if token.len() >= 16 {
        secrets.push(token);
    }
    secrets.extend(token.split('.').filter(|s| s.len() >= 16));
    for text in &texts {
        for secret in &secrets {
            if text.contains(secret) {
                let shown: String = secret.chars().take(24).collect();
                return Err(format!("the error shows `{shown}…`: {text}"));
            }
        }
    }
    // The message goes into logs (the WARN event of every rejection): text
    // from the token must not bring control characters, or a `kid` holding
    // "\n" forges log lines (CWE-117; RFC 8725 §3.10).
    let message = error.to_string();
    if let Some(c) = message.chars().find(|c| c.is_control()) {
        return Err(format!(
            "the message holds the control character {c:?}: {message:?}"
        ));
    }
    Ok(())
}

/// Runs one case; `Err` describes the mismatch.
fn run(env: &Env, case: &Value) -> Result<String, String> {
    let expect = case["expect"].as_str().ok_or("no `expect`")?;
    let mut config = preset(case["config"].as_str().unwrap_or("hs256"));
    if let Some(patch) = case.get("config_patch") {
        merge(&mut config, &env.value(patch));
    }
    let loaded = load(&config);
    if case["config_time"].as_bool().unwrap_or(false) {
        let error = match loaded {
            Ok(_) => return Err(format!("the configuration loaded; expected {expect}")),
            Err(e) => e,
        };
        if error.kind() != kind_named(expect) {
            return Err(format!("got {} ({error}), expected {expect}", error.kind()));
        }
        if let Some(message) = case.get("expect_message").and_then(Value::as_str)
            && error.to_string() != message
        {
            return Err(format!("message `{error}`, expected `{message}`"));
        }
        check_hygiene(&error, "")?;
        return Ok(error.kind().as_str().to_owned());
    }
    let verifier = loaded.map_err(|e| format!("the configuration does not load: {e}"))?;
    let built = build(env, case.get("token").ok_or("no `token`")?);
    let outcome = verifier.verify_at(&built.token, NOW);
    env.no_connection()?;
    let identity: Option<Verified> = match (&outcome, expect) {
        (Ok(identity), "accepted") => Some(identity.clone()),
        (Ok(identity), _) => {
            return Err(format!(
                "accepted as `{}`, expected {expect}",
                identity.user_id
            ));
        }
        (Err(error), "accepted") => {
            return Err(format!("rejected with {} ({error})", error.kind()));
        }
        (Err(error), _) => {
            if error.kind() != kind_named(expect) {
                return Err(format!("got {} ({error}), expected {expect}", error.kind()));
            }
            if let Some(part) = case.get("part").and_then(Value::as_str) {
                match error {
                    Error::Token(TokenError::Malformed { part: got, .. })
                        if *got == part_named(part) => {}
                    other => return Err(format!("malformed in the wrong part: {other}")),
                }
            }
            check_hygiene(error, &built.token)?;
            None
        }
    };
    if let Some(original) = &built.original {
        // A malleable twin: a different text that carries the same claims.
        let first = verifier
            .verify_at(original, NOW)
            .map_err(|e| format!("the original of the twin is rejected: {e}"))?;
        if original == &built.token {
            return Err("the twin is the same text".to_owned());
        }
        let payload = |t: &str| t.split('.').nth(1).unwrap().to_owned();
        if payload(original) != payload(&built.token) {
            return Err("the twin changed the claims".to_owned());
        }
        if identity.as_ref() != Some(&first) {
            return Err(format!(
                "the twin maps to {identity:?}, the original to {first:?}"
            ));
        }
    }
    Ok(expect.to_owned())
}

struct Suite {
    file: String,
    doc: Value,
}

fn suites() -> Vec<Suite> {
    let dir = data_path("attacks");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let doc: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Suite {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                doc,
            }
        })
        .collect()
}

#[test]
fn every_known_attack_is_refused_with_its_error_kind() {
    let env = Env::new();
    let mut failures = Vec::new();
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = 0;
    for suite in suites() {
        for case in suite.doc["cases"].as_array().unwrap() {
            count += 1;
            let name = case["name"].as_str().unwrap_or("(unnamed)");
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&env, case))) {
                Ok(Ok(kind)) => *by_kind.entry(kind).or_default() += 1,
                Ok(Err(why)) => failures.push(format!("{} / {name}: {why}", suite.file)),
                Err(_) => failures.push(format!(
                    "{} / {name}: the harness panicked (see above)",
                    suite.file
                )),
            }
        }
    }
    println!(
        "{count} attack cases on the {} backend: {by_kind:?}",
        backend_name()
    );
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(count >= 100, "only {count} attack cases");
}

#[test]
fn every_case_names_its_source_and_expects_a_real_outcome() {
    let mut names = std::collections::HashSet::new();
    for suite in suites() {
        let doc = &suite.doc;
        for member in ["attack", "source"] {
            assert!(
                doc[member].as_str().is_some_and(|s| !s.trim().is_empty()),
                "{} has no `{member}`",
                suite.file
            );
        }
        let cases = doc["cases"]
            .as_array()
            .unwrap_or_else(|| panic!("{} has no cases", suite.file));
        assert!(!cases.is_empty(), "{} has no cases", suite.file);
        for case in cases {
            let name = case["name"]
                .as_str()
                .unwrap_or_else(|| panic!("{}: a case without a name", suite.file));
            assert!(
                names.insert(name.to_owned()),
                "case name `{name}` is used twice"
            );
            let expect = case["expect"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no `expect`"));
            if expect != "accepted" {
                kind_named(expect);
            }
            let known = [
                "name",
                "source",
                "expect",
                "part",
                "config",
                "config_patch",
                "config_time",
                "expect_message",
                "token",
                "note",
            ];
            for key in case.as_object().unwrap().keys() {
                assert!(
                    known.contains(&key.as_str()),
                    "{name}: unknown member `{key}`"
                );
            }
            // The source is the file's, or the case's own when it has a more precise one.
            if let Some(source) = case.get("source") {
                assert!(
                    source.as_str().is_some_and(|s| !s.is_empty()),
                    "{name}: empty source"
                );
            }
        }
    }
}
