//! A secret that never prints and is wiped from memory when dropped.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

/// A shared secret (or the text of one, such as its base64 form).
///
/// `Debug` and `Display` show `[redacted]`; the bytes are zeroized on drop.
/// Serialising a `Secret` writes its text, because a configuration saved to a
/// file must load again; keep such files as protected as the secret itself, or
/// use `{"env": "VAR"}` so that the file holds only a reference.
///
/// ```
/// use jwt_sso::Secret;
///
/// let secret = Secret::new("0123456789abcdef0123456789abcdef");
/// assert_eq!(format!("{secret:?}"), "[redacted]");
/// assert_eq!(secret.to_string(), "[redacted]");
/// assert_eq!(secret.expose().len(), 32);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret text.
    pub fn new(text: impl Into<String>) -> Self {
        Secret(Zeroizing::new(text.into()))
    }

    /// The secret text. Call it only to hand the secret to cryptography.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret::new)
    }
}
