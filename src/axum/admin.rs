//! The administrator's JSON API and web console as an axum [`Router`]
//! (CONTRACT section 7). Everything it does is [`Admin`]'s; this module maps
//! HTTP onto it.
//!
//! | request | answer |
//! |---|---|
//! | `GET /api/admin/configs` | `200`, summaries sorted by name |
//! | `GET /api/admin/configs/{name}` | `200`, the redacted configuration, `ETag` |
//! | `POST /api/admin/configs` | `201` (`400` `config` with `field`, `409` `duplicate_name`) |
//! | `PUT /api/admin/configs/{name}` + `If-Match` | `200`, new `ETag` (`428`, `412`) |
//! | `PATCH /api/admin/configs/{name}` `{"enabled":…}` + `If-Match` | `200` |
//! | `DELETE /api/admin/configs/{name}?confirm={name}` | `204` (`400` `confirmation_required`) |
//! | `POST /api/admin/configs/{name}/test` `{"token","now"?}` | `200`, the checklist, the token's `header` and `claims`, `secret_index` |
//! | `GET /api/admin/catalog` | `200`, `{"roles":[…],"user_types":[…]}` (the host's, [`Admin::with_catalog`]) |
//! | `GET /admin`, `/admin/console.js`, `/admin/console.css` | the console (no data, no credentials) |
//! | `GET /api/admin/events?limit&config&outcome&kind&user_id&before` | `200` `{"events":[…],"next"}` ([`events_router`]) |
//! | `DELETE /api/admin/sessions?user_id=U` or `?config=NAME` | `200` `{"ended":N}` ([`sessions_router`]) |
//!
//! Names in paths are matched without regard to case. An `ETag` is the
//! stored configuration's version: random, new on every change, the same on
//! every instance of a database (nothing about the configuration can be
//! learnt from it); `If-Match` is compared strongly, so a weak tag never
//! matches. Every change goes through the owner of the configurations
//! (`Configs::apply`): saved, then in force. The caller's
//! credential is checked from the headers before any body is read: a
//! request without a valid one is answered `401` whatever its body, unread
//! (no `100 Continue` either). An authorized caller's body may hold at most
//! 64 KiB; a larger one is `413` (from `Content-Length` before reading, else
//! as soon as the limit is passed). Errors are
//! `{"error":{"kind","message","hint","field"?}}` with the status of their
//! kind. The configuration's warnings travel in the `X-Config-Warnings`
//! header (a JSON array of strings, non-ASCII escaped) of `GET`, `POST`,
//! `PUT` and `PATCH` answers, so that the body stays the configuration a
//! client sends back.
//!
//! **Who may call the API** ([`AdminAccess`], checked by the
//! [`AdminCaller`] extractor in every handler): `Authorization: Bearer
//! <admin token>` (compared in constant time), or a session (`X-Auth-Token`)
//! whose user has the administrator's role, resolved by the host's
//! [`SessionAuth`](super::SessionAuth) (`access.with_sessions(session_auth,
//! role)`: the sessions the login routes made, so that a session is an
//! administrator's only if the stored user has the role). Credentials are read from
//! headers only, never from cookies, so a cross-site form cannot use them. No or a bad credential is
//! `401` `unauthorized` (with `WWW-Authenticate: Bearer`); a session without
//! the role is `403` `forbidden`.
//!
//! ```no_run
//! use std::sync::Arc;
//! use jwt_sso::axum::admin::{AdminAccess, router};
//! use jwt_sso::{Admin, ConfigFile, Configs};
//!
//! # async fn host() -> Result<(), Box<dyn std::error::Error>> {
//! let configs = Configs::new(ConfigFile::new("jwt-configs.json")).load().await?;
//! let admin = Arc::new(Admin::new(configs));
//! let access = AdminAccess::from_env(); // JWT_SSO_ADMIN_TOKEN, read once
//! let app: axum::Router = router(admin, access); // merge into the host's router
//! # Ok(()) }
//! ```

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::body::{BodyRefusal, read_limited};
use super::{HttpError, status_of};
use crate::admin::{Admin, AdminError, Caller, ConfigView};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::error::Error;
use crate::error::ErrorKind;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
use crate::events::{EventQuery, LoginEvent};
use crate::unix_time::UnixTime;

/// The environment variable that holds the break-glass administrator's token.
const ADMIN_TOKEN_VAR: &str = "JWT_SSO_ADMIN_TOKEN";

/// The role a session's user needs by default (`login_server --admin-role`).
const DEFAULT_ADMIN_ROLE: &str = "Administrator";

/// The console's `Content-Security-Policy`: nothing but the page's own
/// script, styles and API.
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const INDEX_HTML: &str = include_str!("../../assets/console/index.html");
const CONSOLE_JS: &str = include_str!("../../assets/console/console.js");
const CONSOLE_CSS: &str = include_str!("../../assets/console/console.css");

/// Who may call the admin API: the break-glass token and/or sessions with
/// the administrator's role. [`AdminAccess::default`] lets nobody in.
#[derive(Clone, Default)]
pub struct AdminAccess {
    /// SHA-256 of the admin token: the token itself is not kept.
    token_digest: Option<[u8; 32]>,
    /// The sessions whose users may have the administrator's role.
    sessions: Option<super::SessionAuth>,
    role: Option<String>,
}

impl std::fmt::Debug for AdminAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAccess")
            .field("admin_token", &self.token_digest.map(|_| "[redacted]"))
            .field("sessions", &self.sessions.is_some())
            .field("role", &self.role())
            .finish()
    }
}

impl AdminAccess {
    /// Nobody gets in (add [`with_admin_token`](Self::with_admin_token) or
    /// [`with_sessions`](Self::with_sessions)).
    pub fn new() -> Self {
        AdminAccess::default()
    }

    /// The admin token from `JWT_SSO_ADMIN_TOKEN`, read now; an absent or
    /// empty variable gives no such access.
    pub fn from_env() -> Self {
        match std::env::var(ADMIN_TOKEN_VAR) {
            Ok(token) => AdminAccess::new().with_admin_token(token),
            Err(_) => AdminAccess::new(),
        }
    }

    /// Accepts `Authorization: Bearer <token>`; an empty token gives no access.
    pub fn with_admin_token(mut self, token: impl AsRef<str>) -> Self {
        let token = token.as_ref();
        self.token_digest = (!token.is_empty()).then(|| Sha256::digest(token.as_bytes()).into());
        self
    }

    /// Accepts `X-Auth-Token` sessions (never the cookie) of `sessions`
    /// whose stored user has `role` (exact match).
    pub fn with_sessions(mut self, sessions: super::SessionAuth, role: impl Into<String>) -> Self {
        self.sessions = Some(sessions);
        self.role = Some(role.into());
        self
    }

    /// The role a session's user needs.
    pub fn role(&self) -> &str {
        self.role.as_deref().unwrap_or(DEFAULT_ADMIN_ROLE)
    }

    /// Who the request's headers say the caller is.
    pub async fn authorize(&self, headers: &HeaderMap) -> Result<Caller, AdminError> {
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        if let (Some(token), Some(expected)) = (bearer, &self.token_digest) {
            let presented: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            if bool::from(presented.ct_eq(expected)) {
                return Ok(Caller::AdminToken);
            }
        }
        let session = headers.get("x-auth-token").and_then(|v| v.to_str().ok());
        if let (Some(token), Some(sessions)) = (session, &self.sessions) {
            let Some(user) = sessions.stored_user(token.trim()).await? else {
                return Err(unauthorized("the session is unknown or has ended"));
            };
            if user.roles.iter().any(|r| r == self.role()) {
                return Ok(Caller::User(user.user_id));
            }
            return Err(AdminError::Forbidden {
                problem: format!(
                    "the session's user does not have the administrator's role `{}`",
                    self.role()
                ),
            });
        }
        Err(unauthorized(match (bearer, session) {
            (Some(_), _) => "the administrator's token is not valid",
            (None, Some(_)) => "sessions cannot administer this server",
            (None, None) => {
                "no credential: send `Authorization: Bearer <admin token>` or `X-Auth-Token`"
            }
        }))
    }
}

/// The caller of an administrator's route, as an axum extractor: the
/// break-glass token (`Authorization: Bearer`) or an `X-Auth-Token` session
/// whose user has the administrator's role, as [`AdminAccess`] (from the
/// router's state, directly or through [`FromRef`](axum::extract::FromRef))
/// allows. Read from the headers only, so it runs before any body extractor
/// and a refused request's body is never read; the session cookie is not
/// an admin credential. Refused: `401` `unauthorized` (with
/// `WWW-Authenticate: Bearer`) or `403` `forbidden`, in the admin API's
/// error shape.
///
/// ```
/// use axum::{Router, routing::get};
/// use jwt_sso::axum::admin::{AdminAccess, AdminCaller};
///
/// let app: Router = Router::new()
///     .route("/api/admin/whoami", get(|AdminCaller(who): AdminCaller| async move {
///         who.created_by().to_owned()
///     }))
///     .with_state(AdminAccess::from_env());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminCaller(pub Caller);

impl<S> FromRequestParts<S> for AdminCaller
where
    AdminAccess: axum::extract::FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Response> {
        let access = <AdminAccess as axum::extract::FromRef<S>>::from_ref(state);
        match access.authorize(&parts.headers).await {
            Ok(caller) => Ok(AdminCaller(caller)),
            Err(e) => Err(ApiError::from(e).into_response()),
        }
    }
}

impl axum::extract::FromRef<Arc<Ctx>> for AdminAccess {
    fn from_ref(ctx: &Arc<Ctx>) -> AdminAccess {
        ctx.access.clone()
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl axum::extract::FromRef<Arc<EventsCtx>> for AdminAccess {
    fn from_ref(ctx: &Arc<EventsCtx>) -> AdminAccess {
        ctx.access.clone()
    }
}

impl axum::extract::FromRef<Arc<(super::SessionAuth, AdminAccess)>> for AdminAccess {
    fn from_ref(ctx: &Arc<(super::SessionAuth, AdminAccess)>) -> AdminAccess {
        ctx.1.clone()
    }
}

fn unauthorized(problem: &str) -> AdminError {
    AdminError::Unauthorized {
        problem: problem.to_owned(),
    }
}

struct Ctx {
    admin: Arc<Admin>,
    access: AdminAccess,
}

type Shared = State<Arc<Ctx>>;

/// The admin API and the console, ready to merge into a host's router.
pub fn router<S: Clone + Send + Sync + 'static>(
    admin: Arc<Admin>,
    access: AdminAccess,
) -> Router<S> {
    let ctx = Arc::new(Ctx { admin, access });
    Router::new()
        .route("/api/admin/configs", get(list).post(create))
        .route(
            "/api/admin/configs/{name}",
            get(view).put(update).patch(patch).delete(delete),
        )
        .route("/api/admin/configs/{name}/test", post(test))
        .route("/api/admin/catalog", get(catalog))
        .route("/admin", get(console_page))
        .route("/admin/console.js", get(console_js))
        .route("/admin/console.css", get(console_css))
        .with_state(ctx)
}

/// `GET /api/admin/events` (CONTRACT section 9): the login events that
/// `store` keeps ([`SqlStore::spawn_event_writer`](crate::SqlStore::spawn_event_writer)),
/// newest first, for the callers `access` lets in (as the rest of the admin
/// API). Query parameters ([`EventQuery::parse`]): `limit` (1–500, default
/// 50), `config` (any case), `outcome` (`accepted`|`refused`), `kind`,
/// `user_id` and `before` (the `next` of the previous page); anything else
/// is `400` `bad_request`. Answer: `{"events":[…newest first…],"next":<id>|null}`
/// (`next` is `null` on the last page). Merge it beside [`router`].
///
/// ```no_run
/// # async fn host(admin: axum::Router) -> Result<(), Box<dyn std::error::Error>> {
/// use jwt_sso::axum::admin::{AdminAccess, events_router};
///
/// let db = jwt_sso::SqlStore::open("sqlite:jwt-sso.sqlite").await?;
/// let app = admin.merge(events_router(db, AdminAccess::from_env()));
/// # Ok(()) }
/// ```
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub fn events_router<S: Clone + Send + Sync + 'static>(
    store: crate::SqlStore,
    access: AdminAccess,
) -> Router<S> {
    let ctx = Arc::new(EventsCtx { store, access });
    Router::new()
        .route("/api/admin/events", get(events))
        .with_state(ctx)
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
struct EventsCtx {
    store: crate::SqlStore,
    access: AdminAccess,
}

/// A page of `GET /api/admin/events`.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[derive(serde::Serialize)]
struct EventPage {
    events: Vec<LoginEvent>,
    /// The `before` of the next (older) page; `None` on the last one.
    next: Option<u64>,
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
async fn events(
    _: AdminCaller,
    State(ctx): State<Arc<EventsCtx>>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let query = EventQuery::parse(uri.query().unwrap_or(""))?;
    // One more than asked: whether there is a next page.
    let mut events = ctx
        .store
        .select_events(&query, query.limit + 1)
        .await
        .map_err(|e| HttpError::Core(Error::from(e.during("reading the login events"))))?;
    let more = events.len() > query.limit as usize;
    events.truncate(query.limit as usize);
    let next = if more {
        events.last().map(|e| e.id)
    } else {
        None
    };
    Ok(json_response(
        StatusCode::OK,
        serde_json::to_value(EventPage { events, next }).unwrap_or_default(),
    ))
}

/// `DELETE /api/admin/sessions?user_id=U` and `DELETE
/// /api/admin/sessions?config=NAME` (CONTRACT section 6): end the user's
/// sessions, or those the configuration created, at once → `200`
/// `{"ended":N}`; for the callers `access` lets in (as the rest of the admin
/// API). Exactly one of the two parameters; an unknown configuration name
/// is `404` `unknown_config`. Merge it beside [`router`].
pub fn sessions_router<S: Clone + Send + Sync + 'static>(
    sessions: super::SessionAuth,
    access: AdminAccess,
) -> Router<S> {
    let ctx = Arc::new((sessions, access));
    Router::new()
        .route("/api/admin/sessions", axum::routing::delete(end_sessions))
        .with_state(ctx)
}

async fn end_sessions(
    _: AdminCaller,
    State(ctx): State<Arc<(super::SessionAuth, AdminAccess)>>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let sessions = &ctx.0;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let ended = match pairs.as_slice() {
        [(key, user)] if key == "user_id" && !user.is_empty() => {
            sessions.end_user(user).await.map_err(HttpError::Core)?
        }
        [(key, name)] if key == "config" && !name.is_empty() => {
            match sessions.end_config(name).await.map_err(HttpError::Core)? {
                Some(n) => n,
                None => {
                    return Err(ApiError::from(AdminError::unknown(name, Vec::new())));
                }
            }
        }
        _ => {
            return Err(bad_request(
                "name the sessions to end with exactly one of `user_id=<user>` or `config=<name>`",
            ));
        }
    };
    Ok(json_response(StatusCode::OK, json!({ "ended": ended })))
}

/// The largest request body the API reads from an authorized caller.
const MAX_BODY_BYTES: usize = 64 * 1024;

/// An error as the admin API answers it: the status of its kind, or
/// `status` when the HTTP layer decided one (`413`).
struct ApiError {
    error: HttpError,
    status: Option<StatusCode>,
}

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> Self {
        ApiError {
            error: HttpError::Admin(error),
            status: None,
        }
    }
}

impl From<HttpError> for ApiError {
    fn from(error: HttpError) -> Self {
        ApiError {
            error,
            status: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let ApiError { error, status } = self;
        let kind = error.kind();
        let mut body = json!({
            "kind": kind.as_str(),
            "message": error.to_string(),
            "hint": error.hint(),
        });
        if let HttpError::Admin(AdminError::Config(config)) = &error
            && config.field() != "configuration"
        {
            body["field"] = Value::String(config.field().to_owned());
        }
        if kind == ErrorKind::Store || kind == ErrorKind::Io {
            tracing::error!(target: "jwt_sso", kind = kind.as_str(), error = %crate::error::escape_controls(&crate::error::chain(&error)), "admin API: the store failed");
        }
        let status = status.unwrap_or_else(|| status_of(kind));
        let mut response =
            (status, api_headers(), axum::Json(json!({"error": body}))).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The body was not read: the connection cannot carry another request.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

fn bad_request(problem: impl Into<String>) -> ApiError {
    ApiError {
        error: HttpError::bad_request(problem),
        status: None,
    }
}

fn api_headers() -> [(HeaderName, HeaderValue); 2] {
    [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ]
}

/// A JSON answer with the API's headers.
fn json_response(status: StatusCode, body: Value) -> Response {
    (status, api_headers(), axum::Json(body)).into_response()
}

/// A configuration view: its body, `ETag` and `X-Config-Warnings`.
fn view_response(status: StatusCode, view: ConfigView) -> Response {
    let mut response = json_response(status, view.config);
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", view.version)) {
        headers.insert(header::ETAG, etag);
    }
    if let Ok(warnings) = HeaderValue::from_str(&ascii_json(&view.warnings)) {
        headers.insert(HeaderName::from_static("x-config-warnings"), warnings);
    }
    response
}

/// JSON with every non-ASCII or control character as a `\u` escape, so it fits a header.
fn ascii_json(items: &[String]) -> String {
    let text = serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned());
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() && !c.is_ascii_control() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

fn path_name(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(name)| name).map_err(|e| {
        bad_request(format!(
            "the configuration name in the path cannot be read: {e}"
        ))
    })
}

/// The body as text, at most [`MAX_BODY_BYTES`]; call only once the caller
/// is authorized.
async fn body_text(headers: &HeaderMap, body: Body) -> Result<String, ApiError> {
    let bytes =
        read_limited(headers, body, MAX_BODY_BYTES)
            .await
            .map_err(|refusal| match refusal {
                BodyRefusal::TooLarge => ApiError {
                    error: HttpError::bad_request(format!(
                        "the request body is larger than {MAX_BODY_BYTES} bytes"
                    )),
                    status: Some(StatusCode::PAYLOAD_TOO_LARGE),
                },
                BodyRefusal::Unreadable => bad_request("the request body could not be read"),
            })?;
    String::from_utf8(bytes.to_vec()).map_err(|_| bad_request("the request body is not UTF-8"))
}

fn if_match(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get(header::IF_MATCH) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|v| Some(v.to_owned()))
            .map_err(|_| bad_request("the If-Match header is not ASCII")),
    }
}

/// The request's JSON object body with exactly the members `allowed`.
fn json_object(text: &str, allowed: &[&str]) -> Result<serde_json::Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| bad_request(format!("the request body is not JSON: {e}")))?;
    let Value::Object(map) = value else {
        return Err(bad_request("the request body is not a JSON object"));
    };
    if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(bad_request(format!(
            "unknown member `{}` in the request body; expected {}",
            crate::error::escape_controls(extra),
            allowed.join(", ")
        )));
    }
    Ok(map)
}

async fn list(_: AdminCaller, State(ctx): Shared) -> Response {
    json_response(
        StatusCode::OK,
        serde_json::to_value(ctx.admin.list()).unwrap_or_default(),
    )
}

/// `GET /api/admin/catalog`: the host's roles and user types.
async fn catalog(_: AdminCaller, State(ctx): Shared) -> Result<Response, ApiError> {
    let body = json!({
        "roles": ctx.admin.catalog_roles(),
        "user_types": ctx.admin.catalog_user_types(),
    });
    Ok(json_response(StatusCode::OK, body))
}

async fn view(
    _: AdminCaller,
    State(ctx): Shared,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let name = path_name(path)?;
    Ok(view_response(StatusCode::OK, ctx.admin.view(&name)?))
}

async fn create(
    AdminCaller(caller): AdminCaller,
    State(ctx): Shared,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let text = body_text(&parts.headers, body).await?;
    let view = ctx.admin.create(&text, &caller).await?;
    Ok(view_response(StatusCode::CREATED, view))
}

/// A versioned edit's request (`PUT`, `PATCH`), as an extractor: the
/// caller's credentials checked, the name in the path, `If-Match`, then the
/// body (read only when the headers passed). Errors are reported in that
/// order.
struct Edit {
    name: String,
    text: String,
    version: Option<String>,
}

impl FromRequest<Arc<Ctx>> for Edit {
    type Rejection = Response;

    async fn from_request(request: Request, ctx: &Arc<Ctx>) -> Result<Edit, Response> {
        let (mut parts, body) = request.into_parts();
        AdminCaller::from_request_parts(&mut parts, ctx).await?;
        let read = async {
            let name = path_name(Path::<String>::from_request_parts(&mut parts, ctx).await)?;
            let version = if_match(&parts.headers)?;
            let text = body_text(&parts.headers, body).await?;
            Ok::<_, ApiError>(Edit {
                name,
                text,
                version,
            })
        };
        read.await.map_err(IntoResponse::into_response)
    }
}

async fn update(State(ctx): Shared, edit: Edit) -> Result<Response, ApiError> {
    let view = ctx
        .admin
        .update(&edit.name, &edit.text, edit.version.as_deref())
        .await?;
    Ok(view_response(StatusCode::OK, view))
}

async fn patch(
    State(ctx): Shared,
    Edit {
        name,
        text,
        version,
    }: Edit,
) -> Result<Response, ApiError> {
    let map = json_object(&text, &["enabled"])?;
    let Some(enabled) = map.get("enabled").and_then(Value::as_bool) else {
        return Err(bad_request(
            "the request body must be {\"enabled\": true} or {\"enabled\": false}",
        ));
    };
    let view = ctx
        .admin
        .set_enabled(&name, enabled, version.as_deref())
        .await?;
    Ok(view_response(StatusCode::OK, view))
}

async fn delete(
    _: AdminCaller,
    State(ctx): Shared,
    path: Result<Path<String>, PathRejection>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let name = path_name(path)?;
    let confirms: Vec<String> = uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .filter(|(k, _)| k == "confirm")
                .map(|(_, v)| v.into_owned())
                .collect()
        })
        .unwrap_or_default();
    let confirm = match confirms.as_slice() {
        [one] => Some(one.as_str()),
        _ => None,
    };
    ctx.admin.delete(&name, confirm).await?;
    Ok((StatusCode::NO_CONTENT, api_headers()).into_response())
}

async fn test(
    _: AdminCaller,
    State(ctx): Shared,
    path: Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let name = path_name(path)?;
    let text = body_text(&parts.headers, body).await?;
    let map = json_object(&text, &["token", "now"])?;
    let Some(token) = map.get("token").and_then(Value::as_str) else {
        return Err(bad_request("the request body needs `token`, a string"));
    };
    let now = match map.get("now") {
        None | Some(Value::Null) => None,
        Some(value) => Some(
            value
                .as_i64()
                .or_else(|| {
                    value
                        .as_f64()
                        .filter(|f| f.is_finite())
                        .map(|f| f.floor() as i64)
                })
                .map(UnixTime::from_secs)
                .ok_or_else(|| bad_request("`now` must be a number of seconds since 1970"))?,
        ),
    };
    let list = ctx.admin.test(&name, token.trim(), now).await?;
    Ok(json_response(StatusCode::OK, list.to_json()))
}

fn console_asset(content_type: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CONSOLE_CSP),
            ),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
            (
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

async fn console_page() -> Response {
    console_asset("text/html; charset=utf-8", INDEX_HTML)
}

async fn console_js() -> Response {
    console_asset("text/javascript; charset=utf-8", CONSOLE_JS)
}

async fn console_css() -> Response {
    console_asset("text/css; charset=utf-8", CONSOLE_CSS)
}
