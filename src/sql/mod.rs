//! The SQL stores (cargo features `sqlite` and `postgres`): users, used
//! `jti`s, sessions, configurations and the login event history in one
//! database, shared by every instance that opens it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row as _;

use crate::clock::Clock;
use crate::config::JwtConfig;
use crate::error::StoreError;
use crate::store::{
    ConfigChange, ConfigSet, ConfigStore, ReplayStore, Session, SessionStore, StoredConfig,
    UsedJti, User, UserStore, new_version,
};
use crate::task::Task;
use crate::unix_time::UnixTime;

mod schema;

use schema::Dialect;

/// Settings of a [`SqlStore`].
///
/// ```
/// use std::time::Duration;
/// use jwt_sso::SqlOptions;
///
/// let options = SqlOptions::default()
///     .max_connections(20)
///     .timeout(Duration::from_secs(2));
/// assert_eq!(options.max_connections, 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqlOptions {
    /// The most connections the pool opens (default 10; at least 1). At
    /// most half of them (at least one) serve writes at once, so that reads
    /// (sessions, users, configurations) always find a connection while
    /// writers wait for a locked database.
    pub max_connections: u32,
    /// How long one store operation may take in all: waiting for a
    /// connection, a lock and every statement (default 3 s). Past it the
    /// operation fails with a failed [`StoreError`].
    pub timeout: Duration,
}

impl Default for SqlOptions {
    fn default() -> Self {
        SqlOptions {
            max_connections: 10,
            timeout: Duration::from_secs(3),
        }
    }
}

impl SqlOptions {
    /// Sets [`SqlOptions::max_connections`].
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets [`SqlOptions::timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[derive(Clone)]
enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// Runs `$body` with `$pool` bound to the store's pool and `$sql` to its
/// [`Dialect`]; the body is compiled once per backend.
macro_rules! with_pool {
    ($store:expr, |$pool:ident, $sql:ident| $body:expr) => {
        match &$store.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite($pool) => {
                let $sql: &Dialect = &schema::SQLITE;
                $body
            }
            #[cfg(feature = "postgres")]
            Pool::Postgres($pool) => {
                let $sql: &Dialect = &schema::POSTGRES;
                $body
            }
        }
    };
}

mod events;

/// Users, used `jti`s, sessions and configurations in SQLite or PostgreSQL:
/// it implements [`UserStore`], [`ReplayStore`], [`SessionStore`] and
/// [`ConfigStore`]. Several instances that open one PostgreSQL database
/// share all four.
///
/// - **Schema:** created on open, idempotently, in tables named `jwt_sso_*`
///   (so they can live in the host's own database), with a version row in
///   `jwt_sso_schema` for later migrations. A database written by a newer
///   release is refused rather than misread.
/// - **Atomicity:** users and used `jti`s are insert-on-conflict on their
///   keys, so racing instances create one user and accept a `jti` once;
///   a session insert and the trimming of the user's oldest sessions are one
///   transaction; each configuration change and its revision bump are one
///   transaction, an update is a compare-and-swap on the stored version
///   (random, given on every change: the `ETag` every instance serves). A
///   failure leaves nothing half-written.
/// - **Seeding:** [`ConfigStore::seed`] stores configurations only into a
///   database that has never held any (its configuration revision is 0),
///   in one transaction; one whose configurations were all deleted stays
///   empty.
/// - **Bounded waits:** a pool of at most [`SqlOptions::max_connections`],
///   and every operation gives up after [`SqlOptions::timeout`] (3 s) with
///   a failed [`StoreError`]: a database that is down, locked or slow never
///   stalls a caller longer. Writes take at most half the pool (at least one
///   connection): the others wait without holding a connection, so reads
///   are served while writers wait for a locked database. PostgreSQL gets the same `statement_timeout`
///   and `lock_timeout`; SQLite runs in WAL mode with a busy timeout, so a
///   long write does not stall reads. A PostgreSQL server that goes away and
///   comes back is reconnected to on the next operation; the store needs no
///   rebuilding.
/// - **The SQLite file:** its device and inode are noted at open and
///   checked before every operation (one `stat`: 2.4 µs, against 50 µs or
///   more for the query, `benches/sql.rs`): a
///   file deleted or replaced while the store is open makes every operation
///   fail with a [`StoreError`] rather than write into a file nobody
///   will read again. Put it back (or restart, to open the new file).
/// - **Secrets:** configurations are stored with their secrets (as
///   [`JwtConfig::to_json_string`] writes them), so protect the database
///   like the configuration file. `Debug` shows the backend and the place,
///   never a password.
/// - **TLS to PostgreSQL** is not compiled in. A host that needs it enables
///   it through feature unification: `sqlx = { version = "0.8", features =
///   ["tls-rustls"] }` in its own `Cargo.toml`, and `?sslmode=require` in
///   the URL.
///
/// The clone is cheap and shares the pool.
///
/// ```
/// # #[cfg(feature = "sqlite")]
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use jwt_sso::{ReplayStore, SqlStore, UnixTime, UsedJti};
///
/// let dir = std::env::temp_dir().join(format!("jwt-sso-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// // The URL's scheme decides: `sqlite:` (a file), `postgres://user@host:5432/db`.
/// let url = format!("sqlite:{}", dir.join("jwt-sso.sqlite").display());
/// let store = SqlStore::open(&url).await?;
///
/// let at = UnixTime::from_secs;
/// let used = UsedJti { config: "erp", issuer: "https://erp.example.com", jti: "a1", until: at(2_000_000_000) };
/// assert!(store.record(used, at(1_767_225_600)).await?); // first use
/// assert!(!store.record(used, at(1_767_225_601)).await?); // a replay
/// // A misspelt scheme is refused, never taken for a file name.
/// assert!(SqlStore::open("postgress://jwt@localhost/sso").await.is_err());
/// # store.close().await;
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok(())
/// # }
/// # #[cfg(not(feature = "sqlite"))]
/// # fn main() {}
/// ```
#[derive(Clone)]
pub struct SqlStore {
    pool: Pool,
    timeout: Duration,
    /// For `Debug` and messages: the file, or `host:port/database`.
    place: Arc<str>,
    /// The places a write may take: half the pool, so reads always find a
    /// connection while writers wait for a lock.
    writers: Arc<tokio::sync::Semaphore>,
    /// SQLite: the database file as it was opened (checked before every
    /// operation).
    file: Option<Arc<FileIdentity>>,
}

impl fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlStore")
            .field("backend", &self.backend_name())
            .field("place", &self.place)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SqlStore {
    /// Opens the store at the database URL `url` with
    /// [`SqlOptions::default`]. The scheme decides: `sqlite:PATH` or
    /// `sqlite://PATH` is an SQLite file (created when missing),
    /// `postgres://…` or `postgresql://…` is PostgreSQL. Any other text,
    /// a bare file path or a misspelt scheme included, is an error, never
    /// a new file of that name: open a path with [`SqlStore::sqlite`].
    pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
        SqlStore::open_with(url, &SqlOptions::default()).await
    }

    /// [`SqlStore::open`] with `options`.
    pub async fn open_with(url: &str, options: &SqlOptions) -> Result<SqlStore, StoreError> {
        let (backend, _rest) = Backend::of(url)?;
        match backend {
            #[cfg(feature = "postgres")]
            Backend::Postgres => SqlStore::postgres(url, options).await,
            #[cfg(feature = "sqlite")]
            Backend::Sqlite => SqlStore::sqlite(_rest, options).await,
            #[allow(unreachable_patterns)]
            other => Err(StoreError::failed(UrlError::NotBuilt(other.feature()))),
        }
    }

    /// Opens (creating when missing) the SQLite database file at `path`.
    #[cfg(feature = "sqlite")]
    pub async fn sqlite(
        path: impl AsRef<std::path::Path>,
        options: &SqlOptions,
    ) -> Result<SqlStore, StoreError> {
        use sqlx::sqlite::{
            SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
        };
        let path = path.as_ref();
        let text = path.to_string_lossy();
        if text.is_empty() || text.starts_with(":memory:") {
            return Err(StoreError::failed(
                "an SQLite store needs a database file (an in-memory database \
                 is not shared between the pool's connections)",
            ));
        }
        let connect = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(options.timeout);
        let place = path.display().to_string();
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(options.timeout)
            // A connection to a file has no server that could drop it: no
            // test query (a round trip to its worker thread) per checkout.
            .test_before_acquire(false)
            .connect_lazy_with(connect);
        let mut store = SqlStore::ready(Pool::Sqlite(pool), options, place).await?;
        // The schema step created the file when it was missing.
        store.file = FileIdentity::of(path)
            .map_err(|e| fail("SQLite", "noting the database file", Cause::Io(e)))?
            .map(Arc::new);
        Ok(store)
    }

    /// Connects to the PostgreSQL database at `url`
    /// (`postgres://USER[:PASSWORD]@HOST:PORT/DATABASE[?…]`).
    #[cfg(feature = "postgres")]
    pub async fn postgres(url: &str, options: &SqlOptions) -> Result<SqlStore, StoreError> {
        use std::str::FromStr as _;

        use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
        // sqlx's URL errors do not quote the URL, so no password reaches a message.
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| fail("PostgreSQL", "reading the database URL", Cause::Sql(e)))?;
        let millis = options.timeout.as_millis().to_string();
        let place = format!(
            "{}:{}/{}",
            connect.get_host(),
            connect.get_port(),
            connect.get_database().unwrap_or("")
        );
        let connect = connect.application_name("jwt-sso").options([
            ("statement_timeout", millis.as_str()),
            ("lock_timeout", millis.as_str()),
            // A client that vanishes inside a transaction does not hold its locks for long.
            ("idle_in_transaction_session_timeout", "30000"),
        ]);
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .min_connections(0)
            .acquire_timeout(options.timeout)
            // sqlx pings every connection it takes back, so one that was
            // used within the last second is known to be alive; one idle for
            // longer is pinged at checkout, so connections broken by a server
            // restart are replaced instead of failing a request. A ping per
            // checkout would double a login's round trips.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= Duration::from_secs(1) {
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy_with(connect);
        SqlStore::ready(Pool::Postgres(pool), options, place).await
    }

    async fn ready(
        pool: Pool,
        options: &SqlOptions,
        place: String,
    ) -> Result<SqlStore, StoreError> {
        let writers = (options.max_connections.max(1) / 2).max(1) as usize;
        let store = SqlStore {
            pool,
            timeout: options.timeout,
            place: place.into(),
            writers: Arc::new(tokio::sync::Semaphore::new(writers)),
            file: None,
        };
        store
            .run("creating the schema", store.create_schema())
            .await?;
        Ok(store)
    }

    /// `SQLite` or `PostgreSQL`.
    pub fn backend_name(&self) -> &'static str {
        with_pool!(self, |_pool, sql| sql.name)
    }

    /// Closes every connection; later operations fail.
    pub async fn close(&self) {
        with_pool!(self, |pool, _sql| pool.close().await)
    }

    /// Starts a task that deletes expired used `jti`s and sessions every
    /// `every` (at least 10 ms), at the time of `clock` (hand it the
    /// registry's, [`Registry::clock`](crate::Registry::clock), so that
    /// what expires is what the login flow considers expired), logging
    /// failures as warnings, and then samples the number of unexpired
    /// sessions into the `jwt_sso_sessions_active` gauge ([`crate::metrics`]).
    /// It runs until the returned [`Task`] is dropped.
    /// Needs a tokio runtime.
    pub fn spawn_purge(&self, every: Duration, clock: impl Clock + 'static) -> Task {
        let store = self.clone();
        let clock: Arc<dyn Clock> = Arc::new(clock);
        Task::every(every, move || {
            let (store, clock) = (store.clone(), Arc::clone(&clock));
            async move { store.purge(clock.now()).await }
        })
    }

    /// One purge of expired used `jti`s and sessions at `now`.
    async fn purge(&self, now: UnixTime) {
        match ReplayStore::purge_expired(self, now).await {
            Ok(n) if n > 0 => {
                tracing::debug!(target: "jwt_sso", purged = n, "expired used jti purged")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(target: "jwt_sso", error = %crate::error::chain(&e), "purging used jti failed")
            }
        }
        match SessionStore::purge_expired(self, now).await {
            Ok(n) if n > 0 => {
                tracing::debug!(target: "jwt_sso", purged = n, "expired sessions purged")
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(target: "jwt_sso", error = %crate::error::chain(&e), "purging sessions failed")
            }
        }
        if let Ok(n) = self.count_sessions(now).await {
            crate::metrics::sessions_active(n);
        }
    }

    /// A read: [`SqlStore::bounded`] without a writer's place.
    async fn run<T>(
        &self,
        action: &'static str,
        op: impl Future<Output = Result<T, Fail>>,
    ) -> Result<T, StoreError> {
        self.bounded(action, async {
            self.check_file()?;
            op.await
        })
        .await
    }

    /// A write: waits (within the timeout, holding no connection) for one
    /// of the writers' places, then runs `op`.
    async fn run_write<T>(
        &self,
        action: &'static str,
        op: impl Future<Output = Result<T, Fail>>,
    ) -> Result<T, StoreError> {
        self.bounded(action, async {
            let _place = self
                .writers
                .acquire()
                .await
                .map_err(|_| Fail::Data("the store is closed".into()))?;
            self.check_file()?;
            op.await
        })
        .await
    }

    /// SQLite: fails when the database file is no longer the one opened.
    fn check_file(&self) -> Result<(), Fail> {
        match &self.file {
            Some(file) => file.check(),
            None => Ok(()),
        }
    }

    /// Bounds `op` by the store's timeout and turns its failure into a
    /// [`StoreError`] that names the backend and the action.
    async fn bounded<T>(
        &self,
        action: &'static str,
        op: impl Future<Output = Result<T, Fail>>,
    ) -> Result<T, StoreError> {
        let backend = self.backend_name();
        match tokio::time::timeout(self.timeout, op).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(Fail::Conflict)) => Err(StoreError::conflict()),
            Ok(Err(Fail::Sql(e)))
                if e.as_database_error()
                    .is_some_and(|d| d.is_unique_violation()) =>
            {
                Err(StoreError::conflict())
            }
            Ok(Err(Fail::Sql(e))) => Err(fail(backend, action, Cause::Sql(e))),
            Ok(Err(Fail::Data(message))) => Err(fail(backend, action, Cause::Data(message))),
            Err(_) => Err(fail(backend, action, Cause::Timeout(self.timeout))),
        }
    }

    async fn create_schema(&self) -> Result<(), Fail> {
        with_pool!(self, |pool, sql| {
            let mut tx = pool.begin_with(sql.begin).await?;
            if let Some(lock) = sql.schema_lock {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            sqlx::query(schema::CREATE_SCHEMA_TABLE)
                .execute(&mut *tx)
                .await?;
            let found: Option<i64> = sqlx::query_scalar(schema::SELECT_SCHEMA_VERSION)
                .fetch_optional(&mut *tx)
                .await?;
            let found = found.unwrap_or(0);
            if found > schema::SCHEMA_VERSION {
                return Err(Fail::Data(format!(
                    "the database holds jwt-sso schema version {found}, newer than this \
                     release's {}: upgrade jwt-sso",
                    schema::SCHEMA_VERSION
                )));
            }
            if found < schema::SCHEMA_VERSION {
                for step in &sql.migrations[found.max(0) as usize..] {
                    for statement in *step {
                        sqlx::query(statement).execute(&mut *tx).await?;
                    }
                }
                sqlx::query(schema::SET_SCHEMA_VERSION)
                    .bind(schema::SCHEMA_VERSION)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn find_user(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        self.run("finding a user", async {
            with_pool!(self, |pool, _sql| {
                let row = sqlx::query(schema::FIND_USER)
                    .bind(user_id)
                    .fetch_optional(pool)
                    .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let roles: String = row.try_get("roles")?;
                let roles = serde_json::from_str(&roles).map_err(|_| {
                    Fail::Data("the stored roles are not a JSON array of strings".into())
                })?;
                Ok::<_, Fail>(Some(User {
                    user_id: row.try_get("user_id")?,
                    user_type: row.try_get("user_type")?,
                    roles,
                    name: row.try_get("name")?,
                    email: row.try_get("email")?,
                    created_by_config: row.try_get("created_by_config")?,
                }))
            })
        })
        .await
    }

    async fn create_user(&self, user: &User) -> Result<User, StoreError> {
        let roles = roles_json(&user.roles);
        self.run_write("creating a user", async {
            with_pool!(self, |pool, _sql| {
                let done = sqlx::query(schema::CREATE_USER)
                    .bind(&user.user_id)
                    .bind(&user.user_type)
                    .bind(&roles)
                    .bind(user.name.as_deref())
                    .bind(user.email.as_deref())
                    .bind(user.created_by_config.as_deref())
                    .execute(pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(Fail::Conflict);
                }
                Ok::<_, Fail>(user.clone())
            })
        })
        .await
    }

    async fn update_user(&self, user: &User) -> Result<(), StoreError> {
        let roles = roles_json(&user.roles);
        self.run_write("updating a user", async {
            with_pool!(self, |pool, _sql| {
                let done = sqlx::query(schema::UPDATE_USER)
                    .bind(&user.user_id)
                    .bind(user.name.as_deref())
                    .bind(user.email.as_deref())
                    .bind(&roles)
                    .bind(&user.user_type)
                    .execute(pool)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(Fail::Data("there is no user with this ID to update".into()));
                }
                Ok::<_, Fail>(())
            })
        })
        .await
    }
}

/// An SQLite database file as it was opened: its path and (on Unix) its
/// device and inode. A file deleted, or replaced by another (a restore
/// copied over it, a rename), no longer matches: the store's connections
/// still write into the old inode, which nothing will read again, while
/// new connections would open the new file.
#[derive(Debug)]
struct FileIdentity {
    path: std::path::PathBuf,
    device: u64,
    inode: u64,
}

impl FileIdentity {
    /// The file at `path` now (`None` where the platform has no inodes).
    #[cfg(feature = "sqlite")]
    fn of(path: &std::path::Path) -> std::io::Result<Option<FileIdentity>> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let path = std::fs::canonicalize(path)?;
            let meta = std::fs::metadata(&path)?;
            Ok(Some(FileIdentity {
                path,
                device: meta.dev(),
                inode: meta.ino(),
            }))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            Ok(None)
        }
    }

    /// One `stat`: the path must still name the same file.
    fn check(&self) -> Result<(), Fail> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            let now = match std::fs::metadata(&self.path) {
                Ok(meta) if (meta.dev(), meta.ino()) == (self.device, self.inode) => return Ok(()),
                Ok(meta) => format!("another file (inode {}) is there now", meta.ino()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => "it was deleted".to_owned(),
                Err(e) => format!("it cannot be examined ({e})"),
            };
            Err(Fail::Data(format!(
                "the database file `{}` is not the file opened (inode {}): {now}; \
                 writes would be lost, so the store refuses to work until the \
                 file is put back or the server restarts and opens the new one",
                crate::error::escape_controls(&self.path.display().to_string()),
                self.inode
            )))
        }
        #[cfg(not(unix))]
        Ok(())
    }
}

fn roles_json(roles: &[String]) -> String {
    // A list of strings always serialises.
    serde_json::to_string(roles).unwrap_or_else(|_| "[]".to_owned())
}

/// The name key of a configuration: the registry's case-insensitive key.
fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Why an operation failed, before it becomes a [`StoreError`].
enum Fail {
    Sql(sqlx::Error),
    Conflict,
    /// Stored data this release cannot read, or a missing row.
    Data(String),
}

impl From<sqlx::Error> for Fail {
    fn from(error: sqlx::Error) -> Self {
        Fail::Sql(error)
    }
}

#[derive(Debug)]
enum Cause {
    Sql(sqlx::Error),
    #[cfg(feature = "sqlite")]
    Io(std::io::Error),
    Data(String),
    Timeout(Duration),
}

/// The source of a failed [`StoreError`]: the backend, what was being done
/// and why it failed (never a bound value or a password).
#[derive(Debug)]
struct SqlError {
    backend: &'static str,
    action: &'static str,
    cause: Cause,
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: ", self.backend, self.action)?;
        match &self.cause {
            Cause::Sql(e) => e.fmt(f),
            #[cfg(feature = "sqlite")]
            Cause::Io(e) => e.fmt(f),
            Cause::Data(message) => f.write_str(message),
            Cause::Timeout(after) => write!(
                f,
                "no answer within {} ms (the database is down, locked or overloaded)",
                after.as_millis()
            ),
        }
    }
}

impl std::error::Error for SqlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.cause {
            Cause::Sql(e) => Some(e),
            #[cfg(feature = "sqlite")]
            Cause::Io(e) => Some(e),
            _ => None,
        }
    }
}

fn fail(backend: &'static str, action: &'static str, cause: Cause) -> StoreError {
    StoreError::failed(SqlError {
        backend,
        action,
        cause,
    })
}

/// The backend a database URL's scheme names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The backend of `url` (its scheme compared without regard to case)
    /// and, for SQLite, the path after `sqlite:` or `sqlite://`.
    fn of(url: &str) -> Result<(Backend, &str), StoreError> {
        let Some((scheme, rest)) = url.split_once(':').filter(|(scheme, _)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }) else {
            return Err(StoreError::failed(UrlError::NoScheme));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => Ok((Backend::Postgres, rest)),
            "sqlite" => Ok((Backend::Sqlite, rest.strip_prefix("//").unwrap_or(rest))),
            _ => Err(StoreError::failed(UrlError::UnknownScheme(
                crate::error::escape_controls(scheme).into_owned(),
            ))),
        }
    }

    /// The cargo feature that builds this backend.
    fn feature(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// Why a database URL was refused (it never quotes the URL, which may hold
/// a password).
#[derive(Debug, PartialEq, Eq)]
enum UrlError {
    NoScheme,
    UnknownScheme(String),
    #[allow(dead_code)] // with both backends built
    NotBuilt(&'static str),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::NoScheme => f.write_str(
                "the database is not a URL: give sqlite:PATH, or postgres://USER@HOST:PORT/DB",
            ),
            UrlError::UnknownScheme(scheme) => write!(
                f,
                "unknown database URL scheme `{scheme}`: use sqlite:PATH, postgres:// or postgresql://"
            ),
            UrlError::NotBuilt(feature) => write!(
                f,
                "a {feature} database needs jwt-sso's cargo feature `{feature}`"
            ),
        }
    }
}

impl std::error::Error for UrlError {}

impl UserStore for SqlStore {
    async fn find(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        self.find_user(user_id).await
    }

    async fn create(&self, user: &User) -> Result<User, StoreError> {
        self.create_user(user).await
    }

    /// Replaces name, email and roles; a user ID that is not stored is
    /// a failed [`StoreError`] (nothing is created).
    async fn update(&self, user: &User) -> Result<(), StoreError> {
        self.update_user(user).await
    }
}

impl ReplayStore for SqlStore {
    async fn record(&self, used: UsedJti<'_>, now: UnixTime) -> Result<bool, StoreError> {
        self.run_write("recording a used jti", async {
            with_pool!(self, |pool, _sql| {
                let done = sqlx::query(schema::RECORD_JTI)
                    .bind(used.config)
                    .bind(used.issuer)
                    .bind(used.jti)
                    .bind(used.until.as_secs())
                    .bind(now.as_secs())
                    .execute(pool)
                    .await?;
                Ok::<_, Fail>(done.rows_affected() == 1)
            })
        })
        .await
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.run_write("purging expired used jti", async {
            with_pool!(self, |pool, _sql| {
                let done = sqlx::query(schema::PURGE_JTI)
                    .bind(now.as_secs())
                    .execute(pool)
                    .await?;
                Ok::<_, Fail>(done.rows_affected())
            })
        })
        .await
    }
}

impl SqlStore {
    /// Ends the sessions that `query` selects by its one parameter `value`.
    async fn remove_where(&self, query: &'static str, value: &str) -> Result<u64, StoreError> {
        self.run_write("ending sessions", async {
            with_pool!(self, |pool, _sql| {
                let done = sqlx::query(query).bind(value).execute(pool).await?;
                Ok::<_, Fail>(done.rows_affected())
            })
        })
        .await
    }
}

impl SessionStore for SqlStore {
    /// Inserts the session and, in the same transaction, ends the user's
    /// sessions beyond the newest `max_per_user` unexpired ones (at the
    /// session's `created_at`), and the user's expired ones. A
    /// `max_per_user` of 0 counts as 1. An `id` already stored is
    /// [`StoreError::conflict`].
    async fn insert(
        &self,
        id: &str,
        session: &Session,
        max_per_user: usize,
    ) -> Result<(), StoreError> {
        let cap = i64::try_from(max_per_user.max(1)).unwrap_or(i64::MAX);
        self.run_write("storing a session", async {
            with_pool!(self, |pool, sql| {
                let mut tx = pool.begin_with(sql.begin).await?;
                if let Some(lock) = sql.session_lock {
                    sqlx::query(lock)
                        .bind(&session.user_id)
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(schema::INSERT_SESSION)
                    .bind(id)
                    .bind(&session.user_id)
                    .bind(&session.config)
                    .bind(session.created_at.as_secs())
                    .bind(session.expires_at.as_secs())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql.trim_sessions)
                    .bind(&session.user_id)
                    .bind(session.created_at.as_secs())
                    .bind(cap)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok::<_, Fail>(())
            })
        })
        .await
    }

    async fn get(&self, id: &str, now: UnixTime) -> Result<Option<Session>, StoreError> {
        self.run("reading a session", async {
            with_pool!(self, |pool, _sql| {
                let row = sqlx::query(schema::GET_SESSION)
                    .bind(id)
                    .bind(now.as_secs())
                    .fetch_optional(pool)
                    .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                Ok::<_, Fail>(Some(Session {
                    user_id: row.try_get("user_id")?,
                    config: row.try_get("config")?,
                    created_at: UnixTime::from_secs(row.try_get("created_at")?),
                    expires_at: UnixTime::from_secs(row.try_get("expires_at")?),
                }))
            })
        })
        .await
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        self.run_write("ending a session", async {
            with_pool!(self, |pool, _sql| {
                let done = sqlx::query(schema::REMOVE_SESSION)
                    .bind(id)
                    .execute(pool)
                    .await?;
                Ok::<_, Fail>(done.rows_affected() > 0)
            })
        })
        .await
    }

    async fn remove_user(&self, user_id: &str) -> Result<u64, StoreError> {
        self.remove_where(schema::REMOVE_USER_SESSIONS, user_id)
            .await
    }

    async fn remove_config(&self, config: &str) -> Result<u64, StoreError> {
        self.remove_where(schema::REMOVE_CONFIG_SESSIONS, config)
            .await
    }

    async fn purge_expired(&self, now: UnixTime) -> Result<u64, StoreError> {
        self.run_write("purging expired sessions", async {
            with_pool!(self, |pool, _sql| {
                let done = sqlx::query(schema::PURGE_SESSIONS)
                    .bind(now.as_secs())
                    .execute(pool)
                    .await?;
                Ok::<_, Fail>(done.rows_affected())
            })
        })
        .await
    }
}

impl ConfigStore for SqlStore {
    /// Every stored configuration (sorted by name, case-insensitively) with
    /// its version, and the revision, from one statement. The
    /// configurations are parsed but not validated (an `env` secret is read
    /// when a verifier is built).
    async fn load(&self) -> Result<ConfigSet, StoreError> {
        self.run("loading the configurations", async {
            with_pool!(self, |pool, _sql| {
                let rows = sqlx::query(schema::LOAD_CONFIGS).fetch_all(pool).await?;
                config_set(rows)
            })
        })
        .await
    }

    /// Applies the change to the rows as they are, in one transaction: a
    /// create inserts if the name (case-insensitive) is free, an update is a
    /// compare-and-swap on the stored version (also when it renames), a
    /// delete removes the row; the configuration created or changed gets a
    /// new random version, the revision is incremented, and the set is read
    /// back, all before the commit. A taken name, a stale version, or a name
    /// that is not stored (update or delete) is [`StoreError::conflict`],
    /// and nothing changes.
    async fn apply(&self, change: &ConfigChange) -> Result<ConfigSet, StoreError> {
        let action = match change {
            ConfigChange::Create(_) => "creating a configuration",
            ConfigChange::Update { .. } => "updating a configuration",
            ConfigChange::Delete { .. } => "deleting a configuration",
        };
        let version = new_version()?;
        self.run_write(action, async {
            with_pool!(self, |pool, sql| {
                let mut tx = pool.begin_with(sql.begin).await?;
                let done = match change {
                    ConfigChange::Create(config) => {
                        sqlx::query(schema::CREATE_CONFIG)
                            .bind(name_key(&config.name))
                            .bind(config.name.as_str())
                            .bind(&version)
                            .bind(config_body(config)?)
                            .execute(&mut *tx)
                            .await?
                    }
                    ConfigChange::Update {
                        name,
                        version: expected,
                        config,
                    } => {
                        sqlx::query(schema::UPDATE_CONFIG)
                            .bind(name_key(&config.name))
                            .bind(config.name.as_str())
                            .bind(&version)
                            .bind(config_body(config)?)
                            .bind(name_key(name))
                            .bind(expected)
                            .execute(&mut *tx)
                            .await?
                    }
                    ConfigChange::Delete { name } => {
                        sqlx::query(schema::DELETE_CONFIG)
                            .bind(name_key(name))
                            .execute(&mut *tx)
                            .await?
                    }
                };
                if done.rows_affected() == 0 {
                    // Dropping the transaction rolls it back.
                    return Err(Fail::Conflict);
                }
                sqlx::query(schema::BUMP_REVISION)
                    .fetch_one(&mut *tx)
                    .await?;
                let rows = sqlx::query(schema::LOAD_CONFIGS)
                    .fetch_all(&mut *tx)
                    .await?;
                let set = config_set(rows)?;
                tx.commit().await?;
                Ok::<_, Fail>(set)
            })
        })
        .await
    }

    async fn revision(&self) -> Result<u64, StoreError> {
        self.run("reading the configuration revision", async {
            with_pool!(self, |pool, _sql| {
                let revision: i64 = sqlx::query_scalar(schema::SELECT_REVISION)
                    .fetch_one(pool)
                    .await?;
                Ok::<_, Fail>(revision_u64(revision))
            })
        })
        .await
    }

    /// In one transaction that locks the revision row (so instances that
    /// start at once seed once): when the revision is 0 (the database has
    /// never held a configuration), inserts every configuration with a
    /// random version and increments the revision. A database whose
    /// configurations were all deleted has a revision above 0 and stays
    /// empty.
    async fn seed(&self, configs: &[JwtConfig]) -> Result<bool, StoreError> {
        let mut rows = Vec::with_capacity(configs.len());
        for config in configs {
            rows.push((config, new_version()?));
        }
        self.run_write("seeding the configurations", async {
            with_pool!(self, |pool, sql| {
                let mut tx = pool.begin_with(sql.begin).await?;
                let revision: i64 = sqlx::query_scalar(sql.lock_revision)
                    .fetch_one(&mut *tx)
                    .await?;
                if revision != 0 {
                    return Ok::<_, Fail>(false);
                }
                for (config, version) in &rows {
                    let done = sqlx::query(schema::CREATE_CONFIG)
                        .bind(name_key(&config.name))
                        .bind(config.name.as_str())
                        .bind(version)
                        .bind(config_body(config)?)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        return Err(Fail::Conflict);
                    }
                }
                sqlx::query(schema::BUMP_REVISION)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(true)
            })
        })
        .await
    }
}

/// The set of [`schema::LOAD_CONFIGS`]'s rows (the revision on every row;
/// one row without a configuration when there is none).
fn config_set<R>(rows: Vec<R>) -> Result<ConfigSet, Fail>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let mut revision = 0;
    let mut configs = Vec::with_capacity(rows.len());
    for row in rows {
        revision = row.try_get::<i64, _>(0)?;
        let name: Option<String> = row.try_get(1)?;
        let body: Option<String> = row.try_get(2)?;
        let version: Option<String> = row.try_get(3)?;
        if let (Some(name), Some(body), Some(version)) = (name, body, version) {
            configs.push(StoredConfig {
                config: parse_config(&name, &body)?,
                version,
            });
        }
    }
    Ok(ConfigSet {
        configs,
        revision: revision_u64(revision),
    })
}

fn revision_u64(revision: i64) -> u64 {
    u64::try_from(revision).unwrap_or(0)
}

/// The stored form: compact JSON, secrets included. A configuration that
/// cannot be written fails the change rather than storing nothing.
fn config_body(config: &JwtConfig) -> Result<String, Fail> {
    serde_json::to_string(config).map_err(|e| {
        Fail::Data(format!(
            "the configuration cannot be written as JSON ({:?} error)",
            e.classify()
        ))
    })
}

/// Reads a stored configuration. The message names the configuration and
/// the position, never a value (the body holds secrets).
fn parse_config(name: &str, body: &str) -> Result<JwtConfig, Fail> {
    serde_json::from_str(body).map_err(|e| {
        Fail::Data(format!(
            "the stored configuration `{}` cannot be read by this release ({:?} error at line {}, column {})",
            crate::error::escape_controls(name),
            e.classify(),
            e.line(),
            e.column()
        ))
    })
}

#[cfg(test)]
mod url_tests {
    use super::*;

    fn refused(url: &str) -> String {
        match Backend::of(url) {
            Ok(parsed) => panic!("{url} was taken as {parsed:?}"),
            Err(e) => std::error::Error::source(&e).unwrap().to_string(),
        }
    }

    #[test]
    fn the_scheme_decides_and_an_unknown_one_is_refused() {
        let of = |url| Backend::of(url).unwrap();
        assert_eq!(of("sqlite:users.db"), (Backend::Sqlite, "users.db"));
        assert_eq!(
            of("sqlite:///var/lib/x.db"),
            (Backend::Sqlite, "/var/lib/x.db")
        );
        assert_eq!(of("SQLite:x.db"), (Backend::Sqlite, "x.db"));
        assert_eq!(of("postgres://u@h/db").0, Backend::Postgres);
        assert_eq!(of("postgresql://u@h/db").0, Backend::Postgres);
        let typo = refused("postgress://jwt:s3cret@localhost/sso");
        assert!(
            typo.contains("unknown database URL scheme `postgress`"),
            "{typo}"
        );
        assert!(!typo.contains("s3cret"), "{typo}");
        assert!(refused("users.sqlite").contains("not a URL"));
        assert!(refused("").contains("not a URL"));
        assert!(refused("mysql://h/db").contains("`mysql`"));
    }
}
