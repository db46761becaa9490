//! Host integration for axum 0.8 and tower (cargo feature `axum`).
//!
//! - [`Identity`]: an extractor for "this request carries a verified
//!   identity", and `Option<Identity>` for routes where login is optional.
//! - [`JwtLayer`]: a `tower::Layer` that verifies every request of a router
//!   and puts the [`Identity`] into its extensions.
//! - `impl IntoResponse for Error`: the status of
//!   [`ErrorKind::http_status`](crate::ErrorKind::http_status),
//!   `WWW-Authenticate: Bearer` on every 401, `Cache-Control: no-store` and
//!   the public body [`Error::public_json`]; the full message and hint go to
//!   one `tracing` event (target `jwt_sso::http`), never to the client.
//! - [`LoginRoutes`]: the login endpoints of CONTRACT section 6 (JSON login,
//!   form-post login, `GET ?<token_name>=` when enabled) handing each login
//!   to the host's [`SessionIssuer`]; one login event per request (instead
//!   of the `request refused` event above), and the failed-login throttle.
//! - [`serve`]: serves a router with the connection bounds of CONTRACT
//!   section 6 (request headers within 10 s, the body within 10 s of them,
//!   60 s idle keep-alive, at most 10 000 connections).
//!
//! Everything here is a thin layer over the library: [`JwtAuth::find_token`],
//! [`JwtAuth::verify_token`] and [`LoginRoutes::login_token`] take plain
//! strings and work without axum.
//!
//! # Protect a route
//!
//! ```
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use jwt_sso::{Registry, axum::{Identity, JwtAuth}};
//!
//! # fn main() -> Result<(), jwt_sso::Error> {
//! # let registry = Registry::from_json_str(r#"{"name":"ERP","token_name":"token","algorithms":["HS256"],
//! #   "key_source":{"type":"static","secret":"erp-secret-of-at-least-32-bytes!!"},"expiration_time":3600,"claims":{"user_id":"sub"}}"#)?;
//! let auth = JwtAuth::new(Arc::new(registry)); // Bearer header and cookie; `.query(true)` adds ?token=
//! let app: Router = Router::new()
//!     .route("/me", get(|Identity(me): Identity| async move { format!("hello {}", me.user_id) }))
//!     .with_state(auth);
//! # Ok(()) }
//! ```
//!
//! A whole router: `router.layer(auth.layer())`, then handlers take
//! `Extension<Identity>` (or `Identity`, which reuses the layer's result).

pub mod admin;
mod body;
mod login;
mod serve;

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::axum::Json;
use ::axum::extract::{FromRef, FromRequestParts, OptionalFromRequestParts};
use ::axum::http::header::{AUTHORIZATION, CACHE_CONTROL, COOKIE, WWW_AUTHENTICATE};
use ::axum::http::request::Parts;
use ::axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use ::axum::response::{IntoResponse, Response};

use crate::error::{Error, escape_controls};
use crate::extract::{bearer, cookie, query_param};
use crate::map::MappedIdentity;
use crate::registry::{Registry, TokenRoute};

pub use login::{
    LoginOptions, LoginRoutes, LoginSuccess, SessionIssuer, form_login, json_login, query_login,
    safe_return_to,
};
pub use serve::{ServeOptions, serve, serve_with};

/// A verified identity, as an axum extractor.
///
/// Needs [`JwtAuth`] in the router's state (directly or through
/// [`FromRef`]). When a [`JwtLayer`] already verified the request, its
/// result is reused. On failure the request is answered with the error's
/// response (401 with `WWW-Authenticate: Bearer` for a missing or rejected
/// token, 503 when keys cannot be fetched, 400 for a token sent badly).
///
/// `Option<Identity>`: `None` when the request carries no token at all; a
/// token that is present but fails is still refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity(pub MappedIdentity);

/// Where [`JwtAuth`] looks for a token, in this order; the first place that
/// has one is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenSources {
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

/// A token found in a request.
#[derive(Clone, PartialEq, Eq)]
pub struct FoundToken {
    /// The token.
    pub token: String,
    /// The `token_name` it came under (`None` for a Bearer header): only
    /// configurations with this `token_name` may verify it.
    pub token_name: Option<String>,
}

impl std::fmt::Debug for FoundToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FoundToken")
            .field("token", &"[redacted]")
            .field("token_name", &self.token_name)
            .finish()
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
    /// Verification through `registry`, with the default [`TokenSources`].
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

    /// The token sources.
    pub fn sources(&self) -> TokenSources {
        self.sources
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

    /// Finds the token of a request from its `Authorization` header, its
    /// `Cookie` header(s) (joined with `"; "`) and its query string, as the
    /// sources allow. `Ok(None)`: no token anywhere. More than one token in
    /// the same place (e.g. two configurations' cookies) is `bad_request`.
    pub fn find_token(
        &self,
        authorization: Option<&str>,
        cookies: Option<&str>,
        query: Option<&str>,
    ) -> Result<Option<FoundToken>, Error> {
        let found = self.locate(authorization, cookies, query)?;
        Ok(found.map(|found| FoundToken {
            token: found.token.into_owned(),
            token_name: found.token_name,
        }))
    }

    /// [`JwtAuth::find_token`] on an HTTP request's parts.
    pub fn find_in_request(&self, parts: &Parts) -> Result<Option<FoundToken>, Error> {
        let authorization = header_str(&parts.headers, AUTHORIZATION.as_str())?;
        let cookies = joined_cookies(&parts.headers)?;
        self.find_token(authorization, cookies.as_deref(), parts.uri.query())
    }

    /// [`JwtAuth::find_token`], the token borrowed where it can be.
    fn locate<'a>(
        &self,
        authorization: Option<&'a str>,
        cookies: Option<&'a str>,
        query: Option<&'a str>,
    ) -> Result<Option<Located<'a>>, Error> {
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

    /// Verifies `token` through the registry (routing by `iss`; remote keys
    /// fetched when needed). With `token_name`, a token that routes to a
    /// configuration with another `token_name` is refused
    /// (`no_matching_config`): a token travels only under its own name.
    pub fn verify_token<'a>(
        &'a self,
        token: &'a str,
        token_name: Option<&'a str>,
    ) -> impl Future<Output = Result<MappedIdentity, Error>> + Send + 'a {
        verify_routed(&self.registry, token, token_name)
    }

    /// Finds and verifies the token of a request. No token is
    /// `unauthorized` (401).
    pub async fn verify_request(&self, parts: &Parts) -> Result<MappedIdentity, Error> {
        self.verify_found(parts).await?.ok_or_else(no_token)
    }

    async fn identity(&self, parts: &Parts, optional: bool) -> Result<Option<Identity>, Error> {
        if let Some(identity) = parts.extensions.get::<Identity>() {
            return Ok(Some(identity.clone()));
        }
        match self.verify_found(parts).await? {
            Some(identity) => Ok(Some(Identity(identity))),
            None if optional => Ok(None),
            None => Err(no_token()),
        }
    }

    /// Finds the request's token (borrowed, not copied) and verifies it;
    /// `None` when the request carries none.
    async fn verify_found(&self, parts: &Parts) -> Result<Option<MappedIdentity>, Error> {
        let authorization = header_str(&parts.headers, AUTHORIZATION.as_str())?;
        let cookies = joined_cookies(&parts.headers)?;
        match self.locate(authorization, cookies.as_deref(), parts.uri.query())? {
            Some(found) => self
                .verify_token(&found.token, found.token_name.as_deref())
                .await
                .map(Some),
            None => Ok(None),
        }
    }
}

/// A token found in a request, borrowed from it where it can be.
struct Located<'a> {
    token: Cow<'a, str>,
    token_name: Option<String>,
}

fn no_token() -> Error {
    Error::Unauthorized {
        problem: "the request carries no token; send `Authorization: Bearer <token>`".to_owned(),
    }
}

/// The one token found under the enabled configurations' `token_name`s.
fn by_name<'a>(
    registry: &Registry,
    mut find: impl FnMut(&str) -> Result<Option<Cow<'a, str>>, Error>,
) -> Result<Option<Located<'a>>, Error> {
    let mut found: Option<Located<'a>> = None;
    for name in registry.token_names() {
        if let Some(token) = find(&name)? {
            if found.is_some() {
                return Err(Error::bad_request(
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

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, Error> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Error::bad_request(format!(
            "the `{name}` header is sent more than once; send it once"
        )));
    }
    value
        .to_str()
        .map(Some)
        .map_err(|_| Error::bad_request(format!("the `{name}` header is not visible ASCII")))
}

/// The `Cookie` header, or all of them joined with `"; "` (borrowed when
/// there is one).
fn joined_cookies(headers: &HeaderMap) -> Result<Option<Cow<'_, str>>, Error> {
    let mut joined: Option<Cow<'_, str>> = None;
    for value in headers.get_all(COOKIE) {
        let value = value
            .to_str()
            .map_err(|_| Error::bad_request("the `Cookie` header is not visible ASCII"))?;
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

/// Verifies `token` through `registry`: routed by `iss`, among one
/// `token_name`'s configurations when the token was found under that name
/// (a token whose `iss` belongs to another name's configuration is
/// `no_matching_config`); remote keys fetched as needed.
pub(crate) fn verify_routed<'a>(
    registry: &'a Registry,
    token: &'a str,
    token_name: Option<&'a str>,
) -> impl Future<Output = Result<MappedIdentity, Error>> + Send + 'a {
    let route = match token_name {
        Some(name) => TokenRoute::TokenName(name),
        None => TokenRoute::Issuer,
    };
    registry.verification(route, token, None, true)
}

impl<S> FromRequestParts<S> for Identity
where
    JwtAuth: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Error> {
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
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Option<Self>, Error> {
        JwtAuth::from_ref(state).identity(parts, true).await
    }
}

/// A `tower::Layer` that verifies every request ([`JwtAuth::layer`]) and
/// inserts its [`Identity`] into the request's extensions; a refused request
/// is answered with the error's response and never reaches the service.
///
/// ```
/// use std::sync::Arc;
/// use axum::{Extension, Router, routing::get};
/// use jwt_sso::{Registry, axum::{Identity, JwtAuth}};
///
/// # fn main() -> Result<(), jwt_sso::Error> {
/// # let registry = Registry::from_json_str(r#"{"name":"ERP","token_name":"token","algorithms":["HS256"],
/// #   "key_source":{"type":"static","secret":"erp-secret-of-at-least-32-bytes!!"},"expiration_time":3600,"claims":{"user_id":"sub"}}"#)?;
/// let auth = JwtAuth::new(Arc::new(registry));
/// let api: Router = Router::new()
///     .route("/reports", get(|Extension(Identity(me)): Extension<Identity>| async move { me.user_id }))
///     .layer(auth.layer());
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
                    if let Some(identity) = identity {
                        parts.extensions.insert(identity);
                    }
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(error) => Ok(error.into_response()),
            }
        })
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error_response(status, &self, None)
    }
}

/// The response for `error` with `status`: the public body (with
/// `public_message` in place of the kind's fixed sentence when given), and
/// one log event with the full message and hint.
pub(crate) fn error_response(
    status: StatusCode,
    error: &Error,
    public_message: Option<&'static str>,
) -> Response {
    log_refusal(status, error);
    quiet_error_response(status, error, public_message)
}

/// [`error_response`] without its log event: for a login attempt, whose
/// one event the login routes report.
pub(crate) fn quiet_error_response(
    status: StatusCode,
    error: &Error,
    public_message: Option<&'static str>,
) -> Response {
    let kind = error.kind();
    let body = serde_json::json!({"error": {
        "kind": kind.as_str(),
        "message": public_message.unwrap_or(kind.public_message()),
    }});
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn log_refusal(status: StatusCode, error: &Error) {
    let message = error.to_string();
    let message = escape_controls(&message);
    let source =
        std::error::Error::source(error).map(|s| escape_controls(&s.to_string()).into_owned());
    if status.is_server_error() {
        tracing::warn!(
            target: "jwt_sso::http",
            status = status.as_u16(),
            kind = error.kind().as_str(),
            message = %message,
            hint = error.hint(),
            source = source.as_deref(),
            "request refused"
        );
    } else {
        tracing::info!(
            target: "jwt_sso::http",
            status = status.as_u16(),
            kind = error.kind().as_str(),
            message = %message,
            hint = error.hint(),
            source = source.as_deref(),
            "request refused"
        );
    }
}
