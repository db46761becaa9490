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

const USAGE: &str = "usage: login_server --config CONFIGS.json --db users.sqlite|postgres://USER@HOST:PORT/DB [--listen 127.0.0.1:8080] [--admin-role Administrator] [--roles R1,R2] [--user-types T1,T2] [--body-timeout SECONDS] [--max-connections N]";

struct Args {
    config: PathBuf,
    db: String,
    listen: String,
    admin_role: String,
    catalog: app::Catalog,
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
    let (mut config, mut db) = (None, None);
    let (mut listen, mut admin_role) = ("127.0.0.1:8080".to_owned(), "Administrator".to_owned());
    let mut serve = jwt_sso::axum::ServeOptions::default();
    let mut catalog = app::Catalog::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--config" => config = Some(PathBuf::from(value()?)),
            "--db" => db = Some(value()?),
            "--listen" => listen = value()?,
            "--admin-role" => admin_role = value()?,
            "--roles" => catalog.roles = names(&value()?),
            "--user-types" => catalog.user_types = names(&value()?),
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
        catalog,
        serve,
    })
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
    let state = match app::state(&args.config, &args.db, &args.admin_role, args.catalog).await {
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
    let _purge = state.db.spawn_purge(std::time::Duration::from_secs(60));
    // Several instances on one PostgreSQL: apply the others' configuration changes.
    let _sync = match state.admin.store() {
        app::Configs::Sql(db) => Some(
            jwt_sso::ConfigSync::new(
                state.admin.registry().clone(),
                std::sync::Arc::new(db.clone()),
            )
            .spawn(std::time::Duration::from_secs(1)),
        ),
        app::Configs::File(_) => None,
    };
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
