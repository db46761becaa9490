//! Serving a router with connection bounds (CONTRACT section 6): a
//! connection that has not sent its request headers within 10 s, or sits
//! idle between requests for 60 s, is closed; a request body that has not
//! fully arrived 10 s after its headers is answered `408` and its
//! connection closed; at most 10 000 connections are served at once, and
//! new ones beyond that are closed at once.
//!
//! Why not tower-http's `RequestBodyTimeoutLayer` or `TimeoutLayer`: the
//! first restarts its timer on every frame (a client sending one byte every
//! 5 s never trips a 10 s timeout) and hands the handler a plain body error
//! (each handler would answer it its own way); the second bounds the whole
//! response, so it would also cut a slow but legitimate handler (a login
//! that fetches remote keys). hyper has a header timeout but nothing for
//! bodies. So the body gets a fixed deadline here ([`DeadlineBody`]) and a
//! request whose body missed it is answered with one JSON `408`, whatever
//! its handler made of the error.
//!
//! Each request carries its peer's address as axum's
//! `ConnectInfo<SocketAddr>` (the login routes throttle failed logins by it).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use ::axum::Router;
use ::axum::extract::{ConnectInfo, Request};
use ::axum::http::header::CONNECTION;
use ::axum::http::{HeaderValue, StatusCode};
use ::axum::response::Response;
use hyper::body::{Bytes, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

use super::{HttpError, quiet_error_response};

/// The connection bounds of [`serve`] ([`Serve::options`]).
///
/// ```
/// use std::time::Duration;
/// use jwt_sso::axum::ServeOptions;
///
/// let options = ServeOptions::default()
///     .body_timeout(Duration::from_secs(5))
///     .max_connections(2_000);
/// assert_eq!(options.header_timeout, Duration::from_secs(10));
/// assert_eq!(options.body_timeout, Duration::from_secs(5));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServeOptions {
    /// A connection must send a request's complete headers within this time
    /// of being accepted, or of sending the first byte of its next request
    /// (default 10 s).
    pub header_timeout: Duration,
    /// A keep-alive connection with no request for this long is closed
    /// (default 60 s).
    pub idle_timeout: Duration,
    /// A request's body must have arrived whole within this time of its
    /// headers (default 10 s). A handler still waiting for it then gets a
    /// body error, and the request is answered `408` with the JSON error
    /// (kind `bad_request`) and `Connection: close`, whatever the handler
    /// answered. A handler that answers without reading the body is not
    /// held by it (hyper closes the connection after the answer).
    pub body_timeout: Duration,
    /// The most connections served at once (default 10 000). A connection
    /// accepted beyond it is closed at once, so that a flood of stalled
    /// connections cannot slow every other client down; set it below the
    /// process's file descriptor limit, leaving room for the database.
    pub max_connections: usize,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(10),
            max_connections: 10_000,
        }
    }
}

impl ServeOptions {
    /// The header timeout.
    pub fn header_timeout(mut self, timeout: Duration) -> Self {
        self.header_timeout = timeout;
        self
    }

    /// The idle timeout.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The body timeout.
    pub fn body_timeout(mut self, timeout: Duration) -> Self {
        self.body_timeout = timeout;
        self
    }

    /// The connection cap (at least 1).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }
}

/// Serves `router` on `listener` (HTTP/1.1) with the connection bounds of
/// [`ServeOptions`] (the defaults unless [`Serve::options`] says otherwise):
/// `.await` it, as `axum::serve`. It runs until its future is dropped (the
/// open connections then finish the request they serve and close), or with
/// [`Serve::with_graceful_shutdown`] until its signal and the connections
/// then open have finished. Accept errors (e.g. no file descriptors left)
/// are logged and retried after a pause, never fatal; a connection beyond
/// [`ServeOptions::max_connections`] is closed at once.
///
/// ```no_run
/// # async fn run(router: axum::Router) -> std::io::Result<()> {
/// use std::time::Duration;
/// use jwt_sso::axum::{ServeOptions, serve};
///
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// # drop(stop);
/// serve(listener, router)
///     .options(ServeOptions::default().body_timeout(Duration::from_secs(5)))
///     .with_graceful_shutdown(async { stopped.await.ok(); })
///     .await
/// # }
/// ```
pub fn serve(listener: TcpListener, router: Router) -> Serve<std::future::Pending<()>> {
    Serve {
        listener,
        router,
        options: ServeOptions::default(),
        signal: std::future::pending(),
    }
}

/// A server being set up by [`serve`]; `.await` runs it.
#[must_use = "a server does nothing until it is awaited"]
pub struct Serve<F> {
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    signal: F,
}

impl<F> std::fmt::Debug for Serve<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<F> Serve<F> {
    /// Serves with the connection bounds `options`.
    pub fn options(mut self, options: ServeOptions) -> Self {
        self.options = options;
        self
    }

    /// Stops when `signal` completes: no connection is accepted after it,
    /// every open connection finishes the request it is serving (bounded by
    /// the body deadline and the header and idle timeouts) and is then
    /// closed, and the server's future completes with `Ok(())`.
    pub fn with_graceful_shutdown<G>(self, signal: G) -> Serve<G>
    where
        G: Future<Output = ()> + Send + 'static,
    {
        Serve {
            listener: self.listener,
            router: self.router,
            options: self.options,
            signal,
        }
    }
}

impl<F> std::future::IntoFuture for Serve<F>
where
    F: Future<Output = ()> + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(run(self.listener, self.router, self.options, self.signal))
    }
}

/// The accept loop of [`Serve`], until `signal`; then waits for the open
/// connections.
async fn run(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    signal: impl Future<Output = ()> + Send,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(
        options.max_connections.clamp(1, Semaphore::MAX_PERMITS),
    ));
    // Every connection holds a receiver: `stop` tells them to finish, and
    // `closed()` resolves when the last one has.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let (mut accept_errors, mut refusals) = (Throttle::default(), Throttle::default());
    let mut signal = std::pin::pin!(signal);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut signal => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                if let Some(times) = accept_errors.hit() {
                    tracing::warn!(target: "jwt_sso::http", error = %error, times, "accept failed; retrying");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            // Closed at once: the client learns now, and nobody else waits.
            drop(stream);
            if let Some(refused) = refusals.hit() {
                tracing::warn!(
                    target: "jwt_sso::http",
                    refused,
                    max_connections = options.max_connections,
                    "connections closed at the connection cap"
                );
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let stopping = stopping.clone();
        tokio::spawn(connection(
            stream,
            peer,
            router.clone(),
            options,
            slot,
            stopping,
        ));
    }
    drop(listener);
    drop(stopping);
    tracing::debug!(target: "jwt_sso::http", open = stop.receiver_count(), "shutting down: no new connections");
    let _ = stop.send(true);
    stop.closed().await;
    Ok(())
}

/// A warning that a flood repeats many times a second (connections closed
/// at the cap, accept failing with no descriptors left): logged the first
/// time and then at most once a minute, with how often it happened since,
/// so the flood does not flood the log too.
#[derive(Default)]
struct Throttle {
    since_log: u64,
    logged_at: Option<Instant>,
}

impl Throttle {
    /// Counts one occurrence; `Some(count since the last log)` when it is
    /// time to log.
    fn hit(&mut self) -> Option<u64> {
        self.since_log += 1;
        let due = self
            .logged_at
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(60));
        if !due {
            return None;
        }
        self.logged_at = Some(Instant::now());
        Some(std::mem::take(&mut self.since_log))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for (the rest of) a request's headers, since the instant.
    Head,
    /// A request is being handled.
    Busy,
    /// Between requests, since the instant.
    Idle,
}

#[derive(Debug)]
struct Watch {
    state: Mutex<(Phase, Instant)>,
}

impl Watch {
    fn set(&self, phase: Phase) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = (phase, Instant::now());
    }

    fn get(&self) -> (Phase, Instant) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Bytes arrived: an idle connection starts a request.
    fn read_bytes(&self) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.0 == Phase::Idle {
            *state = (Phase::Head, Instant::now());
        }
    }
}

/// Serves one connection; `_slot` is its place under the connection cap,
/// given back when the connection ends.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    options: ServeOptions,
    _slot: OwnedSemaphorePermit,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let watch = Arc::new(Watch {
        state: Mutex::new((Phase::Head, Instant::now())),
    });
    let io = TokioIo::new(Watched {
        inner: stream,
        watch: Arc::clone(&watch),
    });
    let service_watch = Arc::clone(&watch);
    let service = tower::service_fn(move |mut request: Request<hyper::body::Incoming>| {
        let router = router.clone();
        let watch = Arc::clone(&service_watch);
        request.extensions_mut().insert(ConnectInfo(peer));
        async move {
            watch.set(Phase::Busy);
            let response = within_body_deadline(router, request, options.body_timeout).await;
            watch.set(Phase::Idle);
            Ok::<_, Infallible>(response)
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        // The watchdog below bounds header reads; hyper's own timer would
        // also cut idle keep-alive connections at the header timeout.
        .header_read_timeout(None)
        .keep_alive(true);
    let conn = builder.serve_connection(io, TowerToHyperService::new(service));
    let mut conn = std::pin::pin!(conn);
    let watchdog = watchdog(&watch, options);
    let mut watchdog = std::pin::pin!(watchdog);
    // Until the server stops: the connection, bounded by its watchdog.
    let result = tokio::select! {
        result = conn.as_mut() => Some(result),
        () = watchdog.as_mut() => None,
        // A closed channel (the server's future was dropped) stops too.
        () = async { drop(stopping.wait_for(|stop| *stop).await) } => {
            // hyper ends the connection after the request it is serving
            // (at once when there is none); the watchdog still bounds it.
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                result = conn.as_mut() => Some(result),
                () = watchdog.as_mut() => None,
            }
        }
    };
    match result {
        Some(Ok(())) => {}
        Some(Err(error)) => {
            tracing::debug!(target: "jwt_sso::http", error = %error, "connection ended with an error");
        }
        None => {
            tracing::debug!(target: "jwt_sso::http", "connection closed by its header or idle timeout");
        }
    }
}

/// Returns when the connection has overstayed its phase's bound.
async fn watchdog(watch: &Watch, options: ServeOptions) {
    loop {
        let (phase, since) = watch.get();
        let deadline = match phase {
            Phase::Head => since + options.header_timeout,
            Phase::Idle => since + options.idle_timeout,
            Phase::Busy => {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if Instant::now() >= deadline {
            let (now_phase, now_since) = watch.get();
            if (now_phase, now_since) == (phase, since) {
                return;
            }
            continue;
        }
        tokio::time::sleep_until(deadline.min(Instant::now() + Duration::from_secs(1))).await;
    }
}

/// Runs `router` on `request` with its body under a deadline of `timeout`
/// from now (the headers have just arrived); a request whose handler saw the
/// deadline pass while it waited for the body is answered
/// [`body_timeout_response`].
async fn within_body_deadline(
    router: Router,
    request: Request<Incoming>,
    timeout: Duration,
) -> Response {
    let missed = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        ::axum::body::Body::new(DeadlineBody {
            inner: body,
            deadline: Instant::now() + timeout,
            sleep: None,
            missed: Arc::clone(&missed),
        })
    });
    let response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    if missed.load(Ordering::Acquire) {
        body_timeout_response(timeout)
    } else {
        response
    }
}

/// `408` with the JSON error (kind `bad_request`), closing the connection:
/// the rest of the body may still be on its way.
fn body_timeout_response(timeout: Duration) -> Response {
    let error = HttpError::bad_request(format!(
        "the request body did not arrive within {} ms of its headers",
        timeout.as_millis()
    ));
    // Not logged here above DEBUG: the handler that waited for the body has
    // answered (a login route with its one login event, CONTRACT section 6).
    tracing::debug!(target: "jwt_sso::http", timeout_ms = timeout.as_millis() as u64, "request body deadline missed");
    let mut response = quiet_error_response(
        StatusCode::REQUEST_TIMEOUT,
        &error,
        Some("The request body did not arrive in time."),
    );
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body that must end by `deadline`: a read that would wait past
/// it fails with [`BodyDeadlineMissed`] and marks the request `missed`. Bytes
/// that already arrived are still handed out first. The timer is armed only
/// when a read has to wait.
struct DeadlineBody {
    inner: Incoming,
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
    missed: Arc<AtomicBool>,
}

/// The error a handler reads from a body that missed its deadline.
#[derive(Debug)]
struct BodyDeadlineMissed;

impl std::fmt::Display for BodyDeadlineMissed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the request body did not arrive in time")
    }
}

impl std::error::Error for BodyDeadlineMissed {}

impl hyper::body::Body for DeadlineBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        let deadline = self.deadline;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.missed.store(true, Ordering::Release);
                Poll::Ready(Some(Err(Box::new(BodyDeadlineMissed))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The TCP stream, telling the watchdog when bytes arrive.
struct Watched {
    inner: TcpStream,
    watch: Arc<Watch>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.watch.read_bytes();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ::axum::Router;
    use ::axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::serve;

    async fn get_request(stream: &mut TcpStream, path: &str) {
        let head = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
    }

    /// Reads until the response's body `body` has arrived or the server
    /// closed the connection; returns everything read.
    async fn read_response(stream: &mut TcpStream, body: &str) -> String {
        let mut text = Vec::new();
        let mut buffer = [0u8; 1024];
        loop {
            let n = stream.read(&mut buffer).await.unwrap();
            text.extend_from_slice(&buffer[..n]);
            if n == 0 || String::from_utf8_lossy(&text).ends_with(body) {
                return String::from_utf8(text).unwrap();
            }
        }
    }

    /// After the signal no connection is accepted, a request being served
    /// gets its whole answer, an idle keep-alive connection is closed, and
    /// the server's future completes.
    #[tokio::test]
    async fn a_graceful_shutdown_finishes_what_is_being_served_and_accepts_nothing_new() {
        let router = Router::new()
            .route("/fast", get(|| async { "fast" }))
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    "slow answer"
                }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            serve(listener, router)
                .with_graceful_shutdown(async {
                    stopped.await.ok();
                })
                .await
        });

        // An idle keep-alive connection, and one waiting for a slow answer.
        let mut idle = TcpStream::connect(addr).await.unwrap();
        get_request(&mut idle, "/fast").await;
        let first = read_response(&mut idle, "fast").await;
        assert!(first.starts_with("HTTP/1.1 200"), "{first}");
        let mut busy = TcpStream::connect(addr).await.unwrap();
        get_request(&mut busy, "/slow").await;
        tokio::time::sleep(Duration::from_millis(100)).await;

        stop.send(()).unwrap();
        let within = Duration::from_secs(10);
        let answer = tokio::time::timeout(within, read_response(&mut busy, "slow answer"))
            .await
            .expect("the slow request is answered");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("slow answer"), "{answer}");
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(within, idle.read_to_end(&mut rest))
            .await
            .expect("the idle connection is closed");
        assert_eq!((closed.unwrap(), rest.len()), (0, 0));
        let result = tokio::time::timeout(within, server)
            .await
            .expect("the server stops")
            .unwrap();
        assert!(matches!(result, Ok(())), "{result:?}");
        let refused = TcpStream::connect(addr).await;
        assert!(
            refused.is_err(),
            "a connection after the shutdown: {refused:?}"
        );
    }
}
