//! `login_server` as a child process under attack (CONTRACT section 6): a
//! flood of stalled request bodies with the process's file descriptor limit
//! set low (`ulimit -n` in a tiny shell wrapper that then `exec`s the
//! server), and a flood of unauthenticated uploads to the admin API with the
//! server's peak memory read from `/proc`; and the one test of the suite
//! that waits out the real 10 s header and body timeouts. Raw HTTP/1.1 on
//! loopback (`support::wire`: these clients stall on purpose), a SQLite file
//! in a temporary directory.

#![cfg(all(target_os = "linux", feature = "axum", feature = "sqlite"))]

use crate::support::fixtures::{TempDir, now, sign};
use crate::support::process;
use crate::support::wire;

use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const SECRET_ERP: &str = "limits-erp-secret-0123456789abcdefgh";
const ERP: &str = "https://erp.example.com";
const ADMIN_TOKEN: &str = "limits-admin-token-0123456789abcdef";
/// `--body-timeout 1`: the body deadline of the flood tests' servers.
const SHORT_BODY_TIMEOUT: [&str; 2] = ["--body-timeout", "1"];

/// A complete JSON login of `user`, as bytes for the wire.
fn login_request(user: &str) -> Vec<u8> {
    let token = sign(
        SECRET_ERP,
        json!({"iss": ERP, "sub": user, "iat": now(), "exp": now() + 3600}),
    );
    let body = json!({"loginMode": 67108864, "password": token}).to_string();
    let length = body.len().to_string();
    let headers = [
        ("Connection", "close"),
        ("Content-Type", "application/json"),
        ("Content-Length", length.as_str()),
    ];
    (wire::head("POST", "/api/auth/login", &headers) + &body).into_bytes()
}

/// One `login_server` process in its own temporary directory; killed on drop
/// (before the directory goes: fields drop in order).
struct Instance {
    process: process::Instance,
    addr: SocketAddr,
    _dir: TempDir,
}

impl Instance {
    /// Started with `args`, through `sh -c 'ulimit -n N && exec …'` when
    /// `fd_limit` is given.
    fn start(name: &str, fd_limit: Option<u32>, args: &[&str]) -> Instance {
        let dir = TempDir::new(&format!("limits-{name}"));
        let configs = json!([{
            "name": "ERP", "token_name": "token", "issuer": ERP,
            "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ERP},
            "expiration_time": 3600, "claims": {"user_id": "sub"}
        }]);
        std::fs::write(dir.join("configs.json"), configs.to_string()).unwrap();
        let program = match fd_limit {
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(process::binary());
                sh
            }
            None => Command::new(process::binary()),
        };
        // Every stalled body below is a refused login from 127.0.0.1, as is
        // the good login after them: the failed-login throttle would answer
        // it 429, and it is not what this test is about.
        let args = [args, &["--max-failed-logins", "0"]].concat();
        let db = dir.join("users.sqlite");
        let config = dir.join("configs.json");
        let command =
            process::arguments(program, &config, &db.to_string_lossy(), ADMIN_TOKEN, &args);
        let process = process::Instance::spawn(command, dir.join("server.log"));
        Instance {
            addr: process.addr(),
            process,
            _dir: dir,
        }
    }

    /// A field of `/proc/<pid>/status` in KiB (e.g. `VmHWM`, the peak RSS).
    fn status_kib(&self, field: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.process.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{field}:")))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }

    /// One request on its own connection; the status code (the process's
    /// log is printed when this panics).
    async fn status_of(&self, request: &[u8], what: &str) -> u16 {
        wire::Raw::parse(&wire::exchange(self.addr, request, what).await).status
    }
}

/// The real 10 s bounds, waited out once in the whole suite (the host tier
/// shortens them through `ServeOptions` and asserts the defaults as values):
/// `login_server` started without `--body-timeout` closes a silent
/// connection and a half-sent request line after its header timeout, and
/// answers a body that never comes `408` after its body timeout, not
/// before; a keep-alive connection idle between requests stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ten_second_defaults_close_silent_half_sent_and_stalled_connections() {
    let server = Instance::start("defaults", None, &[]);
    let held = wire::Held::open(server.addr).await;
    // The defaults are 10 s; a second of slack for the timers' start.
    held.assert_closed_after(Duration::from_secs(9)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_under_a_low_fd_limit_do_not_block_a_login() {
    let server = Instance::start("fd", Some(64), &SHORT_BODY_TIMEOUT);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", server.process.id())).unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().nth(3),
        Some("64"),
        "{open_files}"
    );
    assert_eq!(
        server
            .status_of(&login_request("before"), "a login before")
            .await,
        200
    );

    // Three times the descriptors the server has: every one sends complete
    // headers promising a body, and then nothing.
    let json = ("Content-Type", "application/json");
    let stalled_head = wire::head(
        "POST",
        "/api/auth/login",
        &[json, ("Content-Length", "200")],
    );
    let mut stalled = Vec::new();
    for _ in 0..192 {
        let mut stream = TcpStream::connect(server.addr)
            .await
            .unwrap_or_else(|e| panic!("connecting: {e}"));
        stream.write_all(stalled_head.as_bytes()).await.unwrap();
        stalled.push(stream);
    }
    // A good login behind them gets through while they are all still held
    // by the client: each round the server can hold is answered after the
    // body deadline (1 s), freeing its descriptors.
    assert_eq!(
        server
            .status_of(&login_request("after"), "a login after")
            .await,
        200
    );
    let log = server.process.log();
    assert!(
        log.contains("accept failed"),
        "the server ran out of descriptors (else this test shows nothing): {log}"
    );
    // The first stalled request was answered 408 and its connection closed.
    let raw = wire::read_all(&mut stalled[0], "the first stalled request").await;
    wire::Raw::parse(&raw).assert_body_timeout("the first stalled request");
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_uploads_to_the_admin_api_do_not_grow_the_servers_memory() {
    let server = Instance::start("rss", None, &SHORT_BODY_TIMEOUT);
    assert_eq!(
        server
            .status_of(&login_request("before"), "a login before")
            .await,
        200
    );
    let peak_before = server.status_kib("VmHWM");

    // 150 uploads that declare 3 MB, send 2 MiB - 1 bytes (just under axum's
    // default limit), and stall: all held open at once.
    let addr = server.addr;
    let uploads: Vec<_> = (0..150)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let json = ("Content-Type", "application/json");
                let head = wire::head(
                    "POST",
                    "/api/admin/configs",
                    &[json, ("Content-Length", "3000000")],
                );
                stream.write_all(head.as_bytes()).await.unwrap();
                let body = vec![b' '; 2 * 1024 * 1024 - 1];
                // A refused upload fails to write (the server closed); a
                // read one is written in full.
                let _ =
                    tokio::time::timeout(Duration::from_secs(10), stream.write_all(&body)).await;
                stream
            })
        })
        .collect();
    let mut held = Vec::new();
    for upload in uploads {
        held.push(upload.await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let peak_after = server.status_kib("VmHWM");
    let grown_mib = peak_after.saturating_sub(peak_before) / 1024;
    eprintln!(
        "peak RSS before {} MiB, after 150 uploads {} MiB",
        peak_before / 1024,
        peak_after / 1024
    );
    // Read, they would take 150 × 2 MiB = 300 MiB.
    assert!(
        grown_mib < 48,
        "the server's peak memory grew by {grown_mib} MiB over 150 unauthenticated uploads"
    );
    // Each was answered 401 (from the headers) and closed.
    let mut first = held.swap_remove(0);
    let raw = wire::read_all(&mut first, "an upload").await;
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 401 "),
        "{text}"
    );
    // And the server still serves.
    assert_eq!(
        server
            .status_of(&login_request("after"), "a login after")
            .await,
        200
    );
}
