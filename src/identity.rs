//! The identity a verification yields (CONTRACT sections 4 and 5), apart
//! from the mapping that fills it (`crate::map`).

use compact_str::CompactString;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Number, Value};
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::config::PromptKind;
use crate::json::type_name;

/// Who a token names: the claims of CONTRACT section 4 mapped into one
/// value, by [`ClaimMapper`](crate::ClaimMapper).
///
/// Its strings are [`CompactString`]s (re-exported by this crate): a
/// string of up to 24 bytes, as most user IDs, names and roles are, is held
/// inline without a heap allocation. They compare with `&str` and `String`,
/// deref to `str`, and become a `String` with `String::from` or `.into()`.
///
/// A `MappedIdentity` is data: anyone can map claims into one, so the login
/// flow never takes it. Verification returns a [`Verified`] instead, which
/// only this crate makes and which derefs to the identity.
///
/// Serialises exactly as CONTRACT section 5 shows:
///
/// ```
/// use jwt_sso::{ClaimMapper, JwtConfig};
///
/// let config = JwtConfig::from_json_str(r#"{
///     "name": "ERP", "token_name": "token", "algorithms": ["HS256"],
///     "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
///     "expiration_time": 3600, "claims": {"user_id": "sub", "name": "name"},
///     "system_prompts": [{"kind": "numeric", "slot": 2, "claim": "level"}],
///     "initial_roles": ["Viewer"]
/// }"#).unwrap();
/// let claims = serde_json::json!({"sub": "jdoe", "name": "Jane Doe", "level": 7,
///     "iss": "https://erp.example.com", "jti": "a1", "iat": 1767225600});
/// let identity = ClaimMapper::new(&config)
///     .map(claims.as_object().unwrap(), time::macros::datetime!(2026-01-01 01:00 UTC))
///     .unwrap();
/// assert_eq!(
///     serde_json::to_string(&identity).unwrap(),
///     r#"{"config":"ERP","user_id":"jdoe","name":"Jane Doe","email":null,"user_type":"reader","roles":["Viewer"],"prompts":[{"kind":"numeric","slot":2,"value":7}],"expires_at":"2026-01-01T01:00:00Z","warnings":[],"issuer":"https://erp.example.com","subject":"jdoe","token_id":"a1","issued_at":"2026-01-01T00:00:00Z"}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MappedIdentity {
    /// The name of the configuration that accepted the token.
    pub config: CompactString,
    /// The user ID (from `claims.user_id`).
    pub user_id: CompactString,
    /// The display name, when configured and present.
    pub name: Option<CompactString>,
    /// The email address, when configured and present.
    pub email: Option<CompactString>,
    /// The user type new users get: the first matching role rule's, else
    /// the configuration's.
    pub user_type: CompactString,
    /// `initial_roles`, then the roles claim, then the roles of every
    /// matching role rule in rule order, de-duplicated, order kept (the
    /// administrator's role from the token only with `may_grant_admin`).
    pub roles: Vec<CompactString>,
    /// The system prompts, in configuration order.
    pub prompts: Vec<SystemPrompt>,
    /// `min(exp, iat + expiration_time)`, or `exp` without `iat`.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Notes for the administrator, e.g. an absent prompt claim, or the
    /// administrator's role left out (`may_grant_admin`).
    pub warnings: Vec<String>,
    /// The verified token's `iss`, when it has one.
    #[serde(default)]
    pub issuer: Option<CompactString>,
    /// The verified token's `sub`, when it is a string.
    #[serde(default)]
    pub subject: Option<CompactString>,
    /// The verified token's `jti`, when it is a non-empty string (the key of
    /// a deny list or replay check, together with `issuer`).
    #[serde(default)]
    pub token_id: Option<CompactString>,
    /// The verified token's `iat`, when it has one.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub issued_at: Option<OffsetDateTime>,
}

/// An identity that this crate verified: the token's signature held and
/// every step of CONTRACT section 2 passed, for the configuration named by
/// `config`.
///
/// Only verification makes one ([`Verifier::verify`](crate::Verifier::verify),
/// [`Registry::verify`](crate::Registry::verify)); it has no public
/// constructor and does not implement `Deserialize`, so the login flow
/// ([`Authenticator::provision`](crate::Authenticator::provision)), which
/// takes nothing else, cannot be handed claims nobody verified. It derefs
/// to the [`MappedIdentity`] and serialises as it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Verified(MappedIdentity);

impl Verified {
    /// Crate-only: the outcome of a verification.
    pub(crate) fn new(identity: MappedIdentity) -> Self {
        Verified(identity)
    }

    /// Crate-only: the identity, to fill in place.
    pub(crate) fn identity_mut(&mut self) -> &mut MappedIdentity {
        &mut self.0
    }

    /// The identity, as plain data.
    pub fn into_identity(self) -> MappedIdentity {
        self.0
    }
}

impl std::ops::Deref for Verified {
    type Target = MappedIdentity;

    fn deref(&self) -> &MappedIdentity {
        &self.0
    }
}

/// The identity's roles as the `String`s a [`User`](crate::User) keeps.
pub(crate) fn owned_roles(roles: &[CompactString]) -> Vec<String> {
    roles.iter().map(|role| role.as_str().to_owned()).collect()
}

/// One filled system prompt slot.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "RawPrompt")]
pub struct SystemPrompt {
    /// The kind of slot.
    pub kind: PromptKind,
    /// The slot number.
    pub slot: u32,
    /// The value; its variant always matches `kind`.
    pub value: PromptValue,
}

/// The value of a system prompt.
#[derive(Debug, Clone, PartialEq)]
pub enum PromptValue {
    /// A text prompt.
    Text(CompactString),
    /// A numeric prompt, as the JSON number it will be written as.
    Numeric(Number),
    /// A date prompt, written as `YYYY-MM-DD` (years 0000–9999; a claim that
    /// gives a date outside them is `invalid_claim`).
    Date(Date),
}

pub(crate) const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

impl Serialize for SystemPrompt {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("SystemPrompt", 3)?;
        s.serialize_field("kind", &self.kind)?;
        s.serialize_field("slot", &self.slot)?;
        match &self.value {
            PromptValue::Text(t) => s.serialize_field("value", t)?,
            PromptValue::Numeric(n) => s.serialize_field("value", n)?,
            PromptValue::Date(d) => {
                let text = d.format(DATE_FORMAT).map_err(serde::ser::Error::custom)?;
                s.serialize_field("value", &text)?
            }
        }
        s.end()
    }
}

#[derive(Deserialize)]
struct RawPrompt {
    kind: PromptKind,
    slot: u32,
    value: Value,
}

impl TryFrom<RawPrompt> for SystemPrompt {
    type Error = String;

    fn try_from(raw: RawPrompt) -> Result<Self, String> {
        let value = match (raw.kind, raw.value) {
            (PromptKind::Text, Value::String(s)) => PromptValue::Text(s.into()),
            (PromptKind::Numeric, Value::Number(n)) => PromptValue::Numeric(n),
            (PromptKind::Date, Value::String(s)) => PromptValue::Date(
                parse_plain_date(&s)
                    .ok_or_else(|| format!("date prompt `{s}` is not YYYY-MM-DD"))?,
            ),
            (kind, v) => return Err(format!("a {kind} prompt cannot hold {}", type_name(&v))),
        };
        Ok(SystemPrompt {
            kind: raw.kind,
            slot: raw.slot,
            value,
        })
    }
}

/// Exactly `YYYY-MM-DD`: the `[year]` component alone would also take a sign
/// (`+2021-04-15`, `-2021-04-15`).
pub(crate) fn parse_plain_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shape {
        return None;
    }
    Date::parse(s, DATE_FORMAT).ok()
}
