//! Verification throughput: jwt-sso's whole pipeline (mapping included)
//! against `jsonwebtoken::decode` on the same token and key.
//!
//! Run: `cargo bench --bench verify` (add `-- verify/` to pick groups).
//! Setup (configs, keys, tokens) happens outside the timed loops.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, Validation};
use jwt_sso::mint::{SigningKey, sign_json, sign_with_header};
use jwt_sso::{Algorithm, JwtConfig, Verifier};
use serde_json::{Value, json};

const SECRET: &str = "benchmark-secret-0123456789abcdef-0123456789";
const ISSUER: &str = "https://idp.example.com";
const AUDIENCE: &str = "bi-server";

fn key_file(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/data/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// A ~300-byte payload as an ERP would send it.
fn claims() -> Value {
    let now = jwt_sso::Clock::now(&jwt_sso::SystemClock);
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "4711", "loginname": "jdoe",
        "name": "Jane Doe", "email": "jane.doe@example.com",
        "groups": ["Sales", "Analysts", "EMEA"], "department": "Sales", "level": 7,
        "locale": "en-GB", "jti": "9f1c2d3e-4b5a-6978-8695-a4b3c2d1e0f9",
        "iat": now, "nbf": now, "exp": now + 3600
    })
}

fn config(alg: Algorithm, key_source: Value) -> Verifier {
    let config = json!({
        "name": "ERP", "token_name": "token", "issuer": ISSUER, "audience": AUDIENCE,
        "algorithms": [alg.as_str()], "key_source": key_source, "expiration_time": 86400,
        "claims": {"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
        "system_prompts": [
            {"kind": "text", "slot": 1, "claim": "department"},
            {"kind": "numeric", "slot": 1, "claim": "level"}
        ],
        "initial_roles": ["Viewer"]
    });
    Verifier::new(JwtConfig::from_json_str(&config.to_string()).unwrap()).unwrap()
}

struct Case {
    alg: Algorithm,
    verifier: Verifier,
    token: String,
    decoding: DecodingKey,
}

fn case(alg: Algorithm) -> Case {
    let (private, public) = match alg {
        Algorithm::HS256 => (None, None),
        Algorithm::RS256 | Algorithm::PS256 => {
            (Some("rsa2048_private.pem"), Some("rsa2048_public.pem"))
        }
        Algorithm::ES256 => (Some("p256_private.pem"), Some("p256_public.pem")),
        Algorithm::EdDSA => (Some("ed25519_private.pem"), Some("ed25519_public.pem")),
        other => panic!("no bench case for {other}"),
    };
    let (signing, key_source, decoding) = match (private, public) {
        (Some(private), Some(public)) => {
            let pem = key_file(public);
            let decoding = match alg {
                Algorithm::ES256 => DecodingKey::from_ec_pem(pem.as_bytes()),
                Algorithm::EdDSA => DecodingKey::from_ed_pem(pem.as_bytes()),
                _ => DecodingKey::from_rsa_pem(pem.as_bytes()),
            }
            .unwrap();
            (
                SigningKey::from_pem(&key_file(private)),
                json!({"type": "static", "public_key_pem": pem}),
                decoding,
            )
        }
        _ => (
            SigningKey::from_secret(SECRET.as_bytes()),
            json!({"type": "static", "secret": SECRET}),
            DecodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        ),
    };
    let token = sign_json(&signing, alg, &claims()).unwrap();
    let verifier = config(alg, key_source);
    verifier.verify(&token).expect("the bench token verifies");
    Case {
        alg,
        verifier,
        token,
        decoding,
    }
}

fn install_jsonwebtoken_provider() {
    // jsonwebtoken::decode uses the process-wide provider; name it so the
    // bench also runs when both backends are compiled in.
    #[cfg(feature = "aws-lc")]
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

fn verify_vs_jsonwebtoken(c: &mut Criterion) {
    install_jsonwebtoken_provider();
    for alg in [
        Algorithm::HS256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let case = case(alg);
        let mut validation = Validation::new(case.alg.to_string().parse().unwrap());
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 60;
        jsonwebtoken::decode::<Value>(&case.token, &case.decoding, &validation).unwrap();

        let mut group = c.benchmark_group(format!("verify/{alg}"));
        group.bench_function("jwt_sso", |b| {
            b.iter(|| case.verifier.verify(black_box(&case.token)).unwrap())
        });
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Value>(black_box(&case.token), &case.decoding, &validation)
                    .unwrap()
            })
        });
        group.finish();
    }
}

/// An inline JWK Set of 20 RSA keys; the token's key is the last one.
fn jwks(c: &mut Criterion) {
    let public: Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/data/jwks/public_jwks.json",
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
    let token = sign_with_header(
        &SigningKey::from_pem(&key_file("rsa2048_private.pem")),
        Algorithm::RS256,
        &header,
        &claims(),
    )
    .unwrap();
    verifier.verify(&token).expect("the bench token verifies");
    let mut group = c.benchmark_group("jwks/RS256");
    group.bench_function("jwt_sso", |b| {
        b.iter(|| verifier.verify(black_box(&token)).unwrap())
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
                "claims": {"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
                "system_prompts": [
                    {"kind": "text", "slot": 1, "claim": "department"},
                    {"kind": "numeric", "slot": 1, "claim": "level"}
                ],
                "initial_roles": ["Viewer"]
            });
            JwtConfig::from_json_str(&config.to_string()).unwrap()
        })
        .collect();
    let direct = Verifier::new(configs[37].clone()).unwrap();
    let registry = jwt_sso::Registry::from_configs(configs).unwrap();
    let mut claims = claims();
    claims["iss"] = json!("https://idp-37.example.com");
    let token = sign_json(
        &SigningKey::from_secret(SECRET.as_bytes()),
        Algorithm::HS256,
        &claims,
    )
    .unwrap();
    assert_eq!(
        registry.verify(&token).unwrap(),
        direct.verify(&token).unwrap()
    );
    let mut group = c.benchmark_group("registry/HS256");
    group.bench_function("direct", |b| {
        b.iter(|| direct.verify(black_box(&token)).unwrap())
    });
    group.bench_function("routed", |b| {
        b.iter(|| registry.verify(black_box(&token)).unwrap())
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
                                for _ in 0..per_thread {
                                    black_box(
                                        case.verifier.verify(black_box(&case.token)).unwrap(),
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
    targets = verify_vs_jsonwebtoken, jwks, registry, threads
}
criterion_main!(benches);
