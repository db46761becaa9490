//! A real HTTP/1.1 server on 127.0.0.1 (an ephemeral port) for the remote-key
//! tests: it serves canned replies per path, can delay or stream them, and
//! counts every connection and request, so tests assert how many requests
//! reached the provider. One thread per connection; `Connection: close`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the server answers on one path.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Wait this long before answering.
    pub delay: Duration,
    /// Send the body with chunked transfer encoding (no Content-Length).
    pub chunked: bool,
}

impl Reply {
    pub fn json(body: impl Into<String>) -> Self {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.into().into_bytes(),
            delay: Duration::ZERO,
            chunked: false,
        }
    }

    pub fn status(status: u16, body: &str) -> Self {
        Reply {
            status,
            ..Reply::json(body)
        }
    }

    pub fn redirect(location: &str) -> Self {
        Reply::status(302, "").header("Location", location)
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn max_age(self, seconds: u64) -> Self {
        self.header("Cache-Control", &format!("public, max-age={seconds}"))
    }

    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    pub fn chunked(mut self) -> Self {
        self.chunked = true;
        self
    }
}

#[derive(Default)]
struct Shared {
    routes: Mutex<HashMap<String, Reply>>,
    hits: Mutex<HashMap<String, usize>>,
    connections: AtomicUsize,
}

/// A running server; it lives until the test process ends.
#[derive(Clone)]
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared::default());
        let server = Server {
            addr,
            shared: shared.clone(),
        };
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &shared);
                });
            }
        });
        server
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn set(&self, path: &str, reply: Reply) {
        self.shared
            .routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), reply);
    }

    /// Requests received for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.shared
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received on any path.
    pub fn total(&self) -> usize {
        self.shared.hits.lock().unwrap().values().sum()
    }

    /// TCP connections accepted.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
    }
    let path = request_line
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_owned();
    *shared.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let reply = shared
        .routes
        .lock()
        .unwrap()
        .get(&path)
        .cloned()
        .unwrap_or_else(|| Reply::status(404, "not found"));
    std::thread::sleep(reply.delay);
    let mut out = stream;
    let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if reply.chunked {
        head.push_str("Transfer-Encoding: chunked\r\n\r\n");
        out.write_all(head.as_bytes())?;
        for chunk in reply.body.chunks(16 * 1024) {
            out.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
            out.write_all(chunk)?;
            out.write_all(b"\r\n")?;
        }
        out.write_all(b"0\r\n\r\n")?;
    } else {
        head.push_str(&format!("Content-Length: {}\r\n\r\n", reply.body.len()));
        out.write_all(head.as_bytes())?;
        out.write_all(&reply.body)?;
    }
    out.flush()
}
