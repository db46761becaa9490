//! `jwt_sso::axum` in process (`tower::ServiceExt::oneshot`): the extractor,
//! its optional form and the layer with each token source; the status,
//! headers and public body of every refusal class; a remote configuration
//! from a cold cache (a loopback JWKS server that counts requests); the
//! login routes (form post, `return_to`, `HEAD`, `Content-Type`).

#![cfg(feature = "axum")]

use crate::support::erp::CONFIG_VALUES;
use crate::support::fixtures::{now, sign};
#[cfg(feature = "remote")]
use crate::support::provider as support;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::FromRef;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use http_body_util::BodyExt;
use jwt_sso::axum::{
    CurrentUser, HttpError, Identity, JwtAuth, LoginOptions, LoginRoutes, SessionAuth,
    SessionOrBearer,
};
use jwt_sso::{
    Authenticator, Error, ErrorKind, MemoryStore, Registry, Session, SessionStore, Sessions,
    StoreError, UnixTime, User, UserStore, Verification,
};
use serde_json::{Value, json};
use tower::ServiceExt;

const SECRET_ERP: &str = "axum-test-erp-secret-0123456789abcdef";
const SECRET_CRM: &str = "axum-test-crm-secret-0123456789abcdef";
const ERP: &str = "https://erp.example.com";
const CRM: &str = "https://crm.example.com";

fn registry() -> Arc<Registry> {
    let configs = json!([
        {"name": "ERP", "token_name": "token", "issuer": ERP, "audience": "bi-server",
         "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ERP},
         "expiration_time": 3600, "claims": {"user_id": "sub"}, "initial_roles": ["Viewer"],
         "bearer": true},
        {"name": "CRM", "token_name": "jwt", "issuer": CRM,
         "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_CRM},
         "expiration_time": 3600, "claims": {"user_id": "sub"}, "bearer": true}
    ]);
    Arc::new(Registry::from_json_str(&configs.to_string()).unwrap())
}

fn erp(user: &str) -> String {
    sign(
        SECRET_ERP,
        json!({"iss": ERP, "aud": "bi-server", "sub": user, "exp": now() + 600}),
    )
}

fn crm(user: &str) -> String {
    sign(
        SECRET_CRM,
        json!({"iss": CRM, "sub": user, "exp": now() + 600}),
    )
}

fn app(auth: JwtAuth) -> Router {
    Router::new()
        .route(
            "/me",
            get(|Identity(me): Identity| async move { format!("{}@{}", me.user_id, me.config) }),
        )
        .route(
            "/maybe",
            get(|me: Option<Identity>| async move {
                me.map_or("anonymous".to_owned(), |Identity(me)| {
                    me.user_id.to_string()
                })
            }),
        )
        .with_state(auth)
}

async fn call(router: &Router, request: Request<Body>) -> (Response, String) {
    let response = router.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        Response::from_parts(parts, Body::empty()),
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

fn get_with(path: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::get(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

/// The refusal's kind, after checking status, headers and the public body.
fn refused(response: &Response, body: &str, status: u16) -> String {
    assert_eq!(response.status().as_u16(), status, "{body}");
    let www = response.headers().get("www-authenticate");
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
    let value: Value = serde_json::from_str(body).unwrap();
    let error = value["error"].as_object().unwrap();
    assert_eq!(error.len(), 2, "{body}");
    let kind = error["kind"].as_str().unwrap().to_owned();
    if status == 401 {
        // RFC 6750 section 3: `error="invalid_token"` when a token was
        // presented and refused (a protected route), plain without a token
        // (and on the login routes).
        // (Callers pin which, where it matters.)
        let www = www.unwrap().to_str().unwrap();
        assert!(
            www == "Bearer" || www == r#"Bearer error="invalid_token""#,
            "{www}"
        );
    } else {
        assert_eq!(www, None, "{status}: no WWW-Authenticate");
    }
    let expected = ErrorKind::ALL
        .into_iter()
        .find(|k| k.as_str() == kind)
        .unwrap();
    if ![413, 415].contains(&status) {
        assert_eq!(error["message"], expected.public_message());
    }
    for value in CONFIG_VALUES {
        assert!(!body.contains(value), "{value} in {body}");
    }
    kind
}

#[tokio::test]
async fn each_token_source_and_the_optional_form() {
    let router = app(JwtAuth::new(registry()));
    let token = erp("jdoe");

    let bearer = format!("Bearer {token}");
    let (response, body) = call(&router, get_with("/me", &[("Authorization", &bearer)])).await;
    assert_eq!(response.status(), 200);
    assert_eq!(body, "jdoe@ERP");

    // Cookie named by the configuration's token_name; routed only there.
    let cookie = format!("theme=dark; token={token}");
    let (response, body) = call(&router, get_with("/me", &[("Cookie", &cookie)])).await;
    assert_eq!(
        (response.status().as_u16(), body.as_str()),
        (200, "jdoe@ERP")
    );
    let cookie = format!("jwt={}", crm("ana"));
    let (_, body) = call(&router, get_with("/me", &[("Cookie", &cookie)])).await;
    assert_eq!(body, "ana@CRM");
    let cookie = format!("jwt={token}");
    let (response, body) = call(&router, get_with("/me", &[("Cookie", &cookie)])).await;
    assert_eq!(refused(&response, &body, 401), "no_matching_config");
    let cookie = format!("token={token}; jwt={}", crm("ana"));
    let (response, body) = call(&router, get_with("/me", &[("Cookie", &cookie)])).await;
    assert_eq!(refused(&response, &body, 400), "bad_request");

    // The query parameter only when the host opts in.
    let path = format!("/me?token={token}");
    let (response, body) = call(&router, get_with(&path, &[])).await;
    assert_eq!(refused(&response, &body, 401), "unauthorized");
    assert_eq!(response.headers()["www-authenticate"], "Bearer", "no token");
    let with_query = app(JwtAuth::new(registry()).query(true));
    let (response, body) = call(&with_query, get_with(&path, &[])).await;
    assert_eq!(
        (response.status().as_u16(), body.as_str()),
        (200, "jdoe@ERP")
    );
    let (response, body) = call(&with_query, get_with(&format!("/me?jwt={token}"), &[])).await;
    assert_eq!(refused(&response, &body, 401), "no_matching_config");
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer error="invalid_token""#,
        "a presented token"
    );
    // Sources can be switched off.
    let no_bearer = app(JwtAuth::new(registry()).bearer(false).cookie(false));
    let (response, body) = call(&no_bearer, get_with("/me", &[("Authorization", &bearer)])).await;
    assert_eq!(refused(&response, &body, 401), "unauthorized");

    // Option<Identity>: None without a token, the identity with one, refused with a bad one.
    let (response, body) = call(&router, get_with("/maybe", &[])).await;
    assert_eq!(
        (response.status().as_u16(), body.as_str()),
        (200, "anonymous")
    );
    let (_, body) = call(&router, get_with("/maybe", &[("Authorization", &bearer)])).await;
    assert_eq!(body, "jdoe");
    let forged = format!(
        "Bearer {}",
        sign(
            SECRET_CRM,
            json!({"iss": ERP, "aud": "bi-server", "sub": "x", "exp": now() + 60})
        )
    );
    let (response, body) = call(&router, get_with("/maybe", &[("Authorization", &forged)])).await;
    assert_eq!(refused(&response, &body, 401), "invalid_signature");
}

#[tokio::test]
async fn every_refusal_class_has_its_status_and_headers() {
    let router = app(JwtAuth::new(registry()));
    let bearer = |claims: Value| format!("Bearer {}", sign(SECRET_ERP, claims));
    for (authorization, status, kind) in [
        (
            bearer(json!({"iss": ERP, "aud": "bi-server", "sub": "x", "exp": now() - 3600})),
            401,
            "expired",
        ),
        (
            bearer(json!({"iss": ERP, "aud": "other", "sub": "x", "exp": now() + 60})),
            401,
            "audience_mismatch",
        ),
        (
            bearer(json!({"iss": "https://evil.example", "sub": "x", "exp": now() + 60})),
            401,
            "no_matching_config",
        ),
        ("Bearer a.b.c".to_owned(), 401, "malformed"),
        ("Bearer  two-spaces".to_owned(), 400, "bad_request"),
        ("Basic dXNlcjpwYXNz".to_owned(), 401, "unauthorized"),
    ] {
        let (response, body) = call(
            &router,
            get_with("/me", &[("Authorization", &authorization)]),
        )
        .await;
        assert_eq!(refused(&response, &body, status), kind, "{authorization}");
    }
    // Errors the host returns itself: status by kind, 401s with the header,
    // and never the problem's text (it names values) in the body.
    let down = StoreError::failed("db at 127.0.0.1 down").during("ERP");
    for (error, status) in [
        (HttpError::unauthorized("ERP"), 401),
        (HttpError::from(Error::from(down)), 503),
        (HttpError::bad_request("bi-server"), 400),
    ] {
        let kind = error.kind();
        assert_eq!(error.status().as_u16(), status);
        let response = error.into_response();
        let (parts, body) = response.into_parts();
        let body = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
        let response = Response::from_parts(parts, Body::empty());
        assert_eq!(refused(&response, &body, status), kind.as_str());
    }
    // Every kind has its status (CONTRACT sections 6, 7 and 9).
    for (kind, status) in [
        (ErrorKind::Forbidden, 403),
        (ErrorKind::Unauthorized, 401),
        (ErrorKind::KeyFetch, 503),
        (ErrorKind::Store, 503),
        (ErrorKind::UnknownUser, 403),
        (ErrorKind::VersionConflict, 412),
        (ErrorKind::BadRequest, 400),
        (ErrorKind::Expired, 401),
    ] {
        assert_eq!(kind.http_status().as_u16(), status, "{kind}");
    }
}

/// Issue 18: an identity that something other than this crate's layer put
/// into a request's extensions (here a real one, verified for another
/// request) is never taken for the request's own: the extractor reads only
/// the layer's private type, and verifies the request itself otherwise.
#[tokio::test]
async fn an_identity_in_the_extensions_does_not_log_a_request_in() {
    let registry = registry();
    let elsewhere = registry
        .verify(&erp("admin"), Verification::default())
        .await
        .unwrap();
    let router = app(JwtAuth::new(registry)).layer(Extension(Identity(elsewhere)));
    let (response, body) = call(&router, get_with("/me", &[])).await;
    assert_eq!(refused(&response, &body, 401), "unauthorized");
    let (_, body) = call(&router, get_with("/maybe", &[])).await;
    assert_eq!(body, "anonymous");
    let bearer = format!("Bearer {}", erp("jdoe"));
    let (_, body) = call(&router, get_with("/me", &[("Authorization", &bearer)])).await;
    assert_eq!(body, "jdoe@ERP");
}

#[tokio::test]
async fn the_layer_verifies_every_request_and_the_extractor_reuses_it() {
    let auth = JwtAuth::new(registry());
    let protected = Router::new()
        .route(
            "/ext",
            // The layer keeps its result under a private type: nothing in
            // the extensions passes for an identity.
            get(|ext: Option<Extension<Identity>>| async move { format!("{}", ext.is_some()) }),
        )
        .route(
            "/both",
            get(|Identity(me): Identity| async move { me.config.to_string() }),
        )
        .layer(auth.layer())
        .with_state(auth.clone());
    let bearer = format!("Bearer {}", erp("jdoe"));
    let (response, body) = call(&protected, get_with("/ext", &[("Authorization", &bearer)])).await;
    assert_eq!((response.status().as_u16(), body.as_str()), (200, "false"));
    let (_, body) = call(&protected, get_with("/both", &[("Authorization", &bearer)])).await;
    assert_eq!(body, "ERP");
    let (response, body) = call(&protected, get_with("/ext", &[])).await;
    assert_eq!(refused(&response, &body, 401), "unauthorized");

    let optional: Router = Router::new()
        .route(
            "/opt",
            get(|me: Option<Identity>| async move {
                me.map_or("anonymous".to_owned(), |Identity(me)| {
                    me.user_id.to_string()
                })
            }),
        )
        .layer(auth.optional_layer())
        .with_state(auth.clone());
    let (_, body) = call(&optional, get_with("/opt", &[])).await;
    assert_eq!(body, "anonymous");
    let (_, body) = call(&optional, get_with("/opt", &[("Authorization", &bearer)])).await;
    assert_eq!(body, "jdoe");
    let (response, body) = call(
        &optional,
        get_with("/opt", &[("Authorization", "Bearer x.y.z")]),
    )
    .await;
    assert_eq!(refused(&response, &body, 401), "malformed");
}

fn login_app(options: LoginOptions) -> (Router, Arc<Sessions<MemoryStore>>) {
    let registry = registry();
    let sessions = Arc::new(Sessions::new(MemoryStore::new(), registry.clock()));
    let auth = Authenticator::new(registry, MemoryStore::new());
    let routes = LoginRoutes::new(auth, Arc::clone(&sessions), options);
    (routes.router(), sessions)
}

fn form(path: &str, content_type: Option<&str>, body: String) -> Request<Body> {
    let mut builder = Request::post(path);
    if let Some(content_type) = content_type {
        builder = builder.header("Content-Type", content_type);
    }
    builder.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn form_post_login_redirects_only_to_safe_targets() {
    let options = LoginOptions::default()
        .session_cookie("session")
        .return_to_hosts(["bi.example.com"]);
    let (router, sessions) = login_app(options);
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    let body = format!("token={}&return_to=%2Freports%3Fid%3D1", erp("jdoe"));
    let (response, _) = call(&router, form("/login", FORM, body)).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/reports?id=1");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let session = response.headers()["x-auth-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let mut attributes: Vec<&str> = cookie.split("; ").collect();
    attributes.sort();
    let value = format!("session={session}");
    let mut expected = vec![
        value.as_str(),
        "Path=/",
        "HttpOnly",
        "SameSite=Lax",
        "Secure",
    ];
    expected.sort();
    assert_eq!(attributes, expected, "{cookie}");
    assert_eq!(
        sessions.lookup(&session).await.unwrap().unwrap().user_id,
        "jdoe"
    );

    let body = format!(
        "jwt={}&return_to=https%3A%2F%2Fbi.example.com%2Fhome",
        crm("ana")
    );
    let (response, _) = call(&router, form("/login", FORM, body)).await;
    assert_eq!(
        response.headers()["location"],
        "https://bi.example.com/home"
    );

    // No return_to: a browser goes to the default, `/`, with the cookie.
    let (response, _) = call(
        &router,
        form("/login", FORM, format!("token={}", erp("jdoe"))),
    )
    .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    assert!(
        response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("session=")
    );

    // Open redirects are refused before anyone is logged in.
    for target in [
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "https%3A%2F%2Fevil.example%2F",
        "javascript%3Aalert(1)",
    ] {
        let body = format!("token={}&return_to={target}", erp("victim"));
        let (response, body) = call(&router, form("/login", FORM, body)).await;
        assert_eq!(refused(&response, &body, 400), "bad_request", "{target}");
    }
    // The form login needs its content type; the JSON login needs JSON.
    let (response, body) = call(
        &router,
        form("/login", Some("text/plain"), format!("token={}", erp("x"))),
    )
    .await;
    assert_eq!(refused(&response, &body, 415), "bad_request");
    let json_body = json!({"loginMode": 67108864, "password": erp("x")}).to_string();
    let (response, body) = call(&router, form("/api/auth/login", FORM, json_body.clone())).await;
    assert_eq!(refused(&response, &body, 415), "bad_request");
    let (response, body) = call(
        &router,
        form("/api/auth/login", Some("application/json"), json_body),
    )
    .await;
    assert_eq!(response.status(), 200, "{body}");
    assert_eq!(
        response.headers().get("set-cookie"),
        None,
        "the JSON login sets no cookie"
    );

    // GET ?token= only when enabled; HEAD logs nobody in.
    let path = format!("/login?token={}", erp("getter"));
    let (response, _) = call(&router, get_with(&path, &[])).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let (router, _) = login_app(LoginOptions::default().query_login(true));
    let head = Request::head(&path).body(Body::empty()).unwrap();
    let (response, _) = call(&router, head).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response.headers().get("x-auth-token"),
        None,
        "HEAD logs nobody in"
    );
    let (response, _) = call(&router, get_with(&path, &[])).await;
    assert_eq!(response.status(), 200);
}

#[cfg(feature = "remote")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_configuration_verifies_from_a_cold_cache() {
    use support::{Reply, Server};
    let read = |path: &str| {
        std::fs::read_to_string(format!("{}/tests/data/{path}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
    };
    let all: Value = serde_json::from_str(&read("jwks/public_jwks.json")).unwrap();
    let mut key = all["rsa2048"].clone();
    key["kid"] = json!("k1");
    let server = Server::start();
    server.set("/jwks", Reply::json(json!({"keys": [key]}).to_string()));
    let config = json!({
        "name": "IdP", "token_name": "token", "issuer": "https://idp.example.com",
        "algorithms": ["RS256"], "key_source": {"type": "jwks_uri", "url": server.url("/jwks")},
        "expiration_time": 3600, "claims": {"user_id": "sub"}, "bearer": true
    });
    let registry = Arc::new(Registry::from_json_str(&config.to_string()).unwrap());
    let router = app(JwtAuth::new(registry));
    let private = jwt_sso::mint::SigningKey::from_pem(&read("keys/rsa2048_private.pem"));
    let token = private
        .sign_with_header(
            jwt_sso::Algorithm::RS256,
            &json!({"alg": "RS256", "kid": "k1"}),
            &json!({"iss": "https://idp.example.com", "sub": "remote-user", "exp": now() + 600}),
        )
        .unwrap();
    let bearer = format!("Bearer {token}");
    assert_eq!(server.hits("/jwks"), 0);
    let (response, body) = call(&router, get_with("/me", &[("Authorization", &bearer)])).await;
    assert_eq!(
        (response.status().as_u16(), body.as_str()),
        (200, "remote-user@IdP")
    );
    assert_eq!(server.hits("/jwks"), 1, "one fetch from the cold cache");
    let (_, body) = call(&router, get_with("/me", &[("Authorization", &bearer)])).await;
    assert_eq!(body, "remote-user@IdP");
    assert_eq!(server.hits("/jwks"), 1, "then served from the cache");

    // A provider that is down, from a cold cache: 503 key_fetch, no URL in the body.
    let down = Server::start();
    down.set("/jwks", Reply::status(500, "{}"));
    let config = json!({
        "name": "Down", "token_name": "token", "issuer": "https://idp.example.com",
        "algorithms": ["RS256"], "key_source": {"type": "jwks_uri", "url": down.url("/jwks")},
        "expiration_time": 3600, "claims": {"user_id": "sub"}, "bearer": true
    });
    let router = app(JwtAuth::new(Arc::new(
        Registry::from_json_str(&config.to_string()).unwrap(),
    )));
    let (response, body) = call(&router, get_with("/me", &[("Authorization", &bearer)])).await;
    assert_eq!(refused(&response, &body, 503), "key_fetch");
}

/// axum boxes every handler's future, once per request, and that future
/// holds the extractor's. Past 1 KiB, glibc's malloc leaves its per-thread
/// caches (and consolidates its fast bins), which the route bench showed as
/// a slower route. Only a remote fetch is boxed apart, so this stays small
/// in debug builds too (the sizes are the same in release builds today).
///
/// Issue 18: a `Verification` held whole in the registry's future made it
/// 40 bytes larger and the bench's handler future 1048 bytes; the old
/// bounds (640 and 256) let that through, so the boxed future itself is
/// measured now, and the bounds sit just above today's sizes (1008, 504
/// and 184 bytes with Rust 1.95).
///
/// The sizes change with the compiler, so they are not part of the suite
/// (`Send` is still checked, at compile time): after a change to the
/// extractor or the registry's future, run
/// `cargo test --all-features --test host -- --ignored future_stays_small`.
#[test]
#[ignore = "sizes depend on the compiler; run with --ignored after changing the extractor"]
fn the_extractors_future_stays_small_and_send() {
    use std::future::Future;
    use std::pin::Pin;

    use axum::extract::FromRequestParts;
    use axum::handler::Handler;

    fn send<T: Send>(_: &T) {}
    /// The size of what axum boxes for one request to `handler`.
    fn boxed<H, T>(handler: H, auth: JwtAuth) -> usize
    where
        H: Handler<T, JwtAuth, Future = Pin<Box<dyn Future<Output = Response> + Send>>>,
    {
        let future = handler.call(Request::get("/").body(Body::empty()).unwrap(), auth);
        std::mem::size_of_val(future.as_ref().get_ref())
    }

    let auth = JwtAuth::new(registry());
    let size = boxed(
        |Identity(me): Identity| async move { String::from(me.into_identity().user_id) },
        auth.clone(),
    );
    assert!(size <= 1024, "the handler's boxed future is {size} bytes");
    let (mut parts, ()) = Request::get("/").body(()).unwrap().into_parts();
    let future = <Identity as FromRequestParts<JwtAuth>>::from_request_parts(&mut parts, &auth);
    send(&future);
    let size = std::mem::size_of_val(&future);
    assert!(
        size <= 512,
        "the Identity extractor's future is {size} bytes"
    );
    let registry = registry();
    let future = registry.verify("a.b.c", Verification::default());
    send(&future);
    let size = std::mem::size_of_val(&future);
    assert!(size <= 192, "Registry::verify's future is {size} bytes");
}

// ------------------------------------------------ sessions and bearer opt-in

#[tokio::test]
async fn a_login_only_configurations_token_is_no_bearer_credential() {
    // ERP opts in; CRM only logs users in.
    let configs = json!([
        {"name": "ERP", "token_name": "token", "issuer": ERP, "bearer": true,
         "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ERP},
         "expiration_time": 3600, "claims": {"user_id": "sub"}},
        {"name": "CRM", "token_name": "jwt", "issuer": CRM,
         "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_CRM},
         "expiration_time": 3600, "claims": {"user_id": "sub"}}
    ]);
    let registry = Arc::new(Registry::from_json_str(&configs.to_string()).unwrap());
    let router = app(JwtAuth::new(Arc::clone(&registry)));
    let erp_bearer = format!("Bearer {}", erp("jdoe"));
    let (response, body) = call(&router, get_with("/me", &[("Authorization", &erp_bearer)])).await;
    assert_eq!(
        (response.status().as_u16(), body.as_str()),
        (200, "jdoe@ERP")
    );
    // CRM's token: by header and by its cookie, as though CRM did not exist.
    let crm_bearer = format!("Bearer {}", crm("ana"));
    let crm_cookie = format!("jwt={}", crm("ana"));
    for headers in [
        [("Authorization", crm_bearer.as_str())],
        [("Cookie", crm_cookie.as_str())],
    ] {
        let (response, body) = call(&router, get_with("/me", &headers)).await;
        assert_eq!(refused(&response, &body, 401), "no_matching_config");
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#
        );
        let (response, body) = call(&router, get_with("/maybe", &headers)).await;
        assert_eq!(refused(&response, &body, 401), "no_matching_config");
    }
    // The same token logs in (routing for a login is unchanged).
    let login = Authenticator::new(registry, MemoryStore::new())
        .login(&crm("ana"), Verification::default())
        .await
        .unwrap();
    assert_eq!(login.identity.config, "CRM");
}

#[derive(Clone)]
struct Both {
    sessions: SessionAuth,
    jwt: JwtAuth,
}

impl FromRef<Both> for SessionAuth {
    fn from_ref(both: &Both) -> SessionAuth {
        both.sessions.clone()
    }
}

impl FromRef<Both> for JwtAuth {
    fn from_ref(both: &Both) -> JwtAuth {
        both.jwt.clone()
    }
}

/// Login routes, the session routes and three routes: one per extractor.
fn session_app() -> Router {
    let registry = registry();
    let users = Arc::new(MemoryStore::new());
    let sessions = Arc::new(Sessions::new(MemoryStore::new(), registry.clock()));
    let options = LoginOptions::default();
    let state = Both {
        sessions: SessionAuth::new(Arc::clone(&sessions), Arc::clone(&users), &options),
        jwt: JwtAuth::new(Arc::clone(&registry)),
    };
    let login = LoginRoutes::new(Authenticator::new(registry, users), sessions, options);
    Router::new()
        .route(
            "/user",
            get(
                |me: CurrentUser| async move { format!("{}:{:?}", me.user.user_id, me.user.roles) },
            ),
        )
        .route(
            "/maybe-user",
            get(|me: Option<CurrentUser>| async move {
                me.map_or("anonymous".to_owned(), |me| me.user.user_id)
            }),
        )
        .route(
            "/either",
            get(|caller: SessionOrBearer| async move {
                match caller {
                    SessionOrBearer::Session(me) => format!("session:{}", me.user.user_id),
                    SessionOrBearer::Bearer(Identity(me)) => format!("bearer:{}", me.user_id),
                }
            }),
        )
        .with_state(state.clone())
        .merge(state.sessions.router())
        .merge(login.router())
}

#[tokio::test]
async fn current_user_and_session_or_bearer_take_each_source() {
    let router = session_app();
    let login = Request::post("/api/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"loginMode": 67108864, "password": erp("jdoe")}).to_string(),
        ))
        .unwrap();
    let (response, _) = call(&router, login).await;
    let session = response.headers()["x-auth-token"]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = format!("jwt_sso_session={session}");

    for headers in [
        [("X-Auth-Token", session.as_str())],
        [("Cookie", cookie.as_str())],
    ] {
        let (response, body) = call(&router, get_with("/user", &headers)).await;
        assert_eq!(
            (response.status().as_u16(), body.as_str()),
            (200, r#"jdoe:["Viewer"]"#)
        );
        let (_, body) = call(&router, get_with("/maybe-user", &headers)).await;
        assert_eq!(body, "jdoe");
        let (_, body) = call(&router, get_with("/either", &headers)).await;
        assert_eq!(body, "session:jdoe");
    }
    let bearer = format!("Bearer {}", erp("mike"));
    let (_, body) = call(&router, get_with("/either", &[("Authorization", &bearer)])).await;
    assert_eq!(body, "bearer:mike");

    // No session: 401 plain; `Option` is `None`.
    let (response, body) = call(&router, get_with("/user", &[])).await;
    assert_eq!(refused(&response, &body, 401), "unauthorized");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let (_, body) = call(&router, get_with("/maybe-user", &[])).await;
    assert_eq!(body, "anonymous");
    let (response, body) = call(&router, get_with("/either", &[])).await;
    assert_eq!(refused(&response, &body, 401), "unauthorized");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    // An unknown session: refused, also for `Option`, with invalid_token.
    for path in ["/user", "/maybe-user", "/either"] {
        let (response, body) = call(
            &router,
            get_with(path, &[("X-Auth-Token", "bm8tc3VjaC1zZXNzaW9u")]),
        )
        .await;
        assert_eq!(refused(&response, &body, 401), "unauthorized", "{path}");
        assert_eq!(
            response.headers()["www-authenticate"],
            r#"Bearer error="invalid_token""#,
            "{path}"
        );
    }
    // After `POST /logout` (the cookie), the session is gone.
    let logout = Request::post("/logout")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    let (response, _) = call(&router, logout).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    let (response, body) = call(&router, get_with("/user", &[("X-Auth-Token", &session)])).await;
    assert_eq!(refused(&response, &body, 401), "unauthorized");
}

/// A store that never answers (a locked database): every call stays pending.
struct Stuck;

impl SessionStore for Stuck {
    async fn insert(&self, _: &str, _: &Session, _: usize) -> Result<(), StoreError> {
        std::future::pending().await
    }
    async fn get(&self, _: &str, _: UnixTime) -> Result<Option<Session>, StoreError> {
        std::future::pending().await
    }
    async fn remove(&self, _: &str) -> Result<bool, StoreError> {
        std::future::pending().await
    }
    async fn remove_user(&self, _: &str) -> Result<u64, StoreError> {
        std::future::pending().await
    }
    async fn remove_config(&self, _: &str) -> Result<u64, StoreError> {
        std::future::pending().await
    }
    async fn purge_expired(&self, _: UnixTime) -> Result<u64, StoreError> {
        std::future::pending().await
    }
}

impl UserStore for Stuck {
    async fn find(&self, _: &str) -> Result<Option<User>, StoreError> {
        std::future::pending().await
    }
    async fn create(&self, _: &User) -> Result<User, StoreError> {
        std::future::pending().await
    }
    async fn update(&self, _: &User) -> Result<(), StoreError> {
        std::future::pending().await
    }
}

/// CONTRACT section 6: a slow or locked store answers `503` `store` within
/// 5 s. The session extractors poll the stores once before they arm their
/// timer; a store that does not answer then must still hit the timer,
/// whether it is the session store or the user store behind it.
#[tokio::test]
async fn a_store_that_never_answers_is_refused_with_store() {
    let registry = registry();
    let options = LoginOptions::default();
    let route = |auth: SessionAuth| {
        Router::new()
            .route(
                "/user",
                get(|me: CurrentUser| async move { me.user.user_id }),
            )
            .merge(auth.router())
            .with_state(auth)
    };
    // The session store is stuck.
    let stuck_sessions = route(SessionAuth::new(
        Arc::new(Sessions::new(Stuck, registry.clock())),
        MemoryStore::new(),
        &options,
    ));
    // The session is found; the user store behind it is stuck.
    let sessions = Arc::new(Sessions::new(MemoryStore::new(), registry.clock()));
    let token = sessions.create("jdoe", "ERP").await.unwrap();
    let stuck_users = route(SessionAuth::new(sessions, Stuck, &options));

    let ask = |router: &Router, path: &'static str| {
        let request = get_with(path, &[("X-Auth-Token", token.as_str())]);
        let router = router.clone();
        async move { call(&router, request).await }
    };
    let cookie = format!("jwt_sso_session={token}");
    let by_cookie = get_with("/user", &[("Cookie", cookie.as_str())]);
    let all = async {
        tokio::join!(
            ask(&stuck_sessions, "/user"),
            ask(&stuck_sessions, "/api/session"),
            call(&stuck_sessions, by_cookie),
            ask(&stuck_users, "/user"),
            ask(&stuck_users, "/api/session"),
        )
    };
    // Generous: a hang fails the test instead of stalling the suite.
    let answers = tokio::time::timeout(Duration::from_secs(30), all)
        .await
        .expect("the session routes answer while the store is stuck");
    for (response, body) in [answers.0, answers.1, answers.2, answers.3, answers.4] {
        assert_eq!(refused(&response, &body, 503), "store", "{body}");
    }
}

#[tokio::test]
async fn admin_caller_takes_the_token_or_an_admin_session_header_never_the_cookie() {
    use jwt_sso::axum::admin::{AdminAccess, AdminCaller};
    use jwt_sso::{User, UserStore};
    let registry = registry();
    let users = Arc::new(MemoryStore::new());
    for (user_id, role) in [("boss", "Administrator"), ("clerk", "Viewer")] {
        let user = User {
            user_id: user_id.into(),
            user_type: "reader".into(),
            roles: vec![role.into()],
            name: None,
            email: None,
            created_by_config: None,
        };
        users.create(&user).await.unwrap();
    }
    let sessions = Arc::new(Sessions::new(MemoryStore::new(), registry.clock()));
    let boss = sessions.create("boss", "ERP").await.unwrap();
    let clerk = sessions.create("clerk", "ERP").await.unwrap();
    let auth = SessionAuth::new(sessions, users, &LoginOptions::default());
    let access = AdminAccess::new()
        .with_admin_token("admin-token-0123456789")
        .with_sessions(auth, "Administrator");
    let router: Router = Router::new()
        .route(
            "/whoami",
            get(|AdminCaller(who): AdminCaller| async move { who.created_by().to_owned() }),
        )
        .with_state(access);
    let boss_cookie = format!("jwt_sso_session={boss}");
    type Case<'a> = (&'a [(&'a str, &'a str)], u16, &'a str);
    let cases: [Case; 5] = [
        (
            &[("Authorization", "Bearer admin-token-0123456789")],
            200,
            "admin",
        ),
        (&[("X-Auth-Token", &boss)], 200, "boss"),
        (&[("X-Auth-Token", &clerk)], 403, "forbidden"),
        (&[("Cookie", &boss_cookie)], 401, "unauthorized"),
        (&[], 401, "unauthorized"),
    ];
    for (headers, status, expected) in cases {
        let (response, body) = call(&router, get_with("/whoami", headers)).await;
        assert_eq!(response.status().as_u16(), status, "{headers:?}: {body}");
        if status == 200 {
            assert_eq!(body, expected);
        } else {
            let value: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(value["error"]["kind"], expected, "{headers:?}");
        }
    }
}
