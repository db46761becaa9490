//! Reading a compact JWS before anything is trusted: its three segments and
//! strict base64url (step 3 of CONTRACT section 2). Shared by the verifier
//! (which goes on to the header, the key and the signature) and by routing
//! (which reads only the unverified payload's `iss` to choose a
//! configuration).

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::error::{Error, TokenPart};

/// Strict base64url: URL-safe alphabet, no padding, unused trailing bits zero.
pub(crate) const STRICT_B64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// The three dot-separated segments of a compact JWS (step 3).
pub(crate) fn segments(token: &str) -> Result<[&str; 3], Error> {
    let mut parts = token.split('.');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => Ok([h, p, s]),
        _ => Err(wrong_segments(token)),
    }
}

/// A token that is not three dot-separated segments (step 3).
pub(crate) fn wrong_segments(token: &str) -> Error {
    Error::malformed(
        TokenPart::Token,
        format!(
            "a compact JWT has exactly 3 dot-separated segments, this one has {}",
            token.split('.').count()
        ),
    )
}

/// The `which` segment is not strict base64url (step 3).
pub(crate) fn not_base64url(which: &str) -> Error {
    Error::malformed(
        TokenPart::Token,
        format!(
            "the {which} segment is not strict base64url (no padding, no other characters, zero trailing bits)"
        ),
    )
}

/// The payload segment of an unverified token, decoded strictly (three
/// segments, strict base64url); nothing in it is trusted.
pub(crate) fn decode_payload(token: &str) -> Result<Vec<u8>, Error> {
    let [_, payload, _] = segments(token)?;
    STRICT_B64URL
        .decode(payload)
        .map_err(|_| not_base64url("payload"))
}
