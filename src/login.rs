//! The login flow (CONTRACT section 6): verify through a [`Registry`], find
//! the user, apply the configuration's policies, record a single-use token's
//! `jti`, then create or update the user.

use std::sync::Arc;

use crate::config::{JwtConfig, UserScope};
use tracing::Instrument as _;

use crate::error::{Error, untrusted};
use crate::events::{self, Attempt, Ending, LoginEvents, Progress};
use crate::map::MappedIdentity;
use crate::registry::{Registry, TokenRoute, verify_with};
use crate::store::{JtiKey, MemoryReplayStore, ReplayStore, StoreError, User, UserStore};

/// The outcome of a successful login.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// Whether this login created the user.
    pub first_login: bool,
    /// The user as the store holds it (type and roles from its creation;
    /// name, email and roles from this login with `sync_on_login`).
    pub user: User,
    /// The verified identity of this login.
    pub identity: MappedIdentity,
}

/// The login flow: verify the token through a [`Registry`] (the full,
/// async check: remote keys are fetched when needed), find the user, apply
/// the configuration's policies, and create the user on first login.
///
/// In order, the first failure refusing the login:
///
/// 1. verification, routed by `iss` ([`Authenticator::login`]), among the
///    configurations of one `token_name`
///    ([`Authenticator::login_for_token_name`]) or by configuration name;
/// 2. the user is looked up ([`UserStore::find`]);
/// 3. policies: a user another configuration created is `user_conflict`
///    unless this configuration has `user_scope: "shared"` (a user the host
///    created itself, `created_by_config: None`, may be logged in by any);
///    an unknown user with `create_users: false` is `unknown_user`;
/// 4. `single_use`: the (configuration, `iss`, `jti`) is recorded in the
///    [`ReplayStore`] until the token can no longer be accepted (`exp` +
///    leeway); already recorded is `token_replayed`, a store failure is
///    `store`. Since this comes after every check, a refused login never
///    uses up its `jti`; of racing logins with one token exactly one wins;
/// 5. first login: the user is created with the configuration's
///    `user_type`, `initial_roles` plus mapped roles, and
///    `created_by_config`; a concurrent first login that created it first
///    is found instead (one user). A later login with `sync_on_login`
///    replaces name, email and roles from the identity.
///
/// Steps 4 and 5 are the only writes. Two rare races are decided for safety:
/// when `create` finds the user taken by a concurrent login of *another*
/// configuration, the policies run again on that user after the `jti` was
/// recorded; and a store failure in step 5 refuses the login (`store`)
/// after its `jti` was recorded.
///
/// Each login attempt ends in exactly one `tracing` event (target
/// `jwt_sso`, in a span `jwt_sso.login`): INFO `login accepted` or WARN
/// `login refused`, with the field names of the [`LoginEvent`](crate::LoginEvent)
/// (`config`, `outcome`, `kind`, `user_id`, `first_login`, `client`,
/// `error` for the full message with the store's own error, `hint`), all
/// escaped, never the token; in the metrics of [`crate::metrics`]; and in one
/// [`LoginEvent`](crate::LoginEvent) for the subscribers of
/// [`Authenticator::with_events`]. [`Authenticator::check`] reports nothing.
///
/// ```
/// use std::sync::Arc;
/// use jwt_sso::{Authenticator, ErrorKind, FixedClock, MemoryStore, Registry};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), jwt_sso::Error> {
/// let registry = Registry::from_json_str(r#"{
///     "name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
///     "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///     "expiration_time": 3600, "claims": {"user_id": "sub", "roles": "groups"},
///     "user_type": "analyst", "initial_roles": ["Viewer"], "single_use": true
/// }"#)?
/// .with_clock(FixedClock(1_767_225_600));
/// let auth = Authenticator::new(Arc::new(registry), MemoryStore::new());
///
/// let sign = |jti: &str, groups: &[&str]| jwt_sso::mint::sign_json(
///     &jwt_sso::mint::SigningKey::from_secret(b"erp-secret-of-at-least-32-bytes!!"),
///     jwt_sso::Algorithm::HS256,
///     &serde_json::json!({"iss": "https://erp.example.com", "sub": "jdoe", "jti": jti,
///                         "groups": groups, "exp": 1_767_229_200}),
/// );
///
/// let first = auth.login(&sign("a1", &["Sales"])?).await?;
/// assert!(first.first_login);
/// assert_eq!(first.user.user_type, "analyst");
/// assert_eq!(first.user.roles, ["Viewer", "Sales"]);
/// assert_eq!(first.user.created_by_config.as_deref(), Some("erp"));
///
/// // Later logins find the user and keep its roles.
/// let later = auth.login(&sign("a2", &["Finance"])?).await?;
/// assert!(!later.first_login);
/// assert_eq!(later.user.roles, ["Viewer", "Sales"]);
/// assert_eq!(later.identity.roles, ["Viewer", "Finance"]);
/// assert_eq!(auth.store().len(), 1);
///
/// // A single-use token works once.
/// let err = auth.login(&sign("a2", &["Finance"])?).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::TokenReplayed);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Authenticator<S, R = MemoryReplayStore> {
    registry: Arc<Registry>,
    store: S,
    replay: R,
    events: LoginEvents,
}

impl<S: UserStore> Authenticator<S> {
    /// A login flow over `registry` and the user `store`, remembering used
    /// `jti`s in a [`MemoryReplayStore`] (see
    /// [`Authenticator::with_replay_store`] for one that survives restarts
    /// or is shared by several instances).
    pub fn new(registry: Arc<Registry>, store: S) -> Self {
        Authenticator {
            registry,
            store,
            replay: MemoryReplayStore::new(),
            events: LoginEvents::new(),
        }
    }
}

impl<S: UserStore, R: ReplayStore> Authenticator<S, R> {
    /// Replaces the store of used `jti`s (default: a [`MemoryReplayStore`]).
    pub fn with_replay_store<R2: ReplayStore>(self, replay: R2) -> Authenticator<S, R2> {
        Authenticator {
            registry: self.registry,
            store: self.store,
            replay,
            events: self.events,
        }
    }

    /// Reports every login attempt to `events` (its subscribers, e.g. the
    /// SQL history), besides the `tracing` event and the metrics.
    pub fn with_events(mut self, events: LoginEvents) -> Self {
        self.events = events;
        self
    }

    /// Where login attempts are reported.
    pub fn events(&self) -> &LoginEvents {
        &self.events
    }

    /// The registry tokens are verified with.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// The user store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store of used `jti`s.
    pub fn replay_store(&self) -> &R {
        &self.replay
    }

    /// Logs `token` in: routed by `iss` (see [`Registry`]), at the registry
    /// clock's time.
    pub async fn login(&self, token: &str) -> Result<Login, Error> {
        self.login_route_at(TokenRoute::Issuer, token, self.registry.clock_now())
            .await
    }

    /// [`Authenticator::login`] as if the time were `now` (seconds since 1970).
    pub async fn login_at(&self, token: &str, now: i64) -> Result<Login, Error> {
        self.login_route_at(TokenRoute::Issuer, token, now).await
    }

    /// Logs in a token found under the parameter, cookie or header name
    /// `token_name`: routed among the configurations with that `token_name` only.
    pub async fn login_for_token_name(
        &self,
        token_name: &str,
        token: &str,
    ) -> Result<Login, Error> {
        let now = self.registry.clock_now();
        self.login_route_at(TokenRoute::TokenName(token_name), token, now)
            .await
    }

    /// Logs `token` in through the configuration called `name` (any case).
    pub async fn login_named(&self, name: &str, token: &str) -> Result<Login, Error> {
        let now = self.registry.clock_now();
        self.login_route_at(TokenRoute::Config(name), token, now)
            .await
    }

    /// Logs `token` in along any [`TokenRoute`], as if the time were `now`.
    pub async fn login_route_at(
        &self,
        route: TokenRoute<'_>,
        token: &str,
        now: i64,
    ) -> Result<Login, Error> {
        let mut attempt = Attempt::start(None);
        let span = attempt.span().clone();
        let result = self
            .attempt(route, token, now, &mut attempt)
            .instrument(span)
            .await;
        let ending = Ending::of(&result, |login| login.first_login);
        events::finish(&self.events, attempt, now, ending);
        result
    }

    /// A login attempt without its outcome event: the caller (the HTTP
    /// login routes) reports it once it knows the whole outcome.
    pub(crate) async fn attempt(
        &self,
        route: TokenRoute<'_>,
        token: &str,
        now: i64,
        attempt: &mut Attempt,
    ) -> Result<Login, Error> {
        self.run(route, token, now, false, &mut attempt.progress)
            .await
    }

    /// A dry run of [`Authenticator::login`] (the administrator's "test a
    /// token"): verification, user lookup and policies, but nothing is
    /// written: no `jti` is recorded (so a replay is not detected), no user
    /// is created or updated. `first_login` says whether a login would
    /// create the user, and `user` is the user it would create or find.
    pub async fn check(&self, token: &str) -> Result<Login, Error> {
        self.check_route_at(TokenRoute::Issuer, token, self.registry.clock_now())
            .await
    }

    /// [`Authenticator::check`] along any [`TokenRoute`], as if the time were `now`.
    pub async fn check_route_at(
        &self,
        route: TokenRoute<'_>,
        token: &str,
        now: i64,
    ) -> Result<Login, Error> {
        let mut progress = Progress::default();
        let result = self.run(route, token, now, true, &mut progress).await;
        if let Err(error) = &result {
            tracing::debug!(
                target: "jwt_sso",
                config = progress.config.as_deref().unwrap_or(""),
                kind = error.kind().as_str(),
                "login check refused"
            );
        }
        result
    }

    /// Completes the login of an identity verified elsewhere (e.g. by a
    /// host's own routing), at the registry clock's time: steps 2–5 of the
    /// type's documentation, with the policies of the configuration named
    /// by `identity.config` (`unknown_config` when the registry no longer
    /// holds it). Emits the login's outcome event.
    pub async fn provision(&self, identity: MappedIdentity) -> Result<Login, Error> {
        self.provision_at(identity, self.registry.clock_now()).await
    }

    /// [`Authenticator::provision`] as if the time were `now`.
    pub async fn provision_at(&self, identity: MappedIdentity, now: i64) -> Result<Login, Error> {
        let mut attempt = Attempt::start(None);
        attempt.progress = Progress {
            config: Some(identity.config.clone()),
            user_id: Some(identity.user_id.clone()),
        };
        let span = attempt.span().clone();
        let result = match self.registry.verifier(&identity.config) {
            Some(verifier) => {
                self.complete(verifier.config(), identity, now, false)
                    .instrument(span)
                    .await
            }
            None => {
                // No longer a configuration: the event (and metric label) names none.
                attempt.progress.config = None;
                Err(Error::UnknownConfig {
                    name: identity.config.clone(),
                    known: self.registry.list().into_iter().map(|c| c.name).collect(),
                })
            }
        };
        let ending = Ending::of(&result, |login| login.first_login);
        events::finish(&self.events, attempt, now, ending);
        result
    }

    async fn run(
        &self,
        route: TokenRoute<'_>,
        token: &str,
        now: i64,
        dry: bool,
        progress: &mut Progress,
    ) -> Result<Login, Error> {
        let (verifier, payload) = match self.registry.routed(route, token, false) {
            Ok(routed) => routed,
            Err(error) => {
                // A token for a disabled configuration names it.
                if let Error::Disabled { config } = &error {
                    progress.config = Some(config.clone());
                }
                return Err(error);
            }
        };
        progress.config = Some(verifier.name().to_owned());
        let identity = verify_with(Arc::clone(&verifier), token, now, payload).await?;
        progress.user_id = Some(identity.user_id.clone());
        self.complete(verifier.config(), identity, now, dry).await
    }

    /// Steps 2–5 with the configuration that verified `identity`.
    async fn complete(
        &self,
        config: &JwtConfig,
        identity: MappedIdentity,
        now: i64,
        dry: bool,
    ) -> Result<Login, Error> {
        let found = self.find(&identity.user_id).await?;
        match &found {
            Some(user) => check_scope(&self.registry, config, user)?,
            None if !config.create_users => {
                return Err(Error::UnknownUser {
                    config: config.name.clone(),
                    user_id: identity.user_id.clone(),
                });
            }
            None => {}
        }
        if dry {
            let first_login = found.is_none();
            let user = match found {
                Some(user) => synced(config, user, &identity),
                None => new_user(config, &identity),
            };
            return Ok(Login {
                first_login,
                user,
                identity,
            });
        }
        if config.single_use {
            self.record(config, &identity, now).await?;
        }
        let user = match found {
            Some(user) => user,
            None => match self.store.create(&new_user(config, &identity)).await {
                Ok(user) => {
                    return Ok(Login {
                        first_login: true,
                        user,
                        identity,
                    });
                }
                // A concurrent login created the user first: a later login.
                Err(StoreError::Conflict) => match self.find(&identity.user_id).await? {
                    Some(user) => {
                        check_scope(&self.registry, config, &user)?;
                        user
                    }
                    None => {
                        return Err(store_error(
                            format!(
                                "finding user `{}` after a create conflict",
                                untrusted(&identity.user_id)
                            ),
                            StoreError::failed(
                                "the store reported the user as existing but cannot find it",
                            ),
                        ));
                    }
                },
                Err(error) => {
                    return Err(store_error(
                        format!("creating user `{}`", untrusted(&identity.user_id)),
                        error,
                    ));
                }
            },
        };
        let user = if config.sync_on_login {
            let next = synced(config, user.clone(), &identity);
            if next != user {
                self.store.update(&next).await.map_err(|e| {
                    store_error(format!("updating user `{}`", untrusted(&next.user_id)), e)
                })?;
            }
            next
        } else {
            user
        };
        Ok(Login {
            first_login: false,
            user,
            identity,
        })
    }

    /// Step 4: records the token's (configuration, `iss`, `jti`).
    async fn record(
        &self,
        config: &JwtConfig,
        identity: &MappedIdentity,
        now: i64,
    ) -> Result<(), Error> {
        // The verifier refuses a single-use token without `jti`
        // (`missing_jti`); should one get here, it is refused all the same.
        let Some(jti) = identity.token_id.as_deref() else {
            return Err(Error::MissingJti {
                state: "absent".into(),
                present: Vec::new(),
            });
        };
        let issuer = identity.issuer.as_deref().unwrap_or("");
        let id = config.stable_id();
        let key = JtiKey {
            config: &id,
            issuer,
            jti,
        };
        match self
            .replay
            .record(key, remembered_until(config, identity), now)
            .await
        {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::TokenReplayed {
                config: config.name.clone(),
                iss: identity.issuer.clone(),
                jti: jti.to_owned(),
            }),
            Err(error) => Err(store_error(
                format!(
                    "recording the used token ID `{}` (configuration `{}`)",
                    untrusted(jti),
                    config.name
                ),
                error,
            )),
        }
    }

    async fn find(&self, user_id: &str) -> Result<Option<User>, Error> {
        self.store
            .find(user_id)
            .await
            .map_err(|e| store_error(format!("finding user `{}`", untrusted(user_id)), e))
    }
}

/// Until when a used `jti` is remembered: past the last second at which its
/// token could be accepted, i.e. `expires_at` (`min(exp, iat +
/// expiration_time)`, rounded up) + leeway, + 1.
fn remembered_until(config: &JwtConfig, identity: &MappedIdentity) -> i64 {
    let at = identity.expires_at;
    let whole = at.unix_timestamp() + i64::from(at.nanosecond() > 0);
    let leeway = i64::try_from(config.leeway).unwrap_or(i64::MAX);
    whole.saturating_add(leeway).saturating_add(1)
}

/// The user a first login through `config` creates: recorded under the
/// configuration's stable id, which survives a rename.
fn new_user(config: &JwtConfig, identity: &MappedIdentity) -> User {
    User {
        created_by_config: Some(config.stable_id()),
        ..User::from_identity(identity)
    }
}

/// `user_scope`: whether `config` may log in `user`. A user records the
/// stable id of the configuration that created it (older records: its
/// name, which is the default id), compared without regard to case.
fn check_scope(registry: &Registry, config: &JwtConfig, user: &User) -> Result<(), Error> {
    let Some(owner) = &user.created_by_config else {
        return Ok(()); // the host's own user
    };
    if config.user_scope == UserScope::Shared || owner.to_lowercase() == config.stable_id() {
        return Ok(());
    }
    // Name the owner as the administrator knows it now.
    let owner = registry.name_of_id(owner).unwrap_or_else(|| owner.clone());
    let user_id = untrusted(&user.user_id);
    Err(Error::UserConflict {
        config: config.name.clone(),
        user_id: user.user_id.clone(),
        fix: format!(
            "User `{user_id}` belongs to configuration `{owner}`. If both configurations name the same person, set `user_scope: \"shared\"` on configuration `{}` so that it may log in users that other configurations created; if they are different people, make one of them send distinct user IDs (another claims.user_id, or a prefix at its identity provider).",
            config.name
        ),
        owner,
    })
}

/// `user` with name, email and roles from `identity` when `config` has
/// `sync_on_login`.
fn synced(config: &JwtConfig, mut user: User, identity: &MappedIdentity) -> User {
    if config.sync_on_login {
        user.name.clone_from(&identity.name);
        user.email.clone_from(&identity.email);
        user.roles.clone_from(&identity.roles);
    }
    user
}

fn store_error(action: String, error: StoreError) -> Error {
    let source = match error {
        StoreError::Failed(source) => source,
        StoreError::Conflict => StoreError::Conflict.to_string().into(),
    };
    Error::Store { action, source }
}
