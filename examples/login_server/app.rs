//! The `login_server` host: a registry file of JWT configurations, users in a
//! SQLite file, opaque sessions in memory. `main.rs` reads the command line;
//! tests build the same router with [`app`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use jwt_sso::extract::{LoginRequest, query_param};
use jwt_sso::{
    Authenticator, Error, ErrorKind, Login, MappedIdentity, Registry, StoreError, User, UserStore,
};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::json;

/// How long a session token stays valid.
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// The router of the server: configurations from `config_path` (one object
/// or an array), users in the SQLite file `db_path` (created if missing).
pub fn app(config_path: &Path, db_path: &Path) -> Result<Router, Error> {
    let registry = Registry::load(config_path)?;
    let store = SqliteStore::open(db_path).map_err(|e| Error::Store {
        action: format!("opening `{}`", db_path.display()),
        source: e.into(),
    })?;
    let state = Arc::new(AppState {
        auth: Authenticator::new(Arc::new(registry), store).update_profiles(true),
        sessions: Mutex::default(),
    });
    Ok(Router::new()
        .route("/api/auth/login", post(login_post))
        .route("/login", get(login_get))
        .route("/api/session", get(session))
        .with_state(state))
}

struct AppState {
    auth: Authenticator<SqliteStore>,
    /// Session token → user ID and expiry.
    sessions: Mutex<HashMap<String, (String, Instant)>>,
}

/// `POST /api/auth/login` with `{"loginMode":67108864,"password":"<jwt>"}`.
async fn login_post(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    match LoginRequest::parse(&body) {
        Ok(request) => state.login(request.token()).await,
        Err(error) => failure(error),
    }
}

/// `GET /login?<token_name>=<jwt>`, under the `token_name` of any enabled configuration.
async fn login_get(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let mut tokens = Vec::new();
    for name in state.auth.registry().token_names() {
        match query_param(&query, &name) {
            Ok(Some(token)) => tokens.push(token.into_owned()),
            Ok(None) => {}
            Err(error) => return failure(error),
        }
    }
    match tokens.as_slice() {
        [token] => state.login(token).await,
        [] => failure(Error::BadRequest {
            problem: format!(
                "no token: send it in the query parameter named by the configuration's token_name ({})",
                state.auth.registry().token_names().join(", ")
            ),
        }),
        _ => failure(Error::BadRequest {
            problem: "more than one token parameter; send one token".to_owned(),
        }),
    }
}

/// `GET /api/session` with `X-Auth-Token`: the session's user.
async fn session(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let token = headers
        .get("x-auth-token")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let user_id = {
        let sessions = state
            .sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        sessions
            .get(token)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(id, _)| id.clone())
    };
    let user = match user_id {
        Some(id) => state.auth.store().find(&id).await.ok().flatten(),
        None => None,
    };
    match user {
        Some(user) => Json(json!({ "user": UserBody::from(&user) })).into_response(),
        None => {
            let error =
                json!({"kind": "invalid_session", "message": "no valid session; log in again"});
            (StatusCode::UNAUTHORIZED, Json(ErrorBody { error })).into_response()
        }
    }
}

impl AppState {
    async fn login(&self, token: &str) -> Response {
        let Login {
            first_login,
            user,
            identity,
        } = match self.auth.login(token).await {
            Ok(login) => login,
            Err(error) => return failure(error),
        };
        let Some(session) = self.new_session(&user.user_id) else {
            let error = json!({"kind": "internal", "message": "no random session token available"});
            return (StatusCode::INTERNAL_SERVER_ERROR, Json(ErrorBody { error })).into_response();
        };
        let body = LoginBody {
            first_login,
            user: UserBody::from(&user),
            identity: &identity,
        };
        (StatusCode::OK, [("x-auth-token", session)], Json(body)).into_response()
    }

    /// 32 bytes from the operating system's CSPRNG, as hex.
    fn new_session(&self, user_id: &str) -> Option<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let now = Instant::now();
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions.retain(|_, (_, expires)| *expires > now);
        sessions.insert(token.clone(), (user_id.to_owned(), now + SESSION_LIFETIME));
        Some(token)
    }
}

/// The response body of a login, members in the order of CONTRACT section 6.
#[derive(Serialize)]
struct LoginBody<'a> {
    first_login: bool,
    user: UserBody<'a>,
    identity: &'a MappedIdentity,
}

#[derive(Serialize)]
struct UserBody<'a> {
    user_id: &'a str,
    user_type: &'a str,
    roles: &'a [String],
}

impl<'a> From<&'a User> for UserBody<'a> {
    fn from(user: &'a User) -> Self {
        UserBody {
            user_id: &user.user_id,
            user_type: &user.user_type,
            roles: &user.roles,
        }
    }
}

/// `{"error": …}`, serialised in place so that members keep their order.
#[derive(Serialize)]
struct ErrorBody<T> {
    error: T,
}

/// 400 for a token sent the wrong way, 500 for a failing store, 401 for a
/// rejected token: `{"error":{"kind","message","hint"}}` (400: no hint).
fn failure(error: Error) -> Response {
    let status = match error.kind() {
        ErrorKind::BadRequest => {
            let error = json!({"kind": "bad_request", "message": error.to_string()});
            return (StatusCode::BAD_REQUEST, Json(ErrorBody { error })).into_response();
        }
        ErrorKind::Store => {
            let source = std::error::Error::source(&error)
                .map(|s| s.to_string())
                .unwrap_or_default();
            eprintln!("login_server: {error}: {source}");
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::UNAUTHORIZED,
    };
    (status, Json(ErrorBody { error: &error })).into_response()
}

/// Users in SQLite: one connection behind a mutex, used on tokio's blocking
/// threads. The primary key makes a second `create` of one user a conflict.
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (or creates) the database file and its `users` table.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS users (
                user_id   TEXT PRIMARY KEY NOT NULL,
                user_type TEXT NOT NULL,
                roles     TEXT NOT NULL, -- a JSON array of role names
                name      TEXT,
                email     TEXT
            )",
        )?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            query(&conn.lock().unwrap_or_else(PoisonError::into_inner))
        })
        .await?
    }
}

impl UserStore for SqliteStore {
    async fn find(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let user_id = user_id.to_owned();
        self.run(move |conn| {
            let sql = "SELECT user_type, roles, name, email FROM users WHERE user_id = ?1";
            let row = conn
                .query_row(sql, [&user_id], |r| {
                    Ok((r.get(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()?;
            let Some((user_type, roles, name, email)) = row else {
                return Ok(None);
            };
            Ok(Some(User {
                user_id,
                user_type,
                roles: serde_json::from_str(&roles)?,
                name,
                email,
                created_by_config: None,
            }))
        })
        .await
    }

    async fn create(&self, identity: &MappedIdentity) -> Result<User, StoreError> {
        let user = User::from_identity(identity);
        self.run(move |conn| {
            let roles = serde_json::to_string(&user.roles)?;
            let sql = "INSERT INTO users (user_id, user_type, roles, name, email) VALUES (?1, ?2, ?3, ?4, ?5)";
            match conn.execute(sql, params![user.user_id, user.user_type, roles, user.name, user.email]) {
                Ok(_) => Ok(user),
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
                {
                    Err(StoreError::Conflict)
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn update_profile(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.run(move |conn| {
            let sql = "UPDATE users SET name = ?2, email = ?3 WHERE user_id = ?1";
            conn.execute(sql, params![user.user_id, user.name, user.email])?;
            Ok(())
        })
        .await
    }
}
