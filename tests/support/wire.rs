//! Raw HTTP/1.1 over a `TcpStream`, for the tests that must control the
//! bytes on the wire: bodies that stall, trickle or never come, a declared
//! length the client never sends, `Expect: 100-continue` and its interim
//! answer, connections held silent or idle, descriptor and connection caps.
//! Everything else talks through [`super::http`] (reqwest).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for an answer that should come at once or after a
/// short (1 s) bound: generous on a loaded machine, and far below the
/// bounds that would answer otherwise (none, or 120 s).
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A request head: `METHOD PATH HTTP/1.1`, `Host: x`, `headers` in order,
/// and the empty line.
pub fn head(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Reads until the server closes the connection; panics (naming `what` and
/// what came) when it neither answers nor closes within [`PATIENCE`]. A
/// reset after the answer counts as a close.
pub async fn read_all(stream: &mut TcpStream, what: &str) -> Vec<u8> {
    let mut raw = Vec::new();
    match tokio::time::timeout(PATIENCE, stream.read_to_end(&mut raw)).await {
        Ok(_) => raw,
        Err(_) => panic!(
            "{what}: the server neither answered nor closed the connection within {PATIENCE:?}; got {:?}",
            String::from_utf8_lossy(&raw)
        ),
    }
}

/// Reads one answer on a connection that stays open (keep-alive): its head,
/// then as many body bytes as its `Content-Length` says; within
/// [`PATIENCE`].
pub async fn read_answer(stream: &mut TcpStream, what: &str) -> Raw {
    let read = async {
        let mut raw = Vec::new();
        let mut byte = [0u8; 1];
        while !raw.ends_with(b"\r\n\r\n") {
            let n = stream.read(&mut byte).await.expect("reading an answer");
            assert_eq!(
                n,
                1,
                "{what}: closed inside the head: {:?}",
                String::from_utf8_lossy(&raw)
            );
            raw.push(byte[0]);
        }
        let head = Raw::parse(&raw);
        let length: usize = head
            .header("content-length")
            .map_or(0, |l| l.parse().expect("a Content-Length"));
        let mut body = vec![0u8; length];
        stream.read_exact(&mut body).await.expect("the body");
        raw.extend_from_slice(&body);
        Raw::parse(&raw)
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {PATIENCE:?}"))
}

/// Connects, writes `bytes` as they are, and reads until the server closes
/// the connection (see [`read_all`]).
pub async fn exchange(addr: SocketAddr, bytes: &[u8], what: &str) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr)
        .await
        .unwrap_or_else(|e| panic!("{what}: connecting to {addr}: {e}"));
    // A server that answers early may close before all of it is written.
    let _ = stream.write_all(bytes).await;
    read_all(&mut stream, what).await
}

/// Sends `head` and `body`, then stalls; the answer, read until the server
/// closed the connection.
pub async fn stall(addr: SocketAddr, head: &str, body: &[u8], what: &str) -> Raw {
    let mut bytes = head.as_bytes().to_vec();
    bytes.extend_from_slice(body);
    Raw::parse(&exchange(addr, &bytes, what).await)
}

/// An answer as it came over the wire.
#[derive(Debug)]
pub struct Raw {
    /// Every status line, interim (`100 Continue`) ones included.
    pub status_lines: Vec<String>,
    /// The final status.
    pub status: u16,
    /// Names in lower case, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Raw {
    /// Parses one complete answer (after any interim `100 Continue`).
    pub fn parse(raw: &[u8]) -> Raw {
        let mut text = String::from_utf8_lossy(raw).into_owned();
        let mut status_lines = Vec::new();
        loop {
            let (head, body) = text
                .split_once("\r\n\r\n")
                .unwrap_or_else(|| panic!("no complete answer: {text:?}"));
            let mut lines = head.split("\r\n");
            let status_line = lines.next().unwrap_or_default().to_owned();
            let status: u16 = status_line
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("not a status line: {status_line:?}"));
            status_lines.push(status_line);
            if status == 100 {
                text = body.to_owned();
                continue;
            }
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            return Raw {
                status_lines,
                status,
                headers,
                body: body.to_owned(),
            };
        }
    }

    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON; panics with the body when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    /// The error kind of a JSON error body (`{"error": {"kind": …}}`), or "".
    pub fn kind(&self) -> String {
        self.json()["error"]["kind"]
            .as_str()
            .unwrap_or("")
            .to_owned()
    }

    /// `408`, the JSON error of kind `bad_request`, `Connection: close`
    /// (CONTRACT section 6: a body that misses its deadline).
    pub fn assert_body_timeout(&self, what: &str) {
        assert_eq!(self.status, 408, "{what}: {self:?}");
        assert_eq!(self.kind(), "bad_request", "{what}");
        assert_eq!(self.header("connection"), Some("close"), "{what}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{what}"
        );
    }
}

/// Connections that hold a `login_server` without finishing a request: a
/// silent one, one that sent half a request line, one whose body never
/// comes (headers that promise 200 bytes), and a keep-alive connection
/// idle after one answered request (`GET /api/session`: `401`).
pub struct Held {
    opened: std::time::Instant,
    silent: TcpStream,
    half: TcpStream,
    stalled: TcpStream,
    idle: TcpStream,
}

impl Held {
    pub async fn open(addr: SocketAddr) -> Held {
        let opened = std::time::Instant::now();
        let connect = async || TcpStream::connect(addr).await.expect("connecting");
        let silent = connect().await;
        let mut half = connect().await;
        half.write_all(b"GET /api/sess").await.unwrap();
        let mut stalled = connect().await;
        let json = ("Content-Type", "application/json");
        let promise = head(
            "POST",
            "/api/auth/login",
            &[json, ("Content-Length", "200")],
        );
        stalled.write_all(promise.as_bytes()).await.unwrap();
        let mut idle = connect().await;
        idle.write_all(head("GET", "/api/session", &[]).as_bytes())
            .await
            .unwrap();
        let first = read_answer(&mut idle, "a keep-alive request").await;
        assert_eq!(first.status, 401, "a keep-alive request: {first:?}");
        Held {
            opened,
            silent,
            half,
            stalled,
            idle,
        }
    }

    /// The silent and the half-sent connection are closed (unanswered, or
    /// `408`) and the stalled body is answered `408` (see
    /// [`Raw::assert_body_timeout`]), each no sooner than `at_least` after
    /// they were opened (the header and body timeouts); the idle connection
    /// then still serves a request (its bound is the idle timeout).
    pub async fn assert_closed_after(mut self, at_least: Duration) {
        for (what, stream) in [
            ("silent", &mut self.silent),
            ("half a request line", &mut self.half),
            ("a body that never comes", &mut self.stalled),
        ] {
            let raw = read_all(stream, what).await;
            let elapsed = self.opened.elapsed();
            assert!(
                elapsed >= at_least,
                "{what}: closed after {elapsed:?}, before the timeout ({at_least:?})"
            );
            let text = String::from_utf8_lossy(&raw);
            if what == "a body that never comes" {
                Raw::parse(&raw).assert_body_timeout(what);
            } else {
                assert!(
                    text.is_empty() || text.starts_with("HTTP/1.1 408 "),
                    "{what}: closed unanswered or with 408, got {text:?}"
                );
            }
        }
        let request = head("GET", "/api/session", &[]);
        self.idle.write_all(request.as_bytes()).await.unwrap();
        let again = read_answer(&mut self.idle, "keep-alive after the timeouts").await;
        assert_eq!(
            again.status, 401,
            "keep-alive after the timeouts: {again:?}"
        );
    }
}
