//! `login_server`: a host that accepts externally signed JWTs as a login
//! (CONTRACT section 6), with users in SQLite.
//!
//! ```text
//! cargo run --release --example login_server -- --config CONFIGS.json --db users.sqlite --listen 127.0.0.1:8080
//! ```
//!
//! - `POST /api/auth/login` with `{"loginMode":67108864,"password":"<jwt>"}`:
//!   `200` with `X-Auth-Token` and `{"first_login","user","identity"}`; `401`
//!   `{"error":{"kind","message","hint"}}` for a rejected token; `400`
//!   `{"error":{"kind":"bad_request","message"}}` for a malformed request.
//! - `GET /login?<token_name>=<jwt>`: the same, the token in the query.
//! - `GET /api/session` with `X-Auth-Token`: the session's user.
//!
//! A token goes to the enabled configuration whose `issuer` equals its `iss`
//! (or to the only enabled one). First logins create the user with the
//! configuration's `user_type` and roles; later logins keep them.

mod app;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str =
    "usage: login_server --config CONFIGS.json --db users.sqlite [--listen 127.0.0.1:8080]";

fn parse_args() -> Result<(PathBuf, PathBuf, String), String> {
    let (mut config, mut db, mut listen) = (None, None, "127.0.0.1:8080".to_owned());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--config" => config = Some(PathBuf::from(value()?)),
            "--db" => db = Some(PathBuf::from(value()?)),
            "--listen" => listen = value()?,
            _ => return Err(format!("unknown argument `{arg}`")),
        }
    }
    Ok((
        config.ok_or("--config is required")?,
        db.ok_or("--db is required")?,
        listen,
    ))
}

#[tokio::main]
async fn main() -> ExitCode {
    let (config, db, listen) = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("login_server: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let router = match app::app(&config, &db) {
        Ok(router) => router,
        Err(e) => {
            let cause = std::error::Error::source(&e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            eprintln!("login_server: {e}{cause}\n  hint: {}", e.hint());
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(&listen).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("login_server: cannot listen on {listen}: {e}");
            return ExitCode::from(2);
        }
    };
    let address = listener.local_addr().map_or(listen, |a| a.to_string());
    println!("login_server: listening on http://{address}");
    if let Err(e) = axum::serve(listener, router).await {
        eprintln!("login_server: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
