//! The key cache's own time source: monotonic, finer than seconds, and
//! separate from the token clock ([`crate::Clock`]), so that `verify_at` with
//! a token time in the past or future never confuses the cache, and tests can
//! move cache time without sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Time for the key cache: the time elapsed since an arbitrary fixed origin.
/// It must never go backwards.
///
/// The default is [`InstantClock`]; tests use [`ManualClock`].
pub trait CacheClock: Send + Sync + fmt::Debug {
    /// The time since this clock's origin.
    fn now(&self) -> Duration;
}

/// The default cache clock: [`std::time::Instant`], which is monotonic.
#[derive(Debug, Clone, Copy)]
pub struct InstantClock {
    origin: Instant,
}

impl InstantClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        InstantClock {
            origin: Instant::now(),
        }
    }
}

impl Default for InstantClock {
    fn default() -> Self {
        Self::new()
    }
}

impl CacheClock for InstantClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A cache clock that moves only when told to: clones share one time, so a
/// test keeps a clone and advances it while the verifier holds another.
///
/// ```
/// use std::time::Duration;
/// use jwt_sso::{CacheClock, ManualClock};
///
/// let clock = ManualClock::new();
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(shared.now(), Duration::from_secs(30));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(by))
            });
    }
}

impl CacheClock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}
