//! Administering configurations: the error type of every change to a set of
//! configurations ([`AdminError`], always available), the one owner of
//! configuration state (`Configs`) and the administrator's operations on top
//! of it (`Admin`) (cargo feature `admin`).

use crate::error::StoreError;
use crate::error::{ConfigError, Error, ErrorKind, duplicate_message, list, untrusted};

#[cfg(feature = "admin")]
mod catalog;
#[cfg(feature = "admin")]
mod configs;
#[cfg(feature = "admin")]
mod ops;

#[cfg(feature = "admin")]
pub use configs::Configs;
#[cfg(feature = "admin")]
pub use ops::{Admin, Caller, ConfigSummary, ConfigView};

/// Why a change to the configurations, or an administrator's request, was
/// refused: the administrator's kinds (CONTRACT section 7), an invalid
/// configuration, a store or file that failed.
///
/// Returned by [`Registry`](crate::Registry)'s loading methods, by the
/// owner of the configurations (`Configs`) and by the administrator's
/// operations. [`AdminError::kind`] is the same
/// flat [`ErrorKind`] as [`Error::kind`].
///
/// ```
/// use jwt_sso::{ErrorKind, Registry};
///
/// let two = r#"[
///   {"name": "ERP", "token_name": "token", "algorithms": ["HS256"],
///    "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///    "expiration_time": 3600, "claims": {"user_id": "sub"}},
///   {"name": "erp", "token_name": "token", "algorithms": ["HS256"],
///    "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///    "expiration_time": 3600, "claims": {"user_id": "sub"}}
/// ]"#;
/// let err = Registry::from_json_str(two).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::DuplicateName);
/// assert!(err.to_string().contains("compared without regard to case"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// No or a bad credential for an administrator's endpoint.
    #[error("{problem}")]
    #[non_exhaustive]
    Unauthorized {
        /// What is wrong with the credential (never the credential itself).
        problem: String,
    },
    /// A session without the administrator's role.
    #[error("{problem}")]
    #[non_exhaustive]
    Forbidden {
        /// Why access is refused.
        problem: String,
    },
    /// A conditional update named a version that is no longer current.
    #[error(
        "configuration `{config}` was changed by someone else (expected version {expected}, current version {current})"
    )]
    #[non_exhaustive]
    VersionConflict {
        /// The configuration's name.
        config: String,
        /// The version the change was based on.
        expected: String,
        /// The current version.
        current: String,
    },
    /// A change without the version it is based on (`If-Match`).
    #[error("changing configuration `{config}` needs its current version in `If-Match`")]
    #[non_exhaustive]
    PreconditionRequired {
        /// The configuration's name.
        config: String,
    },
    /// A delete without the right confirmation.
    #[error("deleting configuration `{config}` needs `confirm` set to its name")]
    #[non_exhaustive]
    ConfirmationRequired {
        /// The configuration's name.
        config: String,
    },
    /// The set already holds a configuration of that name (names are
    /// compared without regard to case).
    #[error("{}", duplicate_message(name, existing))]
    #[non_exhaustive]
    DuplicateName {
        /// The name that was given.
        name: String,
        /// The name of the configuration that holds it (it may differ in case).
        existing: String,
    },
    /// No configuration has that name.
    #[error(
        "no configuration is named `{}`; configurations: {}",
        untrusted(name),
        list(known)
    )]
    #[non_exhaustive]
    UnknownConfig {
        /// The name that was asked for.
        name: String,
        /// The names the set holds, sorted.
        known: Vec<String>,
    },
    /// A configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store of configurations failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A configuration file could not be read or written.
    #[error("cannot {action} `{path}`")]
    #[non_exhaustive]
    Io {
        /// `"read"` or `"write"`.
        action: &'static str,
        /// The file.
        path: String,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl AdminError {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AdminError::Unauthorized { .. } => ErrorKind::Unauthorized,
            AdminError::Forbidden { .. } => ErrorKind::Forbidden,
            AdminError::VersionConflict { .. } => ErrorKind::VersionConflict,
            AdminError::PreconditionRequired { .. } => ErrorKind::PreconditionRequired,
            AdminError::ConfirmationRequired { .. } => ErrorKind::ConfirmationRequired,
            AdminError::DuplicateName { .. } => ErrorKind::DuplicateName,
            AdminError::UnknownConfig { .. } => ErrorKind::UnknownConfig,
            AdminError::Config(_) => ErrorKind::Config,
            AdminError::Store(_) => ErrorKind::Store,
            AdminError::Io { .. } => ErrorKind::Io,
        }
    }

    /// What the administrator should change (a config error's own fix).
    pub fn hint(&self) -> &str {
        match self {
            AdminError::Config(e) => e.fix(),
            other => other.kind().hint(),
        }
    }

    /// `{"kind": …, "message": …, "hint": …}`, as [`Error::to_json`].
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind().as_str(),
            "message": self.to_string(),
            "hint": self.hint(),
        })
    }

    pub(crate) fn duplicate(name: &str, existing: &str) -> Self {
        AdminError::DuplicateName {
            name: name.to_owned(),
            existing: existing.to_owned(),
        }
    }

    #[cfg_attr(not(feature = "admin"), allow(dead_code))]
    pub(crate) fn unknown(name: &str, known: Vec<String>) -> Self {
        AdminError::UnknownConfig {
            name: name.to_owned(),
            known,
        }
    }
}

/// An [`Error`] that arises while administering: a config or store error
/// keeps its kind; any other (none of the operations give one) is carried
/// as a store failure with its source.
impl From<Error> for AdminError {
    fn from(error: Error) -> Self {
        match error {
            Error::Config(e) => AdminError::Config(e),
            Error::Store(e) => AdminError::Store(e),
            other => AdminError::Store(StoreError::failed(other)),
        }
    }
}
