//! What one client can hold of a server (CONTRACT section 6), over real
//! HTTP/1.1 on loopback: `login_server`'s router served by
//! `jwt_sso::axum::serve` with short bounds (1 s), a SQLite file in a
//! temporary directory, and raw `TcpStream`s for clients that stall on
//! purpose. The bounds are shortened so that no test waits 10 s; one test
//! checks the 10 s default.
#![cfg(all(feature = "axum", feature = "sqlite"))]

use crate::support::app;
use crate::support::fixtures::now;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use jwt_sso::Algorithm;
use jwt_sso::axum::ServeOptions;
use jwt_sso::axum::admin::AdminAccess;
use jwt_sso::mint::SigningKey;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

const SECRET_ERP: &str = "serve-bounds-erp-secret-0123456789ab";
const ERP: &str = "https://erp.example.com";
const ADMIN_TOKEN: &str = "serve-bounds-admin-token-0123456789";
/// The body deadline these servers use.
const BODY_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a test waits for an answer that should come at once or after
/// [`BODY_TIMEOUT`]: generous, and far below the bounds that would answer
/// otherwise (none, or 120 s).
const PATIENCE: Duration = Duration::from_secs(15);

fn configs() -> Value {
    json!([{
        "name": "ERP", "token_name": "token", "issuer": ERP,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ERP},
        "expiration_time": 3600, "claims": {"user_id": "sub"},
        "user_type": "reader", "initial_roles": ["Viewer"]
    }])
}

fn erp_token(user: &str) -> String {
    SigningKey::from_secret(SECRET_ERP.as_bytes())
        .sign(
            Algorithm::HS256,
            &json!({"iss": ERP, "sub": user, "iat": now(), "exp": now() + 3600}),
        )
        .unwrap()
}

fn login_body(user: &str) -> String {
    json!({"loginMode": 67108864, "password": erp_token(user)}).to_string()
}

/// A temporary directory with the configuration file and the database.
struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let dir = std::env::temp_dir().join(format!(
            "jwt-sso-serve-bounds-{name}-{}",
            std::process::id()
        ));
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
    task: JoinHandle<()>,
    _dir: Dir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(name: &str, options: ServeOptions) -> Server {
    let dir = Dir::new(name);
    let access = AdminAccess::new().with_admin_token(ADMIN_TOKEN);
    let router = app::app_with(
        &dir.0.join("configs.json"),
        &dir.0.join("users.sqlite"),
        access,
    )
    .await
    .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        jwt_sso::axum::serve(listener, router)
            .options(options)
            .await
            .unwrap()
    });
    Server {
        addr,
        task,
        _dir: dir,
    }
}

fn short_bounds() -> ServeOptions {
    ServeOptions::default().body_timeout(BODY_TIMEOUT)
}

/// An answer read until the server closed the connection.
#[derive(Debug)]
struct Reply {
    /// Every status line, interim (`100 Continue`) ones included.
    status_lines: Vec<String>,
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let mut text = String::from_utf8_lossy(raw).into_owned();
        let mut status_lines = Vec::new();
        loop {
            let (head, body) = text
                .split_once("\r\n\r\n")
                .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
            let mut lines = head.split("\r\n");
            let status_line = lines.next().unwrap().to_owned();
            let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
            status_lines.push(status_line);
            if status == 100 {
                text = body.to_owned();
                continue;
            }
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            return Reply {
                status_lines,
                status,
                headers,
                body: body.to_owned(),
            };
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn kind(&self) -> String {
        let body: Value = serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body));
        body["error"]["kind"].as_str().unwrap_or("").to_owned()
    }

    /// `408`, the JSON error of kind `bad_request`, `Connection: close`.
    fn assert_body_timeout(&self, what: &str) {
        assert_eq!(self.status, 408, "{what}: {self:?}");
        assert_eq!(self.kind(), "bad_request", "{what}");
        assert_eq!(self.header("connection"), Some("close"), "{what}");
        assert_eq!(self.header("content-type"), Some("application/json"));
    }
}

/// Reads until the server closes the connection (within [`PATIENCE`]).
async fn read_all(stream: &mut TcpStream, what: &str) -> Vec<u8> {
    let mut raw = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw)).await;
    match read {
        Ok(_) => raw,
        Err(_) => panic!(
            "{what}: the server neither answered nor closed the connection within {PATIENCE:?}; got {:?}",
            String::from_utf8_lossy(&raw)
        ),
    }
}

/// Sends `head` (and `body`), then stalls; returns the answer read until
/// the server closed the connection.
async fn stall(addr: SocketAddr, head: &str, body: &[u8], what: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    Reply::parse(&read_all(&mut stream, what).await)
}

type Header<'a> = (&'a str, &'a str);

fn head(method: &str, path: &str, headers: &[Header]) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// One complete request with `Connection: close`; the answer.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let length = body.len().to_string();
    let mut all = vec![("Connection", "close"), ("Content-Length", length.as_str())];
    all.extend_from_slice(headers);
    stall(addr, &head(method, path, &all), body.as_bytes(), method).await
}

async fn login(addr: SocketAddr, user: &str) -> Reply {
    request(
        addr,
        "POST",
        "/api/auth/login",
        &[("Content-Type", "application/json")],
        &login_body(user),
    )
    .await
}

#[test]
fn the_default_body_deadline_is_ten_seconds_and_the_cap_ten_thousand() {
    let options = ServeOptions::default();
    assert_eq!(options.body_timeout, Duration::from_secs(10));
    assert_eq!(options.header_timeout, Duration::from_secs(10));
    assert_eq!(options.idle_timeout, Duration::from_secs(60));
    assert_eq!(options.max_connections, 10_000);
    assert_eq!(options.max_connections(0).max_connections, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_misses_its_deadline_is_answered_408_on_every_route() {
    let server = start("deadline", short_bounds()).await;
    let addr = server.addr;
    let json = ("Content-Type", "application/json");
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let admin = ("Authorization", admin.as_str());

    // Content-Length and no body at all.
    let reply = stall(
        addr,
        &head(
            "POST",
            "/api/auth/login",
            &[json, ("Content-Length", "200")],
        ),
        b"",
        "JSON login, no body",
    )
    .await;
    reply.assert_body_timeout("JSON login, no body");

    // Part of the body, then nothing.
    let reply = stall(
        addr,
        &head(
            "POST",
            "/api/auth/login",
            &[json, ("Content-Length", "200")],
        ),
        br#"{"loginMode":67108864,"pass"#,
        "JSON login, half a body",
    )
    .await;
    reply.assert_body_timeout("JSON login, half a body");

    // An unfinished chunked body.
    let reply = stall(
        addr,
        &head(
            "POST",
            "/api/auth/login",
            &[json, ("Transfer-Encoding", "chunked")],
        ),
        b"b\r\n{\"loginMode\r\n",
        "JSON login, chunked",
    )
    .await;
    reply.assert_body_timeout("JSON login, chunked");

    // The form login.
    let reply = stall(
        addr,
        &head("POST", "/login", &[form, ("Content-Length", "300")]),
        b"token=eyJ",
        "form login",
    )
    .await;
    reply.assert_body_timeout("form login");

    // The admin API, for an authorized caller (an unauthorized one is not
    // waited for at all: see the next test).
    for (method, path) in [
        ("POST", "/api/admin/configs"),
        ("PUT", "/api/admin/configs/ERP"),
        ("POST", "/api/admin/configs/ERP/test"),
    ] {
        let reply = stall(
            addr,
            &head(
                method,
                path,
                &[
                    json,
                    admin,
                    ("If-Match", "\"x\""),
                    ("Content-Length", "500"),
                ],
            ),
            b"{\"name\":",
            path,
        )
        .await;
        reply.assert_body_timeout(&format!("{method} {path}"));
    }

    // A trickle: one byte every 400 ms keeps each wait under the 1 s bound,
    // but the body as a whole is late (a per-read timer would never fire).
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            head(
                "POST",
                "/api/auth/login",
                &[json, ("Content-Length", "200")],
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut raw = Vec::new();
    let (mut reader, mut writer) = stream.split();
    let write = async {
        for byte in br#"{"loginMode":67108864,"password":""#.iter().cycle().take(40) {
            if writer.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    };
    let read = tokio::time::timeout(PATIENCE, reader.read_to_end(&mut raw));
    let (_, read) = tokio::join!(write, read);
    assert!(read.is_ok(), "the trickle was answered and closed");
    Reply::parse(&raw).assert_body_timeout("a trickle");

    // A body that arrives in time, in two parts, is served as usual.
    let body = login_body("in-time");
    let (first, second) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let length = body.len().to_string();
    stream
        .write_all(
            head(
                "POST",
                "/api/auth/login",
                &[json, ("Connection", "close"), ("Content-Length", &length)],
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    stream.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(second.as_bytes()).await.unwrap();
    let reply = Reply::parse(&read_all(&mut stream, "in time").await);
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_refuses_without_a_credential_before_reading_the_body() {
    // A long body deadline: an answer within PATIENCE can only come from the
    // headers.
    let server = start(
        "admin-unread",
        ServeOptions::default().body_timeout(Duration::from_secs(120)),
    )
    .await;
    let addr = server.addr;
    let json = ("Content-Type", "application/json");
    let three_mb = ("Content-Length", "3000000");
    let wrong = ("Authorization", "Bearer not-the-admin-token");
    let cases: [(&str, &str, Vec<Header>); 6] = [
        ("POST", "/api/admin/configs", vec![json, three_mb]),
        ("POST", "/api/admin/configs", vec![json, three_mb, wrong]),
        (
            "POST",
            "/api/admin/configs",
            vec![json, ("Transfer-Encoding", "chunked")],
        ),
        (
            "POST",
            "/api/admin/configs/ERP/test",
            vec![json, three_mb, ("X-Auth-Token", "no-such-session")],
        ),
        (
            "PUT",
            "/api/admin/configs/ERP",
            vec![json, three_mb, ("If-Match", "\"x\"")],
        ),
        ("PATCH", "/api/admin/configs/ERP", vec![json, three_mb]),
    ];
    for (method, path, headers) in cases {
        // Not a byte of the body is sent: the answer comes from the headers.
        let what = format!("{method} {path} {headers:?}");
        let reply = stall(addr, &head(method, path, &headers), b"", &what).await;
        assert_eq!(reply.status, 401, "{what}: {reply:?}");
        assert_eq!(reply.kind(), "unauthorized", "{what}");
        assert_eq!(reply.header("www-authenticate"), Some("Bearer"), "{what}");
    }
    // `Expect: 100-continue`: refused without inviting the body.
    let reply = stall(
        addr,
        &head(
            "POST",
            "/api/admin/configs",
            &[json, three_mb, ("Expect", "100-continue")],
        ),
        b"",
        "100-continue",
    )
    .await;
    assert_eq!(
        reply.status_lines,
        ["HTTP/1.1 401 Unauthorized"],
        "{reply:?}"
    );

    // The first 16 KiB of a 3 MB upload were sent: still 401 at once, and
    // the connection is closed rather than kept reading.
    let reply = stall(
        addr,
        &head("POST", "/api/admin/configs", &[json, three_mb]),
        &[b'x'; 16 * 1024],
        "a started upload",
    )
    .await;
    assert_eq!(reply.status, 401, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_takes_at_most_64_kib_from_an_authorized_caller() {
    let server = start(
        "admin-413",
        ServeOptions::default().body_timeout(Duration::from_secs(120)),
    )
    .await;
    let addr = server.addr;
    let json = ("Content-Type", "application/json");
    let admin = format!("Bearer {ADMIN_TOKEN}");
    let admin = ("Authorization", admin.as_str());
    let over = (64 * 1024 + 1024).to_string();

    // A declared 65 KiB: 413 before the body is sent.
    for (method, path) in [
        ("POST", "/api/admin/configs"),
        ("PUT", "/api/admin/configs/ERP"),
        ("POST", "/api/admin/configs/ERP/test"),
    ] {
        let headers = [
            json,
            admin,
            ("If-Match", "\"x\""),
            ("Content-Length", over.as_str()),
        ];
        let reply = stall(addr, &head(method, path, &headers), b"", path).await;
        assert_eq!(reply.status, 413, "{method} {path}: {reply:?}");
        assert_eq!(reply.kind(), "bad_request");
        assert_eq!(reply.header("connection"), Some("close"));
    }
    // With `Expect: 100-continue`: no `100`.
    let headers = [
        json,
        admin,
        ("Expect", "100-continue"),
        ("Content-Length", over.as_str()),
    ];
    let reply = stall(
        addr,
        &head("POST", "/api/admin/configs", &headers),
        b"",
        "expect",
    )
    .await;
    assert_eq!(reply.status_lines, ["HTTP/1.1 413 Payload Too Large"]);

    // A 65 KiB chunked body (no length declared): 413 once 64 KiB are passed.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let headers = [json, admin, ("Transfer-Encoding", "chunked")];
    stream
        .write_all(head("POST", "/api/admin/configs", &headers).as_bytes())
        .await
        .unwrap();
    let chunk = [b' '; 1024];
    for _ in 0..65 {
        if stream.write_all(b"400\r\n").await.is_err()
            || stream.write_all(&chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let reply = Reply::parse(&read_all(&mut stream, "chunked 65 KiB").await);
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(reply.kind(), "bad_request");

    // A configuration with 60 KiB in an unknown member is read: refused for
    // what it holds (`config`), not for its size.
    let mut config = configs()[0].clone();
    config["name"] = json!("Padded");
    config["description"] = json!("x".repeat(60 * 1024));
    let reply = request(
        addr,
        "POST",
        "/api/admin/configs",
        &[json, admin],
        &config.to_string(),
    )
    .await;
    assert_eq!(
        (reply.status, reply.kind().as_str()),
        (400, "config"),
        "{reply:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_at_once() {
    // Silent connections would be held for 120 s: only the cap closes one sooner.
    let options = ServeOptions::default()
        .max_connections(8)
        .header_timeout(Duration::from_secs(120));
    let server = start("cap", options).await;
    let addr = server.addr;
    let reply = login(addr, "before").await;
    assert_eq!(reply.status, 200, "{reply:?}");

    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // The 9th is accepted and closed without an answer.
    let mut ninth = TcpStream::connect(addr).await.unwrap();
    let _ = ninth
        .write_all(head("GET", "/api/session", &[]).as_bytes())
        .await;
    let mut raw = Vec::new();
    let read = tokio::time::timeout(PATIENCE, ninth.read_to_end(&mut raw))
        .await
        .expect("the 9th connection is closed at once, not held");
    assert!(
        raw.is_empty(),
        "{:?} {read:?}",
        String::from_utf8_lossy(&raw)
    );
    // The held ones are still open: each still serves a request.
    let mut first = held.remove(0);
    first
        .write_all(head("GET", "/api/session", &[("Connection", "close")]).as_bytes())
        .await
        .unwrap();
    let reply = Reply::parse(&read_all(&mut first, "a held connection").await);
    assert_eq!(reply.status, 401);
    drop(first);

    // With one released, a login gets in (the server may take a moment to
    // see the slot free).
    let started = std::time::Instant::now();
    let reply = loop {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let body = login_body("after");
        let length = body.len().to_string();
        let headers = [
            ("Content-Type", "application/json"),
            ("Connection", "close"),
            ("Content-Length", length.as_str()),
        ];
        let _ = stream
            .write_all(format!("{}{body}", head("POST", "/api/auth/login", &headers)).as_bytes())
            .await;
        let mut raw = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw)).await;
        if !raw.is_empty() {
            break Reply::parse(&raw);
        }
        assert!(started.elapsed() < PATIENCE, "no slot came free");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(reply.status, 200, "{reply:?}");
    drop(held);
}
