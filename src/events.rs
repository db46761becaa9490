//! Login events (CONTRACT section 9): one typed value per login attempt,
//! for the host's subscribers besides the one `tracing` event and the
//! [metrics](crate::metrics).
//!
//! - [`LoginEvent`]: what happened (`id`, `time`, `config`, `accepted`,
//!   `kind`, `user_id`, `first_login`, `client`, `message`, `hint`); never a token,
//!   a secret or a session token, and every value that came from a token
//!   escaped (control characters) and cut (200 characters) as the crate's
//!   messages are.
//! - [`EventReceiver`]: a subscription to an [`Authenticator`]'s events
//!   ([`Authenticator::subscribe`]), each with a bounded buffer of its own.
//!   A subscriber that is slow, stuck or gone never delays or fails a
//!   login: when its buffer is full the event is dropped for it and counted
//!   ([`Authenticator::events_dropped`], metric `jwt_sso_events_dropped_total`).
//! - [`EventQuery`]: a selection of the stored history, newest first
//!   (`SqlStore::spawn_event_writer` keeps one, `SqlStore::login_events`
//!   reads it, and the admin API serves it as `GET /api/admin/events`).
//!
//! Which attempts are events: every [`Authenticator::login`] and
//! [`Authenticator::provision`], and every request to the login routes of
//! the `axum` module (a bad request and a throttled one included, `HEAD`
//! excluded); never [`Authenticator::check`] (the admin API's token test).
//!
//! # The `tracing` span and event (stable names)
//!
//! Each attempt runs in a span named `jwt_sso.login` (target `jwt_sso`,
//! level INFO) whose fields are filled in as the attempt ends: `config`,
//! `outcome` (`accepted`|`refused`), `kind`, `user_id`, `first_login`,
//! `client`, and for a refusal `otel.status_code` (`ERROR`) and
//! `otel.status_description` (the full message), so a host with
//! `tracing-opentelemetry` gets one span per login with these attributes
//! and no code. Then exactly one event (target `jwt_sso`), emitted after
//! the span, beside it rather than inside it, so that a log line names each
//! field once (a formatter prints an event's enclosing spans with their
//! fields): INFO `login accepted` with `config`, `outcome`, `user_id`, `first_login`,
//! `client`; or WARN `login refused` with `config`, `outcome`, `kind`,
//! `user_id` (once the token was verified), `client`, `error` (the full
//! message, with the chain of sources) and `hint`. Fields without a value
//! are left out. No other event of INFO or above is emitted for a login.
//!
//! ```
//! use std::sync::Arc;
//! use jwt_sso::{Authenticator, ErrorKind, ManualClock, MemoryStore, Registry, UnixTime, Verification};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let registry = Registry::from_json_str(r#"{
//!     "name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
//!     "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
//!     "expiration_time": 3600, "claims": {"user_id": "sub"}
//! }"#)?
//! .with_clock(ManualClock::new(UnixTime::from_secs(1_767_225_600)));
//! let auth = Authenticator::new(Arc::new(registry), MemoryStore::new());
//! let mut audit = auth.subscribe(1024); // e.g. a task writing them to the host's audit log
//!
//! let _ = auth.login("not-a-token", Verification::default()).await;
//! let event = audit.try_recv().expect("one event per attempt");
//! assert!(!event.accepted);
//! assert_eq!(event.kind, Some(ErrorKind::Malformed));
//! assert_eq!(event.time, UnixTime::from_secs(1_767_225_600));
//! assert!(event.hint.is_some());
//! assert!(audit.try_recv().is_none());
//! # Ok(())
//! # }
//! ```
//!
//! [`Authenticator`]: crate::Authenticator
//! [`Authenticator::subscribe`]: crate::Authenticator::subscribe
//! [`Authenticator::events_dropped`]: crate::Authenticator::events_dropped
//! [`Authenticator::login`]: crate::Authenticator::login
//! [`Authenticator::provision`]: crate::Authenticator::provision
//! [`Authenticator::check`]: crate::Authenticator::check

use std::borrow::Cow;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use serde::Serialize;
use serde::ser::SerializeStruct as _;
use tokio::sync::mpsc;

use crate::error::{Error, ErrorKind, escape_controls, untrusted};
use crate::metrics::Outcome;
use crate::unix_time::UnixTime;

/// One login attempt (CONTRACT section 9), as subscribers receive it and
/// the history returns it.
///
/// Serialises as the contract's
/// `{"id","time","config","outcome","kind","user_id","first_login","client","message","hint"}`:
/// `time` as RFC 3339, `outcome` `"accepted"` or `"refused"` (from
/// `accepted`), absent values as `null`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoginEvent {
    /// Increasing: a subscription numbers a process's events from 1; the
    /// history numbers them across every instance that shares it.
    pub id: u64,
    /// When the attempt was made: the time the token was checked at (the
    /// registry's clock, or the [`Verification`](crate::Verification)'s time).
    pub time: UnixTime,
    /// The configuration that took the token; `None` when none was chosen
    /// (no match, a bad request, a throttled attempt).
    pub config: Option<String>,
    /// Whether the user was logged in (the contract's `outcome`).
    pub accepted: bool,
    /// Why the attempt was refused; `None` when it was accepted (or, read
    /// from a history that a newer release shares, for a kind this release
    /// does not know).
    pub kind: Option<ErrorKind>,
    /// The user ID, once the token was verified (escaped, cut to 200 characters).
    pub user_id: Option<String>,
    /// Whether the login created the user (`None` when refused).
    pub first_login: Option<bool>,
    /// The client's address (`None` when the login did not come over HTTP).
    pub client: Option<IpAddr>,
    /// The administrator's full message of a refusal.
    pub message: Option<String>,
    /// The administrator's hint for a refusal.
    pub hint: Option<String>,
}

impl Serialize for LoginEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("LoginEvent", 10)?;
        s.serialize_field("id", &self.id)?;
        s.serialize_field("time", &self.time.to_string())?;
        s.serialize_field("config", &self.config)?;
        s.serialize_field("outcome", Outcome::of(self.accepted).as_str())?;
        s.serialize_field("kind", &self.kind)?;
        s.serialize_field("user_id", &self.user_id)?;
        s.serialize_field("first_login", &self.first_login)?;
        s.serialize_field("client", &self.client)?;
        s.serialize_field("message", &self.message)?;
        s.serialize_field("hint", &self.hint)?;
        s.end()
    }
}

/// The hub a login flow reports its events to (an [`Authenticator`]
/// holds one; clones share it). Without subscribers an event costs nothing
/// beyond its `tracing` event and metrics.
///
/// [`Authenticator`]: crate::Authenticator
#[derive(Clone, Default)]
pub(crate) struct LoginEvents {
    hub: Arc<Hub>,
}

#[derive(Default)]
struct Hub {
    next_id: AtomicU64,
    /// How many senders are open (read without the lock on every login).
    open: AtomicUsize,
    subscribers: RwLock<Vec<mpsc::Sender<Arc<LoginEvent>>>>,
    dropped: AtomicU64,
}

impl Hub {
    /// Counts `n` events as dropped (and in `jwt_sso_events_dropped_total`).
    fn count_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
        crate::metrics::events_dropped(n);
    }
}

impl fmt::Debug for LoginEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginEvents")
            .field("subscribers", &self.hub.open.load(Ordering::Relaxed))
            .field("dropped", &self.dropped())
            .finish()
    }
}

impl LoginEvents {
    /// A hub without subscribers.
    pub(crate) fn new() -> Self {
        LoginEvents::default()
    }

    /// A new subscriber with a buffer of `capacity` events (at least 1).
    pub(crate) fn subscribe(&self, capacity: usize) -> EventReceiver {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let mut subscribers = self
            .hub
            .subscribers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers.push(sender);
        self.hub.open.store(subscribers.len(), Ordering::Relaxed);
        EventReceiver {
            receiver,
            hub: Arc::clone(&self.hub),
        }
    }

    /// How many events were dropped so far.
    pub(crate) fn dropped(&self) -> u64 {
        self.hub.dropped.load(Ordering::Relaxed)
    }

    /// Hands `event` to every subscriber, numbered; never waits.
    fn publish(&self, mut event: LoginEvent) {
        event.id = self.hub.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let event = Arc::new(event);
        let mut closed = false;
        let mut full = 0;
        {
            let subscribers = self
                .hub
                .subscribers
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            for sender in subscribers.iter() {
                match sender.try_send(Arc::clone(&event)) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => full += 1,
                    Err(mpsc::error::TrySendError::Closed(_)) => closed = true,
                }
            }
        }
        if full > 0 {
            self.hub.count_dropped(full);
        }
        if closed {
            let mut subscribers = self
                .hub
                .subscribers
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            subscribers.retain(|s| !s.is_closed());
            self.hub.open.store(subscribers.len(), Ordering::Relaxed);
        }
    }

    fn wanted(&self) -> bool {
        self.hub.open.load(Ordering::Relaxed) > 0
    }
}

/// A subscription to the login events of an
/// [`Authenticator`](crate::Authenticator)
/// ([`Authenticator::subscribe`](crate::Authenticator::subscribe)): a
/// buffer of its own, filled without waiting; when it is full, new events
/// are dropped for this subscriber and counted. Dropping the receiver
/// unsubscribes.
pub struct EventReceiver {
    receiver: mpsc::Receiver<Arc<LoginEvent>>,
    /// Where a history counts the events it could not store.
    #[cfg_attr(not(any(feature = "sqlite", feature = "postgres")), allow(dead_code))]
    hub: Arc<Hub>,
}

impl fmt::Debug for EventReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventReceiver")
            .field("waiting", &self.receiver.len())
            .finish_non_exhaustive()
    }
}

impl EventReceiver {
    /// The next event; `None` once the [`Authenticator`](crate::Authenticator)
    /// (and every login route over it) is gone.
    pub async fn recv(&mut self) -> Option<Arc<LoginEvent>> {
        self.receiver.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Arc<LoginEvent>> {
        self.receiver.try_recv().ok()
    }

    /// Up to `max` waiting events, appended to `into` (waits for the first
    /// one); 0 once the [`Authenticator`](crate::Authenticator) is gone.
    pub async fn recv_many(&mut self, into: &mut Vec<Arc<LoginEvent>>, max: usize) -> usize {
        self.receiver.recv_many(into, max.max(1)).await
    }

    /// Counts `n` received events as lost after all (a history that could
    /// not store them).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn count_dropped(&self, n: u64) {
        self.hub.count_dropped(n);
    }
}

/// A selection of the stored login events (`SqlStore::login_events`, the
/// admin API's `GET /api/admin/events`): newest first, filtered, at most
/// `limit` of them, older than `before`.
///
/// ```
/// use jwt_sso::events::EventQuery;
///
/// let mut query = EventQuery::default();
/// assert_eq!(query.limit, 50);
/// query.accepted = Some(false); // refused attempts only
/// query.config = Some("ERP".into());
/// # #[cfg(feature = "axum")]
/// assert_eq!(EventQuery::parse("config=ERP&outcome=refused").unwrap(), query);
/// ```
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[cfg_attr(docsrs, doc(cfg(any(feature = "sqlite", feature = "postgres"))))]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventQuery {
    /// How many events at most, 1–500 (default 50).
    pub limit: u32,
    /// Only this configuration's events (its name, any case).
    pub config: Option<String>,
    /// Only accepted (`Some(true)`) or only refused (`Some(false)`) attempts.
    pub accepted: Option<bool>,
    /// Only refusals of this kind.
    pub kind: Option<ErrorKind>,
    /// Only this user's events (exact).
    pub user_id: Option<String>,
    /// Only events with a smaller `id`: the last `id` of the previous page.
    pub before: Option<u64>,
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl Default for EventQuery {
    fn default() -> Self {
        EventQuery {
            limit: 50,
            config: None,
            accepted: None,
            kind: None,
            user_id: None,
            before: None,
        }
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl EventQuery {
    /// The largest `limit`.
    pub(crate) const MAX_LIMIT: u32 = 500;
}

/// The kind named `name` (its snake_case name).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn kind_named(name: &str) -> Option<ErrorKind> {
    ErrorKind::ALL.into_iter().find(|k| k.as_str() == name)
}

/// Where a login stands, for its outcome event.
#[derive(Default)]
pub(crate) struct Progress {
    /// The configuration that took the token, once routed.
    pub(crate) config: Option<String>,
    /// The user ID, once verified.
    pub(crate) user_id: Option<String>,
}

/// One login attempt in progress: where it stands, for its event.
pub(crate) struct Attempt {
    started: Instant,
    client: Option<IpAddr>,
    pub(crate) progress: Progress,
    span: tracing::Span,
}

impl Attempt {
    /// An attempt from `client` (when known), starting now.
    pub(crate) fn start(client: Option<IpAddr>) -> Attempt {
        let span = tracing::info_span!(
            target: "jwt_sso",
            "jwt_sso.login",
            config = tracing::field::Empty,
            outcome = tracing::field::Empty,
            kind = tracing::field::Empty,
            user_id = tracing::field::Empty,
            first_login = tracing::field::Empty,
            client = client.map(tracing::field::display),
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        );
        Attempt {
            started: Instant::now(),
            client,
            progress: Progress::default(),
            span,
        }
    }

    /// The attempt's span (the work of the attempt runs in it).
    pub(crate) fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// The client's address.
    #[cfg(feature = "axum")]
    pub(crate) fn client(&self) -> Option<IpAddr> {
        self.client
    }
}

/// How an attempt ended.
pub(crate) enum Ending {
    Accepted { first_login: bool },
    Refused(Refusal),
}

/// A refusal as the administrator reads it.
pub(crate) struct Refusal {
    pub(crate) kind: ErrorKind,
    /// The full message (with its chain of sources), escaped.
    pub(crate) message: String,
    pub(crate) hint: String,
}

impl Refusal {
    /// An error of `kind` with its full message (the chain of its sources:
    /// a store's own error) and its hint; escaped.
    pub(crate) fn new(kind: ErrorKind, error: &dyn std::error::Error, hint: &str) -> Refusal {
        Refusal {
            kind,
            message: escape_controls(&crate::error::chain(error)).into_owned(),
            hint: escape_controls(hint).into_owned(),
        }
    }

    /// A refusal of the login flow.
    pub(crate) fn of(error: &Error) -> Refusal {
        Refusal::new(error.kind(), error, error.hint())
    }
}

impl Ending {
    pub(crate) fn of<T>(result: &Result<T, Error>, first_login: impl FnOnce(&T) -> bool) -> Ending {
        match result {
            Ok(value) => Ending::Accepted {
                first_login: first_login(value),
            },
            Err(error) => Ending::Refused(Refusal::of(error)),
        }
    }
}

/// Ends `attempt`: its one `tracing` event (in its span), its metrics, and
/// its [`LoginEvent`] for the subscribers of `events`. `now` is the
/// registry clock's time.
pub(crate) fn finish(events: &LoginEvents, attempt: Attempt, now: UnixTime, ending: Ending) {
    let duration = attempt.started.elapsed();
    let config = attempt.progress.config.as_deref().map(escape_controls);
    let user_id = attempt.progress.user_id.as_deref().map(untrusted);
    let span = &attempt.span;
    let client = attempt.client.map(tracing::field::display);
    let (outcome, kind) = match &ending {
        Ending::Accepted { .. } => (Outcome::Accepted, None),
        Ending::Refused(refusal) => (Outcome::Refused, Some(refusal.kind)),
    };
    if !span.is_disabled() {
        span.record("config", config.as_deref());
        span.record("outcome", outcome.as_str());
        span.record("kind", kind.map(ErrorKind::as_str));
        span.record("user_id", user_id.as_deref());
        match &ending {
            Ending::Accepted { first_login } => {
                span.record("first_login", first_login);
            }
            Ending::Refused(refusal) => {
                span.record("otel.status_code", "ERROR");
                span.record("otel.status_description", refusal.message.as_str());
            }
        }
    }
    // Not inside the span: its fields would print again beside the event's.
    match &ending {
        Ending::Accepted { first_login } => tracing::info!(
            target: "jwt_sso",
            config = config.as_deref(),
            outcome = "accepted",
            user_id = user_id.as_deref(),
            first_login = first_login,
            client,
            "login accepted"
        ),
        Ending::Refused(refusal) => tracing::warn!(
            target: "jwt_sso",
            config = config.as_deref(),
            outcome = "refused",
            kind = refusal.kind.as_str(),
            user_id = user_id.as_deref(),
            client,
            error = %refusal.message,
            hint = %refusal.hint,
            "login refused"
        ),
    }
    crate::metrics::login(attempt.progress.config.as_deref(), outcome, kind, duration);
    if events.wanted() {
        let (first_login, message, hint) = match ending {
            Ending::Accepted { first_login } => (Some(first_login), None, None),
            Ending::Refused(refusal) => (None, Some(refusal.message), Some(refusal.hint)),
        };
        events.publish(LoginEvent {
            id: 0,
            time: now,
            config: config.map(Cow::into_owned),
            accepted: outcome == Outcome::Accepted,
            kind,
            user_id: user_id.map(Cow::into_owned),
            first_login,
            client: attempt.client,
            message,
            hint,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_subscriber_drops_and_counts_and_a_gone_one_is_forgotten() {
        let events = LoginEvents::new();
        let mut slow = events.subscribe(2);
        let gone = events.subscribe(2);
        drop(gone);
        for _ in 0..5 {
            finish(
                &events,
                Attempt::start(None),
                UnixTime::from_secs(0),
                Ending::Accepted { first_login: false },
            );
        }
        assert_eq!(events.dropped(), 3);
        assert_eq!(events.hub.open.load(Ordering::Relaxed), 1);
        assert_eq!(slow.try_recv().unwrap().id, 1);
        assert_eq!(slow.try_recv().unwrap().id, 2);
        assert!(slow.try_recv().is_none());
    }

    #[test]
    fn an_event_serialises_with_the_contract_members() {
        let event = LoginEvent {
            id: 7,
            time: UnixTime::from_secs(1_767_225_600),
            config: Some("ERP".into()),
            accepted: false,
            kind: Some(ErrorKind::Expired),
            user_id: None,
            first_login: None,
            client: Some("192.0.2.1".parse().unwrap()),
            message: Some("m".into()),
            hint: Some("h".into()),
        };
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id":7,"time":"2026-01-01T00:00:00Z","config":"ERP","outcome":"refused",
                "kind":"expired","user_id":null,"first_login":null,"client":"192.0.2.1","message":"m","hint":"h"})
        );
        let accepted = LoginEvent {
            accepted: true,
            kind: None,
            first_login: Some(true),
            message: None,
            hint: None,
            ..event
        };
        let json = serde_json::to_value(&accepted).unwrap();
        assert_eq!(json["outcome"], "accepted");
        assert_eq!(json["kind"], serde_json::Value::Null);
    }
}
