//! A real PostgreSQL server for tests: the machine's `initdb` and `pg_ctl`
//! (under `/usr/lib/postgresql/*/bin`, the newest version), in a temporary
//! directory, on a free port on 127.0.0.1, with trust authentication for
//! loopback. Run as a non-root user: when the tests run as root, as the
//! system user `jwtsso-pg` (created with `useradd` when missing) through
//! `runuser -u`. `initdb` runs once into a template under Cargo's target
//! temporary directory, copied for each server. `stop()` and `start()` make
//! an outage; the server is stopped and its directory removed on drop.
//!
//! When the binaries are missing, [`PgServer::launch`] returns `None` after
//! printing a note (the test is skipped), except under `CI=true`, where it
//! panics: CI must test PostgreSQL (`.ci/run` installs Debian's `postgresql`).
//!
//! Use from a test module with `use crate::support::pg;`.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The system user that runs PostgreSQL when the tests run as root.
const PG_USER: &str = "jwtsso-pg";
/// The database role the tests connect as (created by `initdb -U`).
pub const ROLE: &str = "jwtsso";

/// A running (or stopped) PostgreSQL server owned by one test.
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// `Some(user)` when the binaries run through `runuser -u user`.
    run_as: Option<String>,
}

impl PgServer {
    /// Creates and starts a new server, or `None` (the test should return)
    /// when PostgreSQL is not installed and `CI` is not `true`.
    pub fn launch() -> Option<PgServer> {
        let Some(bin) = find_bin() else {
            let message = "PostgreSQL binaries (initdb, pg_ctl) not found under \
                           /usr/lib/postgresql/*/bin; install Debian's `postgresql` package \
                           (apt-get install -y postgresql)";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true: {message}");
            }
            eprintln!("note: skipping a PostgreSQL test: {message}");
            return None;
        };
        let run_as = if is_root() {
            ensure_user(PG_USER);
            Some(PG_USER.to_owned())
        } else {
            None
        };
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "jwt-sso-pg-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the PostgreSQL directory");
        let mut server = PgServer {
            bin,
            dir,
            port: 0,
            run_as,
        };
        give_to(server.run_as.as_deref(), &server.dir);
        let started = Instant::now();
        let template = template(&server);
        let status = Command::new("cp")
            .arg("-a")
            .arg(template.join("data"))
            .arg(server.data())
            .status()
            .expect("running cp");
        assert!(status.success(), "copying the PostgreSQL template");
        // A free port can be taken between the probe and the start: try a few.
        for attempt in 0.. {
            server.port = free_port();
            match server.try_start() {
                Ok(()) => break,
                Err(log) if attempt < 3 => eprintln!("PostgreSQL did not start, retrying: {log}"),
                Err(log) => panic!("PostgreSQL did not start: {log}"),
            }
        }
        eprintln!(
            "PostgreSQL {} ready on 127.0.0.1:{} in {} ms",
            server.version(),
            server.port,
            started.elapsed().as_millis()
        );
        Some(server)
    }

    /// `postgres://jwtsso@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> String {
        self.url_for("postgres")
    }

    /// The URL of another database on this server (see [`PgServer::create_database`]).
    pub fn url_for(&self, database: &str) -> String {
        format!("postgres://{ROLE}@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates an empty database named `name` (with the server's `createdb`).
    pub fn create_database(&self, name: &str) {
        let port = self.port.to_string();
        let out = self.pg(
            "createdb",
            &["-h", "127.0.0.1", "-p", &port, "-U", ROLE, name],
        );
        assert!(
            out.status.success(),
            "createdb {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (`pg_ctl stop -m fast`: clients are disconnected).
    pub fn stop(&self) {
        let out = self.pg_ctl_stop("fast");
        assert!(
            out.status.success(),
            "pg_ctl stop: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts the server again on the same port (after [`PgServer::stop`]).
    pub fn start(&self) {
        if let Err(log) = self.try_start() {
            panic!("PostgreSQL did not start again: {log}");
        }
    }

    fn try_start(&self) -> Result<(), String> {
        let options = format!(
            "-h 127.0.0.1 -p {} -k {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("server.log");
        let out = self.pg(
            "pg_ctl",
            &[
                "-D",
                self.data().to_str().unwrap(),
                "-l",
                log.to_str().unwrap(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(&log).unwrap_or_default()
            ))
        }
    }

    fn version(&self) -> String {
        let out = self.pg("pg_ctl", &["--version"]);
        // "pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(2)
            .unwrap_or("")
            .to_owned()
    }

    /// `pg_ctl stop` in shutdown `mode` (`fast`, `immediate`), waiting up to 30 s.
    fn pg_ctl_stop(&self, mode: &str) -> Output {
        let data = self.data();
        let data = data.to_str().unwrap();
        self.pg(
            "pg_ctl",
            &["-D", data, "-m", mode, "-w", "-t", "30", "stop"],
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs one of the server's binaries as the non-root user.
    fn pg(&self, program: &str, args: &[&str]) -> Output {
        let program = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&program);
                c
            }
            None => Command::new(&program),
        };
        command
            .args(args)
            .current_dir(&self.dir)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", program.display()))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let _ = self.pg_ctl_stop("immediate");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A data directory made by `initdb` once and copied for every server
/// (`initdb` takes seconds on a loaded machine; a copy and a start take
/// well under one). It lives in Cargo's target temporary directory, keyed by
/// the major version, and is reused across runs.
fn template(server: &PgServer) -> PathBuf {
    static TEMPLATE: std::sync::Mutex<Option<PathBuf>> = std::sync::Mutex::new(None);
    let mut done = TEMPLATE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = done.as_ref() {
        return path.clone();
    }
    let major = server
        .bin
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("pg")
        .to_owned();
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = root.join(format!(
        "pg-template-{major}-{}",
        server.run_as.as_deref().unwrap_or("self")
    ));
    if !path.join("ready").exists() {
        let building = root.join(format!(
            "pg-template-{major}.building-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&building);
        std::fs::create_dir_all(&building).expect("creating the template directory");
        give_to(server.run_as.as_deref(), &building);
        let data = building.join("data");
        let builder = PgServer {
            bin: server.bin.clone(),
            dir: building.clone(),
            port: 0,
            run_as: server.run_as.clone(),
        };
        let out = builder.pg(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                ROLE,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        // The builder's directory is renamed, not removed, when it is dropped.
        std::mem::forget(builder);
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(building.join("ready"), b"").expect("marking the template ready");
        if let Err(error) = std::fs::rename(&building, &path) {
            // Another process made it first.
            assert!(path.join("ready").exists(), "no template: {error}");
            let _ = std::fs::remove_dir_all(&building);
        }
    }
    *done = Some(path.clone());
    path
}

/// `initdb`'s directory of the newest PostgreSQL under /usr/lib/postgresql.
fn find_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

/// Makes `user` (when the binaries run as one) the owner of `dir`.
fn give_to(user: Option<&str>, dir: &std::path::Path) {
    let Some(user) = user else { return };
    let status = Command::new("chown")
        .arg(format!("{user}:"))
        .arg(dir)
        .status()
        .expect("running chown");
    assert!(status.success(), "chown {user} {}", dir.display());
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// Creates the system user `name` unless it exists (racing test threads may
/// both try; the loser finds it made).
fn ensure_user(name: &str) {
    let exists = || {
        Command::new("id")
            .arg("-u")
            .arg(name)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if exists() {
        return;
    }
    let out = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ])
        .output()
        .expect("running useradd");
    assert!(
        out.status.success() || exists(),
        "useradd {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

/// Waits until `f` returns true or `timeout` passes; returns whether it did.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}
