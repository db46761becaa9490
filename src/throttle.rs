//! Throttling of failed logins per client address (CONTRACT section 9),
//! framework-free: [`FailedLogins`] remembers the times of each address's
//! last refused logins; the login routes ask it before any verification
//! work and tell it every refusal.
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
/// a throttled attempt is answered without touching the token.
///
/// ```
/// use std::net::IpAddr;
/// use std::time::{Duration, Instant};
/// use jwt_sso::FailedLogins;
///
/// let limiter = FailedLogins::new(3);
/// let client: IpAddr = "192.0.2.7".parse().unwrap();
/// let start = Instant::now();
/// for second in 0..3 {
///     let at = start + Duration::from_secs(second);
///     assert!(limiter.check_at(client, at).is_ok());
///     limiter.record_refusal_at(client, at); // the login was refused
/// }
/// let throttled = limiter.check_at(client, start + Duration::from_secs(10)).unwrap_err();
/// assert_eq!(throttled.retry_after, Duration::from_secs(50)); // the first refusal turns 60 s old
/// assert!(limiter.check_at("192.0.2.8".parse().unwrap(), start).is_ok()); // others are not affected
/// assert!(limiter.check_at(client, start + Duration::from_secs(60)).is_ok());
/// ```
pub struct FailedLogins {
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

/// Why an attempt is throttled: when to come back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Throttled {
    /// Whole seconds, 1–60, until the oldest counted refusal is 60 s old
    /// (the `Retry-After` header).
    pub retry_after: Duration,
    /// The refusals counted in the window (the limit).
    pub failures: u32,
}

impl fmt::Display for Throttled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the client address had {} refused logins within 60 s; its attempts are refused without checking them for another {} s",
            self.failures,
            self.retry_after.as_secs()
        )
    }
}

impl FailedLogins {
    /// A limiter allowing `max_failures` refused logins per address within
    /// 60 seconds (0: never throttle).
    pub fn new(max_failures: u32) -> Self {
        FailedLogins {
            max_failures,
            origin: Instant::now(),
            clients: Mutex::new(LruCache::new(MAX_CLIENTS)),
        }
    }

    /// The limit.
    pub fn max_failures(&self) -> u32 {
        self.max_failures
    }

    /// How many addresses are remembered (at most 100 000).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no address is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `client` may attempt a login now.
    pub fn check(&self, client: IpAddr) -> Result<(), Throttled> {
        self.check_at(client, Instant::now())
    }

    /// [`FailedLogins::check`] at the instant `now`.
    pub fn check_at(&self, client: IpAddr, now: Instant) -> Result<(), Throttled> {
        if self.max_failures == 0 {
            return Ok(());
        }
        let now = self.millis(now);
        let mut clients = self.lock();
        let Some(times) = clients.get_mut(&client) else {
            return Ok(());
        };
        prune(times, now);
        match times.front() {
            None => {
                clients.remove(&client);
                Ok(())
            }
            Some(&oldest) if times.len() >= self.max_failures as usize => {
                let left = (oldest + window_ms()).saturating_sub(now);
                let secs = left.div_ceil(1000).clamp(1, WINDOW.as_secs());
                Err(Throttled {
                    retry_after: Duration::from_secs(secs),
                    failures: self.max_failures,
                })
            }
            Some(_) => Ok(()),
        }
    }

    /// Records a refused login of `client` now.
    pub fn record_refusal(&self, client: IpAddr) {
        self.record_refusal_at(client, Instant::now());
    }

    /// [`FailedLogins::record_refusal`] at the instant `now`.
    pub fn record_refusal_at(&self, client: IpAddr, now: Instant) {
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
            assert!(limiter.check_at(ip(1), at(i * 100)).is_ok(), "attempt {i}");
            limiter.record_refusal_at(ip(1), at(i * 100));
        }
        // The 21st attempt within the minute is throttled.
        let throttled = limiter.check_at(ip(1), at(2_000)).unwrap_err();
        assert_eq!(throttled.retry_after, Duration::from_secs(58));
        assert_eq!(throttled.failures, 20);
        // Rounded up: 0.1 s left is 1 s.
        let last = limiter.check_at(ip(1), at(59_900)).unwrap_err();
        assert_eq!(last.retry_after, Duration::from_secs(1));
        // At 60 s the first refusal no longer counts: 19 left, served.
        assert!(limiter.check_at(ip(1), at(60_000)).is_ok());
        // One more refusal makes 20 again, until the second is 60 s old.
        limiter.record_refusal_at(ip(1), at(60_000));
        let again = limiter.check_at(ip(1), at(60_000)).unwrap_err();
        assert_eq!(again.retry_after, Duration::from_secs(1)); // the second was at 0.1 s
        assert!(limiter.check_at(ip(1), at(60_100)).is_ok());
    }

    #[test]
    fn only_refusals_count_and_zero_is_off() {
        let limiter = FailedLogins::new(2);
        let t0 = Instant::now();
        // Checks alone (accepted or throttled attempts) never count.
        for _ in 0..100 {
            assert!(limiter.check_at(ip(1), t0).is_ok());
        }
        assert!(limiter.is_empty());
        let off = FailedLogins::new(0);
        for _ in 0..100 {
            off.record_refusal_at(ip(1), t0);
            assert!(off.check_at(ip(1), t0).is_ok());
        }
        assert!(off.is_empty());
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
                assert!(limiter.check_at(ip(0), t0).is_err());
            }
            assert!(limiter.len() <= MAX_CLIENTS);
        }
        assert_eq!(limiter.len(), MAX_CLIENTS);
        assert!(limiter.check_at(ip(0), t0).is_err(), "recently seen, kept");
        assert!(
            limiter.check_at(ip(1), t0).is_ok(),
            "least recently seen, forgotten"
        );
        assert!(limiter.check_at(ip(199_999), t0).is_err());
    }
}
