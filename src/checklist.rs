//! The token checklist: the steps of CONTRACT section 2 as data, and the
//! outcome of one verification reported step by step.
//!
//! This is the one list of the pipeline's order outside the verifier itself:
//! `jwt_check`'s human output and the administrator's "test a token"
//! endpoint both print it.

use serde::Serialize;

use crate::error::{Error, ErrorKind, TokenError, TokenPart};
use crate::identity::Verified;
#[cfg(feature = "admin")]
use crate::verify::Inspection;

/// One step of the verification order (CONTRACT section 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    /// The step's number, 1-based, as CONTRACT section 2 numbers it.
    pub number: u8,
    /// What the step checks, as a short sentence for people.
    pub check: &'static str,
    /// The error kinds that fail this step.
    pub fails_with: &'static [ErrorKind],
}

/// The steps of CONTRACT section 2, in order.
///
/// `malformed` fails step 3 (the token's syntax and header) or step 8 (the
/// payload); `invalid_claim` fails step 9 (a registered claim's type) or
/// step 14 (a mapped claim): [`step_of`] tells them apart.
pub(crate) const STEPS: [Step; 16] = [
    Step {
        number: 1,
        check: "configuration is enabled",
        fails_with: &[ErrorKind::Disabled],
    },
    Step {
        number: 2,
        check: "token size is within max_token_bytes",
        fails_with: &[ErrorKind::TokenTooLarge],
    },
    Step {
        number: 3,
        check: "three segments of strict base64url, header a JSON object",
        fails_with: &[ErrorKind::Malformed],
    },
    Step {
        number: 4,
        check: "algorithm is allowed",
        fails_with: &[ErrorKind::AlgorithmNotAllowed],
    },
    Step {
        number: 5,
        check: "no critical header (`crit`)",
        fails_with: &[ErrorKind::CriticalHeader],
    },
    Step {
        number: 6,
        check: "a key fits the token's kid and alg",
        fails_with: &[ErrorKind::KeyNotFound, ErrorKind::KeyFetch],
    },
    Step {
        number: 7,
        check: "signature verifies",
        fails_with: &[ErrorKind::InvalidSignature],
    },
    Step {
        number: 8,
        check: "payload is a JSON object",
        fails_with: &[ErrorKind::Malformed],
    },
    Step {
        number: 9,
        check: "registered claims have their types (exp, nbf, iat, iss, aud)",
        fails_with: &[ErrorKind::InvalidClaim],
    },
    Step {
        number: 10,
        check: "`exp` is present",
        fails_with: &[ErrorKind::MissingExp],
    },
    Step {
        number: 11,
        check: "time: exp, nbf, iat and the expiration time",
        fails_with: &[
            ErrorKind::Expired,
            ErrorKind::NotYetValid,
            ErrorKind::IssuedInFuture,
            ErrorKind::MaxAgeExceeded,
        ],
    },
    Step {
        number: 12,
        check: "issuer and audience match",
        fails_with: &[ErrorKind::IssuerMismatch, ErrorKind::AudienceMismatch],
    },
    Step {
        number: 13,
        check: "user ID claim is present",
        fails_with: &[ErrorKind::MissingUserId],
    },
    Step {
        number: 14,
        check: "claims map into the identity",
        fails_with: &[ErrorKind::InvalidClaim],
    },
    Step {
        number: 15,
        check: "a role rule matches when the configuration is role_rules_required",
        fails_with: &[ErrorKind::NoMatchingRole],
    },
    Step {
        number: 16,
        check: "`jti` is present when the configuration is single_use",
        fails_with: &[ErrorKind::MissingJti],
    },
];

/// The registered claims whose wrong type fails step 9.
const REGISTERED: [&str; 5] = ["exp", "nbf", "iat", "iss", "aud"];

/// The number of the step (1–16) that `error` fails.
///
/// An error no step lists (none of the verifier's) is counted against the
/// last step, so that a checklist always has exactly one failing step.
pub(crate) fn step_of(error: &Error) -> u8 {
    match error {
        Error::Token(TokenError::Malformed {
            part: TokenPart::Payload,
            ..
        }) => 8,
        Error::Token(TokenError::Malformed { .. }) => 3,
        Error::Token(TokenError::InvalidClaim { claim, .. })
            if REGISTERED.contains(&claim.as_str()) =>
        {
            9
        }
        Error::Token(TokenError::InvalidClaim { .. }) => 14,
        other => {
            let kind = other.kind();
            STEPS
                .iter()
                .find(|step| step.fails_with.contains(&kind))
                .map_or(STEPS.len() as u8, |step| step.number)
        }
    }
}

/// Whether a step passed, failed, or was not reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// The step passed.
    Ok,
    /// The step failed: the token is refused here.
    Fail,
    /// An earlier step failed, so this one was not checked.
    Skipped,
}

/// One line of a [`Checklist`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    /// The step's number (1-based).
    pub step: u8,
    /// What the step checks.
    pub check: &'static str,
    /// Its outcome.
    pub status: StepStatus,
    /// The failing step's full message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The failing step's hint for the administrator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// One token checked step by step: the `{"ok","steps",…}` of CONTRACT
/// section 7's test endpoint, and `jwt_check`'s human checklist.
///
/// Serialises as `{"ok":true,"steps":[…],"identity":{…},"header":…,"claims":…}`
/// or `{"ok":false,"steps":[…],"error":{"kind","message","hint"},"header":…,"claims":…}`:
/// the steps before the failing one `ok`, the failing one `fail` with the
/// full message and hint, the later ones `skipped`. The administrator's
/// test endpoint adds the token's decoded header and claims (`null` when a
/// part does not decode, or when they were not asked for) and, for a
/// rotated secret, `secret_index`.
#[derive(Debug, Serialize)]
pub struct Checklist {
    /// Whether the token was accepted.
    pub ok: bool,
    /// Every step of CONTRACT section 2, in order.
    pub steps: Vec<StepResult>,
    /// The identity of an accepted token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<Verified>,
    /// Why the token was refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Error>,
    /// The token's header as JSON, decoded whether or not it verified
    /// (the administrator's token debugger); `None` when it does not decode.
    pub header: Option<serde_json::Map<String, serde_json::Value>>,
    /// The token's claims as JSON, decoded whether or not the signature
    /// holds (the administrator's token debugger); `None` when they do not
    /// decode.
    pub claims: Option<serde_json::Map<String, serde_json::Value>>,
    /// For a rotated secret (`"secret": [ … ]`): the position (0-based) of
    /// the secret that verifies the token's signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_index: Option<usize>,
}

impl Checklist {
    /// The checklist of a verification's outcome: the steps before the
    /// failing one `ok`, the failing one `fail` with its message and hint,
    /// the later ones `skipped`. A dry run: verifying records no `jti` and
    /// creates no user.
    ///
    /// ```
    /// use jwt_sso::{Checklist, JwtConfig, Verifier};
    ///
    /// let verifier = Verifier::new(JwtConfig::from_json_str(r#"{
    ///     "name": "ERP", "token_name": "token", "algorithms": ["HS256"],
    ///     "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
    ///     "expiration_time": 3600, "claims": {"user_id": "sub"}
    /// }"#)?.validate()?);
    /// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let list = Checklist::from_result(rt.block_on(verifier.verify("not.a.token")));
    /// assert!(!list.ok);
    /// assert_eq!(list.failed_step().unwrap().step, 3);
    /// assert_eq!(list.to_json()["steps"][3]["status"], "skipped");
    /// # Ok::<(), jwt_sso::Error>(())
    /// ```
    pub fn from_result(result: Result<Verified, Error>) -> Self {
        let failed = result.as_ref().err().map(step_of);
        let steps = STEPS
            .iter()
            .map(|step| {
                let (status, message, hint) = match (failed, &result) {
                    (Some(f), Err(e)) if f == step.number => (
                        StepStatus::Fail,
                        Some(e.to_string()),
                        Some(e.hint().to_owned()),
                    ),
                    (Some(f), _) if step.number > f => (StepStatus::Skipped, None, None),
                    _ => (StepStatus::Ok, None, None),
                };
                StepResult {
                    step: step.number,
                    check: step.check,
                    status,
                    message,
                    hint,
                }
            })
            .collect();
        let (ok, identity, error) = match result {
            Ok(identity) => (true, Some(identity), None),
            Err(error) => (false, None, Some(error)),
        };
        Checklist {
            ok,
            steps,
            identity,
            error,
            header: None,
            claims: None,
            secret_index: None,
        }
    }

    /// The checklist with what a token debugger shows beside it: the
    /// token's decoded header and claims and the rotated secret's position.
    #[cfg(feature = "admin")]
    pub(crate) fn with_inspection(mut self, inspection: Inspection) -> Self {
        self.header = inspection.header;
        self.claims = inspection.claims;
        self.secret_index = inspection.secret_index;
        self
    }

    /// The step that failed, if any.
    pub fn failed_step(&self) -> Option<&StepResult> {
        self.steps.iter().find(|s| s.status == StepStatus::Fail)
    }

    /// The checklist as JSON (the test endpoint's body).
    pub fn to_json(&self) -> serde_json::Value {
        // Strings, numbers and the identity's plain fields: always serialises.
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_numbered_in_order_and_every_token_kind_has_a_step() {
        for (i, step) in STEPS.iter().enumerate() {
            assert_eq!(usize::from(step.number), i + 1);
        }
        for kind in [
            ErrorKind::Disabled,
            ErrorKind::TokenTooLarge,
            ErrorKind::Malformed,
            ErrorKind::AlgorithmNotAllowed,
            ErrorKind::CriticalHeader,
            ErrorKind::KeyNotFound,
            ErrorKind::KeyFetch,
            ErrorKind::InvalidSignature,
            ErrorKind::InvalidClaim,
            ErrorKind::MissingExp,
            ErrorKind::Expired,
            ErrorKind::NotYetValid,
            ErrorKind::IssuedInFuture,
            ErrorKind::MaxAgeExceeded,
            ErrorKind::IssuerMismatch,
            ErrorKind::AudienceMismatch,
            ErrorKind::MissingUserId,
            ErrorKind::NoMatchingRole,
            ErrorKind::MissingJti,
        ] {
            assert!(
                STEPS.iter().any(|s| s.fails_with.contains(&kind)),
                "{kind} has no step"
            );
        }
    }

    #[test]
    fn malformed_and_invalid_claim_land_on_their_two_steps() {
        let header = Error::malformed(TokenPart::Header, "x");
        let payload = Error::malformed(TokenPart::Payload, "x");
        assert_eq!((step_of(&header), step_of(&payload)), (3, 8));
        let exp = Error::invalid_claim("exp", "a number", "a string");
        let mapped = Error::invalid_claim("department", "a string", "an array");
        assert_eq!((step_of(&exp), step_of(&mapped)), (9, 14));
        let jti = Error::Token(TokenError::MissingJti {
            state: "absent".into(),
            present: vec![],
        });
        assert_eq!(step_of(&jti), 16);
        let role = Error::Token(TokenError::NoMatchingRole {
            rules: 1,
            found: vec![],
        });
        assert_eq!(step_of(&role), 15);
    }

    #[test]
    fn a_failure_marks_earlier_steps_ok_and_later_ones_skipped() {
        let list = Checklist::from_result(Err(Error::Token(TokenError::IssuerMismatch {
            expected: "a".into(),
            found: Some("b".into()),
        })));
        let statuses: Vec<StepStatus> = list.steps.iter().map(|s| s.status).collect();
        assert!(statuses[..11].iter().all(|s| *s == StepStatus::Ok));
        assert_eq!(statuses[11], StepStatus::Fail);
        assert!(statuses[12..].iter().all(|s| *s == StepStatus::Skipped));
        let json = list.to_json();
        assert_eq!(json["ok"], false);
        assert_eq!(json["error"]["kind"], "issuer_mismatch");
        assert!(
            json["steps"][11]["message"]
                .as_str()
                .unwrap()
                .contains("`a`")
        );
        assert!(
            json["steps"][11]["hint"]
                .as_str()
                .unwrap()
                .contains("issuer")
        );
        assert!(json["steps"][10].get("message").is_none());
        assert!(json.get("identity").is_none());
    }
}
