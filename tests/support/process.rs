//! `login_server` as a process: the example built once per test run with
//! the test's features, started on loopback ports, its base URL (and the
//! metrics listener's, with `--metrics-listen`) read from its standard
//! output, killed on drop (its log printed when the test failed).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `login_server` example, built once per test run with this test's
/// features (a no-op when it is up to date).
pub fn binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir
        .join("examples")
        .join(format!("login_server{}", std::env::consts::EXE_SUFFIX));
    BUILT.get_or_init(|| {
        let mut features = Vec::new();
        for (on, name) in [
            (cfg!(feature = "aws-lc"), "aws-lc"),
            (cfg!(feature = "rust-crypto"), "rust-crypto"),
            (cfg!(feature = "remote"), "remote"),
            (cfg!(feature = "admin"), "admin"),
            (cfg!(feature = "axum"), "axum"),
            (cfg!(feature = "sqlite"), "sqlite"),
            (cfg!(feature = "postgres"), "postgres"),
        ] {
            if on {
                features.push(name);
            }
        }
        let status = Command::new(env!("CARGO"))
            .args([
                "build",
                "--example",
                "login_server",
                "--no-default-features",
            ])
            .args(["--features", &features.join(",")])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building the login_server example failed");
    });
    path
}

/// One `login_server` process; killed on drop.
pub struct Instance {
    child: Child,
    /// `http://127.0.0.1:PORT` of the public listener.
    pub base: String,
    /// `http://127.0.0.1:PORT/metrics` with `--metrics-listen`.
    pub metrics: Option<String>,
    /// The file that holds its standard error (its log).
    pub log: PathBuf,
}

impl Instance {
    /// Starts `login_server --config CONFIG --db DB --listen 127.0.0.1:0
    /// ARGS…` with `JWT_SSO_ADMIN_TOKEN=admin_token`, its standard error
    /// in `log`.
    pub fn start(config: &Path, db: &str, log: PathBuf, admin_token: &str, args: &[&str]) -> Self {
        let mut child = Command::new(binary())
            .arg("--config")
            .arg(config)
            .args(["--db", db, "--listen", "127.0.0.1:0"])
            .args(args)
            .env("JWT_SSO_ADMIN_TOKEN", admin_token)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starting login_server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut metrics = None;
        let base = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.split("metrics on ").nth(1) {
                        metrics = Some(url.trim().to_owned());
                    }
                    if let Some(url) = line.split("listening on ").nth(1) {
                        break url.trim().to_owned();
                    }
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "login_server did not start: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                }
            }
        };
        // Keep draining standard output so the server never blocks on it.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Instance {
            child,
            base,
            metrics,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The metrics listener's URL (`--metrics-listen` was given).
    pub fn metrics_url(&self) -> &str {
        self.metrics
            .as_deref()
            .expect("started with --metrics-listen")
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- log of {} ---\n{}",
                self.base,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}
