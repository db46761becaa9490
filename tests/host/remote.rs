//! Remote key sources against a real HTTP server on 127.0.0.1 that counts
//! requests: fetching, the URL rules, discovery, and the key cache (rotation,
//! unknown-`kid` cooldown, single flight, freshness and `max-age`,
//! stale-if-error). Cache time is a `ManualClock`, so nothing sleeps.

#![cfg(feature = "remote")]

use crate::support::provider as support;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jwt_sso::mint::SigningKey;
use jwt_sso::{
    Algorithm, ErrorKind, FetchError, HttpRequest, HttpResponse, JwtConfig, KeySource, ManualClock,
    RemoteOptions, UnixTime, ValidConfig, Verifier,
};
use serde_json::{Value, json};
use support::{Reply, Server};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
/// Tokens live 30 days and configurations accept 40: the one clock (cache
/// time and token time alike) moves by up to a day or two in these tests.
const LIVES: i64 = 30 * 86_400;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The public JWK of a test key (tests/data/jwks/public_jwks.json) plus `extra` members.
fn jwk(name: &str, extra: Value) -> Value {
    let all: Value = serde_json::from_str(&read("jwks/public_jwks.json")).unwrap();
    let mut key = all[name].clone();
    for (k, v) in extra.as_object().unwrap() {
        key[k] = v.clone();
    }
    key
}

/// A JWK Set of RSA test keys, each `(key name, kid)`.
fn rsa_set(keys: &[(&str, &str)]) -> String {
    let keys: Vec<Value> = keys
        .iter()
        .map(|(name, kid)| jwk(name, json!({"kid": kid})))
        .collect();
    json!({ "keys": keys }).to_string()
}

fn claims() -> Value {
    json!({"iss": "https://idp.example.com", "sub": "jdoe", "exp": NOW + LIVES})
}

/// An RS256 token signed with the private half of `key` (e.g. "rsa2048").
fn token_with(key: &str, header: Value, claims: &Value) -> String {
    let private = SigningKey::from_pem(&read(&format!("keys/{key}_private.pem")));
    private
        .sign_with_header(Algorithm::RS256, &header, claims)
        .unwrap()
}

fn token(key: &str, kid: &str) -> String {
    token_with(key, json!({"alg": "RS256", "kid": kid}), &claims())
}

fn config(key_source: Value, issuer: Option<&str>) -> ValidConfig {
    let mut config = json!({
        "name": "IdP", "token_name": "token", "algorithms": ["RS256"],
        "key_source": key_source, "expiration_time": 3456000, "claims": {"user_id": "sub"}
    });
    if let Some(issuer) = issuer {
        config["issuer"] = json!(issuer);
    }
    JwtConfig::from_json_str(&config.to_string())
        .unwrap()
        .validate()
        .unwrap()
}

/// A verifier for `{"type": "jwks_uri", "url": url}` on a manual cache clock.
fn jwks_verifier(url: &str, options: RemoteOptions) -> (Verifier, ManualClock) {
    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    let verifier = Verifier::new(config(json!({"type": "jwks_uri", "url": url}), None))
        .with_remote_options(options)
        .with_clock(clock.clone());
    (verifier, clock)
}

/// A server with `k1` (rsa2048) at /jwks, and a verifier for it.
fn setup() -> (Server, Verifier, ManualClock) {
    let server = Server::start();
    server.set("/jwks", Reply::json(rsa_set(&[("rsa2048", "k1")])));
    let (verifier, clock) = jwks_verifier(&server.url("/jwks"), RemoteOptions::default());
    (server, verifier, clock)
}

async fn check(verifier: &Verifier, token: &str) -> Result<String, jwt_sso::Error> {
    verifier
        .verify(token)
        .await
        .map(|identity| String::from(identity.into_identity().user_id))
}

/// Asserts that `token` verifies as `jdoe` (the subject of [`claims`]).
async fn accepts(verifier: &Verifier, token: &str) {
    match check(verifier, token).await {
        Ok(user) => assert_eq!(user, "jdoe", "the token's user"),
        Err(e) => panic!(
            "expected the token to verify as jdoe, got {:?}: {e}",
            e.kind()
        ),
    }
}

async fn kind_of(verifier: &Verifier, token: &str) -> ErrorKind {
    check(verifier, token).await.unwrap_err().kind()
}

/// Collects `tracing` events (level, target, fields) on this thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

impl Captured {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        tracing::subscriber::set_default(tracing_subscriber::registry().with(self.clone()))
    }

    fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    fn containing(&self, needle: &str) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| l.contains(needle))
            .collect()
    }
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
}

impl<S: tracing::Subscriber> Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut line = format!("{} {}", event.metadata().level(), event.metadata().target());
        event.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push(line);
    }
}

// ---------------------------------------------------------------- basics

#[tokio::test]
async fn a_cold_cache_fetches_once_then_serves_from_memory() {
    let (server, verifier, _clock) = setup();
    let t = token("rsa2048", "k1");
    for _ in 0..3 {
        assert_eq!(check(&verifier, &t).await.unwrap(), "jdoe");
    }
    assert_eq!(server.hits("/jwks"), 1);
    // The synchronous path uses the warm cache, without I/O.
    assert_eq!(verifier.verify_cached(&t).unwrap().user_id, "jdoe");
    assert_eq!(server.total(), 1);
    // A forged signature is still a forged signature.
    let forged = token_with("rsa2048b", json!({"alg": "RS256", "kid": "k1"}), &claims());
    assert_eq!(
        kind_of(&verifier, &forged).await,
        ErrorKind::InvalidSignature
    );
    assert_eq!(server.total(), 1);
}

#[tokio::test]
async fn the_sync_verify_never_fetches_and_refresh_warms_it() {
    let (server, verifier, _clock) = setup();
    let t = token("rsa2048", "k1");
    let err = verifier.verify_cached(&t).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyFetch);
    assert!(err.to_string().contains(&server.url("/jwks")), "{err}");
    assert!(err.to_string().contains("refresh"), "{err}");
    assert_eq!(server.total(), 0);

    verifier.refresh().await.unwrap();
    assert_eq!(server.hits("/jwks"), 1);
    assert_eq!(verifier.verify_cached(&t).unwrap().user_id, "jdoe");
    // An explicit refresh always fetches.
    verifier.refresh().await.unwrap();
    assert_eq!(server.hits("/jwks"), 2);
}

#[tokio::test]
async fn a_failed_refresh_reports_and_keeps_the_keys() {
    let (server, verifier, _clock) = setup();
    verifier.refresh().await.unwrap();
    server.set("/jwks", Reply::status(500, "oops"));
    let err = verifier.refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyFetch);
    assert!(err.to_string().contains("HTTP status 500"), "{err}");
    assert_eq!(
        verifier
            .verify_cached(&token("rsa2048", "k1"))
            .unwrap()
            .user_id,
        "jdoe"
    );
    assert_eq!(server.hits("/jwks"), 2);
}

#[tokio::test]
async fn bad_alg_crit_or_syntax_never_trigger_a_fetch() {
    let (server, verifier, _clock) = setup();
    let hs = SigningKey::from_secret(b"0123456789abcdef0123456789abcdef")
        .sign_with_header(
            Algorithm::HS256,
            &json!({"alg": "HS256", "kid": "k1"}),
            &claims(),
        )
        .unwrap();
    assert_eq!(
        kind_of(&verifier, &hs).await,
        ErrorKind::AlgorithmNotAllowed
    );
    let crit = token_with(
        "rsa2048",
        json!({"alg": "RS256", "kid": "zz", "crit": ["exp"]}),
        &claims(),
    );
    assert_eq!(kind_of(&verifier, &crit).await, ErrorKind::CriticalHeader);
    let none = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(r#"{"sub":"x"}"#));
    assert_eq!(
        kind_of(&verifier, &none).await,
        ErrorKind::AlgorithmNotAllowed
    );
    assert_eq!(
        kind_of(&verifier, "not.a-token").await,
        ErrorKind::Malformed
    );
    assert_eq!(server.connections(), 0);
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

#[tokio::test]
async fn static_sources_work_through_the_async_api() {
    let config = JwtConfig::from_json_str(
        &json!({
            "name": "S", "token_name": "t", "algorithms": ["RS256"],
            "key_source": {"type": "static", "public_key_pem": read("keys/rsa2048_public.pem")},
            "expiration_time": 3456000, "claims": {"user_id": "sub"}
        })
        .to_string(),
    )
    .unwrap()
    .validate()
    .unwrap();
    let verifier = Verifier::new(config).with_clock(ManualClock::new(UnixTime::from_secs(NOW)));
    verifier.refresh().await.unwrap();
    assert_eq!(
        check(&verifier, &token("rsa2048", "any")).await.unwrap(),
        "jdoe"
    );
}

#[test]
fn the_async_verify_is_send() {
    fn assert_send<T: Send>(_: T) {}
    let (_server, verifier, _clock) = setup();
    assert_send(verifier.verify("a.b.c"));
    assert_send(verifier.refresh());
}

// ---------------------------------------------------------------- rotation and misses

#[tokio::test]
async fn a_new_kid_causes_one_refetch_then_is_accepted() {
    let (server, verifier, clock) = setup();
    accepts(&verifier, &token("rsa2048", "k1")).await;
    assert_eq!(server.hits("/jwks"), 1);

    // The provider rotates: k2 appears.
    server.set(
        "/jwks",
        Reply::json(rsa_set(&[("rsa2048", "k1"), ("rsa2048b", "k2")])),
    );
    let t2 = token("rsa2048b", "k2");
    assert_eq!(check(&verifier, &t2).await.unwrap(), "jdoe");
    assert_eq!(server.hits("/jwks"), 2);
    accepts(&verifier, &t2).await;
    accepts(&verifier, &token("rsa2048", "k1")).await;
    assert_eq!(server.hits("/jwks"), 2);

    // Another new kid 10 s later: inside the 30 s cooldown, no request.
    server.set(
        "/jwks",
        Reply::json(rsa_set(&[("rsa2048b", "k2"), ("rsa2048", "k3")])),
    );
    clock.advance(secs(10));
    let t3 = token("rsa2048", "k3");
    let err = check(&verifier, &t3).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyNotFound);
    assert!(err.to_string().contains("k3"), "{err}");
    assert_eq!(server.hits("/jwks"), 2);
    // 30 s after the last miss refetch: one more request, and k3 is accepted.
    clock.advance(secs(20));
    accepts(&verifier, &t3).await;
    assert_eq!(server.hits("/jwks"), 3);
    // k1 was retired with that fetch.
    assert_eq!(
        kind_of(&verifier, &token("rsa2048", "k1")).await,
        ErrorKind::KeyNotFound
    );
    assert_eq!(server.hits("/jwks"), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_request_and_floods_respect_the_cooldown() {
    let (server, verifier, clock) = setup();
    let verifier = Arc::new(verifier);
    let known = token("rsa2048b", "k2");
    let unknown = token("rsa2048", "no-such-kid");

    // Floods `token` with `n` verifications at once: each gets `expected`,
    // and the provider has had `hits` requests in all afterwards.
    let flood = async |what: &str,
                       token: &str,
                       n: usize,
                       expected: Result<&str, ErrorKind>,
                       hits: usize| {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (verifier, token) = (verifier.clone(), token.to_owned());
                tokio::spawn(async move {
                    verifier
                        .verify(&token)
                        .await
                        .map(|i| String::from(i.into_identity().user_id))
                        .map_err(|e| e.kind())
                })
            })
            .collect();
        for task in tasks {
            let got = task.await.unwrap();
            assert_eq!(got.as_deref().map_err(|e| *e), expected, "{what}");
        }
        assert_eq!(server.hits("/jwks"), hits, "{what}");
    };

    server.set(
        "/jwks",
        Reply::json(rsa_set(&[("rsa2048", "k1")])).delayed(Duration::from_millis(100)),
    );
    let cold = token("rsa2048", "k1");
    flood(
        "a cold cache: 100 concurrent logins, one request",
        &cold,
        100,
        Ok("jdoe"),
        1,
    )
    .await;
    server.set(
        "/jwks",
        Reply::json(rsa_set(&[("rsa2048", "k1"), ("rsa2048b", "k2")]))
            .delayed(Duration::from_millis(200)),
    );
    flood(
        "rotation: 200 concurrent misses, a slow provider, one request",
        &known,
        200,
        Ok("jdoe"),
        2,
    )
    .await;
    // Floods of unknown kids, 300 at once: no request inside the cooldown;
    // 30 s after the last miss refetch (the first at t = 0), one request.
    for (what, advance, hits) in [
        ("unknown kids inside the cooldown", 1, 2),
        ("unknown kids again", 0, 2),
        ("unknown kids after the cooldown: one request", 29, 3),
        ("unknown kids 29 s after that refetch", 29, 3),
        ("unknown kids 30 s after that refetch", 1, 4),
    ] {
        clock.advance(secs(advance));
        flood(what, &unknown, 300, Err(ErrorKind::KeyNotFound), hits).await;
    }
    // Known keys never waited on any of this.
    accepts(&verifier, &token("rsa2048", "k1")).await;
    assert_eq!(server.hits("/jwks"), 4, "a known key needs no request");
}

#[tokio::test]
async fn a_caller_that_gives_up_mid_fetch_does_not_use_up_the_cooldown() {
    let (server, verifier, _clock) = setup();
    verifier.refresh().await.unwrap();
    server.set(
        "/jwks",
        Reply::json(rsa_set(&[("rsa2048", "k1"), ("rsa2048b", "k2")]))
            .delayed(Duration::from_millis(300)),
    );
    let t2 = token("rsa2048b", "k2");
    let gave_up = tokio::time::timeout(Duration::from_millis(50), check(&verifier, &t2)).await;
    gave_up
        .expect_err("the first caller gives up after 50 ms, mid-fetch (the provider takes 300 ms)");
    assert_eq!(check(&verifier, &t2).await.unwrap(), "jdoe");
    assert_eq!(server.hits("/jwks"), 3);
}

#[tokio::test]
async fn a_token_without_kid_needs_exactly_one_fitting_key() {
    let (server, verifier, _clock) = setup();
    let no_kid = token_with("rsa2048", json!({"alg": "RS256"}), &claims());
    accepts(&verifier, &no_kid).await;
    server.set(
        "/jwks",
        Reply::json(rsa_set(&[("rsa2048", "k1"), ("rsa2048b", "k2")])),
    );
    verifier.refresh().await.unwrap();
    assert_eq!(kind_of(&verifier, &no_kid).await, ErrorKind::KeyNotFound);
}

// ---------------------------------------------------------------- freshness

#[tokio::test]
async fn keys_are_fresh_for_ten_minutes_by_default() {
    let (server, verifier, clock) = setup();
    let t = token("rsa2048", "k1");
    accepts(&verifier, &t).await;
    clock.advance(secs(599));
    accepts(&verifier, &t).await;
    assert_eq!(server.hits("/jwks"), 1);
    clock.advance(secs(1));
    accepts(&verifier, &t).await;
    assert_eq!(server.hits("/jwks"), 2);
    clock.advance(secs(599));
    accepts(&verifier, &t).await;
    assert_eq!(server.hits("/jwks"), 2);
}

#[tokio::test]
async fn while_stale_keys_refresh_other_tokens_they_verify_do_not_wait() {
    let (server, verifier, clock) = setup();
    let verifier = Arc::new(verifier);
    let t = token("rsa2048", "k1");
    accepts(&verifier, &t).await;
    clock.advance(secs(600));
    server.set(
        "/jwks",
        Reply::json(rsa_set(&[("rsa2048", "k1")])).delayed(Duration::from_secs(3)),
    );
    let refreshing = {
        let (verifier, t) = (verifier.clone(), t.clone());
        tokio::spawn(async move { verifier.verify(&t).await.map(|i| i.into_identity().user_id) })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // No wall-clock bound: the proof is that the refresh (3 s on the server)
    // is still under way when the other verification has its answer.
    accepts(&verifier, &t).await;
    assert!(
        !refreshing.is_finished(),
        "the verification waited for the refresh"
    );
    assert_eq!(refreshing.await.unwrap().unwrap(), "jdoe");
    assert_eq!(server.hits("/jwks"), 2);
}

#[tokio::test]
async fn max_age_is_honoured_and_clamped_to_one_minute_and_one_day() {
    for (max_age, fresh) in [(300, 300), (5, 60), (0, 60), (10_000_000, 86_400)] {
        let server = Server::start();
        server.set(
            "/jwks",
            Reply::json(rsa_set(&[("rsa2048", "k1")])).max_age(max_age),
        );
        let (verifier, clock) = jwks_verifier(&server.url("/jwks"), RemoteOptions::default());
        let t = token("rsa2048", "k1");
        accepts(&verifier, &t).await;
        clock.advance(secs(fresh - 1));
        accepts(&verifier, &t).await;
        assert_eq!(
            server.hits("/jwks"),
            1,
            "max-age={max_age}: still fresh at {} s",
            fresh - 1
        );
        clock.advance(secs(1));
        accepts(&verifier, &t).await;
        assert_eq!(
            server.hits("/jwks"),
            2,
            "max-age={max_age}: stale at {fresh} s"
        );
    }
    // no-store counts as 0, so 1 minute.
    let server = Server::start();
    server.set(
        "/jwks",
        Reply::json(rsa_set(&[("rsa2048", "k1")])).header("Cache-Control", "no-store"),
    );
    let (verifier, clock) = jwks_verifier(&server.url("/jwks"), RemoteOptions::default());
    verifier.refresh().await.unwrap();
    clock.advance(secs(60));
    accepts(&verifier, &token("rsa2048", "k1")).await;
    assert_eq!(server.hits("/jwks"), 2);
}

#[tokio::test]
async fn the_cache_options_are_configurable() {
    let server = Server::start();
    server.set(
        "/jwks",
        Reply::json(rsa_set(&[("rsa2048", "k1")])).max_age(3),
    );
    let mut options = RemoteOptions::default();
    options.min_fresh = secs(2);
    options.max_fresh = secs(4);
    options.miss_cooldown = secs(5);
    let (verifier, clock) = jwks_verifier(&server.url("/jwks"), options);
    let t = token("rsa2048", "k1");
    accepts(&verifier, &t).await;
    clock.advance(secs(3));
    accepts(&verifier, &t).await;
    assert_eq!(server.hits("/jwks"), 2);
    let unknown = token("rsa2048", "nope");
    check(&verifier, &unknown).await.unwrap_err();
    assert_eq!(server.hits("/jwks"), 3);
    clock.advance(secs(2));
    check(&verifier, &unknown).await.unwrap_err();
    assert_eq!(server.hits("/jwks"), 3);
    clock.advance(secs(1)); // stale again (3 s): an expiry refresh, not a miss refetch
    check(&verifier, &unknown).await.unwrap_err();
    assert_eq!(server.hits("/jwks"), 4);
    clock.advance(secs(2)); // 5 s after the miss refetch
    check(&verifier, &unknown).await.unwrap_err();
    assert_eq!(server.hits("/jwks"), 5);
}

// ---------------------------------------------------------------- outages

#[tokio::test]
async fn a_warm_cache_keeps_serving_through_an_outage_with_a_warning() {
    let captured = Captured::default();
    let _guard = captured.install();
    let (server, verifier, clock) = setup();
    let t = token("rsa2048", "k1");
    accepts(&verifier, &t).await;

    server.set("/jwks", Reply::status(503, "maintenance"));
    clock.advance(secs(601));
    assert_eq!(check(&verifier, &t).await.unwrap(), "jdoe");
    assert_eq!(server.hits("/jwks"), 2);
    let warnings = captured.containing("stale-if-error");
    assert_eq!(warnings.len(), 1, "{:#?}", captured.lines());
    assert!(warnings[0].starts_with("WARN jwt_sso"), "{}", warnings[0]);
    assert!(warnings[0].contains("HTTP status 503") && warnings[0].contains(&server.url("/jwks")));

    // No new attempt for 10 s after a failure; the stale keys serve, sync too.
    accepts(&verifier, &t).await;
    assert_eq!(
        verifier
            .verify_cached(&t)
            .map(|v| String::from(v.into_identity().user_id))
            .map_err(|e| e.kind()),
        Ok("jdoe".to_owned()),
        "the cached keys verify the token as jdoe"
    );
    assert_eq!(server.hits("/jwks"), 2);
    clock.advance(secs(10));
    accepts(&verifier, &t).await;
    assert_eq!(server.hits("/jwks"), 3);
    assert_eq!(captured.containing("stale-if-error").len(), 2);

    // 24 h after the keys went stale, they are dropped.
    clock.advance(secs(24 * 3600 - 11 - 1));
    accepts(&verifier, &t).await;
    clock.advance(secs(1));
    let err = check(&verifier, &t).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyFetch);
    assert!(err.to_string().contains("HTTP status 503"), "{err}");
    assert_eq!(
        verifier.verify_cached(&t).unwrap_err().kind(),
        ErrorKind::KeyFetch
    );

    // The provider returns: served again.
    server.set("/jwks", Reply::json(rsa_set(&[("rsa2048", "k1")])));
    clock.advance(secs(10));
    accepts(&verifier, &t).await;
    // No warning ever held the token.
    let signature = t.rsplit('.').next().unwrap();
    for line in captured.lines() {
        assert!(
            !line.contains(signature),
            "a warning holds the token: {line}"
        );
    }
}

#[tokio::test]
async fn a_cold_cache_with_the_provider_down_is_key_fetch() {
    // Nothing listens on the port.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/jwks");
    let (verifier, _clock) = jwks_verifier(&url, RemoteOptions::default());
    let err = check(&verifier, &token("rsa2048", "k1")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyFetch);
    assert!(err.to_string().contains(&url), "{err}");
    assert!(err.to_string().contains("connect"), "{err}");
    assert!(!err.hint().is_empty());
}

#[tokio::test]
async fn http_500_is_key_fetch_and_retries_wait_ten_seconds() {
    let server = Server::start();
    server.set("/jwks", Reply::status(500, "boom"));
    let (verifier, clock) = jwks_verifier(&server.url("/jwks"), RemoteOptions::default());
    let t = token("rsa2048", "k1");
    let err = check(&verifier, &t).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyFetch);
    assert!(
        err.to_string().contains("HTTP status 500 (expected 200)"),
        "{err}"
    );
    for _ in 0..5 {
        assert_eq!(kind_of(&verifier, &t).await, ErrorKind::KeyFetch);
    }
    assert_eq!(server.hits("/jwks"), 1);
    clock.advance(secs(10));
    server.set("/jwks", Reply::json(rsa_set(&[("rsa2048", "k1")])));
    accepts(&verifier, &t).await;
    assert_eq!(server.hits("/jwks"), 2);
}

// ---------------------------------------------------------------- hostile or broken responses

async fn fetch_error(reply: Reply, options: RemoteOptions) -> (String, Server) {
    let server = Server::start();
    server.set("/jwks", reply);
    let (verifier, _clock) = jwks_verifier(&server.url("/jwks"), options);
    let err = check(&verifier, &token("rsa2048", "k1")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyFetch, "{err}");
    let message = err.to_string();
    assert!(message.contains(&server.url("/jwks")), "{message}");
    (message, server)
}

#[tokio::test]
async fn documents_that_are_not_a_jwk_set_are_key_fetch() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let many: Vec<Value> = (0..101)
        .map(|i| jwk("rsa2048", json!({"kid": format!("k{i}")})))
        .collect();
    let cases = [
        ("<html>not json</html>".to_owned(), "not valid JSON"),
        (r#"{"foo": 1}"#.to_owned(), "`keys` array"),
        (r#"{"keys": "x"}"#.to_owned(), "`keys` array"),
        (r#"[{"keys": []}]"#.to_owned(), "`keys` array"),
        (format!(r#"{{"keys": {deep}}}"#), "not valid JSON"),
        (
            json!({ "keys": many }).to_string(),
            "101 keys, more than the limit of 100",
        ),
    ];
    for (body, expected) in cases {
        let (message, server) = fetch_error(Reply::json(body), RemoteOptions::default()).await;
        assert!(message.contains(expected), "{expected}: {message}");
        assert!(message.len() < 2000, "{message}");
        assert_eq!(server.hits("/jwks"), 1);
    }
    // 100 keys are fine.
    let hundred: Vec<Value> = (0..100)
        .map(|i| jwk("rsa2048", json!({"kid": format!("k{i}")})))
        .collect();
    let server = Server::start();
    server.set("/jwks", Reply::json(json!({ "keys": hundred }).to_string()));
    let (verifier, _clock) = jwks_verifier(&server.url("/jwks"), RemoteOptions::default());
    accepts(&verifier, &token("rsa2048", "k99")).await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let padded = |size: usize| {
        let mut doc: Value = serde_json::from_str(&rsa_set(&[("rsa2048", "k1")])).unwrap();
        doc["padding"] = json!("x".repeat(size));
        doc.to_string()
    };
    // The default cap is 1 MiB.
    let (message, _) =
        fetch_error(Reply::json(padded(1024 * 1024)), RemoteOptions::default()).await;
    assert!(
        message.contains("larger than the limit of 1048576 bytes"),
        "{message}"
    );
    // A configured cap, with Content-Length and chunked.
    let mut options = RemoteOptions::default();
    options.max_body_bytes = 4096;
    for reply in [
        Reply::json(padded(10_000)),
        Reply::json(padded(100_000)).chunked(),
    ] {
        let (message, _) = fetch_error(reply, options.clone()).await;
        assert!(
            message.contains("larger than the limit of 4096 bytes"),
            "{message}"
        );
    }
    // Just under the cap is fine.
    let server = Server::start();
    server.set("/jwks", Reply::json(padded(2000)).chunked());
    let (verifier, _clock) = jwks_verifier(&server.url("/jwks"), options);
    accepts(&verifier, &token("rsa2048", "k1")).await;
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let mut options = RemoteOptions::default();
    options.timeout = Duration::from_millis(200);
    let started = Instant::now();
    let (message, server) = fetch_error(
        Reply::json(rsa_set(&[("rsa2048", "k1")])).delayed(Duration::from_secs(30)),
        options,
    )
    .await;
    let elapsed = started.elapsed();
    assert!(message.contains("timed out after 200 ms"), "{message}");
    // Generous (a loaded machine): far below the server's 30 s delay.
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert_eq!(server.hits("/jwks"), 1);
}

#[tokio::test]
async fn redirects_stay_on_the_same_origin() {
    let other = Server::start();
    other.set("/jwks", Reply::json(rsa_set(&[("rsa2048", "k1")])));
    for target in [
        format!("http://localhost:{}/jwks", other.port()),
        other.url("/jwks"),
        format!("https://127.0.0.1:{}/jwks", other.port()),
    ] {
        let (message, server) =
            fetch_error(Reply::redirect(&target), RemoteOptions::default()).await;
        assert!(
            message.contains("refused") && message.contains(&target),
            "{message}"
        );
        assert_eq!(server.hits("/jwks"), 1);
    }
    assert_eq!(other.connections(), 0, "the other host was never contacted");

    // A redirect on the same origin is followed.
    let server = Server::start();
    server.set("/old", Reply::redirect("/jwks"));
    server.set("/jwks", Reply::json(rsa_set(&[("rsa2048", "k1")])));
    let (verifier, _clock) = jwks_verifier(&server.url("/old"), RemoteOptions::default());
    accepts(&verifier, &token("rsa2048", "k1")).await;
    assert_eq!((server.hits("/old"), server.hits("/jwks")), (1, 1));

    // A redirect loop ends.
    let looping = Server::start();
    looping.set("/a", Reply::redirect("/b"));
    looping.set("/b", Reply::redirect("/a"));
    let (verifier, _clock) = jwks_verifier(&looping.url("/a"), RemoteOptions::default());
    let err = check(&verifier, &token("rsa2048", "k1")).await.unwrap_err();
    assert!(err.to_string().contains("more than 5 redirects"), "{err}");
    assert_eq!(looping.total(), 6);
}

#[tokio::test]
async fn a_mixed_set_keeps_the_good_keys_and_skips_the_rest() {
    let captured = Captured::default();
    let _guard = captured.install();
    let keys = json!({"keys": [
        jwk("rsa2048", json!({"kid": "good", "use": "sig", "key_ops": ["verify"], "alg": "RS256"})),
        jwk("rsa2048b", json!({"kid": "enc", "use": "enc"})),
        jwk("rsa2048b", json!({"kid": "ops", "key_ops": ["encrypt"]})),
        jwk("rsa1024", json!({"kid": "weak"})),
        jwk("rsa2048b", json!({"kid": "private", "d": "AAAA"})),
        jwk("rsa2048b", json!({"kid": "pinned384", "alg": "RS384"})),
        jwk("rsa2048b", json!({"kid": "pinned-es", "alg": "ES256"})),
        jwk("p521", json!({"kid": "p521"})),
        jwk("p256", json!({"kid": "ec"})),
        {"kid": "oct", "kty": "oct", "k": b64("0123456789abcdef0123456789abcdef")},
        {"kid": "weird", "kty": "XYZ"},
        {"kid": "bad-n", "kty": "RSA", "n": 12, "e": "AQAB"},
        "not a key",
        null,
        [1, 2, 3]
    ]});
    let server = Server::start();
    server.set("/jwks", Reply::json(keys.to_string()));
    let (verifier, _clock) = jwks_verifier(&server.url("/jwks"), RemoteOptions::default());
    assert_eq!(
        check(&verifier, &token("rsa2048", "good")).await.unwrap(),
        "jdoe"
    );
    let skipped = captured.containing("JWK skipped");
    assert_eq!(skipped.len(), 12, "{skipped:#?}");
    for kid in [
        "enc",
        "ops",
        "weak",
        "private",
        "pinned-es",
        "p521",
        "oct",
        "weird",
        "bad-n",
    ] {
        assert!(
            skipped.iter().any(|l| l.contains(&format!("`{kid}`"))),
            "{kid}: {skipped:#?}"
        );
    }
    assert!(
        captured.lines().iter().all(|l| !l.contains("AAAA")),
        "no key material in logs"
    );
    // Tokens naming skipped keys, or a key pinned to another algorithm, find no key;
    // the first miss refetches once, the rest wait for the cooldown.
    for kid in [
        "enc",
        "ops",
        "weak",
        "private",
        "pinned384",
        "pinned-es",
        "oct",
        "ec",
    ] {
        assert_eq!(
            kind_of(&verifier, &token("rsa2048b", kid)).await,
            ErrorKind::KeyNotFound,
            "{kid}"
        );
    }
    assert_eq!(server.hits("/jwks"), 2);
}

/// Issue 27: a key set that was fetched but holds no usable key for the
/// token's algorithm is what the provider publishes, not an outage: the
/// login is `key_not_found` (401) naming the skipped keys and why, with a
/// hint at the provider's key set, and never `key_fetch` (503).
#[tokio::test]
async fn a_fetched_set_without_a_usable_key_is_key_not_found_naming_the_skipped_keys() {
    let captured = Captured::default();
    let _guard = captured.install();
    // A provider that copied its private key's `key_ops` into the public set.
    let server = Server::start();
    server.set(
        "/jwks",
        Reply::json(
            json!({"keys": [
                jwk("rsa2048", json!({"kid": "k1", "use": "sig", "key_ops": ["sign"]})),
                jwk("rsa2048b", json!({"kid": "k2", "key_ops": ["sign"]})),
            ]})
            .to_string(),
        ),
    );
    let (verifier, clock) = jwks_verifier(&server.url("/jwks"), RemoteOptions::default());
    let err = check(&verifier, &token("rsa2048", "k1")).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyNotFound, "{err}");
    #[cfg(feature = "axum")]
    assert_eq!(err.kind().http_status(), 401);
    let message = err.to_string();
    for needle in [
        r#"`k1`: `key_ops` ["sign"] without "verify""#,
        r#"`k2`: `key_ops` ["sign"] without "verify""#,
        "has no usable key for RS256",
        &server.url("/jwks"),
    ] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    assert!(
        err.hint().contains("key set") && err.hint().contains("will not change"),
        "{}",
        err.hint()
    );
    assert_eq!(server.hits("/jwks"), 1);
    // The set counts as fetched: the synchronous path sees it too; a miss
    // refetches as for an unknown `kid` (once, then the cooldown holds); no
    // outage is logged, and each fetch warns once that the set is unusable.
    let sync = verifier.verify_cached(&token("rsa2048", "k1")).unwrap_err();
    assert_eq!(sync.kind(), ErrorKind::KeyNotFound, "{sync}");
    for _ in 0..3 {
        assert_eq!(
            kind_of(&verifier, &token("rsa2048", "k1")).await,
            ErrorKind::KeyNotFound
        );
    }
    assert_eq!(server.hits("/jwks"), 2);
    if let Err(e) = verifier.refresh().await {
        panic!("expected a refresh to succeed, got {:?}: {e}", e.kind());
    }
    assert_eq!(server.hits("/jwks"), 3);
    assert!(
        captured.containing("fetching the keys failed").is_empty(),
        "{:#?}",
        captured.lines()
    );
    assert_eq!(
        captured
            .containing("the fetched JWK Set has no usable key")
            .len(),
        3,
        "one warning per fetch: {:#?}",
        captured.lines()
    );
    // Once the provider fixes its set, the next refetch (after the unknown-kid
    // cooldown) finds the key.
    server.set("/jwks", Reply::json(rsa_set(&[("rsa2048", "k1")])));
    clock.advance(secs(31));
    assert_eq!(
        check(&verifier, &token("rsa2048", "k1")).await.unwrap(),
        "jdoe"
    );

    // Sets of nothing usable at all, and an empty set, are the same.
    for body in [
        r#"{"keys": [1, "a", null, {"kty": 5}, {"kty": "RSA", "n": 7, "e": "AQAB"}]}"#,
        r#"{"keys": []}"#,
    ] {
        let server = Server::start();
        server.set("/jwks", Reply::json(body));
        let (verifier, _clock) = jwks_verifier(&server.url("/jwks"), RemoteOptions::default());
        let err = check(&verifier, &token("rsa2048", "k1")).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeyNotFound, "{body}: {err}");
        assert!(
            err.to_string().contains("has no usable key for RS256"),
            "{err}"
        );
        assert!(err.to_string().len() < 2000, "{err}");
    }

    // Through issuer discovery, the same.
    let server = Server::start();
    let issuer = server.url("/realms/test");
    server.set(
        "/realms/test/.well-known/openid-configuration",
        Reply::json(json!({"issuer": issuer, "jwks_uri": server.url("/certs")}).to_string()),
    );
    server.set(
        "/certs",
        Reply::json(
            json!({"keys": [jwk("rsa2048", json!({"kid": "k1", "key_ops": ["sign"]}))]})
                .to_string(),
        ),
    );
    let verifier = Verifier::new(config(json!({"type": "issuer"}), Some(&issuer)))
        .with_clock(ManualClock::new(UnixTime::from_secs(NOW)));
    let claims = json!({"iss": issuer, "sub": "jdoe", "exp": NOW + 3600});
    let t = token_with("rsa2048", json!({"alg": "RS256", "kid": "k1"}), &claims);
    let err = check(&verifier, &t).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyNotFound, "{err}");
    assert!(
        err.to_string()
            .contains(r#"`k1`: `key_ops` ["sign"] without "verify""#)
            && err.to_string().contains(&server.url("/certs")),
        "{err}"
    );
}

/// A warm cache whose refresh brings a set without a usable key takes that
/// set (the provider rotated to it): its tokens are `key_not_found`, while a
/// real outage keeps the last good keys (stale-if-error).
#[tokio::test]
async fn a_refresh_to_an_unusable_set_replaces_the_keys_but_an_outage_does_not() {
    let (server, verifier, clock) = setup();
    let t = token("rsa2048", "k1");
    assert_eq!(check(&verifier, &t).await.unwrap(), "jdoe");
    server.set("/jwks", Reply::status(503, "down"));
    clock.advance(secs(11 * 60));
    assert_eq!(check(&verifier, &t).await.unwrap(), "jdoe");
    assert_eq!(server.hits("/jwks"), 2);
    server.set(
        "/jwks",
        Reply::json(
            json!({"keys": [jwk("rsa2048", json!({"kid": "k1", "use": "enc"}))]}).to_string(),
        ),
    );
    clock.advance(secs(11));
    let err = check(&verifier, &t).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyNotFound, "{err}");
    assert!(
        err.to_string()
            .contains(r#"`k1`: `use` "enc" is not "sig""#),
        "{err}"
    );
    assert_eq!(server.hits("/jwks"), 3);
}

// ---------------------------------------------------------------- discovery

fn discovery_doc(issuer: &str, jwks_uri: &str) -> String {
    json!({"issuer": issuer, "jwks_uri": jwks_uri, "response_types_supported": ["code"]})
        .to_string()
}

fn issuer_verifier(issuer: &str) -> (Verifier, ManualClock) {
    let clock = ManualClock::new(UnixTime::from_secs(NOW));
    let verifier =
        Verifier::new(config(json!({"type": "issuer"}), Some(issuer))).with_clock(clock.clone());
    (verifier, clock)
}

const WELL_KNOWN: &str = "/realms/test/.well-known/openid-configuration";

/// A provider whose issuer is `issuer_path` on it, with a discovery document
/// (max-age 1 h) at [`WELL_KNOWN`] that names `jwks_uri`: a path on the
/// provider (which then serves the key set `k1` there), or a URL as given.
/// The provider and the issuer.
fn discovering(issuer_path: &str, jwks_uri: &str) -> (Server, String) {
    let server = Server::start();
    let issuer = server.url(issuer_path);
    let url = match jwks_uri.starts_with('/') {
        true => {
            server.set(jwks_uri, Reply::json(rsa_set(&[("rsa2048", "k1")])));
            server.url(jwks_uri)
        }
        false => jwks_uri.to_owned(),
    };
    server.set(
        WELL_KNOWN,
        Reply::json(discovery_doc(&issuer, &url)).max_age(3600),
    );
    (server, issuer)
}

#[tokio::test]
async fn discovery_finds_the_jwks_uri_and_is_cached() {
    let (server, issuer) = discovering("/realms/test", "/realms/test/certs");
    let hits = || (server.hits(WELL_KNOWN), server.hits("/realms/test/certs"));
    let (verifier, clock) = issuer_verifier(&issuer);
    let claims = json!({"iss": issuer, "sub": "jdoe", "exp": NOW + LIVES});
    let t1 = token_with("rsa2048", json!({"alg": "RS256", "kid": "k1"}), &claims);
    assert_eq!(check(&verifier, &t1).await.unwrap(), "jdoe");
    accepts(&verifier, &t1).await;
    assert_eq!(hits(), (1, 1));

    // Rotation refetches the key set, not the discovery document.
    server.set(
        "/realms/test/certs",
        Reply::json(rsa_set(&[("rsa2048", "k1"), ("rsa2048b", "k2")])),
    );
    let t2 = token_with("rsa2048b", json!({"alg": "RS256", "kid": "k2"}), &claims);
    accepts(&verifier, &t2).await;
    assert_eq!(hits(), (1, 2));

    // After 10 min the keys are stale, the discovery document (max-age 1 h) is not.
    clock.advance(secs(600));
    accepts(&verifier, &t1).await;
    assert_eq!(hits(), (1, 3));
    // After 1 h both are refetched.
    clock.advance(secs(3000));
    accepts(&verifier, &t1).await;
    assert_eq!(hits(), (2, 4));

    // The discovery document fails later: the last jwks_uri keeps being used.
    server.set(WELL_KNOWN, Reply::status(502, ""));
    clock.advance(secs(3600));
    accepts(&verifier, &t1).await;
    assert_eq!(hits(), (3, 5));
}

#[tokio::test]
async fn an_issuer_with_a_trailing_slash_is_discovered_without_a_double_slash() {
    let (server, issuer) = discovering("/realms/test/", "/certs");
    let (verifier, _clock) = issuer_verifier(&issuer);
    verifier.refresh().await.unwrap();
    assert_eq!((server.hits(WELL_KNOWN), server.hits("/certs")), (1, 1));
}

#[tokio::test]
async fn a_discovery_issuer_mismatch_is_key_fetch() {
    let server = Server::start();
    let issuer = server.url("/realms/test");
    for served in [
        format!("{issuer}/"),
        server.url("/realms/other"),
        issuer.to_uppercase(),
    ] {
        server.set(
            WELL_KNOWN,
            Reply::json(discovery_doc(&served, &server.url("/certs"))),
        );
        server.set("/certs", Reply::json(rsa_set(&[("rsa2048", "k1")])));
        let (verifier, _clock) = issuer_verifier(&issuer);
        let claims = json!({"iss": issuer, "sub": "jdoe", "exp": NOW + LIVES});
        let t = token_with("rsa2048", json!({"alg": "RS256", "kid": "k1"}), &claims);
        let err = check(&verifier, &t).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::KeyFetch);
        let message = err.to_string();
        assert!(
            message.contains("does not equal the configured issuer"),
            "{message}"
        );
        assert!(message.contains(&server.url(WELL_KNOWN)), "{message}");
    }
    assert_eq!(server.hits("/certs"), 0);
}

#[tokio::test]
async fn a_discovered_jwks_uri_follows_the_url_rules() {
    let (server, issuer) = discovering("/realms/test", "http://idp.example.com/certs");
    let (verifier, _clock) = issuer_verifier(&issuer);
    let err = verifier.refresh().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::KeyFetch);
    assert!(err.to_string().contains("not loopback"), "{err}");
    for body in ["{}", "[]", "nope", r#"{"issuer": 5}"#] {
        server.set(WELL_KNOWN, Reply::json(body));
        let (verifier, _clock) = issuer_verifier(&issuer);
        assert_eq!(
            verifier.refresh().await.unwrap_err().kind(),
            ErrorKind::KeyFetch,
            "{body}"
        );
    }
}

// ---------------------------------------------------------------- configuration and token URLs

#[test]
fn url_rules_apply_when_the_configuration_loads() {
    let load = |key_source: Value, issuer: Option<&str>, algorithms: Value| {
        let mut config = json!({
            "name": "IdP", "token_name": "token", "algorithms": algorithms,
            "key_source": key_source, "expiration_time": 3600, "claims": {"user_id": "sub"}
        });
        if let Some(issuer) = issuer {
            config["issuer"] = json!(issuer);
        }
        JwtConfig::from_json_str(&config.to_string()).and_then(JwtConfig::validate)
    };
    let rs = json!(["RS256"]);
    for url in [
        "http://idp.example.com/jwks",
        "http://10.1.2.3/jwks",
        "ftp://127.0.0.1/jwks",
        "https://u:p@idp.example.com/jwks",
        "jwks",
    ] {
        let err = load(json!({"type": "jwks_uri", "url": url}), None, rs.clone()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{url}");
        assert!(err.to_string().contains("key_source.url"), "{err}");
        assert!(!err.to_string().contains(":p@"), "{err}");
    }
    for url in [
        "https://idp.example.com/jwks",
        "http://127.0.0.1:1/jwks",
        "http://[::1]:1/jwks",
        "http://localhost/jwks",
    ] {
        match load(json!({"type": "jwks_uri", "url": url}), None, rs.clone()) {
            Ok(valid) => assert!(
                matches!(valid.config().key_source, KeySource::JwksUri { .. }),
                "{url}: a jwks_uri key source"
            ),
            Err(e) => panic!("{url}: expected a valid configuration, got {e}"),
        }
    }
    let err = load(
        json!({"type": "issuer"}),
        Some("http://idp.example.com"),
        rs.clone(),
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(err.to_string().contains("issuer"), "{err}");
    let issuer = load(
        json!({"type": "issuer"}),
        Some("https://idp.example.com"),
        rs.clone(),
    )
    .expect("an https issuer is a valid key source");
    assert!(
        matches!(issuer.config().key_source, KeySource::Issuer { .. }),
        "an issuer key source: {:?}",
        issuer.config().key_source
    );
    assert_eq!(
        load(json!({"type": "issuer"}), None, rs.clone())
            .unwrap_err()
            .kind(),
        ErrorKind::Config
    );
    // A shared secret is never fetched.
    let err = load(
        json!({"type": "jwks_uri", "url": "https://idp.example.com/jwks"}),
        None,
        json!(["RS256", "HS256"]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("HS256"), "{err}");
}

#[tokio::test]
async fn urls_in_a_token_are_never_fetched() {
    let (server, verifier, _clock) = setup();
    verifier.refresh().await.unwrap();
    let trap = Server::start();
    trap.set("/jwks", Reply::json(rsa_set(&[("rsa2048b", "evil")])));
    let claims = json!({"iss": trap.url("/"), "sub": "jdoe", "exp": NOW + LIVES});
    let header = json!({
        "alg": "RS256", "kid": "evil",
        "jku": trap.url("/jwks"), "x5u": trap.url("/cert"),
        "jwk": jwk("rsa2048b", json!({"kid": "evil"})),
        "x5c": ["MIIB"]
    });
    let evil = token_with("rsa2048b", header, &claims);
    assert_eq!(kind_of(&verifier, &evil).await, ErrorKind::KeyNotFound);
    assert_eq!(
        verifier.verify_cached(&evil).unwrap_err().kind(),
        ErrorKind::KeyNotFound
    );
    // With a known kid, the token's URLs are ignored too.
    let header =
        json!({"alg": "RS256", "kid": "k1", "jku": trap.url("/jwks"), "x5u": trap.url("/cert")});
    accepts(&verifier, &token_with("rsa2048", header, &claims)).await;
    assert_eq!(
        server.hits("/jwks"),
        2,
        "the configured URL: the warm-up and one miss refetch"
    );
    assert_eq!(
        trap.connections(),
        0,
        "no connection to a URL named by a token"
    );
}

// ---------------------------------------------------------------- the HTTP seam

#[tokio::test]
async fn a_closure_can_be_the_http_client_and_the_rules_still_apply() {
    let seen = Arc::new(Mutex::new(Vec::<HttpRequest>::new()));
    let log = seen.clone();
    let set = rsa_set(&[("rsa2048", "k1")]);
    let fetch = move |request: HttpRequest| {
        log.lock().unwrap().push(request.clone());
        let set = set.clone();
        async move {
            match request.url.as_str() {
                "https://idp.example.com/jwks" => Ok(HttpResponse::new(200, set)),
                "https://idp.example.com/moved" => {
                    Ok(HttpResponse::new(301, "").with_location("https://evil.example.com/jwks"))
                }
                _ => Err(FetchError::new("unexpected URL")),
            }
        }
    };
    let verifier = Verifier::new(config(
        json!({"type": "jwks_uri", "url": "https://idp.example.com/jwks"}),
        None,
    ))
    .with_clock(ManualClock::new(UnixTime::from_secs(NOW)))
    .with_http_fetch(fetch.clone());
    accepts(&verifier, &token("rsa2048", "k1")).await;
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].timeout, secs(5));
        assert_eq!(seen[0].max_body_bytes, 1024 * 1024);
    }
    let verifier = Verifier::new(config(
        json!({"type": "jwks_uri", "url": "https://idp.example.com/moved"}),
        None,
    ))
    .with_clock(ManualClock::new(UnixTime::from_secs(NOW)))
    .with_http_fetch(fetch);
    let err = verifier.refresh().await.unwrap_err();
    assert!(err.to_string().contains("refused"), "{err}");
    assert_eq!(
        seen.lock().unwrap().len(),
        2,
        "the redirect target was never requested"
    );
}
