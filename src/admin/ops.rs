//! The administrator's operations on top of the owner of the
//! configurations ([`Configs`]) (CONTRACT section 7), free of any web
//! framework: summaries without secrets, a redacted view with its version,
//! versioned changes, confirmed deletes and "test a token".

use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;

use super::catalog::Catalog;
use super::{AdminError, Configs};
use crate::checklist::Checklist;
use crate::config::JwtConfig;
use crate::error::ConfigError;
use crate::registry::Registry;
use crate::store::{ConfigChange, StoredConfig};
use crate::unix_time::UnixTime;

/// Who asks for a change: it becomes the `created_by` of what they create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The break-glass administrator's token (`created_by` = `admin`).
    AdminToken,
    /// A signed-in user with the administrator's role (`created_by` = the user ID).
    User(String),
}

impl Caller {
    /// The `created_by` this caller leaves on a new configuration.
    pub fn created_by(&self) -> &str {
        match self {
            Caller::AdminToken => "admin",
            Caller::User(user_id) => user_id,
        }
    }
}

/// One line of the administrator's list (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigSummary {
    /// The configuration's name.
    pub name: String,
    /// Whether it accepts tokens.
    pub enabled: bool,
    /// When it last changed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_modified: Option<OffsetDateTime>,
    /// Who created it.
    pub created_by: Option<String>,
    /// Its issuer, if any.
    pub issuer: Option<String>,
    /// Its audience, if any.
    pub audience: Option<String>,
    /// The key source's type: `static`, `jwks`, `jwks_uri` or `issuer`.
    pub key_source: &'static str,
    /// Its allowed algorithms.
    pub algorithms: Vec<String>,
}

impl ConfigSummary {
    fn of(config: &JwtConfig) -> Self {
        ConfigSummary {
            name: config.name.to_string(),
            enabled: config.enabled,
            last_modified: config.last_modified,
            created_by: config.created_by.clone(),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            key_source: config.key_source.type_name(),
            algorithms: config
                .algorithms
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
        }
    }
}

/// A configuration as the administrator sees it: the CONTRACT section 1
/// shape with every secret given as text or base64 replaced by
/// `{"redacted":true}` (an `{"env":…}` reference is shown as is, and so is
/// every secret member of an inline JWK Set), its version and its warnings.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigView {
    /// The redacted configuration.
    pub config: Value,
    /// The stored configuration's version: the `ETag` (random, given by the
    /// store on every change; nothing about the configuration can be learnt
    /// from it).
    pub version: String,
    /// What a careful administrator should look at (no audience, a
    /// configuration that routing can never choose, …).
    pub warnings: Vec<String>,
}

/// The marker that stands for a stored secret.
fn redacted() -> Value {
    serde_json::json!({"redacted": true})
}

fn is_redacted(value: &Value) -> bool {
    value
        .as_object()
        .is_some_and(|map| map.len() == 1 && map.get("redacted") == Some(&Value::Bool(true)))
}

/// The JWK members that hold secret or private key material (RFC 7518 section 6).
const JWK_SECRET_MEMBERS: [&str; 8] = ["k", "d", "p", "q", "dp", "dq", "qi", "oth"];

/// The configuration as JSON, secrets replaced by `{"redacted":true}`.
fn redact(config: &JwtConfig) -> Value {
    let mut value = serde_json::to_value(config).unwrap_or_default();
    if let Some(source) = value.get_mut("key_source").and_then(Value::as_object_mut) {
        if let Some(secret) = source.get_mut("secret") {
            redact_secret(secret);
        }
        if let Some(keys) = source
            .get_mut("jwks")
            .and_then(|jwks| jwks.get_mut("keys"))
            .and_then(Value::as_array_mut)
        {
            for key in keys.iter_mut().filter_map(Value::as_object_mut) {
                for member in JWK_SECRET_MEMBERS {
                    if let Some(value) = key.get_mut(member) {
                        *value = redacted();
                    }
                }
            }
        }
    }
    value
}

/// A secret given as text or `{"base64": …}` becomes `{"redacted":true}`;
/// `{"env": …}` is a reference and stays. An array (a rotation) is
/// redacted entry by entry, each at its position.
fn redact_secret(secret: &mut Value) {
    match secret {
        Value::Array(entries) => entries.iter_mut().for_each(redact_secret),
        Value::String(_) => *secret = redacted(),
        _ if secret.get("base64").is_some() => *secret = redacted(),
        _ => {}
    }
}

/// The stored secrets back where the administrator sent `{"redacted":true}`
/// (CONTRACT section 1, the secret array):
///
/// - one marker in place of the secret keeps the stored secret as it is,
///   one secret or a whole rotation;
/// - in an array, a marker at position `i` keeps the stored entry at
///   position `i` (a single stored secret is position 0), and `null` stands
///   for a stored entry the administrator removed: it keeps the positions
///   of the entries after it, and is dropped. So with `[old, new]` stored,
///   `[null, {"redacted":true}]` keeps `new` alone, `[{"redacted":true},
///   "next"]` replaces `new`, and `["next"]` replaces both.
///
/// A marker with nothing stored at its position is a `config` error naming
/// the field (`key_source.secret[2]`).
fn restore_secret(secret: &mut Value, stored: Option<&Value>) -> Result<(), ConfigError> {
    let nothing_stored = |field: String| {
        ConfigError::new(
            field,
            "`{\"redacted\":true}` keeps the stored secret, but there is no stored secret here",
            "enter the secret itself",
        )
    };
    let stored = stored.filter(|s| !is_redacted(s));
    if is_redacted(secret) {
        *secret = stored
            .cloned()
            .ok_or_else(|| nothing_stored("key_source.secret".to_owned()))?;
        return Ok(());
    }
    let Value::Array(entries) = secret else {
        return Ok(());
    };
    for (i, entry) in entries.iter_mut().enumerate() {
        if !is_redacted(entry) {
            continue;
        }
        let kept = match stored {
            Some(Value::Array(all)) => all.get(i),
            Some(one) if i == 0 => Some(one),
            _ => None,
        };
        *entry = kept
            .filter(|s| !is_redacted(s))
            .cloned()
            .ok_or_else(|| nothing_stored(format!("key_source.secret[{i}]")))?;
    }
    entries.retain(|entry| !entry.is_null());
    Ok(())
}

/// Whether `value`'s secret is an array holding `null` (a removed entry).
fn has_removed_secret(value: &Value) -> bool {
    value
        .get("key_source")
        .and_then(|s| s.get("secret"))
        .and_then(Value::as_array)
        .is_some_and(|entries| entries.iter().any(Value::is_null))
}

/// Puts the stored secrets back where `value` says `{"redacted":true}`: the
/// static secret (one, or the entries of a rotation: see
/// [`restore_secret`]), and the secret members of an inline JWK Set's keys
/// (matched by `kid`, else by position). A marker with nothing stored
/// behind it is a `config` error naming the field.
fn restore(value: &mut Value, stored: &JwtConfig) -> Result<(), ConfigError> {
    let stored = serde_json::to_value(stored).unwrap_or_default();
    let stored_source = stored.get("key_source");
    let Some(source) = value.get_mut("key_source").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let nothing_stored = |field: String| {
        ConfigError::new(
            field,
            "`{\"redacted\":true}` keeps the stored secret, but there is no stored secret here",
            "enter the secret itself",
        )
    };
    if let Some(secret) = source.get_mut("secret") {
        restore_secret(secret, stored_source.and_then(|s| s.get("secret")))?;
    }
    let stored_keys = stored_source
        .and_then(|s| s.get("jwks"))
        .and_then(|jwks| jwks.get("keys"))
        .and_then(Value::as_array);
    if let Some(keys) = source
        .get_mut("jwks")
        .and_then(|jwks| jwks.get_mut("keys"))
        .and_then(Value::as_array_mut)
    {
        for (i, key) in keys.iter_mut().enumerate() {
            let Some(key) = key.as_object_mut() else {
                continue;
            };
            let kid = key.get("kid").cloned();
            let stored_key = stored_keys.and_then(|all| match &kid {
                Some(kid) => all.iter().find(|k| k.get("kid") == Some(kid)),
                None => all.get(i).filter(|k| k.get("kid").is_none()),
            });
            for member in JWK_SECRET_MEMBERS {
                if let Some(value) = key.get_mut(member)
                    && is_redacted(value)
                {
                    let kept = stored_key.and_then(|k| k.get(member)).ok_or_else(|| {
                        nothing_stored(format!("key_source.jwks.keys[{i}].{member}"))
                    })?;
                    *value = kept.clone();
                }
            }
        }
    }
    Ok(())
}

/// Parses one configuration sent by an administrator (not yet validated).
/// `stored`: the configuration it replaces, whose secrets a
/// `{"redacted":true}` keeps.
fn parse_config(text: &str, stored: Option<&JwtConfig>) -> Result<JwtConfig, ConfigError> {
    let mut value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        // The configuration parser names the place of the syntax error.
        Err(_) => {
            JwtConfig::parse_json_list(text)?;
            return Err(not_one_object());
        }
    };
    if !value.is_object() {
        return Err(not_one_object());
    }
    let mut configs = match stored {
        Some(stored) if has_marker(&value) || has_removed_secret(&value) => {
            restore(&mut value, stored)?;
            JwtConfig::parse_json_list(&serde_json::to_string_pretty(&value).unwrap_or_default())?
        }
        _ => JwtConfig::parse_json_list(text)?,
    };
    match configs.pop() {
        Some(config) if configs.is_empty() => Ok(config),
        _ => Err(not_one_object()),
    }
}

fn has_marker(value: &Value) -> bool {
    match value {
        Value::Object(map) => is_redacted(value) || map.values().any(has_marker),
        Value::Array(items) => items.iter().any(has_marker),
        _ => false,
    }
}

fn not_one_object() -> ConfigError {
    ConfigError::new(
        "configuration",
        "the request body is not one JSON configuration object",
        "send one configuration as a JSON object",
    )
}

/// Whether `if_match` (an `If-Match` header: `*`, or a list of entity tags)
/// names `current`, compared strongly (RFC 9110 section 13.1.1 and 8.8.3.2):
/// a weak tag (`W/"…"`) never matches; a tag given without its quotes is
/// taken as the quoted one.
fn matches_version(if_match: &str, current: &str) -> bool {
    let if_match = if_match.trim();
    if if_match == "*" {
        return true;
    }
    if_match.split(',').map(str::trim).any(|tag| {
        if tag.starts_with("W/") {
            return false;
        }
        let tag = tag
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .unwrap_or(tag);
        !tag.is_empty() && tag == current
    })
}

/// The administrator's operations: summaries, a redacted view, versioned
/// create/update/enable/delete, and "test a token" (CONTRACT section 7),
/// on top of the owner of the configurations ([`Configs`]).
///
/// Every change goes through [`Configs::apply`], the call a host's own code
/// uses too: saved in the store first (applied to what it holds now), then
/// installed in the registry; a refused or failed save leaves both as they
/// were, so two administrators racing on one configuration get one success
/// and one `version_conflict`. What this type adds is the administrator's:
/// configurations as JSON text, secrets redacted in what it shows and kept
/// where a change sends them back redacted, `If-Match` preconditions,
/// confirmed deletes, the caller as `created_by`, and the token test.
///
/// ```
/// use jwt_sso::{Admin, Caller, ConfigFile, Configs, ErrorKind};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = std::env::temp_dir().join(format!("jwt-sso-admin-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&dir)?;
/// # let path = dir.join("configs.json");
/// std::fs::write(&path, "[]")?;
/// let admin = Admin::new(Configs::new(ConfigFile::new(&path)).load().await?);
///
/// let created = admin.create(r#"{"name": "ERP", "token_name": "token",
///     "algorithms": ["HS256"], "expiration_time": 3600, "claims": {"user_id": "sub"},
///     "key_source": {"type": "static", "secret": "a-shared-secret-of-32-bytes-or-more!"}}"#,
///     &Caller::AdminToken).await?;
/// assert_eq!(created.config["key_source"]["secret"], serde_json::json!({"redacted": true}));
/// assert_eq!(created.config["created_by"], "admin");
///
/// // A change needs the current version.
/// let stale = admin.set_enabled("erp", false, Some("\"old\"")).await.unwrap_err();
/// assert_eq!(stale.kind(), ErrorKind::VersionConflict);
/// admin.set_enabled("erp", false, Some(&format!("\"{}\"", created.version))).await?;
/// assert!(!admin.registry().get("ERP").unwrap().enabled);
/// // Saved before it was applied.
/// assert!(std::fs::read_to_string(&path)?.contains("\"enabled\": false"));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Admin {
    configs: Configs,
    catalog: Catalog,
}

impl Admin {
    /// The administrator's operations on the configurations `configs` owns.
    pub fn new(configs: Configs) -> Self {
        Admin {
            configs,
            catalog: Catalog::default(),
        }
    }

    /// The host's catalogue: the roles and user types it has (both empty by
    /// default: then any name is accepted). When a list is given, a
    /// configuration created or updated here whose `user_type`,
    /// `initial_roles`, or role rules' `roles` or `user_type` name something
    /// outside it is refused with a `config` error naming the field (e.g.
    /// `initial_roles[1]`, `role_rules[0].roles[0]`); names are compared
    /// exactly. Configurations loaded from a file or another instance are
    /// not checked.
    ///
    /// ```
    /// # use jwt_sso::{Admin, Caller, Configs, ErrorKind, MemoryConfigStore};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let admin = Admin::new(Configs::new(MemoryConfigStore::default()))
    ///     .with_catalog(["Viewer", "Analyst"], ["reader", "analyst"]);
    /// let typo = admin.create(r#"{"name": "ERP", "token_name": "token",
    ///     "algorithms": ["HS256"], "expiration_time": 3600, "claims": {"user_id": "sub"},
    ///     "key_source": {"type": "static", "secret": "a-shared-secret-of-32-bytes-or-more!"},
    ///     "initial_roles": ["Viewer", "Veiwer"]}"#, &Caller::AdminToken).await.unwrap_err();
    /// assert_eq!(typo.kind(), ErrorKind::Config);
    /// # let jwt_sso::AdminError::Config(e) = typo else { panic!() };
    /// assert_eq!(e.field(), "initial_roles[1]");
    /// assert_eq!(admin.catalog_roles(), ["Viewer", "Analyst"]);
    /// # }
    /// ```
    pub fn with_catalog(
        mut self,
        roles: impl IntoIterator<Item = impl Into<String>>,
        user_types: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.catalog = Catalog {
            roles: roles.into_iter().map(Into::into).collect(),
            user_types: user_types.into_iter().map(Into::into).collect(),
        };
        self
    }

    /// The host's roles ([`Admin::with_catalog`]; empty when not given).
    pub fn catalog_roles(&self) -> &[String] {
        &self.catalog.roles
    }

    /// The host's user types ([`Admin::with_catalog`]; empty when not given).
    pub fn catalog_user_types(&self) -> &[String] {
        &self.catalog.user_types
    }

    /// The owner of the configurations.
    pub fn configs(&self) -> &Configs {
        &self.configs
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<Registry> {
        self.configs.registry()
    }

    /// Every configuration, sorted by name, without secrets.
    pub fn list(&self) -> Vec<ConfigSummary> {
        self.registry()
            .list()
            .iter()
            .map(ConfigSummary::of)
            .collect()
    }

    /// The configuration called `name` (any case), redacted, with its
    /// version and warnings. Unknown `name` is `unknown_config`.
    pub fn view(&self, name: &str) -> Result<ConfigView, AdminError> {
        let stored = self.get(name)?;
        Ok(self.view_of(stored))
    }

    fn view_of(&self, stored: StoredConfig) -> ConfigView {
        ConfigView {
            config: redact(&stored.config),
            warnings: self.warnings(&stored.config),
            version: stored.version,
        }
    }

    /// The audience and disabled notes, then the registry's routing warnings.
    fn warnings(&self, config: &JwtConfig) -> Vec<String> {
        let mut out = warnings(config);
        let key = config.name.to_lowercase();
        out.extend(
            self.registry()
                .warnings()
                .into_iter()
                .filter(|w| w.config.to_lowercase() == key)
                .map(|w| w.message),
        );
        out
    }

    fn get(&self, name: &str) -> Result<StoredConfig, AdminError> {
        self.configs.get(name).ok_or_else(|| self.unknown(name))
    }

    fn unknown(&self, name: &str) -> AdminError {
        AdminError::unknown(name, self.registry().names())
    }

    /// Creates a configuration from its JSON text: `created_by` from
    /// `caller`, `last_modified` now, a fresh stable id. Invalid is
    /// `config` (its field names the place); a taken name (any case) is
    /// `duplicate_name`.
    pub async fn create(&self, body: &str, caller: &Caller) -> Result<ConfigView, AdminError> {
        let mut config = parse_config(body, None)?;
        config.created_by = Some(caller.created_by().to_owned());
        config.clone().validate()?;
        self.catalog.check(&config)?;
        let stored = self.configs.apply(ConfigChange::Create(config)).await?;
        Ok(self.view_of(stored))
    }

    /// Replaces the configuration called `name` with the JSON text `body`
    /// (which may rename it), if `if_match` names its current version.
    /// Secrets sent as `{"redacted":true}` keep the stored ones; `created_by`
    /// is kept and `last_modified` set to now.
    ///
    /// No `if_match` is `precondition_required`; a stale one is
    /// `version_conflict` and changes nothing.
    pub async fn update(
        &self,
        name: &str,
        body: &str,
        if_match: Option<&str>,
    ) -> Result<ConfigView, AdminError> {
        let old = self.current(name, if_match)?;
        let config = parse_config(body, Some(&old.config))?;
        config.clone().validate()?;
        self.catalog.check(&config)?;
        self.replace(old, config).await
    }

    /// Enables or disables the configuration called `name`, if `if_match`
    /// names its current version (as [`Admin::update`]).
    pub async fn set_enabled(
        &self,
        name: &str,
        enabled: bool,
        if_match: Option<&str>,
    ) -> Result<ConfigView, AdminError> {
        let old = self.current(name, if_match)?;
        let mut config = old.config.clone();
        config.enabled = enabled;
        self.replace(old, config).await
    }

    async fn replace(
        &self,
        old: StoredConfig,
        config: JwtConfig,
    ) -> Result<ConfigView, AdminError> {
        let change = ConfigChange::Update {
            name: old.config.name.to_string(),
            version: old.version,
            config,
        };
        let stored = self.configs.apply(change).await?;
        Ok(self.view_of(stored))
    }

    /// Deletes the configuration called `name` when `confirm` is its name
    /// (compared without regard to case, as names are); otherwise
    /// `confirmation_required`. Returns the deleted configuration.
    pub async fn delete(&self, name: &str, confirm: Option<&str>) -> Result<JwtConfig, AdminError> {
        let old = self.get(name)?;
        if confirm.map(str::to_lowercase) != Some(old.config.name.to_lowercase()) {
            return Err(AdminError::ConfirmationRequired {
                config: old.config.name.to_string(),
            });
        }
        let change = ConfigChange::Delete {
            name: old.config.name.to_string(),
        };
        Ok(self.configs.apply(change).await?.config)
    }

    /// Checks `token` against the configuration called `name`, step by step
    /// (CONTRACT section 2), at `now` or the registry's time, with the
    /// token's decoded header and claims (shown whether or not it verifies:
    /// the administrator pasted it) and, for a rotated secret, the position
    /// of the secret that verifies it. A dry run: no user is created, no
    /// `jti` is used up, no session starts.
    pub async fn test(
        &self,
        name: &str,
        token: &str,
        now: Option<UnixTime>,
    ) -> Result<Checklist, AdminError> {
        let verifier = self
            .registry()
            .verifier(name)
            .ok_or_else(|| self.unknown(name))?;
        let now = now.unwrap_or_else(|| self.registry().clock_now());
        let result = verifier.verify_at_async(token, now).await;
        Ok(Checklist::from_result(result).with_inspection(verifier.inspect(token)))
    }

    /// The configuration called `name`, if `if_match` names its version.
    fn current(&self, name: &str, if_match: Option<&str>) -> Result<StoredConfig, AdminError> {
        let old = self.get(name)?;
        let Some(if_match) = if_match else {
            return Err(AdminError::PreconditionRequired {
                config: old.config.name.to_string(),
            });
        };
        if !matches_version(if_match, &old.version) {
            return Err(AdminError::VersionConflict {
                config: old.config.name.to_string(),
                expected: if_match.trim().to_owned(),
                current: old.version,
            });
        }
        Ok(old)
    }
}

/// The notes of one configuration alone (routing notes come from the registry).
fn warnings(config: &JwtConfig) -> Vec<String> {
    let mut out = Vec::new();
    if config.audience.is_none() {
        out.push(
            "no `audience` is set: tokens the issuer made for any other service are accepted too; set the audience this server expects".to_owned(),
        );
    }
    if !config.enabled {
        out.push(
            "the configuration is disabled: every token is refused with `disabled`".to_owned(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_compares_strongly_and_accepts_lists_and_star() {
        assert!(matches_version("\"abc\"", "abc"));
        assert!(matches_version("abc", "abc"));
        assert!(matches_version("\"x\", \"abc\"", "abc"));
        assert!(matches_version(" * ", "abc"));
        // RFC 9110 13.1.1: If-Match uses the strong comparison, so a weak
        // tag never matches, even with the same opaque tag.
        assert!(!matches_version("W/\"abc\"", "abc"));
        assert!(!matches_version("W/\"x\", W/\"abc\"", "abc"));
        assert!(!matches_version("\"abd\"", "abc"));
        assert!(!matches_version("", "abc"));
        assert!(!matches_version("\"\"", ""));
    }

    #[test]
    fn redaction_hides_text_and_base64_secrets_and_jwk_secret_members() {
        let text = JwtConfig::parse_json_list(
            r#"{"name": "A", "token_name": "t", "algorithms": ["HS256"], "expiration_time": 1,
                "key_source": {"type": "static", "secret": {"base64": "c2VjcmV0"}}, "claims": {"user_id": "sub"}}"#,
        )
        .unwrap()
        .remove(0);
        let view = redact(&text);
        assert_eq!(view["key_source"]["secret"], redacted());
        assert!(!view.to_string().contains("c2VjcmV0"));

        let env = JwtConfig::parse_json_list(
            r#"{"name": "A", "token_name": "t", "algorithms": ["HS256"], "expiration_time": 1,
                "key_source": {"type": "static", "secret": {"env": "VAR"}}, "claims": {"user_id": "sub"}}"#,
        )
        .unwrap()
        .remove(0);
        assert_eq!(
            redact(&env)["key_source"]["secret"],
            serde_json::json!({"env": "VAR"})
        );

        let jwks = JwtConfig::parse_json_list(
            r#"{"name": "A", "token_name": "t", "algorithms": ["HS256"], "expiration_time": 1,
                "key_source": {"type": "jwks", "jwks": {"keys": [{"kty": "oct", "kid": "1", "k": "c2VjcmV0"}]}},
                "claims": {"user_id": "sub"}}"#,
        )
        .unwrap()
        .remove(0);
        let mut view = redact(&jwks);
        assert_eq!(view["key_source"]["jwks"]["keys"][0]["k"], redacted());
        restore(&mut view, &jwks).unwrap();
        assert_eq!(view["key_source"]["jwks"]["keys"][0]["k"], "c2VjcmV0");
    }

    #[test]
    fn a_marker_without_a_stored_secret_names_the_field() {
        let stored = JwtConfig::parse_json_list(
            r#"{"name": "A", "token_name": "t", "algorithms": ["HS256"], "expiration_time": 1,
                "key_source": {"type": "jwks_uri", "url": "https://idp.example.com/jwks"}, "claims": {"user_id": "sub"}}"#,
        )
        .unwrap()
        .remove(0);
        let mut sent =
            serde_json::json!({"key_source": {"type": "static", "secret": {"redacted": true}}});
        match restore(&mut sent, &stored) {
            Err(e) => assert_eq!(e.field(), "key_source.secret"),
            other => panic!("{other:?}"),
        }
    }
}
