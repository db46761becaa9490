//! What one client can hold of a server (CONTRACT section 6), over real
//! HTTP/1.1 on loopback: `login_server`'s router served by
//! `jwt_sso::axum::serve` with short bounds (1 s), a SQLite file in a
//! temporary directory ([`Served`]), and raw bytes ([`wire`]) for clients
//! that stall on purpose. The bounds are shortened so that no test here
//! waits 10 s; the defaults are asserted as values, and waited out once
//! against the `login_server` process (e2e `login_server_limits`).
#![cfg(all(feature = "axum", feature = "sqlite", feature = "remote"))]

use crate::support::fixtures::{TempDir, now, sign};
use crate::support::served::{self, ERP, SECRET_ERP, Served, Setup};
use crate::support::wire::{self, PATIENCE, Raw, head, stall};

use std::time::Duration;

use jwt_sso::axum::ServeOptions;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADMIN_TOKEN: &str = "serve-bounds-admin-token-0123456789";
/// The administrator's credential: `Bearer` [`ADMIN_TOKEN`].
const ADMIN: Header = (
    "Authorization",
    "Bearer serve-bounds-admin-token-0123456789",
);
const JSON: Header = ("Content-Type", "application/json");
/// A body deadline no test waits out: an answer within [`PATIENCE`] can
/// only come from the headers.
const LONG: Duration = Duration::from_secs(120);
/// The body deadline these servers use.
const BODY_TIMEOUT: Duration = Duration::from_secs(1);

fn configs() -> Value {
    json!([{
        "name": "ERP", "token_name": "token", "issuer": ERP,
        "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ERP},
        "expiration_time": 3600, "claims": {"user_id": "sub"},
        "user_type": "reader", "initial_roles": ["Viewer"]
    }])
}

fn erp_token(user: &str) -> String {
    sign(
        SECRET_ERP,
        json!({"iss": ERP, "sub": user, "iat": now(), "exp": now() + 3600}),
    )
}

fn login_body(user: &str) -> String {
    crate::support::http::login_body(&erp_token(user))
}

/// A server with the admin token [`ADMIN_TOKEN`] and `options`; the
/// directory lives as long as the server.
async fn start(name: &str, options: ServeOptions) -> (TempDir, Served) {
    let dir = served::dir(&format!("serve-bounds-{name}"), &configs());
    let setup = Setup {
        admin_token: Some(ADMIN_TOKEN),
        options,
        ..Setup::default()
    };
    let server = Served::start_with(&dir, setup).await;
    (dir, server)
}

type Header<'a> = (&'a str, &'a str);

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
    let (_dir, server) = start(
        "deadline",
        ServeOptions::default().body_timeout(BODY_TIMEOUT),
    )
    .await;
    let addr = server.addr;
    let form = ("Content-Type", "application/x-www-form-urlencoded");
    let admin = [
        JSON,
        ADMIN,
        ("If-Match", "\"x\""),
        ("Content-Length", "500"),
    ];
    let (login, promise) = ("POST /api/auth/login", ("Content-Length", "200"));
    let chunked = ("Transfer-Encoding", "chunked");

    // One row per stalled request: its request line and head, the part of
    // the body that is sent, and then nothing. The admin API's rows are an
    // authorized caller's (an unauthorized one is not waited for at all:
    // see the next test).
    let rows: [(&str, &str, &[Header], &[u8]); 7] = [
        ("JSON login, no body", login, &[JSON, promise], b""),
        (
            "JSON login, half a body",
            login,
            &[JSON, promise],
            br#"{"loginMode":67108864,"pass"#,
        ),
        (
            "JSON login, chunked",
            login,
            &[JSON, chunked],
            b"b\r\n{\"loginMode\r\n",
        ),
        (
            "form login",
            "POST /login",
            &[form, ("Content-Length", "300")],
            b"token=eyJ",
        ),
        (
            "admin create",
            "POST /api/admin/configs",
            &admin,
            b"{\"name\":",
        ),
        (
            "admin replace",
            "PUT /api/admin/configs/ERP",
            &admin,
            b"{\"name\":",
        ),
        (
            "admin test",
            "POST /api/admin/configs/ERP/test",
            &admin,
            b"{\"name\":",
        ),
    ];
    for (what, line, headers, body) in rows {
        let (method, path) = line.split_once(' ').expect("METHOD PATH");
        let reply = stall(addr, &head(method, path, headers), body, what).await;
        reply.assert_body_timeout(&format!("{what}: {line}"));
    }

    // A trickle: one byte every 400 ms keeps each wait under the 1 s bound,
    // but the body as a whole is late (a per-read timer would never fire).
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            head(
                "POST",
                "/api/auth/login",
                &[JSON, ("Content-Length", "200")],
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
    if read.is_err() {
        panic!("the trickle was neither answered nor closed within {PATIENCE:?}");
    }
    Raw::parse(&raw).assert_body_timeout("a trickle");

    // A body that arrives in time, in two parts, is served as usual.
    let body = login_body("in-time");
    let (first, second) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let length = body.len().to_string();
    let headers = [JSON, ("Connection", "close"), ("Content-Length", &length)];
    stream
        .write_all(head("POST", "/api/auth/login", &headers).as_bytes())
        .await
        .unwrap();
    stream.write_all(first.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(second.as_bytes()).await.unwrap();
    let reply = Raw::parse(&wire::read_all(&mut stream, "in time").await);
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_refuses_without_a_credential_before_reading_the_body() {
    let (_dir, server) = start("admin-unread", ServeOptions::default().body_timeout(LONG)).await;
    let addr = server.addr;
    let three_mb = ("Content-Length", "3000000");
    let wrong = ("Authorization", "Bearer not-the-admin-token");
    let cases: [(&str, &str, Vec<Header>); 6] = [
        ("POST", "/api/admin/configs", vec![JSON, three_mb]),
        ("POST", "/api/admin/configs", vec![JSON, three_mb, wrong]),
        (
            "POST",
            "/api/admin/configs",
            vec![JSON, ("Transfer-Encoding", "chunked")],
        ),
        (
            "POST",
            "/api/admin/configs/ERP/test",
            vec![JSON, three_mb, ("X-Auth-Token", "no-such-session")],
        ),
        (
            "PUT",
            "/api/admin/configs/ERP",
            vec![JSON, three_mb, ("If-Match", "\"x\"")],
        ),
        ("PATCH", "/api/admin/configs/ERP", vec![JSON, three_mb]),
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
            &[JSON, three_mb, ("Expect", "100-continue")],
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
        &head("POST", "/api/admin/configs", &[JSON, three_mb]),
        &[b'x'; 16 * 1024],
        "a started upload",
    )
    .await;
    assert_eq!(reply.status, 401, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_takes_at_most_64_kib_from_an_authorized_caller() {
    let (_dir, server) = start("admin-413", ServeOptions::default().body_timeout(LONG)).await;
    let addr = server.addr;
    let over = (64 * 1024 + 1024).to_string();

    // A declared 65 KiB: 413 before the body is sent.
    for (method, path) in [
        ("POST", "/api/admin/configs"),
        ("PUT", "/api/admin/configs/ERP"),
        ("POST", "/api/admin/configs/ERP/test"),
    ] {
        let headers = [
            JSON,
            ADMIN,
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
        JSON,
        ADMIN,
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
    let headers = [JSON, ADMIN, ("Transfer-Encoding", "chunked")];
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
    let reply = Raw::parse(&wire::read_all(&mut stream, "chunked 65 KiB").await);
    assert_eq!(reply.status, 413, "{reply:?}");
    assert_eq!(reply.kind(), "bad_request");

    // A configuration with 60 KiB in an unknown member is read: refused for
    // what it holds (`config`), not for its size.
    let mut config = configs()[0].clone();
    config["name"] = json!("Padded");
    config["description"] = json!("x".repeat(60 * 1024));
    let reply = server
        .admin(
            "POST",
            "/api/admin/configs",
            ADMIN_TOKEN,
            None,
            Some(&config),
        )
        .await;
    reply.assert_error(400, "config", "60 KiB in an unknown member");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_at_once() {
    // Silent connections would be held for 120 s: only the cap closes one sooner.
    let options = ServeOptions::default()
        .max_connections(8)
        .header_timeout(LONG);
    let (_dir, server) = start("cap", options).await;
    let addr = server.addr;
    let reply = server.login(&erp_token("before")).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let mut held = Vec::new();
    for _ in 0..8 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // The 9th is accepted and closed without an answer.
    let mut ninth = TcpStream::connect(addr).await.unwrap();
    let _ = ninth
        .write_all(head("GET", "/api/session", &[]).as_bytes())
        .await;
    let raw = wire::read_all(&mut ninth, "the 9th connection is closed at once, not held").await;
    assert!(
        raw.is_empty(),
        "the 9th connection is closed without an answer: {:?}",
        String::from_utf8_lossy(&raw)
    );
    // The held ones are still open: each still serves a request.
    let mut first = held.remove(0);
    first
        .write_all(head("GET", "/api/session", &[("Connection", "close")]).as_bytes())
        .await
        .unwrap();
    let reply = Raw::parse(&wire::read_all(&mut first, "a held connection").await);
    assert_eq!(reply.status, 401, "{reply:?}");
    drop(first);

    // With one released, a login gets in (the server may take a moment to
    // see the slot free: a connection it closes unanswered is tried again).
    let started = std::time::Instant::now();
    let reply = loop {
        let sent = server
            .request("POST", "/api/auth/login")
            .header("Content-Type", "application/json")
            .body(login_body("after"))
            .send()
            .await;
        match sent {
            Ok(response) => break crate::support::http::Reply::of(response).await,
            Err(e) => assert!(started.elapsed() < PATIENCE, "no slot came free: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(reply.status, 200, "{}", reply.text);
    drop(held);
}
