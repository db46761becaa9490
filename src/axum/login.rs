//! The login endpoints (CONTRACT section 6) as a router or single handlers.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ::axum::Router;
use ::axum::body::{Body, Bytes};
use ::axum::extract::{ConnectInfo, Request, State};
use ::axum::http::header::{
    ACCEPT, ALLOW, CACHE_CONTROL, CONNECTION, CONTENT_TYPE, LOCATION, RETRY_AFTER, SET_COOKIE,
};
use ::axum::http::request::Parts;
use ::axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::{MethodRouter, post};
use serde::Serialize;
use tracing::Instrument as _;

use super::body::{BodyRefusal, read_limited};
use super::request::{LoginRequest, form_param, query_param};
use super::{HttpError, quiet_error_response};
use crate::error::Error;
use crate::error::StoreError;
use crate::events::{self, Attempt, Ending, Refusal};
use crate::identity::Verified;
use crate::login::{Authenticator, Login};
use crate::registry::{Route, Verification};
use crate::session::Sessions;
use crate::store::{MemoryStore, ReplayStore, SessionStore, UserStore};
use crate::throttle::FailedLogins;

/// The host's session creation: called once per accepted login, returns the
/// opaque session token handed to the client (`X-Auth-Token`).
///
/// [`Sessions`] implements it (a session for the user, through the login's
/// configuration). A host with its own sessions implements it over them.
pub trait SessionIssuer: Send + Sync + 'static {
    /// Starts a session for `login`; returns its token.
    fn start_session(&self, login: &Login) -> impl Future<Output = Result<String, Error>> + Send;
}

impl<S: SessionStore + 'static> SessionIssuer for Sessions<S> {
    async fn start_session(&self, login: &Login) -> Result<String, Error> {
        self.create(&login.user.user_id, &login.identity.config)
            .await
    }
}

impl<T: SessionIssuer> SessionIssuer for Arc<T> {
    fn start_session(&self, login: &Login) -> impl Future<Output = Result<String, Error>> + Send {
        (**self).start_session(login)
    }
}

/// The session cookie of the browser flow (CONTRACT section 6).
pub(crate) const SESSION_COOKIE: &str = "jwt_sso_session";

/// The extra time a login may take when its configuration fetches keys
/// (a fetch gives up after 5 s, CONTRACT section 1).
const REMOTE_FETCH_BUDGET: Duration = Duration::from_secs(6);

/// What the login endpoints accept and how they answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoginOptions {
    /// The largest request body read (default 64 KiB); a larger one is `413`,
    /// answered from `Content-Length` before the body is read.
    pub max_body_bytes: usize,
    /// `GET /login?<token_name>=<jwt>` (default off: a token in a URL lands
    /// in logs and browser histories).
    pub query_login: bool,
    /// `POST /login` of an HTML form field named by `token_name` (default on).
    pub form_login: bool,
    /// `POST /api/auth/login` with the JSON body (default on). The paths are
    /// the contract's; a host that wants them elsewhere mounts the routes
    /// with `Router::nest("/prefix", routes.router())`.
    pub json_login: bool,
    /// Hosts (`host` or `host:port`, compared without regard to case) that a
    /// browser login may redirect to with `return_to`; relative paths are
    /// always allowed.
    pub return_to_hosts: Vec<String>,
    /// The cookie that browser logins (form and query) set to the session
    /// token (`HttpOnly; SameSite=Lax; Path=/`, `Secure` unless
    /// `insecure_cookie`); default `jwt_sso_session` (CONTRACT section 6),
    /// `None` sets no cookie.
    pub session_cookie: Option<String>,
    /// Where a browser login without `return_to` goes (default `/`).
    pub default_return_to: String,
    /// Leave `Secure` off the session cookie (plain-http trials only).
    pub insecure_cookie: bool,
    /// How long the user store and the session issuer may take together
    /// before the login is refused with `store` (503); default 4 s.
    pub store_timeout: Duration,
    /// Refused logins a client address may have within 60 s before its
    /// further attempts are answered `429` `rate_limited` with
    /// `Retry-After`, unchecked, until the oldest of them is 60 s old
    /// (CONTRACT section 9; default 20, 0 turns throttling off). Refusals
    /// with a `4xx` status count; accepted logins, throttled attempts and
    /// `503`s (keys or store unreachable) do not. A request without a known
    /// client address (no `ConnectInfo<SocketAddr>`, see
    /// [`serve`](super::serve)) is never throttled. At most 100 000
    /// addresses are remembered, the least recently seen forgotten first.
    pub max_failed_logins: u32,
    /// Take the client address from the last entry of `X-Forwarded-For`
    /// (the one the host's own reverse proxy appends) instead of the TCP
    /// peer (default off: without a proxy that sets it, a client could
    /// name any address).
    pub trust_forwarded_for: bool,
}

impl Default for LoginOptions {
    fn default() -> Self {
        LoginOptions {
            max_body_bytes: 64 * 1024,
            query_login: false,
            form_login: true,
            json_login: true,
            return_to_hosts: Vec::new(),
            session_cookie: Some(SESSION_COOKIE.to_owned()),
            default_return_to: "/".to_owned(),
            insecure_cookie: false,
            store_timeout: Duration::from_secs(4),
            max_failed_logins: 20,
            trust_forwarded_for: false,
        }
    }
}

impl LoginOptions {
    /// Enables or disables `GET /login?<token_name>=`.
    pub fn query_login(mut self, on: bool) -> Self {
        self.query_login = on;
        self
    }

    /// Enables or disables the form-post login.
    pub fn form_login(mut self, on: bool) -> Self {
        self.form_login = on;
        self
    }

    /// Enables or disables the JSON login (`POST /api/auth/login`).
    pub fn json_login(mut self, on: bool) -> Self {
        self.json_login = on;
        self
    }

    /// The largest body read.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }

    /// The hosts `return_to` may name.
    pub fn return_to_hosts(mut self, hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.return_to_hosts = hosts.into_iter().map(Into::into).collect();
        self
    }

    /// The session cookie of browser logins (default `jwt_sso_session`).
    pub fn session_cookie(mut self, name: impl Into<String>) -> Self {
        self.session_cookie = Some(name.into());
        self
    }

    /// Leave `Secure` off the session cookie (plain-http trials only).
    pub fn insecure_cookie(mut self, on: bool) -> Self {
        self.insecure_cookie = on;
        self
    }

    /// Where a browser login without `return_to` goes (default `/`; a
    /// relative path or a URL on a host of `return_to_hosts`, as
    /// `return_to`).
    pub fn default_return_to(mut self, target: impl Into<String>) -> Self {
        self.default_return_to = target.into();
        self
    }

    /// The store timeout.
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.store_timeout = timeout;
        self
    }

    /// The failed-login limit (0: no throttling).
    pub fn max_failed_logins(mut self, max: u32) -> Self {
        self.max_failed_logins = max;
        self
    }

    /// Whether the client address comes from `X-Forwarded-For`.
    pub fn trust_forwarded_for(mut self, on: bool) -> Self {
        self.trust_forwarded_for = on;
        self
    }
}

/// An accepted login and its session token.
struct LoginSuccess {
    /// The login (user, identity, first login or not).
    login: Login,
    /// The session token the issuer made.
    session: String,
}

impl std::fmt::Debug for LoginSuccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginSuccess")
            .field("login", &self.login)
            .field("session", &"[redacted]")
            .finish()
    }
}

/// The login endpoints over an [`Authenticator`] and a [`SessionIssuer`].
/// Cheap to clone.
///
/// [`LoginRoutes::router`] serves
/// - `POST /api/auth/login`: `Content-Type: application/json` (else `415`),
///   body `{"loginMode":67108864,"password":"<jwt>"}` (else `400`);
/// - `POST /login` (when `form_login`): an
///   `application/x-www-form-urlencoded` form whose field named by a
///   configuration's `token_name` holds the token;
/// - `GET /login?<token_name>=<jwt>` (when `query_login`); `HEAD` logs
///   nobody in (`405`).
///
/// Accepted: `200`, `X-Auth-Token`, `Cache-Control: no-store`, body
/// `{"first_login":…,"user":{"user_id","user_type","roles"},"identity":{…}}`;
/// a browser login with a safe `return_to` (a relative path, or a URL on a
/// host of [`LoginOptions::return_to_hosts`]) is a `303`
/// to it instead. Refused: the error's status and public body.
///
/// Every request to these routes (but `HEAD`) is one login attempt with one
/// login event (the `tracing` event, the metrics, and a
/// [`LoginEvent`](crate::events::LoginEvent) for the authenticator's
/// subscribers), whatever answered it: a bad request, a
/// refusal, an acceptance, or the failed-login throttle
/// ([`LoginOptions::max_failed_logins`]), which is asked first, before the
/// body is read or the token looked at. The client address comes from
/// `ConnectInfo<SocketAddr>` ([`serve`](super::serve) provides it).
///
/// A form-post login (the way identity providers post a token from the browser):
///
/// ```
/// use std::sync::Arc;
/// use axum::Router;
/// use jwt_sso::{Authenticator, MemoryStore, Registry, Sessions};
/// use jwt_sso::axum::{LoginOptions, LoginRoutes};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let registry = Registry::from_json_str(r#"{"name":"ERP","token_name":"token","algorithms":["HS256"],
/// #   "key_source":{"type":"static","secret":"erp-secret-of-at-least-32-bytes!!"},"expiration_time":3600,"claims":{"user_id":"sub"}}"#)?;
/// let registry = Arc::new(registry);
/// // One clock: the sessions take the registry's.
/// let sessions = Sessions::new(MemoryStore::new(), registry.clock());
/// let auth = Authenticator::new(registry, MemoryStore::new());
/// let options = LoginOptions::default().session_cookie("session").return_to_hosts(["bi.example.com"]);
/// // <form method="post" action="/login"><input name="token"><input name="return_to" value="/home">
/// let app: Router = LoginRoutes::new(auth, sessions, options).router();
/// # Ok(()) }
/// ```
pub struct LoginRoutes<U, I, R = MemoryStore> {
    inner: Arc<Inner<U, I, R>>,
}

struct Inner<U, I, R> {
    auth: Authenticator<U, R>,
    issuer: I,
    throttle: FailedLogins,
    options: LoginOptions,
}

impl<U, I, R> Clone for LoginRoutes<U, I, R> {
    fn clone(&self) -> Self {
        LoginRoutes {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<U, I, R> std::fmt::Debug for LoginRoutes<U, I, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRoutes")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl<U: UserStore + 'static, I: SessionIssuer, R: ReplayStore + 'static> LoginRoutes<U, I, R> {
    /// Login endpoints over `auth` (its user store, policies, store of used
    /// `jti`s and event subscribers) and `issuer`.
    pub fn new(auth: Authenticator<U, R>, issuer: I, options: LoginOptions) -> Self {
        LoginRoutes {
            inner: Arc::new(Inner {
                auth,
                issuer,
                throttle: FailedLogins::new(options.max_failed_logins),
                options,
            }),
        }
    }

    /// The login flow.
    pub fn authenticator(&self) -> &Authenticator<U, R> {
        &self.inner.auth
    }

    /// The session issuer.
    pub fn session_issuer(&self) -> &I {
        &self.inner.issuer
    }

    /// The options.
    pub fn options(&self) -> &LoginOptions {
        &self.inner.options
    }

    /// The routes (see the type's documentation), for `Router::merge`.
    pub fn router<S: Clone + Send + Sync + 'static>(&self) -> Router<S> {
        let mut browser = MethodRouter::new();
        if self.inner.options.form_login {
            browser = browser.post(form_login::<U, I, R>);
        }
        if self.inner.options.query_login {
            browser = browser.get(query_login::<U, I, R>);
        }
        let mut router = Router::new();
        if self.inner.options.json_login {
            router = router.route("/api/auth/login", post(json_login::<U, I, R>));
        }
        if self.inner.options.form_login || self.inner.options.query_login {
            router = router.route("/login", browser);
        }
        router.with_state(self.clone())
    }

    /// The whole login of a token: [`Authenticator::login`]'s steps,
    /// routed by `iss` or, with `token_name`, among the configurations with
    /// that `token_name` ([`Route::TokenName`]): verification, the
    /// configuration's policies (`create_users`, `user_scope`), the
    /// `single_use` check in the replay store, the user's creation or
    /// update; then a session from the issuer. The stores and the issuer
    /// together get [`LoginOptions::store_timeout`] (plus the remote key
    /// fetch budget when the token routes to a `jwks_uri` or `issuer`
    /// configuration), else the login is `store`. The attempt's event is
    /// the caller's to report.
    async fn run_login(
        &self,
        token: &str,
        token_name: Option<&str>,
        attempt: &mut Attempt,
    ) -> Result<LoginSuccess, Error> {
        let auth = &self.inner.auth;
        let mut timeout = self.inner.options.store_timeout;
        let route = match token_name {
            Some(name) => Route::TokenName(name),
            None => Route::Issuer,
        };
        // A remote configuration may fetch its keys first (bounded by the
        // remote options' own timeout, reported as `key_fetch`).
        if let Ok((verifier, _)) = auth.registry().routed(route, token, false)
            && verifier.is_remote()
        {
            timeout += REMOTE_FETCH_BUDGET;
        }
        let work = async {
            let login = auth
                .attempt(token, Verification::from(route), attempt)
                .await?;
            let session = self.inner.issuer.start_session(&login).await?;
            Ok::<_, Error>(LoginSuccess { login, session })
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => result,
            Err(_) => {
                let late = std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("the store did not answer within {} ms", timeout.as_millis()),
                );
                Err(StoreError::failed(late).during("logging in").into())
            }
        }
    }

    /// Starts an HTTP login attempt: its client address, and the throttle's
    /// answer before any other work. A throttled attempt is reported and
    /// answered here (`429` with `Retry-After`).
    fn begin(&self, parts: &Parts) -> Result<Attempt, Box<Response>> {
        let client = client_address(parts, self.inner.options.trust_forwarded_for);
        let attempt = Attempt::start(client);
        let Some(client) = client else {
            return Ok(attempt);
        };
        let Some(retry_after) = self.inner.throttle.check(client) else {
            return Ok(attempt);
        };
        let error = HttpError::RateLimited {
            failures: self.inner.throttle.max_failures(),
            retry_after,
        };
        let refusal = Refusal::new(error.kind(), &error, error.hint());
        let now = self.inner.auth.registry().clock_now();
        events::finish(
            self.inner.auth.events(),
            attempt,
            now,
            Ending::Refused(refusal),
        );
        Err(Box::new(throttled_response(retry_after)))
    }

    /// Ends an HTTP login attempt: its one event, a refusal counted by the
    /// throttle, and the answer.
    fn end(&self, attempt: Attempt, result: Result<Accepted, Refused>) -> Response {
        let now = self.inner.auth.registry().clock_now();
        let answered = match result {
            Ok(accepted) => {
                let first_login = accepted.success.login.first_login;
                match success_response(&accepted.success, accepted.browser, &self.inner.options) {
                    Ok(response) => Ok((response, first_login)),
                    Err(error) => Err(Refused::from(error)),
                }
            }
            Err(refused) => Err(refused),
        };
        let events = self.inner.auth.events();
        match answered {
            Ok((response, first_login)) => {
                events::finish(events, attempt, now, Ending::Accepted { first_login });
                response
            }
            Err(refused) => {
                // The client's own failures count; a server that cannot
                // decide now (`503`: keys or store unreachable) is not the
                // client's doing, and retrying through an outage must not
                // lock it out once the server is back.
                if let Some(client) = attempt.client()
                    && refused.status.is_client_error()
                {
                    self.inner.throttle.record_refusal(client);
                }
                events::finish(
                    events,
                    attempt,
                    now,
                    Ending::Refused(Refusal::new(
                        refused.error.kind(),
                        &refused.error,
                        refused.error.hint(),
                    )),
                );
                refused.into_response()
            }
        }
    }

    /// Runs `work` as the attempt's body, in its span.
    async fn serve(
        &self,
        parts: &Parts,
        work: impl AsyncFnOnce(&mut Attempt) -> Result<Accepted, Refused>,
    ) -> Response {
        let mut attempt = match self.begin(parts) {
            Ok(attempt) => attempt,
            Err(response) => return *response,
        };
        let span = attempt.span().clone();
        let result = work(&mut attempt).instrument(span).await;
        self.end(attempt, result)
    }

    async fn login_http(
        &self,
        token: &str,
        token_name: Option<&str>,
        browser: Option<String>,
        attempt: &mut Attempt,
    ) -> Result<Accepted, Refused> {
        let success = self.run_login(token, token_name, attempt).await?;
        Ok(Accepted { success, browser })
    }
}

/// The client address of a request: the TCP peer (axum's
/// `ConnectInfo<SocketAddr>`, which [`serve`](super::serve) provides), or
/// with `trust_forwarded_for` the last address of `X-Forwarded-For` (the
/// one the host's own proxy appended; the peer when the header is absent
/// or its last entry is not an address). IPv4-mapped IPv6 addresses count
/// as their IPv4 address.
fn client_address(parts: &Parts, trust_forwarded_for: bool) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let forwarded = trust_forwarded_for
        .then(|| {
            let last = parts.headers.get_all(X_FORWARDED_FOR).iter().next_back()?;
            let entry = last.to_str().ok()?.rsplit(',').next()?.trim();
            entry
                .parse::<IpAddr>()
                .ok()
                .or_else(|| entry.parse::<SocketAddr>().ok().map(|a| a.ip()))
        })
        .flatten();
    forwarded.or(peer).map(|ip| ip.to_canonical())
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// An accepted login and how to answer it.
struct Accepted {
    success: LoginSuccess,
    /// `None` for the JSON answer; `Some(target)` for a browser login.
    browser: Option<String>,
}

/// A refused login attempt and how to answer it.
struct Refused {
    error: HttpError,
    status: StatusCode,
    /// In place of the kind's fixed sentence.
    public: Option<&'static str>,
    /// The body was not read: the connection cannot be reused.
    close: bool,
}

impl From<HttpError> for Refused {
    fn from(error: HttpError) -> Self {
        Refused {
            status: error.status(),
            error,
            public: None,
            close: false,
        }
    }
}

impl From<Error> for Refused {
    fn from(error: Error) -> Self {
        Refused::from(HttpError::Core(error))
    }
}

impl From<Box<Refused>> for Refused {
    fn from(refused: Box<Refused>) -> Self {
        *refused
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let mut response = quiet_error_response(self.status, &self.error, self.public);
        if self.close {
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// The body of a throttled attempt: the public error of `rate_limited`
/// (a fixed text, so the cheapest answer the server has; the same as
/// [`HttpError::RateLimited`]'s response, see the test below).
const THROTTLED_BODY: &str =
    r#"{"error":{"kind":"rate_limited","message":"Too many failed logins; try again later."}}"#;

/// `429` `rate_limited` with `Retry-After` (whole seconds).
fn throttled_response(retry_after: Duration) -> Response {
    let mut response = (
        StatusCode::TOO_MANY_REQUESTS,
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        THROTTLED_BODY,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(RETRY_AFTER, HeaderValue::from(retry_after.as_secs()));
    response
}

/// The success body, members in the order of CONTRACT section 6.
#[derive(Serialize)]
struct LoginBody<'a> {
    first_login: bool,
    user: UserBody<'a>,
    identity: &'a Verified,
}

#[derive(Serialize)]
struct UserBody<'a> {
    user_id: &'a str,
    user_type: &'a str,
    roles: &'a [String],
}

/// `browser`: `None` for the JSON answer; `Some(target)` for a browser login.
fn success_response(
    success: &LoginSuccess,
    browser: Option<String>,
    options: &LoginOptions,
) -> Result<Response, Error> {
    let Ok(session) = HeaderValue::from_str(&success.session) else {
        return Err(
            StoreError::failed("the session token is not a valid header value")
                .during("starting a session")
                .into(),
        );
    };
    let user = &success.login.user;
    let body = LoginBody {
        first_login: success.login.first_login,
        user: UserBody {
            user_id: &user.user_id,
            user_type: &user.user_type,
            roles: &user.roles,
        },
        identity: &success.login.identity,
    };
    let mut response = match &browser {
        Some(target) => {
            let location = ascii_location(target);
            (StatusCode::SEE_OTHER, [(LOCATION, location.as_str())]).into_response()
        }
        None => (StatusCode::OK, ::axum::Json(body)).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert("x-auth-token", session);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if browser.is_some()
        && let Some(name) = &options.session_cookie
    {
        let cookie = session_cookie(name.clone(), success.session.clone(), options);
        if let Ok(value) = HeaderValue::from_str(&in_contract_order(&cookie)) {
            headers.insert(SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// The session cookie: `Path=/; HttpOnly; SameSite=Lax; Secure` (`Secure`
/// left out with `insecure_cookie`).
pub(crate) fn session_cookie(
    name: String,
    value: String,
    options: &LoginOptions,
) -> cookie::Cookie<'static> {
    cookie::Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(cookie::SameSite::Lax)
        .secure(!options.insecure_cookie)
        .build()
}

/// The session cookie's `Set-Cookie` value with its attributes in the order
/// CONTRACT section 6 writes them (`name=value; Path=/; HttpOnly;
/// SameSite=Lax; Secure`): the order means nothing to a browser (RFC 6265
/// section 5.2), but a reader comparing the header with the documentation
/// finds the same text. The name and value are those the `cookie` crate
/// checked when the cookie was built (a configured name, a random token).
fn in_contract_order(cookie: &cookie::Cookie<'_>) -> String {
    let secure = if cookie.secure() == Some(true) {
        "; Secure"
    } else {
        ""
    };
    format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax{secure}",
        cookie.name(),
        cookie.value()
    )
}

/// A `Location` of ASCII only: every other character percent-encoded
/// (UTF-8), as are controls (there are none: `return_to` refuses them).
pub(crate) fn ascii_location(target: &str) -> String {
    percent_encoding::utf8_percent_encode(target, percent_encoding::CONTROLS).to_string()
}

/// `POST` with the JSON login body (CONTRACT section 6). One login event
/// per request, whatever its outcome (a bad request and a throttled one
/// included).
async fn json_login<U: UserStore + 'static, I: SessionIssuer, R: ReplayStore + 'static>(
    State(routes): State<LoginRoutes<U, I, R>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    routes
        .serve(&parts, async |attempt| {
            if !content_type_is(&parts.headers, "application/json") {
                return Err(unsupported(
                    "the JSON login needs `Content-Type: application/json`",
                ));
            }
            let body = read_body(&parts, body, routes.options().max_body_bytes).await?;
            let request = LoginRequest::parse(&body)?;
            routes
                .login_http(request.token(), None, None, attempt)
                .await
        })
        .await
}

/// `POST` of an HTML form (`application/x-www-form-urlencoded`) whose field
/// named by a configuration's `token_name` holds the token; an optional
/// `return_to` field. One login event per request.
async fn form_login<U: UserStore + 'static, I: SessionIssuer, R: ReplayStore + 'static>(
    State(routes): State<LoginRoutes<U, I, R>>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    routes
        .serve(&parts, async |attempt| {
            if !content_type_is(&parts.headers, "application/x-www-form-urlencoded") {
                return Err(unsupported(
                    "the form login needs `Content-Type: application/x-www-form-urlencoded`",
                ));
            }
            let body = read_body(&parts, body, routes.options().max_body_bytes).await?;
            let Ok(form) = std::str::from_utf8(&body) else {
                return Err(HttpError::bad_request("the form body is not UTF-8").into());
            };
            browser_login(&routes, form, form_param, true, attempt).await
        })
        .await
}

/// `GET ?<token_name>=<jwt>` (optional `return_to`). `HEAD` logs nobody in
/// (and is no login attempt). One login event per `GET`.
async fn query_login<U: UserStore + 'static, I: SessionIssuer, R: ReplayStore + 'static>(
    State(routes): State<LoginRoutes<U, I, R>>,
    request: Request,
) -> Response {
    let (parts, _body) = request.into_parts();
    if parts.method == Method::HEAD {
        return (StatusCode::METHOD_NOT_ALLOWED, [(ALLOW, "GET")]).into_response();
    }
    routes
        .serve(&parts, async |attempt| {
            let query = parts.uri.query().unwrap_or("");
            let browser = prefers_html(&parts.headers);
            browser_login(&routes, query, query_param, browser, attempt).await
        })
        .await
}

async fn browser_login<U: UserStore + 'static, I: SessionIssuer, R: ReplayStore + 'static>(
    routes: &LoginRoutes<U, I, R>,
    text: &str,
    param: impl for<'t> Fn(&'t str, &str) -> Result<Option<std::borrow::Cow<'t, str>>, HttpError>,
    browser: bool,
    attempt: &mut Attempt,
) -> Result<Accepted, Refused> {
    let options = routes.options();
    let return_to = match param(text, "return_to")? {
        Some(target) => Some(safe_return_to(&target, &options.return_to_hosts)?),
        None => None,
    };
    // A browser (a form post, or a `GET` whose `Accept` prefers HTML, or
    // one with `return_to`) is sent on; an API client gets the JSON answer.
    let browser = (browser || return_to.is_some())
        .then(|| return_to.unwrap_or_else(|| options.default_return_to.clone()));
    let registry = routes.authenticator().registry();
    let mut found: Option<(String, String)> = None;
    for name in registry.token_names() {
        if let Some(token) = param(text, &name)? {
            if found.is_some() {
                return Err(HttpError::bad_request(
                    "tokens under more than one name; send one token",
                )
                .into());
            }
            found = Some((name, token.into_owned()));
        }
    }
    let Some((name, token)) = found else {
        return Err(HttpError::bad_request(format!(
            "no token: send it in the parameter named by the configuration's token_name ({})",
            registry.token_names().join(", ")
        ))
        .into());
    };
    routes
        .login_http(&token, Some(&name), browser, attempt)
        .await
}

/// Whether the request's `Accept` prefers `text/html` (a browser): its
/// `text/html` entry has a quality above 0 and at least that of
/// `application/json` (or of `*/*` when JSON is not named).
fn prefers_html(headers: &HeaderMap) -> bool {
    let mut html: Option<f32> = None;
    let mut json: Option<f32> = None;
    let mut any: Option<f32> = None;
    for value in headers.get_all(ACCEPT) {
        let Ok(value) = value.to_str() else {
            continue;
        };
        for entry in value.split(',') {
            let mut fields = entry.split(';');
            let media = fields.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = fields
                .filter_map(|f| f.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let slot = match media.as_str() {
                "text/html" => &mut html,
                "application/json" => &mut json,
                "*/*" => &mut any,
                _ => continue,
            };
            *slot = Some(slot.map_or(q, |old: f32| old.max(q)));
        }
    }
    match html {
        Some(html) if html > 0.0 => html >= json.or(any).unwrap_or(0.0),
        _ => false,
    }
}

/// Checks a `return_to` target: a relative path (`/x`, not `//x` or `/\x`)
/// or an `http(s)` URL whose host (or `host:port`) is in `allowed` (no user
/// information). Anything else is `bad_request`: no open redirect.
fn safe_return_to(target: &str, allowed: &[String]) -> Result<String, HttpError> {
    let refuse = || {
        HttpError::bad_request(
            "`return_to` must be a relative path (`/…`) or a URL on an allowed host",
        )
    };
    if target.is_empty()
        || target.len() > 2048
        || target
            .chars()
            .any(|c| c.is_control() || c == '\\' || c == ' ')
    {
        return Err(refuse());
    }
    if let Some(rest) = target.strip_prefix('/') {
        if rest.starts_with('/') {
            return Err(refuse());
        }
        return Ok(target.to_owned());
    }
    let uri: Uri = target.parse().map_err(|_| refuse())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("https" | "http"));
    let Some(authority) = uri.authority().filter(|_| scheme_ok) else {
        return Err(refuse());
    };
    if authority.as_str().contains('@') {
        return Err(refuse());
    }
    let host_port = authority.as_str();
    let host = authority.host();
    if allowed
        .iter()
        .any(|a| a.eq_ignore_ascii_case(host_port) || a.eq_ignore_ascii_case(host))
    {
        Ok(target.to_owned())
    } else {
        Err(refuse())
    }
}

fn content_type_is(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case(expected))
}

fn unsupported(problem: &str) -> Refused {
    Refused {
        error: HttpError::bad_request(problem),
        status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
        public: Some("The request's Content-Type is not accepted here."),
        close: false,
    }
}

fn too_large(max: usize) -> Box<Refused> {
    // The body is never read: the connection cannot be reused.
    Box::new(Refused {
        error: HttpError::bad_request(format!("the request body is larger than {max} bytes")),
        status: StatusCode::PAYLOAD_TOO_LARGE,
        public: Some("The request body is too large."),
        close: true,
    })
}

/// The body, up to `max` bytes; a declared `Content-Length` over `max` is
/// refused before anything is read (so `Expect: 100-continue` gets no `100`).
async fn read_body(parts: &Parts, body: Body, max: usize) -> Result<Bytes, Box<Refused>> {
    match read_limited(&parts.headers, body, max).await {
        Ok(bytes) => Ok(bytes),
        Err(BodyRefusal::TooLarge) => Err(too_large(max)),
        Err(BodyRefusal::Unreadable) => Err(Box::new(
            HttpError::bad_request("the request body could not be read").into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_throttled_answer_is_the_rate_limited_error_response() {
        let retry_after = Duration::from_secs(17);
        let fast = throttled_response(retry_after);
        let general = HttpError::RateLimited {
            failures: 20,
            retry_after,
        }
        .into_response();
        assert_eq!(fast.status(), general.status());
        for header in [CACHE_CONTROL, RETRY_AFTER, CONTENT_TYPE] {
            assert_eq!(
                fast.headers()[&header],
                general.headers()[&header],
                "{header}"
            );
        }
        let body = async |r: Response| -> serde_json::Value {
            let bytes = ::axum::body::to_bytes(r.into_body(), 1024).await.unwrap();
            serde_json::from_slice(&bytes).unwrap()
        };
        let fast = body(fast).await;
        assert_eq!(fast, body(general).await);
        assert_eq!(
            fast["error"]["kind"],
            crate::ErrorKind::RateLimited.as_str()
        );
    }

    /// Each login route is served only when its option is on.
    #[tokio::test]
    async fn each_login_route_is_served_only_when_its_option_is_on() {
        use tower::ServiceExt as _;
        let registry = Arc::new(crate::Registry::from_configs(Vec::new()).unwrap());
        let sessions = Arc::new(crate::Sessions::new(
            crate::MemoryStore::new(),
            registry.clock(),
        ));
        let status = async |options: LoginOptions, request: Request| {
            let auth = Authenticator::new(Arc::clone(&registry), crate::MemoryStore::new());
            let routes = LoginRoutes::new(auth, Arc::clone(&sessions), options);
            let router: Router = routes.router();
            router.oneshot(request).await.unwrap().status().as_u16()
        };
        let json = || {
            Request::post("/api/auth/login")
                .header(CONTENT_TYPE, "application/json")
                .body(::axum::body::Body::from(
                    r#"{"loginMode":67108864,"password":"x.y.z"}"#,
                ))
                .unwrap()
        };
        let form = || {
            Request::post("/login")
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(::axum::body::Body::from("token=x.y.z"))
                .unwrap()
        };
        // On by default: both answer (no configuration: the JSON token is
        // refused, 401; the form names no configuration's field, 400).
        assert_eq!(status(LoginOptions::default(), json()).await, 401);
        assert_eq!(status(LoginOptions::default(), form()).await, 400);
        let no_json = LoginOptions::default().json_login(false);
        assert_eq!(status(no_json.clone(), json()).await, 404);
        assert_eq!(status(no_json, form()).await, 400);
        let no_form = LoginOptions::default().form_login(false);
        assert_eq!(status(no_form.clone(), form()).await, 404);
        assert_eq!(status(no_form, json()).await, 401);
    }

    #[test]
    fn return_to_is_a_relative_path_or_an_allowed_host() {
        let hosts = ["bi.example.com".to_owned()];
        assert_eq!(
            safe_return_to("/reports?id=1", &hosts).unwrap(),
            "/reports?id=1"
        );
        assert!(safe_return_to("https://bi.example.com/x", &hosts).is_ok());
        for evil in [
            "//evil.example",
            "/\\evil.example",
            "https://evil.example/",
            "https://bi.example.com@evil.example/",
            "javascript:alert(1)",
        ] {
            let err = safe_return_to(evil, &hosts).unwrap_err();
            assert_eq!(err.kind().as_str(), "bad_request", "{evil}");
        }
    }
}
