//! Host integration for axum 0.8 and tower (cargo feature `axum`).
//!
//! - [`Identity`]: an extractor for "this request carries a verified
//!   identity", and `Option<Identity>` for routes where login is optional.
//! - [`JwtLayer`]: a `tower::Layer` that verifies every request of a router
//!   and puts the [`Identity`] into its extensions.
//! - [`HttpError`] (and `IntoResponse` for [`Error`](crate::Error) and
//!   [`AdminError`](crate::AdminError)): the kind's status,
//!   `WWW-Authenticate: Bearer` on every 401, `Cache-Control: no-store` and
//!   a body with the kind and a fixed sentence; the full message and hint go
//!   to one `tracing` event (target `jwt_sso::http`), never to the client.
//! - [`LoginRoutes`]: the login endpoints of CONTRACT section 6 (JSON login,
//!   form-post login, `GET ?<token_name>=` when enabled) handing each login
//!   to the host's [`SessionIssuer`]; one login event per request (instead
//!   of the `request refused` event above), and the failed-login throttle.
//! - [`serve`]: serves a router with the connection bounds of CONTRACT
//!   section 6 (request headers within 10 s, the body within 10 s of them,
//!   60 s idle keep-alive, at most 10 000 connections).
//! - [`SessionAuth`], [`CurrentUser`], [`SessionOrBearer`]: the crate's
//!   sessions (`X-Auth-Token` or the `jwt_sso_session` cookie) resolved to
//!   the stored user, either a session or a bearer token (`/me`), and the
//!   session routes (`GET /api/session`, `POST /api/auth/logout`, `POST
//!   /logout`).
//! - [`Host`] (with `sqlite` or `postgres`): all of the above over one
//!   database, with the administrator's API ([`admin`]), from a few values —
//!   what `login_server` is.
//!
//! Bearer use is opt-in per configuration: [`Identity`], `Option<Identity>`
//! and [`JwtLayer`] consider only the enabled configurations with
//! `"bearer": true` ([`Route::Bearer`]); a login-only configuration's token
//! is `no_matching_config`, as though it did not exist. A refused credential
//! is answered `401` with `WWW-Authenticate: Bearer error="invalid_token"`
//! (RFC 6750 section 3); a request without one, with plain `Bearer`.
//!
//! # Why not `tower-sessions` or `axum-login`
//!
//! Both were weighed. `tower-sessions` keeps a session record behind a
//! cookie (with SQL stores through `tower-sessions-sqlx-store`), and
//! `axum-login` puts an `AuthnBackend` (credentials → user) over it. The
//! contract needs things neither does: the session token also travels as
//! `X-Auth-Token` (API clients, the administrator's API, where the cookie
//! must *not* count), sessions are stored by the SHA-256 of their token
//! (a leaked table holds no usable token), capped per user with the oldest
//! ending first, and ended server-side per configuration and per user, on
//! every instance sharing the database (`DELETE /api/admin/sessions`, a
//! disabled configuration). Fitting these in would mean a custom store, a
//! custom cookie-or-header layer and a side index by configuration: most of
//! what [`Sessions`](crate::Sessions) is, plus two dependencies. The login
//! itself (a signed JWT, not a password) is not an `AuthnBackend` shape
//! either. So the session layer is the crate's own, small, and built on the
//! `cookie` crate for the `Set-Cookie` header.
//!
//! The connection bounds of [`serve`] are hand-made where `tower-http`
//! cannot express the contract: its `TimeoutLayer` bounds a whole request
//! and its body timeouts reset on every frame, while the contract's body
//! deadline runs from the end of the headers and does not reset (a client
//! trickling one byte a second is still cut off at 10 s).
//!
//! Everything here is a thin layer over the library:
//! [`Authenticator::login`](crate::Authenticator::login) and
//! [`Registry::verify`](crate::Registry::verify) do the work; a host
//! without axum calls them with the token's text.
//!
//! # Protect a route
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use jwt_sso::{Registry, axum::{Identity, JwtAuth}};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let registry = Registry::from_json_str(r#"{"name":"ERP","token_name":"token","algorithms":["HS256"],
//! #   "key_source":{"type":"static","secret":"erp-secret-of-at-least-32-bytes!!"},"expiration_time":3600,"claims":{"user_id":"sub"}}"#)?;
//! let auth = JwtAuth::new(Arc::new(registry)); // Bearer header and cookie; `.query(true)` adds ?token=
//! let app: Router = Router::new()
//!     .route("/me", get(|Identity(me): Identity| async move { format!("hello {}", me.user_id) }))
//!     .with_state(auth);
//! # Ok(()) }
//! ```
//!
//! A whole router: `router.layer(auth.layer())`; handlers take `Identity`,
//! which reuses the layer's result (the router's state provides the
//! [`JwtAuth`], as above).

pub mod admin;
mod body;
mod error;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod events_query;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod host;
mod login;
mod request;
mod serve;
mod session;

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use ::axum::http::header::{AUTHORIZATION, COOKIE};
use ::axum::http::request::Parts;
use ::axum::http::{HeaderMap, HeaderName, Request};
use ::axum::response::{IntoResponse, Response};

use crate::identity::Verified;
use crate::registry::{Registry, Route};
use request::{bearer, cookie, query_param};

pub use error::HttpError;
pub(crate) use error::{quiet_error_response, status_of};
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
pub use host::{Host, HostOptions};
pub use login::{LoginOptions, LoginRoutes, SessionIssuer};
pub use serve::{Serve, ServeOptions, serve};
pub use session::{CurrentUser, SessionAuth, SessionOrBearer};

/// A verified identity, as an axum extractor.
///
/// Needs [`JwtAuth`] in the router's state (directly or through
/// [`FromRef`]). When a [`JwtLayer`] already verified the request, its
/// result is reused: the layer keeps it in the request's extensions under a
/// type private to this crate, so nothing else a host or another layer puts
/// there passes for a verified identity. On failure the request is answered
/// with the error's response (401 with `WWW-Authenticate: Bearer` for a
/// missing or rejected token, 503 when keys cannot be fetched, 400 for a
/// token sent badly).
///
/// `Option<Identity>`: `None` when the request carries no token at all; a
/// token that is present but fails is still refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity(pub Verified);

/// What [`JwtLayer`] leaves in a request's extensions: private, so that only
/// this crate can put a verified identity there.
#[derive(Clone)]
struct LayerVerified(Verified);

/// Where [`JwtAuth`] looks for a token, in this order; the first place that
/// has one is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TokenSources {
    /// `Authorization: Bearer <jwt>` (default on): routed to any configuration.
    pub bearer: bool,
    /// A cookie named by a configuration's `token_name` (default on): routed
    /// only to configurations with that `token_name`.
    pub cookie: bool,
    /// The query parameter named by a configuration's `token_name` (default
    /// **off**: a token in a URL lands in logs and histories); routed only to
    /// configurations with that `token_name`.
    pub query: bool,
}

impl Default for TokenSources {
    fn default() -> Self {
        TokenSources {
            bearer: true,
            cookie: true,
            query: false,
        }
    }
}

/// The verification state of [`Identity`] and [`JwtLayer`]: a registry and
/// the token sources. Cheap to clone.
#[derive(Debug, Clone)]
pub struct JwtAuth {
    registry: Arc<Registry>,
    sources: TokenSources,
}

impl JwtAuth {
    /// Verification through `registry`, the token taken from `Authorization:
    /// Bearer` or a cookie named by a configuration's `token_name` (not from
    /// the query: see [`JwtAuth::query`]).
    pub fn new(registry: Arc<Registry>) -> Self {
        JwtAuth {
            registry,
            sources: TokenSources::default(),
        }
    }

    /// Whether a token may come in the query parameter named by
    /// `token_name` (default off).
    pub fn query(mut self, on: bool) -> Self {
        self.sources.query = on;
        self
    }

    /// Whether a token may come in `Authorization: Bearer` (default on).
    pub fn bearer(mut self, on: bool) -> Self {
        self.sources.bearer = on;
        self
    }

    /// Whether a token may come in a cookie named by `token_name` (default on).
    pub fn cookie(mut self, on: bool) -> Self {
        self.sources.cookie = on;
        self
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// A layer that verifies every request with this state (see [`JwtLayer`]).
    pub fn layer(&self) -> JwtLayer {
        JwtLayer {
            auth: self.clone(),
            optional: false,
        }
    }

    /// Like [`JwtAuth::layer`], but a request without any token passes
    /// through without an identity (a present but failing token is refused).
    pub fn optional_layer(&self) -> JwtLayer {
        JwtLayer {
            auth: self.clone(),
            optional: true,
        }
    }

    /// The token of a request from its `Authorization` header, its `Cookie`
    /// header(s) (joined with `"; "`) and its query string, as the sources
    /// allow, borrowed where it can be. `Ok(None)`: no token anywhere. More
    /// than one token in the same place (e.g. two configurations' cookies)
    /// is `bad_request`.
    fn locate<'a>(
        &self,
        authorization: Option<&'a str>,
        cookies: Option<&'a str>,
        query: Option<&'a str>,
    ) -> Result<Option<Located<'a>>, HttpError> {
        if self.sources.bearer
            && let Some(value) = authorization
            && let Some(token) = bearer(value)?
        {
            return Ok(Some(Located {
                token: Cow::Borrowed(token),
                token_name: None,
            }));
        }
        if self.sources.cookie
            && let Some(header) = cookies
            && let Some(found) = by_name(&self.registry, |name| {
                cookie(header, name).map(|t| t.map(Cow::Borrowed))
            })?
        {
            return Ok(Some(found));
        }
        if self.sources.query
            && let Some(query) = query
            && let Some(found) = by_name(&self.registry, |name| query_param(query, name))?
        {
            return Ok(Some(found));
        }
        Ok(None)
    }

    /// Finds and verifies the token of a request. No token is
    /// `unauthorized` (401).
    pub async fn verify_request(&self, parts: &Parts) -> Result<Verified, HttpError> {
        self.verify_found(parts).await?.ok_or_else(no_token)
    }

    async fn identity(&self, parts: &Parts, optional: bool) -> Result<Option<Identity>, HttpError> {
        if let Some(LayerVerified(identity)) = parts.extensions.get::<LayerVerified>() {
            return Ok(Some(Identity(identity.clone())));
        }
        match self.verify_found(parts).await? {
            Some(identity) => Ok(Some(Identity(identity))),
            None if optional => Ok(None),
            None => Err(no_token()),
        }
    }

    /// Finds the request's token (borrowed, not copied) and verifies it;
    /// `None` when the request carries none.
    async fn verify_found(&self, parts: &Parts) -> Result<Option<Verified>, HttpError> {
        let authorization = header_str(&parts.headers, &AUTHORIZATION)?;
        let cookies = joined_cookies(&parts.headers)?;
        match self.locate(authorization, cookies.as_deref(), parts.uri.query())? {
            Some(found) => Ok(Some(
                verify_routed(&self.registry, &found.token, found.token_name.as_deref()).await?,
            )),
            None => Ok(None),
        }
    }
}

/// A token found in a request, borrowed from it where it can be.
struct Located<'a> {
    token: Cow<'a, str>,
    token_name: Option<String>,
}

fn no_token() -> HttpError {
    HttpError::unauthorized("the request carries no token; send `Authorization: Bearer <token>`")
}

/// The one token found under the enabled configurations' `token_name`s.
fn by_name<'a>(
    registry: &Registry,
    mut find: impl FnMut(&str) -> Result<Option<Cow<'a, str>>, HttpError>,
) -> Result<Option<Located<'a>>, HttpError> {
    let mut found: Option<Located<'a>> = None;
    for name in registry.token_names() {
        if let Some(token) = find(&name)? {
            if found.is_some() {
                return Err(HttpError::bad_request(
                    "the request carries tokens under more than one name; send one token",
                ));
            }
            found = Some(Located {
                token,
                token_name: Some(name),
            });
        }
    }
    Ok(found)
}

fn header_str<'h>(headers: &'h HeaderMap, name: &HeaderName) -> Result<Option<&'h str>, HttpError> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(HttpError::bad_request(format!(
            "the `{name}` header is sent more than once; send it once"
        )));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| HttpError::bad_request(format!("the `{name}` header is not visible ASCII")))
}

/// The `Cookie` header, or all of them joined with `"; "` (borrowed when
/// there is one).
fn joined_cookies(headers: &HeaderMap) -> Result<Option<Cow<'_, str>>, HttpError> {
    let mut joined: Option<Cow<'_, str>> = None;
    for value in headers.get_all(COOKIE) {
        let value = value
            .to_str()
            .map_err(|_| HttpError::bad_request("the `Cookie` header is not visible ASCII"))?;
        match &mut joined {
            Some(all) => {
                let all = all.to_mut();
                all.push_str("; ");
                all.push_str(value);
            }
            None => joined = Some(Cow::Borrowed(value)),
        }
    }
    Ok(joined)
}

/// Verifies `token` through `registry` as a per-request credential: routed
/// by `iss` among the configurations with `bearer: true` ([`Route::Bearer`];
/// among one `token_name`'s when the token was found under that name), a
/// login-only configuration's token being `no_matching_config`; remote keys
/// fetched as needed.
pub(crate) fn verify_routed<'a>(
    registry: &'a Registry,
    token: &'a str,
    token_name: Option<&'a str>,
) -> impl Future<Output = Result<Verified, crate::Error>> + Send + 'a {
    registry.verification(Route::Bearer(token_name), None, token, true)
}

impl<S> FromRequestParts<S> for Identity
where
    JwtAuth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, HttpError> {
        match JwtAuth::from_ref(state).identity(parts, false).await? {
            Some(identity) => Ok(identity),
            None => Err(no_token()),
        }
    }
}

impl<S> OptionalFromRequestParts<S> for Identity
where
    JwtAuth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = HttpError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, HttpError> {
        JwtAuth::from_ref(state).identity(parts, true).await
    }
}

/// A `tower::Layer` that verifies every request ([`JwtAuth::layer`]) and
/// keeps its verified identity for the [`Identity`] extractor (in the
/// request's extensions, under a type private to this crate); a refused
/// request is answered with the error's response and never reaches the
/// service.
///
/// ```
/// use std::sync::Arc;
/// use axum::{Router, routing::get};
/// use jwt_sso::{Registry, axum::{Identity, JwtAuth}};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let registry = Registry::from_json_str(r#"{"name":"ERP","token_name":"token","algorithms":["HS256"],
/// #   "key_source":{"type":"static","secret":"erp-secret-of-at-least-32-bytes!!"},"expiration_time":3600,"claims":{"user_id":"sub"}}"#)?;
/// let auth = JwtAuth::new(Arc::new(registry));
/// let api: Router = Router::new()
///     .route("/reports", get(|Identity(me): Identity| async move { me.user_id.to_string() }))
///     .layer(auth.layer())
///     .with_state(auth);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct JwtLayer {
    auth: JwtAuth,
    optional: bool,
}

impl<S> tower_layer::Layer<S> for JwtLayer {
    type Service = JwtService<S>;

    fn layer(&self, inner: S) -> JwtService<S> {
        JwtService {
            inner,
            auth: self.auth.clone(),
            optional: self.optional,
        }
    }
}

/// The service of [`JwtLayer`].
#[derive(Debug, Clone)]
pub struct JwtService<S> {
    inner: S,
    auth: JwtAuth,
    optional: bool,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<S, B> tower_service::Service<Request<B>> for JwtService<S>
where
    S: tower_service::Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        // The clone that was driven to readiness serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        let optional = self.optional;
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match auth.identity(&parts, optional).await {
                Ok(identity) => {
                    if let Some(Identity(identity)) = identity {
                        parts.extensions.insert(LayerVerified(identity));
                    }
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(error) => Ok(error.into_response()),
            }
        })
    }
}
