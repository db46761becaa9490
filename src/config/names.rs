//! The strings of a configuration that have rules of their own: its name,
//! the token's name, and a remote key source's URL. Each is a newtype that
//! only a value passing its rules becomes (CONTRACT section 1); in JSON and
//! TOML they stay plain strings.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, escape_controls};

/// Longest name, in characters.
pub(crate) const MAX_NAME_CHARS: usize = 64;

thread_local! {
    /// The last value a newtype refused while being deserialised on this
    /// thread (deserialisation is synchronous, so the parser that called
    /// serde finds it here).
    static REFUSED: RefCell<Option<ConfigError>> = const { RefCell::new(None) };
}

/// Takes the error of the last value a newtype refused on this thread.
pub(crate) fn take_refused() -> Option<ConfigError> {
    REFUSED.with(|refused| refused.borrow_mut().take())
}

macro_rules! string_newtype {
    ($name:ident) => {
        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&self.0, f)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }

        impl FromStr for $name {
            type Err = ConfigError;

            fn from_str(text: &str) -> Result<Self, ConfigError> {
                $name::new(text)
            }
        }

        // serde's error is text: it carries the problem alone, and the
        // typed error waits beside it for the configuration parser (a
        // derived `try_from` would repeat "invalid configuration: <field>: "
        // inside the message and lose the fix).
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::new(text).map_err(|e| {
                    let problem = e.problem().to_owned();
                    REFUSED.with(|refused| *refused.borrow_mut() = Some(e));
                    serde::de::Error::custom(problem)
                })
            }
        }

        impl TryFrom<String> for $name {
            type Error = ConfigError;

            fn try_from(text: String) -> Result<Self, ConfigError> {
                $name::new(text)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = ConfigError;

            fn try_from(text: &str) -> Result<Self, ConfigError> {
                $name::new(text)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

/// A configuration's name: 1–64 characters, not only white space, without
/// control characters. Names are unique in a registry without regard to
/// case.
///
/// ```
/// use jwt_sso::ConfigName;
///
/// let name: ConfigName = "ERP".parse()?;
/// assert_eq!(name, "ERP");
/// let err = ConfigName::new("x".repeat(65)).unwrap_err();
/// assert_eq!(err.field(), "name");
/// assert!(err.problem().contains("65 characters"));
/// # Ok::<(), jwt_sso::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct ConfigName(String);

string_newtype!(ConfigName);

impl ConfigName {
    /// `name`, when it follows the rules (else a `config` error about `name`).
    pub fn new(name: impl Into<String>) -> Result<Self, ConfigError> {
        let name = name.into();
        let chars = name.chars().count();
        if name.trim().is_empty() {
            return Err(ConfigError::new(
                "name",
                "the name is empty",
                "give the configuration a name of 1–64 characters",
            ));
        }
        if chars > MAX_NAME_CHARS {
            return Err(ConfigError::new(
                "name",
                format!("the name has {chars} characters, more than {MAX_NAME_CHARS}"),
                "shorten the name to at most 64 characters",
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ConfigError::new(
                "name",
                format!(
                    "the name `{}` holds a control character",
                    escape_controls(&name)
                ),
                "use a name of printable characters only (no line breaks, tabs or escape codes)",
            ));
        }
        Ok(ConfigName(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fix for a `name` serde refuses by type (a number, a list).
pub(crate) const CONFIG_NAME_FIX: &str = "give the configuration a name of 1–64 printable characters (no line breaks, tabs or escape codes)";

/// The name a token travels under: 1–64 of the ASCII letters, digits, `-`,
/// `_` and `.`, so that it is safe as a query or form parameter, a cookie
/// and a header name alike.
///
/// ```
/// use jwt_sso::TokenName;
///
/// assert_eq!("jwt_token".parse::<TokenName>()?, "jwt_token");
/// assert_eq!("to&ken=".parse::<TokenName>().unwrap_err().field(), "token_name");
/// # Ok::<(), jwt_sso::ConfigError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct TokenName(String);

string_newtype!(TokenName);

impl TokenName {
    /// `name`, when it follows the rules (else a `config` error about
    /// `token_name`).
    pub fn new(name: impl Into<String>) -> Result<Self, ConfigError> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(ConfigError::new(
                "token_name",
                "the token name is empty",
                "set token_name to the parameter, cookie or header name the token travels under, e.g. \"token\"",
            ));
        }
        let chars = name.chars().count();
        if chars > MAX_NAME_CHARS {
            return Err(ConfigError::new(
                "token_name",
                format!("the token name has {chars} characters, more than {MAX_NAME_CHARS}"),
                "shorten token_name to at most 64 characters",
            ));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(ConfigError::new(
                "token_name",
                format!(
                    "the token name `{}` holds the character {:?}, which is not safe in a query or form parameter, cookie and header name",
                    escape_controls(&name),
                    bad
                ),
                "use only ASCII letters, digits, `-`, `_` and `.` in token_name, e.g. \"token\" or \"jwt_token\"",
            ));
        }
        Ok(TokenName(name))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fix for a `token_name` serde refuses by type.
pub(crate) const TOKEN_NAME_FIX: &str = "set token_name to the parameter, cookie or header name the token travels under: 1–64 of the ASCII letters, digits, `-`, `_` and `.`, e.g. \"token\" or \"jwt_token\"";

/// The URL of a remote JWK Set (`key_source.url`): HTTPS, or plain HTTP to
/// a loopback host (`127.0.0.0/8`, `::1`, `localhost`), without credentials
/// (CONTRACT section 1). The rules are checked with the cargo feature
/// `remote`; without it a remote key source is refused by
/// [`JwtConfig::validate`](crate::JwtConfig::validate) anyway.
///
/// ```
/// # #[cfg(feature = "remote")] {
/// use jwt_sso::RemoteUrl;
///
/// assert!("https://idp.example.com/jwks".parse::<RemoteUrl>().is_ok());
/// assert!("http://127.0.0.1:8080/jwks".parse::<RemoteUrl>().is_ok());
/// let err = "http://idp.example.com/jwks".parse::<RemoteUrl>().unwrap_err();
/// assert_eq!(err.field(), "key_source.url");
/// # }
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct RemoteUrl(String);

string_newtype!(RemoteUrl);

impl RemoteUrl {
    /// `url`, when it follows the rules (else a `config` error about
    /// `key_source.url`).
    pub fn new(url: impl Into<String>) -> Result<Self, ConfigError> {
        let url = url.into();
        #[cfg(feature = "remote")]
        super::url_rules::check_url(&url)
            .map_err(|problem| ConfigError::new("key_source.url", problem, REMOTE_URL_FIX))?;
        #[cfg(not(feature = "remote"))]
        if url.trim().is_empty() {
            return Err(ConfigError::new(
                "key_source.url",
                "the URL is empty",
                REMOTE_URL_FIX,
            ));
        }
        Ok(RemoteUrl(url))
    }

    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The fix of every error about `key_source.url`.
pub(crate) const REMOTE_URL_FIX: &str = "set key_source.url to the provider's https:// JWK Set URL (plain http only to 127.0.0.1, ::1 or localhost)";
