//! `ClaimMapper`: verified claims → `MappedIdentity` (CONTRACT section 4).

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Number, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::config::{JwtConfig, PromptKind};
use crate::error::Error;
use crate::json::type_name;
use crate::time_fmt::to_datetime;

/// Who logged in: the result of a successful verification.
///
/// Serialises exactly as CONTRACT section 5 shows:
///
/// ```
/// # use jwt_sso::{MappedIdentity, PromptKind, PromptValue, SystemPrompt};
/// let identity = MappedIdentity {
///     config: "ERP".into(),
///     user_id: "jdoe".into(),
///     name: Some("Jane Doe".into()),
///     email: None,
///     user_type: "reader".into(),
///     roles: vec!["Viewer".into()],
///     prompts: vec![SystemPrompt { kind: PromptKind::Numeric, slot: 2, value: PromptValue::Numeric(7.into()) }],
///     expires_at: time::macros::datetime!(2026-01-01 01:00 UTC),
///     warnings: vec![],
/// };
/// assert_eq!(
///     serde_json::to_string(&identity).unwrap(),
///     r#"{"config":"ERP","user_id":"jdoe","name":"Jane Doe","email":null,"user_type":"reader","roles":["Viewer"],"prompts":[{"kind":"numeric","slot":2,"value":7}],"expires_at":"2026-01-01T01:00:00Z","warnings":[]}"#
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MappedIdentity {
    /// The name of the configuration that accepted the token.
    pub config: String,
    /// The user ID (from `claims.user_id`).
    pub user_id: String,
    /// The display name, when configured and present.
    pub name: Option<String>,
    /// The email address, when configured and present.
    pub email: Option<String>,
    /// The user type new users get (from the configuration).
    pub user_type: String,
    /// `initial_roles`, then the roles claim, de-duplicated, order kept.
    pub roles: Vec<String>,
    /// The system prompts, in configuration order.
    pub prompts: Vec<SystemPrompt>,
    /// `min(exp, iat + expiration_time)`, or `exp` without `iat`.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Notes for the administrator, e.g. an absent prompt claim.
    pub warnings: Vec<String>,
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
    Text(String),
    /// A numeric prompt, as the JSON number it will be written as.
    Numeric(Number),
    /// A date prompt, written as `YYYY-MM-DD`.
    Date(Date),
}

const DATE_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
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
            (PromptKind::Text, Value::String(s)) => PromptValue::Text(s),
            (PromptKind::Numeric, Value::Number(n)) => PromptValue::Numeric(n),
            (PromptKind::Date, Value::String(s)) => PromptValue::Date(
                Date::parse(&s, DATE_FORMAT).map_err(|e| format!("date prompt `{s}`: {e}"))?,
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

/// Where a claim is found: a top-level name or a JSON Pointer (RFC 6901).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimPath(String);

impl ClaimPath {
    pub(crate) fn new(name: &str) -> Self {
        ClaimPath(name.to_owned())
    }

    pub(crate) fn name(&self) -> &str {
        &self.0
    }

    pub(crate) fn lookup<'a>(&self, claims: &'a Map<String, Value>) -> Option<&'a Value> {
        if !self.0.starts_with('/') {
            return claims.get(&self.0);
        }
        let mut tokens = self.0[1..].split('/');
        let first = unescape(tokens.next()?);
        let mut current = claims.get(first.as_ref())?;
        for token in tokens {
            let token = unescape(token);
            current = match current {
                Value::Object(map) => map.get(token.as_ref())?,
                Value::Array(items) => items.get(array_index(&token)?)?,
                _ => return None,
            };
        }
        Some(current)
    }
}

fn unescape(token: &str) -> std::borrow::Cow<'_, str> {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~").into()
    } else {
        token.into()
    }
}

fn array_index(token: &str) -> Option<usize> {
    // RFC 6901: no leading zeros, digits only.
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

/// Whether `name` is a valid claim name or JSON Pointer, for config validation.
pub(crate) fn check_claim_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".to_owned());
    }
    if let Some(pointer) = name.strip_prefix('/') {
        let mut chars = pointer.chars();
        while let Some(c) = chars.next() {
            if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
                return Err(format!(
                    "`{name}` is not a valid JSON Pointer: `~` must be followed by 0 or 1"
                ));
            }
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
struct PromptRule {
    kind: PromptKind,
    slot: u32,
    claim: ClaimPath,
}

/// Maps verified claims into a [`MappedIdentity`] (CONTRACT section 4).
///
/// Built once from a configuration; [`crate::Verifier`] runs it after every
/// check of section 2 has passed.
///
/// ```
/// use jwt_sso::{ClaimMapper, JwtConfig};
///
/// let config = JwtConfig::from_json_str(r#"{
///     "name": "ERP", "token_name": "token", "algorithms": ["HS256"],
///     "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
///     "expiration_time": 3600,
///     "claims": {"user_id": "/user/login", "roles": "groups"},
///     "initial_roles": ["Viewer"]
/// }"#).unwrap();
/// let mapper = ClaimMapper::new(&config);
/// let claims = serde_json::json!({"user": {"login": 42}, "groups": "Sales, Viewer  Admin"});
/// let expires = time::macros::datetime!(2026-01-01 00:00 UTC);
/// let identity = mapper.map(claims.as_object().unwrap(), expires).unwrap();
/// assert_eq!(identity.user_id, "42");
/// assert_eq!(identity.roles, ["Viewer", "Sales", "Admin"]);
/// ```
#[derive(Debug, Clone)]
pub struct ClaimMapper {
    config_name: String,
    user_type: String,
    initial_roles: Vec<String>,
    user_id: ClaimPath,
    name: Option<ClaimPath>,
    email: Option<ClaimPath>,
    roles: Option<ClaimPath>,
    prompts: Vec<PromptRule>,
}

impl ClaimMapper {
    /// Precomputes the mapping of a configuration.
    pub fn new(config: &JwtConfig) -> Self {
        ClaimMapper {
            config_name: config.name.clone(),
            user_type: config.user_type.clone(),
            initial_roles: config.initial_roles.clone(),
            user_id: ClaimPath::new(&config.claims.user_id),
            name: config.claims.name.as_deref().map(ClaimPath::new),
            email: config.claims.email.as_deref().map(ClaimPath::new),
            roles: config.claims.roles.as_deref().map(ClaimPath::new),
            prompts: config
                .system_prompts
                .iter()
                .map(|p| PromptRule {
                    kind: p.kind,
                    slot: p.slot,
                    claim: ClaimPath::new(&p.claim),
                })
                .collect(),
        }
    }

    /// Step 13: the user-ID claim must be present, non-null and non-empty.
    fn user_id_value<'a>(&self, claims: &'a Map<String, Value>) -> Result<&'a Value, Error> {
        let state = match self.user_id.lookup(claims) {
            None => "absent",
            Some(Value::Null) => "null",
            Some(Value::String(s)) if s.is_empty() => "empty",
            Some(value) => return Ok(value),
        };
        Err(Error::MissingUserId {
            claim: self.user_id.name().to_owned(),
            state,
            present: claims.keys().cloned().collect(),
        })
    }

    /// Maps verified claims. `expires_at` is computed by the verifier's time rules.
    ///
    /// Errors: `missing_user_id` (absent, `null` or empty user ID), then
    /// `invalid_claim` for a claim of a type it cannot be mapped from.
    pub fn map(
        &self,
        claims: &Map<String, Value>,
        expires_at: OffsetDateTime,
    ) -> Result<MappedIdentity, Error> {
        let user_id = match self.user_id_value(claims)? {
            Value::String(s) => s.clone(),
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            other => {
                return Err(Error::invalid_claim(
                    self.user_id.name(),
                    "a non-empty string or an integer",
                    describe(other),
                ));
            }
        };
        let name = self.optional_string(claims, self.name.as_ref())?;
        let email = self.optional_string(claims, self.email.as_ref())?;
        let roles = self.roles(claims)?;
        let mut prompts = Vec::with_capacity(self.prompts.len());
        let mut warnings = Vec::new();
        for rule in &self.prompts {
            match rule.claim.lookup(claims) {
                None | Some(Value::Null) => warnings.push(format!(
                    "{} prompt {}: claim `{}` is absent, the prompt is left out",
                    rule.kind,
                    rule.slot,
                    rule.claim.name()
                )),
                Some(value) => prompts.push(SystemPrompt {
                    kind: rule.kind,
                    slot: rule.slot,
                    value: convert_prompt(rule, value)?,
                }),
            }
        }
        Ok(MappedIdentity {
            config: self.config_name.clone(),
            user_id,
            name,
            email,
            user_type: self.user_type.clone(),
            roles,
            prompts,
            expires_at,
            warnings,
        })
    }

    fn optional_string(
        &self,
        claims: &Map<String, Value>,
        path: Option<&ClaimPath>,
    ) -> Result<Option<String>, Error> {
        let Some(path) = path else { return Ok(None) };
        match path.lookup(claims) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Error::invalid_claim(
                path.name(),
                "a string",
                describe(other),
            )),
        }
    }

    fn roles(&self, claims: &Map<String, Value>) -> Result<Vec<String>, Error> {
        let mut roles: Vec<String> = Vec::with_capacity(self.initial_roles.len() + 4);
        let mut add = |role: &str| {
            if !role.is_empty() && !roles.iter().any(|r| r == role) {
                roles.push(role.to_owned());
            }
        };
        for role in &self.initial_roles {
            add(role);
        }
        if let Some(path) = &self.roles {
            match path.lookup(claims) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => {
                    for piece in s.split([' ', ',']) {
                        add(piece);
                    }
                }
                Some(Value::Array(items)) => {
                    for item in items {
                        match item {
                            Value::String(s) => add(s),
                            other => {
                                return Err(Error::invalid_claim(
                                    path.name(),
                                    "an array of strings or a string",
                                    format!("an array holding {}", describe(other)),
                                ));
                            }
                        }
                    }
                }
                Some(other) => {
                    return Err(Error::invalid_claim(
                        path.name(),
                        "an array of strings or a string",
                        describe(other),
                    ));
                }
            }
        }
        Ok(roles)
    }
}

/// A value's type, with the value itself for scalars (mapped claims only; the
/// signature has been verified by then).
fn describe(v: &Value) -> String {
    match v {
        Value::Bool(_) | Value::Number(_) => format!("{} ({v})", type_name(v)),
        Value::String(s) if s.chars().count() <= 40 => format!("the string \"{s}\""),
        _ => type_name(v).to_owned(),
    }
}

fn convert_prompt(rule: &PromptRule, value: &Value) -> Result<PromptValue, Error> {
    let fail = |expected: &str| {
        Error::invalid_claim(
            rule.claim.name(),
            format!("{expected} for {} prompt {}", rule.kind, rule.slot),
            describe(value),
        )
    };
    match rule.kind {
        PromptKind::Text => match value {
            Value::String(s) => Ok(PromptValue::Text(s.clone())),
            Value::Number(n) => Ok(PromptValue::Text(n.to_string())),
            Value::Bool(b) => Ok(PromptValue::Text(b.to_string())),
            _ => Err(fail("a string, number or boolean")),
        },
        PromptKind::Numeric => match value {
            Value::Number(n) => Ok(PromptValue::Numeric(n.clone())),
            Value::String(s) => parse_decimal(s)
                .map(PromptValue::Numeric)
                .ok_or_else(|| fail("a number or a string holding a decimal number")),
            _ => Err(fail("a number or a string holding a decimal number")),
        },
        PromptKind::Date => {
            let expected = "a date (YYYY-MM-DD), an RFC 3339 date-time or a NumericDate";
            match value {
                Value::String(s) => parse_date(s).ok_or_else(|| fail(expected)),
                Value::Number(n) => n
                    .as_f64()
                    .and_then(|secs| to_datetime(secs.floor()))
                    .map(|t| PromptValue::Date(t.date()))
                    .ok_or_else(|| fail(expected)),
                _ => Err(fail(expected)),
            }
        }
    }
}

/// A decimal number in a string: JSON number syntax, optionally with a
/// leading `+`, surrounding whitespace ignored. Integers stay integers.
fn parse_decimal(s: &str) -> Option<Number> {
    let t = s.trim();
    let t = t
        .strip_prefix('+')
        .filter(|r| !r.starts_with('-'))
        .unwrap_or(t);
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
    {
        return None;
    }
    if let Ok(i) = t.parse::<i64>() {
        return Some(i.into());
    }
    if let Ok(u) = t.parse::<u64>() {
        return Some(u.into());
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(Number::from_f64)
}

fn parse_date(s: &str) -> Option<PromptValue> {
    if let Ok(date) = Date::parse(s, DATE_FORMAT) {
        return Some(PromptValue::Date(date));
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| PromptValue::Date(t.to_offset(UtcOffset::UTC).date()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_strings() {
        assert_eq!(parse_decimal("7"), Some(7.into()));
        assert_eq!(parse_decimal(" -3 "), Some((-3).into()));
        assert_eq!(parse_decimal("+2.5"), Number::from_f64(2.5));
        assert_eq!(parse_decimal("1e3"), Number::from_f64(1000.0));
        for bad in [
            "", "abc", "1,5", "NaN", "inf", "1e999", "+-1", "0x10", "--1",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }

    #[test]
    fn json_pointer_lookup() {
        let claims = serde_json::json!({"a/b": 1, "m~n": 2, "r": {"roles": ["x", "y"]}, "": 3});
        let claims = claims.as_object().unwrap();
        assert_eq!(
            ClaimPath::new("/a~1b").lookup(claims),
            Some(&Value::from(1))
        );
        assert_eq!(
            ClaimPath::new("/m~0n").lookup(claims),
            Some(&Value::from(2))
        );
        assert_eq!(
            ClaimPath::new("/r/roles/1").lookup(claims),
            Some(&Value::from("y"))
        );
        assert_eq!(ClaimPath::new("/r/roles/01").lookup(claims), None);
        assert_eq!(ClaimPath::new("/r/roles/2").lookup(claims), None);
        assert_eq!(ClaimPath::new("/").lookup(claims), Some(&Value::from(3)));
        assert_eq!(ClaimPath::new("a/b").lookup(claims), Some(&Value::from(1)));
        assert!(check_claim_name("/a~2").is_err());
        assert!(check_claim_name("/a~").is_err());
        assert!(check_claim_name("/a~0~1").is_ok());
    }
}
