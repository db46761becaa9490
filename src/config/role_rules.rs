//! What a configuration decides about the user beyond the claims it maps:
//! role rules (`role_rules`, `role_rules_required`; CONTRACT sections 1 and
//! 4) and which fields each login keeps in step (`sync_on_login`).

use std::fmt;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::JwtConfig;
use super::rules::check_claim_name;
use crate::error::ConfigError;

/// The most rules one configuration may hold.
pub(crate) const MAX_ROLE_RULES: usize = 100;

/// One role rule (CONTRACT sections 1 and 4): when the token's `claim` is
/// the string `value`, or an array holding that string (exact,
/// case-sensitive), the user gets `roles` (after `initial_roles` and the
/// roles claim, in rule order) and, from the first matching rule that has
/// one, `user_type`.
///
/// `claim` is a top-level claim name or a JSON Pointer (RFC 6901) such as
/// `/realm_access/roles`. A rule gives at least one role or a user type.
///
/// ```
/// use jwt_sso::{ClaimMapper, JwtConfig};
///
/// let config = JwtConfig::from_json_str(r#"{
///     "name": "IdP", "token_name": "token", "algorithms": ["HS256"],
///     "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
///     "expiration_time": 3600, "claims": {"user_id": "sub"},
///     "initial_roles": ["Viewer"],
///     "role_rules": [
///         {"claim": "/realm_access/roles", "value": "bi-analyst", "roles": ["Analyst"], "user_type": "analyst"},
///         {"claim": "department", "value": "Finance", "roles": ["Finance", "Analyst"]}
///     ]
/// }"#)?;
/// let claims = serde_json::json!({"sub": "jdoe", "department": "Finance",
///     "realm_access": {"roles": ["offline_access", "bi-analyst"]}});
/// let identity = ClaimMapper::new(&config)
///     .map(claims.as_object().unwrap(), time::macros::datetime!(2026-01-01 01:00 UTC))?;
/// assert_eq!(identity.roles, ["Viewer", "Analyst", "Finance"]);
/// assert_eq!(identity.user_type, "analyst");
/// # Ok::<(), jwt_sso::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RoleRule {
    /// The claim the rule reads: a top-level name or a JSON Pointer.
    pub claim: String,
    /// The string the claim must be, or hold (non-empty; exact).
    pub value: String,
    /// The roles a match gives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The user type a match gives (the first matching rule's wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
}

impl RoleRule {
    /// A rule that gives `roles` when `claim` is or holds `value`.
    pub fn new(
        claim: impl Into<String>,
        value: impl Into<String>,
        roles: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        RoleRule {
            claim: claim.into(),
            value: value.into(),
            roles: roles.into_iter().map(Into::into).collect(),
            user_type: None,
        }
    }

    /// The rule, also giving `user_type` when it matches.
    pub fn with_user_type(mut self, user_type: impl Into<String>) -> Self {
        self.user_type = Some(user_type.into());
        self
    }
}

/// A field of an existing user that a login replaces from its identity
/// (`sync_on_login`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncField {
    /// The display name.
    Name,
    /// The email address.
    Email,
    /// The roles.
    Roles,
    /// The user type (which a role rule may decide).
    UserType,
}

impl SyncField {
    /// `"name"`, `"email"`, `"roles"` or `"user_type"`.
    pub fn as_str(self) -> &'static str {
        match self {
            SyncField::Name => "name",
            SyncField::Email => "email",
            SyncField::Roles => "roles",
            SyncField::UserType => "user_type",
        }
    }
}

/// `sync_on_login` (CONTRACT section 1): which fields of an existing user
/// each login replaces from the identity. `true` is name, email and roles;
/// `false` (the default) and `[]` are none; a list names the fields.
/// Written back in the form it was given.
///
/// ```
/// use jwt_sso::{SyncField, SyncOnLogin};
///
/// let all: SyncOnLogin = serde_json::from_str("true").unwrap();
/// assert!(all.syncs(SyncField::Roles) && !all.syncs(SyncField::UserType));
/// let some: SyncOnLogin = serde_json::from_str(r#"["email", "user_type"]"#).unwrap();
/// assert!(some.syncs(SyncField::UserType) && !some.syncs(SyncField::Name));
/// assert_eq!(serde_json::to_string(&some).unwrap(), r#"["email","user_type"]"#);
/// assert!(SyncOnLogin::default().is_off());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SyncOnLogin {
    /// `true` (name, email and roles) or `false` (nothing).
    Flag(bool),
    /// The fields listed.
    Fields(Vec<SyncField>),
}

impl Default for SyncOnLogin {
    fn default() -> Self {
        SyncOnLogin::Flag(false)
    }
}

impl From<bool> for SyncOnLogin {
    fn from(on: bool) -> Self {
        SyncOnLogin::Flag(on)
    }
}

impl<const N: usize> From<[SyncField; N]> for SyncOnLogin {
    fn from(fields: [SyncField; N]) -> Self {
        SyncOnLogin::Fields(fields.to_vec())
    }
}

impl SyncOnLogin {
    /// The fields of `true`.
    const ALL: [SyncField; 3] = [SyncField::Name, SyncField::Email, SyncField::Roles];

    /// Whether a login replaces `field` of an existing user.
    pub fn syncs(&self, field: SyncField) -> bool {
        match self {
            SyncOnLogin::Flag(on) => *on && Self::ALL.contains(&field),
            SyncOnLogin::Fields(fields) => fields.contains(&field),
        }
    }

    /// Whether no field is synced (`false`, or `[]`).
    pub fn is_off(&self) -> bool {
        match self {
            SyncOnLogin::Flag(on) => !on,
            SyncOnLogin::Fields(fields) => fields.is_empty(),
        }
    }

    /// `false` as written by default: left out when serialising.
    pub(crate) fn is_default(&self) -> bool {
        *self == SyncOnLogin::Flag(false)
    }
}

impl Serialize for SyncOnLogin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            SyncOnLogin::Flag(on) => serializer.serialize_bool(*on),
            SyncOnLogin::Fields(fields) => fields.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for SyncOnLogin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SyncVisitor;

        impl<'de> Visitor<'de> for SyncVisitor {
            type Value = SyncOnLogin;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or a list of the fields name, email, roles and user_type")
            }

            fn visit_bool<E: de::Error>(self, on: bool) -> Result<SyncOnLogin, E> {
                Ok(SyncOnLogin::Flag(on))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<SyncOnLogin, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = seq.next_element::<SyncField>()? {
                    fields.push(field);
                }
                Ok(SyncOnLogin::Fields(fields))
            }
        }

        deserializer.deserialize_any(SyncVisitor)
    }
}

/// A rule's error at `role_rules[i].part`.
fn rule_error(
    i: usize,
    part: &str,
    problem: impl Into<String>,
    fix: impl Into<String>,
) -> ConfigError {
    ConfigError::new(format!("role_rules[{i}]{part}"), problem, fix)
}

/// CONTRACT section 1: `role_rules` (at most 100; each with a claim name or
/// pointer, a non-empty value, and roles or a user type, none empty),
/// `role_rules_required` (needs a rule), and `sync_on_login` (no field
/// twice).
pub(crate) fn check_role_rules(config: &JwtConfig) -> Result<(), ConfigError> {
    let rules = &config.role_rules;
    if rules.len() > MAX_ROLE_RULES {
        return Err(ConfigError::new(
            "role_rules",
            format!(
                "{} role rules; at most {MAX_ROLE_RULES} are allowed",
                rules.len()
            ),
            "merge rules that give the same roles (a rule matches a value inside an array claim), or map the roles through claims.roles",
        ));
    }
    for (i, rule) in rules.iter().enumerate() {
        check_claim_name(&rule.claim).map_err(|problem| {
            rule_error(
                i,
                ".claim",
                format!("the claim name {problem}"),
                "name a top-level claim (e.g. \"groups\") or a JSON Pointer (e.g. \"/realm_access/roles\")",
            )
        })?;
        if rule.value.is_empty() {
            return Err(rule_error(
                i,
                ".value",
                "the value is empty",
                "give the exact string the claim must be or hold, e.g. \"bi-analysts\"",
            ));
        }
        if rule.roles.is_empty() && rule.user_type.is_none() {
            return Err(rule_error(
                i,
                ".roles",
                "the rule gives no role and no user type",
                "give the roles a match adds (\"roles\": [\"Analyst\"]), a \"user_type\", or both; or remove the rule",
            ));
        }
        for (j, role) in rule.roles.iter().enumerate() {
            if role.trim().is_empty() {
                return Err(rule_error(
                    i,
                    &format!(".roles[{j}]"),
                    "a role name is empty",
                    "remove the empty entry, or name the role",
                ));
            }
        }
        if rule
            .user_type
            .as_deref()
            .is_some_and(|t| t.trim().is_empty())
        {
            return Err(rule_error(
                i,
                ".user_type",
                "user_type is empty",
                "name one of the host's user types, e.g. \"analyst\", or remove user_type from the rule",
            ));
        }
    }
    if config.role_rules_required && rules.is_empty() {
        return Err(ConfigError::new(
            "role_rules_required",
            "role_rules_required is on but there are no role_rules, so every token would be refused",
            "add the role rules a user must match, or turn role_rules_required off",
        ));
    }
    if let SyncOnLogin::Fields(fields) = &config.sync_on_login {
        for (i, field) in fields.iter().enumerate() {
            if fields[..i].contains(field) {
                return Err(ConfigError::new(
                    format!("sync_on_login[{i}]"),
                    format!("`{}` is listed twice", field.as_str()),
                    "list each field once: name, email, roles, user_type",
                ));
            }
        }
    }
    Ok(())
}
