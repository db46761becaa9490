//! The key cache's view of the crate's one [`Clock`]: seconds since 1970 as
//! a `Duration`, never going backwards (a system clock stepped back keeps
//! the cache's times where they were instead of un-expiring keys).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::clock::{Clock, SystemClock};

/// The cache's time source.
pub(crate) struct CacheTime {
    clock: Arc<dyn Clock>,
    latest: AtomicU64,
}

impl CacheTime {
    pub(crate) fn new(clock: Arc<dyn Clock>) -> Self {
        CacheTime {
            clock,
            latest: AtomicU64::new(0),
        }
    }

    /// The time since 1970, at least what it was at the last reading.
    pub(crate) fn now(&self) -> Duration {
        let now = u64::try_from(self.clock.now().as_secs()).unwrap_or(0);
        let latest = self.latest.fetch_max(now, Ordering::Relaxed).max(now);
        Duration::from_secs(latest)
    }
}

impl Default for CacheTime {
    fn default() -> Self {
        CacheTime::new(Arc::new(SystemClock))
    }
}

impl fmt::Debug for CacheTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.clock.fmt(f)
    }
}
