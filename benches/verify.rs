//! Verification throughput: jwt-sso's whole pipeline (mapping included)
//! beside its peers on the same tokens and keys, and above the bare
//! signature primitive.
//!
//! The peers and their tokens are in `support/peers.rs`.
//!
//! Run:
//! - `cargo bench --bench verify` for criterion's groups (`-- verify/` to pick);
//! - `cargo bench --bench verify -- interleaved` for the side-by-side table:
//!   rounds in which every library verifies the 256 tokens once, in rotating
//!   order, so that load on the machine falls on all of them alike. It prints
//!   each library's median ns per token and the paired median of
//!   jwt-sso / oxitoken over the rounds. `BENCH_SECONDS` (default 10) is the
//!   time per algorithm; `BENCH_ALGORITHMS` (e.g. `HS256,RS256`) picks some.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, JwtConfig, Verifier};
use serde_json::{Value, json};

#[path = "support/peers.rs"]
mod peers;

use peers::{
    ALGORITHMS, AUDIENCE, SECRET, TOKENS, case, claims, config, install_providers, key_file,
};

// ------------------------------------------------------------ criterion

fn verify_peers(c: &mut Criterion) {
    install_providers();
    for alg in ALGORITHMS {
        let case = case(alg);
        let mut group = c.benchmark_group(format!("verify/{}", case.alg));
        for (name, verify) in case.libraries() {
            group.bench_function(name, |b| {
                let mut i = 0;
                b.iter(|| {
                    verify(i);
                    i = (i + 1) % TOKENS;
                })
            });
        }
        group.finish();
    }
}

/// An inline JWK Set of 20 RSA keys; the token's key is the last one.
fn jwks(c: &mut Criterion) {
    let public: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/../tests/data/jwks/public_jwks.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    // tests/data/jwks/public_jwks.json maps key names to public JWKs.
    let target = public["rsa2048"].clone();
    let decoy = public["rsa2048b"].clone();
    let mut keys: Vec<Value> = (0..19)
        .map(|i| {
            let mut k = decoy.clone();
            k["kid"] = json!(format!("decoy-{i}"));
            k
        })
        .collect();
    let mut k = target.clone();
    k["kid"] = json!("current");
    k.as_object_mut().unwrap().remove("alg");
    keys.push(k);
    let verifier = config(
        Algorithm::RS256,
        json!({"type": "jwks", "jwks": {"keys": keys}}),
    );
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": "current"});
    let token = SigningKey::from_pem(&key_file("rsa2048_private.pem"))
        .sign_with_header(Algorithm::RS256, &header, &claims(0))
        .unwrap();
    verifier
        .verify_cached(&token)
        .expect("the bench token verifies");
    let mut group = c.benchmark_group("jwks/RS256");
    group.bench_function("jwt_sso", |b| {
        b.iter(|| verifier.verify_cached(black_box(&token)).unwrap())
    });
    group.finish();
}

/// Routing by `iss` among 50 enabled HS256 configurations, against the same
/// token verified by its configuration directly.
fn registry(c: &mut Criterion) {
    let configs: Vec<JwtConfig> = (0..50)
        .map(|i| {
            let config = json!({
                "name": format!("ERP-{i:02}"), "token_name": "token",
                "issuer": format!("https://idp-{i:02}.example.com"), "audience": AUDIENCE,
                "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET},
                "expiration_time": 86400,
                "claims": {"user_id": "sub", "name": "name", "email": "email", "roles": "groups"},
                "system_prompts": [
                    {"kind": "text", "slot": 1, "claim": "department"},
                    {"kind": "numeric", "slot": 1, "claim": "level"}
                ],
                "initial_roles": ["Viewer"]
            });
            JwtConfig::from_json_str(&config.to_string()).unwrap()
        })
        .collect();
    let direct = Verifier::new(configs[37].clone().validate().unwrap());
    let registry = jwt_sso::Registry::from_configs(configs).unwrap();
    let mut claims = claims(0);
    claims["iss"] = json!("https://idp-37.example.com");
    let token = SigningKey::from_secret(SECRET.as_bytes())
        .sign(Algorithm::HS256, &claims)
        .unwrap();
    assert_eq!(
        registry
            .verify_cached(&token, jwt_sso::Verification::default())
            .unwrap(),
        direct.verify_cached(&token).unwrap()
    );
    let mut group = c.benchmark_group("registry/HS256");
    group.bench_function("direct", |b| {
        b.iter(|| direct.verify_cached(black_box(&token)).unwrap())
    });
    group.bench_function("routed", |b| {
        b.iter(|| {
            registry
                .verify_cached(black_box(&token), jwt_sso::Verification::default())
                .unwrap()
        })
    });
    group.finish();
}

/// One `Verifier` shared by 1 and 2 threads; time per verification.
fn threads(c: &mut Criterion) {
    for alg in [Algorithm::HS256, Algorithm::RS256] {
        let case = Arc::new(case(alg));
        let mut group = c.benchmark_group(format!("threads/{alg}"));
        group.throughput(criterion::Throughput::Elements(1));
        for n in [1usize, 2] {
            group.bench_function(format!("{n}"), |b| {
                b.iter_custom(|iters| {
                    let per_thread = iters.div_ceil(n as u64);
                    let start = Instant::now();
                    std::thread::scope(|s| {
                        for _ in 0..n {
                            let case = Arc::clone(&case);
                            s.spawn(move || {
                                for k in 0..per_thread as usize {
                                    let token = &case.tokens[k % TOKENS];
                                    black_box(
                                        case.verifier.verify_cached(black_box(token)).unwrap(),
                                    );
                                }
                            });
                        }
                    });
                    start.elapsed()
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = verify_peers, jwks, registry, threads
}

// ------------------------------------------------------------ interleaved

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Rounds of every library over the 256 tokens, in rotating order; prints
/// one markdown row per library and algorithm.
fn interleaved() {
    install_providers();
    let seconds: f64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let mut table: Vec<(String, Vec<String>)> = Vec::new();
    let mut ratio_row = Vec::new();
    let mut overhead_rows: [Vec<String>; 2] = Default::default();
    let picked = std::env::var("BENCH_ALGORITHMS").unwrap_or_default();
    let algorithms: Vec<_> = ALGORITHMS
        .into_iter()
        .filter(|a| picked.is_empty() || picked.split(',').any(|p| p == a.as_str()))
        .collect();
    for &alg in &algorithms {
        let case = case(alg);
        let libraries = case.libraries();
        let mut per_round: Vec<Vec<f64>> = vec![Vec::new(); libraries.len()];
        // Warm-up: one pass each.
        for (_, verify) in &libraries {
            (0..TOKENS).for_each(verify);
        }
        let start = Instant::now();
        let mut round = 0;
        while start.elapsed().as_secs_f64() < seconds || round < 10 {
            for k in 0..libraries.len() {
                let which = (round + k) % libraries.len();
                let verify = &libraries[which].1;
                let t = Instant::now();
                (0..TOKENS).for_each(verify);
                per_round[which].push(t.elapsed().as_nanos() as f64 / TOKENS as f64);
            }
            round += 1;
        }
        let paired = |a: usize, b: usize, f: fn(f64, f64) -> f64| {
            let mut v: Vec<f64> = per_round[a]
                .iter()
                .zip(&per_round[b])
                .map(|(x, y)| f(*x, *y))
                .collect();
            median(&mut v)
        };
        ratio_row.push(format!("{:.3}", paired(0, 1, |x, y| x / y)));
        overhead_rows[0].push(format!("{:.0}", paired(0, 4, |x, y| x - y)));
        overhead_rows[1].push(format!("{:.0}", paired(1, 4, |x, y| x - y)));
        for (i, (name, _)) in libraries.iter().enumerate() {
            let value = format!("{:.0}", median(&mut per_round[i].clone()));
            match table.iter_mut().find(|(n, _)| n == name) {
                Some((_, row)) => row.push(value),
                None => table.push((name.to_string(), vec![value])),
            }
        }
        eprintln!("{alg}: {round} rounds");
    }
    let names: Vec<&str> = algorithms.iter().map(|a| a.as_str()).collect();
    println!("| ns/token (median of rounds) | {} |", names.join(" | "));
    println!("|---|{}", "---:|".repeat(names.len()));
    for (name, row) in &table {
        println!("| {name} | {} |", row.join(" | "));
    }
    println!(
        "| jwt_sso / oxitoken (paired median) | {} |",
        ratio_row.join(" | ")
    );
    println!(
        "| jwt_sso - aws_lc_rs (paired median) | {} |",
        overhead_rows[0].join(" | ")
    );
    println!(
        "| oxitoken - aws_lc_rs (paired median) | {} |",
        overhead_rows[1].join(" | ")
    );
}

fn main() {
    if std::env::args().skip(1).any(|a| a == "interleaved") {
        interleaved();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
