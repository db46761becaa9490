//! The `login_server`'s SQLite stores: users, sessions and used `jti`s in
//! one database file, so all survive a restart.
//!
//! Each operation takes a connection from a small pool (or opens one) on
//! tokio's blocking threads, so a slow or locked database stalls only the
//! requests that need it. SQLite's busy timeout is 3 s; the login routes
//! refuse with `store` (503) after 4 s whatever happens.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use jwt_sso::{
    JtiKey, MappedIdentity, ReplayStore, Session, SessionStore, StoreError, User, UserStore,
};
use rusqlite::{Connection, OptionalExtension, params};

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS users (
        user_id   TEXT PRIMARY KEY NOT NULL,
        user_type TEXT NOT NULL,
        roles     TEXT NOT NULL, -- a JSON array of role names
        name      TEXT,
        email     TEXT,
        created_by_config TEXT
    );
    CREATE TABLE IF NOT EXISTS sessions (
        id         TEXT PRIMARY KEY NOT NULL, -- hex SHA-256 of the token
        user_id    TEXT NOT NULL,
        config     TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_id, created_at);
    CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
    CREATE TABLE IF NOT EXISTS used_jtis (
        config     TEXT NOT NULL,
        issuer     TEXT NOT NULL,
        jti        TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (config, issuer, jti)
    );
    CREATE INDEX IF NOT EXISTS used_jtis_by_expiry ON used_jtis (expires_at);
";

/// One SQLite database (a cheap handle; clones share the pool).
#[derive(Clone)]
pub struct SqliteStore {
    path: Arc<PathBuf>,
    pool: Arc<Mutex<Vec<Connection>>>,
}

impl SqliteStore {
    /// Opens (or creates) the database file and its tables.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let store = SqliteStore {
            path: Arc::new(path.to_owned()),
            pool: Arc::default(),
        };
        let conn = store.connect()?;
        // WAL: readers do not wait for the writer.
        conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))?;
        conn.execute_batch(SCHEMA)?;
        store
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        Ok(store)
    }

    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open(&*self.path)?;
        conn.busy_timeout(Duration::from_secs(3))?;
        Ok(conn)
    }

    async fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = store
                .pool
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop();
            let conn = match pooled {
                Some(conn) => conn,
                None => store.connect()?,
            };
            let result = query(&conn);
            let mut pool = store.pool.lock().unwrap_or_else(PoisonError::into_inner);
            if pool.len() < 8 {
                pool.push(conn);
            }
            result
        })
        .await?
    }
}

fn is_constraint(error: &rusqlite::Error) -> bool {
    matches!(error, rusqlite::Error::SqliteFailure(e, _)
        if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

impl UserStore for SqliteStore {
    async fn find(&self, user_id: &str) -> Result<Option<User>, StoreError> {
        let user_id = user_id.to_owned();
        self.run(move |conn| {
            let sql = "SELECT user_type, roles, name, email, created_by_config FROM users WHERE user_id = ?1";
            let row = conn
                .query_row(sql, [&user_id], |r| {
                    Ok((r.get(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .optional()?;
            let Some((user_type, roles, name, email, created_by_config)) = row else {
                return Ok(None);
            };
            let roles = serde_json::from_str(&roles)?;
            Ok(Some(User { user_id, user_type, roles, name, email, created_by_config }))
        })
        .await
    }

    async fn create(&self, identity: &MappedIdentity) -> Result<User, StoreError> {
        let user = User::from_identity(identity);
        self.run(move |conn| {
            let roles = serde_json::to_string(&user.roles)?;
            let sql = "INSERT INTO users (user_id, user_type, roles, name, email, created_by_config) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
            let values = params![user.user_id, user.user_type, roles, user.name, user.email, user.created_by_config];
            match conn.execute(sql, values) {
                Ok(_) => Ok(user),
                Err(e) if is_constraint(&e) => Err(StoreError::Conflict),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    async fn update_profile(&self, user: &User) -> Result<(), StoreError> {
        let user = user.clone();
        self.run(move |conn| {
            let sql = "UPDATE users SET name = ?2, email = ?3 WHERE user_id = ?1";
            conn.execute(sql, params![user.user_id, user.name, user.email])?;
            Ok(())
        })
        .await
    }
}

impl SessionStore for SqliteStore {
    async fn insert(
        &self,
        id: &str,
        session: &Session,
        max_per_user: usize,
    ) -> Result<(), StoreError> {
        let (id, session) = (id.to_owned(), session.clone());
        self.run(move |conn| {
            let tx = conn.unchecked_transaction()?;
            tx.execute(
                "INSERT OR REPLACE INTO sessions (id, user_id, config, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, session.user_id, session.config, session.created_at, session.expires_at],
            )?;
            // The user's sessions beyond the newest `max_per_user` end, oldest first.
            tx.execute(
                "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE user_id = ?1
                     ORDER BY created_at DESC, rowid DESC LIMIT -1 OFFSET ?2)",
                params![session.user_id, max_per_user as i64],
            )?;
            tx.commit()?;
            Ok(())
        })
        .await
    }

    async fn get(&self, id: &str, now: i64) -> Result<Option<Session>, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| {
            let sql = "SELECT user_id, config, created_at, expires_at FROM sessions WHERE id = ?1 AND expires_at > ?2";
            let row = conn.query_row(sql, params![id, now], |r| {
                Ok(Session { user_id: r.get(0)?, config: r.get(1)?, created_at: r.get(2)?, expires_at: r.get(3)? })
            });
            Ok(row.optional()?)
        })
        .await
    }

    async fn remove(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.run(move |conn| Ok(conn.execute("DELETE FROM sessions WHERE id = ?1", [id])? > 0))
            .await
    }

    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        self.run(move |conn| {
            Ok(conn.execute("DELETE FROM sessions WHERE expires_at <= ?1", [now])? as u64)
        })
        .await
    }
}

impl ReplayStore for SqliteStore {
    async fn record(&self, key: JtiKey<'_>, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        let (config, issuer, jti) = (
            key.config.to_owned(),
            key.issuer.to_owned(),
            key.jti.to_owned(),
        );
        self.run(move |conn| {
            let tx = conn.unchecked_transaction()?;
            tx.execute(
                "DELETE FROM used_jtis WHERE config = ?1 AND issuer = ?2 AND jti = ?3 AND expires_at <= ?4",
                params![config, issuer, jti, now],
            )?;
            let inserted = tx.execute(
                "INSERT INTO used_jtis (config, issuer, jti, expires_at) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![config, issuer, jti, expires_at],
            )?;
            tx.commit()?;
            Ok(inserted == 1)
        })
        .await
    }

    async fn purge_expired(&self, now: i64) -> Result<u64, StoreError> {
        self.run(move |conn| {
            Ok(conn.execute("DELETE FROM used_jtis WHERE expires_at <= ?1", [now])? as u64)
        })
        .await
    }
}
