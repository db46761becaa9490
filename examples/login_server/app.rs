//! The `login_server` host: users, sessions and used `jti`s in jwt_sso's
//! `SqlStore` (a SQLite file or `postgres://…`); the JWT configurations in
//! the `--config` file (`ConfigFile`, changes written atomically) with a
//! file database, or in PostgreSQL (seeded from `--config` on first start
//! with an empty database). The login endpoints, error responses, sessions
//! and the administrator's API come from `jwt_sso::axum`; `main.rs` reads
//! the command line; tests build the same router with [`app`].

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
    Admin, AdminError, Authenticator, ConfigChange, ConfigError, ConfigFile, ConfigStore, Error,
    JwtConfig, Registry, Sessions, SqlOptions, SqlStore, StoreError, UserStore,
};
use serde_json::json;

/// How long a store call of the session endpoints may take before `503`.
const STORE_TIMEOUT: Duration = Duration::from_secs(4);

/// Where the configurations live: the `--config` file, or the database.
pub enum Configs {
    /// The `--config` file (a SQLite `--db`).
    File(ConfigFile),
    /// The PostgreSQL database.
    Sql(SqlStore),
}

impl ConfigStore for Configs {
    async fn load(&self) -> Result<(Vec<JwtConfig>, u64), StoreError> {
        match self {
            Configs::File(file) => file.load().await,
            Configs::Sql(sql) => sql.load().await,
        }
    }

    async fn apply(
        &self,
        change: ConfigChange<'_>,
        after: &[JwtConfig],
    ) -> Result<u64, StoreError> {
        match self {
            Configs::File(file) => file.apply(change, after).await,
            Configs::Sql(sql) => sql.apply(change, after).await,
        }
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        match self {
            Configs::File(file) => file.revision().await,
            Configs::Sql(sql) => sql.revision().await,
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The login endpoints (registry, users, used `jti`s, sessions).
    pub login: LoginRoutes<SqlStore, Arc<Sessions<SqlStore>>, SqlStore>,
    /// The sessions.
    pub sessions: Arc<Sessions<SqlStore>>,
    /// The administrator's operations.
    pub admin: Arc<Admin<Configs>>,
    /// The role that makes a session an administrator (`--admin-role`).
    pub admin_role: Arc<str>,
    /// The database.
    pub db: SqlStore,
}

/// Why the configurations could not be loaded: a `--config` file that does
/// not parse is the `config` error it is (its field, entry and name), and
/// one that cannot be read the `io` error; anything else is the store's.
fn load_failure(config_path: &Path, e: StoreError) -> AdminError {
    let loading = format!(
        "loading the configurations from `{}`",
        config_path.display()
    );
    if e.is_conflict() {
        return e.during(loading).into();
    }
    match e.into_source() {
        Some(source) => match source.downcast::<ConfigError>() {
            Ok(config) => AdminError::Config(*config),
            Err(source) => match source.downcast::<AdminError>() {
                Ok(admin) => *admin,
                Err(source) => StoreError::failed(source).during(loading).into(),
            },
        },
        None => StoreError::failed("the store failed without a cause")
            .during(loading)
            .into(),
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

/// The host's roles and user types (`--roles`, `--user-types`): what the
/// administrator's saves may name, and the console's choices. Empty: any.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// The roles users may have.
    pub roles: Vec<String>,
    /// The user types users may have.
    pub user_types: Vec<String>,
}

/// The state of the server: the database `db` (a SQLite file, created if
/// missing, or `postgres://…`) and the configurations (see the module docs).
/// `admin_role` opens the admin API to a session, and no token gives it
/// unless its configuration has `may_grant_admin`.
pub async fn state(
    config_path: &Path,
    db: &str,
    admin_role: &str,
    catalog: Catalog,
) -> Result<AppState, AdminError> {
    let store = open_db(db)
        .await
        .map_err(|e| e.during("opening the database"))?;
    let configs = if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        let (stored, _) = store
            .load()
            .await
            .map_err(|e| e.during("loading the configurations"))?;
        if stored.is_empty() {
            // First start with an empty database: `--config` seeds it.
            let seed = Registry::load(config_path)?.list();
            let mut after = Vec::new();
            for config in &seed {
                after.push(config.clone());
                match store.apply(ConfigChange::Create(config), &after).await {
                    Ok(_) => {}
                    Err(e) if e.is_conflict() => {} // another instance seeded it
                    Err(e) => return Err(e.during("seeding the configurations").into()),
                }
            }
        }
        Configs::Sql(store.clone())
    } else {
        Configs::File(ConfigFile::new(config_path))
    };
    let (loaded, _) = configs
        .load()
        .await
        .map_err(|e| load_failure(config_path, e))?;
    let registry = Arc::new(Registry::from_configs(loaded)?.with_admin_roles([admin_role]));
    for warning in registry.warnings() {
        tracing::warn!("configuration warning: {warning:?}");
    }
    for (name, error) in registry.warm_up().await {
        tracing::warn!(config = %name, kind = error.kind().as_str(), "key warm-up failed: {error}");
    }
    let sessions = Arc::new(Sessions::new(store.clone()));
    let auth =
        Authenticator::new(Arc::clone(&registry), store.clone()).with_replay_store(store.clone());
    let options = LoginOptions::default().query_login(true);
    Ok(AppState {
        login: LoginRoutes::new(auth, Arc::clone(&sessions), options),
        sessions,
        admin: Arc::new(
            Admin::new(registry, configs).with_catalog(catalog.roles, catalog.user_types),
        ),
        admin_role: admin_role.into(),
        db: store,
    })
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
        .merge(jwt_sso::axum::admin::router(
            Arc::clone(&state.admin),
            access,
        ))
}

/// [`router`] over [`state`] with the default administrator role, purging
/// expired sessions and `jti`s every minute (for as long as the router lives).
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
    let state = state(
        config_path,
        &db.to_string_lossy(),
        "Administrator",
        Catalog::default(),
    )
    .await?;
    let purge = Arc::new(state.db.spawn_purge(Duration::from_secs(60)));
    Ok(router_with(state, access).layer(axum::Extension(purge)))
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
