//! Sessions as axum extractors and routes (CONTRACT section 6): the
//! session of a request (`X-Auth-Token` or the session cookie) resolved to
//! its stored user, a session or a bearer token for routes like `/me`, and
//! the session endpoints (`GET /api/session`, `POST /api/auth/logout`,
//! `POST /logout`).

use std::borrow::Cow;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use ::axum::Router;
use ::axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts, State};
use ::axum::http::header::{AUTHORIZATION, CACHE_CONTROL, LOCATION, SET_COOKIE};
use ::axum::http::request::Parts;
use ::axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::{get, post};

use super::login::{LoginOptions, SESSION_COOKIE, ascii_location, session_cookie};
use super::{HttpError, Identity, JwtAuth, header_str, joined_cookies};
use crate::error::Error;
use crate::error::StoreError;
use crate::session::Sessions;
use crate::store::{Session, SessionStore, User, UserStore};

/// How long the stores may take for one session request before it is
/// refused with `store` (503).
const STORE_TIMEOUT: Duration = Duration::from_secs(4);

/// The header that carries a session token (CONTRACT section 6).
static X_AUTH_TOKEN: HeaderName = HeaderName::from_static("x-auth-token");

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The sessions and the users behind [`SessionAuth`], whatever their stores.
/// A request's session and user come from one future ([`Backend::resolve`]):
/// one allocation per request for the type erasure, not one per store call.
trait Backend: Send + Sync {
    fn resolve<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<CurrentUser>, Error>>;
    fn lookup<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<Session>, Error>>;
    fn logout<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<bool, Error>>;
    fn end_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, Error>>;
    fn end_config<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<u64, Error>>;
    fn logout_url(&self, session: &Session) -> Option<String>;
    fn knows_config(&self, name: &str) -> bool;
}

struct Stores<S, U> {
    sessions: Arc<Sessions<S>>,
    users: U,
}

impl<S: SessionStore + 'static, U: UserStore + 'static> Backend for Stores<S, U> {
    fn resolve<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<CurrentUser>, Error>> {
        Box::pin(async move {
            let Some(session) = self.sessions.lookup(token).await? else {
                return Ok(None);
            };
            let user = self
                .users
                .find(&session.user_id)
                .await
                .map_err(|e| Error::from(e.during("finding the session's user")))?;
            Ok(user.map(|user| CurrentUser { user, session }))
        })
    }
    fn lookup<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<Session>, Error>> {
        Box::pin(self.sessions.lookup(token))
    }
    fn logout<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<bool, Error>> {
        Box::pin(self.sessions.logout(token))
    }
    fn end_user<'a>(&'a self, user_id: &'a str) -> BoxFuture<'a, Result<u64, Error>> {
        Box::pin(self.sessions.end_user(user_id))
    }
    fn end_config<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<u64, Error>> {
        Box::pin(self.sessions.end_config(name))
    }
    fn logout_url(&self, session: &Session) -> Option<String> {
        self.sessions.config_of(session)?.logout_url
    }
    fn knows_config(&self, name: &str) -> bool {
        self.sessions
            .registry()
            .is_some_and(|r| r.get(name).is_some())
    }
}

/// The state of the session extractors ([`CurrentUser`], [`SessionOrBearer`])
/// and of the session routes ([`SessionAuth::router`]): the sessions and the
/// user store, type-erased so that a host picks its stores at run time.
/// Cheap to clone; put it in the router's state (directly or through
/// [`FromRef`]).
///
/// A session comes from `X-Auth-Token` or, failing that, the session cookie
/// (`jwt_sso_session` unless [`LoginOptions::session_cookie`] says
/// otherwise).
#[derive(Clone)]
pub struct SessionAuth {
    // One reference count: axum clones the state for every request (and
    // `FromRef` once more).
    inner: Arc<Inner<dyn Backend>>,
}

struct Inner<B: ?Sized> {
    cookie: Option<String>,
    options: LoginOptions,
    backend: B,
}

impl std::fmt::Debug for SessionAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionAuth")
            .field("cookie", &self.inner.cookie)
            .finish_non_exhaustive()
    }
}

impl SessionAuth {
    /// Sessions in `sessions` (build them with
    /// [`Sessions::ending_with`](crate::Sessions::ending_with) so that they
    /// end with their configuration), their users in `users`, the cookie
    /// and its attributes as the login routes' `options` set them.
    pub fn new<S: SessionStore + 'static, U: UserStore + 'static>(
        sessions: Arc<Sessions<S>>,
        users: U,
        options: &LoginOptions,
    ) -> Self {
        SessionAuth {
            inner: Arc::new(Inner {
                cookie: options.session_cookie.clone(),
                options: options.clone(),
                backend: Stores { sessions, users },
            }),
        }
    }

    fn backend(&self) -> &dyn Backend {
        &self.inner.backend
    }

    /// The session token of a request: `X-Auth-Token`, else the session
    /// cookie; borrowed from the headers (owned only when the cookie came
    /// in several `Cookie` headers).
    fn token<'h>(&self, headers: &'h HeaderMap) -> Result<Option<Cow<'h, str>>, HttpError> {
        if let Some(token) = header_str(headers, &X_AUTH_TOKEN)? {
            return Ok(Some(Cow::Borrowed(token.trim())));
        }
        let Some(name) = &self.inner.cookie else {
            return Ok(None);
        };
        Ok(match joined_cookies(headers)? {
            None => None,
            Some(Cow::Borrowed(cookies)) => {
                super::request::cookie(cookies, name)?.map(Cow::Borrowed)
            }
            Some(Cow::Owned(cookies)) => {
                super::request::cookie(&cookies, name)?.map(|token| Cow::Owned(token.to_owned()))
            }
        })
    }

    async fn current(&self, parts: &Parts) -> Result<Option<CurrentUser>, HttpError> {
        let Some(token) = self.token(&parts.headers)? else {
            return Ok(None);
        };
        match bounded(self.backend().resolve(&token)).await? {
            Some(current) => Ok(Some(current)),
            None => Err(HttpError::refused_credential(
                "the session is unknown or has ended; log in again",
            )),
        }
    }

    /// `GET /api/session` (`X-Auth-Token` or the cookie: the session's user),
    /// `POST /api/auth/logout` (`X-Auth-Token`: `204`) and `POST /logout`
    /// (the browser's cookie: the session ends, the cookie is cleared, `303`
    /// to the `logout_url` of the configuration that created the session,
    /// or `/`). Logging out is not a login attempt: it makes no login event;
    /// it logs one `tracing` event (target `jwt_sso::http`, INFO) with the
    /// user ID.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        Router::new()
            .route("/api/session", get(session_user))
            .route("/api/auth/logout", post(api_logout))
            .route("/logout", post(browser_logout))
            .with_state(self.clone())
    }

    /// Ends every session of `user_id`; how many.
    pub(crate) async fn end_user(&self, user_id: &str) -> Result<u64, Error> {
        bounded(self.backend().end_user(user_id)).await
    }

    /// Ends every session that configuration `name` created; how many.
    /// `None`: no configuration has that name.
    pub(crate) async fn end_config(&self, name: &str) -> Result<Option<u64>, Error> {
        if !self.backend().knows_config(name) {
            return Ok(None);
        }
        bounded(self.backend().end_config(name)).await.map(Some)
    }

    /// The stored user of the session whose token is `token` (the admin API
    /// reads it from `X-Auth-Token` only), within the store timeout; `None`
    /// for an unknown, expired or ended session.
    pub(crate) async fn stored_user(&self, token: &str) -> Result<Option<User>, Error> {
        Ok(bounded(self.backend().resolve(token))
            .await?
            .map(|c| c.user))
    }
}

/// `work`, refused with `store` when it takes longer than [`STORE_TIMEOUT`]
/// (CONTRACT section 6: a slow or locked store answers `503` `store` within
/// 5 s). `work` is polled once before the timer is armed, so that a store
/// that answers at once (in memory, a cache) costs no timer: no clock read
/// and no registration with the runtime's timer wheel.
async fn bounded<T>(work: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
    let mut work = pin!(work);
    if let Poll::Ready(result) =
        std::future::poll_fn(|cx| Poll::Ready(work.as_mut().poll(cx))).await
    {
        return result;
    }
    match tokio::time::timeout(STORE_TIMEOUT, work).await {
        Ok(result) => result,
        Err(_) => {
            let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "the store timed out");
            Err(StoreError::failed(late).during("serving a session").into())
        }
    }
}

fn no_session() -> HttpError {
    HttpError::unauthorized("the request carries no session; log in first")
}

/// The signed-in user of a request: its session (`X-Auth-Token`, or the
/// session cookie) resolved to the stored user with its roles. Needs
/// [`SessionAuth`] in the router's state (directly or through [`FromRef`]).
///
/// Without a session: `401` `unauthorized` (`WWW-Authenticate: Bearer`);
/// with an unknown or ended one: the same with `error="invalid_token"`;
/// `503` `store` when the stores do not answer. `Option<CurrentUser>`:
/// `None` without a session (an unknown one is still refused).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CurrentUser {
    /// The user as the store holds it.
    pub user: User,
    /// The session.
    pub session: Session,
}

impl<St> FromRequestParts<St> for CurrentUser
where
    SessionAuth: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, HttpError> {
        SessionAuth::from_ref(state)
            .current(parts)
            .await?
            .ok_or_else(no_session)
    }
}

impl<St> OptionalFromRequestParts<St> for CurrentUser
where
    SessionAuth: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Option<Self>, HttpError> {
        SessionAuth::from_ref(state).current(parts).await
    }
}

/// A request's caller on a route that takes a session or a bearer token
/// (`/me`): `Authorization: Bearer <jwt>` is verified as [`Identity`] does
/// (configurations with `bearer: true` only); else the session as
/// [`CurrentUser`]. Needs [`SessionAuth`] and [`JwtAuth`] in the state.
/// Serializes as `GET /api/me` answers (CONTRACT section 6):
/// `{"via":"session","user":{…}}` or `{"via":"bearer","identity":{…}}`.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionOrBearer {
    /// A session's stored user.
    Session(CurrentUser),
    /// A verified bearer token's identity.
    Bearer(Identity),
}

impl<St> FromRequestParts<St> for SessionOrBearer
where
    SessionAuth: FromRef<St>,
    JwtAuth: FromRef<St>,
    St: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &St) -> Result<Self, HttpError> {
        if parts.headers.contains_key(AUTHORIZATION) {
            let identity = JwtAuth::from_ref(state).verify_request(parts).await?;
            return Ok(SessionOrBearer::Bearer(Identity(identity)));
        }
        match SessionAuth::from_ref(state).current(parts).await? {
            Some(current) => Ok(SessionOrBearer::Session(current)),
            None => Err(HttpError::unauthorized(
                "the request carries no session and no bearer token",
            )),
        }
    }
}

/// As CONTRACT section 6's `GET /api/me` answers:
/// `{"via":"session","user":{"user_id","name","email","user_type","roles"}}`
/// or `{"via":"bearer","identity":{…section 5…}}`.
impl serde::Serialize for SessionOrBearer {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct UserView<'a> {
            user_id: &'a str,
            name: &'a Option<String>,
            email: &'a Option<String>,
            user_type: &'a str,
            roles: &'a [String],
        }
        #[derive(serde::Serialize)]
        #[serde(tag = "via", rename_all = "lowercase")]
        enum View<'a> {
            Session { user: UserView<'a> },
            Bearer { identity: &'a crate::Verified },
        }
        let view = match self {
            SessionOrBearer::Session(current) => {
                let u = &current.user;
                View::Session {
                    user: UserView {
                        user_id: &u.user_id,
                        name: &u.name,
                        email: &u.email,
                        user_type: &u.user_type,
                        roles: &u.roles,
                    },
                }
            }
            SessionOrBearer::Bearer(Identity(identity)) => View::Bearer { identity },
        };
        view.serialize(serializer)
    }
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /api/session`: the session's user. Its `401` is plain `Bearer`
/// (CONTRACT section 6 pins no error parameter here).
async fn session_user(current: Result<CurrentUser, HttpError>) -> Response {
    let current = match current {
        Ok(current) => current,
        Err(HttpError::Unauthorized { problem, .. }) => {
            return HttpError::unauthorized(problem).into_response();
        }
        Err(other) => return other.into_response(),
    };
    let user = &current.user;
    let body = serde_json::json!({"user": {
        "user_id": user.user_id, "user_type": user.user_type, "roles": user.roles,
    }});
    no_store(::axum::Json(body).into_response())
}

/// `POST /api/auth/logout` with `X-Auth-Token`: `204`.
async fn api_logout(
    State(auth): State<SessionAuth>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let token = header_str(&headers, &X_AUTH_TOKEN)?.unwrap_or("").trim();
    if bounded(auth.backend().logout(token)).await? {
        tracing::info!(target: "jwt_sso::http", "session ended (logout)");
        Ok(no_store(StatusCode::NO_CONTENT.into_response()))
    } else {
        Err(HttpError::unauthorized(
            "the session is unknown or has ended",
        ))
    }
}

/// `POST /logout`: ends the cookie's session, clears the cookie, `303` to
/// the `logout_url` of the session's configuration or `/`.
async fn browser_logout(State(auth): State<SessionAuth>, headers: HeaderMap) -> Response {
    let mut target = "/".to_owned();
    if let Ok(Some(token)) = auth.token(&headers) {
        if let Ok(Some(session)) = bounded(auth.backend().lookup(&token)).await {
            if let Some(url) = auth.backend().logout_url(&session) {
                target = url;
            }
            tracing::info!(target: "jwt_sso::http", user_id = %crate::error::escape_controls(&session.user_id), "session ended (logout)");
        }
        if let Err(e) = bounded(auth.backend().logout(&token)).await {
            return HttpError::Core(e).into_response();
        }
    }
    let location = ascii_location(&target);
    let mut response = (StatusCode::SEE_OTHER, [(LOCATION, location.as_str())]).into_response();
    let name = auth
        .inner
        .cookie
        .clone()
        .unwrap_or_else(|| SESSION_COOKIE.to_owned());
    let mut removal = session_cookie(name, String::new(), &auth.inner.options);
    removal.make_removal();
    if let Ok(value) = HeaderValue::from_str(&removal.to_string()) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    no_store(response)
}
