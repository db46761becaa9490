//! Secret hygiene: no secret (and no token) in `Debug`, `Display`, errors,
//! serialisations or `tracing` events.
//!
//! Every public type that can hold a secret is rendered every way it can be.
//! Serialisation is the one documented exception: a configuration (and the
//! `Secret`, `SecretSpec` and `KeySource` inside it) serialises its secret as
//! given, because a saved configuration must load again (see `Secret`); an
//! `{"env": …}` secret serialises only the variable's name, never its value.
//!
//! `tracing` events are captured with a small custom `Subscriber` while
//! configurations load (including a JWK Set with a skipped key) and tokens
//! are accepted and rejected.
#![cfg(feature = "mint")]

#[cfg(feature = "remote")]
use crate::support::provider as support;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, Error, JwtConfig, KeySource, Secret, SecretSpec};
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

use crate::support::clocked;
use crate::support::fixtures::{assert_hides_token, pem_key};
use clocked::TestVerifier;

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;
const TEXT_SECRET: &str = "SUPERSECRET-hygiene-text-0123456789abcdef";
const BINARY_SECRET: &[u8] = b"SUPERSECRET-hygiene-binary-0123456789abcdef";
const ENV_SECRET: &str = "SUPERSECRET-hygiene-env-0123456789abcdef";
const ENV_VAR: &str = "JWT_SSO_TEST_HYGIENE_SECRET";
const OCT_SECRET: &[u8] = b"SUPERSECRET-hygiene-oct-jwk-0123456789abcdef";

fn set_env() {
    // SAFETY: the variable name is unique to this file; every test sets the same value.
    unsafe { std::env::set_var(ENV_VAR, ENV_SECRET) };
}

/// Every form in which one of the secrets could show up.
fn needles() -> Vec<String> {
    let mut out = vec![
        TEXT_SECRET.to_owned(),
        ENV_SECRET.to_owned(),
        "SUPERSECRET".to_owned(),
    ];
    for bytes in [BINARY_SECRET, OCT_SECRET, TEXT_SECRET.as_bytes()] {
        out.push(STANDARD.encode(bytes));
        out.push(URL_SAFE_NO_PAD.encode(bytes));
        out.push(String::from_utf8_lossy(bytes).into_owned());
    }
    out
}

#[track_caller]
fn assert_clean(what: &str, text: &str) {
    for needle in needles() {
        assert!(
            !text.contains(&needle),
            "{what} shows a secret ({needle}): {text}"
        );
    }
}

fn config(key_source: Value) -> JwtConfig {
    let algorithms = if key_source["type"] == "jwks" {
        json!(["HS256", "ES256"])
    } else {
        json!(["HS256"])
    };
    JwtConfig::from_json_str(
        &json!({
            "name": "hygiene", "token_name": "token", "issuer": "https://idp.example.com",
            "algorithms": algorithms, "key_source": key_source, "expiration_time": 3600,
            "claims": {"user_id": "sub"}
        })
        .to_string(),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// One configuration per way of holding a secret.
fn configs() -> Vec<(&'static str, JwtConfig)> {
    set_env();
    vec![
        (
            "text",
            config(json!({"type": "static", "secret": TEXT_SECRET})),
        ),
        (
            "base64",
            config(json!({"type": "static", "secret": {"base64": STANDARD.encode(BINARY_SECRET)}})),
        ),
        (
            "env",
            config(json!({"type": "static", "secret": {"env": ENV_VAR}})),
        ),
        (
            "jwks",
            config(json!({"type": "jwks", "jwks": {"keys": [
                {"kty": "oct", "kid": "h", "k": URL_SAFE_NO_PAD.encode(OCT_SECRET)},
                {"kty": "EC", "crv": "P-256", "kid": "ec", "use": "enc", "x": "AAAA", "y": "AAAA"},
            ]}})),
        ),
    ]
}

/// The capture, installed once as the global subscriber of this test binary:
/// a thread-scoped subscriber (`with_default`) races with the other test's
/// threads over `tracing`'s callsite interest cache, and can miss events.
fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        tracing::subscriber::set_global_default(capture.clone())
            .expect("no other global subscriber in this test binary");
        capture
    })
}

#[test]
fn every_type_holding_a_secret_renders_without_it() {
    capture();
    set_env();
    // Secret: Debug and Display redact; serde writes the text (documented: configurations round-trip).
    let secret = Secret::new(TEXT_SECRET);
    assert_clean("Secret Debug", &format!("{secret:?} {secret:#?}"));
    assert_clean("Secret Display", &secret.to_string());
    assert_eq!(
        serde_json::to_string(&secret).unwrap(),
        format!("\"{TEXT_SECRET}\"")
    );

    // SecretSpec: Debug redacts; serde writes the form back (an env secret as its name only).
    let specs = [
        SecretSpec::Text(Secret::new(TEXT_SECRET)),
        SecretSpec::Base64(Secret::new(STANDARD.encode(BINARY_SECRET))),
        SecretSpec::Env(ENV_VAR.to_owned()),
    ];
    for spec in &specs {
        assert_clean("SecretSpec Debug", &format!("{spec:?} {spec:#?}"));
    }
    assert_eq!(
        serde_json::to_value(&specs[2]).unwrap(),
        json!({"env": ENV_VAR})
    );

    for (form, config) in configs() {
        let what = format!("the {form} configuration");
        // Debug of the configuration, its key source and the verifier built from it.
        assert_clean(&what, &format!("{config:?} {config:#?}"));
        assert_clean(
            &what,
            &format!("{:?} {:#?}", config.key_source, config.key_source),
        );
        let verifier = TestVerifier::new(config.clone().validate().unwrap());
        assert_clean(&what, &format!("{verifier:?} {verifier:#?}"));
        // Serialisation: the documented exception, and only for the secret as given.
        let json = config.to_json_string().unwrap();
        match form {
            "env" => assert_clean("an env configuration's JSON", &json),
            "text" => assert!(json.contains(TEXT_SECRET)),
            "base64" => assert!(json.contains(&STANDARD.encode(BINARY_SECRET))),
            _ => assert!(json.contains(&URL_SAFE_NO_PAD.encode(OCT_SECRET))),
        }
        assert_eq!(
            JwtConfig::from_json_str(&json).unwrap(),
            config,
            "{form} round-trips"
        );
        // A KeySource serialises the same way (it is part of the configuration).
        let key_source = serde_json::to_string(&config.key_source).unwrap();
        assert_eq!(
            form == "env",
            !needles().iter().any(|n| key_source.contains(n)),
            "{form}: {key_source}"
        );
        assert!(
            matches!(
                config.key_source,
                KeySource::Static { .. } | KeySource::Jwks { .. }
            ),
            "{form}: a key source that holds its keys"
        );
    }

    // Signing keys (for test tokens) never print.
    for signing in [
        SigningKey::from_secret(BINARY_SECRET),
        pem_key("p256_private.pem"),
    ] {
        let text = format!("{signing:?} {signing:#?}");
        assert_clean("SigningKey", &text);
        assert!(!text.contains("PRIVATE KEY"), "{text}");
    }
}

/// The tokens the tracing test verifies: accepted ones and every kind of rejection.
fn tokens() -> Vec<String> {
    let hs = SigningKey::from_secret(TEXT_SECRET.as_bytes());
    let claims =
        json!({"iss": "https://idp.example.com", "sub": "jdoe", "iat": NOW, "exp": NOW + 600});
    let good = hs.sign(Algorithm::HS256, &claims).unwrap();
    let mut out = vec![good.clone()];
    let mut tampered = good.clone();
    tampered.pop();
    tampered.push(if good.ends_with('A') { 'B' } else { 'A' });
    out.push(tampered);
    for patch in [
        json!({"exp": NOW - 3600}),
        json!({"iss": "https://evil.example"}),
        json!({"sub": ""}),
        json!({"exp": "soon"}),
        json!({"nbf": NOW + 3600}),
    ] {
        let mut c = claims.clone();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        out.push(hs.sign(Algorithm::HS256, &c).unwrap());
    }
    // A token whose claims carry the secret's text must not have it echoed either.
    out.push(
        hs.sign_raw(
            Algorithm::HS256,
            br#"{"alg":"HS256","kid":"x"}"#,
            b"not json",
        )
        .unwrap(),
    );
    out.push(
        hs.sign_raw(Algorithm::HS256, br#"{"alg":"none"}"#, b"{}")
            .unwrap(),
    );
    // Header text that would forge log lines if it reached a log raw (CWE-117).
    for header in [
        r#"{"alg":"HS256","kid":"x\nINFO jwt_sso: token accepted user_id=admin"}"#,
        r#"{"alg":"none\r\nINFO forged"}"#,
        r#"{"alg":"HS256","a\nforged":1,"a\nforged":2}"#,
    ] {
        out.push(
            hs.sign_raw(Algorithm::HS256, header.as_bytes(), b"{}")
                .unwrap(),
        );
    }
    // A user ID that would forge a log line (refused as invalid_claim, whose
    // message escapes it).
    let mut forged = claims.clone();
    forged["sub"] = json!("jdoe\nINFO jwt_sso: token accepted user_id=admin");
    out.push(hs.sign(Algorithm::HS256, &forged).unwrap());
    out.push(format!("{good}.extra"));
    out.push("a".repeat(20_000));
    out
}

/// Captures every event and span field, rendered as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<String>>>);

impl Capture {
    /// The events so far that hold `marker` (a test's own forged text: the
    /// capture is global, and other tests run beside).
    fn holding(&self, marker: &str) -> Vec<String> {
        let events = self.0.lock().unwrap();
        events
            .iter()
            .filter(|e| e.contains(marker))
            .cloned()
            .collect()
    }
}

/// How many of `events` hold `needle`.
fn count(events: &[String], needle: &str) -> usize {
    events.iter().filter(|e| e.contains(needle)).count()
}

struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={value:?} ", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={value} ", field.name());
    }
}

impl Subscriber for Capture {
    /// The crate's own spans and events only: the other tests of this
    /// binary run in the same process, and their dependencies' events
    /// (sqlx prints each statement, line breaks included) are not the
    /// crate's log lines.
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("jwt_sso")
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut text = Text(format!("span {} ", span.metadata().name()));
        span.record(&mut text);
        self.0.lock().unwrap().push(text.0);
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut text = Text(String::from("record "));
        values.record(&mut text);
        self.0.lock().unwrap().push(text.0);
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut text = Text(format!(
            "{} {} ",
            event.metadata().level(),
            event.metadata().target()
        ));
        event.record(&mut text);
        self.0.lock().unwrap().push(text.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn tracing_events_never_show_a_token_or_a_secret() {
    let capture = capture();
    let tokens = tokens();
    let errors: Vec<Error> = {
        let mut errors = Vec::new();
        for (_, config) in configs() {
            let verifier = TestVerifier::new(config.validate().unwrap());
            for token in &tokens {
                if let Err(e) = verifier.verify_at(token, NOW) {
                    errors.push(e);
                }
            }
        }
        // A configuration error next to a secret.
        let broken = json!({"name": "broken", "token_name": "t", "algorithms": ["HS512"],
            "key_source": {"type": "static", "secret": TEXT_SECRET}, "expiration_time": 3600,
            "claims": {"user_id": "sub"}});
        errors.push(Error::from(
            JwtConfig::from_json_str(&broken.to_string())
                .and_then(JwtConfig::validate)
                .unwrap_err(),
        ));
        errors
    };
    let events = capture.0.lock().unwrap().clone();
    // The capture saw what it should: rejections, acceptances and the skipped JWK.
    assert!(
        events.iter().any(|e| e.contains("token rejected")),
        "{events:#?}"
    );
    assert!(
        events.iter().any(|e| e.contains("token accepted")),
        "{events:#?}"
    );
    assert!(
        events.iter().any(|e| e.contains("JWK skipped")),
        "{events:#?}"
    );
    assert!(
        errors.len() > 20,
        "every configuration refused most tokens: {} errors",
        errors.len()
    );
    for event in &events {
        assert_clean("a tracing event", event);
        assert!(
            !event.chars().any(char::is_control),
            "an event holds a raw control character: {event:?}"
        );
        for token in &tokens {
            assert_hides_token("an event", event, token);
        }
    }
    for error in &errors {
        for text in [
            error.to_string(),
            format!("{error:?}"),
            error.to_json().to_string(),
            error.hint().to_owned(),
        ] {
            assert_clean("an error", &text);
            for token in &tokens {
                assert!(
                    !text.contains(token.as_str()),
                    "an error shows a token: {text}"
                );
            }
        }
    }
    println!(
        "{} tracing events and {} errors checked",
        events.len(),
        errors.len()
    );
}

/// Values from fetched documents are escaped before any log line or message
/// (CONTRACT section 2, issue 10): the `kid` of a skipped `oct` key in a
/// fetched JWK Set, and the `issuer` of a discovery document.
#[cfg(feature = "remote")]
#[test]
fn fetched_kids_and_discovery_issuers_are_escaped() {
    use jwt_sso::{HttpRequest, HttpResponse};
    const FORGED: &str = "k\nWARN jwt_sso: FORGED LINE";
    let capture = capture();
    let ed_public = "-uq2yNSInzxORUNhw208wwQKDMGTlvqKaEvQMoAitgw";
    let jwks = json!({"keys": [
        {"kty": "oct", "kid": FORGED, "k": URL_SAFE_NO_PAD.encode(OCT_SECRET)},
        {"kty": "OKP", "crv": "Ed25519", "kid": "good", "x": ed_public}
    ]})
    .to_string();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    let config = |key_source: Value, issuer: Option<&str>| {
        let mut v = json!({"name": "remote", "token_name": "t", "algorithms": ["EdDSA"],
            "key_source": key_source, "expiration_time": 3600, "claims": {"user_id": "sub"}});
        if let Some(issuer) = issuer {
            v["issuer"] = json!(issuer);
        }
        JwtConfig::from_json_str(&v.to_string()).unwrap()
    };
    let served = jwks.clone();
    let verifier = jwt_sso::Verifier::new(
        config(
            json!({"type": "jwks_uri", "url": "https://idp.example.com/jwks"}),
            None,
        )
        .validate()
        .unwrap(),
    )
    .with_http_fetch(move |_: HttpRequest| {
        let body = served.clone();
        async move { Ok(HttpResponse::new(200, body)) }
    });
    runtime.block_on(verifier.refresh()).unwrap();
    let events = capture.0.lock().unwrap().clone();
    let skipped: Vec<&String> = events
        .iter()
        .filter(|e| e.contains("JWK skipped") && e.contains("FORGED LINE"))
        .collect();
    assert_eq!(
        skipped.len(),
        1,
        "one event for the one skipped key: {events:#?}"
    );
    for event in skipped {
        assert!(!event.contains('\n'), "a raw line break in {event:?}");
        assert!(event.contains(r"k\nWARN"), "{event:?}");
    }

    let issuer = "https://idp.example.com";
    let verifier = jwt_sso::Verifier::new(
        config(json!({"type": "issuer"}), Some(issuer))
            .validate()
            .unwrap(),
    )
    .with_http_fetch(move |_: HttpRequest| async move {
        let doc = json!({"issuer": "https://evil.example.com\nWARN jwt_sso: FORGED",
                "jwks_uri": "https://idp.example.com/jwks"});
        Ok(HttpResponse::new(200, doc.to_string()))
    });
    let err = runtime.block_on(verifier.refresh()).unwrap_err();
    assert_eq!(err.kind().as_str(), "key_fetch", "{err}");
    let message = err.to_string();
    assert!(message.contains("FORGED"), "{message}");
    assert!(!message.contains('\n'), "a raw line break in {message:?}");
    assert!(message.contains(r"evil.example.com\nWARN"), "{message}");
}

/// Issue 9: keys are parsed once per validation, so a skipped JWK is
/// reported once for `Verifier::new(JwtConfig::from_json_str(..)?.validate()?)`,
/// however many verifiers share the `ValidConfig`.
#[test]
fn a_skipped_jwk_is_reported_once_per_load() {
    let capture = capture();
    let kid = "enc-key-counted-once-5d1f";
    let v = json!({"name": "once", "token_name": "t", "algorithms": ["HS256"],
        "key_source": {"type": "jwks", "jwks": {"keys": [
            {"kty": "oct", "kid": "h", "k": URL_SAFE_NO_PAD.encode(OCT_SECRET)},
            {"kty": "EC", "crv": "P-256", "kid": kid, "use": "enc", "x": "AAAA", "y": "AAAA"}
        ]}}, "expiration_time": 3600, "claims": {"user_id": "sub"}});
    let count = || {
        capture
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.contains("JWK skipped") && e.contains(kid))
            .count()
    };
    let config = JwtConfig::from_json_str(&v.to_string()).unwrap();
    assert_eq!(count(), 0, "parsing reads no key");
    let valid = config.clone().validate().unwrap();
    assert_eq!(count(), 1);
    let verifier = TestVerifier::new(valid.clone());
    let another = TestVerifier::new(valid);
    assert_eq!(count(), 1, "the keys were parsed again");
    drop((verifier, another));
    // A second validation parses again.
    config.validate().unwrap();
    assert_eq!(count(), 2);
}

/// The longest run of `c` in `text`.
fn longest_run(text: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// A text from a hostile provider or token is shown escaped and cut: no raw
/// control character, at most 200 characters of it (its padding `Z`s tell),
/// and the whole line bounded (a few such values and their context).
#[track_caller]
fn assert_shown_safely(what: &str, text: &str) {
    assert!(
        !text.chars().any(char::is_control),
        "{what} holds a raw control character: {text:?}"
    );
    assert!(
        longest_run(text, 'Z') <= 200,
        "{what} shows more than 200 characters of one value ({} Zs in a row): {text}",
        longest_run(text, 'Z')
    );
    assert!(
        text.len() < 4_000,
        "{what} is {} bytes long: {text}",
        text.len()
    );
}

/// Issue 20: a discovery document and JWK Sets from a loopback provider whose
/// texts hold terminal escapes, CR, LF and 5,000 more characters forge no
/// log line and flood no message: `check_url`, the fetch of the discovered
/// URL, and the JWK skip reasons (`kty`, `alg`, `crv`, `use`, `key_ops`,
/// `kid`) show them escaped and cut to 200 characters with their length.
#[cfg(feature = "remote")]
#[test]
fn provider_text_reaches_logs_and_messages_escaped_and_cut() {
    use support::{Reply, Server};
    let capture = capture();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pad = "Z".repeat(5_000);
    let forged = format!("\u{1b}[2K\rFORGED-LINE …\n{pad}");
    let server = Server::start();
    let issuer = server.url("/realms/forged");
    let config = |key_source: Value, issuer: Option<&str>| {
        let mut v = json!({"name": "forged", "token_name": "t", "algorithms": ["RS256"],
            "key_source": key_source, "expiration_time": 3600, "claims": {"user_id": "sub"}});
        if let Some(issuer) = issuer {
            v["issuer"] = json!(issuer);
        }
        TestVerifier::new(
            JwtConfig::from_json_str(&v.to_string())
                .unwrap()
                .validate()
                .unwrap(),
        )
    };
    let token = pem_key("rsa2048_private.pem")
        .sign_raw(
            Algorithm::RS256,
            br#"{"alg":"RS256","kid":"k1"}"#,
            json!({"iss": issuer, "sub": "jdoe", "exp": NOW + 600})
                .to_string()
                .as_bytes(),
        )
        .unwrap();

    let mut errors = Vec::new();
    // The discovered jwks_uri: the forged text alone (not a URL), and after
    // the provider's own origin (a URL that is fetched and answers 404).
    for jwks_uri in [forged.clone(), format!("{}{forged}", server.url("/keys/"))] {
        server.set(
            "/realms/forged/.well-known/openid-configuration",
            Reply::json(json!({"issuer": issuer, "jwks_uri": jwks_uri}).to_string()),
        );
        let verifier = config(json!({"type": "issuer"}), Some(&issuer));
        let err = runtime
            .block_on(verifier.verify_at_async(&token, NOW))
            .unwrap_err();
        assert_eq!(err.kind().as_str(), "key_fetch", "{err}");
        assert!(err.to_string().contains("FORGED-LINE"), "{err}");
        assert!(err.to_string().contains("characters in all)"), "{err}");
        errors.push(err);
    }
    assert!(
        errors[0].to_string().contains(&format!(
            "(cut; {} characters in all)",
            forged.chars().count()
        )),
        "{}",
        errors[0]
    );

    // JWKs whose members hold CR, LF and ESC.
    let jwks = crate::support::fixtures::data_json("jwks/public_jwks.json");
    let rsa = |extra: Value| {
        let mut key = jwks["rsa2048"].clone();
        for (k, v) in extra.as_object().unwrap() {
            key[k] = v.clone();
        }
        key
    };
    let set = json!({"keys": [
        rsa(json!({"kid": "kty", "kty": forged})),
        rsa(json!({"kid": "alg", "alg": forged})),
        {"kid": "crv", "kty": "EC", "crv": forged, "x": "AAAA", "y": "AAAA"},
        {"kid": "okp", "kty": "OKP", "crv": forged, "x": "AAAA"},
        rsa(json!({"kid": "use", "use": forged})),
        rsa(json!({"kid": "ops", "key_ops": [forged]})),
        rsa(json!({"kid": forged, "use": "enc"})),
        rsa(json!({"kid": "kty-type", "kty": [forged]})),
    ]});
    server.set("/jwks", Reply::json(set.to_string()));
    let verifier = config(
        json!({"type": "jwks_uri", "url": server.url("/jwks")}),
        None,
    );
    let err = runtime
        .block_on(verifier.verify_at_async(&token, NOW))
        .unwrap_err();
    assert_eq!(err.kind().as_str(), "key_not_found", "{err}");
    assert!(err.to_string().contains(r"FORGED-LINE …\n"), "{err}");
    errors.push(err);

    for err in &errors {
        for text in [
            err.to_string(),
            err.hint().to_owned(),
            err.to_json().to_string(),
        ] {
            assert_shown_safely("an error", &text);
        }
    }
    let events = capture.holding("FORGED-LINE");
    // One event per skipped key of the one load (8), per failed fetch (the
    // two discovery documents) and per rejected token (3): counted, so an
    // extra (or a missing) one shows.
    for (needle, expected) in [
        ("JWK skipped", 8),
        ("fetching the keys failed", 2),
        ("token rejected", 3),
    ] {
        assert_eq!(
            count(&events, needle),
            expected,
            "{needle:?} events: {events:#?}"
        );
    }
    for event in &events {
        assert_shown_safely("a tracing event", event);
    }
}

/// Issue 20: an attacker's `iss` of 16 KB is cut to 200 characters in the
/// routing error and its events (it used to be copied whole into each).
#[test]
fn a_huge_attacker_iss_is_cut_in_routing_errors_and_events() {
    let capture = capture();
    let configs = ["https://erp.example.com", "https://crm.example.com"].map(|iss| {
        JwtConfig::from_json_str(
            &json!({"name": iss.replace("https://", ""), "token_name": "t", "issuer": iss,
                "algorithms": ["HS256"], "key_source": {"type": "static", "secret": TEXT_SECRET},
                "expiration_time": 3600, "claims": {"user_id": "sub"}})
            .to_string(),
        )
        .unwrap()
    });
    let registry = jwt_sso::Registry::from_configs(configs).unwrap();
    // As long as fits the default max_token_bytes (16 KB) once encoded.
    let iss = format!(
        "https://evil.example.com/\u{1b}[2K\rHUGE-ISS\n{}",
        "Z".repeat(11_000)
    );
    let token = SigningKey::from_secret(b"any-secret-0123456789abcdef-0123456789")
        .sign(
            Algorithm::HS256,
            &json!({"iss": iss, "sub": "jdoe", "exp": NOW + 600}),
        )
        .unwrap();
    let err = registry
        .verify_cached(
            &token,
            jwt_sso::Verification::default().at(jwt_sso::UnixTime::from_secs(NOW)),
        )
        .unwrap_err();
    assert_eq!(err.kind().as_str(), "no_matching_config", "{err}");
    let message = err.to_string();
    assert_shown_safely("the routing error", &message);
    assert!(message.contains(r"HUGE-ISS\n"), "{message}");
    assert!(
        message.contains(&format!("(cut; {} characters in all)", iss.chars().count())),
        "{message}"
    );
    let events = capture.holding("HUGE-ISS");
    assert_eq!(
        count(&events, "no configuration for token"),
        1,
        "one routing event for one token: {events:#?}"
    );
    for event in &events {
        assert_shown_safely("a routing event", event);
    }
}
