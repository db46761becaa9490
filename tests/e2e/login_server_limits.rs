//! `login_server` as a child process under attack (CONTRACT section 6): a
//! flood of stalled request bodies with the process's file descriptor limit
//! set low (`ulimit -n` in a tiny shell wrapper that then `exec`s the
//! server), and a flood of unauthenticated uploads to the admin API with the
//! server's peak memory read from `/proc`. Real HTTP/1.1 on loopback, a
//! SQLite file in a temporary directory.

#![cfg(all(target_os = "linux", feature = "axum", feature = "sqlite"))]

use crate::support::fixtures::now;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use jwt_sso::Algorithm;
use jwt_sso::mint::SigningKey;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SECRET_ERP: &str = "limits-erp-secret-0123456789abcdefgh";
const ERP: &str = "https://erp.example.com";
const ADMIN_TOKEN: &str = "limits-admin-token-0123456789abcdef";
/// Generous: the body deadline of these servers is 1 s.
const PATIENCE: Duration = Duration::from_secs(30);

fn login_request(user: &str) -> Vec<u8> {
    let token = SigningKey::from_secret(SECRET_ERP.as_bytes())
        .sign(
            Algorithm::HS256,
            &json!({"iss": ERP, "sub": user, "iat": now(), "exp": now() + 3600}),
        )
        .unwrap();
    let body = json!({"loginMode": 67108864, "password": token}).to_string();
    format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

use crate::support::process;

/// The `login_server` example.
fn binary() -> PathBuf {
    process::binary()
}

/// One `login_server` process in its own temporary directory; killed on drop.
struct Instance {
    /// `None` once dropped (killed before the directory goes).
    process: Option<process::Instance>,
    addr: SocketAddr,
    dir: PathBuf,
}

impl Instance {
    /// Started through `sh -c 'ulimit -n N && exec …'` when `fd_limit` is given.
    fn start(name: &str, fd_limit: Option<u32>) -> Instance {
        let dir =
            std::env::temp_dir().join(format!("jwt-sso-limits-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let configs = json!([{
            "name": "ERP", "token_name": "token", "issuer": ERP,
            "algorithms": ["HS256"], "key_source": {"type": "static", "secret": SECRET_ERP},
            "expiration_time": 3600, "claims": {"user_id": "sub"}
        }]);
        std::fs::write(dir.join("configs.json"), configs.to_string()).unwrap();
        let mut command = match fd_limit {
            Some(limit) => {
                let mut sh = Command::new("sh");
                sh.arg("-c")
                    .arg(format!("ulimit -n {limit} && exec \"$0\" \"$@\""))
                    .arg(binary());
                sh
            }
            None => Command::new(binary()),
        };
        let log = dir.join("server.log");
        command
            .arg("--config")
            .arg(dir.join("configs.json"))
            .arg("--db")
            .arg(dir.join("users.sqlite"))
            .args(["--listen", "127.0.0.1:0", "--body-timeout", "1"])
            // Every stalled body below is a refused login from 127.0.0.1, as
            // is the good login after them: the failed-login throttle would
            // answer it 429, and it is not what this test is about.
            .args(["--max-failed-logins", "0"])
            .env("JWT_SSO_ADMIN_TOKEN", ADMIN_TOKEN);
        let process = process::Instance::spawn(command, log);
        Instance {
            addr: process.addr(),
            process: Some(process),
            dir,
        }
    }

    /// A field of `/proc/<pid>/status` in KiB (e.g. `VmHWM`, the peak RSS).
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!(
            "/proc/{}/status",
            self.process.as_ref().unwrap().id()
        ))
        .unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{field}:")))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// One request on its own connection; the status code.
    async fn status_of(&self, request: &[u8]) -> u16 {
        let exchange = async {
            let mut stream = TcpStream::connect(self.addr).await.unwrap();
            stream.write_all(request).await.unwrap();
            let mut raw = Vec::new();
            let _ = stream.read_to_end(&mut raw).await;
            raw
        };
        let raw = tokio::time::timeout(PATIENCE, exchange)
            .await
            .unwrap_or_else(|_| panic!("no answer within {PATIENCE:?}; log:\n{}", self.log()));
        let text = String::from_utf8_lossy(&raw);
        text.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {text:?}"))
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        drop(self.process.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_under_a_low_fd_limit_do_not_block_a_login() {
    let server = Instance::start("fd", Some(64));
    let limits = std::fs::read_to_string(format!(
        "/proc/{}/limits",
        server.process.as_ref().unwrap().id()
    ))
    .unwrap();
    let open_files = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    assert_eq!(
        open_files.split_whitespace().nth(3),
        Some("64"),
        "{open_files}"
    );
    assert_eq!(server.status_of(&login_request("before")).await, 200);

    // Three times the descriptors the server has: every one sends complete
    // headers promising a body, and then nothing.
    let stalled_head = "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n";
    let mut stalled = Vec::new();
    for _ in 0..192 {
        let mut stream = TcpStream::connect(server.addr)
            .await
            .unwrap_or_else(|e| panic!("connecting: {e}; log:\n{}", server.log()));
        stream.write_all(stalled_head.as_bytes()).await.unwrap();
        stalled.push(stream);
    }
    // A good login behind them gets through while they are all still held
    // by the client: each round the server can hold is answered after the
    // body deadline (1 s), freeing its descriptors.
    assert_eq!(server.status_of(&login_request("after")).await, 200);
    let log = server.log();
    assert!(
        log.contains("accept failed"),
        "the server ran out of descriptors (else this test shows nothing): {log}"
    );
    // The first stalled request was answered 408 and its connection closed.
    let mut raw = Vec::new();
    tokio::time::timeout(PATIENCE, stalled[0].read_to_end(&mut raw))
        .await
        .expect("the stalled connection is closed")
        .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 408 "), "{text}");
    assert!(text.contains(r#"{"error":{"kind":"bad_request""#), "{text}");
    drop(stalled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_uploads_to_the_admin_api_do_not_grow_the_servers_memory() {
    let server = Instance::start("rss", None);
    assert_eq!(server.status_of(&login_request("before")).await, 200);
    let peak_before = server.status_kib("VmHWM");

    // 150 uploads that declare 3 MB, send 2 MiB - 1 bytes (just under axum's
    // default limit), and stall: all held open at once.
    let addr = server.addr;
    let uploads: Vec<_> = (0..150)
        .map(|_| {
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                let head = "POST /api/admin/configs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3000000\r\n\r\n";
                stream.write_all(head.as_bytes()).await.unwrap();
                let body = vec![b' '; 2 * 1024 * 1024 - 1];
                // A refused upload fails to write (the server closed); a
                // read one is written in full.
                let _ = tokio::time::timeout(Duration::from_secs(10), stream.write_all(&body)).await;
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
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, first.read_to_end(&mut raw)).await;
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 401 "),
        "{text}"
    );
    // And the server still serves.
    assert_eq!(server.status_of(&login_request("after")).await, 200);
}
