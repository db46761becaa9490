//! The `login_server` host: a registry file of JWT configurations; users,
//! sessions and used `jti`s in a SQLite file (`sqlite.rs`). The login
//! endpoints, error responses and sessions come from `jwt_sso::axum` and
//! `jwt_sso::session`; `main.rs` reads the command line; tests build the
//! same router with [`app`].

#[path = "sqlite.rs"]
mod sqlite;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::http::{HeaderMap, StatusCode, header::CACHE_CONTROL};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jwt_sso::axum::{LoginOptions, LoginRoutes};
use jwt_sso::session::Sessions;
use jwt_sso::{Authenticator, Error, Registry, UserStore};
use serde_json::json;
pub use sqlite::SqliteStore;

/// How long a store call of the session endpoints may take before `503`.
const STORE_TIMEOUT: Duration = Duration::from_secs(4);

/// What every handler shares (the admin router takes it too, through [`FromRef`]).
#[derive(Clone)]
pub struct AppState {
    /// The login endpoints (registry, users, sessions).
    pub login: LoginRoutes<SqliteStore, Arc<Sessions<SqliteStore>>>,
    /// The sessions.
    pub sessions: Arc<Sessions<SqliteStore>>,
    /// The role that makes a session an administrator (`--admin-role`).
    pub admin_role: Arc<str>,
}

impl FromRef<AppState> for Arc<Registry> {
    fn from_ref(state: &AppState) -> Self {
        Arc::clone(state.login.authenticator().registry())
    }
}

/// The state of the server: configurations from `config_path` (one object
/// or an array), the SQLite file `db_path` (created if missing).
pub fn state(config_path: &Path, db_path: &Path, admin_role: &str) -> Result<AppState, Error> {
    let registry = Arc::new(Registry::load(config_path)?);
    let db = SqliteStore::open(db_path).map_err(|e| Error::Store {
        action: format!("opening `{}`", db_path.display()),
        source: e.into(),
    })?;
    let sessions = Arc::new(Sessions::new(db.clone()));
    let auth = Authenticator::new(registry, db).update_profiles(true);
    let options = LoginOptions::default().query_login(true);
    Ok(AppState {
        login: LoginRoutes::new(auth, Arc::clone(&sessions), options),
        sessions,
        admin_role: admin_role.into(),
    })
}

/// The router over `state`: the seam where the administrator's router is merged in.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/session", get(session))
        .route("/api/auth/logout", post(logout))
        .with_state(state.clone())
        .merge(state.login.router())
}

/// [`router`] over [`state`] with the default administrator role.
#[allow(dead_code)] // tests/login_server.rs
pub fn app(config_path: &Path, db_path: &Path) -> Result<Router, Error> {
    let state = state(config_path, db_path, "Administrator")?;
    Sessions::spawn_purger(&state.sessions, Duration::from_secs(60));
    Ok(router(state))
}

fn session_token(headers: &HeaderMap) -> &str {
    headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn no_session() -> Error {
    Error::Unauthorized {
        problem: "no valid session; log in again".to_owned(),
    }
}

async fn bounded<T>(work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    tokio::time::timeout(STORE_TIMEOUT, work)
        .await
        .unwrap_or_else(|_| {
            Err(Error::Store {
                action: "serving a session".into(),
                source: "the store timed out".into(),
            })
        })
}

/// `GET /api/session` with `X-Auth-Token`: the session's user.
async fn session(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, Error> {
    let user = bounded(async {
        let Some(session) = state.sessions.lookup(session_token(&headers)).await? else {
            return Ok(None);
        };
        let store = state.login.authenticator().store();
        store
            .find(&session.user_id)
            .await
            .map_err(|e| Error::Store {
                action: "finding the session's user".into(),
                source: e.to_string().into(),
            })
    })
    .await?
    .ok_or_else(no_session)?;
    let body = json!({"user": {"user_id": user.user_id, "user_type": user.user_type, "roles": user.roles}});
    Ok(([(CACHE_CONTROL, "no-store")], Json(body)).into_response())
}

/// `POST /api/auth/logout` with `X-Auth-Token`: `204`, the session ends.
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> Result<StatusCode, Error> {
    match bounded(state.sessions.logout(session_token(&headers))).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(no_session()),
    }
}
