//! The HTTP seam: the key cache asks an [`HttpFetch`] for one GET at a time
//! and decides everything else itself (status, redirects, size, parsing,
//! caching). The default is `ReqwestFetch` (reqwest with rustls); a host or a test can supply its
//! own, including a closure.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

/// One GET request the key cache wants made.
///
/// A fetcher must honour [`HttpRequest::timeout`] (the whole exchange,
/// connect to last body byte), must not follow redirects (return the 3xx
/// response; the cache follows same-origin redirects itself), and should stop
/// reading a body longer than [`HttpRequest::max_body_bytes`] (the cache
/// refuses such a body in any case).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpRequest {
    /// The absolute URL to GET (`https://…`, or `http://` to a loopback host).
    pub url: String,
    /// How long the whole request may take.
    pub timeout: Duration,
    /// The largest body accepted, in bytes.
    pub max_body_bytes: usize,
}

/// What a fetcher got back: the status, the headers the cache uses, the body.
///
/// ```
/// use jwt_sso::HttpResponse;
///
/// let response = HttpResponse::new(200, br#"{"keys": []}"#.to_vec())
///     .with_cache_control("public, max-age=3600");
/// assert_eq!(response.status, 200);
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpResponse {
    /// The HTTP status code.
    pub status: u16,
    /// The `Cache-Control` header, if any (its `max-age` sets the freshness).
    pub cache_control: Option<String>,
    /// The `Location` header, if any (used for redirects).
    pub location: Option<String>,
    /// The response body.
    pub body: Vec<u8>,
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("cache_control", &self.cache_control)
            .field("location", &self.location)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

impl HttpResponse {
    /// A response with a status and a body, no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        HttpResponse {
            status,
            cache_control: None,
            location: None,
            body: body.into(),
        }
    }

    /// Sets the `Cache-Control` header.
    pub fn with_cache_control(mut self, value: impl Into<String>) -> Self {
        self.cache_control = Some(value.into());
        self
    }

    /// Sets the `Location` header.
    pub fn with_location(mut self, value: impl Into<String>) -> Self {
        self.location = Some(value.into());
        self
    }
}

/// Why a fetch failed before a response arrived (connection refused, TLS,
/// timeout, body too large…). The message ends up in a `key_fetch` error, so
/// it must not hold secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FetchError {
    message: String,
}

impl FetchError {
    /// A failure described by `message`, e.g. `"connection refused"`.
    pub fn new(message: impl fmt::Display) -> Self {
        FetchError {
            message: message.to_string(),
        }
    }
}

/// The future a fetcher returns.
pub(crate) type FetchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<HttpResponse, FetchError>> + Send + 'a>>;

/// Makes one HTTP GET for the key cache.
///
/// Implemented by the default client (reqwest with rustls) and by every closure
/// `Fn(HttpRequest) -> impl Future<Output = Result<HttpResponse, FetchError>>`,
/// so a host can route requests through its own client (a proxy, extra root
/// certificates, client authentication) and a test can serve documents
/// without a network:
///
/// ```
/// use jwt_sso::{FetchError, HttpRequest, HttpResponse};
///
/// let fetch = |request: HttpRequest| async move {
///     if request.url.ends_with("/jwks") {
///         Ok(HttpResponse::new(200, br#"{"keys": []}"#.to_vec()))
///     } else {
///         Err(FetchError::new("no such document"))
///     }
/// };
/// # fn takes(_: impl jwt_sso::HttpFetch) {}
/// takes(fetch);
/// ```
pub trait HttpFetch: Send + Sync {
    /// Performs `request`. See [`HttpRequest`] for what a fetcher must honour.
    #[allow(clippy::type_complexity)]
    fn fetch(
        &self,
        request: HttpRequest,
    ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, FetchError>> + Send + '_>>;
}

impl<F, Fut> HttpFetch for F
where
    F: Fn(HttpRequest) -> Fut + Send + Sync,
    Fut: Future<Output = Result<HttpResponse, FetchError>> + Send + 'static,
{
    fn fetch(&self, request: HttpRequest) -> FetchFuture<'_> {
        Box::pin(self(request))
    }
}

/// The default fetcher: `reqwest` with rustls, redirects not followed, the
/// request's timeout applied to the whole exchange, and the body read in
/// chunks up to the size limit.
///
/// The client is built on the first fetch (never by
/// [`crate::Verifier::new`]) and keeps no idle connections (fetches are
/// minutes apart), so one verifier may be driven from several runtimes. It reads the `HTTPS_PROXY`/`NO_PROXY`
/// environment variables as reqwest does and trusts the platform's root
/// certificates.
#[derive(Default)]
pub(crate) struct ReqwestFetch {
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl fmt::Debug for ReqwestFetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestFetch").finish_non_exhaustive()
    }
}

impl ReqwestFetch {
    /// A fetcher whose client is built on first use.
    pub fn new() -> Self {
        Self::default()
    }

    fn client(&self) -> Result<&reqwest::Client, FetchError> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    // Fetches are minutes apart: no idle connections, so a
                    // verifier also works when driven from several runtimes.
                    .pool_max_idle_per_host(0)
                    .user_agent(concat!("jwt-sso/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("cannot set up the HTTPS client: {}", describe(&e)))
            })
            .as_ref()
            .map_err(FetchError::new)
    }

    async fn get(&self, request: HttpRequest) -> Result<HttpResponse, FetchError> {
        let client = self.client()?;
        let timeout = request.timeout;
        let fail = |e: reqwest::Error| {
            if e.is_timeout() {
                FetchError::new(format!("timed out after {}", crate::remote::human(timeout)))
            } else {
                FetchError::new(describe(&e))
            }
        };
        let mut response = client
            .get(&request.url)
            .header(
                reqwest::header::ACCEPT,
                "application/json, application/jwk-set+json, */*;q=0.5",
            )
            .timeout(timeout)
            .send()
            .await
            .map_err(fail)?;
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let cache_control = header(reqwest::header::CACHE_CONTROL);
        let location = header(reqwest::header::LOCATION);
        let status = response.status().as_u16();
        let too_large =
            || FetchError::new(crate::remote::too_large_message(request.max_body_bytes));
        if response
            .content_length()
            .is_some_and(|n| n > request.max_body_bytes as u64)
        {
            return Err(too_large());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(fail)? {
            if body.len() + chunk.len() > request.max_body_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(HttpResponse {
            status,
            cache_control,
            location,
            body,
        })
    }
}

impl HttpFetch for ReqwestFetch {
    fn fetch(&self, request: HttpRequest) -> FetchFuture<'_> {
        Box::pin(self.get(request))
    }
}

/// A reqwest error with its causes, without the URL (the caller names it).
fn describe(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the response body could not be read".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
