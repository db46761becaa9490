//! `login_server`: a host that accepts externally signed JWTs as a login
//! (CONTRACT section 6), with users, sessions and used `jti`s in SQLite or PostgreSQL
//! (`--db users.sqlite` or `--db postgres://USER@HOST:PORT/DB`), and the
//! administrator's API and console at `/admin` (`JWT_SSO_ADMIN_TOKEN`, or a
//! session whose user has `--admin-role`).
//!
//! ```text
//! cargo run --release --features axum --example login_server -- --config CONFIGS.json --db users.sqlite --listen 127.0.0.1:8080 [--admin-role Administrator] [--roles Viewer,Analyst,Administrator] [--user-types reader,analyst,author,administrator]
//! ```
//!
//! - `POST /api/auth/login` with `{"loginMode":67108864,"password":"<jwt>"}`
//!   (`Content-Type: application/json`): `200` with `X-Auth-Token` and
//!   `{"first_login","user","identity"}`; refusals `{"error":{"kind","message"}}`
//!   with the kind's status (401 + `WWW-Authenticate: Bearer`, 403, 503, 400,
//!   413, 415).
//! - `GET /login?<token_name>=<jwt>`: the same, the token in the query.
//! - `GET /api/session` with `X-Auth-Token`: the session's user.
//! - `POST /api/auth/logout` with `X-Auth-Token`: `204`.
//! - `GET /api/admin/events`: the login events (admin credentials).
//!
//! Operating it (CONTRACT section 9): `--event-retention N` login events
//! are kept in the database (default 10 000); `--metrics-listen ADDR` serves
//! `GET /metrics` (Prometheus text) on a listener of its own;
//! `--max-failed-logins N` refused logins per client address within 60 s
//! make its further attempts `429` (default 20, 0 = off);
//! `--trust-forwarded-for` takes the client address from the last entry of
//! `X-Forwarded-For` (only behind a proxy that sets it).
//!
//! `--admin-role` (default `Administrator`) is the role that opens the
//! administrator's API to a session; a token gives it only through a
//! configuration with `may_grant_admin`. `--roles` and `--user-types`
//! (comma-separated) are the host's catalogue: the administrator's saves
//! may name only these, and the console offers them as choices
//! (`GET /api/admin/catalog`).
//!
//! Connections must send their request headers within 10 s and a request's
//! body within `--body-timeout` seconds of them (default 10; else `408`),
//! are closed after 60 s idle, and at most `--max-connections` (default
//! 10 000) are served at once. Logs go to standard error through `tracing`
//! (`RUST_LOG`-style levels are not parsed: INFO and above).

mod app;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: login_server --config CONFIGS.json --db users.sqlite|postgres://USER@HOST:PORT/DB [--listen 127.0.0.1:8080] [--admin-role Administrator] [--roles R1,R2] [--user-types T1,T2] [--body-timeout SECONDS] [--max-connections N] [--event-retention 10000] [--metrics-listen 127.0.0.1:9464] [--max-failed-logins 20] [--trust-forwarded-for]";

struct Args {
    config: PathBuf,
    db: String,
    listen: String,
    admin_role: String,
    metrics_listen: Option<String>,
    ops: app::Ops,
    serve: jwt_sso::axum::ServeOptions,
}

/// `A,B, C` → `["A", "B", "C"]` (empty pieces dropped).
fn names(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect()
}

fn number<T: std::str::FromStr>(arg: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{arg} needs a positive whole number, not `{value}`"))
}

fn parse_args() -> Result<Args, String> {
    let (mut config, mut db, mut metrics_listen) = (None, None, None);
    let (mut listen, mut admin_role) = ("127.0.0.1:8080".to_owned(), "Administrator".to_owned());
    let mut ops = app::Ops::default();
    let mut serve = jwt_sso::axum::ServeOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--config" => config = Some(PathBuf::from(value()?)),
            "--db" => db = Some(value()?),
            "--listen" => listen = value()?,
            "--admin-role" => admin_role = value()?,
            "--roles" => ops.roles = names(&value()?),
            "--user-types" => ops.user_types = names(&value()?),
            "--metrics-listen" => metrics_listen = Some(value()?),
            "--event-retention" => ops.event_retention = number(&arg, &value()?)?,
            "--max-failed-logins" => ops.max_failed_logins = number(&arg, &value()?)?,
            "--trust-forwarded-for" => ops.trust_forwarded_for = true,
            "--body-timeout" => {
                let seconds: u64 = number(&arg, &value()?)?;
                serve = serve.body_timeout(std::time::Duration::from_secs(seconds.max(1)));
            }
            "--max-connections" => serve = serve.max_connections(number(&arg, &value()?)?),
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    let config = config.ok_or("--config is required")?;
    let db = db.ok_or("--db is required")?;
    Ok(Args {
        config,
        db,
        listen,
        admin_role,
        metrics_listen,
        ops,
        serve,
    })
}

/// The buckets (seconds) of `jwt_sso_login_duration_seconds`: from a cached
/// HMAC check (tens of µs) to a remote key fetch that gives up (5 s), as
/// `jwt_sso::metrics` suggests.
const DURATION_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

/// Installs the Prometheus recorder and serves `/metrics` on `address`, a
/// listener of its own (never the public one).
async fn serve_metrics(address: &str) -> Result<tokio::task::JoinHandle<()>, String> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("jwt_sso_login_duration_seconds".into()),
            DURATION_BUCKETS,
        )
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address} for metrics: {e}"))?;
    let bound = listener
        .local_addr()
        .map_or(address.to_owned(), |a| a.to_string());
    println!("login_server: metrics on http://{bound}/metrics");
    let upkeep = handle.clone();
    Ok(tokio::spawn(async move {
        // The exporter's periodic housekeeping (histogram buckets drained).
        let _upkeep = tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                upkeep.run_upkeep();
            }
        });
        let _ = jwt_sso::axum::serve(listener, app::metrics_router(handle)).await;
    }))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(true)
        .init();
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("login_server: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let _metrics = match &args.metrics_listen {
        Some(address) => match serve_metrics(address).await {
            Ok(task) => Some(task),
            Err(message) => {
                tracing::error!("{message}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    let state = match app::state_with(&args.config, &args.db, &args.admin_role, &args.ops).await {
        Ok(state) => state,
        Err(e) => {
            let cause = std::error::Error::source(&e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            tracing::error!(
                kind = e.kind().as_str(),
                hint = e.hint(),
                "cannot start: {e}{cause}"
            );
            return ExitCode::from(2);
        }
    };
    // Changes made elsewhere (other instances, the file by hand) and purges.
    let _background = app::background(&state);
    let listener = match tokio::net::TcpListener::bind(&args.listen).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!("cannot listen on {}: {e}", args.listen);
            return ExitCode::from(2);
        }
    };
    let address = listener.local_addr().map_or(args.listen, |a| a.to_string());
    println!("login_server: listening on http://{address}");
    if let Err(e) = jwt_sso::axum::serve_with(listener, app::router(state), args.serve).await {
        tracing::error!("server stopped: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
