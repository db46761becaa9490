//! The rules of CONTRACT section 1 that need no key material.

use std::collections::HashSet;

use super::role_rules::check_role_rules;
use super::{Algorithm, JwtConfig, KeySource, MAX_NAME_CHARS, StaticKey};
use crate::error::{ConfigError, escape_controls};

/// The most secrets of a rotation (`"secret": [ … ]`).
pub(crate) const MAX_SECRETS: usize = 3;

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

/// CONTRACT section 1: every rule that needs no key material. Returns the
/// checked allowlist.
pub(crate) fn check_rules(config: &JwtConfig) -> Result<Vec<Algorithm>, ConfigError> {
    if let Some(id) = &config.id
        && (id.trim().is_empty()
            || id.chars().count() > MAX_NAME_CHARS
            || id.chars().any(char::is_control))
    {
        return Err(ConfigError::new(
            "id",
            format!(
                "the id `{}` is empty, longer than {MAX_NAME_CHARS} characters or holds a control character",
                escape_controls(id)
            ),
            "leave `id` out (it defaults to the name in lower case), or keep the one the registry set when the configuration was renamed",
        ));
    }
    for (field, value) in [("issuer", &config.issuer), ("audience", &config.audience)] {
        if value.as_deref().is_some_and(str::is_empty) {
            return Err(ConfigError::new(
                field,
                format!("{field} is an empty string"),
                format!(
                    "set {field} to the exact value tokens carry, or remove it to not check it"
                ),
            ));
        }
    }
    let algorithms = check_algorithms(&config.algorithms)?;
    if config.expiration_time == 0 {
        return Err(ConfigError::new(
            "expiration_time",
            "expiration_time is 0",
            "set expiration_time to the longest validity period accepted, in seconds (e.g. 3600)",
        ));
    }
    if config.max_token_bytes == 0 {
        return Err(ConfigError::new(
            "max_token_bytes",
            "max_token_bytes is 0, so every token would be refused",
            "remove max_token_bytes to use the default 16384, or set a positive size",
        ));
    }
    let claims = &config.claims;
    let named = [
        ("claims.user_id", Some(&claims.user_id)),
        ("claims.name", claims.name.as_ref()),
        ("claims.email", claims.email.as_ref()),
        ("claims.roles", claims.roles.as_ref()),
    ];
    for (field, name) in named {
        if let Some(name) = name {
            check_claim_name(name).map_err(|problem| {
                ConfigError::new(
                    field,
                    format!("the claim name {problem}"),
                    "name a top-level claim (e.g. \"sub\") or a JSON Pointer (e.g. \"/realm_access/roles\")",
                )
            })?;
        }
    }
    let mut slots = HashSet::new();
    for (i, prompt) in config.system_prompts.iter().enumerate() {
        let field = format!("system_prompts[{i}].slot");
        let max = prompt.kind.slots();
        if prompt.slot < 1 || prompt.slot > max {
            return Err(ConfigError::new(
                field,
                format!("{} slot {} is out of range", prompt.kind, prompt.slot),
                format!("use a {} slot from 1 to {max}", prompt.kind),
            ));
        }
        if !slots.insert((prompt.kind, prompt.slot)) {
            return Err(ConfigError::new(
                field,
                format!("{} slot {} is mapped twice", prompt.kind, prompt.slot),
                "map each (kind, slot) once; pick a free slot for the second claim",
            ));
        }
        check_claim_name(&prompt.claim).map_err(|problem| {
            ConfigError::new(
                format!("system_prompts[{i}].claim"),
                format!("the claim name {problem}"),
                "name the claim to copy into the prompt",
            )
        })?;
    }
    if config.user_type.trim().is_empty() {
        return Err(ConfigError::new(
            "user_type",
            "user_type is empty",
            "name one of the host's user types, e.g. \"reader\", or remove the field for the default",
        ));
    }
    if config.initial_roles.iter().any(|r| r.trim().is_empty()) {
        return Err(ConfigError::new(
            "initial_roles",
            "a role name is empty",
            "remove the empty entry from initial_roles",
        ));
    }
    if let KeySource::Static(StaticKey::Secrets(secrets)) = &config.key_source
        && !(1..=MAX_SECRETS).contains(&secrets.len())
    {
        return Err(ConfigError::new(
            "key_source.secret",
            format!(
                "{} secrets are given; a rotation holds 1 to {MAX_SECRETS}",
                secrets.len()
            ),
            "keep the secret the sender signs with now and, while rotating, the one it will sign with next (at most three); give a single secret as a plain value",
        ));
    }
    check_role_rules(config)?;
    if matches!(config.key_source, KeySource::Issuer {}) && config.issuer.is_none() {
        return Err(ConfigError::new(
            "issuer",
            "key_source type `issuer` needs the configuration's `issuer`",
            "set issuer to the identity provider's issuer URL (discovery reads {issuer}/.well-known/openid-configuration)",
        ));
    }
    if config.bearer && config.single_use {
        return Err(ConfigError::new(
            "bearer",
            "`bearer: true` and `single_use: true` together: a token that may be used once cannot be sent again with every request",
            "remove `bearer` (log in once with the token and use the session) or remove `single_use`",
        ));
    }
    if let Some(url) = &config.logout_url {
        check_logout_url(url)?;
    }
    Ok(algorithms)
}

const LOGOUT_URL_FIX: &str = "set logout_url to an https:// URL (plain http only to 127.0.0.1, ::1 or localhost), or remove it to send the browser to `/`";

/// `logout_url`: the rules of remote key sources (https, plain http only to
/// loopback, no credentials in the URL).
fn check_logout_url(url: &str) -> Result<(), ConfigError> {
    #[cfg(feature = "remote")]
    super::url_rules::check_url(url)
        .map_err(|problem| ConfigError::new("logout_url", problem, LOGOUT_URL_FIX))?;
    #[cfg(not(feature = "remote"))]
    {
        // Without the URL parser of `remote`: https only.
        if !url.to_ascii_lowercase().starts_with("https://")
            || url.len() <= "https://".len()
            || url.chars().any(|c| c.is_control() || c == ' ')
        {
            return Err(ConfigError::new(
                "logout_url",
                format!("`{}` is not an https URL", escape_controls(url)),
                LOGOUT_URL_FIX,
            ));
        }
    }
    Ok(())
}

/// The allowlist rules that a typed list can still break: empty, or an
/// algorithm listed twice (`none`, `ES512` and unknown names cannot be
/// read into an [`Algorithm`]).
fn check_algorithms(algorithms: &[Algorithm]) -> Result<Vec<Algorithm>, ConfigError> {
    const FIELD: &str = "algorithms";
    if algorithms.is_empty() {
        let supported = Algorithm::ALL.map(Algorithm::as_str).join(", ");
        return Err(ConfigError::new(
            FIELD,
            "the list of allowed algorithms is empty",
            format!("allow the algorithm the sender signs with: one of {supported}"),
        ));
    }
    for (i, alg) in algorithms.iter().enumerate() {
        if algorithms[..i].contains(alg) {
            return Err(ConfigError::new(
                FIELD,
                format!("{alg} is listed twice"),
                format!("list each algorithm once, e.g. [\"{alg}\"]"),
            ));
        }
    }
    Ok(algorithms.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claim_names_and_pointers() {
        assert!(check_claim_name("/a~2").is_err());
        assert!(check_claim_name("/a~").is_err());
        assert!(check_claim_name("/a~0~1").is_ok());
        assert!(check_claim_name("").is_err());
        assert!(check_claim_name("sub").is_ok());
    }
}
