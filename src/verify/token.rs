//! Steps 1–5 of CONTRACT section 2: the token's size, its three strict
//! base64url segments, the header, `alg` and `crit`.

use std::borrow::Cow;

use base64::DecodeSliceError;
use base64::Engine;

use super::Verifier;
use crate::config::Algorithm;
use crate::error::{Error, TokenError, TokenPart};
use crate::json::parse_header;
use crate::token::{STRICT_B64URL, not_base64url, segments};

/// A token that passed steps 1–5: split, decoded, header checked.
pub(crate) struct Parsed<'t> {
    pub(crate) alg: Algorithm,
    pub(super) kid: Option<Result<String, ()>>,
    /// `header.payload`, the signing input.
    pub(super) message: &'t [u8],
    pub(super) payload: Vec<u8>,
    pub(super) signature: Signature,
}

/// The decoded signature: inline up to 512 bytes (RSA-4096; ECDSA and
/// EdDSA need at most 132), on the heap beyond.
pub(crate) struct Signature {
    inline: [u8; 512],
    len: usize,
    heap: Vec<u8>,
}

impl std::ops::Deref for Signature {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        if self.heap.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.heap
        }
    }
}

impl Parsed<'_> {
    /// The header's `kid`: `Some(Err(()))` when it is not a string.
    pub(crate) fn kid(&self) -> Option<Result<&str, ()>> {
        self.kid.as_ref().map(|k| k.as_deref().map_err(|_| ()))
    }
}

impl Verifier {
    /// Steps 1–5: enabled, size, segments and base64url, header, `alg`, `crit`.
    ///
    /// `decoded_payload`: the payload segment, when the caller already
    /// decoded it strictly.
    pub(crate) fn parse<'t>(
        &self,
        token: &'t str,
        decoded_payload: Option<Vec<u8>>,
    ) -> Result<Parsed<'t>, Error> {
        if !self.config.enabled {
            return Err(Error::Token(TokenError::Disabled {
                config: self.config.name.to_string(),
            }));
        }
        if token.len() > self.config.max_token_bytes {
            return Err(Error::Token(TokenError::TokenTooLarge {
                size: token.len(),
                max: self.config.max_token_bytes,
            }));
        }
        let [h, p, s] = segments(token)?;
        let malformed = not_base64url;
        // The header is decoded onto the stack and parsed in place.
        let mut header_buf = [0u8; 1024];
        let header_vec;
        let header_bytes = match STRICT_B64URL.decode_slice(h, &mut header_buf) {
            Ok(len) => &header_buf[..len],
            Err(DecodeSliceError::OutputSliceTooSmall) => {
                header_vec = STRICT_B64URL.decode(h).map_err(|_| malformed("header"))?;
                &header_vec[..]
            }
            Err(DecodeSliceError::DecodeError(_)) => return Err(malformed("header")),
        };
        let payload = match decoded_payload {
            Some(payload) => payload,
            None => STRICT_B64URL.decode(p).map_err(|_| malformed("payload"))?,
        };
        let mut sig_buf = [0u8; 512];
        let signature = match STRICT_B64URL.decode_slice(s, &mut sig_buf) {
            Ok(len) => Signature {
                inline: sig_buf,
                len,
                heap: Vec::new(),
            },
            Err(DecodeSliceError::OutputSliceTooSmall) => Signature {
                inline: [0; 512],
                len: 0,
                heap: STRICT_B64URL
                    .decode(s)
                    .map_err(|_| malformed("signature"))?,
            },
            Err(DecodeSliceError::DecodeError(_)) => return Err(malformed("signature")),
        };
        let header = parse_header(header_bytes)
            .map_err(|reason| Error::malformed(TokenPart::Header, reason))?;

        let alg = match header.alg {
            Some(Ok(name)) => match name.parse::<Algorithm>() {
                Ok(alg) if self.algorithms.contains(&alg) => alg,
                _ => return Err(self.alg_error(Some(name.into_owned()))),
            },
            Some(Err(json)) => return Err(self.alg_error(Some(json))),
            None => return Err(self.alg_error(None)),
        };
        if let Some(crit) = header.crit {
            return Err(Error::Token(TokenError::CriticalHeader { crit }));
        }
        let kid = header.kid.map(|k| k.map(Cow::into_owned));
        Ok(Parsed {
            alg,
            kid,
            message: &token.as_bytes()[..h.len() + 1 + p.len()],
            payload,
            signature,
        })
    }

    fn alg_error(&self, found: Option<String>) -> Error {
        Error::Token(TokenError::AlgorithmNotAllowed {
            found,
            allowed: self.allowed_names.clone(),
        })
    }
}
