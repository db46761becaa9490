//! The `login_server` host: everything CONTRACT sections 6–9 name comes
//! from [`jwt_sso::axum::Host`] (the database, the configurations, sessions
//! that end with their configuration, the login, session and admin routes);
//! this file adds the host's own protected route, `GET /api/me`, and the
//! metrics listener's router. `main.rs` reads the command line; tests build
//! the same router with [`app`].

use std::path::Path;

use axum::{Json, Router, http::header::CACHE_CONTROL, response::IntoResponse, routing::get};
use jwt_sso::AdminError;
use jwt_sso::axum::{Host, HostOptions, LoginOptions, SessionOrBearer, admin::AdminAccess};

/// The operating options of CONTRACT sections 6 and 9.
#[derive(Debug, Clone, clap::Args)]
pub struct Ops {
    /// The role that makes a session's user an administrator.
    #[arg(long, default_value = "Administrator")]
    pub admin_role: String,
    /// Login events kept in the database.
    #[arg(long, default_value_t = 10_000)]
    pub event_retention: u64,
    /// Refused logins per client address within 60 s before `429` (0: off).
    #[arg(long, default_value_t = 20)]
    pub max_failed_logins: u32,
    /// Take the client address from the last entry of `X-Forwarded-For`
    /// (only behind a proxy that sets it).
    #[arg(long)]
    pub trust_forwarded_for: bool,
    /// A host that a browser login's `return_to` URL may name (repeatable).
    #[arg(long = "return-to-host", value_name = "HOST")]
    pub return_to_hosts: Vec<String>,
    /// Leave `Secure` off the session cookie (plain-http trials only).
    #[arg(long)]
    pub insecure_cookie: bool,
    /// The host's roles (comma-separated): what the administrator's saves
    /// may name, and the console's choices (`GET /api/admin/catalog`).
    #[arg(long, value_delimiter = ',')]
    pub roles: Vec<String>,
    /// The host's user types (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub user_types: Vec<String>,
}

/// The defaults of the command line.
impl Default for Ops {
    fn default() -> Self {
        let cli = <Ops as clap::Args>::augment_args(clap::Command::new("login_server"));
        let matches = cli.get_matches_from(["login_server"]);
        <Ops as clap::FromArgMatches>::from_arg_matches(&matches).expect("the defaults parse")
    }
}

/// The server over the database `db` and the configurations of `config`,
/// with the operating options `ops`.
pub async fn state_with(config: &Path, db: &str, ops: &Ops) -> Result<Host, AdminError> {
    let login = LoginOptions::default()
        .query_login(true)
        .max_failed_logins(ops.max_failed_logins)
        .trust_forwarded_for(ops.trust_forwarded_for)
        .return_to_hosts(ops.return_to_hosts.clone())
        .insecure_cookie(ops.insecure_cookie);
    let options = HostOptions::default()
        .admin_role(&ops.admin_role)
        .event_retention(ops.event_retention)
        .login(login)
        .catalog(&ops.roles, &ops.user_types);
    Host::open(config, db, options).await
}

/// The router over `state` for the callers of `access`: `GET /api/me` and
/// everything the [`Host`] serves.
pub fn router_with(state: Host, access: AdminAccess) -> Router {
    Router::new()
        .route("/api/me", get(me))
        .with_state(state.clone())
        .merge(state.router(access))
}

/// `GET /api/me`: the caller by session or by bearer token.
async fn me(caller: SessionOrBearer) -> impl IntoResponse {
    ([(CACHE_CONTROL, "no-store")], Json(caller))
}

/// The router over the server's state (the admin token from
/// `JWT_SSO_ADMIN_TOKEN`) and its background work, for as long as the
/// router lives.
#[allow(dead_code)] // tests/login_server.rs
pub async fn app(config: &Path, db: &Path) -> Result<Router, AdminError> {
    app_with(config, db, AdminAccess::from_env()).await
}

/// [`app`] with the admin token of `access`.
pub async fn app_with(config: &Path, db: &Path, access: AdminAccess) -> Result<Router, AdminError> {
    let state = state_with(config, &db.to_string_lossy(), &Ops::default()).await?;
    let tasks = std::sync::Arc::new(state.spawn_background());
    Ok(router_with(state, access).layer(axum::Extension(tasks)))
}
