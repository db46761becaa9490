//! The hand-written session lookup that `benches/axum.rs` and
//! `benches/session_route.rs` hold `CurrentUser` against: the same
//! `Sessions` and user store, looked up from the cookie by a plain extractor.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use jwt_sso::{MemoryStore, Sessions, User, UserStore};

/// The hand-written session side: the same `Sessions` and user store,
/// looked up from the cookie by a plain extractor.
#[derive(Clone)]
pub struct HandSessions {
    pub sessions: Arc<Sessions<MemoryStore>>,
    pub users: Arc<MemoryStore>,
}

pub struct HandUser(pub User);

impl FromRequestParts<HandSessions> for HandUser {
    type Rejection = StatusCode;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HandSessions,
    ) -> Result<Self, StatusCode> {
        let cookies = parts
            .headers
            .get(COOKIE)
            .and_then(|v| v.to_str().ok())
            .ok_or(StatusCode::UNAUTHORIZED)?;
        let token = cookies
            .split(';')
            .filter_map(|c| c.trim().strip_prefix("jwt_sso_session="))
            .next()
            .ok_or(StatusCode::UNAUTHORIZED)?;
        let session = state
            .sessions
            .lookup(token)
            .await
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?
            .ok_or(StatusCode::UNAUTHORIZED)?;
        let user = state
            .users
            .find(&session.user_id)
            .await
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?
            .ok_or(StatusCode::UNAUTHORIZED)?;
        Ok(HandUser(user))
    }
}
