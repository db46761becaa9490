//! Exactly one login event per attempt (CONTRACT sections 6 and 9), on every
//! path of `login_server`'s router in process: JSON, form and `GET`;
//! accepted, each class of refusal, bad requests and throttled attempts.
//! Each attempt is counted twice: every `tracing` event of INFO or above
//! (one, INFO when accepted and WARN when refused), and every event a
//! subscriber (`Authenticator::subscribe`) receives (one, with the right
//! fields). The
//! admin API's token test produces neither.
//!
//! In a binary of its own: the capture is a thread-local subscriber, and
//! every login runs on the test's current-thread runtime.
#![cfg(all(feature = "axum", feature = "sqlite"))]

use crate::support::app;
use crate::support::fixtures::{now, sign};

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use jwt_sso::axum::admin::AdminAccess;
use jwt_sso::events::{EventQuery, EventReceiver, LoginEvent};
use jwt_sso::{Authenticator, ErrorKind, MemoryStore, Registry, Verification};
use serde_json::{Value, json};
use tower::ServiceExt;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

const ERP_SECRET: &str = "events-erp-secret-0123456789abcdef";
const CRM_SECRET: &str = "events-crm-secret-0123456789abcdef";
const ADMIN: &str = "events-admin-token";

fn configs() -> Value {
    json!([
        {"name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
         "algorithms": ["HS256"], "key_source": {"type": "static", "secret": ERP_SECRET},
         "expiration_time": 3600, "claims": {"user_id": "sub"}, "single_use": true},
        {"name": "CRM", "token_name": "jwt", "issuer": "https://crm.example.com",
         "algorithms": ["HS256"], "key_source": {"type": "static", "secret": CRM_SECRET},
         "expiration_time": 3600, "claims": {"user_id": "sub"}},
        {"name": "Old", "enabled": false, "token_name": "token", "issuer": "https://old.example.com",
         "algorithms": ["HS256"], "key_source": {"type": "static", "secret": ERP_SECRET},
         "expiration_time": 3600, "claims": {"user_id": "sub"}}
    ])
}

static JTI: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn erp(user: &str) -> String {
    let jti = JTI.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    sign(
        ERP_SECRET,
        json!({"iss": "https://erp.example.com", "sub": user, "jti": format!("j{jti}"), "exp": now() + 600}),
    )
}

fn crm(user: &str) -> String {
    sign(
        CRM_SECRET,
        json!({"iss": "https://crm.example.com", "sub": user, "exp": now() + 600}),
    )
}

// ------------------------------------------------------------ the capture

/// One `tracing` event: level, target, message and fields as text.
#[derive(Debug, Clone)]
struct Line {
    level: tracing::Level,
    message: String,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<Line>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut text = String::new();
        let _ = write!(text, "{value:?}");
        self.0.insert(field.name().to_owned(), text);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: tracing::Subscriber> Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        let message = fields.remove("message").unwrap_or_default();
        self.0.lock().unwrap().push(Line {
            level: *event.metadata().level(),
            message,
            fields,
        });
    }
}

impl Captured {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(self.clone()));
        tracing::callsite::rebuild_interest_cache();
        guard
    }

    /// The events of INFO or above since the last call (DEBUG diagnostics,
    /// such as the verifier's own line, are not log events of a login).
    fn take(&self) -> Vec<Line> {
        std::mem::take(&mut *self.0.lock().unwrap())
            .into_iter()
            .filter(|l| l.level <= tracing::Level::INFO)
            .collect()
    }
}

// ------------------------------------------------------------ the server

struct Harness {
    router: Router,
    state: jwt_sso::axum::Host,
    sink: EventReceiver,
    capture: Captured,
    /// Events the sink received so far.
    seen: usize,
    _dir: Dir,
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one request produced.
#[derive(Debug)]
struct Outcome1 {
    status: StatusCode,
    retry_after: Option<u64>,
    body: Value,
    lines: Vec<Line>,
    events: Vec<Arc<LoginEvent>>,
}

impl Outcome1 {
    /// The one log line and the one sink event, checked against each other.
    fn one(&self) -> (&Line, &LoginEvent) {
        assert_eq!(self.lines.len(), 1, "one log event: {self:#?}");
        assert_eq!(self.events.len(), 1, "one sink event: {self:#?}");
        let (line, event) = (&self.lines[0], &*self.events[0]);
        let field = |name: &str| line.fields.get(name).map(String::as_str);
        let outcome = if event.accepted {
            "accepted"
        } else {
            "refused"
        };
        assert_eq!(field("outcome"), Some(outcome));
        assert_eq!(field("config"), event.config.as_deref());
        assert_eq!(field("kind"), event.kind.map(ErrorKind::as_str));
        assert_eq!(field("user_id"), event.user_id.as_deref());
        assert_eq!(
            field("client").map(str::to_owned),
            event.client.map(|c| c.to_string())
        );
        match event.accepted {
            true => {
                assert_eq!(line.level, tracing::Level::INFO, "{line:?}");
                assert_eq!(line.message, "login accepted");
                assert_eq!(
                    field("first_login").map(str::to_owned),
                    event.first_login.map(|f| f.to_string())
                );
                assert_ne!(event.first_login, None, "accepted: first or not: {event:?}");
                assert_eq!(event.kind, None, "accepted: no kind: {event:?}");
                assert_eq!(
                    (event.message.as_deref(), event.hint.as_deref()),
                    (None, None),
                    "accepted: no message or hint"
                );
            }
            false => {
                assert_eq!(line.level, tracing::Level::WARN, "{line:?}");
                assert_eq!(line.message, "login refused");
                assert_eq!(field("error"), event.message.as_deref());
                assert_eq!(field("hint"), event.hint.as_deref());
                assert_eq!(event.first_login, None, "refused: {event:?}");
                for (what, text) in [("message", &event.message), ("hint", &event.hint)] {
                    let text = text.as_deref().unwrap_or_default();
                    assert!(!text.is_empty(), "refused: a {what}: {event:?}");
                }
                // The client hears the kind, and it is the event's.
                assert_eq!(
                    self.body["error"]["kind"].as_str(),
                    event.kind.map(ErrorKind::as_str),
                    "{self:#?}"
                );
            }
        }
        (line, event)
    }

    fn none(&self) {
        assert!(self.lines.is_empty(), "no log event: {self:#?}");
        assert!(self.events.is_empty(), "no sink event: {self:#?}");
    }
}

async fn harness(name: &str, ops: app::Ops) -> Harness {
    let dir = std::env::temp_dir().join(format!("jwt-sso-events-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("configs.json"), configs().to_string()).unwrap();
    let db = dir.join("db.sqlite");
    let state = app::state_with(&dir.join("configs.json"), db.to_str().unwrap(), &ops)
        .await
        .unwrap();
    let sink = state.login().authenticator().subscribe(1000);
    let router = app::router_with(state.clone(), AdminAccess::new().with_admin_token(ADMIN));
    let capture = Captured::default();
    Harness {
        router,
        state,
        sink,
        capture,
        seen: 0,
        _dir: Dir(dir),
    }
}

impl Harness {
    /// Waits until the database's history holds every event so far (the
    /// writer is idle then).
    async fn drained(&self) {
        let mut query = EventQuery::default();
        query.limit = 500;
        for _ in 0..500 {
            let stored = self.state.store().login_events(&query).await.unwrap();
            if stored.len() >= self.seen {
                assert_eq!(stored.len(), self.seen, "one stored event per attempt");
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the history did not catch up");
    }

    async fn send(&mut self, request: Request<Body>, client: &str) -> Outcome1 {
        let mut request = request;
        let peer = SocketAddr::new(client.parse::<IpAddr>().unwrap(), 40_000);
        request.extensions_mut().insert(ConnectInfo(peer));
        let _ = self.capture.take();
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().parse().unwrap());
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let mut events = Vec::new();
        while let Some(event) = self.sink.try_recv() {
            events.push(event);
        }
        self.seen += events.len();
        Outcome1 {
            status,
            retry_after,
            body,
            lines: self.capture.take(),
            events,
        }
    }
}

fn json_login(token: &str) -> Request<Body> {
    Request::post("/api/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"loginMode": 67108864, "password": token}).to_string(),
        ))
        .unwrap()
}

fn form_login(form: &str) -> Request<Body> {
    Request::post("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

/// A row of the table: what a refused attempt's event says.
struct Refused {
    status: u16,
    kind: &'static str,
    config: Option<&'static str>,
    user_id: Option<&'static str>,
}

#[tokio::test]
async fn every_path_of_a_login_is_exactly_one_event_with_its_fields() {
    let mut h = harness("paths", app::Ops::default()).await;
    let _guard = h.capture.install();

    // Accepted, on each path; first_login as the store says.
    let first = h.send(json_login(&erp("jdoe")), "192.0.2.1").await;
    assert_eq!(first.status, 200, "{first:#?}");
    let (_, event) = first.one();
    assert_eq!(
        (
            event.accepted,
            event.config.as_deref(),
            event.user_id.as_deref()
        ),
        (true, Some("ERP"), Some("jdoe"))
    );
    assert_eq!(event.first_login, Some(true));
    assert_eq!(event.client, Some("192.0.2.1".parse().unwrap()));
    let again = h.send(json_login(&erp("jdoe")), "192.0.2.1").await;
    assert_eq!(again.one().1.first_login, Some(false));
    let form = h
        .send(form_login(&format!("jwt={}", crm("ann"))), "192.0.2.2")
        .await;
    assert_eq!(form.status, 303, "{form:#?}");
    assert_eq!(form.one().1.config.as_deref(), Some("CRM"));
    let query = h
        .send(get(&format!("/login?token={}", erp("bob"))), "2001:db8::1")
        .await;
    assert_eq!(query.status, 200, "{query:#?}");
    let (_, event) = query.one();
    assert_eq!(event.user_id.as_deref(), Some("bob"));
    assert_eq!(event.client, Some("2001:db8::1".parse().unwrap()));
    // A browser's GET (303 and the cookie): one event too.
    let browser = Request::get(format!("/login?token={}", erp("bob")))
        .header("accept", "text/html")
        .body(Body::empty())
        .unwrap();
    let browser = h.send(browser, "2001:db8::1").await;
    assert_eq!(browser.status, 303, "{browser:#?}");
    assert_eq!(browser.one().1.user_id.as_deref(), Some("bob"));
    // Logging out is no login attempt: no login event, no login log line.
    let logout = Request::post("/logout")
        .header("cookie", "jwt_sso_session=bm8tc3VjaC1zZXNzaW9u")
        .body(Body::empty())
        .unwrap();
    let logout = h.send(logout, "192.0.2.2").await;
    assert_eq!(logout.status, 303, "{logout:#?}");
    assert_eq!(logout.events.len(), 0, "no login event: {logout:#?}");
    assert!(
        logout
            .lines
            .iter()
            .all(|l| !l.fields.contains_key("outcome")),
        "{logout:#?}"
    );

    // Each class of refusal, on each path.
    let replayed = erp("jdoe");
    assert_eq!(h.send(json_login(&replayed), "192.0.2.3").await.status, 200);
    let wrong_key = sign(
        "another-secret-0123456789abcdef-0123",
        json!({"iss": "https://erp.example.com", "sub": "jdoe", "jti": "w", "exp": now() + 600}),
    );
    let expired = sign(
        ERP_SECRET,
        json!({"iss": "https://erp.example.com", "sub": "jdoe", "jti": "x", "exp": now() - 3600}),
    );
    let unknown_iss = sign(
        ERP_SECRET,
        json!({"iss": "https://nobody.example.com", "sub": "jdoe", "exp": now() + 600}),
    );
    let disabled = sign(
        ERP_SECRET,
        json!({"iss": "https://old.example.com", "sub": "jdoe", "exp": now() + 600}),
    );
    let big = Request::post("/api/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(vec![b' '; 70_000]))
        .unwrap();
    let cases: Vec<(&str, Request<Body>, Refused)> = vec![
        (
            "wrong key",
            json_login(&wrong_key),
            Refused {
                status: 401,
                kind: "invalid_signature",
                config: Some("ERP"),
                user_id: None,
            },
        ),
        (
            "expired",
            json_login(&expired),
            Refused {
                status: 401,
                kind: "expired",
                config: Some("ERP"),
                user_id: None,
            },
        ),
        (
            "no match",
            json_login(&unknown_iss),
            Refused {
                status: 401,
                kind: "no_matching_config",
                config: None,
                user_id: None,
            },
        ),
        (
            "disabled",
            json_login(&disabled),
            Refused {
                status: 401,
                kind: "disabled",
                config: Some("Old"),
                user_id: None,
            },
        ),
        (
            "replayed",
            json_login(&replayed),
            Refused {
                status: 401,
                kind: "token_replayed",
                config: Some("ERP"),
                user_id: Some("jdoe"),
            },
        ),
        // jdoe belongs to ERP; CRM's user_scope is `own`.
        (
            "policy",
            json_login(&crm("jdoe")),
            Refused {
                status: 403,
                kind: "user_conflict",
                config: Some("CRM"),
                user_id: Some("jdoe"),
            },
        ),
        (
            "login mode",
            Request::post("/api/auth/login")
                .header("content-type", "application/json")
                .body(Body::from(
                    json!({"loginMode": 1, "password": erp("x")}).to_string(),
                ))
                .unwrap(),
            Refused {
                status: 400,
                kind: "bad_request",
                config: None,
                user_id: None,
            },
        ),
        (
            "not json",
            Request::post("/api/auth/login")
                .header("content-type", "text/plain")
                .body(Body::from("x"))
                .unwrap(),
            Refused {
                status: 415,
                kind: "bad_request",
                config: None,
                user_id: None,
            },
        ),
        (
            "too large",
            big,
            Refused {
                status: 413,
                kind: "bad_request",
                config: None,
                user_id: None,
            },
        ),
        (
            "form expired",
            form_login(&format!("token={expired}")),
            Refused {
                status: 401,
                kind: "expired",
                config: Some("ERP"),
                user_id: None,
            },
        ),
        (
            "form without token",
            form_login("remember=on"),
            Refused {
                status: 400,
                kind: "bad_request",
                config: None,
                user_id: None,
            },
        ),
        (
            "form open redirect",
            form_login(&format!(
                "token={}&return_to=https://evil.example/",
                erp("x")
            )),
            Refused {
                status: 400,
                kind: "bad_request",
                config: None,
                user_id: None,
            },
        ),
        (
            "get wrong key",
            get(&format!("/login?token={wrong_key}")),
            Refused {
                status: 401,
                kind: "invalid_signature",
                config: Some("ERP"),
                user_id: None,
            },
        ),
        (
            "get two tokens",
            get(&format!("/login?token={}&jwt={}", erp("x"), crm("y"))),
            Refused {
                status: 400,
                kind: "bad_request",
                config: None,
                user_id: None,
            },
        ),
    ];
    for (n, (what, request, want)) in cases.into_iter().enumerate() {
        // A client of its own per row: the throttle stays out of it.
        let client = format!("198.51.100.{n}");
        let got = h.send(request, &client).await;
        assert_eq!(got.status.as_u16(), want.status, "{what}: {got:#?}");
        let (_, event) = got.one();
        assert!(!event.accepted, "{what}");
        assert_eq!(event.kind.map(ErrorKind::as_str), Some(want.kind), "{what}");
        assert_eq!(event.config.as_deref(), want.config, "{what}");
        assert_eq!(event.user_id.as_deref(), want.user_id, "{what}");
        assert_eq!(event.client.map(|c| c.to_string()), Some(client), "{what}");
    }

    // HEAD logs nobody in and is no attempt.
    h.send(
        Request::head(format!("/login?token={}", erp("x")))
            .body(Body::empty())
            .unwrap(),
        "192.0.2.9",
    )
    .await
    .none();

    // The admin API's token test: no event, whatever the token.
    for token in [erp("jdoe"), wrong_key.clone(), "garbage".to_owned()] {
        let test = Request::post("/api/admin/configs/ERP/test")
            .header("authorization", format!("Bearer {ADMIN}"))
            .header("content-type", "application/json")
            .body(Body::from(json!({"token": token}).to_string()))
            .unwrap();
        let got = h.send(test, "192.0.2.10").await;
        assert_eq!(got.status, 200, "{got:#?}");
        got.none();
    }

    // The history holds one event per attempt too.
    h.drained().await;
    // A store that fails: one event, `store`, with the store's own error.
    h.state.store().close().await;
    let down = h.send(json_login(&erp("carl")), "192.0.2.11").await;
    assert_eq!(down.status, 503, "{down:#?}");
    let (_, event) = down.one();
    assert_eq!(event.kind, Some(ErrorKind::Store));
    assert!(
        event.message.as_deref().unwrap().contains("SQLite"),
        "{event:?}"
    );
}

#[tokio::test]
async fn a_throttled_attempt_is_one_event_without_configuration_and_others_are_served() {
    let ops = app::Ops {
        max_failed_logins: 3,
        ..app::Ops::default()
    };
    let mut h = harness("throttle", ops).await;
    let _guard = h.capture.install();
    for i in 0..3 {
        let got = h.send(json_login("not.a.token"), "203.0.113.5").await;
        assert_eq!(got.status, 401, "attempt {i}: {got:#?}");
        assert_eq!(got.one().1.kind, Some(ErrorKind::Malformed));
    }
    // The fourth, on any path and with a good token, is answered unchecked.
    for request in [
        json_login(&erp("jdoe")),
        form_login(&format!("token={}", erp("jdoe"))),
        get(&format!("/login?token={}", erp("jdoe"))),
        form_login("nothing=here"),
    ] {
        let got = h.send(request, "203.0.113.5").await;
        assert_eq!(got.status, 429, "{got:#?}");
        let retry_after = got.retry_after.expect("a Retry-After");
        assert!(
            (1..=60).contains(&retry_after),
            "Retry-After of 1 to 60 s: {got:#?}"
        );
        let (_, event) = got.one();
        assert_eq!(event.kind, Some(ErrorKind::RateLimited));
        assert_eq!(
            (event.config.as_deref(), event.user_id.as_deref()),
            (None, None)
        );
        assert!(
            event
                .message
                .as_deref()
                .unwrap()
                .contains("3 refused logins")
        );
    }
    // Another client logs in at once; jdoe's first login, although four
    // good tokens of jdoe came before it: the throttle answered them before
    // any work (no verification, no user created).
    let other = h.send(json_login(&erp("jdoe")), "203.0.113.6").await;
    assert_eq!(other.status, 200, "{other:#?}");
    assert_eq!(other.one().1.first_login, Some(true), "{other:#?}");
}

/// Every event `sink` holds now, in order.
fn drain(sink: &mut EventReceiver) -> Vec<Arc<LoginEvent>> {
    std::iter::from_fn(|| sink.try_recv()).collect()
}

#[tokio::test]
async fn the_library_login_flow_reports_login_and_provision_but_not_check() {
    let registry = Registry::from_json_str(&configs()[1].to_string()).unwrap();
    let auth = Authenticator::new(Arc::new(registry), MemoryStore::new());
    let mut sink = auth.subscribe(16);
    // A subscriber that never reads: its one place fills, the rest drop.
    let mut stuck = auth.subscribe(1);
    let capture = Captured::default();
    let _guard = capture.install();

    auth.login(&crm("ann"), Verification::default())
        .await
        .unwrap();
    let events = drain(&mut sink);
    assert_eq!(events.len(), 1, "one event for one login: {events:#?}");
    assert_eq!(
        (
            events[0].accepted,
            events[0].config.as_deref(),
            events[0].client
        ),
        (true, Some("CRM"), None)
    );
    let lines = capture.take();
    assert_eq!(lines.len(), 1, "one log event for one login: {lines:#?}");

    let checked = auth
        .check(&crm("bob"), Verification::default())
        .await
        .map(|_| ())
        .map_err(|e| e.kind());
    assert_eq!(checked, Ok(()), "check accepts bob's token");
    assert_eq!(
        auth.check("x.y.z", Verification::default())
            .await
            .map(|_| ())
            .unwrap_err()
            .kind(),
        ErrorKind::Malformed,
        "a token that is not base64url JSON"
    );
    assert_eq!(drain(&mut sink).len(), 0, "check reports nothing");
    let lines = capture.take();
    assert_eq!(lines.len(), 0, "check logs nothing: {lines:#?}");

    let identity = auth
        .registry()
        .verify(&crm("cid"), Verification::default())
        .await
        .unwrap();
    auth.provision(identity).await.unwrap();
    let events = drain(&mut sink);
    assert_eq!(events.len(), 1, "one event for one provision: {events:#?}");
    let event = &events[0];
    assert_eq!(event.user_id.as_deref(), Some("cid"));
    assert_eq!(event.first_login, Some(true));
    assert_eq!(capture.take().len(), 1, "one log event for one provision");
    assert!(event.id > 1, "numbered in order: {event:?}");
    // Two events for the stuck subscriber: one waits, one was dropped.
    assert_eq!(auth.events_dropped(), 1);
    let waiting: Vec<Option<String>> = drain(&mut stuck)
        .iter()
        .map(|e| e.user_id.clone())
        .collect();
    assert_eq!(waiting, [Some("ann".to_owned())], "the one that waits");
}

#[tokio::test]
async fn values_from_a_token_reach_the_event_and_the_log_escaped_never_the_token() {
    let registry = Registry::from_json_str(&configs()[1].to_string()).unwrap();
    let auth = Authenticator::new(Arc::new(registry), MemoryStore::new());
    let mut sink = auth.subscribe(16);
    let capture = Captured::default();
    let _guard = capture.install();
    let forged = sign(
        CRM_SECRET,
        json!({"iss": "https://evil.example.com\nINFO jwt_sso: login accepted user_id=admin",
               "sub": "x", "exp": now() + 600}),
    );
    auth.login(&forged, Verification::default())
        .await
        .unwrap_err();
    let events = drain(&mut sink);
    assert_eq!(
        events.len(),
        1,
        "one event for one refused login: {events:#?}"
    );
    let event = &events[0];
    let message = event.message.as_deref().expect("a refusal's message");
    assert!(message.contains(r"evil.example.com\nINFO"), "{message}");
    let lines = capture.take();
    assert_eq!(
        lines.len(),
        1,
        "one log event for one refused login: {lines:#?}"
    );
    let signature = forged.rsplit('.').next().unwrap();
    for text in lines[0]
        .fields
        .values()
        .chain([&serde_json::to_string(&**event).unwrap()])
    {
        assert!(!text.contains('\n'), "no raw line break: {text}");
        assert!(!text.contains(signature), "never the token: {text}");
    }
}

// ------------------------------------------------ the log line and the span

/// A writer for `tracing_subscriber::fmt` into memory.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

/// The fields of every closed `jwt_sso.login` span, in order.
#[derive(Clone, Default)]
struct LoginSpans {
    open: Arc<Mutex<BTreeMap<u64, BTreeMap<String, String>>>>,
    closed: Arc<Mutex<Vec<BTreeMap<String, String>>>>,
}

impl<S: tracing::Subscriber> Layer<S> for LoginSpans {
    fn on_new_span(
        &self,
        attrs: &tracing::span::Attributes<'_>,
        id: &tracing::span::Id,
        _: Context<'_, S>,
    ) {
        if attrs.metadata().name() == "jwt_sso.login" {
            let mut fields = BTreeMap::new();
            attrs.record(&mut Fields(&mut fields));
            self.open.lock().unwrap().insert(id.into_u64(), fields);
        }
    }
    fn on_record(
        &self,
        id: &tracing::span::Id,
        values: &tracing::span::Record<'_>,
        _: Context<'_, S>,
    ) {
        if let Some(fields) = self.open.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(fields));
        }
    }
    fn on_close(&self, id: tracing::span::Id, _: Context<'_, S>) {
        if let Some(fields) = self.open.lock().unwrap().remove(&id.into_u64()) {
            self.closed.lock().unwrap().push(fields);
        }
    }
}

#[tokio::test]
async fn a_log_line_names_each_field_once_and_the_span_carries_the_attempt() {
    let buffer = Buffer::default();
    let spans = LoginSpans::default();
    let capture = Captured::default();
    let subscriber = tracing_subscriber::registry()
        .with(spans.clone())
        .with(capture.clone())
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(buffer.clone())
                .with_ansi(false),
        );
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();
    let registry = Registry::from_json_str(&configs()[1].to_string()).unwrap();
    let auth = Authenticator::new(Arc::new(registry), MemoryStore::new());
    auth.login(&crm("ann"), Verification::default())
        .await
        .unwrap();
    let expired = sign(
        CRM_SECRET,
        json!({"iss": "https://crm.example.com", "sub": "bob", "exp": now() - 3600}),
    );
    auth.login(&expired, Verification::default())
        .await
        .unwrap_err();

    // Two attempts: exactly two log events of INFO or above (the
    // configuration's own warnings, logged as it loads, are not the
    // attempts'), one per attempt.
    let lines: Vec<(tracing::Level, String)> = capture
        .take()
        .into_iter()
        .filter(|l| l.message != "configuration warning")
        .map(|l| (l.level, l.message))
        .collect();
    assert_eq!(
        lines,
        [
            (tracing::Level::INFO, "login accepted".to_owned()),
            (tracing::Level::WARN, "login refused".to_owned()),
        ]
    );

    // What login_server prints: each field once per line.
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("login accepted") || l.contains("login refused"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    for (line, fields) in lines.iter().zip([
        &["config=", "outcome=", "user_id=", "first_login="][..],
        &["config=", "outcome=", "kind=", "error=", "hint="][..],
    ]) {
        for field in fields {
            assert_eq!(line.matches(field).count(), 1, "{field} once: {line}");
        }
    }
    assert!(lines[0].contains("user_id=\"ann\""), "{}", lines[0]);
    assert!(lines[1].contains("kind=\"expired\""), "{}", lines[1]);

    // What an OpenTelemetry layer exports: the span with the attempt's attributes.
    let closed = spans.closed.lock().unwrap().clone();
    assert_eq!(closed.len(), 2, "{closed:?}");
    let field = |n: usize, name: &str| closed[n].get(name).cloned();
    assert_eq!(field(0, "outcome").as_deref(), Some("accepted"));
    assert_eq!(field(0, "config").as_deref(), Some("CRM"));
    assert_eq!(field(0, "user_id").as_deref(), Some("ann"));
    assert_eq!(field(0, "first_login").as_deref(), Some("true"));
    assert_eq!(field(0, "otel.status_code"), None);
    assert_eq!(field(1, "outcome").as_deref(), Some("refused"));
    assert_eq!(field(1, "kind").as_deref(), Some("expired"));
    assert_eq!(field(1, "otel.status_code").as_deref(), Some("ERROR"));
    let description = field(1, "otel.status_description").expect("otel.status_description");
    assert!(description.contains("expired"), "{closed:?}");
}
