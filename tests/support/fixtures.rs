//! Shared helpers for the integration tests of CONTRACT sections 2–4:
//! configurations from JSON values, token minting, error checks and the
//! data-driven case runner for `tests/data/cases/*.json`.

#![allow(dead_code)] // each test binary uses a different subset

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, Error, ErrorKind, JwtConfig, ValidConfig, Verified};

pub use super::clocked::TestVerifier;
use serde_json::{Value, json};

/// The HS256 secret of [`base_config`] (41 bytes; distinctive, so a test can
/// search logs and messages for it).
pub const SECRET: &str = "jwt-sso-test-secret-Zq8Lm3Vx-0123456789ab";
/// Another secret that fits HS256: tokens signed with it do not verify.
pub const OTHER_SECRET: &str = "a-different-secret-Kp4Wn7Ty-0123456789ab";
/// 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600;
/// `NOW` as RFC 3339.
pub const NOW_RFC: &str = "2026-01-01T00:00:00Z";
/// The issuer the core tier's strict configurations expect.
pub const ISSUER: &str = "https://idp.example.com";
/// The audience the core tier's strict configurations expect.
pub const AUDIENCE: &str = "bi-server";

/// The text of a key file under `tests/data/keys/`.
pub fn key_pem(name: &str) -> String {
    let path = format!("{}/tests/data/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A JSON file under `tests/data/`.
pub fn data_json(relative: &str) -> Value {
    let path = format!("{}/tests/data/{relative}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The signing key of [`base_config`].
pub fn hs_key() -> SigningKey {
    SigningKey::from_secret(SECRET.as_bytes())
}

/// A private key from `tests/data/keys/`.
pub fn pem_key(name: &str) -> SigningKey {
    SigningKey::from_pem(&key_pem(name))
}

/// A minimal valid configuration: HS256 with [`SECRET`], expiration_time
/// 3600, leeway 60, user ID from `sub`, no issuer or audience.
pub fn base_config() -> Value {
    json!({
        "name": "T",
        "token_name": "token",
        "algorithms": ["HS256"],
        "key_source": {"type": "static", "secret": SECRET},
        "expiration_time": 3600,
        "leeway": 60,
        "claims": {"user_id": "sub"}
    })
}

/// `base` with the members of `patch` set (a `null` member is removed).
pub fn patched(base: Value, patch: Value) -> Value {
    let mut base = base;
    let object = base.as_object_mut().expect("base is an object");
    let Value::Object(patch) = patch else {
        panic!("patch must be an object: {patch}")
    };
    for (k, v) in patch {
        if v.is_null() {
            object.remove(&k);
        } else {
            object.insert(k, v);
        }
    }
    base
}

/// Parses and validates a configuration (panics with the error otherwise).
pub fn config(value: &Value) -> ValidConfig {
    load(value).unwrap_or_else(|e| panic!("config should load: {e} ({}) for {value}", e.hint()))
}

/// Parses and validates a configuration.
pub fn load(value: &Value) -> Result<ValidConfig, Error> {
    Ok(JwtConfig::from_json_str(&value.to_string())?.validate()?)
}

/// A verifier for `value`.
pub fn verifier(value: &Value) -> TestVerifier {
    TestVerifier::new(config(value))
}

/// A verifier for [`base_config`] with `patch` applied.
pub fn verifier_with(patch: Value) -> TestVerifier {
    verifier(&patched(base_config(), patch))
}

/// Claims that [`base_config`] accepts at [`NOW`].
pub fn good_claims() -> Value {
    json!({"sub": "jdoe", "iat": NOW - 60, "exp": NOW + 600})
}

/// [`good_claims`] with the members of `patch` set (here `null` stays `null`).
pub fn claims_with(patch: Value) -> Value {
    let mut claims = good_claims();
    let Value::Object(patch) = patch else {
        panic!("patch must be an object: {patch}")
    };
    claims.as_object_mut().unwrap().extend(patch);
    claims
}

/// [`good_claims`] without the named members.
pub fn claims_without(names: &[&str]) -> Value {
    let mut claims = good_claims();
    for name in names {
        claims.as_object_mut().unwrap().remove(*name);
    }
    claims
}

/// An HS256 token over `claims`, signed with [`SECRET`].
pub fn hs256(claims: &Value) -> String {
    hs_key().sign(Algorithm::HS256, claims).unwrap()
}

/// An HS256 token over `claims` under `header`, signed with [`SECRET`].
pub fn hs256_header(header: &Value, claims: &Value) -> String {
    hs_key()
        .sign_with_header(Algorithm::HS256, header, claims)
        .unwrap()
}

/// An HS256 token over raw header and payload bytes, signed with [`SECRET`].
pub fn hs256_raw(header: &[u8], payload: &[u8]) -> String {
    hs_key()
        .sign_raw(Algorithm::HS256, header, payload)
        .unwrap()
}

/// The same, signed with [`OTHER_SECRET`]: the signature does not verify.
pub fn hs256_raw_wrong_key(header: &[u8], payload: &[u8]) -> String {
    SigningKey::from_secret(OTHER_SECRET.as_bytes())
        .sign_raw(Algorithm::HS256, header, payload)
        .unwrap()
}

/// Strict base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes strict base64url.
pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// The three segments of a compact token.
pub fn segments(token: &str) -> [String; 3] {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    [
        parts[0].to_owned(),
        parts[1].to_owned(),
        parts[2].to_owned(),
    ]
}

/// Joins three segments into a token.
pub fn join(h: &str, p: &str, s: &str) -> String {
    format!("{h}.{p}.{s}")
}

/// Checks what every error promises (CONTRACT section 2): a `to_json()`
/// of exactly `kind`, `message` and `hint`, matching `kind()`, `Display`
/// and `hint()`, with a non-empty message and hint.
#[track_caller]
pub fn check_error(err: &Error) {
    check_error_named(err.kind().as_str(), err)
}

/// [`check_error`] for a row of a table: `name` leads every message.
#[track_caller]
pub fn check_error_named(name: &str, err: &Error) {
    let json = err.to_json();
    let object = json
        .as_object()
        .unwrap_or_else(|| panic!("{name}: to_json is not an object: {json}"));
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["hint", "kind", "message"], "{name}: {json}");
    assert_eq!(json["kind"], err.kind().as_str(), "{name}: {json}");
    assert_eq!(json["message"], err.to_string(), "{name}: {json}");
    assert_eq!(json["hint"], err.hint(), "{name}: {json}");
    // The `Serialize` form is the same object, members in the order of
    // CONTRACT section 5.
    let text = serde_json::to_string(err).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json,
        "{name}: {text}"
    );
    let (k, m, h) = (
        text.find("\"kind\""),
        text.find("\"message\""),
        text.find("\"hint\""),
    );
    assert!(
        k < m && m < h && k == Some(1),
        "{name}: members out of order: {text}"
    );
    assert!(
        !err.to_string().trim().is_empty(),
        "{name}: empty message for {:?}",
        err.kind()
    );
    assert!(
        !err.hint().trim().is_empty(),
        "{name}: empty hint for {:?}",
        err.kind()
    );
    assert!(
        !err.kind().hint().trim().is_empty(),
        "{name}: empty kind hint for {:?}",
        err.kind()
    );
    for secret in [SECRET, OTHER_SECRET] {
        assert!(
            !err.to_string().contains(secret),
            "{name}: message leaks a secret: {err}"
        );
    }
}

/// Verifies `token` at `now`, expects a rejection of `kind`, checks the
/// error's shape and returns it.
#[track_caller]
pub fn reject(verifier: &TestVerifier, token: &str, now: i64, kind: ErrorKind) -> Error {
    reject_named(kind.as_str(), verifier, token, now, kind)
}

/// [`reject`] for a row of a table: `name` leads every message.
#[track_caller]
pub fn reject_named(
    name: &str,
    verifier: &TestVerifier,
    token: &str,
    now: i64,
    kind: ErrorKind,
) -> Error {
    match verifier.verify_at(token, now) {
        Ok(identity) => {
            panic!("{name}: expected {kind}, but the token was accepted: {identity:?}")
        }
        Err(err) => {
            assert_eq!(
                err.kind(),
                kind,
                "{name}: expected {kind}, got {}: {err}",
                err.kind()
            );
            check_error_named(name, &err);
            if !token.is_empty() {
                assert!(
                    !err.to_string().contains(token),
                    "{name}: message holds the token: {err}"
                );
            }
            err
        }
    }
}

/// Verifies `token` at `now` and expects it to be accepted.
#[track_caller]
pub fn accept(verifier: &TestVerifier, token: &str, now: i64) -> Verified {
    accept_named("token", verifier, token, now)
}

/// [`accept`] for a row of a table: `name` leads the message.
#[track_caller]
pub fn accept_named(name: &str, verifier: &TestVerifier, token: &str, now: i64) -> Verified {
    verifier
        .verify_at(token, now)
        .unwrap_or_else(|e| panic!("{name}: expected acceptance, got {}: {e}", e.kind()))
}

/// Asserts that the error message contains each of `needles`.
#[track_caller]
pub fn assert_mentions(err: &Error, needles: &[&str]) {
    assert_mentions_named(err.kind().as_str(), err, needles)
}

/// [`assert_mentions`] for a row of a table: `name` leads every message.
#[track_caller]
pub fn assert_mentions_named(name: &str, err: &Error, needles: &[&str]) {
    let message = err.to_string();
    for needle in needles {
        assert!(
            message.contains(needle),
            "{name}: message should name `{needle}`: {message}"
        );
    }
}

/// `secs` as RFC 3339 (whole seconds), e.g. `2026-01-01T00:00:00Z`.
pub fn rfc3339(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Runs the cases of `tests/data/cases/<file>` and returns how many ran.
///
/// A case is `{"name", "config"?, "claims"?, "remove"?, "now"?, "expect"}`:
/// the configuration is [`base_config`] patched with `config`; the claims
/// are [`good_claims`] with `claims` set (a `null` stays `null`) and the
/// names in `remove` removed; `now` defaults to [`NOW`]. `expect` is either
/// `{"identity": {field: value, …}, "warnings_mention"?: [text, …]}` (each
/// field of the serialised identity must equal the value; one warning per
/// text, in order, each containing it) or `{"error": kind, "mentions": [text, …]}`.
pub fn run_cases(file: &str) -> usize {
    let doc = data_json(&format!("cases/{file}"));
    let cases = doc["cases"]
        .as_array()
        .unwrap_or_else(|| panic!("{file}: no `cases` array"));
    assert!(!cases.is_empty(), "{file}: no cases");
    for case in cases {
        let name = case["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{file}: a case has no name"));
        let cfg = patched(
            base_config(),
            case.get("config").cloned().unwrap_or_else(|| json!({})),
        );
        let v = verifier(&cfg);
        let mut claims = good_claims();
        if let Some(Value::Object(set)) = case.get("claims") {
            claims.as_object_mut().unwrap().extend(set.clone());
        }
        if let Some(Value::Array(remove)) = case.get("remove") {
            for r in remove {
                claims.as_object_mut().unwrap().remove(r.as_str().unwrap());
            }
        }
        let now = case.get("now").map_or(NOW, |n| n.as_i64().unwrap());
        let token = hs256(&claims);
        let expect = &case["expect"];
        let result = v.verify_at(&token, now);
        if let Some(kind) = expect.get("error") {
            let err = match result {
                Ok(id) => panic!("{file}: {name}: expected {kind}, accepted as {id:?}"),
                Err(err) => err,
            };
            assert_eq!(
                err.kind().as_str(),
                kind.as_str().unwrap(),
                "{file}: {name}: {err}"
            );
            check_error(&err);
            for needle in expect
                .get("mentions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let needle = needle.as_str().unwrap();
                assert!(
                    err.to_string().contains(needle),
                    "{file}: {name}: message should name `{needle}`: {err}"
                );
            }
        } else if let Some(Value::Object(fields)) = expect.get("identity") {
            let identity = result.unwrap_or_else(|e| {
                panic!("{file}: {name}: expected acceptance, got {}: {e}", e.kind())
            });
            let got = serde_json::to_value(&identity).unwrap();
            for (field, want) in fields {
                assert_eq!(
                    &got[field], want,
                    "{file}: {name}: field `{field}` of {got}"
                );
            }
            if let Some(Value::Array(mentions)) = expect.get("warnings_mention") {
                assert_eq!(
                    identity.warnings.len(),
                    mentions.len(),
                    "{file}: {name}: {got}"
                );
                for (warning, needle) in identity.warnings.iter().zip(mentions) {
                    let needle = needle.as_str().unwrap();
                    assert!(
                        warning.contains(needle),
                        "{file}: {name}: `{warning}` should name {needle}"
                    );
                }
            }
        } else {
            panic!("{file}: {name}: `expect` needs `error` or `identity`");
        }
    }
    cases.len()
}

/// The system clock's time in whole seconds (for tests against processes
/// and servers that read the real clock).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64
}

/// An HS256 token over `claims`, signed with `secret`.
pub fn sign(secret: &str, claims: Value) -> String {
    SigningKey::from_secret(secret.as_bytes())
        .sign(Algorithm::HS256, &claims)
        .expect("signing")
}

/// A fresh directory under the system's temporary directory, removed on
/// drop. Its name holds the test process's id and a counter, so tests of one
/// tier that pick the same `name` never share a directory.
#[derive(Debug)]
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(name: &str) -> TempDir {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("jwt-sso-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }

    pub fn join(&self, path: impl AsRef<std::path::Path>) -> std::path::PathBuf {
        self.0.join(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The crypto backend a test runs on (for its report): `aws-lc` wins when
/// both are compiled in, as in the library.
pub fn backend_name() -> &'static str {
    if cfg!(feature = "aws-lc") {
        "aws-lc"
    } else {
        "rust-crypto"
    }
}

/// Asserts that `text` (a message, a log event) shows neither [`SECRET`]
/// nor [`OTHER_SECRET`], nor `token` or any of its segments of 8 characters
/// or more; `name` leads every message.
#[track_caller]
pub fn assert_hides_token(name: &str, text: &str, token: &str) {
    for secret in [SECRET, OTHER_SECRET] {
        assert!(!text.contains(secret), "{name}: shows a secret: {text}");
    }
    assert!(!text.contains(token), "{name}: shows the token: {text}");
    for segment in token.split('.').filter(|s| s.len() >= 8) {
        assert!(
            !text.contains(segment),
            "{name}: shows a token segment: {text}"
        );
    }
}

/// The example configuration of CONTRACT section 1, every member written
/// out (name `ERP`, issuer `https://idp.example.com`, audience `bi-server`,
/// three system prompts, metadata), with `key_source` and the `algorithms`
/// that fit it.
pub fn contract_config(algorithms: Value, key_source: Value) -> Value {
    json!({
        "name": "ERP",
        "enabled": true,
        "token_name": "token",
        "issuer": "https://idp.example.com",
        "audience": "bi-server",
        "algorithms": algorithms,
        "key_source": key_source,
        "expiration_time": 86400,
        "leeway": 60,
        "max_token_bytes": 16384,
        "claims": {"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
        "system_prompts": [
            {"kind": "text", "slot": 1, "claim": "department"},
            {"kind": "numeric", "slot": 2, "claim": "level"},
            {"kind": "date", "slot": 1, "claim": "hired"}
        ],
        "user_type": "reader",
        "initial_roles": ["Viewer"],
        "created_by": "admin",
        "last_modified": "2026-03-13T10:00:00Z"
    })
}
