//! Tokens made by other JWT implementations (PyJWT, jwcrypto, python-jose,
//! `cryptography`, and panva's `jose` for `Ed25519`), run through the
//! verifier and checked against the outcome CONTRACT.md prescribes.
//!
//! The fixtures live in `tests/data/external/`: `cases.json`, made once by
//! `generate.py`, and `cases-jose.json`, made once by `generate-jose.mjs`
//! (see the README there). Every case is checked and every mismatch is
//! listed, so one run shows them all.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_sso::{Error, JwtConfig, MappedIdentity};
use serde_json::Value;

use crate::support::clocked;
use clocked::TestVerifier;

/// The fixture files, each a JSON array of cases in the same format.
const FILES: [(&str, &str); 2] = [
    (
        "cases.json",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/external/cases.json"
        )),
    ),
    (
        "cases-jose.json",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/external/cases-jose.json"
        )),
    ),
];

/// The members an `expect` object may have.
const EXPECT_KEYS: [&str; 10] = [
    "ok",
    "kind",
    "user_id",
    "expires_at",
    "name",
    "email",
    "user_type",
    "roles",
    "prompts",
    "warnings",
];

fn cases() -> Vec<Value> {
    let mut all = Vec::new();
    for (file, text) in FILES {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(cases)) => all.extend(cases),
            other => panic!("{file} must be a JSON array of cases, got {other:?}"),
        }
    }
    all
}

fn text<'a>(case: &'a Value, key: &str) -> &'a str {
    case[key]
        .as_str()
        .unwrap_or_else(|| panic!("case member `{key}` must be a string: {case}"))
}

/// The `alg` of a case's token header.
fn alg_of(case: &Value) -> String {
    let header = text(case, "token").split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["alg"]
        .as_str()
        .unwrap_or_else(|| panic!("{}: the header has no string alg", text(case, "name")))
        .to_owned()
}

/// JSON equality where numbers compare by value (`42` equals `42.0`).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

/// Compares an accepted identity with the expectation; returns the differences.
fn check_identity(expect: &Value, id: &MappedIdentity) -> Vec<String> {
    let mut diffs = Vec::new();
    for (key, expected) in expect.as_object().into_iter().flatten() {
        let actual = match key.as_str() {
            "ok" => continue,
            "user_id" => Value::from(id.user_id.clone()),
            "name" => serde_json::json!(id.name),
            "email" => serde_json::json!(id.email),
            "user_type" => Value::from(id.user_type.clone()),
            "roles" => serde_json::json!(id.roles),
            "prompts" => serde_json::to_value(&id.prompts).unwrap(),
            "warnings" => Value::from(id.warnings.len()),
            "expires_at" => {
                let want = expected.as_f64().expect("expires_at is a NumericDate");
                let got = id.expires_at.unix_timestamp_nanos() as f64 / 1e9;
                // Within a microsecond: f64 cannot hold nanoseconds at this magnitude.
                if (want - got).abs() > 1e-6 {
                    diffs.push(format!(
                        "expires_at: expected {want} ({}), got {got} ({})",
                        rfc3339(want),
                        rfc3339(got)
                    ));
                }
                continue;
            }
            other => {
                diffs.push(format!("fixture error: unknown expectation `{other}`"));
                continue;
            }
        };
        if !same_json(expected, &actual) {
            diffs.push(format!("{key}: expected {expected}, got {actual}"));
        }
    }
    diffs
}

fn rfc3339(secs: f64) -> String {
    let nanos = (secs * 1e9).round() as i128;
    time::OffsetDateTime::from_unix_timestamp_nanos(nanos)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| format!("{secs} s"))
}

/// Runs one case; `Err` describes the mismatch.
fn run(case: &Value) -> Result<(), String> {
    let expect = &case["expect"];
    let unknown: Vec<&String> = expect
        .as_object()
        .ok_or("fixture error: `expect` is not an object")?
        .keys()
        .filter(|k| !EXPECT_KEYS.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "fixture error: unknown expectation members {unknown:?}"
        ));
    }
    let expect_ok = expect["ok"]
        .as_bool()
        .ok_or("fixture error: `expect.ok` is not a boolean")?;
    let expected_kind = expect["kind"].as_str();
    if !expect_ok && expected_kind.is_none() {
        return Err("fixture error: a rejection needs `expect.kind`".into());
    }

    let loaded = JwtConfig::from_json_str(&case["config"].to_string())
        .and_then(JwtConfig::validate)
        .map(TestVerifier::new)
        .map_err(Error::from);
    let verifier = match (loaded, expected_kind) {
        (Err(e), Some("config")) if e.kind().as_str() == "config" => return Ok(()),
        (Err(e), _) => {
            return Err(format!(
                "expected {}, but the configuration did not load: {} ({e})",
                expected(expect),
                e.kind()
            ));
        }
        (Ok(_), Some("config")) => {
            return Err("expected kind `config`, but the configuration loaded".into());
        }
        (Ok(verifier), _) => verifier,
    };
    let now = case["now"]
        .as_i64()
        .ok_or("fixture error: `now` is not an integer")?;
    match (verifier.verify_at(text(case, "token"), now), expected_kind) {
        (Ok(id), None) => {
            let diffs = check_identity(expect, &id);
            if diffs.is_empty() {
                Ok(())
            } else {
                Err(format!("accepted, but {}", diffs.join("; ")))
            }
        }
        (Ok(id), Some(kind)) => Err(format!(
            "expected kind `{kind}`, but the token was accepted (user_id {:?}, expires_at {})",
            id.user_id,
            rfc3339(id.expires_at.unix_timestamp_nanos() as f64 / 1e9)
        )),
        (Err(e), Some(kind)) if e.kind().as_str() == kind => Ok(()),
        (Err(e), _) => Err(format!(
            "expected {}, got kind `{}`: {e} (hint: {})",
            expected(expect),
            e.kind(),
            e.hint()
        )),
    }
}

fn expected(expect: &Value) -> String {
    match expect["kind"].as_str() {
        Some(kind) => format!("kind `{kind}`"),
        None => "acceptance".to_owned(),
    }
}

#[test]
fn tokens_from_other_implementations() {
    let cases = cases();
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = run(case) {
            failures.push(format!(
                "{} [{}]: {why}",
                text(case, "name"),
                text(case, "made_by")
            ));
        }
    }
    eprintln!(
        "{} of {} external cases pass",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} external cases fail:\n  {}",
        failures.len(),
        cases.len(),
        failures.join("\n  ")
    );
}

#[test]
fn fixture_is_well_formed_and_covers_every_algorithm() {
    let cases = cases();
    let mut names = std::collections::HashSet::new();
    let mut accepted_algs = std::collections::HashSet::new();
    for case in &cases {
        let name = text(case, "name");
        assert!(names.insert(name), "duplicate case name {name}");
        for key in ["made_by", "token"] {
            text(case, key);
        }
        assert!(
            case["config"].is_object(),
            "{name}: config is not an object"
        );
        assert!(case["now"].is_i64(), "{name}: now is not an integer");
        if case["expect"]["ok"] == true {
            accepted_algs.insert(alg_of(case));
        }
    }
    for alg in jwt_sso::Algorithm::ALL {
        assert!(
            accepted_algs.contains(alg.as_str()),
            "no accepted {alg} token in the fixture"
        );
    }
}

/// `Ed25519` (RFC 9864) comes from a second implementation, panva's `jose`,
/// with refusals for a wrong key and for each name against the other.
#[test]
fn ed25519_tokens_come_from_jose_with_refusals() {
    let cases = cases();
    let jose: Vec<&Value> = cases
        .iter()
        .filter(|c| text(c, "made_by").starts_with("jose "))
        .collect();
    let with = |alg: &str, kind: Option<&str>| {
        jose.iter()
            .filter(|c| alg_of(c) == alg && c["expect"]["kind"].as_str() == kind)
            .count()
    };
    assert!(with("Ed25519", None) >= 3, "accepted Ed25519 tokens");
    assert!(
        with("Ed25519", Some("invalid_signature")) >= 1,
        "a wrong key"
    );
    assert!(
        with("Ed25519", Some("algorithm_not_allowed")) >= 1
            && with("EdDSA", Some("algorithm_not_allowed")) >= 1,
        "each name against a configuration allowing only the other"
    );
    for case in jose {
        run(case).unwrap_or_else(|why| panic!("{}: {why}", text(case, "name")));
    }
}
