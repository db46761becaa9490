//! OpenID Connect Discovery 1.0: the provider metadata document at
//! `{issuer}/.well-known/openid-configuration`. Only `issuer` (which must
//! equal the configured issuer exactly, section 4.3) and `jwks_uri` (subject
//! to the same URL rules as a configured one) are used.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::config::url_rules::check_url;
use crate::error::untrusted;

/// A validated discovery result, cached like a key set.
#[derive(Debug, Clone)]
pub(crate) struct Discovered {
    pub(crate) jwks_url: Url,
    pub(crate) fresh_until: Duration,
    pub(crate) usable_until: Duration,
}

/// Checks a discovery document and returns its `jwks_uri`.
pub(crate) fn parse_discovery(body: &[u8], expected_issuer: &str) -> Result<Url, String> {
    let doc: Value = serde_json::from_slice(body)
        .map_err(|e| format!("the discovery document is not valid JSON ({e})"))?;
    let doc = doc
        .as_object()
        .ok_or_else(|| "the discovery document is not a JSON object".to_owned())?;
    let issuer = match doc.get("issuer") {
        Some(Value::String(issuer)) => issuer,
        Some(_) => return Err("the discovery document's `issuer` is not a string".to_owned()),
        None => return Err("the discovery document has no `issuer`".to_owned()),
    };
    if issuer != expected_issuer {
        return Err(format!(
            "the discovery document's issuer `{}` does not equal the configured issuer `{}` (OpenID Connect Discovery 1.0 section 4.3: they must match exactly)",
            untrusted(issuer),
            untrusted(expected_issuer)
        ));
    }
    let jwks_uri = match doc.get("jwks_uri") {
        Some(Value::String(uri)) => uri,
        Some(_) => return Err("the discovery document's `jwks_uri` is not a string".to_owned()),
        None => return Err("the discovery document has no `jwks_uri`".to_owned()),
    };
    check_url(jwks_uri).map_err(|problem| format!("the discovery document's jwks_uri: {problem}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISS: &str = "https://idp.example.com/realms/x";

    #[test]
    fn takes_jwks_uri_when_the_issuer_matches_exactly() {
        let doc = br#"{"issuer":"https://idp.example.com/realms/x","jwks_uri":"https://keys.example.com/certs"}"#;
        assert_eq!(
            parse_discovery(doc, ISS).unwrap().as_str(),
            "https://keys.example.com/certs"
        );
    }

    #[test]
    fn refuses_mismatches_and_bad_shapes() {
        let cases: [&[u8]; 8] = [
            br#"{"issuer":"https://idp.example.com/realms/x/","jwks_uri":"https://k/c"}"#,
            br#"{"issuer":"https://IDP.example.com/realms/x","jwks_uri":"https://k/c"}"#,
            br#"{"jwks_uri":"https://k/c"}"#,
            br#"{"issuer":"https://idp.example.com/realms/x"}"#,
            br#"{"issuer":"https://idp.example.com/realms/x","jwks_uri":"http://evil.example.com/c"}"#,
            br#"{"issuer":"https://idp.example.com/realms/x","jwks_uri":7}"#,
            br#"[1,2]"#,
            b"<html>",
        ];
        for case in cases {
            assert!(
                parse_discovery(case, ISS).is_err(),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
        let long = format!(
            r#"{{"issuer":"{}","jwks_uri":"https://k/c"}}"#,
            "x".repeat(10_000)
        );
        assert!(parse_discovery(long.as_bytes(), ISS).unwrap_err().len() < 600);
    }
}
