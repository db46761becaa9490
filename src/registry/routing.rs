//! Routing: which configuration of a snapshot takes a token (CONTRACT
//! section 6), by its `iss`, among the configurations of one `token_name`,
//! or by name. Only the unverified payload's `iss` is read, through the
//! token-reading module the verifier uses too.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use crate::config::DEFAULT_MAX_TOKEN_BYTES;
use crate::error::{Error, LoginError, TokenError, TokenPart};
use crate::json::{check_object, peek_string_member};
use crate::token::decode_payload;
use crate::unix_time::UnixTime;
use crate::verify::Verifier;

/// Which configurations may take a token (the route of a [`Verification`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Route<'a> {
    /// Routing by `iss` among the enabled configurations (or the only one):
    /// the default.
    #[default]
    Issuer,
    /// The same routing among the configurations whose `token_name` is this
    /// name: the parameter, cookie or header the token was found under. A
    /// token whose `iss` is the issuer of an enabled configuration of another
    /// name (and of none of this name) is `no_matching_config`, even when
    /// only one configuration has this name: a token travels only under its
    /// own name.
    TokenName(&'a str),
    /// The configuration of this name (any case), whatever the token says;
    /// an unknown name is `unknown_config`.
    Config(&'a str),
    /// A per-request credential (CONTRACT section 6, `bearer`): the same
    /// routing by `iss` among the configurations with `bearer: true` only
    /// (with a `token_name`: among those of that name), as though the
    /// others did not exist; a token whose `iss` is the issuer of a
    /// login-only configuration is `no_matching_config`.
    Bearer(Option<&'a str>),
}

/// How a token is verified: the [`Route`] to its configuration (default:
/// by `iss`) and the time its claims are checked at (default: the
/// registry's clock when the verification starts).
///
/// ```
/// use jwt_sso::{Route, UnixTime, Verification};
///
/// let default = Verification::default();
/// let found_under_a_cookie = Verification::from(Route::TokenName("token"));
/// let in_the_past = Verification::default()
///     .route(Route::Config("ERP"))
///     .at(UnixTime::from_secs(1_767_225_600));
/// # let _ = (default, found_under_a_cookie, in_the_past);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Verification<'a> {
    route: Route<'a>,
    at: Option<UnixTime>,
}

impl<'a> Verification<'a> {
    /// The same verification along `route`.
    pub fn route(mut self, route: Route<'a>) -> Self {
        self.route = route;
        self
    }

    /// The same verification with the token's time claims checked at `at`
    /// (a remote key cache keeps the clock's time).
    pub fn at(mut self, at: UnixTime) -> Self {
        self.at = Some(at);
        self
    }

    pub(crate) fn route_of(&self) -> Route<'a> {
        self.route
    }

    pub(crate) fn time(&self) -> Option<UnixTime> {
        self.at
    }
}

impl<'a> From<Route<'a>> for Verification<'a> {
    fn from(route: Route<'a>) -> Self {
        Verification { route, at: None }
    }
}

/// What [`route_in`] needs, precomputed from a set of configurations.
pub(super) struct Routes {
    /// The enabled configurations.
    pub(super) enabled: Vec<Arc<Verifier>>,
    /// The disabled ones (a token with their issuer is `disabled`).
    pub(super) disabled: Vec<Arc<Verifier>>,
    /// Enabled configurations by `issuer`.
    pub(super) by_issuer: HashMap<String, Vec<Arc<Verifier>>>,
    /// The largest `max_token_bytes` of these configurations.
    max_token_bytes: usize,
    /// For one `token_name`'s routes: the issuers of enabled configurations
    /// with another `token_name` and not of one of these. A token naming one
    /// travels under the wrong name and is `no_matching_config`, even when
    /// only one configuration has this name.
    foreign_issuers: HashSet<String>,
}

impl Routes {
    pub(super) fn new<'v>(verifiers: impl IntoIterator<Item = &'v Arc<Verifier>>) -> Self {
        let mut routes = Routes {
            enabled: Vec::new(),
            disabled: Vec::new(),
            by_issuer: HashMap::new(),
            max_token_bytes: 0,
            foreign_issuers: HashSet::new(),
        };
        for verifier in verifiers {
            let config = verifier.config();
            routes.max_token_bytes = routes.max_token_bytes.max(config.max_token_bytes);
            if !config.enabled {
                routes.disabled.push(Arc::clone(verifier));
                continue;
            }
            routes.enabled.push(Arc::clone(verifier));
            if let Some(issuer) = &config.issuer {
                routes
                    .by_issuer
                    .entry(issuer.clone())
                    .or_default()
                    .push(Arc::clone(verifier));
            }
        }
        if routes.max_token_bytes == 0 {
            routes.max_token_bytes = DEFAULT_MAX_TOKEN_BYTES;
        }
        routes
    }

    /// The routes of one `token_name` among `all`: these, and the issuers of
    /// the others as foreign.
    pub(super) fn of_token_name<'v>(
        all: &Routes,
        verifiers: impl IntoIterator<Item = &'v Arc<Verifier>>,
    ) -> Self {
        let mut routes = Routes::new(verifiers);
        routes.foreign_issuers = all
            .by_issuer
            .keys()
            .filter(|issuer| !routes.by_issuer.contains_key(*issuer))
            .cloned()
            .collect();
        routes
    }
}

/// The verifier `routes` choose for `token`, with the payload when routing
/// decoded it (so the verifier need not decode it again).
pub(super) fn route_in(
    routes: &Routes,
    token: &str,
) -> Result<(Arc<Verifier>, Option<Vec<u8>>), Error> {
    if let [only] = routes.enabled.as_slice() {
        return route_to_only(routes, only, token);
    }
    if token.len() > routes.max_token_bytes {
        return Err(Error::Token(TokenError::TokenTooLarge {
            size: token.len(),
            max: routes.max_token_bytes,
        }));
    }
    let payload = decode_payload(token)?;
    // Fast: read up to the first `iss`. A token routed this way is then
    // parsed strictly by its verifier; one that finds no single route is
    // parsed strictly here, so that a malformed payload says so.
    let iss = peek_string_member(&payload, "iss").map_err(|_| not_strict())?;
    let matching = iss.as_deref().and_then(|iss| routes.by_issuer.get(iss));
    let matching = matching.map(Vec::as_slice).unwrap_or_default();
    if let [one] = matching {
        return Ok((Arc::clone(one), Some(payload)));
    }
    check_object(&payload).map_err(|_| not_strict())?;
    if !matching.is_empty() {
        return Err(Error::Login(LoginError::AmbiguousConfig {
            iss: iss.unwrap_or_default(),
            candidates: matching.iter().map(|v| v.name().to_owned()).collect(),
        }));
    }
    if let Some(off) = routes
        .disabled
        .iter()
        .find(|v| iss.is_some() && v.config().issuer == iss)
    {
        return Err(Error::Token(TokenError::Disabled {
            config: off.name().to_owned(),
        }));
    }
    Err(Error::Login(LoginError::NoMatchingConfig {
        iss,
        candidates: routes
            .enabled
            .iter()
            .map(|v| (v.name().to_owned(), v.config().issuer.clone()))
            .collect(),
    }))
}

/// The only enabled configuration takes every token (CONTRACT 6, "or the only
/// one"), except a token whose `iss` belongs to another `token_name`'s
/// configuration (`no_matching_config`), or names a disabled configuration
/// and not this one (`disabled`). The payload is read only when such an
/// issuer exists; a payload that cannot be read goes to the only
/// configuration, whose verifier reports it in its own order.
fn route_to_only(
    routes: &Routes,
    only: &Arc<Verifier>,
    token: &str,
) -> Result<(Arc<Verifier>, Option<Vec<u8>>), Error> {
    let chosen = || Ok((Arc::clone(only), None));
    if (routes.foreign_issuers.is_empty()
        && routes.disabled.iter().all(|v| v.config().issuer.is_none()))
        || token.len() > routes.max_token_bytes
    {
        return chosen();
    }
    let Ok(payload) = decode_payload(token) else {
        return chosen();
    };
    let Ok(Some(iss)) = peek_string_member(&payload, "iss") else {
        return chosen();
    };
    if only.config().issuer.as_deref() != Some(iss.as_str()) {
        if routes.foreign_issuers.contains(&iss) {
            return Err(Error::Login(LoginError::NoMatchingConfig {
                iss: Some(iss),
                candidates: vec![(only.name().to_owned(), only.config().issuer.clone())],
            }));
        }
        if let Some(off) = routes
            .disabled
            .iter()
            .find(|v| v.config().issuer.as_deref() == Some(iss.as_str()))
        {
            return Err(Error::Token(TokenError::Disabled {
                config: off.name().to_owned(),
            }));
        }
    }
    Ok((Arc::clone(only), Some(payload)))
}

/// The payload is not a strict JSON object; errors never describe its contents.
fn not_strict() -> Error {
    Error::malformed(
        TokenPart::Payload,
        "is not a strict JSON object, so no configuration can be chosen by its `iss`",
    )
}
