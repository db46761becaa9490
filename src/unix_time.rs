//! The one time type of the API: whole seconds since 1970 (UTC).

use std::fmt;
use std::ops::{Add, Sub};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// An instant, in whole seconds since 1970-01-01T00:00:00Z (UTC).
///
/// Every instant the API takes or stores is a `UnixTime` ("now" for a
/// verification, a session's times, a used `jti`'s expiry); every span is a
/// [`std::time::Duration`]. Arithmetic with a `Duration` saturates, so no
/// input overflows (`Duration::MAX` included). `Display` is RFC 3339.
///
/// A verified token's own times (`expires_at`, `issued_at` of a
/// [`MappedIdentity`](crate::MappedIdentity)) keep the sub-second precision
/// a NumericDate may have, as `time::OffsetDateTime`; convert with `From`.
///
/// ```
/// use std::time::Duration;
/// use jwt_sso::UnixTime;
///
/// let t = UnixTime::from_secs(1_767_225_600);
/// assert_eq!(t.to_string(), "2026-01-01T00:00:00Z");
/// assert_eq!((t + Duration::from_secs(3600)).as_secs(), 1_767_229_200);
/// assert_eq!(t + Duration::MAX, UnixTime::MAX); // saturates
/// assert_eq!(t.duration_since(UnixTime::from_secs(0)), Some(Duration::from_secs(1_767_225_600)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(i64);

impl UnixTime {
    /// The earliest instant.
    pub const MIN: UnixTime = UnixTime(i64::MIN);
    /// The latest instant.
    pub const MAX: UnixTime = UnixTime(i64::MAX);

    /// The instant `secs` seconds after 1970-01-01T00:00:00Z (before it
    /// when negative).
    pub const fn from_secs(secs: i64) -> Self {
        UnixTime(secs)
    }

    /// Seconds since 1970-01-01T00:00:00Z.
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// The system clock's current time, rounded down to the second.
    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => UnixTime(i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
            Err(e) => UnixTime(-i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX)),
        }
    }

    /// `self + by`, at most [`UnixTime::MAX`].
    pub fn saturating_add(self, by: Duration) -> Self {
        clamped(i128::from(self.0) + i128::from(by.as_secs()))
    }

    /// `self - by`, at least [`UnixTime::MIN`].
    pub fn saturating_sub(self, by: Duration) -> Self {
        clamped(i128::from(self.0) - i128::from(by.as_secs()))
    }

    /// How long after `earlier` this instant is; `None` when it is before.
    pub fn duration_since(self, earlier: UnixTime) -> Option<Duration> {
        let diff = i128::from(self.0) - i128::from(earlier.0);
        u64::try_from(diff).ok().map(Duration::from_secs)
    }
}

/// `secs` within the range of a `UnixTime`.
fn clamped(secs: i128) -> UnixTime {
    UnixTime(i64::try_from(secs).unwrap_or(if secs < 0 { i64::MIN } else { i64::MAX }))
}

impl Add<Duration> for UnixTime {
    type Output = UnixTime;

    /// Saturating: see [`UnixTime::saturating_add`].
    fn add(self, by: Duration) -> UnixTime {
        self.saturating_add(by)
    }
}

impl Sub<Duration> for UnixTime {
    type Output = UnixTime;

    /// Saturating: see [`UnixTime::saturating_sub`].
    fn sub(self, by: Duration) -> UnixTime {
        self.saturating_sub(by)
    }
}

/// RFC 3339 in UTC, e.g. `2026-01-01T00:00:00Z`; an instant outside the
/// years 0000–9999 as `<secs> s since 1970`.
impl fmt::Display for UnixTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::time_fmt::rfc3339(self.0 as f64))
    }
}

/// The instant rounded down to the second.
impl From<OffsetDateTime> for UnixTime {
    fn from(t: OffsetDateTime) -> Self {
        UnixTime(t.unix_timestamp())
    }
}

/// The instant as a UTC date-time; an error when `time` cannot represent it.
impl TryFrom<UnixTime> for OffsetDateTime {
    type Error = time::error::ComponentRange;

    fn try_from(t: UnixTime) -> Result<Self, Self::Error> {
        OffsetDateTime::from_unix_timestamp(t.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_on_every_input() {
        let t = UnixTime::from_secs(10);
        assert_eq!(t + Duration::MAX, UnixTime::MAX);
        assert_eq!(t - Duration::MAX, UnixTime::MIN);
        assert_eq!(UnixTime::MAX + Duration::from_secs(1), UnixTime::MAX);
        assert_eq!(UnixTime::MIN - Duration::from_secs(1), UnixTime::MIN);
        assert_eq!(t + Duration::from_millis(1999), UnixTime::from_secs(11));
        assert_eq!(
            UnixTime::MAX.duration_since(UnixTime::MIN),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(UnixTime::MIN.duration_since(UnixTime::MAX), None);
    }

    #[test]
    fn display_is_rfc3339_or_seconds() {
        assert_eq!(UnixTime::from_secs(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            UnixTime::MAX.to_string(),
            format!("{} s since 1970", i64::MAX as f64)
        );
        let t = OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap();
        assert_eq!(UnixTime::from(t), UnixTime::from_secs(1_767_225_600));
        assert_eq!(
            OffsetDateTime::try_from(UnixTime::from_secs(1_767_225_600)).unwrap(),
            t
        );
        assert!(OffsetDateTime::try_from(UnixTime::MAX).is_err());
    }
}
