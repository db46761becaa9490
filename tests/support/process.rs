//! The examples as processes: each built once per test run with the
//! test's features ([`example`]); `login_server` started on loopback ports, its base URL (and the
//! metrics listener's, with `--metrics-listen`) read from its standard
//! output, killed on drop (its log printed when the test failed).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The example `name` (`login_server`, `jwt_check`, `mint`), built once per
/// test run with this test binary's features, `default` included, so that
/// the build is the one `cargo test` already made (a no-op then) and a
/// binary left from another feature set is never used.
pub fn example(name: &str) -> PathBuf {
    static BUILT: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.iter().any(|b| b == name) {
        let mut features = Vec::new();
        for (on, feature) in [
            (cfg!(feature = "default"), "default"),
            (cfg!(feature = "aws-lc"), "aws-lc"),
            (cfg!(feature = "rust-crypto"), "rust-crypto"),
            (cfg!(feature = "mint"), "mint"),
            (cfg!(feature = "remote"), "remote"),
            (cfg!(feature = "admin"), "admin"),
            (cfg!(feature = "sessions"), "sessions"),
            (cfg!(feature = "axum"), "axum"),
            (cfg!(feature = "sqlite"), "sqlite"),
            (cfg!(feature = "postgres"), "postgres"),
        ] {
            if on {
                features.push(feature);
            }
        }
        // From the workspace root: the examples are a member package
        // (examples/Cargo.toml) with the same feature names.
        let status = Command::new(env!("CARGO"))
            .args(["build", "--example", name, "--no-default-features"])
            .args(["--features", &features.join(",")])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(status.success(), "building the {name} example failed");
        built.push(name.to_owned());
    }
    path
}

/// The `login_server` example (see [`example`]).
pub fn binary() -> PathBuf {
    example("login_server")
}

/// `command` (the `login_server` binary, or a wrapper that `exec`s it with
/// its arguments) with `--config CONFIG --db DB --listen 127.0.0.1:0 ARGS…`
/// and `JWT_SSO_ADMIN_TOKEN=admin_token`.
pub fn arguments(
    mut command: Command,
    config: &Path,
    db: &str,
    admin_token: &str,
    args: &[&str],
) -> Command {
    command
        .arg("--config")
        .arg(config)
        .args(["--db", db, "--listen", "127.0.0.1:0"])
        .args(args)
        .env("JWT_SSO_ADMIN_TOKEN", admin_token);
    command
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
        let command = arguments(Command::new(binary()), config, db, admin_token, args);
        Instance::spawn(command, log)
    }

    /// Spawns `command` (a `login_server` command line), its standard error
    /// in `log`, and waits for the line that names its listener.
    pub fn spawn(mut command: Command, log: PathBuf) -> Self {
        let mut child = command
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

    /// The listener's address (`127.0.0.1:PORT`).
    pub fn addr(&self) -> std::net::SocketAddr {
        self.base
            .trim_start_matches("http://")
            .parse()
            .expect("an address")
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`, and wait for the process to be gone.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Its log (standard error) so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
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
