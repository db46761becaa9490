//! Where a token comes from: the ways it reaches a server.
//!
//! Each helper takes the plain text a web framework hands over (a header
//! value, a query string, a form body) and returns the token, `None` when the
//! request does not carry one that way, or an error of kind `bad_request`
//! when it carries one badly. Error messages never contain the token.
//!
//! | where | helper |
//! |---|---|
//! | `Authorization: Bearer <jwt>` | [`bearer`] |
//! | `?<token_name>=<jwt>` in the URL | [`query_param`] |
//! | `<token_name>=<jwt>` in an `application/x-www-form-urlencoded` body | [`form_param`] |
//! | `Cookie: <token_name>=<jwt>` | [`cookie`] |
//! | the JSON login request (CONTRACT section 6) | [`LoginRequest`] |

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::HttpError as Error;
use crate::json::{parse_object, type_name};
use crate::secret::Secret;

/// The `loginMode` of a JWT login request: 67108864 (`0x4000000`).
pub(crate) const JWT_LOGIN_MODE: u64 = 67_108_864;

/// The token of an `Authorization` header value that uses the `Bearer`
/// scheme (RFC 6750 section 2.1).
///
/// The scheme is matched without regard to case; exactly one space follows
/// it, then the token (`b64token` characters: letters, digits and
/// `-._~+/`, then optional `=`), and nothing else: no leading or trailing
/// whitespace, no second space, no parameters.
///
/// - `Ok(Some(token))`: a well-formed Bearer credential;
/// - `Ok(None)`: the value is empty or uses another scheme (e.g. `Basic`);
/// - `Err` (`bad_request`): the scheme is `Bearer` but the rest is malformed.
pub(crate) fn bearer(authorization: &str) -> Result<Option<&str>, Error> {
    const SCHEME: &str = "Bearer";
    let (scheme, rest) = match authorization.split_once(' ') {
        Some((scheme, rest)) => (scheme, Some(rest)),
        None => (authorization, None),
    };
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        let first = authorization.split_whitespace().next().unwrap_or("");
        if first.eq_ignore_ascii_case(SCHEME) {
            return Err(Error::bad_request(
                "the Authorization header has whitespace around `Bearer`; send exactly `Bearer <token>`",
            ));
        }
        return Ok(None);
    }
    let Some(token) = rest.filter(|t| !t.is_empty()) else {
        return Err(Error::bad_request(
            "the Authorization header says `Bearer` but carries no token; send `Bearer <token>`",
        ));
    };
    if token.starts_with([' ', '\t']) {
        return Err(Error::bad_request(
            "the Authorization header has more than one space after `Bearer`; send exactly `Bearer <token>`",
        ));
    }
    if !is_b64token(token) {
        return Err(Error::bad_request(
            "the Authorization header's credential is not a single token (letters, digits and -._~+/ only, then optional `=`); send exactly `Bearer <token>` and nothing else",
        ));
    }
    Ok(Some(token))
}

/// RFC 6750: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    // One table lookup per byte: the check runs on every request.
    const ALLOWED: [bool; 256] = {
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            let c = b as u8;
            table[b] =
                c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
            b += 1;
        }
        table
    };
    !body.is_empty() && body.bytes().all(|b| ALLOWED[usize::from(b)])
}

/// The parameter `name` of a URL query string (with or without its leading
/// `?`), percent-decoded.
///
/// Decoding follows `application/x-www-form-urlencoded`: `%XX` is the byte
/// `XX` (so `%2E` and `%2e` are `.`), and `+` is a space. A JWT never needs
/// either, so a space from a `+` reaches the verifier, which reports the
/// token as `malformed`. Refused with `bad_request` instead of guessed: a `%`
/// not followed by two hex digits, a value that decodes to bytes that are not
/// UTF-8, and a parameter given more than once. Parameter names are decoded
/// the same way before they are compared. An empty value counts as absent.
pub(crate) fn query_param<'q>(query: &'q str, name: &str) -> Result<Option<Cow<'q, str>>, Error> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let mut found: Option<Cow<'q, str>> = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        // A name that does not decode cannot be the one asked for.
        if decode(key).ok().as_deref() != Some(name) {
            continue;
        }
        if found.is_some() {
            return Err(Error::bad_request(format!(
                "the parameter `{name}` is given more than once; send the token once"
            )));
        }
        let value = decode(value).map_err(|problem| {
            Error::bad_request(format!(
                "the parameter `{name}` {problem}; send the token unchanged"
            ))
        })?;
        found = Some(value);
    }
    Ok(found.filter(|v| !v.is_empty()))
}

/// The field `name` of an `application/x-www-form-urlencoded` request body:
/// the same syntax and rules as [`query_param`].
pub(crate) fn form_param<'b>(body: &'b str, name: &str) -> Result<Option<Cow<'b, str>>, Error> {
    query_param(body, name)
}

/// Percent-decoding of `application/x-www-form-urlencoded`, strict.
fn decode(text: &str) -> Result<Cow<'_, str>, &'static str> {
    if !text.contains(['%', '+']) {
        return Ok(Cow::Borrowed(text));
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
                match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                    (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                    _ => return Err("has a `%` that is not followed by two hex digits"),
                }
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| "percent-decodes to bytes that are not UTF-8")
}

/// The cookie `name` of a `Cookie` header value (RFC 6265 section 5.4:
/// `a=1; b=2`). Under HTTP/2 a client may send several `Cookie` fields:
/// join them with `"; "` first.
///
/// The name is compared exactly (case matters); the value is taken literally
/// (cookies have no percent-encoding; a JWT needs none), without surrounding
/// double quotes if it has them. A cookie given more than once is refused
/// with `bad_request` (which one would be meant is unknowable). An empty value
/// counts as absent.
pub(crate) fn cookie<'h>(header: &'h str, name: &str) -> Result<Option<&'h str>, Error> {
    let mut found = None;
    for pair in split_ascii(header, b';') {
        let Some((key, value)) = split_once_ascii(pair, b'=') else {
            continue;
        };
        if trim_ows(key) != name {
            continue;
        }
        if found.is_some() {
            return Err(Error::bad_request(format!(
                "the cookie `{name}` is sent more than once (e.g. set for two paths); clear the stale one"
            )));
        }
        let value = trim_ows(value);
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(value);
        found = Some(value);
    }
    Ok(found.filter(|v| !v.is_empty()))
}

/// `s` split at every `sep`, an ASCII byte, as `str::split` would. With
/// `memchr` (here and below): a session route parses its cookie on every
/// request, and `str`'s char patterns cost several times as much.
fn split_ascii(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    debug_assert!(sep.is_ascii());
    let mut rest = Some(s);
    std::iter::from_fn(move || {
        let current = rest?;
        match memchr::memchr(sep, current.as_bytes()) {
            Some(at) => {
                // Beside an ASCII byte: char boundaries.
                rest = current.get(at + 1..);
                current.get(..at)
            }
            None => rest.take(),
        }
    })
}

/// `s` around its first `sep`, an ASCII byte, as `str::split_once` would.
fn split_once_ascii(s: &str, sep: u8) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii());
    let at = memchr::memchr(sep, s.as_bytes())?;
    Some((s.get(..at)?, s.get(at + 1..)?))
}

/// `s` without leading and trailing spaces and tabs (RFC 6265's optional
/// whitespace).
fn trim_ows(s: &str) -> &str {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let bytes = s.as_bytes();
    let start = bytes.iter().position(|b| !ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !ows(b))
        .map_or(start, |last| last + 1);
    // Both ends border an ASCII byte (or the string's ends): char boundaries.
    s.get(start..end).unwrap_or_default()
}

/// The JSON login request of a JWT login (CONTRACT section 6):
/// `{"loginMode": 67108864, "password": "<jwt>", …}`.
///
/// Rules, each refused with `bad_request` and a message that names the
/// field but never its value: the body is one strict JSON object (no
/// repeated members, nesting at most 64 levels); `loginMode` is the number
/// [`JWT_LOGIN_MODE`]; `password` is a non-empty string, the token;
/// `username` is absent (even `null` or `""` is refused: a JWT login names
/// no user). Other members (locales, flags, …) are accepted and ignored.
///
/// Deserialising a `LoginRequest` applies the same field rules, so a web
/// framework's JSON extractor can use the type directly; [`LoginRequest::parse`]
/// adds the strict JSON checks. `Debug` shows `password` as `[redacted]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawLoginRequest", rename_all = "camelCase")]
pub(crate) struct LoginRequest {
    /// Always [`JWT_LOGIN_MODE`].
    pub login_mode: u64,
    /// The token.
    pub password: Secret,
}

impl LoginRequest {
    /// A request carrying `token` (what a client sends).
    #[cfg(test)]
    pub fn new(token: &str) -> Self {
        LoginRequest {
            login_mode: JWT_LOGIN_MODE,
            password: Secret::new(token),
        }
    }

    /// Parses and checks a request body (see the type's rules).
    pub(crate) fn parse(body: &[u8]) -> Result<Self, Error> {
        let object = parse_object(body)
            .map_err(|reason| Error::bad_request(format!("the login request body {reason}")))?;
        serde_json::from_value(Value::Object(object)).map_err(|e| Error::bad_request(e.to_string()))
    }

    /// The token (the `password`).
    pub fn token(&self) -> &str {
        self.password.expose()
    }
}

/// Every member as a raw value, so that type errors are ours (serde's own
/// messages would quote the value, e.g. a password given as a number).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "a JSON object")]
struct RawLoginRequest {
    #[serde(default, deserialize_with = "present")]
    login_mode: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    password: Option<Value>,
    #[serde(default, deserialize_with = "present")]
    username: Option<Value>,
}

/// `Some` for any value that is present, `null` included.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl TryFrom<RawLoginRequest> for LoginRequest {
    type Error = String;

    fn try_from(raw: RawLoginRequest) -> Result<Self, String> {
        let login_mode = match raw.login_mode {
            None => {
                return Err(format!(
                    "the login request has no `loginMode`; a JWT login sends `\"loginMode\": {JWT_LOGIN_MODE}`"
                ));
            }
            Some(Value::Number(n)) if n.as_u64() == Some(JWT_LOGIN_MODE) => JWT_LOGIN_MODE,
            Some(Value::Number(n)) => {
                return Err(format!(
                    "`loginMode` is {n}, but a JWT login uses {JWT_LOGIN_MODE}"
                ));
            }
            Some(other) => {
                return Err(format!(
                    "`loginMode` is {}, expected the number {JWT_LOGIN_MODE}",
                    type_name(&other)
                ));
            }
        };
        if raw.username.is_some() {
            return Err("the login request has a `username`; a JWT login sends only the token, in `password`, and no `username`".to_owned());
        }
        match raw.password {
            None => {
                Err("the login request has no `password`; send the JWT in `password`".to_owned())
            }
            Some(Value::String(token)) if token.is_empty() => {
                Err("`password` is empty; send the JWT in `password`".to_owned())
            }
            Some(Value::String(token)) => Ok(LoginRequest {
                login_mode,
                password: Secret::new(token),
            }),
            Some(other) => Err(format!(
                "`password` is {}, expected the JWT as a string",
                type_name(&other)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn bad(result: Result<impl std::fmt::Debug, Error>) -> String {
        let err = result.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BadRequest);
        err.to_string()
    }

    #[test]
    fn bearer_takes_exactly_scheme_space_token() {
        for ok in [
            "Bearer a.b.c",
            "bearer a.b.c",
            "BEARER a.b.c",
            "bEaReR a-b_c.d~e+f/g==",
        ] {
            assert!(bearer(ok).unwrap().is_some(), "{ok}");
        }
        assert_eq!(bearer("Bearer a.b.c").unwrap(), Some("a.b.c"));
        for refused in [
            "Bearer",
            "Bearer ",
            "Bearer  a.b.c",
            "Bearer\ta.b.c",
            "Bearer a.b.c ",
            "Bearer a.b.c,x",
            "Bearer a b",
            " Bearer a.b.c",
            "Bearer a.b.c\r\n",
            "Bearer ===",
            "Bearer a=b",
            "Bearer é",
        ] {
            let message = bad(bearer(refused));
            assert!(!message.contains("a.b.c"), "{message}");
        }
        for other in [
            "",
            "Basic dXNlcjpwYXNz",
            "Bearerx a.b.c",
            "Token a.b.c",
            "Digest",
        ] {
            assert_eq!(bearer(other).unwrap(), None, "{other}");
        }
    }

    #[test]
    fn query_params_decode_strictly() {
        let q = |query: &str| query_param(query, "token").map(|v| v.map(Cow::into_owned));
        assert_eq!(q("token=a.b.c").unwrap().as_deref(), Some("a.b.c"));
        assert_eq!(q("?token=a.b.c").unwrap().as_deref(), Some("a.b.c"));
        assert_eq!(q("x=1&token=a.b.c&y").unwrap().as_deref(), Some("a.b.c"));
        assert_eq!(q("token=a%2Eb%2ec").unwrap().as_deref(), Some("a.b.c"));
        assert_eq!(q("tok%65n=a.b.c").unwrap().as_deref(), Some("a.b.c"));
        assert_eq!(q("token=a+b").unwrap().as_deref(), Some("a b"));
        assert_eq!(q("token=a%2Bb").unwrap().as_deref(), Some("a+b"));
        assert_eq!(q("token=%C3%A9").unwrap().as_deref(), Some("é"));
        assert_eq!(q("token=").unwrap(), None);
        assert_eq!(q("token").unwrap(), None);
        assert_eq!(q("").unwrap(), None);
        assert_eq!(q("tokens=a.b.c&Token=a.b.c").unwrap(), None);
        // A broken escape elsewhere does not matter.
        assert_eq!(q("x=%zz&token=a.b.c").unwrap().as_deref(), Some("a.b.c"));
        for refused in [
            "token=a.b.c%",
            "token=a.b.c%2",
            "token=%G0",
            "token=%FF",
            "token=1&token=2",
        ] {
            let message = bad(q(refused));
            assert!(message.contains("`token`"), "{message}");
        }
        // The borrowed path allocates nothing.
        assert!(matches!(
            query_param("token=a.b.c", "token").unwrap(),
            Some(Cow::Borrowed(_))
        ));
        assert_eq!(
            form_param("token=a%2Eb.c", "token").unwrap().as_deref(),
            Some("a.b.c")
        );
    }

    #[test]
    fn ascii_splits_are_strs_splits() {
        for s in [
            "", ";", "a", "a;", ";a", "a;;b", "é;ÿ=1;", "=", "a=b=c", "é=", "x;=;y",
        ] {
            let ours: Vec<&str> = split_ascii(s, b';').collect();
            assert_eq!(ours, s.split(';').collect::<Vec<_>>(), "{s:?}");
            assert_eq!(split_once_ascii(s, b'='), s.split_once('='), "{s:?}");
        }
        for s in ["", " ", "\t a \t", "a b", " é\t", "\u{a0}x\u{a0}"] {
            assert_eq!(trim_ows(s), s.trim_matches([' ', '\t']), "{s:?}");
        }
    }

    #[test]
    fn cookies_are_literal_and_unique() {
        let c = |header| cookie(header, "token");
        assert_eq!(c("token=a.b.c").unwrap(), Some("a.b.c"));
        assert_eq!(c("a=1; token=a.b.c; b=2").unwrap(), Some("a.b.c"));
        assert_eq!(c("a=1;token=a.b.c").unwrap(), Some("a.b.c"));
        assert_eq!(c("token=\"a.b.c\"").unwrap(), Some("a.b.c"));
        assert_eq!(c("token=a%2Eb").unwrap(), Some("a%2Eb"));
        assert_eq!(c("token=").unwrap(), None);
        assert_eq!(c("TOKEN=a.b.c; xtoken=1; flag").unwrap(), None);
        assert_eq!(c("").unwrap(), None);
        assert_eq!(c(" \ttoken \t= \t\"a b\" \t; b=2").unwrap(), Some("a b"));
        assert_eq!(c("token= \t ").unwrap(), None);
        assert_eq!(c("é=1; token= é\tÿ \t").unwrap(), Some("é\tÿ"));
        assert_eq!(c("to ken=1; token\t=x").unwrap(), Some("x"));
        assert_eq!(c(";;token=a=b;").unwrap(), Some("a=b"));
        assert_eq!(c("token").unwrap(), None);
        bad(c("token=;token=x"));
        bad(c("token=a.b.c; token=d.e.f"));
    }

    #[test]
    fn login_request_rules() {
        let ok = LoginRequest::parse(
            br#"{"loginMode":67108864,"password":"a.b.c","metadataLocale":"en_US","x":{"y":[1]}}"#,
        )
        .unwrap();
        assert_eq!(ok.token(), "a.b.c");
        assert_eq!(ok, LoginRequest::new("a.b.c"));
        assert_eq!(
            serde_json::to_string(&ok).unwrap(),
            r#"{"loginMode":67108864,"password":"a.b.c"}"#
        );
        assert!(!format!("{ok:?}").contains("a.b.c"));

        for (body, says) in [
            (
                &br#"{"loginMode":1,"password":"secret.jwt.x"}"#[..],
                "`loginMode` is 1",
            ),
            (
                br#"{"loginMode":"67108864","password":"secret.jwt.x"}"#,
                "`loginMode` is a string",
            ),
            (br#"{"password":"secret.jwt.x"}"#, "no `loginMode`"),
            (br#"{"loginMode":67108864}"#, "no `password`"),
            (
                br#"{"loginMode":67108864,"password":""}"#,
                "`password` is empty",
            ),
            (
                br#"{"loginMode":67108864,"password":12345}"#,
                "`password` is a number",
            ),
            (
                br#"{"loginMode":67108864,"password":"secret.jwt.x","username":"jdoe"}"#,
                "`username`",
            ),
            (
                br#"{"loginMode":67108864,"password":"secret.jwt.x","username":null}"#,
                "`username`",
            ),
            (
                br#"{"loginMode":67108864,"password":"secret.jwt.x","password":"secret.jwt.x"}"#,
                "repeats",
            ),
            (
                b"loginMode=67108864&password=secret.jwt.x",
                "not valid JSON",
            ),
            (b"", "not valid JSON"),
            (br#"["secret.jwt.x"]"#, "not a JSON object"),
            (br#""secret.jwt.x""#, "not a JSON object"),
        ] {
            let message = bad(LoginRequest::parse(body));
            assert!(message.contains(says), "{message}");
            assert!(
                !message.contains("secret") && !message.contains("12345"),
                "{message}"
            );
        }
        // Deserialising the type directly applies the same field rules.
        assert!(
            serde_json::from_str::<LoginRequest>(
                r#"{"loginMode":67108864,"password":"a","username":""}"#
            )
            .is_err()
        );
        assert_eq!(JWT_LOGIN_MODE, 0x400_0000);
    }
}
