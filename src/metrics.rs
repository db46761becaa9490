//! Metrics (CONTRACT section 9) through the [`metrics`](https://docs.rs/metrics)
//! facade: the library records, the host installs the exporter it runs
//! (`metrics-exporter-prometheus`, StatsD, OpenTelemetry…). Without an
//! installed recorder every call is a no-op.
//!
//! | series | type | labels |
//! |---|---|---|
//! | `jwt_sso_logins_total` | counter | `config`, `outcome` (`accepted`/`refused`), `kind` |
//! | `jwt_sso_login_duration_seconds` | histogram | `outcome` |
//! | `jwt_sso_key_fetches_total` | counter | `config`, `result` (`ok`/`error`) |
//! | `jwt_sso_sessions_active` | gauge | — |
//! | `jwt_sso_events_dropped_total` | counter | — |
//! | `jwt_sso_rate_limited_total` | counter | — |
//!
//! Label values come from a closed set: `config` is the name of a
//! configuration of the registry (as the administrator named it) or `none`
//! when no configuration took the token; `kind` is one of the fixed
//! [`ErrorKind`] names or `none` for an accepted login. Nothing from a
//! token (an `iss`, a user ID) and no client address ever becomes a label,
//! so a stream of forged tokens adds no series.
//!
//! - A login attempt counts once in `jwt_sso_logins_total` and once in the
//!   histogram, whatever layer answered it (a throttled attempt is
//!   `config="none",outcome="refused",kind="rate_limited"` and also counts
//!   in `jwt_sso_rate_limited_total`). The admin API's token test counts
//!   nowhere.
//! - `jwt_sso_key_fetches_total`: each fetch attempt of a remote key source
//!   (discovery and JWK Set together count once).
//! - `jwt_sso_sessions_active`: the store's number of unexpired sessions,
//!   **sampled** (the SQL store sets it after each periodic purge,
//!   `SqlStore::spawn_purge`), so it is the same on every instance that
//!   shares a database: do not sum it across instances.
//! - `jwt_sso_events_dropped_total`: events a subscriber's full buffer or
//!   the history's failed write lost (the logins themselves stand).
//!
//! [`Registry::describe_metrics`](crate::Registry::describe_metrics) is the
//! one entry: call it once after installing the recorder. It describes
//! every series and registers them at 0, so that they are present from the
//! start. The histogram needs buckets from the exporter, otherwise a
//! Prometheus exporter renders a summary; these span a cached HMAC check
//! (tens of µs) to a remote key fetch that gives up (5 s), and are the ones
//! `login_server` uses:
//!
//! ```
//! use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let registry = jwt_sso::Registry::from_json_str(r#"{"name":"ERP","token_name":"token","algorithms":["HS256"],
//! #   "key_source":{"type":"static","secret":"erp-secret-of-at-least-32-bytes!!"},"expiration_time":3600,"claims":{"user_id":"sub"}}"#)?;
//! const BUCKETS: &[f64] = &[
//!     0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
//! ];
//! let prometheus = PrometheusBuilder::new()
//!     .set_buckets_for_metric(Matcher::Full("jwt_sso_login_duration_seconds".into()), BUCKETS)?
//!     .install_recorder()?;
//! registry.describe_metrics();
//!
//! let text = prometheus.render();
//! assert!(text.contains(r#"jwt_sso_logins_total{config="ERP",outcome="accepted",kind="none"} 0"#));
//! assert!(text.contains("jwt_sso_rate_limited_total 0"));
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use ::metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};

use crate::error::ErrorKind;

const LOGINS: &str = "jwt_sso_logins_total";
const DURATION: &str = "jwt_sso_login_duration_seconds";
const KEY_FETCHES: &str = "jwt_sso_key_fetches_total";
const SESSIONS: &str = "jwt_sso_sessions_active";
const DROPPED: &str = "jwt_sso_events_dropped_total";
const RATE_LIMITED: &str = "jwt_sso_rate_limited_total";

/// Describes every series and registers it at 0 with the installed
/// recorder, for `configs`: each configuration's name and whether its keys
/// are remote (what [`Registry::describe_metrics`](crate::Registry::describe_metrics)
/// documents).
pub(crate) fn describe<'a>(configs: impl IntoIterator<Item = (&'a str, bool)>) {
    describe_counter!(
        LOGINS,
        Unit::Count,
        "Login attempts by configuration, outcome and error kind."
    );
    describe_histogram!(
        DURATION,
        Unit::Seconds,
        "Time from the start of a login attempt to its outcome."
    );
    describe_counter!(
        KEY_FETCHES,
        Unit::Count,
        "Fetch attempts of remote key sources (discovery and JWK Set) by result."
    );
    describe_gauge!(
        SESSIONS,
        Unit::Count,
        "Unexpired sessions in the session store (sampled; the same on every instance sharing it)."
    );
    describe_counter!(
        DROPPED,
        Unit::Count,
        "Login events lost: a full subscriber buffer, or a history that could not store them."
    );
    describe_counter!(
        RATE_LIMITED,
        Unit::Count,
        "Login attempts refused by the failed-login throttle (HTTP 429)."
    );
    let mut any_remote = false;
    for (name, remote) in configs {
        counter!(LOGINS, "config" => name.to_owned(), "outcome" => "accepted", "kind" => "none")
            .increment(0);
        if remote {
            any_remote = true;
            for result in ["ok", "error"] {
                counter!(KEY_FETCHES, "config" => name.to_owned(), "result" => result).increment(0);
            }
        }
    }
    if !any_remote {
        for result in ["ok", "error"] {
            counter!(KEY_FETCHES, "config" => "none", "result" => result).increment(0);
        }
    }
    counter!(LOGINS, "config" => "none", "outcome" => "refused", "kind" => ErrorKind::RateLimited.as_str())
        .increment(0);
    for outcome in [Outcome::Accepted, Outcome::Refused] {
        // Registering the handle is what makes it appear; no sample is recorded.
        let _ = ::metrics::histogram!(DURATION, "outcome" => outcome.as_str());
    }
    gauge!(SESSIONS).set(0.0);
    counter!(DROPPED).increment(0);
    counter!(RATE_LIMITED).increment(0);
}

/// Whether a login attempt was accepted: the names of the `outcome` label,
/// the login event's `outcome` member and the SQL column (here, below the
/// events that report it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Outcome {
    Accepted,
    Refused,
}

impl Outcome {
    pub(crate) fn of(accepted: bool) -> Outcome {
        if accepted {
            Outcome::Accepted
        } else {
            Outcome::Refused
        }
    }

    /// `accepted` or `refused`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Refused => "refused",
        }
    }

    /// The outcome named `name` (`accepted` or `refused`).
    #[cfg(any(feature = "sqlite", feature = "postgres"))]
    pub(crate) fn from_name(name: &str) -> Option<Outcome> {
        match name {
            "accepted" => Some(Outcome::Accepted),
            "refused" => Some(Outcome::Refused),
            _ => None,
        }
    }
}

/// One login attempt ended.
///
/// The handles of the series are kept (per recorder: a recorder installed
/// later gets its own), so a login costs two atomic updates and a map
/// lookup under a lock instead of building and hashing a labelled key in
/// the recorder for every call.
pub(crate) fn login(
    config: Option<&str>,
    outcome: Outcome,
    kind: Option<ErrorKind>,
    duration: Duration,
) {
    let recorder =
        ::metrics::with_recorder(|r| r as *const dyn ::metrics::Recorder as *const () as usize);
    let mut guard = HANDLES.lock().unwrap_or_else(PoisonError::into_inner);
    let handles = match &mut *guard {
        Some(handles) if handles.recorder == recorder => handles,
        slot => slot.insert(Handles {
            recorder,
            logins: HashMap::new(),
            durations: HashMap::new(),
        }),
    };
    let label = config.unwrap_or("none");
    if !handles.logins.contains_key(label) {
        handles.logins.insert(label.to_owned(), HashMap::new());
    }
    let per_config = handles.logins.get_mut(label).expect("inserted above");
    per_config
        .entry((outcome, kind))
        .or_insert_with(|| {
            let kind_label = kind.map_or("none", ErrorKind::as_str);
            counter!(LOGINS, "config" => label.to_owned(), "outcome" => outcome.as_str(), "kind" => kind_label)
        })
        .increment(1);
    handles
        .durations
        .entry(outcome)
        .or_insert_with(|| ::metrics::histogram!(DURATION, "outcome" => outcome.as_str()))
        .record(duration.as_secs_f64());
    drop(guard);
    if kind == Some(ErrorKind::RateLimited) {
        counter!(RATE_LIMITED).increment(1);
    }
}

/// The handles of the login series, registered with one recorder.
struct Handles {
    /// The address of the recorder they belong to.
    recorder: usize,
    /// By `config` label, then outcome and kind: a closed set.
    logins: HashMap<String, HashMap<(Outcome, Option<ErrorKind>), ::metrics::Counter>>,
    durations: HashMap<Outcome, ::metrics::Histogram>,
}

static HANDLES: Mutex<Option<Handles>> = Mutex::new(None);

/// One fetch attempt of `config`'s remote keys ended.
#[cfg(feature = "remote")]
pub(crate) fn key_fetch(config: &str, ok: bool) {
    counter!(KEY_FETCHES, "config" => config.to_owned(), "result" => if ok { "ok" } else { "error" })
        .increment(1);
}

/// `n` login events were lost.
pub(crate) fn events_dropped(n: u64) {
    counter!(DROPPED).increment(n);
}

/// The store holds `n` unexpired sessions.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn sessions_active(n: u64) {
    gauge!(SESSIONS).set(n as f64);
}
