//! Reading a request body within a size limit, once a handler has decided
//! from the headers that it will take the request (CONTRACT section 6).

use ::axum::body::{Body, Bytes};
use ::axum::http::HeaderMap;
use ::axum::http::header::CONTENT_LENGTH;
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyRefusal {
    /// Declared or found larger than the limit (`413`).
    TooLarge,
    /// The connection failed, or the body missed its deadline (`400`; `serve`
    /// answers a missed deadline `408`).
    Unreadable,
}

/// Whether the declared `Content-Length` is over `max` (answered before a
/// byte of the body is read, so `Expect: 100-continue` gets no `100`).
pub(crate) fn declared_too_large(headers: &HeaderMap, max: usize) -> bool {
    headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .is_some_and(|len| len > max as u64)
}

/// The whole body, at most `max` bytes.
pub(crate) async fn read_limited(
    headers: &HeaderMap,
    body: Body,
    max: usize,
) -> Result<Bytes, BodyRefusal> {
    if declared_too_large(headers, max) {
        return Err(BodyRefusal::TooLarge);
    }
    match Limited::new(body, max).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(BodyRefusal::TooLarge),
        Err(_) => Err(BodyRefusal::Unreadable),
    }
}
