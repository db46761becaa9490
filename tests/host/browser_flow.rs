//! `login_server` over real HTTP (CONTRACT sections 1 and 6): the browser
//! flow (cookie attributes, `303`, the default `/`, an ASCII `Location`,
//! `--insecure-cookie`), `POST /logout` and `logout_url`, `GET /api/me` by
//! session or bearer token (`bearer: true` only; `error="invalid_token"`),
//! sessions ending with their configuration for good, and `DELETE
//! /api/admin/sessions` (the session cookie is no admin credential).
#![cfg(all(feature = "axum", feature = "sqlite", feature = "remote"))]

use crate::support::app;
use crate::support::fixtures::{now, sign};
use crate::support::http::{Reply, cookie_header};
use crate::support::served::{
    self, CRM, ERP, ONCE, SECRET_CRM, SECRET_ERP, SECRET_ONCE, Served, Setup,
};

use serde_json::{Value, json};

const ADMIN: &str = "browser-flow-admin-token-0123";
/// The session cookie's name (CONTRACT section 6).
const COOKIE: &str = "jwt_sso_session";

fn configs() -> Value {
    json!([
        {"name": "ERP", "token_name": "token", "issuer": ERP, "bearer": true,
         "logout_url": "https://erp.example.com/signed-out",
         "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ERP},
         "expiration_time": 3600,
         "claims": {"user_id": "sub", "name": "name", "email": "email"},
         "initial_roles": ["Viewer"]},
        {"name": "CRM", "token_name": "jwt", "issuer": CRM,
         "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_CRM},
         "expiration_time": 3600, "claims": {"user_id": "sub"}},
        {"name": "Once", "token_name": "once", "issuer": ONCE, "single_use": true,
         "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ONCE},
         "expiration_time": 3600, "claims": {"user_id": "sub"}}
    ])
}

/// A token of `issuer` for `user`, issued now, valid 10 minutes.
fn token(secret: &str, issuer: &str, user: &str, jti: Option<&str>) -> String {
    let mut claims = json!({"iss": issuer, "sub": user, "iat": now(), "exp": now() + 600});
    if issuer == ERP {
        claims["name"] = json!("Jane Doe");
        claims["email"] = json!("jane@example.com");
    }
    if let Some(jti) = jti {
        claims["jti"] = json!(jti);
    }
    sign(secret, claims)
}

fn erp(user: &str) -> String {
    token(SECRET_ERP, ERP, user, None)
}

fn crm(user: &str) -> String {
    token(SECRET_CRM, CRM, user, None)
}

/// A server on [`configs`] with the admin token [`ADMIN`] and `ops`; the
/// directory lives as long as the server.
async fn start(name: &str, ops: app::Ops) -> (crate::support::fixtures::TempDir, Served) {
    let dir = served::dir(name, &configs());
    let setup = Setup {
        ops,
        admin_token: Some(ADMIN),
        ..Setup::default()
    };
    let server = Served::start_with(&dir, setup).await;
    (dir, server)
}

/// `GET /api/me` with `headers`.
async fn me(server: &Served, headers: &[(&str, &str)]) -> Reply {
    server.get("/api/me", headers).await
}

/// A browser login by form (`303` and the cookie): the `Cookie` header's
/// value that carries its session.
async fn cookie_of(server: &Served, form: &str) -> String {
    let reply = server.form(form).await;
    assert_eq!(reply.status, 303, "{form}: {}", reply.text);
    let (session, _) = reply.cookie(COOKIE);
    cookie_header(COOKIE, &session)
}

/// A `303` to `location`; the reply for further checks.
#[track_caller]
fn see_other(reply: &Reply, location: &str, what: &str) {
    assert_eq!(reply.status, 303, "{what}: {}", reply.text);
    assert_eq!(reply.header("location"), Some(location), "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_flow_sets_the_cookie_redirects_safely_and_logs_out_to_logout_url() {
    let (_dir, server) = start("browser-flow", app::Ops::default()).await;

    // A form post with a non-ASCII `return_to`: 303 to it, percent-encoded.
    let form = format!("token={}&return_to=%2Fcaf%C3%A9%3Fq%3D%C3%BC", erp("jdoe"));
    let reply = server.form(&form).await;
    see_other(&reply, "/caf%C3%A9?q=%C3%BC", "a non-ASCII return_to");
    let (session, attributes) = reply.cookie(COOKIE);
    assert_eq!(
        attributes,
        ["httponly", "path=/", "samesite=lax", "secure"],
        "{:?}",
        reply.header("set-cookie")
    );
    assert_eq!(reply.session.as_deref(), Some(session.as_str()));
    // The same text as CONTRACT section 6 writes it, attribute order included.
    assert_eq!(
        reply.all("set-cookie"),
        [format!("{COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Secure").as_str()]
    );

    // Without `return_to`: to `/`. A browser's GET (Accept prefers HTML) is
    // a browser login too.
    let html = ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    let target = format!("/login?token={}", erp("jdoe"));
    for (what, reply) in [
        (
            "a form without return_to",
            server.form(&format!("token={}", erp("jdoe"))).await,
        ),
        ("a browser's GET", server.get(&target, &[html]).await),
    ] {
        see_other(&reply, "/", what);
        let (value, _) = reply.cookie(COOKIE);
        assert_eq!(reply.session, Some(value), "{what}");
    }
    // An API client's GET keeps the JSON answer and gets no cookie.
    let reply = server.get(&target, &[("Accept", "application/json")]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["user"]["user_id"], "jdoe");
    assert_eq!(reply.header("set-cookie"), None);

    // Unsafe targets and a refused browser login: the JSON login's status
    // and body, nobody logged in, no cookie.
    let expired = sign(
        SECRET_ERP,
        json!({"iss": ERP, "sub": "jdoe", "iat": now() - 7200, "exp": now() - 3600}),
    );
    for (form, status, kind) in [
        (
            format!("token={}&return_to=%2F%2Fevil.example", erp("victim")),
            400,
            "bad_request",
        ),
        (
            format!(
                "token={}&return_to=https%3A%2F%2Fevil.example%2F",
                erp("victim")
            ),
            400,
            "bad_request",
        ),
        (format!("token={expired}"), 401, "expired"),
    ] {
        let reply = server.form(&form).await;
        reply.assert_error(status, kind, &form);
        assert_eq!(reply.header("set-cookie"), None, "{form}");
        assert_eq!(reply.session, None, "{form}");
    }

    // The cookie's session is the user's: `/api/me` by cookie and by header.
    let cookie = cookie_header(COOKIE, &session);
    let cookie = ("Cookie", cookie.as_str());
    for headers in [[cookie], [("X-Auth-Token", session.as_str())]] {
        let reply = me(&server, &headers).await;
        assert_eq!(reply.status, 200, "{headers:?}: {}", reply.text);
        assert_eq!(
            reply.body,
            json!({"via": "session", "user": {"user_id": "jdoe", "name": "Jane Doe",
                "email": "jane@example.com", "user_type": "reader", "roles": ["Viewer"]}}),
            "{headers:?}"
        );
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "{headers:?}"
        );
    }

    // `POST /logout`: 303 to ERP's logout_url, the cookie cleared, the session over.
    let reply = server.send("POST", "/logout", &[cookie], "").await;
    see_other(&reply, "https://erp.example.com/signed-out", "logout");
    let (value, attributes) = reply.cookie(COOKIE);
    assert_eq!(value, "");
    assert!(
        attributes.contains(&"max-age=0".to_owned()),
        "{attributes:?}"
    );
    let reply = me(&server, &[cookie]).await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );

    // A session of a configuration without logout_url logs out to `/`.
    let crm_cookie = cookie_of(&server, &format!("jwt={}", crm("ana"))).await;
    let reply = server
        .send("POST", "/logout", &[("Cookie", &crm_cookie)], "")
        .await;
    see_other(&reply, "/", "logout without logout_url");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_cookie_leaves_secure_out() {
    let ops = app::Ops {
        insecure_cookie: true,
        ..app::Ops::default()
    };
    let (_dir, server) = start("browser-insecure", ops).await;
    let reply = server.form(&format!("token={}", erp("jdoe"))).await;
    see_other(&reply, "/", "--insecure-cookie");
    let (_, attributes) = reply.cookie(COOKIE);
    assert_eq!(attributes, ["httponly", "path=/", "samesite=lax"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_me_takes_bearer_tokens_of_bearer_configurations_only() {
    let (_dir, server) = start("browser-me", app::Ops::default()).await;
    let bearer = |token: &str| format!("Bearer {token}");
    let invalid_token = Some("Bearer error=\"invalid_token\"");

    // Neither: 401 unauthorized, `WWW-Authenticate: Bearer` without an error.
    let reply = me(&server, &[]).await;
    reply.assert_error(401, "unauthorized", "GET /api/me without a credential");
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));

    // A `bearer: true` configuration's token.
    let reply = me(&server, &[("Authorization", &bearer(&erp("jdoe")))]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["via"], "bearer");
    assert_eq!(reply.body["identity"]["user_id"], "jdoe");
    assert_eq!(reply.body["identity"]["config"], "ERP");

    // A login-only configuration's token: as though it did not exist, also
    // after it logged someone in; and a used single-use token is no bearer
    // credential either.
    let token = crm("ana");
    let crm_session = server.session(&token).await;
    let once = token_once("olga", "jti-1");
    server.session(&once).await;
    for (what, token) in [("login-only", &token), ("used single-use", &once)] {
        let reply = me(&server, &[("Authorization", &bearer(token))]).await;
        reply.assert_error(401, "no_matching_config", what);
        assert_eq!(reply.header("www-authenticate"), invalid_token, "{what}");
    }
    // Its session is a session, though.
    let reply = me(&server, &[("X-Auth-Token", &crm_session)]).await;
    assert_eq!(reply.body["via"], "session", "{}", reply.text);

    // An unknown session token: refused with invalid_token.
    let reply = me(&server, &[("X-Auth-Token", "bm90LWEtc2Vzc2lvbg")]).await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    assert_eq!(reply.header("www-authenticate"), invalid_token);
}

fn token_once(user: &str, jti: &str) -> String {
    token(SECRET_ONCE, ONCE, user, Some(jti))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_with_their_configuration_for_good_and_by_admin_request() {
    let (_dir, server) = start("browser-ending", app::Ops::default()).await;
    let works = async |session: &str| me(&server, &[("X-Auth-Token", session)]).await.status;
    let admin =
        async |method: &str, path: &str| server.admin(method, path, ADMIN, None, None).await;

    // Disabled: ended; re-enabled: still ended.
    let first = server.session(&erp("jdoe")).await;
    let second = server.session(&erp("mike")).await;
    let crm_session = server.session(&crm("ana")).await;
    assert_eq!(works(&first).await, 200);
    server
        .patch_config(ADMIN, "ERP", json!({"enabled": false}))
        .await;
    assert_eq!(works(&first).await, 401, "disabling ends the session");
    server
        .patch_config(ADMIN, "ERP", json!({"enabled": true}))
        .await;
    assert_eq!(works(&first).await, 401, "re-enabling revives no session");
    assert_eq!(
        works(&second).await,
        401,
        "unused while disabled, ended too"
    );
    assert_eq!(
        works(&crm_session).await,
        200,
        "another configuration's session lives"
    );

    // Deleted: ended.
    let reply = admin("DELETE", "/api/admin/configs/CRM?confirm=CRM").await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(works(&crm_session).await, 401, "deleting ends the session");

    // DELETE /api/admin/sessions by user and by configuration.
    let a = server.session(&erp("jdoe")).await;
    let b = server.session(&erp("jdoe")).await;
    let c = server.session(&erp("mike")).await;
    let reply = admin("DELETE", "/api/admin/sessions?user_id=jdoe").await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body, json!({"ended": 2}));
    assert_eq!(
        (works(&a).await, works(&b).await, works(&c).await),
        (401, 401, 200)
    );
    let reply = admin("DELETE", "/api/admin/sessions?config=erp").await;
    assert_eq!(reply.body, json!({"ended": 1}), "{}", reply.text);
    assert_eq!(works(&c).await, 401);
    let reply = admin("DELETE", "/api/admin/sessions?config=Nope").await;
    reply.assert_error(
        404,
        "unknown_config",
        "ending the sessions of an unknown configuration",
    );
    let reply = admin("DELETE", "/api/admin/sessions").await;
    assert_eq!(
        reply.status, 400,
        "neither user nor configuration: {}",
        reply.text
    );

    // The session cookie is no admin credential, even an administrator's.
    let cookie = cookie_of(&server, &format!("token={}", erp("boss"))).await;
    let reply = server
        .send(
            "DELETE",
            "/api/admin/sessions?user_id=jdoe",
            &[("Cookie", &cookie)],
            "",
        )
        .await;
    reply.assert_error(
        401,
        "unauthorized",
        "the session cookie as an admin credential",
    );
}
