//! Verification with a warm remote key cache against verification with a
//! static key of the same algorithm (RS256 and ES256): the cache's hot path
//! (an atomic load and a clock read) should cost nothing measurable next to
//! the signature check and the claims pipeline.
//!
//! `cargo bench --features remote --bench remote`
//!
//! The JWK Set is served by a real HTTP server on 127.0.0.1 and fetched once
//! before timing starts; no I/O happens inside the timed loops.

#[path = "../tests/support/provider.rs"]
mod support;

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, JwtConfig, ManualClock, UnixTime, ValidConfig, Verifier};
use serde_json::{Value, json};
use support::{Reply, Server};

const NOW: i64 = 1_767_225_600;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../tests/data/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn config(alg: Algorithm, key_source: Value) -> ValidConfig {
    let config = json!({
        "name": "bench", "token_name": "token", "issuer": "https://idp.example.com",
        "audience": "bi-server", "algorithms": [alg.as_str()], "key_source": key_source,
        "expiration_time": 86400, "claims": {"user_id": "sub", "name": "name", "roles": "groups"}
    });
    JwtConfig::from_json_str(&config.to_string())
        .unwrap()
        .validate()
        .unwrap()
}

fn bench_pair(c: &mut Criterion, runtime: &tokio::runtime::Runtime, alg: Algorithm, key: &str) {
    let public: Value = serde_json::from_str(&read("jwks/public_jwks.json")).unwrap();
    let mut jwk = public[key].clone();
    jwk["kid"] = json!("k1");
    // Two more keys in the set, so selection by kid does real work.
    let mut other = public["rsa2048b"].clone();
    other["kid"] = json!("k0");
    let mut third = public["p384"].clone();
    third["kid"] = json!("k2");
    let server = Server::start();
    server.set(
        "/jwks",
        Reply::json(json!({"keys": [other, jwk, third]}).to_string()).max_age(86_400),
    );

    let static_verifier = Verifier::new(config(
        alg,
        json!({"type": "static", "public_key_pem": read(&format!("keys/{key}_public.pem"))}),
    ))
    .with_clock(ManualClock::new(UnixTime::from_secs(NOW)));
    let remote_verifier = Verifier::new(config(
        alg,
        json!({"type": "jwks_uri", "url": server.url("/jwks")}),
    ))
    .with_clock(ManualClock::new(UnixTime::from_secs(NOW)));
    runtime.block_on(remote_verifier.refresh()).unwrap();
    assert_eq!(server.hits("/jwks"), 1);

    let token = (SigningKey::from_pem(&read(&format!("keys/{key}_private.pem"))))
        .sign_with_header(
            alg,
            &json!({"alg": alg.as_str(), "kid": "k1", "typ": "JWT"}),
            &json!({"iss": "https://idp.example.com", "aud": "bi-server", "sub": "jdoe",
                "name": "Jane Doe", "groups": ["Sales", "Finance"], "iat": NOW, "exp": NOW + 3600}),
        )
        .unwrap();
    assert!(static_verifier.verify_cached(&token).is_ok());
    assert!(remote_verifier.verify_cached(&token).is_ok());

    interleaved(
        &format!("{alg} verify"),
        &|| {
            black_box(static_verifier.verify_cached(black_box(&token)).unwrap());
        },
        &|| {
            black_box(remote_verifier.verify_cached(black_box(&token)).unwrap());
        },
    );
    interleaved(
        &format!("{alg} verify_async"),
        &|| {
            black_box(
                runtime
                    .block_on(static_verifier.verify(black_box(&token)))
                    .unwrap(),
            );
        },
        &|| {
            black_box(
                runtime
                    .block_on(remote_verifier.verify(black_box(&token)))
                    .unwrap(),
            );
        },
    );

    let mut group = c.benchmark_group(alg.as_str());
    group.bench_function("static/verify", |b| {
        b.iter(|| static_verifier.verify_cached(black_box(&token)).unwrap())
    });
    group.bench_function("remote_warm/verify", |b| {
        b.iter(|| remote_verifier.verify_cached(black_box(&token)).unwrap())
    });
    group.bench_function("static/verify_async", |b| {
        b.iter(|| {
            runtime
                .block_on(static_verifier.verify(black_box(&token)))
                .unwrap()
        })
    });
    group.bench_function("remote_warm/verify_async", |b| {
        b.iter(|| {
            runtime
                .block_on(remote_verifier.verify(black_box(&token)))
                .unwrap()
        })
    });
    group.finish();
    assert_eq!(server.hits("/jwks"), 1, "no fetch while timing");
}

/// An A/B measurement that a busy machine cannot skew: short blocks of
/// static and warm-remote verifications alternate (in alternating order), so
/// both see the same load; prints the medians and the median per-round ratio.
fn interleaved(label: &str, a: &dyn Fn(), b: &dyn Fn()) {
    const ROUNDS: usize = 400;
    const BLOCK: u32 = 50;
    let block = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..BLOCK {
            f();
        }
        start.elapsed().as_nanos() as f64 / f64::from(BLOCK)
    };
    for _ in 0..20 {
        block(a);
        block(b);
    }
    let (mut sa, mut sb, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let (x, y) = if round % 2 == 0 {
            let x = block(a);
            (x, block(b))
        } else {
            let y = block(b);
            (block(a), y)
        };
        sa.push(x);
        sb.push(y);
        ratios.push(y / x);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{label} interleaved ({ROUNDS} rounds of {BLOCK}): static {:.0} ns/iter, warm remote {:.0} ns/iter, remote/static = {:.3}",
        median(&mut sa),
        median(&mut sb),
        median(&mut ratios)
    );
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    bench_pair(c, &runtime, Algorithm::RS256, "rsa2048");
    bench_pair(c, &runtime, Algorithm::ES256, "p256");
}

criterion_group!(remote, benches);
criterion_main!(remote);
