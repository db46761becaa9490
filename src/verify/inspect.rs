//! What a token debugger shows beside the checklist (CONTRACT section 7,
//! "test a token"): the token's header and claims decoded as JSON, and for
//! a rotated secret the position of the secret that verifies it.
//!
//! Only for an administrator who pasted the token (the admin test, a
//! `jwt_check` run): the claims are decoded whether or not the signature
//! holds, and nothing here is on the verification path.

use base64::Engine as _;
use serde_json::{Map, Value};

use super::token::Scratch;
use super::{Keys, Verifier};
use crate::json::parse_object;
use crate::token::STRICT_B64URL;

/// A token's parts as a debugger shows them.
#[derive(Debug, Default)]
pub(crate) struct Inspection {
    /// The header, when its segment decodes to a strict JSON object.
    pub(crate) header: Option<Map<String, Value>>,
    /// The claims, when the payload segment decodes to a strict JSON object.
    pub(crate) claims: Option<Map<String, Value>>,
    /// For a rotated secret (`"secret": [ … ]`): the position (0-based) of
    /// the secret whose signature holds.
    pub(crate) secret_index: Option<usize>,
}

/// One segment decoded (strict base64url) and read as a strict JSON object.
fn object(segment: Option<&str>) -> Option<Map<String, Value>> {
    let bytes = STRICT_B64URL.decode(segment?).ok()?;
    parse_object(&bytes).ok()
}

impl Verifier {
    /// The header and claims of `token`, decoded without verifying it, and
    /// the position of the rotated secret that verifies its signature. A
    /// part that does not decode is `None`. The token's size is checked
    /// first: a token over `max_token_bytes` is not decoded at all.
    pub(crate) fn inspect(&self, token: &str) -> Inspection {
        if token.len() > self.config.max_token_bytes {
            return Inspection::default();
        }
        let mut parts = token.split('.');
        let header = object(parts.next());
        let claims = object(parts.next());
        let secret_index = match &self.keys {
            Keys::Static(set) => {
                let mut scratch = Scratch::default();
                self.parse(token, None, &mut scratch)
                    .ok()
                    .and_then(|parsed| {
                        set.secret_index(parsed.alg, parsed.message, &parsed.signature)
                    })
            }
            #[cfg(feature = "remote")]
            Keys::Remote(_) => None,
        };
        Inspection {
            header,
            claims,
            secret_index,
        }
    }
}
