//! Project Wycheproof's JSON Web Signature and JSON Web Key vectors, run
//! through jwt-sso's key loading and signature stage (see
//! `tests/data/wycheproof/README.md` for their source and licence).
//!
//! jwt-sso verifies whole JWTs, and most Wycheproof payloads are not JWT
//! claims (`foo`, `123400`, RFC 7520's text). So each case is run as a real
//! deployment would meet it: a configuration with an inline JWK Set holding
//! the group's key (private members stripped) that allows every algorithm,
//! then `verify`. The outcome is classified:
//!
//! - **holds**: the signature stage passed, i.e. the token was accepted or
//!   refused only afterwards (a payload that is not a JSON object is
//!   `malformed` in the *payload*, CONTRACT section 2 step 8);
//! - **refused**: refused at or before the signature (`malformed` token or
//!   header, `algorithm_not_allowed`, `critical_header`, `key_not_found`,
//!   `invalid_signature`), or the key set was refused when loaded (`config`).
//!
//! A `valid` case must hold and an `invalid` one must be refused, except for
//! the cases in [`OVERRIDES`], each with its reason. An override must match
//! what happens and must still be needed, so the table cannot go stale.

use std::collections::BTreeMap;

use jwt_sso::{Algorithm, Error, ErrorKind, JwtConfig, TokenError, TokenPart};
use serde_json::{Value, json};

use crate::support::clocked;
use crate::support::fixtures::{NOW, backend_name};
use clocked::TestVerifier;

const JWS: &str = include_str!("../data/wycheproof/json_web_signature_test.json");
const JWK: &str = include_str!("../data/wycheproof/json_web_key_test.json");

/// The JWK members that hold private key material (RFC 7518 section 6).
/// `k` stays: an `oct` key is the verification key of HMAC.
const PRIVATE_MEMBERS: [&str; 7] = ["d", "p", "q", "dp", "dq", "qi", "oth"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Holds,
    Refused,
}

/// Cases where jwt-sso's outcome differs from the file's, on purpose.
/// (file, tcId, jwt-sso's verdict, the error kind, why)
const OVERRIDES: &[(&str, u64, Verdict, &str, &str)] = &[
    (
        "jws",
        346,
        Verdict::Refused,
        "key_not_found",
        "policy (one key, one algorithm): the JWK's `alg` pins PS256 and the token is PS384 (RFC 7520 figure 20 with a PS256-labelled key)",
    ),
    (
        "jws",
        350,
        Verdict::Refused,
        "key_not_found",
        "policy (one key, one algorithm): as tc346, with key_ops",
    ),
    (
        "jws",
        347,
        Verdict::Refused,
        "config",
        "policy: ES512 (P-521) is not supported by the crypto backends (CONTRACT section 1); the file's JWK also says `alg: ES521`",
    ),
    (
        "jws",
        351,
        Verdict::Refused,
        "config",
        "policy: ES512 (P-521) is not supported, as tc347",
    ),
    (
        "jws",
        367,
        Verdict::Holds,
        "malformed",
        "erratum: the padding that made the case invalid was lost in serialisation; the token is byte-identical to valid tc357",
    ),
    (
        "jws",
        370,
        Verdict::Holds,
        "malformed",
        "erratum: as tc367 (payload padding lost), byte-identical to valid tc357",
    ),
    (
        "jws",
        372,
        Verdict::Refused,
        "malformed",
        "erratum: a `?` was inserted into the header after signing, yet the case is marked valid; strict base64url refuses it",
    ),
    (
        "jws",
        373,
        Verdict::Refused,
        "malformed",
        "erratum: as tc372, in the payload",
    ),
    (
        "jwk",
        1,
        Verdict::Holds,
        "malformed",
        "policy: an inline set may hold an `oct` secret next to public keys (flagged Ambiguous); every key verifies only its own family, so the mix cannot cause confusion (tests/attacks.rs, 03_cross_family.json)",
    ),
    (
        "jwk",
        4,
        Verdict::Holds,
        "malformed",
        "policy: two keys share a `kid` (flagged Ambiguous); CONTRACT section 2 step 6 makes each a candidate, and every key in the configured set is trusted",
    ),
];

fn override_for(
    file: &str,
    id: u64,
) -> Option<&'static (&'static str, u64, Verdict, &'static str, &'static str)> {
    OVERRIDES.iter().find(|o| o.0 == file && o.1 == id)
}

fn public(jwk: &Value) -> Value {
    let mut jwk = jwk.clone();
    if let Some(map) = jwk.as_object_mut() {
        for member in PRIVATE_MEMBERS {
            map.remove(member);
        }
    }
    jwk
}

fn load(keys: Vec<Value>) -> Result<TestVerifier, Error> {
    let all: Vec<&str> = Algorithm::ALL.iter().map(|a| a.as_str()).collect();
    let config = json!({
        "name": "wycheproof", "token_name": "token", "algorithms": all,
        "key_source": {"type": "jwks", "jwks": {"keys": keys}},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    });
    JwtConfig::from_json_str(&config.to_string())
        .and_then(JwtConfig::validate)
        .map(TestVerifier::new)
        .map_err(Error::from)
}

/// The verdict and the error kind (`accepted` when none).
fn outcome(verifier: &Result<TestVerifier, Error>, token: &str) -> (Verdict, String) {
    let verifier = match verifier {
        Ok(v) => v,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Config, "{e}");
            return (Verdict::Refused, "config".to_owned());
        }
    };
    // The tokens carry no `exp`; the time does not matter for the signature.
    match verifier.verify_at(token, NOW) {
        Ok(_) => (Verdict::Holds, "accepted".to_owned()),
        Err(e) => {
            let refused = match &e {
                Error::Token(TokenError::Malformed { part, .. }) => *part != TokenPart::Payload,
                _ => matches!(
                    e.kind(),
                    ErrorKind::AlgorithmNotAllowed
                        | ErrorKind::CriticalHeader
                        | ErrorKind::KeyNotFound
                        | ErrorKind::InvalidSignature
                ),
            };
            let verdict = if refused {
                Verdict::Refused
            } else {
                Verdict::Holds
            };
            (verdict, e.kind().as_str().to_owned())
        }
    }
}

struct Tally {
    passed: usize,
    overridden: Vec<u64>,
    kinds: BTreeMap<String, usize>,
    failures: Vec<String>,
}

/// Runs every case of one file; `keys` gives a group's key set.
fn run(file: &str, text: &str, keys: impl Fn(&Value) -> Vec<Value>) -> Tally {
    let doc: Value = serde_json::from_str(text).unwrap();
    let mut tally = Tally {
        passed: 0,
        overridden: Vec::new(),
        kinds: BTreeMap::new(),
        failures: Vec::new(),
    };
    let mut count = 0;
    for group in doc["testGroups"].as_array().unwrap() {
        let verifier = load(keys(group));
        for case in group["tests"].as_array().unwrap() {
            count += 1;
            let id = case["tcId"].as_u64().unwrap();
            // JSON-serialised JWS (tc17) is an object: as text it is what a client would send.
            let token = match &case["jws"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let expected = match case["result"].as_str().unwrap() {
                "valid" => Verdict::Holds,
                "invalid" => Verdict::Refused,
                other => panic!("{file} tc{id}: result `{other}`"),
            };
            let (verdict, kind) = outcome(&verifier, &token);
            *tally.kinds.entry(kind.clone()).or_default() += 1;
            let comment = case["comment"].as_str().unwrap_or("");
            match override_for(file, id) {
                Some(&(_, _, want, want_kind, why)) => {
                    if want == expected {
                        tally.failures.push(format!(
                            "{file} tc{id}: stale override, the file agrees ({why})"
                        ));
                    } else if verdict != want || kind != want_kind {
                        tally.failures.push(format!(
                            "{file} tc{id} ({comment}): overridden to {want:?}/{want_kind}, got {verdict:?}/{kind}"
                        ));
                    } else {
                        tally.overridden.push(id);
                    }
                }
                None if verdict == expected => tally.passed += 1,
                None => tally.failures.push(format!(
                    "{file} tc{id} ({comment}): expected {expected:?}, got {verdict:?} ({kind})"
                )),
            }
        }
    }
    assert_eq!(
        count as u64,
        doc["numberOfTests"].as_u64().unwrap(),
        "{file}: case count"
    );
    tally
}

/// Runs every case of one file (see [`run`]), prints the tally and expects
/// no failure and `count` cases passed or overridden.
fn check_file(file: &str, text: &str, keys: impl Fn(&Value) -> Vec<Value>, count: usize) {
    let tally = run(file, text, keys);
    println!(
        "wycheproof {file}: {} passed, {} overridden {:?}, {} failed; outcomes {:?} (backend {})",
        tally.passed,
        tally.overridden.len(),
        tally.overridden,
        tally.failures.len(),
        tally.kinds,
        backend_name()
    );
    assert!(
        tally.failures.is_empty(),
        "{file}: {} failures:\n{}",
        tally.failures.len(),
        tally.failures.join("\n")
    );
    assert_eq!(
        tally.passed + tally.overridden.len(),
        count,
        "{file}: cases passed or overridden"
    );
}

/// The key of a group, or its key set: HMAC groups give it only as
/// `private` (an oct key, whose `k` [`public`] keeps).
fn group_key(group: &Value) -> &Value {
    group
        .get("public")
        .or_else(|| group.get("private"))
        .expect("a group key")
}

#[test]
fn json_web_signature_vectors() {
    // Each group has one key.
    check_file("jws", JWS, |group| vec![public(group_key(group))], 401);
}

#[test]
fn json_web_key_vectors() {
    // Each group has a key set.
    let keys = |group: &Value| {
        let set = group_key(group)["keys"].as_array().expect("a key set");
        set.iter().map(public).collect()
    };
    check_file("jwk", JWK, keys, 26);
}

#[test]
fn the_vectors_are_the_published_files() {
    for (name, text, count) in [("jws", JWS, 401), ("jwk", JWK, 26)] {
        let doc: Value = serde_json::from_str(text).unwrap();
        assert_eq!(doc["numberOfTests"], count, "{name}");
        let ids: Vec<u64> = doc["testGroups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| {
                g["tests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["tcId"].as_u64().unwrap())
            })
            .collect();
        assert_eq!(
            ids,
            (1..=count).collect::<Vec<u64>>(),
            "{name}: tcIds 1..={count} in order"
        );
    }
    // Every override names a case that exists.
    for (file, id, ..) in OVERRIDES {
        assert!(
            *id >= 1 && *id <= if *file == "jws" { 401 } else { 26 },
            "{file} tc{id}"
        );
    }
}
