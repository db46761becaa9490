//! Login events (CONTRACT section 9): one typed value per login attempt,
//! handed to the host's subscribers besides the one `tracing` event.
//!
//! - [`LoginEvent`]: what happened (`id`, `time`, `config`, `outcome`,
//!   `kind`, `user_id`, `first_login`, `client`, `message`, `hint`); never a
//!   token, a secret or a session token, and every value that came from a
//!   token escaped (control characters) and cut (200 characters) as the
//!   crate's messages are.
//! - [`LoginEvents`]: the hub a login flow reports to
//!   ([`Authenticator::with_events`](crate::Authenticator::with_events)).
//!   Each [`LoginEvents::subscribe`] is a bounded buffer of its own; a
//!   subscriber that is slow, stuck or gone never delays or fails a login:
//!   when its buffer is full the event is dropped for it and counted
//!   ([`LoginEvents::dropped`], metric `jwt_sso_events_dropped_total`).
//! - [`EventQuery`], [`EventPage`] and [`EventHistory`]: the stored history
//!   (`SqlStore` keeps one) and the administrator's `GET /api/admin/events`.
//!
//! # The `tracing` span and event (stable names)
//!
//! Each attempt runs in a span named `jwt_sso.login` (target `jwt_sso`,
//! level INFO) whose fields are filled in as the attempt goes: `config`,
//! `outcome` (`accepted`|`refused`), `kind`, `user_id`, `first_login`,
//! `client`, and `otel.status_code` (`ERROR` for a refusal), so a host with
//! `tracing-opentelemetry` gets one span per login with these attributes
//! and no code. Inside it, exactly one event (target `jwt_sso`): INFO
//! `login accepted` with `config`, `outcome`, `user_id`, `first_login`,
//! `client`; or WARN `login refused` with `config`, `outcome`, `kind`,
//! `user_id` (once the token was verified), `client`, `error` (the full
//! message, with the chain of sources) and `hint`. Fields without a value
//! are left out. No other event of INFO or above is emitted for a login.
//!
//! ```
//! use std::sync::Arc;
//! use jwt_sso::{Authenticator, LoginEvents, ManualClock, MemoryStore, Outcome, Registry, UnixTime, Verification};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), jwt_sso::Error> {
//! let registry = Registry::from_json_str(r#"{
//!     "name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
//!     "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
//!     "expiration_time": 3600, "claims": {"user_id": "sub"}
//! }"#)?
//! .with_clock(ManualClock::new(UnixTime::from_secs(1_767_225_600)));
//! let events = LoginEvents::new();
//! let mut audit = events.subscribe(1024); // e.g. a task writing them to the host's audit log
//! let auth = Authenticator::new(Arc::new(registry), MemoryStore::new()).with_events(events);
//!
//! let _ = auth.login("not-a-token", Verification::default()).await;
//! let event = audit.try_recv().expect("one event per attempt");
//! assert_eq!(event.outcome, Outcome::Refused);
//! assert_eq!(event.kind.map(|k| k.as_str()), Some("malformed"));
//! assert!(event.hint.is_some());
//! assert!(audit.try_recv().is_none());
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Instant;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::mpsc;

#[cfg(feature = "axum")]
use crate::axum::HttpError;
use crate::error::{Error, ErrorKind, escape_controls, untrusted};
#[cfg(feature = "axum")]
use crate::extract::query_param;
use crate::store::StoreError;
use crate::unix_time::UnixTime;

/// Whether a login attempt was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The user is logged in.
    Accepted,
    /// The attempt was refused (its `kind` says why).
    Refused,
}

impl Outcome {
    /// `accepted` or `refused`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Refused => "refused",
        }
    }

    /// The outcome named `name` (`accepted` or `refused`).
    pub fn from_name(name: &str) -> Option<Outcome> {
        match name {
            "accepted" => Some(Outcome::Accepted),
            "refused" => Some(Outcome::Refused),
            _ => None,
        }
    }
}

/// One login attempt (CONTRACT section 9), as subscribers receive it and
/// the history returns it. Serialises as
/// `{"id","time","config","outcome","kind","user_id","first_login","client","message","hint"}`
/// (`time` as RFC 3339, absent values as `null`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LoginEvent {
    /// Increasing: a subscription numbers a process's events from 1; the
    /// history numbers them across every instance that shares it.
    pub id: u64,
    /// When the attempt was made: the time the token was checked at (the
    /// registry's clock, or the [`Verification`](crate::Verification)'s time).
    #[serde(serialize_with = "time_out", deserialize_with = "time_in")]
    pub time: UnixTime,
    /// The configuration that took the token; `None` when none was chosen
    /// (no match, a bad request, a throttled attempt).
    pub config: Option<String>,
    /// Accepted or refused.
    pub outcome: Outcome,
    /// Why it was refused; `None` when accepted.
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

fn time_out<S: Serializer>(time: &UnixTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(time)
}

fn time_in<'de, D: Deserializer<'de>>(deserializer: D) -> Result<UnixTime, D::Error> {
    let text = Cow::<str>::deserialize(deserializer)?;
    OffsetDateTime::parse(&text, &Rfc3339)
        .map(UnixTime::from)
        .map_err(serde::de::Error::custom)
}

/// The hub a login flow reports its events to; cheap to clone (clones
/// share it). Without subscribers an event costs nothing beyond its
/// `tracing` event and metrics.
#[derive(Clone, Default)]
pub struct LoginEvents {
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
    pub fn new() -> Self {
        LoginEvents::default()
    }

    /// A new subscriber with a buffer of `capacity` events (at least 1).
    /// Events that arrive while its buffer is full are dropped for it and
    /// counted; dropping the receiver unsubscribes.
    pub fn subscribe(&self, capacity: usize) -> EventReceiver {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let mut subscribers = self
            .hub
            .subscribers
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        subscribers.push(sender);
        self.hub.open.store(subscribers.len(), Ordering::Relaxed);
        EventReceiver(receiver)
    }

    /// How many events were dropped so far: for a full subscriber buffer,
    /// or because the history could not store them.
    pub fn dropped(&self) -> u64 {
        self.hub.dropped.load(Ordering::Relaxed)
    }

    /// Counts `n` events as dropped (and in `jwt_sso_events_dropped_total`).
    pub(crate) fn count_dropped(&self, n: u64) {
        self.hub.dropped.fetch_add(n, Ordering::Relaxed);
        crate::metrics::events_dropped(n);
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
            self.count_dropped(full);
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

/// The receiving end of [`LoginEvents::subscribe`].
#[derive(Debug)]
pub struct EventReceiver(mpsc::Receiver<Arc<LoginEvent>>);

impl EventReceiver {
    /// The next event; `None` once every [`LoginEvents`] clone is gone.
    pub async fn recv(&mut self) -> Option<Arc<LoginEvent>> {
        self.0.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_recv(&mut self) -> Option<Arc<LoginEvent>> {
        self.0.try_recv().ok()
    }

    /// Up to `max` waiting events, appended to `into` (waits for the first
    /// one); 0 once every [`LoginEvents`] clone is gone.
    pub async fn recv_many(&mut self, into: &mut Vec<Arc<LoginEvent>>, max: usize) -> usize {
        self.0.recv_many(into, max.max(1)).await
    }
}

/// A query of the event history (`GET /api/admin/events`): newest first,
/// filtered, at most `limit` events older than `before`.
///
/// ```
/// use jwt_sso::{EventQuery, Outcome};
///
/// let query = EventQuery::parse("limit=20&config=ERP&outcome=refused&before=120").unwrap();
/// assert_eq!((query.limit, query.before), (20, Some(120)));
/// assert_eq!(query.outcome, Some(Outcome::Refused));
/// assert_eq!(EventQuery::parse("").unwrap().limit, 50);
/// assert!(EventQuery::parse("limit=501").is_err());
/// assert!(EventQuery::parse("kind=nonsense").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EventQuery {
    /// How many events at most, 1–500 (default 50).
    pub limit: u32,
    /// Only this configuration's events (its name, any case).
    pub config: Option<String>,
    /// Only accepted or only refused attempts.
    pub outcome: Option<Outcome>,
    /// Only refusals of this kind.
    pub kind: Option<ErrorKind>,
    /// Only this user's events (exact).
    pub user_id: Option<String>,
    /// Only events with a smaller `id` (the `next` of the previous page).
    pub before: Option<u64>,
}

impl Default for EventQuery {
    fn default() -> Self {
        EventQuery {
            limit: 50,
            config: None,
            outcome: None,
            kind: None,
            user_id: None,
            before: None,
        }
    }
}

impl EventQuery {
    /// The largest `limit`.
    #[cfg(feature = "axum")]
    const MAX_LIMIT: u32 = 500;

    /// Reads a URL query string (`limit`, `config`, `outcome`, `kind`,
    /// `user_id`, `before`; each at most once). Anything else, or a value
    /// out of range, is `bad_request` naming the parameter.
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn parse(query: &str) -> Result<EventQuery, HttpError> {
        const NAMES: [&str; 6] = ["limit", "config", "outcome", "kind", "user_id", "before"];
        let query = query.strip_prefix('?').unwrap_or(query);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            if !NAMES.contains(&name) {
                return Err(HttpError::bad_request(format!(
                    "unknown query parameter `{}`; expected limit, config, outcome, kind, user_id or before",
                    untrusted(name)
                )));
            }
        }
        let param = |name: &str| -> Result<Option<String>, HttpError> {
            Ok(query_param(query, name)?.map(Cow::into_owned))
        };
        let bad = |name: &str, value: &str, what: &str| {
            HttpError::bad_request(format!(
                "`{name}` must be {what} (found `{}`)",
                untrusted(value)
            ))
        };
        let mut out = EventQuery {
            config: param("config")?,
            user_id: param("user_id")?,
            ..EventQuery::default()
        };
        if let Some(value) = param("limit")? {
            out.limit = value
                .parse()
                .ok()
                .filter(|n| (1..=Self::MAX_LIMIT).contains(n))
                .ok_or_else(|| bad("limit", &value, "a number from 1 to 500"))?;
        }
        if let Some(value) = param("outcome")? {
            out.outcome = Some(
                Outcome::from_name(&value)
                    .ok_or_else(|| bad("outcome", &value, "accepted or refused"))?,
            );
        }
        if let Some(value) = param("kind")? {
            out.kind = Some(
                ErrorKind::ALL
                    .into_iter()
                    .find(|k| k.as_str() == value)
                    .ok_or_else(|| bad("kind", &value, "one of the error kinds"))?,
            );
        }
        if let Some(value) = param("before")? {
            out.before = Some(
                value
                    .parse()
                    .map_err(|_| bad("before", &value, "an event id"))?,
            );
        }
        Ok(out)
    }
}

/// A page of the history: newest first, and the `before` of the next page
/// (`None` on the last one). Serialises as `{"events":[…],"next":<id>|null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EventPage {
    /// The events, newest first.
    pub events: Vec<LoginEvent>,
    /// Pass as `before` for the next (older) page.
    pub next: Option<u64>,
}

impl EventPage {
    /// A page of `events` (newest first) with the cursor `next`.
    pub fn new(events: Vec<LoginEvent>, next: Option<u64>) -> Self {
        EventPage { events, next }
    }
}

/// Where the administrator reads the login events from (`SqlStore` keeps
/// them; see `SqlStore::spawn_event_writer`).
pub trait EventHistory: Send + Sync {
    /// The events `query` selects, newest first.
    fn events(
        &self,
        query: &EventQuery,
    ) -> impl Future<Output = Result<EventPage, StoreError>> + Send;
}

impl<T: EventHistory> EventHistory for Arc<T> {
    fn events(
        &self,
        query: &EventQuery,
    ) -> impl Future<Output = Result<EventPage, StoreError>> + Send {
        (**self).events(query)
    }
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
        if let Ending::Accepted { first_login } = &ending {
            span.record("first_login", first_login);
        } else {
            span.record("otel.status_code", "ERROR");
        }
    }
    span.in_scope(|| match &ending {
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
    });
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
            outcome,
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

    #[cfg(feature = "axum")]
    #[test]
    fn query_parameters_are_decoded_checked_and_given_once() {
        let query =
            EventQuery::parse("config=ERP+Prod&user_id=j%C3%B6rg&kind=rate_limited&limit=1")
                .unwrap();
        assert_eq!(query.config.as_deref(), Some("ERP Prod"));
        assert_eq!(query.user_id.as_deref(), Some("jörg"));
        assert_eq!(query.kind, Some(ErrorKind::RateLimited));
        assert_eq!(query.limit, 1);
        for bad in [
            "limit=0",
            "limit=x",
            "outcome=ok",
            "before=-1",
            "limit=5&limit=6",
            "colour=red",
        ] {
            let err = EventQuery::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BadRequest, "{bad}");
        }
        // Percent-decoding is strict.
        assert!(EventQuery::parse("user_id=100%").is_err());
    }

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
            outcome: Outcome::Refused,
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
        assert_eq!(serde_json::from_value::<LoginEvent>(json).unwrap(), event);
    }
}
