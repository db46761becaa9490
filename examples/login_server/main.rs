//! `login_server`: a host that accepts externally signed JWTs as a login
//! (CONTRACT sections 6–9), with users, sessions, used `jti`s and login
//! events in SQLite or PostgreSQL (`--db users.sqlite` or `--db
//! postgres://USER@HOST:PORT/DB`), and the administrator's API and console
//! at `/admin` (`JWT_SSO_ADMIN_TOKEN`, or a session whose user has
//! `--admin-role`).
//!
//! ```text
//! cargo run --release --example login_server -- --config CONFIGS.json --db users.sqlite --listen 127.0.0.1:8080
//! ```
//!
//! - `POST /api/auth/login` (JSON), `POST /login` (a form: `<token_name>`,
//!   `return_to`) and `GET /login?<token_name>=…`: a session (`X-Auth-Token`;
//!   a browser gets the `jwt_sso_session` cookie and a `303`).
//! - `GET /api/me` (a session or a `bearer: true` token), `GET
//!   /api/session`, `POST /api/auth/logout`, `POST /logout` (the cookie).
//! - `/admin`, `/api/admin/…` (configurations, events, sessions).
//! - `--metrics-listen ADDR`: `GET /metrics` on a listener of its own.
//!
//! `--help` lists every option. Logs go to standard error (INFO and above).

mod app;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use axum::http::header::CONTENT_TYPE;
use clap::Parser;
use jwt_sso::axum::{ServeOptions, admin::AdminAccess};

/// Accepts externally signed JWTs as a login (see CONTRACT.md sections 6–9).
#[derive(Parser)]
struct Args {
    /// The configurations: one JSON object or an array (seeds PostgreSQL).
    #[arg(long)]
    config: PathBuf,
    /// `users.sqlite` (a file), `sqlite:…` or `postgres://USER@HOST:PORT/DB`.
    #[arg(long)]
    db: String,
    /// The address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: String,
    /// Serve `GET /metrics` (Prometheus text) on this address.
    #[arg(long)]
    metrics_listen: Option<String>,
    /// Seconds a request's body may take after its headers (else `408`).
    #[arg(long, default_value_t = 10)]
    body_timeout: u64,
    /// Connections served at once.
    #[arg(long, default_value_t = 10_000)]
    max_connections: usize,
    #[command(flatten)]
    ops: app::Ops,
}

/// The buckets (seconds) of `jwt_sso_login_duration_seconds`: from a cached
/// HMAC check to a remote key fetch that gives up (5 s).
const BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

/// Installs the Prometheus recorder and serves `/metrics` on `address`.
async fn serve_metrics(address: &str) -> Result<(), String> {
    use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
    let name = Matcher::Full("jwt_sso_login_duration_seconds".into());
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(name, BUCKETS)
        .and_then(PrometheusBuilder::install_recorder)
        .map_err(|e| format!("cannot install the metrics recorder: {e}"))?;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address} for metrics: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    println!("login_server: metrics on http://{bound}/metrics");
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep(); // histogram buckets drained
        }
    });
    let text = "text/plain; version=0.0.4; charset=utf-8";
    let render = move || std::future::ready(([(CONTENT_TYPE, text)], handle.render()));
    let router = axum::Router::new().route("/metrics", axum::routing::get(render));
    tokio::spawn(async move { jwt_sso::axum::serve(listener, router).await });
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let logs = tracing_subscriber::fmt().with_writer(std::io::stderr);
    logs.init();
    if let Err(message) = run(Args::parse()).await {
        tracing::error!("{message}");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

async fn run(args: Args) -> Result<(), String> {
    if let Some(address) = &args.metrics_listen {
        serve_metrics(address).await?;
    }
    let state = app::state_with(&args.config, &args.db, &args.ops).await;
    let state = state.map_err(|e| {
        let cause = std::error::Error::source(&e).map_or(String::new(), |s| format!(": {s}"));
        format!(
            "cannot start: {e}{cause} (kind {}; hint: {})",
            e.kind().as_str(),
            e.hint()
        )
    })?;
    let _background = state.spawn_background();
    let listener = tokio::net::TcpListener::bind(&args.listen).await;
    let listener = listener.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    println!("login_server: listening on http://{address}");
    let bounds = ServeOptions::default()
        .body_timeout(Duration::from_secs(args.body_timeout.max(1)))
        .max_connections(args.max_connections);
    let router = app::router_with(state, AdminAccess::from_env());
    let served = jwt_sso::axum::serve(listener, router).options(bounds).await;
    served.map_err(|e| format!("the server stopped: {e}"))
}
