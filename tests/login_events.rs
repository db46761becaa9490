//! One escaped `tracing` event per login outcome (CONTRACT 6), in a test binary
//! of its own: the capture is a thread-local subscriber, and tests running in
//! parallel threads of one binary could cache a callsite's interest without it.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use jwt_sso::{Authenticator, ErrorKind, MemoryStore, Verification};
use serde_json::json;

#[path = "support/policies.rs"]
mod policies;
use policies::*;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

// ---------------------------------------------------------- outcome events

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<String>>>);

impl Captured {
    fn install(&self) -> tracing::subscriber::DefaultGuard {
        let guard =
            tracing::subscriber::set_default(tracing_subscriber::registry().with(self.clone()));
        // Tests of this binary run in parallel threads: a callsite first hit by
        // another thread may have cached "no interest"; ask again now that this
        // thread has a subscriber.
        tracing::callsite::rebuild_interest_cache();
        guard
    }
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    // `%value` fields arrive as `DisplayValue`s, whose Debug prints their
    // Display: a raw line break would show as one.
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={:?}", field.name(), value);
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={}", field.name(), value);
    }
}

impl<S: tracing::Subscriber> Layer<S> for Captured {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut line = format!("{} {}", event.metadata().level(), event.metadata().target());
        event.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push(line);
    }
}

fn outcomes(lines: &[String]) -> Vec<&String> {
    lines
        .iter()
        .filter(|l| l.contains("message=login") && !l.contains("message=login check"))
        .collect()
}

#[tokio::test]
async fn one_escaped_event_per_login_outcome_never_the_token() {
    let captured = Captured::default();
    let _guard = captured.install();
    let auth = Authenticator::new(single_use(), MemoryStore::new());

    let ok = erp(json!({"loginname": "jdoe", "jti": "e-1"}));
    auth.login(&ok, Verification::default()).await.unwrap();
    let lines = captured.take();
    let events = outcomes(&lines);
    assert_eq!(events.len(), 1, "{lines:#?}");
    let event = events[0];
    assert!(event.starts_with("INFO jwt_sso"), "{event}");
    for field in ["config=ERP", "user_id=jdoe", "kind=ok", "first_login=true"] {
        assert!(event.contains(field), "{field} in {event}");
    }

    let err = auth.login(&ok, Verification::default()).await.unwrap_err();
    let lines = captured.take();
    let events = outcomes(&lines);
    assert_eq!(events.len(), 1, "{lines:#?}");
    let event = events[0];
    assert!(event.starts_with("WARN jwt_sso"), "{event}");
    for field in ["config=ERP", "user_id=jdoe", "kind=token_replayed", "hint="] {
        assert!(event.contains(field), "{field} in {event}");
    }
    assert!(
        event.contains(&err.to_string()),
        "the full message: {event}"
    );
    let signature = ok.rsplit('.').next().unwrap();
    for line in &lines {
        assert!(!line.contains(signature), "never the token: {line}");
    }

    // A forged log line through the routed `iss` is escaped.
    let forged = signed(
        "https://evil.example.com\nINFO jwt_sso: login kind=ok user_id=admin",
        ERP_SECRET,
        json!({"loginname": "x", "jti": "e-2"}),
    );
    let err = auth
        .login(&forged, Verification::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoMatchingConfig);
    let lines = captured.take();
    let events = outcomes(&lines);
    assert_eq!(events.len(), 1, "{lines:#?}");
    assert!(
        events[0].contains("kind=no_matching_config"),
        "{}",
        events[0]
    );
    assert!(events[0].contains("evil.example.com\\n"), "{}", events[0]);
    for line in &lines {
        assert!(!line.contains('\n'), "no raw line break: {line}");
    }

    // A store failure is an ERROR with the store's own error.
    let down = Authenticator::new(single_use(), MemoryStore::new())
        .with_replay_store(DownReplay::default());
    down.login(
        &erp(json!({"loginname": "jdoe", "jti": "e-3"})),
        Verification::default(),
    )
    .await
    .unwrap_err();
    let lines = captured.take();
    let events = outcomes(&lines);
    assert_eq!(events.len(), 1, "{lines:#?}");
    assert!(events[0].starts_with("ERROR jwt_sso"), "{}", events[0]);
    assert!(
        events[0].contains("replay database unreachable"),
        "{}",
        events[0]
    );
}
