//! Serving a router with connection bounds (CONTRACT section 6): a
//! connection that has not sent its request headers within 10 s, or sits
//! idle between requests for 60 s, is closed. Each request carries its
//! peer's address as axum's `ConnectInfo<SocketAddr>` (the login routes
//! throttle failed logins by it).

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use ::axum::Router;
use ::axum::extract::{ConnectInfo, Request};
use ::axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tower::ServiceExt as _;

/// The connection bounds of [`serve_with`].
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
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
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
}

/// Serves `router` on `listener` (HTTP/1.1) with the default
/// [`ServeOptions`]; runs until the task is dropped. Accept errors (e.g. no
/// file descriptors left) are logged and retried after a pause, never fatal.
///
/// ```no_run
/// # async fn run(router: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// jwt_sso::axum::serve(listener, router).await
/// # }
/// ```
pub async fn serve(listener: TcpListener, router: Router) -> io::Result<()> {
    serve_with(listener, router, ServeOptions::default()).await
}

/// [`serve`] with other bounds.
pub async fn serve_with(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
) -> io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                tracing::warn!(target: "jwt_sso::http", error = %error, "accept failed; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(stream, peer, router.clone(), options));
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

async fn connection(stream: TcpStream, peer: SocketAddr, router: Router, options: ServeOptions) {
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
            let response: Response =
                match router.oneshot(request.map(::axum::body::Body::new)).await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
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
    tokio::select! {
        result = conn => {
            if let Err(error) = result {
                tracing::debug!(target: "jwt_sso::http", error = %error, "connection ended with an error");
            }
        }
        () = watchdog(&watch, options) => {
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
