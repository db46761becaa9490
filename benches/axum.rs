//! One protected axum route in process (`tower::ServiceExt::oneshot`):
//! jwt-sso's `Identity` extractor against a hand-written jsonwebtoken
//! extractor of the usual kind (Bearer header, `decode` with a `Validation`
//! carrying issuer and audience, 401 on failure), HS256 and RS256, same
//! token and key.
//!
//! Run: `cargo bench --features axum --bench axum`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, Validation};
use jwt_sso::axum::{CurrentUser, Identity, JwtAuth, LoginOptions, SessionAuth};
use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, MemoryStore, Registry, Sessions, User, UserStore};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

#[path = "support/hand_session.rs"]
mod hand_session;

use hand_session::{HandSessions, HandUser};

const SECRET: &str = "benchmark-secret-0123456789abcdef-0123456789";
const ISSUER: &str = "https://idp.example.com";
const AUDIENCE: &str = "bi-server";

fn key_file(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../tests/data/keys/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The hand-written side: its state and extractor.
#[derive(Clone)]
struct Hand {
    key: Arc<DecodingKey>,
    validation: Arc<Validation>,
}

#[derive(Clone)]
struct HandState(Hand);

impl FromRef<HandState> for Hand {
    fn from_ref(state: &HandState) -> Self {
        state.0.clone()
    }
}

#[derive(Deserialize)]
struct Claims {
    loginname: String,
}

struct HandClaims(Claims);

impl<S: Send + Sync> FromRequestParts<S> for HandClaims
where
    Hand: FromRef<S>,
{
    type Rejection = StatusCode;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, StatusCode> {
        let hand = Hand::from_ref(state);
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(StatusCode::UNAUTHORIZED)?;
        jsonwebtoken::decode::<Claims>(token, &hand.key, &hand.validation)
            .map(|data| HandClaims(data.claims))
            .map_err(|_| StatusCode::UNAUTHORIZED)
    }
}

fn claims() -> Value {
    let now = jwt_sso::UnixTime::now().as_secs();
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "4711", "loginname": "jdoe",
        "name": "Jane Doe", "email": "jane.doe@example.com",
        "groups": ["Sales", "Analysts", "EMEA"], "iat": now, "exp": now + 3600
    })
}

fn bench(c: &mut Criterion) {
    #[cfg(feature = "aws-lc")]
    let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc")))]
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for alg in [Algorithm::HS256, Algorithm::RS256] {
        let (signing, key_source, decoding) = match alg {
            Algorithm::HS256 => (
                SigningKey::from_secret(SECRET.as_bytes()),
                json!({"type": "static", "secret": SECRET}),
                DecodingKey::from_secret(SECRET.as_bytes()).unwrap(),
            ),
            _ => {
                let public = key_file("rsa2048_public.pem");
                (
                    SigningKey::from_pem(&key_file("rsa2048_private.pem")),
                    json!({"type": "static", "public_key_pem": public}),
                    DecodingKey::from_rsa_pem(public.as_bytes()).unwrap(),
                )
            }
        };
        let token = signing.sign(alg, &claims()).unwrap();
        let bearer = format!("Bearer {token}");

        let config = json!({
            "name": "ERP", "token_name": "token", "issuer": ISSUER, "audience": AUDIENCE,
            "algorithms": [alg.to_string()], "key_source": key_source,
            "expiration_time": 86400, "claims": {"user_id": "loginname", "name": "name",
            "email": "email", "roles": "groups"}, "bearer": true
        });
        let registry = Arc::new(Registry::from_json_str(&config.to_string()).unwrap());
        let ours: Router =
            Router::new()
                .route(
                    "/me",
                    get(|Identity(me): Identity| async move {
                        String::from(me.into_identity().user_id)
                    }),
                )
                .with_state(JwtAuth::new(registry));

        let mut validation = Validation::new(alg.to_string().parse().unwrap());
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        let hand: Router = Router::new()
            .route(
                "/me",
                get(|HandClaims(me): HandClaims| async move { me.loginname }),
            )
            .with_state(HandState(Hand {
                key: Arc::new(decoding),
                validation: Arc::new(validation),
            }));

        let request = || {
            Request::get("/me")
                .header(AUTHORIZATION, bearer.as_str())
                .body(Body::empty())
                .unwrap()
        };
        for router in [&ours, &hand] {
            let response = runtime.block_on(router.clone().oneshot(request())).unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        }
        let mut group = c.benchmark_group(format!("axum_route/{alg}"));
        group.bench_function("jwt_sso_extractor", |b| {
            b.iter(|| {
                let response = runtime
                    .block_on(ours.clone().oneshot(black_box(request())))
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            })
        });
        group.bench_function("hand_written_jsonwebtoken", |b| {
            b.iter(|| {
                let response = runtime
                    .block_on(hand.clone().oneshot(black_box(request())))
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            })
        });
        group.finish();
    }
}

/// A session-cookie route: `CurrentUser` against the hand-written lookup of
/// the same store.
fn bench_sessions(c: &mut Criterion) {
    // Timers: the session stores' calls are bounded in time.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let registry = Registry::from_configs([]).unwrap();
    let users = Arc::new(MemoryStore::new());
    let user = User {
        user_id: "jdoe".into(),
        user_type: "reader".into(),
        roles: vec!["Viewer".into()],
        name: None,
        email: None,
        created_by_config: None,
    };
    runtime.block_on(users.create(&user)).unwrap();
    let sessions = Arc::new(Sessions::new(MemoryStore::new(), registry.clock()));
    let token = runtime.block_on(sessions.create("jdoe", "ERP")).unwrap();
    let cookie = format!("theme=dark; jwt_sso_session={token}");
    let auth = SessionAuth::new(
        Arc::clone(&sessions),
        Arc::clone(&users),
        &LoginOptions::default(),
    );
    let ours: Router = Router::new()
        .route("/me", get(|me: CurrentUser| async move { me.user.user_id }))
        .with_state(auth);
    let hand: Router = Router::new()
        .route(
            "/me",
            get(|HandUser(me): HandUser| async move { me.user_id }),
        )
        .with_state(HandSessions { sessions, users });
    let request = || {
        Request::get("/me")
            .header(COOKIE, cookie.as_str())
            .body(Body::empty())
            .unwrap()
    };
    for router in [&ours, &hand] {
        let response = runtime.block_on(router.clone().oneshot(request())).unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let mut group = c.benchmark_group("axum_route/session_cookie");
    group.bench_function("jwt_sso_current_user", |b| {
        b.iter(|| {
            let response = runtime
                .block_on(ours.clone().oneshot(black_box(request())))
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        })
    });
    group.bench_function("hand_written_lookup", |b| {
        b.iter(|| {
            let response = runtime
                .block_on(hand.clone().oneshot(black_box(request())))
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench, bench_sessions
}
criterion_main!(benches);
