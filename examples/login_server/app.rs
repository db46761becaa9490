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

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header::CACHE_CONTROL};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jwt_sso::axum::admin::{AdminAccess, SessionUser};
use jwt_sso::axum::{HttpError, LoginOptions, LoginRoutes};
use jwt_sso::{
    Admin, AdminError, Authenticator, ConfigFile, Configs, Error, Sessions, SqlOptions, SqlStore,
    StoreError, Task, UserStore,
};
use serde_json::json;

/// How long a store call of the session endpoints may take before `503`.
const STORE_TIMEOUT: Duration = Duration::from_secs(4);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The login endpoints (registry, users, used `jti`s, sessions).
    pub login: LoginRoutes<SqlStore, Arc<Sessions<SqlStore>>, SqlStore>,
    /// The sessions.
    pub sessions: Arc<Sessions<SqlStore>>,
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
    /// `--roles`: the host's roles, what the administrator's saves may name
    /// and the console's choices (empty: any).
    pub roles: Vec<String>,
    /// `--user-types`: the host's user types (empty: any).
    pub user_types: Vec<String>,
}

impl Default for Ops {
    fn default() -> Self {
        Ops {
            event_retention: 10_000,
            max_failed_logins: 20,
            trust_forwarded_for: false,
            roles: Vec::new(),
            user_types: Vec::new(),
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
/// `admin_role` is the host's administrator role: no token gives it unless
/// its configuration has `may_grant_admin`.
async fn configs(
    config_path: &Path,
    db: &SqlStore,
    admin_role: &str,
) -> Result<Configs, AdminError> {
    if db.backend_name() != "PostgreSQL" {
        return Configs::new(ConfigFile::new(config_path))
            .with_admin_roles([admin_role])
            .load()
            .await;
    }
    let configs = Configs::new(db.clone())
        .with_admin_roles([admin_role])
        .load()
        .await?;
    configs.seed_from(&ConfigFile::new(config_path)).await?;
    Ok(configs)
}

/// The state of the server: the database `db` (a SQLite file, created if
/// missing, or `postgres://…`) and the configurations (see the module docs).
#[allow(dead_code)] // main.rs uses `state_with`
pub async fn state(config_path: &Path, db: &str, admin_role: &str) -> Result<AppState, AdminError> {
    state_with(config_path, db, admin_role, &Ops::default()).await
}

/// [`state`] with the operating options `ops` (and the host's catalogue).
/// `admin_role` opens the admin API to a session, and no token gives it
/// unless its configuration has `may_grant_admin`.
pub async fn state_with(
    config_path: &Path,
    db: &str,
    admin_role: &str,
    ops: &Ops,
) -> Result<AppState, AdminError> {
    let store = open_db(db)
        .await
        .map_err(|e| e.during("opening the database"))?;
    let configs = configs(config_path, &store, admin_role).await?;
    let registry = Arc::clone(configs.registry());
    for warning in registry.warnings() {
        tracing::warn!("configuration warning: {warning:?}");
    }
    for (name, error) in registry.warm_up().await {
        tracing::warn!(config = %name, kind = error.kind().as_str(), "key warm-up failed: {error}");
    }
    // Metrics (when a recorder is installed): every series at 0 from the start.
    jwt_sso::metrics::describe(&registry);
    let sessions = Arc::new(Sessions::new(store.clone(), registry.clock()));
    let auth = Authenticator::new(registry, store.clone()).with_replay_store(store.clone());
    let event_writer =
        Arc::new(store.spawn_event_writer(auth.subscribe(4096), ops.event_retention));
    let options = LoginOptions::default()
        .query_login(true)
        .max_failed_logins(ops.max_failed_logins)
        .trust_forwarded_for(ops.trust_forwarded_for);
    Ok(AppState {
        login: LoginRoutes::new(auth, Arc::clone(&sessions), options),
        sessions,
        admin: Arc::new(
            Admin::new(configs.clone()).with_catalog(ops.roles.clone(), ops.user_types.clone()),
        ),
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
    let sessions = Arc::clone(&state.sessions);
    let users = state.db.clone();
    let resolver = move |token: String| {
        let (sessions, users) = (Arc::clone(&sessions), users.clone());
        async move {
            let Some(session) = sessions.lookup(&token).await? else {
                return Ok(None);
            };
            let user = users
                .find(&session.user_id)
                .await
                .map_err(|e| e.during("finding the session's user"))?;
            Ok(user.map(|u| SessionUser {
                user_id: u.user_id,
                roles: u.roles,
            }))
        }
    };
    let access = access.with_sessions(resolver, state.admin_role.to_string());
    Router::new()
        .route("/api/session", get(session))
        .route("/api/auth/logout", post(logout))
        .with_state(state.clone())
        .merge(state.login.router())
        .merge(jwt_sso::axum::admin::events_router(
            state.db.clone(),
            access.clone(),
        ))
        .merge(jwt_sso::axum::admin::router(
            Arc::clone(&state.admin),
            access,
        ))
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

fn session_token(headers: &HeaderMap) -> &str {
    headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn no_session() -> HttpError {
    HttpError::unauthorized("no valid session; log in again")
}

async fn bounded<T>(work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::time::timeout(STORE_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "the store timed out");
            Err(StoreError::failed(late).during("serving a session").into())
        })
}

/// `GET /api/session` with `X-Auth-Token`: the session's user.
async fn session(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, HttpError> {
    let user = bounded(async {
        let Some(session) = state.sessions.lookup(session_token(&headers)).await? else {
            return Ok(None);
        };
        let store = state.login.authenticator().store();
        store
            .find(&session.user_id)
            .await
            .map_err(|e| e.during("finding the session's user").into())
    })
    .await?
    .ok_or_else(no_session)?;
    let body = json!({"user": {"user_id": user.user_id, "user_type": user.user_type, "roles": user.roles}});
    Ok(([(CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// `POST /api/auth/logout` with `X-Auth-Token`: `204`, the session ends.
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<StatusCode, HttpError> {
    match bounded(state.sessions.logout(session_token(&headers))).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(no_session()),
    }
}
