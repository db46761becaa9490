//! The query string of `GET /api/admin/events`, read into the framework-free
//! [`EventQuery`]: HTTP parsing stays in the host layer, so `events` does not
//! depend on it.

use std::borrow::Cow;

use super::HttpError;
use super::request::query_param;
use crate::error::untrusted;
use crate::events::{EventQuery, kind_named};
use crate::metrics::Outcome;

impl EventQuery {
    /// Reads the query string of `GET /api/admin/events` (`limit`,
    /// `config`, `outcome` (`accepted`|`refused`), `kind`, `user_id`,
    /// `before`; each at most once, percent-decoded). Anything else, or a
    /// value out of range, is `bad_request` naming the parameter.
    ///
    /// ```
    /// use jwt_sso::ErrorKind;
    /// use jwt_sso::events::EventQuery;
    ///
    /// let query = EventQuery::parse("limit=20&config=ERP&outcome=refused&before=120")?;
    /// assert_eq!((query.limit, query.before, query.accepted), (20, Some(120), Some(false)));
    /// assert_eq!(EventQuery::parse("")?.limit, 50);
    /// assert_eq!(EventQuery::parse("limit=501").unwrap_err().kind(), ErrorKind::BadRequest);
    /// assert!(EventQuery::parse("kind=nonsense").is_err());
    /// # Ok::<(), jwt_sso::axum::HttpError>(())
    /// ```
    #[cfg_attr(
        docsrs,
        doc(cfg(all(feature = "axum", any(feature = "sqlite", feature = "postgres"))))
    )]
    pub fn parse(query: &str) -> Result<EventQuery, HttpError> {
        const NAMES: [&str; 6] = ["limit", "config", "outcome", "kind", "user_id", "before"];
        let query = query.strip_prefix('?').unwrap_or(query);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split_once('=').map_or(pair, |(name, _)| name);
            if !NAMES.contains(&name) {
                return Err(HttpError::bad_request(format!(
                    "unknown query parameter `{}`; expected limit, config, outcome, kind, user_id or before",
                    untrusted(name)
                )));
            }
        }
        let param = |name: &str| -> Result<Option<String>, HttpError> {
            Ok(query_param(query, name)?.map(Cow::into_owned))
        };
        let bad = |name: &str, value: &str, what: &str| {
            HttpError::bad_request(format!(
                "`{name}` must be {what} (found `{}`)",
                untrusted(value)
            ))
        };
        let mut out = EventQuery {
            config: param("config")?,
            user_id: param("user_id")?,
            ..EventQuery::default()
        };
        if let Some(value) = param("limit")? {
            out.limit = value
                .parse()
                .ok()
                .filter(|n| (1..=Self::MAX_LIMIT).contains(n))
                .ok_or_else(|| bad("limit", &value, "a number from 1 to 500"))?;
        }
        if let Some(value) = param("outcome")? {
            out.accepted = Some(
                Outcome::from_name(&value)
                    .ok_or_else(|| bad("outcome", &value, "accepted or refused"))?
                    == Outcome::Accepted,
            );
        }
        if let Some(value) = param("kind")? {
            out.kind = Some(
                kind_named(&value).ok_or_else(|| bad("kind", &value, "one of the error kinds"))?,
            );
        }
        if let Some(value) = param("before")? {
            out.before = Some(
                value
                    .parse()
                    .map_err(|_| bad("before", &value, "an event id"))?,
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn query_parameters_are_decoded_checked_and_given_once() {
        let query =
            EventQuery::parse("config=ERP+Prod&user_id=j%C3%B6rg&kind=rate_limited&limit=1")
                .unwrap();
        assert_eq!(query.config.as_deref(), Some("ERP Prod"));
        assert_eq!(query.user_id.as_deref(), Some("jörg"));
        assert_eq!(query.kind, Some(ErrorKind::RateLimited));
        assert_eq!(query.limit, 1);
        assert_eq!(
            EventQuery::parse("outcome=accepted").unwrap().accepted,
            Some(true)
        );
        for bad in [
            "limit=0",
            "limit=x",
            "outcome=ok",
            "before=-1",
            "limit=5&limit=6",
            "colour=red",
        ] {
            let err = EventQuery::parse(bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::BadRequest, "{bad}");
        }
        // Percent-decoding is strict.
        assert!(EventQuery::parse("user_id=100%").is_err());
    }
}
