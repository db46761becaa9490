//! Where "now" comes from.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use crate::unix_time::UnixTime;

/// A source of the current time.
///
/// One clock gives "now" to everything that reads the time: the token's time
/// rules, the remote key cache's freshness, sessions, used `jti`s and the
/// administrator's `last_modified` stamps. Hosts use the default
/// [`SystemClock`]; tests and tools use a [`ManualClock`].
///
/// ```
/// use std::time::Duration;
/// use jwt_sso::{Clock, ManualClock, UnixTime};
///
/// let clock = ManualClock::new(UnixTime::from_secs(1_767_225_600));
/// let shared = clock.clone(); // clones share one time
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(shared.now(), UnixTime::from_secs(1_767_225_630));
/// ```
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> UnixTime;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> UnixTime {
        (**self).now()
    }
}

/// The system clock ([`UnixTime::now`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        UnixTime::now()
    }
}

/// A clock that moves only when told to: [`set`](ManualClock::set) or
/// [`advance`](ManualClock::advance). Clones share one time, so a test keeps
/// a clone and moves it while the registry, the sessions and the key caches
/// hold others.
#[derive(Debug, Clone)]
pub struct ManualClock {
    secs: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock stopped at `at`.
    pub fn new(at: UnixTime) -> Self {
        ManualClock {
            secs: Arc::new(AtomicI64::new(at.as_secs())),
        }
    }

    /// Sets the time to `at` (also backwards).
    pub fn set(&self, at: UnixTime) {
        self.secs.store(at.as_secs(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `by` (whole seconds, saturating).
    pub fn advance(&self, by: Duration) {
        let _ = self
            .secs
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |secs| {
                Some(UnixTime::from_secs(secs).saturating_add(by).as_secs())
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_secs(self.secs.load(Ordering::SeqCst))
    }
}
