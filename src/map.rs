//! `ClaimMapper`: verified claims → `MappedIdentity` (CONTRACT section 4).
//! The identity types themselves are in `crate::identity`.

use std::borrow::Cow;
use std::sync::Arc;

use compact_str::CompactString;
use serde_json::{Map, Number, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::config::{JwtConfig, PromptKind, UserIdNormalize};
use crate::error::{Error, TokenError};
// Re-exported for the modules that still name it here.
pub(crate) use crate::identity::MappedIdentity;
use crate::identity::{PromptValue, SystemPrompt, parse_plain_date};
use crate::json::{ClaimPlan, ClaimRef, ClaimSource, raw_text};
use crate::time_fmt::to_datetime;

/// The registered claims a verifier reads, in the first slots of every
/// [`ClaimPlan`] (CONTRACT section 2, step 9, and the identity's registered
/// claims).
pub(crate) const REGISTERED: [&str; 7] = ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"];

/// Where a claim is found: a top-level name or a JSON Pointer (RFC 6901).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimPath {
    /// As configured, for messages.
    name: String,
    /// The top-level claim the path starts at.
    root: String,
    /// The rest of a JSON Pointer below `root`, when there is one.
    rest: Option<String>,
    /// `root`'s slot in the mapper's [`ClaimPlan`].
    slot: usize,
}

impl ClaimPath {
    pub(crate) fn new(name: &str) -> Self {
        let (root, rest) = match name.strip_prefix('/') {
            Some(pointer) => match pointer.find('/') {
                Some(at) => (unescape(&pointer[..at]), Some(pointer[at..].to_owned())),
                None => (unescape(pointer), None),
            },
            None => (name.into(), None),
        };
        ClaimPath {
            name: name.to_owned(),
            root: root.into_owned(),
            rest,
            slot: 0,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The member names and indexes that lead to the claim.
    fn tokens(&self) -> Vec<Cow<'_, str>> {
        match self.name.strip_prefix('/') {
            Some(pointer) => pointer.split('/').map(unescape).collect(),
            None => vec![self.name.as_str().into()],
        }
    }

    /// The claim's own JSON text in the payload it was parsed from.
    fn raw<'p>(&self, payload: Option<&'p [u8]>) -> Option<&'p str> {
        raw_text(payload?, self.tokens())
    }

    /// Plans this path's top-level claim in `plan`.
    fn plan(&mut self, plan: &mut ClaimPlan) {
        self.slot = plan.slot(&self.root, self.rest.is_some());
    }

    #[inline]
    pub(crate) fn lookup<'a, C: ClaimSource + ?Sized>(
        &self,
        claims: &'a C,
    ) -> Option<ClaimRef<'a>> {
        let root = claims.root(self.slot, &self.root)?;
        match &self.rest {
            None => Some(root),
            Some(rest) => root.pointer(rest),
        }
    }
}

fn unescape(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        token.replace("~1", "/").replace("~0", "~").into()
    } else {
        token.into()
    }
}

#[derive(Debug, Clone)]
struct PromptRule {
    kind: PromptKind,
    slot: u32,
    claim: ClaimPath,
}

/// A role rule (CONTRACT section 4), its claim planned.
#[derive(Debug, Clone)]
struct Rule {
    claim: ClaimPath,
    value: Box<str>,
    roles: Box<[String]>,
    user_type: Option<CompactString>,
}

impl Rule {
    /// Whether the claim is the rule's value, or an array holding it.
    fn matches<C: ClaimSource + ?Sized>(&self, claims: &C) -> bool {
        let value = &*self.value;
        match self.claim.lookup(claims) {
            Some(ClaimRef::Str(s)) => s == value,
            Some(ClaimRef::Strings(items)) => items.iter().any(|item| item == value),
            Some(ClaimRef::Tree(Value::Array(items))) => {
                items.iter().any(|item| item.as_str() == Some(value))
            }
            _ => false,
        }
    }
}

/// The roles a token may not give unless its configuration has
/// `may_grant_admin` (CONTRACT section 1): the host's administrator role.
const DEFAULT_ADMIN_ROLES: [&str; 1] = ["Administrator"];

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
    config_name: CompactString,
    user_type: CompactString,
    initial_roles: Vec<CompactString>,
    normalize: UserIdNormalize,
    user_id: ClaimPath,
    name: Option<ClaimPath>,
    email: Option<ClaimPath>,
    roles: Option<ClaimPath>,
    prompts: Vec<PromptRule>,
    rules: Vec<Rule>,
    rules_required: bool,
    /// The host's administrator roles, which a token gives only with
    /// `may_grant_admin`.
    admin_roles: Arc<[String]>,
    may_grant_admin: bool,
    /// The top-level claims a verification reads: [`REGISTERED`], then the
    /// mapped ones.
    plan: ClaimPlan,
}

impl ClaimMapper {
    /// Precomputes the mapping of a configuration.
    pub fn new(config: &JwtConfig) -> Self {
        let mut mapper = ClaimMapper {
            config_name: config.name.as_str().into(),
            user_type: config.user_type.as_str().into(),
            initial_roles: config
                .initial_roles
                .iter()
                .map(|r| r.as_str().into())
                .collect(),
            normalize: config.user_id_normalize,
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
            rules: config
                .role_rules
                .iter()
                .map(|rule| Rule {
                    claim: ClaimPath::new(&rule.claim),
                    value: rule.value.as_str().into(),
                    roles: rule.roles.clone().into_boxed_slice(),
                    user_type: rule.user_type.as_deref().map(CompactString::from),
                })
                .collect(),
            rules_required: config.role_rules_required,
            admin_roles: DEFAULT_ADMIN_ROLES.map(str::to_owned).into(),
            may_grant_admin: config.may_grant_admin,
            plan: ClaimPlan::new(&REGISTERED),
        };
        let plan = &mut mapper.plan;
        mapper.user_id.plan(plan);
        for path in [&mut mapper.name, &mut mapper.email, &mut mapper.roles]
            .into_iter()
            .flatten()
        {
            path.plan(plan);
        }
        for rule in &mut mapper.prompts {
            rule.claim.plan(plan);
        }
        for rule in &mut mapper.rules {
            rule.claim.plan(plan);
        }
        mapper
    }

    /// Replaces the host's administrator roles (default `["Administrator"]`,
    /// compared exactly): a token gives one of them only when its
    /// configuration has `may_grant_admin`; otherwise the role is dropped
    /// from the mapped roles with a warning. `initial_roles` are kept.
    ///
    /// ```
    /// use jwt_sso::{ClaimMapper, JwtConfig};
    ///
    /// let config = JwtConfig::from_json_str(r#"{
    ///     "name": "Reader", "token_name": "token", "algorithms": ["HS256"],
    ///     "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
    ///     "expiration_time": 3600, "claims": {"user_id": "sub", "roles": "groups"}
    /// }"#).unwrap();
    /// let claims = serde_json::json!({"sub": "jdoe", "groups": ["Viewer", "Admins"]});
    /// let expires = time::macros::datetime!(2026-01-01 00:00 UTC);
    /// let identity = ClaimMapper::new(&config)
    ///     .with_admin_roles(["Admins"])
    ///     .map(claims.as_object().unwrap(), expires)
    ///     .unwrap();
    /// assert_eq!(identity.roles, ["Viewer"]);
    /// assert!(identity.warnings[0].contains("may_grant_admin"));
    /// ```
    pub fn with_admin_roles(mut self, roles: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.admin_roles = roles.into_iter().map(Into::into).collect();
        self
    }

    pub(crate) fn set_admin_roles(&mut self, roles: &Arc<[String]>) {
        self.admin_roles = Arc::clone(roles);
    }

    /// The top-level claims a verification reads, each in its slot:
    /// [`REGISTERED`] first, in that order, then the mapped ones.
    pub(crate) fn plan(&self) -> &ClaimPlan {
        &self.plan
    }

    /// Step 13: the user-ID claim must be present, non-null and non-empty.
    fn check_user_id<C: ClaimSource + ?Sized>(&self, claims: &C) -> Result<(), Error> {
        match self.user_id.lookup(claims) {
            None => Err(self.missing_user_id("absent")),
            Some(ClaimRef::Null) => Err(self.missing_user_id("null")),
            Some(ClaimRef::Str("")) => Err(self.missing_user_id("empty")),
            Some(_) => Ok(()),
        }
    }

    fn missing_user_id(&self, state: &'static str) -> Error {
        Error::Token(TokenError::MissingUserId {
            claim: self.user_id.name().to_owned(),
            state,
            // The caller, which may hold only some claims, names them all.
            present: Vec::new(),
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
        let mut identity = self.blank(expires_at);
        self.map_claims(claims, None, &mut identity)
            .map_err(|e| naming_claims(e, || claims.keys().cloned().collect()))?;
        let string = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .map(CompactString::from)
        };
        identity.issuer = string("iss");
        identity.subject = string("sub");
        identity.token_id = string("jti").filter(|jti| !jti.is_empty());
        identity.issued_at = claims
            .get("iat")
            .and_then(Value::as_f64)
            .and_then(to_datetime);
        Ok(identity)
    }

    /// An identity of this configuration with nothing mapped yet, for
    /// [`ClaimMapper::map_claims`] to fill.
    #[inline]
    pub(crate) fn blank(&self, expires_at: OffsetDateTime) -> MappedIdentity {
        MappedIdentity {
            config: self.config_name.clone(),
            user_id: CompactString::default(),
            name: None,
            email: None,
            user_type: CompactString::default(),
            roles: Vec::new(),
            prompts: Vec::new(),
            expires_at,
            warnings: Vec::new(),
            issuer: None,
            subject: None,
            token_id: None,
            issued_at: None,
        }
    }

    /// [`ClaimMapper::map`] on the claims a verifier captured (or a `Map`),
    /// with the payload they were parsed from, so that numbers map from the
    /// sender's own text: an integer user ID beyond 64 bits keeps its
    /// digits, and a text prompt gets the number as written.
    ///
    /// Fills `identity`, a [`ClaimMapper::blank`] one, in place: it is
    /// built once, where the verification returns it, rather than moved
    /// from one step to the next. Each string it holds is copied once,
    /// from the claims.
    pub(crate) fn map_claims<C: ClaimSource + ?Sized>(
        &self,
        claims: &C,
        payload: Option<&[u8]>,
        identity: &mut MappedIdentity,
    ) -> Result<(), Error> {
        self.check_user_id(claims)?;
        match self.user_id.lookup(claims) {
            Some(ClaimRef::Str(s)) => self.clean_user_id(s, &mut identity.user_id)?,
            Some(ClaimRef::Number(n)) if n.is_i64() || n.is_u64() => {
                identity.user_id = compact_str::format_compact!("{n}");
            }
            // An integer beyond 64 bits: serde_json holds it as f64, the payload has its digits.
            other => match (other, self.user_id.raw(payload).filter(|t| is_integer(t))) {
                (Some(ClaimRef::Number(_)), Some(text)) => put(&mut identity.user_id, text),
                _ => {
                    return Err(Error::invalid_claim(
                        self.user_id.name(),
                        "a non-empty string or an integer",
                        other.map_or_else(|| "absent".to_owned(), describe),
                    ));
                }
            },
        }
        self.optional_string(claims, self.name.as_ref(), &mut identity.name)?;
        self.optional_string(claims, self.email.as_ref(), &mut identity.email)?;
        let warnings = &mut identity.warnings;
        let roles = &mut identity.roles;
        self.roles(claims, roles, warnings)?;
        let prompts = &mut identity.prompts;
        *prompts = Vec::with_capacity(self.prompts.len());
        for rule in &self.prompts {
            match rule.claim.lookup(claims) {
                None | Some(ClaimRef::Null) => warnings.push(format!(
                    "{} prompt {}: claim `{}` is absent, the prompt is left out",
                    rule.kind,
                    rule.slot,
                    rule.claim.name()
                )),
                Some(value) => convert_prompt(rule, value, payload, prompts)?,
            }
        }
        // The role rules, after every check of step 14; step 15 last.
        let mut user_type: Option<&CompactString> = None;
        let mut matched = false;
        for rule in &self.rules {
            if !rule.matches(claims) {
                continue;
            }
            matched = true;
            for role in &rule.roles {
                self.add_token_role(roles, role, warnings);
            }
            if user_type.is_none() {
                user_type = rule.user_type.as_ref();
            }
        }
        if self.rules_required && !matched {
            return Err(self.no_matching_role(claims));
        }
        identity.user_type = user_type.unwrap_or(&self.user_type).clone();
        Ok(())
    }

    /// CONTRACT section 4: no control character, no format character, no
    /// leading or trailing white space; then `user_id_normalize`, last.
    fn clean_user_id(&self, user_id: &str, out: &mut CompactString) -> Result<(), Error> {
        if let Some(problem) = user_id_problem(user_id) {
            return Err(Error::invalid_claim(
                self.user_id.name(),
                "a user ID without control or invisible format characters or leading or trailing white space",
                format!("{} {problem}", describe(ClaimRef::Str(user_id))),
            ));
        }
        match self.normalize {
            UserIdNormalize::None => put(out, user_id),
            UserIdNormalize::Lowercase => *out = normalize_lowercase(user_id).into(),
        }
        Ok(())
    }

    fn optional_string<C: ClaimSource + ?Sized>(
        &self,
        claims: &C,
        path: Option<&ClaimPath>,
        out: &mut Option<CompactString>,
    ) -> Result<(), Error> {
        let Some(path) = path else { return Ok(()) };
        match path.lookup(claims) {
            None | Some(ClaimRef::Null) => Ok(()),
            Some(ClaimRef::Str(s)) => {
                put(out.get_or_insert_default(), s);
                Ok(())
            }
            Some(other) => Err(Error::invalid_claim(
                path.name(),
                "a string",
                describe(other),
            )),
        }
    }

    /// `initial_roles`, then the roles claim (CONTRACT section 4); a role
    /// from the token that is one of the administrator roles is left out
    /// (with a warning) unless the configuration may grant it.
    fn roles<C: ClaimSource + ?Sized>(
        &self,
        claims: &C,
        roles: &mut Vec<CompactString>,
        warnings: &mut Vec<String>,
    ) -> Result<(), Error> {
        *roles = Vec::with_capacity(self.initial_roles.len() + 4);
        for role in &self.initial_roles {
            if !role.is_empty() && !roles.contains(role) {
                roles.push(role.clone());
            }
        }
        let Some(path) = &self.roles else {
            return Ok(());
        };
        let add = |role: &str| self.add_token_role(roles, role, warnings);
        let expected = "an array of strings or a string";
        match path.lookup(claims) {
            None | Some(ClaimRef::Null) => {}
            Some(ClaimRef::Str(s)) => s.split([' ', ',']).for_each(add),
            Some(value) => match value.strings() {
                Some(Ok(items)) => items.for_each(add),
                Some(Err(other)) => {
                    let found = format!("an array holding {}", describe(other));
                    return Err(Error::invalid_claim(path.name(), expected, found));
                }
                None => return Err(Error::invalid_claim(path.name(), expected, describe(value))),
            },
        }
        Ok(())
    }

    /// Adds a role the token gives (its roles claim or a role rule), once,
    /// unless it is an administrator role this configuration may not give.
    fn add_token_role(
        &self,
        roles: &mut Vec<CompactString>,
        role: &str,
        warnings: &mut Vec<String>,
    ) {
        if role.is_empty() || roles.iter().any(|r| r == role) {
            return;
        }
        if !self.may_grant_admin && self.admin_roles.iter().any(|a| a == role) {
            let warning = format!(
                "the token gives the administrator's role `{}`, which configuration `{}` may not grant (may_grant_admin is false): it is left out",
                crate::error::untrusted(role),
                self.config_name
            );
            if !warnings.contains(&warning) {
                warnings.push(warning);
            }
            return;
        }
        roles.push(CompactString::new(role));
    }

    /// Step 15's error: what the token has in each claim the rules read.
    fn no_matching_role<C: ClaimSource + ?Sized>(&self, claims: &C) -> Error {
        const SHOWN: usize = 10;
        let mut seen: Vec<&str> = Vec::new();
        let mut found = Vec::new();
        for rule in &self.rules {
            let name = rule.claim.name();
            if seen.contains(&name) {
                continue;
            }
            seen.push(name);
            if found.len() == SHOWN {
                continue;
            }
            let what = match rule.claim.lookup(claims) {
                None => "absent".to_owned(),
                Some(value) => evidence(value),
            };
            found.push(format!("`{}`: {what}", crate::error::untrusted(name)));
        }
        if seen.len() > SHOWN {
            found.push(format!("and {} more claims", seen.len() - SHOWN));
        }
        Error::Token(TokenError::NoMatchingRole {
            rules: self.rules.len(),
            found,
        })
    }
}

/// A claim a role rule read, for step 15's message: a string or the first
/// strings of an array, escaped and cut; else its type.
fn evidence(value: ClaimRef<'_>) -> String {
    const ITEMS: usize = 5;
    let quoted = |s: &str| format!("\"{}\"", crate::error::untrusted(s));
    let strings: Option<Vec<&str>> = match value {
        ClaimRef::Str(s) => return quoted(s),
        ClaimRef::Strings(items) => Some(items.iter().map(AsRef::as_ref).collect()),
        ClaimRef::Tree(Value::Array(items)) => {
            Some(items.iter().filter_map(Value::as_str).collect())
        }
        _ => None,
    };
    match strings {
        Some(items) => {
            let mut shown: Vec<String> = items.iter().take(ITEMS).map(|s| quoted(s)).collect();
            if items.len() > ITEMS {
                shown.push(format!("and {} more", items.len() - ITEMS));
            }
            format!("[{}]", shown.join(", "))
        }
        None => value.type_name().to_owned(),
    }
}

/// Why a user ID is refused (CONTRACT section 4), or `None`: a control
/// character (`Cc`), an invisible format character (general category `Cf`:
/// zero-width characters such as U+200B and U+200D, bidi controls such as
/// U+202E, tag characters U+E0000–U+E007F, the soft hyphen), which make
/// lookalike accounts, or leading or trailing white space.
fn user_id_problem(user_id: &str) -> Option<String> {
    // Printable ASCII, as most user IDs are: no control or format character,
    // and the space is its only white space.
    if user_id.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return (user_id.starts_with(' ') || user_id.ends_with(' '))
            .then(|| SPACE_AROUND.to_owned());
    }
    any_user_id_problem(user_id)
}

const SPACE_AROUND: &str = "with leading or trailing white space";

/// [`user_id_problem`] for any text.
fn any_user_id_problem(user_id: &str) -> Option<String> {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    if user_id.chars().any(char::is_control) {
        return Some("with a control character".to_owned());
    }
    // No ASCII character is a format character: the table is for the rest.
    if let Some(c) = user_id
        .chars()
        .find(|c| !c.is_ascii() && c.general_category() == GeneralCategory::Format)
    {
        return Some(format!(
            "with the invisible format character U+{:04X}",
            u32::from(c)
        ));
    }
    if user_id.starts_with(char::is_whitespace) || user_id.ends_with(char::is_whitespace) {
        return Some(SPACE_AROUND.to_owned());
    }
    None
}

/// `user_id_normalize: "lowercase"`: Unicode NFC, then lower case.
pub(crate) fn normalize_lowercase(user_id: &str) -> String {
    use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
    if user_id.is_ascii() {
        return user_id.to_ascii_lowercase();
    }
    let nfc: String = match is_nfc_quick(user_id.chars()) {
        IsNormalized::Yes => user_id.to_owned(),
        _ => user_id.nfc().collect(),
    };
    nfc.to_lowercase()
}

/// A value's type, with the value itself for scalars (mapped claims only; the
/// signature has been verified by then).
fn describe(v: ClaimRef<'_>) -> String {
    match v {
        ClaimRef::Bool(b) => format!("a boolean ({b})"),
        ClaimRef::Number(n) => format!("a number ({n})"),
        ClaimRef::Str(s) if s.chars().count() <= 40 => format!("the string \"{s}\""),
        _ => v.type_name().to_owned(),
    }
}

/// `payload`: the claims' JSON text, when known, so a number maps as the sender wrote it.
fn convert_prompt(
    rule: &PromptRule,
    value: ClaimRef<'_>,
    payload: Option<&[u8]>,
    prompts: &mut Vec<SystemPrompt>,
) -> Result<(), Error> {
    let fail = |expected: &str| {
        Error::invalid_claim(
            rule.claim.name(),
            format!("{expected} for {} prompt {}", rule.kind, rule.slot),
            describe(value),
        )
    };
    let value = match rule.kind {
        PromptKind::Text => match value {
            ClaimRef::Str(s) => Ok(PromptValue::Text(s.into())),
            // "Numbers as their JSON text": the text the sender wrote (`1e3`, `2.50`).
            ClaimRef::Number(n) => Ok(PromptValue::Text(
                rule.claim
                    .raw(payload)
                    .map_or_else(|| compact_str::format_compact!("{n}"), CompactString::from),
            )),
            ClaimRef::Bool(b) => Ok(PromptValue::Text(CompactString::const_new(match b {
                true => "true",
                false => "false",
            }))),
            _ => Err(fail("a string, number or boolean")),
        },
        PromptKind::Numeric => match value {
            ClaimRef::Number(n) => Ok(PromptValue::Numeric(n.clone())),
            ClaimRef::Str(s) => parse_decimal(s)
                .map(PromptValue::Numeric)
                .ok_or_else(|| fail("a number or a string holding a decimal number")),
            _ => Err(fail("a number or a string holding a decimal number")),
        },
        PromptKind::Date => {
            let expected = "a date (YYYY-MM-DD), an RFC 3339 date-time or a NumericDate";
            match value {
                ClaimRef::Str(s) => parse_date(s).ok_or_else(|| fail(expected)),
                ClaimRef::Number(n) => n
                    .as_f64()
                    .and_then(|secs| to_datetime(secs.floor()))
                    .and_then(|t| four_digit_year(t.date()))
                    .map(PromptValue::Date)
                    .ok_or_else(|| fail(expected)),
                _ => Err(fail(expected)),
            }
        }
    }?;
    prompts.push(SystemPrompt {
        kind: rule.kind,
        slot: rule.slot,
        value,
    });
    Ok(())
}

/// `error`, when it is a `missing_user_id` of the mapper (which names no
/// claims: it may see only the ones it reads), with every claim's name.
pub(crate) fn naming_claims(mut error: Error, names: impl FnOnce() -> Vec<String>) -> Error {
    if let Error::Token(TokenError::MissingUserId { present, .. }) = &mut error {
        *present = names();
    }
    error
}

/// `text` written into `out`, an empty string in the identity being built.
/// Inlined, so that the new value is made in its place: a `CompactString`
/// made apart keeps its inline bytes in byte-wise stores that moving it
/// then reads back in words before they retire (a store-forwarding stall,
/// one per string and several per verification).
#[inline(always)]
pub(crate) fn put(out: &mut CompactString, text: &str) {
    debug_assert!(out.is_empty());
    *out = CompactString::new(text);
}

/// `-?[0-9]+`: an integer in JSON number syntax.
fn is_integer(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
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

/// A date prompt from text: `YYYY-MM-DD`, or an RFC 3339 date-time's UTC date.
fn parse_date(s: &str) -> Option<PromptValue> {
    let date = match parse_plain_date(s) {
        Some(date) => date,
        // `checked_to_offset`: moving to UTC can leave the supported range
        // (e.g. 9999-12-31T23:30:00-01:00), which `to_offset` would panic on.
        None => OffsetDateTime::parse(s, &Rfc3339)
            .ok()?
            .checked_to_offset(UtcOffset::UTC)?
            .date(),
    };
    four_digit_year(date).map(PromptValue::Date)
}

/// Only years 0000–9999 can be written as `YYYY-MM-DD`.
fn four_digit_year(date: Date) -> Option<Date> {
    (0..=9999).contains(&date.year()).then_some(date)
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

    /// `user_id_problem` looks up the general category only for non-ASCII
    /// characters: no ASCII character is a format character (`Cf`).
    #[test]
    fn no_ascii_character_is_a_format_character() {
        use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
        for c in (0u8..=127).map(char::from) {
            assert_ne!(c.general_category(), GeneralCategory::Format, "{c:?}");
        }
        assert!(user_id_problem("jdoe\u{200B}").is_some());
        assert!(user_id_problem("j.doe-4711@example.com").is_none());
    }

    /// The printable-ASCII shortcut of `user_id_problem` says what the
    /// general check says, for every ASCII character at the start, inside
    /// and at the end.
    #[test]
    fn the_ascii_shortcut_agrees_with_the_general_check() {
        for c in (0u8..=127).map(char::from) {
            for id in [
                format!("{c}jdoe"),
                format!("jd{c}oe"),
                format!("jdoe{c}"),
                c.to_string(),
            ] {
                assert_eq!(user_id_problem(&id), any_user_id_problem(&id), "{id:?}");
            }
        }
        assert_eq!(user_id_problem(" jdoe").as_deref(), Some(SPACE_AROUND));
        assert_eq!(user_id_problem("j doe"), None);
    }

    #[test]
    fn json_pointer_lookup() {
        let claims = serde_json::json!({"a/b": 1, "m~n": 2, "r": {"roles": ["x", "y"]}, "": 3});
        let claims = claims.as_object().unwrap();
        let (one, two, three) = (Number::from(1), Number::from(2), Number::from(3));
        let at = |path: &str| ClaimPath::new(path).lookup(claims);
        assert_eq!(at("/a~1b"), Some(ClaimRef::Number(&one)));
        assert_eq!(at("/m~0n"), Some(ClaimRef::Number(&two)));
        assert_eq!(at("/r/roles/1"), Some(ClaimRef::Str("y")));
        assert_eq!(at("/r/roles/01"), None);
        assert_eq!(at("/r/roles/2"), None);
        assert_eq!(at("/"), Some(ClaimRef::Number(&three)));
        assert_eq!(at("a/b"), Some(ClaimRef::Number(&one)));
    }
}
