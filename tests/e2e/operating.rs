//! Operating `login_server` (CONTRACT section 9), as a process on a SQLite
//! file with real HTTP: `/metrics` on its own listener, parsed as
//! Prometheus text (every series from the start, counters moving by exactly
//! one per attempt, no series from token values), and the failed-login
//! throttle (the 21st bad attempt within a minute is `429` with
//! `Retry-After`, other addresses are served at once). The throttle's
//! window and its bound on addresses are unit tests of src/throttle.rs
//! (they need an injected monotonic clock).

#![cfg(all(feature = "sqlite", feature = "axum", feature = "remote"))]

use crate::support::fixtures::{TempDir, now, sign};
use crate::support::http::{self, Reply};
use crate::support::prometheus;
use crate::support::server::{ERP, SECRET_ERP, Server, hs256_config};

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use prometheus::Scrape;
use reqwest::Method;
use serde_json::{Value, json};

/// A token of `iss` for `user`, expiring at `exp`, signed with ERP's secret.
fn token(iss: &str, user: &str, exp: i64) -> String {
    sign(SECRET_ERP, json!({"iss": iss, "sub": user, "exp": exp}))
}

fn good(user: &str) -> String {
    token(ERP, user, now() + 600)
}

/// `login_server` on a SQLite file with ERP and CRM, started with `args`.
fn server(name: &str, args: &[&str]) -> (Server, TempDir) {
    let dir = TempDir::new(&format!("ops-{name}"));
    // Two configurations with one secret, so that a token is routed by its `iss`.
    let mut crm = hs256_config("CRM", "https://crm.example.com", SECRET_ERP);
    crm["token_name"] = json!("jwt");
    let configs = json!([hs256_config("ERP", ERP, SECRET_ERP), crm]);
    std::fs::write(dir.join("configs.json"), configs.to_string()).unwrap();
    let db = dir.join("db.sqlite");
    let log = dir.join("server.log");
    let server = Server::start(&dir.join("configs.json"), db.to_str().unwrap(), log, args);
    (server, dir)
}

/// A throttled login's `Retry-After` (1 to 60 seconds): the reply must be
/// `429` `rate_limited`.
fn throttled_for(reply: &Reply) -> u64 {
    assert_eq!(
        (reply.status, reply.kind()),
        (429, "rate_limited"),
        "{reply:?}"
    );
    let value = reply.header("retry-after");
    let seconds = value.and_then(|v| v.parse().ok());
    let seconds = seconds.unwrap_or_else(|| panic!("a Retry-After in seconds: {reply:?}"));
    assert!((1..=60).contains(&seconds), "Retry-After: {seconds}");
    seconds
}

const LOGINS: &str = "jwt_sso_logins_total";

/// The labels of one `jwt_sso_logins_total` series.
type Labels = [(&'static str, &'static str); 3];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_prometheus_text_on_their_own_listener_one_count_per_attempt_and_no_series_from_tokens()
 {
    let (server, _dir) = server(
        "metrics",
        &["--metrics-listen", "127.0.0.1:0", "--trust-forwarded-for"],
    );
    // Every series from the start, at 0; the histogram with buckets.
    let start = server.metrics().await;
    for (name, kind) in [
        (LOGINS, "counter"),
        ("jwt_sso_login_duration_seconds", "histogram"),
        ("jwt_sso_key_fetches_total", "counter"),
        ("jwt_sso_sessions_active", "gauge"),
        ("jwt_sso_events_dropped_total", "counter"),
        ("jwt_sso_rate_limited_total", "counter"),
    ] {
        assert_eq!(
            start.types.get(name).map(String::as_str),
            Some(kind),
            "{name}"
        );
    }
    let accepted = [("config", "ERP"), ("kind", "none"), ("outcome", "accepted")];
    assert_eq!(start.value(LOGINS, &accepted), Some(0.0));
    assert_eq!(start.value("jwt_sso_rate_limited_total", &[]), Some(0.0));
    assert_eq!(start.value("jwt_sso_sessions_active", &[]), Some(0.0));
    assert_eq!(start.value("jwt_sso_events_dropped_total", &[]), Some(0.0));
    for outcome in ["accepted", "refused"] {
        assert_eq!(
            start.value(
                "jwt_sso_login_duration_seconds_count",
                &[("outcome", outcome)]
            ),
            Some(0.0)
        );
        assert_eq!(
            start.value(
                "jwt_sso_login_duration_seconds_bucket",
                &[("le", "+Inf"), ("outcome", outcome)]
            ),
            Some(0.0),
            "{start:#?}"
        );
    }
    let buckets = start
        .samples
        .iter()
        .filter(|s| s.name == "jwt_sso_login_duration_seconds_bucket")
        .count();
    assert!(buckets > 10, "the histogram's buckets: {buckets}");

    // The metrics listener is not the public one, and the other way round.
    let metrics_url = server.process.metrics_url();
    assert!(
        !metrics_url.starts_with(&server.process.base),
        "{metrics_url}"
    );
    let public = Reply::send(server.http.get(server.url("/metrics"))).await;
    assert_eq!(public.status, 404, "/metrics on the public listener");
    let metrics_base = metrics_url.trim_end_matches("/metrics");
    let wrong = Reply::send(server.http.post(format!("{metrics_base}/api/auth/login"))).await;
    assert_eq!(wrong.status, 404, "a login on the metrics listener");

    // Each attempt moves its series, the total and its histogram by one.
    let cases: [(String, u16, Labels); 4] = [
        (
            good("jdoe"),
            200,
            [("config", "ERP"), ("kind", "none"), ("outcome", "accepted")],
        ),
        (
            token(ERP, "jdoe", now() - 3600),
            401,
            [
                ("config", "ERP"),
                ("kind", "expired"),
                ("outcome", "refused"),
            ],
        ),
        (
            token("https://nobody.example", "x", now() + 600),
            401,
            [
                ("config", "none"),
                ("kind", "no_matching_config"),
                ("outcome", "refused"),
            ],
        ),
        (
            "not a token at all".to_owned(),
            401,
            [
                ("config", "none"),
                ("kind", "malformed"),
                ("outcome", "refused"),
            ],
        ),
    ];
    for (n, (token, status, labels)) in cases.iter().enumerate() {
        let before = server.metrics().await;
        let client = format!("198.51.100.{n}");
        let reply = server.login_from(token, Some(&client)).await;
        assert_eq!(reply.status, *status, "{labels:?}: {reply:?}");
        let after = server.metrics().await;
        let outcome = labels[2].1;
        assert_eq!(
            after.value(LOGINS, labels).unwrap_or(0.0)
                - before.value(LOGINS, labels).unwrap_or(0.0),
            1.0,
            "{labels:?}"
        );
        assert_eq!(after.sum(LOGINS) - before.sum(LOGINS), 1.0, "{labels:?}");
        let count = |s: &Scrape| {
            s.value(
                "jwt_sso_login_duration_seconds_count",
                &[("outcome", outcome)],
            )
            .unwrap()
        };
        assert_eq!(count(&after) - count(&before), 1.0, "{labels:?}");
    }

    // 10 000 tokens with random issuers, from 10 000 addresses: no new series.
    let before = server.metrics().await;
    let mut workers = tokio::task::JoinSet::new();
    for worker in 0..8u32 {
        let (http, url) = (server.http.clone(), server.url("/api/auth/login"));
        workers.spawn(async move {
            for i in 0..1250u32 {
                let n = worker * 1250 + i;
                let iss = format!(
                    "https://{n:x}-{}.example/{}",
                    now(),
                    n.wrapping_mul(2_654_435_761)
                );
                let body = http::login_body(&token(&iss, &format!("user{n}"), now() + 600));
                let client = Ipv4Addr::from(0x0a00_0000 + n).to_string();
                let request = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-forwarded-for", client)
                    .body(body);
                let reply = Reply::send(request).await;
                assert_eq!(reply.status, 401, "{iss}: {reply:?}");
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.unwrap();
    }
    let after = server.metrics().await;
    assert_eq!(after.series(), before.series(), "no new series");
    let no_match = [
        ("config", "none"),
        ("kind", "no_matching_config"),
        ("outcome", "refused"),
    ];
    assert_eq!(
        after.value(LOGINS, &no_match).unwrap() - before.value(LOGINS, &no_match).unwrap(),
        10_000.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_twenty_first_bad_attempt_of_an_address_is_429_and_other_addresses_log_in_at_once() {
    let (server, _dir) = server(
        "throttle",
        &["--metrics-listen", "127.0.0.1:0", "--trust-forwarded-for"],
    );
    let bad = token(ERP, "jdoe", now() - 3600);
    for i in 0..20 {
        let reply = server.login_from(&bad, Some("203.0.113.9")).await;
        assert_eq!(
            (reply.status, reply.kind()),
            (401, "expired"),
            "attempt {i}"
        );
    }
    let started = Instant::now();
    let throttled = server.login_from(&good("jdoe"), Some("203.0.113.9")).await;
    let retry_after = throttled_for(&throttled);
    assert!(
        retry_after >= 60 - started.elapsed().as_secs() - 30,
        "{retry_after}"
    );
    // Another address (the last one of X-Forwarded-For) logs in at once.
    let other = server.login_from(&good("ann"), Some("203.0.113.10")).await;
    assert_eq!(other.status, 200, "another address: {other:?}");
    // A throttled attempt is a refusal in the metrics and the history.
    let metrics = server.metrics().await;
    assert_eq!(metrics.value("jwt_sso_rate_limited_total", &[]), Some(1.0));
    assert_eq!(
        metrics.value(
            LOGINS,
            &[
                ("config", "none"),
                ("kind", "rate_limited"),
                ("outcome", "refused")
            ]
        ),
        Some(1.0)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let path = "/api/admin/events?kind=rate_limited";
        let reply = server.admin(Method::GET, path, None, None).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let page = reply.body;
        if let Some(event) = page["events"].as_array().unwrap().first() {
            assert_eq!(event["client"], "203.0.113.9");
            assert_eq!(event["config"], Value::Null);
            assert_eq!(event["outcome"], "refused");
            let message = event["message"].as_str().unwrap_or_default();
            assert!(message.contains("20 refused logins"), "{event}");
            break;
        }
        assert!(Instant::now() < deadline, "no rate_limited event: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trust_forwarded_for_the_tcp_peer_is_the_client() {
    let (server, _dir) = server("peer", &["--max-failed-logins", "3"]);
    for i in 0..3 {
        // A forged X-Forwarded-For changes nothing.
        let client = format!("198.51.100.{i}");
        let reply = server.login_from("bad", Some(&client)).await;
        assert_eq!(reply.status, 401, "attempt {i}: {reply:?}");
    }
    let throttled = server
        .login_from(&good("jdoe"), Some("198.51.100.77"))
        .await;
    throttled_for(&throttled);
}

/// Each fetch attempt of a remote key source counts once in
/// `jwt_sso_key_fetches_total`, under its configuration's name and `ok` or
/// `error` (a library test with a recorder of its own: the counts do not
/// depend on a server).
#[test]
fn key_fetches_count_once_per_attempt_by_configuration_and_result() {
    use jwt_sso::{
        FetchError, HttpRequest, HttpResponse, JwtConfig, ManualClock, UnixTime, Verifier,
    };

    let data = format!(
        "{}/tests/data/jwks/public_jwks.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let all: Value = serde_json::from_str(&std::fs::read_to_string(data).unwrap()).unwrap();
    let mut key = all["rsa2048"].clone();
    key["kid"] = json!("k1");
    let set = json!({"keys": [key]}).to_string();
    let fetch = move |request: HttpRequest| {
        let set = set.clone();
        async move {
            match request.url.as_str() {
                "https://idp.example.com/jwks" => Ok(HttpResponse::new(200, set)),
                _ => Err(FetchError::new("the provider is down")),
            }
        }
    };
    let verifier = |name: &str, url: &str| {
        let config = json!({"name": name, "token_name": "token", "algorithms": ["RS256"],
            "key_source": {"type": "jwks_uri", "url": url},
            "expiration_time": 3600, "claims": {"user_id": "sub"}});
        Verifier::new(
            JwtConfig::from_json_str(&config.to_string())
                .unwrap()
                .validate()
                .unwrap(),
        )
        .with_clock(ManualClock::new(UnixTime::from_secs(1_767_225_600)))
        .with_http_fetch(fetch.clone())
    };
    let (up, down) = (
        verifier("Okta", "https://idp.example.com/jwks"),
        verifier("Keycloak", "https://down.example.com/jwks"),
    );
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        runtime.block_on(async {
            up.refresh().await.unwrap();
            up.refresh().await.unwrap();
            assert_eq!(
                down.refresh().await.unwrap_err().kind(),
                jwt_sso::ErrorKind::KeyFetch
            );
        })
    });
    let scrape = prometheus::Scrape::parse(&recorder.handle().render());
    let fetches = |config: &str, result: &str| {
        scrape.value(
            "jwt_sso_key_fetches_total",
            &[("config", config), ("result", result)],
        )
    };
    assert_eq!(fetches("Okta", "ok"), Some(2.0), "{scrape:#?}");
    assert_eq!(fetches("Keycloak", "error"), Some(1.0), "{scrape:#?}");
    assert_eq!(fetches("Okta", "error"), None);
    assert_eq!(fetches("Keycloak", "ok"), None);
}

/// `Registry::describe_metrics` registers every series at 0 from the
/// registry it is called on: a login counter per configuration, key-fetch
/// counters for the remote ones only, and `config="none"` key-fetch
/// counters only when no configuration is remote (a library test with a
/// recorder of its own).
#[test]
fn describe_metrics_registers_each_configuration_at_zero_and_key_fetches_for_remote_ones() {
    use jwt_sso::Registry;

    let config = |name: &str, key_source: Value| {
        json!({"name": name, "token_name": "token", "algorithms": ["RS256"],
            "key_source": key_source, "expiration_time": 3600, "claims": {"user_id": "sub"}})
    };
    let erp = json!({"name": "ERP", "token_name": "token", "algorithms": ["HS256"],
        "key_source": {"type": "static", "secret": SECRET_ERP},
        "expiration_time": 3600, "claims": {"user_id": "sub"}});
    let okta = config(
        "Okta",
        json!({"type": "jwks_uri", "url": "https://idp.example.com/jwks"}),
    );
    let scrape_of = |configs: Value| {
        let registry = Registry::from_json_str(&configs.to_string()).unwrap();
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        metrics::with_local_recorder(&recorder, || registry.describe_metrics());
        Scrape::parse(&recorder.handle().render())
    };

    let mixed = scrape_of(json!([erp, okta]));
    for name in ["ERP", "Okta"] {
        let accepted = [("config", name), ("kind", "none"), ("outcome", "accepted")];
        assert_eq!(mixed.value(LOGINS, &accepted), Some(0.0), "{mixed:#?}");
    }
    let refused = [
        ("config", "none"),
        ("kind", "rate_limited"),
        ("outcome", "refused"),
    ];
    assert_eq!(mixed.value(LOGINS, &refused), Some(0.0));
    let fetches = |scrape: &Scrape, config: &str, result: &str| {
        scrape.value(
            "jwt_sso_key_fetches_total",
            &[("config", config), ("result", result)],
        )
    };
    for result in ["ok", "error"] {
        assert_eq!(fetches(&mixed, "Okta", result), Some(0.0), "{mixed:#?}");
        assert_eq!(fetches(&mixed, "ERP", result), None, "a static source");
        assert_eq!(fetches(&mixed, "none", result), None, "Okta is remote");
    }
    for name in [
        "jwt_sso_rate_limited_total",
        "jwt_sso_events_dropped_total",
        "jwt_sso_sessions_active",
    ] {
        assert_eq!(mixed.value(name, &[]), Some(0.0), "{name}");
    }

    let static_only = scrape_of(json!([erp]));
    for result in ["ok", "error"] {
        assert_eq!(fetches(&static_only, "none", result), Some(0.0));
        assert_eq!(fetches(&static_only, "ERP", result), None);
    }
    assert_eq!(
        static_only.value(
            LOGINS,
            &[
                ("config", "Okta"),
                ("kind", "none"),
                ("outcome", "accepted")
            ]
        ),
        None,
        "only the registry's configurations"
    );
}
