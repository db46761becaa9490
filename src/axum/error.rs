//! Errors as HTTP answers: the status, `WWW-Authenticate` and the fixed
//! sentence a client sees per kind (CONTRACT sections 6, 7 and 9), and the
//! HTTP layer's own kinds (`bad_request`, `unauthorized`, `rate_limited`).

use std::time::Duration;

use ::axum::Json;
use ::axum::http::header::{CACHE_CONTROL, RETRY_AFTER, WWW_AUTHENTICATE};
use ::axum::http::{HeaderValue, StatusCode};
use ::axum::response::{IntoResponse, Response};

use crate::admin::AdminError;
use crate::error::{Error, ErrorKind, escape_controls};

/// Per kind, in the order of [`ErrorKind::ALL`]: the HTTP status and the
/// short fixed sentence a client may see (it never holds a value from the
/// configuration, the key set or the token).
const HTTP: [(u16, &str); 36] = [
    (401, "This login method is disabled."), // disabled
    (401, "The token is too large."),        // token_too_large
    (401, "The token is malformed."),        // malformed
    (401, "The token's signature algorithm is not allowed."), // algorithm_not_allowed
    (401, "The token uses unsupported header extensions."), // critical_header
    (401, "No key is known for the token's signature."), // key_not_found
    (401, "The token's signature is invalid."), // invalid_signature
    (401, "The token has an invalid claim."), // invalid_claim
    (401, "The token has no expiration time."), // missing_exp
    (401, "The token has expired."),         // expired
    (401, "The token is not valid yet."),    // not_yet_valid
    (401, "The token is issued in the future."), // issued_in_future
    (401, "The token is valid for longer than allowed."), // max_age_exceeded
    (401, "The token's issuer is not accepted."), // issuer_mismatch
    (401, "The token is not meant for this server."), // audience_mismatch
    (401, "The token does not name a user."), // missing_user_id
    (403, "No role is granted to this user here."), // no_matching_role
    (401, "The token has no token ID."),     // missing_jti
    (401, "The token was already used."),    // token_replayed
    (403, "The user is not known here."),    // unknown_user
    (403, "The user belongs to another login method."), // user_conflict
    (401, "Authentication is required."),    // unauthorized
    (403, "Access is denied."),              // forbidden
    (412, "The resource was changed by someone else."), // version_conflict
    (428, "The request must be conditional (If-Match)."), // precondition_required
    (400, "The request must be confirmed."), // confirmation_required
    (
        503,
        "The login cannot be checked right now; try again later.",
    ), // key_fetch
    (400, "The configuration is invalid."),  // config
    (
        503,
        "The login cannot be completed right now; try again later.",
    ), // store
    (409, "The name is already taken."),     // duplicate_name
    (404, "No such configuration."),         // unknown_config
    (401, "No login method accepts this token."), // no_matching_config
    (401, "More than one login method matches this token."), // ambiguous_config
    (400, "The request is malformed."),      // bad_request
    (500, "An internal error occurred."),    // io
    (429, "Too many failed logins; try again later."), // rate_limited
];

/// The HTTP face of each kind (cargo feature `axum`).
impl ErrorKind {
    /// The HTTP status a host answers with for this kind (CONTRACT sections
    /// 6, 7 and 9): `401` for every rejected token (with `WWW-Authenticate:
    /// Bearer`), `403` for a login the host's policies refuse, `503` when
    /// the host cannot decide now (keys or store unreachable), `400` for a
    /// malformed request, `429` for a client throttled after too many
    /// refused logins.
    pub fn http_status(self) -> StatusCode {
        status_of(self)
    }

    /// A short fixed sentence for clients: it never holds a value from the
    /// configuration, the key set or the token (CONTRACT section 6). The
    /// full message and hint are for logs and the administrator.
    pub fn public_message(self) -> &'static str {
        public_message(self)
    }
}

pub(crate) fn status_of(kind: ErrorKind) -> StatusCode {
    StatusCode::from_u16(HTTP[kind as usize].0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn public_message(kind: ErrorKind) -> &'static str {
    HTTP[kind as usize].1
}

/// An error as an HTTP answer: a library [`Error`], an administrator's
/// [`AdminError`], or a request the HTTP layer refuses itself.
///
/// As a response (`IntoResponse`, also implemented for [`Error`] and
/// [`AdminError`] directly): the kind's status, `Cache-Control: no-store`,
/// `WWW-Authenticate: Bearer` on every `401`, and the body
/// `{"error":{"kind":…,"message":<a fixed sentence>}}` with no value from
/// the configuration, the key set or the token. The full message and hint
/// go to one `tracing` event (target `jwt_sso::http`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// Verification or the login flow refused.
    #[error(transparent)]
    Core(#[from] Error),
    /// An administrator's request was refused.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// The request does not carry what the endpoint expects (`bad_request`).
    #[error("{problem}")]
    #[non_exhaustive]
    BadRequest {
        /// What is wrong with the request (never a token).
        problem: String,
    },
    /// A protected route without a credential, or with a session token
    /// that is unknown or ended (`unauthorized`).
    #[error("{problem}")]
    #[non_exhaustive]
    Unauthorized {
        /// What is missing.
        problem: String,
        /// A credential was presented and refused: the answer's
        /// `WWW-Authenticate` carries `error="invalid_token"` (RFC 6750
        /// section 3).
        presented: bool,
    },
    /// A login attempt from a client address that had too many refused
    /// logins within 60 seconds, refused before any check (`rate_limited`,
    /// `429` with `Retry-After`; [`LoginOptions::max_failed_logins`](super::LoginOptions::max_failed_logins)).
    #[error(
        "the client address had {failures} refused logins within 60 s; its attempts are refused without checking them for another {} s",
        retry_after.as_secs()
    )]
    #[non_exhaustive]
    RateLimited {
        /// The refused logins that count (the limit).
        failures: u32,
        /// Until the oldest of them is 60 seconds old: whole seconds, 1–60.
        retry_after: Duration,
    },
}

impl HttpError {
    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            HttpError::Core(e) => e.kind(),
            HttpError::Admin(e) => e.kind(),
            HttpError::BadRequest { .. } => ErrorKind::BadRequest,
            HttpError::Unauthorized { .. } => ErrorKind::Unauthorized,
            HttpError::RateLimited { .. } => ErrorKind::RateLimited,
        }
    }

    /// What the administrator should change.
    pub fn hint(&self) -> &str {
        match self {
            HttpError::Core(e) => e.hint(),
            HttpError::Admin(e) => e.hint(),
            HttpError::Unauthorized { .. } => {
                "Send a session (`X-Auth-Token` or the session cookie) or `Authorization: Bearer <token>` of a configuration with `bearer: true`."
            }
            other => other.kind().hint(),
        }
    }

    /// The HTTP status of this error's kind.
    pub fn status(&self) -> StatusCode {
        status_of(self.kind())
    }

    /// A request the endpoint refuses as malformed (`400`, `bad_request`);
    /// `problem` is logged, never shown to the client.
    pub fn bad_request(problem: impl Into<String>) -> Self {
        HttpError::BadRequest {
            problem: problem.into(),
        }
    }

    /// A protected route called without a credential (`401`,
    /// `unauthorized`); `problem` is logged, never shown to the client.
    pub fn unauthorized(problem: impl Into<String>) -> Self {
        HttpError::Unauthorized {
            problem: problem.into(),
            presented: false,
        }
    }

    /// A presented credential was refused (an unknown or ended session).
    pub(crate) fn refused_credential(problem: impl Into<String>) -> Self {
        HttpError::Unauthorized {
            problem: problem.into(),
            presented: true,
        }
    }

    /// Whether a credential was presented and refused: a token refused by
    /// verification or routing, or an unknown session.
    fn presented(&self) -> bool {
        match self {
            HttpError::Core(_) => true,
            HttpError::Unauthorized { presented, .. } => *presented,
            _ => false,
        }
    }
}

/// As every `401` of a protected route: `WWW-Authenticate: Bearer`, with
/// `error="invalid_token"` when a credential was presented and refused
/// (RFC 6750 section 3).
impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let mut response = error_response(self.status(), &self, None);
        if response.status() == StatusCode::UNAUTHORIZED && self.presented() {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        response
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        HttpError::Core(self).into_response()
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        HttpError::Admin(self).into_response()
    }
}

/// The response for `error` with `status`: the public body (with
/// `public_message` in place of the kind's fixed sentence when given), and
/// one log event with the full message and hint.
pub(crate) fn error_response(
    status: StatusCode,
    error: &HttpError,
    public_message_override: Option<&'static str>,
) -> Response {
    log_refusal(status, error);
    quiet_error_response(status, error, public_message_override)
}

/// [`error_response`] without its log event: for a login attempt, whose
/// one event the login routes report.
pub(crate) fn quiet_error_response(
    status: StatusCode,
    error: &HttpError,
    public_message_override: Option<&'static str>,
) -> Response {
    let kind = error.kind();
    let body = serde_json::json!({"error": {
        "kind": kind.as_str(),
        "message": public_message_override.unwrap_or(public_message(kind)),
    }});
    let mut response = (status, Json(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if let HttpError::RateLimited { retry_after, .. } = error {
        headers.insert(RETRY_AFTER, HeaderValue::from(retry_after.as_secs()));
    }
    response
}

fn log_refusal(status: StatusCode, error: &HttpError) {
    let message = error.to_string();
    let message = escape_controls(&message);
    let source =
        std::error::Error::source(error).map(|s| escape_controls(&s.to_string()).into_owned());
    if status.is_server_error() {
        tracing::warn!(
            target: "jwt_sso::http",
            status = status.as_u16(),
            kind = error.kind().as_str(),
            message = %message,
            hint = error.hint(),
            source = source.as_deref(),
            "request refused"
        );
    } else {
        tracing::info!(
            target: "jwt_sso::http",
            status = status.as_u16(),
            kind = error.kind().as_str(),
            message = %message,
            hint = error.hint(),
            source = source.as_deref(),
            "request refused"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_status_and_a_sentence_without_values() {
        for kind in ErrorKind::ALL {
            let status = status_of(kind);
            assert!(
                status.is_client_error() || status.is_server_error(),
                "{kind}: {status}"
            );
            let sentence = public_message(kind);
            assert!(
                sentence.ends_with('.') && !sentence.contains('`'),
                "{kind}: {sentence}"
            );
        }
        assert_eq!(
            status_of(ErrorKind::KeyFetch),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(status_of(ErrorKind::UnknownUser), StatusCode::FORBIDDEN);
        assert_eq!(status_of(ErrorKind::NoMatchingRole), StatusCode::FORBIDDEN);
        assert_eq!(status_of(ErrorKind::MissingJti), StatusCode::UNAUTHORIZED);
        assert_eq!(status_of(ErrorKind::BadRequest), StatusCode::BAD_REQUEST);
        assert_eq!(
            status_of(ErrorKind::VersionConflict),
            StatusCode::PRECONDITION_FAILED
        );
        assert_eq!(
            status_of(ErrorKind::RateLimited),
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[test]
    fn a_throttled_attempt_says_when_to_come_back() {
        let error = HttpError::RateLimited {
            failures: 20,
            retry_after: Duration::from_secs(42),
        };
        assert_eq!(error.kind(), ErrorKind::RateLimited);
        assert_eq!(error.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(error.to_string().contains("20 refused logins"), "{error}");
        assert!(error.hint().contains("Retry-After"), "{}", error.hint());
        let response = error.into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[RETRY_AFTER], "42");
        assert!(!response.headers().contains_key(WWW_AUTHENTICATE));
    }
}
