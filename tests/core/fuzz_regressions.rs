//! Inputs the fuzz targets in `fuzz/` stopped on, replayed in the normal suite
//! the way the target ran them, with what was learnt from each.
#![cfg(feature = "mint")]

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, ErrorKind, JwtConfig};
use serde_json::json;

use crate::support::clocked;
// The `verify_token` target's time, 2026-01-01T00:00:00Z.
use crate::support::fixtures::NOW;
use clocked::TestVerifier;

/// The `verify_token` target's shared secret.
const SECRET: &str = "fuzz-shared-secret-0123456789abcdef-0123456789abcdef-0123456789a";

/// The `verify_token` target's shared-secret configuration.
fn hmac() -> TestVerifier {
    let config = json!({
        "name": "fuzz-hs", "token_name": "t", "algorithms": ["HS256", "HS384", "HS512"],
        "key_source": {"type": "static", "secret": SECRET},
        "expiration_time": 3_000_000_000u64,
        "claims": {"user_id": "sub", "name": "name", "email": "email", "roles": "/realm_access/roles"},
        "system_prompts": [{"kind": "text", "slot": 1, "claim": "dept"},
            {"kind": "numeric", "slot": 2, "claim": "level"},
            {"kind": "date", "slot": 1, "claim": "hired"}],
        "initial_roles": ["Viewer"]
    });
    TestVerifier::new(
        JwtConfig::from_json_str(&config.to_string())
            .unwrap()
            .validate()
            .unwrap(),
    )
}

/// `verify_token` mode 3: `header 0x00 payload`, both signed as they are.
fn signed_header_and_payload(input: &[u8]) -> String {
    let rest = &input[1..];
    let (header, payload) = match rest.iter().position(|b| *b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &b"{}"[..]),
    };
    SigningKey::from_secret(SECRET.as_bytes())
        .sign_raw(Algorithm::HS256, header, payload)
        .unwrap()
}

/// The crash artefacts of the `verify_token` target: name, the input (in
/// standard base64, as the artefact is stored), the error kind it must get,
/// and what its message must name. Each has a test below with its story.
#[rustfmt::skip]
const CRASHES: [(&str, &str, ErrorKind, &[&str]); 2] = [
    ("crash-69f65dbc", "A3siYWxnIjoiZk57dnZ2dnZ2dnZ2aWF2dnZ2dkBmdXp6LXNoYXJlZC1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZi0wMTIzNDU2Nzg5YWJjZGVmLTAxMjM0NTY3ODlhdnZsZXZlYyJ9AHsic3V/AAAAAAACZW0=",
        ErrorKind::AlgorithmNotAllowed, &["allowed: HS256, HS384, HS512"]),
    ("crash-683ead4b", "A3siYWxnIjoiSFMyNTYiLCJjcml0Ijoif39hIn0=",
        ErrorKind::CriticalHeader, &[r"\u{7f}\u{7f}a"]),
];

/// Replays the crash named `name` as the target ran it: the token is
/// refused with its kind and a message that names what it must and holds
/// no control character (it is logged).
#[track_caller]
fn replay(name: &str) {
    let (_, input, kind, mentions) = CRASHES
        .into_iter()
        .find(|c| c.0 == name)
        .unwrap_or_else(|| panic!("no crash {name}"));
    let input = STANDARD.decode(input).unwrap();
    assert_eq!(input[0] % 4, 3, "{name}: mode 3 of the target");
    let token = signed_header_and_payload(&input);
    let message = match hmac().verify_at(&token, NOW) {
        Ok(id) => panic!("{name}: accepted as {id:?}"),
        Err(error) => {
            assert_eq!(error.kind(), kind, "{name}: {error}");
            error.to_string()
        }
    };
    assert!(
        !message.chars().any(char::is_control),
        "{name}: a control character in the message: {message:?}"
    );
    for needle in mentions {
        assert!(
            message.contains(needle),
            "{name}: should name {needle}: {message}"
        );
    }
}

/// crash-69f65dbc (rust-crypto backend, 2.2 million runs in): a header whose
/// `alg` holds the shared secret's text, which the fuzzer had learnt from the
/// target's own "does the error show the secret?" comparison. The error quotes
/// the `alg` the token itself brought, so this was the target's check being too
/// strict, not a leak; the target now allows quoting what the input carries.
/// Kept: the message quotes the unknown `alg` (escaped), names the allowlist,
/// and nothing panics.
#[test]
fn crash_69f65dbc_an_alg_that_quotes_the_secret() {
    replay("crash-69f65dbc");
    // The quoted `alg` is the token's own text; a secret the token did not bring never shows.
    let plain = SigningKey::from_secret(SECRET.as_bytes())
        .sign_raw(Algorithm::HS256, br#"{"alg":"XS256"}"#, b"{}")
        .unwrap();
    let error = hmac().verify_at(&plain, NOW).unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::AlgorithmNotAllowed,
        "alg XS256: {error}"
    );
    assert!(
        !error.to_string().contains(SECRET),
        "alg XS256: the message shows the secret: {error}"
    );
}

/// crash-683ead4b (aws-lc backend, 2.3 million runs in): a `crit` holding DEL
/// (U+007F), which JSON rendering leaves unescaped, reached the
/// `critical_header` message raw; C1 controls such as NEL (U+0085, a line
/// break to some log viewers) and CSI (U+009B) would too. Fixed: the `crit`
/// text is escaped like every other text from a token.
#[test]
fn crash_683ead4b_a_crit_holding_control_characters() {
    replay("crash-683ead4b");
}
