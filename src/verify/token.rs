//! Steps 1–5 of CONTRACT section 2: the token's size, its three strict
//! base64url segments, the header, `alg` and `crit`.

use std::borrow::Cow;
use std::mem::MaybeUninit;

use base64::Engine;
use base64_simd::AsOut;

use super::Verifier;
use crate::config::Algorithm;
use crate::error::{Error, TokenError, TokenPart};
use crate::json::parse_header;
use crate::token::{STRICT_B64URL, not_base64url, wrong_segments};

/// A token that passed steps 1–5: split, decoded, header checked.
pub(crate) struct Parsed<'t, 'b> {
    pub(crate) alg: Algorithm,
    kid: Option<Result<Cow<'b, str>, ()>>,
    /// `header.payload`, the signing input.
    pub(super) message: &'t [u8],
    pub(super) payload: Decoded<'b>,
    pub(super) signature: Decoded<'b>,
}

impl Parsed<'_, '_> {
    /// The header's `kid`: `Some(Err(()))` when it is not a string.
    pub(crate) fn kid(&self) -> Option<Result<&str, ()>> {
        self.kid.as_ref().map(|k| k.as_deref().map_err(|_| ()))
    }
}

/// Where a verification decodes the header, payload and signature: on the
/// caller's stack, sized for the usual token (a segment that does not fit
/// goes to the heap). Left uninitialised: the decoder writes what is read.
pub(crate) struct Scratch {
    header: [MaybeUninit<u8>; 256],
    payload: [MaybeUninit<u8>; 1024],
    /// RSA-4096; ECDSA and EdDSA need at most 132.
    signature: [MaybeUninit<u8>; 512],
}

impl Default for Scratch {
    fn default() -> Self {
        Scratch {
            header: [MaybeUninit::uninit(); 256],
            payload: [MaybeUninit::uninit(); 1024],
            signature: [MaybeUninit::uninit(); 512],
        }
    }
}

/// The headers most senders write, as base64url, for each allowed
/// algorithm: `{"alg":"A","typ":"JWT"}`, `{"typ":"JWT","alg":"A"}` and
/// `{"alg":"A"}`. A token whose header segment is exactly one of them has
/// passed steps 3–5 without decoding or parsing it: it is strict base64url
/// of a strict JSON object with an allowed `alg`, no `kid` and no `crit`.
/// Any other header, e.g. one with a `kid`, is decoded and parsed.
#[derive(Debug)]
pub(crate) struct KnownHeaders(Vec<(String, Algorithm)>);

impl KnownHeaders {
    pub(crate) fn new(algorithms: &[Algorithm]) -> Self {
        let mut known = Vec::new();
        for &alg in algorithms {
            for json in [
                format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
                format!(r#"{{"typ":"JWT","alg":"{alg}"}}"#),
                format!(r#"{{"alg":"{alg}"}}"#),
            ] {
                known.push((STRICT_B64URL.encode(json), alg));
            }
        }
        KnownHeaders(known)
    }

    /// The algorithm of a header segment that is one of the known ones.
    fn get(&self, segment: &str) -> Option<Algorithm> {
        self.0
            .iter()
            .find(|(h, _)| h == segment)
            .map(|(_, alg)| *alg)
    }
}

/// A decoded segment, in a [`Scratch`] buffer or on the heap.
pub(crate) enum Decoded<'b> {
    Inline(&'b [u8]),
    Heap(Vec<u8>),
}

impl std::ops::Deref for Decoded<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Decoded::Inline(bytes) => bytes,
            Decoded::Heap(bytes) => bytes,
        }
    }
}

/// Decodes one segment with strict base64url (the rules of
/// [`STRICT_B64URL`]) into `inline` when it fits. base64-simd: the decoder
/// the AWS SDK for Rust uses, with SIMD where the CPU has it; strict on
/// padding, the alphabet and trailing bits.
fn decode<'b>(segment: &str, inline: &'b mut [MaybeUninit<u8>]) -> Result<Decoded<'b>, ()> {
    let b64 = base64_simd::URL_SAFE_NO_PAD;
    let len = b64.decoded_length(segment.as_bytes()).map_err(|_| ())?;
    match inline.get_mut(..len) {
        Some(out) => b64
            .decode(segment.as_bytes(), out.as_out())
            .map(|bytes| Decoded::Inline(bytes))
            .map_err(|_| ()),
        None => b64
            .decode_to_vec(segment.as_bytes())
            .map(Decoded::Heap)
            .map_err(|_| ()),
    }
}

impl Verifier {
    /// Steps 1–5: enabled, size, segments and base64url, header, `alg`, `crit`.
    ///
    /// `decoded_payload`: the payload segment, when the caller already
    /// decoded it strictly. The segments are decoded into `scratch`.
    #[inline]
    pub(crate) fn parse<'t, 'b>(
        &self,
        token: &'t str,
        decoded_payload: Option<Vec<u8>>,
        scratch: &'b mut Scratch,
    ) -> Result<Parsed<'t, 'b>, Error> {
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
        // The header ends at the first dot and the signature starts after
        // the last; a dot in between fails the payload's base64url, which
        // then reports the segment count. So the payload is read once, by
        // its decoder.
        // The `memchr` crate's vectorised search (see Cargo.toml).
        let bytes = token.as_bytes();
        let (Some(first), Some(last)) = (memchr::memchr(b'.', bytes), memchr::memrchr(b'.', bytes))
        else {
            return Err(wrong_segments(token));
        };
        // Both at an ASCII dot: character boundaries.
        let (h, signed, s) = (&token[..first], &token[..last], &token[last + 1..]);
        // `signed` is `header.payload`, or just the header when there is one dot.
        let Some(p) = signed.get(h.len() + 1..) else {
            return Err(wrong_segments(token));
        };
        let malformed = |which: &str| match p.contains('.') {
            true => wrong_segments(token),
            false => not_base64url(which),
        };
        let Scratch {
            header: header_buf,
            payload: payload_buf,
            signature: signature_buf,
        } = scratch;
        let known = self.known_headers.get(h);
        let header = match known {
            Some(_) => Decoded::Inline(&[]),
            None => decode(h, header_buf).map_err(|()| malformed("header"))?,
        };
        let payload = match decoded_payload {
            Some(payload) => Decoded::Heap(payload),
            None => decode(p, payload_buf).map_err(|()| malformed("payload"))?,
        };
        let signature = decode(s, signature_buf).map_err(|()| malformed("signature"))?;
        // A `kid` borrows from the header when that is in `scratch`.
        let (alg, kid) = match (known, header) {
            (Some(alg), _) => (alg, None),
            (None, Decoded::Inline(bytes)) => self.header(bytes)?,
            (None, Decoded::Heap(bytes)) => {
                let (alg, kid) = self.header(&bytes)?;
                (alg, kid.map(|k| k.map(|k| Cow::Owned(k.into_owned()))))
            }
        };
        Ok(Parsed {
            alg,
            kid,
            message: signed.as_bytes(),
            payload,
            signature,
        })
    }

    /// The header's steps: strict JSON (3), `alg` (4), `crit` (5); its `kid`.
    #[allow(clippy::type_complexity)]
    fn header<'h>(
        &self,
        bytes: &'h [u8],
    ) -> Result<(Algorithm, Option<Result<Cow<'h, str>, ()>>), Error> {
        let header =
            parse_header(bytes).map_err(|reason| Error::malformed(TokenPart::Header, reason))?;
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
        Ok((alg, header.kid))
    }

    fn alg_error(&self, found: Option<String>) -> Error {
        Error::Token(TokenError::AlgorithmNotAllowed {
            found,
            allowed: self.allowed_names.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use crate::mint::SigningKey;
    use crate::unix_time::UnixTime;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn known_headers_are_the_usual_three_per_algorithm_and_nothing_else() {
        let algorithms = [Algorithm::HS256, Algorithm::RS256];
        let known = KnownHeaders::new(&algorithms);
        for alg in algorithms {
            for json in [
                format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#),
                format!(r#"{{"typ":"JWT","alg":"{alg}"}}"#),
                format!(r#"{{"alg":"{alg}"}}"#),
            ] {
                assert_eq!(known.get(&STRICT_B64URL.encode(&json)), Some(alg), "{json}");
                // What the full parse of that header finds.
                let header = parse_header(json.as_bytes()).unwrap();
                assert_eq!(header.alg, Some(Ok(Cow::Borrowed(alg.as_str()))));
                assert_eq!((header.kid, header.crit), (None, None));
            }
        }
        for other in [
            r#"{"alg": "HS256","typ":"JWT"}"#,
            r#"{"alg":"HS256","typ":"jwt"}"#,
            r#"{"alg":"HS384"}"#,
            r#"{"alg":"HS256","kid":"k1"}"#,
            r#"{"alg":"HS256","typ":"JWT","crit":["exp"]}"#,
            r#"{"alg":"HS\u0032\u0035\u0036"}"#,
            r#"{"alg":"HS256"} "#,
        ] {
            assert_eq!(known.get(&STRICT_B64URL.encode(other)), None, "{other}");
        }
    }

    /// A header the verifier knows and other spellings of the same header
    /// give the same identity; a known header for an algorithm that is not
    /// allowed is refused like any other.
    #[test]
    fn a_known_header_verifies_like_any_other_spelling_of_it() {
        let config = crate::JwtConfig::from_json_str(
            r#"{"name": "ERP", "token_name": "token", "algorithms": ["HS256"],
                "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
                "expiration_time": 3600, "claims": {"user_id": "sub", "name": "name"}}"#,
        )
        .unwrap();
        let verifier = Verifier::new(config.validate().unwrap());
        let key = SigningKey::from_secret(SECRET);
        let payload = br#"{"sub":"jdoe","name":"Jane","iat":1767225600,"exp":1767229200}"#;
        let at = UnixTime::from_secs(1_767_225_600);
        let verify = |header: &str, alg: Algorithm| {
            let token = key.sign_raw(alg, header.as_bytes(), payload).unwrap();
            verifier.verify_at(&token, at)
        };
        let expected = verify(r#"{"alg":"HS256","typ":"JWT"}"#, Algorithm::HS256).unwrap();
        assert_eq!(expected.user_id, "jdoe");
        for header in [
            r#"{"typ":"JWT","alg":"HS256"}"#,
            r#"{"alg":"HS256"}"#,
            r#"{ "alg" : "HS256" }"#,
            r#"{"alg":"HS\u0032\u0035\u0036","typ":"JWT"}"#,
            r#"{"alg":"HS256","typ":"JWT","kid":"k1","x":[1,{"y":null}]}"#,
        ] {
            assert_eq!(
                verify(header, Algorithm::HS256).unwrap(),
                expected,
                "{header}"
            );
        }
        for header in [r#"{"alg":"HS384","typ":"JWT"}"#, r#"{"alg":"HS384"}"#] {
            let err = verify(header, Algorithm::HS384).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::AlgorithmNotAllowed, "{header}");
        }
        // A known header does not excuse the payload or the signature.
        let token = key
            .sign_raw(Algorithm::HS256, br#"{"alg":"HS256"}"#, payload)
            .unwrap();
        let tampered = format!("{}x", &token[..token.len() - 1]);
        assert!(matches!(
            verifier.verify_at(&tampered, at).unwrap_err().kind(),
            ErrorKind::InvalidSignature | ErrorKind::Malformed
        ));
        let token = key
            .sign_raw(Algorithm::HS256, br#"{"alg":"HS256"}"#, b"[1]")
            .unwrap();
        assert_eq!(
            verifier.verify_at(&token, at).unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }
}
