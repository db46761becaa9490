//! Where "now" comes from.

use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time, in whole seconds since 1970 (UTC).
///
/// The verifier asks its clock once per token. Tests and tools inject a
/// [`FixedClock`]; hosts normally use the default [`SystemClock`].
///
/// ```
/// use jwt_sso::{Clock, FixedClock};
///
/// let clock = FixedClock(1_767_225_600);
/// assert_eq!(clock.now(), 1_767_225_600);
/// ```
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Seconds since 1970-01-01T00:00:00Z.
    fn now(&self) -> i64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        }
    }
}

/// A clock stopped at a given second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now(&self) -> i64 {
        self.0
    }
}
