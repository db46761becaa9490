//! The login flow (CONTRACT section 6): verify through a [`Registry`], find
//! the user, apply the configuration's policies, record a single-use token's
//! `jti`, then create or update the user.

use std::sync::Arc;

use tracing::Instrument as _;

use crate::config::{JwtConfig, SyncField, UserScope};
use crate::error::StoreError;
use crate::error::{Error, LoginError, TokenError, untrusted};
use crate::events::{self, Attempt, Ending, EventReceiver, LoginEvents, Progress};
use crate::identity::{Verified, owned_roles};
use crate::registry::{Registry, Verification, verify_with};
use crate::store::{MemoryStore, ReplayStore, UsedJti, User, UserStore};
use crate::unix_time::UnixTime;

/// The outcome of a successful login.
#[derive(Debug, Clone, PartialEq)]
pub struct Login {
    /// Whether this login created the user.
    pub first_login: bool,
    /// The user as the store holds it (type and roles from its creation;
    /// the fields `sync_on_login` names from this login).
    pub user: User,
    /// The verified identity of this login.
    pub identity: Verified,
}

/// The login flow: verify the token through a [`Registry`] (the full,
/// async check: remote keys are fetched when needed), find the user, apply
/// the configuration's policies, and create the user on first login.
///
/// In order, the first failure refusing the login:
///
/// 1. verification along the [`Verification`]'s route: by `iss`, among the
///    configurations of one `token_name`, or by configuration name;
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
/// 5. first login: the user is created with the identity's `user_type`
///    (the configuration's, or a matching role rule's), its roles
///    (`initial_roles`, mapped roles, role rules), and
///    `created_by_config`; a concurrent first login that created it first
///    is found instead (one user). A later login with `sync_on_login`
///    replaces the fields it names (name, email, roles, user type) from
///    the identity.
///
/// Steps 4 and 5 are the only writes. Two rare races are decided for safety:
/// when `create` finds the user taken by a concurrent login of *another*
/// configuration, the policies run again on that user after the `jti` was
/// recorded; and a store failure in step 5 refuses the login (`store`)
/// after its `jti` was recorded.
///
/// Each login attempt ends in exactly one `tracing` event (target
/// `jwt_sso`, in a span `jwt_sso.login`): INFO `login accepted` or WARN
/// `login refused`, with the field names of the [`LoginEvent`](crate::events::LoginEvent)
/// (`config`, `outcome`, `kind`, `user_id`, `first_login`, `client`,
/// `error` for the full message with the store's own error, `hint`), all
/// escaped, never the token; in the metrics of [`crate::metrics`]; and in one
/// [`LoginEvent`](crate::events::LoginEvent) for the subscribers
/// ([`Authenticator::subscribe`]). [`Authenticator::check`] reports none of
/// these.
///
/// ```
/// use std::sync::Arc;
/// use jwt_sso::{Authenticator, ErrorKind, ManualClock, MemoryStore, Registry, UnixTime, Verification};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let registry = Registry::from_json_str(r#"{
///     "name": "ERP", "token_name": "token", "issuer": "https://erp.example.com",
///     "algorithms": ["HS256"], "key_source": {"type": "static", "secret": "erp-secret-of-at-least-32-bytes!!"},
///     "expiration_time": 3600, "claims": {"user_id": "sub", "roles": "groups"},
///     "user_type": "analyst", "initial_roles": ["Viewer"], "single_use": true
/// }"#)?
/// .with_clock(ManualClock::new(UnixTime::from_secs(1_767_225_600)));
/// let auth = Authenticator::new(Arc::new(registry), MemoryStore::new());
///
/// let sign = |jti: &str, groups: &[&str]| jwt_sso::mint::SigningKey::from_secret(b"erp-secret-of-at-least-32-bytes!!").sign(
///     jwt_sso::Algorithm::HS256,
///     &serde_json::json!({"iss": "https://erp.example.com", "sub": "jdoe", "jti": jti,
///                         "groups": groups, "exp": 1_767_229_200}),
/// );
///
/// let first = auth.login(&sign("a1", &["Sales"])?, Verification::default()).await?;
/// assert!(first.first_login);
/// assert_eq!(first.user.user_type, "analyst");
/// assert_eq!(first.user.roles, ["Viewer", "Sales"]);
/// assert_eq!(first.user.created_by_config.as_deref(), Some("erp"));
///
/// // Later logins find the user and keep its roles.
/// let later = auth.login(&sign("a2", &["Finance"])?, Verification::default()).await?;
/// assert!(!later.first_login);
/// assert_eq!(later.user.roles, ["Viewer", "Sales"]);
/// assert_eq!(later.identity.roles, ["Viewer", "Finance"]);
/// assert_eq!(auth.store().len(), 1);
///
/// // A single-use token works once.
/// let err = auth.login(&sign("a2", &["Finance"])?, Verification::default()).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::TokenReplayed);
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct Authenticator<S, R = MemoryStore> {
    registry: Arc<Registry>,
    store: S,
    replay: R,
    events: LoginEvents,
}

impl<S: UserStore> Authenticator<S> {
    /// A login flow over `registry` and the user `store`, remembering used
    /// `jti`s in a [`MemoryStore`] (see
    /// [`Authenticator::with_replay_store`] for one that survives restarts
    /// or is shared by several instances).
    pub fn new(registry: Arc<Registry>, store: S) -> Self {
        Authenticator {
            registry,
            store,
            replay: MemoryStore::new(),
            events: LoginEvents::new(),
        }
    }
}

impl<S: UserStore, R: ReplayStore> Authenticator<S, R> {
    /// Replaces the store of used `jti`s (default: a [`MemoryStore`]).
    pub fn with_replay_store<R2: ReplayStore>(self, replay: R2) -> Authenticator<S, R2> {
        Authenticator {
            registry: self.registry,
            store: self.store,
            replay,
            events: self.events,
        }
    }

    /// A subscription to this login flow's events ([`LoginEvent`]s of
    /// [`Authenticator::login`], [`Authenticator::provision`] and the login
    /// routes over it), with a buffer of `capacity` events (at least 1):
    /// e.g. for `SqlStore::spawn_event_writer`, or a host's audit log.
    /// Several subscribers each get every event; a login never waits for
    /// one (see [`EventReceiver`]).
    ///
    /// [`LoginEvent`]: crate::events::LoginEvent
    pub fn subscribe(&self, capacity: usize) -> EventReceiver {
        self.events.subscribe(capacity)
    }

    /// How many login events were lost so far: dropped for a subscriber
    /// whose buffer was full, or received by a history that could not store
    /// them (also counted in `jwt_sso_events_dropped_total`).
    pub fn events_dropped(&self) -> u64 {
        self.events.dropped()
    }

    /// Where login attempts are reported (the login routes report theirs).
    #[cfg(feature = "axum")]
    pub(crate) fn events(&self) -> &LoginEvents {
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

    /// Logs `token` in: verified through the registry along the
    /// verification's route (by `iss` by default; see [`Registry`]), at its
    /// time (default: the registry clock's), then steps 2–5 of the type's
    /// documentation. Emits the login's outcome event.
    pub async fn login(&self, token: &str, verification: Verification<'_>) -> Result<Login, Error> {
        let now = self.time_of(&verification);
        let mut attempt = Attempt::start(None);
        let span = attempt.span().clone();
        let result = self
            .attempt(token, verification, &mut attempt)
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
        token: &str,
        verification: Verification<'_>,
        attempt: &mut Attempt,
    ) -> Result<Login, Error> {
        self.run(verification, token, false, &mut attempt.progress)
            .await
    }

    /// The time a verification checks at: its own, or the registry clock's.
    pub(crate) fn time_of(&self, verification: &Verification<'_>) -> UnixTime {
        verification
            .time()
            .unwrap_or_else(|| self.registry.clock_now())
    }

    /// A dry run of [`Authenticator::login`] (the administrator's "test a
    /// token"): verification, user lookup and policies, but nothing is
    /// written: no `jti` is recorded (so a replay is not detected), no user
    /// is created or updated. `first_login` says whether a login would
    /// create the user, and `user` is the user it would create or find.
    pub async fn check(&self, token: &str, verification: Verification<'_>) -> Result<Login, Error> {
        let mut progress = Progress::default();
        let result = self.run(verification, token, true, &mut progress).await;
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

    /// Completes the login of an identity verified elsewhere in this
    /// crate (e.g. by a [`Verifier`](crate::Verifier) the host routed to
    /// itself), at the registry clock's time: steps 2–5 of the type's
    /// documentation, with the policies of the configuration named by
    /// `identity.config` (`unknown_config` when the registry no longer holds
    /// it). Only a [`Verified`] is taken: claims mapped by a host's own
    /// [`ClaimMapper`](crate::ClaimMapper) cannot log anyone in. Emits the
    /// login's outcome event.
    pub async fn provision(&self, identity: Verified) -> Result<Login, Error> {
        let now = self.registry.clock_now();
        let mut attempt = Attempt::start(None);
        attempt.progress = Progress {
            config: Some(identity.config.as_str().to_owned()),
            user_id: Some(identity.user_id.as_str().to_owned()),
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
                Err(Error::Login(LoginError::UnknownConfig {
                    name: identity.config.as_str().to_owned(),
                    known: self
                        .registry
                        .list()
                        .into_iter()
                        .map(|c| c.name.into())
                        .collect(),
                }))
            }
        };
        let ending = Ending::of(&result, |login| login.first_login);
        events::finish(&self.events, attempt, now, ending);
        result
    }

    async fn run(
        &self,
        verification: Verification<'_>,
        token: &str,
        dry: bool,
        progress: &mut Progress,
    ) -> Result<Login, Error> {
        let now = self.time_of(&verification);
        let (verifier, payload) = match self.registry.routed(verification.route_of(), token, false)
        {
            Ok(routed) => routed,
            Err(error) => {
                // A token for a disabled configuration names it.
                if let Error::Token(TokenError::Disabled { config }) = &error {
                    progress.config = Some(config.clone());
                }
                return Err(error);
            }
        };
        progress.config = Some(verifier.name().to_owned());
        let identity = verify_with(Arc::clone(&verifier), token, now, payload).await?;
        progress.user_id = Some(identity.user_id.as_str().to_owned());
        self.complete(verifier.config(), identity, now, dry).await
    }

    /// Steps 2–5 with the configuration that verified `identity`.
    async fn complete(
        &self,
        config: &JwtConfig,
        identity: Verified,
        now: UnixTime,
        dry: bool,
    ) -> Result<Login, Error> {
        let found = self.find(&identity.user_id).await?;
        match &found {
            Some(user) => check_scope(&self.registry, config, user)?,
            None if !config.create_users => {
                return Err(Error::Login(LoginError::UnknownUser {
                    config: config.name.to_string(),
                    user_id: identity.user_id.as_str().to_owned(),
                }));
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
                Err(e) if e.is_conflict() => match self.find(&identity.user_id).await? {
                    Some(user) => {
                        check_scope(&self.registry, config, &user)?;
                        user
                    }
                    None => {
                        return Err(StoreError::failed(
                            "the store reported the user as existing but cannot find it",
                        )
                        .during(format!(
                            "finding user `{}` after a create conflict",
                            untrusted(&identity.user_id)
                        ))
                        .into());
                    }
                },
                Err(error) => {
                    return Err(error
                        .during(format!("creating user `{}`", untrusted(&identity.user_id)))
                        .into());
                }
            },
        };
        let user = if !config.sync_on_login.is_off() {
            let next = synced(config, user.clone(), &identity);
            if next != user {
                self.store.update(&next).await.map_err(|e| {
                    e.during(format!("updating user `{}`", untrusted(&next.user_id)))
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
        identity: &Verified,
        now: UnixTime,
    ) -> Result<(), Error> {
        // The verifier refuses a single-use token without `jti`
        // (`missing_jti`); should one get here, it is refused all the same.
        let Some(jti) = identity.token_id.as_deref() else {
            return Err(Error::Token(TokenError::MissingJti {
                state: "absent".into(),
                present: Vec::new(),
            }));
        };
        let issuer = identity.issuer.as_deref().unwrap_or("");
        let id = config.stable_id();
        let used = UsedJti {
            config: &id,
            issuer,
            jti,
            until: remembered_until(config, identity),
        };
        match self.replay.record(used, now).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::Login(LoginError::TokenReplayed {
                config: config.name.to_string(),
                iss: identity.issuer.as_deref().map(str::to_owned),
                jti: jti.to_owned(),
            })),
            Err(error) => Err(error
                .during(format!(
                    "recording the used token ID `{}` (configuration `{}`)",
                    untrusted(jti),
                    config.name
                ))
                .into()),
        }
    }

    async fn find(&self, user_id: &str) -> Result<Option<User>, Error> {
        self.store.find(user_id).await.map_err(|e| {
            e.during(format!("finding user `{}`", untrusted(user_id)))
                .into()
        })
    }
}

/// Until when a used `jti` is remembered: past the last second at which its
/// token could be accepted, i.e. `expires_at` (`min(exp, iat +
/// expiration_time)`, rounded up) + leeway, + 1.
fn remembered_until(config: &JwtConfig, identity: &Verified) -> UnixTime {
    let at = identity.expires_at;
    let whole = UnixTime::from_secs(at.unix_timestamp() + i64::from(at.nanosecond() > 0));
    whole + std::time::Duration::from_secs(config.leeway) + std::time::Duration::from_secs(1)
}

/// The user a first login through `config` creates: recorded under the
/// configuration's stable id, which survives a rename.
fn new_user(config: &JwtConfig, identity: &Verified) -> User {
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
    Err(Error::Login(LoginError::UserConflict {
        config: config.name.to_string(),
        user_id: user.user_id.clone(),
        fix: format!(
            "User `{user_id}` belongs to configuration `{owner}`. If both configurations name the same person, set `user_scope: \"shared\"` on configuration `{}` so that it may log in users that other configurations created; if they are different people, make one of them send distinct user IDs (another claims.user_id, or a prefix at its identity provider).",
            config.name
        ),
        owner,
    }))
}

/// `user` with the fields `config`'s `sync_on_login` names taken from
/// `identity` (name, email, roles, user type).
fn synced(config: &JwtConfig, mut user: User, identity: &Verified) -> User {
    let sync = &config.sync_on_login;
    if sync.syncs(SyncField::Name) {
        user.name = identity.name.as_deref().map(str::to_owned);
    }
    if sync.syncs(SyncField::Email) {
        user.email = identity.email.as_deref().map(str::to_owned);
    }
    if sync.syncs(SyncField::Roles) {
        user.roles = owned_roles(&identity.roles);
    }
    if sync.syncs(SyncField::UserType) {
        user.user_type = identity.user_type.as_str().to_owned();
    }
    user
}
