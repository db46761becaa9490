//! Steps 8–15 of CONTRACT section 2: the payload, the registered claims'
//! types, the time rules of section 3, issuer and audience, then the mapping.

use time::OffsetDateTime;

use super::Verifier;
use std::time::Duration;

use crate::error::{Error, TokenError, TokenPart};
use crate::identity::MappedIdentity;
use crate::json::{Captured, ClaimRef, ClaimSource, capture, parse_object};
use crate::map::{REGISTERED, naming_claims, put};
use crate::time_fmt::to_datetime;
use crate::unix_time::UnixTime;

/// The registered claims, typed (step 9), borrowed from the payload.
struct Registered<'c> {
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    iss: Option<&'c str>,
    /// A string, or an array holding only strings.
    aud: Option<ClaimRef<'c>>,
    /// `sub` when it is a string.
    sub: Option<&'c str>,
    /// `jti` as found (any type: `missing_jti` reports it).
    jti: Option<ClaimRef<'c>>,
}

/// The audience values of a checked `aud`.
fn audiences(aud: ClaimRef<'_>) -> impl Iterator<Item = &str> {
    let one = aud.as_str();
    let many = aud.strings().and_then(Result::ok);
    one.into_iter().chain(many.into_iter().flatten())
}

/// Every top-level claim name, for messages (only on the error path: the
/// pipeline keeps just the claims it uses).
fn claim_names(payload: &[u8]) -> Vec<String> {
    parse_object(payload)
        .map(|claims| claims.keys().cloned().collect())
        .unwrap_or_default()
}

impl Verifier {
    /// Steps 8–15, on a payload whose signature holds, into `identity` (a
    /// blank one of [`ClaimMapper::blank`](crate::map::ClaimMapper::blank)).
    pub(crate) fn claims(
        &self,
        payload: &[u8],
        now: UnixTime,
        identity: &mut MappedIdentity,
    ) -> Result<(), Error> {
        let plan = self.mapper.plan();
        let mut claims = Captured::new(plan);
        capture(payload, plan, &mut claims)
            .map_err(|reason| Error::malformed(TokenPart::Payload, reason))?;
        let reg = registered(&claims)?;
        let Some(exp) = reg.exp else {
            return Err(Error::Token(TokenError::MissingExp {
                present: claim_names(payload),
            }));
        };
        identity.expires_at = self.check_time(exp, reg.nbf, reg.iat, now)?;
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
        let token_id = match reg.jti {
            Some(ClaimRef::Str("")) => Err("empty"),
            Some(ClaimRef::Str(jti)) => Ok(jti),
            Some(other) => Err(other.type_name()),
            None => Err("absent"),
        };
        self.mapper
            .map_claims(&claims, Some(payload), identity)
            // The mapper saw only the kept claims; name them all.
            .map_err(|e| naming_claims(e, || claim_names(payload)))?;
        // Step 15.
        if self.config.single_use
            && let Err(state) = token_id
        {
            return Err(Error::Token(TokenError::MissingJti {
                state: state.to_owned(),
                present: claim_names(payload),
            }));
        }
        // The verified registered claims the identity carries (CONTRACT
        // section 4, end).
        let fields = [
            (&mut identity.issuer, reg.iss),
            (&mut identity.subject, reg.sub),
            (&mut identity.token_id, token_id.ok()),
        ];
        for (field, value) in fields {
            if let Some(value) = value {
                put(field.get_or_insert_default(), value);
            }
        }
        identity.issued_at = reg.iat.and_then(to_datetime);
        Ok(())
    }

    /// Step 11 (CONTRACT section 3); returns `expires_at`.
    #[inline]
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

/// Step 9: the registered claims must have their registered types. They
/// are in the first slots of every plan, in the order of [`REGISTERED`].
#[inline]
fn registered<C: ClaimSource>(claims: &C) -> Result<Registered<'_>, Error> {
    let [exp, nbf, iat, iss, aud, sub, jti] =
        std::array::from_fn(|slot| claims.root(slot, REGISTERED[slot]));
    let numeric = |name: &str, claim: Option<ClaimRef<'_>>| match claim {
        None => Ok(None),
        Some(ClaimRef::Number(n)) => Ok(n.as_f64()),
        Some(other) => Err(Error::invalid_claim(
            name,
            "a NumericDate (a JSON number)",
            other.type_name(),
        )),
    };
    let iss = match iss {
        None => None,
        Some(ClaimRef::Str(s)) => Some(s),
        Some(other) => return Err(Error::invalid_claim("iss", "a string", other.type_name())),
    };
    let expected = "a string or an array of strings";
    let aud = match aud {
        None => None,
        Some(aud @ ClaimRef::Str(_)) => Some(aud),
        Some(aud) => match aud.strings() {
            Some(Ok(_)) => Some(aud),
            Some(Err(_)) => {
                return Err(Error::invalid_claim(
                    "aud",
                    expected,
                    "an array holding a non-string",
                ));
            }
            None => return Err(Error::invalid_claim("aud", expected, aud.type_name())),
        },
    };
    Ok(Registered {
        exp: numeric("exp", exp)?,
        nbf: numeric("nbf", nbf)?,
        iat: numeric("iat", iat)?,
        iss,
        aud,
        sub: sub.and_then(ClaimRef::as_str),
        jti,
    })
}
