//! Remote key sources (cargo feature `remote`): `jwks_uri` and `issuer`.
//!
//! Which URLs may be fetched (HTTPS, or plain HTTP to loopback; same-origin
//! redirects only) is the configuration's rule (`config::url_rules`), so
//! that a configuration is checked without this module.
//! - `http`: the [`HttpFetch`] seam and its reqwest default.
//! - `discovery`: OpenID Connect Discovery 1.0 documents.
//! - `cache`: the key cache (freshness, unknown-`kid` refetch with cooldown,
//!   single flight, stale-if-error).
//! - `clock`: the cache's view of the crate's clock (never backwards).
//!
//! This is the only place in the crate that does I/O.

mod cache;
mod clock;
mod discovery;
mod http;

use std::time::Duration;

pub(crate) use cache::{KeyCache, RemoteSource};
pub use http::{FetchError, HttpFetch, HttpRequest, HttpResponse};

/// How remote keys are fetched and cached. Every field has a default; change
/// the ones you need and pass the options to
/// [`Verifier::with_remote_options`](crate::Verifier::with_remote_options).
///
/// | field | default | meaning |
/// |---|---|---|
/// | `fresh_for` | 10 min | how long a key set (or discovery document) is fresh when the provider sends no `Cache-Control: max-age` |
/// | `min_fresh`, `max_fresh` | 1 min, 24 h | the provider's `max-age` is clamped to this range (`no-cache`/`no-store` count as 0, so 1 min) |
/// | `miss_cooldown` | 30 s | a token whose `kid` matches no fresh key triggers at most one refetch per cooldown, counted from the last refetch such a miss triggered |
/// | `stale_if_error` | 24 h | when refreshing fails, the last good keys keep serving for this long after they went stale |
/// | `retry_after_error` | 10 s | after a failed fetch, no new attempt is made for this long (the provider is not hammered while down) |
/// | `timeout` | 5 s | one whole HTTP exchange, connect to last byte |
/// | `max_body_bytes` | 1 MiB | larger responses are refused |
/// | `max_keys` | 100 | a JWK Set with more keys is refused as a whole |
///
/// # How the cache behaves: a timeline
///
/// With the defaults and a provider that sends no `Cache-Control`:
///
/// ```text
/// 00:00:00  verify, cache empty         -> GET jwks (request 1); keys fresh until 00:10:00
/// 00:00:01  verify, known kid           -> no I/O: an atomic load of the cached set
/// 00:02:00  token with unknown kid "k2" -> one refetch (request 2), concurrent misses wait
///                                          for it and share it; "k2" is found and accepted
/// 00:02:10  token with unknown kid "k3" -> within 30 s of the last miss refetch:
///                                          key_not_found, no request
/// 00:02:30  token with unknown kid "k3" -> cooldown over: refetch (request 3)
/// 00:12:30  keys stale                   -> the first verify refetches (request 4);
///                                          tokens whose kid the stale set knows are served
///                                          from it meanwhile instead of waiting
/// 00:22:30  provider down                -> refetch fails: a tracing warning, the last good
///                                          keys keep serving; no new attempt for 10 s
/// +24 h     still down                   -> past fresh_until + stale_if_error the keys are
///                                          dropped: key_fetch until the provider is back
/// ```
///
/// [`Verifier::verify_cached`](crate::Verifier::verify_cached) never
/// fetches: it uses whatever usable keys the cache holds and reports
/// `key_fetch` when it holds none. Warm it with
/// [`Verifier::refresh`](crate::Verifier::refresh) and keep it fresh with
/// [`Verifier::verify`](crate::Verifier::verify) or a periodic `refresh`.
///
/// ```
/// use std::time::Duration;
/// use jwt_sso::RemoteOptions;
///
/// let mut options = RemoteOptions::default();
/// options.timeout = Duration::from_secs(2);
/// options.miss_cooldown = Duration::from_secs(60);
/// assert_eq!(options.fresh_for, Duration::from_secs(600));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RemoteOptions {
    /// Freshness without a provider `max-age`. Default 10 minutes.
    pub fresh_for: Duration,
    /// Lower bound for the provider's `max-age`. Default 1 minute.
    pub min_fresh: Duration,
    /// Upper bound for the provider's `max-age`. Default 24 hours.
    pub max_fresh: Duration,
    /// At most one unknown-`kid` refetch per this period. Default 30 seconds.
    pub miss_cooldown: Duration,
    /// How long the last good keys serve after going stale while refreshing
    /// fails. Default 24 hours.
    pub stale_if_error: Duration,
    /// No new fetch attempt for this long after a failed one. Default 10 seconds.
    pub retry_after_error: Duration,
    /// Timeout of one HTTP exchange. Default 5 seconds.
    pub timeout: Duration,
    /// The largest response body accepted. Default 1 MiB.
    pub max_body_bytes: usize,
    /// The most keys a JWK Set may hold. Default 100.
    pub max_keys: usize,
}

impl Default for RemoteOptions {
    fn default() -> Self {
        RemoteOptions {
            fresh_for: Duration::from_secs(10 * 60),
            min_fresh: Duration::from_secs(60),
            max_fresh: Duration::from_secs(24 * 60 * 60),
            miss_cooldown: Duration::from_secs(30),
            stale_if_error: Duration::from_secs(24 * 60 * 60),
            retry_after_error: Duration::from_secs(10),
            timeout: Duration::from_secs(5),
            max_body_bytes: 1024 * 1024,
            max_keys: 100,
        }
    }
}

impl RemoteOptions {
    /// How long a response stays fresh, from its `Cache-Control` header.
    pub(crate) fn freshness(&self, cache_control: Option<&str>) -> Duration {
        match cache_control.and_then(max_age) {
            Some(age) => age
                .min(self.max_fresh)
                .max(self.min_fresh.min(self.max_fresh)),
            None => self.fresh_for,
        }
    }
}

/// `max-age` from a `Cache-Control` value; `no-cache` and `no-store` count as 0.
fn max_age(value: &str) -> Option<Duration> {
    let mut age = None;
    for directive in value.split(',') {
        let directive = directive.trim();
        let (name, arg) = match directive.split_once('=') {
            Some((name, arg)) => (name.trim(), Some(arg.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            // An invalid value is ignored; more digits than u64 holds mean
            // "as long as can be" (clamped anyway).
            if let Some(digits) =
                arg.filter(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()))
            {
                age = Some(Duration::from_secs(
                    digits.parse::<u64>().unwrap_or(u64::MAX),
                ));
            }
        }
    }
    age
}

/// A duration for messages: `250 ms`, `5 s`, `10 min`, `24 h`.
pub(crate) fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 && secs < 10 {
        format!("{} ms", d.as_millis())
    } else if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{} h", secs / 3600)
    } else if secs >= 60 && secs.is_multiple_of(60) {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

pub(crate) fn too_large_message(limit: usize) -> String {
    format!("the response body is larger than the limit of {limit} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_is_read_and_clamped() {
        let o = RemoteOptions::default();
        let s = Duration::from_secs;
        assert_eq!(o.freshness(None), s(600));
        assert_eq!(o.freshness(Some("public")), s(600));
        assert_eq!(o.freshness(Some("public, max-age=300")), s(300));
        assert_eq!(
            o.freshness(Some("MAX-AGE=\"300\", must-revalidate")),
            s(300)
        );
        assert_eq!(o.freshness(Some("max-age=5")), s(60));
        assert_eq!(
            o.freshness(Some("max-age=999999999999999999999999")),
            s(86_400)
        );
        assert_eq!(o.freshness(Some("no-store")), s(60));
        assert_eq!(o.freshness(Some("max-age=300, no-cache")), s(60));
        assert_eq!(o.freshness(Some("max-age=-1")), s(600));
        assert_eq!(o.freshness(Some("max-age=")), s(600));
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human(Duration::from_millis(250)), "250 ms");
        assert_eq!(human(Duration::from_secs(5)), "5 s");
        assert_eq!(human(Duration::from_secs(600)), "10 min");
        assert_eq!(human(Duration::from_secs(86_400)), "24 h");
        assert_eq!(human(Duration::from_secs(90)), "90 s");
    }
}
