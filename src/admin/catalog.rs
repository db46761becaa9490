//! The host's catalogue of roles and user types (CONTRACT section 7): what
//! the administrator's saves may name, and what the console offers as
//! choices. Empty (the default) means the host gave none: anything goes.

use crate::config::JwtConfig;
use crate::error::{ConfigError, escape_controls};

/// The roles and user types a host has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Catalog {
    pub(crate) roles: Vec<String>,
    pub(crate) user_types: Vec<String>,
}

impl Catalog {
    /// `config`'s `user_type`, `initial_roles` and role rules' `roles` and
    /// `user_type`, each checked against the catalogue (a part the host gave
    /// nothing for is not checked); the first name outside it is a `config`
    /// error at its field (`initial_roles[1]`, `role_rules[0].roles[0]`).
    pub(crate) fn check(&self, config: &JwtConfig) -> Result<(), ConfigError> {
        self.user_type("user_type", &config.user_type)?;
        for (i, role) in config.initial_roles.iter().enumerate() {
            self.role(&format!("initial_roles[{i}]"), role)?;
        }
        for (i, rule) in config.role_rules.iter().enumerate() {
            for (j, role) in rule.roles.iter().enumerate() {
                self.role(&format!("role_rules[{i}].roles[{j}]"), role)?;
            }
            if let Some(user_type) = &rule.user_type {
                self.user_type(&format!("role_rules[{i}].user_type"), user_type)?;
            }
        }
        Ok(())
    }

    fn role(&self, field: &str, role: &str) -> Result<(), ConfigError> {
        check(field, role, &self.roles, "role")
    }

    fn user_type(&self, field: &str, user_type: &str) -> Result<(), ConfigError> {
        check(field, user_type, &self.user_types, "user type")
    }
}

fn check(field: &str, name: &str, known: &[String], what: &str) -> Result<(), ConfigError> {
    if known.is_empty() || known.iter().any(|k| k == name) {
        return Ok(());
    }
    let choices = known
        .iter()
        .map(|k| format!("`{}`", escape_controls(k)))
        .collect::<Vec<_>>()
        .join(", ");
    Err(ConfigError::new(
        field,
        format!(
            "`{}` is not one of this server's {what}s",
            escape_controls(name)
        ),
        format!(
            "choose one of the {what}s this server has (names are compared exactly): {choices}"
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: serde_json::Value) -> JwtConfig {
        let mut value = serde_json::json!({
            "name": "A", "token_name": "t", "algorithms": ["HS256"], "expiration_time": 1,
            "key_source": {"type": "static", "secret": "0123456789abcdef0123456789abcdef"},
            "claims": {"user_id": "sub"}
        });
        for (k, v) in extra.as_object().unwrap() {
            value[k] = v.clone();
        }
        JwtConfig::from_json_str(&value.to_string()).unwrap()
    }

    #[test]
    fn an_empty_catalogue_allows_anything_and_a_given_one_names_the_field() {
        let typo = config(
            serde_json::json!({"user_type": "reeder", "initial_roles": ["Viewer", "Veiwer"]}),
        );
        assert_eq!(Catalog::default().check(&typo), Ok(()));
        let roles_only = Catalog {
            roles: vec!["Viewer".into()],
            user_types: vec![],
        };
        assert_eq!(
            roles_only.check(&typo).unwrap_err().field(),
            "initial_roles[1]"
        );
        let both = Catalog {
            roles: vec!["Viewer".into(), "Veiwer".into()],
            user_types: vec!["reader".into()],
        };
        let err = both.check(&typo).unwrap_err();
        assert_eq!(err.field(), "user_type");
        assert!(err.problem().contains("`reeder`"), "{err}");
        assert!(err.fix().contains("`reader`"), "{err}");
    }
}
