//! The `login_server` host: users, sessions and used `jti`s in jwt_sso's
//! `SqlStore` (a SQLite file or `postgres://…`); the JWT configurations in
//! the `--config` file (`ConfigFile`: the file is the store, edits by hand
//! are picked up) with a file database, or in PostgreSQL (seeded from
//! `--config` only into a database that never held configurations). One
//! owner (`Configs`) holds them; the login endpoints, error responses,
//! sessions and the administrator's API come from `jwt_sso::axum`;
//! `main.rs` reads the command line; tests build the same router with
//! [`app`].

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::FromRef;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jwt_sso::axum::admin::AdminAccess;
use jwt_sso::axum::{Identity, JwtAuth, LoginOptions, LoginRoutes, SessionAuth, SessionOrBearer};
use jwt_sso::{
    Admin, AdminError, Authenticator, ConfigFile, Configs, Sessions, SqlOptions, SqlStore,
    StoreError, Task,
};
use serde_json::json;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The login endpoints (registry, users, used `jti`s, sessions).
    pub login: LoginRoutes<SqlStore, Arc<Sessions<SqlStore>>, SqlStore>,
    /// The sessions and their users (the session extractors and routes).
    pub sessions: SessionAuth,
    /// Bearer tokens of the configurations with `bearer: true`.
    pub bearer: JwtAuth,
    /// The owner of the configurations.
    pub configs: Configs,
    /// The administrator's operations.
    pub admin: Arc<Admin>,
    /// The role that makes a session an administrator (`--admin-role`).
    pub admin_role: Arc<str>,
    /// The database.
    pub db: SqlStore,
    /// Writes the login events into the database while the state lives.
    #[allow(dead_code)] // held for its task
    pub event_writer: Arc<Task>,
}

/// The operating options of CONTRACT section 9.
#[derive(Debug, Clone)]
pub struct Ops {
    /// `--event-retention`: login events kept in the database (default 10 000).
    pub event_retention: u64,
    /// `--max-failed-logins`: refused logins per client address within 60 s
    /// before `429` (default 20; 0 turns throttling off).
    pub max_failed_logins: u32,
    /// `--trust-forwarded-for`: the client address is the last entry of
    /// `X-Forwarded-For`.
    pub trust_forwarded_for: bool,
    /// `--return-to-host`: hosts a browser login's `return_to` URL may name.
    pub return_to_hosts: Vec<String>,
    /// `--insecure-cookie`: the session cookie without `Secure`.
    pub insecure_cookie: bool,
}

impl Default for Ops {
    fn default() -> Self {
        Ops {
            event_retention: 10_000,
            max_failed_logins: 20,
            trust_forwarded_for: false,
            return_to_hosts: Vec::new(),
            insecure_cookie: false,
        }
    }
}

/// The database of `--db`: a URL (`postgres://…`, `sqlite:…`; its scheme
/// decides, and a misspelt one is an error), or a bare path, which is an
/// SQLite file (CONTRACT section 6: `--db users.sqlite`).
async fn open_db(db: &str) -> Result<SqlStore, StoreError> {
    if db.contains("://") || db.starts_with("sqlite:") {
        SqlStore::open(db).await
    } else {
        SqlStore::sqlite(db, &SqlOptions::default()).await
    }
}

/// The owner of the configurations: in PostgreSQL (seeded from the
/// `--config` file only if the database never held configurations), else
/// the `--config` file itself.
async fn configs(config_path: &Path, db: &SqlStore) -> Result<Configs, AdminError> {
    if db.backend_name() != "PostgreSQL" {
        return Configs::new(ConfigFile::new(config_path)).load().await;
    }
    let configs = Configs::new(db.clone()).load().await?;
    configs.seed_from(&ConfigFile::new(config_path)).await?;
    Ok(configs)
}

/// The state of the server: the database `db` (a SQLite file, created if
/// missing, or `postgres://…`) and the configurations (see the module docs).
#[allow(dead_code)] // main.rs uses `state_with`
pub async fn state(config_path: &Path, db: &str, admin_role: &str) -> Result<AppState, AdminError> {
    state_with(config_path, db, admin_role, &Ops::default()).await
}

/// [`state`] with the operating options `ops`.
pub async fn state_with(
    config_path: &Path,
    db: &str,
    admin_role: &str,
    ops: &Ops,
) -> Result<AppState, AdminError> {
    let store = open_db(db)
        .await
        .map_err(|e| e.during("opening the database"))?;
    let configs = configs(config_path, &store).await?;
    let registry = Arc::clone(configs.registry());
    for warning in registry.warnings() {
        tracing::warn!("configuration warning: {warning:?}");
    }
    for (name, error) in registry.warm_up().await {
        tracing::warn!(config = %name, kind = error.kind().as_str(), "key warm-up failed: {error}");
    }
    // Metrics (when a recorder is installed): every series at 0 from the start.
    jwt_sso::metrics::describe(&registry);
    // Sessions end with the configuration that created them.
    let sessions = Sessions::new(store.clone(), registry.clock()).ending_with(&configs);
    let bearer = JwtAuth::new(Arc::clone(&registry));
    let auth = Authenticator::new(registry, store.clone()).with_replay_store(store.clone());
    let event_writer =
        Arc::new(store.spawn_event_writer(auth.subscribe(4096), ops.event_retention));
    let options = LoginOptions::default()
        .query_login(true)
        .max_failed_logins(ops.max_failed_logins)
        .trust_forwarded_for(ops.trust_forwarded_for)
        .return_to_hosts(ops.return_to_hosts.clone())
        .insecure_cookie(ops.insecure_cookie);
    Ok(AppState {
        sessions: SessionAuth::new(Arc::clone(&sessions), store.clone(), &options),
        login: LoginRoutes::new(auth, sessions, options),
        bearer,
        admin: Arc::new(Admin::new(configs.clone())),
        configs,
        admin_role: admin_role.into(),
        db: store,
        event_writer,
    })
}

/// The server's background work: the configuration poller (another
/// instance's changes, or edits of the `--config` file by hand, in force
/// within a second) and the purge of expired sessions and `jti`s (every
/// minute). Each runs until its handle is dropped.
pub fn background(state: &AppState) -> [Task; 2] {
    [
        state.configs.spawn_sync(Duration::from_secs(1)),
        state
            .db
            .spawn_purge(Duration::from_secs(60), state.configs.registry().clock()),
    ]
}

/// The router over `state`: login, session and the administrator's API
/// (`JWT_SSO_ADMIN_TOKEN`, or a session whose user has the admin role).
#[allow(dead_code)] // main.rs; tests use `router_with`
pub fn router(state: AppState) -> Router {
    router_with(state, AdminAccess::from_env())
}

/// [`router`] with the admin token of `access` (sessions with the admin
/// role are added here).
pub fn router_with(state: AppState, access: AdminAccess) -> Router {
    // The admin API's sessions: `X-Auth-Token` only, never the cookie.
    let access = access.with_sessions(state.sessions.clone(), state.admin_role.to_string());
    Router::new()
        .route("/api/me", get(me))
        .with_state(state.clone())
        .merge(state.sessions.router())
        .merge(state.login.router())
        .merge(jwt_sso::axum::admin::events_router(
            state.db.clone(),
            access.clone(),
        ))
        .merge(jwt_sso::axum::admin::sessions_router(
            state.sessions.clone(),
            access.clone(),
        ))
        .merge(jwt_sso::axum::admin::router(
            Arc::clone(&state.admin),
            access,
        ))
}

impl FromRef<AppState> for SessionAuth {
    fn from_ref(state: &AppState) -> SessionAuth {
        state.sessions.clone()
    }
}

impl FromRef<AppState> for JwtAuth {
    fn from_ref(state: &AppState) -> JwtAuth {
        state.bearer.clone()
    }
}

/// `GET /api/me`: the caller by session (`X-Auth-Token` or the cookie) or
/// by bearer token (configurations with `bearer: true`).
async fn me(caller: SessionOrBearer) -> Response {
    let body = match caller {
        SessionOrBearer::Session(current) => {
            let u = &current.user;
            json!({"via": "session", "user": {"user_id": u.user_id, "name": u.name,
                "email": u.email, "user_type": u.user_type, "roles": u.roles}})
        }
        SessionOrBearer::Bearer(Identity(identity)) => {
            json!({"via": "bearer", "identity": identity})
        }
    };
    ([(CACHE_CONTROL, "no-store")], Json(body)).into_response()
}

/// The metrics listener's router (`--metrics-listen`): `GET /metrics` in
/// the Prometheus text format, from the recorder `main` installed.
#[allow(dead_code)] // main.rs
pub fn metrics_router(handle: metrics_exporter_prometheus::PrometheusHandle) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )],
                    handle.render(),
                )
            }
        }),
    )
}

/// [`router`] over [`state`] with the default administrator role, and its
/// [`background`] work running for as long as the router lives.
#[allow(dead_code)] // tests/login_server.rs
pub async fn app(config_path: &Path, db: &Path) -> Result<Router, AdminError> {
    app_with(config_path, db, AdminAccess::from_env()).await
}

/// [`app`] with the admin token of `access`.
pub async fn app_with(
    config_path: &Path,
    db: &Path,
    access: AdminAccess,
) -> Result<Router, AdminError> {
    let state = state(config_path, &db.to_string_lossy(), "Administrator").await?;
    let tasks = Arc::new(background(&state));
    Ok(router_with(state, access).layer(axum::Extension(tasks)))
}
