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
    // Whole seconds and microseconds apart: an f64 near 1.7e9 is exact to
    // about 0.2 µs, so `1767226200.123` stays `.123` rather than `.122999808`.
    let whole = secs.floor();
    if whole.abs() > 1e15 {
        return None; // far outside what OffsetDateTime can hold
    }
    let micros = ((secs - whole) * 1e6).round() as i128;
    OffsetDateTime::from_unix_timestamp_nanos(whole as i128 * 1_000_000_000 + micros * 1_000).ok()
}
