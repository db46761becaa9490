//! RFC 3339 rendering of NumericDate values (seconds since 1970, possibly fractional).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The instant `secs` as RFC 3339 in UTC, e.g. `2026-01-01T01:00:00Z`.
/// Values outside what RFC 3339 can show (before year 0, after 9999) are
/// rendered as `<secs> s since 1970`.
pub(crate) fn rfc3339(secs: f64) -> String {
    to_datetime(secs)
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("{secs} s since 1970"))
}

/// `secs` as a UTC date-time, when representable.
pub(crate) fn to_datetime(secs: f64) -> Option<OffsetDateTime> {
    if !secs.is_finite() {
        return None;
    }
    let nanos = (secs * 1e9).round();
    // i128 holds every finite f64 below 1.7e38; the time crate bounds it further.
    if nanos.abs() > 1e30 {
        return None;
    }
    OffsetDateTime::from_unix_timestamp_nanos(nanos as i128).ok()
}
