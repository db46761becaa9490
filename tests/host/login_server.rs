//! `login_server` end to end (CONTRACT section 6): its router on an ephemeral
//! loopback port ([`Served`]), a SQLite file in a temporary directory, and
//! the one HTTP client; raw bytes ([`wire`]) only where the test must write
//! them itself (`Expect: 100-continue`, a declared length never sent,
//! connections held silent, half-sent or idle).
#![cfg(all(feature = "axum", feature = "sqlite", feature = "remote"))]

use crate::support::app;
use crate::support::erp;
use crate::support::fixtures::{TempDir, data_json, now, pem_key, sign};
use crate::support::http::Reply;
use crate::support::provider;
use crate::support::served::{
    self, CONFIG_VALUES, CRM, ERP, ONCE, SECRET_CRM, SECRET_ERP, SECRET_ONCE, Served, Setup,
    user_rows,
};
use crate::support::wire;

use std::time::Duration;

use jwt_sso::axum::ServeOptions;
use jwt_sso::{Algorithm, ErrorKind, Registry, Verification};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const OLD: &str = "https://old.example.com";
/// ERP (CONTRACT section 1's example), CRM (`token_name` `jwt`) and Old
/// (disabled).
fn configs() -> Value {
    json!([
        erp::config(ERP, SECRET_ERP),
        {
            "name": "CRM", "token_name": "jwt", "issuer": CRM,
            "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_CRM},
            "expiration_time": 3600, "claims": {"user_id": "sub"},
            "user_type": "analyst", "initial_roles": ["Analyst"]
        },
        {
            "name": "Old", "enabled": false, "token_name": "token", "issuer": OLD,
            "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ERP},
            "expiration_time": 3600, "claims": {"user_id": "sub"}
        }
    ])
}

fn erp_token(user: &str, groups: &[&str]) -> String {
    let mut claims = erp::claims(ERP, user);
    claims["groups"] = json!(groups);
    claims["iat"] = json!(now());
    claims["exp"] = json!(now() + 3600);
    sign(SECRET_ERP, claims)
}

fn crm_token(user: &str) -> String {
    sign(
        SECRET_CRM,
        json!({"iss": CRM, "sub": user, "exp": now() + 600}),
    )
}

/// A directory with [`configs`] and a server on it.
async fn start(name: &str) -> (TempDir, Served) {
    let dir = served::dir(name, &configs());
    let server = Served::start(&dir).await;
    (dir, server)
}

/// A login that must succeed: its body.
async fn logged_in(server: &Served, token: &str) -> Value {
    let reply = server.login(token).await;
    assert_eq!(reply.status, 200, "a login: {}", reply.text);
    reply.body
}

/// What the login routes' refusals promise (CONTRACT section 6); an answer
/// read off the wire is checked as a [`Reply`] of it.
trait Refusal {
    /// A 401 with `WWW-Authenticate: Bearer` and the public body; returns the kind.
    fn rejected(&self) -> String;
    /// Exactly `{"error":{"kind":…,"message":<the kind's fixed sentence>}}`,
    /// `Cache-Control: no-store`, and no configuration value; returns the kind.
    fn refusal(&self) -> String;
    /// A 400 with exactly `{"error":{"kind":"bad_request","message":…}}`;
    /// returns the message.
    fn bad_request(&self) -> String;
}

impl Refusal for Reply {
    fn rejected(&self) -> String {
        assert_eq!(self.status, 401, "{}", self.text);
        assert_eq!(self.header("www-authenticate"), Some("Bearer"));
        self.refusal()
    }

    fn refusal(&self) -> String {
        let text = &self.text;
        assert!(text.starts_with(r#"{"error":{"kind":""#), "{text}");
        assert_eq!(self.header("cache-control"), Some("no-store"), "{text}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{text}"
        );
        let error = &self.body["error"];
        let keys: Vec<&String> = error.as_object().expect("an error object").keys().collect();
        assert_eq!(keys, ["kind", "message"], "{text}");
        let kind = error["kind"].as_str().expect("a kind").to_owned();
        if ![413, 415].contains(&self.status) {
            let expected = ErrorKind::ALL
                .into_iter()
                .find(|k| k.as_str() == kind)
                .unwrap_or_else(|| panic!("an error kind of CONTRACT section 2: {kind}"));
            assert_eq!(error["message"], expected.public_message(), "{text}");
            assert_eq!(self.status, expected.http_status(), "{text}");
        }
        for value in CONFIG_VALUES {
            assert!(!text.contains(value), "{value} in {text}");
        }
        if self.status != 401 {
            assert_eq!(self.header("www-authenticate"), None, "{text}");
        }
        kind
    }

    fn bad_request(&self) -> String {
        assert_eq!(self.status, 400, "{}", self.text);
        assert_eq!(self.refusal(), "bad_request");
        self.body["error"]["message"]
            .as_str()
            .expect("a message")
            .to_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_over_http_with_sqlite_survive_a_restart() {
    let (dir, server) = start("login-server").await;

    // First login: 200, a session token, the user and the identity (the
    // client's `metadataLocale` beside the token is allowed).
    let token = erp_token("jdoe", &[]);
    let body = json!({"loginMode": 67108864, "password": token, "metadataLocale": "en_US"});
    let reply = server.post_json("/api/auth/login", body.to_string()).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let session = reply.session.clone().expect("X-Auth-Token");
    assert!(
        session.len() == 43
            && session
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "base64url of 32 random bytes: {session}"
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let expected_identity = Registry::load(served::config_file(&dir))
        .unwrap()
        .verify_cached(&token, Verification::default())
        .unwrap();
    let prefix = r#"{"first_login":true,"user":{"user_id":"jdoe","user_type":"reader","roles":["Viewer"]},"identity":{"config":"ERP","user_id":"jdoe","name":"Jane Doe","email":"jane@example.com","user_type":"reader","roles":["Viewer"],"prompts":[{"kind":"text","slot":1,"value":"Sales"},{"kind":"numeric","slot":2,"value":7},{"kind":"date","slot":1,"value":"2021-04-15"}],"expires_at":""#;
    assert!(reply.text.starts_with(prefix), "{}", reply.text);
    assert_eq!(
        reply.body["identity"],
        serde_json::to_value(&expected_identity).unwrap()
    );

    // The session token names the user.
    let me = server.whoami(&session).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["user"]["user_id"], "jdoe");
    server.whoami("0000").await.rejected();

    // Second login: found, roles kept although the token now has groups.
    let reply = server.login(&erp_token("jdoe", &["Sales"])).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let body = &reply.body;
    assert_eq!(body["first_login"], false);
    assert_eq!(
        body["user"],
        json!({"user_id": "jdoe", "user_type": "reader", "roles": ["Viewer"]})
    );
    assert_eq!(body["identity"]["roles"], json!(["Viewer", "Sales"]));
    assert_ne!(
        reply.session,
        Some(session.clone()),
        "a new session each login"
    );

    // GET /login?<token_name>=: ERP's `token`, CRM's `jwt`; percent-encoded
    // dots are decoded.
    let encoded = crm_token("ana").replace('.', "%2E");
    let reader = json!({"user_id": "jdoe", "user_type": "reader", "roles": ["Viewer"]});
    let analyst = json!({"user_id": "ana", "user_type": "analyst", "roles": ["Analyst"]});
    for (target, config, first_login, user) in [
        (
            format!("/login?token={}", erp_token("jdoe", &[])),
            "ERP",
            false,
            &reader,
        ),
        (
            format!("/login?lang=en&jwt={}", crm_token("ana")),
            "CRM",
            true,
            &analyst,
        ),
        (format!("/login?jwt={encoded}"), "CRM", false, &analyst),
    ] {
        let reply = server.get(&target, &[]).await;
        assert_eq!(reply.status, 200, "{target}: {}", reply.text);
        assert_eq!(reply.body["first_login"], first_login, "{target}");
        assert_eq!(&reply.body["user"], user, "{target}");
        assert_eq!(reply.body["identity"]["config"], config, "{target}");
    }

    // 401: each kind, with message and hint.
    let expired = sign(
        SECRET_ERP,
        json!({"iss": ERP, "aud": "bi-server", "loginname": "jdoe", "exp": now() - 3600}),
    );
    for (token, kind) in [
        (expired.clone(), "expired"),
        (
            sign(
                SECRET_CRM,
                json!({"iss": ERP, "aud": "bi-server", "loginname": "jdoe", "exp": now() + 60}),
            ),
            "invalid_signature",
        ),
        (
            sign(
                SECRET_ERP,
                json!({"iss": "https://evil.example.com", "sub": "x", "exp": now() + 60}),
            ),
            "no_matching_config",
        ),
        (
            sign(
                SECRET_ERP,
                json!({"iss": OLD, "sub": "x", "exp": now() + 60}),
            ),
            "disabled",
        ),
        (
            sign(
                SECRET_ERP,
                json!({"iss": ERP, "aud": "bi-server", "exp": now() + 60}),
            ),
            "missing_user_id",
        ),
        ("not-a-token".to_owned(), "malformed"),
    ] {
        let reply = server.login(&token).await;
        assert_eq!(reply.rejected(), kind, "{}", reply.text);
        assert!(
            !reply.text.contains(&token),
            "{kind}: the token is never echoed"
        );
    }
    let reply = server.get(&format!("/login?token={expired}"), &[]).await;
    assert_eq!(reply.rejected(), "expired");

    // 400: wrong loginMode, no password, a username, not JSON, no token parameter.
    let token = erp_token("jdoe", &[]);
    for body in [
        json!({"loginMode": 1, "password": token}).to_string(),
        json!({"loginMode": 67108864}).to_string(),
        json!({"loginMode": 67108864, "password": token, "username": "jdoe"}).to_string(),
        format!("loginMode=67108864&password={token}"),
        String::new(),
    ] {
        let reply = server.post_json("/api/auth/login", body.clone()).await;
        let message = reply.bad_request();
        assert!(!message.contains(&token), "{body}: {message}");
    }
    for query in [
        "/login",
        "/login?other=1",
        "/login?token=a%2",
        "/login?token=a&token=b",
    ] {
        server.get(query, &[]).await.bad_request();
    }
    server.stop().await;

    // Restart on the same SQLite file: the users are still there.
    let server = Served::start(&dir).await;
    let body = logged_in(&server, &erp_token("jdoe", &["Finance"])).await;
    assert_eq!(body["first_login"], false);
    assert_eq!(body["user"]["roles"], json!(["Viewer"]));
    let reply = server
        .get(&format!("/login?jwt={}", crm_token("ana")), &[])
        .await;
    assert_eq!(reply.body["first_login"], false, "{}", reply.text);
    assert_eq!(reply.body["user"]["user_type"], "analyst");
    // Sessions live in the database: the old one still works.
    let me = server.whoami(&session).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["user"]["user_id"], "jdoe");
    server.stop().await;
    assert_eq!(user_rows(&dir, "jdoe"), 1);
    assert_eq!(user_rows(&dir, "ana"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_first_logins_create_one_sqlite_user() {
    let (dir, server) = start("login-server-race").await;
    let server = std::sync::Arc::new(server);
    let token = erp_token("racer", &["Sales"]);
    let logins: Vec<_> = (0..100)
        .map(|_| {
            let (server, token) = (std::sync::Arc::clone(&server), token.clone());
            tokio::spawn(async move { logged_in(&server, &token).await })
        })
        .collect();
    let mut first = 0;
    for login in logins {
        let body = login.await.unwrap();
        first += usize::from(body["first_login"] == true);
        assert_eq!(body["user"]["roles"], json!(["Viewer", "Sales"]), "{body}");
    }
    assert_eq!(first, 1, "exactly one first login");
    assert_eq!(user_rows(&dir, "racer"), 1);
}

#[tokio::test]
async fn the_sqlite_store_reports_a_taken_user_id_as_a_conflict() {
    use jwt_sso::UserStore;
    let dir = served::dir("login-server-store", &configs());
    let store = jwt_sso::SqlStore::sqlite(served::db_file(&dir), &jwt_sso::SqlOptions::default())
        .await
        .unwrap();
    let identity = Registry::load(served::config_file(&dir))
        .unwrap()
        .verify_cached(&erp_token("jdoe", &["Sales"]), Verification::default())
        .unwrap();
    let user = jwt_sso::User::from_identity(&identity);
    let created = store.create(&user).await.unwrap();
    assert_eq!(created.roles, ["Viewer", "Sales"]);
    let taken = store
        .create(&user)
        .await
        .expect_err("a second create of jdoe is refused");
    assert!(
        taken.is_conflict(),
        "a taken user ID is a conflict: {taken}"
    );
    assert_eq!(store.find("jdoe").await.unwrap(), Some(created));
    assert_eq!(store.find("nobody").await.unwrap(), None);
}

/// The request line a raw answer starts with.
fn status_line(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n").next().unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_type_body_size_head_and_token_names_are_enforced() {
    let (dir, server) = start("login-server-http").await;
    let token = erp_token("jdoe", &[]);
    let body = crate::support::http::login_body(&token);

    // 415 without `Content-Type: application/json` (a plain HTML form cannot
    // post here); with parameters and in another case it is JSON.
    for (content_type, status) in [
        (None, 415),
        (Some("text/plain"), 415),
        (Some("application/x-www-form-urlencoded"), 415),
        (Some("Application/JSON; charset=utf-8"), 200),
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|c| vec![("Content-Type", c)])
            .unwrap_or_default();
        let reply = server
            .send("POST", "/api/auth/login", &headers, body.clone())
            .await;
        assert_eq!(reply.status, status, "{content_type:?}: {}", reply.text);
        if status == 415 {
            assert_eq!(reply.refusal(), "bad_request", "{content_type:?}");
        }
    }

    // 413 in the JSON error shape: a body over the limit, sent in full.
    let mut huge = br#"{"loginMode":67108864,"password":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', 200_000));
    huge.extend(br#""}"#);
    let reply = server.post_json("/api/auth/login", huge).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    assert_eq!(reply.refusal(), "bad_request");

    // A huge declared Content-Length with `Expect: 100-continue`: 413, never
    // `100 Continue`; without `Expect`, before the body is sent: answered,
    // not waited for.
    let json = ("Content-Type", "application/json");
    let length = ("Content-Length", "1000000000000");
    for (what, request) in [
        (
            "Expect",
            wire::head(
                "POST",
                "/api/auth/login",
                &[json, length, ("Expect", "100-continue")],
            ),
        ),
        (
            "no Expect",
            wire::head("POST", "/api/auth/login", &[json, length]) + "{\"loginMode\":",
        ),
    ] {
        let raw = wire::exchange(server.addr, request.as_bytes(), what).await;
        assert_eq!(
            status_line(&raw),
            "HTTP/1.1 413 Payload Too Large",
            "{what}"
        );
        let reply = Reply::from(&wire::Raw::parse(&raw));
        assert_eq!(reply.refusal(), "bad_request", "{what}");
    }
    // A small body with `Expect: 100-continue` is read and logs in.
    let length = body.len().to_string();
    let request = wire::head(
        "POST",
        "/api/auth/login",
        &[
            ("Connection", "close"),
            json,
            ("Content-Length", &length),
            ("Expect", "100-continue"),
        ],
    );
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).await.unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(body.as_bytes()).await.unwrap();
    let reply = wire::Raw::parse(&wire::read_all(&mut stream, "after 100 Continue").await);
    assert_eq!(reply.status, 200, "{reply:?}");

    // HEAD logs nobody in: no session, no user.
    let fresh = erp_token("head-user", &[]);
    let reply = server
        .send("HEAD", &format!("/login?token={fresh}"), &[], "")
        .await;
    assert_ne!(reply.status, 200, "HEAD");
    assert_eq!(reply.session, None, "HEAD");
    assert_eq!(user_rows(&dir, "head-user"), 0);
    let reply = server.get(&format!("/login?token={fresh}"), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(user_rows(&dir, "head-user"), 1);

    // A token under another configuration's parameter name is not routed.
    let crm = crm_token("ana");
    let reply = server.get(&format!("/login?token={crm}"), &[]).await;
    assert_eq!(reply.rejected(), "no_matching_config");
    let reply = server.get(&format!("/login?jwt={token}"), &[]).await;
    assert_eq!(reply.rejected(), "no_matching_config");
    assert_eq!(user_rows(&dir, "ana"), 0);
    // Two names at once: 400.
    server
        .get(&format!("/login?token={token}&jwt={crm}"), &[])
        .await
        .bad_request();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session_and_a_user_holds_at_most_twenty() {
    let (dir, server) = start("login-server-sessions").await;
    let mut sessions = Vec::new();
    for _ in 0..21 {
        sessions.push(server.session(&erp_token("capped", &[])).await);
    }
    // The 21st login ended the first session, and only that one.
    server.whoami(&sessions[0]).await.rejected();
    for (n, session) in sessions.iter().enumerate().skip(1) {
        let reply = server.whoami(session).await;
        assert_eq!(reply.status, 200, "session {n}: {}", reply.text);
        assert_eq!(
            reply.header("cache-control"),
            Some("no-store"),
            "session {n}"
        );
    }
    let conn = rusqlite::Connection::open(served::db_file(&dir)).unwrap();
    let count =
        |sql: &str, param: &str| -> i64 { conn.query_row(sql, [param], |r| r.get(0)).unwrap() };
    let stored = count(
        "SELECT COUNT(*) FROM jwt_sso_sessions WHERE user_id = ?1",
        "capped",
    );
    assert_eq!(stored, 20, "twenty sessions stored");
    let raw = count(
        "SELECT COUNT(*) FROM jwt_sso_sessions WHERE id = ?1",
        &sessions[5],
    );
    assert_eq!(raw, 0, "the token itself is never stored");

    // Logout: 204, then the session no longer works; a second logout is 401.
    let logout = async |session: &str| {
        server
            .send("POST", "/api/auth/logout", &[("X-Auth-Token", session)], "")
            .await
    };
    let reply = logout(&sessions[20]).await;
    assert_eq!(reply.status, 204, "{}", reply.text);
    assert_eq!(
        server.whoami(&sessions[20]).await.rejected(),
        "unauthorized"
    );
    assert_eq!(logout(&sessions[20]).await.rejected(), "unauthorized");
    // Another session of the user is untouched.
    let reply = server.whoami(&sessions[19]).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    server.stop().await;
}

/// The header and body timeouts, made short (1 s) through `ServeOptions`:
/// a silent connection and one that sent half a request line are closed
/// once the header timeout passed, a body that never comes is answered
/// `408`, and not before; a keep-alive connection idle between requests is
/// not closed (the idle timeout, 60 s, is its bound). The 10 s defaults are
/// asserted as values in `serve_bounds` and waited out once against the
/// `login_server` process (e2e `login_server_limits`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_sent_connections_are_closed_after_the_header_timeout() {
    const TIMEOUT: Duration = Duration::from_secs(1);
    let dir = served::dir("login-server-slow", &configs());
    let setup = Setup {
        options: ServeOptions::default()
            .header_timeout(TIMEOUT)
            .body_timeout(TIMEOUT),
        ..Setup::default()
    };
    let server = Served::start_with(&dir, setup).await;
    let held = wire::Held::open(server.addr).await;
    held.assert_closed_after(TIMEOUT).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_answers_503_within_five_seconds_and_reads_go_on() {
    let (dir, server) = start("login-server-locked").await;
    let session = server.session(&erp_token("early", &[])).await;

    let locker = rusqlite::Connection::open(served::db_file(&dir)).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = std::time::Instant::now();
    let reply = server.login(&erp_token("late", &[])).await;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, 503, "{}", reply.text);
    assert_eq!(reply.refusal(), "store");
    // CONTRACT section 6's bound, not a speed measurement.
    assert!(
        elapsed < Duration::from_secs(5),
        "a locked store answers within 5 s: {elapsed:?}"
    );
    // A request that only reads is not held up by the lock (WAL): served
    // while the lock is still held (a wait would end in 503 `store`).
    let reply = server.whoami(&session).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    locker.execute_batch("ROLLBACK").unwrap();
    let reply = server.login(&erp_token("late", &[])).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    server.stop().await;
}

const CLOSED: &str = "https://closed.example.com";

/// [`configs`] and a `single_use` configuration and one that creates no
/// users (both may log in the users ERP created only when shared).
fn policy_configs() -> Value {
    let mut all = configs();
    let list = all.as_array_mut().unwrap();
    list.push(json!({
        "name": "Once", "token_name": "once", "issuer": ONCE, "single_use": true,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ONCE},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    }));
    list.push(json!({
        "name": "Closed", "token_name": "closed", "issuer": CLOSED, "create_users": false,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ONCE},
        "expiration_time": 3600, "claims": {"user_id": "sub"}
    }));
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_and_single_use_tokens_over_http_survive_a_restart() {
    let dir = served::dir("login-server-policies", &policy_configs());
    let server = Served::start(&dir).await;
    let token = |iss: &str, sub: &str, jti: Option<&str>| {
        let mut claims = json!({"iss": iss, "sub": sub, "exp": now() + 600});
        if let Some(jti) = jti {
            claims["jti"] = json!(jti);
        }
        sign(SECRET_ONCE, claims)
    };

    // create_users: false, unknown user: 403 unknown_user, nothing created.
    let reply = server.login(&token(CLOSED, "stranger", None)).await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(reply.refusal(), "unknown_user");
    assert_eq!(user_rows(&dir, "stranger"), 0);

    // A user ERP created, logged in by another (own-scope) configuration: user_conflict.
    server.session(&erp_token("owned", &[])).await;
    let reply = server.login(&token(CLOSED, "owned", None)).await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(reply.refusal(), "user_conflict");

    // single_use: first 200, second 401 token_replayed, also after a restart.
    let once = token(ONCE, "solo", Some("j-1"));
    server.session(&once).await;
    assert_eq!(server.login(&once).await.rejected(), "token_replayed");
    server.stop().await;

    let server = Served::start(&dir).await;
    assert_eq!(
        server.login(&once).await.rejected(),
        "token_replayed",
        "after a restart"
    );
    let body = logged_in(&server, &token(ONCE, "solo", Some("j-2"))).await;
    assert_eq!(body["first_login"], false, "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_on_login_server_creates_a_configuration_that_logs_in_at_once() {
    const TOKEN: &str = "break-glass-token-0123";
    let dir = served::dir("login-server-admin", &configs());
    let setup = Setup {
        admin_token: Some(TOKEN),
        ..Setup::default()
    };
    let server = Served::start_with(&dir, setup).await;

    let reply = server.get("/api/admin/configs", &[]).await;
    assert_eq!(reply.status, 401, "{}", reply.text);
    let reply = server.get("/admin", &[]).await;
    assert_eq!(reply.status, 200, "the console: {}", reply.text);

    let new = json!({
        "name": "Admins", "token_name": "adm", "issuer": "https://adm.example.com",
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_CRM},
        "expiration_time": 3600, "claims": {"user_id": "sub", "roles": "groups"},
        "may_grant_admin": true
    });
    let reply = server
        .admin("POST", "/api/admin/configs", TOKEN, None, Some(&new))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    assert!(!reply.text.contains(SECRET_CRM), "{}", reply.text);
    // Saved to the --config file, and in force for the next login without a restart.
    let saved = std::fs::read_to_string(served::config_file(&dir)).unwrap();
    assert!(saved.contains("Admins"), "{saved}");
    let boss = sign(
        SECRET_CRM,
        json!({"iss": "https://adm.example.com", "sub": "boss", "groups": ["Administrator"], "exp": now() + 600}),
    );
    let boss_session = server.session(&boss).await;
    let plain_session = server.session(&crm_token("plain")).await;

    // A session with the --admin-role role may call the API; one without gets 403.
    let reply = server
        .get("/api/admin/configs", &[("X-Auth-Token", &boss_session)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let names: Vec<&str> = reply
        .body
        .as_array()
        .expect("a list")
        .iter()
        .map(|c| c["name"].as_str().expect("a name"))
        .collect();
    assert_eq!(names, ["Admins", "CRM", "ERP", "Old"]);
    let reply = server
        .get("/api/admin/configs", &[("X-Auth-Token", &plain_session)])
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(reply.kind(), "forbidden");
    server.stop().await;
}

/// Issue 27: a provider whose published key set has only `key_ops: ["sign"]`
/// keys (copied from its private keys) makes a permanent misconfiguration,
/// not an outage: the login is `401 key_not_found`, not `503 key_fetch`, and
/// the key set was fetched (so the administrator's message can name why).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_set_without_a_usable_key_is_401_key_not_found_over_http() {
    const IDP: &str = "https://idp.example.com";
    let keys = provider::Server::start();
    let mut signer = data_json("jwks/public_jwks.json")["rsa2048"].clone();
    signer["kid"] = json!("k1");
    signer["key_ops"] = json!(["sign"]);
    keys.set(
        "/jwks",
        provider::Reply::json(json!({"keys": [signer]}).to_string()),
    );
    let dir = served::dir(
        "keyops-sign",
        &json!([{
            "name": "IdP", "token_name": "token", "issuer": IDP,
            "algorithms": ["RS256"], "key_source": {"type": "jwks_uri", "url": keys.url("/jwks")},
            "expiration_time": 3600, "claims": {"user_id": "sub"}
        }]),
    );
    let server = Served::start(&dir).await;
    let token = pem_key("rsa2048_private.pem")
        .sign_with_header(
            Algorithm::RS256,
            &json!({"alg": "RS256", "kid": "k1"}),
            &json!({"iss": IDP, "sub": "jdoe", "exp": now() + 600}),
        )
        .unwrap();
    let reply = server.login(&token).await;
    assert_eq!(reply.rejected(), "key_not_found", "{}", reply.text);
    assert!(!reply.text.contains("key_ops"), "{}", reply.text);
    // The key set was fetched (at start-up or by the login), and no user was made.
    let fetched = keys.hits("/jwks");
    assert!(fetched >= 1, "the key set was fetched: {fetched} requests");
    assert_eq!(user_rows(&dir, "jdoe"), 0);
    // Through the browser's GET too.
    let reply = server
        .get(
            &format!("/login?token={token}"),
            &[("Accept", "application/json")],
        )
        .await;
    assert_eq!(reply.rejected(), "key_not_found", "{}", reply.text);
    server.stop().await;
}

/// Issue 27: an invalid `--config` file is a `config` error naming the field
/// and the configuration (and the file), not a `store` error about the
/// database.
#[tokio::test]
async fn an_invalid_configuration_file_is_a_config_error_naming_field_and_configuration() {
    let dir = served::dir("invalid-config", &configs());
    let (config, db) = (served::config_file(&dir), served::db_file(&dir));
    let refused = async |configs: Option<Value>| {
        if let Some(configs) = configs {
            served::write_configs(&dir, &configs);
        }
        app::app(&config, &db)
            .await
            .expect_err("login_server refuses to start")
    };
    // An unknown field in the second entry: refused while parsing.
    let mut bad = configs();
    bad[1]["audiance"] = json!("bi-server");
    let err = refused(Some(bad)).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    let message = err.to_string();
    for needle in [
        "audiance",
        "entry 2, `CRM`",
        "unknown field",
        "configs.json",
    ] {
        assert!(message.contains(needle), "{needle}: {message}");
    }
    assert!(!message.contains("store"), "{message}");
    assert!(!err.hint().contains("database"), "{}", err.hint());
    assert!(err.hint().contains("audiance"), "{}", err.hint());
    assert!(!message.contains(SECRET_CRM) && !err.hint().contains(SECRET_CRM));

    // A wrong type, and a value that parses but does not validate.
    let mut bad = configs();
    bad[2]["leeway"] = json!("sixty");
    let err = refused(Some(bad)).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("leeway (entry 3, `Old`)"), "{err}");
    let mut bad = configs();
    bad[1]["key_source"]["secret"] = json!("too-short");
    let err = refused(Some(bad)).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(
        err.to_string().contains("(entry 2, `CRM`)") && err.to_string().contains("secret"),
        "{err}"
    );
    assert!(!err.to_string().contains("too-short"), "{err}");

    // Text that is no JSON at all, and a file that is missing.
    std::fs::write(&config, "[{\"name\": ").unwrap();
    let err = refused(None).await;
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    std::fs::remove_file(&config).unwrap();
    let err = refused(None).await;
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(err.to_string().contains("configs.json"), "{err}");
}

const ADMIN: &str = "rules-break-glass-token-0123456789";
const SECRET_OPS: &str = "login-server-ops-secret-0123456789";
const READER: &str = "https://reader.example.com";
const OPS: &str = "https://ops.example.com";

/// A server on `configs` with the break-glass admin token [`ADMIN`].
async fn start_with(name: &str, configs: Value) -> (TempDir, Served) {
    let dir = served::dir(name, &configs);
    let setup = Setup {
        admin_token: Some(ADMIN),
        ..Setup::default()
    };
    let server = Served::start_with(&dir, setup).await;
    (dir, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_role_comes_from_a_token_only_where_may_grant_admin_allows_it() {
    let (dir, server) = start_with(
        "login-server-may-grant-admin",
        json!([
            {
                "name": "Reader", "token_name": "token", "issuer": READER,
                "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ERP},
                "expiration_time": 3600, "claims": {"user_id": "sub", "roles": "groups"},
                "user_type": "reader", "initial_roles": ["Viewer"]
            },
            {
                "name": "Ops", "token_name": "token", "issuer": OPS,
                "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_OPS},
                "expiration_time": 3600, "claims": {"user_id": "sub", "roles": "groups"},
                "may_grant_admin": true
            }
        ]),
    )
    .await;
    // Logs in with `token`; the user's roles and the admin API's status for its session.
    let admin_api = async |token: &str| {
        let reply = server.login(token).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let session = reply.session.clone().expect("X-Auth-Token");
        let api = server
            .get("/api/admin/configs", &[("X-Auth-Token", &session)])
            .await;
        (reply, api)
    };

    // A reader configuration's token claiming the administrator's group.
    let forged = sign(
        SECRET_ERP,
        json!({"iss": READER, "sub": "mallory", "groups": ["Administrator", "Sales"], "exp": now() + 600}),
    );
    let (login, refused) = admin_api(&forged).await;
    assert_eq!(login.body["user"]["roles"], json!(["Viewer", "Sales"]));
    let warning = login.body["identity"]["warnings"][0]
        .as_str()
        .expect("a warning");
    assert!(warning.contains("may_grant_admin"), "{warning}");
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.kind(), "forbidden");
    // The database holds no administrator.
    let conn = rusqlite::Connection::open(served::db_file(&dir)).unwrap();
    let roles: String = conn
        .query_row(
            "SELECT roles FROM jwt_sso_users WHERE user_id = 'mallory'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(!roles.contains("Administrator"), "{roles}");

    // The configuration an administrator allowed to grant it.
    let ops = sign(
        SECRET_OPS,
        json!({"iss": OPS, "sub": "olga", "groups": ["Administrator"], "exp": now() + 600}),
    );
    let (login, allowed) = admin_api(&ops).await;
    assert_eq!(login.body["user"]["roles"], json!(["Administrator"]));
    assert_eq!(allowed.status, 200, "{}", allowed.text);
    server.stop().await;
}

const ROT: &str = "https://rot.example.com";
const ROT_SECRETS: [&str; 3] = [
    "login-server-rot-first-0123456789ab",
    "login-server-rot-second-0123456789a",
    "login-server-rot-third-0123456789ab",
];

fn rot_token(secret: &str, user: &str, groups: &[&str]) -> String {
    sign(
        secret,
        json!({"iss": ROT, "sub": user, "groups": groups, "exp": now() + 600}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_rules_and_a_rotated_secret_log_in_over_http() {
    let (dir, server) = start_with(
        "login-server-rules",
        json!([{
            "name": "Rot", "token_name": "token", "issuer": ROT,
            "algorithms": ["HS256"], "key_source": {"type": "static", "secret": ROT_SECRETS},
            "expiration_time": 3600, "claims": {"user_id": "sub"},
            "user_type": "reader", "initial_roles": ["Viewer"], "role_rules_required": true,
            "role_rules": [
                {"claim": "groups", "value": "bi-analysts", "roles": ["Analyst"], "user_type": "analyst"},
                {"claim": "groups", "value": "bi-readers", "roles": ["Reader"]}
            ]
        }]),
    )
    .await;

    // A token signed with each of the three secrets logs in; the first
    // login takes the matching rule's user type.
    for (i, secret) in ROT_SECRETS.into_iter().enumerate() {
        let body = logged_in(
            &server,
            &rot_token(secret, &format!("u{i}"), &["bi-analysts"]),
        )
        .await;
        assert_eq!(body["first_login"], true, "secret {i}");
        assert_eq!(body["user"]["user_type"], "analyst", "secret {i}");
        assert_eq!(
            body["user"]["roles"],
            json!(["Viewer", "Analyst"]),
            "secret {i}"
        );
    }
    let body = logged_in(
        &server,
        &rot_token(ROT_SECRETS[1], "r", &["bi-readers", "x"]),
    )
    .await;
    assert_eq!(body["user"]["user_type"], "reader");
    assert_eq!(body["user"]["roles"], json!(["Viewer", "Reader"]));

    // role_rules_required: no rule matches → 403, nobody created.
    let reply = server
        .login(&rot_token(ROT_SECRETS[0], "stranger", &["staff"]))
        .await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(reply.refusal(), "no_matching_role");
    assert_eq!(user_rows(&dir, "stranger"), 0);

    // The old secret removed through the admin API: its tokens fail.
    let got = server
        .admin("GET", "/api/admin/configs/Rot", ADMIN, None, None)
        .await;
    assert_eq!(got.status, 200, "{}", got.text);
    let mut config = got.body.clone();
    assert_eq!(
        config["key_source"]["secret"],
        json!([{"redacted": true}, {"redacted": true}, {"redacted": true}])
    );
    config["key_source"]["secret"] = json!([null, {"redacted": true}, {"redacted": true}]);
    let etag = got.etag.expect("an ETag");
    let reply = server
        .admin(
            "PUT",
            "/api/admin/configs/Rot",
            ADMIN,
            Some(&etag),
            Some(&config),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let reply = server
        .login(&rot_token(ROT_SECRETS[0], "u0", &["bi-analysts"]))
        .await;
    assert_eq!(reply.rejected(), "invalid_signature");
    for secret in &ROT_SECRETS[1..] {
        let body = logged_in(&server, &rot_token(secret, "u0", &["bi-analysts"])).await;
        assert_eq!(body["first_login"], false, "{secret}");
    }
    let saved = std::fs::read_to_string(served::config_file(&dir)).unwrap();
    assert!(
        !saved.contains(ROT_SECRETS[0]) && saved.contains(ROT_SECRETS[2]),
        "{saved}"
    );
    server.stop().await;
}
