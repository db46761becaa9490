//! The login flow on the memory stores beside verification alone: what the
//! login layer (routing, user lookup, policies, the single-use record) adds
//! to a verification; what its operating pieces add (an event
//! subscriber and a Prometheus recorder, issue 22); and what a throttled
//! attempt costs (the whole JSON login route answering `429`).
//!
//! Run: `cargo bench --bench login` (short: `-- --warm-up-time 1 --measurement-time 3`).
//! Setup (registry, users, tokens) happens outside the timed loops.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, criterion_group, criterion_main};
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, Authenticator, JwtConfig, MemoryStore, Registry, Verification};
use serde_json::{Value, json};

const SECRET: &str = "benchmark-secret-0123456789abcdef-0123456789";
const ISSUER: &str = "https://idp.example.com";

fn config(name: &str, issuer: &str, single_use: bool) -> JwtConfig {
    let config = json!({
        "name": name, "token_name": "token", "issuer": issuer, "audience": "bi-server",
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET},
        "expiration_time": 86400, "single_use": single_use,
        "claims": {"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
        "initial_roles": ["Viewer"]
    });
    JwtConfig::from_json_str(&config.to_string()).unwrap()
}

fn token(issuer: &str, jti: Option<u64>) -> String {
    let now = jwt_sso::UnixTime::now().as_secs();
    let mut claims: Value = json!({
        "iss": issuer, "aud": "bi-server", "sub": "4711", "loginname": "jdoe",
        "name": "Jane Doe", "email": "jane.doe@example.com",
        "groups": ["Sales", "Analysts", "EMEA"], "iat": now, "exp": now + 3600
    });
    if let Some(jti) = jti {
        claims["jti"] = json!(format!("jti-{jti}"));
    }
    SigningKey::from_secret(SECRET.as_bytes())
        .sign(Algorithm::HS256, &claims)
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    // Two configurations, so that every token is routed by `iss`.
    let registry = Arc::new(
        Registry::from_configs([
            config("ERP", ISSUER, false),
            config("Once", "https://once.example.com", true),
            config("CRM", "https://crm.example.com", false),
        ])
        .unwrap(),
    );
    let auth = Authenticator::new(Arc::clone(&registry), MemoryStore::new());
    let repeat = token(ISSUER, None);
    runtime
        .block_on(auth.login(&repeat, Verification::default()))
        .unwrap(); // the user exists

    let mut group = c.benchmark_group("login");
    let verifier = registry.verifier("ERP").unwrap();
    group.bench_function("verify_alone", |b| {
        b.iter(|| black_box(verifier.verify_cached(black_box(&repeat)).unwrap()))
    });
    group.bench_function("registry_verify_async_routed", |b| {
        b.iter(|| {
            black_box(
                runtime
                    .block_on(registry.verify(black_box(&repeat), Verification::default()))
                    .unwrap(),
            )
        })
    });
    group.bench_function("login_repeat", |b| {
        b.iter(|| {
            black_box(
                runtime
                    .block_on(auth.login(black_box(&repeat), Verification::default()))
                    .unwrap(),
            )
        })
    });
    // The same login with a subscriber (drained as a host's task would) and
    // the Prometheus exporter's recorder: the event built and handed over,
    // the counter and the histogram recorded.
    let observed = Authenticator::new(Arc::clone(&registry), MemoryStore::new());
    let mut sink = observed.subscribe(1024);
    runtime
        .block_on(observed.login(&repeat, Verification::default()))
        .unwrap();
    let recorder = metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[
            0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            5.0, 10.0,
        ])
        .unwrap()
        .build_recorder();
    group.bench_function("login_repeat_with_sink", |b| {
        b.iter(|| {
            let login = runtime
                .block_on(observed.login(black_box(&repeat), Verification::default()))
                .unwrap();
            while sink.try_recv().is_some() {}
            black_box(login)
        })
    });
    metrics::with_local_recorder(&recorder, || {
        group.bench_function("login_repeat_with_recorder", |b| {
            b.iter(|| {
                black_box(
                    runtime
                        .block_on(auth.login(black_box(&repeat), Verification::default()))
                        .unwrap(),
                )
            })
        });
    });
    metrics::with_local_recorder(&recorder, || {
        runtime
            .block_on(observed.login(&repeat, Verification::default()))
            .unwrap();
        while sink.try_recv().is_some() {}
        group.bench_function("login_repeat_with_sink_and_recorder", |b| {
            b.iter(|| {
                let login = runtime
                    .block_on(observed.login(black_box(&repeat), Verification::default()))
                    .unwrap();
                while sink.try_recv().is_some() {}
                black_box(login)
            })
        });
    });
    assert_eq!(observed.events_dropped(), 0);
    assert!(
        recorder.handle().render().contains("jwt_sso_logins_total"),
        "the recorder saw the logins"
    );
    // A fresh single-use token per iteration (signed beforehand in batches):
    // verify + replay record + find.
    // No cap: a long run records hundreds of thousands of `jti`s.
    let once = Authenticator::new(Arc::clone(&registry), MemoryStore::new())
        .with_replay_store(MemoryStore::new().with_jti_capacity(usize::MAX));
    // The user is created by Once's first login (an ERP-created one would be
    // another configuration's user: user_conflict).
    runtime
        .block_on(once.login(
            &token("https://once.example.com", Some(u64::MAX)),
            Verification::default(),
        ))
        .unwrap();
    let next = AtomicU64::new(0);
    group.bench_function("login_single_use", |b| {
        b.iter_batched(
            || {
                token(
                    "https://once.example.com",
                    Some(next.fetch_add(1, Ordering::Relaxed)),
                )
            },
            |t| {
                black_box(
                    runtime
                        .block_on(once.login(&t, Verification::default()))
                        .unwrap(),
                )
            },
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();

    // A throttled attempt: the JSON login route answering 429 (the
    // throttle's check, one event and the metrics included).
    let mut group = c.benchmark_group("throttled");
    let client: std::net::IpAddr = "192.0.2.1".parse().unwrap();
    let sessions = Arc::new(jwt_sso::Sessions::new(MemoryStore::new()));
    let routes = jwt_sso::axum::LoginRoutes::new(
        Authenticator::new(Arc::clone(&registry), MemoryStore::new()),
        sessions,
        jwt_sso::axum::LoginOptions::default(),
    );
    let router = routes.router::<()>();
    let peer = std::net::SocketAddr::new(client, 40_000);
    let login_request = |token: &str| {
        let body = json!({"loginMode": 67108864, "password": token}).to_string();
        let mut request = axum::http::Request::post("/api/auth/login")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body))
            .unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        request
    };
    use tower::ServiceExt as _;
    // 20 refused logins from the client (the default limit).
    for _ in 0..20 {
        let status = runtime
            .block_on(router.clone().oneshot(login_request("not.a.token")))
            .unwrap()
            .status();
        assert_eq!(status, 401);
    }
    let body = json!({"loginMode": 67108864, "password": repeat}).to_string();
    let request = || {
        let mut request = axum::http::Request::post("/api/auth/login")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.clone()))
            .unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
        request
    };
    let status = runtime
        .block_on(router.clone().oneshot(request()))
        .unwrap()
        .status();
    assert_eq!(status, 429);
    group.bench_function("login_route_429", |b| {
        b.iter_batched(
            request,
            |r| black_box(runtime.block_on(router.clone().oneshot(r)).unwrap()),
            criterion::BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
