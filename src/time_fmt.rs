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
    // Whole seconds, as nearly every token has: two conversions rather than
    // a call to `floor` (NaN, infinities and values past `i64` saturate and
    // compare unequal, so they take the path below).
    let int = secs as i64;
    if int as f64 == secs {
        return OffsetDateTime::from_unix_timestamp(int).ok();
    }
    if !secs.is_finite() {
        return None;
    }
    // Whole seconds and microseconds apart: an f64 near 1.7e9 is exact to
    // about 0.2 µs, so `1767226200.123` stays `.123` rather than `.122999808`.
    let whole = secs.floor();
    if whole.abs() > 1e15 {
        return None; // far outside what OffsetDateTime can hold
    }
    let (whole, micros) = match ((secs - whole) * 1e6).round() as i64 {
        1_000_000 => (whole as i64 + 1, 0), // .9999996 and up round to the next second
        micros => (whole as i64, micros),
    };
    let at = OffsetDateTime::from_unix_timestamp(whole).ok()?;
    match micros {
        0 => Some(at),
        micros => at.replace_nanosecond(micros as u32 * 1_000).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same instant as whole nanoseconds (the earlier formula), for
    /// comparison.
    fn by_nanos(secs: f64) -> Option<OffsetDateTime> {
        let whole = secs.floor();
        let micros = ((secs - whole) * 1e6).round() as i128;
        OffsetDateTime::from_unix_timestamp_nanos(whole as i128 * 1_000_000_000 + micros * 1_000)
            .ok()
    }

    #[test]
    fn fractions_carry_and_bounds_match_whole_nanoseconds() {
        let max = 253_402_300_799.0; // 9999-12-31T23:59:59Z
        let min = -62_167_219_200.0; // 0000-01-01T00:00:00Z
        for secs in [
            0.0,
            1.5,
            -1.5,
            -0.25,
            1_767_226_200.123,
            1_767_226_200.999_999_7,
            -1_767_226_200.999_999_7,
            1_767_229_200.0,
            max,
            max + 0.5,
            max + 0.999_999_9,
            max + 1.0,
            min,
            min - 0.5,
            min - 1.0,
        ] {
            assert_eq!(to_datetime(secs), by_nanos(secs), "{secs}");
        }
        assert_eq!(
            to_datetime(1_767_226_200.999_999_7).map(|t| t.unix_timestamp()),
            Some(1_767_226_201)
        );
        // What the whole-second shortcut must leave to the general path.
        for secs in [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1e300,
            i64::MAX as f64,
            i64::MIN as f64,
        ] {
            assert_eq!(to_datetime(secs), None, "{secs}");
        }
        assert_eq!(to_datetime(-0.0), Some(OffsetDateTime::UNIX_EPOCH));
    }
}
