//! The login flow on the memory stores beside verification alone: what the
//! login layer (routing, user lookup, policies, the single-use record) adds
//! to a verification.
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
