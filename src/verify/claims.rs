//! Steps 8–15 of CONTRACT section 2: the payload, the registered claims'
//! types, the time rules of section 3, issuer and audience, then the mapping.

use serde_json::Value;
use time::OffsetDateTime;

use super::Verifier;
use std::time::Duration;

use crate::error::{Error, TokenError, TokenPart};
use crate::identity::MappedIdentity;
use crate::json::{ClaimSource, parse_claims, parse_object, type_name};
use crate::time_fmt::to_datetime;
use crate::unix_time::UnixTime;

/// The registered claims, typed (step 9), borrowed from the claims.
struct Registered<'c> {
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    iss: Option<&'c str>,
    /// A string, or an array holding only strings.
    aud: Option<&'c Value>,
    /// `sub` when it is a string.
    sub: Option<&'c str>,
    /// `jti` as found (any type: `missing_jti` reports it).
    jti: Option<&'c Value>,
}

/// The audience values of a checked `aud`.
fn audiences(aud: &Value) -> impl Iterator<Item = &str> {
    let (one, many) = match aud {
        Value::Array(items) => (None, items.as_slice()),
        other => (other.as_str(), &[][..]),
    };
    one.into_iter().chain(many.iter().filter_map(Value::as_str))
}

/// Every top-level claim name, for messages (only on the error path: the
/// pipeline keeps just the claims it uses).
fn claim_names(payload: &[u8]) -> Vec<String> {
    parse_object(payload)
        .map(|claims| claims.keys().cloned().collect())
        .unwrap_or_default()
}

impl Verifier {
    /// Steps 8–14, on a payload whose signature holds.
    pub(crate) fn claims(&self, payload: &[u8], now: UnixTime) -> Result<MappedIdentity, Error> {
        let mut claims = parse_claims(payload, |name, fp| {
            self.kept_claims.iter().any(|(f, k)| *f == fp && k == name)
        })
        .map_err(|reason| Error::malformed(TokenPart::Payload, reason))?;
        let reg = registered(&claims)?;
        let Some(exp) = reg.exp else {
            return Err(Error::Token(TokenError::MissingExp {
                present: claim_names(payload),
            }));
        };
        let expires_at = self.check_time(exp, reg.nbf, reg.iat, now)?;
        if let Some(expected) = &self.config.issuer
            && reg.iss != Some(expected.as_str())
        {
            return Err(Error::Token(TokenError::IssuerMismatch {
                expected: expected.clone(),
                found: reg.iss.map(str::to_owned),
            }));
        }
        if let Some(expected) = &self.config.audience
            && !reg
                .aud
                .is_some_and(|aud| audiences(aud).any(|a| a == expected))
        {
            return Err(Error::Token(TokenError::AudienceMismatch {
                expected: expected.clone(),
                found: reg
                    .aud
                    .map(|aud| audiences(aud).map(str::to_owned).collect()),
            }));
        }
        // The verified registered claims the identity carries (CONTRACT
        // section 4, end), taken before the mapper may move strings out.
        let issuer = reg.iss.map(str::to_owned);
        let subject = reg.sub.map(str::to_owned);
        let issued_at = reg.iat.and_then(to_datetime);
        let token_id = match reg.jti {
            Some(Value::String(jti)) if !jti.is_empty() => Ok(jti.clone()),
            Some(Value::String(_)) => Err("empty"),
            Some(other) => Err(type_name(other)),
            None => Err("absent"),
        };
        let mut identity = self
            .mapper
            .map_payload(&mut claims, Some(payload), expires_at)
            .map_err(|e| match e {
                // The mapper saw only the kept claims; name them all.
                Error::Token(TokenError::MissingUserId { claim, state, .. }) => {
                    Error::Token(TokenError::MissingUserId {
                        claim,
                        state,
                        present: claim_names(payload),
                    })
                }
                other => other,
            })?;
        // Step 15.
        if self.config.single_use
            && let Err(state) = token_id
        {
            return Err(Error::Token(TokenError::MissingJti {
                state: state.to_owned(),
                present: claim_names(payload),
            }));
        }
        identity.issuer = issuer;
        identity.subject = subject;
        identity.token_id = token_id.ok();
        identity.issued_at = issued_at;
        Ok(identity)
    }

    /// Step 11 (CONTRACT section 3); returns `expires_at`.
    fn check_time(
        &self,
        exp: f64,
        nbf: Option<f64>,
        iat: Option<f64>,
        now: UnixTime,
    ) -> Result<OffsetDateTime, Error> {
        let leeway = Duration::from_secs(self.config.leeway);
        let expiration_time = Duration::from_secs(self.config.expiration_time);
        let (l, e, n) = (
            self.config.leeway as f64,
            self.config.expiration_time as f64,
            now.as_secs() as f64,
        );
        if n >= exp + l {
            return Err(Error::Token(TokenError::Expired { exp, now, leeway }));
        }
        if let Some(nbf) = nbf
            && n + l < nbf
        {
            return Err(Error::Token(TokenError::NotYetValid { nbf, now, leeway }));
        }
        if let Some(iat) = iat
            && n + l < iat
        {
            return Err(Error::Token(TokenError::IssuedInFuture {
                iat,
                now,
                leeway,
            }));
        }
        let too_old = match iat {
            Some(iat) => n > iat + e + l,
            None => exp - n > e + l,
        };
        if too_old {
            return Err(Error::Token(TokenError::MaxAgeExceeded {
                iat,
                exp,
                now,
                expiration_time,
                leeway,
            }));
        }
        let expires = iat.map_or(exp, |iat| exp.min(iat + e));
        to_datetime(expires).ok_or_else(|| {
            Error::invalid_claim("exp", "a NumericDate within years 0–9999", format!("{exp}"))
        })
    }
}

/// Step 9: the registered claims must have their registered types.
fn registered<C: ClaimSource>(claims: &C) -> Result<Registered<'_>, Error> {
    let numeric = |name: &str| match claims.claim(name) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(Error::invalid_claim(
            name,
            "a NumericDate (a JSON number)",
            type_name(other),
        )),
    };
    let iss = match claims.claim("iss") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(other) => return Err(Error::invalid_claim("iss", "a string", type_name(other))),
    };
    let aud = match claims.claim("aud") {
        None => None,
        Some(aud @ Value::String(_)) => Some(aud),
        Some(aud @ Value::Array(items)) => {
            if !items.iter().all(Value::is_string) {
                return Err(Error::invalid_claim(
                    "aud",
                    "a string or an array of strings",
                    "an array holding a non-string",
                ));
            }
            Some(aud)
        }
        Some(other) => {
            return Err(Error::invalid_claim(
                "aud",
                "a string or an array of strings",
                type_name(other),
            ));
        }
    };
    Ok(Registered {
        exp: numeric("exp")?,
        nbf: numeric("nbf")?,
        iat: numeric("iat")?,
        iss,
        aud,
        sub: claims.claim("sub").and_then(Value::as_str),
        jti: claims.claim("jti"),
    })
}
