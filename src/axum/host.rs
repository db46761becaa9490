//! A whole host from a few values: what `login_server` is, as a library
//! type (CONTRACT sections 6–9).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ::axum::Router;
use ::axum::extract::FromRef;

use super::admin::{self, AdminAccess};
use super::{JwtAuth, LoginOptions, LoginRoutes, SessionAuth};
use crate::admin::{Admin, AdminError, Configs};
use crate::config_file::ConfigFile;
use crate::session::Sessions;
use crate::sql::{SqlOptions, SqlStore};
use crate::task::Task;

/// What a [`Host`] is built with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HostOptions {
    /// The role that makes a session's user an administrator (default
    /// `Administrator`).
    pub admin_role: String,
    /// Login events kept in the database (default 10 000).
    pub event_retention: u64,
    /// The login routes' options (the session cookie, `return_to` hosts,
    /// throttling, …).
    pub login: LoginOptions,
    /// The host's roles, what the administrator's saves may name and the
    /// console's choices (empty: any; [`Admin::with_catalog`]).
    pub roles: Vec<String>,
    /// The host's user types (empty: any).
    pub user_types: Vec<String>,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            admin_role: "Administrator".to_owned(),
            event_retention: 10_000,
            login: LoginOptions::default(),
            roles: Vec::new(),
            user_types: Vec::new(),
        }
    }
}

impl HostOptions {
    /// The administrator's role.
    pub fn admin_role(mut self, role: impl Into<String>) -> Self {
        self.admin_role = role.into();
        self
    }

    /// How many login events the database keeps.
    pub fn event_retention(mut self, events: u64) -> Self {
        self.event_retention = events;
        self
    }

    /// The login routes' options.
    pub fn login(mut self, options: LoginOptions) -> Self {
        self.login = options;
        self
    }

    /// The host's catalogue: its roles and user types.
    pub fn catalog(
        mut self,
        roles: impl IntoIterator<Item = impl Into<String>>,
        user_types: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        self.roles = roles.into_iter().map(Into::into).collect();
        self.user_types = user_types.into_iter().map(Into::into).collect();
        self
    }
}

/// A host of CONTRACT sections 6–9 over one database: users, sessions,
/// used `jti`s and login events in a [`SqlStore`] (a SQLite file, or
/// PostgreSQL shared by several instances); the configurations in the
/// `--config` file ([`ConfigFile`]: the file is the store) with SQLite, or
/// in PostgreSQL (seeded from the file only into a database that never held
/// configurations), owned by one [`Configs`]; sessions that end with their
/// configuration; the login routes, the session routes, the administrator's
/// API, console, event history and session ending ([`Host::router`]).
/// Cheap to clone; as a router's state it provides [`SessionAuth`] and
/// [`JwtAuth`] (bearer tokens of `bearer: true` configurations) for the
/// host's own routes.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use jwt_sso::axum::{Host, HostOptions, SessionOrBearer, admin::AdminAccess};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let host = Host::open("jwt-configs.json", "users.sqlite", HostOptions::default()).await?;
/// let _background = host.spawn_background(); // config poller, purge
/// let app: Router = Router::new()
///     .route("/api/me", get(|_: SessionOrBearer| async { "hello" }))
///     .with_state(host.clone())
///     .merge(host.router(AdminAccess::from_env()));
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Host {
    inner: Arc<Inner>,
}

struct Inner {
    configs: Configs,
    store: SqlStore,
    login: LoginRoutes<SqlStore, Arc<Sessions<SqlStore>>, SqlStore>,
    sessions: SessionAuth,
    bearer: JwtAuth,
    admin: Arc<Admin>,
    admin_role: String,
    /// Writes the login events into the database while the host lives.
    _event_writer: Task,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("database", &self.inner.store.backend_name())
            .field("admin_role", &self.inner.admin_role)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// Opens the database `db` (a URL, `postgres://…` or `sqlite:…`, or a
    /// bare path: an SQLite file, created if missing) and the configurations
    /// (see the type), logs the configurations' warnings and remote key
    /// warm-up failures, and describes the metrics. Needs a tokio runtime.
    pub async fn open(
        config: impl AsRef<Path>,
        db: &str,
        options: HostOptions,
    ) -> Result<Host, AdminError> {
        let opened = if db.contains("://") || db.starts_with("sqlite:") {
            SqlStore::open(db).await
        } else {
            SqlStore::sqlite(db, &SqlOptions::default()).await
        };
        let store = opened.map_err(|e| AdminError::Store(e.during("opening the database")))?;
        let file = ConfigFile::new(config.as_ref());
        // No token gives the administrator's role unless its configuration
        // has `may_grant_admin`.
        let admin_roles = [options.admin_role.clone()];
        let configs = if store.backend_name() == "PostgreSQL" {
            let configs = Configs::new(store.clone()).with_admin_roles(admin_roles);
            let configs = configs.load().await?;
            configs.seed_from(&file).await?;
            configs
        } else {
            Configs::new(file)
                .with_admin_roles(admin_roles)
                .load()
                .await?
        };
        let registry = Arc::clone(configs.registry());
        for warning in registry.warnings() {
            tracing::warn!(target: "jwt_sso", "configuration warning: {warning:?}");
        }
        for (name, error) in registry.warm_up().await {
            tracing::warn!(target: "jwt_sso", config = %crate::error::escape_controls(&name), kind = error.kind().as_str(), "key warm-up failed: {}", crate::error::escape_controls(&error.to_string()));
        }
        registry.describe_metrics();
        let sessions = Sessions::new(store.clone(), registry.clock()).ending_with(&configs);
        let auth = crate::Authenticator::new(Arc::clone(&registry), store.clone())
            .with_replay_store(store.clone());
        let event_writer = store.spawn_event_writer(auth.subscribe(4096), options.event_retention);
        Ok(Host {
            inner: Arc::new(Inner {
                sessions: SessionAuth::new(Arc::clone(&sessions), store.clone(), &options.login),
                login: LoginRoutes::new(auth, sessions, options.login),
                bearer: JwtAuth::new(registry),
                admin: Arc::new(
                    Admin::new(configs.clone()).with_catalog(options.roles, options.user_types),
                ),
                configs,
                store,
                admin_role: options.admin_role,
                _event_writer: event_writer,
            }),
        })
    }

    /// Starts the background work: the configuration poller (changes made
    /// through other instances, or in the file by hand, in force within a
    /// second) and the purge of expired sessions and `jti`s (every minute).
    /// Each runs until its handle is dropped.
    pub fn spawn_background(&self) -> [Task; 2] {
        let clock = self.inner.configs.registry().clock();
        [
            self.inner.configs.spawn_sync(Duration::from_secs(1)),
            self.inner.store.spawn_purge(Duration::from_secs(60), clock),
        ]
    }

    /// The login routes ([`LoginRoutes::router`]), the session routes
    /// ([`SessionAuth::router`]) and the administrator's API, console,
    /// event history and session ending ([`admin::router`],
    /// [`admin::events_router`], [`admin::sessions_router`]) for the
    /// callers of `access` and the `X-Auth-Token` sessions whose user has
    /// the administrator's role.
    pub fn router<S: Clone + Send + Sync + 'static>(&self, access: AdminAccess) -> Router<S> {
        let inner = &self.inner;
        let access = access.with_sessions(inner.sessions.clone(), inner.admin_role.clone());
        Router::new()
            .merge(inner.login.router())
            .merge(inner.sessions.router())
            .merge(admin::events_router(inner.store.clone(), access.clone()))
            .merge(admin::sessions_router(
                inner.sessions.clone(),
                access.clone(),
            ))
            .merge(admin::router(Arc::clone(&inner.admin), access))
    }

    /// The owner of the configurations.
    pub fn configs(&self) -> &Configs {
        &self.inner.configs
    }

    /// The database.
    pub fn store(&self) -> &SqlStore {
        &self.inner.store
    }

    /// The login routes (their authenticator: `subscribe` to the login events).
    pub fn login(&self) -> &LoginRoutes<SqlStore, Arc<Sessions<SqlStore>>, SqlStore> {
        &self.inner.login
    }
}

impl FromRef<Host> for SessionAuth {
    fn from_ref(host: &Host) -> SessionAuth {
        host.inner.sessions.clone()
    }
}

impl FromRef<Host> for JwtAuth {
    fn from_ref(host: &Host) -> JwtAuth {
        host.inner.bearer.clone()
    }
}
