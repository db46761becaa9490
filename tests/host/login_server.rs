//! `login_server` end to end (CONTRACT section 6): its router on an ephemeral
//! loopback port, a SQLite file in a temporary directory, and plain HTTP/1.1
//! over a `TcpStream`.
#![cfg(all(feature = "axum", feature = "sqlite"))]

use crate::support::app;
use crate::support::fixtures::{now, sign};
use crate::support::provider as support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use jwt_sso::mint::SigningKey;
use jwt_sso::{Algorithm, ErrorKind, Registry, Verification};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const SECRET_ERP: &str = "login-server-erp-secret-0123456789";
const SECRET_CRM: &str = "login-server-crm-secret-0123456789";
const ERP: &str = "https://erp.example.com";
const CRM: &str = "https://crm.example.com";
const OLD: &str = "https://old.example.com";
/// Values of the configurations that no refusal may show a client.
const CONFIG_VALUES: [&str; 8] = [
    "ERP",
    "CRM",
    "Old",
    "erp.example.com",
    "crm.example.com",
    "bi-server",
    "HS256",
    "secret",
];

fn configs() -> Value {
    json!([
        {
            "name": "ERP", "token_name": "token", "issuer": ERP, "audience": "bi-server",
            "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ERP},
            "expiration_time": 86400,
            "claims": {"user_id": "loginname", "name": "name", "email": "email", "roles": "groups"},
            "system_prompts": [
                {"kind": "text", "slot": 1, "claim": "department"},
                {"kind": "numeric", "slot": 2, "claim": "level"},
                {"kind": "date", "slot": 1, "claim": "hired"}
            ],
            "user_type": "reader", "initial_roles": ["Viewer"]
        },
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
    sign(
        SECRET_ERP,
        json!({
            "iss": ERP, "aud": "bi-server", "loginname": user, "name": "Jane Doe",
            "email": "jane@example.com", "groups": groups, "department": "Sales", "level": 7,
            "hired": "2021-04-15", "iat": now(), "exp": now() + 3600
        }),
    )
}

fn crm_token(user: &str) -> String {
    sign(
        SECRET_CRM,
        json!({"iss": CRM, "sub": user, "exp": now() + 600}),
    )
}

fn login_body(token: &str) -> Vec<u8> {
    json!({"loginMode": 67108864, "password": token, "metadataLocale": "en_US"})
        .to_string()
        .into_bytes()
}

/// A temporary directory holding the configuration file and the database.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("jwt-sso-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("configs.json"), configs().to_string()).unwrap();
        Dir(dir)
    }
    fn config(&self) -> PathBuf {
        self.0.join("configs.json")
    }
    fn db(&self) -> PathBuf {
        self.0.join("users.sqlite")
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Server {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

async fn start(config: &Path, db: &Path) -> Server {
    let router = app::app(config, db).await.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { jwt_sso::axum::serve(listener, router).await.unwrap() });
    Server { addr, task }
}

impl Server {
    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    async fn post(&self, path: &str, body: &[u8]) -> Reply {
        self.send("POST", path, &[("Content-Type", "application/json")], body)
            .await
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> Reply {
        self.send("GET", path, headers, b"").await
    }

    /// One HTTP/1.1 request on its own connection.
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
            Reply::parse(&raw)
        };
        tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .expect("the server answers")
    }
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let text = String::from_utf8(raw.to_vec()).unwrap();
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
        let headers: Vec<(String, String)> = lines
            .map(|l| l.split_once(':').unwrap())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        assert!(
            status == 204 || headers.iter().any(|(k, _)| k == "content-length"),
            "a sized body: {headers:?}"
        );
        Reply {
            status,
            headers,
            body: body.to_owned(),
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// A 401 with `WWW-Authenticate: Bearer` and the public body; returns the kind.
    fn rejected(&self) -> String {
        assert_eq!(self.status, 401, "{}", self.body);
        assert_eq!(self.header("www-authenticate"), Some("Bearer"));
        self.refusal()
    }

    /// Exactly `{"error":{"kind":…,"message":<the kind's fixed sentence>}}`,
    /// `Cache-Control: no-store`, and no configuration value; returns the kind.
    fn refusal(&self) -> String {
        assert!(
            self.body.starts_with(r#"{"error":{"kind":""#),
            "{}",
            self.body
        );
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert_eq!(self.header("content-type"), Some("application/json"));
        let error = &self.json()["error"];
        let keys: Vec<&String> = error.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["kind", "message"], "{}", self.body);
        let kind = error["kind"].as_str().unwrap().to_owned();
        if ![413, 415].contains(&self.status) {
            let expected = ErrorKind::ALL
                .into_iter()
                .find(|k| k.as_str() == kind)
                .unwrap();
            assert_eq!(error["message"], expected.public_message(), "{}", self.body);
            assert_eq!(self.status, expected.http_status(), "{}", self.body);
        }
        for value in CONFIG_VALUES {
            assert!(!self.body.contains(value), "{value} in {}", self.body);
        }
        if self.status != 401 {
            assert_eq!(self.header("www-authenticate"), None);
        }
        kind
    }

    /// A 400 with exactly `{"error":{"kind":"bad_request","message":…}}`.
    fn bad_request(&self) -> String {
        assert_eq!(self.status, 400, "{}", self.body);
        assert_eq!(self.refusal(), "bad_request");
        self.json()["error"]["message"].as_str().unwrap().to_owned()
    }
}

fn user_rows(db: &Path, user_id: &str) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(
        "SELECT COUNT(*) FROM jwt_sso_users WHERE user_id = ?1",
        [user_id],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_over_http_with_sqlite_survive_a_restart() {
    let dir = Dir::new("login-server");
    let server = start(&dir.config(), &dir.db()).await;

    // First login: 200, a session token, the user and the identity.
    let token = erp_token("jdoe", &[]);
    let reply = server.post("/api/auth/login", &login_body(&token)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let session = reply
        .header("x-auth-token")
        .expect("X-Auth-Token")
        .to_owned();
    assert!(
        session.len() == 43
            && session
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "base64url of 32 random bytes: {session}"
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    let expected_identity = Registry::load(dir.config())
        .unwrap()
        .verify_cached(&token, Verification::default())
        .unwrap();
    let prefix = r#"{"first_login":true,"user":{"user_id":"jdoe","user_type":"reader","roles":["Viewer"]},"identity":{"config":"ERP","user_id":"jdoe","name":"Jane Doe","email":"jane@example.com","user_type":"reader","roles":["Viewer"],"prompts":[{"kind":"text","slot":1,"value":"Sales"},{"kind":"numeric","slot":2,"value":7},{"kind":"date","slot":1,"value":"2021-04-15"}],"expires_at":""#;
    assert!(reply.body.starts_with(prefix), "{}", reply.body);
    assert_eq!(
        reply.json()["identity"],
        serde_json::to_value(&expected_identity).unwrap()
    );

    // The session token names the user.
    let me = server
        .get("/api/session", &[("X-Auth-Token", &session)])
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["user"]["user_id"], "jdoe");
    let nobody = server
        .get("/api/session", &[("X-Auth-Token", "0000")])
        .await;
    nobody.rejected();

    // Second login: found, roles kept although the token now has groups.
    let reply = server
        .post(
            "/api/auth/login",
            &login_body(&erp_token("jdoe", &["Sales"])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["first_login"], false);
    assert_eq!(
        body["user"],
        json!({"user_id": "jdoe", "user_type": "reader", "roles": ["Viewer"]})
    );
    assert_eq!(body["identity"]["roles"], json!(["Viewer", "Sales"]));
    assert_ne!(
        reply.header("x-auth-token"),
        Some(session.as_str()),
        "a new session each login"
    );

    // GET /login?<token_name>=: ERP's `token`, CRM's `jwt`.
    let reply = server
        .get(&format!("/login?token={}", erp_token("jdoe", &[])), &[])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["first_login"], false);
    let reply = server
        .get(&format!("/login?lang=en&jwt={}", crm_token("ana")), &[])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["first_login"], true);
    assert_eq!(
        body["user"],
        json!({"user_id": "ana", "user_type": "analyst", "roles": ["Analyst"]})
    );
    assert_eq!(body["identity"]["config"], "CRM");
    // Percent-encoded dots are decoded.
    let encoded = crm_token("ana").replace('.', "%2E");
    let reply = server.get(&format!("/login?jwt={encoded}"), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // 401: each kind, with message and hint.
    let expired = sign(
        SECRET_ERP,
        json!({"iss": ERP, "aud": "bi-server", "loginname": "jdoe", "exp": now() - 3600}),
    );
    let forged = sign(
        SECRET_CRM,
        json!({"iss": ERP, "aud": "bi-server", "loginname": "jdoe", "exp": now() + 60}),
    );
    let stranger = sign(
        SECRET_ERP,
        json!({"iss": "https://evil.example.com", "sub": "x", "exp": now() + 60}),
    );
    let old = sign(
        SECRET_ERP,
        json!({"iss": OLD, "sub": "x", "exp": now() + 60}),
    );
    let no_user = sign(
        SECRET_ERP,
        json!({"iss": ERP, "aud": "bi-server", "exp": now() + 60}),
    );
    for (token, kind) in [
        (expired.as_str(), "expired"),
        (forged.as_str(), "invalid_signature"),
        (stranger.as_str(), "no_matching_config"),
        (old.as_str(), "disabled"),
        (no_user.as_str(), "missing_user_id"),
        ("not-a-token", "malformed"),
    ] {
        let reply = server.post("/api/auth/login", &login_body(token)).await;
        assert_eq!(reply.rejected(), kind, "{}", reply.body);
        assert!(!reply.body.contains(token), "the token is never echoed");
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
        let reply = server.post("/api/auth/login", body.as_bytes()).await;
        let message = reply.bad_request();
        assert!(!message.contains(&token), "{message}");
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
    let server = start(&dir.config(), &dir.db()).await;
    let reply = server
        .post(
            "/api/auth/login",
            &login_body(&erp_token("jdoe", &["Finance"])),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["first_login"], false);
    assert_eq!(body["user"]["roles"], json!(["Viewer"]));
    let reply = server
        .get(&format!("/login?jwt={}", crm_token("ana")), &[])
        .await;
    assert_eq!(reply.json()["first_login"], false);
    assert_eq!(reply.json()["user"]["user_type"], "analyst");
    // Sessions live in the database: the old one still works.
    let me = server
        .get("/api/session", &[("X-Auth-Token", &session)])
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.json()["user"]["user_id"], "jdoe");
    server.stop().await;
    assert_eq!(user_rows(&dir.db(), "jdoe"), 1);
    assert_eq!(user_rows(&dir.db(), "ana"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_first_logins_create_one_sqlite_user() {
    let dir = Dir::new("login-server-race");
    let server = std::sync::Arc::new(start(&dir.config(), &dir.db()).await);
    let body = login_body(&erp_token("racer", &["Sales"]));
    let logins: Vec<_> = (0..100)
        .map(|_| {
            let (server, body) = (std::sync::Arc::clone(&server), body.clone());
            tokio::spawn(async move { server.post("/api/auth/login", &body).await })
        })
        .collect();
    let mut first = 0;
    for login in logins {
        let reply = login.await.unwrap();
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json();
        first += usize::from(body["first_login"] == true);
        assert_eq!(body["user"]["roles"], json!(["Viewer", "Sales"]));
    }
    assert_eq!(first, 1, "exactly one first login");
    assert_eq!(user_rows(&dir.db(), "racer"), 1);
}

#[tokio::test]
async fn the_sqlite_store_reports_a_taken_user_id_as_a_conflict() {
    use jwt_sso::UserStore;
    let dir = Dir::new("login-server-store");
    let store = jwt_sso::SqlStore::sqlite(dir.db(), &jwt_sso::SqlOptions::default())
        .await
        .unwrap();
    let identity = Registry::load(dir.config())
        .unwrap()
        .verify_cached(&erp_token("jdoe", &["Sales"]), Verification::default())
        .unwrap();
    let user = jwt_sso::User::from_identity(&identity);
    let created = store.create(&user).await.unwrap();
    assert_eq!(created.roles, ["Viewer", "Sales"]);
    assert!(store.create(&user).await.is_err_and(|e| e.is_conflict()));
    assert_eq!(store.find("jdoe").await.unwrap(), Some(created));
    assert_eq!(store.find("nobody").await.unwrap(), None);
}

impl Server {
    /// Writes `request` as is on a new connection and reads until the server closes it.
    async fn raw(&self, request: &[u8]) -> Vec<u8> {
        let exchange = async {
            let mut stream = TcpStream::connect(self.addr).await.unwrap();
            stream.write_all(request).await.unwrap();
            let mut raw = Vec::new();
            let _ = stream.read_to_end(&mut raw).await;
            raw
        };
        tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .expect("the server answers")
    }
}

fn status_line(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.split("\r\n").next().unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_type_body_size_head_and_token_names_are_enforced() {
    let dir = Dir::new("login-server-http");
    let server = start(&dir.config(), &dir.db()).await;
    let token = erp_token("jdoe", &[]);
    let body = login_body(&token);

    // 415 without `Content-Type: application/json` (a plain HTML form cannot post here).
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|c| vec![("Content-Type", c)])
            .unwrap_or_default();
        let reply = server
            .send("POST", "/api/auth/login", &headers, &body)
            .await;
        assert_eq!(reply.status, 415, "{content_type:?}: {}", reply.body);
        assert_eq!(reply.refusal(), "bad_request");
    }
    // With parameters and in another case it is JSON.
    let reply = server
        .send(
            "POST",
            "/api/auth/login",
            &[("Content-Type", "Application/JSON; charset=utf-8")],
            &body,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // 413 in the JSON error shape: a body over the limit, sent in full.
    let mut huge = br#"{"loginMode":67108864,"password":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'a', 200_000));
    huge.extend(br#""}"#);
    let reply = server.post("/api/auth/login", &huge).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.refusal(), "bad_request");

    // A huge declared Content-Length with `Expect: 100-continue`: 413, never `100 Continue`.
    let request = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\nExpect: 100-continue\r\n\r\n";
    let raw = server.raw(request.as_bytes()).await;
    assert_eq!(status_line(&raw), "HTTP/1.1 413 Payload Too Large");
    let reply = Reply::parse(&raw);
    assert_eq!(reply.refusal(), "bad_request");
    // …and without `Expect`, before the body is sent: answered, not waited for.
    let request = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{\"loginMode\":";
    let raw = server.raw(request.as_bytes()).await;
    assert_eq!(status_line(&raw), "HTTP/1.1 413 Payload Too Large");
    // A small body with `Expect: 100-continue` is read and logs in.
    let request = format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut interim = [0u8; 25];
    stream.read_exact(&mut interim).await.unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    stream.write_all(&body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    assert_eq!(Reply::parse(&raw).status, 200);

    // HEAD logs nobody in: no session, no user.
    let fresh = erp_token("head-user", &[]);
    let reply = server
        .send("HEAD", &format!("/login?token={fresh}"), &[], b"")
        .await;
    assert_ne!(reply.status, 200);
    assert_eq!(reply.header("x-auth-token"), None);
    assert_eq!(user_rows(&dir.db(), "head-user"), 0);
    let reply = server.get(&format!("/login?token={fresh}"), &[]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(user_rows(&dir.db(), "head-user"), 1);

    // A token under another configuration's parameter name is not routed.
    let crm = crm_token("ana");
    let reply = server.get(&format!("/login?token={crm}"), &[]).await;
    assert_eq!(reply.rejected(), "no_matching_config");
    let reply = server.get(&format!("/login?jwt={token}"), &[]).await;
    assert_eq!(reply.rejected(), "no_matching_config");
    assert_eq!(user_rows(&dir.db(), "ana"), 0);
    // Two names at once: 400.
    server
        .get(&format!("/login?token={token}&jwt={crm}"), &[])
        .await
        .bad_request();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_ends_the_session_and_a_user_holds_at_most_twenty() {
    let dir = Dir::new("login-server-sessions");
    let server = start(&dir.config(), &dir.db()).await;
    let mut sessions = Vec::new();
    for _ in 0..21 {
        let reply = server
            .post("/api/auth/login", &login_body(&erp_token("capped", &[])))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        sessions.push(reply.header("x-auth-token").unwrap().to_owned());
    }
    let works = |reply: Reply| reply.status == 200;
    // The 21st login ended the first session, and only that one.
    assert!(!works(
        server
            .get("/api/session", &[("X-Auth-Token", &sessions[0])])
            .await
    ));
    for session in &sessions[1..] {
        let reply = server
            .get("/api/session", &[("X-Auth-Token", session)])
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    let stored: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM jwt_sso_sessions WHERE user_id = 'capped'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 20);
    let raw: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM jwt_sso_sessions WHERE id = ?1",
            [&sessions[5]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(raw, 0, "the token itself is never stored");

    // Logout: 204, then the session no longer works; a second logout is 401.
    let reply = server
        .send(
            "POST",
            "/api/auth/logout",
            &[("X-Auth-Token", &sessions[20])],
            b"",
        )
        .await;
    assert_eq!(reply.status, 204);
    let reply = server
        .get("/api/session", &[("X-Auth-Token", &sessions[20])])
        .await;
    assert_eq!(reply.rejected(), "unauthorized");
    let reply = server
        .send(
            "POST",
            "/api/auth/logout",
            &[("X-Auth-Token", &sessions[20])],
            b"",
        )
        .await;
    assert_eq!(reply.rejected(), "unauthorized");
    // Another user's session is untouched.
    let reply = server
        .get("/api/session", &[("X-Auth-Token", &sessions[19])])
        .await;
    assert_eq!(reply.status, 200);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_sent_connections_are_closed_after_ten_seconds() {
    let dir = Dir::new("login-server-slow");
    let server = start(&dir.config(), &dir.db()).await;
    let started = std::time::Instant::now();
    let silent = TcpStream::connect(server.addr).await.unwrap();
    let mut half = TcpStream::connect(server.addr).await.unwrap();
    half.write_all(b"GET /api/sess").await.unwrap();
    // A keep-alive connection that finished a request stays open past 10 s.
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let request = format!("GET /api/session HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    idle.write_all(request.as_bytes()).await.unwrap();
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).await.unwrap();
    assert_eq!(&first, b"HTTP/1.1 401");

    for mut stream in [silent, half] {
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut buf))
            .await
            .expect("closed by the server within 15 s");
        assert!(read.is_ok() || buf.is_empty());
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_secs(9),
            "not before the timeout: {elapsed:?}"
        );
    }
    // The idle connection is still usable after the header timeout.
    let mut rest = vec![0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(200), idle.read(&mut rest)).await;
    idle.write_all(request.as_bytes()).await.unwrap();
    let mut again = [0u8; 12];
    tokio::time::timeout(Duration::from_secs(5), idle.read_exact(&mut again))
        .await
        .expect("keep-alive survives 10 s idle")
        .unwrap();
    assert_eq!(&again, b"HTTP/1.1 401");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_answers_503_within_five_seconds_and_reads_go_on() {
    let dir = Dir::new("login-server-locked");
    let server = start(&dir.config(), &dir.db()).await;
    let reply = server
        .post("/api/auth/login", &login_body(&erp_token("early", &[])))
        .await;
    let session = reply.header("x-auth-token").unwrap().to_owned();

    let locker = rusqlite::Connection::open(dir.db()).unwrap();
    locker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let started = std::time::Instant::now();
    let reply = server
        .post("/api/auth/login", &login_body(&erp_token("late", &[])))
        .await;
    let elapsed = started.elapsed();
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.refusal(), "store");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    // A request that only reads is not held up by the lock (WAL).
    let started = std::time::Instant::now();
    let reply = server
        .get("/api/session", &[("X-Auth-Token", &session)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(started.elapsed() < Duration::from_secs(2));
    locker.execute_batch("ROLLBACK").unwrap();
    let reply = server
        .post("/api/auth/login", &login_body(&erp_token("late", &[])))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    server.stop().await;
}

const SECRET_ONCE: &str = "login-server-once-secret-0123456789";
const ONCE: &str = "https://once.example.com";
const CLOSED: &str = "https://closed.example.com";

/// A directory whose configurations add a `single_use` one and one that
/// creates no users (both may log in the users ERP created only when shared).
fn policy_dir(name: &str) -> Dir {
    let dir = Dir::new(name);
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
    std::fs::write(dir.config(), all.to_string()).unwrap();
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_and_single_use_tokens_over_http_survive_a_restart() {
    let dir = policy_dir("login-server-policies");
    let server = start(&dir.config(), &dir.db()).await;

    // create_users: false, unknown user: 403 unknown_user, nothing created.
    let closed = sign(
        SECRET_ONCE,
        json!({"iss": CLOSED, "sub": "stranger", "exp": now() + 600}),
    );
    let reply = server.post("/api/auth/login", &login_body(&closed)).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.refusal(), "unknown_user");
    assert_eq!(user_rows(&dir.db(), "stranger"), 0);

    // A user ERP created, logged in by another (own-scope) configuration: user_conflict.
    let reply = server
        .post("/api/auth/login", &login_body(&erp_token("owned", &[])))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let closed = sign(
        SECRET_ONCE,
        json!({"iss": CLOSED, "sub": "owned", "exp": now() + 600}),
    );
    let reply = server.post("/api/auth/login", &login_body(&closed)).await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.refusal(), "user_conflict");

    // single_use: first 200, second 401 token_replayed, also after a restart.
    let once = sign(
        SECRET_ONCE,
        json!({"iss": ONCE, "sub": "solo", "jti": "j-1", "exp": now() + 600}),
    );
    let reply = server.post("/api/auth/login", &login_body(&once)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = server.post("/api/auth/login", &login_body(&once)).await;
    assert_eq!(reply.rejected(), "token_replayed");
    server.stop().await;

    let server = start(&dir.config(), &dir.db()).await;
    let reply = server.post("/api/auth/login", &login_body(&once)).await;
    assert_eq!(reply.rejected(), "token_replayed");
    let fresh = sign(
        SECRET_ONCE,
        json!({"iss": ONCE, "sub": "solo", "jti": "j-2", "exp": now() + 600}),
    );
    let reply = server.post("/api/auth/login", &login_body(&fresh)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["first_login"], false);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_on_login_server_creates_a_configuration_that_logs_in_at_once() {
    let dir = Dir::new("login-server-admin");
    let access =
        jwt_sso::axum::admin::AdminAccess::new().with_admin_token("break-glass-token-0123");
    let router = app::app_with(&dir.config(), &dir.db(), access)
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { jwt_sso::axum::serve(listener, router).await.unwrap() });
    let server = Server { addr, task };
    let json_ct = ("Content-Type", "application/json");

    let reply = server.send("GET", "/api/admin/configs", &[], b"").await;
    assert_eq!(reply.status, 401, "{}", reply.body);
    let reply = server.get("/admin", &[]).await;
    assert_eq!(reply.status, 200);

    let admin = ("Authorization", "Bearer break-glass-token-0123");
    let new = json!({
        "name": "Admins", "token_name": "adm", "issuer": "https://adm.example.com",
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_CRM},
        "expiration_time": 3600, "claims": {"user_id": "sub", "roles": "groups"},
        "may_grant_admin": true
    });
    let reply = server
        .send(
            "POST",
            "/api/admin/configs",
            &[admin, json_ct],
            new.to_string().as_bytes(),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(!reply.body.contains(SECRET_CRM));
    // Saved to the --config file, and in force for the next login without a restart.
    let saved = std::fs::read_to_string(dir.config()).unwrap();
    assert!(saved.contains("Admins"), "{saved}");
    let boss = sign(
        SECRET_CRM,
        json!({"iss": "https://adm.example.com", "sub": "boss", "groups": ["Administrator"], "exp": now() + 600}),
    );
    let reply = server.post("/api/auth/login", &login_body(&boss)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let boss_session = reply.header("x-auth-token").unwrap().to_owned();
    let reply = server
        .post("/api/auth/login", &login_body(&crm_token("plain")))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let plain_session = reply.header("x-auth-token").unwrap().to_owned();

    // A session with the --admin-role role may call the API; one without gets 403.
    let reply = server
        .get("/api/admin/configs", &[("X-Auth-Token", &boss_session)])
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let names: Vec<String> = reply
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Admins", "CRM", "ERP", "Old"]);
    let reply = server
        .get("/api/admin/configs", &[("X-Auth-Token", &plain_session)])
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.json()["error"]["kind"], "forbidden");
    server.stop().await;
}

/// Issue 27: a provider whose published key set has only `key_ops: ["sign"]`
/// keys (copied from its private keys) makes a permanent misconfiguration,
/// not an outage: the login is `401 key_not_found`, not `503 key_fetch`, and
/// the key set was fetched (so the administrator's message can name why).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_set_without_a_usable_key_is_401_key_not_found_over_http() {
    const IDP: &str = "https://idp.example.com";
    let keys = support::Server::start();
    let jwks: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/jwks/public_jwks.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut signer = jwks["rsa2048"].clone();
    signer["kid"] = json!("k1");
    signer["key_ops"] = json!(["sign"]);
    keys.set(
        "/jwks",
        support::Reply::json(json!({"keys": [signer]}).to_string()),
    );
    let dir = Dir::new("keyops-sign");
    std::fs::write(
        dir.config(),
        json!([{
            "name": "IdP", "token_name": "token", "issuer": IDP,
            "algorithms": ["RS256"], "key_source": {"type": "jwks_uri", "url": keys.url("/jwks")},
            "expiration_time": 3600, "claims": {"user_id": "sub"}
        }])
        .to_string(),
    )
    .unwrap();
    let server = start(&dir.config(), &dir.db()).await;
    let private = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/keys/rsa2048_private.pem"
    ))
    .unwrap();
    let token = SigningKey::from_pem(&private)
        .sign_with_header(
            Algorithm::RS256,
            &json!({"alg": "RS256", "kid": "k1"}),
            &json!({"iss": IDP, "sub": "jdoe", "exp": now() + 600}),
        )
        .unwrap();
    let reply = server.post("/api/auth/login", &login_body(&token)).await;
    assert_eq!(reply.rejected(), "key_not_found", "{}", reply.body);
    assert!(!reply.body.contains("key_ops"), "{}", reply.body);
    // The key set was fetched (at start-up or by the login), and no user was made.
    assert!(keys.hits("/jwks") >= 1);
    assert_eq!(user_rows(&dir.db(), "jdoe"), 0);
    // Through the browser's GET too.
    let reply = server
        .get(
            &format!("/login?token={token}"),
            &[("Accept", "application/json")],
        )
        .await;
    assert_eq!(reply.rejected(), "key_not_found", "{}", reply.body);
    server.stop().await;
}

/// Issue 27: an invalid `--config` file is a `config` error naming the field
/// and the configuration (and the file), not a `store` error about the
/// database.
#[tokio::test]
async fn an_invalid_configuration_file_is_a_config_error_naming_field_and_configuration() {
    let dir = Dir::new("invalid-config");
    // An unknown field in the second entry: refused while parsing.
    let mut bad = configs();
    bad[1]["audiance"] = json!("bi-server");
    std::fs::write(dir.config(), bad.to_string()).unwrap();
    let err = app::app(&dir.config(), &dir.db()).await.err().unwrap();
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
    std::fs::write(dir.config(), bad.to_string()).unwrap();
    let err = app::app(&dir.config(), &dir.db()).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(err.to_string().contains("leeway (entry 3, `Old`)"), "{err}");
    let mut bad = configs();
    bad[1]["key_source"]["secret"] = json!("too-short");
    std::fs::write(dir.config(), bad.to_string()).unwrap();
    let err = app::app(&dir.config(), &dir.db()).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    assert!(
        err.to_string().contains("(entry 2, `CRM`)") && err.to_string().contains("secret"),
        "{err}"
    );
    assert!(!err.to_string().contains("too-short"), "{err}");

    // Text that is no JSON at all, and a file that is missing.
    std::fs::write(dir.config(), "[{\"name\": ").unwrap();
    let err = app::app(&dir.config(), &dir.db()).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    std::fs::remove_file(dir.config()).unwrap();
    let err = app::app(&dir.config(), &dir.db()).await.err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(err.to_string().contains("configs.json"), "{err}");
}

/// A server on `configs` with the break-glass admin token `ADMIN`.
async fn start_with(dir: &Dir, configs: Value) -> Server {
    std::fs::write(dir.config(), configs.to_string()).unwrap();
    let access = jwt_sso::axum::admin::AdminAccess::new().with_admin_token(ADMIN);
    let router = app::app_with(&dir.config(), &dir.db(), access)
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { jwt_sso::axum::serve(listener, router).await.unwrap() });
    Server { addr, task }
}

const ADMIN: &str = "rules-break-glass-token-0123456789";
const SECRET_OPS: &str = "login-server-ops-secret-0123456789";
const READER: &str = "https://reader.example.com";
const OPS: &str = "https://ops.example.com";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_administrator_role_comes_from_a_token_only_where_may_grant_admin_allows_it() {
    let dir = Dir::new("login-server-may-grant-admin");
    let server = start_with(
        &dir,
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
    let admin_api = |session: String| {
        let server = &server;
        async move {
            server
                .get("/api/admin/configs", &[("X-Auth-Token", &session)])
                .await
        }
    };

    // A reader configuration's token claiming the administrator's group.
    let forged = sign(
        SECRET_ERP,
        json!({"iss": READER, "sub": "mallory", "groups": ["Administrator", "Sales"], "exp": now() + 600}),
    );
    let reply = server.post("/api/auth/login", &login_body(&forged)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json();
    assert_eq!(body["user"]["roles"], json!(["Viewer", "Sales"]));
    let warning = body["identity"]["warnings"][0].as_str().unwrap();
    assert!(warning.contains("may_grant_admin"), "{warning}");
    let session = reply.header("x-auth-token").unwrap().to_owned();
    let refused = admin_api(session).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.json()["error"]["kind"], "forbidden");
    // The database holds no administrator.
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
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
    let reply = server.post("/api/auth/login", &login_body(&ops)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["user"]["roles"], json!(["Administrator"]));
    let session = reply.header("x-auth-token").unwrap().to_owned();
    let allowed = admin_api(session).await;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
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
    let dir = Dir::new("login-server-rules");
    let server = start_with(
        &dir,
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
        let reply = server
            .post(
                "/api/auth/login",
                &login_body(&rot_token(secret, &format!("u{i}"), &["bi-analysts"])),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json();
        assert_eq!(body["first_login"], true);
        assert_eq!(body["user"]["user_type"], "analyst");
        assert_eq!(body["user"]["roles"], json!(["Viewer", "Analyst"]));
    }
    let reply = server
        .post(
            "/api/auth/login",
            &login_body(&rot_token(ROT_SECRETS[1], "r", &["bi-readers", "x"])),
        )
        .await;
    assert_eq!(reply.json()["user"]["user_type"], "reader");
    assert_eq!(reply.json()["user"]["roles"], json!(["Viewer", "Reader"]));

    // role_rules_required: no rule matches → 403, nobody created.
    let reply = server
        .post(
            "/api/auth/login",
            &login_body(&rot_token(ROT_SECRETS[0], "stranger", &["staff"])),
        )
        .await;
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert_eq!(reply.refusal(), "no_matching_role");
    assert_eq!(user_rows(&dir.db(), "stranger"), 0);

    // The old secret removed through the admin API: its tokens fail.
    let admin = ("Authorization", "Bearer rules-break-glass-token-0123456789");
    let got = server.get("/api/admin/configs/Rot", &[admin]).await;
    assert_eq!(got.status, 200, "{}", got.body);
    let mut config = got.json();
    assert_eq!(
        config["key_source"]["secret"],
        json!([{"redacted": true}, {"redacted": true}, {"redacted": true}])
    );
    config["key_source"]["secret"] = json!([null, {"redacted": true}, {"redacted": true}]);
    let etag = got.header("etag").unwrap().to_owned();
    let reply = server
        .send(
            "PUT",
            "/api/admin/configs/Rot",
            &[
                admin,
                ("Content-Type", "application/json"),
                ("If-Match", &etag),
            ],
            config.to_string().as_bytes(),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = server
        .post(
            "/api/auth/login",
            &login_body(&rot_token(ROT_SECRETS[0], "u0", &["bi-analysts"])),
        )
        .await;
    assert_eq!(reply.rejected(), "invalid_signature");
    for secret in &ROT_SECRETS[1..] {
        let reply = server
            .post(
                "/api/auth/login",
                &login_body(&rot_token(secret, "u0", &["bi-analysts"])),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.json()["first_login"], false);
    }
    let saved = std::fs::read_to_string(dir.config()).unwrap();
    assert!(
        !saved.contains(ROT_SECRETS[0]) && saved.contains(ROT_SECRETS[2]),
        "{saved}"
    );
    server.stop().await;
}
