//! `login_server` over real HTTP (CONTRACT sections 1 and 6): the browser
//! flow (cookie attributes, `303`, the default `/`, an ASCII `Location`,
//! `--insecure-cookie`), `POST /logout` and `logout_url`, `GET /api/me` by
//! session or bearer token (`bearer: true` only; `error="invalid_token"`),
//! sessions ending with their configuration for good, and `DELETE
//! /api/admin/sessions` (the session cookie is no admin credential).
#![cfg(all(feature = "axum", feature = "sqlite"))]

use crate::support::app;
use crate::support::fixtures::now;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use jwt_sso::Algorithm;
use jwt_sso::axum::admin::AdminAccess;
use jwt_sso::mint::SigningKey;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SECRET_ERP: &str = "browser-flow-erp-secret-0123456789";
const SECRET_CRM: &str = "browser-flow-crm-secret-0123456789";
const SECRET_ONCE: &str = "browser-flow-once-secret-012345678";
const ERP: &str = "https://erp.example.com";
const CRM: &str = "https://crm.example.com";
const ONCE: &str = "https://once.example.com";
const ADMIN: &str = "browser-flow-admin-token-0123";

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

fn sign(secret: &str, claims: Value) -> String {
    SigningKey::from_secret(secret.as_bytes())
        .sign(Algorithm::HS256, &claims)
        .unwrap()
}

fn erp(user: &str) -> String {
    sign(
        SECRET_ERP,
        json!({"iss": ERP, "sub": user, "name": "Jane Doe", "email": "jane@example.com",
               "iat": now(), "exp": now() + 600}),
    )
}

fn crm(user: &str) -> String {
    sign(
        SECRET_CRM,
        json!({"iss": CRM, "sub": user, "iat": now(), "exp": now() + 600}),
    )
}

fn once(user: &str, jti: &str) -> String {
    sign(
        SECRET_ONCE,
        json!({"iss": ONCE, "sub": user, "jti": jti, "iat": now(), "exp": now() + 600}),
    )
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("jwt-sso-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("configs.json"), configs().to_string()).unwrap();
        Dir(dir)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Server {
    addr: SocketAddr,
    _task: tokio::task::JoinHandle<()>,
    _background: [jwt_sso::Task; 2],
}

async fn start(dir: &Dir, ops: app::Ops) -> Server {
    let db = dir.0.join("users.sqlite");
    let state = app::state_with(&dir.0.join("configs.json"), &db.to_string_lossy(), &ops)
        .await
        .unwrap();
    let background = state.spawn_background();
    let router = app::router_with(state, AdminAccess::new().with_admin_token(ADMIN));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { jwt_sso::axum::serve(listener, router).await.unwrap() });
    Server {
        addr,
        _task: task,
        _background: background,
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
    fn kind(&self) -> String {
        self.json()["error"]["kind"].as_str().unwrap().to_owned()
    }
    /// The session cookie's value and its attributes (lower case, sorted).
    fn cookie(&self) -> (String, Vec<String>) {
        let cookie = self.header("set-cookie").expect("a Set-Cookie");
        let mut parts = cookie.split(';').map(str::trim);
        let (name, value) = parts.next().unwrap().split_once('=').unwrap();
        assert_eq!(name, "jwt_sso_session");
        let mut attributes: Vec<String> = parts.map(str::to_ascii_lowercase).collect();
        attributes.sort();
        (value.to_owned(), attributes)
    }
}

impl Server {
    async fn send(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let exchange = async {
            let mut stream = TcpStream::connect(self.addr).await.unwrap();
            let mut head = format!(
                "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
                self.addr,
                body.len()
            );
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str("\r\n");
            stream.write_all(head.as_bytes()).await.unwrap();
            stream.write_all(body).await.unwrap();
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw).await.unwrap();
            let text = String::from_utf8(raw).unwrap();
            let (head, body) = text.split_once("\r\n\r\n").unwrap();
            let mut lines = head.split("\r\n");
            let status = lines
                .next()
                .unwrap()
                .split(' ')
                .nth(1)
                .unwrap()
                .parse()
                .unwrap();
            let headers = lines
                .map(|l| l.split_once(':').unwrap())
                .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            Reply {
                status,
                headers,
                body: body.to_owned(),
            }
        };
        tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .expect("the server answers")
    }

    async fn form(&self, body: &str) -> Reply {
        let ct = ("Content-Type", "application/x-www-form-urlencoded");
        self.send("POST", "/login", &[ct], body.as_bytes()).await
    }

    async fn me(&self, headers: &[(&str, &str)]) -> Reply {
        self.send("GET", "/api/me", headers, b"").await
    }

    async fn admin(
        &self,
        method: &str,
        target: &str,
        extra: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let bearer = format!("Bearer {ADMIN}");
        let mut headers = vec![("Authorization", bearer.as_str())];
        headers.extend_from_slice(extra);
        self.send(method, target, &headers, body).await
    }

    /// Sets `enabled` of configuration `name` through the admin API.
    async fn set_enabled(&self, name: &str, enabled: bool) {
        let path = format!("/api/admin/configs/{name}");
        let etag = self.admin("GET", &path, &[], b"").await;
        let etag = etag.header("etag").unwrap().to_owned();
        let body = json!({"enabled": enabled}).to_string();
        let ct = ("Content-Type", "application/json");
        let reply = self
            .admin("PATCH", &path, &[ct, ("If-Match", &etag)], body.as_bytes())
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}

fn cookie_header(session: &str) -> String {
    format!("jwt_sso_session={session}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_browser_flow_sets_the_cookie_redirects_safely_and_logs_out_to_logout_url() {
    let dir = Dir::new("browser-flow");
    let server = start(&dir, app::Ops::default()).await;

    // A form post with a non-ASCII `return_to`: 303 to it, percent-encoded.
    let form = format!("token={}&return_to=%2Fcaf%C3%A9%3Fq%3D%C3%BC", erp("jdoe"));
    let reply = server.form(&form).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let location = reply.header("location").unwrap();
    assert_eq!(location, "/caf%C3%A9?q=%C3%BC");
    assert!(location.is_ascii());
    let (session, attributes) = reply.cookie();
    assert_eq!(
        attributes,
        ["httponly", "path=/", "samesite=lax", "secure"],
        "{:?}",
        reply.header("set-cookie")
    );
    assert_eq!(reply.header("x-auth-token"), Some(session.as_str()));
    // The same text as CONTRACT section 6 writes it, attribute order included.
    assert_eq!(
        reply.header("set-cookie"),
        Some(format!("jwt_sso_session={session}; Path=/; HttpOnly; SameSite=Lax; Secure").as_str())
    );

    // Without `return_to`: to `/`.
    let reply = server.form(&format!("token={}", erp("jdoe"))).await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/"));

    // A browser's GET (Accept prefers HTML) is a browser login; an API
    // client's GET keeps the JSON answer and gets no cookie.
    let html = ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    let target = format!("/login?token={}", erp("jdoe"));
    let reply = server.send("GET", &target, &[html], b"").await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/"));
    assert!(reply.header("set-cookie").is_some());
    let reply = server
        .send("GET", &target, &[("Accept", "application/json")], b"")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["user"]["user_id"], "jdoe");
    assert_eq!(reply.header("set-cookie"), None);

    // Unsafe targets: 400, nobody logged in, no cookie.
    for target in ["%2F%2Fevil.example", "https%3A%2F%2Fevil.example%2F"] {
        let reply = server
            .form(&format!("token={}&return_to={target}", erp("victim")))
            .await;
        assert_eq!(reply.status, 400, "{target}");
        assert_eq!(reply.kind(), "bad_request");
        assert_eq!(reply.header("set-cookie"), None);
    }
    // A refused browser login: the JSON login's status and body, no cookie.
    let expired = sign(
        SECRET_ERP,
        json!({"iss": ERP, "sub": "jdoe", "iat": now() - 7200, "exp": now() - 3600}),
    );
    let reply = server.form(&format!("token={expired}")).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.kind(), "expired");
    assert_eq!(reply.header("set-cookie"), None);

    // The cookie's session is the user's: `/api/me` by cookie and by header.
    let cookie = cookie_header(&session);
    for headers in [
        [("Cookie", cookie.as_str())],
        [("X-Auth-Token", session.as_str())],
    ] {
        let reply = server.me(&headers).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.json(),
            json!({"via": "session", "user": {"user_id": "jdoe", "name": "Jane Doe",
                "email": "jane@example.com", "user_type": "reader", "roles": ["Viewer"]}})
        );
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }

    // `POST /logout`: 303 to ERP's logout_url, the cookie cleared, the session over.
    let reply = server
        .send("POST", "/logout", &[("Cookie", cookie.as_str())], b"")
        .await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    assert_eq!(
        reply.header("location"),
        Some("https://erp.example.com/signed-out")
    );
    let (value, attributes) = reply.cookie();
    assert_eq!(value, "");
    assert!(
        attributes.contains(&"max-age=0".to_owned()),
        "{attributes:?}"
    );
    let reply = server.me(&[("Cookie", cookie.as_str())]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );

    // A session of a configuration without logout_url logs out to `/`.
    let reply = server.form(&format!("jwt={}", crm("ana"))).await;
    let (crm_session, _) = reply.cookie();
    let reply = server
        .send(
            "POST",
            "/logout",
            &[("Cookie", &cookie_header(&crm_session))],
            b"",
        )
        .await;
    assert_eq!(reply.status, 303);
    assert_eq!(reply.header("location"), Some("/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_cookie_leaves_secure_out() {
    let dir = Dir::new("browser-insecure");
    let ops = app::Ops {
        insecure_cookie: true,
        ..app::Ops::default()
    };
    let server = start(&dir, ops).await;
    let reply = server.form(&format!("token={}", erp("jdoe"))).await;
    assert_eq!(reply.status, 303);
    let (_, attributes) = reply.cookie();
    assert_eq!(attributes, ["httponly", "path=/", "samesite=lax"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_me_takes_bearer_tokens_of_bearer_configurations_only() {
    let dir = Dir::new("browser-me");
    let server = start(&dir, app::Ops::default()).await;

    // Neither: 401 unauthorized, `WWW-Authenticate: Bearer` without an error.
    let reply = server.me(&[]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.kind(), "unauthorized");
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));

    // A `bearer: true` configuration's token.
    let bearer = format!("Bearer {}", erp("jdoe"));
    let reply = server.me(&[("Authorization", &bearer)]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["via"], "bearer");
    assert_eq!(body["identity"]["user_id"], "jdoe");
    assert_eq!(body["identity"]["config"], "ERP");

    // A login-only configuration's token: as though it did not exist, also
    // after it logged someone in.
    let token = crm("ana");
    let login = json!({"loginMode": 67108864, "password": token}).to_string();
    let ct = ("Content-Type", "application/json");
    let reply = server
        .send("POST", "/api/auth/login", &[ct], login.as_bytes())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let crm_session = reply.header("x-auth-token").unwrap().to_owned();
    let reply = server
        .me(&[("Authorization", &format!("Bearer {token}"))])
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.kind(), "no_matching_config");
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
    // Its session is a session, though.
    let reply = server.me(&[("X-Auth-Token", &crm_session)]).await;
    assert_eq!(reply.json()["via"], "session");

    // A used single-use token is no bearer credential either.
    let token = once("olga", "jti-1");
    let login = json!({"loginMode": 67108864, "password": token}).to_string();
    let reply = server
        .send("POST", "/api/auth/login", &[ct], login.as_bytes())
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = server
        .me(&[("Authorization", &format!("Bearer {token}"))])
        .await;
    assert_eq!(reply.status, 401);
    assert_eq!(reply.kind(), "no_matching_config");

    // An unknown session token: refused with invalid_token.
    let reply = server.me(&[("X-Auth-Token", "bm90LWEtc2Vzc2lvbg")]).await;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\"")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_with_their_configuration_for_good_and_by_admin_request() {
    let dir = Dir::new("browser-ending");
    let server = start(&dir, app::Ops::default()).await;
    let ct = ("Content-Type", "application/json");
    let login = async |token: String| {
        let body = json!({"loginMode": 67108864, "password": token}).to_string();
        let reply = server
            .send("POST", "/api/auth/login", &[ct], body.as_bytes())
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.header("x-auth-token").unwrap().to_owned()
    };
    let works = async |session: &str| server.me(&[("X-Auth-Token", session)]).await.status;

    // Disabled: ended; re-enabled: still ended.
    let first = login(erp("jdoe")).await;
    let second = login(erp("mike")).await;
    let crm_session = login(crm("ana")).await;
    assert_eq!(works(&first).await, 200);
    server.set_enabled("ERP", false).await;
    assert_eq!(works(&first).await, 401);
    server.set_enabled("ERP", true).await;
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
    let reply = server
        .admin("DELETE", "/api/admin/configs/CRM?confirm=CRM", &[], b"")
        .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(works(&crm_session).await, 401);

    // DELETE /api/admin/sessions by user and by configuration.
    let a = login(erp("jdoe")).await;
    let b = login(erp("jdoe")).await;
    let c = login(erp("mike")).await;
    let reply = server
        .admin("DELETE", "/api/admin/sessions?user_id=jdoe", &[], b"")
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!({"ended": 2}));
    assert_eq!(
        (works(&a).await, works(&b).await, works(&c).await),
        (401, 401, 200)
    );
    let reply = server
        .admin("DELETE", "/api/admin/sessions?config=erp", &[], b"")
        .await;
    assert_eq!(reply.json(), json!({"ended": 1}));
    assert_eq!(works(&c).await, 401);
    let reply = server
        .admin("DELETE", "/api/admin/sessions?config=Nope", &[], b"")
        .await;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.kind(), "unknown_config");
    let reply = server
        .admin("DELETE", "/api/admin/sessions", &[], b"")
        .await;
    assert_eq!(reply.status, 400);

    // The session cookie is no admin credential, even an administrator's.
    let reply = server.form(&format!("token={}", erp("boss"))).await;
    let (session, _) = reply.cookie();
    let reply = server
        .send(
            "DELETE",
            "/api/admin/sessions?user_id=jdoe",
            &[("Cookie", &cookie_header(&session))],
            b"",
        )
        .await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    assert_eq!(reply.kind(), "unauthorized");
}
