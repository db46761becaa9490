//! Which URLs may be fetched: HTTPS anywhere, plain HTTP only to loopback
//! hosts, no credentials in the URL, and redirects that stay on the origin of
//! the URL they started from. URLs only ever come from the configuration (or
//! from the discovery document of the configured issuer), never from a token.

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::untrusted;

/// Checks a URL against the rules; the error says what is wrong, for a
/// `config` or `key_fetch` message.
pub(crate) fn check_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text)
        .map_err(|e| format!("`{}` is not an absolute URL ({e})", untrusted(text)))?;
    check_parsed(&url)?;
    Ok(url)
}

fn check_parsed(url: &Url) -> Result<(), String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{}` carries credentials; they would end up in logs and error messages",
            untrusted(&redacted(url))
        ));
    }
    let shown = untrusted(url.as_str());
    let host = url.host().ok_or_else(|| format!("`{shown}` has no host"))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&host) => Ok(()),
        "http" => Err(format!(
            "`{shown}` uses plain http to a host that is not loopback; use https (plain http is accepted only for 127.0.0.0/8, ::1 and localhost)"
        )),
        other => Err(format!(
            "`{shown}` uses the scheme `{}`; only https is supported",
            untrusted(other)
        )),
    }
}

/// 127.0.0.0/8, ::1 (and ::ffff:127.x.y.z) or `localhost`.
fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).to_canonical().is_loopback(),
    }
}

/// A redirect from `from` to `location` is followed only when it stays on the
/// same scheme, host and port and passes [`check_url`].
pub(crate) fn check_redirect(from: &Url, location: &str) -> Result<Url, String> {
    let target = from.join(location).map_err(|e| {
        format!(
            "redirect to `{}` is not a valid URL ({e})",
            untrusted(location)
        )
    })?;
    let same_origin = target.scheme() == from.scheme()
        && target.host() == from.host()
        && target.port_or_known_default() == from.port_or_known_default();
    if !same_origin {
        return Err(format!(
            "redirect to `{}` refused: a redirect must stay on the same scheme, host and port",
            untrusted(&redacted(&target))
        ));
    }
    check_parsed(&target)?;
    Ok(target)
}

/// The URL without user name and password, for messages.
fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

/// `{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery 1.0
/// section 4: a terminating `/` of the issuer is removed first).
pub(crate) fn discovery_url(issuer: &str) -> Result<Url, String> {
    let base = check_url(issuer)?;
    if base.query().is_some() || base.fragment().is_some() {
        return Err(format!(
            "the issuer `{}` has a query or fragment, which an OpenID issuer never has",
            untrusted(issuer)
        ));
    }
    check_url(&format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_http_only_to_loopback() {
        assert!(check_url("https://idp.example.com/jwks").is_ok());
        for ok in [
            "http://127.0.0.1:8080/jwks",
            "http://127.1.2.3/jwks",
            "http://[::1]:9/jwks",
            "http://localhost:1/jwks",
            "http://LOCALHOST/jwks",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://idp.example.com/jwks",
            "http://10.0.0.1/jwks",
            "http://localhost.example.com/jwks",
            "http://128.0.0.1/jwks",
            "ftp://127.0.0.1/jwks",
            "file:///etc/passwd",
            "https://user:pw@idp.example.com/jwks",
            "/relative/jwks",
            "",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        let err = check_url("https://user:hunter2@idp.example.com/").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn redirects_stay_on_the_origin() {
        let from = Url::parse("https://idp.example.com/old").unwrap();
        assert_eq!(
            check_redirect(&from, "/new").unwrap().as_str(),
            "https://idp.example.com/new"
        );
        assert!(check_redirect(&from, "https://idp.example.com:443/x").is_ok());
        assert!(check_redirect(&from, "https://evil.example.com/x").is_err());
        assert!(check_redirect(&from, "http://idp.example.com/x").is_err());
        assert!(check_redirect(&from, "https://idp.example.com:8443/x").is_err());
        let local = Url::parse("http://127.0.0.1:8080/a").unwrap();
        assert!(check_redirect(&local, "http://localhost:8080/a").is_err());
        assert!(check_redirect(&local, "b").is_ok());
    }

    /// Provider text in these messages is escaped and cut (issue 20).
    #[test]
    fn provider_urls_in_messages_are_escaped_and_cut() {
        let forged = format!("\u{1b}[2K\rFORGED-LINE\n{}", "Z".repeat(5_000));
        let from = Url::parse("https://idp.example.com/old").unwrap();
        for message in [
            check_url(&forged).unwrap_err(),
            check_url(&format!("ftp://idp.example.com/{forged}")).unwrap_err(),
            check_redirect(&from, &format!("https://evil.example.com/{forged}")).unwrap_err(),
            check_redirect(&from, &format!("http://[{forged}")).unwrap_err(),
        ] {
            assert!(!message.chars().any(char::is_control), "{message:?}");
            assert!(message.contains("characters in all)"), "{message}");
            assert!(message.chars().count() < 500, "{message}");
        }
    }

    #[test]
    fn discovery_url_drops_a_trailing_slash() {
        assert_eq!(
            discovery_url("https://idp.example.com/realms/x/")
                .unwrap()
                .as_str(),
            "https://idp.example.com/realms/x/.well-known/openid-configuration"
        );
        assert_eq!(
            discovery_url("https://idp.example.com").unwrap().as_str(),
            "https://idp.example.com/.well-known/openid-configuration"
        );
        assert!(discovery_url("http://idp.example.com").is_err());
        assert!(discovery_url("https://idp.example.com/?a=b").is_err());
    }
}
