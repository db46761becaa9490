//! Throttling of failed logins per client address (CONTRACT section 9),
//! framework-free: [`FailedLogins`] remembers the times of each address's
//! last refused logins; the login routes (`LoginOptions::max_failed_logins`)
//! ask it before any verification work and tell it every refusal.
//!
//! Why a structure of its own rather than a keyed rate limiter such as
//! `governor`: the contract's rule is a sliding window over the last `N`
//! refusals ("until the oldest of those refusals is 60 seconds old"), with
//! accepted and throttled attempts not counting. A GCRA limiter refills
//! continuously (one cell every 60/N s), so after a burst of `N` refusals it
//! would let one attempt through after 3 s instead of answering 429 for the
//! rest of the minute, and its `Retry-After` would not be the contract's. The
//! exact rule is a deque of at most `N` instants per address; the bound on
//! addresses is an LRU map (hashlink's `LruCache`).

use std::collections::VecDeque;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use hashlink::LruCache;

/// The window in which refusals count: 60 seconds.
const WINDOW: Duration = Duration::from_secs(60);

/// The most addresses remembered: 100 000.
const MAX_CLIENTS: usize = 100_000;

/// Refused logins per client address: once an address has had
/// `max_failures` refused logins within 60 seconds, [`FailedLogins::check`]
/// refuses its further attempts until the oldest of those refusals is 60
/// seconds old. Accepted and throttled attempts are not recorded, so they
/// do not count. At most 100 000 addresses are remembered; beyond that the
/// least recently seen (checked or refused) is forgotten first. A
/// `max_failures` of 0 turns throttling off.
///
/// Each call takes one lock for a hash lookup and a few deque operations:
/// a throttled attempt is answered without touching the token. Times are
/// the monotonic clock's (`Instant`), to the millisecond.
pub(crate) struct FailedLogins {
    max_failures: u32,
    origin: Instant,
    /// Per address, its refusal times (milliseconds since `origin`), oldest first.
    clients: Mutex<LruCache<IpAddr, VecDeque<u64>>>,
}

impl fmt::Debug for FailedLogins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FailedLogins")
            .field("max_failures", &self.max_failures)
            .field("clients", &self.len())
            .finish()
    }
}

impl FailedLogins {
    /// A limiter allowing `max_failures` refused logins per address within
    /// 60 seconds (0: never throttle).
    pub(crate) fn new(max_failures: u32) -> Self {
        FailedLogins {
            max_failures,
            origin: Instant::now(),
            clients: Mutex::new(LruCache::new(MAX_CLIENTS)),
        }
    }

    /// The limit.
    pub(crate) fn max_failures(&self) -> u32 {
        self.max_failures
    }

    /// How many addresses are remembered (at most 100 000).
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// `None` when `client` may attempt a login now; else how long it must
    /// wait: whole seconds, 1–60, until the oldest counted refusal is 60 s
    /// old (the `Retry-After` of the `429`).
    pub(crate) fn check(&self, client: IpAddr) -> Option<Duration> {
        self.check_at(client, Instant::now())
    }

    /// [`FailedLogins::check`] at the instant `now`.
    fn check_at(&self, client: IpAddr, now: Instant) -> Option<Duration> {
        if self.max_failures == 0 {
            return None;
        }
        let now = self.millis(now);
        let mut clients = self.lock();
        let times = clients.get_mut(&client)?;
        prune(times, now);
        match times.front() {
            None => {
                clients.remove(&client);
                None
            }
            Some(&oldest) if times.len() >= self.max_failures as usize => {
                let left = (oldest + window_ms()).saturating_sub(now);
                let secs = left.div_ceil(1000).clamp(1, WINDOW.as_secs());
                Some(Duration::from_secs(secs))
            }
            Some(_) => None,
        }
    }

    /// Records a refused login of `client` now.
    pub(crate) fn record_refusal(&self, client: IpAddr) {
        self.record_refusal_at(client, Instant::now());
    }

    /// [`FailedLogins::record_refusal`] at the instant `now`.
    fn record_refusal_at(&self, client: IpAddr, now: Instant) {
        if self.max_failures == 0 {
            return;
        }
        let now = self.millis(now);
        let max = self.max_failures as usize;
        let mut clients = self.lock();
        if let Some(times) = clients.get_mut(&client) {
            prune(times, now);
            times.push_back(now);
            while times.len() > max {
                times.pop_front();
            }
        } else {
            let mut times = VecDeque::with_capacity(max.min(4));
            times.push_back(now);
            // At capacity, the least recently seen address is forgotten.
            clients.insert(client, times);
        }
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.origin).as_millis()).unwrap_or(u64::MAX)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<IpAddr, VecDeque<u64>>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn window_ms() -> u64 {
    WINDOW.as_millis() as u64
}

/// Drops the refusals that are 60 s old or older at `now`.
fn prune(times: &mut VecDeque<u64>, now: u64) {
    while times
        .front()
        .is_some_and(|&t| now.saturating_sub(t) >= window_ms())
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n))
    }

    #[test]
    fn the_limit_th_refusal_throttles_until_the_oldest_is_a_minute_old() {
        let limiter = FailedLogins::new(20);
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        for i in 0..20 {
            assert_eq!(limiter.check_at(ip(1), at(i * 100)), None, "attempt {i}");
            limiter.record_refusal_at(ip(1), at(i * 100));
        }
        // The 21st attempt within the minute is throttled.
        assert_eq!(
            limiter.check_at(ip(1), at(2_000)),
            Some(Duration::from_secs(58))
        );
        // Rounded up: 0.1 s left is 1 s.
        assert_eq!(
            limiter.check_at(ip(1), at(59_900)),
            Some(Duration::from_secs(1))
        );
        // At 60 s the first refusal no longer counts: 19 left, served.
        assert_eq!(limiter.check_at(ip(1), at(60_000)), None);
        // One more refusal makes 20 again, until the second is 60 s old.
        limiter.record_refusal_at(ip(1), at(60_000));
        // The second was at 0.1 s.
        assert_eq!(
            limiter.check_at(ip(1), at(60_000)),
            Some(Duration::from_secs(1))
        );
        assert_eq!(limiter.check_at(ip(1), at(60_100)), None);
    }

    #[test]
    fn only_refusals_count_and_zero_is_off() {
        let limiter = FailedLogins::new(2);
        let t0 = Instant::now();
        // Checks alone (accepted or throttled attempts) never count.
        for _ in 0..100 {
            assert_eq!(limiter.check_at(ip(1), t0), None);
        }
        assert_eq!(limiter.len(), 0);
        let off = FailedLogins::new(0);
        for _ in 0..100 {
            off.record_refusal_at(ip(1), t0);
            assert_eq!(off.check_at(ip(1), t0), None);
        }
        assert_eq!(off.len(), 0);
    }

    #[test]
    fn at_most_a_hundred_thousand_addresses_the_least_recently_seen_forgotten_first() {
        let limiter = FailedLogins::new(1);
        let t0 = Instant::now();
        limiter.record_refusal_at(ip(0), t0);
        for n in 1..200_000 {
            limiter.record_refusal_at(ip(n), t0);
            if n % 50_000 == 0 {
                // Seen again: the first address stays among the recent ones.
                assert!(limiter.check_at(ip(0), t0).is_some());
            }
            assert!(limiter.len() <= MAX_CLIENTS);
        }
        assert_eq!(limiter.len(), MAX_CLIENTS);
        assert!(limiter.check_at(ip(0), t0).is_some(), "recently seen, kept");
        assert!(
            limiter.check_at(ip(1), t0).is_none(),
            "least recently seen, forgotten"
        );
        assert!(limiter.check_at(ip(199_999), t0).is_some());
    }

    #[test]
    fn after_the_window_the_address_is_served_again_and_others_never_wait() {
        let limiter = FailedLogins::new(20);
        let t0 = Instant::now();
        for i in 0..20 {
            limiter.record_refusal_at(ip(1), t0 + Duration::from_secs(i));
        }
        assert_eq!(
            limiter.check_at(ip(1), t0 + Duration::from_secs(20)),
            Some(Duration::from_secs(40))
        );
        assert_eq!(limiter.check_at(ip(2), t0 + Duration::from_secs(20)), None);
        assert!(
            limiter
                .check_at(ip(1), t0 + Duration::from_millis(59_999))
                .is_some()
        );
        assert_eq!(limiter.check_at(ip(1), t0 + Duration::from_secs(60)), None);
    }

    #[test]
    fn two_hundred_thousand_checked_addresses_keep_a_hundred_thousand_entries() {
        let limiter = FailedLogins::new(20);
        let t0 = Instant::now();
        for n in 0..200_000 {
            limiter.record_refusal_at(ip(n), t0);
            let _ = limiter.check_at(ip(n), t0);
        }
        assert_eq!(limiter.len(), MAX_CLIENTS);
    }
}
